//! Finishes the channel work the database keeps until Discord confirms it (see
//! `ticketbot_common::store::ChannelSync` / `ChannelDeletion`): a closed or reopened ticket's
//! channel brought to its state, a deleted ticket's channel deleted. Whatever failed, in a
//! handler, in another process or in `ticketctl`, is retried here with a growing pause until
//! Discord confirms it; nothing depends on clocks, so a write committed late is found too.
//! Several processes may do this at once: every step is idempotent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use tokio::time::Instant;
use uuid::Uuid;

use crate::categories::PlaceError;
use crate::data::Data;
use crate::sync;

/// How often the database is asked for pending work.
pub const PASS_EVERY: Duration = Duration::from_secs(5);

/// The first retry waits this long; each failure doubles it up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(5);
const MAX_PAUSE: Duration = Duration::from_secs(600);

/// Items asked for per pass (the rest waits for the next pass).
const PER_PASS: u32 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Job {
    Sync(Uuid),
    Delete(u64),
}

/// Failed jobs and when they may be tried again. Kept in memory: the work itself is in the
/// database, so a restart only forgets the pauses.
#[derive(Default)]
pub struct Backoff {
    failed: HashMap<Job, (u32, Instant)>,
}

impl Backoff {
    fn due(&self, job: Job) -> bool {
        self.failed
            .get(&job)
            .is_none_or(|(_, next)| Instant::now() >= *next)
    }

    /// Records a failure; returns how many in a row and the pause before the next try.
    fn failed(&mut self, job: Job) -> (u32, Duration) {
        let entry = self.failed.entry(job).or_insert((0, Instant::now()));
        entry.0 += 1;
        let pause = FIRST_PAUSE
            .saturating_mul(2u32.saturating_pow(entry.0 - 1))
            .min(MAX_PAUSE);
        entry.1 = Instant::now() + pause;
        (entry.0, pause)
    }

    fn done(&mut self, job: Job) {
        self.failed.remove(&job);
    }
}

/// Whether this process serves `guild`: the configured one, and online in this process
/// (another shard's guilds are not in its cache).
pub fn serves(cache: &serenity::Cache, data: &Data, guild: u64) -> bool {
    data.settings.guild_id.is_none_or(|g| g == guild)
        && data.settings.shards.owns(guild)
        && serenity::GuildId::new(guild)
            .to_guild_cached(cache)
            .is_some()
}

fn is_unknown(e: &serenity::Error) -> bool {
    matches!(e, serenity::Error::Http(h) if h.status_code() == Some(serenity::StatusCode::NOT_FOUND))
}

/// One pass: pending syncs, then pending deletions. Returns how many jobs it finished.
pub async fn pass(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    backoff: &mut Backoff,
) -> usize {
    let mut done = 0;
    match data.store.channels_to_sync(PER_PASS).await {
        Ok(pending) => {
            for item in pending {
                let t = &item.ticket;
                let job = Job::Sync(t.id);
                if !serves(cache, data, t.guild_id) || !backoff.due(job) {
                    continue;
                }
                let applied = match sync::apply(http, cache, data, t).await {
                    Ok(()) => Ok(()),
                    // The channel is gone: nothing left to bring up to date (the repair deals
                    // with a ticket whose channel vanished).
                    Err(PlaceError::Discord(e)) if is_unknown(&e) => Ok(()),
                    Err(e) => Err(e),
                };
                match applied {
                    Ok(()) => {
                        backoff.done(job);
                        match data.store.channel_synced(t.id, item.token).await {
                            Ok(_) => done += 1,
                            Err(e) => tracing::warn!(
                                "cannot record that the channel of ticket {} is up to date: {e}",
                                t.id
                            ),
                        }
                    }
                    Err(e) => {
                        let (n, pause) = backoff.failed(job);
                        tracing::warn!(
                            "the channel of ticket {} is not up to date yet (attempt {n}: {e}); trying again in {}s",
                            t.id,
                            pause.as_secs()
                        );
                    }
                }
            }
        }
        Err(e) => tracing::warn!("cannot look for channels to bring up to date: {e}"),
    }
    match data.store.channels_to_delete(PER_PASS).await {
        Ok(pending) => {
            for d in pending {
                let job = Job::Delete(d.channel_id);
                if !serves(cache, data, d.guild_id) || !backoff.due(job) {
                    continue;
                }
                let old_parent = serenity::GuildId::new(d.guild_id)
                    .to_guild_cached(cache)
                    .and_then(|g| {
                        g.channels
                            .get(&serenity::ChannelId::new(d.channel_id))
                            .and_then(|c| c.parent_id)
                    })
                    .map(|p| p.get());
                match serenity::ChannelId::new(d.channel_id).delete(http).await {
                    Ok(_) => {}
                    Err(e) if is_unknown(&e) => {}
                    Err(e) => {
                        let (n, pause) = backoff.failed(job);
                        tracing::warn!(
                            "the channel {} of deleted ticket {} is not deleted yet (attempt {n}: {e}); trying again in {}s",
                            d.channel_id,
                            d.ticket_id,
                            pause.as_secs()
                        );
                        continue;
                    }
                }
                backoff.done(job);
                match data.store.channel_deleted(d.channel_id).await {
                    Ok(_) => {
                        tracing::info!(
                            "deleted channel {} of deleted ticket {}",
                            d.channel_id,
                            d.ticket_id
                        );
                        done += 1;
                    }
                    Err(e) => tracing::warn!(
                        "cannot record that channel {} is deleted: {e}",
                        d.channel_id
                    ),
                }
                let guild = serenity::GuildId::new(d.guild_id);
                crate::categories::remove_if_empty(http, data, guild, old_parent).await;
            }
        }
        Err(e) => tracing::warn!("cannot look for channels to delete: {e}"),
    }
    done
}

/// Runs [`pass`] every [`PASS_EVERY`] for the life of the process.
pub async fn run_loop(http: Arc<serenity::Http>, cache: Arc<serenity::Cache>, data: Arc<Data>) {
    let mut backoff = Backoff::default();
    let mut tick = tokio::time::interval(PASS_EVERY);
    loop {
        tick.tick().await;
        let Some(_work) = data.begin_work() else {
            return;
        };
        pass(&http, &cache, &data, &mut backoff).await;
    }
}
