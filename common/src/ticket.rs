//! The ticket and what stands beside it: participants and the append-only event history.
//!
//! Plain data, no Discord types: Discord ids are `u64` snowflakes, times are UTC with
//! microsecond precision (the finest every backend keeps).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A Discord snowflake (user, guild, channel or role id).
pub type DiscordId = u64;

/// Length of the short id shown to people and used in channel names.
pub const SHORT_ID_LEN: usize = 8;

/// Prefix of every ticket channel's name.
pub const CHANNEL_PREFIX: &str = "ticket-";

/// Serializes a snowflake as a decimal string, as Discord's API does (JavaScript loses
/// precision on integers above 2^53).
pub fn id_as_string<S: serde::Serializer>(id: &DiscordId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

/// [`id_as_string`] for an optional snowflake (`null` when absent).
pub fn opt_id_as_string<S: serde::Serializer>(
    id: &Option<DiscordId>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.collect_str(id),
        None => s.serialize_none(),
    }
}

/// The current time, truncated to what every backend stores exactly.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    Open,
    Closed,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Closed => "closed",
        }
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ticket status {0:?} (expected \"open\" or \"closed\")")]
pub struct UnknownStatus(pub String);

impl FromStr for TicketStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(TicketStatus::Open),
            "closed" => Ok(TicketStatus::Closed),
            _ => Err(UnknownStatus(s.to_owned())),
        }
    }
}

/// One support ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: Uuid,
    pub guild_id: DiscordId,
    /// Set once the Discord channel exists.
    pub channel_id: Option<DiscordId>,
    pub creator_id: DiscordId,
    pub status: TicketStatus,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<DiscordId>,
    pub close_reason: Option<String>,
    pub claimed_by: Option<DiscordId>,
    pub claimed_at: Option<DateTime<Utc>>,
    /// Last change of any field; lets a bot notice changes made by `ticketctl`.
    pub updated_at: DateTime<Utc>,
    /// Set when the ticket was archived: its transcript saved and its channel deleted. Cleared
    /// by a reopen (the history keeps the `archived` event).
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
    /// Set by `ticketctl archive`: a running bot archives the ticket (only it talks to Discord).
    #[serde(default)]
    pub archive_requested_at: Option<DateTime<Utc>>,
    /// When staff first wrote in the ticket's channel, and who: set once (see
    /// `TicketStore::record_first_response`).
    #[serde(default)]
    pub first_response_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub first_response_by: Option<DiscordId>,
}

impl Ticket {
    /// A fresh open ticket with a new v4 id.
    pub fn new(guild_id: DiscordId, creator_id: DiscordId, at: DateTime<Utc>) -> Self {
        Ticket {
            id: Uuid::new_v4(),
            guild_id,
            channel_id: None,
            creator_id,
            status: TicketStatus::Open,
            created_at: at,
            closed_at: None,
            closed_by: None,
            close_reason: None,
            claimed_by: None,
            claimed_at: None,
            updated_at: at,
            archived_at: None,
            archive_requested_at: None,
            first_response_at: None,
            first_response_by: None,
        }
    }

    pub fn short_id(&self) -> String {
        short_id(&self.id)
    }

    pub fn channel_name(&self) -> String {
        channel_name(&self.id)
    }

    pub fn is_open(&self) -> bool {
        self.status == TicketStatus::Open
    }

    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}

/// The first eight characters of the id, as the Python bot showed it.
pub fn short_id(id: &Uuid) -> String {
    let mut s = id.hyphenated().to_string();
    s.truncate(SHORT_ID_LEN);
    s
}

/// `ticket-<short id>`: the name of a ticket's Discord channel.
pub fn channel_name(id: &Uuid) -> String {
    format!("{CHANNEL_PREFIX}{}", short_id(id))
}

/// The short id a channel name carries, if it is a ticket channel's name.
pub fn short_id_from_channel_name(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(CHANNEL_PREFIX)?;
    (rest.len() == SHORT_ID_LEN && rest.bytes().all(|b| b.is_ascii_hexdigit())).then_some(rest)
}

/// A user added to a ticket besides its creator and the staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub ticket_id: Uuid,
    pub user_id: DiscordId,
    pub added_by: DiscordId,
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Opened,
    Claimed,
    Unclaimed,
    Closed,
    Reopened,
    ParticipantAdded,
    ParticipantRemoved,
    ForceClosed,
    Deleted,
    /// Staff wrote in the ticket's channel for the first time (once per ticket).
    FirstResponse,
    /// Written when a ticket of the Python bot's database is taken over.
    Imported,
    /// The transcript was saved and the channel deleted; details hold the old channel id.
    Archived,
    /// `ticketctl purge` removed tickets for good. A guild-level audit entry: its ticket id is
    /// the nil UUID and its details say what was purged.
    Purged,
}

impl EventKind {
    pub const ALL: [EventKind; 13] = [
        EventKind::Opened,
        EventKind::Claimed,
        EventKind::Unclaimed,
        EventKind::Closed,
        EventKind::Reopened,
        EventKind::ParticipantAdded,
        EventKind::ParticipantRemoved,
        EventKind::ForceClosed,
        EventKind::Deleted,
        EventKind::Imported,
        EventKind::Archived,
        EventKind::Purged,
        EventKind::FirstResponse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Claimed => "claimed",
            EventKind::Unclaimed => "unclaimed",
            EventKind::Closed => "closed",
            EventKind::Reopened => "reopened",
            EventKind::ParticipantAdded => "participant_added",
            EventKind::ParticipantRemoved => "participant_removed",
            EventKind::ForceClosed => "force_closed",
            EventKind::Deleted => "deleted",
            EventKind::Imported => "imported",
            EventKind::Archived => "archived",
            EventKind::Purged => "purged",
            EventKind::FirstResponse => "first_response",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind {0:?}")]
pub struct UnknownEventKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownEventKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.to_owned()))
    }
}

/// One entry of a ticket's history. Events outlive their ticket: they are the audit trail and
/// the source of staff analytics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEvent {
    /// UUID v7, so ids sort by time.
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub guild_id: DiscordId,
    pub kind: EventKind,
    /// Who did it; `None` for the system (an import, a repair).
    pub actor_id: Option<DiscordId>,
    pub at: DateTime<Utc>,
    /// Free text: the close reason, the participant's id, ...
    pub details: Option<String>,
}

/// The note on a claim taken over from the Python bot, which kept no claim time: the entry is
/// dated at the opening, and its time is not a time to claim.
pub const CLAIM_TIME_UNKNOWN: &str = "imported; time of claim unknown";

impl EventKind {
    /// Where an entry goes among entries of the same instant: an imported ticket's opening,
    /// claim and close can share one, and must still read opened → claimed → closed.
    pub fn logical_rank(self) -> u8 {
        match self {
            EventKind::Opened => 0,
            EventKind::ParticipantAdded => 1,
            EventKind::Claimed => 2,
            EventKind::FirstResponse => 3,
            EventKind::Unclaimed => 3,
            EventKind::ParticipantRemoved => 4,
            EventKind::Closed | EventKind::ForceClosed => 5,
            EventKind::Reopened => 6,
            EventKind::Archived => 7,
            EventKind::Deleted => 8,
            EventKind::Purged => 9,
            EventKind::Imported => 10,
        }
    }
}

/// When the ticket was first claimed, if that is known: the first claim in its history with a
/// known time (a claim imported from the Python bot has none: its time to claim is unknown, not
/// zero), else the current claim's time.
pub fn first_known_claim(ticket: &Ticket, history: &[TicketEvent]) -> Option<DateTime<Utc>> {
    history
        .iter()
        .find(|e| e.kind == EventKind::Claimed && e.time_known())
        .map(|e| e.at)
        .or(ticket.claimed_at)
}

/// Puts a ticket's history in the order it happened: by time, entries of the same instant by
/// [`EventKind::logical_rank`], then by id (UUID v7: creation order).
pub fn in_logical_order(events: &mut [TicketEvent]) {
    events.sort_by_key(|e| (e.at, e.kind.logical_rank(), e.id));
}

impl TicketEvent {
    /// Whether `at` is when it happened. False for a claim imported from the Python bot.
    pub fn time_known(&self) -> bool {
        !(self.kind == EventKind::Claimed && self.details.as_deref() == Some(CLAIM_TIME_UNKNOWN))
    }

    /// The first entry of a ticket's history: its creator opened it.
    pub fn opened(ticket: &Ticket) -> Self {
        Self::new(
            ticket,
            EventKind::Opened,
            Some(ticket.creator_id),
            ticket.created_at,
            None,
        )
    }

    pub fn new(
        ticket: &Ticket,
        kind: EventKind,
        actor_id: Option<DiscordId>,
        at: DateTime<Utc>,
        details: Option<String>,
    ) -> Self {
        TicketEvent {
            id: Uuid::now_v7(),
            ticket_id: ticket.id,
            guild_id: ticket.guild_id,
            kind,
            actor_id,
            at,
            details,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_id_and_channel_name() {
        let id = Uuid::parse_str("1b4e28ba-2fa1-41d2-883f-0016d3cca427").unwrap();
        assert_eq!(short_id(&id), "1b4e28ba");
        assert_eq!(channel_name(&id), "ticket-1b4e28ba");
        assert_eq!(
            short_id_from_channel_name("ticket-1b4e28ba"),
            Some("1b4e28ba")
        );
        assert_eq!(short_id_from_channel_name("ticket-1b4e28"), None);
        assert_eq!(short_id_from_channel_name("ticket-zzzzzzzz"), None);
        assert_eq!(short_id_from_channel_name("general"), None);
    }

    #[test]
    fn status_and_kind_round_trip() {
        for s in [TicketStatus::Open, TicketStatus::Closed] {
            assert_eq!(s.as_str().parse::<TicketStatus>(), Ok(s));
        }
        assert!("archived".parse::<TicketStatus>().is_err());
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>(), Ok(k));
        }
        assert!("exploded".parse::<EventKind>().is_err());
    }

    #[test]
    fn new_ticket_is_open_v4_and_unclaimed() {
        let t = Ticket::new(1, 2, now());
        assert_eq!(t.id.get_version_num(), 4);
        assert!(t.is_open());
        assert_eq!(t.claimed_by, None);
        assert_eq!(t.channel_id, None);
    }
}
