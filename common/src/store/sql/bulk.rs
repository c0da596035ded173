//! Loading many records into an empty database (the takeover of a Python-bot database,
//! `ticketctl migrate` into a new file or database): the secondary indexes of the record tables
//! are dropped while the rows go in and built once at the end, each by one sort, instead of
//! being updated at a random place per row (on SQLite that rewrote most index pages at every
//! commit: 79 GB of WAL for a 1.4 GB file; on MariaDB it thrashes the buffer pool).
//!
//! Crash-safe: the dropped indexes' definitions are saved in `ticketbot_meta` before they are
//! dropped (SQLite: in the same transaction; MySQL's DDL commits on its own), and the end
//! builds every saved index that is missing, then removes the note. Whoever opens the store
//! next finishes an interrupted load (see `upgrade` and `connect_current`).

use serde::{Deserialize, Serialize};

use super::SqlStore;
use crate::error::{StoreError, StoreResult};
use crate::store::Backend;

/// Meta key holding the dropped indexes (a JSON array of [`SavedIndex`]).
pub(super) const BULK_MARKER: &str = "bulk_load_indexes";

/// The tables a bulk load fills.
const RECORD_TABLES: &str = "'tickets', 'ticket_events', 'ticket_participants'";

/// One index set aside: SQLite keeps its `CREATE INDEX` statement, MySQL the clause of
/// `ALTER TABLE {table}` that adds it back.
#[derive(Debug, Serialize, Deserialize)]
struct SavedIndex {
    table: String,
    name: String,
    definition: String,
}

fn quoted(backend: Backend, name: &str) -> String {
    match backend {
        Backend::Mysql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// SQLite's page cache while it builds the indexes a bulk load set aside (KiB, negative).
const INDEX_BUILD_CACHE: i64 = -8192;

impl SqlStore {
    /// Drops the secondary indexes of the record tables if they hold nothing yet (or goes on
    /// with a load that was interrupted). Returns whether the store is in bulk mode; callers
    /// then end with [`SqlStore::finish_bulk_load`].
    pub(crate) async fn begin_bulk_load(&self) -> StoreResult<bool> {
        let backend = self.dialect.backend;
        let mut tx = self.write_tx().await?;
        if self.saved_indexes(&mut tx).await?.is_some() {
            return Ok(true);
        }
        let holds: i64 = sqlx::query_scalar(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM tickets) OR EXISTS (SELECT 1 FROM ticket_events) \
             THEN 1 ELSE 0 END",
        )
        .fetch_one(&mut *tx)
        .await?;
        if holds != 0 {
            return Ok(false);
        }
        let indexes = self.secondary_indexes(&mut tx).await?;
        let saved = serde_json::to_string(&indexes)
            .map_err(|e| StoreError::Migrate(format!("saving index definitions: {e}")))?;
        sqlx::query("INSERT INTO ticketbot_meta (meta_key, meta_value) VALUES (?, ?)")
            .bind(BULK_MARKER)
            .bind(saved)
            .execute(&mut *tx)
            .await?;
        if backend == Backend::Mysql {
            // DDL commits on its own: the note is saved first.
            tx.commit().await?;
            for index in &indexes {
                let sql = format!(
                    "ALTER TABLE {} DROP KEY {}",
                    quoted(backend, &index.table),
                    quoted(backend, &index.name)
                );
                sqlx::query(&sql).execute(&self.pool).await?;
            }
        } else {
            for index in &indexes {
                let sql = format!("DROP INDEX {}", quoted(backend, &index.name));
                sqlx::query(&sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        tracing::debug!("bulk load: {} indexes set aside", indexes.len());
        Ok(true)
    }

    /// The schema's version and whether a bulk load left indexes to build, in one read.
    pub(crate) async fn current_state(&self) -> StoreResult<(Option<i64>, bool)> {
        let (version, pending): (Option<i64>, i64) = sqlx::query_as(
            "SELECT (SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1), \
             (SELECT COUNT(*) FROM ticketbot_meta WHERE meta_key = ?)",
        )
        .bind(BULK_MARKER)
        .fetch_one(&self.pool)
        .await?;
        Ok((version, pending > 0))
    }

    /// Builds the indexes a bulk load set aside, if any (a no-op otherwise, and for a process
    /// that finds another one finished first).
    pub(crate) async fn finish_bulk_load(&self) -> StoreResult<()> {
        let backend = self.dialect.backend;
        // Every start passes here: a read, not the write lock, when there is nothing to do.
        if self.meta(BULK_MARKER).await?.is_none() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        let Some(saved) = self.saved_indexes(&mut tx).await? else {
            return Ok(());
        };
        let saved: Vec<SavedIndex> = serde_json::from_str(&saved).map_err(|e| {
            StoreError::corrupt(
                format!("ticketbot_meta {BULK_MARKER}"),
                format!("the saved index definitions cannot be read: {e}"),
            )
        })?;
        let present: Vec<String> = self
            .secondary_indexes(&mut tx)
            .await?
            .into_iter()
            .map(|i| i.name)
            .collect();
        let missing: Vec<&SavedIndex> = saved
            .iter()
            .filter(|i| !present.contains(&i.name))
            .collect();
        let started = std::time::Instant::now();
        let built = |sql: &str, e: sqlx::Error| {
            StoreError::Migrate(format!("building an index again ({sql}): {e}"))
        };
        if backend == Backend::Mysql {
            tx.commit().await?;
            // One statement per table: InnoDB builds all of its indexes in one pass.
            let mut tables: Vec<&str> = missing.iter().map(|i| i.table.as_str()).collect();
            tables.dedup();
            for table in tables {
                let clauses: Vec<&str> = missing
                    .iter()
                    .filter(|i| i.table == table)
                    .map(|i| i.definition.as_str())
                    .collect();
                let sql = format!(
                    "ALTER TABLE {} {}",
                    quoted(backend, table),
                    clauses.join(", ")
                );
                sqlx::query(&sql)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| built(&sql, e))?;
            }
            sqlx::query("DELETE FROM ticketbot_meta WHERE meta_key = ?")
                .bind(BULK_MARKER)
                .execute(&self.pool)
                .await?;
        } else {
            // SQLite sorts each index's keys in memory runs of the page cache's size, beside
            // the cache itself: a smaller cache for the builds halves their peak memory (16+16
            // MB → 8+8) and they take no longer (the runs merge from the temp file).
            let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(&format!("PRAGMA cache_size = {INDEX_BUILD_CACHE}"))
                .execute(&mut *tx)
                .await?;
            for index in &missing {
                sqlx::query(&index.definition)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| built(&index.definition, e))?;
            }
            sqlx::query("DELETE FROM ticketbot_meta WHERE meta_key = ?")
                .bind(BULK_MARKER)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            sqlx::query(&format!("PRAGMA cache_size = {cache}"))
                .execute(&self.pool)
                .await?;
        }
        tracing::debug!(
            "bulk load: {} indexes built in {:.1?}",
            missing.len(),
            started.elapsed()
        );
        Ok(())
    }

    /// The saved definitions, read inside the transaction that acts on them.
    async fn saved_indexes(&self, conn: &mut sqlx::AnyConnection) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT meta_value FROM ticketbot_meta WHERE meta_key = ?")
            .bind(BULK_MARKER)
            .fetch_optional(conn)
            .await?;
        row.map(|r| super::rows::required_text(&r, "meta_value"))
            .transpose()
    }

    /// The record tables' explicit secondary indexes (not the primary keys: upserts need
    /// them), ordered by table and name.
    async fn secondary_indexes(
        &self,
        conn: &mut sqlx::AnyConnection,
    ) -> StoreResult<Vec<SavedIndex>> {
        let rows: Vec<(String, String, String)> = match self.dialect.backend {
            Backend::Mysql => {
                // One row per indexed column, assembled here into `ADD [UNIQUE] KEY`.
                let sql = format!(
                    "SELECT CAST(TABLE_NAME AS CHAR), CAST(INDEX_NAME AS CHAR), \
                     CAST(NON_UNIQUE AS SIGNED), CAST(COLUMN_NAME AS CHAR), CAST(SUB_PART AS SIGNED) \
                     FROM information_schema.STATISTICS \
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ({RECORD_TABLES}) \
                       AND INDEX_NAME <> 'PRIMARY' \
                     ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
                );
                let columns: Vec<(String, String, i64, String, Option<i64>)> =
                    sqlx::query_as(&sql).fetch_all(&mut *conn).await?;
                let mut indexes: Vec<(String, String, bool, Vec<String>)> = Vec::new();
                for (table, name, non_unique, column, part) in columns {
                    let column = quoted(Backend::Mysql, &column)
                        + &part.map(|p| format!("({p})")).unwrap_or_default();
                    match indexes.last_mut() {
                        Some((t, n, _, cols)) if *t == table && *n == name => cols.push(column),
                        _ => indexes.push((table, name, non_unique == 0, vec![column])),
                    }
                }
                indexes
                    .into_iter()
                    .map(|(table, name, unique, cols)| {
                        let key = if unique { "UNIQUE KEY" } else { "KEY" };
                        let definition = format!(
                            "ADD {key} {} ({})",
                            quoted(Backend::Mysql, &name),
                            cols.join(", ")
                        );
                        (table, name, definition)
                    })
                    .collect()
            }
            _ => {
                let sql = format!(
                    "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' \
                     AND sql IS NOT NULL AND tbl_name IN ({RECORD_TABLES}) ORDER BY tbl_name, name"
                );
                sqlx::query_as(&sql).fetch_all(&mut *conn).await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(table, name, definition)| SavedIndex {
                table,
                name,
                definition,
            })
            .collect())
    }
}
