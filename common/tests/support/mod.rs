//! Per-test isolated databases for the store's integration tests.
//!
//! Every test gets a database of its own: a temp directory for SQLite, a fresh `tb_test_…`
//! database on the MySQL/MariaDB and MongoDB servers. The database is dropped when the test is
//! done ([`TestDb::finish`]) and, best effort, when it panics ([`Drop`]).
//!
//! Servers come from the environment, with defaults for the local services:
//! `TEST_MYSQL_HOST` (127.0.0.1), `TEST_MYSQL_PORT` (3306), `TEST_MYSQL_USER` (root),
//! `TEST_MYSQL_PASSWORD` (empty), `TEST_MONGO_URI` (mongodb://127.0.0.1:27017).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{Executor, MySqlPool};
use ticketbot_common::config::{DbConfig, MongoConfig, MysqlConfig, Secret};
use ticketbot_common::store::{Backend, TicketRecord};
use ticketbot_common::ticket::TicketEvent;
use ticketbot_common::{open_store, TicketStore};
use uuid::Uuid;

pub const ALL_BACKENDS: [Backend; 3] = [Backend::Sqlite, Backend::Mysql, Backend::Mongodb];

/// The backend an export of `backend` is imported into, so that every pair is crossed once:
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

/// Where the test MySQL/MariaDB server is (`TEST_MYSQL_*`).
#[derive(Debug, Clone)]
pub struct MysqlServer {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
}

impl MysqlServer {
    pub fn from_env() -> Self {
        MysqlServer {
            host: env_or("TEST_MYSQL_HOST", "127.0.0.1"),
            port: env_or("TEST_MYSQL_PORT", "3306")
                .parse()
                .expect("TEST_MYSQL_PORT must be a port number"),
            user: env_or("TEST_MYSQL_USER", "root"),
            password: env_or("TEST_MYSQL_PASSWORD", ""),
        }
    }

    /// Connection options to the server, optionally to one database.
    pub fn options(&self, database: Option<&str>) -> MySqlConnectOptions {
        let mut opts = MySqlConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .charset("utf8mb4");
        if !self.password.is_empty() {
            opts = opts.password(&self.password);
        }
        if let Some(db) = database {
            opts = opts.database(db);
        }
        opts
    }

    /// A small pool to the server (no database selected, or `database`).
    pub async fn pool(&self, database: Option<&str>) -> MySqlPool {
        MySqlPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(self.options(database))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot connect to the test MySQL server {}:{} as {}: {e}",
                    self.host, self.port, self.user
                )
            })
    }
}

/// The test MongoDB server's URI (`TEST_MONGO_URI`).
pub fn mongo_uri() -> String {
    env_or("TEST_MONGO_URI", "mongodb://127.0.0.1:27017")
}

pub async fn mongo_client() -> mongodb::Client {
    let uri = mongo_uri();
    mongodb::Client::with_uri_str(&uri)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test MongoDB server {uri}: {e}"))
}

/// `tb_test_<16 hex chars>`: a database name no other test uses.
pub fn fresh_db_name() -> String {
    let mut s = Uuid::new_v4().simple().to_string();
    s.truncate(16);
    format!("tb_test_{s}")
}

/// A fresh, empty database of one backend (not opened as a store), dropped afterwards.
pub struct DbGuard {
    pub backend: Backend,
    pub config: DbConfig,
    /// The MySQL/MongoDB database name (for SQLite, the file's stem).
    pub name: String,
    dir: Option<tempfile::TempDir>,
    cleaned: bool,
}

impl DbGuard {
    /// A new database. Nothing is created on the server: the store creates a missing MySQL
    /// database, and MongoDB databases exist once written to. SQLite files are named as the
    /// Python bot named its own.
    pub fn new(backend: Backend) -> Self {
        let name = fresh_db_name();
        let mut dir = None;
        let config = match backend {
            Backend::Sqlite => {
                let d = tempfile::Builder::new()
                    .prefix(&name)
                    .tempdir()
                    .expect("cannot make a temp dir");
                let path = d.path().join("ticketbotdatabase.db");
                dir = Some(d);
                DbConfig::Sqlite { path }
            }
            Backend::Mysql => {
                let s = MysqlServer::from_env();
                DbConfig::Mysql(MysqlConfig {
                    host: s.host,
                    port: s.port,
                    user: s.user,
                    password: Secret::new(s.password),
                    database: name.clone(),
                })
            }
            Backend::Mongodb => DbConfig::Mongo(MongoConfig {
                uri: Secret::new(mongo_uri()),
                database: name.clone(),
            }),
        };
        DbGuard {
            backend,
            config,
            name,
            dir,
            cleaned: false,
        }
    }

    /// The SQLite file (panics for other backends).
    pub fn sqlite_path(&self) -> PathBuf {
        match &self.config {
            DbConfig::Sqlite { path } => path.clone(),
            other => panic!("not a SQLite database: {other:?}"),
        }
    }

    /// Opens the store on this database (creating or upgrading its schema).
    pub async fn open(&self) -> Arc<dyn TicketStore> {
        match open_store(&self.config).await {
            Ok(store) => store,
            Err(e) => panic!("open_store({:?}) failed: {e}", self.config),
        }
    }

    /// Drops the database now.
    pub async fn cleanup(mut self) {
        drop_database(self.backend, &self.name).await;
        self.cleaned = true;
        // The temp dir goes with `self`.
    }
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if self.cleaned || self.backend == Backend::Sqlite {
            return; // SQLite: the TempDir removes itself.
        }
        // A panicking test: drop the database from a thread of its own, with its own runtime,
        // since an async drop cannot run here.
        let (backend, name) = (self.backend, self.name.clone());
        let done = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(20),
                        drop_database(backend, &name),
                    )
                    .await;
                });
            }
        });
        let _ = done.join();
    }
}

/// Best effort: drops a test database of the MySQL or MongoDB server.
pub async fn drop_database(backend: Backend, name: &str) {
    assert!(name.starts_with("tb_test_"), "refusing to drop {name}");
    match backend {
        Backend::Sqlite => {}
        Backend::Mysql => {
            let server = MysqlServer::from_env();
            if let Ok(pool) = MySqlPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(server.options(None))
                .await
            {
                // Don't hang on a lock a panicked test's connection still holds.
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

/// A fresh database of one backend with the store opened on it.
pub struct TestDb {
    pub guard: DbGuard,
    pub store: Arc<dyn TicketStore>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let guard = DbGuard::new(backend);
        let store = guard.open().await;
        assert_eq!(
            store.backend(),
            backend,
            "open_store opened the wrong backend"
        );
        TestDb { guard, store }
    }

    pub fn backend(&self) -> Backend {
        self.guard.backend
    }

    pub fn config(&self) -> &DbConfig {
        &self.guard.config
    }

    /// The store (a cheap clone of the shared handle).
    pub fn store(&self) -> Arc<dyn TicketStore> {
        self.store.clone()
    }

    /// Opens a second store on the same database.
    pub async fn reopen(&self) -> Arc<dyn TicketStore> {
        self.guard.open().await
    }

    /// Closes the store and drops the database.
    pub async fn finish(self) {
        self.store.close().await;
        self.guard.cleanup().await;
    }
}

/// Everything `export_tickets` returns, in batches of `batch`, checking the batch contract on
/// the way (each batch at most `batch` long, ids strictly increasing across batches).
pub async fn export_all_tickets(store: &dyn TicketStore, batch: u32) -> Vec<TicketRecord> {
    let mut all: Vec<TicketRecord> = Vec::new();
    let mut after = None;
    loop {
        let rows = store
            .export_tickets(after, batch)
            .await
            .expect("export_tickets");
        assert!(
            rows.len() <= batch as usize,
            "export_tickets returned {} rows for limit {batch}",
            rows.len()
        );
        for r in &rows {
            if let Some(prev) = all.last() {
                assert!(
                    r.ticket.id > prev.ticket.id,
                    "export_tickets not ordered by id: {} after {}",
                    r.ticket.id,
                    prev.ticket.id
                );
            }
            all.push(r.clone());
        }
        match rows.last() {
            Some(last) => after = Some(last.ticket.id),
            None => break,
        }
    }
    all
}

/// Everything `export_events` returns, in batches of `batch`, checking the batch contract.
pub async fn export_all_events(store: &dyn TicketStore, batch: u32) -> Vec<TicketEvent> {
    let mut all: Vec<TicketEvent> = Vec::new();
    let mut after = None;
    loop {
        let rows = store
            .export_events(after, batch)
            .await
            .expect("export_events");
        assert!(
            rows.len() <= batch as usize,
            "export_events returned {} rows for limit {batch}",
            rows.len()
        );
        for e in &rows {
            if let Some(prev) = all.last() {
                assert!(
                    e.id > prev.id,
                    "export_events not ordered by id: {} after {}",
                    e.id,
                    prev.id
                );
            }
            all.push(e.clone());
        }
        match rows.last() {
            Some(last) => after = Some(last.id),
            None => break,
        }
    }
    all
}

/// Records with their participants in a canonical order (the order of a ticket's participants
/// is not part of the contract).
pub fn normalized(mut records: Vec<TicketRecord>) -> Vec<TicketRecord> {
    for r in &mut records {
        r.participants.sort_by_key(|p| (p.user_id, p.added_at));
    }
    records
}
