//! The bot process: starting it, its CPU, memory and open files.

use super::*;

/// (busy, total) jiffies of the whole machine.
pub(super) fn machine_jiffies() -> (u64, u64) {
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
pub(super) fn db_server_pid() -> Option<String> {
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
pub(super) struct CpuSnap {
    pub(super) bot: f64,
    pub(super) bench: f64,
    pub(super) db: Option<f64>,
    pub(super) busy: u64,
    pub(super) total: u64,
}

pub(super) fn cpu_snap(bot_pid: u32, db_pid: Option<&str>) -> CpuSnap {
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
pub(super) struct CpuUse {
    pub(super) bot: f64,
    pub(super) bench: f64,
    pub(super) db: Option<f64>,
    pub(super) machine_busy: f64,
}

impl CpuUse {
    pub(super) fn between(a: CpuSnap, b: CpuSnap, tickets: usize) -> CpuUse {
        let per = |x: f64| x * 1000.0 / tickets.max(1) as f64;
        CpuUse {
            bot: per(b.bot - a.bot),
            bench: per(b.bench - a.bench),
            db: a.db.zip(b.db).map(|(a, b)| per(b - a)),
            machine_busy: (b.busy - a.busy) as f64 * 100.0 / (b.total - a.total).max(1) as f64,
        }
    }

    pub(super) fn show(&self) -> String {
        let db = self.db.map_or_else(|| "-".into(), |d| format!("{d:.2}"));
        format!("{:.2} / {:.2} / {db}", self.bot, self.bench)
    }
}

/// What the bot does when nobody clicks: its timers (catch-up every 10 s, repair every minute).
#[derive(Default)]
pub(super) struct IdleUse {
    pub(super) bot_cpu: f64,
    pub(super) db_cpu: Option<f64>,
    pub(super) peak_pct: f64,
    /// Seconds in which the bot used more than 10% of a core.
    pub(super) busy_secs: usize,
    pub(super) rss: Option<u64>,
    pub(super) hwm: Option<u64>,
}

pub(super) async fn watch_idle(bot: &Bot, db_pid: Option<&str>, secs: u64) -> IdleUse {
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
pub(super) fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// What the resident memory is: the heap and stacks (anonymous), mapped files (SQLite's map of
/// the database), shared memory (SQLite's WAL index).
pub(super) fn rss_parts(pid: u32) -> String {
    status_kib(pid, ["RssAnon:", "RssFile:", "RssShmem:"])
        .map(kib)
        .join(" / ")
}

pub(super) struct Started {
    pub(super) fake: Arc<FakeDiscord>,
    pub(super) bot: Bot,
    pub(super) to_identify: Duration,
    pub(super) to_ready: Duration,
}

/// A new fake, the bot spawned against it; waits for `/ticket` to be registered.
pub(super) async fn start_bot(db: &Db, run: usize) -> Result<Started, String> {
    // Discord's 500 channels a guild would stop a burst of 1,000 half-way: raised here (the
    // 50 a category stays, so the overflow categories are part of what is measured).
    let config = Config {
        guild_channel_limit: usize::MAX,
        ..Config::default()
    };
    start_bot_on(db, run, config).await
}

pub(super) async fn start_bot_on(db: &Db, run: usize, config: Config) -> Result<Started, String> {
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
