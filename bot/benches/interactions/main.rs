//! End-to-end benchmark of the real `bot` binary against `fakecord` (a fake Discord on
//! 127.0.0.1), per storage backend, printed side by side:
//!
//! 1. start-up: from spawning the process until the fake has received the guild command
//!    registration (the bot registers `/ticket` after READY); median of 3 starts (the first on
//!    an empty database, so it includes creating the schema);
//! 2. resident memory (VmRSS) of the bot after ~3 s idle;
//! 3. a burst of N clicks on the panel's "Open Ticket" button (`ticketbot:open`, panel posted
//!    with `/ticket setup` by the staff user) by N distinct members at once: latency from
//!    sending each INTERACTION_CREATE to the fake receiving the interaction's callback (type 4
//!    with the ticket link when the bot answers within its 1 s budget, else type 5 and then a
//!    follow-up with the link) and to the link, throughput, and a check that N
//!    tickets (rows and channels) exist; where the time goes, from the requests the bot makes
//!    for each ticket (matched to the clicker by the mentions in their bodies), and the CPU
//!    used per ticket by the bot, this process (the fake) and the MySQL server;
//! 4. resident memory after `--tickets` tickets created the same way (bursts of N), and peak
//!    (VmHWM); then `--idle-secs` (70) of watching the bot idle, which includes its minute-ly
//!    repair pass over every ticket channel;
//! 5. `/ticket info` asked by staff 1,000 times one after the other in ticket channels, after
//!    the first burst and at the end: send → the answer with its embed.
//!
//! ```text
//! cargo bench -p ticketbot --bench interactions -- [--backends sqlite,mysql] [--burst 1000] [--tickets 10000] [--idle-secs 70]
//! cargo bench -p ticketbot --bench interactions -- --python-bot PYTHON [--burst 200]
//! ```
//!
//! The second form measures only a burst, side by side with the Python bot (see `python.rs`).
//!
//! SQLite uses a file in a temp directory; MySQL/MariaDB is `BENCH_MYSQL_HOST` (127.0.0.1),
//! `BENCH_MYSQL_PORT` (3306), `BENCH_MYSQL_USER` (root), `BENCH_MYSQL_PASSWORD` (empty), on a
//! fresh database `tb_botbench` that is dropped afterwards. `BENCH_BOT_RUST_LOG` becomes the
//! bot's `RUST_LOG`: with `info,serenity=warn,sqlx::query=debug` every statement is timed and
//! summarized per statement at the end (a diagnosis: the logging slows the bot down).
//!
//! Times are taken in this process: a click's send time right after fakecord dispatched the
//! INTERACTION_CREATE, a request's arrival when an observer (woken by every change of the
//! fake's state, on its own thread) first sees the request recorded, i.e. after the fake handled
//! it and before its response is written. The fake, the bot and the database share the machine,
//! so throughput is the whole system's. The fake does not rate-limit (and the bot turns its
//! rate limiter off behind `DISCORD_API_BASE`), so these are not numbers Discord would allow;
//! nor does it stop at 500 channels a guild (a burst of 1,000 needs 1,000 channels).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use fakecord::{ids, Config, FakeDiscord, FakeUser, RecordedRequest, State};

mod burst;
mod db;
mod observe;
mod output;
mod process;
mod python;
#[path = "../shared/mod.rs"]
mod shared;

use burst::*;
use db::*;
use observe::*;
use output::*;
use process::*;
use shared::{
    cpu_secs, kib, loadavg, memory_kib, ms, print_table, registered, status_kib, Bot, TOKEN,
};

const MYSQL_DB: &str = "tb_botbench";
const OPEN_BUTTON: &str = "ticketbot:open";
/// Ids of the members who click (`USER_BASE + i`).
const USER_BASE: u64 = 1_300_000_000_000_000_000;
const STARTS: usize = 3;
/// How long the bot is left alone before its memory is read.
const IDLE: Duration = Duration::from_secs(3);
const READY_TIMEOUT: Duration = Duration::from_secs(120);
const BURST_TIMEOUT: Duration = Duration::from_secs(900);
/// `/ticket info` asked this many times, one after the other, after the first burst and at the end.
const INFO_ASKS: usize = 1000;
const TOKEN_PREFIX: &str = "fakecord-interaction-token-";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Mysql,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Mysql => "mysql",
        }
    }
}

struct Args {
    backends: Vec<Backend>,
    burst: usize,
    tickets: usize,
    /// How long the bot is watched idle after the tickets (its minute-ly repair pass included).
    idle_secs: u64,
    /// Instead of the above: our bot beside the Python bot's open path, bursts of `burst`.
    python_bot: Option<PathBuf>,
}

const USAGE: &str = "usage: cargo bench -p ticketbot --bench interactions -- [--backends sqlite,mysql] [--burst 1000] [--tickets 10000] [--idle-secs 70]
       cargo bench -p ticketbot --bench interactions -- --python-bot PYTHON [--burst 200]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        backends: vec![Backend::Sqlite, Backend::Mysql],
        burst: 1000,
        tickets: 10_000,
        idle_secs: 70,
        python_bot: None,
    };
    let mut burst_given = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{key} needs a value"))
        };
        match key.as_str() {
            "--backends" => {
                args.backends = value()?
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| match s.trim().to_ascii_lowercase().as_str() {
                        "sqlite" => Ok(Backend::Sqlite),
                        "mysql" | "mariadb" => Ok(Backend::Mysql),
                        other => Err(format!("unknown backend {other:?} (sqlite, mysql)")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--burst" => {
                args.burst = value()?.parse().map_err(|e| format!("--burst: {e}"))?;
                burst_given = true;
            }
            "--tickets" => {
                args.tickets = value()?.parse().map_err(|e| format!("--tickets: {e}"))?;
            }
            "--idle-secs" => {
                args.idle_secs = value()?.parse().map_err(|e| format!("--idle-secs: {e}"))?;
            }
            "--python-bot" => args.python_bot = Some(PathBuf::from(value()?)),
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if args.backends.is_empty() || args.burst == 0 {
        return Err(format!("nothing to do\n{USAGE}"));
    }
    if args.python_bot.is_some() && !burst_given {
        args.burst = 200;
    }
    args.tickets = args.tickets.max(args.burst);
    Ok(args)
}

// ----- one backend -----

struct Report {
    backend: Backend,
    starts: Vec<(Duration, Duration)>,
    stops: Vec<Duration>,
    rss_idle: Option<u64>,
    hwm_idle: Option<u64>,
    bursts: Vec<Burst>,
    /// after the first burst and at the end: (fake ticket channels, rows, rows with a channel)
    check_first: (usize, i64, i64),
    check_all: (usize, i64, i64),
    /// `/ticket info`, one at a time: after the first burst, at the end
    info_first: Vec<Duration>,
    info_all: Vec<Duration>,
    rss_after: Option<u64>,
    idle: IdleUse,
    /// open fds: idle after start, after the first burst, at the end
    fds: (usize, usize, usize),
    rss_after_idle: Option<u64>,
    /// anonymous / file / shared: idle after start, after the tickets
    rss_parts_idle: String,
    rss_parts_after: String,
    hwm_after: Option<u64>,
    size: String,
    warnings: Vec<String>,
    /// With `sqlx::query=debug`: per statement, its execution times.
    statements: Vec<(String, Vec<Duration>)>,
    warning_count: usize,
    exit: Option<ExitStatus>,
    members_added: Duration,
    load_start: String,
    load_end: String,
}

/// `/ticket info` by staff in ticket channels, one at a time: send → the answer with its
/// embed (a deferred answer counts when its follow-up arrives).
async fn info_latency(fake: &FakeDiscord, count: usize) -> Result<Vec<Duration>, String> {
    let channels: Vec<u64> = fake.with_state(|st| {
        st.channels
            .values()
            .filter(|c| c.parent_id == Some(ids::OPEN_CATEGORY) && c.name.starts_with("ticket-"))
            .map(|c| c.id)
            .take(count)
            .collect()
    });
    if channels.is_empty() {
        return Err("no ticket channel to ask /ticket info in".into());
    }
    let staff = fake.user(ids::STAFF);
    let roles = fake.member_roles(ids::STAFF);
    let mut took = Vec::with_capacity(count);
    for i in 0..count {
        let channel = channels[i % channels.len()];
        let t = Instant::now();
        let id = fake.send_slash_command(&staff, &roles, channel, "ticket", Some("info"), &[]);
        let reply = fake
            .wait_for_reply(id, Duration::from_secs(10))
            .await
            .map_err(|e| format!("/ticket info: {e}"))?;
        took.push(t.elapsed());
        if reply.embeds.is_empty() {
            return Err(format!(
                "/ticket info answered without its embed: {}",
                reply.content
            ));
        }
    }
    Ok(took)
}

/// The panel, as staff would post it with `/ticket setup`; returns its message id.
async fn post_panel(fake: &FakeDiscord, bot: &Bot) -> Result<u64, String> {
    let staff = fake.user(ids::STAFF);
    let setup = fake.send_slash_command(
        &staff,
        &fake.member_roles(ids::STAFF),
        ids::PANEL_CHANNEL,
        "ticket",
        Some("setup"),
        &[],
    );
    fake.wait_for_reply(setup, Duration::from_secs(30))
        .await
        .map_err(|e| format!("/ticket setup: {e}\n{}", bot.output_tail(30)))?;
    Ok(fake
        .messages(ids::PANEL_CHANNEL)
        .into_iter()
        .find(|m| m.custom_ids().iter().any(|c| c == OPEN_BUTTON))
        .ok_or("the panel message with the open button was not posted")?
        .id)
}

/// Every member who will click (`USER_BASE + i`).
fn add_members(fake: &FakeDiscord, n: usize) {
    for i in 0..n {
        let user = FakeUser::new(USER_BASE + i as u64, &format!("bench{i}"));
        fake.add_member(&user, &[ids::MEMBER_ROLE]);
    }
}

fn ticket_channels(fake: &FakeDiscord) -> usize {
    fake.with_state(|st| {
        st.channels
            .values()
            .filter(|c| c.parent_id == Some(ids::OPEN_CATEGORY) && c.name.starts_with("ticket-"))
            .count()
    })
}

async fn run_backend(backend: Backend, args: &Args) -> Result<Report, String> {
    let db = Db::new(backend).await?;
    let r = run_on(&db, args).await;
    db.cleanup().await;
    r
}

async fn run_on(db: &Db, args: &Args) -> Result<Report, String> {
    let backend = db.backend;
    let load_start = loadavg();
    let mut starts = Vec::new();
    let mut stops = Vec::new();
    let mut live = None;
    for run in 1..=STARTS {
        let s = start_bot(db, run).await?;
        eprintln!(
            "[{}] start {run}: IDENTIFY after {} ms, /ticket registered after {} ms",
            backend.name(),
            ms(s.to_identify),
            ms(s.to_ready)
        );
        starts.push((s.to_identify, s.to_ready));
        if run < STARTS {
            let mut s = s;
            let (took, status) = s.bot.stop().await;
            if !status.is_some_and(|st| st.success()) {
                eprintln!(
                    "warning: the bot exited with {status:?}:\n{}",
                    s.bot.output_tail(20)
                );
            }
            stops.push(took);
        } else {
            live = Some(s);
        }
    }
    let Some(Started { fake, mut bot, .. }) = live else {
        return Err("no start".into());
    };

    tokio::time::sleep(IDLE).await;
    let (rss_idle, hwm_idle) = memory_kib(bot.pid);
    let rss_parts_idle = rss_parts(bot.pid);
    eprintln!(
        "[{}] idle: VmRSS {:?} KiB, VmHWM {:?} KiB",
        backend.name(),
        rss_idle,
        hwm_idle
    );

    let panel = post_panel(&fake, &bot).await?;
    let t = Instant::now();
    add_members(&fake, args.tickets);
    let members_added = t.elapsed();

    let mut fds = (open_fds(bot.pid), 0, 0);
    let db_pid = match backend {
        Backend::Mysql => db_server_pid(),
        Backend::Sqlite => None,
    };
    let mut bursts = Vec::new();
    let mut check_first = (0, 0, 0);
    let mut info_first = Vec::new();
    let mut rss_after = None;
    let mut first = 0;
    while first < args.tickets {
        let n = args.burst.min(args.tickets - first);
        let before = cpu_snap(bot.pid, db_pid.as_deref());
        let mut b = burst(&fake, panel, first, n).await?;
        b.cpu = CpuUse::between(before, cpu_snap(bot.pid, db_pid.as_deref()), n);
        first += n;
        let (rss, _) = memory_kib(bot.pid);
        rss_after = rss;
        if bursts.is_empty() {
            fds.1 = open_fds(bot.pid);
        }
        eprintln!(
            "[{}] burst {} ({} tickets so far): reply p50/p99/max {} ms, {:.0} tickets/s, {} linked, {} without reply, VmRSS {:?} KiB, CPU ms/ticket bot/fake/db {}, machine busy {:.0}%, load {}",
            backend.name(),
            bursts.len() + 1,
            first,
            spread(&mut b.reply.clone()),
            b.throughput(),
            b.linked,
            b.no_reply,
            rss,
            b.cpu.show(),
            b.cpu.machine_busy,
            loadavg()
        );
        if bursts.is_empty() {
            let (rows, with_channel) = db.count_tickets().await?;
            check_first = (ticket_channels(&fake), rows, with_channel);
            info_first = info_latency(&fake, INFO_ASKS).await?;
            eprintln!(
                "[{}] /ticket info after the first burst: p50/p99/max {} ms",
                backend.name(),
                spread(&mut info_first.clone())
            );
        }
        bursts.push(b);
    }
    tokio::time::sleep(IDLE).await;
    let (rss_after_idle, hwm_after) = memory_kib(bot.pid);
    let rss_parts_after = rss_parts(bot.pid);
    let idle = watch_idle(&bot, db_pid.as_deref(), args.idle_secs).await;
    eprintln!(
        "[{}] idle {} s with {} tickets: bot CPU {:.2} s, busiest second {:.0}%, {} busy seconds; VmRSS {:?} KiB",
        backend.name(),
        args.idle_secs,
        args.tickets,
        idle.bot_cpu,
        idle.peak_pct,
        idle.busy_secs,
        idle.rss
    );
    fds.2 = open_fds(bot.pid);
    let info_all = info_latency(&fake, INFO_ASKS).await?;
    let (rows, with_channel) = db.count_tickets().await?;
    let check_all = (ticket_channels(&fake), rows, with_channel);
    let size = db.size().await;
    let load_end = loadavg();

    let (took, exit) = bot.stop().await;
    stops.push(took);
    let text = std::fs::read(&bot.output)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    // Only meaningful with every statement logged (BENCH_BOT_RUST_LOG=…,sqlx::query=debug).
    let statements = if std::env::var_os("BENCH_BOT_RUST_LOG").is_some() {
        statement_times(&text)
    } else {
        Vec::new()
    };
    let noisy: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains("ERROR"))
        .collect();
    let mut warnings: Vec<String> = Vec::new();
    for l in &noisy {
        if warnings.len() >= 5 {
            break;
        }
        warnings.push(l.chars().take(300).collect());
    }
    Ok(Report {
        backend,
        starts,
        stops,
        rss_idle,
        hwm_idle,
        bursts,
        check_first,
        check_all,
        info_first,
        info_all,
        rss_after,
        idle,
        fds,
        rss_after_idle,
        rss_parts_idle,
        rss_parts_after,
        hwm_after,
        size,
        warnings,
        statements,
        warning_count: noisy.len(),
        exit,
        members_added,
        load_start,
        load_end,
    })
}

/// sqlx's debug lines (`summary="…" … elapsed_secs=0.0012`), grouped by statement.
fn statement_times(log: &str) -> Vec<(String, Vec<Duration>)> {
    let mut by: HashMap<String, Vec<Duration>> = HashMap::new();
    for line in log.lines().filter(|l| l.contains("sqlx::query")) {
        let Some(summary) = line
            .split_once("summary=\"")
            .and_then(|(_, r)| r.split_once('"'))
            .map(|(s, _)| s.to_owned())
        else {
            continue;
        };
        let secs = line
            .split_once("elapsed_secs=")
            .and_then(|(_, r)| r.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok());
        if let Some(secs) = secs {
            by.entry(summary)
                .or_default()
                .push(Duration::from_secs_f64(secs));
        }
    }
    let mut out: Vec<_> = by.into_iter().collect();
    out.sort_by_key(|s| std::cmp::Reverse(s.1.iter().sum::<Duration>()));
    out
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the async runtime");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        eprintln!("load average at the start: {}", load.trim());
    }
    if let Some(python) = &args.python_bot {
        if let Err(e) = runtime.block_on(python::compare(python, args.burst)) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
        return;
    }
    let mut reports = Vec::new();
    for &backend in &args.backends {
        eprintln!("== {} ==", backend.name());
        match runtime.block_on(run_backend(backend, &args)) {
            Ok(r) => reports.push(r),
            Err(e) => eprintln!("error: {} failed: {e}", backend.name()),
        }
    }
    if reports.is_empty() {
        std::process::exit(1);
    }
    report(&args, &reports);
}
