//! What both backends decide alike: the retry of a refused transition, and the checks and
//! audit entries of a purge.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{PurgeCounts, PurgeQuery};
use crate::error::{StoreError, StoreResult};
use crate::rules::{self, RuleError, Transition};
use crate::ticket::{DiscordId, Ticket, TicketEvent};

/// Explains why a conditional write matched nothing: the ticket is gone, or the rules refuse.
/// `Ok(())` means the state changed between the write and this read: the caller retries.
fn explain_refusal(current: Option<&Ticket>, transition: &Transition) -> Result<(), StoreError> {
    let ticket = current.ok_or(RuleError::NotFound)?;
    rules::check(ticket, transition)?;
    Ok(())
}

/// Applies a transition with `attempt` (one conditional write: `Some` when it matched), and
/// when it matched nothing asks `current` for the ticket and the rules why: a refusal is the
/// answer, "it should have passed" means the ticket changed in between and the write is tried
/// again. The same for every backend.
pub(crate) async fn decide_transition<A, AFut, C, CFut>(
    id: Uuid,
    transition: &Transition,
    mut attempt: A,
    mut current: C,
) -> StoreResult<Ticket>
where
    A: FnMut() -> AFut,
    AFut: std::future::Future<Output = StoreResult<Option<Ticket>>>,
    C: FnMut() -> CFut,
    CFut: std::future::Future<Output = StoreResult<Option<Ticket>>>,
{
    for _ in 0..RACE_RETRIES {
        if let Some(t) = attempt().await? {
            return Ok(t);
        }
        explain_refusal(current().await?.as_ref(), transition)?;
    }
    Err(StoreError::Contended(format!(
        "ticket {id} kept changing; the {} was not applied",
        transition.event_kind()
    )))
}

/// How often a refused conditional write is retried when the re-read says it should have
/// passed (the state moved between the two).
pub(crate) const RACE_RETRIES: usize = 8;

/// Tickets (or deleted tickets' histories) removed per batch of a purge: one transaction each.
pub(crate) const PURGE_BATCH: u32 = 500;

/// A purge must select by time or by user: never "everything closed".
pub(crate) fn check_purge_query(query: &PurgeQuery) -> StoreResult<()> {
    if query.closed_before.is_none() && query.user_id.is_none() {
        return Err(StoreError::InvalidQuery(
            "a purge needs a time (closed before) or a user; neither was given".into(),
        ));
    }
    Ok(())
}

/// What a purge did in each guild, for its audit entries.
pub(crate) type PurgeByGuild = std::collections::BTreeMap<DiscordId, PurgeCounts>;

/// Adds `from` to `into` (the skipped count stays out: it is counted once, overall).
pub(crate) fn add_purge_counts(into: &mut PurgeCounts, from: &PurgeCounts) {
    into.tickets += from.tickets;
    into.deleted_histories += from.deleted_histories;
    into.events += from.events;
    into.transcripts += from.transcripts;
}

/// The `purged` audit entries: one per guild where something was removed, with a nil ticket
/// id, no actor, and the query and that guild's counts as JSON.
pub(crate) fn purged_events(
    query: &PurgeQuery,
    by_guild: &PurgeByGuild,
    at: DateTime<Utc>,
) -> Vec<TicketEvent> {
    by_guild
        .iter()
        .filter(|(_, c)| c.tickets + c.deleted_histories + c.events + c.transcripts > 0)
        .map(|(guild, counts)| TicketEvent {
            id: Uuid::now_v7(),
            ticket_id: Uuid::nil(),
            guild_id: *guild,
            kind: crate::ticket::EventKind::Purged,
            actor_id: None,
            at,
            details: serde_json::to_string(&serde_json::json!({
                "query": query,
                "counts": counts,
            }))
            .ok(),
        })
        .collect()
}
