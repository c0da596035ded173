//! SQLite's writer: one connection that runs each store operation whole on the caller's thread
//! (sqlx hands every statement to a connection thread of its own and wakes the caller for
//! each: ~15 hand-overs per ticket cycle), and commits the operations other tasks queued
//! meanwhile in the same transaction (group commit).
//!
//! No thread of its own: the task that finds the connection free runs everything queued
//! (flat combining); the others wait for their answer. An operation's answer is given after
//! the commit that holds it, so an answer always means durable.

use std::any::Any;
use std::sync::{Arc, Mutex, TryLockError};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{blocking, copy_error, is_busy, lock, Opener, LOCK_WAIT};
use crate::error::{StoreError, StoreResult};

type Output = Box<dyn Any + Send>;
type Op = Box<dyn FnOnce(&Connection) -> StoreResult<Output> + Send>;

struct Job {
    op: Op,
    reply: oneshot::Sender<StoreResult<Output>>,
}

/// The most operations one transaction carries: bounds how long a batch holds the lock.
const BATCH: usize = 256;

/// Batches one task runs before it hands the rest to a fresh task, so that its own caller is
/// not kept waiting by a queue that never empties.
const ROUNDS: usize = 2;

pub(crate) struct Writer {
    open: Opener,
    conn: Mutex<Option<Connection>>,
    queue: Mutex<Vec<Job>>,
}

impl Writer {
    pub(super) fn new(open: Opener) -> Writer {
        Writer {
            open,
            conn: Mutex::new(None),
            queue: Mutex::new(Vec::new()),
        }
    }

    /// Runs `op` in a write transaction (`BEGIN IMMEDIATE`), perhaps beside others'. When it
    /// fails, what it wrote is undone and the others' writes are kept.
    pub(crate) async fn run<R, F>(self: &Arc<Self>, op: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let op: Op = Box::new(move |conn| op(conn).map(|r| Box::new(r) as Output));
        lock(&self.queue).push(Job { op, reply });
        self.combine();
        let output = answer.await.map_err(|_| abandoned())??;
        output
            .downcast::<R>()
            .map(|r| *r)
            .map_err(|_| StoreError::Migrate("the SQLite writer answered with another type".into()))
    }

    /// Runs what is queued, unless another task is doing so: that one looks at the queue again
    /// after it lets the connection go, so that no job is left behind.
    fn combine(self: &Arc<Self>) {
        loop {
            let mut conn = match self.conn.try_lock() {
                Ok(guard) => guard,
                Err(TryLockError::WouldBlock) => return,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
            };
            for _ in 0..ROUNDS {
                let jobs: Vec<Job> = {
                    let mut queue = lock(&self.queue);
                    let n = queue.len().min(BATCH);
                    queue.drain(..n).collect()
                };
                if jobs.is_empty() {
                    break;
                }
                self.batch(&mut conn, jobs);
            }
            drop(conn);
            if lock(&self.queue).is_empty() {
                return;
            }
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let this = self.clone();
                runtime.spawn(async move { this.combine() });
                return;
            }
        }
    }

    fn batch(&self, conn: &mut Option<Connection>, jobs: Vec<Job>) {
        if conn.is_none() {
            match (self.open)() {
                Ok(c) => *conn = Some(c),
                Err(e) => return fail(jobs, &e),
            }
        }
        let Some(conn) = conn.as_ref() else { return };
        if let Err(e) = begin(conn) {
            return fail(jobs, &e);
        }
        let mut done = Vec::with_capacity(jobs.len());
        let single = jobs.len() == 1;
        let mut jobs = jobs.into_iter();
        while let Some(job) = jobs.next() {
            // Alone in its transaction, a failed operation is undone by the rollback below;
            // beside others, by a savepoint of its own.
            let result = if single {
                Ok((job.op)(conn))
            } else {
                in_savepoint(conn, job.op)
            };
            match result {
                Ok(result) => done.push((job.reply, result)),
                Err(e) => {
                    conn.execute_batch("ROLLBACK").ok();
                    let all = done.into_iter().map(|(reply, _)| reply);
                    let all = all.chain(std::iter::once(job.reply));
                    let all = all.chain(jobs.map(|j| j.reply));
                    return all.for_each(|reply| {
                        reply.send(Err(copy_error(&e).into())).ok();
                    });
                }
            }
        }
        let commit = if single && done.iter().all(|(_, r)| r.is_err()) {
            conn.execute_batch("ROLLBACK")
        } else {
            conn.execute_batch("COMMIT")
        };
        if let Err(e) = commit {
            conn.execute_batch("ROLLBACK").ok();
            return done.into_iter().for_each(|(reply, _)| {
                reply.send(Err(copy_error(&e).into())).ok();
            });
        }
        for (reply, result) in done {
            reply.send(result).ok();
        }
    }

    /// Closes the connection (opened again on the next write).
    pub(super) fn close(&self) {
        lock(&self.conn).take();
    }
}

/// Takes the write lock. Held by another connection (`ticketctl` beside the bot, a sqlx
/// writer of this process), it is waited for off the async threads.
fn begin(conn: &Connection) -> rusqlite::Result<()> {
    match conn.prepare_cached("BEGIN IMMEDIATE")?.execute([]) {
        Err(e) if is_busy(&e) => {
            conn.busy_timeout(LOCK_WAIT)?;
            let res = blocking(|| conn.execute_batch("BEGIN IMMEDIATE"));
            conn.busy_timeout(std::time::Duration::ZERO)?;
            res
        }
        other => other.map(drop),
    }
}

/// Runs `op` in a savepoint: rolled back to it when `op` fails. `Err` only when the savepoint
/// itself failed (the transaction is then in doubt).
fn in_savepoint(conn: &Connection, op: Op) -> rusqlite::Result<StoreResult<Output>> {
    conn.prepare_cached("SAVEPOINT op")?.execute([])?;
    let result = op(conn);
    if result.is_err() {
        conn.prepare_cached("ROLLBACK TO op")?.execute([])?;
    }
    conn.prepare_cached("RELEASE op")?.execute([])?;
    Ok(result)
}

fn fail(jobs: Vec<Job>, e: &rusqlite::Error) {
    for job in jobs {
        job.reply.send(Err(copy_error(e).into())).ok();
    }
}

fn abandoned() -> StoreError {
    copy_error(&rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
        Some("the write was abandoned".into()),
    ))
    .into()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::rules::RuleError;

    fn writer(dir: &tempfile::TempDir) -> (Arc<Writer>, std::path::PathBuf) {
        let path = dir.path().join("w.db");
        let setup = Connection::open(&path).unwrap();
        setup
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (k TEXT PRIMARY KEY);")
            .unwrap();
        let p = path.clone();
        let open: Opener = Box::new(move || {
            let c = Connection::open(&p)?;
            c.busy_timeout(Duration::ZERO)?;
            Ok(c)
        });
        (Arc::new(Writer::new(open)), path)
    }

    fn keys(path: &std::path::Path) -> Vec<String> {
        let c = Connection::open(path).unwrap();
        let mut stmt = c.prepare("SELECT k FROM t ORDER BY k").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    fn insert(k: &'static str, then_fail: bool) -> impl FnOnce(&Connection) -> StoreResult<()> {
        move |c| {
            c.execute("INSERT INTO t (k) VALUES (?1)", [k])?;
            if then_fail {
                return Err(RuleError::Closed.into());
            }
            Ok(())
        }
    }

    /// Three operations in one transaction: the one that fails after writing is undone, its
    /// neighbours' writes are kept and each gets its own answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_operation_in_a_batch_is_undone_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(&dir);
        // Hold the connection so that the three queue up behind it, then run them as one batch.
        let held = lock(&w.conn);
        let tasks: Vec<_> = [("a", false), ("b", true), ("c", false)]
            .into_iter()
            .map(|(k, fail)| {
                let w = w.clone();
                tokio::spawn(async move { w.run(insert(k, fail)).await })
            })
            .collect();
        // A blocking wait: the tasks run on the runtime's workers, this test on its own thread.
        while lock(&w.queue).len() < 3 {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(held);
        w.combine();
        let results: Vec<_> = futures::future::join_all(tasks).await;
        let ok: Vec<bool> = results.into_iter().map(|r| r.unwrap().is_ok()).collect();
        assert_eq!(ok, [true, false, true]);
        assert_eq!(keys(&path), ["a", "c"]);
    }

    /// Alone in its transaction, a failed operation leaves nothing behind either.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_operation_alone_is_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(&dir);
        assert!(w.run(insert("x", true)).await.is_err());
        w.run(insert("y", false)).await.unwrap();
        assert_eq!(keys(&path), ["y"]);
    }

    /// Another connection holds the write lock for a while: the write waits for it (off the
    /// async threads) instead of failing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_waits_for_a_lock_held_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let (w, path) = writer(&dir);
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("BEGIN IMMEDIATE; INSERT INTO t (k) VALUES ('first');")
            .unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        let started = std::time::Instant::now();
        w.run(insert("second", false)).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(250));
        release.join().unwrap();
        assert_eq!(keys(&path), ["first", "second"]);
    }
}
