//! Snowflake ids and ISO 8601 timestamps, shaped like Discord's.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeZone, Utc};

/// Milliseconds from the Unix epoch to Discord's epoch (2015-01-01).
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// Hands out increasing snowflakes whose timestamp part is the current time, so that
/// `id.created_at()` in serenity gives a sensible date and ids sort by creation.
#[derive(Debug, Default)]
pub(crate) struct Snowflakes {
    last: AtomicU64,
}

impl Snowflakes {
    pub(crate) fn next(&self) -> u64 {
        let now = Utc::now().timestamp_millis().max(0) as u64;
        let candidate = (now.saturating_sub(DISCORD_EPOCH_MS) << 22) | (1 << 17);
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = candidate.max(last + 1);
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(actual) => last = actual,
            }
        }
    }
}

impl Snowflakes {
    /// Reserves `n` ids `step` apart (at least the next free id, at the earliest now); returns
    /// the first. Later ids from [`Snowflakes::next`] are greater than all of them.
    pub(crate) fn reserve_spaced(&self, n: u64, step: u64) -> u64 {
        let now = Utc::now().timestamp_millis().max(0) as u64;
        let candidate = (now.saturating_sub(DISCORD_EPOCH_MS) << 22) | (1 << 17);
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let start = candidate.max(last + 1);
            let end = start + n.saturating_sub(1) * step;
            match self
                .last
                .compare_exchange_weak(last, end, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return start,
                Err(actual) => last = actual,
            }
        }
    }
}

/// Formats a time the way Discord does: `2024-05-01T12:00:00.123000+00:00`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// The current time in Discord's format.
pub fn now_iso() -> String {
    iso(Utc::now())
}

/// The creation time encoded in a snowflake, in Discord's format.
pub fn snowflake_time(id: u64) -> String {
    let ms = (id >> 22) + DISCORD_EPOCH_MS;
    let t = Utc
        .timestamp_millis_opt(ms as i64)
        .single()
        .unwrap_or_else(Utc::now);
    iso(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_increase_and_carry_time() {
        let gen = Snowflakes::default();
        let a = gen.next();
        let b = gen.next();
        assert!(b > a);
        assert!(snowflake_time(a).starts_with("20"));
        assert!(snowflake_time(a).ends_with("+00:00"));
    }
}
