//! Archive: a closed ticket's transcript saved, then its channel deleted, freeing a place in
//! Discord's 50-per-category and 500-per-guild limits for good. Asked for with
//! `/ticket archive`, by `ticketctl archive` (through the database), and done automatically
//! for tickets closed longer than `ARCHIVE_CLOSED_AFTER`.
//!
//! Safe with several processes: a lease in the database keeps two from working on one ticket,
//! and the final `mark_archived` is conditional, so the log entry and the DM go out once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use poise::serenity_prelude as serenity;
use serenity::ChannelId;
use ticketbot_common::rules::{self, RuleError};
use ticketbot_common::store::ArchiveQuery;
use ticketbot_common::ticket::{now, Ticket};
use ticketbot_common::StoreError;
use uuid::Uuid;

use crate::categories;
use crate::data::Data;
use crate::transcripts::{self, CollectError};

/// How long one process may hold a ticket's archive job before another may take it over.
const LEASE: chrono::Duration = chrono::Duration::minutes(10);

/// How often due and requested archives are looked for.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// At most this many tickets are archived per pass (each is one history crawl and a delete).
const PER_PASS: u32 = 20;

/// A ticket whose archive failed is left alone this long before the next try.
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(600);

/// What an archive did.
#[derive(Debug)]
pub enum Archived {
    /// Archived now by this process.
    Done {
        ticket: Box<Ticket>,
        messages: usize,
    },
    /// Another process is archiving it right now.
    Busy,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("I couldn't read the channel's messages, so nothing was deleted: {0}")]
    Transcript(String),
    #[error("I couldn't delete the channel (Discord said: {0}); the transcript is saved and the channel kept")]
    Delete(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn lease_key(ticket: &Ticket) -> String {
    format!("archive:{}", ticket.id)
}

/// Archives one closed ticket: transcript saved, channel deleted, ticket marked archived,
/// transcript posted to the log channel and sent to the creator. `by` is the staff member
/// who asked (`None`: automatic or `ticketctl`).
pub async fn archive(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    ticket: &Ticket,
    by: Option<u64>,
) -> Result<Archived, ArchiveError> {
    rules::check_archive(ticket)?;
    let key = lease_key(ticket);
    let start = now();
    if !data
        .store
        .try_lease(&key, &data.instance_id, start, start + LEASE)
        .await?
    {
        return Ok(Archived::Busy);
    }
    let result = archive_leased(http, cache, data, ticket, by).await;
    if let Err(e) = data.store.release_lease(&key, &data.instance_id).await {
        tracing::debug!("archive lease of {} not released: {e}", ticket.id);
    }
    result
}

async fn archive_leased(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    ticket: &Ticket,
    by: Option<u64>,
) -> Result<Archived, ArchiveError> {
    // Re-read under the lease: another process may have finished it a moment ago.
    let ticket = data
        .store
        .get(ticket.id)
        .await?
        .ok_or(RuleError::NotFound)?;
    rules::check_archive(&ticket)?;
    let at = now();
    let old_parent = ticket.channel_id.and_then(|c| {
        cache
            .guild(serenity::GuildId::new(ticket.guild_id))
            .and_then(|g| {
                g.channels
                    .get(&ChannelId::new(c))
                    .and_then(|ch| ch.parent_id)
            })
            .map(|p| p.get())
    });
    let transcript =
        match transcripts::make_and_save(http, cache, data, &ticket, Some((at, by))).await {
            Ok(t) => Some(t),
            // The channel is gone already (deleted by hand, or a crash after the delete of an
            // earlier attempt): what was saved before is all there is.
            Err(CollectError::ChannelGone | CollectError::NoChannel) => {
                transcripts::load(data, ticket.id).await.ok().flatten()
            }
            Err(e) => return Err(ArchiveError::Transcript(e.to_string())),
        };
    if let Some(channel) = ticket.channel_id {
        match ChannelId::new(channel).delete(http).await {
            Ok(_) => {}
            Err(e) if categories::is_not_found(&e) => {}
            Err(e) => {
                return Err(ArchiveError::Delete(crate::service::discord_error(&e)));
            }
        }
    }
    let archived = match data.store.mark_archived(ticket.id, by, at).await {
        Ok(t) => t,
        // Another process got there between our re-read and now: it posts the entry.
        Err(StoreError::Rule(RuleError::AlreadyArchived)) => return Ok(Archived::Busy),
        Err(e) => return Err(e.into()),
    };
    let messages = transcript.as_ref().map_or(0, |t| t.messages.len());
    crate::audit::archived(http, data, &archived, by, transcript.as_ref()).await;
    if let Some(t) = &transcript {
        transcripts::dm_creator(http, data, &archived, t).await;
    }
    categories::remove_if_empty(
        http,
        data,
        serenity::GuildId::new(ticket.guild_id),
        old_parent,
    )
    .await;
    Ok(Archived::Done {
        ticket: Box::new(archived),
        messages,
    })
}

/// Archives what is due in the guilds this process serves: tickets asked for by
/// `ticketctl archive`, and those closed longer than `ARCHIVE_CLOSED_AFTER`. Returns how many
/// were archived.
pub async fn pass(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    failed: &mut HashMap<Uuid, Instant>,
) -> usize {
    let query = ArchiveQuery {
        guild_id: data.settings.guild_id,
        closed_before: data
            .settings
            .archive_closed_after
            .map(|after| now() - after),
        requested: true,
    };
    // More than one pass's worth, so that tickets that keep failing (a channel the bot may
    // not read) do not stand in front of the rest for ever.
    let due = match data.store.archivable(&query, PER_PASS * 5).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("cannot look for tickets to archive: {e}");
            return 0;
        }
    };
    failed.retain(|_, at| at.elapsed() < RETRY_FAILED_AFTER);
    let mut done = 0;
    let due = due
        .into_iter()
        .filter(|t| !failed.contains_key(&t.id))
        .take(PER_PASS as usize)
        .collect::<Vec<_>>();
    for t in due {
        if !crate::channel_work::serves(cache, data, t.guild_id) {
            // Not a guild of this process (another shard's, or not online yet).
            continue;
        }
        match archive(http, cache, data, &t, None).await {
            Ok(Archived::Done { messages, .. }) => {
                tracing::info!(ticket = %t.id, messages, "ticket archived");
                done += 1;
            }
            Ok(Archived::Busy) => {}
            Err(e) => {
                tracing::warn!(
                    "cannot archive ticket {}: {e}; trying again in {} minutes",
                    t.id,
                    RETRY_FAILED_AFTER.as_secs() / 60
                );
                failed.insert(t.id, Instant::now());
            }
        }
    }
    done
}

/// Frees room in a full guild by archiving its oldest closed tickets (when archiving is on).
/// Returns how many channels were freed.
pub async fn make_room(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    guild: serenity::GuildId,
    want: u32,
) -> usize {
    if data.settings.archive_closed_after.is_none() {
        return 0;
    }
    let query = ArchiveQuery {
        guild_id: Some(guild.get()),
        closed_before: Some(now()),
        requested: true,
    };
    let oldest = match data.store.archivable(&query, want).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!("cannot look for closed tickets to archive: {e}");
            return 0;
        }
    };
    let mut freed = 0;
    for t in oldest {
        match archive(http, cache, data, &t, None).await {
            Ok(Archived::Done { .. }) => freed += 1,
            Ok(Archived::Busy) => {}
            Err(e) => tracing::warn!("cannot archive ticket {} to make room: {e}", t.id),
        }
    }
    freed
}

/// The loop that runs [`pass`] every [`CHECK_EVERY`].
pub async fn run_loop(http: Arc<serenity::Http>, cache: Arc<serenity::Cache>, data: Arc<Data>) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failed = HashMap::new();
    loop {
        tick.tick().await;
        let Some(_work) = data.begin_work() else {
            return;
        };
        pass(&http, &cache, &data, &mut failed).await;
    }
}
