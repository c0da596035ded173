//! Statistics over tickets and their history, aggregated in the database: counts per status,
//! kind, hour and minute of duration, the independent queries run at once. No row per ticket
//! crosses to Rust: a percentile reads only the durations of the minute that holds its rank.

use super::rows::*;
use super::SqlStore;
use crate::error::{StoreError, StoreResult};
use crate::stats::{
    close_bucket, hour_number, hours_before, minute_range, rank_in_minutes, roll_up_hours,
    sort_staff, tally, tally_messages, Activity, Backlog, DurationSummary, Quantile, StaffActivity,
    TicketStats, CLOSE_BUCKET_HOURS, MICROS_PER_HOUR, MICROS_PER_MINUTE,
};
use crate::store::{Backend, StatusCounts, TicketFilter};
use crate::ticket::{EventKind, TicketStatus};

/// One row of an aggregate: a text key (status, kind), an integer key (hour, minute, user),
/// and a count. Every statistics query answers in this shape, so that they can run together.
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

const TIME_TO_CLOSE: &str = "closed_at - created_at";
const TIME_TO_CLAIM: &str = "claimed_at - created_at";
const TIME_TO_RESPONSE: &str = "first_response_at - created_at";

impl SqlStore {
    pub(crate) async fn stats(&self, filter: &TicketFilter) -> StoreResult<TicketStats> {
        let claimed = self.tickets_where(filter, "claimed_at IS NOT NULL");
        let answered = self.tickets_where(filter, "first_response_at IS NOT NULL");
        let closed_filter = TicketFilter {
            status: Some(TicketStatus::Closed),
            ..filter.clone()
        };
        let minute = |e: &str| self.div(e, MICROS_PER_MINUTE);
        let hour = |e: &str| self.div(e, MICROS_PER_HOUR);
        let jobs = vec![
            // Longest first: the jobs are handed to the threads in this order.
            {
                let (cond, binds) = self.tickets_where(&closed_filter, "closed_at IS NOT NULL");
                (
                    format!(
                        "SELECT 'closed' AS k, {} AS x, COUNT(*) AS n FROM tickets \
                         WHERE {cond} GROUP BY x",
                        minute(TIME_TO_CLOSE)
                    ),
                    binds,
                )
            },
            {
                let (cond, binds) = self.tickets_where(filter, "1 = 1");
                (
                    format!(
                        "SELECT status AS k, NULL AS x, COUNT(*) AS n FROM tickets \
                         WHERE {cond} GROUP BY status"
                    ),
                    binds,
                )
            },
            (
                format!(
                    "SELECT NULL AS k, {} AS x, COUNT(*) AS n FROM tickets WHERE {} GROUP BY x",
                    minute(TIME_TO_CLAIM),
                    claimed.0
                ),
                claimed.1.clone(),
            ),
            (
                format!(
                    "SELECT NULL AS k, {} AS x, COUNT(*) AS n FROM tickets WHERE {} GROUP BY x",
                    minute(TIME_TO_RESPONSE),
                    answered.0
                ),
                answered.1.clone(),
            ),
            {
                let (cond, binds) = self.tickets_where(filter, "1 = 1");
                (
                    format!(
                        "SELECT NULL AS k, {} AS x, COUNT(*) AS n FROM tickets WHERE {cond} GROUP BY x",
                        hour("created_at")
                    ),
                    binds,
                )
            },
            {
                let (cond, binds) = events_where(
                    filter,
                    "('opened', 'closed', 'force_closed', 'reopened', 'archived')",
                );
                (
                    format!(
                        "SELECT kind AS k, NULL AS x, COUNT(*) AS n FROM ticket_events \
                         WHERE {cond} GROUP BY kind"
                    ),
                    binds,
                )
            },
            {
                let (cond, binds) = events_where(filter, "('closed', 'force_closed')");
                (
                    format!(
                        "SELECT NULL AS k, {} AS x, COUNT(*) AS n FROM ticket_events \
                         WHERE {cond} GROUP BY x",
                        hour("at")
                    ),
                    binds,
                )
            },
            {
                // In the order of `ticket_events_kind_actor_at`: the groups come off the index.
                let (cond, binds) = events_where(filter, "('claimed', 'closed', 'first_response')");
                (
                    format!(
                        "SELECT kind AS k, actor_id AS x, COUNT(*) AS n FROM ticket_events \
                         WHERE {cond} AND actor_id IS NOT NULL GROUP BY kind, actor_id"
                    ),
                    binds,
                )
            },
            self.backlog_query(filter),
            self.staff_messages_query(filter),
            (
                format!(
                    "SELECT {} AS k, {} AS x, COUNT(*) AS n FROM tickets WHERE {} \
                     GROUP BY first_response_by, x",
                    self.as_text("first_response_by"),
                    minute(TIME_TO_RESPONSE),
                    answered.0
                ),
                answered.1.clone(),
            ),
        ];
        let mut results = self.read_all_many(jobs, agg).await?.into_iter();
        let mut next = || results.next().unwrap_or_default();
        let (close_rows, by_status) = (next(), next());
        let (claim_rows, response_rows, opened_rows) = (next(), next(), next());
        let (kind_rows, closed_rows, staff_rows, backlog_rows) = (next(), next(), next(), next());
        let (message_rows, staff_response_rows) = (next(), next());

        let mut counts = StatusCounts::default();
        for a in by_status {
            match a.k.as_deref().map(str::parse::<TicketStatus>) {
                Some(Ok(TicketStatus::Open)) => counts.open += a.n,
                Some(Ok(TicketStatus::Closed)) => counts.closed += a.n,
                _ => return Err(StoreError::corrupt("tickets.status", format!("{:?}", a.k))),
            }
        }
        let mut close_minutes: Vec<(i64, u64)> = close_rows
            .into_iter()
            .filter_map(|a| a.x.map(|m| (m, a.n)))
            .collect();
        close_minutes.sort_unstable();
        let minutes = |rows: Vec<Agg>| {
            let mut m: Vec<(i64, u64)> = rows
                .into_iter()
                .filter_map(|a| a.x.map(|m| (m, a.n)))
                .collect();
            m.sort_unstable();
            m
        };
        let claim_minutes = minutes(claim_rows);
        let response_minutes = minutes(response_rows);

        let mut activity = Activity::default();
        for a in kind_rows {
            match a.k.as_deref() {
                Some("opened") => activity.opened += a.n,
                Some("closed" | "force_closed") => activity.closed += a.n,
                Some("reopened") => activity.reopened += a.n,
                _ => activity.archived += a.n,
            }
        }
        let hours = |rows: Vec<Agg>| -> Vec<(i64, u64)> {
            rows.into_iter()
                .filter_map(|a| a.x.map(|h| (h, a.n)))
                .collect()
        };
        let (per_day, busiest_hours) = roll_up_hours(&hours(opened_rows), &hours(closed_rows));

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
        self.staff_medians(&mut staff, answered.clone(), staff_response_rows)
            .await?;
        sort_staff(&mut staff);

        let close = self.tickets_where(&closed_filter, "closed_at IS NOT NULL");
        let (time_to_claim, time_to_first_response, time_to_close) = futures::try_join!(
            self.summary(claimed, TIME_TO_CLAIM, &claim_minutes),
            self.summary(answered, TIME_TO_RESPONSE, &response_minutes),
            self.summary(close, TIME_TO_CLOSE, &close_minutes),
        )?;

        Ok(TicketStats {
            counts,
            activity,
            backlog: backlog(backlog_rows)?,
            time_to_claim,
            time_to_first_response,
            time_to_close,
            close_times: close_buckets(&close_minutes),
            staff,
            per_day,
            busiest_hours,
        })
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

    /// Each staff member's median time to first response over the tickets they answered
    /// first, exactly: their counts per minute say which minute holds the median, and one
    /// query reads the durations of those minutes only.
    async fn staff_medians(
        &self,
        staff: &mut [StaffActivity],
        (mut cond, mut binds): (String, Vec<Bind>),
        rows: Vec<Agg>,
    ) -> StoreResult<()> {
        let mut minutes: std::collections::BTreeMap<i64, Vec<(i64, u64)>> = Default::default();
        for a in rows {
            let (Some(by), Some(m)) = (a.k.as_deref().and_then(|k| k.parse().ok()), a.x) else {
                continue;
            };
            minutes.entry(by).or_default().push((m, a.n));
        }
        let mut wanted = Vec::new();
        for (&by, m) in minutes.iter_mut() {
            m.sort_unstable();
            let count = m.iter().map(|x| x.1).sum();
            let Some(rank) = Quantile::Median.rank(count) else {
                continue;
            };
            if let Some((minute, offset)) = rank_in_minutes(m, rank) {
                wanted.push((by, minute, offset));
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let ranges: Vec<String> = wanted
            .iter()
            .map(|&(by, minute, _)| {
                let (low, high) = minute_range(minute);
                binds.extend([
                    Bind::Int(Some(by)),
                    Bind::Int(Some(low)),
                    Bind::Int(Some(high)),
                ]);
                format!(
                    "(first_response_by = ? AND {TIME_TO_RESPONSE} > ? AND {TIME_TO_RESPONSE} < ?)"
                )
            })
            .collect();
        cond.push_str(&format!(" AND ({})", ranges.join(" OR ")));
        let sql = format!(
            "SELECT {} AS k, {TIME_TO_RESPONSE} AS x, 1 AS n FROM tickets WHERE {cond}",
            self.as_text("first_response_by")
        );
        let mut values: Vec<(i64, i64)> = self
            .read_all(&sql, binds, agg)
            .await?
            .into_iter()
            .filter_map(|a| Some((a.k.as_deref()?.parse().ok()?, a.x?)))
            .collect();
        values.sort_unstable();
        for (by, minute, offset) in wanted {
            let (low, high) = minute_range(minute);
            let median = values
                .iter()
                .filter(|&&(b, d)| b == by && d > low && d < high)
                .nth(offset as usize)
                .map(|&(_, d)| d as f64 / 1e6);
            let user = id_from_sql(by);
            if let Some(row) = staff.iter_mut().find(|s| s.user_id == user) {
                row.median_response_secs = median;
            }
        }
        Ok(())
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

    /// Count, median and p90 of `expr` by nearest rank, exactly: the counts per minute say
    /// which minute holds each rank, and only the durations of those (at most two) minutes are
    /// read.
    async fn summary(
        &self,
        (mut cond, mut binds): (String, Vec<Bind>),
        expr: &str,
        minutes: &[(i64, u64)],
    ) -> StoreResult<DurationSummary> {
        let count: u64 = minutes.iter().map(|m| m.1).sum();
        let wanted: Vec<(Quantile, i64, u64)> = [Quantile::Median, Quantile::P90]
            .into_iter()
            .filter_map(|q| {
                let (minute, offset) = rank_in_minutes(minutes, q.rank(count)?)?;
                Some((q, minute, offset))
            })
            .collect();
        if wanted.is_empty() {
            return Ok(DurationSummary::from_ranks(count, None, None));
        }
        let ranges: Vec<String> = wanted
            .iter()
            .map(|&(_, minute, _)| {
                let (low, high) = minute_range(minute);
                binds.push(Bind::Int(Some(low)));
                binds.push(Bind::Int(Some(high)));
                format!("({expr} > ? AND {expr} < ?)")
            })
            .collect();
        cond.push_str(&format!(" AND ({})", ranges.join(" OR ")));
        let sql = format!("SELECT {expr} AS d FROM tickets WHERE {cond}");
        let mut values = self
            .read_all(&sql, binds, |r| Ok(r.int("d")?.unwrap_or(0)))
            .await?;
        values.sort_unstable();
        let at = |q: Quantile| {
            let &(_, minute, offset) = wanted.iter().find(|w| w.0 == q)?;
            let (low, high) = minute_range(minute);
            values
                .iter()
                .filter(|&&v| v > low && v < high)
                .nth(offset as usize)
                .copied()
        };
        Ok(DurationSummary::from_ranks(
            count,
            at(Quantile::Median),
            at(Quantile::P90),
        ))
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

/// Closed tickets per bucket of [`CLOSE_BUCKET_HOURS`], from the counts per minute (the bounds
/// are whole hours, so this is exact).
fn close_buckets(minutes: &[(i64, u64)]) -> [u64; CLOSE_BUCKET_HOURS.len() + 1] {
    let mut out = [0; CLOSE_BUCKET_HOURS.len() + 1];
    for &(m, n) in minutes {
        out[close_bucket(m.saturating_mul(MICROS_PER_MINUTE))] += n;
    }
    out
}

/// History entries of `kinds` (an SQL list) in the filter's guild and period.
fn events_where(filter: &TicketFilter, kinds: &str) -> (String, Vec<Bind>) {
    let mut cond = format!("kind IN {kinds}");
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
