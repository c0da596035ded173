//! The report in a real browser (Debian's `chromium`, headless): its charts are drawn, it
//! runs and fetches nothing. `TICKETBOT_DOCS_SCREENSHOT=<path>` also copies the screenshot
//! there (how docs/report.png is made); the screenshot stays in the test's temp folder when
//! `TICKETBOT_KEEP_SCREENSHOT` is set.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use ticketbot_common::feedback::{FeedbackSummary, Ratings, StaffRatings};
use ticketbot_common::stats::*;
use ticketbot_common::store::StatusCounts;
use ticketbot_report::{html, Scope};
use ticketbot_testkit::browser::{chromium, file_url, run};

/// Four weeks of a small support team, with a quiet weekend and a busy Monday morning.
fn month() -> (TicketStats, Scope) {
    let start = NaiveDate::from_ymd_opt(2026, 10, 5).unwrap();
    let per_day: Vec<DayCount> = (0..28)
        .map(|i| {
            let weekend = i % 7 >= 5;
            DayCount {
                date: start + Duration::days(i),
                opened: if weekend { 2 } else { 9 + (i as u64 * 7) % 6 },
                closed: if weekend { 1 } else { 8 + (i as u64 * 5) % 7 },
            }
        })
        .collect();
    let mut busiest_hours = Vec::new();
    for weekday in 0..7u8 {
        for hour in 0..24u8 {
            let office = (8..18).contains(&hour) && weekday < 5;
            let opened = if office {
                3 + u64::from((hour * 3 + weekday) % 5)
            } else {
                u64::from(hour % 4 == 0)
            };
            if opened > 0 {
                busiest_hours.push(HourCount {
                    weekday,
                    hour,
                    opened,
                });
            }
        }
    }
    busiest_hours.push(HourCount {
        weekday: 0,
        hour: 9,
        opened: 0,
    });
    let staff = (1..=4)
        .map(|i| StaffActivity {
            user_id: 900_000_000_000_000_000 + i,
            claims: 40 / i,
            closes: 50 / i,
            first_responses: 30 / i,
            messages: 200 / i,
            median_response_secs: Some(300.0 * i as f64),
        })
        .collect();
    let opened = per_day.iter().map(|d| d.opened).sum();
    let closed = per_day.iter().map(|d| d.closed).sum();
    let stats = TicketStats {
        counts: StatusCounts { open: 12, closed },
        activity: Activity {
            opened,
            closed,
            reopened: 4,
            archived: 120,
        },
        backlog: Backlog {
            open: 12,
            unclaimed: 3,
            oldest_unclaimed_at: Some(Utc.with_ymd_and_hms(2026, 11, 1, 9, 30, 0).unwrap()),
        },
        time_to_claim: DurationSummary::from_micros((1..=100).map(|i| i * 17_000_000).collect()),
        time_to_first_response: DurationSummary::from_micros(
            (1..=100).map(|i| i * 6_000_000).collect(),
        ),
        time_to_close: DurationSummary::from_micros((1..=100).map(|i| i * 1_500_000_000).collect()),
        close_times: [40, 90, 60, 30, 10, 2],
        staff,
        per_day,
        busiest_hours,
        feedback: ratings(),
    };
    let scope = Scope {
        guild_id: Some(100_000_000_000_000_001),
        since: Some(Utc.with_ymd_and_hms(2026, 10, 5, 0, 0, 0).unwrap()),
        until: Some(Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap()),
        generated_at: Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap(),
    };
    (stats, scope)
}

/// Ratings of the month: staff member 1 rated 4.5 on average, member 9 (who claimed nothing
/// this month) once.
fn ratings() -> FeedbackSummary {
    FeedbackSummary {
        overall: Ratings {
            by_stars: [1, 0, 2, 6, 11],
        },
        staff: vec![
            StaffRatings {
                user_id: 900_000_000_000_000_001,
                ratings: Ratings {
                    by_stars: [0, 0, 1, 4, 5],
                },
            },
            StaffRatings {
                user_id: 900_000_000_000_000_009,
                ratings: Ratings {
                    by_stars: [1, 0, 0, 0, 0],
                },
            },
        ],
    }
}

#[test]
fn report_draws_its_charts_and_runs_nothing() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let (stats, scope) = month();
    std::fs::write(&page, html(&stats, &scope)).unwrap();

    // The DOM the browser built: every chart and row there, no script.
    let dom = run(
        &browser,
        &dir.path().join("p1"),
        &file_url(&page),
        &["--dump-dom", "--virtual-time-budget=2000"],
    );
    assert!(
        !dom.to_ascii_lowercase().contains("<script"),
        "a script in the report"
    );
    assert_eq!(
        dom.matches("<g class=\"period\">").count(),
        28,
        "a bar pair per day"
    );
    assert_eq!(
        dom.matches("<rect class=\"cell\"").count(),
        7 * 24,
        "the week's hours"
    );
    assert_eq!(
        dom.matches("<g class=\"bucket\">").count(),
        6 + 5,
        "time-to-close buckets and a bar per star"
    );
    assert_eq!(
        dom.matches("<svg class=\"load\"").count(),
        5,
        "a load bar per staff member, one who was only rated included"
    );
    for text in [
        "Ticket report",
        "Guild 100000000000000001",
        "Oldest unclaimed",
        "900000000000000001",
        "3 unclaimed",
        "Mon 09:00",
        "Rating (average)",
        "4.3/5",
        "from 20 ratings",
        "<td class=\"n\">4.4/5 (10)</td>",
        "900000000000000009",
        "<td class=\"n\">1.0/5 (1)</td>",
        "<title>5 ★: 11</title>",
    ] {
        assert!(dom.contains(text), "{text:?} missing from the page");
    }

    // What it looks like: the bars are painted in their colours.
    let shot = dir.path().join("report.png");
    run(
        &browser,
        &dir.path().join("p2"),
        &file_url(&page),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1000,2300",
            "--virtual-time-budget=2000",
        ],
    );
    let bytes = std::fs::read(&shot).expect("screenshot written");
    let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.line_size / info.width as usize;
    let near = |px: &[u8], c: [u8; 3]| px.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 12);
    let (mut opened, mut closed) = (0, 0);
    for px in buf[..info.buffer_size()].chunks(step) {
        opened += usize::from(near(&px[..3], [0x58, 0x65, 0xf2]));
        closed += usize::from(near(&px[..3], [0x3b, 0xa5, 0x5d]));
    }
    println!(
        "screenshot {}: {opened} opened-colour and {closed} closed-colour pixels",
        shot.display()
    );
    assert!(
        opened > 5_000,
        "the opened bars and the heatmap are drawn ({opened} pixels)"
    );
    assert!(
        closed > 5_000,
        "the closed bars are drawn ({closed} pixels)"
    );
    if let Ok(dest) = std::env::var("TICKETBOT_DOCS_SCREENSHOT") {
        std::fs::copy(&shot, &dest).unwrap();
        println!("copied to {dest}");
    }
    if std::env::var("TICKETBOT_KEEP_SCREENSHOT").is_ok() {
        println!("kept {}", dir.keep().display());
    }
}

#[test]
fn an_empty_period_says_so() {
    let page = html(&TicketStats::default(), &month().1);
    assert!(page.contains("No tickets in this period."));
    assert!(page.contains("No closed tickets in this period."));
    assert!(page.contains("No claims, closes or first responses by staff in this period."));
    assert!(page.contains("none waiting"));
    assert!(page.contains("No ratings in this period."));
    assert!(page.contains("no ratings yet"));
}
