//! Archive marks, overflow categories and leases.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::rows::*;
use super::{SqlStore, TICKET_COLUMNS};
use crate::error::{StoreError, StoreResult};
use crate::rules::{self, RuleError};
use crate::store::{ArchiveQuery, CategoryKind, OverflowCategory, RACE_RETRIES};
use crate::ticket::{DiscordId, EventKind, Ticket, TicketEvent};

/// Closed, not archived, with a channel: what can be archived at all.
const ARCHIVABLE: &str = "status = 'closed' AND archived_at IS NULL AND channel_id IS NOT NULL";

/// The conditions of an [`ArchiveQuery`] after [`ARCHIVABLE`]: the guild, then closed before
/// the cutoff or requested (without a cutoff, only requested ones).
fn archive_query_sql(query: &ArchiveQuery, sql: &mut String, binds: &mut Vec<Bind>) {
    if let Some(g) = query.guild_id {
        sql.push_str(" AND guild_id = ?");
        binds.push(Bind::Int(Some(id_to_sql(g))));
    }
    let requested = query.requested || query.closed_before.is_none();
    match (query.closed_before, requested) {
        (Some(t), true) => {
            sql.push_str(" AND (closed_at < ? OR archive_requested_at IS NOT NULL)");
            binds.push(Bind::Int(Some(time_to_sql(t))));
        }
        (Some(t), false) => {
            sql.push_str(" AND closed_at < ?");
            binds.push(Bind::Int(Some(time_to_sql(t))));
        }
        (None, _) => sql.push_str(" AND archive_requested_at IS NOT NULL"),
    }
}

fn category_from_row(row: &sqlx::any::AnyRow) -> StoreResult<OverflowCategory> {
    let category_id = id_from_sql(row.try_get("category_id")?);
    let kind = match required_text(row, "kind")?.as_str() {
        "open" => CategoryKind::Open,
        "closed" => CategoryKind::Closed,
        other => {
            return Err(StoreError::corrupt(
                category_id,
                format!("unknown category kind {other:?}"),
            ))
        }
    };
    let number = u32::try_from(row.try_get::<i64, _>("number")?)
        .map_err(|e| StoreError::corrupt(category_id, e))?;
    Ok(OverflowCategory {
        guild_id: id_from_sql(row.try_get("guild_id")?),
        base_id: id_from_sql(row.try_get("base_id")?),
        kind,
        number,
        category_id,
        created_at: time_from_sql(row.try_get("created_at")?, &category_id.to_string())?,
    })
}

const CATEGORY_COLUMNS: &str = "category_id, guild_id, base_id, kind, number, created_at";

impl SqlStore {
    pub(crate) async fn mark_archived(
        &self,
        id: Uuid,
        by: Option<DiscordId>,
        at: DateTime<Utc>,
    ) -> StoreResult<Ticket> {
        for _ in 0..RACE_RETRIES {
            if let Some(t) = retry_transient(|| self.try_mark_archived(id, by, at)).await? {
                return Ok(t);
            }
            let current = self.get(id).await?.ok_or(RuleError::NotFound)?;
            rules::check_archive(&current)?;
        }
        Err(StoreError::Migrate(format!(
            "ticket {id} kept changing; it was not archived"
        )))
    }

    /// One attempt; `None` when the ticket is not (or no longer) closed and unarchived.
    async fn try_mark_archived(
        &self,
        id: Uuid,
        by: Option<DiscordId>,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Ticket>> {
        let mut tx = self.write_tx().await?;
        // Take the row's write lock under the condition first: of several archivers one passes,
        // the others wait and then match nothing. The lock also makes the read below current.
        let locked = sqlx::query(
            "UPDATE tickets SET updated_at = updated_at \
             WHERE id = ? AND status = 'closed' AND archived_at IS NULL",
        )
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if locked.rows_affected() == 0 {
            return Ok(None);
        }
        let before = Self::fetch_ticket(&mut *tx, id)
            .await?
            .ok_or(RuleError::NotFound)?;
        sqlx::query(
            "UPDATE tickets SET archived_at = ?, channel_id = NULL, archive_requested_at = NULL, \
             updated_at = ? WHERE id = ?",
        )
        .bind(time_to_sql(at))
        .bind(time_to_sql(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let ticket = Self::fetch_ticket(&mut *tx, id)
            .await?
            .ok_or(RuleError::NotFound)?;
        let details = before.channel_id.map(|c| c.to_string());
        let event = TicketEvent::new(&ticket, EventKind::Archived, by, at, details);
        Self::insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(Some(ticket))
    }

    pub(crate) async fn request_archive(
        &self,
        query: &ArchiveQuery,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut sql = format!(
            "UPDATE tickets SET archive_requested_at = ?, updated_at = ? \
             WHERE {ARCHIVABLE} AND archive_requested_at IS NULL"
        );
        let mut binds = vec![
            Bind::Int(Some(time_to_sql(at))),
            Bind::Int(Some(time_to_sql(at))),
        ];
        if let Some(g) = query.guild_id {
            sql.push_str(" AND guild_id = ?");
            binds.push(Bind::Int(Some(id_to_sql(g))));
        }
        if let Some(t) = query.closed_before {
            sql.push_str(" AND closed_at < ?");
            binds.push(Bind::Int(Some(time_to_sql(t))));
        }
        retry_transient(|| async {
            let done = bind_all(sqlx::query(&sql), binds.clone())
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
        .await
    }

    pub(crate) async fn archivable(
        &self,
        query: &ArchiveQuery,
        limit: u32,
    ) -> StoreResult<Vec<Ticket>> {
        let mut sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE {ARCHIVABLE}");
        let mut binds = Vec::new();
        archive_query_sql(query, &mut sql, &mut binds);
        sql.push_str(" ORDER BY closed_at, id LIMIT ?");
        binds.push(Bind::Int(Some(i64::from(limit))));
        let rows = bind_all(sqlx::query(&sql), binds)
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| ticket_from_row(r).map(|(t, _)| t))
            .collect()
    }

    pub(crate) async fn count_archivable(&self, query: &ArchiveQuery) -> StoreResult<u64> {
        let mut sql = format!("SELECT COUNT(*) FROM tickets WHERE {ARCHIVABLE}");
        let mut binds = Vec::new();
        archive_query_sql(query, &mut sql, &mut binds);
        let n: i64 = bind_all(sqlx::query(&sql), binds)
            .fetch_one(&self.reader)
            .await?
            .try_get(0)?;
        Ok(n.max(0) as u64)
    }

    pub(crate) async fn overflow_categories(
        &self,
        guild_id: DiscordId,
        base_id: DiscordId,
    ) -> StoreResult<Vec<OverflowCategory>> {
        let sql = format!(
            "SELECT {CATEGORY_COLUMNS} FROM overflow_categories \
             WHERE guild_id = ? AND base_id = ? ORDER BY number"
        );
        let rows = sqlx::query(&sql)
            .bind(id_to_sql(guild_id))
            .bind(id_to_sql(base_id))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(category_from_row).collect()
    }

    pub(crate) async fn all_overflow_categories(&self) -> StoreResult<Vec<OverflowCategory>> {
        let sql = format!("SELECT {CATEGORY_COLUMNS} FROM overflow_categories");
        let rows = sqlx::query(&sql).fetch_all(&self.reader).await?;
        let mut all = rows
            .iter()
            .map(category_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        // By the id as u64 (SQL orders the stored two's complement), as on every backend.
        all.sort_by_key(|c| c.category_id);
        Ok(all)
    }

    async fn category_where(
        &self,
        cond: &str,
        binds: Vec<Bind>,
    ) -> StoreResult<Option<OverflowCategory>> {
        let sql = format!("SELECT {CATEGORY_COLUMNS} FROM overflow_categories WHERE {cond}");
        let row = bind_all(sqlx::query(&sql), binds)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(category_from_row).transpose()
    }

    pub(crate) async fn add_overflow_category(
        &self,
        category: &OverflowCategory,
    ) -> StoreResult<Option<OverflowCategory>> {
        let sql = format!(
            "INSERT INTO overflow_categories ({CATEGORY_COLUMNS}) VALUES {}",
            placeholders(1, 6)
        );
        let res = retry_transient(|| async {
            match sqlx::query(&sql)
                .bind(id_to_sql(category.category_id))
                .bind(id_to_sql(category.guild_id))
                .bind(id_to_sql(category.base_id))
                .bind(category.kind.as_str())
                .bind(i64::from(category.number))
                .bind(time_to_sql(category.created_at))
                .execute(&self.pool)
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if is_unique_violation(&e) => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
        if res {
            return Ok(None);
        }
        // The unique (base, number) or the category id was there: who holds which?
        let same_id = self
            .category_where(
                "category_id = ?",
                vec![Bind::Int(Some(id_to_sql(category.category_id)))],
            )
            .await?;
        if let Some(known) = same_id {
            if known.base_id == category.base_id && known.number == category.number {
                return Ok(None);
            }
            return Err(StoreError::Conflict(format!(
                "category {} is recorded already as number {} beside {}",
                known.category_id, known.number, known.base_id
            )));
        }
        let winner = self
            .category_where(
                "base_id = ? AND number = ?",
                vec![
                    Bind::Int(Some(id_to_sql(category.base_id))),
                    Bind::Int(Some(i64::from(category.number))),
                ],
            )
            .await?;
        match winner {
            Some(w) => Ok(Some(w)),
            // Removed again between the insert and the read: rare; ask the caller to retry.
            None => Err(StoreError::Conflict(format!(
                "overflow category number {} beside {} changed while being recorded; try again",
                category.number, category.base_id
            ))),
        }
    }

    pub(crate) async fn remove_overflow_category(
        &self,
        category_id: DiscordId,
    ) -> StoreResult<bool> {
        retry_transient(|| async {
            let done = sqlx::query("DELETE FROM overflow_categories WHERE category_id = ?")
                .bind(id_to_sql(category_id))
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    pub(crate) async fn try_lease(
        &self,
        key: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        retry_transient(|| async {
            // Held by us or expired: take it over in one conditional write.
            let done = sqlx::query(
                "UPDATE leases SET holder = ?, until = ? \
                 WHERE lease_key = ? AND (holder = ? OR until < ?)",
            )
            .bind(holder)
            .bind(time_to_sql(until))
            .bind(key)
            .bind(holder)
            .bind(time_to_sql(now))
            .execute(&self.pool)
            .await?;
            if done.rows_affected() > 0 {
                return Ok(true);
            }
            // Free: the primary key decides between simultaneous inserts.
            match sqlx::query("INSERT INTO leases (lease_key, holder, until) VALUES (?, ?, ?)")
                .bind(key)
                .bind(holder)
                .bind(time_to_sql(until))
                .execute(&self.pool)
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if is_unique_violation(&e) => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    pub(crate) async fn release_lease(&self, key: &str, holder: &str) -> StoreResult<()> {
        retry_transient(|| async {
            sqlx::query("DELETE FROM leases WHERE lease_key = ? AND holder = ?")
                .bind(key)
                .bind(holder)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }
}
