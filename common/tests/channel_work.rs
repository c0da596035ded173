//! Channel work the store keeps until Discord confirms it: the out-of-date mark set by every
//! close and reopen, and the pending deletion of a deleted ticket's channel. Every scenario runs
//! on SQLite, MySQL/MariaDB and MongoDB.

mod support;

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use support::TestDb;
use ticketbot_common::rules::Transition;
use ticketbot_common::store::{Backend, CreateOutcome};
use ticketbot_common::ticket::{DiscordId, Ticket};
use ticketbot_common::TicketStore;
use uuid::Uuid;

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
    close_and_reopen_mark_the_channel =>
        sqlite_close_and_reopen_mark_the_channel,
        mysql_close_and_reopen_mark_the_channel,
        mongodb_close_and_reopen_mark_the_channel;
    a_later_change_keeps_its_mark =>
        sqlite_a_later_change_keeps_its_mark,
        mysql_a_later_change_keeps_its_mark,
        mongodb_a_later_change_keeps_its_mark;
    delete_records_the_channel_to_delete =>
        sqlite_delete_records_the_channel_to_delete,
        mysql_delete_records_the_channel_to_delete,
        mongodb_delete_records_the_channel_to_delete;
    participants_mark_the_channel =>
        sqlite_participants_mark_the_channel,
        mysql_participants_mark_the_channel,
        mongodb_participants_mark_the_channel;
}

const GUILD: DiscordId = 1_111_111_111_111_111_111;
const STAFF: DiscordId = 900_000_000_000_000_001;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00.000001Z")
        .expect("timestamp")
        .with_timezone(&Utc)
}

fn at(min: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(min)
}

async fn ticket(store: &dyn TicketStore, creator: DiscordId, channel: Option<DiscordId>) -> Ticket {
    let t = match store
        .create_ticket(GUILD, creator, 10, at(0))
        .await
        .expect("create")
    {
        CreateOutcome::Created(t) => t,
        other => panic!("create refused: {other:?}"),
    };
    match channel {
        Some(c) => store.set_channel(t.id, Some(c)).await.expect("set_channel"),
        None => t,
    }
}

fn close(min: i64) -> Transition {
    Transition::Close {
        by: Some(STAFF),
        reason: None,
        at: at(min),
        forced: false,
    }
}

fn reopen(min: i64) -> Transition {
    Transition::Reopen {
        by: STAFF,
        at: at(min),
    }
}

async fn marked(store: &dyn TicketStore) -> Vec<(Uuid, Uuid)> {
    store
        .channels_to_sync(100)
        .await
        .expect("channels_to_sync")
        .into_iter()
        .map(|s| (s.ticket.id, s.token))
        .collect()
}

async fn close_and_reopen_mark_the_channel(db: &TestDb) {
    let store = db.store();
    let store = store.as_ref();
    let a = ticket(store, 1, Some(5_000)).await;
    let b = ticket(store, 2, Some(5_001)).await;
    let no_channel = ticket(store, 3, None).await;
    assert!(
        marked(store).await.is_empty(),
        "a new ticket's channel is made right"
    );

    // Claims do not touch the channel.
    store
        .transition(
            a.id,
            &Transition::Claim {
                by: STAFF,
                at: at(1),
            },
        )
        .await
        .expect("claim");
    assert!(marked(store).await.is_empty());

    store.transition(a.id, &close(2)).await.expect("close");
    store.transition(b.id, &close(3)).await.expect("close");
    store
        .transition(no_channel.id, &close(4))
        .await
        .expect("close");
    let pending = marked(store).await;
    let ids: Vec<Uuid> = pending.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        vec![a.id, b.id],
        "oldest change first, channel-less left out"
    );
    let synced = store.channels_to_sync(100).await.expect("sync");
    assert_eq!(
        synced[0].ticket.status,
        ticketbot_common::ticket::TicketStatus::Closed
    );
    assert_eq!(synced[0].ticket.channel_id, Some(5_000));

    // Confirming clears one mark, once; the ticket's updated_at stays.
    let before = store.get(a.id).await.expect("get").expect("ticket");
    assert!(store
        .channel_synced(a.id, pending[0].1)
        .await
        .expect("synced"));
    assert!(!store
        .channel_synced(a.id, pending[0].1)
        .await
        .expect("again"));
    assert_eq!(store.get(a.id).await.expect("get").expect("ticket"), before);
    assert_eq!(marked(store).await.len(), 1);
    // A wrong token clears nothing.
    assert!(!store
        .channel_synced(b.id, Uuid::new_v4())
        .await
        .expect("wrong"));
    assert_eq!(marked(store).await.len(), 1);

    // Reopen marks again, with a new token.
    store.transition(a.id, &reopen(5)).await.expect("reopen");
    let again = marked(store).await;
    let a_token = again.iter().find(|(id, _)| *id == a.id).expect("marked").1;
    assert_ne!(a_token, pending[0].1);
    // Not time-based: a change written with an old clock is found all the same.
    let c = ticket(store, 4, Some(5_002)).await;
    store
        .transition(c.id, &close(-10_000))
        .await
        .expect("close with a skewed clock");
    assert!(marked(store).await.iter().any(|(id, _)| *id == c.id));
}

async fn a_later_change_keeps_its_mark(db: &TestDb) {
    let store = db.store();
    let store = store.as_ref();
    let t = ticket(store, 1, Some(6_000)).await;
    store.transition(t.id, &close(1)).await.expect("close");
    let first = marked(store).await[0].1;
    // The channel is being locked when a reopen comes in: confirming the lock must not clear
    // the reopen's mark.
    store.transition(t.id, &reopen(2)).await.expect("reopen");
    assert!(!store
        .channel_synced(t.id, first)
        .await
        .expect("stale confirm"));
    let second = marked(store).await;
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].1, first);
    assert!(store
        .channel_synced(t.id, second[0].1)
        .await
        .expect("confirm"));
    assert!(marked(store).await.is_empty());
    assert!(store.channels_to_sync(0).await.expect("limit 0").is_empty());
}

async fn delete_records_the_channel_to_delete(db: &TestDb) {
    let store = db.store();
    let store = store.as_ref();
    let a = ticket(store, 1, Some(7_000)).await;
    let b = ticket(store, 2, Some(7_001)).await;
    let no_channel = ticket(store, 3, None).await;
    assert!(store.channels_to_delete(10).await.expect("list").is_empty());
    store
        .delete(a.id, Some(STAFF), at(1))
        .await
        .expect("delete");
    store
        .delete(no_channel.id, Some(STAFF), at(2))
        .await
        .expect("delete");
    store.delete(b.id, None, at(3)).await.expect("delete");
    let pending = store.channels_to_delete(10).await.expect("list");
    assert_eq!(
        pending.iter().map(|d| d.channel_id).collect::<Vec<_>>(),
        vec![7_000, 7_001],
        "oldest first; a ticket without a channel leaves nothing to delete"
    );
    assert_eq!(pending[0].ticket_id, a.id);
    assert_eq!(pending[0].guild_id, GUILD);
    assert_eq!(pending[0].requested_at, at(1));
    assert_eq!(store.channels_to_delete(1).await.expect("limit").len(), 1);
    // The deleted tickets' marks are gone with them.
    assert!(marked(store).await.is_empty());

    assert!(store.channel_deleted(7_000).await.expect("done"));
    assert!(!store.channel_deleted(7_000).await.expect("twice"));
    let left: HashSet<DiscordId> = store
        .channels_to_delete(10)
        .await
        .expect("list")
        .iter()
        .map(|d| d.channel_id)
        .collect();
    assert_eq!(left, HashSet::from([7_001]));
    assert_eq!(
        store.finish_interrupted().await.expect("nothing half-done"),
        0
    );
}

async fn participants_mark_the_channel(db: &TestDb) {
    let store = db.store();
    let store = store.as_ref();
    let t = ticket(store, 1, Some(8_000)).await;
    store
        .add_participant(t.id, 42, STAFF, at(1))
        .await
        .expect("add");
    let first = marked(store).await;
    assert_eq!(
        first.len(),
        1,
        "adding someone changes the channel's overwrites"
    );
    assert!(store
        .channel_synced(t.id, first[0].1)
        .await
        .expect("confirm"));
    store
        .remove_participant(t.id, 42, STAFF, at(2))
        .await
        .expect("remove");
    let second = marked(store).await;
    assert_eq!(second.len(), 1, "so does removing them");
    assert_ne!(second[0].1, first[0].1);
}
