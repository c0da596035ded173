//! The SQL backend: SQLite and MySQL/MariaDB through sqlx's `Any` driver, so that one body of
//! code serves both. Every value is stored as an integer or text (ids as the two's complement of
//! the snowflake, times as microseconds since 1970), which is what `Any` carries exactly on both.
//!
//! One file per concern: `pool` (connect, migrations), `rows` (value encoding, row decoding),
//! `tickets`, `history`, `stats`, `export`, `archive`, `transcripts`, `purge`, `bulk`; `lite`
//! is SQLite's hot path (rusqlite: the ticket operations run whole on the caller's thread,
//! group commit, inline reads). The `TicketStore` impl delegates every method to the inherent
//! method of the same name.

mod activity;
mod archive;
mod bulk;
mod channel_work;
mod close_requests;
mod export;
mod feedback;
mod history;
mod lite;
mod names;
mod pool;
mod purge;
mod rows;
mod staff_messages;
mod stats;
mod tickets;
mod topics;
mod transcripts;

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolOptions;
use sqlx::{Any, AnyPool};

use super::Backend;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static MYSQL_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/mysql");
/// The ticket columns, as a literal (for `concat!` into the hot path's fixed statements).
macro_rules! ticket_columns {
    () => {
        "id, guild_id, channel_id, creator_id, status, created_at, closed_at, closed_by, \
         close_reason, claimed_by, claimed_at, updated_at, open_slot, archived_at, \
         archive_requested_at, first_response_at, first_response_by"
    };
}
pub(crate) use ticket_columns;
const TICKET_COLUMNS: &str = ticket_columns!();
/// How many columns `TICKET_COLUMNS` names.
const TICKET_COLUMN_COUNT: usize = 17;
macro_rules! event_columns {
    () => {
        "id, ticket_id, guild_id, kind, actor_id, at, details"
    };
}
pub(crate) use event_columns;
const EVENT_COLUMNS: &str = event_columns!();
/// The few places where the two SQL dialects differ.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect {
    pub(crate) backend: Backend,
}

impl Dialect {
    pub(crate) fn insert_ignore(self) -> &'static str {
        match self.backend {
            Backend::Mysql => "INSERT IGNORE",
            _ => "INSERT OR IGNORE",
        }
    }

    /// The clause that turns an insert into an upsert of `columns` on the primary key `key`.
    pub(crate) fn upsert(self, key: &str, columns: &[&str]) -> String {
        let sets = |f: &dyn Fn(&str) -> String| {
            columns
                .iter()
                .filter(|c| **c != key)
                .map(|c| f(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.backend {
            Backend::Mysql => {
                format!(
                    " ON DUPLICATE KEY UPDATE {}",
                    sets(&|c| format!("{c} = VALUES({c})"))
                )
            }
            _ => format!(
                " ON CONFLICT ({key}) DO UPDATE SET {}",
                sets(&|c| format!("{c} = excluded.{c}"))
            ),
        }
    }
}

/// A ticket store on SQLite or MySQL.
#[derive(Clone)]
pub struct SqlStore {
    /// Writes, and reads that must see them (in their transaction). SQLite: one connection.
    pub(crate) pool: AnyPool,
    /// Reads on their own. MySQL: the same pool.
    pub(crate) reader: AnyPool,
    pub(crate) dialect: Dialect,
    /// SQLite: the hot path's connections (see `lite`).
    pub(crate) lite: Option<std::sync::Arc<lite::Lite>>,
}

/// How long a MySQL/MariaDB operation waits for a connection before the store reports the
/// database unavailable: short, so that the bot can tell a user so within Discord's 3 s
/// instead of leaving them waiting (a healthy pool hands a connection out in microseconds).
pub(crate) const SERVER_WAIT: Duration = Duration::from_millis(2000);

/// SQLite cannot go away; its pool waits only for a free connection under load.
const FILE_WAIT: Duration = Duration::from_secs(30);

fn pool_options(max: u32, wait: Duration) -> PoolOptions<Any> {
    AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(0)
        .acquire_timeout(wait)
        // A connection the server dropped is noticed here and replaced, not handed out.
        .test_before_acquire(true)
}

/// SQLite's pools: the file is local, so a connection is not checked before each use (a ping
/// per acquisition was a round trip to the connection's thread per statement).
fn sqlite_pool(max: u32) -> PoolOptions<Any> {
    pool_options(max, FILE_WAIT).test_before_acquire(false)
}

impl SqlStore {
    /// A write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so
    /// that a transaction that reads before it writes never fails for a lock another process
    /// took in between; it waits in the busy handler instead.
    pub(crate) async fn write_tx(
        &self,
    ) -> crate::error::StoreResult<sqlx::Transaction<'static, Any>> {
        Ok(match self.dialect.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            _ => self.pool.begin().await?,
        })
    }
}

impl SqlStore {
    /// Every row of a read query, decoded: on SQLite through the hot path's read connections
    /// (in the caller's thread: no row crosses a thread), elsewhere through the reader pool.
    pub(crate) async fn read_all<T>(
        &self,
        sql: &str,
        binds: Vec<rows::Bind>,
        decode: impl Fn(&dyn rows::Cols) -> crate::error::StoreResult<T>,
    ) -> crate::error::StoreResult<Vec<T>> {
        match &self.lite {
            Some(lite) => {
                lite.read(|c| lite::all(c, sql, rusqlite::params_from_iter(&binds), |r| decode(r)))
            }
            None => rows::bind_all(sqlx::query(sql), binds)
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(|r| decode(r))
                .collect(),
        }
    }
}

impl SqlStore {
    /// `{head} VALUES (…), (…) {tail}`: `binds` (rows of `cols` each) written 200 rows to a
    /// statement, each statement retried on a transient failure.
    pub(crate) async fn insert_rows(
        &self,
        head: &str,
        cols: usize,
        tail: &str,
        binds: Vec<rows::Bind>,
    ) -> crate::error::StoreResult<()> {
        const ROWS: usize = 200;
        for chunk in binds.chunks(ROWS * cols) {
            let sql = format!(
                "{head} VALUES {} {tail}",
                rows::placeholders(chunk.len() / cols, cols)
            );
            self.execute(sql, chunk.to_vec(), chunk.len() == ROWS * cols)
                .await?;
        }
        Ok(())
    }

    /// One write statement; the rows it changed. On MySQL it is its own transaction, retried on
    /// a transient failure. On SQLite it goes through the hot path's writer, committed with the
    /// ticket operations queued beside it (undone alone if it fails): from a second connection
    /// it would contend for SQLite's one write lock, each side sleeping in the busy handler
    /// while the other holds it (under a burst of clicks, each click's name written that way
    /// held the tickets' writes back). `keep` says whether the statement is worth keeping
    /// prepared (one-off multi-row statements are not).
    pub(crate) async fn execute(
        &self,
        sql: String,
        binds: Vec<rows::Bind>,
        keep: bool,
    ) -> crate::error::StoreResult<u64> {
        if let Some(lite) = &self.lite {
            return lite
                .writer
                .run(move |conn| {
                    let params = rusqlite::params_from_iter(&binds);
                    let changed = match keep {
                        true => conn.prepare_cached(&sql)?.execute(params)?,
                        false => conn.prepare(&sql)?.execute(params)?,
                    };
                    Ok(changed as u64)
                })
                .await;
        }
        rows::retry_transient(|| async {
            let done = rows::bind_all(sqlx::query(&sql).persistent(keep), binds.clone())
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
        .await
    }

    /// Several independent read queries at once, each decoded by `decode`, in order: on SQLite
    /// each on its own read connection and thread (a report's aggregates are CPU-bound scans),
    /// elsewhere concurrently on the reader pool.
    pub(crate) async fn read_all_many<T: Send>(
        &self,
        jobs: Vec<(String, Vec<rows::Bind>)>,
        decode: fn(&dyn rows::Cols) -> crate::error::StoreResult<T>,
    ) -> crate::error::StoreResult<Vec<Vec<T>>> {
        match &self.lite {
            Some(lite) => {
                // As many threads as cores, each taking the next job (longest first, as given).
                let threads = std::thread::available_parallelism()
                    .map_or(2, usize::from)
                    .clamp(1, jobs.len().max(1));
                let next = std::sync::atomic::AtomicUsize::new(0);
                let results: Vec<std::sync::Mutex<Option<crate::error::StoreResult<Vec<T>>>>> =
                    jobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
                std::thread::scope(|scope| {
                    for _ in 0..threads {
                        scope.spawn(|| loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some((sql, binds)) = jobs.get(i) else {
                                break;
                            };
                            let r = lite.read(|c| {
                                lite::all(c, sql, rusqlite::params_from_iter(binds), |r| decode(r))
                            });
                            if let Ok(mut slot) = results[i].lock() {
                                *slot = Some(r);
                            }
                        });
                    }
                });
                results
                    .into_iter()
                    .map(|slot| {
                        slot.into_inner().ok().flatten().unwrap_or_else(|| {
                            Err(crate::error::StoreError::corrupt(
                                "statistics",
                                "a read thread stopped before its query ran",
                            ))
                        })
                    })
                    .collect()
            }
            None => {
                futures::future::try_join_all(
                    jobs.into_iter().map(|(sql, binds)| async move {
                        self.read_all(&sql, binds, decode).await
                    }),
                )
                .await
            }
        }
    }
}

super::delegate_ticket_store!(SqlStore);
