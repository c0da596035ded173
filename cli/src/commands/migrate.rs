//! `ticketctl migrate`: stream every record to another backend with idempotent upserts (a
//! re-run after any interruption ends identical), then verify counts and per-record checksums.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures::stream::BoxStream;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use ticketbot_common::config::DbConfig;
use ticketbot_common::store::{Record, RecordCounts, TicketRecord, TicketStore};
use ticketbot_common::TicketEvent;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::connect::{connect, connect_existing, same_database, target_config};
use crate::error::Usage;
use crate::opt::MigrateArgs;
use crate::output::print_json;

#[derive(Debug, Serialize)]
pub struct Summary {
    pub source: String,
    pub target: String,
    pub copied: RecordCounts,
    pub seconds: f64,
    pub records_per_sec: f64,
    pub verified: bool,
    /// Sum of the per-record checksums, equal on both sides.
    pub checksum: String,
}

pub async fn run(
    source_config: &DbConfig,
    vars: &ticketbot_common::config::Vars,
    args: &MigrateArgs,
) -> Result<()> {
    let target_config = target_config(&args.target, vars)?;
    refuse_same(source_config, &target_config)?;
    let source = connect_existing(source_config).await?;
    let result = async {
        if args.dry_run {
            let counts = source.record_counts().await?;
            if args.json.json {
                return print_json(&counts);
            }
            println!(
                "would copy {} from {} to {}",
                describe(&counts),
                source_config.target(),
                target_config.target()
            );
            return Ok(());
        }
        let target = connect(&target_config).await?;
        let summary = copy_and_verify(
            source.clone(),
            target,
            source_config,
            &target_config,
            args.batch,
        )
        .await?;
        if args.json.json {
            print_json(&summary)
        } else {
            print_summary(&summary);
            Ok(())
        }
    }
    .await;
    source.close().await;
    result
}

pub fn refuse_same(source: &DbConfig, target: &DbConfig) -> Result<()> {
    if same_database(source, target) {
        return Err(Usage(format!(
            "the target is the database already in use ({}); name another one",
            target.target()
        ))
        .into());
    }
    Ok(())
}

/// `N tickets (P participants), E history events, T transcripts, C overflow categories, K
/// names, M staff message counts, R close requests, A last-message times, F ratings, P topics
/// and Q topic forms`.
pub fn describe(c: &RecordCounts) -> String {
    format!(
        "{} tickets ({} participants), {} history events, {} transcripts, {} overflow categories, {} names, {} staff message counts, {} close requests, {} last-message times, {} ratings, {} topics and {} topic forms",
        c.tickets,
        c.participants,
        c.events,
        c.transcripts,
        c.categories,
        c.names,
        c.staff_messages,
        c.close_requests,
        c.activity,
        c.feedback,
        c.topics,
        c.ticket_forms
    )
}

/// Every record a migrate copies one by one (participants travel inside their ticket).
fn record_total(c: &RecordCounts) -> u64 {
    c.tickets
        + c.events
        + c.transcripts
        + c.categories
        + c.names
        + c.staff_messages
        + c.close_requests
        + c.activity
        + c.feedback
        + c.topics
        + c.ticket_forms
}

pub fn print_summary(s: &Summary) {
    println!(
        "copied {} from {} to {} in {:.1}s ({:.0} records/s)",
        describe(&s.copied),
        s.source,
        s.target,
        s.seconds,
        s.records_per_sec
    );
    println!(
        "verified: counts equal, every record identical (checksum {})",
        s.checksum
    );
}

/// Copies, then verifies; Ctrl-C stops cleanly (a re-run resumes).
pub async fn copy_and_verify(
    source: Arc<dyn TicketStore>,
    target: Arc<dyn TicketStore>,
    source_config: &DbConfig,
    target_config: &DbConfig,
    batch: u32,
) -> Result<Summary> {
    let work = async {
        let started = Instant::now();
        let copied = copy(source.clone(), target.clone(), batch).await?;
        let seconds = started.elapsed().as_secs_f64();
        let checksum = verify(source.clone(), target.clone(), batch).await?;
        let records = record_total(&copied);
        Ok::<_, anyhow::Error>(Summary {
            source: source_config.target(),
            target: target_config.target(),
            copied,
            seconds,
            records_per_sec: records as f64 / seconds.max(1e-9),
            verified: true,
            checksum: format!("{checksum:016x}"),
        })
    };
    let result = tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted; run the same command again to resume (records already copied are overwritten identically)")),
    };
    // Closed before the runtime stops: MongoDB's driver panics in a background task when
    // the runtime drops a pool's worker before a connection request reaches it. The source
    // is the caller's to close.
    target.close().await;
    result
}

fn progress(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} records  {per_sec}  ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

async fn copy(
    source: Arc<dyn TicketStore>,
    target: Arc<dyn TicketStore>,
    batch: u32,
) -> Result<RecordCounts> {
    let total = source.record_counts().await?;
    let bar = progress(record_total(&total));
    let mut copied = RecordCounts::default();
    // An empty SQLite target takes the rows without its secondary indexes, built at the end.
    let bulk = target
        .begin_bulk_load()
        .await
        .context("preparing the target for the copy")?;
    let mut tickets = Vec::with_capacity(batch as usize);
    let mut events = Vec::with_capacity(batch as usize);
    let mut small = SmallRecords::default();
    let mut tickets_written = false;
    let mut writes = Writes {
        running: tokio::task::JoinSet::new(),
        bar: bar.clone(),
    };
    // The source is read ahead by a task of its own while the target writes.
    let (mut records, reader) = read_ahead(source.clone().stream_all(batch), 2 * batch as usize);
    while let Some(record) = records.recv().await {
        let record = record.context("reading the source")?;
        match record {
            Record::Ticket(t) => {
                copied.tickets += 1;
                copied.participants += t.participants.len() as u64;
                tickets.push(*t);
            }
            Record::Event(e) => {
                copied.events += 1;
                events.push(e);
            }
            // Transcripts are large: each is written as it comes (the stream holds few).
            Record::Transcript(t) => {
                // After the tickets they belong to are written.
                writes.drain().await?;
                target
                    .put_transcript(&t)
                    .await
                    .with_context(|| format!("writing the transcript of ticket {}", t.ticket_id))?;
                copied.transcripts += 1;
                bar.inc(1);
            }
            Record::Category(c) => {
                if let Some(other) = target
                    .add_overflow_category(&c)
                    .await
                    .context("writing an overflow category to the target")?
                {
                    bail!(
                        "the target records category {} as number {} beside {} already, not {} (was the target empty?)",
                        other.category_id, other.number, other.base_id, c.category_id
                    );
                }
                copied.categories += 1;
                bar.inc(1);
            }
            Record::StaffMessages(m) => {
                small.staff_messages.push(m);
                copied.staff_messages += 1;
                bar.inc(1);
            }
            Record::CloseRequest(r) => {
                small.close_requests.push(r);
                copied.close_requests += 1;
                bar.inc(1);
            }
            Record::Activity(a) => {
                small.activity.push(a);
                copied.activity += 1;
                bar.inc(1);
            }
            Record::Feedback(f) => {
                if !tickets_written {
                    // A rating is copied onto its ticket's row: every ticket goes first (the
                    // stream holds them all before any rating).
                    writes
                        .tickets(&target, std::mem::take(&mut tickets))
                        .await?;
                    writes.drain().await?;
                    tickets_written = true;
                }
                small.feedback.push(f);
                copied.feedback += 1;
                bar.inc(1);
            }
            Record::Topic(t) => {
                small.topics.push(*t);
                copied.topics += 1;
                bar.inc(1);
            }
            Record::TicketForm(f) => {
                small.ticket_forms.push(*f);
                copied.ticket_forms += 1;
                bar.inc(1);
            }
            Record::Name(n) => {
                small.names.push(n);
                copied.names += 1;
                bar.inc(1);
            }
        }
        small.write(&target, batch as usize).await?;
        if tickets.len() >= batch as usize {
            writes
                .tickets(&target, std::mem::take(&mut tickets))
                .await?;
        }
        if events.len() >= batch as usize {
            writes.events(&target, std::mem::take(&mut events)).await?;
        }
    }
    writes.tickets(&target, tickets).await?;
    writes.events(&target, events).await?;
    writes.drain().await?;
    small.write(&target, 1).await?;
    reader.await.context("reading the source")?;
    if bulk {
        bar.set_message("building the target's indexes");
        target
            .finish_bulk_load()
            .await
            .context("building the target's indexes")?;
    }
    bar.finish_and_clear();
    Ok(copied)
}

/// The small record kinds, buffered and written a batch at a time.
#[derive(Default)]
struct SmallRecords {
    names: Vec<ticketbot_common::names::Name>,
    staff_messages: Vec<ticketbot_common::store::StaffMessages>,
    close_requests: Vec<ticketbot_common::close_request::CloseRequest>,
    activity: Vec<ticketbot_common::auto_close::TicketActivity>,
    feedback: Vec<ticketbot_common::feedback::Feedback>,
    topics: Vec<ticketbot_common::topics::Topic>,
    ticket_forms: Vec<ticketbot_common::topics::TicketForm>,
}

impl SmallRecords {
    /// Writes each kind that holds at least `at_least` records (1: whatever is left).
    async fn write(&mut self, target: &Arc<dyn TicketStore>, at_least: usize) -> Result<()> {
        let full = |n: usize| n > 0 && n >= at_least;
        if full(self.names.len()) {
            let rows = std::mem::take(&mut self.names);
            target
                .remember_names(&rows)
                .await
                .context("writing names to the target")?;
        }
        if full(self.staff_messages.len()) {
            let rows = std::mem::take(&mut self.staff_messages);
            target
                .import_staff_messages(&rows)
                .await
                .context("writing staff message counts to the target")?;
        }
        if full(self.close_requests.len()) {
            let rows = std::mem::take(&mut self.close_requests);
            target
                .import_close_requests(&rows)
                .await
                .context("writing close requests to the target")?;
        }
        if full(self.activity.len()) {
            let rows = std::mem::take(&mut self.activity);
            target
                .import_activity(&rows)
                .await
                .context("writing last-message times to the target")?;
        }
        if full(self.feedback.len()) {
            let rows = std::mem::take(&mut self.feedback);
            target
                .import_feedback(&rows)
                .await
                .context("writing ratings to the target")?;
        }
        if full(self.topics.len()) {
            let rows = std::mem::take(&mut self.topics);
            target
                .import_topics(&rows)
                .await
                .context("writing topics to the target")?;
        }
        if full(self.ticket_forms.len()) {
            let rows = std::mem::take(&mut self.ticket_forms);
            target
                .import_ticket_forms(&rows)
                .await
                .context("writing topic forms to the target")?;
        }
        Ok(())
    }
}

/// Batches written at once: a server (MySQL, MongoDB) takes them in parallel; SQLite queues
/// them on its one writer, in the order they come.
const WRITES_AT_ONCE: usize = 3;

/// The batches being written to the target.
struct Writes {
    running: tokio::task::JoinSet<Result<u64>>,
    bar: ProgressBar,
}

impl Writes {
    async fn tickets(
        &mut self,
        target: &Arc<dyn TicketStore>,
        batch: Vec<TicketRecord>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let target = target.clone();
        self.start(async move {
            target
                .import_tickets(&batch)
                .await
                .context("writing tickets to the target")?;
            Ok(batch.len() as u64)
        })
        .await
    }

    async fn events(
        &mut self,
        target: &Arc<dyn TicketStore>,
        batch: Vec<TicketEvent>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let target = target.clone();
        self.start(async move {
            target
                .import_events(&batch)
                .await
                .context("writing history to the target")?;
            Ok(batch.len() as u64)
        })
        .await
    }

    async fn start(
        &mut self,
        write: impl std::future::Future<Output = Result<u64>> + Send + 'static,
    ) -> Result<()> {
        while self.running.len() >= WRITES_AT_ONCE {
            self.finish_one().await?;
        }
        self.running.spawn(write);
        Ok(())
    }

    async fn finish_one(&mut self) -> Result<()> {
        if let Some(done) = self.running.join_next().await {
            let written = done.context("a write to the target stopped")??;
            self.bar.inc(written);
        }
        Ok(())
    }

    /// Waits for every batch under way.
    async fn drain(&mut self) -> Result<()> {
        while !self.running.is_empty() {
            self.finish_one().await?;
        }
        Ok(())
    }
}

/// Runs `stream` on a task of its own, up to `capacity` items ahead of the receiver. The task
/// stops when the receiver is dropped.
fn read_ahead<T: Send + 'static>(
    mut stream: BoxStream<'static, T>,
    capacity: usize,
) -> (mpsc::Receiver<T>, JoinHandle<()>) {
    let (ahead, received) = mpsc::channel(capacity.max(1));
    let task = tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            if ahead.send(item).await.is_err() {
                break;
            }
        }
    });
    (received, task)
}

fn checksum(record: &Record) -> u64 {
    // The serde form covers every field; the hasher's keys are fixed, so equal records hash
    // equal on both sides.
    let mut h = DefaultHasher::new();
    match record {
        Record::Ticket(t) => serde_json::to_string(t).unwrap_or_default().hash(&mut h),
        Record::Event(e) => serde_json::to_string(e).unwrap_or_default().hash(&mut h),
        // Field by field: the bytes hashed as bytes (JSON would spell out every one).
        Record::Transcript(t) => {
            "transcript".hash(&mut h);
            t.ticket_id.hash(&mut h);
            t.guild_id.hash(&mut h);
            t.created_at.timestamp_micros().hash(&mut h);
            t.message_count.hash(&mut h);
            t.data.hash(&mut h);
        }
        Record::Category(c) => serde_json::to_string(c).unwrap_or_default().hash(&mut h),
        Record::Name(n) => serde_json::to_string(n).unwrap_or_default().hash(&mut h),
        Record::StaffMessages(m) => serde_json::to_string(m).unwrap_or_default().hash(&mut h),
        Record::CloseRequest(r) => serde_json::to_string(r).unwrap_or_default().hash(&mut h),
        Record::Activity(a) => serde_json::to_string(a).unwrap_or_default().hash(&mut h),
        Record::Feedback(f) => serde_json::to_string(f).unwrap_or_default().hash(&mut h),
        Record::Topic(t) => serde_json::to_string(t).unwrap_or_default().hash(&mut h),
        Record::TicketForm(f) => serde_json::to_string(f).unwrap_or_default().hash(&mut h),
    }
    h.finish()
}

fn key(record: &Record) -> String {
    match record {
        Record::Ticket(t) => format!("ticket {}", t.ticket.id),
        Record::Event(e) => format!("history event {}", e.id),
        Record::Transcript(t) => format!("transcript of ticket {}", t.ticket_id),
        Record::Category(c) => format!("overflow category {}", c.category_id),
        Record::Name(n) => format!("name of {}", n.id),
        Record::StaffMessages(m) => format!(
            "message count of {} in guild {} at hour {}",
            m.user_id, m.guild_id, m.hour
        ),
        Record::CloseRequest(r) => format!("close request of ticket {}", r.ticket_id),
        Record::Activity(a) => format!("last message time of ticket {}", a.ticket_id),
        Record::Feedback(f) => format!("rating of ticket {}", f.ticket_id),
        Record::Topic(t) => format!("topic {} ({})", t.id, t.name),
        Record::TicketForm(f) => format!("topic form of ticket {}", f.ticket_id),
    }
}

/// Both sides in the same order, record by record. Returns the combined checksum.
async fn verify(
    source: Arc<dyn TicketStore>,
    target: Arc<dyn TicketStore>,
    batch: u32,
) -> Result<u64> {
    let (a, b) = (source.record_counts().await?, target.record_counts().await?);
    if a != b {
        bail!(
            "verification failed: the source has {}; the target {} (was the target empty?)",
            describe(&a),
            describe(&b)
        );
    }
    // Both sides are read, and their checksums computed, on tasks of their own, in parallel.
    let summed = |store: Arc<dyn TicketStore>| {
        let stream = store
            .stream_all(batch)
            .map(|r| r.map(|record| (checksum(&record), record)))
            .boxed();
        read_ahead(stream, batch as usize).0
    };
    let (mut left, mut right) = (summed(source), summed(target));
    let mut sum = 0u64;
    loop {
        match (
            left.recv().await.transpose()?,
            right.recv().await.transpose()?,
        ) {
            (None, None) => return Ok(sum),
            (Some((cx, x)), Some((cy, y))) => {
                if cx != cy {
                    bail!(
                        "verification failed: {} differs from the target's {}",
                        key(&x),
                        key(&y)
                    );
                }
                sum = sum.wrapping_add(cx);
            }
            (Some((_, x)), None) => bail!(
                "verification failed: {} is missing from the target",
                key(&x)
            ),
            (None, Some((_, y))) => {
                bail!("verification failed: the target has an extra {}", key(&y))
            }
        }
    }
}
