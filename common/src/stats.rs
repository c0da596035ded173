//! Ticket statistics: counts, activity, backlog, time to claim and to close, staff activity,
//! tickets per day and the busiest hours. The stores aggregate in the database (counts per
//! hour, percentiles by rank); the roll-ups from those aggregates (days, weekday × hour) are
//! here, once.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::store::StatusCounts;
use crate::ticket::{DiscordId, EventKind};

pub const MICROS_PER_MINUTE: i64 = 60_000_000;
pub const MICROS_PER_HOUR: i64 = 3_600_000_000;
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Upper bounds (exclusive) of the time-to-close buckets, in hours; one more bucket holds the
/// rest. Support leads read "within the hour / the working day / the day / the week".
pub const CLOSE_BUCKET_HOURS: [i64; 5] = [1, 4, 24, 72, 168];

/// Median and 90th percentile of a set of durations, in seconds. A duration that is not known
/// (a claim imported from the Python bot has no time) is left out, not counted as zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct DurationSummary {
    /// How many durations were measured.
    pub count: u64,
    pub median_secs: Option<f64>,
    pub p90_secs: Option<f64>,
}

impl DurationSummary {
    /// From durations in microseconds, in any order (sorted here).
    pub fn from_micros(mut micros: Vec<i64>) -> Self {
        micros.sort_unstable();
        let pick = |q: Quantile| {
            q.rank(micros.len() as u64)
                .map(|r| micros[r as usize - 1] as f64 / 1e6)
        };
        DurationSummary {
            count: micros.len() as u64,
            median_secs: pick(Quantile::Median),
            p90_secs: pick(Quantile::P90),
        }
    }

    /// From the count and the durations (microseconds) at the two ranks of [`Quantile`].
    pub fn from_ranks(count: u64, median_micros: Option<i64>, p90_micros: Option<i64>) -> Self {
        let secs = |v: Option<i64>| v.filter(|_| count > 0).map(|v| v as f64 / 1e6);
        DurationSummary {
            count,
            median_secs: secs(median_micros),
            p90_secs: secs(p90_micros),
        }
    }
}

/// The percentiles a report shows, by nearest rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantile {
    Median,
    P90,
}

impl Quantile {
    /// The 1-based rank of this percentile among `n` sorted values: ⌈q·n⌉, in integers so that
    /// every backend (and SQL, see [`Quantile::rank_sql`]) picks the same value.
    pub fn rank(self, n: u64) -> Option<u64> {
        (n > 0).then(|| match self {
            Quantile::Median => n.div_ceil(2),
            Quantile::P90 => (9 * n).div_ceil(10),
        })
    }

    /// [`Quantile::rank`] as SQL over the count column `n`, with `div` the dialect's integer
    /// division operator.
    pub fn rank_sql(self, n: &str, div: &str) -> String {
        match self {
            Quantile::Median => format!("(({n} + 1) {div} 2)"),
            Quantile::P90 => format!("((9 * {n} + 9) {div} 10)"),
        }
    }
}

/// Where the value of 1-based `rank` is among durations counted per minute (`(minute, count)`,
/// minutes ascending, as integer division truncating towards zero makes them): its minute and
/// its 0-based place among that minute's values.
pub fn rank_in_minutes(minutes: &[(i64, u64)], rank: u64) -> Option<(i64, u64)> {
    let mut before = 0;
    for &(minute, n) in minutes {
        if rank <= before + n {
            return rank.checked_sub(before + 1).map(|offset| (minute, offset));
        }
        before += n;
    }
    None
}

/// The durations (microseconds) that truncating division puts in `minute`, as exclusive
/// bounds `(low, high)`: minute 0 holds both sides of zero.
pub fn minute_range(minute: i64) -> (i64, i64) {
    let w = MICROS_PER_MINUTE;
    match minute {
        0 => (-w, w),
        m if m > 0 => (m * w - 1, (m + 1) * w),
        m => ((m - 1) * w, m * w + 1),
    }
}

/// What happened in the period, from the tickets' history (so deleted tickets still count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Activity {
    pub opened: u64,
    /// Closes by anyone, force-closes by the operator included.
    pub closed: u64,
    pub reopened: u64,
    pub archived: u64,
}

/// The open tickets now (of the guild, whatever the period).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Backlog {
    pub open: u64,
    pub unclaimed: u64,
    /// When the oldest open, unclaimed ticket was opened.
    pub oldest_unclaimed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StaffActivity {
    #[serde(serialize_with = "crate::ticket::id_as_string")]
    pub user_id: DiscordId,
    pub claims: u64,
    pub closes: u64,
    /// Tickets where this member was the first of the staff to write.
    #[serde(default)]
    pub first_responses: u64,
    /// Messages this member wrote in ticket channels (counted per hour: a period's bounds are
    /// taken to the hour).
    #[serde(default)]
    pub messages: u64,
    /// Median time from a ticket's opening to this member's first response, over the tickets
    /// they answered first (nearest rank); `None` when they answered none.
    #[serde(default)]
    pub median_response_secs: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayCount {
    pub date: NaiveDate,
    /// Tickets opened that day (of those the filter selects).
    pub opened: u64,
    /// Tickets closed that day (close events in the period).
    pub closed: u64,
}

/// Tickets opened in one hour of the week (UTC), over the whole period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HourCount {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    pub hour: u8,
    pub opened: u64,
}

/// Everything `ticketctl stats` shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TicketStats {
    /// The tickets the filter selects (opened in the period), by their status now.
    pub counts: StatusCounts,
    pub activity: Activity,
    pub backlog: Backlog,
    /// Opening → the current claim, over claimed tickets whose claim time is known.
    pub time_to_claim: DurationSummary,
    /// Opening → the first message by staff in its channel.
    pub time_to_first_response: DurationSummary,
    pub time_to_close: DurationSummary,
    /// Closed tickets per bucket of [`CLOSE_BUCKET_HOURS`] (one more for the rest).
    pub close_times: [u64; CLOSE_BUCKET_HOURS.len() + 1],
    /// Most active first.
    pub staff: Vec<StaffActivity>,
    /// Oldest first; days with nothing opened or closed are left out.
    pub per_day: Vec<DayCount>,
    /// Hours of the week with tickets opened, Monday 00:00 first.
    pub busiest_hours: Vec<HourCount>,
    /// The ratings of these tickets (counted with the rest: on SQLite in the same pass).
    pub feedback: crate::feedback::FeedbackSummary,
}

/// The bucket of [`CLOSE_BUCKET_HOURS`] a time to close (microseconds) falls in.
pub fn close_bucket(micros: i64) -> usize {
    CLOSE_BUCKET_HOURS
        .iter()
        .position(|h| micros < h * MICROS_PER_HOUR)
        .unwrap_or(CLOSE_BUCKET_HOURS.len())
}

/// Counts per hour since 1970 (as the stores group them) rolled up into days and into the
/// hours of the week.
pub fn roll_up_hours(
    opened: &[(i64, u64)],
    closed: &[(i64, u64)],
) -> (Vec<DayCount>, Vec<HourCount>) {
    use std::collections::BTreeMap;
    let mut days: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    let mut week = [0u64; 7 * 24];
    for &(h, n) in opened {
        days.entry(h.div_euclid(24)).or_default().0 += n;
        // 1970-01-01 was a Thursday: hour 0 is hour 72 of a Monday-first week.
        week[(h + 72).rem_euclid(168) as usize] += n;
    }
    for &(h, n) in closed {
        days.entry(h.div_euclid(24)).or_default().1 += n;
    }
    let per_day = days
        .into_iter()
        .filter_map(|(day, (opened, closed))| {
            day_from_number(day).map(|date| DayCount {
                date,
                opened,
                closed,
            })
        })
        .collect();
    let busiest = week
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(i, &opened)| HourCount {
            weekday: (i / 24) as u8,
            hour: (i % 24) as u8,
            opened,
        })
        .collect();
    (per_day, busiest)
}

/// The hour number (hours since 1970-01-01 00:00 UTC) holding `t`: the key of per-hour counts.
pub fn hour_number(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros().div_euclid(MICROS_PER_HOUR)
}

/// The first hour number a period ending (exclusively) at `until` leaves out: the hour that
/// holds `until` counts when `until` is past its start.
pub fn hours_before(until: DateTime<Utc>) -> i64 {
    let micros = until.timestamp_micros();
    micros.div_euclid(MICROS_PER_HOUR) + i64::from(micros.rem_euclid(MICROS_PER_HOUR) > 0)
}

/// The UTC date of a day number (days since 1970-01-01).
pub fn day_from_number(day: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp(day.checked_mul(86_400)?, 0).map(|t| t.date_naive())
}

impl StaffActivity {
    /// Claims, closes and first responses together.
    pub fn total(&self) -> u64 {
        self.claims + self.closes + self.first_responses
    }
}

/// Sets `user`'s message count (a row is added for a member who only wrote).
pub fn tally_messages(staff: &mut Vec<StaffActivity>, user: DiscordId, n: u64) {
    match staff.iter_mut().find(|s| s.user_id == user) {
        Some(row) => row.messages += n,
        None => staff.push(StaffActivity {
            user_id: user,
            messages: n,
            ..StaffActivity::default()
        }),
    }
}

/// Sorts staff rows most active first, then by id for a stable order.
pub fn sort_staff(staff: &mut [StaffActivity]) {
    staff.sort_by(|a, b| {
        b.total()
            .cmp(&a.total())
            .then(b.messages.cmp(&a.messages))
            .then(a.user_id.cmp(&b.user_id))
    });
}

/// Adds `n` history entries of `kind` (claims, closes, first responses; others are not staff
/// activity) to `user`'s row.
pub fn tally(staff: &mut Vec<StaffActivity>, user: DiscordId, kind: EventKind, n: u64) {
    if !matches!(
        kind,
        EventKind::Claimed | EventKind::Closed | EventKind::FirstResponse
    ) {
        return;
    }
    let row = match staff.iter().position(|s| s.user_id == user) {
        Some(i) => &mut staff[i],
        None => {
            staff.push(StaffActivity {
                user_id: user,
                ..StaffActivity::default()
            });
            let last = staff.len() - 1;
            &mut staff[last]
        }
    };
    match kind {
        EventKind::Claimed => row.claims += n,
        EventKind::Closed => row.closes += n,
        EventKind::FirstResponse => row.first_responses += n,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ranks = |n| (Quantile::Median.rank(n), Quantile::P90.rank(n));
        assert_eq!(ranks(0), (None, None));
        assert_eq!(ranks(1), (Some(1), Some(1)));
        assert_eq!(ranks(10), (Some(5), Some(9)));
        assert_eq!(ranks(11), (Some(6), Some(10)));
        let s = DurationSummary::from_micros(vec![3_000_000, 1_000_000, 2_000_000]);
        assert_eq!(
            (s.count, s.median_secs, s.p90_secs),
            (3, Some(2.0), Some(3.0))
        );
        assert_eq!(
            DurationSummary::from_ranks(0, None, None),
            DurationSummary::default()
        );
    }

    #[test]
    fn ranks_are_found_in_minute_counts() {
        let minutes = [(-1, 1), (0, 2), (5, 3)];
        assert_eq!(rank_in_minutes(&minutes, 1), Some((-1, 0)));
        assert_eq!(rank_in_minutes(&minutes, 3), Some((0, 1)));
        assert_eq!(rank_in_minutes(&minutes, 4), Some((5, 0)));
        assert_eq!(rank_in_minutes(&minutes, 6), Some((5, 2)));
        assert_eq!(rank_in_minutes(&minutes, 7), None);
        assert_eq!(rank_in_minutes(&minutes, 0), None);
        let w = MICROS_PER_MINUTE;
        // Every value lands in the minute whose range holds it.
        for v in [-w - 1, -w, -w + 1, -1, 0, 1, w - 1, w, w + 1, 5 * w + 7] {
            let (low, high) = minute_range(v / w);
            assert!(
                low < v && v < high,
                "{v} in minute {}: ({low}, {high})",
                v / w
            );
        }
    }

    #[test]
    fn hours_roll_up_into_days_and_weekdays() {
        // Hour 0 of 1970 was Thursday 00:00; hour 96 is Monday 00:00 (day 4).
        let (days, week) = roll_up_hours(&[(0, 2), (23, 1), (96, 5)], &[(24, 3)]);
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            days,
            vec![
                DayCount {
                    date: d(1970, 1, 1),
                    opened: 3,
                    closed: 0
                },
                DayCount {
                    date: d(1970, 1, 2),
                    opened: 0,
                    closed: 3
                },
                DayCount {
                    date: d(1970, 1, 5),
                    opened: 5,
                    closed: 0
                },
            ]
        );
        assert_eq!(
            week,
            vec![
                HourCount {
                    weekday: 0,
                    hour: 0,
                    opened: 5
                },
                HourCount {
                    weekday: 3,
                    hour: 0,
                    opened: 2
                },
                HourCount {
                    weekday: 3,
                    hour: 23,
                    opened: 1
                },
            ]
        );
        assert_eq!(close_bucket(0), 0);
        assert_eq!(close_bucket(MICROS_PER_HOUR), 1);
        assert_eq!(close_bucket(200 * MICROS_PER_HOUR), 5);
    }

    #[test]
    fn days_and_staff_order() {
        assert_eq!(day_from_number(0), NaiveDate::from_ymd_opt(1970, 1, 1));
        assert_eq!(
            day_from_number(20_000),
            NaiveDate::from_ymd_opt(2024, 10, 4)
        );
        let mut staff = Vec::new();
        tally(&mut staff, 2, EventKind::Claimed, 1);
        tally(&mut staff, 1, EventKind::Claimed, 1);
        tally(&mut staff, 1, EventKind::Closed, 1);
        tally(&mut staff, 2, EventKind::Closed, 3);
        tally(&mut staff, 1, EventKind::FirstResponse, 1);
        tally(&mut staff, 1, EventKind::Opened, 9);
        sort_staff(&mut staff);
        assert_eq!(
            staff[0],
            StaffActivity {
                user_id: 2,
                claims: 1,
                closes: 3,
                ..StaffActivity::default()
            }
        );
        assert_eq!((staff[1].user_id, staff[1].total()), (1, 3));
        // Messages count beside, and a member who only wrote gets a row.
        tally_messages(&mut staff, 1, 5);
        tally_messages(&mut staff, 3, 2);
        sort_staff(&mut staff);
        assert_eq!(
            staff
                .iter()
                .map(|s| (s.user_id, s.messages))
                .collect::<Vec<_>>(),
            [(2, 0), (1, 5), (3, 2)]
        );
    }
}
