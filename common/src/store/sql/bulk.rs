//! Loading many records into an empty SQLite database (the takeover of a Python-bot database,
//! `ticketctl migrate` into a new file): the secondary indexes are dropped while the rows go in
//! and built once at the end, each by one sort, instead of being updated at a random place per
//! row (which rewrote most index pages at every commit: 79 GB of WAL for a 1.4 GB file).
//!
//! Crash-safe: the dropped indexes' definitions are saved in `ticketbot_meta` in the same
//! transaction that drops them, and they are built again, and the note removed, in one
//! transaction. Whoever opens the store next finishes an interrupted load (see `upgrade`).

use super::SqlStore;
use crate::error::{StoreError, StoreResult};
use crate::store::Backend;

/// Meta key holding the dropped indexes' `CREATE INDEX` statements (a JSON array).
const BULK_MARKER: &str = "bulk_load_indexes";

/// The saved definitions, read inside the transaction that acts on them.
async fn saved_indexes(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
) -> StoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT meta_value FROM ticketbot_meta WHERE meta_key = ?")
            .bind(BULK_MARKER)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

impl SqlStore {
    /// Drops the secondary indexes of the record tables if they hold nothing yet (or goes on
    /// with a load that was interrupted). Returns whether the store is in bulk mode; callers
    /// then end with [`SqlStore::finish_bulk_load`]. MySQL: no bulk mode (always `false`).
    pub(crate) async fn begin_bulk_load(&self) -> StoreResult<bool> {
        if self.dialect.backend != Backend::Sqlite {
            return Ok(false);
        }
        let mut tx = self.write_tx().await?;
        let marker = saved_indexes(&mut tx).await?;
        if marker.is_some() {
            return Ok(true);
        }
        let holds: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM tickets) OR EXISTS (SELECT 1 FROM ticket_events)",
        )
        .fetch_one(&mut *tx)
        .await?;
        if holds != 0 {
            return Ok(false);
        }
        // Explicit indexes only: the primary keys' (sql IS NULL) stay, upserts need them.
        let indexes: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND tbl_name IN ('tickets', 'ticket_events', 'ticket_participants') ORDER BY name",
        )
        .fetch_all(&mut *tx)
        .await?;
        let statements: Vec<&str> = indexes.iter().map(|(_, sql)| sql.as_str()).collect();
        let saved = serde_json::to_string(&statements)
            .map_err(|e| StoreError::Migrate(format!("saving index definitions: {e}")))?;
        sqlx::query("INSERT INTO ticketbot_meta (meta_key, meta_value) VALUES (?, ?)")
            .bind(BULK_MARKER)
            .bind(saved)
            .execute(&mut *tx)
            .await?;
        for (name, _) in &indexes {
            sqlx::query(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        tracing::debug!("bulk load: {} indexes set aside", indexes.len());
        Ok(true)
    }

    /// Whether a bulk load left indexes to build (one read, no lock).
    pub(crate) async fn bulk_load_pending(&self) -> StoreResult<bool> {
        if self.dialect.backend != Backend::Sqlite {
            return Ok(false);
        }
        Ok(self.meta(BULK_MARKER).await?.is_some())
    }

    /// Builds the indexes a bulk load set aside, if any (a no-op otherwise, and for a process
    /// that finds another one finished first).
    pub(crate) async fn finish_bulk_load(&self) -> StoreResult<()> {
        if self.dialect.backend != Backend::Sqlite {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        let marker = saved_indexes(&mut tx).await?;
        let Some(saved) = marker else {
            return Ok(());
        };
        let statements: Vec<String> = serde_json::from_str(&saved).map_err(|e| {
            StoreError::corrupt(
                format!("ticketbot_meta {BULK_MARKER}"),
                format!("the saved index definitions cannot be read: {e}"),
            )
        })?;
        let started = std::time::Instant::now();
        for sql in &statements {
            sqlx::query(sql).execute(&mut *tx).await.map_err(|e| {
                StoreError::Migrate(format!("building an index again ({sql}): {e}"))
            })?;
        }
        sqlx::query("DELETE FROM ticketbot_meta WHERE meta_key = ?")
            .bind(BULK_MARKER)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::debug!(
            "bulk load: {} indexes built in {:.1?}",
            statements.len(),
            started.elapsed()
        );
        Ok(())
    }
}
