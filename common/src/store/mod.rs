//! The ticket store: one async trait used by the bot and `ticketctl`, with a SQL backend
//! (SQLite, MySQL/MariaDB) and a MongoDB backend chosen at runtime from [`DbConfig`].
//!
//! Every conditional transition is decided by the database in one write; when it is refused
//! the store reads the ticket and lets [`rules`] say why.

mod cursor;
mod legacy;
mod mongo;
mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use cursor::Cursor;
pub use mongo::MongoStore;
pub use sql::SqlStore;

use crate::config::DbConfig;
use crate::error::{StoreError, StoreResult};
use crate::rules::{self, RuleError, Transition};
use crate::stats::TicketStats;
use crate::ticket::{DiscordId, Participant, Ticket, TicketEvent, TicketStatus};

/// Which tickets a listing or a count is about. `None` fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    pub guild_id: Option<DiscordId>,
    pub status: Option<TicketStatus>,
    pub creator_id: Option<DiscordId>,
    pub claim: ClaimFilter,
    /// Created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClaimFilter {
    #[default]
    Any,
    Unclaimed,
    By(DiscordId),
}

/// A page of a newest-first listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub tickets: Vec<Ticket>,
    /// Pass to the next call to get the following page; `None` on the last page.
    pub next: Option<Cursor>,
}

/// Open and closed counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub open: u64,
    pub closed: u64,
}

impl StatusCounts {
    pub fn total(&self) -> u64 {
        self.open + self.closed
    }
}

/// What asking for a new ticket did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created(Ticket),
    /// The user has as many open tickets as the limit allows; these are they.
    LimitReached {
        open: Vec<Ticket>,
    },
}

/// A ticket with everything that is stored with it, as `ticketctl migrate` copies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRecord {
    pub ticket: Ticket,
    pub participants: Vec<Participant>,
    /// The per-user limit slot the ticket holds while open (internal; copied verbatim).
    pub open_slot: Option<u32>,
}

/// One record of a full export, in the order an import needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Ticket(Box<TicketRecord>),
    Event(TicketEvent),
}

/// A bot process's sign of life, so that `ticketctl` can tell whether a bot is running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub instance_id: String,
    pub details: String,
    pub started_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
}

/// How many records of each kind a store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordCounts {
    pub tickets: u64,
    pub participants: u64,
    pub events: u64,
}

/// Which backend a store is, for messages and `ticketctl status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Mysql,
    Mongodb,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Mysql => "mysql",
            Backend::Mongodb => "mongodb",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything the bot and `ticketctl` store. Implementations are cheap to clone (a pool inside)
/// and safe to share between tasks and between processes on one database.
#[async_trait]
pub trait TicketStore: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// The schema version recorded in the database.
    async fn schema_version(&self) -> StoreResult<i64>;

    /// Opens a ticket for `creator_id`, unless they already hold `max_open` open tickets in
    /// the guild. Decided by the database: any number of simultaneous calls for one user create
    /// at most `max_open` tickets. Writes the `opened` event.
    async fn create_ticket(
        &self,
        guild_id: DiscordId,
        creator_id: DiscordId,
        max_open: u32,
        at: DateTime<Utc>,
    ) -> StoreResult<CreateOutcome>;

    async fn get(&self, id: Uuid) -> StoreResult<Option<Ticket>>;

    /// Tickets whose id starts with `prefix` (a short id or any longer prefix), at most `limit`.
    async fn find_by_prefix(&self, prefix: &str, limit: u32) -> StoreResult<Vec<Ticket>>;

    async fn get_by_channel(&self, channel_id: DiscordId) -> StoreResult<Option<Ticket>>;

    /// Newest first (by `created_at`, then id), keyset-paginated: every page costs the same.
    async fn list(
        &self,
        filter: &TicketFilter,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Page>;

    async fn count(&self, filter: &TicketFilter) -> StoreResult<StatusCounts>;

    /// Tickets changed at or after `since`, oldest change first: how a running bot notices
    /// what `ticketctl` (or another bot process) did.
    async fn updated_since(&self, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Ticket>>;

    /// Counts, time to close, staff claims and closes (from the history) and tickets opened per
    /// day, for the tickets (and events) the filter's guild and time range select.
    async fn stats(&self, filter: &TicketFilter) -> StoreResult<TicketStats>;

    /// Records the ticket's Discord channel. A channel belongs to one ticket at most.
    async fn set_channel(&self, id: Uuid, channel_id: Option<DiscordId>) -> StoreResult<Ticket>;

    /// Applies a claim, unclaim, close or reopen if the ticket's current state allows it, with
    /// its history event, atomically. A refusal is `StoreError::Rule` saying why.
    async fn transition(&self, id: Uuid, transition: &Transition) -> StoreResult<Ticket>;

    /// Adds `user_id` to an open ticket. Writes the `participant_added` event.
    async fn add_participant(
        &self,
        id: Uuid,
        user_id: DiscordId,
        by: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<Participant>;

    /// Removes `user_id` from the ticket. Writes the `participant_removed` event.
    async fn remove_participant(
        &self,
        id: Uuid,
        user_id: DiscordId,
        by: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    async fn participants(&self, id: Uuid) -> StoreResult<Vec<Participant>>;

    /// The ticket's history, oldest first. Kept after the ticket is deleted.
    async fn history(&self, id: Uuid) -> StoreResult<Vec<TicketEvent>>;

    /// Deletes the ticket and its participants; its history stays, ending with a `deleted`
    /// event whose details hold the ticket as JSON. Returns the deleted ticket.
    async fn delete(
        &self,
        id: Uuid,
        by: Option<DiscordId>,
        at: DateTime<Utc>,
    ) -> StoreResult<Ticket>;

    /// Removes a ticket whose creation failed (its channel could not be made) with everything
    /// written for it, history included, as if it never was. Returns whether it existed.
    async fn discard(&self, id: Uuid) -> StoreResult<bool>;

    /// Up to `limit` records ordered by ticket id, after `after`: the export side of migrate.
    async fn export_tickets(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketRecord>>;

    /// Up to `limit` events ordered by event id, after `after`.
    async fn export_events(&self, after: Option<Uuid>, limit: u32)
        -> StoreResult<Vec<TicketEvent>>;

    /// Inserts or replaces records verbatim (idempotent), participants included.
    async fn import_tickets(&self, records: &[TicketRecord]) -> StoreResult<()>;

    /// Inserts events that are not there yet (idempotent).
    async fn import_events(&self, events: &[TicketEvent]) -> StoreResult<()>;

    async fn record_counts(&self) -> StoreResult<RecordCounts>;

    /// Records a bot process's sign of life (upsert by instance id).
    async fn heartbeat(&self, beat: &Heartbeat) -> StoreResult<()>;

    /// Processes seen at or after `since`.
    async fn heartbeats_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<Heartbeat>>;

    /// Removes a process's heartbeat (at clean shutdown).
    async fn remove_heartbeat(&self, instance_id: &str) -> StoreResult<()>;

    /// Closes the pool.
    async fn close(&self);

    /// Every record the store holds, in batches of `batch`, in an order an import can replay:
    /// tickets (with participants), then events. Heartbeats are left out: they describe running
    /// processes, not data. Memory stays flat.
    fn stream_all(self: Arc<Self>, batch: u32) -> BoxStream<'static, StoreResult<Record>> {
        let tickets = batched(self.clone(), batch, |s, after, n| async move {
            let rows = s.export_tickets(after, n).await?;
            let last = rows.last().map(|r| r.ticket.id);
            Ok((
                rows.into_iter()
                    .map(|r| Record::Ticket(Box::new(r)))
                    .collect(),
                last,
            ))
        });
        let events = batched(self.clone(), batch, |s, after, n| async move {
            let rows = s.export_events(after, n).await?;
            let last = rows.last().map(|e| e.id);
            Ok((rows.into_iter().map(Record::Event).collect(), last))
        });
        tickets.chain(events).boxed()
    }
}

/// A stream over keyset-paginated batches: `fetch(store, after, limit)` returns a batch and
/// the key to continue after (`None` when the batch was empty).
fn batched<S, F, Fut>(
    store: Arc<S>,
    batch: u32,
    fetch: F,
) -> BoxStream<'static, StoreResult<Record>>
where
    S: TicketStore + ?Sized,
    F: Fn(Arc<S>, Option<Uuid>, u32) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = StoreResult<(Vec<Record>, Option<Uuid>)>> + Send + 'static,
{
    let batch = batch.max(1);
    stream::try_unfold((None, false), move |(after, done): (Option<Uuid>, bool)| {
        let fut = (!done).then(|| fetch(store.clone(), after, batch));
        async move {
            let Some(fut) = fut else {
                return Ok::<_, StoreError>(None);
            };
            let (rows, last) = fut.await?;
            if rows.is_empty() {
                return Ok(None);
            }
            let done = rows.len() < batch as usize;
            Ok(Some((stream::iter(rows.into_iter().map(Ok)), (last, done))))
        }
    })
    .try_flatten()
    .boxed()
}

use futures::TryStreamExt;

/// Connects to the configured backend, creates or upgrades its schema (a Python-bot database
/// included) and returns it ready to use.
pub async fn open_store(config: &DbConfig) -> StoreResult<Arc<dyn TicketStore>> {
    Ok(match config {
        DbConfig::Sqlite { .. } | DbConfig::Mysql(_) => Arc::new(SqlStore::connect(config).await?),
        DbConfig::Mongo(mongo) => Arc::new(MongoStore::connect(mongo).await?),
    })
}

/// Whether the configured database exists already. Nothing is created: for tools that read,
/// a missing database is a wrong setting, not a wish for an empty one.
pub async fn database_exists(config: &DbConfig) -> StoreResult<bool> {
    match config {
        DbConfig::Sqlite { path } => Ok(path.exists()),
        DbConfig::Mysql(_) => SqlStore::database_exists(config).await,
        DbConfig::Mongo(mongo) => MongoStore::database_exists(mongo).await,
    }
}

/// Explains why a conditional write matched nothing: the ticket is gone, or the rules refuse.
/// `Ok(())` means the state changed between the write and this read: the caller retries.
pub(crate) fn explain_refusal(
    current: Option<&Ticket>,
    transition: &Transition,
) -> Result<(), StoreError> {
    let ticket = current.ok_or(RuleError::NotFound)?;
    rules::check(ticket, transition)?;
    Ok(())
}

/// How often a running bot records its heartbeat.
pub const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(20);

/// A bot whose last heartbeat is younger than this counts as running.
pub const LIVE_WITHIN: chrono::Duration = chrono::Duration::seconds(60);

/// How often a refused conditional write is retried when the re-read says it should have
/// passed (the state moved between the two).
pub(crate) const RACE_RETRIES: usize = 8;
