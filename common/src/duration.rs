//! Durations as people write them in `.env` and on the command line: `30s`, `15m`, `12h`, `7d`,
//! `2w`, or `0` for "never". One parser for the bot's settings and `ticketctl`'s flags.

use chrono::Duration;

/// Why a duration was not understood; the text is written for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a duration; write a number with a unit: 30m, 12h, 7d or 2w")]
pub struct BadDuration(pub String);

/// Parses `N<unit>` (s, m, h, d, w), or several separated by spaces as [`format_duration`]
/// writes them (`1d 2h`); a bare `0` is zero. Out-of-range values are errors, not panics.
pub fn parse_duration(raw: &str) -> Result<Duration, BadDuration> {
    let bad = || BadDuration(raw.to_owned());
    parse_one(raw).or_else(|_| {
        let mut parts = raw.split_whitespace().peekable();
        parts.peek().ok_or_else(bad)?;
        parts.try_fold(Duration::zero(), |sum, part| {
            let d = parse_one(part).map_err(|_| bad())?;
            sum.checked_add(&d).ok_or_else(bad)
        })
    })
}

fn parse_one(raw: &str) -> Result<Duration, BadDuration> {
    let s = raw.trim();
    let bad = || BadDuration(raw.to_owned());
    if s == "0" {
        return Ok(Duration::zero());
    }
    let unit = s.chars().last().ok_or_else(bad)?;
    let number = &s[..s.len() - unit.len_utf8()];
    let per = match unit.to_ascii_lowercase() {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(bad()),
    };
    let n: i64 = number.trim().parse().map_err(|_| bad())?;
    if n < 0 {
        return Err(bad());
    }
    n.checked_mul(per)
        .and_then(Duration::try_seconds)
        .ok_or_else(bad)
}

/// A point in time as people type it: RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` (UTC), or an age
/// before `now` such as `30m`, `12h`, `7d`, `2w`.
pub fn parse_time(
    raw: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    now.checked_sub_signed(parse_duration(s).ok()?)
}

/// A duration for people: `7d`, `12h`, `30m`, `45s`, or a mix such as `1d 2h`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let parts: Vec<String> = [(days, "d"), (hours, "h"), (mins, "m"), (s, "s")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    if parts.is_empty() {
        "0s".to_owned()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_zero() {
        assert_eq!(parse_duration("7d"), Ok(Duration::days(7)));
        assert_eq!(parse_duration(" 12h "), Ok(Duration::hours(12)));
        assert_eq!(parse_duration("30m"), Ok(Duration::minutes(30)));
        assert_eq!(parse_duration("2w"), Ok(Duration::weeks(2)));
        assert_eq!(parse_duration("45s"), Ok(Duration::seconds(45)));
        assert_eq!(parse_duration("0"), Ok(Duration::zero()));
        assert_eq!(parse_duration("0d"), Ok(Duration::zero()));
    }

    #[test]
    fn refuses_odd_input_without_panicking() {
        for bad in [
            "",
            "d",
            "7",
            "7x",
            "-1d",
            "1.5d",
            "ü",
            "7dd",
            "100000000000000d",
            "9223372036854775807s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(Duration::days(7)), "7d");
        assert_eq!(format_duration(Duration::seconds(93_600)), "1d 2h");
        assert_eq!(format_duration(Duration::zero()), "0s");
    }

    #[test]
    fn parses_what_it_formats() {
        // `1d 2h` was refused (found by common/tests/fuzz_parsers.rs).
        assert_eq!(parse_duration("1d 2h"), Ok(Duration::seconds(93_600)));
        assert_eq!(
            parse_duration(" 1d  2h 3m 4s "),
            Ok(Duration::seconds(93_784))
        );
        for bad in ["1d x", "1d -2h", "1d 2", "106751991167d 106751991167d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
