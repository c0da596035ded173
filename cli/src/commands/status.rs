//! `ticketctl status`.

use anyhow::Result;
use serde::Serialize;
use ticketbot_common::config::DbConfig;
use ticketbot_common::store::{RecordCounts, StatusCounts, TicketFilter, TicketStore, LIVE_WITHIN};

use crate::output::{print_json, rfc3339};

#[derive(Serialize)]
struct Status {
    backend: String,
    target: String,
    schema_version: i64,
    tickets: StatusCounts,
    records: RecordCounts,
    bot_running: bool,
    bots: Vec<Bot>,
}

#[derive(Serialize)]
struct Bot {
    instance_id: String,
    details: String,
    started_at: String,
    seen_at: String,
}

pub async fn run(store: &dyn TicketStore, config: &DbConfig, json: bool) -> Result<()> {
    let bots = store
        .heartbeats_since(chrono::Utc::now() - LIVE_WITHIN)
        .await?
        .into_iter()
        .map(|h| Bot {
            instance_id: h.instance_id,
            details: h.details,
            started_at: rfc3339(h.started_at),
            seen_at: rfc3339(h.seen_at),
        })
        .collect::<Vec<_>>();
    let status = Status {
        backend: store.backend().to_string(),
        target: config.target(),
        schema_version: store.schema_version().await?,
        tickets: store.count(&TicketFilter::default()).await?,
        records: store.record_counts().await?,
        bot_running: !bots.is_empty(),
        bots,
    };
    if json {
        return print_json(&status);
    }
    println!("backend:        {}", status.backend);
    println!("database:       {}", status.target);
    println!("schema version: {}", status.schema_version);
    println!(
        "tickets:        {} ({} open, {} closed)",
        status.tickets.total(),
        status.tickets.open,
        status.tickets.closed
    );
    println!(
        "records:        {} tickets, {} participants, {} history events, {} transcripts, {} overflow categories, {} names, {} staff message counts, {} close requests, {} last-message times, {} ratings, {} topics, {} topic forms",
        status.records.tickets,
        status.records.participants,
        status.records.events,
        status.records.transcripts,
        status.records.categories,
        status.records.names,
        status.records.staff_messages,
        status.records.close_requests,
        status.records.activity,
        status.records.feedback,
        status.records.topics,
        status.records.ticket_forms
    );
    if status.bots.is_empty() {
        println!(
            "bot:            not running (no heartbeat in the last {}s)",
            LIVE_WITHIN.num_seconds()
        );
    }
    for b in &status.bots {
        println!(
            "bot:            running: {} ({}), last seen {}",
            b.instance_id, b.details, b.seen_at
        );
    }
    Ok(())
}
