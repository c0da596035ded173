//! One module per command, each with its `run`.

pub mod archive;
pub mod backfill;
pub mod force_close;
pub mod inspect;
pub mod list;
pub mod migrate;
pub mod purge;
pub mod serve;
pub mod stats;
pub mod status;
pub mod switch;
pub mod transcript;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::error::Usage;

/// A time on the command line: RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` (UTC), or an age before now
/// such as `30m`, `12h`, `7d`, `2w`.
pub fn parse_time(flag: &str, raw: &str) -> Result<DateTime<Utc>> {
    ticketbot_common::duration::parse_time(raw, Utc::now()).ok_or_else(|| {
        Usage(format!(
            "{flag} {raw:?}: expected RFC 3339 (2025-08-14T09:00:00Z), a date (2025-08-14) or an age (7d, 12h, 30m)"
        ))
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_forms() {
        let t = parse_time("--since", "2025-08-14").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-08-14T00:00:00+00:00");
        let t = parse_time("--since", "2025-08-14T09:00:00+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-08-14T07:00:00+00:00");
        let age = Utc::now() - parse_time("--since", "7d").unwrap();
        assert!((age.num_seconds() - 7 * 86_400).abs() < 5);
        for bad in [
            "",
            " ",
            "yesterday",
            "7x",
            "d",
            "99999999999999999d",
            // In range for a duration, out of range as a time before now (it panicked once).
            "100000000000d",
            "-7d",
            "😀",
            "7é",
        ] {
            assert!(
                parse_time("--since", bad).unwrap_err().is::<Usage>(),
                "{bad}"
            );
        }
    }
}
