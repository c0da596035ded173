//! Ticket statistics as one self-contained HTML page (`ticketctl stats --html`): headline
//! figures, tickets per day, the time-to-close distribution, the busiest hours, the ratings and
//! the staff table, charts as inline SVG. No script and no network: a Content Security Policy
//! forbids both, so the file can be mailed, archived or opened from a share as it is.

#[cfg(feature = "png")]
pub mod png;
mod svg;

use askama::Template;
use chrono::{DateTime, SecondsFormat, Utc};
use ticketbot_common::feedback::Ratings;
use ticketbot_common::names::Names;
use ticketbot_common::stats::{DurationSummary, StaffActivity, TicketStats, CLOSE_BUCKET_HOURS};

pub use svg::Svg;

/// Only inline styles; nothing fetched, nothing run.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
     script-src 'none'; connect-src 'none'; frame-src 'none'; object-src 'none'; \
     base-uri 'none'; form-action 'none'";

/// What the figures cover, for the page's heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub guild_id: Option<u64>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub generated_at: DateTime<Utc>,
}

impl Scope {
    fn describe(&self) -> String {
        let day = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let guild = self
            .guild_id
            .map_or_else(|| "All guilds".to_owned(), |g| format!("Guild {g}"));
        let period = match (self.since, self.until) {
            (None, None) => "all time".to_owned(),
            (Some(s), None) => format!("from {}", day(s)),
            (None, Some(u)) => format!("before {}", day(u)),
            (Some(s), Some(u)) => format!("from {} to {}", day(s), day(u)),
        };
        format!("{guild}, {period}")
    }
}

/// "under 1h", "1h–4h", …, "7d and more" for the buckets of [`CLOSE_BUCKET_HOURS`].
pub fn close_bucket_labels() -> Vec<String> {
    let hours = |h: i64| {
        if h % 24 == 0 {
            format!("{}d", h / 24)
        } else {
            format!("{h}h")
        }
    };
    let mut out = Vec::with_capacity(CLOSE_BUCKET_HOURS.len() + 1);
    let mut low: Option<i64> = None;
    for &h in &CLOSE_BUCKET_HOURS {
        out.push(match low {
            None => format!("under {}", hours(h)),
            Some(l) => format!("{}–{}", hours(l), hours(h)),
        });
        low = Some(h);
    }
    if let Some(l) = low {
        out.push(format!("{} and more", hours(l)));
    }
    out
}

/// Seconds as people read them: `45s`, `12m`, `3h 5m`, `2d 4h`.
pub fn human_secs(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m {}s", s % 60),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

struct Card {
    label: &'static str,
    value: String,
    note: String,
}

struct StaffRow {
    user: String,
    claims: u64,
    closes: u64,
    first_responses: u64,
    messages: u64,
    median_response: String,
    rating: String,
    load: Svg,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    csp: &'a str,
    links: &'a [Link],
    scope: String,
    generated: String,
    cards: Vec<Card>,
    per_period: Svg,
    period_unit: &'static str,
    has_periods: bool,
    close_chart: Svg,
    closed_count: u64,
    heatmap: Svg,
    ratings_chart: Svg,
    rated_count: u64,
    staff: Vec<StaffRow>,
}

fn summary_note(d: &DurationSummary, what: &str) -> String {
    match d.p90_secs {
        Some(p90) => format!("p90 {} · over {} {what}", human_secs(p90), d.count),
        None => format!("no {what} yet"),
    }
}

/// A link in the page's navigation bar (the web view's pages and periods).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub label: String,
    pub href: String,
    /// The page or period shown now.
    pub current: bool,
}

/// "4.3/5 (12)", or "–" without ratings.
fn rating(r: &Ratings) -> String {
    r.average().map_or_else(
        || "–".to_owned(),
        |avg| format!("{avg:.1}/5 ({})", r.count()),
    )
}

/// The whole page, staff shown by id.
pub fn html(stats: &TicketStats, scope: &Scope) -> String {
    page(stats, scope, &Names::default(), &[])
}

/// The page with staff shown by name where known (`alice (4000…0101)`) and a navigation bar
/// (`ticketctl serve`); names and links are escaped like every value.
pub fn page(stats: &TicketStats, scope: &Scope, names: &Names, links: &[Link]) -> String {
    let a = stats.activity;
    let b = stats.backlog;
    let feedback = &stats.feedback;
    let dur = |d: &DurationSummary| d.median_secs.map_or_else(|| "–".to_owned(), human_secs);
    let oldest = b.oldest_unclaimed_at.map(|t| {
        (
            human_secs((scope.generated_at - t).num_seconds().max(0) as f64),
            t.to_rfc3339_opts(SecondsFormat::Secs, true),
        )
    });
    let cards = vec![
        Card {
            label: "Opened",
            value: a.opened.to_string(),
            note: format!("{} reopened", a.reopened),
        },
        Card {
            label: "Closed",
            value: a.closed.to_string(),
            note: format!("{} archived", a.archived),
        },
        Card {
            label: "Open now",
            value: b.open.to_string(),
            note: format!("{} unclaimed", b.unclaimed),
        },
        Card {
            label: "Oldest unclaimed",
            value: oldest
                .as_ref()
                .map_or_else(|| "–".to_owned(), |o| o.0.clone()),
            note: oldest.map_or_else(|| "none waiting".to_owned(), |o| format!("since {}", o.1)),
        },
        Card {
            label: "Time to claim (median)",
            value: dur(&stats.time_to_claim),
            note: summary_note(&stats.time_to_claim, "claims with a known time"),
        },
        Card {
            label: "First response (median)",
            value: dur(&stats.time_to_first_response),
            note: summary_note(&stats.time_to_first_response, "tickets answered by staff"),
        },
        Card {
            label: "Time to close (median)",
            value: dur(&stats.time_to_close),
            note: summary_note(&stats.time_to_close, "closed tickets"),
        },
        Card {
            label: "Rating (average)",
            value: feedback
                .overall
                .average()
                .map_or_else(|| "–".to_owned(), |avg| format!("{avg:.1}/5")),
            note: match feedback.overall.count() {
                0 => "no ratings yet".to_owned(),
                1 => "from 1 rating".to_owned(),
                n => format!("from {n} ratings"),
            },
        },
    ];
    // Staff with ratings but no activity in the period (a rated ticket claimed earlier) get a
    // row too.
    let mut staff: Vec<StaffActivity> = stats.staff.clone();
    for rated in &feedback.staff {
        if !staff.iter().any(|s| s.user_id == rated.user_id) {
            staff.push(StaffActivity {
                user_id: rated.user_id,
                ..StaffActivity::default()
            });
        }
    }
    let (periods, unit) = svg::periods(&stats.per_day);
    let busiest = staff.iter().map(|s| s.total()).max().unwrap_or(0).max(1);
    let page = Page {
        csp: CSP,
        links,
        scope: scope.describe(),
        generated: scope
            .generated_at
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        cards,
        has_periods: !periods.is_empty(),
        per_period: svg::per_period(&periods, unit),
        period_unit: unit,
        close_chart: svg::histogram(
            &close_bucket_labels(),
            &stats.close_times,
            "Closed tickets by time to close",
        ),
        closed_count: stats.close_times.iter().sum(),
        heatmap: svg::heatmap(&stats.busiest_hours),
        ratings_chart: svg::histogram(
            &(1..=5).map(|n| format!("{n} ★")).collect::<Vec<_>>(),
            &feedback.overall.by_stars,
            "Ratings by stars",
        ),
        rated_count: feedback.overall.count(),
        staff: staff
            .iter()
            .map(|s| StaffRow {
                user: names.label(s.user_id),
                claims: s.claims,
                closes: s.closes,
                first_responses: s.first_responses,
                messages: s.messages,
                median_response: s
                    .median_response_secs
                    .map_or_else(|| "–".to_owned(), human_secs),
                rating: rating(&feedback.of(s.user_id)),
                load: svg::load_bar(s.total() as f64 / busiest as f64),
            })
            .collect(),
    };
    // Rendering plain fields into a String cannot fail; an error would be a template bug.
    page.render()
        .unwrap_or_else(|e| format!("report could not be rendered: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_labels_and_durations_read_well() {
        assert_eq!(
            close_bucket_labels(),
            [
                "under 1h",
                "1h–4h",
                "4h–1d",
                "1d–3d",
                "3d–7d",
                "7d and more"
            ]
        );
        assert_eq!(human_secs(42.4), "42s");
        assert_eq!(human_secs(125.0), "2m 5s");
        assert_eq!(human_secs(3.0 * 3600.0 + 300.0), "3h 5m");
        assert_eq!(human_secs(2.0 * 86_400.0 + 4.0 * 3600.0 + 59.0), "2d 4h");
    }
}
