//! Taking over the Python bot's database: for each backend a database is built exactly as the
//! Python bot left it (see `shared/seed/legacy-schema.md`), then `open_store` upgrades it. Every
//! ticket must come through with its values, the store must work on the upgraded data, and
//! opening again must change nothing.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use bson::{doc, Bson, Document};
use chrono::{DateTime, DurationRound, SubsecRound, TimeDelta, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Executor, Row};
use uuid::Uuid;

use support::{
    export_all_events, export_all_tickets, mongo_client, normalized, DbGuard, MysqlServer,
};
use ticketbot_common::rules::{self, RuleError, Transition};
use ticketbot_common::store::{Backend, CreateOutcome, TicketFilter};
use ticketbot_common::ticket::{EventKind, Ticket, TicketStatus};
use ticketbot_common::{DiscordId, StoreError, TicketStore};

// ---------------------------------------------------------------------------------------------
// Instantiation.

/// `scenario => sqlite_test, mysql_test, mongodb_test;`: each test builds the Python bot's
/// database on a fresh database of its backend and runs the one generic scenario on it.
macro_rules! legacy {
    ($($scenario:ident => $sqlite:ident, $mysql:ident, $mongodb:ident;)*) => {
        $(
            legacy!(@one $scenario, $sqlite, Sqlite);
            legacy!(@one $scenario, $mysql, Mysql);
            legacy!(@one $scenario, $mongodb, Mongodb);
        )*
    };
    (@one $scenario:ident, $test:ident, $backend:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $test() {
            let guard = DbGuard::new(Backend::$backend);
            let legacy = build_legacy(&guard, &legacy_rows()).await;
            $scenario(&guard, &legacy).await;
            guard.cleanup().await;
        }
    };
}

legacy! {
    upgrade_keeps_every_ticket =>
        sqlite_upgrade_keeps_every_ticket,
        mysql_upgrade_keeps_every_ticket,
        mongodb_upgrade_keeps_every_ticket;
    upgraded_data_works =>
        sqlite_upgraded_data_works, mysql_upgraded_data_works, mongodb_upgraded_data_works;
    second_open_is_a_no_op =>
        sqlite_second_open_is_a_no_op,
        mysql_second_open_is_a_no_op,
        mongodb_second_open_is_a_no_op;
    simultaneous_first_opens =>
        sqlite_simultaneous_first_opens,
        mysql_simultaneous_first_opens,
        mongodb_simultaneous_first_opens;
}

/// An empty legacy table upgrades too.
macro_rules! legacy_empty {
    ($($test:ident = $backend:ident;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                let guard = DbGuard::new(Backend::$backend);
                build_legacy(&guard, &[]).await;
                empty_legacy_database(&guard).await;
                guard.cleanup().await;
            }
        )*
    };
}

legacy_empty! {
    sqlite_empty_legacy_database = Sqlite;
    mysql_empty_legacy_database = Mysql;
    mongodb_empty_legacy_database = Mongodb;
}

// ---------------------------------------------------------------------------------------------
// The Python bot's data.

const GUILD: DiscordId = 1_234_567_890_123_456_789;
const OTHER_GUILD: DiscordId = 1_098_765_432_109_876_543;
/// Holds two open tickets (the Python bot had no limit).
const USER_1: DiscordId = 1_187_654_321_098_765_432;
const USER_2: DiscordId = 1_187_654_321_098_765_433;
const USER_3: DiscordId = 402_123_456_789_012_345;
const USER_4: DiscordId = 1_300_000_000_000_000_004;
const STAFF_0: DiscordId = 1_111_111_111_111_111_111;
const STAFF_1: DiscordId = 1_222_222_222_222_222_222;
const STAFF_NEW: DiscordId = 1_333_333_333_333_333_333;

/// One row as the Python bot wrote it (times at full precision; each backend keeps less).
#[derive(Debug, Clone)]
struct LegacyRow {
    id: Uuid,
    guild: DiscordId,
    channel: Option<DiscordId>,
    creator: DiscordId,
    status: TicketStatus,
    created_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    claimed_by: Option<DiscordId>,
}

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn uuid(s: &str) -> Uuid {
    Uuid::from_str(s).unwrap()
}

const OPEN: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const OPEN_CLAIMED: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
const CLOSED_CLAIMED: &str = "a8098c1a-f86e-41da-bd20-b5f1e5b7d6f3";
const CLOSED_NO_CHANNEL: &str = "16fd2706-8baf-433b-82eb-8c7fada847da";
const OPEN_NO_CHANNEL: &str = "e4eaaaf2-d142-41a4-9a57-3ab8d6d7f8b2";
const OTHER_GUILD_OPEN: &str = "c56a4180-65aa-42ec-a945-5fd21dec0538";

fn legacy_rows() -> Vec<LegacyRow> {
    vec![
        LegacyRow {
            id: uuid(OPEN),
            guild: GUILD,
            channel: Some(1_400_000_000_000_000_001),
            creator: USER_1,
            status: TicketStatus::Open,
            created_at: ts("2025-08-14T09:03:27.512345Z"),
            closed_at: None,
            claimed_by: None,
        },
        LegacyRow {
            id: uuid(OPEN_CLAIMED),
            guild: GUILD,
            channel: Some(1_400_000_000_000_000_002),
            creator: USER_1,
            status: TicketStatus::Open,
            created_at: ts("2024-01-01T00:00:00Z"),
            closed_at: None,
            claimed_by: Some(STAFF_0),
        },
        LegacyRow {
            id: uuid(CLOSED_CLAIMED),
            guild: GUILD,
            channel: Some(1_400_000_000_000_000_003),
            creator: USER_2,
            status: TicketStatus::Closed,
            created_at: ts("2024-03-05T11:22:33.000001Z"),
            closed_at: Some(ts("2024-03-06T08:00:00.999999Z")),
            claimed_by: Some(STAFF_1),
        },
        LegacyRow {
            id: uuid(CLOSED_NO_CHANNEL),
            guild: GUILD,
            channel: None,
            creator: USER_4,
            status: TicketStatus::Closed,
            created_at: ts("2023-12-31T23:59:59.999999Z"),
            closed_at: Some(ts("2024-01-02T00:00:00Z")),
            claimed_by: None,
        },
        LegacyRow {
            id: uuid(OPEN_NO_CHANNEL),
            guild: GUILD,
            channel: None,
            creator: USER_3,
            status: TicketStatus::Open,
            created_at: ts("2025-02-28T12:00:00.250000Z"),
            closed_at: None,
            claimed_by: None,
        },
        LegacyRow {
            id: uuid(OTHER_GUILD_OPEN),
            guild: OTHER_GUILD,
            channel: Some(1_400_000_000_000_000_006),
            creator: USER_2,
            status: TicketStatus::Open,
            created_at: ts("2025-06-01T00:00:00.000500Z"),
            closed_at: None,
            claimed_by: Some(STAFF_0),
        },
    ]
}

/// What the upgraded store must say about a legacy row. `claimed_at` and `updated_at` have no
/// legacy source, so they are not part of the expectation (see `assert_legacy_ticket`).
#[derive(Debug, Clone)]
struct Expected {
    row: LegacyRow,
}

impl Expected {
    fn id(&self) -> Uuid {
        self.row.id
    }

    /// The ticket with the store's `claimed_at`/`updated_at` filled in from `got`.
    fn ticket_like(&self, got: &Ticket) -> Ticket {
        Ticket {
            id: self.row.id,
            guild_id: self.row.guild,
            channel_id: self.row.channel,
            creator_id: self.row.creator,
            status: self.row.status,
            created_at: self.row.created_at,
            closed_at: self.row.closed_at,
            closed_by: None,
            close_reason: None,
            claimed_by: self.row.claimed_by,
            claimed_at: got.claimed_at,
            updated_at: got.updated_at,
            archived_at: None,
            archive_requested_at: None,
            first_response_at: None,
            first_response_by: None,
        }
    }
}

/// The legacy database as built, with the values each row must have after the upgrade.
struct Legacy {
    rows: Vec<Expected>,
}

impl Legacy {
    fn get(&self, id: &str) -> &Expected {
        let id = uuid(id);
        self.rows.iter().find(|e| e.id() == id).unwrap()
    }
}

/// Python's `str(datetime)` of an aware UTC time: no fraction when the microseconds are zero.
fn python_str(dt: DateTime<Utc>) -> String {
    if dt.timestamp_subsec_micros() == 0 {
        dt.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
    } else {
        dt.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string()
    }
}

/// Builds the Python bot's database for the guard's backend and returns what must come out.
async fn build_legacy(guard: &DbGuard, rows: &[LegacyRow]) -> Legacy {
    let kept: Vec<LegacyRow> = match guard.backend {
        Backend::Sqlite => build_sqlite(guard, rows).await,
        Backend::Mysql => build_mysql(guard, rows).await,
        Backend::Mongodb => build_mongo(guard, rows).await,
    };
    Legacy {
        rows: kept.into_iter().map(|row| Expected { row }).collect(),
    }
}

/// SQLite: `ticketbotdatabase.db`, WAL, TEXT ids, timestamps as Python's text.
async fn build_sqlite(guard: &DbGuard, rows: &[LegacyRow]) -> Vec<LegacyRow> {
    let opts = SqliteConnectOptions::new()
        .filename(guard.sqlite_path())
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .unwrap();
    pool.execute(
        "CREATE TABLE IF NOT EXISTS tickets (
            id TEXT PRIMARY KEY,
            guild_id TEXT NOT NULL,
            channel_id TEXT NULL,
            creator_id TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at TIMESTAMP NOT NULL,
            closed_at TIMESTAMP,
            claimed_by TEXT
        )",
    )
    .await
    .unwrap();
    pool.execute("CREATE INDEX IF NOT EXISTS idx_ticket_channel ON tickets(channel_id)")
        .await
        .unwrap();
    pool.execute("CREATE INDEX IF NOT EXISTS idx_ticket_guild_status ON tickets(guild_id, status)")
        .await
        .unwrap();
    for r in rows {
        // Python bound its ints; the TEXT affinity turned them into decimal text.
        sqlx::query(
            "INSERT INTO tickets (id, guild_id, channel_id, creator_id, status, created_at, \
             closed_at, claimed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.id.to_string())
        .bind(r.guild as i64)
        .bind(r.channel.map(|c| c as i64))
        .bind(r.creator as i64)
        .bind(r.status.as_str())
        .bind(python_str(r.created_at))
        .bind(r.closed_at.map(python_str))
        .bind(r.claimed_by.map(|c| c as i64))
        .execute(&pool)
        .await
        .unwrap();
    }
    // As the Python bot left them: text everywhere.
    if !rows.is_empty() {
        let row = sqlx::query(
            "SELECT typeof(guild_id), typeof(creator_id), typeof(created_at), created_at \
             FROM tickets WHERE id = ?",
        )
        .bind(OPEN)
        .fetch_one(&pool)
        .await
        .unwrap();
        let types: (String, String, String, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        assert_eq!(
            types,
            (
                "text".into(),
                "text".into(),
                "text".into(),
                "2025-08-14 09:03:27.512345+00:00".into()
            )
        );
    }
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    pool.close().await;
    rows.to_vec()
}

fn mysql_datetime(dt: DateTime<Utc>) -> String {
    dt.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// MySQL: a utf8mb4 database, BIGINT ids, DATETIME without fraction (UTC).
async fn build_mysql(guard: &DbGuard, rows: &[LegacyRow]) -> Vec<LegacyRow> {
    let server = MysqlServer::from_env();
    let admin = server.pool(None).await;
    admin
        .execute(
            format!(
                "CREATE DATABASE IF NOT EXISTS `{}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                guard.name
            )
            .as_str(),
        )
        .await
        .unwrap();
    admin.close().await;
    let pool = server.pool(Some(&guard.name)).await;
    pool.execute(
        "CREATE TABLE IF NOT EXISTS tickets (
            id VARCHAR(36) PRIMARY KEY,
            guild_id BIGINT NOT NULL,
            channel_id BIGINT,
            creator_id BIGINT NOT NULL,
            status VARCHAR(16) NOT NULL,
            created_at DATETIME NOT NULL,
            closed_at DATETIME,
            claimed_by BIGINT,
            INDEX idx_channel (channel_id),
            INDEX idx_guild_status (guild_id, status)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
    )
    .await
    .unwrap();
    let kept: Vec<LegacyRow> = rows
        .iter()
        .map(|r| LegacyRow {
            created_at: r.created_at.trunc_subsecs(0),
            closed_at: r.closed_at.map(|c| c.trunc_subsecs(0)),
            ..r.clone()
        })
        .collect();
    for r in &kept {
        sqlx::query(
            "INSERT INTO tickets (id, guild_id, channel_id, creator_id, status, created_at, \
             closed_at, claimed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.id.to_string())
        .bind(r.guild as i64)
        .bind(r.channel.map(|c| c as i64))
        .bind(r.creator as i64)
        .bind(r.status.as_str())
        .bind(mysql_datetime(r.created_at))
        .bind(r.closed_at.map(mysql_datetime))
        .bind(r.claimed_by.map(|c| c as i64))
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    kept
}

/// MongoDB: collection `tickets`, `_id` the UUID string, int64 ids, BSON dates (milliseconds),
/// nulls for what is not set.
async fn build_mongo(guard: &DbGuard, rows: &[LegacyRow]) -> Vec<LegacyRow> {
    let client = mongo_client().await;
    let db = client.database(&guard.name);
    let kept: Vec<LegacyRow> = rows
        .iter()
        .map(|r| {
            let ms = |d: DateTime<Utc>| d.duration_trunc(TimeDelta::milliseconds(1)).unwrap();
            LegacyRow {
                created_at: ms(r.created_at),
                closed_at: r.closed_at.map(ms),
                ..r.clone()
            }
        })
        .collect();
    let int64_or_null = |v: Option<DiscordId>| v.map_or(Bson::Null, |v| Bson::Int64(v as i64));
    let docs: Vec<Document> = rows
        .iter()
        .map(|r| {
            doc! {
                "_id": r.id.to_string(),
                "guild_id": Bson::Int64(r.guild as i64),
                "channel_id": int64_or_null(r.channel),
                "creator_id": Bson::Int64(r.creator as i64),
                "status": r.status.as_str(),
                "created_at": bson::DateTime::from_chrono(r.created_at),
                "closed_at": r.closed_at.map_or(Bson::Null, |c| Bson::DateTime(bson::DateTime::from_chrono(c))),
                "claimed_by": int64_or_null(r.claimed_by),
            }
        })
        .collect();
    if docs.is_empty() {
        db.create_collection("tickets").await.unwrap();
    } else {
        db.collection::<Document>("tickets")
            .insert_many(docs)
            .await
            .unwrap();
    }
    // Read back: the server kept what pymongo would have written.
    let back = db
        .collection::<Document>("tickets")
        .find_one(doc! { "_id": OPEN })
        .await
        .unwrap();
    if let Some(back) = back {
        assert_eq!(back.get_i64("guild_id").unwrap(), GUILD as i64);
        assert_eq!(
            back.get_datetime("created_at").unwrap().to_chrono(),
            ts("2025-08-14T09:03:27.512Z")
        );
    }
    kept
}

// ---------------------------------------------------------------------------------------------
// Checks.

/// Compares the upgraded ticket with the legacy row; `claimed_at`/`updated_at` only for sanity.
#[track_caller]
fn assert_legacy_ticket(backend: Backend, expected: &Expected, got: Option<&Ticket>) -> Ticket {
    let got = got.unwrap_or_else(|| panic!("legacy ticket {} is gone", expected.id()));
    assert_eq!(
        got,
        &expected.ticket_like(got),
        "legacy ticket on {backend}"
    );
    assert!(
        got.updated_at >= got.created_at,
        "updated_at {} before created_at {}",
        got.updated_at,
        got.created_at
    );
    if got.claimed_by.is_none() {
        assert_eq!(got.claimed_at, None, "claimed_at without a claimer");
    }
    got.clone()
}

fn imported_events(history: &[ticketbot_common::TicketEvent]) -> usize {
    history
        .iter()
        .filter(|e| e.kind == EventKind::Imported)
        .count()
}

async fn snapshot(
    store: &dyn TicketStore,
) -> (
    Vec<ticketbot_common::store::TicketRecord>,
    Vec<ticketbot_common::TicketEvent>,
) {
    (
        normalized(export_all_tickets(store, 100).await),
        export_all_events(store, 100).await,
    )
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

async fn upgrade_keeps_every_ticket(guard: &DbGuard, legacy: &Legacy) {
    let store = guard.open().await;
    let backend = guard.backend;
    assert!(store.schema_version().await.unwrap() > 0);

    let mut got = Vec::new();
    for e in &legacy.rows {
        let t = assert_legacy_ticket(backend, e, store.get(e.id()).await.unwrap().as_ref());
        eprintln!(
            "[{backend}] legacy {}: claimed_at {:?}, updated_at {}",
            t.short_id(),
            t.claimed_at,
            t.updated_at
        );
        // Found by every way the bot looks tickets up.
        assert_eq!(
            store.find_by_prefix(&t.short_id(), 10).await.unwrap(),
            vec![t.clone()]
        );
        if let Some(ch) = t.channel_id {
            assert_eq!(store.get_by_channel(ch).await.unwrap(), Some(t.clone()));
        }
        assert!(store.participants(t.id).await.unwrap().is_empty());
        // Its history says it was taken over, once, by the system.
        let history = store.history(t.id).await.unwrap();
        assert_eq!(
            imported_events(&history),
            1,
            "history of legacy ticket {}: {history:?}",
            t.id
        );
        for ev in &history {
            assert_eq!((ev.ticket_id, ev.guild_id), (t.id, t.guild_id));
            if ev.kind == EventKind::Imported {
                assert_eq!(ev.actor_id, None);
            }
        }
        // In the order it happened, though the opening and the claim share an instant; the
        // claim's time is marked unknown.
        let kinds: Vec<EventKind> = history.iter().map(|e| e.kind).collect();
        let mut want = vec![EventKind::Opened];
        if t.claimed_by.is_some() {
            want.push(EventKind::Claimed);
        }
        if t.status == TicketStatus::Closed && t.closed_at.is_some() {
            want.push(EventKind::Closed);
        }
        want.push(EventKind::Imported);
        assert_eq!(kinds, want, "history of legacy ticket {}", t.id);
        for ev in history.iter().filter(|e| e.kind == EventKind::Claimed) {
            assert!(
                !ev.time_known(),
                "an imported claim has no known time: {ev:?}"
            );
        }
        got.push(t);
    }

    let counts = store.record_counts().await.unwrap();
    assert_eq!(counts.tickets, legacy.rows.len() as u64);
    assert_eq!(counts.participants, 0);

    // Listing: newest first, with the right counts.
    let f = TicketFilter {
        guild_id: Some(GUILD),
        ..Default::default()
    };
    let mut expected: Vec<Ticket> = got
        .iter()
        .filter(|t| t.guild_id == GUILD)
        .cloned()
        .collect();
    expected.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
    let page = store.list(&f, 100, None).await.unwrap();
    assert_eq!(page.tickets, expected);
    let counts = store.count(&f).await.unwrap();
    assert_eq!((counts.open, counts.closed), (3, 2));
    let open_of_user_1 = store
        .count(&TicketFilter {
            guild_id: Some(GUILD),
            creator_id: Some(USER_1),
            status: Some(TicketStatus::Open),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open_of_user_1.open, 2);

    // The open tickets hold limit slots, the closed ones don't.
    let records = export_all_tickets(&*store, 100).await;
    for r in &records {
        assert_eq!(
            r.open_slot.is_some(),
            r.ticket.is_open(),
            "open_slot of legacy {} ({})",
            r.ticket.id,
            r.ticket.status
        );
    }
    store.close().await;
}

async fn upgraded_data_works(guard: &DbGuard, legacy: &Legacy) {
    let store = guard.open().await;
    let store = &*store;
    let backend = guard.backend;
    let at = ticketbot_common::ticket::now();
    let mut tick = 0;
    let mut next = || {
        tick += 1;
        at + TimeDelta::microseconds(tick * 1_000_003)
    };
    let current = |id: &str| {
        let e = legacy.get(id).clone();
        async move { assert_legacy_ticket(backend, &e, store.get(e.id()).await.unwrap().as_ref()) }
    };

    // USER_1 holds two open legacy tickets: over the default limit, which refuses a third.
    let open = current(OPEN).await;
    let claimed = current(OPEN_CLAIMED).await;
    match store.create_ticket(GUILD, USER_1, 1, next()).await.unwrap() {
        CreateOutcome::LimitReached { open: held } => {
            let mut held: Vec<Uuid> = held.iter().map(|t| t.id).collect();
            held.sort();
            let mut want = vec![open.id, claimed.id];
            want.sort();
            assert_eq!(held, want);
        }
        other => panic!("USER_1 holds two open tickets; got {other:?}"),
    }
    assert!(matches!(
        store.create_ticket(GUILD, USER_1, 2, next()).await.unwrap(),
        CreateOutcome::LimitReached { .. }
    ));
    let third = match store.create_ticket(GUILD, USER_1, 3, next()).await.unwrap() {
        CreateOutcome::Created(t) => t,
        other => panic!("limit 3 with two open: {other:?}"),
    };
    // USER_2's only open ticket is in the other guild.
    let fresh = match store.create_ticket(GUILD, USER_2, 1, next()).await.unwrap() {
        CreateOutcome::Created(t) => t,
        other => panic!("USER_2 has no open ticket in GUILD: {other:?}"),
    };
    assert!(matches!(
        store.create_ticket(OTHER_GUILD, USER_2, 1, next()).await.unwrap(),
        CreateOutcome::LimitReached { open } if open.len() == 1 && open[0].id == uuid(OTHER_GUILD_OPEN)
    ));

    // Claims on legacy tickets, with the rules as the oracle.
    let step = |prev: Ticket, tr: Transition| async move {
        let want = rules::apply(&prev, &tr);
        let got = store.transition(prev.id, &tr).await;
        match (want, got) {
            (Ok(w), Ok(g)) => {
                assert_eq!(g, w, "{tr:?} on legacy {}", prev.id);
                assert_eq!(store.get(prev.id).await.unwrap(), Some(g.clone()));
                Ok(g)
            }
            (Err(w), Err(StoreError::Rule(g))) => {
                assert_eq!(g, w, "{tr:?}");
                assert_eq!(store.get(prev.id).await.unwrap(), Some(prev));
                Err(g)
            }
            (w, g) => panic!("{tr:?}: rules say {w:?}, store says {g:?}"),
        }
    };
    let open = step(
        open,
        Transition::Claim {
            by: STAFF_NEW,
            at: next(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        step(
            claimed.clone(),
            Transition::Claim {
                by: STAFF_NEW,
                at: next()
            }
        )
        .await,
        Err(RuleError::AlreadyClaimed(STAFF_0))
    );
    assert_eq!(
        step(
            claimed.clone(),
            Transition::Unclaim {
                by: STAFF_NEW,
                at: next()
            }
        )
        .await,
        Err(RuleError::ClaimedByOther(STAFF_0))
    );
    let claimed = step(
        claimed,
        Transition::Unclaim {
            by: STAFF_0,
            at: next(),
        },
    )
    .await
    .unwrap();
    assert_eq!(claimed.claimed_by, None);

    // Close with a reason the old schema had no column for.
    let open = step(
        open,
        Transition::Close {
            by: Some(STAFF_NEW),
            reason: Some("migrated 🎫 — done".into()),
            at: next(),
            forced: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(open.close_reason.as_deref(), Some("migrated 🎫 — done"));
    // Closing one of USER_1's frees a slot: with three open (two legacy, one new) and one
    // closed now, the limit of 3 admits one more.
    assert!(matches!(
        store.create_ticket(GUILD, USER_1, 3, next()).await.unwrap(),
        CreateOutcome::Created(_)
    ));

    // Reopen a closed legacy ticket; close one again.
    let reopened = step(
        current(CLOSED_NO_CHANNEL).await,
        Transition::Reopen {
            by: STAFF_NEW,
            at: next(),
        },
    )
    .await
    .unwrap();
    assert!(reopened.is_open());
    assert_eq!(
        step(
            current(CLOSED_CLAIMED).await,
            Transition::Close {
                by: Some(STAFF_NEW),
                reason: None,
                at: next(),
                forced: false
            }
        )
        .await,
        Err(RuleError::AlreadyClosed)
    );

    // Channels: a legacy ticket's channel is taken; a ticket without one gets one.
    match store
        .set_channel(fresh.id, Some(claimed.channel_id.unwrap()))
        .await
    {
        Err(StoreError::ChannelTaken { ticket_id, .. }) => assert_eq!(ticket_id, claimed.id),
        other => panic!("expected ChannelTaken, got {other:?}"),
    }
    let with_channel = store
        .set_channel(reopened.id, Some(1_400_000_000_000_000_099))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_by_channel(1_400_000_000_000_000_099)
            .await
            .unwrap(),
        Some(with_channel)
    );

    // Participants on a legacy ticket.
    let p = store
        .add_participant(claimed.id, USER_4, STAFF_NEW, next())
        .await
        .unwrap();
    assert_eq!(store.participants(claimed.id).await.unwrap(), vec![p]);
    assert_eq!(
        store
            .add_participant(claimed.id, USER_1, STAFF_NEW, next())
            .await
            .unwrap_err()
            .rule(),
        Some(&RuleError::IsCreator(USER_1))
    );

    // Delete a legacy ticket: its history (with the import) stays.
    let gone = current(OPEN_NO_CHANNEL).await;
    assert_eq!(
        store
            .delete(gone.id, Some(STAFF_NEW), next())
            .await
            .unwrap(),
        gone
    );
    let history = store.history(gone.id).await.unwrap();
    assert_eq!(history.last().unwrap().kind, EventKind::Deleted);
    assert_eq!(imported_events(&history), 1);

    // The history of the handled ticket: the import, then what happened here.
    let history = store.history(uuid(OPEN)).await.unwrap();
    let kinds: Vec<EventKind> = history.iter().map(|e| e.kind).collect();
    assert!(
        kinds.ends_with(&[EventKind::Claimed, EventKind::Closed]),
        "history {kinds:?}"
    );
    assert_eq!(imported_events(&history), 1);

    // New tickets sit beside the legacy ones in listings.
    let all = store
        .list(
            &TicketFilter {
                guild_id: Some(GUILD),
                ..Default::default()
            },
            100,
            None,
        )
        .await
        .unwrap()
        .tickets;
    let ids: Vec<Uuid> = all.iter().map(|t| t.id).collect();
    assert!(ids.contains(&third.id) && ids.contains(&fresh.id) && ids.contains(&claimed.id));
    assert!(!ids.contains(&gone.id));
    assert_eq!(all.len(), 4 + 3, "4 legacy left in GUILD, 3 new");
    store.close().await;
}

async fn second_open_is_a_no_op(guard: &DbGuard, legacy: &Legacy) {
    let first = guard.open().await;
    let version = first.schema_version().await.unwrap();
    let before = snapshot(&*first).await;
    assert_eq!(before.0.len(), legacy.rows.len());
    first.close().await;

    let second = guard.open().await;
    assert_eq!(second.schema_version().await.unwrap(), version);
    assert_eq!(
        snapshot(&*second).await,
        before,
        "a second open changed the data"
    );
    for e in &legacy.rows {
        assert_legacy_ticket(guard.backend, e, second.get(e.id()).await.unwrap().as_ref());
        assert_eq!(imported_events(&second.history(e.id()).await.unwrap()), 1);
    }

    // Work done after the upgrade survives a further open too.
    let t = match second
        .create_ticket(GUILD, USER_3 + 1, 1, ticketbot_common::ticket::now())
        .await
        .unwrap()
    {
        CreateOutcome::Created(t) => t,
        other => panic!("{other:?}"),
    };
    let claim = Transition::Claim {
        by: STAFF_NEW,
        at: ticketbot_common::ticket::now(),
    };
    let claimed = second.transition(uuid(OPEN), &claim).await.unwrap();
    let after = snapshot(&*second).await;
    second.close().await;

    let third = guard.open().await;
    assert_eq!(snapshot(&*third).await, after);
    assert_eq!(third.get(t.id).await.unwrap(), Some(t));
    assert_eq!(third.get(uuid(OPEN)).await.unwrap(), Some(claimed));
    // The legacy rows are not imported a second time over the changed data.
    let counts: HashMap<Uuid, usize> = after
        .1
        .iter()
        .filter(|e| e.kind == EventKind::Imported)
        .fold(HashMap::new(), |mut m, e| {
            *m.entry(e.ticket_id).or_default() += 1;
            m
        });
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    third.close().await;
}

/// Processes (the bot, ticketctl, ...) starting at once on the Python bot's database: all
/// come up, and the legacy rows are taken over once.
async fn simultaneous_first_opens(guard: &DbGuard, legacy: &Legacy) {
    let opened =
        futures::future::join_all((0..4).map(|_| ticketbot_common::open_store(&guard.config)))
            .await;
    let errors: Vec<String> = opened
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(errors.is_empty(), "simultaneous opens failed: {errors:?}");
    let stores: Vec<_> = opened.into_iter().map(Result::unwrap).collect();
    let sa = snapshot(&*stores[0]).await;
    for s in &stores[1..] {
        assert_eq!(snapshot(&**s).await, sa);
    }
    assert_eq!(sa.0.len(), legacy.rows.len());
    for e in &legacy.rows {
        assert_legacy_ticket(
            guard.backend,
            e,
            stores[0].get(e.id()).await.unwrap().as_ref(),
        );
    }
    let per_ticket: BTreeMap<Uuid, usize> =
        sa.1.iter()
            .filter(|e| e.kind == EventKind::Imported)
            .fold(BTreeMap::new(), |mut m, e| {
                *m.entry(e.ticket_id).or_default() += 1;
                m
            });
    assert_eq!(per_ticket.len(), legacy.rows.len(), "{per_ticket:?}");
    assert!(
        per_ticket.values().all(|&n| n == 1),
        "imported twice: {per_ticket:?}"
    );
    for s in &stores {
        s.close().await;
    }
}

async fn empty_legacy_database(guard: &DbGuard) {
    let store = guard.open().await;
    assert!(store.schema_version().await.unwrap() > 0);
    assert_eq!(store.record_counts().await.unwrap().tickets, 0);
    let t = match store
        .create_ticket(GUILD, USER_1, 1, ticketbot_common::ticket::now())
        .await
        .unwrap()
    {
        CreateOutcome::Created(t) => t,
        other => panic!("{other:?}"),
    };
    assert_eq!(store.get(t.id).await.unwrap(), Some(t.clone()));
    store.close().await;
    let again = guard.open().await;
    assert_eq!(again.get(t.id).await.unwrap(), Some(t));
    again.close().await;
}

/// The Python bot kept no uniqueness on `channel_id`: two open tickets may name one channel.
/// The upgrade must finish (it once looped for ever on MongoDB), keep both tickets and their
/// histories, and give the channel to one of them only.
macro_rules! legacy_shared_channel {
    ($($test:ident = $backend:ident;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                let guard = DbGuard::new(Backend::$backend);
                two_open_tickets_sharing_a_channel(&guard).await;
                guard.cleanup().await;
            }
        )*
    };
}

legacy_shared_channel! {
    sqlite_two_open_tickets_sharing_a_channel = Sqlite;
    mysql_two_open_tickets_sharing_a_channel = Mysql;
    mongodb_two_open_tickets_sharing_a_channel = Mongodb;
}

const SHARES_OPEN_CHANNEL: &str = "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";

async fn two_open_tickets_sharing_a_channel(guard: &DbGuard) {
    let mut rows = legacy_rows();
    let shared = rows[0].channel;
    rows.push(LegacyRow {
        id: uuid(SHARES_OPEN_CHANNEL),
        guild: GUILD,
        channel: shared,
        creator: USER_4,
        status: TicketStatus::Open,
        created_at: ts("2025-08-15T10:00:00Z"),
        closed_at: None,
        claimed_by: None,
    });
    let legacy = build_legacy(guard, &rows).await;
    let store = tokio::time::timeout(std::time::Duration::from_secs(60), guard.open())
        .await
        .expect("the upgrade finishes");
    assert_eq!(
        store.record_counts().await.unwrap().tickets,
        legacy.rows.len() as u64,
        "every ticket kept"
    );
    let first = store.get(uuid(OPEN)).await.unwrap().expect("kept");
    let second = store
        .get(uuid(SHARES_OPEN_CHANNEL))
        .await
        .unwrap()
        .expect("kept");
    let holders = [&first, &second]
        .iter()
        .filter(|t| t.channel_id == shared)
        .count();
    assert_eq!(holders, 1, "{first:?} {second:?}");
    for t in [&first, &second] {
        assert_eq!(t.status, TicketStatus::Open);
        assert!(!store.history(t.id).await.unwrap().is_empty());
    }
    assert_eq!(
        store
            .get_by_channel(shared.unwrap())
            .await
            .unwrap()
            .map(|t| t.id),
        Some(first.id),
        "the ticket upgraded first keeps the channel"
    );
    let note = store
        .history(second.id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind == EventKind::Imported)
        .and_then(|e| e.details)
        .unwrap_or_default();
    assert!(
        note.contains(&format!("was also recorded for ticket {}", first.id)),
        "{note}"
    );
    store.close().await;
}
