//! `ticketctl stats`.

use anyhow::{Context, Result};
use chrono::Utc;
use ticketbot_common::feedback::FeedbackSummary;
use ticketbot_common::names::Names;
use ticketbot_common::stats::TicketStats;
use ticketbot_common::store::{load_names, CacheFit, TicketFilter, TicketStore};

use super::parse_time;
use crate::opt::StatsArgs;
use crate::output::{human_secs, or_dash, print_json, rfc3339, table};

pub async fn run(store: &dyn TicketStore, args: &StatsArgs) -> Result<()> {
    let time =
        |flag: &str, v: &Option<String>| v.as_deref().map(|s| parse_time(flag, s)).transpose();
    let filter = TicketFilter {
        guild_id: args.guild,
        since: time("--since", &args.since)?,
        until: time("--until", &args.until)?,
        ..TicketFilter::default()
    };
    let started = std::time::Instant::now();
    let stats = store.stats(&filter).await?;
    let took = started.elapsed();
    if took > std::time::Duration::from_secs(1) {
        if let Some(advice) = cache_advice(store).await {
            eprintln!(
                "note: this report took {:.1} s. {advice}",
                took.as_secs_f64()
            );
        }
    }
    let feedback = &stats.feedback;
    let people = stats.staff.iter().map(|s| s.user_id);
    let names = load_names(
        store,
        people.chain(feedback.staff.iter().map(|s| s.user_id)),
    )
    .await?;
    if let Some(path) = &args.html {
        let page = ticketbot_report::page(&stats, &report_scope(&filter), &names, &[]);
        std::fs::write(path, page)
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    if args.json.json {
        return print_json(&stats);
    }
    print_text(&stats, &names);
    print_feedback(feedback, &names);
    if let Some(path) = &args.html {
        println!("report written to {}", path.display());
    }
    Ok(())
}

/// What to tune when a report reads indexes from disk, if anything.
pub async fn cache_advice(store: &dyn TicketStore) -> Option<String> {
    advice(store.cache_fit().await.ok().flatten()?)
}

/// MySQL's buffer pool smaller than the indexes a report reads (the server's default, 128 MiB,
/// holds those of ~60,000 tickets).
fn advice(fit: CacheFit) -> Option<String> {
    if fit.fits() {
        return None;
    }
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    // Enough to hold them all, in whole GiB.
    let want = fit.index_bytes.div_ceil(GIB).max(1);
    Some(format!(
        "MySQL's buffer pool ({} MiB) is smaller than the indexes of the tickets and their \
         history ({} MiB), which every report then reads from disk: set \
         innodb_buffer_pool_size = {want}G (or more) in the server's configuration.",
        fit.cache_bytes / MIB,
        fit.index_bytes / MIB
    ))
}

fn report_scope(f: &TicketFilter) -> ticketbot_report::Scope {
    ticketbot_report::Scope {
        guild_id: f.guild_id,
        since: f.since,
        until: f.until,
        generated_at: Utc::now(),
    }
}

fn print_text(stats: &TicketStats, names: &Names) {
    let c = stats.counts;
    println!(
        "tickets: {} ({} open, {} closed)",
        c.total(),
        c.open,
        c.closed
    );
    let a = stats.activity;
    println!(
        "activity: {} opened, {} closed, {} reopened, {} archived",
        a.opened, a.closed, a.reopened, a.archived
    );
    let b = stats.backlog;
    let oldest = b.oldest_unclaimed_at.map(|t| {
        format!(
            ", oldest unclaimed opened {} ({} ago)",
            rfc3339(t),
            human_secs((Utc::now() - t).num_seconds().max(0) as f64)
        )
    });
    println!(
        "backlog now: {} open, {} unclaimed{}",
        b.open,
        b.unclaimed,
        oldest.unwrap_or_default()
    );
    for (what, d, over) in [
        (
            "time to claim",
            stats.time_to_claim,
            "claimed tickets with a known claim time",
        ),
        (
            "time to first response",
            stats.time_to_first_response,
            "tickets answered by staff",
        ),
        ("time to close", stats.time_to_close, "closed tickets"),
    ] {
        println!(
            "{what}: median {}, p90 {} (over {} {over})",
            or_dash(d.median_secs.map(human_secs)),
            or_dash(d.p90_secs.map(human_secs)),
            d.count
        );
    }
    if stats.time_to_close.count > 0 {
        let mut t = table(&["closed within", "tickets"]);
        for (label, n) in ticketbot_report::close_bucket_labels()
            .iter()
            .zip(stats.close_times)
        {
            t.add_row(vec![label.clone(), n.to_string()]);
        }
        println!("{t}");
    }
    if !stats.staff.is_empty() {
        let mut t = table(&[
            "staff",
            "claims",
            "closes",
            "first responses",
            "messages",
            "median response",
        ]);
        for s in &stats.staff {
            t.add_row(vec![
                names.label(s.user_id),
                s.claims.to_string(),
                s.closes.to_string(),
                s.first_responses.to_string(),
                s.messages.to_string(),
                or_dash(s.median_response_secs.map(human_secs)),
            ]);
        }
        println!("{t}");
    }
    if !stats.per_day.is_empty() {
        let mut t = table(&["day", "opened", "closed"]);
        for d in &stats.per_day {
            t.add_row(vec![
                d.date.to_string(),
                d.opened.to_string(),
                d.closed.to_string(),
            ]);
        }
        println!("{t}");
    }
    if let Some(top) = stats
        .busiest_hours
        .iter()
        .max_by_key(|h| (h.opened, std::cmp::Reverse((h.weekday, h.hour))))
    {
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        println!(
            "busiest hour (UTC): {} {:02}:00–{:02}:00, {} opened",
            DAYS[usize::from(top.weekday) % 7],
            top.hour,
            (top.hour + 1) % 24,
            top.opened
        );
    }
}

/// The creators' ratings of the selected tickets, overall and per staff member who claimed or
/// closed the rated ticket.
fn print_feedback(f: &FeedbackSummary, names: &Names) {
    let o = f.overall;
    if o.count() == 0 {
        println!("feedback: no ratings");
        return;
    }
    let spread: Vec<String> = (1..=5)
        .rev()
        .map(|s| format!("{s}★ {}", o.by_stars[s - 1]))
        .collect();
    println!(
        "feedback: average {:.2} over {} ratings ({})",
        o.average().unwrap_or_default(),
        o.count(),
        spread.join(", ")
    );
    if !f.staff.is_empty() {
        let mut t = table(&["staff", "ratings", "average rating"]);
        for s in &f.staff {
            t.add_row(vec![
                names.label(s.user_id),
                s.ratings.count().to_string(),
                or_dash(s.ratings.average().map(|a| format!("{a:.2}"))),
            ]);
        }
        println!("{t}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_only_when_the_indexes_do_not_fit() {
        let mib = 1 << 20;
        let fits = CacheFit {
            cache_bytes: 128 * mib,
            index_bytes: 100 * mib,
        };
        assert_eq!(advice(fits), None);
        let small = CacheFit {
            cache_bytes: 128 * mib,
            index_bytes: 2026 * mib,
        };
        let said = advice(small).expect("advice");
        assert!(said.contains("(128 MiB)"), "{said}");
        assert!(said.contains("(2026 MiB)"), "{said}");
        assert!(said.contains("innodb_buffer_pool_size = 2G"), "{said}");
    }
}
