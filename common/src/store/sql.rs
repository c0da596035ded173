//! The SQL backend: SQLite and MySQL/MariaDB through sqlx's `Any` driver, so that one body of
//! code serves both. Every value is stored as an integer or text (ids as the two's complement of
//! the snowflake, times as microseconds since 1970), which is what `Any` carries exactly on both.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::pool::PoolOptions;
use sqlx::{Any, AnyPool, Executor, Row, Transaction};
use uuid::Uuid;

use super::{
    explain_refusal, legacy, Backend, ClaimFilter, CreateOutcome, Cursor, Heartbeat, Page,
    RecordCounts, StatusCounts, TicketFilter, TicketRecord, TicketStore, RACE_RETRIES,
};
use crate::config::{DbConfig, MysqlConfig};
use crate::error::{StoreError, StoreResult};
use crate::rules::{RuleError, Transition};
use crate::stats::{
    day_from_number, sort_staff, tally, DayCount, DurationSummary, TicketStats, MICROS_PER_DAY,
};
use crate::ticket::{DiscordId, EventKind, Participant, Ticket, TicketEvent, TicketStatus};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static MYSQL_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/mysql");

const TICKET_COLUMNS: &str = "id, guild_id, channel_id, creator_id, status, created_at, \
     closed_at, closed_by, close_reason, claimed_by, claimed_at, updated_at, open_slot";
const EVENT_COLUMNS: &str = "id, ticket_id, guild_id, kind, actor_id, at, details";

/// The few places where the two SQL dialects differ.
#[derive(Debug, Clone, Copy)]
struct Dialect {
    backend: Backend,
}

impl Dialect {
    fn insert_ignore(self) -> &'static str {
        match self.backend {
            Backend::Mysql => "INSERT IGNORE",
            _ => "INSERT OR IGNORE",
        }
    }

    /// The clause that turns an insert into an upsert of `columns` on the primary key `key`.
    fn upsert(self, key: &str, columns: &[&str]) -> String {
        let sets = |f: &dyn Fn(&str) -> String| {
            columns
                .iter()
                .filter(|c| **c != key)
                .map(|c| f(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.backend {
            Backend::Mysql => {
                format!(
                    " ON DUPLICATE KEY UPDATE {}",
                    sets(&|c| format!("{c} = VALUES({c})"))
                )
            }
            _ => format!(
                " ON CONFLICT ({key}) DO UPDATE SET {}",
                sets(&|c| format!("{c} = excluded.{c}"))
            ),
        }
    }
}

/// A ticket store on SQLite or MySQL.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
}

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
enum Bind {
    Int(Option<i64>),
    Text(Option<String>),
}

fn bind_all<'q>(
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

fn ticket_binds(t: &Ticket, open_slot: Option<u32>) -> Vec<Bind> {
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
    ]
}

fn event_binds(e: &TicketEvent) -> Vec<Bind> {
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

/// `(?, ?, ...), (?, ?, ...)`: `rows` groups of `cols` placeholders.
fn placeholders(rows: usize, cols: usize) -> String {
    let one = format!("({})", vec!["?"; cols].join(", "));
    vec![one; rows].join(", ")
}

/// Text columns: MySQL reports TEXT as a blob type, which `Any` hands over as bytes.
fn text(row: &AnyRow, col: &str) -> StoreResult<Option<String>> {
    match row.try_get::<Option<String>, _>(col) {
        Ok(v) => Ok(v),
        Err(_) => match row.try_get::<Option<Vec<u8>>, _>(col)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|e| StoreError::corrupt(col, e)),
        },
    }
}

fn required_text(row: &AnyRow, col: &str) -> StoreResult<String> {
    text(row, col)?.ok_or_else(|| StoreError::corrupt(col, "NULL in a NOT NULL column"))
}

fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::corrupt(s, e))
}

fn opt_id(row: &AnyRow, col: &str) -> StoreResult<Option<DiscordId>> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(id_from_sql))
}

fn opt_time(row: &AnyRow, col: &str, id: &str) -> StoreResult<Option<DateTime<Utc>>> {
    row.try_get::<Option<i64>, _>(col)?
        .map(|v| time_from_sql(v, id))
        .transpose()
}

fn ticket_from_row(row: &AnyRow) -> StoreResult<(Ticket, Option<u32>)> {
    let id_text = required_text(row, "id")?;
    let id = parse_uuid(&id_text)?;
    let status = required_text(row, "status")?
        .parse::<TicketStatus>()
        .map_err(|e| StoreError::corrupt(&id_text, e))?;
    let ticket = Ticket {
        id,
        guild_id: id_from_sql(row.try_get("guild_id")?),
        channel_id: opt_id(row, "channel_id")?,
        creator_id: id_from_sql(row.try_get("creator_id")?),
        status,
        created_at: time_from_sql(row.try_get("created_at")?, &id_text)?,
        closed_at: opt_time(row, "closed_at", &id_text)?,
        closed_by: opt_id(row, "closed_by")?,
        close_reason: text(row, "close_reason")?,
        claimed_by: opt_id(row, "claimed_by")?,
        claimed_at: opt_time(row, "claimed_at", &id_text)?,
        updated_at: time_from_sql(row.try_get("updated_at")?, &id_text)?,
    };
    let slot = row
        .try_get::<Option<i64>, _>("open_slot")?
        .map(|s| u32::try_from(s).map_err(|e| StoreError::corrupt(&id_text, e)))
        .transpose()?;
    Ok((ticket, slot))
}

fn event_from_row(row: &AnyRow) -> StoreResult<TicketEvent> {
    let id_text = required_text(row, "id")?;
    Ok(TicketEvent {
        id: parse_uuid(&id_text)?,
        ticket_id: parse_uuid(&required_text(row, "ticket_id")?)?,
        guild_id: id_from_sql(row.try_get("guild_id")?),
        kind: required_text(row, "kind")?
            .parse::<EventKind>()
            .map_err(|e| StoreError::corrupt(&id_text, e))?,
        actor_id: opt_id(row, "actor_id")?,
        at: time_from_sql(row.try_get("at")?, &id_text)?,
        details: text(row, "details")?,
    })
}

fn participant_from_row(row: &AnyRow) -> StoreResult<Participant> {
    let ticket = required_text(row, "ticket_id")?;
    Ok(Participant {
        ticket_id: parse_uuid(&ticket)?,
        user_id: id_from_sql(row.try_get("user_id")?),
        added_by: id_from_sql(row.try_get("added_by")?),
        added_at: time_from_sql(row.try_get("added_at")?, &ticket)?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Lock contention that a retry resolves: SQLite busy/locked, InnoDB deadlock or lock wait.
fn is_transient(e: &sqlx::Error) -> bool {
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
async fn retry_transient<T, F, Fut>(mut op: F) -> StoreResult<T>
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

fn connect_error(config: &DbConfig, e: impl Into<crate::error::BoxError>) -> StoreError {
    StoreError::Connect {
        target: config.target(),
        source: e.into(),
    }
}

/// `mysql://` URL for sqlx, user and password percent-encoded (never printed).
fn mysql_url(m: &MysqlConfig, with_db: bool) -> String {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let auth = if m.password.is_empty() {
        enc(&m.user)
    } else {
        format!("{}:{}", enc(&m.user), enc(m.password.expose()))
    };
    let db = if with_db {
        enc(&m.database)
    } else {
        String::new()
    };
    format!("mysql://{auth}@{}:{}/{db}", m.host, m.port)
}

impl SqlStore {
    /// Connects, creating the database (MySQL) or file (SQLite) when missing, and brings the
    /// schema up to date, taking over a Python-bot database in place.
    pub async fn connect(config: &DbConfig) -> StoreResult<SqlStore> {
        sqlx::any::install_default_drivers();
        let (pool, dialect) = match config {
            DbConfig::Sqlite { path } => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true);
                // sqlx encodes the path (and `mode=rwc`) into the URL the Any driver takes.
                let url = sqlx::ConnectOptions::to_url_lossy(&opts).to_string();
                let pool = pool_options(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets readers run beside the writer; the busy timeout makes
                            // writers queue instead of failing.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON; \
                                 PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY; \
                                 PRAGMA mmap_size = 268435456; \
                                 PRAGMA journal_size_limit = 67108864;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(|e| connect_error(config, e))?;
                (
                    pool,
                    Dialect {
                        backend: Backend::Sqlite,
                    },
                )
            }
            DbConfig::Mysql(m) => {
                let mut server =
                    <sqlx::AnyConnection as sqlx::Connection>::connect(&mysql_url(m, false))
                        .await
                        .map_err(|e| connect_error(config, e))?;
                let create = format!(
                    "CREATE DATABASE IF NOT EXISTS `{}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                    m.database.replace('`', "``")
                );
                server
                    .execute(create.as_str())
                    .await
                    .map_err(|e| connect_error(config, e))?;
                sqlx::Connection::close(server).await.ok();
                let pool = pool_options(16)
                    .connect(&mysql_url(m, true))
                    .await
                    .map_err(|e| connect_error(config, e))?;
                (
                    pool,
                    Dialect {
                        backend: Backend::Mysql,
                    },
                )
            }
            DbConfig::Mongo(_) => {
                return Err(StoreError::Migrate(
                    "the SQL store was given a MongoDB configuration".into(),
                ))
            }
        };
        let store = SqlStore { pool, dialect };
        store.upgrade().await?;
        Ok(store)
    }

    /// Whether the MySQL database exists (SQLite: whether the file does).
    pub(crate) async fn database_exists(config: &DbConfig) -> StoreResult<bool> {
        let m = match config {
            DbConfig::Mysql(m) => m,
            DbConfig::Sqlite { path } => return Ok(path.exists()),
            DbConfig::Mongo(_) => return Ok(false),
        };
        sqlx::any::install_default_drivers();
        let mut server = <sqlx::AnyConnection as sqlx::Connection>::connect(&mysql_url(m, false))
            .await
            .map_err(|e| connect_error(config, e))?;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?",
        )
        .bind(m.database.clone())
        .fetch_one(&mut server)
        .await?;
        sqlx::Connection::close(server).await.ok();
        Ok(n > 0)
    }

    /// Takes over a Python-bot table, applies migrations, and imports what was taken over.
    async fn upgrade(&self) -> StoreResult<()> {
        // Every step is idempotent. MySQL serialises processes with a named lock; SQLite has no
        // such lock, so a process that lost a race with another's first start simply runs the
        // upgrade again (it then finds the work done).
        let mut attempt = 0;
        loop {
            match self.upgrade_once().await {
                Err(e) if self.dialect.backend == Backend::Sqlite && attempt < 10 => {
                    attempt += 1;
                    tracing::debug!("schema upgrade raced another process ({e}); again");
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn upgrade_once(&self) -> StoreResult<()> {
        let lock = self.schema_lock().await?;
        let result = async {
            legacy::sql_set_aside(&self.pool, self.dialect.backend).await?;
            let migrator = match self.dialect.backend {
                Backend::Mysql => &MYSQL_MIGRATIONS,
                _ => &SQLITE_MIGRATIONS,
            };
            migrator
                .run(&self.pool)
                .await
                .map_err(|e| StoreError::Migrate(e.to_string()))?;
            legacy::sql_import(self).await
        }
        .await;
        if let Some(mut conn) = lock {
            conn.execute("SELECT RELEASE_LOCK(CONCAT('ticketbot_schema_', DATABASE()))")
                .await
                .ok();
        }
        result
    }

    /// On MySQL, a named lock so that bot processes starting together upgrade one at a time.
    async fn schema_lock(&self) -> StoreResult<Option<sqlx::pool::PoolConnection<Any>>> {
        if self.dialect.backend != Backend::Mysql {
            return Ok(None);
        }
        let mut conn = self.pool.acquire().await?;
        // One lock per database: bots on other databases of the server start undisturbed.
        let got: Option<i64> =
            sqlx::query_scalar("SELECT GET_LOCK(CONCAT('ticketbot_schema_', DATABASE()), 120)")
                .fetch_one(&mut *conn)
                .await?;
        if got != Some(1) {
            return Err(StoreError::Migrate(
                "another process held the schema lock for 2 minutes".into(),
            ));
        }
        Ok(Some(conn))
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) fn backend_kind(&self) -> Backend {
        self.dialect.backend
    }

    pub(crate) async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT meta_value FROM ticketbot_meta WHERE meta_key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| required_text(&r, "meta_value")).transpose()
    }

    pub(crate) async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO ticketbot_meta (meta_key, meta_value) VALUES (?, ?){}",
            self.dialect.upsert("meta_key", &["meta_key", "meta_value"])
        );
        sqlx::query(&sql)
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn fetch_ticket<'e, E>(executor: E, id: Uuid) -> StoreResult<Option<Ticket>>
    where
        E: Executor<'e, Database = Any>,
    {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(executor)
            .await?;
        row.map(|r| ticket_from_row(&r).map(|(t, _)| t)).transpose()
    }

    async fn insert_event(tx: &mut Transaction<'_, Any>, e: &TicketEvent) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO ticket_events ({EVENT_COLUMNS}) VALUES {}",
            placeholders(1, 7)
        );
        bind_all(sqlx::query(&sql), event_binds(e))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// One attempt at creating a ticket in slot `slot`; `None` when the slot is taken.
    async fn try_create(&self, ticket: &Ticket, slot: u32) -> StoreResult<Option<Ticket>> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "INSERT INTO tickets ({TICKET_COLUMNS}) VALUES {}",
            placeholders(1, 13)
        );
        match bind_all(sqlx::query(&sql), ticket_binds(ticket, Some(slot)))
            .execute(&mut *tx)
            .await
        {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let opened = TicketEvent::new(
            ticket,
            EventKind::Opened,
            Some(ticket.creator_id),
            ticket.created_at,
            None,
        );
        Self::insert_event(&mut tx, &opened).await?;
        tx.commit().await?;
        Ok(Some(ticket.clone()))
    }

    async fn open_tickets_of(
        &self,
        guild_id: DiscordId,
        creator_id: DiscordId,
    ) -> StoreResult<Vec<Ticket>> {
        let filter = TicketFilter {
            guild_id: Some(guild_id),
            creator_id: Some(creator_id),
            status: Some(TicketStatus::Open),
            ..TicketFilter::default()
        };
        Ok(self.list(&filter, 100, None).await?.tickets)
    }

    /// The conditional write of one transition; `None` when its condition did not hold.
    async fn try_transition(&self, id: Uuid, t: &Transition) -> StoreResult<Option<Ticket>> {
        let at = time_to_sql(t.at());
        let (set, cond, binds): (&str, &str, Vec<Bind>) = match t {
            Transition::Claim { by, .. } => (
                "claimed_by = ?, claimed_at = ?",
                "status = 'open' AND claimed_by IS NULL",
                vec![Bind::Int(Some(id_to_sql(*by))), Bind::Int(Some(at))],
            ),
            Transition::Unclaim { by, .. } => (
                "claimed_by = NULL, claimed_at = NULL",
                "status = 'open' AND claimed_by = ?",
                vec![Bind::Int(Some(id_to_sql(*by)))],
            ),
            Transition::Close { by, reason, .. } => (
                "status = 'closed', closed_at = ?, closed_by = ?, close_reason = ?, open_slot = NULL",
                "status = 'open'",
                vec![
                    Bind::Int(Some(at)),
                    Bind::Int(by.map(id_to_sql)),
                    Bind::Text(reason.clone()),
                ],
            ),
            Transition::Reopen { .. } => return self.try_reopen(id, t).await,
        };
        let mut tx = self.pool.begin().await?;
        let sql = format!("UPDATE tickets SET {set}, updated_at = ? WHERE id = ? AND {cond}");
        let mut all = Vec::new();
        let (set_binds, cond_binds) = match t {
            Transition::Unclaim { .. } => (Vec::new(), binds),
            _ => (binds, Vec::new()),
        };
        all.extend(set_binds);
        all.push(Bind::Int(Some(at)));
        all.push(Bind::Text(Some(id.to_string())));
        all.extend(cond_binds);
        let done = bind_all(sqlx::query(&sql), all).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.finish_transition(tx, id, t).await.map(Some)
    }

    /// Reopen takes the lowest open-ticket slot of the creator that is free, so that a reopened
    /// ticket counts against the limit again (staff may take a user over it).
    async fn try_reopen(&self, id: Uuid, t: &Transition) -> StoreResult<Option<Ticket>> {
        let Some(current) = Self::fetch_ticket(&self.pool, id).await? else {
            return Ok(None);
        };
        let used: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tickets WHERE guild_id = ? AND creator_id = ? AND status = 'open'",
        )
        .bind(id_to_sql(current.guild_id))
        .bind(id_to_sql(current.creator_id))
        .fetch_one(&self.pool)
        .await?;
        let mut slot = used.max(0);
        loop {
            let mut tx = self.pool.begin().await?;
            let res = sqlx::query(
                "UPDATE tickets SET status = 'open', closed_at = NULL, closed_by = NULL, \
                 close_reason = NULL, open_slot = ?, updated_at = ? WHERE id = ? AND status = 'closed'",
            )
            .bind(slot)
            .bind(time_to_sql(t.at()))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await;
            match res {
                Ok(done) if done.rows_affected() == 0 => return Ok(None),
                Ok(_) => return self.finish_transition(tx, id, t).await.map(Some),
                Err(e) if is_unique_violation(&e) => slot += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn finish_transition(
        &self,
        mut tx: Transaction<'_, Any>,
        id: Uuid,
        t: &Transition,
    ) -> StoreResult<Ticket> {
        let ticket = Self::fetch_ticket(&mut *tx, id)
            .await?
            .ok_or(RuleError::NotFound)?;
        let event = TicketEvent::new(
            &ticket,
            t.event_kind(),
            t.actor(),
            t.at(),
            t.event_details(),
        );
        Self::insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(ticket)
    }

    fn filter_sql(filter: &TicketFilter, sql: &mut String, binds: &mut Vec<Bind>) {
        let mut clause = |cond: &str, b: Option<Bind>| {
            sql.push_str(if sql.contains(" WHERE ") {
                " AND "
            } else {
                " WHERE "
            });
            sql.push_str(cond);
            binds.extend(b);
        };
        if let Some(g) = filter.guild_id {
            clause("guild_id = ?", Some(Bind::Int(Some(id_to_sql(g)))));
        }
        if let Some(s) = filter.status {
            clause("status = ?", Some(Bind::Text(Some(s.as_str().into()))));
        }
        if let Some(c) = filter.creator_id {
            clause("creator_id = ?", Some(Bind::Int(Some(id_to_sql(c)))));
        }
        match filter.claim {
            ClaimFilter::Any => {}
            ClaimFilter::Unclaimed => clause("claimed_by IS NULL", None),
            ClaimFilter::By(u) => clause("claimed_by = ?", Some(Bind::Int(Some(id_to_sql(u))))),
        }
        if let Some(t) = filter.since {
            clause("created_at >= ?", Some(Bind::Int(Some(time_to_sql(t)))));
        }
        if let Some(t) = filter.until {
            clause("created_at < ?", Some(Bind::Int(Some(time_to_sql(t)))));
        }
    }

    async fn participants_of_range(
        &self,
        first: &Uuid,
        last: &Uuid,
    ) -> StoreResult<Vec<Participant>> {
        let rows = sqlx::query(
            "SELECT ticket_id, user_id, added_by, added_at FROM ticket_participants \
             WHERE ticket_id >= ? AND ticket_id <= ? ORDER BY ticket_id, user_id",
        )
        .bind(first.to_string())
        .bind(last.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(participant_from_row).collect()
    }
}

fn pool_options(max: u32) -> PoolOptions<Any> {
    AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(30))
        // A connection the server dropped is noticed here and replaced, not handed out.
        .test_before_acquire(true)
}

#[async_trait]
impl TicketStore for SqlStore {
    fn backend(&self) -> Backend {
        self.dialect.backend
    }

    async fn schema_version(&self) -> StoreResult<i64> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(v.unwrap_or(0))
    }

    async fn create_ticket(
        &self,
        guild_id: DiscordId,
        creator_id: DiscordId,
        max_open: u32,
        at: DateTime<Utc>,
    ) -> StoreResult<CreateOutcome> {
        let ticket = Ticket::new(guild_id, creator_id, at);
        for _ in 0..RACE_RETRIES {
            for slot in 0..max_open.max(1) {
                let created = retry_transient(|| self.try_create(&ticket, slot)).await?;
                if let Some(t) = created {
                    return Ok(CreateOutcome::Created(t));
                }
            }
            let open = self.open_tickets_of(guild_id, creator_id).await?;
            // Empty: a ticket was closed between our insert and this read; try again.
            if !open.is_empty() {
                return Ok(CreateOutcome::LimitReached { open });
            }
        }
        let open = self.open_tickets_of(guild_id, creator_id).await?;
        Ok(CreateOutcome::LimitReached { open })
    }

    async fn get(&self, id: Uuid) -> StoreResult<Option<Ticket>> {
        Self::fetch_ticket(&self.pool, id).await
    }

    async fn find_by_prefix(&self, prefix: &str, limit: u32) -> StoreResult<Vec<Ticket>> {
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE id >= ? AND id < ? ORDER BY id LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(prefix.clone())
            .bind(format!("{prefix}~"))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| ticket_from_row(r).map(|(t, _)| t))
            .collect()
    }

    async fn get_by_channel(&self, channel_id: DiscordId) -> StoreResult<Option<Ticket>> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE channel_id = ?");
        let row = sqlx::query(&sql)
            .bind(id_to_sql(channel_id))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| ticket_from_row(&r).map(|(t, _)| t)).transpose()
    }

    async fn list(
        &self,
        filter: &TicketFilter,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Page> {
        let mut sql = format!("SELECT {TICKET_COLUMNS} FROM tickets");
        let mut binds = Vec::new();
        Self::filter_sql(filter, &mut sql, &mut binds);
        if let Some(c) = after {
            sql.push_str(if sql.contains(" WHERE ") {
                " AND "
            } else {
                " WHERE "
            });
            // The first conjunct is an index range on every engine; the second breaks ties.
            sql.push_str("created_at <= ? AND (created_at < ? OR id < ?)");
            let t = time_to_sql(c.created_at);
            binds.extend([
                Bind::Int(Some(t)),
                Bind::Int(Some(t)),
                Bind::Text(Some(c.id.to_string())),
            ]);
        }
        sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
        binds.push(Bind::Int(Some(i64::from(limit) + 1)));
        let rows = bind_all(sqlx::query(&sql), binds)
            .fetch_all(&self.pool)
            .await?;
        let mut tickets = rows
            .iter()
            .map(|r| ticket_from_row(r).map(|(t, _)| t))
            .collect::<StoreResult<Vec<_>>>()?;
        let next = if tickets.len() > limit as usize {
            tickets.truncate(limit as usize);
            tickets.last().map(Cursor::after)
        } else {
            None
        };
        Ok(Page { tickets, next })
    }

    async fn count(&self, filter: &TicketFilter) -> StoreResult<StatusCounts> {
        let mut sql = "SELECT status, COUNT(*) AS n FROM tickets".to_owned();
        let mut binds = Vec::new();
        Self::filter_sql(filter, &mut sql, &mut binds);
        sql.push_str(" GROUP BY status");
        let rows = bind_all(sqlx::query(&sql), binds)
            .fetch_all(&self.pool)
            .await?;
        let mut counts = StatusCounts::default();
        for row in rows {
            let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
            match required_text(&row, "status")?.parse::<TicketStatus>() {
                Ok(TicketStatus::Open) => counts.open += n,
                Ok(TicketStatus::Closed) => counts.closed += n,
                Err(e) => return Err(StoreError::corrupt("tickets.status", e)),
            }
        }
        Ok(counts)
    }

    async fn updated_since(&self, since: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE updated_at >= ? ORDER BY updated_at, id LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(time_to_sql(since))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| ticket_from_row(r).map(|(t, _)| t))
            .collect()
    }

    async fn stats(&self, filter: &TicketFilter) -> StoreResult<TicketStats> {
        let counts = self.count(filter).await?;

        let mut sql = "SELECT closed_at - created_at AS d FROM tickets".to_owned();
        let mut binds = Vec::new();
        let closed = TicketFilter {
            status: Some(TicketStatus::Closed),
            ..filter.clone()
        };
        Self::filter_sql(&closed, &mut sql, &mut binds);
        sql.push_str(" AND closed_at IS NOT NULL");
        let durations: Vec<i64> = bind_all(sqlx::query(&sql), binds)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>("d"))
            .collect::<Result<_, _>>()?;

        let day = match self.dialect.backend {
            Backend::Mysql => format!("created_at DIV {MICROS_PER_DAY}"),
            _ => format!("created_at / {MICROS_PER_DAY}"),
        };
        let mut sql = format!("SELECT {day} AS day, COUNT(*) AS n FROM tickets");
        let mut binds = Vec::new();
        Self::filter_sql(filter, &mut sql, &mut binds);
        sql.push_str(" GROUP BY day ORDER BY day");
        let mut per_day = Vec::new();
        for row in bind_all(sqlx::query(&sql), binds)
            .fetch_all(&self.pool)
            .await?
        {
            if let Some(date) = day_from_number(row.try_get("day")?) {
                let opened = row.try_get::<i64, _>("n")?.max(0) as u64;
                per_day.push(DayCount { date, opened });
            }
        }

        let mut sql = "SELECT actor_id, kind, COUNT(*) AS n FROM ticket_events \
                       WHERE kind IN ('claimed', 'closed') AND actor_id IS NOT NULL"
            .to_owned();
        let mut binds = Vec::new();
        if let Some(g) = filter.guild_id {
            sql.push_str(" AND guild_id = ?");
            binds.push(Bind::Int(Some(id_to_sql(g))));
        }
        if let Some(t) = filter.since {
            sql.push_str(" AND at >= ?");
            binds.push(Bind::Int(Some(time_to_sql(t))));
        }
        if let Some(t) = filter.until {
            sql.push_str(" AND at < ?");
            binds.push(Bind::Int(Some(time_to_sql(t))));
        }
        sql.push_str(" GROUP BY actor_id, kind");
        let mut staff = Vec::new();
        for row in bind_all(sqlx::query(&sql), binds)
            .fetch_all(&self.pool)
            .await?
        {
            let user = id_from_sql(row.try_get("actor_id")?);
            let n = row.try_get::<i64, _>("n")?.max(0) as u64;
            match required_text(&row, "kind")?.as_str() {
                "claimed" => tally(&mut staff, user, n, 0),
                _ => tally(&mut staff, user, 0, n),
            }
        }
        sort_staff(&mut staff);

        Ok(TicketStats {
            counts,
            time_to_close: DurationSummary::from_micros(durations),
            staff,
            per_day,
        })
    }

    async fn set_channel(&self, id: Uuid, channel_id: Option<DiscordId>) -> StoreResult<Ticket> {
        let res = sqlx::query("UPDATE tickets SET channel_id = ?, updated_at = ? WHERE id = ?")
            .bind(channel_id.map(id_to_sql))
            .bind(time_to_sql(crate::ticket::now()))
            .bind(id.to_string())
            .execute(&self.pool)
            .await;
        match res {
            Ok(done) if done.rows_affected() == 0 => Err(RuleError::NotFound.into()),
            Ok(_) => Self::fetch_ticket(&self.pool, id)
                .await?
                .ok_or_else(|| RuleError::NotFound.into()),
            Err(e) if is_unique_violation(&e) => {
                let channel_id = channel_id.unwrap_or_default();
                let owner = self.get_by_channel(channel_id).await?;
                Err(StoreError::ChannelTaken {
                    channel_id,
                    ticket_id: owner.map(|t| t.id).unwrap_or_default(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn transition(&self, id: Uuid, transition: &Transition) -> StoreResult<Ticket> {
        for _ in 0..RACE_RETRIES {
            if let Some(t) = retry_transient(|| self.try_transition(id, transition)).await? {
                return Ok(t);
            }
            explain_refusal(self.get(id).await?.as_ref(), transition)?;
        }
        Err(StoreError::Migrate(format!(
            "ticket {id} kept changing; the {transition:?} was not applied"
        )))
    }

    async fn add_participant(
        &self,
        id: Uuid,
        user_id: DiscordId,
        by: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<Participant> {
        let attempt = || async {
            let mut tx = self.pool.begin().await?;
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
            sqlx::query("UPDATE tickets SET updated_at = ? WHERE id = ?")
                .bind(time_to_sql(at))
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

    async fn remove_participant(
        &self,
        id: Uuid,
        user_id: DiscordId,
        by: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let attempt = || async {
            let mut tx = self.pool.begin().await?;
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
            sqlx::query("UPDATE tickets SET updated_at = ? WHERE id = ?")
                .bind(time_to_sql(at))
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

    async fn participants(&self, id: Uuid) -> StoreResult<Vec<Participant>> {
        self.participants_of_range(&id, &id).await
    }

    async fn history(&self, id: Uuid) -> StoreResult<Vec<TicketEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM ticket_events WHERE ticket_id = ? ORDER BY at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn delete(
        &self,
        id: Uuid,
        by: Option<DiscordId>,
        at: DateTime<Utc>,
    ) -> StoreResult<Ticket> {
        let attempt = || async {
            let mut tx = self.pool.begin().await?;
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
            sqlx::query("DELETE FROM ticket_participants WHERE ticket_id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM tickets WHERE id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            let details = serde_json::to_string(&ticket).ok();
            let event = TicketEvent::new(&ticket, EventKind::Deleted, by, at, details);
            Self::insert_event(&mut tx, &event).await?;
            tx.commit().await?;
            Ok(ticket)
        };
        retry_transient(attempt).await
    }

    async fn discard(&self, id: Uuid) -> StoreResult<bool> {
        let attempt = || async {
            let mut tx = self.pool.begin().await?;
            let mut removed = 0;
            for table in ["ticket_participants", "ticket_events"] {
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

    async fn export_tickets(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketRecord>> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id > ? ORDER BY id LIMIT ?");
        let rows = sqlx::query(&sql)
            .bind(after.map(|a| a.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut records = rows
            .iter()
            .map(|r| {
                ticket_from_row(r).map(|(ticket, open_slot)| TicketRecord {
                    ticket,
                    participants: Vec::new(),
                    open_slot,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        if let (Some(first), Some(last)) = (records.first(), records.last()) {
            let participants = self
                .participants_of_range(&first.ticket.id, &last.ticket.id)
                .await?;
            let mut by_ticket = participants.into_iter().peekable();
            for record in &mut records {
                while let Some(p) = by_ticket.next_if(|p| p.ticket_id <= record.ticket.id) {
                    if p.ticket_id == record.ticket.id {
                        record.participants.push(p);
                    }
                }
            }
        }
        Ok(records)
    }

    async fn export_events(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketEvent>> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM ticket_events WHERE id > ? ORDER BY id LIMIT ?");
        let rows = sqlx::query(&sql)
            .bind(after.map(|a| a.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn import_tickets(&self, records: &[TicketRecord]) -> StoreResult<()> {
        // Chunks keep each statement under every server's placeholder limit.
        for chunk in records.chunks(500) {
            let attempt = || async {
                let mut tx = self.pool.begin().await?;
                let columns: Vec<&str> = TICKET_COLUMNS.split(", ").collect();
                let sql = format!(
                    "INSERT INTO tickets ({TICKET_COLUMNS}) VALUES {}{}",
                    placeholders(chunk.len(), columns.len()),
                    self.dialect.upsert("id", &columns)
                );
                let binds = chunk
                    .iter()
                    .flat_map(|r| ticket_binds(&r.ticket, r.open_slot))
                    .collect();
                bind_all(sqlx::query(&sql), binds).execute(&mut *tx).await?;
                let ids = chunk
                    .iter()
                    .map(|r| r.ticket.id.to_string())
                    .collect::<Vec<_>>();
                let sql = format!(
                    "DELETE FROM ticket_participants WHERE ticket_id IN ({})",
                    vec!["?"; ids.len()].join(", ")
                );
                bind_all(
                    sqlx::query(&sql),
                    ids.into_iter().map(|i| Bind::Text(Some(i))).collect(),
                )
                .execute(&mut *tx)
                .await?;
                let participants: Vec<&Participant> =
                    chunk.iter().flat_map(|r| &r.participants).collect();
                if !participants.is_empty() {
                    let sql = format!(
                        "INSERT INTO ticket_participants (ticket_id, user_id, added_by, added_at) VALUES {}",
                        placeholders(participants.len(), 4)
                    );
                    let binds = participants
                        .iter()
                        .flat_map(|p| {
                            [
                                Bind::Text(Some(p.ticket_id.to_string())),
                                Bind::Int(Some(id_to_sql(p.user_id))),
                                Bind::Int(Some(id_to_sql(p.added_by))),
                                Bind::Int(Some(time_to_sql(p.added_at))),
                            ]
                        })
                        .collect();
                    bind_all(sqlx::query(&sql), binds).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            };
            retry_transient(attempt).await?;
        }
        Ok(())
    }

    async fn import_events(&self, events: &[TicketEvent]) -> StoreResult<()> {
        for chunk in events.chunks(1000) {
            let sql = format!(
                "{} INTO ticket_events ({EVENT_COLUMNS}) VALUES {}",
                self.dialect.insert_ignore(),
                placeholders(chunk.len(), 7)
            );
            let binds: Vec<Bind> = chunk.iter().flat_map(event_binds).collect();
            retry_transient(|| async {
                bind_all(sqlx::query(&sql), binds.clone())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    async fn record_counts(&self) -> StoreResult<RecordCounts> {
        let count = |table: &'static str| async move {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&self.pool)
                .await?;
            Ok::<u64, StoreError>(n.max(0) as u64)
        };
        Ok(RecordCounts {
            tickets: count("tickets").await?,
            participants: count("ticket_participants").await?,
            events: count("ticket_events").await?,
        })
    }

    async fn heartbeat(&self, beat: &Heartbeat) -> StoreResult<()> {
        let columns = ["instance_id", "details", "started_at", "seen_at"];
        let sql = format!(
            "INSERT INTO bot_heartbeats ({}) VALUES {}{}",
            columns.join(", "),
            placeholders(1, 4),
            self.dialect.upsert("instance_id", &columns)
        );
        retry_transient(|| async {
            sqlx::query(&sql)
                .bind(beat.instance_id.clone())
                .bind(beat.details.clone())
                .bind(time_to_sql(beat.started_at))
                .bind(time_to_sql(beat.seen_at))
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    async fn heartbeats_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<Heartbeat>> {
        let rows = sqlx::query(
            "SELECT instance_id, details, started_at, seen_at FROM bot_heartbeats \
             WHERE seen_at >= ? ORDER BY instance_id",
        )
        .bind(time_to_sql(since))
        .fetch_all(&self.pool)
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

    async fn remove_heartbeat(&self, instance_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM bot_heartbeats WHERE instance_id = ?")
            .bind(instance_id.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
