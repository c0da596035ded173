//! `ticketctl list`: newest first, keyset-paginated.

use anyhow::Result;
use chrono::Utc;
use ticketbot_common::store::{load_names, ClaimFilter, Cursor, TicketFilter, TicketStore};
use ticketbot_common::ticket::TicketStatus;

use super::parse_time;
use crate::error::Usage;
use crate::opt::{ListArgs, StatusArg};
use crate::output::{human_duration, or_dash, print_json, table, TicketJson};

pub fn filter(args: &ListArgs) -> Result<TicketFilter> {
    Ok(TicketFilter {
        guild_id: args.guild,
        status: match args.status {
            StatusArg::Open => Some(TicketStatus::Open),
            StatusArg::Closed => Some(TicketStatus::Closed),
            StatusArg::All => None,
        },
        creator_id: args.creator,
        claim: match (args.claimed_by, args.unclaimed) {
            (Some(u), _) => ClaimFilter::By(u),
            (None, true) => ClaimFilter::Unclaimed,
            (None, false) => ClaimFilter::Any,
        },
        since: args
            .since
            .as_deref()
            .map(|s| parse_time("--since", s))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|s| parse_time("--until", s))
            .transpose()?,
        topic: args.topic.clone(),
    })
}

pub async fn run(store: &dyn TicketStore, args: &ListArgs) -> Result<()> {
    let filter = filter(args)?;
    let after = args
        .after
        .as_deref()
        .map(|c| {
            c.parse::<Cursor>()
                .map_err(|e| Usage(format!("--after: {e}")))
        })
        .transpose()?;
    let page = store.list(&filter, args.limit, after.as_ref()).await?;
    if args.json.json {
        let tickets: Vec<TicketJson> = page.tickets.iter().map(TicketJson::from).collect();
        print_json(&tickets)?;
    } else if page.tickets.is_empty() {
        eprintln!("no tickets match");
    } else {
        let names = load_names(
            store,
            page.tickets
                .iter()
                .flat_map(|t| [Some(t.creator_id), t.claimed_by])
                .flatten(),
        )
        .await?;
        let now = Utc::now();
        let mut t = table(&[
            "short id",
            "status",
            "creator",
            "claimed by",
            "channel",
            "age",
        ]);
        for ticket in &page.tickets {
            t.add_row(vec![
                ticket.short_id(),
                ticket.status.to_string(),
                names.label(ticket.creator_id),
                or_dash(ticket.claimed_by.map(|id| names.label(id))),
                or_dash(ticket.channel_id),
                human_duration(now - ticket.created_at),
            ]);
        }
        println!("{t}");
    }
    if let Some(next) = page.next {
        eprintln!("more: ticketctl list ... --after {next}");
    }
    Ok(())
}
