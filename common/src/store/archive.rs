//! What the store keeps for a guild's long life: transcripts (opaque compressed bytes, chunked by
//! each backend), the overflow categories made when Discord's 50-channel categories fill up,
//! leases that keep several bot processes from doing one job twice, and the queries of archive
//! and purge.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ticket::DiscordId;

/// Largest piece of a transcript stored in one row or document: far under MongoDB's 16 MB
/// document limit and MySQL's default 16 MB (MariaDB) / 64 MB (MySQL 8) packet size.
pub const TRANSCRIPT_CHUNK_BYTES: usize = 1024 * 1024;

/// A ticket's transcript as stored: the compressed bundle made by `ticketbot-transcript`.
/// The store does not look inside; it splits `data` into chunks of
/// [`TRANSCRIPT_CHUNK_BYTES`] and gives it back whole. One per ticket (a new one replaces the
/// old one atomically: a reader sees the old or the new, never a mix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptBlob {
    pub ticket_id: Uuid,
    pub guild_id: DiscordId,
    pub created_at: DateTime<Utc>,
    /// How many messages the transcript holds (for listings without decoding).
    pub message_count: u32,
    /// The compressed bundle.
    pub data: Vec<u8>,
}

/// A transcript's description without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptInfo {
    pub ticket_id: Uuid,
    pub guild_id: DiscordId,
    pub created_at: DateTime<Utc>,
    pub message_count: u32,
    /// Length of `data` in bytes.
    pub size: u64,
}

/// Which of the two configured categories an overflow category extends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CategoryKind {
    Open,
    Closed,
}

impl CategoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CategoryKind::Open => "open",
            CategoryKind::Closed => "closed",
        }
    }
}

/// A category the bot made beside a full one (`Tickets 2`, `Tickets 3`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverflowCategory {
    pub guild_id: DiscordId,
    /// The configured category this one extends.
    pub base_id: DiscordId,
    pub kind: CategoryKind,
    /// 2 for the first overflow category, then 3, ... Unique per base: two processes that
    /// both make "number 2" at once are told apart by the database.
    pub number: u32,
    pub category_id: DiscordId,
    pub created_at: DateTime<Utc>,
}

/// Closed tickets that are due for archiving.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveQuery {
    pub guild_id: Option<DiscordId>,
    /// Closed before this time (`ARCHIVE_CLOSED_AFTER` ago); `None`: only requested ones.
    pub closed_before: Option<DateTime<Utc>>,
    /// Include tickets that `ticketctl archive` asked for, whenever they were closed.
    pub requested: bool,
}

/// Tickets (and their history and transcripts) to remove for good. Only closed tickets
/// without a channel (archived, or whose channel is gone) are purged, plus the history of
/// deleted tickets; at least one of `closed_before` and `user_id` must be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeQuery {
    pub guild_id: Option<DiscordId>,
    /// Closed (or deleted) before this time.
    pub closed_before: Option<DateTime<Utc>>,
    /// Opened by this user (a request to erase their data).
    pub user_id: Option<DiscordId>,
}

/// What a purge removed (or, for a dry run, would remove).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeCounts {
    /// Ticket rows removed.
    pub tickets: u64,
    /// Tickets deleted earlier whose history was removed now.
    pub deleted_histories: u64,
    pub events: u64,
    pub transcripts: u64,
    /// Matching closed tickets left alone because they still have a channel (archive first).
    pub skipped_with_channel: u64,
}
