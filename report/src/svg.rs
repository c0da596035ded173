//! The report's charts as inline SVG. Text in them is ours (dates, numbers, fixed labels) and
//! still goes through the HTML escaper, so a chart can never carry markup.

use std::fmt::Write as _;

use askama::filters::{Escaper, Html};
use chrono::{Datelike, Duration, NaiveDate};
use ticketbot_common::stats::{DayCount, HourCount};

/// SVG markup built here from numbers and escaped text: safe to write into the page as is.
#[derive(Debug, Clone, Default)]
pub struct Svg(pub(crate) String);

impl std::fmt::Display for Svg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for Svg {}

pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing into a String cannot fail.
    let _ = Html.write_escaped_str(&mut out, text);
    out
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// One bar of a time series: its label (the day, or the week's Monday), opened and closed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Period {
    pub label: String,
    pub opened: u64,
    pub closed: u64,
}

/// Days with no tickets filled in, then grouped into weeks when the range is long (a bar a
/// day stops being readable past a few months).
pub(crate) fn periods(days: &[DayCount]) -> (Vec<Period>, &'static str) {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return (Vec::new(), "day");
    };
    let span = (last.date - first.date).num_days();
    let weekly = span > 120;
    let key = |d: NaiveDate| {
        if weekly {
            d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
        } else {
            d
        }
    };
    let mut out: Vec<(NaiveDate, u64, u64)> = Vec::new();
    let mut day = key(first.date);
    let end = key(last.date);
    while day <= end {
        out.push((day, 0, 0));
        day += Duration::days(if weekly { 7 } else { 1 });
    }
    for d in days {
        let k = key(d.date);
        if let Some(slot) = out.iter_mut().find(|p| p.0 == k) {
            slot.1 += d.opened;
            slot.2 += d.closed;
        }
    }
    let periods = out
        .into_iter()
        .map(|(d, opened, closed)| Period {
            label: d.to_string(),
            opened,
            closed,
        })
        .collect();
    (periods, if weekly { "week" } else { "day" })
}

/// Opened and closed side by side per period, with the peak value on the axis.
pub(crate) fn per_period(periods: &[Period], unit: &str) -> Svg {
    let (w, h, left, bottom, top) = (720.0_f64, 220.0_f64, 40.0, 24.0, 10.0);
    let max = periods
        .iter()
        .map(|p| p.opened.max(p.closed))
        .max()
        .unwrap_or(0)
        .max(1);
    let pitch = (w - left) / periods.len().max(1) as f64;
    let bar = (pitch * 0.4).max(0.5);
    let scale = (h - bottom - top) / max as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="Tickets opened and closed per {unit}" xmlns="http://www.w3.org/2000/svg">"#
    );
    let base = h - bottom;
    let _ = write!(
        s,
        r#"<line class="axis" x1="{left}" y1="{base}" x2="{w}" y2="{base}"/><text class="tick" x="{}" y="{}" text-anchor="end">{max}</text><text class="tick" x="{}" y="{base}" text-anchor="end">0</text>"#,
        left - 4.0,
        top + 8.0,
        left - 4.0,
    );
    for (i, p) in periods.iter().enumerate() {
        let x = left + i as f64 * pitch + pitch * 0.1;
        let ho = p.opened as f64 * scale;
        let hc = p.closed as f64 * scale;
        let _ = write!(
            s,
            r#"<g class="period"><title>{}: {} opened, {} closed</title><rect class="bar opened" x="{x:.2}" y="{:.2}" width="{bar:.2}" height="{ho:.2}"/><rect class="bar closed" x="{:.2}" y="{:.2}" width="{bar:.2}" height="{hc:.2}"/></g>"#,
            esc(&p.label),
            p.opened,
            p.closed,
            base - ho,
            x + bar,
            base - hc,
        );
    }
    // Dates at the start, the middle and the end.
    let mut marks = vec![0, periods.len() / 2, periods.len().saturating_sub(1)];
    marks.dedup();
    let last = periods.len().saturating_sub(1);
    for i in marks {
        if let Some(p) = periods.get(i) {
            // The end labels are anchored inwards so that they stay inside the chart.
            let (x, anchor) = match i {
                0 => (left + pitch * 0.1, "start"),
                i if i == last => (left + (i as f64 + 0.9) * pitch, "end"),
                i => (left + i as f64 * pitch + pitch / 2.0, "middle"),
            };
            let _ = write!(
                s,
                r#"<text class="tick" x="{x:.2}" y="{}" text-anchor="{anchor}">{}</text>"#,
                h - 6.0,
                esc(&p.label)
            );
        }
    }
    s.push_str("</svg>");
    Svg(s)
}

/// A histogram with one labelled bar per bucket.
pub(crate) fn histogram(labels: &[String], counts: &[u64], title: &str) -> Svg {
    let (w, h, bottom, top) = (720.0_f64, 200.0_f64, 24.0, 18.0);
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let pitch = w / counts.len().max(1) as f64;
    let scale = (h - bottom - top) / max as f64;
    let base = h - bottom;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><line class="axis" x1="0" y1="{base}" x2="{w}" y2="{base}"/>"#,
        esc(title)
    );
    for (i, (label, n)) in labels.iter().zip(counts).enumerate() {
        let x = i as f64 * pitch + pitch * 0.15;
        let bh = *n as f64 * scale;
        let cx = i as f64 * pitch + pitch / 2.0;
        let _ = write!(
            s,
            r#"<g class="bucket"><title>{label}: {n}</title><rect class="bar closed" x="{x:.2}" y="{:.2}" width="{:.2}" height="{bh:.2}"/><text class="value" x="{cx:.2}" y="{:.2}" text-anchor="middle">{n}</text><text class="tick" x="{cx:.2}" y="{}" text-anchor="middle">{label}</text></g>"#,
            base - bh,
            pitch * 0.7,
            base - bh - 4.0,
            h - 6.0,
            label = esc(label),
        );
    }
    s.push_str("</svg>");
    Svg(s)
}

/// Weekday × hour, darker where more tickets were opened.
pub(crate) fn heatmap(hours: &[HourCount]) -> Svg {
    let (cell, left, top) = (26.0_f64, 40.0_f64, 18.0_f64);
    let (w, h) = (left + 24.0 * cell, top + 7.0 * cell);
    let mut grid = [[0u64; 24]; 7];
    for c in hours {
        if let Some(slot) = grid
            .get_mut(usize::from(c.weekday))
            .and_then(|row| row.get_mut(usize::from(c.hour)))
        {
            *slot += c.opened;
        }
    }
    let max = grid.iter().flatten().copied().max().unwrap_or(0).max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart heatmap" viewBox="0 0 {w} {h}" role="img" aria-label="Tickets opened by weekday and hour (UTC)" xmlns="http://www.w3.org/2000/svg">"#
    );
    for hour in (0..24).step_by(3) {
        let _ = write!(
            s,
            r#"<text class="tick" x="{:.1}" y="12" text-anchor="middle">{hour:02}</text>"#,
            left + hour as f64 * cell + cell / 2.0
        );
    }
    for (d, row) in grid.iter().enumerate() {
        let y = top + d as f64 * cell;
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + cell * 0.65,
            WEEKDAYS[d]
        );
        for (hour, n) in row.iter().enumerate() {
            // At least a faint tint for any ticket, so a quiet hour with one shows.
            let level = if *n == 0 {
                0.0
            } else {
                0.12 + 0.88 * (*n as f64 / max as f64)
            };
            let _ = write!(
                s,
                r#"<rect class="cell" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill-opacity="{level:.3}"><title>{} {hour:02}:00: {n}</title></rect>"#,
                left + hour as f64 * cell + 1.0,
                cell - 2.0,
                cell - 2.0,
                WEEKDAYS[d],
            );
        }
    }
    s.push_str("</svg>");
    Svg(s)
}

/// A horizontal bar `share` (0..=1) of the cell wide.
pub(crate) fn load_bar(share: f64) -> Svg {
    let w = (share.clamp(0.0, 1.0) * 100.0).max(0.5);
    Svg(format!(
        r#"<svg class="load" viewBox="0 0 100 10" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg"><rect class="bar opened" x="0" y="0" width="{w:.2}" height="10"/></svg>"#
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32, opened: u64, closed: u64) -> DayCount {
        DayCount {
            date: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
            opened,
            closed,
        }
    }

    #[test]
    fn gaps_are_filled_and_long_ranges_go_weekly() {
        let (p, unit) = periods(&[day(2025, 2, 1, 2, 0), day(2025, 2, 3, 1, 4)]);
        assert_eq!(unit, "day");
        assert_eq!(
            p.iter()
                .map(|p| (p.label.as_str(), p.opened, p.closed))
                .collect::<Vec<_>>(),
            vec![
                ("2025-02-01", 2, 0),
                ("2025-02-02", 0, 0),
                ("2025-02-03", 1, 4)
            ]
        );
        // 2025-01-01 is a Wednesday: its week starts on Monday 2024-12-30.
        let (p, unit) = periods(&[
            day(2025, 1, 1, 1, 0),
            day(2025, 1, 5, 2, 1),
            day(2025, 6, 1, 3, 3),
        ]);
        assert_eq!(unit, "week");
        assert_eq!(
            (p[0].label.as_str(), p[0].opened, p[0].closed),
            ("2024-12-30", 3, 1)
        );
        assert_eq!(p.iter().map(|p| p.opened).sum::<u64>(), 6);
        assert!(p.windows(2).all(|w| w[0].label < w[1].label));
    }

    #[test]
    fn charts_have_one_mark_per_value() {
        let (p, unit) = periods(&[day(2025, 2, 1, 2, 0), day(2025, 2, 3, 1, 4)]);
        let svg = per_period(&p, unit).0;
        assert_eq!(svg.matches("<g class=\"period\">").count(), 3);
        assert!(svg.contains("<title>2025-02-03: 1 opened, 4 closed</title>"));
        let hm = heatmap(&[HourCount {
            weekday: 6,
            hour: 23,
            opened: 9,
        }])
        .0;
        assert_eq!(hm.matches("<rect class=\"cell\"").count(), 7 * 24);
        assert!(hm.contains("<title>Sun 23:00: 9</title>"));
        assert_eq!(esc("<b>&\"'"), "&#60;b&#62;&#38;&#34;&#39;");
    }
}
