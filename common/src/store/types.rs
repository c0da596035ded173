//! The store's vocabulary besides tickets: filters, pages, counts, import records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Cursor, OverflowCategory, TranscriptBlob};
use crate::auto_close::TicketActivity;
use crate::close_request::CloseRequest;
use crate::feedback::Feedback;
use crate::ticket::{DiscordId, Participant, Ticket, TicketEvent, TicketStatus};
use crate::topics::{TicketForm, Topic};

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
    /// Opened with the topic of this name (any case).
    pub topic: Option<String>,
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
    Transcript(Box<TranscriptBlob>),
    Category(OverflowCategory),
    Name(crate::names::Name),
    StaffMessages(StaffMessages),
    CloseRequest(CloseRequest),
    Activity(TicketActivity),
    Feedback(Feedback),
    Topic(Box<Topic>),
    TicketForm(Box<TicketForm>),
}

/// How many messages a staff member wrote in a guild's ticket channels in one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMessages {
    pub guild_id: DiscordId,
    pub user_id: DiscordId,
    /// Hours since 1970-01-01 00:00 UTC.
    pub hour: i64,
    pub n: u64,
}

/// A bot process's sign of life, so that `ticketctl` can tell whether a bot is running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub instance_id: String,
    pub details: String,
    pub started_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
}

/// How much of what a report reads the database keeps in memory: MySQL's InnoDB buffer pool
/// beside the indexes of the tickets and their history, which a whole report reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheFit {
    pub cache_bytes: u64,
    pub index_bytes: u64,
}

impl CacheFit {
    /// Whether the indexes fit (a report then reads no page from disk once they are cached).
    pub fn fits(&self) -> bool {
        self.index_bytes <= self.cache_bytes
    }
}

/// How many records of each kind a store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordCounts {
    pub tickets: u64,
    pub participants: u64,
    pub events: u64,
    #[serde(default)]
    pub transcripts: u64,
    #[serde(default)]
    pub categories: u64,
    #[serde(default)]
    pub names: u64,
    /// Rows of per-hour staff message counts.
    #[serde(default)]
    pub staff_messages: u64,
    /// Close requests waiting for an answer or being seen through.
    #[serde(default)]
    pub close_requests: u64,
    /// Tickets with a noted last message (for auto-close).
    #[serde(default)]
    pub activity: u64,
    /// Creators' ratings of closed tickets.
    #[serde(default)]
    pub feedback: u64,
    /// Ticket topics, removed ones included.
    #[serde(default)]
    pub topics: u64,
    /// Tickets opened with a topic (and its form's answers).
    #[serde(default)]
    pub ticket_forms: u64,
}
