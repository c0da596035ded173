//! The ticket store: one async trait used by the bot and `ticketctl`, with a SQL backend
//! (SQLite, MySQL/MariaDB) and a MongoDB backend chosen at runtime from
//! [`DbConfig`](crate::config::DbConfig).
//!
//! Every conditional transition is decided by the database in one write; when it is refused
//! the store reads the ticket and lets [`rules`](crate::rules) say why.

mod archive;
mod channel_work;
mod cursor;
mod delegate;
mod legacy;
mod mongo;
mod open;
mod shared;
mod sql;
mod types;

use delegate::delegate_ticket_store;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use uuid::Uuid;

pub use archive::{
    ArchiveQuery, CategoryKind, OverflowCategory, PurgeCounts, PurgeQuery, TranscriptBlob,
    TranscriptInfo, TRANSCRIPT_CHUNK_BYTES,
};
pub use channel_work::{ChannelDeletion, ChannelSync};
pub use cursor::Cursor;
pub use mongo::MongoStore;
pub use open::{database_exists, load_names, open_current_store, open_store};
pub(crate) use shared::{
    add_purge_counts, check_purge_query, decide_transition, purged_events, PurgeByGuild,
    PURGE_BATCH, RACE_RETRIES,
};
pub use sql::SqlStore;
pub use types::{
    CacheFit, ClaimFilter, CreateOutcome, Heartbeat, Page, Record, RecordCounts, StaffMessages,
    StatusCounts, TicketFilter, TicketRecord,
};

use crate::auto_close::TicketActivity;
use crate::close_request::{CloseRequest, CloseRequestState};
pub use crate::config::Backend;
use crate::error::{StoreError, StoreResult};
use crate::feedback::{Feedback, FeedbackSummary, FeedbackWrite};
use crate::rules::Transition;
use crate::stats::TicketStats;
use crate::ticket::{DiscordId, Participant, Ticket, TicketEvent};
use crate::topics::{TicketForm, Topic, TopicWrite};

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

    /// Records that staff member `by` wrote in the ticket's channel at `at`, if it is the
    /// first such message: sets `first_response_at`/`_by` and writes the `first_response`
    /// event, once, whatever the concurrency (a conditional write). Its creator's own messages
    /// are not responses. Returns whether this call recorded it.
    async fn record_first_response(
        &self,
        id: Uuid,
        by: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;

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

    /// Prepares an empty store for a bulk load (SQLite: secondary indexes set aside, to be
    /// built once at the end), or goes on with an interrupted one. Returns whether it did;
    /// the caller then ends with [`TicketStore::finish_bulk_load`]. A store that is not empty,
    /// or a backend without such a mode, returns `false` and loads as usual.
    async fn begin_bulk_load(&self) -> StoreResult<bool>;

    /// Ends a bulk load: the indexes set aside are built (a no-op when none are). Opening the
    /// store does it too, so an interrupted load never leaves a store without its indexes.
    async fn finish_bulk_load(&self) -> StoreResult<()>;

    async fn record_counts(&self) -> StoreResult<RecordCounts>;

    /// MySQL: its buffer pool beside the indexes of the tickets and their history, which a
    /// whole report reads; `None` on SQLite (the OS caches its pages) and MongoDB.
    async fn cache_fit(&self) -> StoreResult<Option<CacheFit>>;

    /// Records a bot process's sign of life (upsert by instance id).
    async fn heartbeat(&self, beat: &Heartbeat) -> StoreResult<()>;

    /// Processes seen at or after `since`.
    async fn heartbeats_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<Heartbeat>>;

    /// Removes a process's heartbeat (at clean shutdown).
    async fn remove_heartbeat(&self, instance_id: &str) -> StoreResult<()>;

    // --- channel work kept until Discord confirms it ------------------------------------

    /// Tickets whose channel is out of date (every close and reopen marks it, in the same
    /// write), with a channel, oldest change first. Not time-based: a write committed late or
    /// on a host with a skewed clock is found all the same.
    async fn channels_to_sync(&self, limit: u32) -> StoreResult<Vec<ChannelSync>>;

    /// Clears the mark of `token` once Discord shows the state it asked for. Returns false when
    /// a later change replaced the mark (that one still waits) or the ticket is gone.
    async fn channel_synced(&self, id: Uuid, token: Uuid) -> StoreResult<bool>;

    /// Channels of deleted tickets that Discord has not confirmed deleted yet, oldest first.
    async fn channels_to_delete(&self, limit: u32) -> StoreResult<Vec<ChannelDeletion>>;

    /// Forgets a channel deletion once Discord confirmed it (deleted, or unknown). Returns
    /// whether it was pending.
    async fn channel_deleted(&self, channel_id: DiscordId) -> StoreResult<bool>;

    /// Finishes what an interrupted write left half-done (MongoDB, which has no multi-document
    /// transactions here: outbox events not yet copied, deletes and purges stopped half-way).
    /// Nothing to do for the SQL backends, whose writes are transactions. Run at connect and
    /// then periodically by the bot. Returns how many items it finished.
    async fn finish_interrupted(&self) -> StoreResult<u64>;

    // --- archive, transcripts, overflow categories, leases, purge -----------------------

    /// Marks a closed ticket archived (its transcript saved and its channel deleted by the
    /// caller): sets `archived_at`, clears `channel_id` and `archive_requested_at`, writes the
    /// `archived` event (details: the old channel id), atomically and only if the ticket is
    /// closed and not archived yet (else `RuleError::NotClosed` / `AlreadyArchived`), so that
    /// of two processes archiving one ticket exactly one wins.
    async fn mark_archived(
        &self,
        id: Uuid,
        by: Option<DiscordId>,
        at: DateTime<Utc>,
    ) -> StoreResult<Ticket>;

    /// Asks the running bot to archive the closed, unarchived tickets the query selects
    /// (sets `archive_requested_at` and `updated_at`, so the bot's catch-up notices). Returns
    /// how many were marked. Here `closed_before: None` means whenever closed, `requested` is
    /// not used, tickets without a channel and those already requested are left alone.
    async fn request_archive(&self, query: &ArchiveQuery, at: DateTime<Utc>) -> StoreResult<u64>;

    /// Closed, unarchived tickets with a channel that the query selects, oldest close first.
    async fn archivable(&self, query: &ArchiveQuery, limit: u32) -> StoreResult<Vec<Ticket>>;

    async fn count_archivable(&self, query: &ArchiveQuery) -> StoreResult<u64>;

    /// Stores (or atomically replaces) the ticket's transcript, chunked.
    /// Counts one message written by staff member `user_id` in a ticket channel of `guild_id`
    /// at `at` (per hour).
    async fn count_staff_message(
        &self,
        guild_id: DiscordId,
        user_id: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Every per-hour staff message count.
    async fn all_staff_messages(&self) -> StoreResult<Vec<StaffMessages>>;

    /// Sets these per-hour counts (the import side of migrate: a count is replaced, not added
    /// to, so that a rerun ends the same).
    async fn import_staff_messages(&self, rows: &[StaffMessages]) -> StoreResult<()>;

    /// Stores a pending close request; it replaces the ticket's earlier one, whatever its
    /// state (see [`crate::close_request`]).
    async fn put_close_request(&self, request: &CloseRequest) -> StoreResult<()>;

    /// The ticket's close request, if it has one.
    async fn close_request(&self, ticket_id: Uuid) -> StoreResult<Option<CloseRequest>>;

    /// Moves the request `seen` to `state`, next due at `due_at`, if it is still as seen (same
    /// id, state and due time): decided by the database, so of several callers that saw the
    /// same request one wins. Returns the request as stored now, or `None` when it changed,
    /// was replaced or is gone.
    async fn settle_close_request(
        &self,
        seen: &CloseRequest,
        state: CloseRequestState,
        due_at: DateTime<Utc>,
    ) -> StoreResult<Option<CloseRequest>>;

    /// Requests due by `now` (pending past their deadline, or settled and not seen through),
    /// the longest due first.
    async fn due_close_requests(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<CloseRequest>>;

    /// Removes the request `id` (seen through, or denied). Returns whether it was there.
    async fn remove_close_request(&self, id: Uuid) -> StoreResult<bool>;

    /// Stores the request only if the ticket has none (an auto-close warning: of several
    /// processes, one warns). Returns whether it was stored.
    async fn add_close_request(&self, request: &CloseRequest) -> StoreResult<bool>;

    /// Removes the ticket's pending request made by `requested_by` (a message cancels the bot's
    /// auto-close warning). Returns whether one was removed.
    async fn cancel_close_request(
        &self,
        ticket_id: Uuid,
        requested_by: DiscordId,
    ) -> StoreResult<bool>;

    /// Notes a message in the ticket's channel at `at` (the latest time is kept).
    async fn record_activity(&self, activity: &TicketActivity) -> StoreResult<()>;

    /// When the ticket's channel last had a message, if one was noted.
    async fn last_activity(&self, ticket_id: Uuid) -> StoreResult<Option<DateTime<Utc>>>;

    /// Open tickets with a channel and no close request, opened before `before` and with no
    /// message noted since: the oldest first.
    async fn stale_tickets(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Ticket>>;

    /// Up to `limit` last message times ordered by ticket id, after `after`: the export side
    /// of migrate.
    async fn export_activity(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketActivity>>;

    /// Every ticket's last message time, by ticket id.
    async fn all_activity(&self) -> StoreResult<Vec<TicketActivity>> {
        all_pages(|after| self.export_activity(after, PAGE), |a| a.ticket_id).await
    }

    /// Stores these as they are (the import side of migrate; the later time is kept).
    async fn import_activity(&self, rows: &[TicketActivity]) -> StoreResult<()>;

    /// Up to `limit` close requests ordered by ticket id, after `after`: the export side of
    /// migrate.
    async fn export_close_requests(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<CloseRequest>>;

    /// Every stored close request, by ticket id.
    async fn all_close_requests(&self) -> StoreResult<Vec<CloseRequest>> {
        all_pages(
            |after| self.export_close_requests(after, PAGE),
            |r| r.ticket_id,
        )
        .await
    }

    /// Stores these requests as they are (the import side of migrate; a ticket's request is
    /// replaced, so that a rerun ends the same).
    async fn import_close_requests(&self, rows: &[CloseRequest]) -> StoreResult<()>;

    /// Stores a rating of `feedback.ticket_id` by `feedback.user_id`: the ticket's first (then
    /// `given_at` is kept), or a change of the same author's rating first given at or after
    /// `changeable_since` (rating, `updated_at` and, when given, the comment). Decided by the
    /// database: one rating per ticket whatever the concurrency.
    async fn give_feedback(
        &self,
        feedback: &Feedback,
        changeable_since: DateTime<Utc>,
    ) -> StoreResult<FeedbackWrite>;

    /// The ticket's rating, if it has one.
    async fn feedback(&self, ticket_id: Uuid) -> StoreResult<Option<Feedback>>;

    /// The ratings of the tickets `filter` selects, overall and per staff member who claimed or
    /// closed them.
    async fn feedback_summary(&self, filter: &TicketFilter) -> StoreResult<FeedbackSummary>;

    /// Up to `limit` ratings ordered by ticket id, after `after`: the export side of migrate.
    async fn export_feedback(&self, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<Feedback>>;

    /// Every rating, by ticket id.
    async fn all_feedback(&self) -> StoreResult<Vec<Feedback>> {
        all_pages(|after| self.export_feedback(after, PAGE), |f| f.ticket_id).await
    }

    /// Stores these ratings as they are (the import side of migrate; a ticket's rating is
    /// replaced, so that a rerun ends the same).
    async fn import_feedback(&self, rows: &[Feedback]) -> StoreResult<()>;

    /// Adds a topic; `NameTaken` when the guild has one of that name (decided by the database).
    async fn add_topic(&self, topic: &Topic) -> StoreResult<TopicWrite>;

    /// Replaces what may change of an existing topic (name, emoji, category, role, limit,
    /// questions, `updated_at`).
    async fn update_topic(&self, topic: &Topic) -> StoreResult<TopicWrite>;

    /// Marks the topic removed (its name is free again). Returns whether it was there.
    async fn remove_topic(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<bool>;

    /// The topic, removed or not.
    async fn topic(&self, id: Uuid) -> StoreResult<Option<Topic>>;

    /// The guild's topics, oldest first; removed ones left out.
    async fn topics(&self, guild_id: DiscordId) -> StoreResult<Vec<Topic>>;

    /// Every topic, removed ones included: the export side of migrate.
    async fn all_topics(&self) -> StoreResult<Vec<Topic>>;

    /// Stores these topics as they are (the import side of migrate).
    async fn import_topics(&self, rows: &[Topic]) -> StoreResult<()>;

    /// Records the topic and answers a ticket was opened with.
    async fn put_ticket_form(&self, form: &TicketForm) -> StoreResult<()>;

    /// The ticket's topic and answers, if it was opened with a topic.
    async fn ticket_form(&self, ticket_id: Uuid) -> StoreResult<Option<TicketForm>>;

    /// Up to `limit` ticket forms ordered by ticket id, after `after`: the export side of
    /// migrate.
    async fn export_ticket_forms(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketForm>>;

    /// Every ticket's form, by ticket id.
    async fn all_ticket_forms(&self) -> StoreResult<Vec<TicketForm>> {
        all_pages(
            |after| self.export_ticket_forms(after, PAGE),
            |f| f.ticket_id,
        )
        .await
    }

    /// Stores these as they are (the import side of migrate).
    async fn import_ticket_forms(&self, rows: &[TicketForm]) -> StoreResult<()>;

    /// Records names the bot saw; for each id, the name seen last wins (an older sighting
    /// written later changes nothing).
    async fn remember_names(&self, names: &[crate::names::Name]) -> StoreResult<()>;

    /// The known names of these ids (unknown ids are left out).
    async fn names(&self, ids: &[DiscordId]) -> StoreResult<Vec<crate::names::Name>>;

    /// Up to `limit` known names after the id `after`, by id: the export side of migrate.
    async fn export_names(
        &self,
        after: Option<DiscordId>,
        limit: u32,
    ) -> StoreResult<Vec<crate::names::Name>>;

    /// Every known name, by id.
    async fn all_names(&self) -> StoreResult<Vec<crate::names::Name>> {
        all_pages(|after| self.export_names(after, PAGE), |n| n.id).await
    }

    async fn put_transcript(&self, blob: &TranscriptBlob) -> StoreResult<()>;

    async fn get_transcript(&self, ticket_id: Uuid) -> StoreResult<Option<TranscriptBlob>>;

    async fn transcript_info(&self, ticket_id: Uuid) -> StoreResult<Option<TranscriptInfo>>;

    /// Up to `limit` transcripts ordered by ticket id, after `after`: the export side of migrate.
    async fn export_transcripts(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TranscriptBlob>>;

    /// The overflow categories made beside `base_id`, by number.
    async fn overflow_categories(
        &self,
        guild_id: DiscordId,
        base_id: DiscordId,
    ) -> StoreResult<Vec<OverflowCategory>>;

    /// Every overflow category (for migrate and `ticketctl status`).
    async fn all_overflow_categories(&self) -> StoreResult<Vec<OverflowCategory>>;

    /// Records a new overflow category. `Ok(None)` when recorded; `Ok(Some(existing))` when
    /// another process recorded that base and number first (the caller then deletes its own
    /// Discord category and uses `existing`). Idempotent for the same category id.
    async fn add_overflow_category(
        &self,
        category: &OverflowCategory,
    ) -> StoreResult<Option<OverflowCategory>>;

    /// Forgets an overflow category (deleted in Discord). Returns whether it was known.
    async fn remove_overflow_category(&self, category_id: DiscordId) -> StoreResult<bool>;

    /// Takes or renews the lease `key` for `holder` until `until`, if it is free, expired
    /// (`until` of the current holder before `now`) or already held by `holder`. Decided by
    /// the database: of several processes asking at once, one gets it.
    async fn try_lease(
        &self,
        key: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Gives the lease up if `holder` holds it.
    async fn release_lease(&self, key: &str, holder: &str) -> StoreResult<()>;

    /// Removes for good what the query selects (see [`PurgeQuery`]): ticket rows, their
    /// participants, history and transcripts, and the history of matching deleted tickets.
    /// With `dry_run` nothing changes and the counts say what would go. Otherwise a `purged`
    /// event (nil ticket id, one per guild touched, details: the query and counts as JSON)
    /// stays as the audit entry. Restartable: an interrupted purge finishes on a re-run.
    async fn purge(
        &self,
        query: &PurgeQuery,
        dry_run: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<PurgeCounts>;

    /// Closes the pool.
    async fn close(&self);

    /// Every record the store holds, in batches of `batch`, in an order an import can replay:
    /// tickets (with participants), then events, then transcripts, then overflow categories. Heartbeats are left out: they describe running
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
        let transcripts = batched(
            self.clone(),
            batch.min(TRANSCRIPTS_PER_BATCH),
            |s, after, n| async move {
                let rows = s.export_transcripts(after, n).await?;
                let last = rows.last().map(|t| t.ticket_id);
                Ok((
                    rows.into_iter()
                        .map(|t| Record::Transcript(Box::new(t)))
                        .collect(),
                    last,
                ))
            },
        );
        let store = self.clone();
        let categories = stream::once(async move { store.all_overflow_categories().await })
            .map_ok(|cats| stream::iter(cats.into_iter().map(|c| Ok(Record::Category(c)))))
            .try_flatten();
        let store = self.clone();
        let messages = stream::once(async move { store.all_staff_messages().await })
            .map_ok(|rows| stream::iter(rows.into_iter().map(|r| Ok(Record::StaffMessages(r)))))
            .try_flatten();
        // The tables with a row per ticket or per user are read a page at a time, like the
        // tickets: a copy holds a page of each, not the table.
        let requests = batched(self.clone(), batch, |s, after, n| async move {
            let rows = s.export_close_requests(after, n).await?;
            let last = rows.last().map(|r| r.ticket_id);
            Ok((rows.into_iter().map(Record::CloseRequest).collect(), last))
        });
        let activity = batched(self.clone(), batch, |s, after, n| async move {
            let rows = s.export_activity(after, n).await?;
            let last = rows.last().map(|a| a.ticket_id);
            Ok((rows.into_iter().map(Record::Activity).collect(), last))
        });
        let feedback = batched(self.clone(), batch, |s, after, n| async move {
            let rows = s.export_feedback(after, n).await?;
            let last = rows.last().map(|f| f.ticket_id);
            Ok((rows.into_iter().map(Record::Feedback).collect(), last))
        });
        let store = self.clone();
        let topics = stream::once(async move { store.all_topics().await })
            .map_ok(|rows| stream::iter(rows.into_iter().map(|r| Ok(Record::Topic(Box::new(r))))))
            .try_flatten();
        let forms = batched(self.clone(), batch, |s, after, n| async move {
            let rows = s.export_ticket_forms(after, n).await?;
            let last = rows.last().map(|f| f.ticket_id);
            Ok((
                rows.into_iter()
                    .map(|f| Record::TicketForm(Box::new(f)))
                    .collect(),
                last,
            ))
        });
        let names = batched(self.clone(), batch, |s, after, n| async move {
            let rows = s.export_names(after, n).await?;
            let last = rows.last().map(|n| n.id);
            Ok((rows.into_iter().map(Record::Name).collect(), last))
        });
        tickets
            .chain(events)
            .chain(transcripts)
            .chain(categories)
            .chain(names)
            .chain(messages)
            .chain(requests)
            .chain(activity)
            .chain(feedback)
            .chain(topics)
            .chain(forms)
            .boxed()
    }
}

/// Transcripts are large (up to tens of MiB each): migrate holds few at a time.
const TRANSCRIPTS_PER_BATCH: u32 = 4;

/// The page size of the `all_*` readers built on an export.
const PAGE: u32 = 1000;

/// Every row of a paged export, page after page: `page(after)` reads the rows after the key
/// `after`, `key` gives a row's key.
async fn all_pages<T, K, F, Fut>(mut page: F, key: impl Fn(&T) -> K) -> StoreResult<Vec<T>>
where
    F: FnMut(Option<K>) -> Fut,
    Fut: std::future::Future<Output = StoreResult<Vec<T>>>,
{
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let rows = page(after).await?;
        after = rows.last().map(&key);
        let full = rows.len() >= PAGE as usize;
        all.extend(rows);
        if !full {
            return Ok(all);
        }
    }
}

/// A stream over keyset-paginated batches: `fetch(store, after, limit)` returns a batch and
/// the key to continue after (`None` when the batch was empty).
fn batched<S, K, F, Fut>(
    store: Arc<S>,
    batch: u32,
    fetch: F,
) -> BoxStream<'static, StoreResult<Record>>
where
    S: TicketStore + ?Sized,
    K: Send + 'static,
    F: Fn(Arc<S>, Option<K>, u32) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = StoreResult<(Vec<Record>, Option<K>)>> + Send + 'static,
{
    let batch = batch.max(1);
    stream::try_unfold((None, false), move |(after, done): (Option<K>, bool)| {
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

/// How often a running bot records its heartbeat.
pub const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(20);

/// A bot whose last heartbeat is younger than this counts as running.
pub const LIVE_WITHIN: chrono::Duration = chrono::Duration::seconds(60);
