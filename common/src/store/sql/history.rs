//! Participants, history, delete and discard, heartbeats.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::rows::*;
use super::{SqlStore, EVENT_COLUMNS};
use crate::error::StoreResult;
use crate::rules::RuleError;
use crate::store::Heartbeat;
use crate::ticket::{DiscordId, EventKind, Participant, Ticket, TicketEvent};

/// What is kept per ticket beside its row (its form, rating, close request and last-message
/// time), removed with the row when it goes for good.
pub(crate) const PER_TICKET: [&str; 4] = [
    "topic_forms",
    "feedback",
    "close_requests",
    "ticket_activity",
];

impl SqlStore {
    pub(crate) async fn record_first_response(
        &self,
        id: Uuid,
        by: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        if let Some(lite) = &self.lite {
            return lite
                .writer
                .run(move |conn| super::lite::first_response(conn, id, by, at))
                .await;
        }
        let attempt = || async {
            let mut tx = self.write_tx().await?;
            // The condition decides: of two writers, one changes the row, the other none.
            let set = sqlx::query(
                "UPDATE tickets SET first_response_at = ?, first_response_by = ? \
                 WHERE id = ? AND first_response_at IS NULL AND creator_id <> ?",
            )
            .bind(time_to_sql(at))
            .bind(id_to_sql(by))
            .bind(id.to_string())
            .bind(id_to_sql(by))
            .execute(&mut *tx)
            .await?;
            if set.rows_affected() == 0 {
                return Ok(false);
            }
            let ticket = Self::fetch_ticket(&mut *tx, id)
                .await?
                .ok_or(RuleError::NotFound)?;
            let event = TicketEvent::new(&ticket, EventKind::FirstResponse, Some(by), at, None);
            Self::insert_event(&mut tx, &event).await?;
            tx.commit().await?;
            Ok(true)
        };
        retry_transient(attempt).await
    }

    pub(crate) async fn add_participant(
        &self,
        id: Uuid,
        user_id: DiscordId,
        by: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<Participant> {
        let attempt = || async {
            let mut tx = self.write_tx().await?;
            // Inserted only while the ticket is open and the user is not its creator: the
            // database decides, in the same statement.
            let res = sqlx::query(
                "INSERT INTO ticket_participants (ticket_id, user_id, added_by, added_at) \
                 SELECT id, ?, ?, ? FROM tickets WHERE id = ? AND status = 'open' AND creator_id <> ?",
            )
            .bind(id_to_sql(user_id))
            .bind(id_to_sql(by))
            .bind(time_to_sql(at))
            .bind(id.to_string())
            .bind(id_to_sql(user_id))
            .execute(&mut *tx)
            .await;
            match res {
                Err(e) if is_unique_violation(&e) => {
                    return Err(RuleError::AlreadyParticipant(user_id).into())
                }
                Err(e) => return Err(e.into()),
                Ok(done) if done.rows_affected() == 0 => {
                    drop(tx);
                    let t = self.get(id).await?.ok_or(RuleError::NotFound)?;
                    crate::rules::check_add_participant(&t, user_id)?;
                    return Err(RuleError::Closed.into());
                }
                Ok(_) => {}
            }
            // The channel's overwrites follow the participants: marked out of date until the
            // bot confirms them (see `channels_to_sync`).
            sqlx::query("UPDATE tickets SET updated_at = ?, channel_sync = ? WHERE id = ?")
                .bind(time_to_sql(at))
                .bind(Uuid::new_v4().to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            let ticket = Self::fetch_ticket(&mut *tx, id)
                .await?
                .ok_or(RuleError::NotFound)?;
            let event = TicketEvent::new(
                &ticket,
                EventKind::ParticipantAdded,
                Some(by),
                at,
                Some(user_id.to_string()),
            );
            Self::insert_event(&mut tx, &event).await?;
            tx.commit().await?;
            Ok(Participant {
                ticket_id: id,
                user_id,
                added_by: by,
                added_at: at,
            })
        };
        retry_transient(attempt).await
    }

    pub(crate) async fn remove_participant(
        &self,
        id: Uuid,
        user_id: DiscordId,
        by: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let attempt = || async {
            let mut tx = self.write_tx().await?;
            let done =
                sqlx::query("DELETE FROM ticket_participants WHERE ticket_id = ? AND user_id = ?")
                    .bind(id.to_string())
                    .bind(id_to_sql(user_id))
                    .execute(&mut *tx)
                    .await?;
            if done.rows_affected() == 0 {
                drop(tx);
                let t = self.get(id).await?.ok_or(RuleError::NotFound)?;
                crate::rules::check_remove_participant(&t, user_id)?;
                return Err(RuleError::NotParticipant(user_id).into());
            }
            // The channel's overwrites follow the participants: marked out of date until the
            // bot confirms them (see `channels_to_sync`).
            sqlx::query("UPDATE tickets SET updated_at = ?, channel_sync = ? WHERE id = ?")
                .bind(time_to_sql(at))
                .bind(Uuid::new_v4().to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            let ticket = Self::fetch_ticket(&mut *tx, id)
                .await?
                .ok_or(RuleError::NotFound)?;
            let event = TicketEvent::new(
                &ticket,
                EventKind::ParticipantRemoved,
                Some(by),
                at,
                Some(user_id.to_string()),
            );
            Self::insert_event(&mut tx, &event).await?;
            tx.commit().await?;
            Ok(())
        };
        retry_transient(attempt).await
    }

    pub(crate) async fn participants(&self, id: Uuid) -> StoreResult<Vec<Participant>> {
        self.participants_of_range(&id, &id).await
    }

    pub(crate) async fn history(&self, id: Uuid) -> StoreResult<Vec<TicketEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM ticket_events WHERE ticket_id = ? ORDER BY at, id"
        );
        let binds = vec![Bind::Text(Some(id.to_string()))];
        let mut events = self.read_all(&sql, binds, |r| event_from_row(r)).await?;
        crate::ticket::in_logical_order(&mut events);
        Ok(events)
    }

    pub(crate) async fn delete(
        &self,
        id: Uuid,
        by: Option<DiscordId>,
        at: DateTime<Utc>,
    ) -> StoreResult<Ticket> {
        let attempt = || async {
            let mut tx = self.write_tx().await?;
            // Take the row's write lock first, so the audit entry shows its final state.
            let locked = sqlx::query("UPDATE tickets SET updated_at = updated_at WHERE id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            if locked.rows_affected() == 0 {
                return Err(RuleError::NotFound.into());
            }
            let ticket = Self::fetch_ticket(&mut *tx, id)
                .await?
                .ok_or(RuleError::NotFound)?;
            for table in ["ticket_participants"].iter().chain(&PER_TICKET) {
                sqlx::query(&format!("DELETE FROM {table} WHERE ticket_id = ?"))
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM tickets WHERE id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            let details = serde_json::to_string(&ticket).ok();
            let event = TicketEvent::new(&ticket, EventKind::Deleted, by, at, details);
            Self::insert_event(&mut tx, &event).await?;
            self.record_channel_deletion(&mut tx, &ticket, at).await?;
            tx.commit().await?;
            Ok(ticket)
        };
        retry_transient(attempt).await
    }

    pub(crate) async fn discard(&self, id: Uuid) -> StoreResult<bool> {
        let attempt = || async {
            let mut tx = self.write_tx().await?;
            let mut removed = 0;
            for table in ["ticket_participants", "ticket_events"]
                .iter()
                .chain(&PER_TICKET)
            {
                sqlx::query(&format!("DELETE FROM {table} WHERE ticket_id = ?"))
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            removed += sqlx::query("DELETE FROM tickets WHERE id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(removed > 0)
        };
        retry_transient(attempt).await
    }

    pub(crate) async fn heartbeat(&self, beat: &Heartbeat) -> StoreResult<()> {
        let columns = ["instance_id", "details", "started_at", "seen_at"];
        let sql = format!(
            "INSERT INTO bot_heartbeats ({}) VALUES {}{}",
            columns.join(", "),
            placeholders(1, 4),
            self.dialect.upsert("instance_id", &columns)
        );
        let binds = vec![
            Bind::Text(Some(beat.instance_id.clone())),
            Bind::Text(Some(beat.details.clone())),
            Bind::Int(Some(time_to_sql(beat.started_at))),
            Bind::Int(Some(time_to_sql(beat.seen_at))),
        ];
        self.execute(sql, binds, true).await.map(drop)
    }

    pub(crate) async fn heartbeats_since(
        &self,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<Heartbeat>> {
        let rows = sqlx::query(
            "SELECT instance_id, details, started_at, seen_at FROM bot_heartbeats \
             WHERE seen_at >= ? ORDER BY instance_id",
        )
        .bind(time_to_sql(since))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let instance_id = required_text(r, "instance_id")?;
                Ok(Heartbeat {
                    details: required_text(r, "details")?,
                    started_at: time_from_sql(r.try_get("started_at")?, &instance_id)?,
                    seen_at: time_from_sql(r.try_get("seen_at")?, &instance_id)?,
                    instance_id,
                })
            })
            .collect()
    }

    pub(crate) async fn remove_heartbeat(&self, instance_id: &str) -> StoreResult<()> {
        self.execute(
            "DELETE FROM bot_heartbeats WHERE instance_id = ?".to_owned(),
            vec![Bind::Text(Some(instance_id.to_owned()))],
            true,
        )
        .await
        .map(drop)
    }
}
