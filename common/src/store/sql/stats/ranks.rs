//! Exact medians and p90s from counts per minute: the counts say which minute holds each
//! rank and where in it. On SQLite one more pass (in two halves, one per core) counts the
//! distinct durations of those minutes only, for every figure of the report at once; MySQL
//! walks each duration's index to its rank.

use std::collections::BTreeMap;

use super::{Agg, SqlStore};
use crate::error::StoreResult;
use crate::stats::{minute_range, rank_in_minutes, Quantile, MICROS_PER_MINUTE};
use crate::store::sql::lite::tally;
use crate::store::sql::rows::{text, Bind};
use crate::store::{Backend, TicketFilter};

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
}

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
            Some(Wanted {
                measure,
                by,
                quantile,
                minute,
                offset,
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

impl SqlStore {
    /// The value of each of `wanted` among the tickets `filter` selects.
    pub(super) async fn exact_ranks(
        &self,
        filter: &TicketFilter,
        wanted: &[Wanted],
    ) -> StoreResult<Vec<(Wanted, i64)>> {
        if self.lite.is_some() {
            return self.tallied_ranks(filter, wanted).await;
        }
        let picked = futures::future::try_join_all(wanted.iter().map(|w| self.pick(filter, w)));
        Ok(wanted
            .iter()
            .zip(picked.await?)
            .filter_map(|(w, v)| Some((*w, v?)))
            .collect())
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
        // MySQL's minute indexes lead with the minute: naming it makes the minute one range,
        // read in order (see `minute_of`).
        if self.dialect.backend == Backend::Mysql
            && (w.measure != Measure::Response || w.by.is_some())
        {
            cond.push_str(&format!(" AND {} = ?", self.minute_of(w.measure, true)));
            binds.push(Bind::Int(Some(w.minute)));
        }
        let sql = format!(
            "SELECT {duration} AS d FROM tickets WHERE {cond} ORDER BY {duration} LIMIT 1 OFFSET {}",
            w.offset
        );
        let values = self.read_all(&sql, binds, |r| r.int("d")).await?;
        Ok(values.into_iter().next().flatten())
    }

    /// SQLite: the values of `wanted` from one pass over the tickets, in two halves run at
    /// once: a `tally` of the distinct durations in the wanted minutes (one group per measure,
    /// one of responder and duration), ranked here. A minute holding half the tickets costs
    /// no more than one holding ten: nothing is sorted, and equal durations count together.
    async fn tallied_ranks(
        &self,
        filter: &TicketFilter,
        wanted: &[Wanted],
    ) -> StoreResult<Vec<(Wanted, i64)>> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let mut key_binds = Vec::new();
        // The ticket counts for `measure` and its duration falls in a minute of the wanted that
        // `pick` selects (and it has the filter's status, where `status` says that holds).
        let mut when = |measure: Measure, pick: &dyn Fn(&Wanted) -> bool, status: bool| {
            let (duration, counts) = self.duration_of(measure);
            let mut minutes: Vec<i64> = wanted
                .iter()
                .filter(|w| w.measure == measure && pick(w))
                .map(|w| w.minute)
                .collect();
            minutes.sort_unstable();
            minutes.dedup();
            let mut when = match minutes.is_empty() {
                true => "0".to_owned(),
                false => format!(
                    "{counts} AND ({duration}) / {MICROS_PER_MINUTE} IN ({})",
                    list(&minutes)
                ),
            };
            if let Some(s) = filter.status.filter(|_| status) {
                when.push_str(" AND status = ?");
                key_binds.push(Bind::Text(Some(s.as_str().into())));
            }
            when
        };
        let mut keys = Vec::new();
        for measure in [Measure::Close, Measure::Claim, Measure::Response] {
            // The filter's status holds for every measure but time to close.
            let when = when(measure, &|w| w.by.is_none(), measure != Measure::Close);
            keys.push(format!(
                "CASE WHEN {when} THEN {} END",
                self.duration_of(measure).0
            ));
        }
        // Per responder: any wanted minute of any responder (one test a row instead of one
        // per responder); each value is kept to its own responder's minute below.
        let when = when(Measure::Response, &|w| w.by.is_some(), true);
        keys.push(format!(
            "CASE WHEN {when} THEN first_response_by END, {}",
            self.duration_of(Measure::Response).0
        ));

        let unfiltered = TicketFilter {
            status: None,
            ..filter.clone()
        };
        let mut jobs = Vec::new();
        for half in self.rowid_halves().await? {
            let (cond, binds) = self.tickets_where(&unfiltered, &half);
            jobs.push((
                format!(
                    "SELECT tally('1 1 1 2', {}) AS t FROM tickets WHERE {cond}",
                    keys.join(", ")
                ),
                key_binds.iter().cloned().chain(binds).collect(),
            ));
        }
        // Per group, each distinct value (with its responder) and how many tickets have it.
        let mut values: Vec<BTreeMap<[i64; 2], u64>> = vec![BTreeMap::new(); 4];
        for rows in self.read_all_many(jobs, |r| text(r, "t")).await? {
            let text = rows.into_iter().flatten().next().unwrap_or_default();
            for (group, counted) in values.iter_mut().zip(tally::parse(&text, 4)?) {
                for (key, n) in counted {
                    *group.entry(key).or_default() += n;
                }
            }
        }
        let mut found = Vec::with_capacity(wanted.len());
        for w in wanted {
            let in_minute = |v: i64| v / MICROS_PER_MINUTE == w.minute;
            let ranked: Box<dyn Iterator<Item = (i64, u64)>> = match (w.measure, w.by) {
                (Measure::Response, Some(by)) => Box::new(
                    values[3]
                        .range([by, i64::MIN]..=[by, i64::MAX])
                        .map(|(&[_, v], &n)| (v, n)),
                ),
                (measure, _) => {
                    let group = match measure {
                        Measure::Close => 0,
                        Measure::Claim => 1,
                        Measure::Response => 2,
                    };
                    Box::new(values[group].iter().map(|(&[v, _], &n)| (v, n)))
                }
            };
            // Ascending values: the first whose running count passes the offset.
            let mut seen = 0;
            for (v, n) in ranked.filter(|&(v, _)| in_minute(v)) {
                seen += n;
                if seen > w.offset {
                    found.push((*w, v));
                    break;
                }
            }
        }
        Ok(found)
    }
}

/// `1, 2, 3`: integers written into SQL (no text from outside).
fn list(numbers: &[i64]) -> String {
    numbers
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
