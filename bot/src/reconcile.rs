//! Repairs what a crash between two steps can leave, when a guild comes online and then every
//! minute: an open ticket whose channel was never made or is gone, and a ticket whose channel
//! was made but not recorded. Everything done is logged. Safe with several bot processes: every
//! step is conditional.
//!
//! It never deletes a channel. A `ticket-xxxxxxxx` channel that no ticket holds may belong to a
//! Python bot beside us, another deployment, or a database restored from a backup (or a wrong
//! `SQLITE_PATH`): it is reported once and left alone. The only channels the bot deletes on its
//! own are those its database recorded as its own to delete (`channel_work`).

use std::collections::HashMap;

use chrono::Utc;
use poise::serenity_prelude as serenity;
use ticketbot_common::rules::Transition;
use ticketbot_common::store::{ArchiveQuery, Cursor, TicketFilter};
use ticketbot_common::ticket::{now, short_id_from_channel_name, EventKind, TicketStatus};

use crate::data::Data;

/// Younger than this, a half-made ticket may still be in the middle of being created.
const GRACE: chrono::Duration = chrono::Duration::minutes(2);

/// A channel made for a ticket is younger than the ticket; this much clock difference between
/// our host and Discord is allowed when telling whether a channel can be the ticket's.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(1);

/// What one pass repaired.
#[derive(Debug, Default, Clone, Copy)]
pub struct Repairs {
    pub adopted: usize,
    pub discarded: usize,
    pub closed: usize,
    /// Ticket-like channels no ticket holds, reported for the first time (left in place).
    pub strays: usize,
}

impl Repairs {
    pub fn any(&self) -> bool {
        self.adopted + self.discarded + self.closed + self.strays > 0
    }

    pub fn log(&self, guild_id: serenity::GuildId) {
        let Repairs {
            adopted,
            discarded,
            closed,
            strays,
        } = *self;
        tracing::info!(
            guild = %guild_id,
            adopted, discarded, closed, strays,
            "guild checked: {adopted} channels re-attached, {discarded} half-made tickets discarded, {closed} tickets closed, {strays} unknown ticket channels left in place"
        );
    }
}

/// Whether an open ticket without a channel is the leftover of an opening that stopped before
/// its channel was made: its history is its opening and nothing else.
async fn is_half_made(data: &Data, t: &ticketbot_common::Ticket) -> anyhow::Result<bool> {
    let history = data.store.history(t.id).await?;
    Ok(history.iter().all(|e| e.kind == EventKind::Opened) && history.len() <= 1)
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
    // Closed by this pass: counted once (the closed tickets' pass below would see them again).
    let mut closed_now = std::collections::HashSet::new();
    loop {
        let page = data.store.list(&filter, 500, after.as_ref()).await?;
        for t in &page.tickets {
            match t.channel_id {
                // Still being opened by this process (its channel waits for Discord).
                None if data.is_opening(t.id) => {}
                None if Utc::now() - t.created_at > GRACE => {
                    let made_for_it = |c: &&serenity::GuildChannel| {
                        c.name == t.channel_name()
                            && c.id.created_at().to_utc() >= t.created_at - CLOCK_SKEW
                    };
                    match channels.iter().find(made_for_it) {
                        Some(ch) => {
                            data.store.set_channel(t.id, Some(ch.id.get())).await?;
                            tracing::info!(
                                "repair: ticket {} takes its channel {} back",
                                t.id,
                                ch.id
                            );
                            adopted += 1;
                        }
                        // Only a ticket that never was more than its opening is discarded:
                        // one with a history (imported from the Python bot without a channel,
                        // reopened, claimed) is closed, keeping everything; it can be reopened
                        // in a new channel.
                        None if is_half_made(data, t).await? => {
                            data.store.discard(t.id).await?;
                            tracing::info!(
                                "repair: discarded ticket {}, whose channel was never made",
                                t.id
                            );
                            discarded += 1;
                        }
                        None => {
                            let close = Transition::Close {
                                by: None,
                                reason: Some("it has no channel".into()),
                                at: now(),
                                forced: true,
                            };
                            if data.store.transition(t.id, &close).await.is_ok() {
                                tracing::info!(
                                    "repair: closed ticket {}, which has no channel (its history is kept; /ticket reopen {} brings it back in a new channel)",
                                    t.id,
                                    t.short_id()
                                );
                                closed += 1;
                            }
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
                        closed_now.insert(t.id);
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

    // Closed tickets whose channel is gone: an archive cut between deleting the channel and
    // recording it (the transcript is saved first, so it is finished as archived), or a
    // channel deleted by hand (the stale id is dropped; the ticket stays closed).
    let query = ArchiveQuery {
        guild_id: Some(guild_id.get()),
        closed_before: Some(Utc::now() + chrono::Duration::days(1)),
        requested: true,
    };
    for t in data.store.archivable(&query, 500).await? {
        let Some(c) = t.channel_id.filter(|c| !by_id.contains_key(c)) else {
            continue;
        };
        if closed_now.contains(&t.id) {
            continue;
        }
        match http.get_channel(serenity::ChannelId::new(c)).await {
            Ok(_) => continue,
            Err(serenity::Error::Http(e))
                if e.status_code() == Some(serenity::StatusCode::NOT_FOUND) => {}
            Err(_) => continue,
        }
        if data.store.transcript_info(t.id).await?.is_some() {
            if data.store.mark_archived(t.id, None, now()).await.is_ok() {
                tracing::info!("repair: ticket {} archived (its transcript was saved and its channel {c} is gone)", t.id);
                closed += 1;
            }
        } else {
            data.store.set_channel(t.id, None).await?;
            tracing::info!(
                "repair: closed ticket {} no longer points at its deleted channel {c}",
                t.id
            );
            closed += 1;
        }
    }

    let mut strays = 0;
    // Channels of deleted tickets, still to delete: `channel_work` deletes them.
    let to_delete: std::collections::HashSet<u64> = data
        .store
        .channels_to_delete(10_000)
        .await?
        .iter()
        .map(|d| d.channel_id)
        .collect();
    for ch in channels {
        if to_delete.contains(&ch.id.get()) {
            continue;
        }
        let Some(short) = short_id_from_channel_name(&ch.name) else {
            continue;
        };
        if data.store.get_by_channel(ch.id.get()).await?.is_some() {
            continue;
        }
        let made_at = ch.id.created_at().to_utc();
        if Utc::now() - made_at < GRACE {
            continue;
        }
        // Made for a ticket of ours whose channel was never recorded (a crash in between):
        // the row with that id and no channel, older than the channel, proves it.
        let candidates = data.store.find_by_prefix(short, 10).await?;
        if let Some(t) = candidates.iter().find(|t| {
            t.channel_id.is_none()
                && !t.is_archived()
                && t.guild_id == guild_id.get()
                && t.created_at - CLOCK_SKEW <= made_at
        }) {
            data.store.set_channel(t.id, Some(ch.id.get())).await?;
            tracing::info!("repair: ticket {} takes its channel {} back", t.id, ch.id);
            adopted += 1;
            continue;
        }
        let reported = data
            .reported_strays
            .lock()
            .map(|seen| seen.contains(&ch.id.get()))
            .unwrap_or(false);
        if reported {
            continue;
        }
        // The channel list is a snapshot: a channel deleted since (by `channel_work`, which
        // then forgets the deletion, or by hand) is no stray.
        if let Err(serenity::Error::Http(e)) = http.get_channel(ch.id).await {
            if e.status_code() == Some(serenity::StatusCode::NOT_FOUND) {
                continue;
            }
        }
        let first_time = data
            .reported_strays
            .lock()
            .map(|mut seen| seen.insert(ch.id.get()))
            .unwrap_or(true);
        if first_time {
            tracing::warn!(
                "channel #{} ({}) looks like a ticket channel but no ticket in this database has it; left in place (another bot or database may own it) — delete it by hand if it is not needed",
                ch.name,
                ch.id
            );
            strays += 1;
        }
    }
    Ok(Repairs {
        adopted,
        discarded,
        closed,
        strays,
    })
}
