//! Create → claim → close cycles, from many tasks at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use chrono::{DateTime, Utc};
use ticketbot_common::store::CreateOutcome;
use ticketbot_common::ticket::now;
use ticketbot_common::{TicketStatus, TicketStore, Transition};
use uuid::Uuid;

use super::gen::{MAIN_GUILD, STAFF_BASE};

use super::*;

pub(super) struct CycleResult {
    wall: Duration,
    latencies: Vec<Duration>,
    errors: u64,
    /// `(created_at, id)` of every ticket the cycles created (all closed, in the main guild).
    pub(super) created: Vec<(DateTime<Utc>, Uuid)>,
}

impl CycleResult {
    pub(super) fn report(&self, report: &mut Report, when: &str) {
        let ok = self.latencies.len() as f64;
        let secs = self.wall.as_secs_f64();
        report.row(format!("cycles/s ({when})"), format!("{:.1}", ok / secs));
        report.row(
            format!("store ops/s, 3 per cycle ({when})"),
            format!("{:.1}", 3.0 * ok / secs),
        );
        report.row(
            format!("cycle ms p50 / p99 ({when})"),
            format!(
                "{:.2} / {:.2}",
                ms(percentile(&self.latencies, 0.5)),
                ms(percentile(&self.latencies, 0.99))
            ),
        );
        if self.errors > 0 {
            report.row(format!("cycle errors ({when})"), self.errors.to_string());
        }
    }
}

/// `cycles` create → claim → close cycles spread over `concurrency` tasks.
pub(super) async fn run_cycles(
    store: &Arc<dyn TicketStore>,
    cycles: u64,
    concurrency: usize,
    creator_base: u64,
) -> Result<CycleResult> {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let store = store.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut first_error = None;
                let mut created = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= cycles {
                        break;
                    }
                    let t0 = Instant::now();
                    match one_cycle(&*store, creator_base + i, &mut created).await {
                        Ok(()) => latencies.push(t0.elapsed()),
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| format!("{e:#}"));
                        }
                    }
                }
                (latencies, errors, first_error, created)
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    let mut created = Vec::new();
    for worker in workers {
        let (l, e, first, c) = worker.await?;
        latencies.extend(l);
        errors += e;
        first_error = first_error.or(first);
        created.extend(c);
    }
    let wall = start.elapsed();
    latencies.sort();
    if let Some(e) = first_error {
        ensure!(!latencies.is_empty(), "every cycle failed; the first: {e}");
        eprintln!("  {errors} cycles failed; the first: {e}");
    }
    Ok(CycleResult {
        wall,
        latencies,
        errors,
        created,
    })
}

async fn one_cycle(
    store: &dyn TicketStore,
    creator: u64,
    created: &mut Vec<(DateTime<Utc>, Uuid)>,
) -> Result<()> {
    let ticket = match store.create_ticket(MAIN_GUILD, creator, 1, now()).await? {
        CreateOutcome::Created(t) => t,
        CreateOutcome::LimitReached { .. } => bail!("creator {creator} hit the open limit"),
    };
    created.push((ticket.created_at, ticket.id));
    let staff = STAFF_BASE + creator % 20;
    let claimed = store
        .transition(
            ticket.id,
            &Transition::Claim {
                by: staff,
                at: now(),
            },
        )
        .await?;
    ensure!(claimed.claimed_by == Some(staff), "claim not applied");
    let closed = store
        .transition(
            ticket.id,
            &Transition::Close {
                by: Some(staff),
                reason: Some("benchmark".into()),
                at: now(),
                forced: false,
            },
        )
        .await?;
    ensure!(closed.status == TicketStatus::Closed, "close not applied");
    Ok(())
}
