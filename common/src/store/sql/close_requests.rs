//! Close requests: one row per ticket. A request is settled by a conditional update on what
//! the caller saw (id, state, due time), so of several processes one wins.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rows::*;
use super::SqlStore;
use crate::close_request::{CloseRequest, CloseRequestState};
use crate::error::{StoreError, StoreResult};
use crate::store::Backend;
use crate::ticket::DiscordId;

const COLUMNS: &str =
    "ticket_id, id, guild_id, requested_by, reason, requested_at, deadline, state, due_at";

fn request_from_row(r: &dyn Cols) -> StoreResult<CloseRequest> {
    let id = required_text(r, "id")?;
    let time = |col: &str| time_from_sql(r.int(col)?.unwrap_or(0), &id);
    Ok(CloseRequest {
        id: parse_uuid(&id)?,
        ticket_id: parse_uuid(&required_text(r, "ticket_id")?)?,
        guild_id: id_from_sql(r.int("guild_id")?.unwrap_or(0)),
        requested_by: id_from_sql(r.int("requested_by")?.unwrap_or(0)),
        reason: text(r, "reason")?,
        requested_at: time("requested_at")?,
        deadline: time("deadline")?,
        state: required_text(r, "state")?
            .parse()
            .map_err(|e| StoreError::corrupt(&id, e))?,
        due_at: time("due_at")?,
    })
}

fn request_binds(r: &CloseRequest) -> [Bind; 9] {
    [
        Bind::Text(Some(r.ticket_id.to_string())),
        Bind::Text(Some(r.id.to_string())),
        Bind::Int(Some(id_to_sql(r.guild_id))),
        Bind::Int(Some(id_to_sql(r.requested_by))),
        Bind::Text(r.reason.clone()),
        Bind::Int(Some(time_to_sql(r.requested_at))),
        Bind::Int(Some(time_to_sql(r.deadline))),
        Bind::Text(Some(r.state.as_str().to_owned())),
        Bind::Int(Some(time_to_sql(r.due_at))),
    ]
}

impl SqlStore {
    /// `ON CONFLICT` / `ON DUPLICATE KEY`: a ticket's request replaced whole.
    fn replace_request(&self) -> &'static str {
        match self.dialect.backend {
            Backend::Mysql => {
                "ON DUPLICATE KEY UPDATE id = VALUES(id), guild_id = VALUES(guild_id), \
                 requested_by = VALUES(requested_by), reason = VALUES(reason), \
                 requested_at = VALUES(requested_at), deadline = VALUES(deadline), \
                 state = VALUES(state), due_at = VALUES(due_at)"
            }
            _ => {
                "ON CONFLICT (ticket_id) DO UPDATE SET id = excluded.id, \
                 guild_id = excluded.guild_id, requested_by = excluded.requested_by, \
                 reason = excluded.reason, requested_at = excluded.requested_at, \
                 deadline = excluded.deadline, state = excluded.state, due_at = excluded.due_at"
            }
        }
    }

    pub(crate) async fn put_close_request(&self, request: &CloseRequest) -> StoreResult<()> {
        self.import_close_requests(std::slice::from_ref(request))
            .await
    }

    pub(crate) async fn add_close_request(&self, request: &CloseRequest) -> StoreResult<bool> {
        let insert = match self.dialect.backend {
            Backend::Mysql => "INSERT IGNORE INTO",
            _ => "INSERT OR IGNORE INTO",
        };
        let sql = format!(
            "{insert} close_requests ({COLUMNS}) VALUES {}",
            placeholders(1, 9)
        );
        let added = self
            .execute(sql, request_binds(request).to_vec(), true)
            .await?;
        Ok(added == 1)
    }

    pub(crate) async fn cancel_close_request(
        &self,
        ticket_id: Uuid,
        requested_by: DiscordId,
    ) -> StoreResult<bool> {
        let gone = self
            .execute(
                "DELETE FROM close_requests \
                 WHERE ticket_id = ? AND requested_by = ? AND state = 'pending'"
                    .to_owned(),
                vec![
                    Bind::Text(Some(ticket_id.to_string())),
                    Bind::Int(Some(id_to_sql(requested_by))),
                ],
                true,
            )
            .await?;
        Ok(gone > 0)
    }

    pub(crate) async fn close_request(&self, ticket_id: Uuid) -> StoreResult<Option<CloseRequest>> {
        let sql = format!("SELECT {COLUMNS} FROM close_requests WHERE ticket_id = ?");
        let rows = self
            .read_all(
                &sql,
                vec![Bind::Text(Some(ticket_id.to_string()))],
                request_from_row,
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    pub(crate) async fn settle_close_request(
        &self,
        seen: &CloseRequest,
        state: CloseRequestState,
        due_at: DateTime<Utc>,
    ) -> StoreResult<Option<CloseRequest>> {
        let changed = self
            .execute(
                "UPDATE close_requests SET state = ?, due_at = ? \
                 WHERE id = ? AND state = ? AND due_at = ?"
                    .to_owned(),
                vec![
                    Bind::Text(Some(state.as_str().to_owned())),
                    Bind::Int(Some(time_to_sql(due_at))),
                    Bind::Text(Some(seen.id.to_string())),
                    Bind::Text(Some(seen.state.as_str().to_owned())),
                    Bind::Int(Some(time_to_sql(seen.due_at))),
                ],
                true,
            )
            .await?;
        // The row matched what was seen, and only state and due time change.
        Ok((changed == 1).then(|| CloseRequest {
            state,
            due_at,
            ..seen.clone()
        }))
    }

    pub(crate) async fn due_close_requests(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<CloseRequest>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM close_requests WHERE due_at <= ? ORDER BY due_at, id LIMIT ?"
        );
        self.read_all(
            &sql,
            vec![
                Bind::Int(Some(time_to_sql(now))),
                Bind::Int(Some(i64::from(limit))),
            ],
            request_from_row,
        )
        .await
    }

    pub(crate) async fn remove_close_request(&self, id: Uuid) -> StoreResult<bool> {
        let gone = self
            .execute(
                "DELETE FROM close_requests WHERE id = ?".to_owned(),
                vec![Bind::Text(Some(id.to_string()))],
                true,
            )
            .await?;
        Ok(gone > 0)
    }

    pub(crate) async fn export_close_requests(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<CloseRequest>> {
        self.page_by_ticket(COLUMNS, "close_requests", after, limit, request_from_row)
            .await
    }

    pub(crate) async fn import_close_requests(&self, rows: &[CloseRequest]) -> StoreResult<()> {
        let binds: Vec<Bind> = rows.iter().flat_map(request_binds).collect();
        self.insert_rows(
            &format!("INSERT INTO close_requests ({COLUMNS})"),
            9,
            self.replace_request(),
            binds,
        )
        .await
    }
}
