//! Exact medians and p90s from counts per minute: the counts say which minute holds each
//! rank and where in it, and one query reads the durations of those minutes only (a few
//! hundred rows of a million), for every figure of the report at once.

use std::collections::BTreeMap;

use super::{Agg, SqlStore, TIME_TO_CLAIM, TIME_TO_CLOSE, TIME_TO_RESPONSE};
use crate::error::StoreResult;
use crate::stats::{minute_range, rank_in_minutes, Quantile, MICROS_PER_MINUTE};
use crate::store::sql::rows::{text, Bind, Cols};
use crate::store::{Backend, TicketFilter};
use crate::ticket::TicketStatus;

/// A duration the report gives quantiles of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Measure {
    Claim,
    Response,
    Close,
}

impl Measure {
    /// The tickets of `filter` this measure is taken over: time to close keeps to closed
    /// tickets, whatever the filter's status (the measure's condition says closed).
    pub(super) fn filter(self, filter: &TicketFilter) -> TicketFilter {
        match self {
            Measure::Close => TicketFilter {
                status: None,
                ..filter.clone()
            },
            _ => filter.clone(),
        }
    }
}

/// One quantile to read: of `measure` (of the tickets `by` answered first, when given), the
/// `offset`-th smallest duration in `minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Wanted {
    pub(super) measure: Measure,
    pub(super) by: Option<i64>,
    pub(super) quantile: Quantile,
    minute: i64,
    offset: u64,
    /// How many durations the minute holds.
    size: u64,
}

/// On SQLite, a minute holding more durations than this has its quantile picked by the
/// database (a scan and a sort of the minute's rows) rather than read whole. MySQL always picks:
/// each pick is a walk along the duration's index.
const SQLITE_READ_WHOLE: u64 = 50_000;

/// The median and p90 of durations counted per minute (`(minute, count)`, ascending), as
/// [`Wanted`]s.
pub(super) fn wanted(
    measure: Measure,
    by: Option<i64>,
    minutes: &[(i64, u64)],
) -> impl Iterator<Item = Wanted> + '_ {
    let count: u64 = minutes.iter().map(|m| m.1).sum();
    [Quantile::Median, Quantile::P90]
        .into_iter()
        .filter_map(move |quantile| {
            let (minute, offset) = rank_in_minutes(minutes, quantile.rank(count)?)?;
            let size = minutes.iter().find(|m| m.0 == minute).map_or(0, |m| m.1);
            Some(Wanted {
                measure,
                by,
                quantile,
                minute,
                offset,
                size,
            })
        })
}

/// Each first responder's durations counted per minute, ascending, from rows keyed by the
/// responder (as text) and the minute.
pub(super) fn staff_response_minutes(rows: Vec<Agg>) -> BTreeMap<i64, Vec<(i64, u64)>> {
    let mut minutes: BTreeMap<i64, Vec<(i64, u64)>> = BTreeMap::new();
    for a in rows {
        if let (Some(by), Some(m)) = (a.k.as_deref().and_then(|k| k.parse().ok()), a.x) {
            minutes.entry(by).or_default().push((m, a.n));
        }
    }
    for m in minutes.values_mut() {
        m.sort_unstable();
    }
    minutes
}

/// One ticket's durations (microseconds), as read for [`SqlStore::exact_ranks`].
struct Durations {
    status: Option<String>,
    close: Option<i64>,
    claim: Option<i64>,
    response: Option<i64>,
    by: Option<i64>,
}

impl Durations {
    /// This ticket's value of `w`'s measure, when the ticket counts for it.
    fn value(&self, w: &Wanted, status: Option<TicketStatus>) -> Option<i64> {
        let status_is = |s: TicketStatus| self.status.as_deref() == Some(s.as_str());
        let value = match w.measure {
            // Time to close keeps to closed tickets, whatever the filter's status.
            Measure::Close => self.close.filter(|_| status_is(TicketStatus::Closed))?,
            Measure::Claim => self.claim?,
            Measure::Response => self
                .response
                .filter(|_| w.by.is_none() || self.by == w.by)?,
        };
        if w.measure != Measure::Close && status.is_some_and(|s| !status_is(s)) {
            return None;
        }
        (value / MICROS_PER_MINUTE == w.minute).then_some(value)
    }
}

impl SqlStore {
    /// The value of each of `wanted` among the tickets `filter` selects: those in small
    /// minutes read together in one query, each in a large minute picked by its own.
    pub(super) async fn exact_ranks(
        &self,
        filter: &TicketFilter,
        wanted: &[Wanted],
    ) -> StoreResult<Vec<(Wanted, i64)>> {
        let read_whole = match self.dialect.backend {
            Backend::Mysql => 0,
            _ => SQLITE_READ_WHOLE,
        };
        let (small, large): (Vec<Wanted>, Vec<Wanted>) =
            wanted.iter().partition(|w| w.size <= read_whole);
        let mut found = self.read_minutes(filter, &small).await?;
        let picked = futures::future::try_join_all(large.iter().map(|w| self.pick(filter, w)));
        for (w, v) in large.iter().zip(picked.await?) {
            if let Some(v) = v {
                found.push((*w, v));
            }
        }
        Ok(found)
    }

    /// `w`'s value, chosen by the database among its minute's durations (on MySQL, a walk
    /// along the duration's index).
    async fn pick(&self, filter: &TicketFilter, w: &Wanted) -> StoreResult<Option<i64>> {
        let (duration, counts) = self.duration_of(w.measure);
        let (mut cond, mut binds) = self.tickets_where(&w.measure.filter(filter), counts);
        let (low, high) = minute_range(w.minute);
        cond.push_str(&format!(" AND {duration} > ? AND {duration} < ?"));
        binds.extend([Bind::Int(Some(low)), Bind::Int(Some(high))]);
        if let Some(by) = w.by {
            cond.push_str(" AND first_response_by = ?");
            binds.push(Bind::Int(Some(by)));
        }
        let sql = format!(
            "SELECT {duration} AS d FROM tickets WHERE {cond} ORDER BY {duration} LIMIT 1 OFFSET {}",
            w.offset
        );
        let values = self.read_all(&sql, binds, |r| r.int("d")).await?;
        Ok(values.into_iter().next().flatten())
    }

    /// The values of `wanted`, reading every duration of their minutes in one query.
    async fn read_minutes(
        &self,
        filter: &TicketFilter,
        wanted: &[Wanted],
    ) -> StoreResult<Vec<(Wanted, i64)>> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        // The filter's status applies per measure (not to time to close): see `value`.
        let (mut cond, mut binds) = self.tickets_where(
            &TicketFilter {
                status: None,
                ..filter.clone()
            },
            "1 = 1",
        );
        let status = filter.status;
        let mut branches = Vec::new();
        for measure in [Measure::Close, Measure::Claim, Measure::Response] {
            let mut minutes: Vec<i64> = wanted
                .iter()
                .filter(|w| w.measure == measure)
                .map(|w| w.minute)
                .collect();
            minutes.sort_unstable();
            minutes.dedup();
            if minutes.is_empty() {
                continue;
            }
            let (duration, counts) = self.duration_of(measure);
            // Ranges, not the minute: they walk MySQL's index of the duration.
            let ranges: Vec<String> = minutes
                .into_iter()
                .map(|m| {
                    let (low, high) = minute_range(m);
                    binds.extend([Bind::Int(Some(low)), Bind::Int(Some(high))]);
                    format!("({duration} > ? AND {duration} < ?)")
                })
                .collect();
            let mut branch = format!("{counts} AND ({})", ranges.join(" OR "));
            if let Some(s) = status.filter(|_| measure != Measure::Close) {
                branch.push_str(" AND status = ?");
                binds.push(Bind::Text(Some(s.as_str().into())));
            }
            branches.push(format!("({branch})"));
        }
        cond.push_str(&format!(" AND ({})", branches.join(" OR ")));
        let sql = format!(
            "SELECT status AS s, {TIME_TO_CLOSE} AS c, {TIME_TO_CLAIM} AS l, \
             {TIME_TO_RESPONSE} AS r, first_response_by AS b FROM tickets WHERE {cond}"
        );
        let rows = self
            .read_all(&sql, binds, |r: &dyn Cols| {
                Ok(Durations {
                    status: text(r, "s")?,
                    close: r.int("c")?,
                    claim: r.int("l")?,
                    response: r.int("r")?,
                    by: r.int("b")?,
                })
            })
            .await?;
        let mut found = Vec::with_capacity(wanted.len());
        for w in wanted {
            let mut values: Vec<i64> = rows.iter().filter_map(|d| d.value(w, status)).collect();
            values.sort_unstable();
            if let Some(&v) = values.get(w.offset as usize) {
                found.push((*w, v));
            }
        }
        Ok(found)
    }
}
