//! The end-to-end harness: a fake Discord (`fakecord`) on 127.0.0.1, a fresh database, and the
//! real `bot` binary between them.
//!
//! [`E2e`] starts the fake, writes the bot's configuration (environment variables, or a `.env`
//! the test wrote), spawns `bot` in a temp directory with its stdout and stderr captured to a
//! file, and waits until it is connected and has registered `/ticket`. The test drives the bot
//! through the fake and looks at what it did in the fake and in the database, opened here with
//! `open_store` like the bot opens it. [`E2e::finish`] stops the bot with SIGTERM (it must exit 0
//! within 10 s) and fails the test if the bot panicked, logged a payload serenity could not
//! deserialize, called a route the fake does not know, printed its token, left an interaction
//! unanswered, or left a ticket row without its channel or a ticket channel without its row.
//! A failing test prints the tail of the bot's output.
//!
//! Servers for the other backends come from the environment, as in the store's tests:
//! `TEST_MYSQL_HOST` (127.0.0.1), `TEST_MYSQL_PORT` (3306), `TEST_MYSQL_USER` (root),
//! `TEST_MYSQL_PASSWORD` (empty), `TEST_MONGO_URI` (mongodb://127.0.0.1:27017). Each test gets a
//! database of its own (`tb_e2e_…`), dropped afterwards.

#![allow(dead_code)]

pub mod servers;
pub mod shards;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use fakecord::{ids, Config, FakeDiscord, FakeUser, Message, RouteMatcher, State};
use ticketbot_common::config::{DbConfig, MongoConfig, MysqlConfig, Secret};
use ticketbot_common::store::{Backend, Cursor, TicketFilter};
use ticketbot_common::ticket::short_id_from_channel_name;
use ticketbot_common::{open_store, Ticket, TicketStore};
use tokio::process::{Child, Command};
use tokio::sync::OnceCell;

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// The bot token every test uses: shaped like a real one, and searched for in every output.
pub const TOKEN: &str = "MTIxMDAwMDAwMDAwMDAwMDAx.GxE2eT.e2e-S3cret-Token-Value-never-printed";

/// The bot's log filter: serenity at debug, so that a payload it cannot take shows up. (The
/// binary's own crate is `bot`, so its target is `bot::…`; `ticketbot` is kept as asked.)
pub const RUST_LOG: &str = "info,serenity=debug,ticketbot=debug,bot=debug";

/// Log lines that mean serenity dropped or mangled something the fake sent (as in fakecord's
/// own tests).
pub const DESERIALIZATION_FAILURES: &[&str] = &[
    "An unknown event was received",
    "Err deserializing",
    "skipping guild channel due to deserialization error",
    "Could not decode json",
    "Skipping component with unsupported kind",
    "Mismatched successful response status",
    "Unhandled error",
    "Shard handler received err",
    "Sequence off",
];

/// What a ticket's members (creator, support role, added users, the bot) may do in its channel.
pub const MEMBER_PERMS: u64 = fakecord::perms::VIEW_CHANNEL
    | fakecord::perms::SEND_MESSAGES
    | fakecord::perms::READ_MESSAGE_HISTORY
    | fakecord::perms::ATTACH_FILES;

pub const OPEN_BUTTON: &str = "ticketbot:open";
pub const CLOSE_BUTTON: &str = "ticketbot:close";
pub const CLAIM_BUTTON: &str = "ticketbot:claim";
pub const REOPEN_BUTTON: &str = "ticketbot:reopen";
pub const DELETE_BUTTON: &str = "ticketbot:delete";
pub const ARCHIVE_BUTTON: &str = "ticketbot:archive";
pub const DELETE_CANCEL: &str = "ticketbot:delete-cancel";
pub const DELETE_CONFIRM_PREFIX: &str = "ticketbot:delete-confirm:";

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

fn mysql_server() -> (String, u16, String, String) {
    (
        env_or("TEST_MYSQL_HOST", "127.0.0.1"),
        env_or("TEST_MYSQL_PORT", "3306")
            .parse()
            .expect("TEST_MYSQL_PORT must be a port number"),
        env_or("TEST_MYSQL_USER", "root"),
        env_or("TEST_MYSQL_PASSWORD", ""),
    )
}

fn mongo_uri() -> String {
    env_or("TEST_MONGO_URI", "mongodb://127.0.0.1:27017")
}

/// A fresh database of one backend, and the temp directory the bot runs in (its `.env`, its
/// log files, the SQLite file). Server databases are dropped when it is dropped.
pub struct TestDb {
    pub backend: Backend,
    pub config: DbConfig,
    /// The MySQL/MongoDB database name.
    pub name: String,
    pub dir: tempfile::TempDir,
}

impl TestDb {
    pub fn new(backend: Backend) -> Self {
        let mut name = uuid::Uuid::new_v4().simple().to_string();
        name.truncate(16);
        let name = format!("tb_e2e_{name}");
        let dir = tempfile::Builder::new()
            .prefix("ticketbot-e2e-")
            .tempdir()
            .expect("cannot make a temp dir");
        let config = match backend {
            Backend::Sqlite => DbConfig::Sqlite {
                path: dir.path().join("ticketbotdatabase.db"),
            },
            Backend::Mysql => {
                let (host, port, user, password) = mysql_server();
                DbConfig::Mysql(MysqlConfig {
                    host,
                    port,
                    user,
                    password: Secret::new(password),
                    database: name.clone(),
                })
            }
            Backend::Mongodb => DbConfig::Mongo(MongoConfig {
                uri: Secret::new(mongo_uri()),
                database: name.clone(),
            }),
        };
        TestDb {
            backend,
            config,
            name,
            dir,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The variables that point the bot at this database.
    pub fn env(&self) -> Vec<(String, String)> {
        self.config
            .env_vars()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    /// Opens the store on this database, as the bot does.
    pub async fn open(&self) -> Arc<dyn TicketStore> {
        open_store(&self.config)
            .await
            .unwrap_or_else(|e| panic!("open_store({:?}) failed: {e}", self.config))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.backend == Backend::Sqlite {
            return; // the temp dir goes with it
        }
        let (backend, name) = (self.backend, self.name.clone());
        assert!(name.starts_with("tb_e2e_"), "refusing to drop {name}");
        // An async drop cannot run here: a thread with a runtime of its own does it.
        let done = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let _ =
                    tokio::time::timeout(Duration::from_secs(20), drop_database(backend, &name))
                        .await;
            });
        });
        let _ = done.join();
    }
}

async fn drop_database(backend: Backend, name: &str) {
    use sqlx::Executor;
    match backend {
        Backend::Sqlite => {}
        Backend::Mysql => {
            let (host, port, user, password) = mysql_server();
            let mut opts = sqlx::mysql::MySqlConnectOptions::new()
                .host(&host)
                .port(port)
                .username(&user);
            if !password.is_empty() {
                opts = opts.password(&password);
            }
            if let Ok(pool) = sqlx::mysql::MySqlPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
            {
                let _ = pool.execute("SET SESSION lock_wait_timeout = 10").await;
                let _ = pool
                    .execute(format!("DROP DATABASE IF EXISTS `{name}`").as_str())
                    .await;
                pool.close().await;
            }
        }
        Backend::Mongodb => {
            if let Ok(client) = mongodb::Client::with_uri_str(mongo_uri()).await {
                let _ = client.database(name).drop().await;
            }
        }
    }
}

/// A running `bot` process with its output going to a file.
pub struct BotProcess {
    child: Child,
    pub pid: u32,
    /// stdout and stderr, interleaved.
    pub output: PathBuf,
    pub exit: Option<ExitStatus>,
}

impl BotProcess {
    /// Spawns the real binary in `dir` with exactly `env` (plus PATH).
    pub fn spawn(dir: &Path, env: &[(String, String)], output_name: &str) -> BotProcess {
        let output = dir.join(output_name);
        let file = std::fs::File::create(&output).expect("cannot create the bot's output file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bot"));
        cmd.current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_BACKTRACE", "1")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("cannot share the output file"))
            .stderr(file)
            .kill_on_drop(true);
        let child = cmd.spawn().expect("cannot start the bot binary");
        let pid = child.id().expect("the bot has a pid");
        BotProcess {
            child,
            pid,
            output,
            exit: None,
        }
    }

    pub fn output_text(&self) -> String {
        read_lossy(&self.output)
    }

    pub fn signal(&self, signal: i32) {
        if self.exit.is_none() {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe {
                libc::kill(self.pid as libc::pid_t, signal);
            }
        }
    }

    /// Waits for the process to end, at most `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Ok(Ok(status)) = tokio::time::timeout(timeout, self.child.wait()).await {
                self.exit = Some(status);
            }
        }
        self.exit
    }

    /// SIGKILL, as a crash would.
    pub async fn kill(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.start_kill();
            self.exit = self.child.wait().await.ok();
        }
    }

    /// Whether it has already exited (without waiting).
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }
}

/// A file's text, without ANSI colour sequences.
pub fn read_lossy(path: &Path) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    strip_ansi(&text)
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ parameters final-letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Every file under `dir` (the bot's log files), with its text.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else if !p
            .extension()
            .is_some_and(|x| x == "db" || x == "db-wal" || x == "db-shm")
        {
            out.push((p.clone(), read_lossy(&p)));
        }
    }
    out
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Successful guild command registrations so far.
pub fn registrations(st: &State) -> usize {
    let m = RouteMatcher::parse("PUT /applications/*/guilds/*/commands");
    st.requests
        .iter()
        .filter(|r| (200..300).contains(&r.status) && m.matches(&r.method, &r.path))
        .count()
}

/// Polls `check` (every 50 ms) until it gives a value; for what the fake cannot signal (the
/// database, the bot's log). Panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A snowflake whose timestamp is `age` ago, as Discord would have given a channel made then.
pub fn snowflake_aged(age: Duration, increment: u64) -> u64 {
    let now_ms = Utc::now().timestamp_millis() as u64;
    let ms = now_ms - fakecord::DISCORD_EPOCH_MS - age.as_millis() as u64;
    (ms << 22) | (increment & 0xfff)
}

/// The channel id of the first `<#id>` in a text.
pub fn channel_mention(text: &str) -> Option<u64> {
    let start = text.find("<#")? + 2;
    let end = text[start..].find('>')? + start;
    text[start..end].parse().ok()
}

/// Every ticket of the store, newest first.
pub async fn all_tickets(store: &dyn TicketStore) -> Vec<Ticket> {
    let mut out = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = store
            .list(&TicketFilter::default(), 500, after.as_ref())
            .await
            .expect("list tickets");
        out.extend(page.tickets);
        match page.next {
            Some(next) => after = Some(next),
            None => return out,
        }
    }
}

/// Discord's rule: an interaction not acknowledged within 3 s is dead (10062). The bot defers
/// first, so every test holds it to that.
fn with_discord_deadline(mut config: Config) -> Config {
    config
        .interaction_ack_deadline
        .get_or_insert(Duration::from_secs(3));
    config
}

/// What `finish` checks, and what a test may relax.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// Some interactions may go unanswered (a stop in the middle of a burst).
    pub allow_unanswered: bool,
    /// Ticket-named channels that may have no row (left in place on purpose).
    pub orphan_channels_allowed: Vec<u64>,
}

/// One end-to-end setup: the fake, the database, the bot.
pub struct E2e {
    pub fake: FakeDiscord,
    pub db: TestDb,
    bot: Option<BotProcess>,
    /// Every finished run's output (restarts), for the checks at the end.
    past_outputs: Vec<PathBuf>,
    runs: u32,
    env: Vec<(String, String)>,
    store: OnceCell<Arc<dyn TicketStore>>,
    finished: bool,
}

impl E2e {
    /// The default guild, a fresh `backend` database, the bot configured by variables.
    pub async fn start(backend: Backend) -> E2e {
        Self::start_with(backend, Config::default(), &[]).await
    }

    /// As [`E2e::start`], with another fake guild and extra (or overriding) variables.
    pub async fn start_with(backend: Backend, config: Config, extra: &[(&str, &str)]) -> E2e {
        Self::start_on(TestDb::new(backend), config, extra).await
    }

    /// On a database the test prepared.
    pub async fn start_on(db: TestDb, config: Config, extra: &[(&str, &str)]) -> E2e {
        let mut e = Self::prepare(db, config, extra).await;
        e.launch().await;
        e
    }

    /// As production runs: REST to `https://discord.com` with serenity's rate limiter on,
    /// `discord.com` being the fake's TLS side (its own loopback address, port 443, a test CA
    /// the bot trusts through `DISCORD_CA_FILE`). Give `config.rate_limits` to have Discord's
    /// limits enforced. Needs the right to bind port 443.
    pub async fn start_tls(backend: Backend, config: Config, extra: &[(&str, &str)]) -> E2e {
        let mut e = Self::prepare(TestDb::new(backend), config, extra).await;
        let addr = e
            .fake
            .serve_tls()
            .await
            .expect("fakecord serves TLS on port 443 of a loopback address (run as root)");
        let ca = e.db.dir().join("discord-test-ca.pem");
        std::fs::write(&ca, fakecord::tls::CA_PEM).expect("write the CA");
        e.env.retain(|(k, _)| k != "DISCORD_API_BASE");
        e.env
            .push(("DISCORD_API_ADDR".into(), addr.ip().to_string()));
        e.env
            .push(("DISCORD_CA_FILE".into(), ca.display().to_string()));
        e.launch().await;
        e
    }

    /// The fake and the configuration, without starting the bot: call [`E2e::launch`].
    pub async fn prepare(db: TestDb, config: Config, extra: &[(&str, &str)]) -> E2e {
        let fake = FakeDiscord::start(with_discord_deadline(config)).await;
        let logs = db.dir().join("logs").join("bot.log");
        let mut env: Vec<(String, String)> = vec![
            ("BOT_TOKEN".into(), TOKEN.into()),
            ("GUILD_ID".into(), ids::GUILD.to_string()),
            ("SUPPORT_ROLE_ID".into(), ids::SUPPORT_ROLE.to_string()),
            (
                "OPEN_TICKETS_CATEGORY_ID".into(),
                ids::OPEN_CATEGORY.to_string(),
            ),
            (
                "CLOSED_TICKETS_CATEGORY_ID".into(),
                ids::CLOSED_CATEGORY.to_string(),
            ),
            ("LOG_CHANNEL_ID".into(), ids::LOG_CHANNEL.to_string()),
            ("LOG_FILE".into(), logs.display().to_string()),
        ];
        env.extend(db.env());
        for (k, v) in extra {
            env.retain(|(key, _)| key != k);
            env.push(((*k).to_owned(), (*v).to_owned()));
        }
        Self::with_env(fake, db, env, true)
    }

    /// With exactly these variables besides `DISCORD_API_BASE` (the rest comes from a `.env`
    /// the test wrote in `db.dir()`; no `RUST_LOG` unless given, so that the file's `DEBUG`
    /// decides).
    pub async fn start_bare(db: TestDb, config: Config, env: &[(&str, &str)]) -> E2e {
        let fake = FakeDiscord::start(with_discord_deadline(config)).await;
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut e = Self::with_env(fake, db, env, false);
        e.launch().await;
        e
    }

    fn with_env(
        fake: FakeDiscord,
        db: TestDb,
        mut env: Vec<(String, String)>,
        rust_log: bool,
    ) -> E2e {
        env.retain(|(k, _)| {
            k != "DISCORD_API_BASE" && k != "DISCORD_CDN_BASE" && !(rust_log && k == "RUST_LOG")
        });
        env.push(("DISCORD_API_BASE".into(), fake.http_url()));
        // Avatars come from the CDN, which serenity's proxy setting does not cover.
        env.push(("DISCORD_CDN_BASE".into(), fake.http_url()));
        if rust_log {
            env.push(("RUST_LOG".into(), RUST_LOG.into()));
        }
        E2e {
            fake,
            db,
            bot: None,
            past_outputs: Vec::new(),
            runs: 0,
            env,
            store: OnceCell::new(),
            finished: false,
        }
    }

    /// Spawns the bot (again) and waits until it has identified and registered `/ticket`.
    pub async fn launch(&mut self) {
        assert!(self.bot.is_none(), "the bot is already running");
        let (identifies, registered) = self
            .fake
            .with_state(|st| (st.gateway.identifies, registrations(st)));
        self.runs += 1;
        let bot = BotProcess::spawn(
            self.db.dir(),
            &self.env,
            &format!("bot-run{}.out", self.runs),
        );
        self.bot = Some(bot);
        let ready = self.fake.wait_until(
            |st| {
                st.gateway.identifies > identifies
                    && st.gateway.connected
                    && registrations(st) > registered
            },
            WAIT,
        );
        let bot = self.bot.as_mut().expect("just spawned");
        tokio::select! {
            r = ready => if let Err(e) = r {
                panic!("the bot did not become ready: {e}\n--- bot output ---\n{}", tail(&bot.output_text(), 80));
            },
            status = bot.child.wait() => {
                panic!("the bot exited ({status:?}) before it was ready\n--- bot output ---\n{}", tail(&bot.output_text(), 80));
            }
        }
    }

    /// Spawns the bot without waiting for it to become ready (for a bot that must refuse to run).
    pub fn spawn_only(&mut self) {
        assert!(self.bot.is_none(), "the bot is already running");
        self.runs += 1;
        self.bot = Some(BotProcess::spawn(
            self.db.dir(),
            &self.env,
            &format!("bot-run{}.out", self.runs),
        ));
    }

    /// The variables the bot runs with (to start another process beside it).
    pub fn bot_env(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    pub fn bot(&mut self) -> &mut BotProcess {
        self.bot.as_mut().expect("the bot is not running")
    }

    /// The current run's output.
    pub fn output(&self) -> String {
        self.bot
            .as_ref()
            .map(BotProcess::output_text)
            .unwrap_or_default()
    }

    /// Every run's output so far.
    pub fn all_output(&self) -> String {
        let mut text: String = self.past_outputs.iter().map(|p| read_lossy(p)).collect();
        text.push_str(&self.output());
        text
    }

    /// Waits until the bot's output has a line containing `needle`; returns that line.
    pub async fn wait_for_log(&self, needle: &str) -> String {
        self.wait_for_log_lines(needle, 1).await.remove(0)
    }

    /// Waits until the bot's output has `n` lines containing `needle`; returns them all.
    pub async fn wait_for_log_lines(&self, needle: &str, n: usize) -> Vec<String> {
        eventually(
            &format!("the bot to log {needle:?} {n} times"),
            WAIT,
            || async {
                let lines: Vec<String> = self
                    .output()
                    .lines()
                    .filter(|l| l.contains(needle))
                    .map(str::to_owned)
                    .collect();
                (lines.len() >= n).then_some(lines)
            },
        )
        .await
    }

    /// SIGKILL, as a crash: the next [`E2e::launch`] starts again on the same database.
    pub async fn kill_bot(&mut self) {
        if let Some(mut bot) = self.bot.take() {
            bot.kill().await;
            self.past_outputs.push(bot.output.clone());
        }
    }

    /// SIGTERM; the bot must exit 0 within 10 s. Returns how long it took.
    pub async fn stop_bot(&mut self) -> Duration {
        let bot = self.bot();
        let asked = Instant::now();
        bot.signal(libc::SIGTERM);
        let status = bot.wait_exit(Duration::from_secs(10)).await;
        let took = asked.elapsed();
        let out = bot.output_text();
        match status {
            Some(s) => assert!(
                s.success(),
                "the bot exited with {s} after SIGTERM\n{}",
                tail(&out, 60)
            ),
            None => panic!(
                "the bot did not exit within 10 s of SIGTERM\n{}",
                tail(&out, 60)
            ),
        }
        took
    }

    /// The store on the bot's database (opened once).
    pub async fn store(&self) -> Arc<dyn TicketStore> {
        self.store
            .get_or_init(|| async { self.db.open().await })
            .await
            .clone()
    }

    // ----- driving -----

    pub fn user(&self, id: u64) -> FakeUser {
        self.fake.user(id)
    }

    /// `/ticket <sub>` by a member (with their current roles) in a channel.
    pub fn slash(
        &self,
        user_id: u64,
        channel: u64,
        sub: &str,
        options: &[(&str, fakecord::OptionValue)],
    ) -> u64 {
        let user = self.fake.user(user_id);
        let roles = self.fake.member_roles(user_id);
        self.fake
            .send_slash_command(&user, &roles, channel, "ticket", Some(sub), options)
    }

    /// A click by a member (with their current roles).
    pub fn click(&self, user_id: u64, channel: u64, message: u64, custom_id: &str) -> u64 {
        let user = self.fake.user(user_id);
        let roles = self.fake.member_roles(user_id);
        self.fake
            .click_button(&user, &roles, channel, message, custom_id)
    }

    /// The reply to an interaction, which must be ephemeral.
    pub async fn reply(&self, interaction: u64) -> Message {
        let m = self
            .fake
            .wait_for_reply(interaction, WAIT)
            .await
            .unwrap_or_else(|e| panic!("{e}\n--- bot output ---\n{}", tail(&self.output(), 60)));
        assert!(
            m.is_ephemeral(),
            "the reply to interaction {interaction} is not ephemeral: {m:?}"
        );
        m
    }

    /// The text of the (ephemeral) reply.
    pub async fn reply_text(&self, interaction: u64) -> String {
        self.reply(interaction).await.text()
    }

    /// Waits for every reply (all ephemeral) in one wait.
    pub async fn replies(&self, interactions: &[u64], timeout: Duration) -> Vec<Message> {
        if let Err(e) = self
            .fake
            .wait_until(|st| interactions.iter().all(|i| has_reply(st, *i)), timeout)
            .await
        {
            let missing = self
                .fake
                .with_state(|st| interactions.iter().filter(|i| !has_reply(st, **i)).count());
            panic!(
                "{missing} of {} interactions got no reply: {e}\n--- bot output ---\n{}",
                interactions.len(),
                tail(&self.output(), 60)
            );
        }
        let mut out = Vec::new();
        for &i in interactions {
            out.push(self.reply(i).await);
        }
        out
    }

    /// `/ticket setup` by staff in #support; returns the panel message's id.
    pub async fn post_panel(&self) -> u64 {
        let id = self.slash(ids::STAFF, ids::PANEL_CHANNEL, "setup", &[]);
        let text = self.reply_text(id).await;
        assert_eq!(
            text,
            "Panel posted. Anyone can now open a ticket with its button."
        );
        self.fake
            .messages(ids::PANEL_CHANNEL)
            .into_iter()
            .rev()
            .find(|m| m.custom_ids() == [OPEN_BUTTON])
            .expect("the panel message in #support")
            .id
    }

    /// A click on the panel by `user_id`; returns the ticket and its channel.
    pub async fn open_ticket(&self, panel: u64, user_id: u64) -> (Ticket, u64) {
        let click = self.click(user_id, ids::PANEL_CHANNEL, panel, OPEN_BUTTON);
        let text = self.reply_text(click).await;
        assert!(
            text.starts_with("Your ticket is open: <#"),
            "unexpected answer to the panel click: {text}"
        );
        let channel = channel_mention(&text).expect("a channel mention");
        let ticket = self
            .store()
            .await
            .get_by_channel(channel)
            .await
            .expect("get_by_channel")
            .unwrap_or_else(|| panic!("no ticket row has the new channel {channel}"));
        // The welcome follows the user's link (posted in the background).
        self.fake
            .wait_until(
                |st| {
                    st.messages.values().any(|m| {
                        m.channel_id == channel && m.custom_ids() == [CLOSE_BUTTON, CLAIM_BUTTON]
                    })
                },
                WAIT,
            )
            .await
            .unwrap_or_else(|e| panic!("no welcome in {channel}: {e}"));
        (ticket, channel)
    }

    /// The ticket's current row.
    pub async fn ticket(&self, id: uuid::Uuid) -> Option<Ticket> {
        self.store().await.get(id).await.expect("get ticket")
    }

    /// The welcome message of a ticket channel (the one with the Close and Claim buttons).
    pub fn welcome(&self, channel: u64) -> Message {
        self.fake
            .messages(channel)
            .into_iter()
            .find(|m| m.custom_ids() == [CLOSE_BUTTON, CLAIM_BUTTON])
            .unwrap_or_else(|| panic!("no welcome message in channel {channel}"))
    }

    /// Messages of #ticket-logs whose text contains `needle`.
    pub fn audit_entries(&self, needle: &str) -> Vec<Message> {
        self.fake
            .messages(ids::LOG_CHANNEL)
            .into_iter()
            .filter(|m| m.text().contains(needle))
            .collect()
    }

    // ----- the checks every test ends with -----

    /// Every ticket row has a channel (and an open ticket's channel exists); every live channel
    /// named like a ticket channel has a row.
    pub async fn assert_consistent(&self, orphans_allowed: &[u64]) {
        let store = self.store().await;
        let tickets = all_tickets(store.as_ref()).await;
        for t in &tickets {
            let Some(c) = t.channel_id else {
                // Closed without a channel: archived, or closed by the repair because it had
                // none (kept whole, reopenable in a new channel). Never open without one.
                assert!(
                    t.is_archived() || t.status == ticketbot_common::TicketStatus::Closed,
                    "ticket {} is open without a channel: {t:?}",
                    t.id
                );
                continue;
            };
            if t.is_open() {
                assert!(
                    self.fake.channel(c).is_some(),
                    "open ticket {} has channel {c}, which does not exist",
                    t.id
                );
            }
        }
        let ticket_channels: Vec<(u64, String)> = self.fake.with_state(|st| {
            st.channels
                .values()
                .filter(|c| short_id_from_channel_name(&c.name).is_some())
                .map(|c| (c.id, c.name.clone()))
                .collect()
        });
        for (id, name) in ticket_channels {
            if orphans_allowed.contains(&id) {
                continue;
            }
            assert!(
                tickets.iter().any(|t| t.channel_id == Some(id)),
                "channel #{name} ({id}) has no ticket row"
            );
        }
    }

    /// Checks the output of every run: no panic, no payload serenity could not take, no token.
    pub fn assert_clean_output(&self) {
        let mut texts: Vec<(String, String)> = self
            .past_outputs
            .iter()
            .chain(self.bot.as_ref().map(|b| &b.output))
            .map(|p| (p.display().to_string(), read_lossy(p)))
            .collect();
        texts.extend(
            files_under(&self.db.dir().join("logs"))
                .into_iter()
                .map(|(p, t)| (p.display().to_string(), t)),
        );
        for (name, _) in &texts {
            let raw = std::fs::read(name).unwrap_or_default();
            assert!(
                !raw.contains(&0x1b),
                "{name}: colour codes in output that is not a terminal"
            );
        }
        for (name, text) in &texts {
            assert_clean_log(name, text);
        }
    }

    /// Ends the test: the fake's, the database's and the output's checks, then SIGTERM (exit 0
    /// within 10 s).
    pub async fn finish(self) {
        self.finish_with(Checks::default()).await;
    }

    pub async fn finish_with(mut self, checks: Checks) {
        if !checks.allow_unanswered {
            let unanswered: Vec<(u64, String)> = self.fake.with_state(|st| {
                st.interactions
                    .values()
                    .filter(|i| i.callbacks.is_empty())
                    .map(|i| (i.id, i.name.clone()))
                    .collect()
            });
            assert!(
                unanswered.is_empty(),
                "interactions never answered: {unanswered:?}"
            );
        }
        self.fake.assert_no_unknown_routes();
        self.assert_consistent(&checks.orphan_channels_allowed)
            .await;
        if self.bot.as_mut().is_some_and(|b| b.try_exit().is_none()) {
            self.stop_bot().await;
        }
        self.assert_clean_output();
        if let Some(store) = self.store.get() {
            store.close().await;
        }
        self.finished = true;
    }
}

impl Drop for E2e {
    fn drop(&mut self) {
        if !self.finished && std::thread::panicking() {
            eprintln!(
                "---- bot output (last 150 lines of run {}) ----\n{}",
                self.runs,
                tail(&self.output(), 150)
            );
            let recent: Vec<String> = self.fake.with_state(|st| {
                let n = st.requests.len();
                st.requests[n.saturating_sub(30)..]
                    .iter()
                    .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
                    .collect()
            });
            eprintln!("---- the fake's last requests ----\n{}", recent.join("\n"));
        }
        if let Some(bot) = self.bot.as_mut() {
            let _ = bot.child.start_kill();
        }
    }
}

/// Fails if `text` holds the token or a recognisable part of it.
/// Whether interaction `id` has its answer: a reply that is not the "thinking…" placeholder.
pub fn has_reply(st: &State, id: u64) -> bool {
    st.replies(id).into_iter().any(|m| {
        m.flags & fakecord::LOADING == 0
            && (!m.content.is_empty() || !m.embeds.is_empty() || !m.components.is_empty())
    })
}

/// No panic, no payload serenity could not take, no token in one output file of the bot.
pub fn assert_clean_log(name: &str, text: &str) {
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| {
            // The bot's own lines may quote serenity's text for a Discord error.
            (DESERIALIZATION_FAILURES.iter().any(|b| l.contains(b)) && !l.contains(" bot::"))
                || l.contains("panicked at")
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{name}: the bot panicked or could not take a payload:\n{}",
        bad.join("\n")
    );
    assert_no_token(name, text);
}

pub fn assert_no_token(name: &str, text: &str) {
    for part in std::iter::once(TOKEN).chain(TOKEN.split('.').filter(|p| p.len() >= 8)) {
        assert!(
            !text.contains(part),
            "{name} contains the bot token (or part of it: {part:?})"
        );
    }
}

/// A raw HTTP/1.1 request to the fake, as someone other than the bot would make it (an admin
/// deleting a channel by hand). Returns the status and the body.
pub async fn raw_request(addr: std::net::SocketAddr, method: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the fake");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bot admin-by-hand\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.expect("read");
    let text = String::from_utf8_lossy(&out).into_owned();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}
