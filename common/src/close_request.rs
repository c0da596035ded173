//! Close requests: staff ask a ticket's creator whether their problem is solved. The creator
//! accepts (the ticket closes with the request's reason) or denies (it stays open); with no
//! answer by the deadline it closes. The request lives in the database, so a restart or
//! another bot process finishes what one started.
//!
//! Settling is decided by the database: a request leaves `Pending` once, by a conditional
//! update, so a double click, Accept racing the deadline, or two processes sweeping at once
//! settle it once. A settled request stays stored until its close is done, and comes due
//! again after [`RETRY_SETTLED_AFTER`] in case the process that settled it died first.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::duration::{format_duration, parse_duration};
use crate::ticket::DiscordId;

/// How long the creator has to answer when staff give no delay.
pub const DEFAULT_DELAY: Duration = Duration::hours(24);

/// The longest delay a request may have (Discord Tickets and TicketsBot stop at weeks too).
pub const MAX_DELAY: Duration = Duration::days(30);

/// A settled request whose close was not seen through is taken up again after this long.
pub const RETRY_SETTLED_AFTER: Duration = Duration::minutes(1);

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseRequestState {
    /// Waiting for the creator's answer.
    Pending,
    /// The creator accepted: the ticket is being closed.
    Accepted,
    /// The creator denied: the ticket stays open.
    Denied,
    /// No answer by the deadline: the ticket is being closed.
    Expired,
}

impl CloseRequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseRequestState::Pending => "pending",
            CloseRequestState::Accepted => "accepted",
            CloseRequestState::Denied => "denied",
            CloseRequestState::Expired => "expired",
        }
    }

    /// Whether settling in this state closes the ticket.
    pub fn closes(self) -> bool {
        matches!(
            self,
            CloseRequestState::Accepted | CloseRequestState::Expired
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown close request state {0:?}")]
pub struct UnknownCloseRequestState(pub String);

impl std::str::FromStr for CloseRequestState {
    type Err = UnknownCloseRequestState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(CloseRequestState::Pending),
            "accepted" => Ok(CloseRequestState::Accepted),
            "denied" => Ok(CloseRequestState::Denied),
            "expired" => Ok(CloseRequestState::Expired),
            other => Err(UnknownCloseRequestState(other.to_owned())),
        }
    }
}

/// One ticket's close request (a ticket has at most one; a new one replaces it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseRequest {
    /// Names this request (its buttons carry it): an answer to a replaced request is refused.
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub guild_id: DiscordId,
    pub requested_by: DiscordId,
    pub reason: Option<String>,
    pub requested_at: DateTime<Utc>,
    /// When an unanswered request closes the ticket.
    pub deadline: DateTime<Utc>,
    pub state: CloseRequestState,
    /// When the request next needs a process's attention: the deadline while pending, a
    /// retry time once settled.
    pub due_at: DateTime<Utc>,
}

impl CloseRequest {
    /// A pending request made `at`, answered within `delay`.
    pub fn new(
        ticket_id: Uuid,
        guild_id: DiscordId,
        requested_by: DiscordId,
        reason: Option<String>,
        at: DateTime<Utc>,
        delay: Duration,
    ) -> Self {
        let deadline = at + delay;
        CloseRequest {
            id: Uuid::now_v7(),
            ticket_id,
            guild_id,
            requested_by,
            reason,
            requested_at: at,
            deadline,
            state: CloseRequestState::Pending,
            due_at: deadline,
        }
    }
}

/// Why a delay was refused; the text is written for the staff member who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadDelay {
    #[error(transparent)]
    Unreadable(#[from] crate::duration::BadDuration),
    #[error("the delay must be longer than 0; write e.g. 30m, 12h or 2d")]
    Zero,
    #[error(
        "the delay can be at most {}; write a shorter one",
        format_duration(MAX_DELAY)
    )]
    TooLong,
}

/// The delay staff typed (none: [`DEFAULT_DELAY`]), checked against [`MAX_DELAY`].
pub fn parse_delay(raw: Option<&str>) -> Result<Duration, BadDelay> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(DEFAULT_DELAY);
    };
    let d = parse_duration(raw)?;
    if d <= Duration::zero() {
        Err(BadDelay::Zero)
    } else if d > MAX_DELAY {
        Err(BadDelay::TooLong)
    } else {
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_read_and_bounded() {
        assert_eq!(parse_delay(None), Ok(DEFAULT_DELAY));
        assert_eq!(parse_delay(Some("  ")), Ok(DEFAULT_DELAY));
        assert_eq!(parse_delay(Some("90m")), Ok(Duration::minutes(90)));
        assert_eq!(parse_delay(Some("1d 2h")), Ok(Duration::hours(26)));
        assert_eq!(parse_delay(Some("0")), Err(BadDelay::Zero));
        assert_eq!(parse_delay(Some("31d")), Err(BadDelay::TooLong));
        assert!(matches!(
            parse_delay(Some("soon")),
            Err(BadDelay::Unreadable(_))
        ));
        assert!(BadDelay::TooLong.to_string().contains("30d"));
    }

    #[test]
    fn states_round_trip_and_say_whether_they_close() {
        for s in [
            CloseRequestState::Pending,
            CloseRequestState::Accepted,
            CloseRequestState::Denied,
            CloseRequestState::Expired,
        ] {
            assert_eq!(s.as_str().parse::<CloseRequestState>(), Ok(s));
        }
        assert!(CloseRequestState::Accepted.closes() && CloseRequestState::Expired.closes());
        assert!(!CloseRequestState::Denied.closes() && !CloseRequestState::Pending.closes());
        assert!("later".parse::<CloseRequestState>().is_err());
    }

    #[test]
    fn a_new_request_is_due_at_its_deadline() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let r = CloseRequest::new(Uuid::nil(), 1, 2, None, at, Duration::hours(3));
        assert_eq!(r.deadline, at + Duration::hours(3));
        assert_eq!(r.due_at, r.deadline);
        assert_eq!(r.state, CloseRequestState::Pending);
    }
}
