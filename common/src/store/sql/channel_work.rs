//! Channel work kept until Discord confirms it: the out-of-date mark and pending deletions.

use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::rows::*;
use super::{SqlStore, TICKET_COLUMNS};
use crate::error::StoreResult;
use crate::store::{ChannelDeletion, ChannelSync};
use crate::ticket::{DiscordId, Ticket};

impl SqlStore {
    pub(crate) async fn channels_to_sync(&self, limit: u32) -> StoreResult<Vec<ChannelSync>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS}, channel_sync FROM tickets \
             WHERE channel_sync IS NOT NULL AND channel_id IS NOT NULL \
             ORDER BY updated_at, id LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| {
                let (ticket, _) = ticket_from_row(r)?;
                let token = parse_uuid(&required_text(r, "channel_sync")?)?;
                Ok(ChannelSync { ticket, token })
            })
            .collect()
    }

    pub(crate) async fn channel_synced(&self, id: Uuid, token: Uuid) -> StoreResult<bool> {
        // `updated_at` stays: confirming Discord's state is not a change of the ticket.
        let done = self
            .execute(
                "UPDATE tickets SET channel_sync = NULL WHERE id = ? AND channel_sync = ?"
                    .to_owned(),
                vec![
                    Bind::Text(Some(id.to_string())),
                    Bind::Text(Some(token.to_string())),
                ],
                true,
            )
            .await?;
        Ok(done > 0)
    }

    /// Records the channel of `ticket` (being deleted in `tx`) as one to delete.
    pub(crate) async fn record_channel_deletion(
        &self,
        tx: &mut Transaction<'_, Any>,
        ticket: &Ticket,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()> {
        let Some(channel) = ticket.channel_id else {
            return Ok(());
        };
        let sql = format!(
            "{} INTO channel_deletions (channel_id, guild_id, ticket_id, requested_at) \
             VALUES (?, ?, ?, ?)",
            self.dialect.insert_ignore()
        );
        sqlx::query(&sql)
            .bind(id_to_sql(channel))
            .bind(id_to_sql(ticket.guild_id))
            .bind(ticket.id.to_string())
            .bind(time_to_sql(at))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub(crate) async fn channels_to_delete(&self, limit: u32) -> StoreResult<Vec<ChannelDeletion>> {
        let rows = sqlx::query(
            "SELECT channel_id, guild_id, ticket_id, requested_at FROM channel_deletions \
             ORDER BY requested_at, channel_id LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let ticket_id = required_text(r, "ticket_id")?;
                Ok(ChannelDeletion {
                    channel_id: id_from_sql(r.try_get("channel_id")?),
                    guild_id: id_from_sql(r.try_get("guild_id")?),
                    requested_at: time_from_sql(r.try_get("requested_at")?, &ticket_id)?,
                    ticket_id: parse_uuid(&ticket_id)?,
                })
            })
            .collect()
    }

    pub(crate) async fn channel_deleted(&self, channel_id: DiscordId) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM channel_deletions WHERE channel_id = ?".to_owned(),
                vec![Bind::Int(Some(id_to_sql(channel_id)))],
                true,
            )
            .await?;
        Ok(done > 0)
    }

    /// Every SQL write is one transaction: nothing is ever left half-done.
    pub(crate) async fn finish_interrupted(&self) -> StoreResult<u64> {
        Ok(0)
    }
}
