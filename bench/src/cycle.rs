//! `cycle-bench`: the store's ticket cycle beside the Python bot's layer, in one run.
//!
//! One cycle is a ticket's life as the bot drives it: create, set its channel, claim and close
//! (each looked up by its channel first, as a button in the channel does). Ours runs through
//! `TicketStore` with 1 and with N concurrent tasks; the reference is `bench/python/cycle.py`
//! (the Python bot's tables and SQL, one connection, a commit per call), run by the Python
//! given with `--python`. Each run gets a fresh database. Prints cycles/s and the ratios.
//!
//!     cargo run --release -p ticketbot-bench --bin cycle-bench -- --python venv/bin/python

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use clap::{Parser, ValueEnum};
use sqlx::Connection;
use ticketbot_common::config::{DbConfig, MysqlConfig, Secret};
use ticketbot_common::store::CreateOutcome;
use ticketbot_common::ticket::now;
use ticketbot_common::{open_store, TicketStatus, TicketStore, Transition};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    Sqlite,
    Mysql,
}

#[derive(Debug, Parser)]
#[command(name = "cycle-bench")]
struct Args {
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,mysql"
    )]
    backends: Vec<Which>,
    /// Cycles per measurement (MySQL: a fifth of it for the one-client runs, which are slow).
    #[arg(long, default_value_t = 5000)]
    cycles: u64,
    /// Concurrent tasks of ours, one measurement each.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    tasks: Vec<usize>,
    /// The Python that runs the reference (with mysql-connector for MySQL).
    #[arg(long, env = "BENCH_PYTHON", default_value = "python3")]
    python: PathBuf,
    /// Directory of the SQLite files.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// MySQL database used and DROPPED before and after each run (127.0.0.1:3306, root).
    #[arg(long, default_value = "tb_cycle_bench")]
    mysql_database: String,
}

const GUILD: u64 = 1_000_000_000_000_000_001;
const STAFF: u64 = 2_000_000_000_000_000_001;
const CREATOR_BASE: u64 = 3_000_000_000_000_000_000;
const CHANNEL_BASE: u64 = 4_000_000_000_000_000_000;

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let dir = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut rows = Vec::new();
    for which in &args.backends {
        let (name, cycles_1) = match which {
            Which::Sqlite => ("SQLite", args.cycles),
            Which::Mysql => ("MariaDB", (args.cycles / 5).max(100)),
        };
        let python = python_reference(&args, *which, &dir, cycles_1).await?;
        eprintln!("{name}: the Python layer, 1 client: {python:.0} cycles/s");
        for &tasks in &args.tasks {
            let cycles = if tasks == 1 { cycles_1 } else { args.cycles };
            let ours = ours(&args, *which, &dir, cycles, tasks).await?;
            eprintln!("{name}: ours, {tasks} tasks: {ours:.0} cycles/s");
            rows.push((name, tasks, ours, python));
        }
    }
    println!();
    println!("| backend | clients | ours, cycles/s | Python layer (1 client), cycles/s | ratio |");
    println!("|---|---:|---:|---:|---:|");
    for (name, tasks, ours, python) in rows {
        println!(
            "| {name} | {tasks} | {ours:.0} | {python:.0} | {:.2}× |",
            ours / python
        );
    }
    Ok(())
}

fn sqlite_file(dir: &Path, tag: &str) -> PathBuf {
    let path = dir.join(format!("tb_cycle-{}-{tag}.db", std::process::id()));
    remove_sqlite(&path);
    path
}

fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        std::fs::remove_file(p).ok();
    }
}

async fn drop_mysql(database: &str) -> Result<()> {
    let mut conn = sqlx::MySqlConnection::connect("mysql://root@127.0.0.1:3306/")
        .await
        .context("connecting to MariaDB at 127.0.0.1:3306 as root")?;
    let sql = format!("DROP DATABASE IF EXISTS `{}`", database.replace('`', "``"));
    sqlx::Executor::execute(&mut conn, sql.as_str()).await?;
    Ok(())
}

async fn python_reference(args: &Args, which: Which, dir: &Path, cycles: u64) -> Result<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/cycle.py");
    let (kind, target, file) = match which {
        Which::Sqlite => {
            let f = sqlite_file(dir, "python");
            ("sqlite", f.display().to_string(), Some(f))
        }
        Which::Mysql => {
            drop_mysql(&args.mysql_database).await?;
            ("mysql", args.mysql_database.clone(), None)
        }
    };
    let out = tokio::process::Command::new(&args.python)
        .arg(&script)
        .args([kind, &target, &cycles.to_string()])
        .output()
        .await
        .with_context(|| format!("running {} {}", args.python.display(), script.display()))?;
    if let Some(f) = file {
        remove_sqlite(&f);
    } else {
        drop_mysql(&args.mysql_database).await?;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "the Python reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seconds: f64 = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("seconds="))
        .context("the Python reference printed no seconds=")?
        .parse()?;
    Ok(cycles as f64 / seconds)
}

async fn ours(args: &Args, which: Which, dir: &Path, cycles: u64, tasks: usize) -> Result<f64> {
    let (config, file) = match which {
        Which::Sqlite => {
            let path = sqlite_file(dir, &format!("ours-{tasks}"));
            (DbConfig::Sqlite { path: path.clone() }, Some(path))
        }
        Which::Mysql => {
            drop_mysql(&args.mysql_database).await?;
            let m = MysqlConfig {
                host: "127.0.0.1".into(),
                port: 3306,
                user: "root".into(),
                password: Secret::new(String::new()),
                database: args.mysql_database.clone(),
            };
            (DbConfig::Mysql(m), None)
        }
    };
    let store = open_store(&config).await?;
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (store, next) = (store.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= cycles {
                        return Ok::<(), anyhow::Error>(());
                    }
                    one_cycle(&*store, i).await?;
                }
            })
        })
        .collect();
    for w in workers {
        w.await??;
    }
    let wall: Duration = start.elapsed();
    store.close().await;
    if let Some(f) = file {
        remove_sqlite(&f);
    } else {
        drop_mysql(&args.mysql_database).await?;
    }
    Ok(cycles as f64 / wall.as_secs_f64())
}

async fn one_cycle(store: &dyn TicketStore, i: u64) -> Result<()> {
    let ticket = match store
        .create_ticket(GUILD, CREATOR_BASE + i, 1, now())
        .await?
    {
        CreateOutcome::Created(t) => t,
        CreateOutcome::LimitReached { .. } => bail!("creator {i} hit the open limit"),
    };
    let channel = CHANNEL_BASE + i;
    store.set_channel(ticket.id, Some(channel)).await?;
    let t = store.get_by_channel(channel).await?.context("no ticket")?;
    let claim = Transition::Claim {
        by: STAFF,
        at: now(),
    };
    store.transition(t.id, &claim).await?;
    let t = store.get_by_channel(channel).await?.context("no ticket")?;
    let close = Transition::Close {
        by: Some(STAFF),
        reason: Some("done".into()),
        at: now(),
        forced: false,
    };
    let closed = store.transition(t.id, &close).await?;
    ensure!(closed.status == TicketStatus::Closed, "close not applied");
    Ok(())
}
