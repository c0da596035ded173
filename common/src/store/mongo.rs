//! The MongoDB backend.
//!
//! A ticket is one document, participants inside it as a map keyed by user id, so that every
//! transition is one conditional single-document write (`find_one_and_update`), atomic on any
//! deployment, standalone servers included (no multi-document transactions needed).
//!
//! History lives in its own collection, since it outlives deleted tickets. To write a transition
//! and its event atomically, the event first goes into the ticket's `outbox` map in the same
//! write, then is copied to `ticket_events` (idempotent: the event id is the `_id`) and removed
//! from the outbox. A crash in between leaves it in the outbox; reads of the history include
//! it and the next start copies it over.
//!
//! Times are Int64 microseconds since 1970 (BSON dates keep only milliseconds); the per-user
//! limit uses a unique index on `(guild_id, creator_id, open_slot)` where a closed ticket's
//! slot is its own id, so no partial index is needed.

use std::future::IntoFuture;
use std::time::Duration;

use async_trait::async_trait;
use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions, ReturnDocument};
use mongodb::{Client, Collection, Database, IndexModel};
use uuid::Uuid;

use super::legacy::{self, LegacyRow, SlotCounter};
use super::{
    explain_refusal, Backend, ClaimFilter, CreateOutcome, Cursor, Heartbeat, Page, RecordCounts,
    StatusCounts, TicketFilter, TicketRecord, TicketStore, RACE_RETRIES,
};
use crate::config::MongoConfig;
use crate::error::{StoreError, StoreResult};
use crate::rules::{self, RuleError, Transition};
use crate::stats::{
    day_from_number, sort_staff, tally, DayCount, DurationSummary, TicketStats, MICROS_PER_DAY,
};
use crate::ticket::{DiscordId, EventKind, Participant, Ticket, TicketEvent, TicketStatus};

const SCHEMA_VERSION: i64 = 1;

/// Reopen looks for a free open-ticket slot up to here (a user never holds that many).
const MAX_SLOT: i64 = 10_000;

/// Namespace of the id of a ticket's `deleted` event: one per ticket, so finishing an
/// interrupted delete twice writes it once.
const DELETED_EVENTS: Uuid = Uuid::from_u128(0x3f6e_0c55_9a2d_4b71_8e44_d1c0_7a00_de1e);

#[derive(Clone)]
pub struct MongoStore {
    client: Client,
    tickets: Collection<Document>,
    events: Collection<Document>,
    heartbeats: Collection<Document>,
    meta: Collection<Document>,
}

fn id_to_bson(id: DiscordId) -> Bson {
    Bson::Int64(id as i64)
}

fn opt_id_to_bson(id: Option<DiscordId>) -> Bson {
    id.map_or(Bson::Null, id_to_bson)
}

fn time_to_bson(t: DateTime<Utc>) -> Bson {
    Bson::Int64(t.timestamp_micros())
}

fn opt_time_to_bson(t: Option<DateTime<Utc>>) -> Bson {
    t.map_or(Bson::Null, time_to_bson)
}

fn opt_str_to_bson(s: &Option<String>) -> Bson {
    s.as_ref().map_or(Bson::Null, |s| Bson::String(s.clone()))
}

/// An integer however the server returns it (some servers shrink small Int64s to Int32).
fn as_i64(v: &Bson) -> Option<i64> {
    match v {
        Bson::Int64(i) => Some(*i),
        Bson::Int32(i) => Some(i64::from(*i)),
        Bson::Double(f) if f.fract() == 0.0 => Some(*f as i64),
        Bson::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

struct Reader<'a> {
    doc: &'a Document,
    id: String,
}

impl<'a> Reader<'a> {
    fn new(doc: &'a Document) -> Self {
        let id = doc.get("_id").map(|v| v.to_string()).unwrap_or_default();
        Reader { doc, id }
    }

    fn err(&self, field: &str, what: &str) -> StoreError {
        StoreError::corrupt(&self.id, format!("field {field}: {what}"))
    }

    fn opt_i64(&self, field: &str) -> StoreResult<Option<i64>> {
        match self.doc.get(field) {
            None | Some(Bson::Null) => Ok(None),
            Some(v) => as_i64(v)
                .map(Some)
                .ok_or_else(|| self.err(field, "not an integer")),
        }
    }

    fn i64(&self, field: &str) -> StoreResult<i64> {
        self.opt_i64(field)?
            .ok_or_else(|| self.err(field, "missing"))
    }

    fn opt_id(&self, field: &str) -> StoreResult<Option<DiscordId>> {
        Ok(self.opt_i64(field)?.map(|v| v as u64))
    }

    fn id(&self, field: &str) -> StoreResult<DiscordId> {
        Ok(self.i64(field)? as u64)
    }

    fn opt_time(&self, field: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.opt_i64(field)?
            .map(|v| {
                DateTime::from_timestamp_micros(v).ok_or_else(|| self.err(field, "out of range"))
            })
            .transpose()
    }

    fn time(&self, field: &str) -> StoreResult<DateTime<Utc>> {
        self.opt_time(field)?
            .ok_or_else(|| self.err(field, "missing"))
    }

    fn opt_str(&self, field: &str) -> StoreResult<Option<String>> {
        match self.doc.get(field) {
            None | Some(Bson::Null) => Ok(None),
            Some(Bson::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.err(field, "not a string")),
        }
    }

    fn str(&self, field: &str) -> StoreResult<String> {
        self.opt_str(field)?
            .ok_or_else(|| self.err(field, "missing"))
    }

    fn uuid(&self, field: &str) -> StoreResult<Uuid> {
        Uuid::parse_str(&self.str(field)?).map_err(|_| self.err(field, "not a UUID"))
    }
}

fn ticket_from_doc(doc: &Document) -> StoreResult<Ticket> {
    let r = Reader::new(doc);
    Ok(Ticket {
        id: r.uuid("_id")?,
        guild_id: r.id("guild_id")?,
        channel_id: r.opt_id("channel_id")?,
        creator_id: r.id("creator_id")?,
        status: r
            .str("status")?
            .parse::<TicketStatus>()
            .map_err(|e| r.err("status", &e.to_string()))?,
        created_at: r.time("created_at")?,
        closed_at: r.opt_time("closed_at")?,
        closed_by: r.opt_id("closed_by")?,
        close_reason: r.opt_str("close_reason")?,
        claimed_by: r.opt_id("claimed_by")?,
        claimed_at: r.opt_time("claimed_at")?,
        updated_at: r.time("updated_at")?,
    })
}

fn participants_from_doc(doc: &Document, ticket_id: Uuid) -> StoreResult<Vec<Participant>> {
    let Ok(map) = doc.get_document("participants") else {
        return Ok(Vec::new());
    };
    let mut out = map
        .iter()
        .map(|(user, v)| {
            let p = v.as_document().ok_or_else(|| {
                StoreError::corrupt(ticket_id, format!("participant {user} is not a document"))
            })?;
            let r = Reader::new(p);
            Ok(Participant {
                ticket_id,
                user_id: user.parse::<u64>().map_err(|_| {
                    StoreError::corrupt(ticket_id, format!("participant key {user:?}"))
                })?,
                added_by: r.id("added_by")?,
                added_at: r.time("added_at")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    out.sort_by_key(|p| p.user_id);
    Ok(out)
}

fn record_from_doc(doc: &Document) -> StoreResult<TicketRecord> {
    let ticket = ticket_from_doc(doc)?;
    let open_slot = match doc.get("open_slot") {
        Some(v) => as_i64(v).and_then(|s| u32::try_from(s).ok()),
        None => None,
    };
    Ok(TicketRecord {
        participants: participants_from_doc(doc, ticket.id)?,
        ticket,
        open_slot,
    })
}

/// The ticket document, with every internal field at its resting value.
fn ticket_doc(record: &TicketRecord) -> Document {
    let t = &record.ticket;
    let mut participants = Document::new();
    for p in &record.participants {
        participants.insert(
            p.user_id.to_string(),
            doc! { "added_by": id_to_bson(p.added_by), "added_at": time_to_bson(p.added_at) },
        );
    }
    doc! {
        "_id": t.id.to_string(),
        "guild_id": id_to_bson(t.guild_id),
        "channel_id": opt_id_to_bson(t.channel_id),
        "channel_key": channel_key(t.id, t.channel_id),
        "creator_id": id_to_bson(t.creator_id),
        "status": t.status.as_str(),
        "created_at": time_to_bson(t.created_at),
        "closed_at": opt_time_to_bson(t.closed_at),
        "closed_by": opt_id_to_bson(t.closed_by),
        "close_reason": opt_str_to_bson(&t.close_reason),
        "claimed_by": opt_id_to_bson(t.claimed_by),
        "claimed_at": opt_time_to_bson(t.claimed_at),
        "updated_at": time_to_bson(t.updated_at),
        "open_slot": open_slot_value(t.id, record.open_slot),
        "participants": participants,
        "participant_n": record.participants.len() as i64,
        "outbox": Document::new(),
        "outbox_n": 0_i64,
        "deleted": false,
    }
}

/// A closed ticket's slot is its own id: unique, so the unique index needs no partial filter.
fn open_slot_value(id: Uuid, slot: Option<u32>) -> Bson {
    slot.map_or_else(
        || Bson::String(id.to_string()),
        |s| Bson::Int64(i64::from(s)),
    )
}

/// The unique key of the channel: the channel id, or the ticket's id while it has none.
fn channel_key(id: Uuid, channel: Option<DiscordId>) -> Bson {
    channel.map_or_else(
        || Bson::String(id.to_string()),
        |c| Bson::String(format!("c{c}")),
    )
}

fn event_doc(e: &TicketEvent) -> Document {
    doc! {
        "_id": e.id.to_string(),
        "ticket_id": e.ticket_id.to_string(),
        "guild_id": id_to_bson(e.guild_id),
        "kind": e.kind.as_str(),
        "actor_id": opt_id_to_bson(e.actor_id),
        "at": time_to_bson(e.at),
        "details": opt_str_to_bson(&e.details),
    }
}

fn event_from_doc(doc: &Document) -> StoreResult<TicketEvent> {
    let r = Reader::new(doc);
    Ok(TicketEvent {
        id: r.uuid("_id")?,
        ticket_id: r.uuid("ticket_id")?,
        guild_id: r.id("guild_id")?,
        kind: r
            .str("kind")?
            .parse::<EventKind>()
            .map_err(|e| r.err("kind", &e.to_string()))?,
        actor_id: r.opt_id("actor_id")?,
        at: r.time("at")?,
        details: r.opt_str("details")?,
    })
}

fn heartbeat_doc(h: &Heartbeat) -> Document {
    doc! {
        "_id": h.instance_id.clone(),
        "details": h.details.clone(),
        "started_at": time_to_bson(h.started_at),
        "seen_at": time_to_bson(h.seen_at),
    }
}

fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    const DUP: i32 = 11000;
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUP,
        ErrorKind::Command(c) => c.code == DUP,
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .is_some_and(|errs| errs.iter().all(|w| w.code == DUP)),
        _ => false,
    }
}

/// Adds the event to the outbox in the same write as the change it records.
fn with_outbox(mut update: Document, event: &TicketEvent) -> Document {
    let set = update
        .entry("$set".to_owned())
        .or_insert_with(|| Bson::Document(Document::new()));
    if let Bson::Document(set) = set {
        set.insert(format!("outbox.{}", event.id), event_doc(event));
    }
    let inc = update
        .entry("$inc".to_owned())
        .or_insert_with(|| Bson::Document(Document::new()));
    if let Bson::Document(inc) = inc {
        inc.insert("outbox_n", 1_i64);
    }
    update
}

fn filter_doc(filter: &TicketFilter) -> Document {
    let mut f = doc! { "deleted": false };
    if let Some(g) = filter.guild_id {
        f.insert("guild_id", id_to_bson(g));
    }
    if let Some(s) = filter.status {
        f.insert("status", s.as_str());
    }
    if let Some(c) = filter.creator_id {
        f.insert("creator_id", id_to_bson(c));
    }
    match filter.claim {
        ClaimFilter::Any => {}
        ClaimFilter::Unclaimed => {
            // `$eq: null` rather than a bare null: same meaning, and some MongoDB-wire servers
            // get the bare form wrong inside `$and` and in counts.
            f.insert("claimed_by", doc! { "$eq": Bson::Null });
        }
        ClaimFilter::By(u) => {
            f.insert("claimed_by", id_to_bson(u));
        }
    }
    let mut created = Document::new();
    if let Some(t) = filter.since {
        created.insert("$gte", time_to_bson(t));
    }
    if let Some(t) = filter.until {
        created.insert("$lt", time_to_bson(t));
    }
    if !created.is_empty() {
        f.insert("created_at", created);
    }
    f
}

impl MongoStore {
    /// Connects, checks the server answers, creates indexes and takes over a Python-bot
    /// database in place.
    pub async fn connect(config: &MongoConfig) -> StoreResult<MongoStore> {
        let connect_err = |e: mongodb::error::Error| StoreError::Connect {
            target: config.target(),
            source: Box::new(e),
        };
        let mut options = ClientOptions::parse(config.uri.expose())
            .await
            .map_err(connect_err)?;
        options
            .app_name
            .get_or_insert_with(|| "ticketbot".to_owned());
        options
            .server_selection_timeout
            .get_or_insert(Duration::from_secs(10));
        let client = Client::with_options(options).map_err(connect_err)?;
        let db: Database = client.database(&config.database);
        db.run_command(doc! { "ping": 1 })
            .await
            .map_err(connect_err)?;
        let store = MongoStore {
            tickets: db.collection("tickets"),
            events: db.collection("ticket_events"),
            heartbeats: db.collection("bot_heartbeats"),
            meta: db.collection("ticketbot_meta"),
            client,
        };
        store.upgrade_legacy().await?;
        store.create_indexes().await?;
        store.repair().await?;
        store
            .meta
            .update_one(
                doc! { "_id": "schema" },
                doc! { "$max": { "version": SCHEMA_VERSION } },
            )
            .upsert(true)
            .await?;
        Ok(store)
    }

    pub(crate) async fn database_exists(config: &MongoConfig) -> StoreResult<bool> {
        let connect_err = |e: mongodb::error::Error| StoreError::Connect {
            target: config.target(),
            source: Box::new(e),
        };
        let mut options = ClientOptions::parse(config.uri.expose())
            .await
            .map_err(connect_err)?;
        options
            .server_selection_timeout
            .get_or_insert(Duration::from_secs(10));
        let client = Client::with_options(options).map_err(connect_err)?;
        let names = client.list_database_names().await.map_err(connect_err)?;
        client.shutdown().await;
        Ok(names.iter().any(|n| n == &config.database))
    }

    async fn create_indexes(&self) -> StoreResult<()> {
        let index = |keys: Document, name: &str, unique: bool| {
            IndexModel::builder()
                .keys(keys)
                .options(
                    IndexOptions::builder()
                        .name(name.to_owned())
                        .unique(unique)
                        .build(),
                )
                .build()
        };
        self.tickets
            .create_indexes([
                index(doc! { "channel_key": 1 }, "tickets_channel_uq", true),
                index(doc! { "channel_id": 1 }, "tickets_channel", false),
                index(
                    doc! { "guild_id": 1, "creator_id": 1, "open_slot": 1 },
                    "tickets_open_slot_uq",
                    true,
                ),
                index(
                    doc! { "guild_id": 1, "status": 1, "created_at": -1 },
                    "tickets_guild_status_created",
                    false,
                ),
                // `_id` is left out of compound keys: some MongoDB-wire servers reject it there.
                index(doc! { "created_at": -1 }, "tickets_created", false),
                index(
                    doc! { "creator_id": 1, "created_at": -1 },
                    "tickets_creator_created",
                    false,
                ),
                index(
                    doc! { "claimed_by": 1, "created_at": -1 },
                    "tickets_claimer_created",
                    false,
                ),
                index(doc! { "outbox_n": 1 }, "tickets_outbox", false),
                index(doc! { "updated_at": 1 }, "tickets_updated", false),
                index(doc! { "deleted": 1 }, "tickets_deleted", false),
            ])
            .await?;
        self.events
            .create_indexes([
                index(
                    doc! { "ticket_id": 1, "at": 1 },
                    "ticket_events_ticket",
                    false,
                ),
                index(
                    doc! { "guild_id": 1, "at": 1 },
                    "ticket_events_guild_at",
                    false,
                ),
            ])
            .await?;
        Ok(())
    }

    /// Rewrites every document the Python bot wrote (no `updated_at`) into our form.
    async fn upgrade_legacy(&self) -> StoreResult<()> {
        let legacy = doc! { "updated_at": { "$exists": false } };
        let imported_at = crate::ticket::now();
        let mut slots = SlotCounter::default();
        let mut total = 0usize;
        loop {
            let docs: Vec<Document> = self
                .tickets
                .find(legacy.clone())
                .sort(doc! { "_id": 1 })
                .limit(500)
                .await?
                .try_collect()
                .await?;
            if docs.is_empty() {
                break;
            }
            for old in &docs {
                let row = legacy_row(old);
                let (mut record, events) = legacy::convert(&row, &mut slots, imported_at)?;
                // Keep the legacy `_id` as it was stored (a string), matched exactly.
                let filter = doc! { "_id": old.get("_id").cloned().unwrap_or(Bson::Null), "updated_at": { "$exists": false } };
                loop {
                    match self
                        .tickets
                        .replace_one(filter.clone(), ticket_doc(&record))
                        .await
                    {
                        Ok(_) => break,
                        // A slot taken by a document upgraded before an interruption.
                        Err(e) if is_duplicate_key(&e) && record.open_slot.is_some() => {
                            record.open_slot = record.open_slot.map(|s| s + 1);
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                self.insert_events(&events).await?;
            }
            total += docs.len();
        }
        if total > 0 {
            tracing::info!("took over {total} tickets from the Python Ticket-Bot's database");
        }
        Ok(())
    }

    /// Copies outbox events left by an interrupted write and finishes interrupted deletes.
    async fn repair(&self) -> StoreResult<()> {
        let mut pending = self.tickets.find(doc! { "outbox_n": { "$gt": 0 } }).await?;
        while let Some(doc) = pending.try_next().await? {
            self.flush_outbox(&doc).await?;
        }
        let mut deleting = self.tickets.find(doc! { "deleted": true }).await?;
        while let Some(doc) = deleting.try_next().await? {
            self.finish_delete(&doc).await?;
        }
        Ok(())
    }

    fn outbox_events(doc: &Document) -> StoreResult<Vec<TicketEvent>> {
        match doc.get_document("outbox") {
            Ok(outbox) => outbox
                .values()
                .filter_map(Bson::as_document)
                .map(event_from_doc)
                .collect(),
            Err(_) => Ok(Vec::new()),
        }
    }

    async fn flush_outbox(&self, doc: &Document) -> StoreResult<()> {
        let id = doc.get("_id").cloned().unwrap_or(Bson::Null);
        for event in Self::outbox_events(doc)? {
            self.flush_event(&id, &event).await?;
        }
        Ok(())
    }

    async fn flush_event(&self, ticket_id: &Bson, event: &TicketEvent) -> StoreResult<()> {
        self.insert_events(std::slice::from_ref(event)).await?;
        let key = format!("outbox.{}", event.id);
        self.tickets
            .update_one(
                doc! { "_id": ticket_id.clone(), &key: { "$exists": true } },
                doc! { "$unset": { &key: "" }, "$inc": { "outbox_n": -1_i64 } },
            )
            .await?;
        Ok(())
    }

    /// Inserts events, skipping those already there.
    async fn insert_events(&self, events: &[TicketEvent]) -> StoreResult<()> {
        for event in events {
            match self.events.insert_one(event_doc(event)).await {
                Ok(_) => {}
                Err(e) if is_duplicate_key(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// One conditional write; on success the outbox event is copied to the history.
    async fn write_with_event(
        &self,
        filter: Document,
        update: Document,
        event: &TicketEvent,
    ) -> Result<Option<Document>, mongodb::error::Error> {
        let updated = self
            .tickets
            .find_one_and_update(filter, with_outbox(update, event))
            .return_document(ReturnDocument::After)
            .await?;
        if let Some(doc) = &updated {
            let id = doc.get("_id").cloned().unwrap_or(Bson::Null);
            if let Err(e) = self.flush_event(&id, event).await {
                // The event is safe in the outbox; it is copied at the next start.
                tracing::warn!(
                    "history event {} stays in the outbox for now: {e}",
                    event.id
                );
            }
        }
        Ok(updated)
    }

    async fn get_doc(&self, id: Uuid) -> StoreResult<Option<Document>> {
        Ok(self
            .tickets
            .find_one(doc! { "_id": id.to_string(), "deleted": false })
            .await?)
    }

    async fn finish_delete(&self, doc: &Document) -> StoreResult<Ticket> {
        self.flush_outbox(doc).await?;
        let ticket = ticket_from_doc(doc)?;
        let r = Reader::new(doc);
        let event = TicketEvent {
            id: Uuid::new_v5(&DELETED_EVENTS, ticket.id.as_bytes()),
            ticket_id: ticket.id,
            guild_id: ticket.guild_id,
            kind: EventKind::Deleted,
            actor_id: r.opt_id("deleted_by")?,
            at: r.opt_time("deleted_at")?.unwrap_or(ticket.updated_at),
            details: serde_json::to_string(&ticket).ok(),
        };
        self.insert_events(std::slice::from_ref(&event)).await?;
        self.tickets
            .delete_one(doc! { "_id": ticket.id.to_string(), "deleted": true })
            .await?;
        Ok(ticket)
    }

    async fn try_reopen(&self, id: Uuid, t: &Transition) -> StoreResult<Option<Ticket>> {
        let Some(current) = self.get(id).await? else {
            return Ok(None);
        };
        let used = self
            .tickets
            .count_documents(doc! {
                "guild_id": id_to_bson(current.guild_id),
                "creator_id": id_to_bson(current.creator_id),
                "status": "open",
                "deleted": false,
            })
            .await?;
        let mut slot = used as i64;
        let event = TicketEvent::new(&current, t.event_kind(), t.actor(), t.at(), None);
        loop {
            let update = doc! { "$set": {
                "status": "open", "closed_at": Bson::Null, "closed_by": Bson::Null,
                "close_reason": Bson::Null, "open_slot": slot, "updated_at": time_to_bson(t.at()),
            }};
            let filter = doc! { "_id": id.to_string(), "deleted": false, "status": "closed" };
            let slot_taken = match self.write_with_event(filter, update, &event).await {
                Ok(Some(doc)) => return ticket_from_doc(&doc).map(Some),
                // Still closed yet not updated: the slot's unique index refused the write (some
                // MongoDB-wire servers report that as "no document" rather than error 11000).
                Ok(None) => self
                    .get(id)
                    .await?
                    .is_some_and(|t| t.status == TicketStatus::Closed),
                Err(e) if is_duplicate_key(&e) => true,
                Err(e) => return Err(e.into()),
            };
            if !slot_taken || slot > MAX_SLOT {
                return Ok(None);
            }
            slot += 1;
        }
    }

    async fn try_transition(&self, id: Uuid, t: &Transition) -> StoreResult<Option<Ticket>> {
        let at = time_to_bson(t.at());
        let mut filter = doc! { "_id": id.to_string(), "deleted": false };
        let set = match t {
            Transition::Claim { by, .. } => {
                filter.insert("status", "open");
                filter.insert("claimed_by", doc! { "$eq": Bson::Null });
                doc! { "claimed_by": id_to_bson(*by), "claimed_at": at.clone() }
            }
            Transition::Unclaim { by, .. } => {
                filter.insert("status", "open");
                filter.insert("claimed_by", id_to_bson(*by));
                doc! { "claimed_by": Bson::Null, "claimed_at": Bson::Null }
            }
            Transition::Close { by, reason, .. } => {
                filter.insert("status", "open");
                doc! {
                    "status": "closed", "closed_at": at.clone(), "closed_by": opt_id_to_bson(*by),
                    "close_reason": opt_str_to_bson(reason), "open_slot": id.to_string(),
                }
            }
            Transition::Reopen { .. } => return self.try_reopen(id, t).await,
        };
        let mut set = set;
        set.insert("updated_at", at);
        // The event needs the guild id; the ticket's guild never changes, so any read gives it.
        let Some(current) = self.get(id).await? else {
            return Ok(None);
        };
        let event = TicketEvent::new(
            &current,
            t.event_kind(),
            t.actor(),
            t.at(),
            t.event_details(),
        );
        let doc = self
            .write_with_event(filter, doc! { "$set": set }, &event)
            .await?;
        doc.as_ref().map(ticket_from_doc).transpose()
    }
}

fn legacy_row(doc: &Document) -> LegacyRow {
    let text = |field: &str| -> Option<String> {
        match doc.get(field)? {
            Bson::Null => None,
            Bson::String(s) => Some(s.clone()),
            Bson::DateTime(d) => Some(d.try_to_rfc3339_string().unwrap_or_default()),
            other => as_i64(other)
                .map(|v| v.to_string())
                .or_else(|| Some(other.to_string())),
        }
    };
    LegacyRow {
        id: text("_id").unwrap_or_default(),
        guild_id: text("guild_id").unwrap_or_default(),
        channel_id: text("channel_id"),
        creator_id: text("creator_id").unwrap_or_default(),
        status: text("status").unwrap_or_default(),
        created_at: text("created_at").unwrap_or_default(),
        closed_at: text("closed_at"),
        claimed_by: text("claimed_by"),
    }
}

#[async_trait]
impl TicketStore for MongoStore {
    fn backend(&self) -> Backend {
        Backend::Mongodb
    }

    async fn schema_version(&self) -> StoreResult<i64> {
        let doc = self.meta.find_one(doc! { "_id": "schema" }).await?;
        Ok(doc
            .as_ref()
            .and_then(|d| d.get("version"))
            .and_then(as_i64)
            .unwrap_or(0))
    }

    async fn create_ticket(
        &self,
        guild_id: DiscordId,
        creator_id: DiscordId,
        max_open: u32,
        at: DateTime<Utc>,
    ) -> StoreResult<CreateOutcome> {
        let ticket = Ticket::new(guild_id, creator_id, at);
        let opened = TicketEvent::new(&ticket, EventKind::Opened, Some(creator_id), at, None);
        let filter = TicketFilter {
            guild_id: Some(guild_id),
            creator_id: Some(creator_id),
            status: Some(TicketStatus::Open),
            ..TicketFilter::default()
        };
        for _ in 0..RACE_RETRIES {
            for slot in 0..max_open.max(1) {
                let record = TicketRecord {
                    ticket: ticket.clone(),
                    participants: Vec::new(),
                    open_slot: Some(slot),
                };
                let mut doc = ticket_doc(&record);
                doc.insert("outbox", doc! { opened.id.to_string(): event_doc(&opened) });
                doc.insert("outbox_n", 1_i64);
                match self.tickets.insert_one(doc).await {
                    Ok(_) => {
                        let id = Bson::String(ticket.id.to_string());
                        if let Err(e) = self.flush_event(&id, &opened).await {
                            tracing::warn!("opened event stays in the outbox for now: {e}");
                        }
                        return Ok(CreateOutcome::Created(ticket));
                    }
                    Err(e) if is_duplicate_key(&e) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            let open = self.list(&filter, 100, None).await?.tickets;
            if !open.is_empty() {
                return Ok(CreateOutcome::LimitReached { open });
            }
        }
        let open = self.list(&filter, 100, None).await?.tickets;
        Ok(CreateOutcome::LimitReached { open })
    }

    async fn get(&self, id: Uuid) -> StoreResult<Option<Ticket>> {
        self.get_doc(id)
            .await?
            .as_ref()
            .map(ticket_from_doc)
            .transpose()
    }

    async fn find_by_prefix(&self, prefix: &str, limit: u32) -> StoreResult<Vec<Ticket>> {
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Ok(Vec::new());
        }
        let docs: Vec<Document> = self
            .tickets
            .find(
                doc! { "_id": { "$gte": &prefix, "$lt": format!("{prefix}~") }, "deleted": false },
            )
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        docs.iter().map(ticket_from_doc).collect()
    }

    async fn get_by_channel(&self, channel_id: DiscordId) -> StoreResult<Option<Ticket>> {
        let doc = self
            .tickets
            .find_one(doc! { "channel_id": id_to_bson(channel_id), "deleted": false })
            .await?;
        doc.as_ref().map(ticket_from_doc).transpose()
    }

    async fn list(
        &self,
        filter: &TicketFilter,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Page> {
        let mut f = filter_doc(filter);
        if let Some(c) = after {
            let t = time_to_bson(c.created_at);
            let keyset = doc! { "$or": [
                { "created_at": { "$lt": t.clone() } },
                { "created_at": t, "_id": { "$lt": c.id.to_string() } },
            ]};
            f = doc! { "$and": [f, keyset] };
        }
        let docs: Vec<Document> = self
            .tickets
            .find(f)
            .sort(doc! { "created_at": -1, "_id": -1 })
            .limit(i64::from(limit) + 1)
            .await?
            .try_collect()
            .await?;
        let mut tickets = docs
            .iter()
            .map(ticket_from_doc)
            .collect::<StoreResult<Vec<_>>>()?;
        let next = if tickets.len() > limit as usize {
            tickets.truncate(limit as usize);
            tickets.last().map(Cursor::after)
        } else {
            None
        };
        Ok(Page { tickets, next })
    }

    async fn count(&self, filter: &TicketFilter) -> StoreResult<StatusCounts> {
        let mut counts = StatusCounts::default();
        for status in [TicketStatus::Open, TicketStatus::Closed] {
            if filter.status.is_some_and(|s| s != status) {
                continue;
            }
            let mut f = filter_doc(filter);
            f.insert("status", status.as_str());
            let n = self.tickets.count_documents(f).await?;
            match status {
                TicketStatus::Open => counts.open = n,
                TicketStatus::Closed => counts.closed = n,
            }
        }
        Ok(counts)
    }

    async fn updated_since(&self, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Ticket>> {
        let docs: Vec<Document> = self
            .tickets
            .find(doc! { "updated_at": { "$gte": time_to_bson(since) }, "deleted": false })
            .sort(doc! { "updated_at": 1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        docs.iter().map(ticket_from_doc).collect()
    }

    async fn stats(&self, filter: &TicketFilter) -> StoreResult<TicketStats> {
        // Gathered client-side from projections: works on every MongoDB-wire server, and the
        // arithmetic is shared with the SQL backend.
        let counts = self.count(filter).await?;
        let mut durations = Vec::new();
        let mut days: std::collections::BTreeMap<i64, u64> = Default::default();
        let mut cursor = self
            .tickets
            .find(filter_doc(filter))
            .projection(doc! { "created_at": 1, "closed_at": 1, "status": 1 })
            .await?;
        while let Some(d) = cursor.try_next().await? {
            let r = Reader::new(&d);
            let created = r.i64("created_at")?;
            *days.entry(created.div_euclid(MICROS_PER_DAY)).or_default() += 1;
            if r.opt_str("status")?.as_deref() == Some("closed") {
                if let Some(closed) = r.opt_i64("closed_at")? {
                    durations.push(closed - created);
                }
            }
        }
        let per_day = days
            .into_iter()
            .filter_map(|(day, opened)| day_from_number(day).map(|date| DayCount { date, opened }))
            .collect();

        let mut events_filter = doc! { "kind": { "$in": ["claimed", "closed"] } };
        if let Some(g) = filter.guild_id {
            events_filter.insert("guild_id", id_to_bson(g));
        }
        let mut at = Document::new();
        if let Some(t) = filter.since {
            at.insert("$gte", time_to_bson(t));
        }
        if let Some(t) = filter.until {
            at.insert("$lt", time_to_bson(t));
        }
        if !at.is_empty() {
            events_filter.insert("at", at);
        }
        let mut staff = Vec::new();
        let mut cursor = self
            .events
            .find(events_filter)
            .projection(doc! { "actor_id": 1, "kind": 1 })
            .await?;
        while let Some(d) = cursor.try_next().await? {
            let r = Reader::new(&d);
            let Some(user) = r.opt_id("actor_id")? else {
                continue;
            };
            match r.str("kind")?.as_str() {
                "claimed" => tally(&mut staff, user, 1, 0),
                _ => tally(&mut staff, user, 0, 1),
            }
        }
        sort_staff(&mut staff);
        Ok(TicketStats {
            counts,
            time_to_close: DurationSummary::from_micros(durations),
            staff,
            per_day,
        })
    }

    async fn set_channel(&self, id: Uuid, channel_id: Option<DiscordId>) -> StoreResult<Ticket> {
        let update = doc! { "$set": {
            "channel_id": opt_id_to_bson(channel_id),
            "channel_key": channel_key(id, channel_id),
            "updated_at": time_to_bson(crate::ticket::now()),
        }};
        let res = self
            .tickets
            .find_one_and_update(doc! { "_id": id.to_string(), "deleted": false }, update)
            .return_document(ReturnDocument::After)
            .await;
        // Some MongoDB-wire servers skip a write that breaks a unique index without reporting
        // error 11000: then the document exists but came back as `None`.
        let taken = match res {
            Ok(Some(doc)) => return ticket_from_doc(&doc),
            Ok(None) => self.get_doc(id).await?.is_some(),
            Err(e) if is_duplicate_key(&e) => true,
            Err(e) => return Err(e.into()),
        };
        if !taken {
            return Err(RuleError::NotFound.into());
        }
        let channel_id = channel_id.unwrap_or_default();
        let owner = self.get_by_channel(channel_id).await?;
        Err(StoreError::ChannelTaken {
            channel_id,
            ticket_id: owner.map(|t| t.id).unwrap_or_default(),
        })
    }

    async fn transition(&self, id: Uuid, transition: &Transition) -> StoreResult<Ticket> {
        for _ in 0..RACE_RETRIES {
            if let Some(t) = self.try_transition(id, transition).await? {
                return Ok(t);
            }
            explain_refusal(self.get(id).await?.as_ref(), transition)?;
        }
        Err(StoreError::Migrate(format!(
            "ticket {id} kept changing; the {transition:?} was not applied"
        )))
    }

    async fn add_participant(
        &self,
        id: Uuid,
        user_id: DiscordId,
        by: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<Participant> {
        let key = format!("participants.{user_id}");
        for _ in 0..RACE_RETRIES {
            let current = self.get(id).await?.ok_or(RuleError::NotFound)?;
            rules::check_add_participant(&current, user_id)?;
            let event = TicketEvent::new(
                &current,
                EventKind::ParticipantAdded,
                Some(by),
                at,
                Some(user_id.to_string()),
            );
            let filter = doc! {
                "_id": id.to_string(), "deleted": false, "status": "open",
                "creator_id": { "$ne": id_to_bson(user_id) }, &key: { "$exists": false },
            };
            let update = doc! {
                "$set": { &key: { "added_by": id_to_bson(by), "added_at": time_to_bson(at) }, "updated_at": time_to_bson(at) },
                "$inc": { "participant_n": 1_i64 },
            };
            if self
                .write_with_event(filter, update, &event)
                .await?
                .is_some()
            {
                return Ok(Participant {
                    ticket_id: id,
                    user_id,
                    added_by: by,
                    added_at: at,
                });
            }
            let doc = self.get_doc(id).await?.ok_or(RuleError::NotFound)?;
            if participants_from_doc(&doc, id)?
                .iter()
                .any(|p| p.user_id == user_id)
            {
                return Err(RuleError::AlreadyParticipant(user_id).into());
            }
        }
        Err(RuleError::Closed.into())
    }

    async fn remove_participant(
        &self,
        id: Uuid,
        user_id: DiscordId,
        by: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let key = format!("participants.{user_id}");
        let current = self.get(id).await?.ok_or(RuleError::NotFound)?;
        rules::check_remove_participant(&current, user_id)?;
        let event = TicketEvent::new(
            &current,
            EventKind::ParticipantRemoved,
            Some(by),
            at,
            Some(user_id.to_string()),
        );
        let filter = doc! { "_id": id.to_string(), "deleted": false, &key: { "$exists": true } };
        let update = doc! {
            "$unset": { &key: "" },
            "$set": { "updated_at": time_to_bson(at) },
            "$inc": { "participant_n": -1_i64 },
        };
        match self.write_with_event(filter, update, &event).await? {
            Some(_) => Ok(()),
            None => match self.get(id).await? {
                None => Err(RuleError::NotFound.into()),
                Some(_) => Err(RuleError::NotParticipant(user_id).into()),
            },
        }
    }

    async fn participants(&self, id: Uuid) -> StoreResult<Vec<Participant>> {
        match self.get_doc(id).await? {
            Some(doc) => participants_from_doc(&doc, id),
            None => Ok(Vec::new()),
        }
    }

    async fn history(&self, id: Uuid) -> StoreResult<Vec<TicketEvent>> {
        let docs: Vec<Document> = self
            .events
            .find(doc! { "ticket_id": id.to_string() })
            .await?
            .try_collect()
            .await?;
        let mut events = docs
            .iter()
            .map(event_from_doc)
            .collect::<StoreResult<Vec<_>>>()?;
        // Events still in the outbox (a write whose copy was interrupted) belong to it too.
        if let Some(doc) = self
            .tickets
            .find_one(doc! { "_id": id.to_string() })
            .await?
        {
            for e in Self::outbox_events(&doc)? {
                if !events.iter().any(|x| x.id == e.id) {
                    events.push(e);
                }
            }
        }
        events.sort_by_key(|e| (e.at, e.id));
        Ok(events)
    }

    async fn delete(
        &self,
        id: Uuid,
        by: Option<DiscordId>,
        at: DateTime<Utc>,
    ) -> StoreResult<Ticket> {
        // Marked first, which freezes the ticket (every write requires `deleted: false`); then
        // the history entry, then the document. A start after a crash finishes the job.
        let marked = self
            .tickets
            .find_one_and_update(
                doc! { "_id": id.to_string(), "deleted": false },
                doc! { "$set": { "deleted": true, "deleted_by": opt_id_to_bson(by), "deleted_at": time_to_bson(at) } },
            )
            .return_document(ReturnDocument::After)
            .await?
            .ok_or(RuleError::NotFound)?;
        self.finish_delete(&marked).await
    }

    async fn discard(&self, id: Uuid) -> StoreResult<bool> {
        self.events
            .delete_many(doc! { "ticket_id": id.to_string() })
            .await?;
        let res = self
            .tickets
            .delete_one(doc! { "_id": id.to_string() })
            .await?;
        Ok(res.deleted_count > 0)
    }

    async fn export_tickets(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketRecord>> {
        let after = after.map(|a| a.to_string()).unwrap_or_default();
        let docs: Vec<Document> = self
            .tickets
            .find(doc! { "_id": { "$gt": after }, "deleted": false })
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        docs.iter().map(record_from_doc).collect()
    }

    async fn export_events(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketEvent>> {
        if after.is_none() {
            // An export must include events that an interrupted write left in an outbox.
            self.repair().await?;
        }
        let after = after.map(|a| a.to_string()).unwrap_or_default();
        let docs: Vec<Document> = self
            .events
            .find(doc! { "_id": { "$gt": after } })
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        docs.iter().map(event_from_doc).collect()
    }

    async fn import_tickets(&self, records: &[TicketRecord]) -> StoreResult<()> {
        // A few replaces in flight at once: much faster than one by one, still bounded.
        for chunk in records.chunks(16) {
            futures::future::try_join_all(chunk.iter().map(|r| {
                self.tickets
                    .replace_one(doc! { "_id": r.ticket.id.to_string() }, ticket_doc(r))
                    .upsert(true)
                    .into_future()
            }))
            .await?;
        }
        Ok(())
    }

    async fn import_events(&self, events: &[TicketEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let docs: Vec<Document> = events.iter().map(event_doc).collect();
        match self.events.insert_many(docs).ordered(false).await {
            Ok(_) => Ok(()),
            // Some were there already: the rest went in (unordered insert).
            Err(e) if is_duplicate_key(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn record_counts(&self) -> StoreResult<RecordCounts> {
        let live = doc! { "deleted": false };
        let tickets = self.tickets.count_documents(live.clone()).await?;
        let mut sum = self
            .tickets
            .aggregate([
                doc! { "$match": live },
                doc! { "$group": { "_id": Bson::Null, "n": { "$sum": "$participant_n" } } },
            ])
            .await?;
        let participants = match sum.try_next().await? {
            Some(d) => d.get("n").and_then(as_i64).unwrap_or(0).max(0) as u64,
            None => 0,
        };
        let events = self.events.count_documents(doc! {}).await?;
        Ok(RecordCounts {
            tickets,
            participants,
            events,
        })
    }

    async fn heartbeat(&self, beat: &Heartbeat) -> StoreResult<()> {
        self.heartbeats
            .replace_one(
                doc! { "_id": beat.instance_id.clone() },
                heartbeat_doc(beat),
            )
            .upsert(true)
            .await?;
        Ok(())
    }

    async fn heartbeats_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<Heartbeat>> {
        let docs: Vec<Document> = self
            .heartbeats
            .find(doc! { "seen_at": { "$gte": time_to_bson(since) } })
            .sort(doc! { "_id": 1 })
            .await?
            .try_collect()
            .await?;
        docs.iter()
            .map(|d| {
                let r = Reader::new(d);
                Ok(Heartbeat {
                    instance_id: r.str("_id")?,
                    details: r.str("details")?,
                    started_at: r.time("started_at")?,
                    seen_at: r.time("seen_at")?,
                })
            })
            .collect()
    }

    async fn remove_heartbeat(&self, instance_id: &str) -> StoreResult<()> {
        self.heartbeats
            .delete_one(doc! { "_id": instance_id.to_owned() })
            .await?;
        Ok(())
    }

    async fn close(&self) {
        self.client.clone().shutdown().await;
    }
}
