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

mod python;
#[path = "../shared/mod.rs"]
mod shared;

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

// ----- the database -----

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

struct MysqlServer {
    host: String,
    port: u16,
    user: String,
    password: String,
}

fn mysql_server() -> MysqlServer {
    MysqlServer {
        host: env_or("BENCH_MYSQL_HOST", "127.0.0.1"),
        port: env_or("BENCH_MYSQL_PORT", "3306").parse().unwrap_or(3306),
        user: env_or("BENCH_MYSQL_USER", "root"),
        password: env_or("BENCH_MYSQL_PASSWORD", ""),
    }
}

async fn mysql_pool(with_db: bool) -> Result<sqlx::MySqlPool, String> {
    let s = mysql_server();
    let mut opts = sqlx::mysql::MySqlConnectOptions::new()
        .host(&s.host)
        .port(s.port)
        .username(&s.user);
    if !s.password.is_empty() {
        opts = opts.password(&s.password);
    }
    if with_db {
        opts = opts.database(MYSQL_DB);
    }
    sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts)
        .await
        .map_err(|e| format!("cannot connect to MySQL at {}:{}: {e}", s.host, s.port))
}

async fn mysql_drop_db() -> Result<(), String> {
    let pool = mysql_pool(false).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS `{MYSQL_DB}`"))
        .execute(&pool)
        .await
        .map_err(|e| format!("DROP DATABASE {MYSQL_DB}: {e}"))?;
    pool.close().await;
    Ok(())
}

/// A fresh database and the directory the bot runs in (its logs, the SQLite file).
struct Db {
    backend: Backend,
    dir: tempfile::TempDir,
}

impl Db {
    async fn new(backend: Backend) -> Result<Db, String> {
        let dir = tempfile::Builder::new()
            .prefix("ticketbot-bench-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        if backend == Backend::Mysql {
            mysql_drop_db().await?;
        }
        Ok(Db { backend, dir })
    }

    fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join("ticketbot.db")
    }

    fn env(&self, api_base: &str) -> Vec<(String, String)> {
        let mut env = shared::bot_env(self.dir.path(), api_base);
        let mut set = |k: &str, v: String| env.push((k.to_owned(), v));
        match self.backend {
            Backend::Sqlite => {
                set("DB_TYPE", "sqlite".into());
                set("SQLITE_PATH", self.sqlite_path().display().to_string());
            }
            Backend::Mysql => {
                let s = mysql_server();
                set("DB_TYPE", "mysql".into());
                set("MYSQL_HOST", s.host);
                set("MYSQL_PORT", s.port.to_string());
                set("MYSQL_USER", s.user);
                // Set but empty means no password.
                set("MYSQL_PASSWORD", s.password);
                set("MYSQL_DATABASE", MYSQL_DB.into());
            }
        }
        env
    }

    /// Ticket rows, and how many of them have a channel.
    async fn count_tickets(&self) -> Result<(i64, i64), String> {
        let sql = "SELECT COUNT(*), COUNT(channel_id) FROM tickets";
        match self.backend {
            Backend::Sqlite => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(self.sqlite_path());
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(opts)
                    .await
                    .map_err(|e| format!("open the SQLite file: {e}"))?;
                let r = sqlx::query_as::<_, (i64, i64)>(sql)
                    .fetch_one(&pool)
                    .await
                    .map_err(|e| e.to_string());
                pool.close().await;
                r
            }
            Backend::Mysql => {
                let pool = mysql_pool(true).await?;
                let r = sqlx::query_as::<_, (i64, i64)>(sql)
                    .fetch_one(&pool)
                    .await
                    .map_err(|e| e.to_string());
                pool.close().await;
                r
            }
        }
    }

    /// What the data takes on disk (SQLite: file + WAL; MySQL: data + indexes).
    async fn size(&self) -> String {
        match self.backend {
            Backend::Sqlite => {
                let len = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                let db = len(self.sqlite_path());
                let mut wal = self.sqlite_path().into_os_string();
                wal.push("-wal");
                let wal = len(PathBuf::from(wal));
                format!("{} file + {} WAL", mib(db), mib(wal))
            }
            Backend::Mysql => {
                let sql = "SELECT CAST(COALESCE(SUM(data_length), 0) AS SIGNED), \
                           CAST(COALESCE(SUM(index_length), 0) AS SIGNED) \
                           FROM information_schema.tables WHERE table_schema = ?";
                let r = match mysql_pool(false).await {
                    Ok(pool) => {
                        let r = sqlx::query_as::<_, (i64, i64)>(sql)
                            .bind(MYSQL_DB)
                            .fetch_one(&pool)
                            .await;
                        pool.close().await;
                        r.map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e),
                };
                match r {
                    Ok((data, index)) => format!(
                        "{} data + {} index",
                        mib(data.max(0) as u64),
                        mib(index.max(0) as u64)
                    ),
                    Err(e) => format!("? ({e})"),
                }
            }
        }
    }

    async fn cleanup(&self) {
        if self.backend == Backend::Mysql {
            if let Err(e) = mysql_drop_db().await {
                eprintln!("warning: {e}");
            }
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

// ----- the bot process -----

/// (busy, total) jiffies of the whole machine.
fn machine_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 8 {
        return (0, 0);
    }
    let total: u64 = v.iter().sum();
    (total - v[3] - v[4], total)
}

/// The MySQL/MariaDB server's pid, to see its CPU (it may serve others too).
fn db_server_pid() -> Option<String> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
        matches!(comm.trim(), "mariadbd" | "mysqld").then_some(name)
    })
}

#[derive(Clone, Copy, Default)]
struct CpuSnap {
    bot: f64,
    bench: f64,
    db: Option<f64>,
    busy: u64,
    total: u64,
}

fn cpu_snap(bot_pid: u32, db_pid: Option<&str>) -> CpuSnap {
    let (busy, total) = machine_jiffies();
    CpuSnap {
        bot: cpu_secs(bot_pid).unwrap_or(0.0),
        bench: cpu_secs("self").unwrap_or(0.0),
        db: db_pid.and_then(cpu_secs),
        busy,
        total,
    }
}

/// CPU used between two snapshots: ms per ticket of the bot, of this process (the fake) and of
/// the database server, and how busy the machine was (%).
#[derive(Clone, Copy, Default)]
struct CpuUse {
    bot: f64,
    bench: f64,
    db: Option<f64>,
    machine_busy: f64,
}

impl CpuUse {
    fn between(a: CpuSnap, b: CpuSnap, tickets: usize) -> CpuUse {
        let per = |x: f64| x * 1000.0 / tickets.max(1) as f64;
        CpuUse {
            bot: per(b.bot - a.bot),
            bench: per(b.bench - a.bench),
            db: a.db.zip(b.db).map(|(a, b)| per(b - a)),
            machine_busy: (b.busy - a.busy) as f64 * 100.0 / (b.total - a.total).max(1) as f64,
        }
    }

    fn show(&self) -> String {
        let db = self.db.map_or_else(|| "-".into(), |d| format!("{d:.2}"));
        format!("{:.2} / {:.2} / {db}", self.bot, self.bench)
    }
}

/// What the bot does when nobody clicks: its timers (catch-up every 10 s, repair every minute).
#[derive(Default)]
struct IdleUse {
    bot_cpu: f64,
    db_cpu: Option<f64>,
    peak_pct: f64,
    /// Seconds in which the bot used more than 10% of a core.
    busy_secs: usize,
    rss: Option<u64>,
    hwm: Option<u64>,
}

async fn watch_idle(bot: &Bot, db_pid: Option<&str>, secs: u64) -> IdleUse {
    let mut u = IdleUse::default();
    if secs == 0 {
        return u;
    }
    let start = cpu_snap(bot.pid, db_pid);
    let mut prev = start.bot;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    for _ in 0..secs {
        tick.tick().await;
        let now = cpu_secs(bot.pid).unwrap_or(prev);
        let pct = (now - prev) * 100.0;
        u.peak_pct = u.peak_pct.max(pct);
        if pct > 10.0 {
            u.busy_secs += 1;
        }
        prev = now;
    }
    let end = cpu_snap(bot.pid, db_pid);
    u.bot_cpu = end.bot - start.bot;
    u.db_cpu = start.db.zip(end.db).map(|(a, b)| b - a);
    (u.rss, u.hwm) = memory_kib(bot.pid);
    u
}

/// Open file descriptors (sockets included) of a process.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// What the resident memory is: the heap and stacks (anonymous), mapped files (SQLite's map of
/// the database), shared memory (SQLite's WAL index).
fn rss_parts(pid: u32) -> String {
    status_kib(pid, ["RssAnon:", "RssFile:", "RssShmem:"])
        .map(kib)
        .join(" / ")
}

struct Started {
    fake: Arc<FakeDiscord>,
    bot: Bot,
    to_identify: Duration,
    to_ready: Duration,
}

/// A new fake, the bot spawned against it; waits for `/ticket` to be registered.
async fn start_bot(db: &Db, run: usize) -> Result<Started, String> {
    // Discord's 500 channels a guild would stop a burst of 1,000 half-way: raised here (the
    // 50 a category stays, so the overflow categories are part of what is measured).
    let config = Config {
        guild_channel_limit: usize::MAX,
        ..Config::default()
    };
    start_bot_on(db, run, config).await
}

async fn start_bot_on(db: &Db, run: usize, config: Config) -> Result<Started, String> {
    let fake = Arc::new(FakeDiscord::start(config).await);
    let env = db.env(&fake.http_url());
    let spawned = Instant::now();
    let mut bot = Bot::spawn(db.dir.path(), &env, &format!("bot-start{run}.out"))?;
    let mut identified: Option<Instant> = None;
    let ready = fake.wait_for(
        |st| {
            if identified.is_none() && st.gateway.identifies > 0 {
                identified = Some(Instant::now());
            }
            registered(st).then(Instant::now)
        },
        READY_TIMEOUT,
    );
    let ready_at = tokio::select! {
        r = ready => r.map_err(|e| format!("the bot did not register /ticket: {e}\n{}", bot.output_tail(40)))?,
        status = bot.child.wait() => {
            return Err(format!("the bot exited ({status:?}) before it was ready:\n{}", bot.output_tail(40)));
        }
    };
    let to_ready = ready_at - spawned;
    let to_identify = identified.map_or(to_ready, |t| t - spawned);
    Ok(Started {
        fake,
        bot,
        to_identify,
        to_ready,
    })
}

// ----- observing what the bot sends -----

/// When each request of interest reached the fake, keyed by interaction or user.
#[derive(Default)]
struct Obs {
    next: usize,
    /// interaction id → (seen, callback type)
    callbacks: HashMap<u64, (Instant, u64)>,
    /// interaction id → (seen, the ticket link was given)
    followups: HashMap<u64, (Instant, bool)>,
    /// user id → seen: channel created, welcome posted, audit entry posted
    channel: HashMap<u64, Instant>,
    welcome: HashMap<u64, Instant>,
    audit: HashMap<u64, Instant>,
    /// route → (requests, failed)
    routes: HashMap<String, (usize, usize)>,
    failures: Vec<String>,
}

/// The first `<@id>` (not `<@&role>`) in a text.
fn user_mention(text: &str) -> Option<u64> {
    let mut rest = text;
    while let Some(i) = rest.find("<@") {
        rest = &rest[i + 2..];
        if rest.starts_with('&') {
            continue;
        }
        let end = rest.find('>')?;
        if let Ok(id) = rest[..end].trim_start_matches('!').parse() {
            return Some(id);
        }
    }
    None
}

fn interaction_of_token(token: &str) -> Option<u64> {
    u64::from_str_radix(token.strip_prefix(TOKEN_PREFIX)?, 16).ok()
}

/// `METHOD /path` with ids and tokens replaced, to count requests per route.
fn route_of(r: &RecordedRequest) -> String {
    let parts: Vec<&str> = r.path.split('/').collect();
    let norm: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if p.starts_with(TOKEN_PREFIX) {
                "{token}".to_owned()
            } else if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                let owner = if i > 0 { parts[i - 1] } else { "" };
                match (owner, p.parse::<u64>().ok()) {
                    ("channels", Some(ids::LOG_CHANNEL)) => "{log_channel}".to_owned(),
                    ("channels", Some(ids::PANEL_CHANNEL)) => "{panel_channel}".to_owned(),
                    _ => "{id}".to_owned(),
                }
            } else {
                (*p).to_owned()
            }
        })
        .collect();
    format!("{} {}", r.method, norm.join("/"))
}

/// Whether a message body is the open button's answer with the ticket's link (ours, or the
/// Python bot's "Ticket created: #channel").
fn has_link(message: &serde_json::Value) -> bool {
    message["content"]
        .as_str()
        .is_some_and(|c| c.contains("Your ticket is open") || c.starts_with("Ticket created"))
}

impl Obs {
    fn scan(&mut self, st: &State) {
        let now = Instant::now();
        for r in st.requests.iter().skip(self.next) {
            let ok = (200..300).contains(&r.status);
            let e = self.routes.entry(route_of(r)).or_default();
            e.0 += 1;
            if !ok {
                e.1 += 1;
                if self.failures.len() < 20 {
                    self.failures.push(format!(
                        "{} {} -> {} {}",
                        r.method,
                        r.path,
                        r.status,
                        r.fault.clone().unwrap_or_default()
                    ));
                }
                continue;
            }
            if r.method != "POST" {
                continue;
            }
            let seg: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
            match seg.as_slice() {
                ["interactions", id, _token, "callback"] => {
                    if let Ok(id) = id.parse() {
                        let kind = r.body["type"].as_u64().unwrap_or(0);
                        self.callbacks.entry(id).or_insert((now, kind));
                        // Answered at once (type 4): the answer is the reply.
                        if kind == 4 {
                            self.followups
                                .entry(id)
                                .or_insert((now, has_link(&r.body["data"])));
                        }
                    }
                }
                ["webhooks", _app, token] => {
                    if let Some(id) = interaction_of_token(token) {
                        self.followups.entry(id).or_insert((now, has_link(&r.body)));
                    }
                }
                ["guilds", _, "channels"] => {
                    if let Some(u) = r.body["topic"].as_str().and_then(user_mention) {
                        self.channel.entry(u).or_insert(now);
                    }
                }
                ["channels", ch, "messages"] => {
                    if ch.parse::<u64>().ok() == Some(ids::LOG_CHANNEL) {
                        let creator = r.body["embeds"][0]["fields"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|f| f["name"] == "Creator")
                            .and_then(|f| f["value"].as_str())
                            .and_then(user_mention);
                        if let Some(u) = creator {
                            self.audit.entry(u).or_insert(now);
                        }
                    } else if let Some(u) = r.body["content"].as_str().and_then(user_mention) {
                        self.welcome.entry(u).or_insert(now);
                    }
                }
                _ => {}
            }
        }
        self.next = st.requests.len();
    }
}

// ----- statistics -----

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// "p50 / p99 / max" in ms.
fn spread(v: &mut [Duration]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.sort_unstable();
    format!(
        "{} / {} / {}",
        ms(pct(v, 50.0)),
        ms(pct(v, 99.0)),
        ms(*v.last().unwrap_or(&Duration::ZERO))
    )
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    pct(v, 50.0)
}

struct Burst {
    n: usize,
    /// send → callback
    ack: Vec<Duration>,
    /// send → follow-up
    reply: Vec<Duration>,
    callback_kinds: HashMap<u64, usize>,
    linked: usize,
    unanswered: usize,
    no_reply: usize,
    /// first send → last follow-up
    wall: Duration,
    /// first send → last send
    send_span: Duration,
    /// click → channel created (create_ticket in the DB + the channel request); channel → the
    /// user's link (set_channel in the DB + the answer); channel → welcome message; channel →
    /// audit message (the last two run after the link, beside other tickets)
    steps: [Vec<Duration>; 4],
    routes: HashMap<String, (usize, usize)>,
    failures: Vec<String>,
    cpu: CpuUse,
}

impl Burst {
    fn throughput(&self) -> f64 {
        let secs = self.wall.as_secs_f64();
        if secs > 0.0 {
            (self.n - self.no_reply) as f64 / secs
        } else {
            0.0
        }
    }
}

/// `n` members (`first..first + n`) click the panel's open button at once.
async fn burst(
    fake: &Arc<FakeDiscord>,
    panel: u64,
    first: usize,
    n: usize,
) -> Result<Burst, String> {
    let obs = Arc::new(Mutex::new(Obs {
        next: fake.with_state(|st| st.requests.len()),
        ..Obs::default()
    }));
    let observing = Arc::new(AtomicBool::new(false));
    // The clicks come from a thread of their own, once the observer runs.
    let clicker = {
        let fake = Arc::clone(fake);
        let observing = Arc::clone(&observing);
        tokio::task::spawn_blocking(move || {
            while !observing.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let mut sent = Vec::with_capacity(n);
            for i in first..first + n {
                let user = FakeUser::new(USER_BASE + i as u64, &format!("bench{i}"));
                let id = fake.click_button(
                    &user,
                    &[ids::MEMBER_ROLE],
                    ids::PANEL_CHANNEL,
                    panel,
                    OPEN_BUTTON,
                );
                sent.push((id, user.id, Instant::now()));
            }
            sent
        })
    };
    let watch = {
        let obs = Arc::clone(&obs);
        let observing = Arc::clone(&observing);
        fake.wait_until(
            move |st| {
                observing.store(true, Ordering::Release);
                let mut o = obs.lock().unwrap_or_else(PoisonError::into_inner);
                o.scan(st);
                o.followups.len() >= n
            },
            BURST_TIMEOUT,
        )
    };
    let (done, sent) = tokio::join!(watch, clicker);
    let sent = sent.map_err(|e| format!("the clicking thread failed: {e}"))?;
    if let Err(e) = done {
        eprintln!("warning: burst incomplete: {e}");
    }
    // What arrived after the last wake-up.
    let mut o = std::mem::take(&mut *obs.lock().unwrap_or_else(PoisonError::into_inner));
    fake.with_state(|st| o.scan(st));

    let mut b = Burst {
        n,
        ack: Vec::with_capacity(n),
        reply: Vec::with_capacity(n),
        callback_kinds: HashMap::new(),
        linked: 0,
        unanswered: 0,
        no_reply: 0,
        wall: Duration::ZERO,
        send_span: Duration::ZERO,
        steps: Default::default(),
        routes: o.routes,
        failures: o.failures,
        cpu: CpuUse::default(),
    };
    let t0 = sent.first().map(|s| s.2).unwrap_or_else(Instant::now);
    b.send_span = sent.last().map_or(Duration::ZERO, |s| s.2 - t0);
    let mut last = t0;
    for (id, user, at) in &sent {
        let cb = o.callbacks.get(id);
        match cb {
            Some((t, kind)) => {
                b.ack.push(t.saturating_duration_since(*at));
                *b.callback_kinds.entry(*kind).or_default() += 1;
            }
            None => b.unanswered += 1,
        }
        match o.followups.get(id) {
            Some((t, linked)) => {
                b.reply.push(t.saturating_duration_since(*at));
                last = last.max(*t);
                if *linked {
                    b.linked += 1;
                }
            }
            None => b.no_reply += 1,
        }
        let channel = o.channel.get(user).copied();
        let steps = [
            (Some(*at), channel),
            (channel, o.followups.get(id).map(|f| f.0)),
            (channel, o.welcome.get(user).copied()),
            (channel, o.audit.get(user).copied()),
        ];
        for (k, step) in steps.iter().enumerate() {
            if let (Some(a), Some(z)) = step {
                b.steps[k].push(z.saturating_duration_since(*a));
            }
        }
    }
    b.wall = last - t0;
    Ok(b)
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

// ----- output -----

fn first_burst(r: &Report) -> Option<&Burst> {
    r.bursts.first()
}

fn report(args: &Args, reports: &[Report]) {
    let mut header = vec!["metric".to_owned()];
    header.extend(reports.iter().map(|r| r.backend.name().to_owned()));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |name: &str, f: &dyn Fn(&Report) -> String| {
        let mut r = vec![name.to_owned()];
        r.extend(reports.iter().map(f));
        rows.push(r);
    };
    row("load average (1/5/15 min) at start", &|r| {
        r.load_start.clone()
    });
    row("load average (1/5/15 min) at end", &|r| r.load_end.clone());
    row("spawn → /ticket registered, median of 3 (ms)", &|r| {
        ms(median(
            &mut r.starts.iter().map(|s| s.1).collect::<Vec<_>>(),
        ))
    });
    row("  the 3 starts (1st on an empty database) (ms)", &|r| {
        r.starts
            .iter()
            .map(|s| ms(s.1))
            .collect::<Vec<_>>()
            .join(" / ")
    });
    row("  of which spawn → IDENTIFY, median (ms)", &|r| {
        ms(median(
            &mut r.starts.iter().map(|s| s.0).collect::<Vec<_>>(),
        ))
    });
    row("SIGTERM → exit (ms)", &|r| {
        r.stops
            .iter()
            .map(|d| ms(*d))
            .collect::<Vec<_>>()
            .join(" / ")
    });
    row("VmRSS idle, 3 s after start", &|r| kib(r.rss_idle));
    row("  VmHWM then", &|r| kib(r.hwm_idle));
    row(
        "  of which anonymous / mapped files / shared memory",
        &|r| r.rss_parts_idle.clone(),
    );
    let n = args.burst;
    row(
        &format!("burst of {n}: click → callback p50/p99/max (ms)"),
        &|r| first_burst(r).map_or("-".into(), |b| spread(&mut b.ack.clone())),
    );
    row("  callback types", &|r| {
        first_burst(r).map_or("-".into(), |b| {
            let mut k: Vec<_> = b.callback_kinds.iter().collect();
            k.sort();
            let mut s = k
                .iter()
                .map(|(t, c)| format!("type {t}: {c}"))
                .collect::<Vec<_>>()
                .join(", ");
            if b.unanswered > 0 {
                let _ = write!(s, ", none: {}", b.unanswered);
            }
            s
        })
    });
    row(
        &format!("burst of {n}: click → the ticket link p50/p99/max (ms)"),
        &|r| first_burst(r).map_or("-".into(), |b| spread(&mut b.reply.clone())),
    );
    row("  answers with the ticket link", &|r| {
        first_burst(r).map_or("-".into(), |b| format!("{} / {}", b.linked, b.n))
    });
    row(
        "  throughput (tickets/s, first click → last reply)",
        &|r| {
            first_burst(r).map_or("-".into(), |b| {
                format!("{:.0} ({} ms)", b.throughput(), ms(b.wall))
            })
        },
    );
    row("  clicks sent in (ms)", &|r| {
        first_burst(r).map_or("-".into(), |b| ms(b.send_span))
    });
    row(
        &format!(
            "/ticket info ×{INFO_ASKS}, one at a time, after it: send → answer p50/p99/max (ms)"
        ),
        &|r| spread(&mut r.info_first.clone()),
    );
    row("  ticket channels / rows / rows with channel", &|r| {
        format!(
            "{} / {} / {}",
            r.check_first.0, r.check_first.1, r.check_first.2
        )
    });
    row(
        "  CPU ms per ticket: bot / fake (bench process) / db server",
        &|r| first_burst(r).map_or("-".into(), |b| b.cpu.show()),
    );
    row("  machine CPU busy during the burst (%, 2 cores)", &|r| {
        first_burst(r).map_or("-".into(), |b| format!("{:.0}", b.cpu.machine_busy))
    });
    let steps = [
        "  step: click → channel created (DB insert + POST channel)",
        "  step: channel → link (DB update + the answer)",
        "  step: channel → welcome posted (POST message, after the link)",
        "  step: channel → audit posted (POST log message, after the link)",
    ];
    for (k, name) in steps.iter().enumerate() {
        row(&format!("{name} p50/p99/max (ms)"), &|r| {
            first_burst(r).map_or("-".into(), |b| spread(&mut b.steps[k].clone()))
        });
    }
    let last_label = format!(
        "last burst (after {} tickets): click → callback p50/p99/max (ms)",
        args.tickets.saturating_sub(n)
    );
    row(&last_label, &|r| {
        r.bursts
            .last()
            .map_or("-".into(), |b| spread(&mut b.ack.clone()))
    });
    row("  click → the ticket link p50/p99/max (ms)", &|r| {
        r.bursts
            .last()
            .map_or("-".into(), |b| spread(&mut b.reply.clone()))
    });
    row("  step: click → channel created p50 (ms)", &|r| {
        r.bursts.last().map_or("-".into(), |b| {
            let mut v = b.steps[0].clone();
            ms(median(&mut v))
        })
    });
    row("  step: channel → link p50 (ms)", &|r| {
        r.bursts.last().map_or("-".into(), |b| {
            let mut v = b.steps[1].clone();
            ms(median(&mut v))
        })
    });
    row("throughput per burst (tickets/s)", &|r| {
        r.bursts
            .iter()
            .map(|b| format!("{:.0}", b.throughput()))
            .collect::<Vec<_>>()
            .join(" ")
    });
    row(
        &format!(
            "after {} tickets: channels / rows / with channel",
            args.tickets
        ),
        &|r| format!("{} / {} / {}", r.check_all.0, r.check_all.1, r.check_all.2),
    );
    row(
        &format!("  /ticket info ×{INFO_ASKS} then, one at a time: p50/p99/max (ms)"),
        &|r| spread(&mut r.info_all.clone()),
    );
    row("  answers with the link, all bursts", &|r| {
        let linked: usize = r.bursts.iter().map(|b| b.linked).sum();
        let n: usize = r.bursts.iter().map(|b| b.n).sum();
        format!("{linked} / {n}")
    });
    row(
        &format!("VmRSS right after {} tickets", args.tickets),
        &|r| kib(r.rss_after),
    );
    row("VmRSS after 3 s idle", &|r| kib(r.rss_after_idle));
    row(
        "  of which anonymous / mapped files / shared memory",
        &|r| r.rss_parts_after.clone(),
    );
    row("VmHWM (peak)", &|r| kib(r.hwm_after));
    row(
        &format!(
            "then idle {} s: bot CPU s / db server CPU s",
            args.idle_secs
        ),
        &|r| {
            format!(
                "{:.2} / {}",
                r.idle.bot_cpu,
                r.idle
                    .db_cpu
                    .map_or_else(|| "-".into(), |d| format!("{d:.2}"))
            )
        },
    );
    row("  busiest second (% of a core) / seconds over 10%", &|r| {
        format!("{:.0} / {}", r.idle.peak_pct, r.idle.busy_secs)
    });
    row("  VmRSS / VmHWM after the idle period", &|r| {
        format!("{} / {}", kib(r.idle.rss), kib(r.idle.hwm))
    });
    row("open fds: idle / after burst 1 / at the end", &|r| {
        format!("{} / {} / {}", r.fds.0, r.fds.1, r.fds.2)
    });
    row("database size", &|r| r.size.clone());
    row("REST requests per ticket (all bursts)", &|r| {
        let total: usize = r
            .bursts
            .iter()
            .flat_map(|b| b.routes.values())
            .map(|v| v.0)
            .sum();
        let n: usize = r.bursts.iter().map(|b| b.n).sum();
        format!("{:.2}", total as f64 / n.max(1) as f64)
    });
    row("failed REST requests", &|r| {
        let failed: usize = r
            .bursts
            .iter()
            .flat_map(|b| b.routes.values())
            .map(|v| v.1)
            .sum();
        failed.to_string()
    });
    row("bot WARN/ERROR lines", &|r| r.warning_count.to_string());
    row("bot exit", &|r| {
        r.exit.map_or_else(|| "?".into(), |s| s.to_string())
    });
    row(
        &format!("(adding {} members to the fake took, ms)", args.tickets),
        &|r| ms(r.members_added),
    );
    print_table(
        &format!(
            "ticketbot interactions benchmark: burst {}, {} tickets",
            args.burst, args.tickets
        ),
        &header,
        &rows,
    );

    for r in reports {
        let mut routes: HashMap<String, (usize, usize)> = HashMap::new();
        for b in &r.bursts {
            for (k, v) in &b.routes {
                let e = routes.entry(k.clone()).or_default();
                e.0 += v.0;
                e.1 += v.1;
            }
        }
        let mut routes: Vec<_> = routes.into_iter().collect();
        routes.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
        println!("\n[{}] requests during the bursts:", r.backend.name());
        for (route, (count, failed)) in routes {
            println!(
                "  {count:>7} {route}{}",
                if failed > 0 {
                    format!(" ({failed} failed)")
                } else {
                    String::new()
                }
            );
        }
        let failures: Vec<&String> = r.bursts.iter().flat_map(|b| &b.failures).take(10).collect();
        if !failures.is_empty() {
            println!("  failures (first {}):", failures.len());
            for f in failures {
                println!("    {f}");
            }
        }
        if !r.statements.is_empty() {
            println!("  SQL statements (sqlx debug log): count, p50 / p99 / max ms, total s");
            for (summary, times) in &r.statements {
                let mut t = times.clone();
                let total: Duration = t.iter().sum();
                println!(
                    "    {:>6}  {:>24}  {:>7.2}  {summary}",
                    t.len(),
                    spread(&mut t),
                    total.as_secs_f64()
                );
            }
        }
        if !r.warnings.is_empty() {
            println!(
                "  bot warnings/errors (first {} of {}):",
                r.warnings.len(),
                r.warning_count
            );
            for w in &r.warnings {
                println!("    {w}");
            }
        }
    }
    let bin = env!("CARGO_BIN_EXE_bot");
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
    println!("\nbot binary: {bin} ({})", mib(size));
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at the end: {}", load.trim());
    }
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
