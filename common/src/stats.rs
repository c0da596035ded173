//! Ticket statistics: counts, time to close, staff activity, tickets per day. The stores
//! gather the raw figures; the arithmetic (percentiles, day buckets) is here, once.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::store::StatusCounts;
use crate::ticket::DiscordId;

pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Median and 90th percentile of a set of durations, in seconds.
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
        let pick = |q: f64| percentile(&micros, q).map(|v| v as f64 / 1e6);
        DurationSummary {
            count: micros.len() as u64,
            median_secs: pick(0.5),
            p90_secs: pick(0.9),
        }
    }
}

/// Nearest-rank percentile of sorted values (`q` in 0..=1).
pub fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StaffActivity {
    #[serde(serialize_with = "crate::ticket::id_as_string")]
    pub user_id: DiscordId,
    pub claims: u64,
    pub closes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayCount {
    pub date: NaiveDate,
    pub opened: u64,
}

/// Everything `ticketctl stats` shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TicketStats {
    pub counts: StatusCounts,
    pub time_to_close: DurationSummary,
    /// Most active first.
    pub staff: Vec<StaffActivity>,
    /// Tickets opened per UTC day, oldest first; days without tickets are left out.
    pub per_day: Vec<DayCount>,
}

/// The UTC date of a day number (days since 1970-01-01).
pub fn day_from_number(day: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp(day.checked_mul(86_400)?, 0).map(|t| t.date_naive())
}

/// Sorts staff rows most active first (claims + closes), then by id for a stable order.
pub fn sort_staff(staff: &mut [StaffActivity]) {
    staff.sort_by(|a, b| {
        (b.claims + b.closes)
            .cmp(&(a.claims + a.closes))
            .then(a.user_id.cmp(&b.user_id))
    });
}

/// Adds one claim or close to `user`'s row.
pub fn tally(staff: &mut Vec<StaffActivity>, user: DiscordId, claims: u64, closes: u64) {
    match staff.iter_mut().find(|s| s.user_id == user) {
        Some(s) => {
            s.claims += claims;
            s.closes += closes;
        }
        None => staff.push(StaffActivity {
            user_id: user,
            claims,
            closes,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 0.5), Some(5));
        assert_eq!(percentile(&v, 0.9), Some(9));
        assert_eq!(percentile(&v, 1.0), Some(10));
        assert_eq!(percentile(&[7], 0.9), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
        let s = DurationSummary::from_micros(vec![3_000_000, 1_000_000, 2_000_000]);
        assert_eq!(
            (s.count, s.median_secs, s.p90_secs),
            (3, Some(2.0), Some(3.0))
        );
    }

    #[test]
    fn days_and_staff_order() {
        assert_eq!(day_from_number(0), NaiveDate::from_ymd_opt(1970, 1, 1));
        assert_eq!(
            day_from_number(20_000),
            NaiveDate::from_ymd_opt(2024, 10, 4)
        );
        let mut staff = Vec::new();
        tally(&mut staff, 2, 1, 0);
        tally(&mut staff, 1, 1, 1);
        tally(&mut staff, 2, 0, 3);
        sort_staff(&mut staff);
        assert_eq!(
            staff[0],
            StaffActivity {
                user_id: 2,
                claims: 1,
                closes: 3
            }
        );
        assert_eq!(staff[1].user_id, 1);
    }
}
