//! `ticketctl force-close`: close a ticket in the database. A running bot notices the
//! `force_closed` event and locks and moves the channel.

use anyhow::Result;
use ticketbot_common::rules::{RuleError, Transition};
use ticketbot_common::store::TicketStore;
use ticketbot_common::ticket::now;
use ticketbot_common::StoreError;

use crate::opt::ForceCloseArgs;
use crate::output::{print_json, TicketJson};
use crate::resolve;

pub async fn run(store: &dyn TicketStore, args: &ForceCloseArgs) -> Result<()> {
    let ticket = resolve::resolve(store, &args.id).await?;
    let close = Transition::Close {
        by: None,
        reason: args.reason.clone(),
        at: now(),
        forced: true,
    };
    match store.transition(ticket.id, &close).await {
        Ok(closed) => {
            if args.json.json {
                print_json(&TicketJson::from(&closed))?;
            } else {
                println!("closed ticket {} ({})", closed.short_id(), closed.id);
            }
            Ok(())
        }
        Err(StoreError::Rule(RuleError::AlreadyClosed)) => {
            // Idempotent: the ticket is closed, which is what was asked.
            if args.json.json {
                print_json(&TicketJson::from(&ticket))?;
            }
            eprintln!("ticket {} is already closed", ticket.short_id());
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
