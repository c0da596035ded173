//! Values and rows: how ids, times and texts are stored, row decoding, error kinds and the
//! retry of lock contention.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::ticket::{DiscordId, EventKind, Participant, Ticket, TicketEvent, TicketStatus};

/// Snowflakes are u64; SQL has signed 64-bit integers. The cast is a bijection.
pub(crate) fn id_to_sql(id: DiscordId) -> i64 {
    id as i64
}

pub(crate) fn id_from_sql(v: i64) -> DiscordId {
    v as u64
}

pub(crate) fn time_to_sql(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn time_from_sql(v: i64, id: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(v)
        .ok_or_else(|| StoreError::corrupt(id, format!("timestamp {v} out of range")))
}

/// A bind value of a dynamically built query.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Int(Option<i64>),
    Text(Option<String>),
}

/// The binds of a page of rows keyed by ticket id (`WHERE ticket_id > ? … LIMIT ?`): after
/// `after`, or from the first (every id is greater than the empty text).
pub(crate) fn page_binds(after: Option<uuid::Uuid>, limit: u32) -> Vec<Bind> {
    vec![
        Bind::Text(Some(after.map(|a| a.to_string()).unwrap_or_default())),
        Bind::Int(Some(i64::from(limit))),
    ]
}

pub(crate) fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    binds: Vec<Bind>,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Int(v) => q.bind(v),
            Bind::Text(v) => q.bind(v),
        };
    }
    q
}

pub(crate) fn ticket_binds(t: &Ticket, open_slot: Option<u32>) -> Vec<Bind> {
    vec![
        Bind::Text(Some(t.id.to_string())),
        Bind::Int(Some(id_to_sql(t.guild_id))),
        Bind::Int(t.channel_id.map(id_to_sql)),
        Bind::Int(Some(id_to_sql(t.creator_id))),
        Bind::Text(Some(t.status.as_str().to_owned())),
        Bind::Int(Some(time_to_sql(t.created_at))),
        Bind::Int(t.closed_at.map(time_to_sql)),
        Bind::Int(t.closed_by.map(id_to_sql)),
        Bind::Text(t.close_reason.clone()),
        Bind::Int(t.claimed_by.map(id_to_sql)),
        Bind::Int(t.claimed_at.map(time_to_sql)),
        Bind::Int(Some(time_to_sql(t.updated_at))),
        Bind::Int(open_slot.map(i64::from)),
        Bind::Int(t.archived_at.map(time_to_sql)),
        Bind::Int(t.archive_requested_at.map(time_to_sql)),
        Bind::Int(t.first_response_at.map(time_to_sql)),
        Bind::Int(t.first_response_by.map(id_to_sql)),
    ]
}

pub(crate) fn event_binds(e: &TicketEvent) -> Vec<Bind> {
    vec![
        Bind::Text(Some(e.id.to_string())),
        Bind::Text(Some(e.ticket_id.to_string())),
        Bind::Int(Some(id_to_sql(e.guild_id))),
        Bind::Text(Some(e.kind.as_str().to_owned())),
        Bind::Int(e.actor_id.map(id_to_sql)),
        Bind::Int(Some(time_to_sql(e.at))),
        Bind::Text(e.details.clone()),
    ]
}

/// A multi-row statement of `rows` rows, prepared again each time unless it is a full chunk of
/// `full` rows. Each remainder's size is another statement text, and the connection's cache
/// of prepared statements (100) kept each one: a takeover of 1,000,000 tickets grew by ~40 MB
/// of programs for INSERTs of 1,000 rows that never ran again.
pub(crate) fn bulk_query(
    sql: &str,
    rows: usize,
    full: usize,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    sqlx::query(sql).persistent(rows == full)
}

/// `(?, ?, ...), (?, ?, ...)`: `rows` groups of `cols` placeholders.
pub(crate) fn placeholders(rows: usize, cols: usize) -> String {
    let one = format!("({})", vec!["?"; cols].join(", "));
    vec![one; rows].join(", ")
}

/// A row's columns by name: sqlx's rows and rusqlite's (SQLite's hot path, see `lite`), so that
/// one decoder serves both. Every stored value is an integer or a text.
pub(crate) trait Cols {
    fn int(&self, col: &str) -> StoreResult<Option<i64>>;
    fn text(&self, col: &str) -> StoreResult<Option<String>>;
}

impl Cols for AnyRow {
    fn int(&self, col: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get::<Option<i64>, _>(col)?)
    }

    /// MySQL reports TEXT as a blob type, which `Any` hands over as bytes.
    fn text(&self, col: &str) -> StoreResult<Option<String>> {
        match self.try_get::<Option<String>, _>(col) {
            Ok(v) => Ok(v),
            Err(_) => match self.try_get::<Option<Vec<u8>>, _>(col)? {
                None => Ok(None),
                Some(bytes) => String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|e| StoreError::corrupt(col, e)),
            },
        }
    }
}

impl Cols for rusqlite::Row<'_> {
    fn int(&self, col: &str) -> StoreResult<Option<i64>> {
        Ok(self.get::<_, Option<i64>>(col)?)
    }

    fn text(&self, col: &str) -> StoreResult<Option<String>> {
        Ok(self.get::<_, Option<String>>(col)?)
    }
}

pub(crate) fn text<R: Cols + ?Sized>(row: &R, col: &str) -> StoreResult<Option<String>> {
    row.text(col)
}

fn required_int<R: Cols + ?Sized>(row: &R, col: &str) -> StoreResult<i64> {
    row.int(col)?
        .ok_or_else(|| StoreError::corrupt(col, "NULL in a NOT NULL column"))
}

pub(crate) fn required_text<R: Cols + ?Sized>(row: &R, col: &str) -> StoreResult<String> {
    text(row, col)?.ok_or_else(|| StoreError::corrupt(col, "NULL in a NOT NULL column"))
}

pub(crate) fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::corrupt(s, e))
}

/// An optional snowflake. `0` is no snowflake (Discord never issues it); rows written by other
/// tools use it for "none", and serenity panics on it, so it reads as `None`.
pub(crate) fn opt_id<R: Cols + ?Sized>(row: &R, col: &str) -> StoreResult<Option<DiscordId>> {
    Ok(row.int(col)?.filter(|&v| v != 0).map(id_from_sql))
}

pub(crate) fn opt_time<R: Cols + ?Sized>(
    row: &R,
    col: &str,
    id: &str,
) -> StoreResult<Option<DateTime<Utc>>> {
    row.int(col)?.map(|v| time_from_sql(v, id)).transpose()
}

pub(crate) fn ticket_from_row<R: Cols + ?Sized>(row: &R) -> StoreResult<(Ticket, Option<u32>)> {
    let id_text = required_text(row, "id")?;
    let id = parse_uuid(&id_text)?;
    let status = required_text(row, "status")?
        .parse::<TicketStatus>()
        .map_err(|e| StoreError::corrupt(&id_text, e))?;
    let ticket = Ticket {
        id,
        guild_id: id_from_sql(required_int(row, "guild_id")?),
        channel_id: opt_id(row, "channel_id")?,
        creator_id: id_from_sql(required_int(row, "creator_id")?),
        status,
        created_at: time_from_sql(required_int(row, "created_at")?, &id_text)?,
        closed_at: opt_time(row, "closed_at", &id_text)?,
        closed_by: opt_id(row, "closed_by")?,
        close_reason: text(row, "close_reason")?,
        claimed_by: opt_id(row, "claimed_by")?,
        claimed_at: opt_time(row, "claimed_at", &id_text)?,
        updated_at: time_from_sql(required_int(row, "updated_at")?, &id_text)?,
        archived_at: opt_time(row, "archived_at", &id_text)?,
        archive_requested_at: opt_time(row, "archive_requested_at", &id_text)?,
        first_response_at: opt_time(row, "first_response_at", &id_text)?,
        first_response_by: opt_id(row, "first_response_by")?,
    };
    let slot = row
        .int("open_slot")?
        .map(|s| u32::try_from(s).map_err(|e| StoreError::corrupt(&id_text, e)))
        .transpose()?;
    Ok((ticket, slot))
}

pub(crate) fn event_from_row<R: Cols + ?Sized>(row: &R) -> StoreResult<TicketEvent> {
    let id_text = required_text(row, "id")?;
    Ok(TicketEvent {
        id: parse_uuid(&id_text)?,
        ticket_id: parse_uuid(&required_text(row, "ticket_id")?)?,
        guild_id: id_from_sql(required_int(row, "guild_id")?),
        kind: required_text(row, "kind")?
            .parse::<EventKind>()
            .map_err(|e| StoreError::corrupt(&id_text, e))?,
        actor_id: opt_id(row, "actor_id")?,
        at: time_from_sql(required_int(row, "at")?, &id_text)?,
        details: text(row, "details")?,
    })
}

pub(crate) fn participant_from_row<R: Cols + ?Sized>(row: &R) -> StoreResult<Participant> {
    let ticket = required_text(row, "ticket_id")?;
    Ok(Participant {
        ticket_id: parse_uuid(&ticket)?,
        user_id: id_from_sql(required_int(row, "user_id")?),
        added_by: id_from_sql(required_int(row, "added_by")?),
        added_at: time_from_sql(required_int(row, "added_at")?, &ticket)?,
    })
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Lock contention that a retry resolves: SQLite busy/locked, InnoDB deadlock or lock wait.
pub(crate) fn is_transient(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(d) = e else {
        return false;
    };
    let code = d.code().unwrap_or_default();
    matches!(code.as_ref(), "5" | "6" | "261" | "517" | "40001" | "HY000")
        && (d.message().contains("locked")
            || d.message().contains("busy")
            || d.message().contains("Deadlock")
            || d.message().contains("Lock wait"))
}

/// Runs `op` again while it fails with lock contention (a bounded number of times).
pub(crate) async fn retry_transient<T, F, Fut>(mut op: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StoreResult<T>>,
{
    let mut delay = Duration::from_millis(5);
    for _ in 0..20 {
        match op().await {
            Err(StoreError::Sql(e)) if is_transient(&e) => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(500));
            }
            other => return other,
        }
    }
    op().await
}
