//! Repairs what a crash between two steps can leave, when a guild comes online and then every
//! minute: an open ticket whose channel was never made or is gone, and a `ticket-xxxxxxxx`
//! channel with no ticket. Everything done is logged. Safe with several bot processes: every
//! step is conditional.

use std::collections::HashMap;

use chrono::Utc;
use poise::serenity_prelude as serenity;
use ticketbot_common::rules::Transition;
use ticketbot_common::store::{Cursor, TicketFilter};
use ticketbot_common::ticket::{now, short_id_from_channel_name, TicketStatus};

use crate::data::Data;

/// Younger than this, a half-made ticket may still be in the middle of being created.
const GRACE: chrono::Duration = chrono::Duration::minutes(2);

/// Older than this, a ticket channel without a ticket is left alone (and reported): it is more
/// likely a database restored from a backup than a crash's leftover.
const ORPHAN_MAX_AGE: chrono::Duration = chrono::Duration::hours(24);

/// What one pass repaired.
#[derive(Debug, Default, Clone, Copy)]
pub struct Repairs {
    pub adopted: usize,
    pub discarded: usize,
    pub closed: usize,
    pub removed: usize,
}

impl Repairs {
    pub fn any(&self) -> bool {
        self.adopted + self.discarded + self.closed + self.removed > 0
    }

    pub fn log(&self, guild_id: serenity::GuildId) {
        let Repairs {
            adopted,
            discarded,
            closed,
            removed,
        } = *self;
        tracing::info!(
            guild = %guild_id,
            adopted, discarded, closed, removed,
            "guild checked: {adopted} channels re-attached, {discarded} half-made tickets discarded, {closed} tickets closed, {removed} orphan channels deleted"
        );
    }
}

/// One pass over a guild. `channels` is the guild's channel list (from GUILD_CREATE, or the
/// cache).
pub async fn guild(
    http: &serenity::Http,
    data: &Data,
    guild_id: serenity::GuildId,
    channels: &[serenity::GuildChannel],
) -> anyhow::Result<Repairs> {
    let by_id: HashMap<u64, &serenity::GuildChannel> =
        channels.iter().map(|c| (c.id.get(), c)).collect();
    let filter = TicketFilter {
        guild_id: Some(guild_id.get()),
        status: Some(TicketStatus::Open),
        ..TicketFilter::default()
    };
    let mut after: Option<Cursor> = None;
    let (mut adopted, mut discarded, mut closed) = (0, 0, 0);
    loop {
        let page = data.store.list(&filter, 500, after.as_ref()).await?;
        for t in &page.tickets {
            match t.channel_id {
                None if Utc::now() - t.created_at > GRACE => {
                    match channels.iter().find(|c| c.name == t.channel_name()) {
                        Some(ch) => {
                            data.store.set_channel(t.id, Some(ch.id.get())).await?;
                            tracing::info!(
                                "repair: ticket {} takes its channel {} back",
                                t.id,
                                ch.id
                            );
                            adopted += 1;
                        }
                        None => {
                            data.store.discard(t.id).await?;
                            tracing::info!(
                                "repair: discarded ticket {}, whose channel was never made",
                                t.id
                            );
                            discarded += 1;
                        }
                    }
                }
                Some(c) if !by_id.contains_key(&c) => {
                    // `channels` is the guild as GUILD_CREATE described it, which may predate
                    // a ticket opened since (a click right at start-up, another bot process):
                    // only Discord's "Unknown Channel" says the channel is gone.
                    match http.get_channel(serenity::ChannelId::new(c)).await {
                        Ok(_) => continue,
                        Err(serenity::Error::Http(e))
                            if e.status_code() == Some(serenity::StatusCode::NOT_FOUND) => {}
                        Err(e) => {
                            tracing::warn!(
                                "repair: cannot tell whether channel {c} of ticket {} exists ({e}); left as it is",
                                t.id
                            );
                            continue;
                        }
                    }
                    let close = Transition::Close {
                        by: None,
                        reason: Some("its channel no longer exists".into()),
                        at: now(),
                        forced: true,
                    };
                    if data.store.transition(t.id, &close).await.is_ok() {
                        tracing::info!("repair: closed ticket {}, whose channel {c} is gone", t.id);
                        closed += 1;
                    }
                }
                _ => {}
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }

    let mut removed = 0;
    for ch in channels {
        let Some(short) = short_id_from_channel_name(&ch.name) else {
            continue;
        };
        if data.store.get_by_channel(ch.id.get()).await?.is_some() {
            continue;
        }
        let age = Utc::now() - ch.id.created_at().to_utc();
        if age < GRACE {
            continue;
        }
        let candidates = data.store.find_by_prefix(short, 10).await?;
        if let Some(t) = candidates.iter().find(|t| t.channel_id.is_none()) {
            data.store.set_channel(t.id, Some(ch.id.get())).await?;
            tracing::info!("repair: ticket {} takes its channel {} back", t.id, ch.id);
            adopted += 1;
            continue;
        }
        if age > ORPHAN_MAX_AGE {
            tracing::warn!("channel #{} ({}) looks like a ticket channel but no ticket has it; left in place — delete it by hand if it is not needed", ch.name, ch.id);
            continue;
        }
        match ch.id.delete(http).await {
            Ok(_) => {
                tracing::info!(
                    "repair: deleted channel #{} ({}), which had no ticket",
                    ch.name,
                    ch.id
                );
                removed += 1;
            }
            Err(e) => tracing::warn!("repair: cannot delete orphan channel {}: {e}", ch.id),
        }
    }
    Ok(Repairs {
        adopted,
        discarded,
        closed,
        removed,
    })
}
