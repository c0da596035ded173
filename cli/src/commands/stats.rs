//! `ticketctl stats`.

use anyhow::Result;
use ticketbot_common::store::{TicketFilter, TicketStore};

use super::parse_time;
use crate::opt::StatsArgs;
use crate::output::{or_dash, print_json, table};

pub async fn run(store: &dyn TicketStore, args: &StatsArgs) -> Result<()> {
    let filter = TicketFilter {
        guild_id: args.guild,
        since: args
            .since
            .as_deref()
            .map(|s| parse_time("--since", s))
            .transpose()?,
        ..TicketFilter::default()
    };
    let stats = store.stats(&filter).await?;
    if args.json.json {
        return print_json(&stats);
    }
    let c = stats.counts;
    println!(
        "tickets: {} ({} open, {} closed)",
        c.total(),
        c.open,
        c.closed
    );
    let ttc = stats.time_to_close;
    println!(
        "time to close: median {}, p90 {} (over {} closed tickets)",
        or_dash(ttc.median_secs.map(crate::output::human_secs)),
        or_dash(ttc.p90_secs.map(crate::output::human_secs)),
        ttc.count
    );
    if !stats.staff.is_empty() {
        let mut t = table(&["staff", "claims", "closes"]);
        for s in &stats.staff {
            t.add_row(vec![
                s.user_id.to_string(),
                s.claims.to_string(),
                s.closes.to_string(),
            ]);
        }
        println!("{t}");
    }
    if !stats.per_day.is_empty() {
        let mut t = table(&["day", "opened"]);
        for d in &stats.per_day {
            t.add_row(vec![d.date.to_string(), d.opened.to_string()]);
        }
        println!("{t}");
    }
    Ok(())
}
