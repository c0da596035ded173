//! `store-bench`: measures the ticket store on each backend, each on a fresh database that is
//! dropped afterwards, and prints one side-by-side table.
//!
//! Per backend: create → claim → close cycles (on the empty database, and again once seeded),
//! seeding N tickets with `import_tickets`, then the read calls on the N-ticket database, the
//! process's peak RSS after seeding, and the query plans the server chooses for the store's
//! statements.

mod cycle_runs;
mod db;
mod gen;
mod reads;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use chrono::{DateTime, Utc};
use clap::{Parser, ValueEnum};
use ticketbot_common::store::{Cursor, TicketFilter, TicketRecord};
use ticketbot_common::ticket::now;
use ticketbot_common::{open_store, TicketStore};

use cycle_runs::run_cycles;
use db::Target;
use gen::{Rng, Sample, CYCLE_CREATOR_BASE};
use reads::{expected_deep_pages, reads};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    Sqlite,
    Mysql,
    Mongodb,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Sqlite => "sqlite",
            Which::Mysql => "mysql",
            Which::Mongodb => "mongodb",
        }
    }
}

/// Benchmark of the ticket store. Each backend gets a fresh database (SQLite: a temporary
/// file; MySQL and MongoDB: the database named below, DROPPED before and after the run).
#[derive(Debug, Parser)]
#[command(name = "store-bench")]
pub struct Args {
    /// Backends to measure, in order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,mysql,mongodb"
    )]
    backends: Vec<Which>,
    /// Tickets to seed before the read measurements.
    #[arg(long, default_value_t = 1_000_000)]
    tickets: u64,
    /// Tickets to seed on MongoDB (default: --tickets); nx-27017 is slow on big collections.
    #[arg(long)]
    mongo_tickets: Option<u64>,
    /// Stop seeding a backend after this many seconds and go on with what is there (the size
    /// used is printed).
    #[arg(long)]
    seed_time_limit: Option<f64>,
    /// Records per `import_tickets` call.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// create → claim → close cycles per cycle measurement.
    #[arg(long, default_value_t = 2000)]
    cycles: u64,
    /// Tasks running cycles at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Timed repetitions of each read call (after one untimed warm-up).
    #[arg(long, default_value_t = 100)]
    repeat: usize,
    /// Stop repeating a read call after this many seconds (at least 3 runs are made).
    #[arg(long, default_value_t = 20.0)]
    op_budget: f64,
    /// The listing page measured after following the cursor from page 1.
    #[arg(long, default_value_t = 1000)]
    deep_page: u32,
    /// Stop following the cursor after this many seconds (the page reached is printed).
    #[arg(long, default_value_t = 600.0)]
    follow_budget: f64,
    /// Seed of the generated data (the same tickets on every backend).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Skip the query plans.
    #[arg(long)]
    no_explain: bool,
    /// Internal: run the one backend given and print the results for a parent process.
    #[arg(long, hide = true)]
    child: bool,
    /// Leave the databases in place after the run (they are still dropped before it).
    #[arg(long)]
    keep: bool,
    /// Directory of the temporary SQLite file (default: the system's temporary directory).
    #[arg(long)]
    sqlite_dir: Option<PathBuf>,
    #[arg(long, env = "BENCH_MYSQL_HOST", default_value = "127.0.0.1")]
    mysql_host: String,
    #[arg(long, env = "BENCH_MYSQL_PORT", default_value_t = 3306)]
    mysql_port: u16,
    #[arg(long, env = "BENCH_MYSQL_USER", default_value = "root")]
    mysql_user: String,
    #[arg(
        long,
        env = "BENCH_MYSQL_PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    mysql_password: String,
    /// MySQL database used and dropped.
    #[arg(long, env = "BENCH_MYSQL_DATABASE", default_value = "tb_bench")]
    mysql_database: String,
    #[arg(
        long,
        env = "BENCH_MONGO_URI",
        default_value = "mongodb://127.0.0.1:27017"
    )]
    mongo_uri: String,
    /// MongoDB database used and dropped.
    #[arg(long, env = "BENCH_MONGO_DATABASE", default_value = "tb_bench")]
    mongo_database: String,
}

const PAGE: u32 = 50;

/// One backend's results: ordered (row label, cell) pairs, and the plans.
#[derive(Default)]
struct Report {
    rows: Vec<(String, String)>,
    plans: Option<String>,
}

impl Report {
    fn row(&mut self, label: impl Into<String>, value: impl Into<String>) {
        self.rows.push((label.into(), value.into()));
    }

    /// The child's side of `--child`: `@row<TAB>label<TAB>value` lines, then the plans.
    fn write_child(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        for (label, value) in &self.rows {
            let value = value.replace(['\t', '\n'], " ");
            writeln!(out, "@row\t{label}\t{value}")?;
        }
        if let Some(plans) = &self.plans {
            writeln!(out, "@plans")?;
            write!(out, "{plans}")?;
        }
        out.flush()
    }

    fn read_child(text: &str) -> Report {
        let mut report = Report::default();
        let mut lines = text.lines();
        for line in lines.by_ref() {
            if line == "@plans" {
                let rest: Vec<&str> = lines.by_ref().collect();
                report.plans = Some(rest.join("\n") + "\n");
                break;
            }
            if let Some((label, value)) =
                line.strip_prefix("@row\t").and_then(|l| l.split_once('\t'))
            {
                report.row(label, value);
            }
        }
        report
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Peak resident set size of this process, in KiB (`VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak RSS to the current RSS, so that each backend's peak is its own.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn log(which: Which, msg: impl AsRef<str>) {
    eprintln!("[{:>7}] {}", which.name(), msg.as_ref());
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.batch > 0, "--batch must be at least 1");
    ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    ensure!(args.repeat > 0, "--repeat must be at least 1");
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let started = chrono::Utc::now();

    if args.child {
        // One backend, results for the parent on stdout.
        let which = *args.backends.first().context("no backend")?;
        let (report, failed) = run_backend_reported(&args, which).await;
        report.write_child(&mut std::io::stdout().lock())?;
        std::process::exit(i32::from(failed));
    }

    let mut reports = Vec::new();
    let mut failed = false;
    for &which in &args.backends {
        // Each backend in a process of its own, so that its peak RSS is its own (memory a
        // previous backend freed stays with the process).
        let (report, f) = if args.backends.len() > 1 {
            run_backend_in_child(which).await
        } else {
            run_backend_reported(&args, which).await
        };
        failed |= f;
        reports.push((which, report));
    }

    println!("store-bench report");
    println!("command: {command}");
    println!(
        "started: {}   machine: {} cores",
        started.format("%Y-%m-%d %H:%M:%S UTC"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "cycles: {} per measurement, {} concurrent tasks; reads: {} timed runs (max {} s each), page size {PAGE}",
        args.cycles, args.concurrency, args.repeat, args.op_budget
    );
    println!();
    print_table(&reports);
    for (which, report) in &reports {
        if let Some(plans) = &report.plans {
            println!("\nquery plans, {}:", which.name());
            print!("{plans}");
        }
    }
    if failed {
        bail!("at least one backend failed (see the table)");
    }
    Ok(())
}

fn print_table(reports: &[(Which, Report)]) {
    let mut labels: Vec<&str> = Vec::new();
    for (_, r) in reports {
        for (label, _) in &r.rows {
            if !labels.contains(&label.as_str()) {
                labels.push(label);
            }
        }
    }
    let label_w = labels.iter().map(|l| l.len()).max().unwrap_or(10).max(10);
    let col_w = reports
        .iter()
        .flat_map(|(w, r)| {
            std::iter::once(w.name().len()).chain(
                r.rows
                    .iter()
                    .filter(|(l, _)| l != "error")
                    .map(|(_, v)| v.len()),
            )
        })
        .max()
        .unwrap_or(10)
        .max(12);
    let mut header = format!("{:<label_w$}", "");
    for (which, _) in reports {
        header.push_str(&format!("  {:>col_w$}", which.name()));
    }
    println!("{}", header.trim_end());
    println!("{}", "-".repeat(label_w + reports.len() * (col_w + 2)));
    for label in labels {
        let mut line = format!("{label:<label_w$}");
        for (_, r) in reports {
            let v = r
                .rows
                .iter()
                .find(|(l, _)| l == label)
                .map_or("-", |(_, v)| v.as_str());
            line.push_str(&format!("  {v:>col_w$}"));
        }
        println!("{}", line.trim_end());
    }
}

/// Runs one backend; a failure becomes an `error` row after the rows measured before it.
async fn run_backend_reported(args: &Args, which: Which) -> (Report, bool) {
    let mut report = Report::default();
    match run_backend(args, which, &mut report).await {
        Ok(()) => (report, false),
        Err(e) => {
            log(which, format!("FAILED: {e:#}"));
            report.row("error", format!("{e:#}"));
            (report, true)
        }
    }
}

/// Runs this program again for `which` alone and reads its results.
async fn run_backend_in_child(which: Which) -> (Report, bool) {
    let mut argv: Vec<String> = Vec::new();
    let mut skip = false;
    for a in std::env::args().skip(1) {
        if std::mem::take(&mut skip) {
            continue;
        }
        if a == "--backends" {
            skip = true;
        } else if !a.starts_with("--backends=") {
            argv.push(a);
        }
    }
    argv.extend(["--backends".into(), which.name().into(), "--child".into()]);
    let run = async {
        let exe = std::env::current_exe()?;
        // Not `output()`, which would capture the child's progress messages too.
        let out = tokio::process::Command::new(exe)
            .args(&argv)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()?
            .wait_with_output()
            .await?;
        let report = Report::read_child(&String::from_utf8_lossy(&out.stdout));
        anyhow::Ok((report, !out.status.success()))
    };
    match run.await {
        Ok(r) => r,
        Err(e) => {
            let mut report = Report::default();
            report.row("error", format!("could not run the child process: {e:#}"));
            (report, true)
        }
    }
}

async fn run_backend(args: &Args, which: Which, report: &mut Report) -> Result<()> {
    let target = match which {
        Which::Sqlite => Target::sqlite(args),
        Which::Mysql => Target::mysql(args),
        Which::Mongodb => Target::mongo(args),
    };
    let config = target.config();
    log(which, format!("fresh database: {}", config.target()));
    target
        .drop_database()
        .await
        .with_context(|| format!("dropping {} before the run", config.target()))?;
    let result = async {
        let store = open_store(&config)
            .await
            .with_context(|| format!("opening {}", config.target()))?;
        match target.server_version().await {
            Ok(v) => report.row("server", v),
            Err(e) => log(which, format!("server version unknown: {e:#}")),
        }
        let result = measure_backend(args, which, &target, &store, report).await;
        store.close().await;
        result
    }
    .await;
    if args.keep {
        log(which, format!("kept {}", config.target()));
    } else if let Err(e) = target.drop_database().await {
        log(which, format!("could not drop the database: {e:#}"));
    }
    result
}

async fn measure_backend(
    args: &Args,
    which: Which,
    target: &Target,
    shared: &Arc<dyn TicketStore>,
    report: &mut Report,
) -> Result<()> {
    let store: &dyn TicketStore = &**shared;
    let rss_reset = reset_peak_rss();

    // 1. Cycles on the empty database. Creators are unique per cycle, so no limit is hit.
    log(
        which,
        format!(
            "{} create/claim/close cycles, {} tasks",
            args.cycles, args.concurrency
        ),
    );
    let empty = run_cycles(shared, args.cycles, args.concurrency, CYCLE_CREATOR_BASE).await?;
    empty.report(report, "empty db");

    // 2. Seeding.
    let n = match which {
        Which::Mongodb => args.mongo_tickets.unwrap_or(args.tickets),
        _ => args.tickets,
    };
    log(
        which,
        format!("seeding {n} tickets in batches of {}", args.batch),
    );
    let seeded = seed(args, which, store, n).await?;
    let limited = if seeded.rows < n {
        format!(" (of {n}; time limit)")
    } else {
        String::new()
    };
    report.row("tickets seeded", format!("{}{limited}", seeded.rows));
    report.row(
        "seed time (s)",
        format!("{:.1}", seeded.import_time.as_secs_f64()),
    );
    report.row(
        "seed rows/s",
        format!(
            "{:.0}",
            seeded.rows as f64 / seeded.import_time.as_secs_f64()
        ),
    );
    let rss =
        peak_rss_kib().map_or_else(|| "?".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0));
    report.row(
        if rss_reset {
            "peak RSS after seed (MiB)"
        } else {
            "peak RSS after seed, whole run (MiB)"
        },
        rss,
    );
    ensure!(!seeded.samples.is_empty(), "nothing was seeded");

    // 3. Reads on the seeded database.
    let expected = expected_deep_pages(args, &seeded, &empty.created);
    let plan_inputs = reads(args, which, store, &seeded.samples, &expected, report).await?;

    // 1 again, on the seeded database.
    log(which, "cycles again on the seeded database");
    let full = run_cycles(
        shared,
        args.cycles,
        args.concurrency,
        CYCLE_CREATOR_BASE + args.cycles,
    )
    .await?;
    full.report(report, "seeded db");

    if !args.no_explain {
        log(which, "query plans");
        report.plans = Some(match db::plans(target, &plan_inputs).await {
            Ok(p) => p,
            Err(e) => format!("  (could not get the plans: {e:#})\n"),
        });
    }
    Ok(())
}

struct Seeded {
    /// The generator's "now": replaying the generator with it gives the same tickets.
    at: DateTime<Utc>,
    rows: u64,
    import_time: Duration,
    samples: Vec<Sample>,
}

/// Imports `n` generated tickets, `--batch` per call; only the import calls are timed.
async fn seed(args: &Args, which: Which, store: &dyn TicketStore, n: u64) -> Result<Seeded> {
    let mut rng = Rng::new(args.seed);
    let at = now();
    let stride = (n / 1000).max(1);
    let mut next_sample = 0u64;
    let mut samples = Vec::new();
    let mut import_time = Duration::ZERO;
    let mut rows = 0u64;
    let mut next_log = n / 10;
    let start = Instant::now();
    let limit = args.seed_time_limit.map(Duration::from_secs_f64);
    while rows < n {
        let len = (args.batch as u64).min(n - rows);
        let batch: Vec<TicketRecord> = (rows..rows + len)
            .map(|i| gen::record(&mut rng, i, at))
            .collect();
        for (k, r) in batch.iter().enumerate() {
            if rows + k as u64 == next_sample {
                next_sample += stride;
                samples.push(Sample {
                    id: r.ticket.id,
                    channel_id: r
                        .ticket
                        .channel_id
                        .expect("every seeded ticket has a channel"),
                });
            }
        }
        let t0 = Instant::now();
        store
            .import_tickets(&batch)
            .await
            .with_context(|| format!("import_tickets after {rows} rows"))?;
        import_time += t0.elapsed();
        rows += len;
        if rows >= next_log && rows < n {
            log(
                which,
                format!(
                    "  {rows} rows, {:.0} rows/s",
                    rows as f64 / import_time.as_secs_f64()
                ),
            );
            next_log += (n / 10).max(1);
        }
        if limit.is_some_and(|l| start.elapsed() >= l) {
            log(which, format!("  seed time limit reached at {rows} rows"));
            break;
        }
    }
    Ok(Seeded {
        at,
        rows,
        import_time,
        samples,
    })
}

struct Timing {
    sorted: Vec<Duration>,
}

impl Timing {
    fn cell(&self, repeat: usize) -> String {
        let mut s = format!(
            "{:.3} / {:.3}",
            ms(percentile(&self.sorted, 0.5)),
            ms(percentile(&self.sorted, 0.99))
        );
        if self.sorted.len() < repeat {
            s.push_str(&format!(" (n={})", self.sorted.len()));
        }
        s
    }
}

/// Runs `op(k)` once untimed, then up to `--repeat` timed times within `--op-budget`.
async fn time_op<F, Fut>(args: &Args, which: Which, name: &str, mut op: F) -> Result<Timing>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    op(0).await.with_context(|| name.to_owned())?;
    let budget = Duration::from_secs_f64(args.op_budget);
    let start = Instant::now();
    let mut sorted = Vec::with_capacity(args.repeat);
    for k in 0..args.repeat {
        let t0 = Instant::now();
        op(k + 1).await.with_context(|| name.to_owned())?;
        sorted.push(t0.elapsed());
        if sorted.len() >= 3 && start.elapsed() >= budget {
            break;
        }
    }
    sorted.sort();
    let t = Timing { sorted };
    log(
        which,
        format!("  {name}: {} ms (median / p99)", t.cell(args.repeat)),
    );
    Ok(t)
}

/// Follows the cursor from page 1 to page `target`; returns the page reached, its cursor
/// and the time it took.
async fn follow(
    args: &Args,
    store: &dyn TicketStore,
    filter: &TicketFilter,
    target: u32,
) -> Result<(u32, Option<Cursor>, Duration)> {
    let start = Instant::now();
    let budget = Duration::from_secs_f64(args.follow_budget);
    let mut page = 1;
    let mut cursor = None;
    while page < target && start.elapsed() < budget {
        match store.list(filter, PAGE, cursor.as_ref()).await?.next {
            Some(c) => {
                cursor = Some(c);
                page += 1;
            }
            None => break,
        }
    }
    Ok((page, cursor, start.elapsed()))
}
