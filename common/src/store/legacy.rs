//! Taking over a database written by the Python Ticket-Bot, in place, losing nothing.
//!
//! SQL: its `tickets` table (no `updated_at` column) is renamed `tickets_legacy` and kept as a
//! backup; the new schema is created; every row is converted and imported with upserts, so an
//! upgrade interrupted at any point simply runs again at the next start. MongoDB: documents
//! without `updated_at` are rewritten one by one (see `mongo.rs`), equally restartable.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::{AnyPool, Row};
use uuid::Uuid;

use super::sql::SqlStore;
use super::{Backend, TicketRecord};
use crate::error::{StoreError, StoreResult};
use crate::ticket::{DiscordId, EventKind, Ticket, TicketEvent, TicketStatus};

pub(crate) const LEGACY_TABLE: &str = "tickets_legacy";
const IMPORT_MARKER: &str = "legacy_import";
/// Legacy rows read, converted and written per transaction: big, because each commit rewrites
/// the index pages it touched (a few MB of rows in memory at a time).
const BATCH: i64 = 10_000;

/// Namespace of the ids of events synthesised from legacy rows: the same row always yields the
/// same event ids, so a re-run inserts nothing twice.
const LEGACY_EVENTS: Uuid = Uuid::from_u128(0x7d1c_5a7e_3b0e_4f6a_9e57_2c1b_8f00_a001);

/// A time as the Python bot wrote it: `str(datetime)` of an aware UTC time
/// (`2025-08-14 09:03:27.512345+00:00`), a naive one, MySQL's DATETIME text, or RFC 3339.
pub(crate) fn parse_legacy_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

/// A Discord id as the Python bot stored it: decimal text or an integer.
pub(crate) fn parse_legacy_id(s: &str) -> Option<DiscordId> {
    let s = s.trim();
    s.parse::<u64>()
        .ok()
        .or_else(|| s.parse::<i64>().ok().map(|v| v as u64))
        .or_else(|| {
            // A REAL that SQLite stored for a large int bound as float: only exact values.
            s.parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1.8e19)
                .map(|f| f as u64)
        })
}

/// One legacy row, every column as the text the database gives back.
#[derive(Debug, Clone, Default)]
pub(crate) struct LegacyRow {
    pub id: String,
    pub guild_id: String,
    pub channel_id: Option<String>,
    pub creator_id: String,
    pub status: String,
    pub created_at: String,
    pub closed_at: Option<String>,
    pub claimed_by: Option<String>,
}

/// Open-ticket slots handed out so far, per (guild, creator): legacy users may hold several
/// open tickets, and each needs a slot of its own.
#[derive(Debug, Default)]
pub(crate) struct SlotCounter(HashMap<(DiscordId, DiscordId), u32>);

impl SlotCounter {
    pub fn next(&mut self, guild: DiscordId, creator: DiscordId) -> u32 {
        let n = self.0.entry((guild, creator)).or_insert(0);
        *n += 1;
        *n - 1
    }
}

/// A legacy ticket converted, with the events that tell its story so far.
pub(crate) fn convert(
    row: &LegacyRow,
    slots: &mut SlotCounter,
    imported_at: DateTime<Utc>,
) -> StoreResult<(TicketRecord, Vec<TicketEvent>)> {
    let bad = |what: &str, value: &str| {
        StoreError::corrupt(
            format!("legacy ticket {}", row.id),
            format!("{what} {value:?} cannot be read"),
        )
    };
    let id = Uuid::parse_str(row.id.trim()).map_err(|_| bad("id", &row.id))?;
    let id_of = |what: &str, v: &str| parse_legacy_id(v).ok_or_else(|| bad(what, v));
    let opt_id = |what: &str, v: &Option<String>| {
        v.as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| id_of(what, s))
            .transpose()
    };
    let guild_id = id_of("guild_id", &row.guild_id)?;
    let creator_id = id_of("creator_id", &row.creator_id)?;
    let status = row
        .status
        .parse::<TicketStatus>()
        .map_err(|_| bad("status", &row.status))?;
    let created_at =
        parse_legacy_time(&row.created_at).ok_or_else(|| bad("created_at", &row.created_at))?;
    let closed_at = row
        .closed_at
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_legacy_time(s).ok_or_else(|| bad("closed_at", s)))
        .transpose()?;
    let ticket = Ticket {
        id,
        guild_id,
        channel_id: opt_id("channel_id", &row.channel_id)?,
        creator_id,
        status,
        created_at,
        closed_at,
        closed_by: None,
        close_reason: None,
        claimed_by: opt_id("claimed_by", &row.claimed_by)?,
        claimed_at: None,
        updated_at: closed_at.unwrap_or(created_at),
        archived_at: None,
        archive_requested_at: None,
        first_response_at: None,
        first_response_by: None,
    };
    let open_slot = (status == TicketStatus::Open).then(|| slots.next(guild_id, creator_id));
    let event =
        |kind: EventKind, actor: Option<DiscordId>, at, details: Option<&str>| TicketEvent {
            id: Uuid::new_v5(&LEGACY_EVENTS, format!("{id}/{kind}").as_bytes()),
            ticket_id: id,
            guild_id,
            kind,
            actor_id: actor,
            at,
            details: details.map(str::to_owned),
        };
    let mut events = vec![event(EventKind::Opened, Some(creator_id), created_at, None)];
    if let Some(claimer) = ticket.claimed_by {
        // The Python bot kept no claim time; the claim is dated at the opening.
        events.push(event(
            EventKind::Claimed,
            Some(claimer),
            created_at,
            Some(crate::ticket::CLAIM_TIME_UNKNOWN),
        ));
    }
    if let (TicketStatus::Closed, Some(at)) = (status, closed_at) {
        events.push(event(EventKind::Closed, None, at, None));
    }
    events.push(event(
        EventKind::Imported,
        None,
        imported_at,
        Some("taken over from the Python Ticket-Bot's database"),
    ));
    let record = TicketRecord {
        ticket,
        participants: Vec::new(),
        open_slot,
    };
    Ok((record, events))
}

/// The Python bot kept no uniqueness on `channel_id`: when a second ticket names a channel that
/// an earlier one holds, it is imported without the channel (ours allow one ticket per channel),
/// and its `imported` entry says so. Nothing else of it changes; an open one is closed by the
/// bot's repair with its history kept (it can be reopened in a new channel).
pub(crate) fn give_up_shared_channel(
    record: &mut TicketRecord,
    events: &mut [TicketEvent],
    holder: Option<Uuid>,
) {
    let Some(channel) = record.ticket.channel_id.take() else {
        return;
    };
    let holder = holder.map_or_else(|| "another ticket".to_owned(), |h| format!("ticket {h}"));
    if let Some(e) = events.iter_mut().find(|e| e.kind == EventKind::Imported) {
        e.details = Some(format!(
            "taken over from the Python Ticket-Bot's database; its channel {channel} was also recorded for {holder}, which keeps it"
        ));
    }
}

async fn table_exists(pool: &AnyPool, backend: Backend, table: &str) -> StoreResult<bool> {
    let sql = match backend {
        Backend::Mysql => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = ?"
        }
        _ => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
    };
    let n: i64 = sqlx::query_scalar(sql).bind(table).fetch_one(pool).await?;
    Ok(n > 0)
}

async fn has_column(pool: &AnyPool, backend: Backend, table: &str, col: &str) -> StoreResult<bool> {
    let sql = match backend {
        Backend::Mysql => {
            "SELECT COUNT(*) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?"
        }
        _ => "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?",
    };
    let n: i64 = sqlx::query_scalar(sql)
        .bind(table)
        .bind(col)
        .fetch_one(pool)
        .await?;
    Ok(n > 0)
}

/// Renames a Python-bot `tickets` table out of the way of the new schema.
pub(crate) async fn sql_set_aside(pool: &AnyPool, backend: Backend) -> StoreResult<()> {
    if !table_exists(pool, backend, "tickets").await?
        || has_column(pool, backend, "tickets", "updated_at").await?
    {
        return Ok(());
    }
    if table_exists(pool, backend, LEGACY_TABLE).await? {
        return Err(StoreError::Migrate(format!(
            "found a Python-bot `tickets` table and a `{LEGACY_TABLE}` table already; \
             rename or drop one of them by hand"
        )));
    }
    let sql = match backend {
        Backend::Mysql => format!("RENAME TABLE tickets TO {LEGACY_TABLE}"),
        _ => format!("ALTER TABLE tickets RENAME TO {LEGACY_TABLE}"),
    };
    sqlx::query(&sql).execute(pool).await?;
    tracing::info!("found a Python Ticket-Bot database; its table is kept as `{LEGACY_TABLE}`");
    Ok(())
}

/// The type a legacy column is read as: text, whatever the Python bot stored.
fn text_type(backend: Backend) -> &'static str {
    match backend {
        Backend::Mysql => "CHAR",
        _ => "TEXT",
    }
}

/// The channels that several legacy tickets name, each with the ticket that keeps it: the first
/// in import order (by id). Few or none, so memory stays flat however many tickets there are.
async fn shared_channels(
    pool: &AnyPool,
    backend: Backend,
) -> StoreResult<HashMap<DiscordId, Uuid>> {
    let text = text_type(backend);
    // Grouped by number, not text: "123" and "123.0" are the same channel.
    let key = match backend {
        Backend::Mysql => "CAST(channel_id AS SIGNED)",
        _ => "CAST(channel_id AS INTEGER)",
    };
    let sql = format!(
        "SELECT CAST(MIN(channel_id) AS {text}) AS channel, CAST(MIN(id) AS {text}) AS holder \
         FROM {LEGACY_TABLE} WHERE channel_id IS NOT NULL GROUP BY {key} HAVING COUNT(*) > 1"
    );
    let mut shared = HashMap::new();
    for row in sqlx::query(&sql).fetch_all(pool).await? {
        let channel: Option<String> = row.try_get("channel")?;
        let holder: Option<String> = row.try_get("holder")?;
        if let (Some(channel), Some(holder)) = (
            channel.as_deref().and_then(parse_legacy_id),
            holder.and_then(|h| Uuid::parse_str(h.trim()).ok()),
        ) {
            shared.insert(channel, holder);
        }
    }
    Ok(shared)
}

/// Imports the legacy rows into the new schema, unless done already.
pub(crate) async fn sql_import(store: &SqlStore) -> StoreResult<()> {
    let pool = store.pool();
    let backend = store.backend_kind();
    if !table_exists(pool, backend, LEGACY_TABLE).await?
        || store.meta(IMPORT_MARKER).await?.is_some()
    {
        return Ok(());
    }
    let text = text_type(backend);
    let cols = [
        "id",
        "guild_id",
        "channel_id",
        "creator_id",
        "status",
        "created_at",
        "closed_at",
        "claimed_by",
    ]
    .map(|c| format!("CAST({c} AS {text}) AS {c}"))
    .join(", ");
    // The key itself in WHERE and ORDER BY, so that each batch is a range of the primary key
    // (a CAST there scanned and sorted the whole table per batch: quadratic).
    let sql = format!("SELECT {cols} FROM {LEGACY_TABLE} WHERE id > ? ORDER BY id LIMIT ?");
    let imported_at = crate::ticket::now();
    let mut slots = SlotCounter::default();
    let shared = shared_channels(pool, backend).await?;
    let bulk = store.begin_bulk_load().await?;
    let mut after = String::new();
    let mut total = 0usize;
    loop {
        let rows = sqlx::query(&sql)
            .bind(after.clone())
            .bind(BATCH)
            .fetch_all(pool)
            .await?;
        if rows.is_empty() {
            break;
        }
        let mut records = Vec::with_capacity(rows.len());
        let mut events = Vec::with_capacity(rows.len() * 3);
        for r in &rows {
            let get =
                |c: &str| -> StoreResult<Option<String>> { Ok(r.try_get::<Option<String>, _>(c)?) };
            let row = LegacyRow {
                id: get("id")?.unwrap_or_default(),
                guild_id: get("guild_id")?.unwrap_or_default(),
                channel_id: get("channel_id")?,
                creator_id: get("creator_id")?.unwrap_or_default(),
                status: get("status")?.unwrap_or_default(),
                created_at: get("created_at")?.unwrap_or_default(),
                closed_at: get("closed_at")?,
                claimed_by: get("claimed_by")?,
            };
            after = row.id.clone();
            let (mut record, mut evs) = convert(&row, &mut slots, imported_at)?;
            if let Some(holder) = record
                .ticket
                .channel_id
                .and_then(|c| shared.get(&c))
                .filter(|holder| **holder != record.ticket.id)
            {
                give_up_shared_channel(&mut record, &mut evs, Some(*holder));
            }
            records.push(record);
            events.extend(evs);
        }
        total += records.len();
        store.import_batch(&records, &events).await?;
        if rows.len() < BATCH as usize {
            break;
        }
    }
    if bulk {
        store.finish_bulk_load().await?;
    }
    store
        .set_meta(IMPORT_MARKER, &format!("{total} tickets at {imported_at}"))
        .await?;
    tracing::info!("took over {total} tickets from the Python Ticket-Bot's database");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_time_forms_parse_exactly() {
        let t = parse_legacy_time("2025-08-14 09:03:27.512345+00:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-08-14T09:03:27.512345+00:00");
        let t = parse_legacy_time("2024-01-01 00:00:00+00:00").unwrap();
        assert_eq!(t.timestamp(), 1_704_067_200);
        let t = parse_legacy_time("2024-01-01 00:00:00").unwrap();
        assert_eq!(t.timestamp(), 1_704_067_200);
        let t = parse_legacy_time("2024-01-01T02:00:00+02:00").unwrap();
        assert_eq!(t.timestamp(), 1_704_067_200);
        assert_eq!(parse_legacy_time("yesterday"), None);
    }

    #[test]
    fn ids_parse_from_text_and_numbers() {
        assert_eq!(
            parse_legacy_id("1234567890123456789"),
            Some(1_234_567_890_123_456_789)
        );
        assert_eq!(parse_legacy_id(" 42 "), Some(42));
        assert_eq!(parse_legacy_id("abc"), None);
    }

    #[test]
    fn conversion_keeps_values_and_gives_each_open_ticket_its_own_slot() {
        let mut slots = SlotCounter::default();
        let row = |id: &str, status: &str| LegacyRow {
            id: id.into(),
            guild_id: "10".into(),
            channel_id: None,
            creator_id: "20".into(),
            status: status.into(),
            created_at: "2025-08-14 09:03:27.512345+00:00".into(),
            closed_at: (status == "closed").then(|| "2025-08-15 10:00:00+00:00".into()),
            claimed_by: Some("30".into()),
        };
        let now = crate::ticket::now();
        let a = convert(
            &row("1b4e28ba-2fa1-41d2-883f-0016d3cca427", "open"),
            &mut slots,
            now,
        )
        .unwrap();
        let b = convert(
            &row("2b4e28ba-2fa1-41d2-883f-0016d3cca427", "open"),
            &mut slots,
            now,
        )
        .unwrap();
        let c = convert(
            &row("3b4e28ba-2fa1-41d2-883f-0016d3cca427", "closed"),
            &mut slots,
            now,
        )
        .unwrap();
        assert_eq!(
            (a.0.open_slot, b.0.open_slot, c.0.open_slot),
            (Some(0), Some(1), None)
        );
        assert_eq!(a.0.ticket.claimed_by, Some(30));
        assert_eq!(c.0.ticket.closed_at.unwrap().timestamp(), 1_755_252_000);
        assert_eq!(c.1.len(), 4);
        // The same row yields the same event ids, so a re-run inserts nothing twice.
        let again = convert(
            &row("3b4e28ba-2fa1-41d2-883f-0016d3cca427", "closed"),
            &mut SlotCounter::default(),
            now,
        )
        .unwrap();
        assert_eq!(
            c.1.iter().map(|e| e.id).collect::<Vec<_>>(),
            again.1.iter().map(|e| e.id).collect::<Vec<_>>()
        );
        assert!(convert(
            &LegacyRow {
                id: "nope".into(),
                ..row("x", "open")
            },
            &mut slots,
            now
        )
        .is_err());
    }

    mod fuzz {
        //! A Python-bot database is text from elsewhere (hand-edited at times): never a panic,
        //! and what the Python bot wrote reads back exactly. Run with the suite of
        //! `tests/fuzz_parsers.rs`; `PROPTEST_CASES=<n>` runs more.
        use chrono::{NaiveDate, TimeZone};
        use proptest::prelude::*;
        use proptest::test_runner::Config;

        use super::*;
        use crate::fuzzing::{self, text};

        fn config() -> Config {
            fuzzing::config(
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/proptest-regressions/legacy.txt"
                ),
                512,
            )
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn legacy_values_never_panic(s in text(), n in any::<i128>(), f in any::<f64>()) {
                for v in [s.clone(), n.to_string(), f.to_string(), format!("{s}+00:00")] {
                    let _ = parse_legacy_time(&v);
                    let _ = parse_legacy_id(&v);
                    let row = LegacyRow {
                        id: v.clone(),
                        guild_id: v.clone(),
                        channel_id: Some(v.clone()),
                        creator_id: v.clone(),
                        status: v.clone(),
                        created_at: v.clone(),
                        closed_at: Some(v.clone()),
                        claimed_by: Some(v),
                    };
                    let _ = convert(&row, &mut SlotCounter::default(), crate::ticket::now());
                }
            }

            #[test]
            fn python_times_read_back(
                days in 0i64..3_652_058,
                secs in 0u32..86_400,
                micros in prop_oneof![Just(0u32), 0u32..1_000_000],
                naive in any::<bool>(),
            ) {
                // Python's str(datetime) of years 1 to 9999: `.ffffff` only when not zero.
                let day = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default() + chrono::Duration::days(days);
                let t = Utc.from_utc_datetime(&day.and_time(
                    chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs, micros * 1000)
                        .unwrap_or_default(),
                ));
                let mut text = t.format("%Y-%m-%d %H:%M:%S").to_string();
                if micros > 0 {
                    text.push_str(&format!(".{micros:06}"));
                }
                if !naive {
                    text.push_str("+00:00");
                }
                prop_assert_eq!(parse_legacy_time(&text), Some(t), "{}", text);
            }

            #[test]
            fn ids_read_back_as_text_or_signed(id in any::<u64>()) {
                prop_assert_eq!(parse_legacy_id(&id.to_string()), Some(id));
                prop_assert_eq!(parse_legacy_id(&(id as i64).to_string()), Some(id));
            }
        }
    }
}
