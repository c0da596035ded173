//! One module per command, each with its `run`.

pub mod force_close;
pub mod inspect;
pub mod list;
pub mod migrate;
pub mod stats;
pub mod status;
pub mod switch;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::error::Usage;

/// A time on the command line: RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` (UTC), or an age before now
/// such as `30m`, `12h`, `7d`, `2w`.
pub fn parse_time(flag: &str, raw: &str) -> Result<DateTime<Utc>> {
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    let unit = s.chars().last().unwrap_or(' ');
    let number = &s[..s.len() - unit.len_utf8().min(s.len())];
    let secs = match unit {
        's' => Some(1),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        'w' => Some(7 * 86_400),
        _ => None,
    };
    if let (Some(per), Ok(n)) = (secs, number.parse::<i64>()) {
        if let Some(d) = n.checked_mul(per).and_then(chrono::Duration::try_seconds) {
            return Ok(Utc::now() - d);
        }
    }
    Err(Usage(format!(
        "{flag} {raw:?}: expected RFC 3339 (2025-08-14T09:00:00Z), a date (2025-08-14) or an age (7d, 12h, 30m)"
    ))
    .into())
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
