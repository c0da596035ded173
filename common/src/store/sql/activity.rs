//! Last message per ticket (auto-close): one row per ticket, the latest time kept by the
//! upsert, so processes writing in any order agree.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rows::*;
use super::{SqlStore, TICKET_COLUMNS};
use crate::auto_close::TicketActivity;
use crate::error::StoreResult;
use crate::store::Backend;
use crate::ticket::Ticket;

fn activity_from_row(r: &dyn Cols) -> StoreResult<TicketActivity> {
    let id = required_text(r, "ticket_id")?;
    Ok(TicketActivity {
        ticket_id: parse_uuid(&id)?,
        guild_id: id_from_sql(r.int("guild_id")?.unwrap_or(0)),
        last_message_at: time_from_sql(r.int("last_message_at")?.unwrap_or(0), &id)?,
    })
}

impl SqlStore {
    pub(crate) async fn record_activity(&self, activity: &TicketActivity) -> StoreResult<()> {
        self.import_activity(std::slice::from_ref(activity)).await
    }

    pub(crate) async fn last_activity(
        &self,
        ticket_id: Uuid,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let rows = self
            .read_all(
                "SELECT ticket_id, guild_id, last_message_at FROM ticket_activity WHERE ticket_id = ?",
                vec![Bind::Text(Some(ticket_id.to_string()))],
                activity_from_row,
            )
            .await?;
        Ok(rows.first().map(|a| a.last_message_at))
    }

    pub(crate) async fn stale_tickets(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets \
             WHERE status = 'open' AND channel_id IS NOT NULL AND created_at <= ? \
             AND NOT EXISTS (SELECT 1 FROM ticket_activity a \
                             WHERE a.ticket_id = tickets.id AND a.last_message_at > ?) \
             AND NOT EXISTS (SELECT 1 FROM close_requests c WHERE c.ticket_id = tickets.id) \
             ORDER BY created_at, id LIMIT ?"
        );
        let t = Bind::Int(Some(time_to_sql(before)));
        let binds = vec![t.clone(), t, Bind::Int(Some(i64::from(limit)))];
        self.read_all(&sql, binds, |r| ticket_from_row(r).map(|(t, _)| t))
            .await
    }

    pub(crate) async fn export_activity(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketActivity>> {
        self.page_by_ticket(
            "ticket_id, guild_id, last_message_at",
            "ticket_activity",
            after,
            limit,
            activity_from_row,
        )
        .await
    }

    pub(crate) async fn import_activity(&self, rows: &[TicketActivity]) -> StoreResult<()> {
        let keep_latest = match self.dialect.backend {
            Backend::Mysql => {
                "ON DUPLICATE KEY UPDATE \
                 last_message_at = GREATEST(last_message_at, VALUES(last_message_at))"
            }
            _ => {
                "ON CONFLICT (ticket_id) DO UPDATE SET last_message_at = excluded.last_message_at \
                 WHERE excluded.last_message_at > ticket_activity.last_message_at"
            }
        };
        let binds: Vec<Bind> = rows
            .iter()
            .flat_map(|a| {
                [
                    Bind::Text(Some(a.ticket_id.to_string())),
                    Bind::Int(Some(id_to_sql(a.guild_id))),
                    Bind::Int(Some(time_to_sql(a.last_message_at))),
                ]
            })
            .collect();
        self.insert_rows(
            "INSERT INTO ticket_activity (ticket_id, guild_id, last_message_at)",
            3,
            keep_latest,
            binds,
        )
        .await
    }
}
