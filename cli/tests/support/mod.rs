//! What every `ticketctl` integration test needs: a fresh database per test on each backend,
//! the real binary run against it, seeding through the library, and the JSON contract written
//! out independently of the CLI's own code (so a formatting bug cannot hide on both sides).
//!
//! Servers come from the environment, with defaults for the local services:
//! `TEST_MYSQL_HOST` (127.0.0.1), `TEST_MYSQL_PORT` (3306), `TEST_MYSQL_USER` (root),
//! `TEST_MYSQL_PASSWORD` (empty), `TEST_MONGO_URI` (mongodb://127.0.0.1:27017).
//! Every database is named `tb_cli_<random>` and dropped when its [`TestDb`] goes, even when the
//! test panics.

#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use assert_cmd::Command;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{Executor, MySqlPool};
use ticketbot_common::config::{DbConfig, MongoConfig, MysqlConfig, Secret};
use ticketbot_common::store::{Backend, RecordCounts, TicketRecord};
use ticketbot_common::ticket::{Participant, Ticket, TicketEvent, TicketStatus};
use ticketbot_common::{open_store, TicketStore};
use uuid::Uuid;

/// Instantiates each scenario `fn name(backend: Backend)` once per backend, as
/// `sqlite::name`, `mysql::name` and `mongodb::name`.
macro_rules! for_each_backend {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $scenario() {
                super::$scenario(ticketbot_common::store::Backend::Sqlite)
            })+
        }
        mod mysql {
            $(#[test]
            fn $scenario() {
                super::$scenario(ticketbot_common::store::Backend::Mysql)
            })+
        }
        mod mongodb {
            $(#[test]
            fn $scenario() {
                super::$scenario(ticketbot_common::store::Backend::Mongodb)
            })+
        }
    };
}

pub const ALL_BACKENDS: [Backend; 3] = [Backend::Sqlite, Backend::Mysql, Backend::Mongodb];

/// The Python bot's SQLite file name, and so the file every SQLite test database uses.
pub const SQLITE_FILE: &str = "ticketbotdatabase.db";

/// A backend other than `backend`, so that every pair is crossed once:
/// sqlite → mysql → mongodb → sqlite.
pub fn other_backend(backend: Backend) -> Backend {
    match backend {
        Backend::Sqlite => Backend::Mysql,
        Backend::Mysql => Backend::Mongodb,
        Backend::Mongodb => Backend::Sqlite,
    }
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

pub fn mysql_host() -> String {
    env_or("TEST_MYSQL_HOST", "127.0.0.1")
}

pub fn mysql_port() -> u16 {
    env_or("TEST_MYSQL_PORT", "3306")
        .parse()
        .expect("TEST_MYSQL_PORT must be a port number")
}

pub fn mysql_admin_user() -> String {
    env_or("TEST_MYSQL_USER", "root")
}

pub fn mysql_admin_password() -> String {
    env_or("TEST_MYSQL_PASSWORD", "")
}

/// The MongoDB server, without a database (`mongodb://127.0.0.1:27017`).
pub fn mongo_uri() -> String {
    env_or("TEST_MONGO_URI", "mongodb://127.0.0.1:27017")
}

/// `tb_cli_<16 hex>`: a name no other test uses.
pub fn fresh_name() -> String {
    let mut s = Uuid::new_v4().simple().to_string();
    s.truncate(16);
    format!("tb_cli_{s}")
}

/// A runtime for the library calls of one test (the binary runs outside of it).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("cannot build a tokio runtime")
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `mysql://USER[:PASSWORD]@HOST:PORT/DB` with user and password percent-encoded.
pub fn mysql_url(user: &str, password: &str, database: &str) -> String {
    let auth = if password.is_empty() {
        percent(user)
    } else {
        format!("{}:{}", percent(user), percent(password))
    };
    format!(
        "mysql://{auth}@{}:{}/{database}",
        mysql_host(),
        mysql_port()
    )
}

/// A small admin pool on the MySQL server (no database selected).
pub async fn mysql_admin() -> MySqlPool {
    let mut opts = MySqlConnectOptions::new()
        .host(&mysql_host())
        .port(mysql_port())
        .username(&mysql_admin_user())
        .charset("utf8mb4");
    let pw = mysql_admin_password();
    if !pw.is_empty() {
        opts = opts.password(&pw);
    }
    MySqlPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(opts)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot reach the test MySQL server {}:{}: {e} (start it with scripts/test-services.sh)",
                mysql_host(),
                mysql_port()
            )
        })
}

pub async fn mongo_client() -> mongodb::Client {
    let uri = mongo_uri();
    let mut opts = mongodb::options::ClientOptions::parse(&uri)
        .await
        .unwrap_or_else(|e| panic!("bad TEST_MONGO_URI {uri}: {e}"));
    opts.server_selection_timeout = Some(Duration::from_secs(10));
    mongodb::Client::with_options(opts).unwrap_or_else(|e| panic!("mongodb client {uri}: {e}"))
}

/// Drops a test database (names not starting `tb_cli_` are refused).
pub async fn drop_database(backend: Backend, name: &str) {
    assert!(name.starts_with("tb_cli_"), "refusing to drop {name}");
    match backend {
        Backend::Sqlite => {}
        Backend::Mysql => {
            let pool = mysql_admin().await;
            let _ = pool.execute("SET SESSION lock_wait_timeout = 10").await;
            let _ = pool
                .execute(format!("DROP DATABASE IF EXISTS `{name}`").as_str())
                .await;
            pool.close().await;
        }
        Backend::Mongodb => {
            let _ = mongo_client().await.database(name).drop().await;
        }
    }
}

/// Whether the database exists on its server (SQLite: whether the file exists).
pub async fn database_exists(backend: Backend, name: &str, sqlite_path: &Path) -> bool {
    match backend {
        Backend::Sqlite => sqlite_path.exists(),
        Backend::Mysql => {
            let pool = mysql_admin().await;
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?",
            )
            .bind(name)
            .fetch_one(&pool)
            .await
            .expect("information_schema.schemata");
            pool.close().await;
            n > 0
        }
        Backend::Mongodb => mongo_client()
            .await
            .list_database_names()
            .await
            .expect("listDatabases")
            .iter()
            .any(|d| d == name),
    }
}

/// One run of the binary: exit code and output.
#[derive(Debug, Clone)]
pub struct Out {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ticketctl {:?}\nexit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }
}

impl Out {
    /// Asserts exit code 0 and returns self.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success\n{self}");
        self
    }

    /// Asserts the exit code and, for failures, the `error: ` form on stderr.
    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(self.code, expected, "wrong exit code\n{self}");
        if expected != 0 {
            assert!(
                self.stderr.starts_with("error: ") || self.stderr.contains("\nerror: "),
                "a failure must say `error: ...` on stderr\n{self}"
            );
        }
        self
    }

    /// stdout as JSON (the whole of it must be one JSON value).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e})\n{self}"))
    }

    /// Why this run counts as a crash, if it does: a panic, a signal or a timeout.
    pub fn crashed(&self) -> Option<&'static str> {
        if self.code == -1 {
            Some("ticketctl died of a signal or timed out")
        } else if self.stderr.contains("panicked") || self.stderr.contains("RUST_BACKTRACE") {
            Some("ticketctl panicked")
        } else {
            None
        }
    }

    /// Everything printed, both streams.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The `--after` cursor a list page printed on stderr, if any.
    pub fn next_cursor(&self) -> Option<String> {
        self.stderr
            .lines()
            .find(|l| l.starts_with("more:"))
            .map(|l| {
                let (_, c) = l
                    .rsplit_once("--after ")
                    .unwrap_or_else(|| panic!("a `more:` line without --after\n{self}"));
                c.trim().to_owned()
            })
    }

    /// Rows of the comfy tables on stdout: the cells of every line that has `│` borders
    /// (cells are split at `┆`, the inner separator).
    pub fn table_rows(&self) -> Vec<Vec<String>> {
        self.stdout
            .lines()
            .filter(|l| l.contains('│'))
            .map(|l| {
                l.split(['│', '┆'])
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .collect()
    }
}

/// The binary, with an empty environment and `cwd` as the working directory: nothing of the
/// shell running the tests (DB_TYPE, a stray `.env`) leaks in.
pub fn ticketctl(cwd: &Path) -> Command {
    let mut c = Command::cargo_bin("ticketctl").expect("the ticketctl binary");
    c.env_clear()
        .current_dir(cwd)
        .timeout(Duration::from_secs(240));
    c
}

/// Runs a prepared command. Whatever the input, the binary must not panic or die of a signal.
#[track_caller]
pub fn run(cmd: Command, args: &[&str]) -> Out {
    let out = run_unchecked(cmd, args);
    if let Some(problem) = out.crashed() {
        panic!("{problem}\n{out}");
    }
    out
}

/// Runs a prepared command; [`Out::crashed`] says whether it panicked (exit code -1 for a
/// signal or a timeout).
pub fn run_unchecked(mut cmd: Command, args: &[&str]) -> Out {
    let output = cmd.args(args).output().expect("cannot run ticketctl");
    Out {
        args: args.iter().map(|s| s.to_string()).collect(),
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A fresh database of one backend for one test, dropped afterwards, with a working
/// directory of its own (for SQLite, the directory holding `ticketbotdatabase.db`).
pub struct TestDb {
    pub backend: Backend,
    pub name: String,
    pub config: DbConfig,
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    store: OnceLock<Arc<dyn TicketStore>>,
}

impl TestDb {
    /// A new database with the schema created (as a bot would have left it).
    pub fn new(backend: Backend) -> Self {
        let db = Self::unopened(backend);
        db.store();
        db
    }

    /// A name for a database that does not exist yet (a migrate target).
    pub fn unopened(backend: Backend) -> Self {
        Self::with_mysql_login(backend, &mysql_admin_user(), &mysql_admin_password())
    }

    /// Like [`TestDb::unopened`], the MySQL database reached as `user`.
    pub fn with_mysql_login(backend: Backend, user: &str, password: &str) -> Self {
        let name = fresh_name();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir()
            .expect("cannot make a temp dir");
        let config = match backend {
            Backend::Sqlite => DbConfig::Sqlite {
                path: dir.path().join(SQLITE_FILE),
            },
            Backend::Mysql => DbConfig::Mysql(MysqlConfig {
                host: mysql_host(),
                port: mysql_port(),
                user: user.to_owned(),
                password: Secret::new(password),
                database: name.clone(),
            }),
            Backend::Mongodb => DbConfig::Mongo(MongoConfig {
                uri: Secret::new(mongo_uri()),
                database: name.clone(),
            }),
        };
        TestDb {
            backend,
            name,
            config,
            dir,
            rt: runtime(),
            store: OnceLock::new(),
        }
    }

    /// The working directory of this test's commands.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The SQLite file (for the other backends, a path that never exists).
    pub fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join(SQLITE_FILE)
    }

    /// The `--database-url` of this database.
    pub fn url(&self) -> String {
        match &self.config {
            DbConfig::Sqlite { path } => format!("sqlite://{}", path.display()),
            DbConfig::Mysql(m) => mysql_url(&m.user, m.password.expose(), &m.database),
            DbConfig::Mongo(m) => format!("{}/{}", m.uri.expose(), m.database),
        }
    }

    /// The store on this database, opened on first use.
    pub fn store(&self) -> Arc<dyn TicketStore> {
        self.store
            .get_or_init(|| {
                self.rt.block_on(async {
                    open_store(&self.config)
                        .await
                        .unwrap_or_else(|e| panic!("open_store({:?}): {e}", self.config))
                })
            })
            .clone()
    }

    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// `ticketctl --database-url <this database>`, in this test's working directory.
    pub fn cmd(&self) -> Command {
        let mut c = ticketctl(self.dir());
        c.arg("--database-url").arg(self.url());
        c
    }

    /// Runs `ticketctl --database-url <this database> ARGS`.
    #[track_caller]
    pub fn run(&self, args: &[&str]) -> Out {
        let out = self.run_unchecked(args);
        if let Some(problem) = out.crashed() {
            panic!("{problem}\n{out}");
        }
        out
    }

    /// Like [`TestDb::run`], without failing on a crash.
    pub fn run_unchecked(&self, args: &[&str]) -> Out {
        let mut all = vec!["--database-url".to_owned(), self.url()];
        all.extend(args.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run_unchecked(ticketctl(self.dir()), &refs)
    }

    pub fn exists(&self) -> bool {
        self.block_on(database_exists(
            self.backend,
            &self.name,
            &self.sqlite_path(),
        ))
    }

    /// Imports tickets (with open slots assigned) through the library.
    pub fn import(&self, tickets: &[Ticket]) {
        let store = self.store();
        self.block_on(async {
            store
                .import_tickets(&records(tickets))
                .await
                .expect("import_tickets")
        });
    }

    pub fn import_records(&self, records: &[TicketRecord]) {
        let store = self.store();
        self.block_on(async { store.import_tickets(records).await.expect("import_tickets") });
    }

    pub fn import_events(&self, events: &[TicketEvent]) {
        let store = self.store();
        self.block_on(async { store.import_events(events).await.expect("import_events") });
    }

    pub fn get(&self, id: Uuid) -> Option<Ticket> {
        let store = self.store();
        self.block_on(async { store.get(id).await.expect("get") })
    }

    pub fn history(&self, id: Uuid) -> Vec<TicketEvent> {
        let store = self.store();
        self.block_on(async { store.history(id).await.expect("history") })
    }

    pub fn counts(&self) -> RecordCounts {
        let store = self.store();
        self.block_on(async { store.record_counts().await.expect("record_counts") })
    }

    /// Every ticket record and every event, through the library's export.
    pub fn export(&self) -> (Vec<TicketRecord>, Vec<TicketEvent>) {
        let store = self.store();
        self.block_on(export_all(store.as_ref(), 5000))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (backend, name) = (self.backend, self.name.clone());
        let store = self.store.take();
        // The test may be unwinding: nothing here may panic.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.rt.block_on(async move {
                if let Some(store) = store {
                    let _ = tokio::time::timeout(Duration::from_secs(10), store.close()).await;
                }
                let _ =
                    tokio::time::timeout(Duration::from_secs(30), drop_database(backend, &name))
                        .await;
            })
        }));
    }
}

/// A MySQL account with a password (spaces and `#` in it, as `.env` quoting must survive),
/// allowed on the `tb_cli_%` databases; dropped afterwards.
pub struct MysqlUser {
    pub user: String,
    pub password: String,
    rt: tokio::runtime::Runtime,
}

impl MysqlUser {
    pub fn new() -> Self {
        let tag = fresh_name()[7..15].to_owned();
        Self::with_password(&format!("S3cret pw#{tag}!"))
    }

    /// An account with this password (which holds no quote and no backslash).
    pub fn with_password(password: &str) -> Self {
        assert!(!password.contains(['\'', '\\']));
        let rt = runtime();
        let tag = &fresh_name()[7..15];
        let user = format!("tb_cli_u_{tag}");
        let password = password.to_owned();
        rt.block_on(async {
            let pool = mysql_admin().await;
            for sql in [
                format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"),
                format!("GRANT ALL PRIVILEGES ON `tb\\_cli\\_%`.* TO '{user}'@'%'"),
            ] {
                pool.execute(sql.as_str())
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            pool.close().await;
        });
        MysqlUser { user, password, rt }
    }
}

impl Default for MysqlUser {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for MysqlUser {
    fn drop(&mut self) {
        let user = self.user.clone();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.rt.block_on(async move {
                let pool = mysql_admin().await;
                let _ = pool
                    .execute(format!("DROP USER IF EXISTS '{user}'@'%'").as_str())
                    .await;
                pool.close().await;
            })
        }));
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("local_addr").port();
    drop(l);
    port
}

/// The Python bot's `.env.example`, as it ships, with this database's values in its lines.
pub fn python_env_file(db: &TestDb, user: Option<&MysqlUser>, sqlite_path_line: bool) -> String {
    let (mongo_uri_v, mongo_db) = match db.backend {
        Backend::Mongodb => (mongo_uri(), db.name.clone()),
        _ => ("mongodb+srv://abcd".into(), "db".into()),
    };
    let (host, port, mysql_user, password, mysql_db) = match (db.backend, user) {
        (Backend::Mysql, Some(u)) => (
            mysql_host(),
            mysql_port().to_string(),
            u.user.clone(),
            u.password.clone(),
            db.name.clone(),
        ),
        _ => (
            "localhost".into(),
            "1234".into(),
            "root".into(),
            "root".into(),
            "abcd".into(),
        ),
    };
    let sqlite_line = if sqlite_path_line && db.backend == Backend::Sqlite {
        format!("SQLITE_PATH = \"{}\"\n", db.sqlite_path().display())
    } else {
        String::new()
    };
    format!(
        "BOT_TOKEN = your_bot_token\n\
         GUILD_ID = 1234\n\
         SUPPORT_ROLE_ID = 5678\n\
         OPEN_TICKETS_CATEGORY_ID = 1234\n\
         CLOSED_TICKETS_CATEGORY_ID = 1234\n\
         \n\
         DB_TYPE = \"{db_type}\"  # mongodb or sqlite or mysql\n\
         {sqlite_line}\
         \n\
         MONGO_URI = \"{mongo_uri_v}\"\n\
         MONGO_DB_NAME = \"{mongo_db}\"\n\
         \n\
         \n\
         MYSQL_HOST = \"{host}\"\n\
         MYSQL_PORT = {port}\n\
         MYSQL_USER = \"{mysql_user}\"\n\
         MYSQL_PASSWORD = \"{password}\"  # quoted: spaces and # are part of it\n\
         MYSQL_DATABASE = \"{mysql_db}\"\n\
         DEBUG = 1\n",
        db_type = backend_name(db.backend),
    )
}

/// The name `--to` and DB_TYPE use for a backend.
pub fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Mysql => "mysql",
        Backend::Mongodb => "mongodb",
    }
}

// ---- data -----------------------------------------------------------------------------------

pub fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A time from RFC 3339.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

/// Now, to the microsecond (what every backend keeps).
pub fn now() -> DateTime<Utc> {
    ticketbot_common::ticket::now()
}

pub fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// An open, unclaimed ticket without a channel.
pub fn ticket(id: Uuid, guild: u64, creator: u64, created: DateTime<Utc>) -> Ticket {
    Ticket {
        id,
        guild_id: guild,
        channel_id: None,
        creator_id: creator,
        status: TicketStatus::Open,
        created_at: created,
        closed_at: None,
        closed_by: None,
        close_reason: None,
        claimed_by: None,
        claimed_at: None,
        updated_at: created,
        archived_at: None,
        archive_requested_at: None,
        first_response_at: None,
        first_response_by: None,
    }
}

pub fn with_channel(mut t: Ticket, channel: u64) -> Ticket {
    t.channel_id = Some(channel);
    t
}

pub fn claimed(mut t: Ticket, by: u64, when: DateTime<Utc>) -> Ticket {
    t.claimed_by = Some(by);
    t.claimed_at = Some(when);
    t.updated_at = t.updated_at.max(when);
    t
}

pub fn closed(mut t: Ticket, when: DateTime<Utc>, by: Option<u64>, reason: Option<&str>) -> Ticket {
    t.status = TicketStatus::Closed;
    t.closed_at = Some(when);
    t.closed_by = by;
    t.close_reason = reason.map(str::to_owned);
    t.updated_at = t.updated_at.max(when);
    t
}

/// Records for `import_tickets`: no participants; each open ticket gets the next free open
/// slot of its (guild, creator), as the store's per-user limit requires.
pub fn records(tickets: &[Ticket]) -> Vec<TicketRecord> {
    let mut slots: HashMap<(u64, u64), u32> = HashMap::new();
    tickets
        .iter()
        .map(|t| {
            let open_slot = (t.status == TicketStatus::Open).then(|| {
                let n = slots.entry((t.guild_id, t.creator_id)).or_insert(0);
                *n += 1;
                *n - 1
            });
            TicketRecord {
                ticket: t.clone(),
                participants: Vec::new(),
                open_slot,
            }
        })
        .collect()
}

/// A history event with a fresh v7 id.
pub fn event(
    t: &Ticket,
    kind: ticketbot_common::EventKind,
    actor: Option<u64>,
    when: DateTime<Utc>,
) -> TicketEvent {
    TicketEvent {
        id: Uuid::now_v7(),
        ticket_id: t.id,
        guild_id: t.guild_id,
        kind,
        actor_id: actor,
        at: when,
        details: None,
    }
}

/// Every record and event of a store, in export order.
pub async fn export_all(
    store: &dyn TicketStore,
    batch: u32,
) -> (Vec<TicketRecord>, Vec<TicketEvent>) {
    let mut tickets: Vec<TicketRecord> = Vec::new();
    let mut after = None;
    loop {
        let rows = store
            .export_tickets(after, batch)
            .await
            .expect("export_tickets");
        let Some(last) = rows.last() else { break };
        after = Some(last.ticket.id);
        tickets.extend(rows);
    }
    let mut events: Vec<TicketEvent> = Vec::new();
    let mut after = None;
    loop {
        let rows = store
            .export_events(after, batch)
            .await
            .expect("export_events");
        let Some(last) = rows.last() else { break };
        after = Some(last.id);
        events.extend(rows);
    }
    (tickets, events)
}

// ---- the JSON contract, written out independently of the CLI ------------------------------

/// RFC 3339 UTC with microseconds and `Z`.
pub fn rfc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn opt_id(v: Option<u64>) -> Value {
    v.map_or(Value::Null, |v| Value::String(v.to_string()))
}

fn opt_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(rfc(t)))
}

/// The ticket object of the JSON contract.
pub fn ticket_json(t: &Ticket) -> Value {
    json!({
        "id": t.id.to_string(),
        "short_id": &t.id.to_string()[..8],
        "guild_id": t.guild_id.to_string(),
        "channel_id": opt_id(t.channel_id),
        "creator_id": t.creator_id.to_string(),
        "claimed_by": opt_id(t.claimed_by),
        "claimed_at": opt_time(t.claimed_at),
        "status": match t.status { TicketStatus::Open => "open", TicketStatus::Closed => "closed" },
        "created_at": rfc(t.created_at),
        "closed_at": opt_time(t.closed_at),
        "closed_by": opt_id(t.closed_by),
        "close_reason": t.close_reason,
        "updated_at": rfc(t.updated_at),
    })
}

pub fn event_json(e: &TicketEvent) -> Value {
    json!({
        "id": e.id.to_string(),
        "kind": e.kind.as_str(),
        "actor_id": opt_id(e.actor_id),
        "at": rfc(e.at),
        "details": e.details,
    })
}

pub fn participant_json(p: &Participant) -> Value {
    json!({
        "user_id": p.user_id.to_string(),
        "added_by": p.added_by.to_string(),
        "added_at": rfc(p.added_at),
    })
}

/// Asserts that `got` has every field of `expected` with the same value.
#[track_caller]
pub fn assert_fields(got: &Value, expected: &Value) {
    let exp = expected.as_object().expect("expected an object");
    let obj = got
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object: {got}"));
    for (k, v) in exp {
        assert_eq!(
            obj.get(k),
            Some(v),
            "field {k:?} differs\n  got:      {got}\n  expected: {expected}"
        );
    }
}

/// The `id`s of a JSON array of tickets.
#[track_caller]
pub fn ids_of(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {v}"))
        .iter()
        .map(|t| {
            t["id"]
                .as_str()
                .unwrap_or_else(|| panic!("ticket without a string id: {t}"))
                .to_owned()
        })
        .collect()
}

pub fn id_strings(tickets: &[&Ticket]) -> Vec<String> {
    tickets.iter().map(|t| t.id.to_string()).collect()
}

/// Whether `s` is RFC 3339 UTC as the contract writes it.
pub fn is_rfc3339_utc(s: &str) -> bool {
    s.ends_with('Z') && DateTime::parse_from_rfc3339(s).is_ok()
}
