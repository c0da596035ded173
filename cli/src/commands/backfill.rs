//! `ticketctl backfill [--dry-run]`: what saved transcripts know that the database does not —
//! for tickets that predate it, the first staff response (the first message by someone other
//! than the creator, a participant or a bot), and the names of the people and roles in them.
//! Idempotent: a first response already known is kept (the write is conditional), and a name
//! seen later than the transcript is kept.

use anyhow::{Context, Result};
use serde::Serialize;
use ticketbot_common::names::{Name, NameKind};
use ticketbot_common::store::TicketStore;
use ticketbot_transcript as tr;

use crate::opt::BackfillArgs;
use crate::output::print_json;

/// Transcripts read per page (each can be large).
const PAGE: u32 = 4;

#[derive(Debug, Default, Serialize)]
struct Counts {
    transcripts: u64,
    first_responses: u64,
    already_known: u64,
    without_staff_message: u64,
    /// Transcripts of deleted tickets (no row to record on).
    deleted_tickets: u64,
    unreadable: u64,
    names: u64,
}

pub async fn run(store: &dyn TicketStore, args: &BackfillArgs) -> Result<()> {
    let mut c = Counts::default();
    let mut after = None;
    loop {
        let page = store
            .export_transcripts(after, PAGE)
            .await
            .context("reading transcripts")?;
        let Some(last) = page.last() else { break };
        after = Some(last.ticket_id);
        for blob in page {
            c.transcripts += 1;
            let t = match tr::decode(&blob.data) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!(
                        "the transcript of ticket {} cannot be read ({e}); skipped",
                        blob.ticket_id
                    );
                    c.unreadable += 1;
                    continue;
                }
            };
            let names = names_in(&t);
            c.names += names.len() as u64;
            if !args.dry_run {
                store.remember_names(&names).await?;
            }
            let Some(ticket) = store.get(blob.ticket_id).await? else {
                c.deleted_tickets += 1;
                continue;
            };
            if ticket.first_response_at.is_some() {
                c.already_known += 1;
                continue;
            }
            let Some(m) = t.first_staff_message() else {
                c.without_staff_message += 1;
                continue;
            };
            let recorded = args.dry_run
                || store
                    .record_first_response(ticket.id, m.author_id, m.timestamp)
                    .await?;
            if recorded {
                c.first_responses += 1;
            } else {
                c.already_known += 1;
            }
        }
    }
    if args.json.json {
        return print_json(&c);
    }
    let verb = if args.dry_run {
        "would record"
    } else {
        "recorded"
    };
    println!(
        "{} transcripts read: {verb} {} first responses ({} already known, {} without a staff message, {} of deleted tickets, {} unreadable) and {} names",
        c.transcripts,
        c.first_responses,
        c.already_known,
        c.without_staff_message,
        c.deleted_tickets,
        c.unreadable,
        c.names
    );
    Ok(())
}

/// The people (not bots) and roles of a transcript, as seen when it was made.
fn names_in(t: &tr::Transcript) -> Vec<Name> {
    let at = t.generated_at;
    t.users
        .iter()
        .filter(|u| !u.bot)
        .map(|u| Name::seen(u.id, NameKind::User, u.shown_name(), None, at))
        .chain(
            t.roles
                .iter()
                .map(|r| Name::seen(r.id, NameKind::Role, &r.name, None, at)),
        )
        .collect()
}
