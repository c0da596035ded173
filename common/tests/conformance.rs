//! The `TicketStore` conformance suite: every scenario is written once, generically over
//! `&TestDb`, and instantiated by `conformance!` as one test per backend (`sqlite_<name>`,
//! `mysql_<name>`, `mongodb_<name>`), each on a fresh database of its own.
//!
//! The pure rules (`rules::apply`, `rules::check_*`) are the oracle for transitions: whatever
//! the store returns, and then reads back, must be what the rules say.

#[path = "conformance/feedback.rs"]
mod feedback;
mod support;
use feedback::feedback_once_per_ticket;
#[path = "conformance/topics.rs"]
mod topics;
use topics::topics_unique_per_guild_and_forms_kept;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use futures::TryStreamExt;
use serde_json::Value;
use tokio::sync::Barrier;
use uuid::Uuid;

use support::{
    export_all_events, export_all_tickets, normalized, other_backend, DbGuard, TestDb, ALL_BACKENDS,
};
use ticketbot_common::rules::{self, RuleError, Transition};
use ticketbot_common::store::{
    Backend, ClaimFilter, CreateOutcome, Cursor, Heartbeat, Record, RecordCounts, StatusCounts,
    TicketFilter, TicketRecord,
};
use ticketbot_common::ticket::{
    now, short_id, DiscordId, EventKind, Participant, Ticket, TicketEvent, TicketStatus,
};
use ticketbot_common::{StoreError, StoreResult, TicketStore};

// ---------------------------------------------------------------------------------------------
// Instantiation: one test per scenario and backend.

/// `scenario => sqlite_test, mysql_test, mongodb_test;` makes three tests, each running the one
/// generic `async fn scenario(&TestDb)` on a fresh database of its backend.
macro_rules! conformance {
    ($($scenario:ident => $sqlite:ident, $mysql:ident, $mongodb:ident;)*) => {
        $(
            conformance!(@one $scenario, $sqlite, Sqlite);
            conformance!(@one $scenario, $mysql, Mysql);
            conformance!(@one $scenario, $mongodb, Mongodb);
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

conformance! {
    create_and_read_back =>
        sqlite_create_and_read_back, mysql_create_and_read_back, mongodb_create_and_read_back;
    channels =>
        sqlite_channels, mysql_channels, mongodb_channels;
    find_by_prefix_limits_and_escaping =>
        sqlite_find_by_prefix_limits_and_escaping,
        mysql_find_by_prefix_limits_and_escaping,
        mongodb_find_by_prefix_limits_and_escaping;
    transitions_follow_the_rules =>
        sqlite_transitions_follow_the_rules,
        mysql_transitions_follow_the_rules,
        mongodb_transitions_follow_the_rules;
    participants =>
        sqlite_participants, mysql_participants, mongodb_participants;
    delete_keeps_history =>
        sqlite_delete_keeps_history, mysql_delete_keeps_history, mongodb_delete_keeps_history;
    discard_removes_everything =>
        sqlite_discard_removes_everything,
        mysql_discard_removes_everything,
        mongodb_discard_removes_everything;
    per_user_limit =>
        sqlite_per_user_limit, mysql_per_user_limit, mongodb_per_user_limit;
    reopen_at_the_limit =>
        sqlite_reopen_at_the_limit, mysql_reopen_at_the_limit, mongodb_reopen_at_the_limit;
    concurrent_channel_races =>
        sqlite_concurrent_channel_races,
        mysql_concurrent_channel_races,
        mongodb_concurrent_channel_races;
    list_filters_and_pagination =>
        sqlite_list_filters_and_pagination,
        mysql_list_filters_and_pagination,
        mongodb_list_filters_and_pagination;
    export_import_cross_backend =>
        sqlite_export_import_cross_backend,
        mysql_export_import_cross_backend,
        mongodb_export_import_cross_backend;
    stream_all_yields_everything =>
        sqlite_stream_all_yields_everything,
        mysql_stream_all_yields_everything,
        mongodb_stream_all_yields_everything;
    stats_match_the_data =>
        sqlite_stats_match_the_data, mysql_stats_match_the_data, mongodb_stats_match_the_data;
    cache_fit_is_mysqls =>
        sqlite_cache_fit_is_mysqls, mysql_cache_fit_is_mysqls, mongodb_cache_fit_is_mysqls;
    heartbeats =>
        sqlite_heartbeats, mysql_heartbeats, mongodb_heartbeats;
    hostile_strings_stored_verbatim =>
        sqlite_hostile_strings_stored_verbatim,
        mysql_hostile_strings_stored_verbatim,
        mongodb_hostile_strings_stored_verbatim;
    ids_at_the_edges =>
        sqlite_ids_at_the_edges, mysql_ids_at_the_edges, mongodb_ids_at_the_edges;
    concurrent_claims =>
        sqlite_concurrent_claims, mysql_concurrent_claims, mongodb_concurrent_claims;
    first_response_recorded_once =>
        sqlite_first_response_recorded_once,
        mysql_first_response_recorded_once,
        mongodb_first_response_recorded_once;
    staff_messages_and_response_medians =>
        sqlite_staff_messages_and_response_medians,
        mysql_staff_messages_and_response_medians,
        mongodb_staff_messages_and_response_medians;
    exports_page_in_key_order =>
        sqlite_exports_page_in_key_order,
        mysql_exports_page_in_key_order,
        mongodb_exports_page_in_key_order;
    topics_unique_per_guild_and_forms_kept =>
        sqlite_topics_unique_per_guild_and_forms_kept,
        mysql_topics_unique_per_guild_and_forms_kept,
        mongodb_topics_unique_per_guild_and_forms_kept;
    feedback_once_per_ticket =>
        sqlite_feedback_once_per_ticket,
        mysql_feedback_once_per_ticket,
        mongodb_feedback_once_per_ticket;
    close_requests_settle_once =>
        sqlite_close_requests_settle_once,
        mysql_close_requests_settle_once,
        mongodb_close_requests_settle_once;
    stale_tickets_and_auto_close_warnings =>
        sqlite_stale_tickets_and_auto_close_warnings,
        mysql_stale_tickets_and_auto_close_warnings,
        mongodb_stale_tickets_and_auto_close_warnings;
    names_keep_the_latest_sighting =>
        sqlite_names_keep_the_latest_sighting,
        mysql_names_keep_the_latest_sighting,
        mongodb_names_keep_the_latest_sighting;
    concurrent_closes_reopens_and_participants =>
        sqlite_concurrent_closes_reopens_and_participants,
        mysql_concurrent_closes_reopens_and_participants,
        mongodb_concurrent_closes_reopens_and_participants;
    concurrent_creates_one_user =>
        sqlite_concurrent_creates_one_user,
        mysql_concurrent_creates_one_user,
        mongodb_concurrent_creates_one_user;
    concurrent_creates_many_users =>
        sqlite_concurrent_creates_many_users,
        mysql_concurrent_creates_many_users,
        mongodb_concurrent_creates_many_users;
    schema_version_and_reopen =>
        sqlite_schema_version_and_reopen,
        mysql_schema_version_and_reopen,
        mongodb_schema_version_and_reopen;
    fresh_database_opened_twice_at_once =>
        sqlite_fresh_database_opened_twice_at_once,
        mysql_fresh_database_opened_twice_at_once,
        mongodb_fresh_database_opened_twice_at_once;
}

#[test]
fn import_targets_cross_every_backend() {
    let targets: HashSet<&str> = ALL_BACKENDS
        .into_iter()
        .map(|b| other_backend(b).as_str())
        .collect();
    assert_eq!(targets.len(), 3);
    for b in ALL_BACKENDS {
        assert_ne!(other_backend(b), b);
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers.

/// Snowflake-sized ids, as real Discord ids are (~1.2e18, below i64::MAX).
const GUILD: DiscordId = 1_234_567_890_123_456_789;
const OTHER_GUILD: DiscordId = 1_098_765_432_109_876_543;
const CREATOR: DiscordId = 1_187_654_321_098_765_432;
const OTHER_USER: DiscordId = 1_187_654_321_098_765_433;
const STAFF_A: DiscordId = 1_111_111_111_111_111_111;
const STAFF_B: DiscordId = 1_222_222_222_222_222_222;
const STAFF_C: DiscordId = 1_333_333_333_333_333_333;
const CHANNEL: DiscordId = 1_400_000_000_000_000_001;
const CHANNEL_2: DiscordId = 1_400_000_000_000_000_002;
const MEMBER_1: DiscordId = 1_500_000_000_000_000_001;
const MEMBER_2: DiscordId = 5;

/// Hands out strictly increasing timestamps with odd microseconds, so that precision loss and
/// ordering mistakes show. Starts a day ago, so that its times stay before the wall clock that
/// `set_channel` stamps `updated_at` with.
struct Clock(DateTime<Utc>);

impl Clock {
    fn new() -> Self {
        Clock(now() - Duration::days(1))
    }

    fn tick(&mut self) -> DateTime<Utc> {
        self.0 += Duration::microseconds(1_000_003);
        self.0
    }
}

fn ts(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("bad test timestamp")
        .with_timezone(&Utc)
}

#[track_caller]
fn created(outcome: StoreResult<CreateOutcome>) -> Ticket {
    match outcome {
        Ok(CreateOutcome::Created(t)) => t,
        other => panic!("expected a created ticket, got {other:?}"),
    }
}

#[track_caller]
fn limit_reached(outcome: StoreResult<CreateOutcome>) -> Vec<Ticket> {
    match outcome {
        Ok(CreateOutcome::LimitReached { open }) => open,
        other => panic!("expected LimitReached, got {other:?}"),
    }
}

#[track_caller]
fn rule<T: std::fmt::Debug>(result: StoreResult<T>) -> RuleError {
    match result {
        Err(StoreError::Rule(e)) => e,
        other => panic!("expected a rule refusal, got {other:?}"),
    }
}

fn by_id(mut tickets: Vec<Ticket>) -> Vec<Ticket> {
    tickets.sort_by_key(|t| t.id);
    tickets
}

fn claim(by: DiscordId, at: DateTime<Utc>) -> Transition {
    Transition::Claim { by, at }
}

fn unclaim(by: DiscordId, at: DateTime<Utc>) -> Transition {
    Transition::Unclaim { by, at }
}

fn close(by: DiscordId, reason: Option<&str>, at: DateTime<Utc>) -> Transition {
    Transition::Close {
        by: Some(by),
        reason: reason.map(str::to_owned),
        at,
        forced: false,
    }
}

fn reopen(by: DiscordId, at: DateTime<Utc>) -> Transition {
    Transition::Reopen { by, at }
}

/// What one history entry must say.
#[derive(Debug, Clone)]
enum Details {
    /// Not part of the contract (the `opened` event's details).
    Any,
    Exact(Option<String>),
    /// Free text that must mention this (a participant's id).
    Contains(String),
}

#[derive(Debug, Clone)]
struct Ev {
    kind: EventKind,
    actor: Option<DiscordId>,
    at: DateTime<Utc>,
    details: Details,
}

impl Ev {
    fn opened(t: &Ticket) -> Self {
        Ev {
            kind: EventKind::Opened,
            actor: Some(t.creator_id),
            at: t.created_at,
            details: Details::Any,
        }
    }

    fn of(tr: &Transition) -> Self {
        Ev {
            kind: tr.event_kind(),
            actor: tr.actor(),
            at: tr.at(),
            details: Details::Exact(tr.event_details()),
        }
    }

    fn participant(kind: EventKind, user: DiscordId, by: DiscordId, at: DateTime<Utc>) -> Self {
        Ev {
            kind,
            actor: Some(by),
            at,
            details: Details::Contains(user.to_string()),
        }
    }
}

/// Checks a ticket's whole history against the expected entries, in order.
async fn assert_history(
    store: &dyn TicketStore,
    ticket_id: Uuid,
    guild_id: DiscordId,
    expected: &[Ev],
) -> Vec<TicketEvent> {
    let history = store.history(ticket_id).await.expect("history");
    let brief: Vec<_> = history
        .iter()
        .map(|e| (e.kind, e.actor_id, e.at, e.details.clone()))
        .collect();
    assert_eq!(
        history.len(),
        expected.len(),
        "history of {ticket_id}: got {brief:#?}\nexpected {expected:#?}"
    );
    let mut ids = HashSet::new();
    for (i, (got, want)) in history.iter().zip(expected).enumerate() {
        let ctx = format!("event #{i} of {ticket_id}: got {got:?}, expected {want:?}");
        assert!(ids.insert(got.id), "duplicate event id; {ctx}");
        assert_eq!(got.ticket_id, ticket_id, "{ctx}");
        assert_eq!(got.guild_id, guild_id, "{ctx}");
        assert_eq!(got.kind, want.kind, "{ctx}");
        assert_eq!(got.actor_id, want.actor, "{ctx}");
        assert_eq!(got.at, want.at, "{ctx}");
        match &want.details {
            Details::Any => {}
            Details::Exact(d) => assert_eq!(&got.details, d, "{ctx}"),
            Details::Contains(s) => assert!(
                got.details
                    .as_deref()
                    .is_some_and(|d| d.contains(s.as_str())),
                "{ctx}"
            ),
        }
    }
    history
}

/// A ticket and the history it must have, driven through the store with the rules as oracle.
struct Tracked {
    ticket: Ticket,
    events: Vec<Ev>,
}

impl Tracked {
    async fn create(
        store: &dyn TicketStore,
        guild: DiscordId,
        creator: DiscordId,
        at: DateTime<Utc>,
    ) -> Self {
        let ticket = created(store.create_ticket(guild, creator, 100, at).await);
        let events = vec![Ev::opened(&ticket)];
        Tracked { ticket, events }
    }

    fn id(&self) -> Uuid {
        self.ticket.id
    }

    /// Applies the transition through the store and checks the outcome, the stored ticket and
    /// (on success) the event against `rules::apply` on the previous state.
    async fn step(&mut self, store: &dyn TicketStore, tr: Transition) -> Result<Ticket, RuleError> {
        let expected = rules::apply(&self.ticket, &tr);
        let got = store.transition(self.ticket.id, &tr).await;
        let outcome = match (expected, got) {
            (Ok(want), Ok(got)) => {
                assert_eq!(
                    got, want,
                    "store result differs from rules::apply for {tr:?}"
                );
                self.ticket = got.clone();
                self.events.push(Ev::of(&tr));
                Ok(got)
            }
            (Err(want), Err(StoreError::Rule(got))) => {
                assert_eq!(got, want, "store refused {tr:?} for another reason");
                Err(got)
            }
            (want, got) => panic!("{tr:?}: rules say {want:?}, store says {got:?}"),
        };
        let stored = store.get(self.ticket.id).await.expect("get");
        assert_eq!(stored.as_ref(), Some(&self.ticket), "stored after {tr:?}");
        outcome
    }

    async fn assert_history(&self, store: &dyn TicketStore) -> Vec<TicketEvent> {
        assert_history(store, self.ticket.id, self.ticket.guild_id, &self.events).await
    }
}

/// Whether a JSON document holds `needle` as a string anywhere (value or key).
fn json_has_string(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s == needle,
        Value::Array(a) => a.iter().any(|x| json_has_string(x, needle)),
        Value::Object(o) => o
            .iter()
            .any(|(k, x)| k == needle || json_has_string(x, needle)),
        _ => false,
    }
}

async fn record_counts(store: &dyn TicketStore) -> RecordCounts {
    store.record_counts().await.expect("record_counts")
}

// ---------------------------------------------------------------------------------------------
// create / get / find_by_prefix / get_by_channel / set_channel

async fn create_and_read_back(db: &TestDb) {
    let store = &*db.store;
    let at = now();

    let big = created(store.create_ticket(GUILD, CREATOR, 1, at).await);
    assert_eq!(big.id.get_version_num(), 4, "ticket ids are UUID v4");
    let expected = Ticket {
        id: big.id,
        guild_id: GUILD,
        channel_id: None,
        creator_id: CREATOR,
        status: TicketStatus::Open,
        created_at: at,
        closed_at: None,
        closed_by: None,
        close_reason: None,
        claimed_by: None,
        claimed_at: None,
        updated_at: at,
        archived_at: None,
        archive_requested_at: None,
        first_response_at: None,
        first_response_by: None,
    };
    assert_eq!(big, expected);
    assert_eq!(store.get(big.id).await.unwrap(), Some(expected.clone()));

    // Small ids (Int32-sized on the wire) and timestamps at the edges of a second.
    let stamps = [
        at + Duration::microseconds(1),
        ts("2001-02-03T04:05:06.000007Z"),
        ts("2030-12-31T23:59:59.999999Z"),
        ts("2024-01-01T00:00:00Z"),
        ts("1999-12-31T23:59:59.5Z"),
    ];
    let mut small = Vec::new();
    for (i, stamp) in stamps.into_iter().enumerate() {
        let creator = 2 + i as u64;
        let t = created(store.create_ticket(1, creator, 1, stamp).await);
        let want = Ticket {
            id: t.id,
            ..Ticket::new(1, creator, stamp)
        };
        assert_eq!(t, want);
        assert_eq!(store.get(t.id).await.unwrap(), Some(want.clone()));
        assert_history(store, t.id, 1, &[Ev::opened(&want)]).await;
        small.push(want);
    }

    // find_by_prefix: the short id, a longer hyphenated prefix, the whole id.
    let sid = short_id(&big.id);
    assert_eq!(sid, big.short_id());
    assert_eq!(sid.len(), 8);
    let full = big.id.to_string();
    for prefix in [sid.as_str(), &full[..13], &full[..20], full.as_str()] {
        assert_eq!(
            store.find_by_prefix(prefix, 10).await.unwrap(),
            vec![expected.clone()],
            "find_by_prefix({prefix:?})"
        );
    }
    for t in &small {
        assert_eq!(
            store.find_by_prefix(&t.short_id(), 10).await.unwrap(),
            vec![t.clone()]
        );
    }
    // A short id no ticket has (the first hex digit changed).
    let first = sid.as_bytes()[0];
    let other_first = if first == b'0' { '1' } else { '0' };
    let missing = format!("{other_first}{}", &sid[1..]);
    let all_ids: Vec<Uuid> = small.iter().map(|t| t.id).chain([big.id]).collect();
    if !all_ids
        .iter()
        .any(|id| id.to_string().starts_with(&missing))
    {
        assert_eq!(store.find_by_prefix(&missing, 10).await.unwrap(), vec![]);
    }

    // Unknown things.
    assert_eq!(store.get(Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(store.get_by_channel(CHANNEL).await.unwrap(), None);
    assert!(store.history(Uuid::new_v4()).await.unwrap().is_empty());

    // The opened event.
    assert_history(store, big.id, GUILD, &[Ev::opened(&expected)]).await;
    let counts = record_counts(store).await;
    assert_eq!(
        counts,
        RecordCounts {
            tickets: 6,
            participants: 0,
            events: 6,
            ..RecordCounts::default()
        }
    );
}

async fn channels(db: &TestDb) {
    let store = &*db.store;
    let mut clock = Clock::new();
    let a = created(store.create_ticket(GUILD, CREATOR, 5, clock.tick()).await);
    let b = created(
        store
            .create_ticket(GUILD, OTHER_USER, 5, clock.tick())
            .await,
    );
    let small = created(store.create_ticket(1, 2, 5, clock.tick()).await);

    let a1 = store.set_channel(a.id, Some(CHANNEL)).await.unwrap();
    assert_eq!(a1.channel_id, Some(CHANNEL));
    assert_eq!(
        Ticket {
            channel_id: None,
            updated_at: a.updated_at,
            ..a1.clone()
        },
        a,
        "set_channel changed more than the channel"
    );
    assert!(
        a1.updated_at >= a.updated_at && a1.updated_at <= now(),
        "set_channel's updated_at {} (was {})",
        a1.updated_at,
        a.updated_at
    );
    assert_eq!(store.get(a.id).await.unwrap(), Some(a1.clone()));
    assert_eq!(
        store.get_by_channel(CHANNEL).await.unwrap(),
        Some(a1.clone())
    );

    // Another ticket may not take it.
    match store.set_channel(b.id, Some(CHANNEL)).await {
        Err(StoreError::ChannelTaken {
            channel_id,
            ticket_id,
        }) => assert_eq!((channel_id, ticket_id), (CHANNEL, a.id)),
        other => panic!("expected ChannelTaken, got {other:?}"),
    }
    assert_eq!(store.get(b.id).await.unwrap(), Some(b.clone()));
    assert_eq!(
        store.get_by_channel(CHANNEL).await.unwrap(),
        Some(a1.clone())
    );

    // Setting the same channel again is fine.
    let a2 = store.set_channel(a.id, Some(CHANNEL)).await.unwrap();
    assert_eq!(a2.channel_id, Some(CHANNEL));

    // A small channel id.
    let s1 = store.set_channel(small.id, Some(3)).await.unwrap();
    assert_eq!(s1.channel_id, Some(3));
    assert_eq!(store.get_by_channel(3).await.unwrap(), Some(s1));

    // Clearing frees the channel for another ticket.
    let a3 = store.set_channel(a.id, None).await.unwrap();
    assert_eq!(a3.channel_id, None);
    assert_eq!(store.get_by_channel(CHANNEL).await.unwrap(), None);
    let b1 = store.set_channel(b.id, Some(CHANNEL)).await.unwrap();
    assert_eq!(store.get_by_channel(CHANNEL).await.unwrap(), Some(b1));
    let a4 = store.set_channel(a.id, Some(CHANNEL_2)).await.unwrap();
    assert_eq!(store.get_by_channel(CHANNEL_2).await.unwrap(), Some(a4));

    // Unknown ticket.
    assert_eq!(
        rule(store.set_channel(Uuid::new_v4(), Some(42)).await),
        RuleError::NotFound
    );
    assert_eq!(store.get_by_channel(42).await.unwrap(), None);

    // Channel changes are not history events.
    assert_history(store, a.id, GUILD, &[Ev::opened(&a)]).await;
}

async fn find_by_prefix_limits_and_escaping(db: &TestDb) {
    let store = &*db.store;
    let at = now();
    // Tickets with chosen ids, put in through import (closed, so that they hold no limit slot).
    let ids = [
        "abcdef01-0000-4000-8000-000000000001",
        "abcdef01-0000-4000-8000-000000000002",
        "abcdef02-0000-4000-8000-000000000003",
        "abcdef1a-0000-4000-8000-000000000004",
        "0bcdef01-0000-4000-8000-000000000005",
    ];
    let tickets: Vec<Ticket> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut t = Ticket::new(GUILD, CREATOR + i as u64, at);
            t.id = Uuid::parse_str(id).unwrap();
            t.status = TicketStatus::Closed;
            t.closed_at = Some(at);
            t.closed_by = Some(STAFF_A);
            t
        })
        .collect();
    let records: Vec<TicketRecord> = tickets
        .iter()
        .map(|t| TicketRecord {
            ticket: t.clone(),
            participants: vec![],
            open_slot: None,
        })
        .collect();
    store.import_tickets(&records).await.unwrap();

    let find = |prefix: &'static str, limit: u32| async move {
        by_id(store.find_by_prefix(prefix, limit).await.unwrap())
    };
    assert_eq!(find("abcdef01", 10).await, tickets[0..2].to_vec());
    assert_eq!(find("abcdef0", 10).await, tickets[0..3].to_vec());
    assert_eq!(find("abcdef", 10).await, tickets[0..4].to_vec());
    assert_eq!(find("abcdef1a", 10).await, tickets[3..4].to_vec());
    assert_eq!(
        find("abcdef01-0000-4000-8000-000000000002", 10).await,
        tickets[1..2].to_vec()
    );
    // The limit is respected.
    let two = find("abcdef", 2).await;
    assert_eq!(two.len(), 2, "limit 2 gave {two:?}");
    assert!(two.iter().all(|t| tickets[0..4].contains(t)));
    assert_eq!(find("abcdef", 1).await.len(), 1);

    // Wildcards and injection attempts of SQL LIKE, regexes and Mongo queries match nothing.
    for hostile in [
        "%",
        "_",
        "abcdef0_",
        "abcdef%",
        "%01",
        "_bcdef01",
        ".*",
        ".",
        "abcdef0.",
        "^abc",
        "[a-f]",
        "a|0",
        "\\",
        "'",
        "' OR '1'='1",
        "'; DROP TABLE tickets; --",
        "$where",
        "{\"$gt\": \"\"}",
        "\0",
        "abcdef01\0",
    ] {
        match store.find_by_prefix(hostile, 10).await {
            Ok(found) => assert!(
                found.is_empty(),
                "find_by_prefix({hostile:?}) found {found:?}"
            ),
            Err(e) => panic!("find_by_prefix({hostile:?}) failed: {e}"),
        }
    }
    // The data survived.
    assert_eq!(record_counts(store).await.tickets, 5);
}

// ---------------------------------------------------------------------------------------------
// Transitions, with `rules::apply` as the oracle.

async fn transitions_follow_the_rules(db: &TestDb) {
    let store = &*db.store;
    let mut clock = Clock::new();
    let mut t = Tracked::create(store, GUILD, CREATOR, clock.tick()).await;

    // claim, second claim, claim by the holder
    let c = t.step(store, claim(STAFF_A, clock.tick())).await.unwrap();
    assert_eq!(c.claimed_by, Some(STAFF_A));
    assert_eq!(
        t.step(store, claim(STAFF_B, clock.tick())).await,
        Err(RuleError::AlreadyClaimed(STAFF_A))
    );
    assert_eq!(
        t.step(store, claim(STAFF_A, clock.tick())).await,
        Err(RuleError::AlreadyClaimed(STAFF_A))
    );
    // unclaim by another, by the claimer, when unclaimed
    assert_eq!(
        t.step(store, unclaim(STAFF_B, clock.tick())).await,
        Err(RuleError::ClaimedByOther(STAFF_A))
    );
    let u = t.step(store, unclaim(STAFF_A, clock.tick())).await.unwrap();
    assert_eq!((u.claimed_by, u.claimed_at), (None, None));
    assert_eq!(
        t.step(store, unclaim(STAFF_A, clock.tick())).await,
        Err(RuleError::NotClaimed)
    );
    // claim again, close with a reason (the claim stays)
    t.step(store, claim(STAFF_B, clock.tick())).await.unwrap();
    let close_at = clock.tick();
    let closed = t
        .step(
            store,
            close(STAFF_C, Some("resolved: printer on fire"), close_at),
        )
        .await
        .unwrap();
    assert_eq!(closed.status, TicketStatus::Closed);
    assert_eq!(closed.closed_at, Some(close_at));
    assert_eq!(closed.closed_by, Some(STAFF_C));
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("resolved: printer on fire")
    );
    assert_eq!(closed.claimed_by, Some(STAFF_B));
    // everything on a closed ticket
    assert_eq!(
        t.step(store, claim(STAFF_A, clock.tick())).await,
        Err(RuleError::Closed)
    );
    assert_eq!(
        t.step(store, unclaim(STAFF_B, clock.tick())).await,
        Err(RuleError::Closed)
    );
    assert_eq!(
        t.step(store, close(STAFF_A, Some("again"), clock.tick()))
            .await,
        Err(RuleError::AlreadyClosed)
    );
    // reopen, reopen an open ticket
    let r = t.step(store, reopen(STAFF_A, clock.tick())).await.unwrap();
    assert_eq!(r.status, TicketStatus::Open);
    assert_eq!(
        (r.closed_at, r.closed_by, r.close_reason),
        (None, None, None)
    );
    assert_eq!(
        t.step(store, reopen(STAFF_A, clock.tick())).await,
        Err(RuleError::AlreadyOpen)
    );
    // forced close from ticketctl: no actor
    let forced = Transition::Close {
        by: None,
        reason: Some("spam (operator)".into()),
        at: clock.tick(),
        forced: true,
    };
    let f = t.step(store, forced).await.unwrap();
    assert_eq!(f.closed_by, None);
    assert_eq!(f.status, TicketStatus::Closed);
    // reopen, close without a reason, by the creator
    t.step(store, reopen(STAFF_B, clock.tick())).await.unwrap();
    let plain = t
        .step(store, close(CREATOR, None, clock.tick()))
        .await
        .unwrap();
    assert_eq!(plain.close_reason, None);

    let history = t.assert_history(store).await;
    let kinds: Vec<EventKind> = history.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Opened,
            EventKind::Claimed,
            EventKind::Unclaimed,
            EventKind::Claimed,
            EventKind::Closed,
            EventKind::Reopened,
            EventKind::ForceClosed,
            EventKind::Reopened,
            EventKind::Closed,
        ]
    );
    assert_eq!(
        history[4].details.as_deref(),
        Some("resolved: printer on fire")
    );
    assert_eq!(history[6].actor_id, None);

    // A second ticket is untouched by all this.
    let other = Tracked::create(store, GUILD, OTHER_USER, clock.tick()).await;
    assert_eq!(
        store.get(other.id()).await.unwrap(),
        Some(other.ticket.clone())
    );
    other.assert_history(store).await;

    // Every transition on an unknown ticket.
    let ghost = Uuid::new_v4();
    for tr in [
        claim(STAFF_A, clock.tick()),
        unclaim(STAFF_A, clock.tick()),
        close(STAFF_A, Some("x"), clock.tick()),
        reopen(STAFF_A, clock.tick()),
    ] {
        assert_eq!(
            rule(store.transition(ghost, &tr).await),
            RuleError::NotFound,
            "{tr:?}"
        );
    }
    assert!(store.history(ghost).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Participants.

async fn participants(db: &TestDb) {
    let store = &*db.store;
    let mut clock = Clock::new();
    let mut t = Tracked::create(store, GUILD, CREATOR, clock.tick()).await;
    let id = t.id();

    let at1 = clock.tick();
    let p1 = store
        .add_participant(id, MEMBER_1, STAFF_A, at1)
        .await
        .unwrap();
    assert_eq!(
        p1,
        Participant {
            ticket_id: id,
            user_id: MEMBER_1,
            added_by: STAFF_A,
            added_at: at1
        }
    );
    t.events.push(Ev::participant(
        EventKind::ParticipantAdded,
        MEMBER_1,
        STAFF_A,
        at1,
    ));
    let at2 = clock.tick();
    let p2 = store
        .add_participant(id, MEMBER_2, STAFF_B, at2)
        .await
        .unwrap();
    t.events.push(Ev::participant(
        EventKind::ParticipantAdded,
        MEMBER_2,
        STAFF_B,
        at2,
    ));

    assert_eq!(
        rule(
            store
                .add_participant(id, MEMBER_1, STAFF_B, clock.tick())
                .await
        ),
        RuleError::AlreadyParticipant(MEMBER_1)
    );
    assert_eq!(
        rule(
            store
                .add_participant(id, CREATOR, STAFF_B, clock.tick())
                .await
        ),
        RuleError::IsCreator(CREATOR)
    );
    let mut listed = store.participants(id).await.unwrap();
    listed.sort_by_key(|p| p.added_at);
    assert_eq!(listed, vec![p1.clone(), p2.clone()]);

    // remove, remove again, remove the creator
    let at3 = clock.tick();
    store
        .remove_participant(id, MEMBER_1, STAFF_B, at3)
        .await
        .unwrap();
    t.events.push(Ev::participant(
        EventKind::ParticipantRemoved,
        MEMBER_1,
        STAFF_B,
        at3,
    ));
    assert_eq!(
        rule(
            store
                .remove_participant(id, MEMBER_1, STAFF_B, clock.tick())
                .await
        ),
        RuleError::NotParticipant(MEMBER_1)
    );
    assert_eq!(
        rule(
            store
                .remove_participant(id, CREATOR, STAFF_B, clock.tick())
                .await
        ),
        RuleError::IsCreator(CREATOR)
    );
    assert_eq!(store.participants(id).await.unwrap(), vec![p2.clone()]);

    // May be added again after removal.
    let at4 = clock.tick();
    let p1b = store
        .add_participant(id, MEMBER_1, STAFF_C, at4)
        .await
        .unwrap();
    assert_eq!(p1b.added_by, STAFF_C);
    assert_eq!(p1b.added_at, at4);
    t.events.push(Ev::participant(
        EventKind::ParticipantAdded,
        MEMBER_1,
        STAFF_C,
        at4,
    ));

    // Closed: adding is refused, removing is allowed.
    t.step(store, close(STAFF_A, Some("done"), clock.tick()))
        .await
        .unwrap();
    assert_eq!(
        rule(store.add_participant(id, 777, STAFF_A, clock.tick()).await),
        RuleError::Closed
    );
    let at5 = clock.tick();
    store
        .remove_participant(id, MEMBER_2, STAFF_A, at5)
        .await
        .unwrap();
    t.events.push(Ev::participant(
        EventKind::ParticipantRemoved,
        MEMBER_2,
        STAFF_A,
        at5,
    ));
    assert_eq!(store.participants(id).await.unwrap(), vec![p1b]);

    // Unknown ticket.
    let ghost = Uuid::new_v4();
    assert_eq!(
        rule(
            store
                .add_participant(ghost, MEMBER_1, STAFF_A, clock.tick())
                .await
        ),
        RuleError::NotFound
    );
    assert_eq!(
        rule(
            store
                .remove_participant(ghost, MEMBER_1, STAFF_A, clock.tick())
                .await
        ),
        RuleError::NotFound
    );

    // Participants belong to their ticket only.
    let other = Tracked::create(store, GUILD, OTHER_USER, clock.tick()).await;
    assert!(store.participants(other.id()).await.unwrap().is_empty());

    t.assert_history(store).await;
    assert_eq!(record_counts(store).await.participants, 1);
}

// ---------------------------------------------------------------------------------------------
// delete and discard.

async fn delete_keeps_history(db: &TestDb) {
    let store = &*db.store;
    let mut clock = Clock::new();
    let mut t = Tracked::create(store, GUILD, CREATOR, clock.tick()).await;
    let id = t.id();
    t.ticket = store.set_channel(id, Some(CHANNEL)).await.unwrap();
    let at = clock.tick();
    store
        .add_participant(id, MEMBER_1, STAFF_A, at)
        .await
        .unwrap();
    t.events.push(Ev::participant(
        EventKind::ParticipantAdded,
        MEMBER_1,
        STAFF_A,
        at,
    ));
    t.step(store, claim(STAFF_A, clock.tick())).await.unwrap();
    t.step(store, close(STAFF_A, Some("bye \"now\""), clock.tick()))
        .await
        .unwrap();
    let keep = Tracked::create(store, GUILD, OTHER_USER, clock.tick()).await;

    let before = record_counts(store).await;
    let del_at = clock.tick();
    let deleted = store.delete(id, Some(STAFF_B), del_at).await.unwrap();
    assert_eq!(deleted, t.ticket, "delete returns the ticket as it was");

    assert_eq!(store.get(id).await.unwrap(), None);
    assert!(store
        .find_by_prefix(&t.ticket.short_id(), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.get_by_channel(CHANNEL).await.unwrap(), None);
    assert!(store.participants(id).await.unwrap().is_empty());

    let mut expected = t.events.clone();
    expected.push(Ev {
        kind: EventKind::Deleted,
        actor: Some(STAFF_B),
        at: del_at,
        details: Details::Any,
    });
    let history = assert_history(store, id, GUILD, &expected).await;
    let details = history
        .last()
        .unwrap()
        .details
        .clone()
        .expect("deleted event has details");
    let json: Value = serde_json::from_str(&details)
        .unwrap_or_else(|e| panic!("deleted event details are not JSON ({e}): {details:?}"));
    assert!(
        json_has_string(&json, &id.to_string()) || json_has_string(&json, &id.simple().to_string()),
        "deleted event details do not hold the ticket id: {details}"
    );
    if let Ok(as_ticket) = serde_json::from_value::<Ticket>(json.clone()) {
        assert_eq!(as_ticket, deleted, "details hold another ticket");
    }

    let after = record_counts(store).await;
    assert_eq!(
        after,
        RecordCounts {
            tickets: before.tickets - 1,
            participants: before.participants - 1,
            events: before.events + 1,
            ..RecordCounts::default()
        }
    );

    // Deleting again, or an unknown ticket.
    assert_eq!(
        rule(store.delete(id, Some(STAFF_B), clock.tick()).await),
        RuleError::NotFound
    );
    assert_eq!(
        rule(store.delete(Uuid::new_v4(), None, clock.tick()).await),
        RuleError::NotFound
    );
    assert_eq!(record_counts(store).await, after);

    // The channel is free again; the other ticket is untouched.
    let k = store.set_channel(keep.id(), Some(CHANNEL)).await.unwrap();
    assert_eq!(store.get_by_channel(CHANNEL).await.unwrap(), Some(k));
    keep.assert_history(store).await;

    // Deleting an open ticket frees the creator's limit slot; a system delete has no actor.
    let open = created(store.create_ticket(GUILD, MEMBER_2, 1, clock.tick()).await);
    limit_reached(store.create_ticket(GUILD, MEMBER_2, 1, clock.tick()).await);
    let sys_at = clock.tick();
    assert_eq!(store.delete(open.id, None, sys_at).await.unwrap(), open);
    let h = store.history(open.id).await.unwrap();
    let last = h.last().unwrap();
    assert_eq!(
        (last.kind, last.actor_id, last.at),
        (EventKind::Deleted, None, sys_at)
    );
    created(store.create_ticket(GUILD, MEMBER_2, 1, clock.tick()).await);
}

async fn discard_removes_everything(db: &TestDb) {
    let store = &*db.store;
    let mut clock = Clock::new();
    let keep = Tracked::create(store, GUILD, OTHER_USER, clock.tick()).await;
    let before = record_counts(store).await;

    let t = created(store.create_ticket(GUILD, CREATOR, 1, clock.tick()).await);
    store.set_channel(t.id, Some(CHANNEL)).await.unwrap();
    store
        .add_participant(t.id, MEMBER_1, STAFF_A, clock.tick())
        .await
        .unwrap();
    store
        .transition(t.id, &claim(STAFF_A, clock.tick()))
        .await
        .unwrap();
    assert_eq!(record_counts(store).await.events, before.events + 3);

    assert!(store.discard(t.id).await.unwrap());
    assert_eq!(store.get(t.id).await.unwrap(), None);
    assert!(store.history(t.id).await.unwrap().is_empty());
    assert!(store.participants(t.id).await.unwrap().is_empty());
    assert_eq!(store.get_by_channel(CHANNEL).await.unwrap(), None);
    assert_eq!(record_counts(store).await, before, "as if it never was");

    assert!(!store.discard(t.id).await.unwrap());
    assert!(!store.discard(Uuid::new_v4()).await.unwrap());

    // The slot and the channel are free again; the other ticket is untouched.
    let again = created(store.create_ticket(GUILD, CREATOR, 1, clock.tick()).await);
    store.set_channel(again.id, Some(CHANNEL)).await.unwrap();
    assert_eq!(
        store.get(keep.id()).await.unwrap(),
        Some(keep.ticket.clone())
    );
    keep.assert_history(store).await;
}

// ---------------------------------------------------------------------------------------------
// Per-user limit.

async fn per_user_limit(db: &TestDb) {
    let store = &*db.store;
    let mut clock = Clock::new();

    let first = created(store.create_ticket(GUILD, CREATOR, 1, clock.tick()).await);
    let open = limit_reached(store.create_ticket(GUILD, CREATOR, 1, clock.tick()).await);
    assert_eq!(open, vec![first.clone()]);
    // The refusal wrote nothing.
    assert_eq!(
        record_counts(store).await,
        RecordCounts {
            tickets: 1,
            participants: 0,
            events: 1,
            ..RecordCounts::default()
        }
    );

    // Another user, or the same user in another guild, is not affected.
    created(
        store
            .create_ticket(GUILD, OTHER_USER, 1, clock.tick())
            .await,
    );
    let elsewhere = created(
        store
            .create_ticket(OTHER_GUILD, CREATOR, 1, clock.tick())
            .await,
    );

    // Claiming does not free the slot; closing does.
    store
        .transition(first.id, &claim(STAFF_A, clock.tick()))
        .await
        .unwrap();
    let claimed_first = store.get(first.id).await.unwrap().unwrap();
    assert_eq!(
        limit_reached(store.create_ticket(GUILD, CREATOR, 1, clock.tick()).await),
        vec![claimed_first]
    );
    store
        .transition(first.id, &close(STAFF_A, None, clock.tick()))
        .await
        .unwrap();
    let second = created(store.create_ticket(GUILD, CREATOR, 1, clock.tick()).await);
    assert_eq!(
        limit_reached(store.create_ticket(GUILD, CREATOR, 1, clock.tick()).await),
        vec![second.clone()]
    );

    // A higher limit: the same user may now hold two in GUILD.
    let third = created(store.create_ticket(GUILD, CREATOR, 2, clock.tick()).await);
    assert_eq!(
        by_id(limit_reached(
            store.create_ticket(GUILD, CREATOR, 2, clock.tick()).await
        )),
        by_id(vec![second.clone(), third.clone()])
    );
    // ... and the limit is per guild.
    assert_eq!(
        limit_reached(
            store
                .create_ticket(OTHER_GUILD, CREATOR, 1, clock.tick())
                .await
        ),
        vec![elsewhere]
    );

    // max_open 3 allows three.
    let mut three = Vec::new();
    for _ in 0..3 {
        three.push(created(
            store.create_ticket(GUILD, MEMBER_1, 3, clock.tick()).await,
        ));
    }
    assert_eq!(
        by_id(limit_reached(
            store.create_ticket(GUILD, MEMBER_1, 3, clock.tick()).await
        )),
        by_id(three.clone())
    );
    // Closing any one of them frees a slot, and only one.
    store
        .transition(three[1].id, &close(STAFF_B, None, clock.tick()))
        .await
        .unwrap();
    created(store.create_ticket(GUILD, MEMBER_1, 3, clock.tick()).await);
    limit_reached(store.create_ticket(GUILD, MEMBER_1, 3, clock.tick()).await);

    // Counts agree with what was created and refused.
    let counts = store
        .count(&TicketFilter {
            guild_id: Some(GUILD),
            creator_id: Some(MEMBER_1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(counts, StatusCounts { open: 3, closed: 1 });
    let counts = store
        .count(&TicketFilter {
            guild_id: Some(GUILD),
            creator_id: Some(CREATOR),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(counts, StatusCounts { open: 2, closed: 1 });
}

/// Reopening a ticket of a user who already holds the limit: not specified; the store must
/// either allow it or refuse with a rule, and must not lose or corrupt data either way.
async fn reopen_at_the_limit(db: &TestDb) {
    let store = &*db.store;
    let mut clock = Clock::new();
    let old = created(store.create_ticket(GUILD, CREATOR, 1, clock.tick()).await);
    let old = store
        .transition(old.id, &close(STAFF_A, Some("fixed"), clock.tick()))
        .await
        .unwrap();
    let current = created(store.create_ticket(GUILD, CREATOR, 1, clock.tick()).await);
    let events_before = store.history(old.id).await.unwrap();

    let tr = reopen(STAFF_A, clock.tick());
    let result = store.transition(old.id, &tr).await;
    eprintln!(
        "[{}] reopen while the creator holds the limit: {result:?}",
        db.backend()
    );
    let open_filter = TicketFilter {
        guild_id: Some(GUILD),
        creator_id: Some(CREATOR),
        status: Some(TicketStatus::Open),
        ..Default::default()
    };
    match result {
        Ok(reopened) => {
            assert_eq!(reopened, rules::apply(&old, &tr).unwrap());
            assert_eq!(store.get(old.id).await.unwrap(), Some(reopened.clone()));
            let h = store.history(old.id).await.unwrap();
            assert_eq!(h.len(), events_before.len() + 1);
            assert_eq!(h.last().unwrap().kind, EventKind::Reopened);
            // Both are open now, and both count.
            let listed = store.list(&open_filter, 10, None).await.unwrap().tickets;
            assert_eq!(
                by_id(listed),
                by_id(vec![reopened.clone(), current.clone()])
            );
            assert_eq!(
                by_id(limit_reached(
                    store.create_ticket(GUILD, CREATOR, 2, clock.tick()).await
                )),
                by_id(vec![reopened.clone(), current.clone()])
            );
            // Closing both frees the user completely (no slot leaked).
            for id in [old.id, current.id] {
                store
                    .transition(id, &close(STAFF_A, None, clock.tick()))
                    .await
                    .unwrap();
            }
        }
        Err(StoreError::Rule(e)) => {
            eprintln!("[{}] reopen refused with rule {e:?}", db.backend());
            assert_eq!(store.get(old.id).await.unwrap(), Some(old.clone()));
            assert_eq!(store.history(old.id).await.unwrap(), events_before);
            // Closing the current one makes the reopen possible.
            store
                .transition(current.id, &close(STAFF_A, None, clock.tick()))
                .await
                .unwrap();
            let tr = reopen(STAFF_A, clock.tick());
            let expected = rules::apply(&old, &tr).unwrap();
            assert_eq!(store.transition(old.id, &tr).await.unwrap(), expected);
            store
                .transition(old.id, &close(STAFF_A, None, clock.tick()))
                .await
                .unwrap();
        }
        Err(e) => panic!("reopen at the limit failed with a non-rule error: {e}"),
    }
    assert_eq!(
        store.count(&open_filter).await.unwrap(),
        StatusCounts { open: 0, closed: 0 }
    );
    let fresh = created(store.create_ticket(GUILD, CREATOR, 1, clock.tick()).await);
    assert_eq!(store.get(fresh.id).await.unwrap(), Some(fresh));
}

// ---------------------------------------------------------------------------------------------
// list and count.

/// The filter's meaning, as the model of `list` and `count`.
fn selects(f: &TicketFilter, t: &Ticket) -> bool {
    let claim_ok = match f.claim {
        ClaimFilter::Any => true,
        ClaimFilter::Unclaimed => t.claimed_by.is_none(),
        ClaimFilter::By(u) => t.claimed_by == Some(u),
    };
    (f.guild_id.is_none() || f.guild_id == Some(t.guild_id))
        && (f.status.is_none() || f.status == Some(t.status))
        && (f.creator_id.is_none() || f.creator_id == Some(t.creator_id))
        && claim_ok
        && f.since.is_none_or(|s| t.created_at >= s)
        && f.until.is_none_or(|u| t.created_at < u)
}

fn newest_first(all: &[Ticket], f: &TicketFilter) -> Vec<Ticket> {
    let mut v: Vec<Ticket> = all.iter().filter(|t| selects(f, t)).cloned().collect();
    v.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
    v
}

fn status_counts(tickets: &[Ticket]) -> StatusCounts {
    let open = tickets.iter().filter(|t| t.is_open()).count() as u64;
    StatusCounts {
        open,
        closed: tickets.len() as u64 - open,
    }
}

/// All pages of a listing, following `next` (through its printed form, as ticketctl does).
async fn paginate(store: &dyn TicketStore, f: &TicketFilter, limit: u32) -> Vec<Ticket> {
    let mut out: Vec<Ticket> = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut sizes = Vec::new();
    for _ in 0..1000 {
        let page = store.list(f, limit, cursor.as_ref()).await.unwrap();
        assert!(page.tickets.len() <= limit as usize);
        out.extend(page.tickets.iter().cloned());
        sizes.push(page.tickets.len());
        match page.next {
            None => {
                eprintln!("paged {f:?} by {limit}: page sizes {sizes:?}");
                return out;
            }
            Some(next) => {
                assert!(!page.tickets.is_empty(), "an empty page with a next cursor");
                assert_eq!(next, Cursor::after(page.tickets.last().unwrap()));
                cursor = Some(next.to_string().parse().expect("cursor round trip"));
            }
        }
    }
    panic!("pagination of {f:?} does not end");
}

async fn list_filters_and_pagination(db: &TestDb) {
    let store = &*db.store;
    let (u1, u2, u3) = (CREATOR, OTHER_USER, MEMBER_2);
    let (s1, s2) = (STAFF_A, STAFF_B);
    let base = now() - Duration::days(10);
    // Tickets 12..18 share one created_at, so that a page boundary falls inside the tie.
    let tie = base + Duration::minutes(37 * 12) + Duration::microseconds(12);
    let mut all = Vec::new();
    for i in 0..25u64 {
        let guild = if i % 5 == 0 { OTHER_GUILD } else { GUILD };
        let creator = [u1, u2, u3][(i % 3) as usize];
        let created_at = if (12..18).contains(&i) {
            tie
        } else {
            base + Duration::minutes(37 * i as i64) + Duration::microseconds(i as i64)
        };
        let mut t = created(store.create_ticket(guild, creator, 100, created_at).await);
        if i % 3 == 2 {
            t = store
                .transition(t.id, &claim(s1, created_at + Duration::minutes(1)))
                .await
                .unwrap();
        } else if i % 7 == 3 {
            t = store
                .transition(t.id, &claim(s2, created_at + Duration::minutes(1)))
                .await
                .unwrap();
        }
        if i % 4 == 1 {
            t = store
                .transition(t.id, &close(s1, None, created_at + Duration::minutes(2)))
                .await
                .unwrap();
        }
        all.push(t);
    }
    let everything = TicketFilter::default();
    let expected_all = newest_first(&all, &everything);

    // Strict paging: 25 tickets by 10 are pages of 10, 10 and 5, the last without `next`.
    let p1 = store.list(&everything, 10, None).await.unwrap();
    assert_eq!(p1.tickets, expected_all[0..10].to_vec());
    assert_eq!(p1.next, Some(Cursor::after(&expected_all[9])));
    let p2 = store.list(&everything, 10, p1.next.as_ref()).await.unwrap();
    assert_eq!(p2.tickets, expected_all[10..20].to_vec());
    assert_eq!(p2.next, Some(Cursor::after(&expected_all[19])));
    let p3 = store.list(&everything, 10, p2.next.as_ref()).await.unwrap();
    assert_eq!(p3.tickets, expected_all[20..25].to_vec());
    assert_eq!(p3.next, None);
    let ids: HashSet<Uuid> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| p.tickets.iter().map(|t| t.id))
        .collect();
    assert_eq!(ids.len(), 25);

    // A cursor inside the tie group continues right after it.
    let tied: Vec<usize> = (0..25)
        .filter(|&i| expected_all[i].created_at == tie)
        .collect();
    assert_eq!(tied.len(), 6);
    for &i in &tied {
        let rest = store
            .list(&everything, 100, Some(&Cursor::after(&expected_all[i])))
            .await
            .unwrap();
        assert_eq!(rest.tickets, expected_all[i + 1..].to_vec(), "after #{i}");
        assert_eq!(rest.next, None);
    }

    let filters = [
        everything.clone(),
        TicketFilter {
            guild_id: Some(GUILD),
            ..Default::default()
        },
        TicketFilter {
            guild_id: Some(OTHER_GUILD),
            ..Default::default()
        },
        TicketFilter {
            status: Some(TicketStatus::Open),
            ..Default::default()
        },
        TicketFilter {
            status: Some(TicketStatus::Closed),
            ..Default::default()
        },
        TicketFilter {
            creator_id: Some(u2),
            ..Default::default()
        },
        TicketFilter {
            claim: ClaimFilter::Unclaimed,
            ..Default::default()
        },
        TicketFilter {
            claim: ClaimFilter::By(s1),
            ..Default::default()
        },
        TicketFilter {
            claim: ClaimFilter::By(s2),
            ..Default::default()
        },
        TicketFilter {
            since: Some(tie),
            ..Default::default()
        },
        TicketFilter {
            until: Some(tie),
            ..Default::default()
        },
        TicketFilter {
            since: Some(tie),
            until: Some(tie + Duration::microseconds(1)),
            ..Default::default()
        },
        TicketFilter {
            guild_id: Some(GUILD),
            status: Some(TicketStatus::Open),
            creator_id: Some(u1),
            claim: ClaimFilter::Unclaimed,
            since: Some(base + Duration::minutes(37 * 3)),
            until: Some(base + Duration::minutes(37 * 22)),
            topic: None,
        },
        TicketFilter {
            guild_id: Some(GUILD),
            status: Some(TicketStatus::Closed),
            claim: ClaimFilter::By(s1),
            ..Default::default()
        },
        TicketFilter {
            guild_id: Some(42),
            ..Default::default()
        },
    ];
    // Every mismatch of every filter is collected, so that one run shows them all.
    let mut problems: Vec<String> = Vec::new();
    for f in &filters {
        let expected = newest_first(&all, f);
        // Every non-trivial filter must select something and leave something out.
        if f != &everything && f.guild_id != Some(42) {
            assert!(
                !expected.is_empty() && expected.len() < all.len(),
                "weak filter fixture {f:?}"
            );
        }
        let ids = |v: &[Ticket]| v.iter().map(|t| t.short_id()).collect::<Vec<_>>();
        let one = store.list(f, 1000, None).await.unwrap();
        if one.tickets != expected || one.next.is_some() {
            problems.push(format!(
                "list {f:?}: got {:?} (next {:?}), expected {:?}",
                ids(&one.tickets),
                one.next,
                ids(&expected)
            ));
        }
        for by in [4, 1] {
            let paged = paginate(store, f, by).await;
            if paged != expected {
                problems.push(format!(
                    "paged by {by}, {f:?}: got {:?}, expected {:?}",
                    ids(&paged),
                    ids(&expected)
                ));
            }
        }
        let counted = store.count(f).await.unwrap();
        if counted != status_counts(&expected) {
            problems.push(format!(
                "count {f:?}: got {counted:?}, expected {:?}",
                status_counts(&expected)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        store.count(&everything).await.unwrap().total(),
        25,
        "count of everything"
    );

    // After the last ticket there is nothing.
    let end = store
        .list(
            &everything,
            10,
            Some(&Cursor::after(expected_all.last().unwrap())),
        )
        .await
        .unwrap();
    assert!(end.tickets.is_empty());
    assert_eq!(end.next, None);
}

// ---------------------------------------------------------------------------------------------
// Export / import / stream_all.

/// Living tickets of several kinds, a deleted one and heartbeats.
struct Populated {
    /// Open, channel set, claimed, two participants (one added after another was removed).
    open: Ticket,
    /// Closed with a hostile reason, one participant.
    closed: Ticket,
    /// Open, small ids.
    small: Ticket,
    /// Reopened after a close.
    reopened: Ticket,
    /// Force-closed by no one.
    forced: Ticket,
    deleted: Uuid,
    beats: Vec<Heartbeat>,
}

impl Populated {
    fn living(&self) -> Vec<&Ticket> {
        vec![
            &self.open,
            &self.closed,
            &self.small,
            &self.reopened,
            &self.forced,
        ]
    }
}

async fn populate(store: &dyn TicketStore, clock: &mut Clock) -> Populated {
    let open = created(store.create_ticket(GUILD, CREATOR, 1, clock.tick()).await);
    store.set_channel(open.id, Some(CHANNEL)).await.unwrap();
    store
        .add_participant(open.id, MEMBER_1, STAFF_A, clock.tick())
        .await
        .unwrap();
    store
        .add_participant(open.id, MEMBER_2, STAFF_A, clock.tick())
        .await
        .unwrap();
    store
        .remove_participant(open.id, MEMBER_1, STAFF_B, clock.tick())
        .await
        .unwrap();
    store
        .add_participant(open.id, STAFF_C, STAFF_B, clock.tick())
        .await
        .unwrap();
    let open = store
        .transition(open.id, &claim(STAFF_A, clock.tick()))
        .await
        .unwrap();

    let closed = created(
        store
            .create_ticket(GUILD, OTHER_USER, 1, clock.tick())
            .await,
    );
    store.set_channel(closed.id, Some(CHANNEL_2)).await.unwrap();
    store
        .add_participant(closed.id, MEMBER_1, STAFF_B, clock.tick())
        .await
        .unwrap();
    store
        .transition(closed.id, &claim(STAFF_B, clock.tick()))
        .await
        .unwrap();
    let reason = "'; DROP TABLE tickets; -- 🦀 {\"$gt\": \"\"}\nnul:\0 مرحبا";
    let closed = store
        .transition(closed.id, &close(STAFF_B, Some(reason), clock.tick()))
        .await
        .unwrap();

    let small = created(store.create_ticket(1, 2, 1, clock.tick()).await);
    let small = store.set_channel(small.id, Some(3)).await.unwrap();

    let reopened = created(
        store
            .create_ticket(OTHER_GUILD, CREATOR, 1, clock.tick())
            .await,
    );
    store
        .transition(reopened.id, &close(CREATOR, None, clock.tick()))
        .await
        .unwrap();
    let reopened = store
        .transition(reopened.id, &reopen(STAFF_A, clock.tick()))
        .await
        .unwrap();

    let forced = created(store.create_ticket(GUILD, MEMBER_1, 1, clock.tick()).await);
    let forced = store
        .transition(
            forced.id,
            &Transition::Close {
                by: None,
                reason: None,
                at: clock.tick(),
                forced: true,
            },
        )
        .await
        .unwrap();

    let gone = created(store.create_ticket(GUILD, MEMBER_2, 1, clock.tick()).await);
    store
        .transition(gone.id, &claim(STAFF_C, clock.tick()))
        .await
        .unwrap();
    store
        .delete(gone.id, Some(STAFF_C), clock.tick())
        .await
        .unwrap();

    let beats = vec![
        Heartbeat {
            instance_id: "bot-1".into(),
            details: "pid 4242 on host-a".into(),
            started_at: clock.tick(),
            seen_at: clock.tick(),
        },
        Heartbeat {
            instance_id: "ticketctl".into(),
            details: "{\"version\": \"0.1.0\"}".into(),
            started_at: clock.tick(),
            seen_at: clock.tick(),
        },
    ];
    for b in &beats {
        store.heartbeat(b).await.unwrap();
    }
    for t in [&open, &closed, &small, &reopened, &forced] {
        assert_eq!(store.get(t.id).await.unwrap().as_ref(), Some(t));
    }
    Populated {
        open,
        closed,
        small,
        reopened,
        forced,
        deleted: gone.id,
        beats,
    }
}

fn sorted_beats(mut beats: Vec<Heartbeat>) -> Vec<Heartbeat> {
    beats.sort_by_key(|b| b.instance_id.clone());
    beats
}

async fn export_import_cross_backend(db: &TestDb) {
    let src = &*db.store;
    let mut clock = Clock::new();
    let pop = populate(src, &mut clock).await;

    let tickets = export_all_tickets(src, 2).await;
    let events = export_all_events(src, 3).await;
    // The export is complete and agrees with the reads.
    let counts = record_counts(src).await;
    assert_eq!(
        counts,
        RecordCounts {
            tickets: tickets.len() as u64,
            participants: tickets.iter().map(|r| r.participants.len() as u64).sum(),
            events: events.len() as u64,
            ..RecordCounts::default()
        }
    );
    assert_eq!(counts.tickets, 5);
    let exported: BTreeMap<Uuid, &TicketRecord> =
        tickets.iter().map(|r| (r.ticket.id, r)).collect();
    assert!(!exported.contains_key(&pop.deleted));
    for t in pop.living() {
        let rec = exported[&t.id];
        assert_eq!(&rec.ticket, t);
        let mut parts = src.participants(t.id).await.unwrap();
        parts.sort_by_key(|p| (p.user_id, p.added_at));
        let mut rec_parts = rec.participants.clone();
        rec_parts.sort_by_key(|p| (p.user_id, p.added_at));
        assert_eq!(rec_parts, parts);
        // The limit slot is held while open, and only then.
        assert_eq!(
            rec.open_slot.is_some(),
            t.is_open(),
            "open_slot of a ticket that is {}: {:?}",
            t.status,
            rec.open_slot
        );
        let hist = src.history(t.id).await.unwrap();
        let exported_hist: Vec<TicketEvent> = events
            .iter()
            .filter(|e| e.ticket_id == t.id)
            .cloned()
            .collect();
        assert_eq!(exported_hist, hist, "exported events of {}", t.id);
    }
    let deleted_events: Vec<&TicketEvent> = events
        .iter()
        .filter(|e| e.ticket_id == pop.deleted)
        .collect();
    assert_eq!(deleted_events.len(), 3, "opened, claimed, deleted");

    // Import into another backend, in batches.
    let target = TestDb::new(other_backend(db.backend())).await;
    let dst = &*target.store;
    // As `ticketctl migrate` does: an empty SQLite target loads without its secondary indexes
    // and builds them at the end; the checks below prove them back (channel, open slot).
    let bulk = dst.begin_bulk_load().await.unwrap();
    assert_eq!(bulk, dst.backend() != Backend::Mongodb, "bulk mode");
    for batch in tickets.chunks(2) {
        dst.import_tickets(batch).await.unwrap();
    }
    for batch in events.chunks(3) {
        dst.import_events(batch).await.unwrap();
    }
    dst.finish_bulk_load().await.unwrap();
    assert!(
        !dst.begin_bulk_load().await.unwrap(),
        "a store holding tickets is never loaded in bulk mode"
    );
    for b in &pop.beats {
        dst.heartbeat(b).await.unwrap();
    }
    let back_tickets = export_all_tickets(dst, 2).await;
    let back_events = export_all_events(dst, 3).await;
    assert_eq!(
        normalized(back_tickets.clone()),
        normalized(tickets.clone())
    );
    assert_eq!(back_events, events);
    assert_eq!(record_counts(dst).await, counts);
    assert_eq!(
        sorted_beats(
            dst.heartbeats_since(DateTime::<Utc>::MIN_UTC)
                .await
                .unwrap()
        ),
        sorted_beats(pop.beats.clone())
    );

    // Importing again changes nothing.
    dst.import_tickets(&tickets).await.unwrap();
    dst.import_events(&events).await.unwrap();
    dst.import_tickets(&tickets[..1]).await.unwrap();
    dst.import_events(&events[..2]).await.unwrap();
    assert_eq!(record_counts(dst).await, counts);
    assert_eq!(
        normalized(export_all_tickets(dst, 100).await),
        normalized(tickets.clone())
    );
    assert_eq!(export_all_events(dst, 100).await, events);

    // The reads agree between source and target.
    for t in pop.living() {
        assert_eq!(dst.get(t.id).await.unwrap().as_ref(), Some(t));
        assert_eq!(
            dst.history(t.id).await.unwrap(),
            src.history(t.id).await.unwrap()
        );
        let mut a = dst.participants(t.id).await.unwrap();
        let mut b = src.participants(t.id).await.unwrap();
        a.sort_by_key(|p| p.user_id);
        b.sort_by_key(|p| p.user_id);
        assert_eq!(a, b);
    }
    assert_eq!(
        dst.history(pop.deleted).await.unwrap(),
        src.history(pop.deleted).await.unwrap()
    );
    let f = TicketFilter::default();
    assert_eq!(
        dst.list(&f, 100, None).await.unwrap(),
        src.list(&f, 100, None).await.unwrap()
    );
    assert_eq!(dst.count(&f).await.unwrap(), src.count(&f).await.unwrap());

    // The imported data keeps its constraints: the channel, the open slot.
    assert_eq!(
        dst.get_by_channel(CHANNEL).await.unwrap().as_ref(),
        Some(&pop.open)
    );
    assert_eq!(
        limit_reached(dst.create_ticket(GUILD, CREATOR, 1, clock.tick()).await),
        vec![pop.open.clone()]
    );
    let fresh = created(dst.create_ticket(GUILD, 99, 1, clock.tick()).await);
    match dst.set_channel(fresh.id, Some(CHANNEL)).await {
        Err(StoreError::ChannelTaken { ticket_id, .. }) if ticket_id == pop.open.id => {}
        other => panic!(
            "imported channel {CHANNEL} of {}: expected ChannelTaken, got {other:?}",
            pop.open.id
        ),
    }
    // The imported tickets go on working.
    dst.transition(pop.open.id, &close(STAFF_A, Some("moved"), clock.tick()))
        .await
        .unwrap();
    created(dst.create_ticket(GUILD, CREATOR, 1, clock.tick()).await);

    // An import replaces a record verbatim, participants included.
    let mut changed = exported[&pop.closed.id].clone();
    changed.ticket.close_reason = Some("edited".into());
    changed.ticket.channel_id = Some(CHANNEL + 100);
    changed.participants.clear();
    dst.import_tickets(std::slice::from_ref(&changed))
        .await
        .unwrap();
    let back = export_all_tickets(dst, 100).await;
    let back_changed = back
        .iter()
        .find(|r| r.ticket.id == changed.ticket.id)
        .unwrap();
    assert_eq!(back_changed, &changed);
    assert!(dst
        .participants(changed.ticket.id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(dst.get_by_channel(CHANNEL_2).await.unwrap(), None);

    target.finish().await;
}

async fn stream_all_yields_everything(db: &TestDb) {
    let store = db.store();
    let mut clock = Clock::new();
    let pop = populate(&*store, &mut clock).await;
    assert!(!pop.beats.is_empty());
    let tickets = normalized(export_all_tickets(&*store, 1000).await);
    let events = export_all_events(&*store, 1000).await;
    assert_eq!(tickets.len(), 5);
    assert_eq!(events.len(), 19);

    // Tickets (with participants) first, then events; heartbeats are not records.
    for batch in [1, 2, 3, 5, 19, 1000] {
        let records: Vec<Record> = store
            .clone()
            .stream_all(batch)
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("stream_all({batch}) failed: {e}"));
        let mut got_tickets = Vec::new();
        let mut got_events = Vec::new();
        for r in records {
            match r {
                Record::Ticket(t) => {
                    assert!(got_events.is_empty(), "a ticket after events");
                    got_tickets.push(*t);
                }
                Record::Event(e) => got_events.push(e),
                Record::Transcript(_)
                | Record::Category(_)
                | Record::Name(_)
                | Record::StaffMessages(_)
                | Record::CloseRequest(_)
                | Record::Activity(_)
                | Record::Feedback(_)
                | Record::Topic(_)
                | Record::TicketForm(_) => {
                    panic!("a transcript, category, name or request that was never stored")
                }
            }
        }
        assert_eq!(normalized(got_tickets), tickets, "batch {batch}");
        assert_eq!(got_events, events, "batch {batch}");
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics.

/// `stats` computed from the exported data, row by row: the oracle.
fn expected_stats(
    tickets: &[Ticket],
    events: &[TicketEvent],
    f: &TicketFilter,
) -> ticketbot_common::stats::TicketStats {
    use chrono::{Datelike, Timelike};
    use ticketbot_common::stats::{
        close_bucket, sort_staff, tally, Activity, Backlog, DayCount, DurationSummary, HourCount,
        TicketStats,
    };
    let selected: Vec<&Ticket> = tickets.iter().filter(|t| selects(f, t)).collect();
    let micros = |d: chrono::Duration| d.num_microseconds().unwrap();
    let close_durations: Vec<i64> = selected
        .iter()
        .filter(|t| t.status == TicketStatus::Closed)
        .filter_map(|t| t.closed_at.map(|c| micros(c - t.created_at)))
        .collect();
    let mut close_times = [0u64; 6];
    for d in &close_durations {
        close_times[close_bucket(*d)] += 1;
    }
    let response_durations = selected
        .iter()
        .filter_map(|t| t.first_response_at.map(|r| micros(r - t.created_at)))
        .collect();
    let claim_durations = selected
        .iter()
        .filter_map(|t| t.claimed_at.map(|c| micros(c - t.created_at)))
        .collect();
    let mut days: BTreeMap<chrono::NaiveDate, (u64, u64)> = BTreeMap::new();
    let mut week: BTreeMap<(u8, u8), u64> = BTreeMap::new();
    for t in &selected {
        days.entry(t.created_at.date_naive()).or_default().0 += 1;
        let key = (
            t.created_at.weekday().num_days_from_monday() as u8,
            t.created_at.hour() as u8,
        );
        *week.entry(key).or_default() += 1;
    }
    let mut staff = Vec::new();
    let mut activity = Activity::default();
    for e in events {
        let in_range = (f.guild_id.is_none() || f.guild_id == Some(e.guild_id))
            && f.since.is_none_or(|s| e.at >= s)
            && f.until.is_none_or(|u| e.at < u);
        if !in_range {
            continue;
        }
        match e.kind {
            EventKind::Opened => activity.opened += 1,
            EventKind::Closed | EventKind::ForceClosed => {
                activity.closed += 1;
                days.entry(e.at.date_naive()).or_default().1 += 1;
            }
            EventKind::Reopened => activity.reopened += 1,
            EventKind::Archived => activity.archived += 1,
            _ => {}
        }
        if let Some(user) = e.actor_id {
            // Other kinds are not staff activity: `tally` ignores them.
            tally(&mut staff, user, e.kind, 1);
        }
    }
    // Each member's median time to first response, over the selected tickets they answered
    // first.
    for row in staff.iter_mut() {
        let theirs: Vec<i64> = selected
            .iter()
            .filter(|t| t.first_response_by == Some(row.user_id))
            .filter_map(|t| t.first_response_at.map(|r| micros(r - t.created_at)))
            .collect();
        row.median_response_secs = DurationSummary::from_micros(theirs).median_secs;
    }
    sort_staff(&mut staff);
    let open_now: Vec<&Ticket> = tickets
        .iter()
        .filter(|t| t.status == TicketStatus::Open)
        .filter(|t| f.guild_id.is_none_or(|g| g == t.guild_id))
        .collect();
    let unclaimed: Vec<&&Ticket> = open_now.iter().filter(|t| t.claimed_by.is_none()).collect();
    let owned: Vec<Ticket> = selected.into_iter().cloned().collect();
    TicketStats {
        counts: status_counts(&owned),
        activity,
        backlog: Backlog {
            open: open_now.len() as u64,
            unclaimed: unclaimed.len() as u64,
            oldest_unclaimed_at: unclaimed.iter().map(|t| t.created_at).min(),
        },
        time_to_claim: DurationSummary::from_micros(claim_durations),
        time_to_first_response: DurationSummary::from_micros(response_durations),
        time_to_close: DurationSummary::from_micros(close_durations),
        close_times,
        staff,
        per_day: days
            .into_iter()
            .map(|(date, (opened, closed))| DayCount {
                date,
                opened,
                closed,
            })
            .collect(),
        busiest_hours: week
            .into_iter()
            .map(|((weekday, hour), opened)| HourCount {
                weekday,
                hour,
                opened,
            })
            .collect(),
        // No ratings in this history (the feedback suite checks them).
        feedback: Default::default(),
    }
}

async fn stats_match_the_data(db: &TestDb) {
    let store = &*db.store;
    // Four days, with tickets on both sides of midnight.
    let day0 = (now() - Duration::days(6))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let at = |day: i64, micros: i64| day0 + Duration::days(day) + Duration::microseconds(micros);
    let before_midnight = Duration::days(1).num_microseconds().unwrap() - 1;
    let plan: [(DiscordId, DiscordId, DateTime<Utc>); 9] = [
        (GUILD, CREATOR, at(0, 3_600_000_001)),
        (GUILD, OTHER_USER, at(0, before_midnight)),
        (GUILD, MEMBER_1, at(1, 0)),
        (GUILD, MEMBER_2, at(1, 7_200_000_123)),
        (OTHER_GUILD, CREATOR, at(1, 9_000_000_000)),
        (GUILD, 77, at(2, 1)),
        (GUILD, 78, at(3, 5)),
        (OTHER_GUILD, 79, at(3, 10)),
        (GUILD, 80, at(3, 20)),
    ];
    let mut ids = Vec::new();
    for (g, c, t) in plan {
        ids.push(created(store.create_ticket(g, c, 5, t).await).id);
    }
    let later =
        |i: usize, secs: i64| plan[i].2 + Duration::seconds(secs) + Duration::microseconds(3);
    let ops: Vec<(usize, Transition)> = vec![
        (0, claim(STAFF_A, later(0, 60))),
        (0, close(STAFF_A, Some("a"), later(0, 3_600))),
        (1, claim(STAFF_B, later(1, 10))),
        (1, close(STAFF_A, None, later(1, 90_000))),
        (2, claim(STAFF_A, later(2, 5))),
        (2, unclaim(STAFF_A, later(2, 6))),
        (2, claim(STAFF_C, later(2, 7))),
        (3, close(MEMBER_2, Some("creator closed it"), later(3, 120))),
        (3, reopen(STAFF_B, later(3, 130))),
        (3, close(STAFF_B, None, later(3, 500))),
        (4, claim(STAFF_A, later(4, 1))),
        (4, close(STAFF_A, None, later(4, 2))),
        (
            5,
            Transition::Close {
                by: None,
                reason: Some("operator".into()),
                at: later(5, 42),
                forced: true,
            },
        ),
        (6, claim(STAFF_B, later(6, 1))),
    ];
    for (i, tr) in &ops {
        store.transition(ids[*i], tr).await.unwrap();
    }
    // First responses after 30 s (staff A), 20 s (staff B), 600 s (staff A).
    for (i, by, secs) in [(0, STAFF_A, 30), (1, STAFF_B, 20), (6, STAFF_A, 600)] {
        assert!(store
            .record_first_response(ids[i], by, later(i, secs))
            .await
            .unwrap());
    }
    let tickets: Vec<Ticket> = export_all_tickets(store, 100)
        .await
        .into_iter()
        .map(|r| r.ticket)
        .collect();
    let events = export_all_events(store, 100).await;

    let filters = [
        TicketFilter::default(),
        TicketFilter {
            guild_id: Some(GUILD),
            ..Default::default()
        },
        TicketFilter {
            guild_id: Some(OTHER_GUILD),
            ..Default::default()
        },
        TicketFilter {
            since: Some(at(1, 0)),
            until: Some(at(3, 0)),
            ..Default::default()
        },
        TicketFilter {
            guild_id: Some(GUILD),
            since: Some(at(0, before_midnight)),
            ..Default::default()
        },
        TicketFilter {
            guild_id: Some(42),
            ..Default::default()
        },
        // Ends within hours and days, and a period within one day.
        TicketFilter {
            since: Some(at(0, 1_800_000_000)),
            until: Some(at(3, 15)),
            ..Default::default()
        },
        TicketFilter {
            guild_id: Some(GUILD),
            since: Some(at(1, 5_000_000_000)),
            until: Some(at(1, 80_000_000_000)),
            ..Default::default()
        },
    ];
    let problems = |tickets: &[Ticket], events: &[TicketEvent]| {
        let store = &*store;
        let filters = filters.clone();
        let (tickets, events) = (tickets.to_vec(), events.to_vec());
        async move {
            let mut problems = Vec::new();
            for f in &filters {
                let want = expected_stats(&tickets, &events, f);
                let got = store.stats(f).await.unwrap();
                if got != want {
                    problems.push(format!(
                        "stats {f:?}:\n  got      {got:?}\n  expected {want:?}"
                    ));
                }
            }
            problems
        }
    };
    let found = problems(&tickets, &events).await;
    assert!(found.is_empty(), "{}", found.join("\n"));
    // The fixture means something: the whole store has closes, claims and several days.
    let all = store.stats(&TicketFilter::default()).await.unwrap();
    assert_eq!(all.per_day.len(), 4);
    assert!(all.staff.len() >= 3);
    // Known figures, worked out by hand from the plan above (every `later` adds 3 µs).
    let secs = |s: f64| Some(s + 0.000_003);
    // Closes after 2 s, 42 s (forced), 500 s (reopened once), 3,600 s and 90,000 s.
    assert_eq!(
        (
            all.time_to_close.count,
            all.time_to_close.median_secs,
            all.time_to_close.p90_secs
        ),
        (5, secs(500.0), secs(90_000.0))
    );
    // Under an hour ×3, 1–4 h (3,600 s and 3 µs), 1–3 days (25 h).
    assert_eq!(all.close_times, [3, 1, 0, 1, 0, 0]);
    // Claims after 1 s, 1 s, 7 s (the current claim, after a claim and an unclaim), 10 s, 60 s.
    assert_eq!(
        (
            all.time_to_claim.count,
            all.time_to_claim.median_secs,
            all.time_to_claim.p90_secs
        ),
        (5, secs(7.0), secs(60.0))
    );
    assert_eq!(
        (
            all.time_to_first_response.count,
            all.time_to_first_response.median_secs,
            all.time_to_first_response.p90_secs
        ),
        (3, secs(30.0), secs(600.0))
    );
    let a = all.staff.iter().find(|s| s.user_id == STAFF_A).unwrap();
    assert_eq!(a.first_responses, 2);
    assert_eq!(
        (
            all.activity.opened,
            all.activity.closed,
            all.activity.reopened,
            all.activity.archived
        ),
        (9, 6, 1, 0)
    );
    assert_eq!(
        (
            all.backlog.open,
            all.backlog.unclaimed,
            all.backlog.oldest_unclaimed_at
        ),
        (4, 2, Some(plan[7].2))
    );
    // A deleted ticket (its history stays) and a discarded one (nothing stays) leave the
    // figures as the remaining rows say.
    store
        .delete(ids[8], Some(STAFF_A), later(8, 5))
        .await
        .unwrap();
    assert!(store.discard(ids[0]).await.unwrap());
    let tickets: Vec<Ticket> = export_all_tickets(store, 100)
        .await
        .into_iter()
        .map(|r| r.ticket)
        .collect();
    let events = export_all_events(store, 100).await;
    let found = problems(&tickets, &events).await;
    assert!(found.is_empty(), "{}", found.join("\n"));
    let after = store.stats(&TicketFilter::default()).await.unwrap();
    assert_eq!(after.activity.opened, 8);
    assert_eq!(after.counts.open + after.counts.closed, 7);
}

/// MySQL tells its buffer pool beside the indexes of the tickets and their history (what
/// `ticketctl stats` advises on); the others have nothing to tell.
async fn cache_fit_is_mysqls(db: &TestDb) {
    let store = &*db.store;
    created(store.create_ticket(GUILD, CREATOR, 5, now()).await);
    let fit = store.cache_fit().await.unwrap();
    match db.backend() {
        Backend::Mysql => {
            let fit = fit.expect("MySQL's buffer pool");
            // InnoDB's smallest pool is 5 MiB; a table's indexes take a page each at least.
            assert!(fit.cache_bytes >= 5 << 20, "{fit:?}");
            assert!(fit.index_bytes >= 16 << 10, "{fit:?}");
        }
        _ => assert_eq!(fit, None),
    }
}

// ---------------------------------------------------------------------------------------------
// Heartbeats.

async fn heartbeats(db: &TestDb) {
    let store = &*db.store;
    let t0 = now();
    let a = Heartbeat {
        instance_id: "bot-a".into(),
        details: "pid 1".into(),
        started_at: t0 - Duration::minutes(5),
        seen_at: t0 + Duration::microseconds(1),
    };
    let b = Heartbeat {
        instance_id: "bot-b".into(),
        details: "pid 2".into(),
        started_at: t0 - Duration::hours(1) - Duration::microseconds(7),
        seen_at: t0 - Duration::minutes(30) - Duration::microseconds(999_999),
    };
    store.heartbeat(&a).await.unwrap();
    store.heartbeat(&b).await.unwrap();

    let since =
        |at: DateTime<Utc>| async move { sorted_beats(store.heartbeats_since(at).await.unwrap()) };
    assert_eq!(
        since(t0 - Duration::days(1)).await,
        vec![a.clone(), b.clone()]
    );
    assert_eq!(
        since(DateTime::<Utc>::MIN_UTC).await,
        vec![a.clone(), b.clone()]
    );
    assert_eq!(
        since(b.seen_at).await,
        vec![a.clone(), b.clone()],
        "inclusive"
    );
    assert_eq!(
        since(b.seen_at + Duration::microseconds(1)).await,
        vec![a.clone()]
    );
    assert_eq!(since(a.seen_at).await, vec![a.clone()]);
    assert_eq!(since(a.seen_at + Duration::microseconds(1)).await, vec![]);

    // Upsert by instance id.
    let a2 = Heartbeat {
        details: "pid 1, 3 guilds".into(),
        seen_at: a.seen_at + Duration::seconds(30),
        ..a.clone()
    };
    store.heartbeat(&a2).await.unwrap();
    assert_eq!(
        since(DateTime::<Utc>::MIN_UTC).await,
        vec![a2.clone(), b.clone()]
    );
    let a3 = Heartbeat {
        started_at: a2.seen_at,
        seen_at: a2.seen_at + Duration::seconds(1),
        ..a2.clone()
    };
    store.heartbeat(&a3).await.unwrap();
    assert_eq!(
        since(DateTime::<Utc>::MIN_UTC).await,
        vec![a3.clone(), b.clone()]
    );

    // Removal.
    store.remove_heartbeat("bot-a").await.unwrap();
    assert_eq!(since(DateTime::<Utc>::MIN_UTC).await, vec![b.clone()]);
    store.remove_heartbeat("bot-a").await.unwrap();
    store.remove_heartbeat("no-such-bot").await.unwrap();
    assert_eq!(since(DateTime::<Utc>::MIN_UTC).await, vec![b.clone()]);
    store.remove_heartbeat("bot-b").await.unwrap();
    assert_eq!(since(DateTime::<Utc>::MIN_UTC).await, vec![]);

    // Heartbeats are not tickets.
    assert_eq!(record_counts(store).await, RecordCounts::default());
}

// ---------------------------------------------------------------------------------------------
// Hostile strings.

fn hostile_strings() -> Vec<String> {
    vec![
        "\"double\" 'single' `back` ''".into(),
        "'; DROP TABLE tickets; --".into(),
        "\"; DROP TABLE tickets; --".into(),
        "$where".into(),
        "{\"$gt\": \"\"}".into(),
        "{\"$where\": \"sleep(1000)\"}".into(),
        "🦀🎫 emoji 👩‍👩‍👧‍👦 ✔︎".into(),
        "مرحبا بالعالم — עברית \u{202E}override\u{202C}".into(),
        "nul\0byte\0".into(),
        "line1\nline2\r\nline3\ttab".into(),
        "back\\slash \\\\ \\0 \\n".into(),
        "%_ like wildcards %".into(),
        "   leading and trailing spaces   ".into(),
        String::new(),
        "ab€🦀".repeat(2500),
    ]
}

async fn hostile_strings_stored_verbatim(db: &TestDb) {
    let store = &*db.store;
    let mut clock = Clock::new();
    let strings = hostile_strings();
    assert_eq!(strings.last().unwrap().chars().count(), 10_000);

    let mut tracked = Vec::new();
    for (i, s) in strings.iter().enumerate() {
        let mut t = Tracked::create(store, GUILD, 1_000 + i as u64, clock.tick()).await;
        let closed = t
            .step(store, close(STAFF_A, Some(s.as_str()), clock.tick()))
            .await
            .unwrap();
        assert_eq!(closed.close_reason.as_ref(), Some(s));
        let h = t.assert_history(store).await;
        assert_eq!(h.last().unwrap().details.as_ref(), Some(s));
        // A forced close records its reason too.
        t.step(store, reopen(STAFF_A, clock.tick())).await.unwrap();
        let forced = Transition::Close {
            by: None,
            reason: Some(s.clone()),
            at: clock.tick(),
            forced: true,
        };
        t.step(store, forced).await.unwrap();
        t.assert_history(store).await;
        tracked.push(t);
    }
    // Read back through every path.
    let listed = paginate(store, &TicketFilter::default(), 7).await;
    assert_eq!(listed.len(), strings.len());
    for t in &tracked {
        assert!(listed.contains(&t.ticket));
        assert_eq!(store.get(t.id()).await.unwrap().as_ref(), Some(&t.ticket));
    }
    let exported = export_all_tickets(store, 4).await;
    for t in &tracked {
        let rec = exported.iter().find(|r| r.ticket.id == t.id()).unwrap();
        assert_eq!(rec.ticket, t.ticket);
    }

    // Deleting: the JSON in the deleted event holds the reason verbatim.
    for t in tracked.iter().take(12) {
        let reason = t.ticket.close_reason.clone().unwrap();
        store
            .delete(t.id(), Some(STAFF_B), clock.tick())
            .await
            .unwrap();
        let h = store.history(t.id()).await.unwrap();
        let details = h.last().unwrap().details.clone().unwrap();
        let json: Value = serde_json::from_str(&details).expect("deleted details are JSON");
        assert!(
            json_has_string(&json, &reason),
            "deleted details lost the reason {reason:?}: {details}"
        );
    }

    // Heartbeats: hostile instance ids and details.
    let at = clock.tick();
    let beats: Vec<Heartbeat> = strings
        .iter()
        .filter(|s| !s.is_empty() && s.len() <= 100)
        .enumerate()
        .map(|(i, s)| Heartbeat {
            instance_id: s.clone(),
            details: strings[(i + 1) % strings.len()].clone(),
            started_at: at,
            seen_at: at,
        })
        .collect();
    for b in &beats {
        store.heartbeat(b).await.unwrap();
    }
    let got = sorted_beats(store.heartbeats_since(at).await.unwrap());
    assert_eq!(got, sorted_beats(beats.clone()));
    // Removing by a query-looking id removes that one only.
    store.remove_heartbeat("{\"$gt\": \"\"}").await.unwrap();
    store.remove_heartbeat("%").await.unwrap();
    let left = sorted_beats(store.heartbeats_since(at).await.unwrap());
    let expected: Vec<Heartbeat> = sorted_beats(
        beats
            .iter()
            .filter(|b| b.instance_id != "{\"$gt\": \"\"}")
            .cloned()
            .collect(),
    );
    assert_eq!(left, expected);
}

// ---------------------------------------------------------------------------------------------
// Ids at the edges of the integer types.

async fn ids_at_the_edges(db: &TestDb) {
    let store = &*db.store;
    let mut clock = Clock::new();
    // Up to i64::MAX every backend must keep the value (a signed 64-bit column suffices).
    let max = i64::MAX as u64;
    let at = clock.tick();
    let t = created(store.create_ticket(max, max - 1, 1, at).await);
    assert_eq!((t.guild_id, t.creator_id), (max, max - 1));
    let p = store
        .add_participant(t.id, max - 4, max - 5, clock.tick())
        .await
        .unwrap();
    let t = store.set_channel(t.id, Some(max - 2)).await.unwrap();
    let t = store
        .transition(t.id, &claim(max - 3, clock.tick()))
        .await
        .unwrap();
    assert_eq!(store.get(t.id).await.unwrap().as_ref(), Some(&t));
    assert_eq!(
        store.get_by_channel(max - 2).await.unwrap().as_ref(),
        Some(&t)
    );
    assert_eq!(store.participants(t.id).await.unwrap(), vec![p]);
    let f = TicketFilter {
        guild_id: Some(max),
        creator_id: Some(max - 1),
        claim: ClaimFilter::By(max - 3),
        ..Default::default()
    };
    assert_eq!(
        store.list(&f, 10, None).await.unwrap().tickets,
        vec![t.clone()]
    );
    let h = store.history(t.id).await.unwrap();
    assert_eq!(h[0].actor_id, Some(max - 1));
    assert_eq!(h[1].actor_id, Some(max - 5));
    assert!(h[1]
        .details
        .as_deref()
        .unwrap_or("")
        .contains(&(max - 4).to_string()));
    assert_eq!(h[2].actor_id, Some(max - 3));
    assert!(h.iter().all(|e| e.guild_id == max));

    // Zero, and small values next to big ones in one guild.
    let z = created(store.create_ticket(0, 0, 1, clock.tick()).await);
    assert_eq!(store.get(z.id).await.unwrap(), Some(z.clone()));
    assert_eq!(
        store
            .list(
                &TicketFilter {
                    guild_id: Some(0),
                    ..Default::default()
                },
                10,
                None
            )
            .await
            .unwrap()
            .tickets,
        vec![z]
    );

    // Above i64::MAX (not a real snowflake before 2084): either kept exactly or refused;
    // never silently changed.
    let huge = u64::MAX;
    match store.create_ticket(huge, huge - 1, 1, clock.tick()).await {
        Ok(CreateOutcome::Created(h)) => {
            assert_eq!((h.guild_id, h.creator_id), (huge, huge - 1));
            assert_eq!(store.get(h.id).await.unwrap(), Some(h.clone()));
            let f = TicketFilter {
                guild_id: Some(huge),
                ..Default::default()
            };
            assert_eq!(store.list(&f, 10, None).await.unwrap().tickets, vec![h]);
        }
        Ok(other) => panic!("unexpected {other:?}"),
        Err(e) => {
            eprintln!("[{}] ids above i64::MAX refused: {e}", db.backend());
            let f = TicketFilter {
                creator_id: Some(huge - 1),
                ..Default::default()
            };
            assert_eq!(store.count(&f).await.unwrap().total(), 0);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrency.

/// The first message by staff is recorded once: the creator's own messages are not responses,
/// a later staff message changes nothing, and of many bot processes seeing the same message
/// (or several staff writing at once) exactly one records it.
async fn first_response_recorded_once(db: &TestDb) {
    let store = db.store();
    let t = created(store.create_ticket(GUILD, CREATOR, 1, now()).await);
    let at = t.created_at + Duration::seconds(90);
    assert!(!store
        .record_first_response(t.id, CREATOR, at)
        .await
        .unwrap());
    assert_eq!(
        store.get(t.id).await.unwrap().unwrap().first_response_at,
        None
    );

    let n = 20u64;
    let barrier = Arc::new(Barrier::new(n as usize));
    let tasks = (0..n).map(|i| {
        let store = store.clone();
        let barrier = barrier.clone();
        // Half of them the same staff member (the same message seen twice), half others.
        let by = STAFF_A + i % 2;
        tokio::spawn(async move {
            barrier.wait().await;
            (by, store.record_first_response(t.id, by, at).await.unwrap())
        })
    });
    let results: Vec<(DiscordId, bool)> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task panicked"))
        .collect();
    let winners: Vec<DiscordId> = results.iter().filter(|r| r.1).map(|r| r.0).collect();
    assert_eq!(winners.len(), 1, "recorded by: {winners:?}");
    let got = store.get(t.id).await.unwrap().unwrap();
    assert_eq!(
        (got.first_response_at, got.first_response_by),
        (Some(at), Some(winners[0]))
    );
    // Not a change the bot must sync: `updated_at` stays.
    assert_eq!(got.updated_at, t.updated_at);
    assert!(!store
        .record_first_response(t.id, STAFF_C, at + Duration::seconds(5))
        .await
        .unwrap());
    let history = store.history(t.id).await.unwrap();
    let responses: Vec<&TicketEvent> = history
        .iter()
        .filter(|e| e.kind == EventKind::FirstResponse)
        .collect();
    assert_eq!(responses.len(), 1, "{history:?}");
    assert_eq!(
        (responses[0].actor_id, responses[0].at),
        (Some(winners[0]), at)
    );
    // A ticket that does not exist: nothing recorded, no error.
    assert!(!store
        .record_first_response(Uuid::new_v4(), STAFF_A, at)
        .await
        .unwrap());
}

async fn concurrent_claims(db: &TestDb) {
    let store = db.store();
    let t = created(store.create_ticket(GUILD, CREATOR, 1, now()).await);
    let id = t.id;
    let at = now();
    let n = 50u64;
    let barrier = Arc::new(Barrier::new(n as usize));
    let tasks = (0..n).map(|i| {
        let store = store.clone();
        let barrier = barrier.clone();
        let by = STAFF_A + i;
        tokio::spawn(async move {
            barrier.wait().await;
            (by, store.transition(id, &claim(by, at)).await)
        })
    });
    let results: Vec<(DiscordId, StoreResult<Ticket>)> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task panicked"))
        .collect();

    let winners: Vec<(DiscordId, Ticket)> = results
        .iter()
        .filter_map(|(by, r)| r.as_ref().ok().map(|t| (*by, t.clone())))
        .collect();
    assert_eq!(winners.len(), 1, "claims that succeeded: {winners:?}");
    let (winner, won) = winners[0].clone();
    assert_eq!(won, rules::apply(&t, &claim(winner, at)).unwrap());
    for (by, r) in &results {
        if *by == winner {
            continue;
        }
        match r {
            Err(StoreError::Rule(RuleError::AlreadyClaimed(holder))) if *holder == winner => {}
            other => panic!("claim by {by}: expected AlreadyClaimed({winner}), got {other:?}"),
        }
    }
    assert_eq!(store.get(t.id).await.unwrap(), Some(won));
    let history = store.history(t.id).await.unwrap();
    let claims: Vec<&TicketEvent> = history
        .iter()
        .filter(|e| e.kind == EventKind::Claimed)
        .collect();
    assert_eq!(claims.len(), 1, "claimed events: {claims:?}");
    assert_eq!(claims[0].actor_id, Some(winner));
    assert_eq!(history.len(), 2);
}

async fn concurrent_closes_reopens_and_participants(db: &TestDb) {
    let store = db.store();
    let t = created(store.create_ticket(GUILD, CREATOR, 1, now()).await);
    let id = t.id;
    let n = 20u64;

    // Closes: one wins, with its own reason.
    let barrier = Arc::new(Barrier::new(n as usize));
    let at = now();
    let tasks = (0..n).map(|i| {
        let (store, barrier) = (store.clone(), barrier.clone());
        let by = STAFF_A + i;
        tokio::spawn(async move {
            barrier.wait().await;
            let tr = close(by, Some(format!("closed by {by}").as_str()), at);
            (by, store.transition(id, &tr).await)
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let ok: Vec<&(DiscordId, StoreResult<Ticket>)> =
        results.iter().filter(|(_, r)| r.is_ok()).collect();
    assert_eq!(ok.len(), 1, "closes that succeeded: {ok:?}");
    let winner = ok[0].0;
    for (by, r) in &results {
        if *by != winner {
            assert!(
                matches!(r, Err(StoreError::Rule(RuleError::AlreadyClosed))),
                "close by {by}: {r:?}"
            );
        }
    }
    let closed = store.get(id).await.unwrap().unwrap();
    assert_eq!(closed.closed_by, Some(winner));
    assert_eq!(closed.close_reason, Some(format!("closed by {winner}")));
    let h = store.history(id).await.unwrap();
    let closes: Vec<_> = h.iter().filter(|e| e.kind == EventKind::Closed).collect();
    assert_eq!(closes.len(), 1);
    assert_eq!(closes[0].actor_id, Some(winner));
    assert_eq!(closes[0].details, Some(format!("closed by {winner}")));

    // Reopens: one wins.
    let barrier = Arc::new(Barrier::new(n as usize));
    let at = now();
    let tasks = (0..n).map(|i| {
        let (store, barrier) = (store.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            store.transition(id, &reopen(STAFF_A + i, at)).await
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in &results {
        assert!(
            r.is_ok() || matches!(r, Err(StoreError::Rule(RuleError::AlreadyOpen))),
            "{r:?}"
        );
    }
    assert!(store.get(id).await.unwrap().unwrap().is_open());

    // Adding one member n times at once: one wins.
    let barrier = Arc::new(Barrier::new(n as usize));
    let at = now();
    let tasks = (0..n).map(|i| {
        let (store, barrier) = (store.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            store.add_participant(id, MEMBER_1, STAFF_A + i, at).await
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for r in &results {
        assert!(
            r.is_ok()
                || matches!(r, Err(StoreError::Rule(RuleError::AlreadyParticipant(u))) if *u == MEMBER_1),
            "{r:?}"
        );
    }
    assert_eq!(store.participants(id).await.unwrap().len(), 1);

    // Removing them n times at once: one wins.
    let barrier = Arc::new(Barrier::new(n as usize));
    let at = now();
    let tasks = (0..n).map(|i| {
        let (store, barrier) = (store.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            store
                .remove_participant(id, MEMBER_1, STAFF_A + i, at)
                .await
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for r in &results {
        assert!(
            r.is_ok()
                || matches!(r, Err(StoreError::Rule(RuleError::NotParticipant(u))) if *u == MEMBER_1),
            "{r:?}"
        );
    }
    assert!(store.participants(id).await.unwrap().is_empty());

    let kinds: Vec<EventKind> = store
        .history(id)
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
            EventKind::Reopened,
            EventKind::ParticipantAdded,
            EventKind::ParticipantRemoved,
        ]
    );
}

async fn concurrent_creates_one_user(db: &TestDb) {
    let store = db.store();
    for (user, max_open) in [(CREATOR, 1u32), (OTHER_USER, 3)] {
        let n = 50;
        let barrier = Arc::new(Barrier::new(n));
        let at = now();
        let tasks = (0..n).map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.create_ticket(GUILD, user, max_open, at).await
            })
        });
        let results: Vec<CreateOutcome> = join_all(tasks)
            .await
            .into_iter()
            .map(|r| r.expect("task panicked").expect("create_ticket failed"))
            .collect();
        let made: Vec<Ticket> = results
            .iter()
            .filter_map(|o| match o {
                CreateOutcome::Created(t) => Some(t.clone()),
                CreateOutcome::LimitReached { .. } => None,
            })
            .collect();
        assert_eq!(
            made.len(),
            max_open as usize,
            "max_open {max_open}: created {made:?}"
        );
        let made = by_id(made);
        for o in &results {
            if let CreateOutcome::LimitReached { open } = o {
                assert_eq!(
                    &by_id(open.clone()),
                    &made,
                    "a refusal must list the tickets that hold the limit"
                );
            }
        }
        let f = TicketFilter {
            creator_id: Some(user),
            ..Default::default()
        };
        assert_eq!(
            store.count(&f).await.unwrap(),
            StatusCounts {
                open: max_open as u64,
                closed: 0
            }
        );
        for t in &made {
            assert_eq!(store.get(t.id).await.unwrap().as_ref(), Some(t));
            assert_eq!(store.history(t.id).await.unwrap().len(), 1);
        }
    }
    assert_eq!(
        record_counts(&*store).await,
        RecordCounts {
            tickets: 4,
            participants: 0,
            events: 4,
            ..RecordCounts::default()
        }
    );
}

async fn concurrent_creates_many_users(db: &TestDb) {
    let store = db.store();
    let n = 1_000u64;
    let barrier = Arc::new(Barrier::new(n as usize));
    let at = now();
    let tasks = (0..n).map(|i| {
        let (store, barrier) = (store.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            (i, store.create_ticket(GUILD, CREATOR + i, 1, at).await)
        })
    });
    let mut ids = HashSet::new();
    for r in join_all(tasks).await {
        let (i, outcome) = r.expect("task panicked");
        let t = match outcome {
            Ok(CreateOutcome::Created(t)) => t,
            other => panic!("create for user #{i}: {other:?}"),
        };
        assert_eq!(t.creator_id, CREATOR + i);
        assert!(ids.insert(t.id), "duplicate ticket id {}", t.id);
    }
    assert_eq!(ids.len(), n as usize);
    assert_eq!(
        store.count(&TicketFilter::default()).await.unwrap(),
        StatusCounts { open: n, closed: 0 }
    );
    assert_eq!(
        record_counts(&*store).await,
        RecordCounts {
            tickets: n,
            participants: 0,
            events: n,
            ..RecordCounts::default()
        }
    );
    let listed = paginate(&*store, &TicketFilter::default(), 300).await;
    let listed_ids: HashSet<Uuid> = listed.iter().map(|t| t.id).collect();
    assert_eq!(listed.len(), n as usize);
    assert_eq!(listed_ids, ids);
}

/// Pairs of tickets race for the same channel, all at once (on SQLite, in the same group
/// commit): one of each pair gets it, the other is told which ticket has it and keeps no
/// channel; the winners' writes are all kept.
async fn concurrent_channel_races(db: &TestDb) {
    let store = db.store();
    let pairs = 40u64;
    let mut tickets = Vec::new();
    for i in 0..pairs * 2 {
        tickets.push(created(
            store.create_ticket(GUILD, CREATOR + i, 1, now()).await,
        ));
    }
    let barrier = Arc::new(Barrier::new(tickets.len()));
    let tasks = tickets.iter().enumerate().map(|(i, t)| {
        let (store, barrier, id) = (store.clone(), barrier.clone(), t.id);
        let channel = CHANNEL + i as u64 / 2;
        tokio::spawn(async move {
            barrier.wait().await;
            (id, channel, store.set_channel(id, Some(channel)).await)
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task panicked"))
        .collect();
    let mut owners = HashMap::new();
    for (id, channel, r) in &results {
        if let Ok(t) = r {
            assert_eq!((t.id, t.channel_id), (*id, Some(*channel)));
            assert!(
                owners.insert(*channel, *id).is_none(),
                "channel {channel} given twice"
            );
        }
    }
    assert_eq!(owners.len() as u64, pairs, "every channel has one owner");
    for (id, channel, r) in &results {
        let owner = owners[channel];
        if *id == owner {
            continue;
        }
        match r {
            Err(StoreError::ChannelTaken {
                channel_id,
                ticket_id,
            }) if *channel_id == *channel && *ticket_id == owner => {}
            other => panic!("ticket {id} on channel {channel}: {other:?}"),
        }
        assert_eq!(store.get(*id).await.unwrap().unwrap().channel_id, None);
    }
    for (channel, owner) in &owners {
        let t = store
            .get_by_channel(*channel)
            .await
            .unwrap()
            .expect("owner");
        assert_eq!(t.id, *owner);
    }
}

// ---------------------------------------------------------------------------------------------
// Schema version and reopening.

async fn schema_version_and_reopen(db: &TestDb) {
    let store = &*db.store;
    let version = store.schema_version().await.unwrap();
    assert!(version > 0, "schema_version {version}");
    let mut clock = Clock::new();
    let pop = populate(store, &mut clock).await;
    let tickets = normalized(export_all_tickets(store, 100).await);
    let events = export_all_events(store, 100).await;
    let counts = record_counts(store).await;

    // A second store on the same database while the first is open.
    let second = db.reopen().await;
    assert_eq!(second.backend(), db.backend());
    assert_eq!(second.schema_version().await.unwrap(), version);
    assert_eq!(normalized(export_all_tickets(&*second, 100).await), tickets);
    assert_eq!(export_all_events(&*second, 100).await, events);
    assert_eq!(record_counts(&*second).await, counts);
    assert_eq!(
        sorted_beats(
            second
                .heartbeats_since(DateTime::<Utc>::MIN_UTC)
                .await
                .unwrap()
        ),
        sorted_beats(pop.beats.clone())
    );

    // Writes through one are seen by the other, and the limits hold across them.
    let t = created(second.create_ticket(GUILD, 4242, 1, clock.tick()).await);
    assert_eq!(store.get(t.id).await.unwrap(), Some(t.clone()));
    assert_eq!(
        limit_reached(store.create_ticket(GUILD, 4242, 1, clock.tick()).await),
        vec![t.clone()]
    );
    let c = store
        .transition(t.id, &claim(STAFF_A, clock.tick()))
        .await
        .unwrap();
    assert_eq!(second.get(t.id).await.unwrap(), Some(c.clone()));
    assert_eq!(
        rule(second.transition(t.id, &claim(STAFF_B, clock.tick())).await),
        RuleError::AlreadyClaimed(STAFF_A)
    );
    second.close().await;

    // A third open after all that: everything kept.
    let third = db.reopen().await;
    assert_eq!(third.schema_version().await.unwrap(), version);
    assert_eq!(third.get(t.id).await.unwrap(), Some(c));
    for p in pop.living() {
        let now_there = third.get(p.id).await.unwrap();
        assert_eq!(now_there.as_ref(), Some(p));
    }
    assert_eq!(
        record_counts(&*third).await,
        RecordCounts {
            tickets: counts.tickets + 1,
            participants: counts.participants,
            events: counts.events + 2,
            ..RecordCounts::default()
        }
    );
    third.close().await;
}

/// Processes (the bot, ticketctl, a second bot) starting at once on a database that does not
/// exist yet: all must come up, on one schema.
async fn fresh_database_opened_twice_at_once(db: &TestDb) {
    let guard = DbGuard::new(db.backend());
    let opened = join_all((0..4).map(|_| ticketbot_common::open_store(&guard.config))).await;
    let errors: Vec<String> = opened
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(
        errors.is_empty(),
        "simultaneous first opens failed: {errors:?}"
    );
    let stores: Vec<Arc<dyn TicketStore>> = opened.into_iter().map(Result::unwrap).collect();
    let version = stores[0].schema_version().await.unwrap();
    assert!(version > 0);
    for s in &stores {
        assert_eq!(s.schema_version().await.unwrap(), version);
    }
    let t = created(stores[0].create_ticket(GUILD, CREATOR, 1, now()).await);
    for s in &stores[1..] {
        assert_eq!(s.get(t.id).await.unwrap(), Some(t.clone()));
        assert_eq!(
            limit_reached(s.create_ticket(GUILD, CREATOR, 1, now()).await),
            vec![t.clone()]
        );
    }
    for s in &stores {
        s.close().await;
    }
    guard.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// Names of users and roles.

async fn names_keep_the_latest_sighting(db: &TestDb) {
    use ticketbot_common::names::{Name, NameKind};
    let store = &*db.store;
    let t0 = ts("2026-01-01T00:00:00Z");
    let later = |s: i64| t0 + chrono::Duration::seconds(s);
    let alice = 400_000_000_000_000_101;
    let role = 900_000_000_000_000_001;
    // A big id (above i64::MAX) keeps its order and value.
    let big = u64::MAX - 5;
    store
        .remember_names(&[
            Name::seen(alice, NameKind::User, "alice", Some("a1"), later(10)),
            Name::seen(role, NameKind::Role, "Support <team>", None, later(10)),
            Name::seen(big, NameKind::User, "Zoë 🎫", None, later(10)),
        ])
        .await
        .unwrap();
    // An older sighting written later changes nothing; a newer one wins.
    store
        .remember_names(&[Name::seen(
            alice,
            NameKind::User,
            "old alice",
            None,
            later(5),
        )])
        .await
        .unwrap();
    let got = store.names(&[alice, role, big, 1]).await.unwrap();
    let by_id = |id| got.iter().find(|n| n.id == id).cloned();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(by_id(alice).unwrap().name, "alice");
    assert_eq!(by_id(alice).unwrap().avatar.as_deref(), Some("a1"));
    assert_eq!(by_id(role).unwrap().kind, NameKind::Role);
    assert_eq!(by_id(big).unwrap().name, "Zoë 🎫");
    store
        .remember_names(&[Name::seen(
            alice,
            NameKind::User,
            "Alice A.",
            None,
            later(20),
        )])
        .await
        .unwrap();
    let now = store.names(&[alice]).await.unwrap();
    assert_eq!(
        (
            now[0].name.as_str(),
            now[0].avatar.as_deref(),
            now[0].seen_at
        ),
        ("Alice A.", None, later(20))
    );
    // Two processes at once, each with its own sighting: the latest wins either way.
    let newer = [Name::seen(alice, NameKind::User, "A30", None, later(30))];
    let older = [Name::seen(alice, NameKind::User, "A25", None, later(25))];
    let (a, b) = tokio::join!(store.remember_names(&newer), store.remember_names(&older));
    a.unwrap();
    b.unwrap();
    assert_eq!(store.names(&[alice]).await.unwrap()[0].name, "A30");
    let all = store.all_names().await.unwrap();
    assert_eq!(
        all.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![alice, role, big]
    );
    assert_eq!(store.record_counts().await.unwrap().names, 3);
    assert!(store.names(&[]).await.unwrap().is_empty());
}

/// Messages per staff member (counted per hour, concurrently), and each member's median time to
/// first response over the tickets they answered first.
async fn staff_messages_and_response_medians(db: &TestDb) {
    use ticketbot_common::store::CreateOutcome;
    let store = &*db.store;
    const G: u64 = 5_000_000_000_000_000_001;
    const OTHER: u64 = 5_000_000_000_000_000_002;
    const S1: u64 = 900_000_000_000_000_001;
    const S2: u64 = u64::MAX - 7;
    let t0 = ts("2026-03-02T10:00:00Z");
    let secs = chrono::Duration::seconds;
    // S1 answers first after 10 s, 20.5 s and 300 s (median: the 2nd); S2 after 60 and 120 s
    // (median: the 1st).
    let answers = [
        (S1, 10_000),
        (S1, 300_000),
        (S1, 20_500),
        (S2, 120_000),
        (S2, 60_000),
    ];
    for (i, &(by, ms)) in answers.iter().enumerate() {
        let opened = t0 + secs(i as i64);
        let CreateOutcome::Created(t) = store
            .create_ticket(G, 100 + i as u64, 1, opened)
            .await
            .unwrap()
        else {
            panic!("not created")
        };
        assert!(store
            .record_first_response(t.id, by, opened + chrono::Duration::milliseconds(ms))
            .await
            .unwrap());
    }
    // 20 at once in one hour, one two hours later; S2 once; S1 in another guild.
    let burst: Vec<_> = (0..20)
        .map(|i| store.count_staff_message(G, S1, t0 + secs(i)))
        .collect();
    for r in futures::future::join_all(burst).await {
        r.unwrap();
    }
    store
        .count_staff_message(G, S1, t0 + secs(7200))
        .await
        .unwrap();
    store
        .count_staff_message(G, S2, t0 + secs(1800))
        .await
        .unwrap();
    store.count_staff_message(OTHER, S1, t0).await.unwrap();

    let stats = store
        .stats(&TicketFilter {
            guild_id: Some(G),
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    let row = |id| {
        stats
            .staff
            .iter()
            .find(|s| s.user_id == id)
            .copied()
            .unwrap()
    };
    assert_eq!(row(S1).messages, 21, "{:?}", stats.staff);
    assert_eq!(row(S2).messages, 1);
    assert_eq!(row(S1).first_responses, 3);
    assert_eq!(row(S1).median_response_secs, Some(20.5));
    assert_eq!(row(S2).median_response_secs, Some(60.0));
    // From the hour after the burst: only the later message, and no tickets opened since.
    let later = store
        .stats(&TicketFilter {
            guild_id: Some(G),
            since: Some(t0 + secs(3600)),
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    let s1 = later.staff.iter().find(|s| s.user_id == S1).unwrap();
    assert_eq!((s1.messages, s1.median_response_secs), (1, None));
    // Every guild.
    let all = store.stats(&TicketFilter::default()).await.unwrap();
    assert_eq!(
        all.staff.iter().find(|s| s.user_id == S1).unwrap().messages,
        22
    );
    let rows = store.all_staff_messages().await.unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(store.record_counts().await.unwrap().staff_messages, 4);
    // Import sets a count (a rerun of migrate ends the same).
    let mut first = rows[0];
    first.n = 99;
    store.import_staff_messages(&[first]).await.unwrap();
    store.import_staff_messages(&[first]).await.unwrap();
    assert_eq!(store.all_staff_messages().await.unwrap()[0].n, 99);
}

/// Close requests: stored with hostile reasons, replaced by a newer one, settled once when two
/// stores (two processes) race, found when due, removed, and carried by an export.
async fn close_requests_settle_once(db: &TestDb) {
    use ticketbot_common::close_request::{CloseRequest, CloseRequestState};
    let store = db.store();
    let other = db.reopen().await;
    let t0 = ts("2026-03-01T10:00:00.123456Z");
    let guild = u64::MAX - 3;
    let mut tickets = Vec::new();
    for user in 0..3 {
        tickets.push(created(store.create_ticket(guild, 500 + user, 1, t0).await));
    }
    assert_eq!(store.close_request(tickets[0].id).await.unwrap(), None);
    assert!(store.all_close_requests().await.unwrap().is_empty());

    // One per ticket: a new request replaces the first (the first's buttons then do nothing).
    let hostile = hostile_strings().join(" | ");
    let first = CloseRequest::new(
        tickets[0].id,
        guild,
        7,
        Some("first".into()),
        t0,
        Duration::hours(24),
    );
    store.put_close_request(&first).await.unwrap();
    let second = CloseRequest::new(
        tickets[0].id,
        guild,
        u64::MAX - 9,
        Some(hostile.clone()),
        t0 + Duration::minutes(1),
        Duration::minutes(30),
    );
    store.put_close_request(&second).await.unwrap();
    let stored = other.close_request(tickets[0].id).await.unwrap();
    assert_eq!(
        stored.as_ref(),
        Some(&second),
        "read back verbatim by another store"
    );
    assert_eq!(
        store
            .settle_close_request(&first, CloseRequestState::Accepted, t0)
            .await
            .unwrap(),
        None,
        "a replaced request cannot be settled"
    );

    // Accept (one store) racing the deadline (another): one wins, whichever it is.
    let retry = t0 + Duration::hours(1);
    let (a, b) = tokio::join!(
        store.settle_close_request(&second, CloseRequestState::Accepted, retry),
        other.settle_close_request(&second, CloseRequestState::Expired, retry),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.is_some() != b.is_some(), "settled twice: {a:?} {b:?}");
    let won = a.or(b).unwrap();
    assert_eq!(
        store.close_request(tickets[0].id).await.unwrap(),
        Some(won.clone())
    );
    assert_eq!(won.due_at, retry);
    assert_eq!(won.deadline, second.deadline, "the deadline is kept");
    // Settling again from what was seen before fails; from what is stored now, it works.
    assert_eq!(
        store
            .settle_close_request(&second, CloseRequestState::Denied, retry)
            .await
            .unwrap(),
        None
    );

    // Due: pending past the deadline and settled past the retry time, the longest due first.
    let pending = CloseRequest::new(tickets[1].id, guild, 7, None, t0, Duration::minutes(10));
    let later = CloseRequest::new(tickets[2].id, guild, 7, None, t0, Duration::days(30));
    store.put_close_request(&pending).await.unwrap();
    store.put_close_request(&later).await.unwrap();
    let due = |at| {
        let store = store.clone();
        async move {
            store
                .due_close_requests(at, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.ticket_id)
                .collect::<Vec<_>>()
        }
    };
    assert!(due(t0 + Duration::minutes(9)).await.is_empty());
    assert_eq!(due(t0 + Duration::minutes(10)).await, vec![tickets[1].id]);
    assert_eq!(
        due(t0 + Duration::hours(2)).await,
        vec![tickets[1].id, tickets[0].id]
    );
    assert_eq!(
        store
            .due_close_requests(t0 + Duration::days(31), 2)
            .await
            .unwrap()
            .len(),
        2,
        "the limit holds"
    );
    // A settled request taken up again by one of two processes at once.
    let (a, b) = tokio::join!(
        store.settle_close_request(&won, won.state, retry + Duration::minutes(1)),
        other.settle_close_request(&won, won.state, retry + Duration::minutes(1)),
    );
    assert!(a.unwrap().is_some() != b.unwrap().is_some());

    // Export and import carry them verbatim.
    let all = store.all_close_requests().await.unwrap();
    assert_eq!(all.len(), 3);
    let mut ids: Vec<Uuid> = all.iter().map(|r| r.ticket_id).collect();
    let sorted = {
        let mut s = ids.clone();
        s.sort_by_key(|id| id.to_string());
        s
    };
    assert_eq!(ids, sorted, "by ticket id");
    assert_eq!(record_counts(&*store).await.close_requests, 3);
    let streamed: Vec<Record> = store.clone().stream_all(2).try_collect().await.unwrap();
    let in_stream = streamed
        .iter()
        .filter(|r| matches!(r, Record::CloseRequest(_)))
        .count();
    assert_eq!(in_stream, 3);
    let target = TestDb::new(other_backend(db.backend())).await;
    target.store.import_close_requests(&all).await.unwrap();
    target.store.import_close_requests(&all).await.unwrap();
    assert_eq!(target.store.all_close_requests().await.unwrap(), all);
    target.finish().await;

    // Removed once.
    assert!(store.remove_close_request(pending.id).await.unwrap());
    assert!(!other.remove_close_request(pending.id).await.unwrap());
    assert_eq!(store.close_request(tickets[1].id).await.unwrap(), None);
    ids.retain(|id| *id != tickets[1].id);
    let left: Vec<Uuid> = store
        .all_close_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.ticket_id)
        .collect();
    assert_eq!(left, ids);
}

/// Auto-close: the last message per ticket (the latest kept, whatever the order of writes),
/// stale open tickets found, one warning of two processes stored, a message cancelling it.
async fn stale_tickets_and_auto_close_warnings(db: &TestDb) {
    use ticketbot_common::auto_close::TicketActivity;
    use ticketbot_common::close_request::{CloseRequest, CloseRequestState};
    let store = db.store();
    let other = db.reopen().await;
    let t0 = ts("2026-04-01T08:00:00.000001Z");
    let hours = Duration::hours;
    let guild = 77;
    let bot = u64::MAX - 1;
    let mut t = Vec::new();
    for user in 0..5u64 {
        let ticket = created(
            store
                .create_ticket(guild, 600 + user, 1, t0 + Duration::seconds(user as i64))
                .await,
        );
        if user < 4 {
            store
                .set_channel(ticket.id, Some(9_000 + user))
                .await
                .unwrap();
        }
        t.push(ticket);
    }
    // 0: silent; 1: a message at +2h; 2: a staff close request; 3: closed; 4: no channel.
    let seen = |i: usize, at| TicketActivity {
        ticket_id: t[i].id,
        guild_id: guild,
        last_message_at: at,
    };
    store
        .record_activity(&seen(1, t0 + hours(2)))
        .await
        .unwrap();
    other
        .record_activity(&seen(1, t0 + hours(1)))
        .await
        .unwrap();
    assert_eq!(
        store.last_activity(t[1].id).await.unwrap(),
        Some(t0 + hours(2)),
        "an older time written later changes nothing"
    );
    assert_eq!(store.last_activity(t[0].id).await.unwrap(), None);
    let staff = CloseRequest::new(t[2].id, guild, 7, None, t0, hours(24));
    store.put_close_request(&staff).await.unwrap();
    store
        .transition(t[3].id, &close(7, None, t0 + hours(1)))
        .await
        .unwrap();
    let stale = |before| {
        let store = store.clone();
        async move {
            store
                .stale_tickets(before, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|x| x.id)
                .collect::<Vec<_>>()
        }
    };
    assert!(
        stale(t0 - hours(1)).await.is_empty(),
        "none opened that early"
    );
    assert_eq!(stale(t0 + hours(1)).await, vec![t[0].id]);
    assert_eq!(stale(t0 + hours(3)).await, vec![t[0].id, t[1].id]);
    assert_eq!(
        store.stale_tickets(t0 + hours(3), 1).await.unwrap().len(),
        1
    );

    // One warning of two processes; a warned ticket is no longer stale.
    let warn = |s: i64| CloseRequest::new(t[0].id, guild, bot, None, t0 + hours(s), hours(24));
    let (w1, w2) = (warn(3), warn(3));
    let (a, b) = tokio::join!(store.add_close_request(&w1), other.add_close_request(&w2));
    assert!(a.unwrap() != b.unwrap(), "warned twice or never");
    assert!(!store.add_close_request(&warn(4)).await.unwrap());
    assert_eq!(stale(t0 + hours(3)).await, vec![t[1].id]);
    // A message cancels the bot's warning, not staff's request, and only once.
    assert!(!store.cancel_close_request(t[2].id, bot).await.unwrap());
    assert!(!store.cancel_close_request(t[0].id, 7).await.unwrap());
    let (a, b) = tokio::join!(
        store.cancel_close_request(t[0].id, bot),
        other.cancel_close_request(t[0].id, bot)
    );
    assert!(a.unwrap() != b.unwrap(), "cancelled twice or never");
    assert!(store.close_request(t[0].id).await.unwrap().is_none());
    assert!(store.close_request(t[2].id).await.unwrap().is_some());
    // A warning already settled (closing) is not cancelled.
    assert!(store.add_close_request(&warn(5)).await.unwrap());
    let w = store.close_request(t[0].id).await.unwrap().unwrap();
    let due = t0 + hours(30);
    assert!(store
        .settle_close_request(&w, CloseRequestState::Expired, due)
        .await
        .unwrap()
        .is_some());
    assert!(!store.cancel_close_request(t[0].id, bot).await.unwrap());

    // Export and import.
    store
        .record_activity(&seen(0, t0 + hours(6)))
        .await
        .unwrap();
    let all = store.all_activity().await.unwrap();
    assert_eq!(
        all.iter().map(|a| a.ticket_id).collect::<HashSet<_>>(),
        HashSet::from([t[0].id, t[1].id])
    );
    assert_eq!(record_counts(&*store).await.activity, 2);
    let target = TestDb::new(other_backend(db.backend())).await;
    target.store.import_activity(&all).await.unwrap();
    target.store.import_activity(&all).await.unwrap();
    assert_eq!(target.store.all_activity().await.unwrap(), all);
    target.finish().await;
}

/// Every paged export, read a page of 2 at a time from the first, yields each row once, in
/// its key's order (ticket ids as text, names by the id as a u64: the same on every backend,
/// so that migrate's verification walks both sides alike), and what `all_*` reads.
async fn exports_page_in_key_order(db: &TestDb) {
    use ticketbot_common::auto_close::TicketActivity;
    use ticketbot_common::close_request::{CloseRequest, CloseRequestState};
    use ticketbot_common::feedback::Feedback;
    use ticketbot_common::names::{Name, NameKind};
    use ticketbot_common::topics::{Answer, TicketForm};

    /// Pages of 2 from the first until a short page, as migrate reads them.
    async fn pages<T, K, F, Fut>(page: F, key: impl Fn(&T) -> K) -> Vec<T>
    where
        F: Fn(Option<K>) -> Fut,
        Fut: std::future::Future<Output = StoreResult<Vec<T>>>,
    {
        let (mut all, mut after) = (Vec::new(), None);
        loop {
            let rows = page(after).await.unwrap();
            assert!(rows.len() <= 2, "a page holds at most its limit");
            after = rows.last().map(&key);
            let done = rows.len() < 2;
            all.extend(rows);
            if done {
                return all;
            }
        }
    }

    let store = &*db.store;
    let t0 = ts("2026-03-01T00:00:00Z");
    let tickets: Vec<Uuid> = (0..7).map(|_| Uuid::new_v4()).collect();
    let mut by_text = tickets.clone();
    by_text.sort_by_key(|id| id.to_string());

    let feedback: Vec<Feedback> = tickets
        .iter()
        .enumerate()
        .map(|(i, &ticket_id)| Feedback {
            ticket_id,
            user_id: 100 + i as u64,
            rating: 1 + (i % 5) as u8,
            comment: (i % 2 == 0).then(|| format!("thanks {i}")),
            given_at: t0,
            updated_at: t0,
        })
        .collect();
    store.import_feedback(&feedback).await.unwrap();
    let activity: Vec<TicketActivity> = tickets
        .iter()
        .map(|&ticket_id| TicketActivity {
            ticket_id,
            guild_id: 10,
            last_message_at: t0,
        })
        .collect();
    store.import_activity(&activity).await.unwrap();
    let requests: Vec<CloseRequest> = tickets
        .iter()
        .map(|&ticket_id| CloseRequest {
            id: Uuid::new_v4(),
            ticket_id,
            guild_id: 10,
            requested_by: 7,
            reason: None,
            requested_at: t0,
            deadline: t0 + Duration::hours(1),
            state: CloseRequestState::Pending,
            due_at: t0 + Duration::hours(1),
        })
        .collect();
    store.import_close_requests(&requests).await.unwrap();
    let forms: Vec<TicketForm> = tickets
        .iter()
        .map(|&ticket_id| TicketForm {
            ticket_id,
            guild_id: 10,
            topic_id: Uuid::nil(),
            topic_name: "Billing".into(),
            answers: vec![Answer {
                question: "Order?".into(),
                answer: ticket_id.to_string(),
            }],
            submitted_at: t0,
        })
        .collect();
    store.import_ticket_forms(&forms).await.unwrap();
    // Ids on both sides of 2^63, where the signed and unsigned orders part.
    let ids = [
        1u64,
        5,
        i64::MAX as u64,
        1 << 63,
        (1 << 63) + 9,
        u64::MAX - 1,
        400_000_000_000_000_101,
    ];
    let names: Vec<Name> = ids
        .iter()
        .map(|&id| Name::seen(id, NameKind::User, &format!("user {id}"), None, t0))
        .collect();
    store.remember_names(&names).await.unwrap();

    let got = pages(|a| store.export_feedback(a, 2), |f| f.ticket_id).await;
    let keys: Vec<Uuid> = got.iter().map(|f| f.ticket_id).collect();
    assert_eq!(keys, by_text, "ratings by ticket id");
    assert_eq!(got, store.all_feedback().await.unwrap());
    assert!(got.iter().all(|f| feedback.contains(f)), "ratings verbatim");

    let got = pages(|a| store.export_activity(a, 2), |r| r.ticket_id).await;
    assert_eq!(got.iter().map(|r| r.ticket_id).collect::<Vec<_>>(), by_text);
    assert_eq!(got, store.all_activity().await.unwrap());

    let got = pages(|a| store.export_close_requests(a, 2), |r| r.ticket_id).await;
    assert_eq!(got.iter().map(|r| r.ticket_id).collect::<Vec<_>>(), by_text);
    assert_eq!(got, store.all_close_requests().await.unwrap());

    let got = pages(|a| store.export_ticket_forms(a, 2), |r| r.ticket_id).await;
    assert_eq!(got.iter().map(|r| r.ticket_id).collect::<Vec<_>>(), by_text);
    assert_eq!(got, store.all_ticket_forms().await.unwrap());

    // By the id as a u64 on every backend, across 2^63 (stored negative from there).
    let got = pages(|a| store.export_names(a, 2), |n| n.id).await;
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    assert_eq!(got.iter().map(|n| n.id).collect::<Vec<_>>(), sorted);
    assert_eq!(got, store.all_names().await.unwrap());
    for (i, &id) in sorted.iter().enumerate() {
        let rest: Vec<u64> = store
            .export_names(Some(id), 10)
            .await
            .unwrap()
            .iter()
            .map(|n| n.id)
            .collect();
        assert_eq!(rest, sorted[i + 1..], "after {id}");
    }
}
