//! SQLite: a report's counts with the `tally` aggregate (see `lite::tally`) instead of a
//! GROUP BY per figure (SQLite sorts for every GROUP BY; on a million tickets the sorts, not
//! the reading, took the time). The tickets are read in two halves by rowid, one per core;
//! the history one kind at a time, each kind a range of the index
//! `ticket_events (kind, actor_id, at)`: one pass over all of it had to tell the kinds apart
//! by comparing text in every row, ten times the cost of reading the ranges.

use std::collections::BTreeMap;

use super::{events_where, Agg, Counts, SqlStore, TIME_TO_CLAIM, TIME_TO_CLOSE, TIME_TO_RESPONSE};
use crate::error::{StoreError, StoreResult};
use crate::feedback::FeedbackSummary;
use crate::stats::{MICROS_PER_HOUR, MICROS_PER_MINUTE};
use crate::store::sql::lite::tally;
use crate::store::sql::rows::{id_from_sql, text, Bind, Cols};
use crate::store::{ClaimFilter, TicketFilter};

/// The groups of the tickets' tally, in its order (see [`tickets_pass`]).
const TICKET_GROUPS: usize = 8;

/// A pass's one row: the tally, and the plain counts beside it.
struct Pass {
    tally: String,
    /// Rows seen, and of them (tickets) open, closed, open and unclaimed.
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

/// The tickets' figures: a pass's counts, its tally's groups merged over the halves.
#[derive(Default)]
struct Tickets {
    all: u64,
    open: u64,
    closed: u64,
    unclaimed: u64,
    oldest_unclaimed: Option<i64>,
    groups: Vec<BTreeMap<[i64; 2], u64>>,
}

impl Tickets {
    fn add(&mut self, p: &Pass) -> StoreResult<()> {
        self.all += p.all;
        self.open += p.open;
        self.closed += p.closed;
        self.unclaimed += p.unclaimed;
        self.oldest_unclaimed = match (self.oldest_unclaimed, p.oldest_unclaimed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.groups.resize_with(TICKET_GROUPS, BTreeMap::new);
        for (group, rows) in self
            .groups
            .iter_mut()
            .zip(tally::parse(&p.tally, TICKET_GROUPS)?)
        {
            for (key, n) in rows {
                *group.entry(key).or_default() += n;
            }
        }
        Ok(())
    }

    /// A group's `(key, count)` rows, by key.
    fn group(&mut self, i: usize) -> Vec<tally::Counted> {
        self.groups
            .get_mut(i)
            .map(std::mem::take)
            .unwrap_or_default()
            .into_iter()
            .collect()
    }
}

impl SqlStore {
    /// The figures [`Counts`] holds and the ratings, for a filter without a status.
    pub(super) async fn counts_in_one_pass(
        &self,
        filter: &TicketFilter,
    ) -> StoreResult<(Counts, FeedbackSummary)> {
        let hour = |e: &str| format!("{e} / {MICROS_PER_HOUR}");
        let mut jobs: Vec<(String, Vec<Bind>)> = self
            .rowid_halves()
            .await?
            .iter()
            .map(|half| self.tickets_pass(filter, half))
            .collect();
        // History, one kind a job: `(kind, tally shape and keys)`. The longest first.
        let kinds = [
            ("closed", Some(format!("'1 1', {}, actor_id", hour("at")))),
            ("first_response", Some("'1', actor_id".to_owned())),
            ("claimed", Some("'1', actor_id".to_owned())),
            ("force_closed", Some(format!("'1', {}", hour("at")))),
            ("opened", None),
            ("reopened", None),
            ("archived", None),
        ];
        // A guild's entries are not together in that index: they are read once, from the
        // guild's own, each told apart as it comes.
        let by_kind = filter.guild_id.is_none();
        if !by_kind {
            let (cond, binds) = events_where(filter, None);
            jobs.push((
                format!(
                    "SELECT tally('1 1 2', \
                       CASE kind WHEN 'opened' THEN 0 WHEN 'closed' THEN 1 \
                         WHEN 'force_closed' THEN 1 WHEN 'reopened' THEN 2 \
                         WHEN 'archived' THEN 3 END, \
                       CASE WHEN kind IN ('closed', 'force_closed') THEN {} END, \
                       CASE kind WHEN 'claimed' THEN 0 WHEN 'closed' THEN 1 \
                         WHEN 'first_response' THEN 2 END, \
                       actor_id) AS t, COUNT(*) AS n, NULL AS o, NULL AS c, NULL AS u, \
                     NULL AS m FROM ticket_events WHERE {cond}",
                    hour("at")
                ),
                binds,
            ));
        }
        for (kind, keys) in kinds.iter().filter(|_| by_kind) {
            let (cond, binds) = events_where(filter, None);
            let tally = keys
                .as_ref()
                .map_or_else(|| "''".to_owned(), |k| format!("tally({k})"));
            jobs.push((
                format!(
                    "SELECT {tally} AS t, COUNT(*) AS n, NULL AS o, NULL AS c, NULL AS u, \
                     NULL AS m FROM ticket_events WHERE kind = '{kind}' AND {cond}"
                ),
                binds,
            ));
        }
        // The backlog is of the guild's open tickets now: the tickets pass sees them all when
        // the filter has nothing but the guild.
        let backlog_in_pass = filter.since.is_none()
            && filter.until.is_none()
            && filter.creator_id.is_none()
            && filter.claim == ClaimFilter::Any;
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
        let mut tickets = Tickets::default();
        tickets.add(&one()?)?;
        tickets.add(&one()?)?;
        // Per kind, its count and its tally's groups (as the jobs by kind give them).
        let mut history: BTreeMap<&str, (u64, Vec<Vec<tally::Counted>>)> = BTreeMap::new();
        if by_kind {
            for (kind, keys) in &kinds {
                let p = one()?;
                let groups = if keys.is_some() {
                    tally::parse(&p.tally, 2)?
                } else {
                    Vec::new()
                };
                history.insert(*kind, (p.all, groups));
            }
        } else {
            // Codes as in the pass's SQL; force closes count among the closes.
            let mut g = tally::parse(&one()?.tally, 3)?.into_iter();
            let (activity, close_hours, staff) = (
                g.next().unwrap_or_default(),
                g.next().unwrap_or_default(),
                g.next().unwrap_or_default(),
            );
            for (code, name) in ["opened", "closed", "reopened", "archived"]
                .iter()
                .enumerate()
            {
                let n = activity
                    .iter()
                    .filter(|([c, _], _)| *c == code as i64)
                    .map(|(_, n)| n)
                    .sum();
                history.insert(name, (n, vec![Vec::new(), Vec::new()]));
            }
            for (code, name, group) in [
                (0, "claimed", 0),
                (1, "closed", 1),
                (2, "first_response", 0),
            ] {
                let actors = staff
                    .iter()
                    .filter(|([c, _], _)| *c == code)
                    .map(|&([_, actor], n)| ([actor, 0], n))
                    .collect();
                let entry = history
                    .entry(name)
                    .or_insert_with(|| (0, vec![Vec::new(), Vec::new()]));
                entry.1[group] = actors;
            }
            if let Some(closed) = history.get_mut("closed") {
                closed.1[0] = close_hours;
            }
        }
        if tickets.open + tickets.closed != tickets.all {
            return Err(StoreError::corrupt(
                "tickets.status",
                format!(
                    "{} tickets neither open nor closed",
                    tickets.all - tickets.open - tickets.closed
                ),
            ));
        }
        let backlog = if backlog_in_pass {
            (tickets.open, tickets.unclaimed, tickets.oldest_unclaimed)
        } else {
            let p = one()?;
            (p.open, p.unclaimed, p.oldest_unclaimed)
        };
        let backlog = vec![
            count(Some("open"), None, backlog.0),
            count(Some("unclaimed"), backlog.2, backlog.1),
        ];
        let by_status = vec![
            count(Some("open"), None, tickets.open),
            count(Some("closed"), None, tickets.closed),
        ];

        let per_key = |rows: Vec<tally::Counted>| -> Vec<Agg> {
            rows.into_iter()
                .map(|([x, _], n)| count(None, Some(x), n))
                .collect()
        };
        let close = per_key(tickets.group(0));
        let claim = per_key(tickets.group(1));
        let response = per_key(tickets.group(2));
        let opened = per_key(tickets.group(3));
        let staff_response = tickets
            .group(4)
            .into_iter()
            .map(|([by, minute], n)| Agg {
                k: Some(by.to_string()),
                x: Some(minute),
                n,
            })
            .collect();
        // Ratings: per rating, then per (claimer, rating) and (closer if another, rating).
        let stars = |r: i64| u8::try_from(r).unwrap_or(0);
        let overall: Vec<(u8, u64)> = tickets
            .group(5)
            .into_iter()
            .map(|([r, _], n)| (stars(r), n))
            .collect();
        let per_member: Vec<(u64, u8, u64)> = tickets
            .group(6)
            .into_iter()
            .chain(tickets.group(7))
            .map(|([by, r], n)| (id_from_sql(by), stars(r), n))
            .collect();
        let feedback = FeedbackSummary::from_counts(overall, per_member);

        // A kind's count, and its tally's group `i`.
        let mut kind = |name: &str, i: usize| -> (u64, Vec<tally::Counted>) {
            match history.get_mut(name) {
                Some((n, groups)) => (
                    *n,
                    groups.get_mut(i).map(std::mem::take).unwrap_or_default(),
                ),
                None => (0, Vec::new()),
            }
        };
        let (closes, closes_per_hour) = kind("closed", 0);
        let (_, closers) = kind("closed", 1);
        let (force_closes, force_closes_per_hour) = kind("force_closed", 0);
        let (_, responders) = kind("first_response", 0);
        let (_, claimers) = kind("claimed", 0);
        let kinds = ["opened", "reopened", "archived"]
            .into_iter()
            .map(|name| count(Some(name), None, kind(name, 0).0))
            .chain([
                count(Some("closed"), None, closes),
                count(Some("force_closed"), None, force_closes),
            ])
            .collect();
        let mut closed_per_hour: BTreeMap<i64, u64> = BTreeMap::new();
        for ([h, _], n) in closes_per_hour.into_iter().chain(force_closes_per_hour) {
            *closed_per_hour.entry(h).or_default() += n;
        }
        let closed = closed_per_hour
            .into_iter()
            .map(|(h, n)| count(None, Some(h), n))
            .collect();
        let staff = [
            ("claimed", claimers),
            ("closed", closers),
            ("first_response", responders),
        ]
        .into_iter()
        .flat_map(|(name, rows)| {
            rows.into_iter()
                .map(move |([by, _], n)| count(Some(name), Some(by), n))
        })
        .collect();

        Ok((
            Counts {
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
            },
            feedback,
        ))
    }

    /// Conditions that split the tickets in two halves by rowid, as they are now (a ticket
    /// added since falls in the second), for two threads to read at once.
    pub(super) async fn rowid_halves(&self) -> StoreResult<[String; 2]> {
        let last = self
            .read_all("SELECT MAX(rowid) AS n FROM tickets", Vec::new(), |r| {
                r.int("n")
            })
            .await?;
        let middle = last.into_iter().flatten().next().unwrap_or(0) / 2;
        Ok([format!("rowid <= {middle}"), format!("rowid > {middle}")])
    }

    /// One pass over the tickets the filter and `range` select: a tally of [`TICKET_GROUPS`]
    /// groups (minutes to close, to claim, to first response; hour opened; first responder and
    /// minute; rating; claimer and rating; closer when another and rating) and the counts.
    fn tickets_pass(&self, filter: &TicketFilter, range: &str) -> (String, Vec<Bind>) {
        let minute = |e: &str| format!("({e}) / {MICROS_PER_MINUTE}");
        let (cond, binds) = self.tickets_where(filter, range);
        (
            format!(
                "SELECT tally('1 1 1 1 2 1 2 2', \
                   CASE WHEN status = 'closed' THEN {close} END, {claim}, {response}, \
                   created_at / {MICROS_PER_HOUR}, \
                   first_response_by, {response}, \
                   rating, claimed_by, rating, \
                   CASE WHEN closed_by IS NOT claimed_by THEN closed_by END, rating) AS t, \
                 COUNT(*) AS n, SUM(status = 'open') AS o, SUM(status = 'closed') AS c, \
                 SUM(status = 'open' AND claimed_by IS NULL) AS u, \
                 MIN(CASE WHEN status = 'open' AND claimed_by IS NULL THEN created_at END) AS m \
                 FROM tickets WHERE {cond}",
                close = minute(TIME_TO_CLOSE),
                claim = minute(TIME_TO_CLAIM),
                response = minute(TIME_TO_RESPONSE),
            ),
            binds,
        )
    }
}

fn count(k: Option<&str>, x: Option<i64>, n: u64) -> Agg {
    Agg {
        k: k.map(str::to_owned),
        x,
        n,
    }
}
