//! Archive, transcripts, overflow categories, leases and purge: every scenario runs on SQLite,
//! MySQL/MariaDB and MongoDB (one test per backend, each on a fresh database), like the
//! conformance suite.

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use futures::TryStreamExt;
use tokio::sync::Barrier;
use uuid::Uuid;

use support::{mongo_client, MysqlServer, TestDb};
use ticketbot_common::rules::{RuleError, Transition};
use ticketbot_common::store::{
    ArchiveQuery, Backend, CategoryKind, CreateOutcome, OverflowCategory, PurgeCounts, PurgeQuery,
    Record, TranscriptBlob, TRANSCRIPT_CHUNK_BYTES,
};
use ticketbot_common::ticket::{DiscordId, EventKind, Ticket, TicketStatus};
use ticketbot_common::{StoreError, StoreResult, TicketStore};

macro_rules! on_every_backend {
    ($($scenario:ident => $sqlite:ident, $mysql:ident, $mongodb:ident;)*) => {
        $(
            on_every_backend!(@one $scenario, $sqlite, Sqlite);
            on_every_backend!(@one $scenario, $mysql, Mysql);
            on_every_backend!(@one $scenario, $mongodb, Mongodb);
        )*
    };
    (@one $scenario:ident, $test:ident, $backend:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $test() {
            let db = TestDb::new(Backend::$backend).await;
            $scenario(&db).await;
            db.finish().await;
        }
    };
}

on_every_backend! {
    transcript_round_trip =>
        sqlite_transcript_round_trip, mysql_transcript_round_trip, mongodb_transcript_round_trip;
    transcript_replace_while_reading =>
        sqlite_transcript_replace_while_reading,
        mysql_transcript_replace_while_reading,
        mongodb_transcript_replace_while_reading;
    export_transcripts_paging =>
        sqlite_export_transcripts_paging,
        mysql_export_transcripts_paging,
        mongodb_export_transcripts_paging;
    mark_archived_rules =>
        sqlite_mark_archived_rules, mysql_mark_archived_rules, mongodb_mark_archived_rules;
    mark_archived_concurrently =>
        sqlite_mark_archived_concurrently,
        mysql_mark_archived_concurrently,
        mongodb_mark_archived_concurrently;
    reopen_of_archived_takes_the_slot =>
        sqlite_reopen_of_archived_takes_the_slot,
        mysql_reopen_of_archived_takes_the_slot,
        mongodb_reopen_of_archived_takes_the_slot;
    archivable_and_requests =>
        sqlite_archivable_and_requests,
        mysql_archivable_and_requests,
        mongodb_archivable_and_requests;
    overflow_categories =>
        sqlite_overflow_categories, mysql_overflow_categories, mongodb_overflow_categories;
    overflow_categories_race =>
        sqlite_overflow_categories_race,
        mysql_overflow_categories_race,
        mongodb_overflow_categories_race;
    leases =>
        sqlite_leases, mysql_leases, mongodb_leases;
    leases_race =>
        sqlite_leases_race, mysql_leases_race, mongodb_leases_race;
    purge =>
        sqlite_purge, mysql_purge, mongodb_purge;
    stream_all_carries_transcripts_and_categories =>
        sqlite_stream_all_carries_transcripts_and_categories,
        mysql_stream_all_carries_transcripts_and_categories,
        mongodb_stream_all_carries_transcripts_and_categories;
}

// ---------------------------------------------------------------------------------------------
// Helpers.

const G1: DiscordId = 1_111_111_111_111_111_111;
const G2: DiscordId = 2_222_222_222_222_222_222;
const STAFF: DiscordId = 900_000_000_000_000_001;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00.000001Z")
        .expect("timestamp")
        .with_timezone(&Utc)
}

fn mins(n: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(n)
}

fn chan(n: u64) -> DiscordId {
    1_300_000_000_000_000_000 + n
}

#[track_caller]
fn rule<T: std::fmt::Debug>(result: StoreResult<T>) -> RuleError {
    match result {
        Err(StoreError::Rule(e)) => e,
        other => panic!("expected a rule refusal, got {other:?}"),
    }
}

/// Bytes that do not repeat in any useful way (xorshift), so that a chunk out of place shows.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn blob(ticket_id: Uuid, data: Vec<u8>, messages: u32) -> TranscriptBlob {
    TranscriptBlob {
        ticket_id,
        guild_id: G1,
        created_at: mins(1000 + i64::from(messages)),
        message_count: messages,
        data,
    }
}

/// A ticket created at `created` minutes, with a channel `chan(n)` when `n` is given.
async fn ticket(
    store: &dyn TicketStore,
    guild: DiscordId,
    creator: DiscordId,
    created: i64,
    channel: Option<u64>,
) -> Ticket {
    let t = match store
        .create_ticket(guild, creator, 100, mins(created))
        .await
        .expect("create_ticket")
    {
        CreateOutcome::Created(t) => t,
        other => panic!("create refused: {other:?}"),
    };
    match channel {
        Some(n) => store
            .set_channel(t.id, Some(chan(n)))
            .await
            .expect("set_channel"),
        None => t,
    }
}

async fn close_at(store: &dyn TicketStore, id: Uuid, at: i64) -> Ticket {
    store
        .transition(
            id,
            &Transition::Close {
                by: Some(STAFF),
                reason: None,
                at: mins(at),
                forced: false,
            },
        )
        .await
        .expect("close")
}

/// How many transcript chunks the database holds, read behind the store's back.
async fn chunk_rows(db: &TestDb) -> u64 {
    let sql = "SELECT COUNT(*) FROM transcript_chunks";
    match db.backend() {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect_with(
                sqlx::sqlite::SqliteConnectOptions::new().filename(db.guard.sqlite_path()),
            )
            .await
            .expect("sqlite");
            let n: i64 = sqlx::query_scalar(sql)
                .fetch_one(&pool)
                .await
                .expect("count");
            pool.close().await;
            n as u64
        }
        Backend::Mysql => {
            let pool = MysqlServer::from_env().pool(Some(&db.guard.name)).await;
            let n: i64 = sqlx::query_scalar(sql)
                .fetch_one(&pool)
                .await
                .expect("count");
            pool.close().await;
            n as u64
        }
        Backend::Mongodb => mongo_client()
            .await
            .database(&db.guard.name)
            .collection::<bson::Document>("transcript_chunks")
            .count_documents(bson::doc! {})
            .await
            .expect("count"),
    }
}

fn chunks_of(len: usize) -> u64 {
    len.div_ceil(TRANSCRIPT_CHUNK_BYTES) as u64
}

// ---------------------------------------------------------------------------------------------
// Transcripts.

async fn transcript_round_trip(db: &TestDb) {
    let store = db.store();
    assert_eq!(store.get_transcript(Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(store.transcript_info(Uuid::new_v4()).await.unwrap(), None);

    let small = blob(Uuid::new_v4(), b"<html>\0\xff tiny</html>".to_vec(), 2);
    let empty = blob(Uuid::new_v4(), Vec::new(), 0);
    let five = blob(Uuid::new_v4(), random_bytes(5 * 1024 * 1024, 5), 5_000);
    // 20 MiB and one byte: 21 chunks, more than MySQL's default packet and Mongo's document.
    let twenty = blob(
        Uuid::new_v4(),
        random_bytes(20 * 1024 * 1024 + 1, 20),
        20_000,
    );
    for b in [&small, &empty, &five, &twenty] {
        store.put_transcript(b).await.expect("put_transcript");
    }
    for b in [&small, &empty, &five, &twenty] {
        let got = store
            .get_transcript(b.ticket_id)
            .await
            .unwrap()
            .expect("stored");
        assert!(got == *b, "transcript of {} differs", b.data.len());
        let info = store
            .transcript_info(b.ticket_id)
            .await
            .unwrap()
            .expect("info");
        assert_eq!(info.ticket_id, b.ticket_id);
        assert_eq!(info.guild_id, b.guild_id);
        assert_eq!(info.created_at, b.created_at);
        assert_eq!(info.message_count, b.message_count);
        assert_eq!(info.size, b.data.len() as u64);
    }
    let expected_chunks: u64 = [&small, &empty, &five, &twenty]
        .iter()
        .map(|b| chunks_of(b.data.len()))
        .sum();
    assert_eq!(expected_chunks, 1 + 5 + 21);
    assert_eq!(chunk_rows(db).await, expected_chunks);

    // A replace: the new bytes, the old chunks gone.
    let mut replaced = five.clone();
    replaced.data = random_bytes(2 * 1024 * 1024 + 3, 77);
    replaced.message_count = 7;
    store.put_transcript(&replaced).await.unwrap();
    assert!(store.get_transcript(five.ticket_id).await.unwrap() == Some(replaced.clone()));
    assert_eq!(chunk_rows(db).await, expected_chunks - 5 + 3);
    assert_eq!(store.record_counts().await.unwrap().transcripts, 4);
}

async fn transcript_replace_while_reading(db: &TestDb) {
    let store = db.store();
    let id = Uuid::new_v4();
    // The same size and chunk count: only the bytes tell the versions apart, so a read that
    // mixed chunks of both would pass every length check and must be caught here.
    let a = blob(id, random_bytes(3 * 1024 * 1024 + 17, 1), 1);
    let b = blob(id, random_bytes(3 * 1024 * 1024 + 17, 2), 1);
    store.put_transcript(&a).await.unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (store, a, b, stop) = (store.clone(), a.clone(), b.clone(), stop.clone());
            tokio::spawn(async move {
                let mut reads = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || reads < 3 {
                    let got = store.get_transcript(id).await.expect("get").expect("some");
                    assert!(got == a || got == b, "a read saw a mix of two versions");
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for i in 0..12 {
        let next = if i % 2 == 0 { &b } else { &a };
        store.put_transcript(next).await.expect("replace");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        assert!(r.await.expect("reader") >= 3);
    }
    // Ends with `a` (12 replaces), and no chunk of an old version is left.
    assert!(store.get_transcript(id).await.unwrap() == Some(a.clone()));
    assert_eq!(chunk_rows(db).await, chunks_of(a.data.len()));
}

async fn export_transcripts_paging(db: &TestDb) {
    let store = db.store();
    let mut stored: Vec<TranscriptBlob> = (0..7)
        .map(|i| blob(Uuid::new_v4(), random_bytes(100 + i, i as u64), i as u32))
        .collect();
    for b in &stored {
        store.put_transcript(b).await.unwrap();
    }
    stored.sort_by_key(|b| b.ticket_id);
    let mut got = Vec::new();
    let mut after = None;
    loop {
        let page = store.export_transcripts(after, 3).await.unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = Some(last.ticket_id);
        got.extend(page);
    }
    assert_eq!(got, stored);
    let last = stored.last().map(|b| b.ticket_id);
    assert!(store.export_transcripts(last, 3).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Archive.

async fn mark_archived_rules(db: &TestDb) {
    let store = db.store();
    let t = ticket(&*store, G1, 10, 0, Some(1)).await;
    assert_eq!(
        rule(store.mark_archived(t.id, Some(STAFF), mins(1)).await),
        RuleError::NotClosed
    );
    assert_eq!(
        rule(store.mark_archived(Uuid::new_v4(), None, mins(1)).await),
        RuleError::NotFound
    );
    close_at(&*store, t.id, 2).await;
    let archived = store
        .mark_archived(t.id, Some(STAFF), mins(3))
        .await
        .unwrap();
    assert_eq!(archived.archived_at, Some(mins(3)));
    assert_eq!(archived.channel_id, None);
    assert_eq!(archived.archive_requested_at, None);
    assert_eq!(archived.updated_at, mins(3));
    assert_eq!(archived.status, TicketStatus::Closed);
    assert_eq!(store.get(t.id).await.unwrap(), Some(archived.clone()));
    assert_eq!(store.get_by_channel(chan(1)).await.unwrap(), None);
    let history = store.history(t.id).await.unwrap();
    let last = history.last().expect("events");
    assert_eq!(last.kind, EventKind::Archived);
    assert_eq!(last.actor_id, Some(STAFF));
    assert_eq!(last.at, mins(3));
    assert_eq!(last.details, Some(chan(1).to_string()));
    assert_eq!(
        rule(store.mark_archived(t.id, Some(STAFF), mins(4)).await),
        RuleError::AlreadyArchived
    );
    assert_eq!(store.history(t.id).await.unwrap().len(), history.len());
    // The freed channel can go to another ticket.
    let other = ticket(&*store, G1, 11, 5, None).await;
    store.set_channel(other.id, Some(chan(1))).await.unwrap();
}

async fn mark_archived_concurrently(db: &TestDb) {
    let store = db.store();
    let t = ticket(&*store, G1, 10, 0, Some(1)).await;
    close_at(&*store, t.id, 1).await;
    let barrier = Arc::new(Barrier::new(10));
    let results = join_all((0..10u64).map(|i| {
        let (store, barrier) = (store.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            store.mark_archived(t.id, Some(STAFF + i), mins(2)).await
        })
    }))
    .await;
    let mut ok = 0;
    for r in results {
        match r.expect("task") {
            Ok(_) => ok += 1,
            Err(StoreError::Rule(RuleError::AlreadyArchived)) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(ok, 1, "exactly one archiver wins");
    let archived = store
        .history(t.id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::Archived)
        .count();
    assert_eq!(archived, 1);
}

async fn reopen_of_archived_takes_the_slot(db: &TestDb) {
    let store = db.store();
    let user = 42;
    let t = ticket(&*store, G1, user, 0, Some(1)).await;
    close_at(&*store, t.id, 1).await;
    store.mark_archived(t.id, None, mins(2)).await.unwrap();
    // Closed and archived: the user's slot is free.
    let other = match store.create_ticket(G1, user, 1, mins(3)).await.unwrap() {
        CreateOutcome::Created(o) => o,
        r => panic!("{r:?}"),
    };
    close_at(&*store, other.id, 4).await;
    let reopened = store
        .transition(
            t.id,
            &Transition::Reopen {
                by: STAFF,
                at: mins(5),
            },
        )
        .await
        .unwrap();
    assert_eq!(reopened.status, TicketStatus::Open);
    assert_eq!(reopened.archived_at, None);
    assert_eq!(reopened.archive_requested_at, None);
    assert_eq!(reopened.channel_id, None);
    assert_eq!(store.get(t.id).await.unwrap(), Some(reopened.clone()));
    // The reopened ticket holds the slot again.
    match store.create_ticket(G1, user, 1, mins(6)).await.unwrap() {
        CreateOutcome::LimitReached { open } => assert_eq!(open, vec![reopened.clone()]),
        r => panic!("expected the limit, got {r:?}"),
    }
    let kinds: Vec<EventKind> = store
        .history(t.id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            EventKind::Opened,
            EventKind::Closed,
            EventKind::Archived,
            EventKind::Reopened
        ]
    );
    // A requested, unarchived ticket: reopen clears the request.
    let r = ticket(&*store, G1, 43, 7, Some(2)).await;
    close_at(&*store, r.id, 8).await;
    let q = ArchiveQuery {
        guild_id: Some(G1),
        closed_before: None,
        requested: true,
    };
    assert_eq!(store.request_archive(&q, mins(9)).await.unwrap(), 1);
    assert_eq!(
        store.get(r.id).await.unwrap().unwrap().archive_requested_at,
        Some(mins(9))
    );
    let reopened = store
        .transition(
            r.id,
            &Transition::Reopen {
                by: STAFF,
                at: mins(10),
            },
        )
        .await
        .unwrap();
    assert_eq!(reopened.archive_requested_at, None);
    assert_eq!(reopened.channel_id, Some(chan(2)));
    assert_eq!(store.count_archivable(&q).await.unwrap(), 0);
}

async fn archivable_and_requests(db: &TestDb) {
    let store = db.store();
    // a: created last among the G1 ones but closed first: the order is by close time.
    let b = ticket(&*store, G1, 2, 0, Some(2)).await;
    let c = ticket(&*store, G1, 3, 1, Some(3)).await;
    let d = ticket(&*store, G1, 4, 2, Some(4)).await; // stays open
    let e = ticket(&*store, G1, 5, 3, None).await; // no channel
    let f = ticket(&*store, G1, 6, 4, Some(6)).await; // archived
    let g = ticket(&*store, G2, 7, 5, Some(7)).await; // other guild
    let h = ticket(&*store, G1, 8, 6, Some(8)).await; // closed late
    let a = ticket(&*store, G1, 1, 7, Some(1)).await;
    close_at(&*store, a.id, 10).await;
    close_at(&*store, b.id, 20).await;
    close_at(&*store, g.id, 30).await;
    close_at(&*store, e.id, 11).await;
    close_at(&*store, f.id, 12).await;
    store.mark_archived(f.id, None, mins(13)).await.unwrap();
    close_at(&*store, c.id, 200).await;
    close_at(&*store, h.id, 300).await;
    let ids = |ts: Vec<Ticket>| ts.into_iter().map(|t| t.id).collect::<Vec<_>>();
    let q = |guild, before: Option<i64>, requested| ArchiveQuery {
        guild_id: guild,
        closed_before: before.map(mins),
        requested,
    };

    let due = q(Some(G1), Some(100), false);
    assert_eq!(
        ids(store.archivable(&due, 100).await.unwrap()),
        [a.id, b.id]
    );
    assert_eq!(store.count_archivable(&due).await.unwrap(), 2);
    assert_eq!(ids(store.archivable(&due, 1).await.unwrap()), [a.id]);
    let everywhere = q(None, Some(100), false);
    assert_eq!(
        ids(store.archivable(&everywhere, 100).await.unwrap()),
        [a.id, b.id, g.id]
    );
    assert_eq!(store.count_archivable(&everywhere).await.unwrap(), 3);
    // Nothing requested yet.
    assert_eq!(
        store
            .count_archivable(&q(Some(G1), None, true))
            .await
            .unwrap(),
        0
    );

    // Request the G1 tickets closed before 250: a, b, c (not h: later; not d, e, f, g).
    let before = store.get(c.id).await.unwrap().unwrap();
    let marked = store
        .request_archive(&q(Some(G1), Some(250), true), mins(400))
        .await
        .unwrap();
    assert_eq!(marked, 3);
    let after = store.get(c.id).await.unwrap().unwrap();
    assert_eq!(after.archive_requested_at, Some(mins(400)));
    assert_eq!(after.updated_at, mins(400));
    assert_eq!(
        after,
        Ticket {
            archive_requested_at: Some(mins(400)),
            updated_at: mins(400),
            ..before
        }
    );
    assert_eq!(
        store.get(h.id).await.unwrap().unwrap().archive_requested_at,
        None
    );
    assert_eq!(
        store.get(d.id).await.unwrap().unwrap().archive_requested_at,
        None
    );
    // Again: already requested, nothing new.
    assert_eq!(
        store
            .request_archive(&q(Some(G1), Some(250), true), mins(401))
            .await
            .unwrap(),
        0
    );

    // Only requested ones (no cutoff): a, b, c; with a cutoff and requested: the same plus
    // nothing else; without `requested`, the cutoff alone.
    assert_eq!(
        ids(store
            .archivable(&q(Some(G1), None, false), 100)
            .await
            .unwrap()),
        [a.id, b.id, c.id]
    );
    assert_eq!(
        ids(store
            .archivable(&q(Some(G1), Some(15), true), 100)
            .await
            .unwrap()),
        [a.id, b.id, c.id]
    );
    assert_eq!(
        ids(store
            .archivable(&q(Some(G1), Some(15), false), 100)
            .await
            .unwrap()),
        [a.id]
    );
    assert_eq!(
        store
            .count_archivable(&q(Some(G1), None, true))
            .await
            .unwrap(),
        3
    );
    // The bot's catch-up sees the request.
    let changed = ids(store.updated_since(mins(400), 100).await.unwrap());
    let changed: HashSet<Uuid> = changed.into_iter().collect();
    assert!([a.id, b.id, c.id].iter().all(|id| changed.contains(id)));
    assert!(!changed.contains(&h.id));

    // Archived: gone from the list, request cleared.
    let archived = store.mark_archived(a.id, None, mins(500)).await.unwrap();
    assert_eq!(archived.archive_requested_at, None);
    assert_eq!(
        ids(store
            .archivable(&q(Some(G1), None, true), 100)
            .await
            .unwrap()),
        [b.id, c.id]
    );
    assert_eq!(
        store
            .count_archivable(&q(None, Some(1000), false))
            .await
            .unwrap(),
        4
    );
}

// ---------------------------------------------------------------------------------------------
// Overflow categories.

fn category(base: DiscordId, number: u32, id: DiscordId) -> OverflowCategory {
    OverflowCategory {
        guild_id: G1,
        base_id: base,
        kind: CategoryKind::Open,
        number,
        category_id: id,
        created_at: mins(i64::from(number)),
    }
}

async fn overflow_categories(db: &TestDb) {
    let store = db.store();
    let base = 1_500_000_000_000_000_000;
    let c2 = category(base, 2, 1_500_000_000_000_000_002);
    let c3 = OverflowCategory {
        kind: CategoryKind::Closed,
        ..category(base, 3, u64::MAX - 1)
    };
    let elsewhere = OverflowCategory {
        guild_id: G2,
        ..category(base + 1, 2, 1_500_000_000_000_000_102)
    };
    assert_eq!(store.add_overflow_category(&c3).await.unwrap(), None);
    assert_eq!(store.add_overflow_category(&c2).await.unwrap(), None);
    assert_eq!(store.add_overflow_category(&elsewhere).await.unwrap(), None);
    // The same category again: idempotent.
    assert_eq!(store.add_overflow_category(&c2).await.unwrap(), None);
    assert_eq!(
        store.overflow_categories(G1, base).await.unwrap(),
        vec![c2.clone(), c3.clone()]
    );
    assert_eq!(store.overflow_categories(G2, base).await.unwrap(), vec![]);
    // Another process's number 2: the recorded one comes back.
    let late = category(base, 2, 1_500_000_000_000_000_999);
    assert_eq!(
        store.add_overflow_category(&late).await.unwrap(),
        Some(c2.clone())
    );
    // One category id for another number: refused.
    let clash = category(base, 9, c2.category_id);
    assert!(matches!(
        store.add_overflow_category(&clash).await,
        Err(StoreError::Conflict(_))
    ));
    let mut all = vec![c2.clone(), c3.clone(), elsewhere.clone()];
    all.sort_by_key(|c| c.category_id);
    assert_eq!(store.all_overflow_categories().await.unwrap(), all);
    assert_eq!(store.record_counts().await.unwrap().categories, 3);
    assert!(store
        .remove_overflow_category(c2.category_id)
        .await
        .unwrap());
    assert!(!store
        .remove_overflow_category(c2.category_id)
        .await
        .unwrap());
    assert_eq!(store.overflow_categories(G1, base).await.unwrap(), vec![c3]);
    // Number 2 is free again.
    assert_eq!(store.add_overflow_category(&late).await.unwrap(), None);
}

async fn overflow_categories_race(db: &TestDb) {
    let store = db.store();
    let base = 1_600_000_000_000_000_000;
    let barrier = Arc::new(Barrier::new(10));
    let results = join_all((0..10u64).map(|i| {
        let (store, barrier) = (store.clone(), barrier.clone());
        tokio::spawn(async move {
            let mine = category(base, 2, base + 100 + i);
            barrier.wait().await;
            (mine.clone(), store.add_overflow_category(&mine).await)
        })
    }))
    .await;
    let mut winners = Vec::new();
    let mut told = Vec::new();
    for r in results {
        let (mine, res) = r.expect("task");
        match res.expect("add_overflow_category") {
            None => winners.push(mine),
            Some(existing) => told.push(existing),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one recorded: {winners:?}");
    assert_eq!(told.len(), 9);
    assert!(
        told.iter().all(|c| *c == winners[0]),
        "the others get the winner"
    );
    assert_eq!(store.overflow_categories(G1, base).await.unwrap(), winners);
}

// ---------------------------------------------------------------------------------------------
// Leases.

async fn leases(db: &TestDb) {
    let store = db.store();
    let secs = |s: i64| t0() + Duration::seconds(s);
    assert!(store
        .try_lease("archive", "a", secs(0), secs(30))
        .await
        .unwrap());
    assert!(!store
        .try_lease("archive", "b", secs(10), secs(40))
        .await
        .unwrap());
    // Another key is independent.
    assert!(store
        .try_lease("purge", "b", secs(10), secs(40))
        .await
        .unwrap());
    // The holder renews.
    assert!(store
        .try_lease("archive", "a", secs(20), secs(50))
        .await
        .unwrap());
    assert!(!store
        .try_lease("archive", "b", secs(45), secs(80))
        .await
        .unwrap());
    // Expired: another takes it; the old holder can't.
    assert!(store
        .try_lease("archive", "b", secs(51), secs(80))
        .await
        .unwrap());
    assert!(!store
        .try_lease("archive", "a", secs(52), secs(90))
        .await
        .unwrap());
    // Only the holder releases.
    store.release_lease("archive", "a").await.unwrap();
    assert!(!store
        .try_lease("archive", "a", secs(53), secs(90))
        .await
        .unwrap());
    store.release_lease("archive", "b").await.unwrap();
    assert!(store
        .try_lease("archive", "a", secs(54), secs(90))
        .await
        .unwrap());
    // Exactly at `until` it is not expired yet.
    assert!(!store
        .try_lease("archive", "c", secs(90), secs(95))
        .await
        .unwrap());
    assert!(store
        .try_lease("archive", "c", secs(91), secs(95))
        .await
        .unwrap());
}

async fn leases_race(db: &TestDb) {
    let store = db.store();
    let barrier = Arc::new(Barrier::new(20));
    let results = join_all((0..20).map(|i| {
        let (store, barrier) = (store.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            store
                .try_lease("race", &format!("holder-{i}"), t0(), mins(5))
                .await
        })
    }))
    .await;
    let won = results
        .into_iter()
        .map(|r| r.expect("task").expect("try_lease"))
        .filter(|w| *w)
        .count();
    assert_eq!(won, 1);
    // And once expired, again exactly one of many.
    let barrier = Arc::new(Barrier::new(20));
    let results = join_all((0..20).map(|i| {
        let (store, barrier) = (store.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            store
                .try_lease("race", &format!("late-{i}"), mins(6), mins(10))
                .await
        })
    }))
    .await;
    let won = results
        .into_iter()
        .map(|r| r.expect("task").expect("try_lease"))
        .filter(|w| *w)
        .count();
    assert_eq!(won, 1);
}

// ---------------------------------------------------------------------------------------------
// Purge.

async fn purge(db: &TestDb) {
    let store = db.store();
    let (u1, u2, u3) = (501, 502, 503);
    // G1, cutoff at minute 100.
    let t1 = ticket(&*store, G1, u1, 0, Some(1)).await; // closed, archived: purged
    store
        .add_participant(t1.id, 777, STAFF, mins(1))
        .await
        .unwrap();
    close_at(&*store, t1.id, 10).await;
    store.mark_archived(t1.id, None, mins(11)).await.unwrap();
    store
        .put_transcript(&blob(t1.id, random_bytes(TRANSCRIPT_CHUNK_BYTES + 1, 1), 3))
        .await
        .unwrap();
    let t2 = ticket(&*store, G1, u1, 1, Some(2)).await; // closed with channel: skipped
    close_at(&*store, t2.id, 12).await;
    let t3 = ticket(&*store, G1, u1, 2, None).await; // closed after the cutoff
    close_at(&*store, t3.id, 150).await;
    let t4 = ticket(&*store, G1, u1, 3, None).await; // open
    let t5 = ticket(&*store, G1, u2, 4, None).await; // closed, no channel: purged
    close_at(&*store, t5.id, 13).await;
    let t6 = ticket(&*store, G1, u1, 5, Some(6)).await; // deleted before the cutoff
    store
        .put_transcript(&blob(t6.id, b"saved before delete".to_vec(), 1))
        .await
        .unwrap();
    store.delete(t6.id, Some(STAFF), mins(14)).await.unwrap();
    let t7 = ticket(&*store, G1, u1, 6, None).await; // deleted after the cutoff
    store.delete(t7.id, Some(STAFF), mins(160)).await.unwrap();
    let t8 = ticket(&*store, G2, u3, 7, None).await; // other guild, closed, no channel
    close_at(&*store, t8.id, 15).await;

    let history = |id| {
        let store = store.clone();
        async move { store.history(id).await.unwrap() }
    };
    let events_of = |ids: Vec<Vec<ticketbot_common::ticket::TicketEvent>>| {
        ids.iter().map(|h| h.len() as u64).sum::<u64>()
    };

    // Refused without a time or user.
    let empty = PurgeQuery {
        guild_id: Some(G1),
        ..PurgeQuery::default()
    };
    assert!(matches!(
        store.purge(&empty, true, mins(1000)).await,
        Err(StoreError::InvalidQuery(_))
    ));
    assert!(matches!(
        store.purge(&empty, false, mins(1000)).await,
        Err(StoreError::InvalidQuery(_))
    ));

    let q = PurgeQuery {
        guild_id: Some(G1),
        closed_before: Some(mins(100)),
        user_id: None,
    };
    let expected = PurgeCounts {
        tickets: 2,
        deleted_histories: 1,
        events: events_of(vec![
            history(t1.id).await,
            history(t5.id).await,
            history(t6.id).await,
        ]),
        transcripts: 2,
        skipped_with_channel: 1,
    };
    assert_eq!(expected.events, 4 + 2 + 2);
    let counts_before = store.record_counts().await.unwrap();
    let chunks_before = chunk_rows(db).await;
    assert_eq!(
        store.purge(&q, true, mins(1000)).await.unwrap(),
        expected,
        "dry run"
    );
    assert_eq!(
        store.record_counts().await.unwrap(),
        counts_before,
        "a dry run changed data"
    );
    assert_eq!(chunk_rows(db).await, chunks_before);
    assert!(store.get(t1.id).await.unwrap().is_some());
    assert!(history(Uuid::nil()).await.is_empty());

    assert_eq!(store.purge(&q, false, mins(1000)).await.unwrap(), expected);
    for gone in [t1.id, t5.id] {
        assert_eq!(store.get(gone).await.unwrap(), None);
        assert!(store.participants(gone).await.unwrap().is_empty());
    }
    for gone in [t1.id, t5.id, t6.id] {
        assert!(history(gone).await.is_empty(), "history of {gone} left");
        assert_eq!(store.get_transcript(gone).await.unwrap(), None);
    }
    assert_eq!(chunk_rows(db).await, 0);
    for kept in [t2.id, t3.id, t4.id, t8.id] {
        assert!(
            store.get(kept).await.unwrap().is_some(),
            "{kept} was removed"
        );
    }
    assert!(
        !history(t7.id).await.is_empty(),
        "deleted after the cutoff: kept"
    );
    let after = store.record_counts().await.unwrap();
    assert_eq!(after.tickets, counts_before.tickets - 2);
    assert_eq!(after.participants, counts_before.participants - 1);
    assert_eq!(after.transcripts, 0);
    // The events went, one audit entry came.
    assert_eq!(after.events, counts_before.events - expected.events + 1);
    let audit = history(Uuid::nil()).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].kind, EventKind::Purged);
    assert_eq!(audit[0].guild_id, G1);
    assert_eq!(audit[0].actor_id, None);
    assert_eq!(audit[0].at, mins(1000));
    let details: serde_json::Value =
        serde_json::from_str(audit[0].details.as_deref().expect("details")).expect("json");
    assert_eq!(details["query"], serde_json::to_value(&q).unwrap());
    let mut in_guild = expected;
    in_guild.skipped_with_channel = 0;
    assert_eq!(
        serde_json::from_value::<PurgeCounts>(details["counts"].clone()).unwrap(),
        in_guild
    );

    // A re-run finds nothing more, and writes no audit entry for nothing.
    let again = store.purge(&q, false, mins(1001)).await.unwrap();
    assert_eq!(
        again,
        PurgeCounts {
            skipped_with_channel: 1,
            ..PurgeCounts::default()
        }
    );
    assert_eq!(history(Uuid::nil()).await.len(), 1);

    // By user, any time: u1's closed ticket without a channel and the history of their deleted
    // ticket; not their open one nor the one with a channel.
    let by_user = PurgeQuery {
        user_id: Some(u1),
        ..PurgeQuery::default()
    };
    let t7_events = history(t7.id).await.len() as u64;
    let t3_events = history(t3.id).await.len() as u64;
    let got = store.purge(&by_user, false, mins(1002)).await.unwrap();
    assert_eq!(
        got,
        PurgeCounts {
            tickets: 1,
            deleted_histories: 1,
            events: t3_events + t7_events,
            transcripts: 0,
            skipped_with_channel: 1,
        }
    );
    assert_eq!(store.get(t3.id).await.unwrap(), None);
    assert!(history(t7.id).await.is_empty());
    assert!(store.get(t4.id).await.unwrap().is_some());
    assert!(store.get(t2.id).await.unwrap().is_some());
    // The other guild was never touched; now by its own query.
    assert!(store.get(t8.id).await.unwrap().is_some());
    let g2 = PurgeQuery {
        guild_id: Some(G2),
        closed_before: Some(mins(100)),
        user_id: None,
    };
    assert_eq!(
        store.purge(&g2, false, mins(1003)).await.unwrap().tickets,
        1
    );
    assert_eq!(store.get(t8.id).await.unwrap(), None);
    let audit = history(Uuid::nil()).await;
    assert_eq!(audit.len(), 3);
    assert_eq!(audit.iter().filter(|e| e.guild_id == G2).count(), 1);
}

// ---------------------------------------------------------------------------------------------
// Export.

async fn stream_all_carries_transcripts_and_categories(db: &TestDb) {
    let store = db.store();
    let t = ticket(&*store, G1, 1, 0, Some(1)).await;
    let transcripts: Vec<TranscriptBlob> = (0..6)
        .map(|i| blob(Uuid::new_v4(), random_bytes(10 + i, i as u64), i as u32))
        .collect();
    for b in &transcripts {
        store.put_transcript(b).await.unwrap();
    }
    let cats = [category(5, 2, 52), category(5, 3, 53)];
    for c in &cats {
        store.add_overflow_category(c).await.unwrap();
    }
    let mut sorted = transcripts.clone();
    sorted.sort_by_key(|b| b.ticket_id);
    for batch in [1, 2, 5, 1000] {
        let records: Vec<Record> = store.clone().stream_all(batch).try_collect().await.unwrap();
        let order: Vec<u8> = records
            .iter()
            .map(|r| match r {
                Record::Ticket(_) => 0,
                Record::Event(_) => 1,
                Record::Transcript(_) => 2,
                Record::Category(_) => 3,
                Record::Name(_) => 4,
                Record::StaffMessages(_) => 5,
                Record::CloseRequest(_) => 6,
                Record::Activity(_) => 7,
                Record::Feedback(_) => 8,
                Record::Topic(_) => 9,
                Record::TicketForm(_) => 10,
            })
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] <= w[1]),
            "out of order: {order:?}"
        );
        let got_t: Vec<TranscriptBlob> = records
            .iter()
            .filter_map(|r| match r {
                Record::Transcript(b) => Some((**b).clone()),
                _ => None,
            })
            .collect();
        assert_eq!(got_t, sorted, "batch {batch}");
        let got_c: Vec<OverflowCategory> = records
            .iter()
            .filter_map(|r| match r {
                Record::Category(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(got_c, cats.to_vec());
        assert!(matches!(&records[0], Record::Ticket(r) if r.ticket.id == t.id));
    }
}

// ---------------------------------------------------------------------------------------------
// Upgrade of a schema-1 database in place.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_upgrades_schema_1() {
    let guard = support::DbGuard::new(Backend::Sqlite);
    let pool = sqlite_at(&guard, 20261125000001).await;
    insert_schema_1_tickets(&pool).await;
    pool.close().await;
    upgraded_works(&guard).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_upgrades_schema_1() {
    let guard = support::DbGuard::new(Backend::Mysql);
    let pool = mysql_at(&guard, 20261125000001).await;
    insert_schema_1_tickets(&pool).await;
    pool.close().await;
    upgraded_works(&guard).await;
    guard.cleanup().await;
}

/// A new SQLite file with the migrations up to `version`, as an older release left it.
async fn sqlite_at(guard: &support::DbGuard, version: u64) -> sqlx::SqlitePool {
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(guard.sqlite_path())
            .create_if_missing(true),
    )
    .await
    .expect("sqlite");
    migrator_up_to("sqlite", version)
        .await
        .run(&pool)
        .await
        .expect("older schema");
    pool
}

/// A new MySQL database with the migrations up to `version`.
async fn mysql_at(guard: &support::DbGuard, version: u64) -> sqlx::MySqlPool {
    let server = MysqlServer::from_env();
    let admin = server.pool(None).await;
    sqlx::query(&format!("CREATE DATABASE `{}`", guard.name))
        .execute(&admin)
        .await
        .expect("create database");
    admin.close().await;
    let pool = server.pool(Some(&guard.name)).await;
    migrator_up_to("mysql", version)
        .await
        .run(&pool)
        .await
        .expect("older schema");
    pool
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_upgrades_schema_1() {
    let guard = support::DbGuard::new(Backend::Mongodb);
    let db = mongo_client().await.database(&guard.name);
    let tickets = db.collection::<bson::Document>("tickets");
    for (id, status, channel, closed) in [
        (SCHEMA_1_CLOSED, "closed", Some(chan(1)), Some(mins(10))),
        (SCHEMA_1_OPEN, "open", Some(chan(2)), None),
    ] {
        let micros = |t: DateTime<Utc>| bson::Bson::Int64(t.timestamp_micros());
        tickets
            .insert_one(bson::doc! {
                "_id": id,
                "guild_id": G1 as i64,
                "channel_id": channel.map(|c| c as i64),
                "channel_key": format!("c{}", channel.unwrap_or_default()),
                "creator_id": 7_i64,
                "status": status,
                "created_at": micros(mins(0)),
                "closed_at": closed.map(micros),
                "closed_by": bson::Bson::Null,
                "close_reason": bson::Bson::Null,
                "claimed_by": bson::Bson::Null,
                "claimed_at": bson::Bson::Null,
                "updated_at": micros(closed.unwrap_or(mins(0))),
                "open_slot": if status == "open" { bson::Bson::Int64(0) } else { bson::Bson::String(id.to_owned()) },
                "participants": {},
                "participant_n": 0_i64,
                "outbox": {},
                "outbox_n": 0_i64,
                "deleted": false,
            })
            .await
            .expect("insert");
    }
    db.collection::<bson::Document>("ticketbot_meta")
        .insert_one(bson::doc! { "_id": "schema", "version": 1_i64 })
        .await
        .expect("meta");
    upgraded_works(&guard).await;
    guard.cleanup().await;
}

const SCHEMA_1_CLOSED: &str = "00000000-0000-4000-8000-000000000001";
const SCHEMA_1_OPEN: &str = "00000000-0000-4000-8000-000000000002";

/// A migrator with only schema 1's migration, as a database made before schema 2 has it.
/// The migrations of `dialect` up to `version` (included): a database as an older release
/// left it.
async fn migrator_up_to(dialect: &str, version: u64) -> sqlx::migrate::Migrator {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(dialect);
    let tmp = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(&dir).expect("migrations") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        let v: u64 = name
            .split('_')
            .next()
            .unwrap_or("")
            .parse()
            .expect("version");
        if v <= version {
            std::fs::copy(dir.join(&*name), tmp.path().join(&*name)).expect("copy");
        }
    }
    sqlx::migrate::Migrator::new(tmp.path())
        .await
        .expect("migrator")
}

/// A schema-11 database's ratings (`feedback` only) are copied onto their tickets by the
/// upgrade, so that reports count them.
async fn ratings_reach_upgraded_tickets<'a, E>(guard: &support::DbGuard, pool: E)
where
    E: sqlx::Executor<'a> + Copy,
    for<'q> <E::Database as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Database>,
    i64: for<'q> sqlx::Encode<'q, E::Database> + sqlx::Type<E::Database>,
    Option<i64>: for<'q> sqlx::Encode<'q, E::Database> + sqlx::Type<E::Database>,
    &'a str: sqlx::Encode<'a, E::Database> + sqlx::Type<E::Database>,
{
    insert_schema_1_tickets(pool).await;
    sqlx::query(
        "INSERT INTO feedback (ticket_id, user_id, rating, comment, given_at, updated_at) \
         VALUES (?, 5, 4, 'kept', 1, 1)",
    )
    .bind(SCHEMA_1_CLOSED)
    .execute(pool)
    .await
    .expect("a schema-11 rating");
    let store = guard.open().await;
    let filter = ticketbot_common::store::TicketFilter::default();
    let summary = store.feedback_summary(&filter).await.unwrap();
    assert_eq!(summary.overall.by_stars, [0, 0, 0, 1, 0]);
    assert_eq!(store.stats(&filter).await.unwrap().feedback, summary);
    let rating = store
        .feedback(Uuid::parse_str(SCHEMA_1_CLOSED).unwrap())
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(
        (rating.rating, rating.comment.as_deref()),
        (4, Some("kept"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ratings_reach_upgraded_tickets() {
    let guard = support::DbGuard::new(Backend::Sqlite);
    let pool = sqlite_at(&guard, 20261129000007).await;
    ratings_reach_upgraded_tickets(&guard, &pool).await;
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_ratings_reach_upgraded_tickets() {
    let guard = support::DbGuard::new(Backend::Mysql);
    let pool = mysql_at(&guard, 20261129000007).await;
    ratings_reach_upgraded_tickets(&guard, &pool).await;
    pool.close().await;
    guard.cleanup().await;
}

async fn insert_schema_1_tickets<'a, E>(pool: E)
where
    E: sqlx::Executor<'a> + Copy,
    for<'q> <E::Database as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Database>,
    i64: for<'q> sqlx::Encode<'q, E::Database> + sqlx::Type<E::Database>,
    Option<i64>: for<'q> sqlx::Encode<'q, E::Database> + sqlx::Type<E::Database>,
    &'a str: sqlx::Encode<'a, E::Database> + sqlx::Type<E::Database>,
{
    for (id, status, channel, closed, slot) in [
        (SCHEMA_1_CLOSED, "closed", chan(1), Some(mins(10)), None),
        (SCHEMA_1_OPEN, "open", chan(2), None, Some(0_i64)),
    ] {
        sqlx::query(
            "INSERT INTO tickets (id, guild_id, channel_id, creator_id, status, created_at, \
             closed_at, updated_at, open_slot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(G1 as i64)
        .bind(channel as i64)
        .bind(7_i64)
        .bind(status)
        .bind(mins(0).timestamp_micros())
        .bind(closed.map(|t| t.timestamp_micros()))
        .bind(closed.unwrap_or(mins(0)).timestamp_micros())
        .bind(slot)
        .execute(pool)
        .await
        .expect("insert schema-1 ticket");
    }
}

/// The store opens a schema-1 database, upgrades it and everything new works on the old rows.
async fn upgraded_works(guard: &support::DbGuard) {
    let store = guard.open().await;
    let version = store.schema_version().await.unwrap();
    match guard.backend {
        Backend::Mongodb => assert_eq!(version, 3),
        // MySQL's last migration adds the report's grouping indexes (SQLite needs none).
        Backend::Mysql => assert_eq!(version, 20261130000001),
        Backend::Sqlite => assert_eq!(version, 20261129000008),
    }
    let closed = Uuid::parse_str(SCHEMA_1_CLOSED).unwrap();
    let t = store.get(closed).await.unwrap().expect("kept");
    assert_eq!((t.archived_at, t.archive_requested_at), (None, None));
    // Names can be recorded (schema 6: the `names` table; a collection on MongoDB).
    store
        .remember_names(&[ticketbot_common::names::Name::seen(
            7,
            ticketbot_common::names::NameKind::User,
            "seven",
            None,
            mins(1),
        )])
        .await
        .unwrap();
    assert_eq!(store.names(&[7]).await.unwrap()[0].name, "seven");
    // An old row (on MongoDB: a document without the field) takes its first response once.
    assert_eq!((t.first_response_at, t.first_response_by), (None, None));
    assert!(store
        .record_first_response(closed, 99, mins(3))
        .await
        .unwrap());
    assert!(!store
        .record_first_response(closed, 98, mins(4))
        .await
        .unwrap());
    let t = store.get(closed).await.unwrap().expect("kept");
    assert_eq!(
        (t.first_response_at, t.first_response_by),
        (Some(mins(3)), Some(99))
    );
    assert_eq!(t.channel_id, Some(chan(1)));
    let due = ArchiveQuery {
        guild_id: Some(G1),
        closed_before: Some(mins(100)),
        requested: false,
    };
    assert_eq!(
        store
            .archivable(&due, 10)
            .await
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        [closed]
    );
    store
        .put_transcript(&blob(closed, b"old ticket".to_vec(), 1))
        .await
        .unwrap();
    let archived = store.mark_archived(closed, None, mins(20)).await.unwrap();
    assert_eq!(archived.archived_at, Some(mins(20)));
    assert_eq!(store.count_archivable(&due).await.unwrap(), 0);
    let open = Uuid::parse_str(SCHEMA_1_OPEN).unwrap();
    assert_eq!(
        rule(store.mark_archived(open, None, mins(21)).await),
        RuleError::NotClosed
    );
    // A second open finds nothing to do.
    let again = guard.open().await;
    assert_eq!(again.schema_version().await.unwrap(), version);
    assert_eq!(again.get(closed).await.unwrap(), Some(archived));
    again.close().await;
    store.close().await;
}

/// MongoDB: a delete that stopped after marking its document (no transactions) must not keep
/// its creator's open slot until a restart: the next create finishes it and succeeds, and no
/// caller is ever told "limit reached" with an empty list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_half_done_delete_frees_the_slot_without_a_restart() {
    let db = TestDb::new(Backend::Mongodb).await;
    let store = db.store();
    let at = Utc::now();
    let ticketbot_common::store::CreateOutcome::Created(first) =
        store.create_ticket(1, 7, 1, at).await.expect("create")
    else {
        panic!("the first ticket is created");
    };
    // What a crash between the two steps of `delete` leaves: the document marked, still there.
    mongo_client()
        .await
        .database(&db.guard.name)
        .collection::<bson::Document>("tickets")
        .update_one(
            bson::doc! { "_id": first.id.to_string() },
            bson::doc! { "$set": { "deleted": true, "deleted_at": bson::Bson::Int64(at.timestamp_micros()) } },
        )
        .await
        .expect("mark");
    match store
        .create_ticket(1, 7, 1, Utc::now())
        .await
        .expect("create again")
    {
        ticketbot_common::store::CreateOutcome::Created(t) => assert_ne!(t.id, first.id),
        other => panic!("the slot stayed taken: {other:?}"),
    }
    assert!(
        store.get(first.id).await.unwrap().is_none(),
        "the delete was finished"
    );
    let kinds: Vec<EventKind> = store
        .history(first.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds.last(), Some(&EventKind::Deleted), "{kinds:?}");
    db.finish().await;
}

/// MongoDB: what an interrupted write left (a delete marked but not finished, an event still in
/// the outbox) is finished by `finish_interrupted`, which the bot runs every minute, not only
/// at connect; the finished delete's channel is then recorded as one to delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_finish_interrupted_repairs_without_a_restart() {
    let db = TestDb::new(Backend::Mongodb).await;
    let store = db.store();
    let at = Utc::now();
    let ticketbot_common::store::CreateOutcome::Created(first) =
        store.create_ticket(1, 8, 1, at).await.expect("create")
    else {
        panic!("the first ticket is created");
    };
    store
        .set_channel(first.id, Some(chan(77)))
        .await
        .expect("channel");
    assert_eq!(store.finish_interrupted().await.expect("nothing to do"), 0);
    mongo_client()
        .await
        .database(&db.guard.name)
        .collection::<bson::Document>("tickets")
        .update_one(
            bson::doc! { "_id": first.id.to_string() },
            bson::doc! { "$set": { "deleted": true, "deleted_at": bson::Bson::Int64(at.timestamp_micros()) } },
        )
        .await
        .expect("mark");
    assert!(store.finish_interrupted().await.expect("finished") >= 1);
    assert!(store.get(first.id).await.unwrap().is_none());
    let kinds: Vec<EventKind> = store
        .history(first.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds.last(), Some(&EventKind::Deleted), "{kinds:?}");
    let pending = store.channels_to_delete(10).await.expect("pending");
    assert_eq!(
        pending.iter().map(|d| d.channel_id).collect::<Vec<_>>(),
        vec![chan(77)]
    );
    assert_eq!(store.finish_interrupted().await.expect("done already"), 0);
    db.finish().await;
}
