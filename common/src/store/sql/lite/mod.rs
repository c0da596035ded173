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
}

impl Lite {
    pub(crate) fn new(path: &Path) -> Lite {
        let for_writer = path.to_owned();
        Lite {
            writer: Arc::new(Writer::new(Box::new(move || open_writer(&for_writer)))),
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
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

/// The writer: the pool writer's durability settings, a smaller cache (point writes only).
fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    open(
        path,
        &format!(
            "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 67108864; \
             {SQLITE_CONNECTION_PRAGMAS} PRAGMA cache_size = -8192; PRAGMA mmap_size = 0;"
        ),
    )
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
