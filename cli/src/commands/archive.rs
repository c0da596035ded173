//! `ticketctl archive --closed-before AGE`: asks the running bot to archive closed tickets
//! (save the transcript, delete the channel). Only the bot talks to Discord, so this marks the
//! tickets in the database, as `force-close` does, and the bot does the rest within seconds.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use ticketbot_common::store::{ArchiveQuery, TicketStore, LIVE_WITHIN};
use ticketbot_common::ticket::now;

use crate::commands::parse_time;
use crate::opt::ArchiveArgs;
use crate::output::print_json;

#[derive(Debug, Serialize)]
struct Outcome {
    dry_run: bool,
    /// Tickets matching (dry run) or marked for the bot.
    tickets: u64,
    bot_running: bool,
    /// With --wait: how many are still waiting for the bot.
    #[serde(skip_serializing_if = "Option::is_none")]
    still_waiting: Option<u64>,
}

/// How long `--wait` waits for the bot at most.
const WAIT_AT_MOST: Duration = Duration::from_secs(600);

pub async fn run(store: &dyn TicketStore, args: &ArchiveArgs) -> Result<()> {
    let query = ArchiveQuery {
        guild_id: args.guild,
        closed_before: Some(parse_time("--closed-before", &args.closed_before)?),
        requested: false,
    };
    let bot_running = !store
        .heartbeats_since(chrono::Utc::now() - LIVE_WITHIN)
        .await?
        .is_empty();
    if args.dry_run {
        let tickets = store.count_archivable(&query).await?;
        if args.json.json {
            return print_json(&Outcome {
                dry_run: true,
                tickets,
                bot_running,
                still_waiting: None,
            });
        }
        println!("would archive {tickets} closed tickets (transcript saved, channel deleted)");
        for t in store.archivable(&query, 20).await? {
            let closed = t
                .closed_at
                .map_or_else(String::new, |c| c.format("%Y-%m-%d %H:%M").to_string());
            println!(
                "  {}  closed {closed}  creator {}",
                t.short_id(),
                t.creator_id
            );
        }
        if tickets > 20 {
            println!("  ... and {} more", tickets - 20);
        }
        return Ok(());
    }
    let tickets = store.request_archive(&query, now()).await?;
    let json = args.json.json;
    // Said before any waiting: with --wait and no bot, nothing happens until one starts.
    if !json {
        println!("asked the bot to archive {tickets} closed tickets");
        if !bot_running {
            eprintln!(
                "note: no bot is running on this database; they will be archived when it starts"
            );
        }
    }
    let mut still_waiting = None;
    if args.wait && tickets > 0 {
        still_waiting = Some(wait(store, &query, json).await?);
    }
    if json {
        return print_json(&Outcome {
            dry_run: false,
            tickets,
            bot_running,
            still_waiting,
        });
    }
    match still_waiting {
        Some(0) => println!("all archived"),
        Some(n) => eprintln!("{n} still waiting after {}s", WAIT_AT_MOST.as_secs()),
        None => {}
    }
    Ok(())
}

/// Waits until the bot has archived every requested ticket; returns how many are left.
async fn wait(store: &dyn TicketStore, query: &ArchiveQuery, quiet: bool) -> Result<u64> {
    let requested = ArchiveQuery {
        guild_id: query.guild_id,
        closed_before: None,
        requested: true,
    };
    let start = Instant::now();
    loop {
        let left = store.count_archivable(&requested).await?;
        if left == 0 || start.elapsed() > WAIT_AT_MOST {
            return Ok(left);
        }
        if !quiet {
            eprintln!("waiting for the bot: {left} left");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
