//! The ticket's rules as pure functions: who may do what, which transitions are allowed from
//! which state, and what each changes. The stores decide races with conditional writes and use
//! these functions to explain a refusal; the bot uses them to answer before touching Discord.

use chrono::{DateTime, Utc};

use crate::ticket::{DiscordId, EventKind, Ticket, TicketEvent, TicketStatus};

/// The person acting, as the bot sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: DiscordId,
    /// Holds the support role.
    pub is_staff: bool,
}

impl Actor {
    pub fn staff(user_id: DiscordId) -> Self {
        Actor {
            user_id,
            is_staff: true,
        }
    }

    pub fn member(user_id: DiscordId) -> Self {
        Actor {
            user_id,
            is_staff: false,
        }
    }
}

/// Guild-wide choices that change the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// A creator may close their own ticket (from its Close button), as the popular bots allow.
    pub creator_may_close: bool,
    /// How many open tickets one user may have in a guild at once (at least 1).
    pub max_open_per_user: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            creator_may_close: true,
            max_open_per_user: 1,
        }
    }
}

/// Why an operation was refused. Display texts are written for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("ticket not found")]
    NotFound,
    #[error("only support staff can do that")]
    StaffOnly,
    #[error("only support staff or the ticket's creator can close it")]
    StaffOrCreatorOnly,
    #[error("this ticket is closed; reopen it first")]
    Closed,
    #[error("this ticket is already closed")]
    AlreadyClosed,
    #[error("this ticket is already open")]
    AlreadyOpen,
    #[error("this ticket is still open; close it before archiving it")]
    NotClosed,
    #[error("this ticket is already archived")]
    AlreadyArchived,
    #[error("this ticket is already claimed by <@{0}>")]
    AlreadyClaimed(DiscordId),
    #[error("this ticket is not claimed")]
    NotClaimed,
    #[error("only <@{0}>, who claimed this ticket, can unclaim it")]
    ClaimedByOther(DiscordId),
    #[error("<@{0}> is already in this ticket")]
    AlreadyParticipant(DiscordId),
    #[error("<@{0}> is not a participant of this ticket")]
    NotParticipant(DiscordId),
    #[error("<@{0}> opened this ticket and is always part of it")]
    IsCreator(DiscordId),
}

/// A change of a ticket's state that leaves an event in its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Claim {
        by: DiscordId,
        at: DateTime<Utc>,
    },
    Unclaim {
        by: DiscordId,
        at: DateTime<Utc>,
    },
    Close {
        by: Option<DiscordId>,
        reason: Option<String>,
        at: DateTime<Utc>,
        /// Closed by an operator from `ticketctl`, not from Discord.
        forced: bool,
    },
    Reopen {
        by: DiscordId,
        at: DateTime<Utc>,
    },
}

impl Transition {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Transition::Claim { at, .. }
            | Transition::Unclaim { at, .. }
            | Transition::Close { at, .. }
            | Transition::Reopen { at, .. } => *at,
        }
    }

    pub fn actor(&self) -> Option<DiscordId> {
        match self {
            Transition::Claim { by, .. }
            | Transition::Unclaim { by, .. }
            | Transition::Reopen { by, .. } => Some(*by),
            Transition::Close { by, .. } => *by,
        }
    }

    /// Whether the ticket's channel must change with it (lock/unlock, move between categories):
    /// the store then marks the channel out of date in the same write.
    pub fn changes_channel(&self) -> bool {
        matches!(self, Transition::Close { .. } | Transition::Reopen { .. })
    }

    /// The history entry this transition writes.
    /// The history entry this transition leaves on `ticket`.
    pub fn event(&self, ticket: &Ticket) -> TicketEvent {
        TicketEvent::new(
            ticket,
            self.event_kind(),
            self.actor(),
            self.at(),
            self.event_details(),
        )
    }

    pub fn event_kind(&self) -> EventKind {
        match self {
            Transition::Claim { .. } => EventKind::Claimed,
            Transition::Unclaim { .. } => EventKind::Unclaimed,
            Transition::Close { forced: false, .. } => EventKind::Closed,
            Transition::Close { forced: true, .. } => EventKind::ForceClosed,
            Transition::Reopen { .. } => EventKind::Reopened,
        }
    }

    /// The event's details: the close reason, when there is one.
    pub fn event_details(&self) -> Option<String> {
        match self {
            Transition::Close { reason, .. } => reason.clone(),
            _ => None,
        }
    }
}

/// Whether the ticket's state allows the transition (not who asks: see [`authorize`]).
pub fn check(ticket: &Ticket, transition: &Transition) -> Result<(), RuleError> {
    use TicketStatus::{Closed, Open};
    match (transition, ticket.status) {
        (Transition::Claim { .. }, Closed) => Err(RuleError::Closed),
        (Transition::Claim { .. }, Open) => match ticket.claimed_by {
            Some(holder) => Err(RuleError::AlreadyClaimed(holder)),
            None => Ok(()),
        },
        (Transition::Unclaim { .. }, Closed) => Err(RuleError::Closed),
        (Transition::Unclaim { by, .. }, Open) => match ticket.claimed_by {
            None => Err(RuleError::NotClaimed),
            Some(holder) if holder != *by => Err(RuleError::ClaimedByOther(holder)),
            Some(_) => Ok(()),
        },
        (Transition::Close { .. }, Closed) => Err(RuleError::AlreadyClosed),
        (Transition::Close { .. }, Open) => Ok(()),
        (Transition::Reopen { .. }, Open) => Err(RuleError::AlreadyOpen),
        (Transition::Reopen { .. }, Closed) => Ok(()),
    }
}

/// The ticket after the transition, or why it cannot happen.
pub fn apply(ticket: &Ticket, transition: &Transition) -> Result<Ticket, RuleError> {
    check(ticket, transition)?;
    let mut next = ticket.clone();
    next.updated_at = transition.at();
    match transition {
        Transition::Claim { by, at } => {
            next.claimed_by = Some(*by);
            next.claimed_at = Some(*at);
        }
        Transition::Unclaim { .. } => {
            next.claimed_by = None;
            next.claimed_at = None;
        }
        Transition::Close { by, reason, at, .. } => {
            // The claim stays: who handled a ticket is part of its record and of the stats.
            next.status = TicketStatus::Closed;
            next.closed_at = Some(*at);
            next.closed_by = *by;
            next.close_reason = reason.clone();
        }
        Transition::Reopen { .. } => {
            next.status = TicketStatus::Open;
            next.closed_at = None;
            next.closed_by = None;
            next.close_reason = None;
            // An archived ticket comes back with a new channel; the history keeps the archive.
            next.archived_at = None;
            next.archive_requested_at = None;
        }
    }
    Ok(next)
}

/// Whether this actor may ask for the transition on this ticket.
pub fn authorize(
    ticket: &Ticket,
    actor: &Actor,
    transition: &Transition,
    policy: &Policy,
) -> Result<(), RuleError> {
    match transition {
        Transition::Close { .. } if !actor.is_staff => {
            if policy.creator_may_close && actor.user_id == ticket.creator_id {
                Ok(())
            } else if policy.creator_may_close {
                Err(RuleError::StaffOrCreatorOnly)
            } else {
                Err(RuleError::StaffOnly)
            }
        }
        _ if !actor.is_staff => Err(RuleError::StaffOnly),
        _ => Ok(()),
    }
}

/// Whether the ticket can be archived (transcript saved, channel deleted): closed, not yet.
pub fn check_archive(ticket: &Ticket) -> Result<(), RuleError> {
    if ticket.status == TicketStatus::Open {
        return Err(RuleError::NotClosed);
    }
    if ticket.is_archived() {
        return Err(RuleError::AlreadyArchived);
    }
    Ok(())
}

/// Whether `user` may be added to the ticket.
pub fn check_add_participant(ticket: &Ticket, user: DiscordId) -> Result<(), RuleError> {
    if ticket.status == TicketStatus::Closed {
        return Err(RuleError::Closed);
    }
    if user == ticket.creator_id {
        return Err(RuleError::IsCreator(user));
    }
    Ok(())
}

/// Whether `user` may be removed from the ticket. Removing from a closed ticket is allowed:
/// taking access away is always safe.
pub fn check_remove_participant(ticket: &Ticket, user: DiscordId) -> Result<(), RuleError> {
    if user == ticket.creator_id {
        return Err(RuleError::IsCreator(user));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::now;

    const CREATOR: DiscordId = 100;
    const STAFF_A: DiscordId = 200;
    const STAFF_B: DiscordId = 300;

    fn open() -> Ticket {
        Ticket::new(1, CREATOR, now())
    }

    fn claim(by: DiscordId) -> Transition {
        Transition::Claim { by, at: now() }
    }

    fn close(by: DiscordId) -> Transition {
        Transition::Close {
            by: Some(by),
            reason: Some("done".into()),
            at: now(),
            forced: false,
        }
    }

    #[test]
    fn claim_sets_claimer_and_refuses_second_claim() {
        let t = apply(&open(), &claim(STAFF_A)).unwrap();
        assert_eq!(t.claimed_by, Some(STAFF_A));
        assert!(t.claimed_at.is_some());
        assert_eq!(
            apply(&t, &claim(STAFF_B)),
            Err(RuleError::AlreadyClaimed(STAFF_A))
        );
        assert_eq!(
            apply(&t, &claim(STAFF_A)),
            Err(RuleError::AlreadyClaimed(STAFF_A))
        );
    }

    #[test]
    fn claim_of_closed_ticket_is_refused() {
        let t = apply(&open(), &close(STAFF_A)).unwrap();
        assert_eq!(apply(&t, &claim(STAFF_A)), Err(RuleError::Closed));
    }

    #[test]
    fn unclaim_only_by_claimer() {
        let unclaim = |by| Transition::Unclaim { by, at: now() };
        assert_eq!(
            apply(&open(), &unclaim(STAFF_A)),
            Err(RuleError::NotClaimed)
        );
        let t = apply(&open(), &claim(STAFF_A)).unwrap();
        assert_eq!(
            apply(&t, &unclaim(STAFF_B)),
            Err(RuleError::ClaimedByOther(STAFF_A))
        );
        let t = apply(&t, &unclaim(STAFF_A)).unwrap();
        assert_eq!(t.claimed_by, None);
        assert_eq!(t.claimed_at, None);
    }

    #[test]
    fn close_records_closer_reason_and_keeps_claim() {
        let t = apply(&open(), &claim(STAFF_A)).unwrap();
        let t = apply(&t, &close(STAFF_B)).unwrap();
        assert_eq!(t.status, TicketStatus::Closed);
        assert_eq!(t.closed_by, Some(STAFF_B));
        assert_eq!(t.close_reason.as_deref(), Some("done"));
        assert!(t.closed_at.is_some());
        assert_eq!(t.claimed_by, Some(STAFF_A));
        assert_eq!(apply(&t, &close(STAFF_A)), Err(RuleError::AlreadyClosed));
    }

    #[test]
    fn reopen_clears_close_fields_and_only_from_closed() {
        let reopen = Transition::Reopen {
            by: STAFF_A,
            at: now(),
        };
        assert_eq!(apply(&open(), &reopen), Err(RuleError::AlreadyOpen));
        let t = apply(&open(), &close(STAFF_A)).unwrap();
        let t = apply(&t, &reopen).unwrap();
        assert_eq!(t.status, TicketStatus::Open);
        assert_eq!(
            (t.closed_at, t.closed_by, t.close_reason),
            (None, None, None)
        );
    }

    #[test]
    fn event_kinds_follow_transitions() {
        assert_eq!(claim(1).event_kind(), EventKind::Claimed);
        assert_eq!(close(1).event_kind(), EventKind::Closed);
        let forced = Transition::Close {
            by: None,
            reason: None,
            at: now(),
            forced: true,
        };
        assert_eq!(forced.event_kind(), EventKind::ForceClosed);
        assert_eq!(close(1).event_details().as_deref(), Some("done"));
    }

    #[test]
    fn staff_may_do_everything_members_only_close_their_own() {
        let t = open();
        let policy = Policy::default();
        let staff = Actor::staff(STAFF_A);
        let creator = Actor::member(CREATOR);
        let stranger = Actor::member(999);
        assert_eq!(authorize(&t, &staff, &claim(STAFF_A), &policy), Ok(()));
        assert_eq!(
            authorize(&t, &creator, &claim(CREATOR), &policy),
            Err(RuleError::StaffOnly)
        );
        assert_eq!(authorize(&t, &creator, &close(CREATOR), &policy), Ok(()));
        assert_eq!(
            authorize(&t, &stranger, &close(999), &policy),
            Err(RuleError::StaffOrCreatorOnly)
        );
        let strict = Policy {
            creator_may_close: false,
            ..policy
        };
        assert_eq!(
            authorize(&t, &creator, &close(CREATOR), &strict),
            Err(RuleError::StaffOnly)
        );
    }

    #[test]
    fn participants_rules() {
        let t = open();
        assert_eq!(
            check_add_participant(&t, CREATOR),
            Err(RuleError::IsCreator(CREATOR))
        );
        assert_eq!(check_add_participant(&t, 5), Ok(()));
        let closed = apply(&t, &close(STAFF_A)).unwrap();
        assert_eq!(check_add_participant(&closed, 5), Err(RuleError::Closed));
        assert_eq!(check_remove_participant(&closed, 5), Ok(()));
        assert_eq!(
            check_remove_participant(&t, CREATOR),
            Err(RuleError::IsCreator(CREATOR))
        );
    }

    #[test]
    fn archive_needs_a_closed_unarchived_ticket_and_reopen_undoes_it() {
        let t = open();
        assert_eq!(check_archive(&t), Err(RuleError::NotClosed));
        let mut closed = apply(&t, &close(STAFF_A)).unwrap();
        assert_eq!(check_archive(&closed), Ok(()));
        closed.archived_at = Some(now());
        closed.channel_id = None;
        assert_eq!(check_archive(&closed), Err(RuleError::AlreadyArchived));
        let reopened = apply(
            &closed,
            &Transition::Reopen {
                by: STAFF_A,
                at: now(),
            },
        )
        .unwrap();
        assert!(reopened.is_open());
        assert!(!reopened.is_archived());
        assert_eq!(reopened.archive_requested_at, None);
    }
}
