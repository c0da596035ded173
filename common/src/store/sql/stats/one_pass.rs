//! SQLite: a report's counts in one pass over the tickets and one over their history, with
//! the `tally` aggregate (see `lite::tally`), instead of a GROUP BY per figure. SQLite sorts
//! for every GROUP BY; on a million tickets the sorts, not the reading, took the time.

use super::{events_where, Agg, Counts, SqlStore, TIME_TO_CLAIM, TIME_TO_CLOSE, TIME_TO_RESPONSE};
use crate::error::{StoreError, StoreResult};
use crate::stats::{MICROS_PER_HOUR, MICROS_PER_MINUTE};
use crate::store::sql::lite::tally;
use crate::store::sql::rows::{text, Cols};
use crate::store::{ClaimFilter, TicketFilter};

/// History kinds counted in the period, by their code in [`events_pass`]'s SQL.
const ACTIVITY_KINDS: [&str; 4] = ["opened", "closed", "reopened", "archived"];
/// History kinds counted per staff member, by their code.
const STAFF_KINDS: [&str; 3] = ["claimed", "closed", "first_response"];

/// A pass's one row: the tally, and the plain counts beside it.
struct Pass {
    tally: String,
    /// Tickets seen, and of them open, closed, open and unclaimed.
    all: u64,
    open: u64,
    closed: u64,
    unclaimed: u64,
    /// The oldest open unclaimed ticket's opening time.
    oldest_unclaimed: Option<i64>,
}

fn pass(r: &dyn Cols) -> StoreResult<Pass> {
    let count = |c: &str| -> StoreResult<u64> { Ok(r.int(c)?.unwrap_or(0).max(0) as u64) };
    Ok(Pass {
        tally: text(r, "t")?.unwrap_or_default(),
        all: count("n")?,
        open: count("o")?,
        closed: count("c")?,
        unclaimed: count("u")?,
        oldest_unclaimed: r.int("m")?,
    })
}

/// Every pass selects these columns (NULL where it has no such figure).
const NO_COUNTS: &str = "NULL AS n, NULL AS o, NULL AS c, NULL AS u, NULL AS m";

impl SqlStore {
    /// The figures [`Counts`] holds, for a filter without a status.
    pub(super) async fn counts_in_one_pass(&self, filter: &TicketFilter) -> StoreResult<Counts> {
        let minute = |e: &str| format!("({e}) / {MICROS_PER_MINUTE}");
        let hour = |e: &str| format!("{e} / {MICROS_PER_HOUR}");
        let (cond, binds) = self.tickets_where(filter, "1 = 1");
        let tickets = format!(
            "SELECT tally('1 1 1 1 2', \
               CASE WHEN status = 'closed' THEN {close} END, {claim}, {response}, {opened}, \
               first_response_by, {response}) AS t, \
             COUNT(*) AS n, SUM(status = 'open') AS o, SUM(status = 'closed') AS c, \
             SUM(status = 'open' AND claimed_by IS NULL) AS u, \
             MIN(CASE WHEN status = 'open' AND claimed_by IS NULL THEN created_at END) AS m \
             FROM tickets WHERE {cond}",
            close = minute(TIME_TO_CLOSE),
            claim = minute(TIME_TO_CLAIM),
            response = minute(TIME_TO_RESPONSE),
            opened = hour("created_at"),
        );
        let (events_cond, event_binds) = events_where(filter, None);
        let events = format!(
            "SELECT tally('1 1 2', \
               CASE kind WHEN 'opened' THEN 0 WHEN 'closed' THEN 1 WHEN 'force_closed' THEN 1 \
                 WHEN 'reopened' THEN 2 WHEN 'archived' THEN 3 END, \
               CASE WHEN kind IN ('closed', 'force_closed') THEN {} END, \
               CASE kind WHEN 'claimed' THEN 0 WHEN 'closed' THEN 1 WHEN 'first_response' THEN 2 END, \
               actor_id) AS t, {NO_COUNTS} \
             FROM ticket_events WHERE {events_cond}",
            hour("at")
        );
        // The backlog is of the guild's open tickets now: the tickets pass sees them all when
        // the filter has nothing but the guild.
        let backlog_in_pass = filter.since.is_none()
            && filter.until.is_none()
            && filter.creator_id.is_none()
            && filter.claim == ClaimFilter::Any;
        let mut jobs = vec![(tickets, binds), (events, event_binds)];
        if !backlog_in_pass {
            let (cond, binds) = self.tickets_where(
                &TicketFilter {
                    guild_id: filter.guild_id,
                    ..TicketFilter::default()
                },
                "status = 'open'",
            );
            jobs.push((
                format!(
                    "SELECT '' AS t, NULL AS n, COUNT(*) AS o, NULL AS c, \
                     SUM(claimed_by IS NULL) AS u, \
                     MIN(CASE WHEN claimed_by IS NULL THEN created_at END) AS m \
                     FROM tickets WHERE {cond}"
                ),
                binds,
            ));
        }
        let (messages_sql, message_binds) = self.staff_messages_query(filter);
        let messages = self
            .read_all(&messages_sql, message_binds, super::agg)
            .await?;
        let mut passes = self.read_all_many(jobs, pass).await?.into_iter();
        let mut one = || -> StoreResult<Pass> {
            passes
                .next()
                .and_then(|rows| rows.into_iter().next())
                .ok_or_else(|| StoreError::corrupt("statistics", "an aggregate returned no row"))
        };
        let (tickets, events) = (one()?, one()?);
        let backlog = if backlog_in_pass { &tickets } else { &one()? };
        if tickets.open + tickets.closed != tickets.all {
            return Err(StoreError::corrupt(
                "tickets.status",
                format!(
                    "{} tickets neither open nor closed",
                    tickets.all - tickets.open - tickets.closed
                ),
            ));
        }
        let backlog = vec![
            count(Some("open"), None, backlog.open),
            count(
                Some("unclaimed"),
                backlog.oldest_unclaimed,
                backlog.unclaimed,
            ),
        ];
        let by_status = vec![
            count(Some("open"), None, tickets.open),
            count(Some("closed"), None, tickets.closed),
        ];

        let mut t = tally::parse(&tickets.tally, 5)?.into_iter();
        let mut keyed = || t.next().unwrap_or_default().into_iter();
        let per_minute = |rows: std::vec::IntoIter<tally::Counted>| -> Vec<Agg> {
            rows.map(|([x, _], n)| count(None, Some(x), n)).collect()
        };
        let close = per_minute(keyed());
        let claim = per_minute(keyed());
        let response = per_minute(keyed());
        let opened = per_minute(keyed());
        let staff_response = keyed()
            .map(|([by, minute], n)| Agg {
                k: Some(by.to_string()),
                x: Some(minute),
                n,
            })
            .collect();

        let mut e = tally::parse(&events.tally, 3)?.into_iter();
        let mut keyed = || e.next().unwrap_or_default().into_iter();
        let named = |rows: std::vec::IntoIter<tally::Counted>, names: &[&str]| {
            rows.filter_map(|([code, x], n)| {
                let name = names.get(usize::try_from(code).ok()?)?;
                Some(count(Some(name), Some(x), n))
            })
            .collect::<Vec<Agg>>()
        };
        let kinds = named(keyed(), &ACTIVITY_KINDS);
        let closed = per_minute(keyed());
        let staff = named(keyed(), &STAFF_KINDS);

        Ok(Counts {
            close,
            by_status,
            claim,
            response,
            opened,
            kinds,
            closed,
            staff,
            backlog,
            messages,
            staff_response,
        })
    }
}

fn count(k: Option<&str>, x: Option<i64>, n: u64) -> Agg {
    Agg {
        k: k.map(str::to_owned),
        x,
        n,
    }
}
