//! Connecting, creating the database, applying migrations (a Python-bot database taken over
//! in place) and the meta table.

use std::time::Duration;

use sqlx::{Any, AnyPool, Executor};

use super::rows::*;
use super::SqlStore;
use super::{pool_options, sqlite_pool, Dialect, MYSQL_MIGRATIONS, SQLITE_MIGRATIONS};
use crate::config::{DbConfig, MysqlConfig};
use crate::error::{StoreError, StoreResult};
use crate::store::{legacy, Backend};

pub(crate) fn connect_error(config: &DbConfig, e: impl Into<crate::error::BoxError>) -> StoreError {
    StoreError::Connect {
        target: config.target(),
        source: e.into(),
    }
}

/// Every SQLite connection's settings: the busy timeout makes a writer of another process
/// (ticketctl beside the bot) queue instead of failing.
pub(super) const SQLITE_CONNECTION_PRAGMAS: &str =
    "PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;";

/// The writer's page cache: big, for bulk loads that update large indexes. No file map: the
/// writer reads little (and a map of the whole file would count in the process's memory).
const SQLITE_WRITER_MEMORY: &str =
    "PRAGMA cache_size = -16384; PRAGMA mmap_size = 0; PRAGMA temp_store = FILE;";

/// A reader's memory: reads go through a bounded map of the file (faster than copying pages
/// into the cache for long scans) and a small cache, so that a process's memory stays bounded
/// whatever the file's size (a full scan, such as `migrate`'s verification, included).
pub(super) const SQLITE_READER_MEMORY: &str =
    "PRAGMA cache_size = -8192; PRAGMA mmap_size = 67108864; PRAGMA temp_store = MEMORY;";

/// How long connecting to a MySQL server may take. One that takes the connection but never
/// answers (frozen, or behind a cut network) would otherwise hang the caller for good; this
/// says so instead.
const CONNECT_WAIT: Duration = Duration::from_secs(5);

/// A connection to the MySQL server (no database selected), within [`CONNECT_WAIT`].
async fn connect_server(config: &DbConfig, m: &MysqlConfig) -> StoreResult<sqlx::AnyConnection> {
    let connect = <sqlx::AnyConnection as sqlx::Connection>::connect(&mysql_url(m, false));
    match tokio::time::timeout(CONNECT_WAIT, connect).await {
        Ok(conn) => conn.map_err(|e| connect_error(config, e)),
        Err(_) => Err(connect_error(
            config,
            format!(
                "no answer within {} s (the server is not responding)",
                CONNECT_WAIT.as_secs()
            ),
        )),
    }
}

/// `mysql://` URL for sqlx, user and password percent-encoded (never printed).
pub(crate) fn mysql_url(m: &MysqlConfig, with_db: bool) -> String {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let auth = if m.password.is_empty() {
        enc(&m.user)
    } else {
        format!("{}:{}", enc(&m.user), enc(m.password.expose()))
    };
    let db = if with_db {
        enc(&m.database)
    } else {
        String::new()
    };
    format!("mysql://{auth}@{}:{}/{db}", m.host, m.port)
}

/// The version of the last migration this build knows for `backend`'s SQL dialect.
fn latest_migration(backend: Backend) -> i64 {
    match backend {
        Backend::Mysql => &MYSQL_MIGRATIONS,
        _ => &SQLITE_MIGRATIONS,
    }
    .iter()
    .map(|m| m.version)
    .max()
    .unwrap_or(0)
}

/// What a tool's connection finds to do before it can read.
enum Upgrade {
    Migrate,
    FinishBulkLoad,
}

impl SqlStore {
    /// The pools, nothing checked or changed yet. A `tool`'s one connection reads more than it
    /// writes: it gets a reader's memory settings.
    /// `lazy` (SQLite): the writer connects on first use.
    async fn connect_only(config: &DbConfig, tool: bool, lazy: bool) -> StoreResult<SqlStore> {
        sqlx::any::install_default_drivers();
        let mut lite = None;
        let (pool, reader, dialect) = match config {
            DbConfig::Sqlite { path } => {
                lite = Some(std::sync::Arc::new(super::lite::Lite::new(path)));
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true);
                // sqlx encodes the path (and `mode=rwc`) into the URL the Any driver takes.
                let url = sqlx::ConnectOptions::to_url_lossy(&opts).to_string();
                // One writer connection: writers queue on the pool (async, in order) instead of
                // sleeping in SQLite's busy handler while the lock sits idle; readers have a
                // pool of their own beside it (WAL lets them run while a write is under way).
                // Every setting in one round trip to the connection's thread.
                let settings = format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA journal_size_limit = 67108864; {SQLITE_CONNECTION_PRAGMAS} {}",
                    if tool {
                        SQLITE_READER_MEMORY
                    } else {
                        SQLITE_WRITER_MEMORY
                    }
                );
                let writer = sqlite_pool(1).after_connect(move |conn, _| {
                    let settings = settings.clone();
                    Box::pin(async move {
                        conn.execute(settings.as_str()).await?;
                        Ok(())
                    })
                });
                let writer = if lazy {
                    writer.connect_lazy(&url)
                } else {
                    writer.connect(&url).await
                }
                .map_err(|e| connect_error(config, e))?;
                let reader = sqlite_pool(4)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            let settings = format!(
                                "{SQLITE_CONNECTION_PRAGMAS} {SQLITE_READER_MEMORY} \
                                 PRAGMA query_only = ON;"
                            );
                            conn.execute(settings.as_str()).await?;
                            Ok(())
                        })
                    })
                    .connect_lazy(&url)
                    .map_err(|e| connect_error(config, e))?;
                (
                    writer,
                    reader,
                    Dialect {
                        backend: Backend::Sqlite,
                    },
                )
            }
            DbConfig::Mysql(m) => {
                let mut server = connect_server(config, m).await?;
                let create = format!(
                    "CREATE DATABASE IF NOT EXISTS `{}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                    m.database.replace('`', "``")
                );
                server
                    .execute(create.as_str())
                    .await
                    .map_err(|e| connect_error(config, e))?;
                sqlx::Connection::close(server).await.ok();
                let pool = pool_options(16, super::SERVER_WAIT)
                    .connect(&mysql_url(m, true))
                    .await
                    .map_err(|e| connect_error(config, e))?;
                (
                    pool.clone(),
                    pool,
                    Dialect {
                        backend: Backend::Mysql,
                    },
                )
            }
            DbConfig::Mongo(_) => {
                return Err(StoreError::Migrate(
                    "the SQL store was given a MongoDB configuration".into(),
                ))
            }
        };
        Ok(SqlStore {
            pool,
            reader,
            dialect,
            lite,
        })
    }

    /// Connects, creating the database (MySQL) or file (SQLite) when missing, and brings the
    /// schema up to date, taking over a Python-bot database in place.
    pub async fn connect(config: &DbConfig) -> StoreResult<SqlStore> {
        let store = Self::connect_only(config, false, false).await?;
        store.upgrade().await?;
        Ok(store)
    }

    /// Connects for a short-lived tool: when the schema is already current (the common case),
    /// one query checks it and the migrator, the takeover probes and the import are skipped;
    /// otherwise this is [`SqlStore::connect`].
    pub async fn connect_current(config: &DbConfig) -> StoreResult<SqlStore> {
        if let DbConfig::Sqlite { path } = config {
            // The common case checked on one of the hot path's read connections, in the
            // caller's thread; sqlx's connection (a thread of its own) opens only if the command
            // writes through it. Anything else takes the path below, which says what is wrong.
            if path.exists() {
                let lite = super::lite::Lite::new(path);
                let state = lite.read(|c| super::lite::current_state(c, super::bulk::BULK_MARKER));
                if matches!(state, Ok((Some(v), false)) if v == latest_migration(Backend::Sqlite)) {
                    let mut store = Self::connect_only(config, true, true).await?;
                    store.lite = Some(std::sync::Arc::new(lite));
                    store.reader = store.pool.clone();
                    return Ok(store);
                }
            }
        }
        let mut store = Self::connect_only(config, true, false).await?;
        // A tool reads one query after another: its reads share the one connection already
        // open instead of opening a second.
        store.reader = store.pool.clone();
        let latest = latest_migration(store.dialect.backend);
        // One query: the schema's version, and whether a bulk load left indexes to build. No
        // migrations table yet (a new or Python-bot database) reads as "not current".
        let upgrade = match store.current_state().await.ok() {
            Some((version, pending)) if version == Some(latest) => {
                pending.then_some(Upgrade::FinishBulkLoad)
            }
            _ => Some(Upgrade::Migrate),
        };
        if let Some(upgrade) = upgrade {
            // Writing much (a takeover, index builds): the writer's memory settings.
            if store.dialect.backend == Backend::Sqlite {
                store.pool.execute(SQLITE_WRITER_MEMORY).await?;
            }
            match upgrade {
                Upgrade::Migrate => store.upgrade().await?,
                Upgrade::FinishBulkLoad => store.finish_bulk_load().await?,
            }
            if store.dialect.backend == Backend::Sqlite {
                // The connection that converted the file holds a writer's caches: the command
                // reads through a fresh one instead.
                store.pool.close().await;
                let mut fresh = Self::connect_only(config, true, false).await?;
                fresh.reader = fresh.pool.clone();
                return Ok(fresh);
            }
        }
        Ok(store)
    }

    /// Whether the MySQL database exists (SQLite: whether the file does).
    pub(crate) async fn database_exists(config: &DbConfig) -> StoreResult<bool> {
        let m = match config {
            DbConfig::Mysql(m) => m,
            DbConfig::Sqlite { path } => return Ok(path.exists()),
            DbConfig::Mongo(_) => return Ok(false),
        };
        sqlx::any::install_default_drivers();
        let mut server = connect_server(config, m).await?;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?",
        )
        .bind(m.database.clone())
        .fetch_one(&mut server)
        .await?;
        sqlx::Connection::close(server).await.ok();
        Ok(n > 0)
    }

    /// Takes over a Python-bot table, applies migrations, and imports what was taken over.
    pub(crate) async fn upgrade(&self) -> StoreResult<()> {
        // Every step is idempotent. MySQL serialises processes with a named lock; SQLite has no
        // such lock, so a process that lost a race with another's first start simply runs the
        // upgrade again (it then finds the work done).
        let mut attempt = 0;
        loop {
            match self.upgrade_once().await {
                Err(e) if self.dialect.backend == Backend::Sqlite && attempt < 10 => {
                    attempt += 1;
                    tracing::debug!("schema upgrade raced another process ({e}); again");
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    pub(crate) async fn upgrade_once(&self) -> StoreResult<()> {
        let lock = self.schema_lock().await?;
        let result = async {
            legacy::sql_set_aside(&self.pool, self.dialect.backend).await?;
            let migrator = match self.dialect.backend {
                Backend::Mysql => &MYSQL_MIGRATIONS,
                _ => &SQLITE_MIGRATIONS,
            };
            migrator
                .run(&self.pool)
                .await
                .map_err(|e| StoreError::Migrate(e.to_string()))?;
            legacy::sql_import(self).await?;
            // A bulk load that was interrupted (`ticketctl migrate` killed) is finished before
            // anything uses the database.
            self.finish_bulk_load().await
        }
        .await;
        if let Some(mut conn) = lock {
            conn.execute("SELECT RELEASE_LOCK(CONCAT('ticketbot_schema_', DATABASE()))")
                .await
                .ok();
        }
        result
    }

    /// On MySQL, a named lock so that bot processes starting together upgrade one at a time.
    pub(crate) async fn schema_lock(&self) -> StoreResult<Option<sqlx::pool::PoolConnection<Any>>> {
        if self.dialect.backend != Backend::Mysql {
            return Ok(None);
        }
        let mut conn = self.pool.acquire().await?;
        // One lock per database: bots on other databases of the server start undisturbed.
        let got: Option<i64> =
            sqlx::query_scalar("SELECT GET_LOCK(CONCAT('ticketbot_schema_', DATABASE()), 120)")
                .fetch_one(&mut *conn)
                .await?;
        if got != Some(1) {
            return Err(StoreError::Migrate(
                "another process held the schema lock for 2 minutes".into(),
            ));
        }
        Ok(Some(conn))
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) fn backend_kind(&self) -> Backend {
        self.dialect.backend
    }

    /// MySQL's buffer pool beside the indexes of the tickets and their history (InnoDB's
    /// estimates); `None` on SQLite.
    pub(crate) async fn cache_fit(&self) -> StoreResult<Option<crate::store::CacheFit>> {
        if self.dialect.backend != Backend::Mysql {
            return Ok(None);
        }
        let (cache, indexes): (i64, i64) = sqlx::query_as(
            "SELECT CAST(@@innodb_buffer_pool_size AS SIGNED), CAST(COALESCE(( \
             SELECT SUM(index_length) FROM information_schema.TABLES \
             WHERE table_schema = DATABASE() AND table_name IN ('tickets', 'ticket_events') \
             ), 0) AS SIGNED)",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(Some(crate::store::CacheFit {
            cache_bytes: cache.max(0) as u64,
            index_bytes: indexes.max(0) as u64,
        }))
    }

    pub(crate) async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT meta_value FROM ticketbot_meta WHERE meta_key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| required_text(&r, "meta_value")).transpose()
    }

    pub(crate) async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO ticketbot_meta (meta_key, meta_value) VALUES (?, ?){}",
            self.dialect.upsert("meta_key", &["meta_key", "meta_value"])
        );
        sqlx::query(&sql)
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn schema_version(&self) -> StoreResult<i64> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(v.unwrap_or(0))
    }

    pub(crate) fn backend(&self) -> Backend {
        self.dialect.backend
    }

    pub(crate) async fn close(&self) {
        if let Some(lite) = &self.lite {
            lite.close();
        }
        self.reader.close().await;
        self.pool.close().await;
    }
}
