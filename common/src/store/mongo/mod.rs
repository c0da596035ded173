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
//! slot is its own id, so no partial index is needed.//!
//! Transcripts are a header document per ticket naming the current version and chunk
//! documents (BSON binary, at most `TRANSCRIPT_CHUNK_BYTES` each) under that version, so that a
//! replace is one single-document switch. Overflow categories, leases: one document each.
//!
//! One file per concern: `connect` (indexes, legacy take-over, repair), `docs` (BSON), `tickets`,
//! `history`, `stats`, `export`, `archive`, `transcripts`, `purge`. The `TicketStore` impl
//! delegates every method to the inherent method of the same name.

mod activity;
mod archive;
mod channel_work;
mod close_requests;
mod connect;
mod docs;
mod export;
mod feedback;
mod history;
mod names;
mod purge;
mod staff_messages;
mod stats;
mod tickets;
mod topics;
mod transcripts;

use bson::Document;
use mongodb::{Client, Collection};
use uuid::Uuid;

/// 2: archive fields, transcripts, overflow categories, leases. 3: channel work (the
/// `channel_sync` mark, `channel_deletions`).
const SCHEMA_VERSION: i64 = 3;

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
    transcripts: Collection<Document>,
    transcript_chunks: Collection<Document>,
    categories: Collection<Document>,
    leases: Collection<Document>,
    channel_deletions: Collection<Document>,
    names: Collection<Document>,
    staff_messages: Collection<Document>,
    close_requests: Collection<Document>,
    activity: Collection<Document>,
    feedback: Collection<Document>,
    topics: Collection<Document>,
    ticket_forms: Collection<Document>,
}

super::delegate_ticket_store!(MongoStore);
