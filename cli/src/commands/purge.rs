//! `ticketctl purge`: removes closed tickets for good (records, history, transcripts), by age
//! or for one user who asked for their data to be erased. Counts first, asks before acting
//! (`--yes` to skip), and leaves a `purged` entry in the history as its audit line.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result};
use serde::Serialize;
use ticketbot_common::store::{PurgeCounts, PurgeQuery, TicketStore};
use ticketbot_common::ticket::now;

use crate::commands::parse_time;
use crate::error::Usage;
use crate::opt::PurgeArgs;
use crate::output::print_json;

#[derive(Debug, Serialize)]
struct Outcome {
    dry_run: bool,
    #[serde(flatten)]
    counts: PurgeCounts,
}

fn describe(c: &PurgeCounts) -> String {
    format!(
        "{} tickets and the history of {} deleted tickets ({} history events, {} transcripts)",
        c.tickets, c.deleted_histories, c.events, c.transcripts
    )
}

pub async fn run(store: &dyn TicketStore, args: &PurgeArgs) -> Result<()> {
    let query = PurgeQuery {
        guild_id: args.guild,
        closed_before: args
            .closed_before
            .as_deref()
            .map(|s| parse_time("--closed-before", s))
            .transpose()?,
        user_id: args.user,
    };
    if query.closed_before.is_none() && query.user_id.is_none() {
        return Err(Usage(
            "say what to purge: --closed-before AGE (e.g. 365d) or --user ID".into(),
        )
        .into());
    }
    let planned = store.purge(&query, true, now()).await?;
    if args.dry_run {
        if args.json.json {
            return print_json(&Outcome {
                dry_run: true,
                counts: planned,
            });
        }
        println!("would purge {}", describe(&planned));
        skipped_note(&planned);
        return Ok(());
    }
    if planned.tickets + planned.deleted_histories == 0 {
        if args.json.json {
            return print_json(&Outcome {
                dry_run: false,
                counts: planned,
            });
        }
        println!("nothing to purge");
        skipped_note(&planned);
        return Ok(());
    }
    if !args.yes && !confirm(&planned)? {
        eprintln!("nothing purged");
        return Ok(());
    }
    let done = store.purge(&query, false, now()).await?;
    // The audit line: in the database (a `purged` history event) and here.
    eprintln!(
        "audit: purged {} at {} (query: closed before {:?}, user {:?}, guild {:?})",
        describe(&done),
        now().format("%Y-%m-%d %H:%M:%S UTC"),
        query.closed_before,
        query.user_id,
        query.guild_id
    );
    if args.json.json {
        return print_json(&Outcome {
            dry_run: false,
            counts: done,
        });
    }
    println!("purged {}", describe(&done));
    skipped_note(&done);
    Ok(())
}

fn skipped_note(c: &PurgeCounts) {
    if c.skipped_with_channel > 0 {
        eprintln!(
            "note: {} matching closed tickets still have a Discord channel and were left alone; archive them first (ticketctl archive --closed-before ...)",
            c.skipped_with_channel
        );
    }
}

fn confirm(planned: &PurgeCounts) -> Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Usage(format!(
            "this would purge {} for good; run again with --yes to confirm (standard input is not a terminal to ask)",
            describe(planned)
        ))
        .into());
    }
    eprint!(
        "Purge {} for good? This cannot be undone. [y/N] ",
        describe(planned)
    );
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
