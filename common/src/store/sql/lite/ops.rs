//! The hot path's statements: the same SQL and the same outcomes as the sqlx code beside them
//! (`tickets.rs`), run synchronously in the writer's transaction or on a read connection.

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{params_from_iter, Connection, Params, ToSql};
use uuid::Uuid;

use super::is_unique_violation;
use crate::error::{StoreError, StoreResult};
use crate::rules::{RuleError, Transition};
use crate::store::sql::rows::{
    event_binds, id_to_sql, ticket_binds, ticket_from_row, time_to_sql, Bind,
};
use crate::store::sql::{event_columns, ticket_columns};
use crate::store::CreateOutcome;
use crate::ticket::{DiscordId, EventKind, Ticket, TicketEvent};

impl ToSql for Bind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Bind::Int(Some(v)) => ToSqlOutput::Owned(Value::Integer(*v)),
            Bind::Text(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Bind::Int(None) | Bind::Text(None) => ToSqlOutput::Owned(Value::Null),
        })
    }
}

/// Every row `sql` selects with `params`, decoded.
pub(crate) fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    decode: impl Fn(&rusqlite::Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
}

fn tickets(conn: &Connection, sql: &str, params: impl Params) -> StoreResult<Vec<Ticket>> {
    all(conn, sql, params, |r| ticket_from_row(r).map(|(t, _)| t))
}

/// The first ticket `sql` selects, or the one an `UPDATE … RETURNING` changed.
fn one_ticket(conn: &Connection, sql: &str, params: &[&dyn ToSql]) -> StoreResult<Option<Ticket>> {
    Ok(tickets(conn, sql, params)?.into_iter().next())
}

/// The schema's version and whether a bulk load left indexes to build (see
/// `SqlStore::current_state`); an error when there is no migrations table yet.
pub(crate) fn current_state(conn: &Connection, marker: &str) -> StoreResult<(Option<i64>, bool)> {
    let (version, pending): (Option<i64>, i64) = conn.query_row(
        "SELECT (SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1), \
         (SELECT COUNT(*) FROM ticketbot_meta WHERE meta_key = ?1)",
        [marker],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok((version, pending > 0))
}

fn get_by_channel(conn: &Connection, channel: DiscordId) -> StoreResult<Option<Ticket>> {
    one_ticket(
        conn,
        concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE channel_id = ?1"
        ),
        &[&id_to_sql(channel)],
    )
}

fn insert_event(conn: &Connection, e: &TicketEvent) -> StoreResult<()> {
    conn.prepare_cached(concat!(
        "INSERT INTO ticket_events (",
        event_columns!(),
        ") VALUES (?, ?, ?, ?, ?, ?, ?)"
    ))?
    .execute(params_from_iter(event_binds(e)))?;
    Ok(())
}

/// Creates `ticket` in the creator's lowest free open slot below `max_open`; the slots are a
/// unique index, so the database decides between two clicks at once.
pub(crate) fn create(
    conn: &Connection,
    ticket: &Ticket,
    max_open: u32,
) -> StoreResult<CreateOutcome> {
    let mut insert = conn.prepare_cached(concat!(
        "INSERT INTO tickets (",
        ticket_columns!(),
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))?;
    for slot in 0..max_open.max(1) {
        match insert.execute(params_from_iter(ticket_binds(ticket, Some(slot)))) {
            Ok(_) => {
                let opened = TicketEvent::opened(ticket);
                insert_event(conn, &opened)?;
                return Ok(CreateOutcome::Created(ticket.clone()));
            }
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let open = tickets(
        conn,
        concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE guild_id = ?1 AND status = 'open' AND creator_id = ?2 \
             ORDER BY created_at DESC, id DESC LIMIT 100"
        ),
        [id_to_sql(ticket.guild_id), id_to_sql(ticket.creator_id)],
    )?;
    Ok(CreateOutcome::LimitReached { open })
}

/// The conditional write of one transition and its history entry; `None` when its condition
/// did not hold.
pub(crate) fn try_transition(
    conn: &Connection,
    id: Uuid,
    t: &Transition,
) -> StoreResult<Option<Ticket>> {
    let at = time_to_sql(t.at());
    let id_text = id.to_string();
    let updated = match t {
        Transition::Claim { by, .. } => one_ticket(
            conn,
            concat!(
                "UPDATE tickets SET claimed_by = ?1, claimed_at = ?2, updated_at = ?2 \
                 WHERE id = ?3 AND status = 'open' AND claimed_by IS NULL RETURNING ",
                ticket_columns!()
            ),
            &[&id_to_sql(*by), &at, &id_text],
        )?,
        Transition::Unclaim { by, .. } => one_ticket(
            conn,
            concat!(
                "UPDATE tickets SET claimed_by = NULL, claimed_at = NULL, updated_at = ?1 \
                 WHERE id = ?2 AND status = 'open' AND claimed_by = ?3 RETURNING ",
                ticket_columns!()
            ),
            &[&at, &id_text, &id_to_sql(*by)],
        )?,
        Transition::Close { by, reason, .. } => one_ticket(
            conn,
            concat!(
                "UPDATE tickets SET status = 'closed', closed_at = ?1, closed_by = ?2, \
                 close_reason = ?3, open_slot = NULL, channel_sync = ?4, updated_at = ?1 \
                 WHERE id = ?5 AND status = 'open' RETURNING ",
                ticket_columns!()
            ),
            &[
                &at,
                &by.map(id_to_sql),
                reason,
                &Uuid::new_v4().to_string(),
                &id_text,
            ],
        )?,
        Transition::Reopen { .. } => reopen(conn, &id_text, at)?,
    };
    let Some(ticket) = updated else {
        return Ok(None);
    };
    let event = t.event(&ticket);
    insert_event(conn, &event)?;
    Ok(Some(ticket))
}

/// The ticket's first response by `by` (not its creator), with its history entry; `false`
/// when one was recorded before (the condition decides between processes).
pub(crate) fn first_response(
    conn: &Connection,
    id: Uuid,
    by: DiscordId,
    at: chrono::DateTime<chrono::Utc>,
) -> StoreResult<bool> {
    let (by_sql, at_sql) = (id_to_sql(by), time_to_sql(at));
    let Some(ticket) = one_ticket(
        conn,
        concat!(
            "UPDATE tickets SET first_response_at = ?1, first_response_by = ?2 \
             WHERE id = ?3 AND first_response_at IS NULL AND creator_id <> ?2 RETURNING ",
            ticket_columns!()
        ),
        &[&at_sql, &by_sql, &id.to_string()],
    )?
    else {
        return Ok(false);
    };
    let event = TicketEvent::new(&ticket, EventKind::FirstResponse, Some(by), at, None);
    insert_event(conn, &event)?;
    Ok(true)
}

/// Reopen takes the lowest open-ticket slot of the creator that is free, so that a reopened
/// ticket counts against the limit again (staff may take a user over it).
fn reopen(conn: &Connection, id: &str, at: i64) -> StoreResult<Option<Ticket>> {
    let used: Option<i64> = conn
        .prepare_cached(
            "SELECT (SELECT COUNT(*) FROM tickets o WHERE o.guild_id = t.guild_id \
             AND o.creator_id = t.creator_id AND o.status = 'open') FROM tickets t WHERE t.id = ?1",
        )?
        .query_row([id], |row| row.get(0))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let Some(mut slot) = used.map(|n| n.max(0)) else {
        return Ok(None);
    };
    loop {
        let res = one_ticket(
            conn,
            concat!(
                "UPDATE tickets SET status = 'open', closed_at = NULL, closed_by = NULL, \
                 close_reason = NULL, archived_at = NULL, archive_requested_at = NULL, \
                 open_slot = ?1, channel_sync = ?2, updated_at = ?3 \
                 WHERE id = ?4 AND status = 'closed' RETURNING ",
                ticket_columns!()
            ),
            &[&slot, &Uuid::new_v4().to_string(), &at, &id],
        );
        match res {
            Err(StoreError::Sqlite(e)) if is_unique_violation(&e) => slot += 1,
            other => return other,
        }
    }
}

/// Records the ticket's channel (or forgets it); a channel is one ticket's only.
pub(crate) fn set_channel(
    conn: &Connection,
    id: Uuid,
    channel_id: Option<DiscordId>,
    now: i64,
) -> StoreResult<Ticket> {
    let res = one_ticket(
        conn,
        concat!(
            "UPDATE tickets SET channel_id = ?1, updated_at = ?2 WHERE id = ?3 RETURNING ",
            ticket_columns!()
        ),
        &[&channel_id.map(id_to_sql), &now, &id.to_string()],
    );
    match res {
        Ok(Some(ticket)) => Ok(ticket),
        Ok(None) => Err(RuleError::NotFound.into()),
        Err(StoreError::Sqlite(e)) if is_unique_violation(&e) => {
            let channel_id = channel_id.unwrap_or_default();
            let owner = get_by_channel(conn, channel_id)?;
            Err(StoreError::ChannelTaken {
                channel_id,
                ticket_id: owner.map(|t| t.id).unwrap_or_default(),
            })
        }
        Err(e) => Err(e),
    }
}
