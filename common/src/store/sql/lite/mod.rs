//! SQLite's hot path: the ticket operations the bot runs on every click (create, set channel,
//! claim, close, reopen, read one ticket) run whole on the caller's thread through rusqlite,
//! writes through one [`Writer`] with group commit, reads through a few read-only
//! connections. Everything else (imports, archive, purge, the migrator) stays on sqlx; both
//! sides meet in SQLite's own locking.

mod ops;
pub(crate) mod tally;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub(crate) use ops::*;
pub(crate) use writer::Writer;

use super::pool::{SQLITE_CONNECTION_PRAGMAS, SQLITE_READER_MEMORY};
use crate::error::{StoreError, StoreResult};

/// How long an operation waits for a write lock another connection holds.
pub(super) const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Idle read connections kept open.
const IDLE_READERS: usize = 4;

type Opener = Box<dyn Fn() -> rusqlite::Result<Connection> + Send + Sync>;

/// The hot path's connections to one SQLite file (opened on first use, after the migrator).
pub(crate) struct Lite {
    pub(crate) writer: Arc<Writer>,
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Held while this store lives: its WAL checkpointer stops once it cannot upgrade this.
    _alive: Arc<()>,
}

impl Lite {
    pub(crate) fn new(path: &Path) -> Lite {
        let for_writer = path.to_owned();
        let alive = Arc::new(());
        let checkpointer = Checkpointer::new(path, Arc::downgrade(&alive));
        Lite {
            writer: Arc::new(Writer::new(Box::new(move || {
                let conn = open_writer(&for_writer)?;
                if !checkpointer.start() {
                    // Without the thread, commits checkpoint as SQLite does by default.
                    conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
                }
                Ok(conn)
            }))),
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
            _alive: alive,
        }
    }

    /// Runs a read on an idle read connection (opening one when none is idle). WAL: never
    /// waits for writers.
    pub(crate) fn read<R>(&self, op: impl Fn(&Connection) -> StoreResult<R>) -> StoreResult<R> {
        let conn = match lock(&self.idle).pop() {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        let result = match op(&conn) {
            // Only while another connection recovers the WAL after a crash: wait for it.
            Err(StoreError::Sqlite(e)) if is_busy(&e) => {
                conn.busy_timeout(LOCK_WAIT)?;
                let result = blocking(|| op(&conn));
                conn.busy_timeout(Duration::ZERO)?;
                result
            }
            other => other,
        };
        let mut idle = lock(&self.idle);
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    pub(crate) fn close(&self) {
        self.writer.close();
        lock(&self.idle).clear();
    }
}

fn open(path: &Path, settings: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch(settings)?;
    // Lock waits are taken off the async threads (see `begin`), never slept in here.
    conn.busy_timeout(Duration::ZERO)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// The writer: the pool writer's durability settings, a smaller cache (point writes only), and
/// no checkpoints of its own ([`Checkpointer`] runs them).
fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    open(
        path,
        &format!(
            "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 67108864; \
             {SQLITE_CONNECTION_PRAGMAS} PRAGMA cache_size = -8192; PRAGMA mmap_size = 0; \
             PRAGMA wal_autocheckpoint = 0;"
        ),
    )
}

/// Copies the WAL back into the database file on a thread of its own, off the commit path:
/// with SQLite's automatic checkpoint, the commit that passes 1,000 log pages does that work
/// while every queued operation waits for it. A passive checkpoint never blocks the writer or
/// the readers; it runs every [`CHECKPOINT_EVERY`] while the store lives, from the first write.
struct Checkpointer {
    path: PathBuf,
    alive: std::sync::Weak<()>,
    started: std::sync::atomic::AtomicBool,
}

const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

impl Checkpointer {
    fn new(path: &Path, alive: std::sync::Weak<()>) -> Checkpointer {
        Checkpointer {
            path: path.to_owned(),
            alive,
            started: Default::default(),
        }
    }

    /// Starts the thread, unless it runs already; `false` when it cannot run.
    fn start(&self) -> bool {
        use std::sync::atomic::Ordering;
        if self.started.swap(true, Ordering::AcqRel) {
            return true;
        }
        let (path, alive) = (self.path.clone(), self.alive.clone());
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let mut conn = None;
                loop {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    if alive.strong_count() == 0 {
                        return;
                    }
                    if conn.is_none() {
                        conn = open(&path, SQLITE_CONNECTION_PRAGMAS).ok();
                    }
                    if let Some(c) = &conn {
                        // Busy (another checkpoint, a recovery) or failed: the next round tries.
                        if let Err(e) = c.execute_batch("PRAGMA wal_checkpoint(PASSIVE);") {
                            tracing::debug!("WAL checkpoint not done: {e}");
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the WAL checkpointer ({e}); commits checkpoint instead");
            self.started.store(false, Ordering::Release);
            return false;
        }
        true
    }
}

/// A reader of single tickets: no file map (a map is rebuilt each time a growing file passes
/// its end, a TLB flush on every core, for reads of one or two pages).
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = open(
        path,
        &format!(
            "{SQLITE_CONNECTION_PRAGMAS} {SQLITE_READER_MEMORY} PRAGMA mmap_size = 0; \
             PRAGMA query_only = ON;"
        ),
    )?;
    tally::register(&conn)?;
    Ok(conn)
}

/// A mutex's data, also after a panic elsewhere (the data are connections and queues, whole
/// at every step).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// The same failure for each operation of a failed batch (rusqlite's errors are not `Clone`).
fn copy_error(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(f, msg) => rusqlite::Error::SqliteFailure(*f, msg.clone()),
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

/// Runs `f`, which may wait, without holding up the async threads: on a multi-threaded
/// runtime this thread's tasks move to another; elsewhere (a tool's single thread) it just
/// waits.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::DbConfig;
    use crate::store::sql::SqlStore;

    /// What the writer commits reaches the database file through the checkpointer's thread:
    /// ~50 tickets write a few hundred log pages, below SQLite's own threshold of 1,000, so
    /// without the thread the file would not grow.
    #[tokio::test]
    async fn the_checkpointer_copies_the_log_into_the_database_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let store = SqlStore::connect(&DbConfig::Sqlite { path: path.clone() })
            .await
            .expect("store");
        let before = std::fs::metadata(&path).expect("file").len();
        let wal = path.with_extension("db-wal");
        for i in 0..50 {
            store
                .create_ticket(1, 1000 + i, 1, crate::ticket::now())
                .await
                .expect("create");
        }
        let logged = std::fs::metadata(&wal).expect("log").len();
        assert!(
            logged > 50 * 4096,
            "the log holds the writes ({logged} bytes)"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let now = std::fs::metadata(&path).expect("file").len();
            if now > before {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the database file stayed at {now} bytes"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
