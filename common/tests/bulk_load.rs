//! The SQL bulk load (takeover, `ticketctl migrate` into an empty file or database) sets the
//! secondary indexes aside while rows go in. Whatever interrupts it, the next open builds them again
//! before anything uses the database, and the data keeps every constraint.

mod support;

use chrono::{TimeDelta, Utc};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use support::{export_all_events, export_all_tickets, DbGuard, MysqlServer};
use ticketbot_common::store::{open_current_store, TicketRecord};
use ticketbot_common::store::{Backend, CreateOutcome};
use ticketbot_common::{StoreError, TicketEvent, Transition};

/// The explicit indexes: table, name and definition (MySQL: its columns and uniqueness).
async fn indexes(guard: &DbGuard) -> Vec<(String, String, String)> {
    if guard.backend == Backend::Mysql {
        let pool = MysqlServer::from_env().pool(Some(&guard.name)).await;
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT CAST(TABLE_NAME AS CHAR), CAST(INDEX_NAME AS CHAR), \
             CAST(CONCAT(NON_UNIQUE, ':', GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX)) AS CHAR) \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
             AND INDEX_NAME <> 'PRIMARY' GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE ORDER BY 2",
        )
        .fetch_all(&pool)
        .await
        .expect("read information_schema");
        pool.close().await;
        return rows;
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(guard.sqlite_path())
        .connect()
        .await
        .expect("open the file");
    let rows = sqlx::query_as(
        "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .expect("read sqlite_master");
    conn.close().await.ok();
    rows
}

/// A source with two tickets of one creator: one open with a channel, one closed.
async fn source() -> (DbGuard, Vec<TicketRecord>, Vec<TicketEvent>) {
    let guard = DbGuard::new(Backend::Sqlite);
    let store = guard.open().await;
    let at = Utc::now() - TimeDelta::hours(1);
    let open = |n: i64| store.create_ticket(1, 7, 2, at + TimeDelta::seconds(n));
    let (CreateOutcome::Created(a), CreateOutcome::Created(b)) =
        (open(1).await.unwrap(), open(2).await.unwrap())
    else {
        panic!("two tickets within the limit of 2");
    };
    store.set_channel(a.id, Some(555)).await.unwrap();
    store
        .transition(
            b.id,
            &Transition::Close {
                by: Some(9),
                reason: None,
                at: at + TimeDelta::seconds(3),
                forced: false,
            },
        )
        .await
        .unwrap();
    let tickets = export_all_tickets(&*store, 100).await;
    let events = export_all_events(&*store, 100).await;
    store.close().await;
    (guard, tickets, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_interrupted_bulk_load_is_finished_by_the_next_open() {
    interrupted_bulk_load(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_an_interrupted_bulk_load_is_finished_by_the_next_open() {
    interrupted_bulk_load(Backend::Mysql).await;
}

async fn interrupted_bulk_load(backend: Backend) {
    let (_src, tickets, events) = source().await;
    for reopen_as_tool in [false, true] {
        let guard = DbGuard::new(backend);
        let store = guard.open().await;
        let full = indexes(&guard).await;
        assert!(full.len() >= 10, "the schema's indexes: {full:?}");
        assert!(store.begin_bulk_load().await.unwrap());
        let during = indexes(&guard).await;
        assert!(
            during
                .iter()
                .all(|(table, ..)| !table.starts_with("ticket")),
            "the record tables' indexes are set aside during the load: {during:?}"
        );
        assert!(
            during.len() < full.len() && !during.is_empty(),
            "the others stay"
        );
        // A second begin (a resumed load) goes on in bulk mode.
        store.import_tickets(&tickets).await.unwrap();
        assert!(store.begin_bulk_load().await.unwrap());
        store.import_events(&events).await.unwrap();
        // Killed here: no finish.
        store.close().await;
        drop(store);

        let store = if reopen_as_tool {
            open_current_store(&guard.config).await.unwrap()
        } else {
            guard.open().await
        };
        assert_eq!(
            indexes(&guard).await,
            full,
            "rebuilt by the next open (tool: {reopen_as_tool})"
        );
        assert!(
            !store.begin_bulk_load().await.unwrap(),
            "not empty any more"
        );
        assert_eq!(export_all_tickets(&*store, 100).await, tickets);
        assert_eq!(export_all_events(&*store, 100).await, events);
        // The rebuilt unique indexes hold: the channel and the open slot.
        let open = tickets
            .iter()
            .find(|r| r.ticket.channel_id.is_some())
            .unwrap();
        let CreateOutcome::Created(fresh) = store.create_ticket(1, 8, 1, Utc::now()).await.unwrap()
        else {
            panic!("a new creator may open a ticket");
        };
        match store.set_channel(fresh.id, Some(555)).await {
            Err(StoreError::ChannelTaken { ticket_id, .. }) => {
                assert_eq!(ticket_id, open.ticket.id)
            }
            other => panic!("channel 555 is taken: expected ChannelTaken, got {other:?}"),
        }
        match store.create_ticket(1, 7, 1, Utc::now()).await.unwrap() {
            CreateOutcome::LimitReached { open } => assert_eq!(open.len(), 1),
            other => panic!("creator 7 holds one open ticket, limit 1: got {other:?}"),
        }
        store.close().await;
    }
}
