//! Statistics over tickets and their history, aggregated in the database: counts per status,
//! kind, hour and minute of duration, the independent queries run at once. No row per ticket
//! crosses to Rust: a percentile reads only the durations of the minute that holds its rank.

mod one_pass;
mod ranks;

use std::collections::BTreeMap;

use super::rows::*;
use super::SqlStore;
use crate::error::{StoreError, StoreResult};
use crate::stats::{
    close_bucket, hour_number, hours_before, roll_up_hours, sort_staff, tally, tally_messages,
    Activity, Backlog, DurationSummary, Quantile, TicketStats, CLOSE_BUCKET_HOURS, MICROS_PER_HOUR,
    MICROS_PER_MINUTE,
};
use crate::store::{Backend, StatusCounts, TicketFilter};
use crate::ticket::{EventKind, TicketStatus};
use ranks::{staff_response_minutes, Measure};

/// One row of an aggregate: a text key (status, kind), an integer key (hour, minute, user),
/// and a count. Every statistics query answers in this shape, so that they can run together.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Agg {
    k: Option<String>,
    x: Option<i64>,
    n: u64,
}

fn agg(r: &dyn Cols) -> StoreResult<Agg> {
    Ok(Agg {
        k: text(r, "k")?,
        x: r.int("x")?,
        n: r.int("n")?.unwrap_or(0).max(0) as u64,
    })
}

/// The counts a report is made from, as rows of [`Agg`], however they were computed.
struct Counts {
    /// Closed tickets per minute of time to close.
    close: Vec<Agg>,
    /// Tickets per status.
    by_status: Vec<Agg>,
    /// Tickets per minute of time to claim, and of time to first response.
    claim: Vec<Agg>,
    response: Vec<Agg>,
    /// Tickets per hour of opening; closes (history) per hour.
    opened: Vec<Agg>,
    closed: Vec<Agg>,
    /// History entries per kind, and per kind and staff member.
    kinds: Vec<Agg>,
    staff: Vec<Agg>,
    /// `open` and `unclaimed` (with the oldest opening time) now.
    backlog: Vec<Agg>,
    /// Staff messages per member.
    messages: Vec<Agg>,
    /// Tickets per first responder and minute of time to first response.
    staff_response: Vec<Agg>,
}

const TIME_TO_CLOSE: &str = "closed_at - created_at";
const TIME_TO_CLAIM: &str = "claimed_at - created_at";
const TIME_TO_RESPONSE: &str = "first_response_at - created_at";

impl SqlStore {
    pub(crate) async fn stats(&self, filter: &TicketFilter) -> StoreResult<TicketStats> {
        // A status filter makes each figure select differently (time to close keeps to closed
        // tickets): only the GROUP BY queries say that.
        let (counts, feedback) = match &self.lite {
            Some(_) if filter.status.is_none() => self.counts_in_one_pass(filter).await?,
            _ => futures::try_join!(self.counts_by_group(filter), self.feedback_summary(filter))?,
        };
        let Counts {
            close: close_rows,
            by_status,
            claim: claim_rows,
            response: response_rows,
            opened: opened_rows,
            kinds: kind_rows,
            closed: closed_rows,
            staff: staff_rows,
            backlog: backlog_rows,
            messages: message_rows,
            staff_response: staff_response_rows,
        } = counts;

        let mut counts = StatusCounts::default();
        for a in by_status {
            match a.k.as_deref().map(str::parse::<TicketStatus>) {
                Some(Ok(TicketStatus::Open)) => counts.open += a.n,
                Some(Ok(TicketStatus::Closed)) => counts.closed += a.n,
                _ => return Err(StoreError::corrupt("tickets.status", format!("{:?}", a.k))),
            }
        }
        // `(x, count)` pairs, ascending (minutes, hours).
        let keyed = |rows: Vec<Agg>| {
            let mut m: Vec<(i64, u64)> = rows
                .into_iter()
                .filter_map(|a| a.x.map(|x| (x, a.n)))
                .collect();
            m.sort_unstable();
            m
        };
        let close_minutes = keyed(close_rows);
        let claim_minutes = keyed(claim_rows);
        let response_minutes = keyed(response_rows);

        let mut activity = Activity::default();
        for a in kind_rows {
            match a.k.as_deref() {
                Some("opened") => activity.opened += a.n,
                Some("closed" | "force_closed") => activity.closed += a.n,
                Some("reopened") => activity.reopened += a.n,
                _ => activity.archived += a.n,
            }
        }
        let (per_day, busiest_hours) = roll_up_hours(&keyed(opened_rows), &keyed(closed_rows));

        let mut staff = Vec::new();
        for a in staff_rows {
            let user = id_from_sql(a.x.unwrap_or(0));
            if let Some(Ok(kind)) = a.k.as_deref().map(str::parse::<EventKind>) {
                tally(&mut staff, user, kind, a.n);
            }
        }
        for a in message_rows {
            tally_messages(&mut staff, id_from_sql(a.x.unwrap_or(0)), a.n);
        }

        // Every median and p90 wanted, with the minute that holds it: one more query reads
        // the durations of those minutes only.
        let mut wanted = Vec::new();
        for (measure, minutes) in [
            (Measure::Claim, &claim_minutes),
            (Measure::Response, &response_minutes),
            (Measure::Close, &close_minutes),
        ] {
            wanted.extend(ranks::wanted(measure, None, minutes));
        }
        for (by, minutes) in staff_response_minutes(staff_response_rows) {
            wanted.extend(
                ranks::wanted(Measure::Response, Some(by), &minutes)
                    .filter(|w| w.quantile == Quantile::Median),
            );
        }
        let found = self.exact_ranks(filter, &wanted).await?;
        let summary = |measure: Measure, minutes: &[(i64, u64)]| {
            let at = |q: Quantile| {
                found
                    .iter()
                    .find(|(w, _)| w.measure == measure && w.by.is_none() && w.quantile == q)
                    .map(|&(_, v)| v)
            };
            DurationSummary::from_ranks(
                minutes.iter().map(|m| m.1).sum(),
                at(Quantile::Median),
                at(Quantile::P90),
            )
        };
        for (w, v) in &found {
            if let Some(by) = w.by {
                let user = id_from_sql(by);
                if let Some(row) = staff.iter_mut().find(|s| s.user_id == user) {
                    row.median_response_secs = Some(*v as f64 / 1e6);
                }
            }
        }
        sort_staff(&mut staff);

        Ok(TicketStats {
            counts,
            activity,
            backlog: backlog(backlog_rows)?,
            time_to_claim: summary(Measure::Claim, &claim_minutes),
            time_to_first_response: summary(Measure::Response, &response_minutes),
            time_to_close: summary(Measure::Close, &close_minutes),
            close_times: close_buckets(&close_minutes),
            staff,
            per_day,
            busiest_hours,
            feedback,
        })
    }

    /// The counts, one GROUP BY query each, all at once.
    async fn counts_by_group(&self, filter: &TicketFilter) -> StoreResult<Counts> {
        // MariaDB sorts a GROUP BY's groups unless told not to; the order is not needed.
        let unordered = match self.dialect.backend {
            Backend::Mysql => " ORDER BY NULL",
            _ => "",
        };
        // A guild's tickets per status and hour, its history and its responses per responder
        // are counted from indexes that lead with the guild or the duration (a tenth of the
        // rows, grouped in a temporary table): those do not hold the generated columns, which
        // MariaDB would then compute from each row.
        let by_column = filter.guild_id.is_none();
        // The filter's period as a range of MySQL's hour column `col` too, which its index
        // (`ticket_events_kind_hour`, `tickets_status_hour`) then reads as a range: the times
        // alone lead no index beside the kind or the status (a week's report read every
        // history entry of each kind).
        let in_hours = |col: &str, (mut cond, mut binds): (String, Vec<Bind>)| {
            if self.dialect.backend == Backend::Mysql && by_column {
                for (t, op) in [(filter.since, ">="), (filter.until, "<=")] {
                    if let Some(t) = t {
                        cond.push_str(&format!(" AND {col} {op} ?"));
                        // `/` truncates as MySQL's DIV does: the bounds are implied by the times'.
                        binds.push(Bind::Int(Some(time_to_sql(t) / MICROS_PER_HOUR)));
                    }
                }
            }
            (cond, binds)
        };
        // History entries of `kinds` in the filter's guild and period.
        let history = |kinds: Option<&str>| in_hours("at_hour", events_where(filter, kinds));
        // Per minute of a measure, over the tickets that count for it.
        let per_minute = |measure: Measure, key: &str, group: &str| {
            let (_, counts) = self.duration_of(measure);
            let minute = self.minute_of(measure, by_column || measure != Measure::Response);
            let (cond, binds) = self.tickets_where(&measure.filter(filter), counts);
            (
                format!(
                    "SELECT {key} AS k, {minute} AS x, COUNT(*) AS n FROM tickets \
                     WHERE {cond} GROUP BY {group}x{unordered}"
                ),
                binds,
            )
        };
        let mut jobs = vec![
            // Longest first: the jobs are handed to the threads in this order.
            per_minute(Measure::Close, "NULL", ""),
            // Time to first response per minute is the sum of these over the responders.
            per_minute(
                Measure::Response,
                &self.as_text("first_response_by"),
                "first_response_by, ",
            ),
            {
                // Tickets per status and hour of opening: both figures from one scan.
                let (cond, binds) = in_hours("created_hour", self.tickets_where(filter, "1 = 1"));
                (
                    format!(
                        "SELECT status AS k, {} AS x, COUNT(*) AS n FROM tickets \
                         WHERE {cond} GROUP BY status, x{unordered}",
                        self.hour_of("created_at", "created_hour", by_column)
                    ),
                    binds,
                )
            },
            per_minute(Measure::Claim, "NULL", ""),
            {
                // Closes per kind and hour (the count per kind is their sum).
                let (cond, binds) = history(Some("('closed', 'force_closed')"));
                (
                    format!(
                        "SELECT kind AS k, {} AS x, COUNT(*) AS n FROM ticket_events \
                         WHERE {cond} GROUP BY kind, x{unordered}",
                        self.hour_of("at", "at_hour", by_column)
                    ),
                    binds,
                )
            },
            {
                let (cond, binds) = history(Some("('opened', 'reopened', 'archived')"));
                (
                    format!(
                        "SELECT kind AS k, NULL AS x, COUNT(*) AS n FROM ticket_events \
                         WHERE {cond} GROUP BY kind{unordered}"
                    ),
                    binds,
                )
            },
            self.backlog_query(filter),
            self.staff_messages_query(filter),
        ];
        // Per staff member, one kind a query: MariaDB counts three index ranges apart faster
        // than one IN over them, and the jobs share the cores more evenly.
        for kind in ["closed", "first_response", "claimed"] {
            let (cond, binds) = history(Some(&format!("('{kind}')")));
            jobs.push((
                format!(
                    "SELECT kind AS k, actor_id AS x, COUNT(*) AS n FROM ticket_events \
                     WHERE {cond} AND actor_id IS NOT NULL GROUP BY kind, actor_id{unordered}"
                ),
                binds,
            ));
        }
        let mut results = self.read_all_many(jobs, agg).await?.into_iter();
        let mut next = || results.next().unwrap_or_default();
        let (close, staff_response, per_status_and_hour) = (next(), next(), next());
        let (claim, closes, other_kinds) = (next(), next(), next());
        let (backlog, messages) = (next(), next());
        let staff: Vec<Agg> = (0..3).flat_map(|_| next()).collect();
        let mut by_status: BTreeMap<Option<String>, u64> = BTreeMap::new();
        for a in &per_status_and_hour {
            *by_status.entry(a.k.clone()).or_default() += a.n;
        }
        Ok(Counts {
            close,
            // Time to first response per minute: the sum over the responders.
            response: sum_by_x(&staff_response),
            staff_response,
            by_status: by_status
                .into_iter()
                .map(|(k, n)| Agg { k, x: None, n })
                .collect(),
            claim,
            opened: sum_by_x(&per_status_and_hour),
            closed: sum_by_x(&closes),
            // The activity sums each kind's rows.
            kinds: closes.into_iter().chain(other_kinds).collect(),
            staff,
            backlog,
            messages,
        })
    }

    /// A measure's duration (microseconds) in SQL, and the condition that a ticket counts
    /// for it. MySQL has the durations as indexed generated columns (`close_us` is NULL
    /// unless the ticket is closed).
    fn duration_of(&self, measure: Measure) -> (&'static str, &'static str) {
        match (self.dialect.backend, measure) {
            // As a range of the minute's index (`tickets_close_min`), which holds the guild
            // and the opening time: a guild's or a period's count reads that index alone.
            (Backend::Mysql, Measure::Close) => ("close_us", "close_min IS NOT NULL"),
            (Backend::Mysql, Measure::Claim) => ("claim_us", "claim_min IS NOT NULL"),
            (Backend::Mysql, Measure::Response) => ("response_us", "response_us IS NOT NULL"),
            (_, Measure::Close) => (TIME_TO_CLOSE, "status = 'closed' AND closed_at IS NOT NULL"),
            (_, Measure::Claim) => (TIME_TO_CLAIM, "claimed_at IS NOT NULL"),
            (_, Measure::Response) => (TIME_TO_RESPONSE, "first_response_at IS NOT NULL"),
        }
    }

    /// A measure's whole minutes in SQL. On MySQL, with `column`, an indexed generated
    /// column, so that counting per minute walks its index in order instead of filling a
    /// temporary table.
    fn minute_of(&self, measure: Measure, column: bool) -> String {
        match (self.dialect.backend, measure) {
            (Backend::Mysql, Measure::Close) if column => "close_min".to_owned(),
            (Backend::Mysql, Measure::Claim) if column => "claim_min".to_owned(),
            (Backend::Mysql, Measure::Response) if column => "response_min".to_owned(),
            _ => self.div(self.duration_of(measure).0, MICROS_PER_MINUTE),
        }
    }

    /// The whole hours of the time `col` in SQL; with `column`, MySQL's indexed generated
    /// column `mysql_col` (see [`Self::minute_of`]).
    fn hour_of(&self, col: &str, mysql_col: &str, column: bool) -> String {
        match self.dialect.backend {
            Backend::Mysql if column => mysql_col.to_owned(),
            _ => self.div(col, MICROS_PER_HOUR),
        }
    }

    /// Messages by staff per member in the filter's guild and period (to the hour).
    fn staff_messages_query(&self, filter: &TicketFilter) -> (String, Vec<Bind>) {
        // MySQL sums to DECIMAL: back to an integer.
        let sum = match self.dialect.backend {
            Backend::Mysql => "CAST(SUM(n) AS SIGNED)",
            _ => "SUM(n)",
        };
        let mut cond = String::from("1 = 1");
        let mut binds = Vec::new();
        if let Some(g) = filter.guild_id {
            cond.push_str(" AND guild_id = ?");
            binds.push(Bind::Int(Some(id_to_sql(g))));
        }
        if let Some(t) = filter.since {
            cond.push_str(" AND hour >= ?");
            binds.push(Bind::Int(Some(hour_number(t))));
        }
        if let Some(t) = filter.until {
            cond.push_str(" AND hour < ?");
            binds.push(Bind::Int(Some(hours_before(t))));
        }
        (
            format!(
                "SELECT NULL AS k, user_id AS x, {sum} AS n FROM staff_messages WHERE {cond} GROUP BY user_id"
            ),
            binds,
        )
    }

    /// An integer column as text (for the text key of an [`Agg`]).
    fn as_text(&self, col: &str) -> String {
        match self.dialect.backend {
            Backend::Mysql => format!("CAST({col} AS CHAR)"),
            _ => format!("CAST({col} AS TEXT)"),
        }
    }

    /// `expr / by` in integers (both dialects truncate towards zero).
    fn div(&self, expr: &str, by: i64) -> String {
        match self.dialect.backend {
            Backend::Mysql => format!("({expr}) DIV {by}"),
            _ => format!("({expr}) / {by}"),
        }
    }

    /// The WHERE condition (without the keyword) of the tickets the filter selects, and `cond`.
    fn tickets_where(&self, filter: &TicketFilter, cond: &str) -> (String, Vec<Bind>) {
        let mut sql = String::new();
        let mut binds = Vec::new();
        Self::filter_sql(filter, &mut sql, &mut binds);
        let cond = match sql.strip_prefix(" WHERE ") {
            Some(rest) => format!("{rest} AND {cond}"),
            None => cond.to_owned(),
        };
        (cond, binds)
    }

    /// The open tickets now (of the filter's guild): two rows, `open` and `unclaimed` (with
    /// the oldest opening time as `x`).
    fn backlog_query(&self, filter: &TicketFilter) -> (String, Vec<Bind>) {
        let mut binds = Vec::new();
        let mut guild = String::new();
        if let Some(g) = filter.guild_id {
            guild.push_str(" AND guild_id = ?");
            binds.push(Bind::Int(Some(id_to_sql(g))));
            binds.push(Bind::Int(Some(id_to_sql(g))));
        }
        (
            format!(
                "SELECT 'open' AS k, NULL AS x, COUNT(*) AS n FROM tickets \
                 WHERE status = 'open'{guild} \
                 UNION ALL SELECT 'unclaimed' AS k, MIN(created_at) AS x, COUNT(*) AS n \
                 FROM tickets WHERE status = 'open' AND claimed_by IS NULL{guild}"
            ),
            binds,
        )
    }
}

fn backlog(rows: Vec<Agg>) -> StoreResult<Backlog> {
    let mut b = Backlog::default();
    for a in rows {
        match a.k.as_deref() {
            Some("open") => b.open = a.n,
            _ => {
                b.unclaimed = a.n;
                b.oldest_unclaimed_at = a.x.map(|t| time_from_sql(t, "backlog")).transpose()?;
            }
        }
    }
    Ok(b)
}

/// The counts of `rows` summed per `x` (rows without one left out), ascending.
fn sum_by_x(rows: &[Agg]) -> Vec<Agg> {
    let mut sums: BTreeMap<i64, u64> = BTreeMap::new();
    for a in rows {
        if let Some(x) = a.x {
            *sums.entry(x).or_default() += a.n;
        }
    }
    sums.into_iter()
        .map(|(x, n)| Agg {
            k: None,
            x: Some(x),
            n,
        })
        .collect()
}

/// Closed tickets per bucket of [`CLOSE_BUCKET_HOURS`], from the counts per minute (the bounds
/// are whole hours, so this is exact).
fn close_buckets(minutes: &[(i64, u64)]) -> [u64; CLOSE_BUCKET_HOURS.len() + 1] {
    let mut out = [0; CLOSE_BUCKET_HOURS.len() + 1];
    for &(m, n) in minutes {
        out[close_bucket(m.saturating_mul(MICROS_PER_MINUTE))] += n;
    }
    out
}

/// History entries (of `kinds`, an SQL list, when given) in the filter's guild and period.
fn events_where(filter: &TicketFilter, kinds: Option<&str>) -> (String, Vec<Bind>) {
    let mut cond = match kinds {
        Some(kinds) => format!("kind IN {kinds}"),
        None => "1 = 1".to_owned(),
    };
    let mut binds = Vec::new();
    if let Some(g) = filter.guild_id {
        cond.push_str(" AND guild_id = ?");
        binds.push(Bind::Int(Some(id_to_sql(g))));
    }
    if let Some(t) = filter.since {
        cond.push_str(" AND at >= ?");
        binds.push(Bind::Int(Some(time_to_sql(t))));
    }
    if let Some(t) = filter.until {
        cond.push_str(" AND at < ?");
        binds.push(Bind::Int(Some(time_to_sql(t))));
    }
    (cond, binds)
}

#[cfg(test)]
mod tests;
