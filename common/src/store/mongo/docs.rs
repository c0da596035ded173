//! BSON: how tickets, events and heartbeats are stored, documents decoded, filters built.

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use mongodb::error::{ErrorKind, WriteFailure};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::store::legacy::LegacyRow;
use crate::store::{ClaimFilter, Heartbeat, TicketFilter, TicketRecord};
use crate::ticket::{DiscordId, EventKind, Participant, Ticket, TicketEvent, TicketStatus};

pub(crate) fn id_to_bson(id: DiscordId) -> Bson {
    Bson::Int64(id as i64)
}

pub(crate) fn opt_id_to_bson(id: Option<DiscordId>) -> Bson {
    id.map_or(Bson::Null, id_to_bson)
}

pub(crate) fn time_to_bson(t: DateTime<Utc>) -> Bson {
    Bson::Int64(t.timestamp_micros())
}

pub(crate) fn opt_time_to_bson(t: Option<DateTime<Utc>>) -> Bson {
    t.map_or(Bson::Null, time_to_bson)
}

pub(crate) fn opt_str_to_bson(s: &Option<String>) -> Bson {
    s.as_ref().map_or(Bson::Null, |s| Bson::String(s.clone()))
}

/// An integer however the server returns it (some servers shrink small Int64s to Int32).
pub(crate) fn as_i64(v: &Bson) -> Option<i64> {
    match v {
        Bson::Int64(i) => Some(*i),
        Bson::Int32(i) => Some(i64::from(*i)),
        Bson::Double(f) if f.fract() == 0.0 => Some(*f as i64),
        Bson::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) struct Reader<'a> {
    doc: &'a Document,
    id: String,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(doc: &'a Document) -> Self {
        let id = doc.get("_id").map(|v| v.to_string()).unwrap_or_default();
        Reader { doc, id }
    }

    pub(crate) fn err(&self, field: &str, what: &str) -> StoreError {
        StoreError::corrupt(&self.id, format!("field {field}: {what}"))
    }

    pub(crate) fn opt_i64(&self, field: &str) -> StoreResult<Option<i64>> {
        match self.doc.get(field) {
            None | Some(Bson::Null) => Ok(None),
            Some(v) => as_i64(v)
                .map(Some)
                .ok_or_else(|| self.err(field, "not an integer")),
        }
    }

    pub(crate) fn i64(&self, field: &str) -> StoreResult<i64> {
        self.opt_i64(field)?
            .ok_or_else(|| self.err(field, "missing"))
    }

    /// An optional snowflake; `0` (never a Discord id, "none" to other tools) reads as `None`.
    pub(crate) fn opt_id(&self, field: &str) -> StoreResult<Option<DiscordId>> {
        Ok(self.opt_i64(field)?.filter(|&v| v != 0).map(|v| v as u64))
    }

    pub(crate) fn id(&self, field: &str) -> StoreResult<DiscordId> {
        Ok(self.i64(field)? as u64)
    }

    pub(crate) fn opt_time(&self, field: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.opt_i64(field)?
            .map(|v| {
                DateTime::from_timestamp_micros(v).ok_or_else(|| self.err(field, "out of range"))
            })
            .transpose()
    }

    pub(crate) fn time(&self, field: &str) -> StoreResult<DateTime<Utc>> {
        self.opt_time(field)?
            .ok_or_else(|| self.err(field, "missing"))
    }

    pub(crate) fn opt_str(&self, field: &str) -> StoreResult<Option<String>> {
        match self.doc.get(field) {
            None | Some(Bson::Null) => Ok(None),
            Some(Bson::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.err(field, "not a string")),
        }
    }

    pub(crate) fn str(&self, field: &str) -> StoreResult<String> {
        self.opt_str(field)?
            .ok_or_else(|| self.err(field, "missing"))
    }

    pub(crate) fn uuid(&self, field: &str) -> StoreResult<Uuid> {
        Uuid::parse_str(&self.str(field)?).map_err(|_| self.err(field, "not a UUID"))
    }
}

pub(crate) fn ticket_from_doc(doc: &Document) -> StoreResult<Ticket> {
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
        archived_at: r.opt_time("archived_at")?,
        archive_requested_at: r.opt_time("archive_requested_at")?,
        first_response_at: r.opt_time("first_response_at")?,
        first_response_by: r.opt_id("first_response_by")?,
    })
}

pub(crate) fn participants_from_doc(
    doc: &Document,
    ticket_id: Uuid,
) -> StoreResult<Vec<Participant>> {
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

pub(crate) fn record_from_doc(doc: &Document) -> StoreResult<TicketRecord> {
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
pub(crate) fn ticket_doc(record: &TicketRecord) -> Document {
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
        "archived_at": opt_time_to_bson(t.archived_at),
        "archive_requested_at": opt_time_to_bson(t.archive_requested_at),
        "first_response_at": opt_time_to_bson(t.first_response_at),
        "first_response_by": opt_id_to_bson(t.first_response_by),
        "open_slot": open_slot_value(t.id, record.open_slot),
        "participants": participants,
        "participant_n": record.participants.len() as i64,
        "outbox": Document::new(),
        "outbox_n": 0_i64,
        "deleted": false,
    }
}

/// A closed ticket's slot is its own id: unique, so the unique index needs no partial filter.
pub(crate) fn open_slot_value(id: Uuid, slot: Option<u32>) -> Bson {
    slot.map_or_else(
        || Bson::String(id.to_string()),
        |s| Bson::Int64(i64::from(s)),
    )
}

/// The unique key of the channel: the channel id, or the ticket's id while it has none.
pub(crate) fn channel_key(id: Uuid, channel: Option<DiscordId>) -> Bson {
    channel.map_or_else(
        || Bson::String(id.to_string()),
        |c| Bson::String(format!("c{c}")),
    )
}

pub(crate) fn event_doc(e: &TicketEvent) -> Document {
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

pub(crate) fn event_from_doc(doc: &Document) -> StoreResult<TicketEvent> {
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

pub(crate) fn heartbeat_doc(h: &Heartbeat) -> Document {
    doc! {
        "_id": h.instance_id.clone(),
        "details": h.details.clone(),
        "started_at": time_to_bson(h.started_at),
        "seen_at": time_to_bson(h.seen_at),
    }
}

pub(crate) fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
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
pub(crate) fn with_outbox(mut update: Document, event: &TicketEvent) -> Document {
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

pub(crate) fn filter_doc(filter: &TicketFilter) -> Document {
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
    if let Some(topic) = &filter.topic {
        f.insert("topic_key", crate::topics::name_key(topic));
    }
    f
}

pub(crate) fn legacy_row(doc: &Document) -> LegacyRow {
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

/// Up to `limit` documents of `coll` (keyed by a UUID: a ticket's, an event's) after `after`,
/// by key, each read by `read`: a page of a migrate export.
pub(crate) async fn page_after<T>(
    coll: &mongodb::Collection<Document>,
    after: Option<Uuid>,
    limit: u32,
    read: fn(&Document) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    use futures::TryStreamExt;
    let after = after.map(|a| a.to_string()).unwrap_or_default();
    let docs: Vec<Document> = coll
        .find(doc! { "_id": { "$gt": after } })
        .sort(doc! { "_id": 1 })
        .limit(i64::from(limit))
        .await?
        .try_collect()
        .await?;
    docs.iter().map(read).collect()
}
