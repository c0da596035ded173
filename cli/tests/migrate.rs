//! `migrate` and `switch`: every record copied and verified, a round trip through the three
//! backends ending identical to the microsecond, idempotent re-runs, a `kill -9` in the middle
//! of 100,000 tickets resumed to an identical copy, refusals (same database, a running bot), and
//! `.env` rewritten the way the bot reads it.

#[macro_use]
mod support;

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use ticketbot_common::rules::Transition;
use ticketbot_common::store::{
    Backend, CategoryKind, CreateOutcome, Heartbeat, OverflowCategory, RecordCounts, TicketRecord,
    TranscriptBlob, TRANSCRIPT_CHUNK_BYTES,
};
use ticketbot_common::ticket::{Participant, TicketEvent, TicketStatus};
use ticketbot_common::EventKind;
use uuid::Uuid;

use support::*;

const G: u64 = 1_234_567_890_123_456_789;
const S1: u64 = 900_000_000_000_000_001;
const S2: u64 = 900_000_000_000_000_002;

const fn chan(n: u64) -> u64 {
    1_300_000_000_000_000_000 + n
}

for_each_backend!(
    migrate_refuses_its_own_database,
    migrate_dry_run_writes_nothing,
    migrate_rerun_is_idempotent,
    switch_rewrites_env_and_waits_for_the_bot,
);

/// A bit of everything a store holds: lives taken through the library (claims, an unclaim,
/// participants, closes with odd reasons, a reopen, forced closes, a deletion whose history
/// stays), and imported tickets with extreme values and events with details.
fn seed_rich(db: &TestDb) {
    let store = db.store();
    let t0 = at("2025-05-05T05:05:05.050505Z");
    db.block_on(async {
        use ticketbot_common::names::{Name, NameKind};
        store
            .remember_names(&[
                Name::seen(S1, NameKind::User, "Staff «one» 🎫", Some("a1b2c3"), t0),
                Name::seen(S2, NameKind::User, "staff two", None, t0 + secs(5)),
                Name::seen(u64::MAX - 1, NameKind::Role, "Support", None, t0),
            ])
            .await
            .unwrap();
        for (user, s) in [(S1, 0), (S1, 1), (S1, 7200), (S2, 30)] {
            store
                .count_staff_message(G, user, t0 + secs(s))
                .await
                .unwrap();
        }
        for i in 0..12u64 {
            let opened = t0 + secs(i as i64 * 3600);
            let CreateOutcome::Created(t) =
                store.create_ticket(G, 100 + i, 2, opened).await.unwrap()
            else {
                panic!("create_ticket refused")
            };
            store.set_channel(t.id, Some(chan(i))).await.unwrap();
            if i == 3 || i == 5 {
                // A pending close request (hostile reason) and one settled, being seen through.
                use ticketbot_common::close_request::{CloseRequest, CloseRequestState};
                let r = CloseRequest::new(
                    t.id,
                    G,
                    S1,
                    (i == 3).then(|| "«solved?» <b>\"yes\"</b>\n✅".to_owned()),
                    opened + secs(30),
                    chrono::Duration::hours(24),
                );
                store.put_close_request(&r).await.unwrap();
                let last = ticketbot_common::auto_close::TicketActivity {
                    ticket_id: t.id,
                    guild_id: G,
                    last_message_at: opened + secs(40),
                };
                store.record_activity(&last).await.unwrap();
                // A rating with a hostile comment, one without.
                let comment = (i == 3).then_some("'; DROP TABLE feedback; -- «5★» <i>\n</i>");
                let rating = ticketbot_common::feedback::Feedback::new(
                    t.id,
                    100 + i,
                    if i == 3 { 5 } else { 2 },
                    comment,
                    opened + secs(50),
                )
                .unwrap();
                let written = store.give_feedback(&rating, opened).await.unwrap();
                assert_eq!(written, ticketbot_common::feedback::FeedbackWrite::Added);
                if i == 3 {
                    // A topic with a form, the ticket's answers (hostile), and a removed topic.
                    use ticketbot_common::topics::{Answer, Question, TicketForm, Topic};
                    let questions = vec![
                        Question::parse(1, "Order «n°» | e.g. #1 | 2-20").unwrap(),
                        Question::parse(2, "What happened? | paragraph | optional").unwrap(),
                    ];
                    let mut topic = Topic::new(G, "Billing 💳", questions, opened).unwrap();
                    topic.emoji = Some("💳".into());
                    topic.category_id = Some(chan(40));
                    topic.max_open = Some(2);
                    store.add_topic(&topic).await.unwrap();
                    let old = Topic::new(G, "Old", Vec::new(), opened).unwrap();
                    store.add_topic(&old).await.unwrap();
                    assert!(store.remove_topic(old.id, opened + secs(1)).await.unwrap());
                    let form = TicketForm {
                        ticket_id: t.id,
                        guild_id: G,
                        topic_id: topic.id,
                        topic_name: topic.name.clone(),
                        answers: vec![
                            Answer {
                                question: "Order «n°»".into(),
                                answer: "'; DROP TABLE ticket_forms; -- <b>#42</b>".into(),
                            },
                            Answer {
                                question: "What happened?".into(),
                                answer: String::new(),
                            },
                        ],
                        submitted_at: opened,
                    };
                    store.put_ticket_form(&form).await.unwrap();
                }
                if i == 5 {
                    let due = opened + secs(100);
                    let settled = store.settle_close_request(&r, CloseRequestState::Accepted, due);
                    assert!(settled.await.unwrap().is_some());
                }
            }
            let claim = |by, s| Transition::Claim {
                by,
                at: opened + secs(s),
            };
            if i % 2 == 0 {
                store.transition(t.id, &claim(S1, 60)).await.unwrap();
            }
            if i == 6 {
                let unclaim = Transition::Unclaim {
                    by: S1,
                    at: opened + secs(90),
                };
                store.transition(t.id, &unclaim).await.unwrap();
                store.transition(t.id, &claim(S2, 95)).await.unwrap();
            }
            if i % 3 == 0 {
                // Two participants, added in the order opposite to their ids.
                store
                    .add_participant(t.id, 300 + i, S1, opened + secs(120))
                    .await
                    .unwrap();
                store
                    .add_participant(t.id, 200 + i, S1, opened + secs(121))
                    .await
                    .unwrap();
            }
            let close = |by, reason: Option<String>, s, forced| Transition::Close {
                by,
                reason,
                at: opened + secs(s),
                forced,
            };
            match i % 4 {
                0 => {
                    let reason = format!("done #{i}: «ok» \"quoted\" 'single'\nline 2 ✅");
                    store
                        .transition(t.id, &close(Some(S1), Some(reason), 600, false))
                        .await
                        .unwrap();
                }
                1 => {
                    store
                        .transition(t.id, &close(Some(S2), None, 300, false))
                        .await
                        .unwrap();
                    let reopen = Transition::Reopen {
                        by: S2,
                        at: opened + secs(400),
                    };
                    store.transition(t.id, &reopen).await.unwrap();
                }
                2 => {
                    store
                        .transition(t.id, &close(None, Some("spam".into()), 700, true))
                        .await
                        .unwrap();
                }
                _ => {}
            }
        }
        let CreateOutcome::Created(d) = store.create_ticket(G, 999, 1, t0).await.unwrap() else {
            panic!("create_ticket refused")
        };
        store
            .add_participant(d.id, 4242, S1, t0 + secs(10))
            .await
            .unwrap();
        store.delete(d.id, Some(S1), t0 + secs(20)).await.unwrap();
    });
    let big = closed(
        claimed(
            with_channel(
                ticket(
                    uuid("ffffffff-ffff-4fff-bfff-ffffffffffff"),
                    u64::MAX,
                    u64::MAX - 1,
                    at("2025-12-31T23:59:59.999999Z"),
                ),
                u64::MAX - 2,
            ),
            u64::MAX - 3,
            at("2026-01-01T00:00:00.000001Z"),
        ),
        at("2026-01-01T00:00:00.000002Z"),
        Some(u64::MAX - 4),
        Some(""),
    );
    let oldest = ticket(
        uuid("00000000-0000-4000-8000-000000000000"),
        1,
        1,
        at("2015-05-13T00:00:00.000001Z"),
    );
    db.import(&[big.clone(), oldest.clone()]);
    let mut e1 = event(
        &big,
        EventKind::Claimed,
        Some(u64::MAX - 3),
        at("2026-01-01T00:00:00.000001Z"),
    );
    e1.details = Some("{\"json\": [1, 2], \"nul\": \"\\u0000\"}".into());
    let mut e2 = event(
        &oldest,
        EventKind::Imported,
        None,
        at("2015-05-13T00:00:00.000001Z"),
    );
    e2.details = Some(String::new());
    db.import_events(&[e1, e2]);
    seed_archive(db);
}

/// Transcripts (a small one, one of several chunks, one of a deleted ticket) and overflow
/// categories, as the bot stores them.
fn seed_archive(db: &TestDb) {
    let store = db.store();
    let tickets = db.export().0;
    let mut blobs = vec![
        TranscriptBlob {
            ticket_id: tickets[0].ticket.id,
            guild_id: G,
            created_at: at("2025-06-01T00:00:00.000001Z"),
            message_count: 3,
            data: b"small transcript \x00\xff".to_vec(),
        },
        TranscriptBlob {
            ticket_id: tickets[1].ticket.id,
            guild_id: G,
            created_at: at("2025-06-02T00:00:00.000002Z"),
            message_count: 40_000,
            // Two and a half chunks of bytes that are not all alike.
            data: (0..TRANSCRIPT_CHUNK_BYTES * 5 / 2)
                .map(|i| (i * 31 % 251) as u8)
                .collect(),
        },
    ];
    blobs.push(TranscriptBlob {
        ticket_id: Uuid::from_u128(0xdeadbeef),
        guild_id: G,
        created_at: at("2025-06-03T00:00:00Z"),
        message_count: 0,
        data: Vec::new(),
    });
    let categories = [
        OverflowCategory {
            guild_id: G,
            base_id: 1_400_000_000_000_000_001,
            kind: CategoryKind::Open,
            number: 2,
            category_id: 1_400_000_000_000_000_002,
            created_at: at("2025-06-04T00:00:00.000004Z"),
        },
        OverflowCategory {
            guild_id: G,
            base_id: 1_400_000_000_000_000_001,
            kind: CategoryKind::Open,
            number: 3,
            category_id: u64::MAX - 7,
            created_at: at("2025-06-05T00:00:00Z"),
        },
    ];
    db.block_on(async {
        for b in &blobs {
            store.put_transcript(b).await.unwrap();
        }
        for c in &categories {
            assert_eq!(store.add_overflow_category(c).await.unwrap(), None);
        }
    });
}

/// Everything beside tickets and history: transcripts, overflow categories, names, staff
/// message counts and close requests.
type ArchiveData = (
    Vec<TranscriptBlob>,
    Vec<OverflowCategory>,
    Vec<ticketbot_common::names::Name>,
    Vec<ticketbot_common::store::StaffMessages>,
    Vec<ticketbot_common::close_request::CloseRequest>,
    Vec<ticketbot_common::auto_close::TicketActivity>,
);

/// Every transcript, overflow category, name, message count and close request, through the
/// library.
fn archive_data(db: &TestDb) -> ArchiveData {
    let store = db.store();
    db.block_on(async {
        let mut transcripts = Vec::new();
        let mut after = None;
        loop {
            let page = store.export_transcripts(after, 2).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.ticket_id);
            transcripts.extend(page);
        }
        (
            transcripts,
            store.all_overflow_categories().await.unwrap(),
            store.all_names().await.unwrap(),
            store.all_staff_messages().await.unwrap(),
            store.all_close_requests().await.unwrap(),
            store.all_activity().await.unwrap(),
        )
    })
}

fn live_heartbeat(db: &TestDb, id: &str, age_secs: i64) {
    let store = db.store();
    let seen = now() - secs(age_secs);
    db.block_on(async {
        store
            .heartbeat(&Heartbeat {
                instance_id: id.into(),
                details: "pid 4242 on host-a".into(),
                started_at: seen - secs(3600),
                seen_at: seen,
            })
            .await
            .unwrap()
    });
}

/// The target flags naming `to` (MySQL by URL: its admin account has no password).
fn target_args(to: &TestDb) -> Vec<String> {
    let v: Vec<String> = match to.backend {
        Backend::Sqlite => vec![
            "--to".into(),
            "sqlite".into(),
            "--sqlite-path".into(),
            to.sqlite_path().display().to_string(),
        ],
        Backend::Mysql => vec!["--to".into(), "mysql".into(), "--to-url".into(), to.url()],
        Backend::Mongodb => vec![
            "--to".into(),
            "mongodb".into(),
            "--mongo-uri".into(),
            mongo_uri(),
            "--mongo-db-name".into(),
            to.name.clone(),
        ],
    };
    v
}

/// How a database is shown when named by [`TestDb::url`] (a source).
fn shown_as_source(db: &TestDb) -> String {
    match db.backend {
        Backend::Sqlite => format!("sqlite file {}", db.sqlite_path().display()),
        Backend::Mysql => db.url(),
        Backend::Mongodb => format!("{} (database {})", db.url(), db.name),
    }
}

/// How a database is shown when named by [`target_args`].
fn shown_as_target(db: &TestDb) -> String {
    match db.backend {
        Backend::Mongodb => format!("{} (database {})", mongo_uri(), db.name),
        _ => shown_as_source(db),
    }
}

fn counts_json(c: RecordCounts) -> Value {
    json!({
        "tickets": c.tickets,
        "participants": c.participants,
        "events": c.events,
        "transcripts": c.transcripts,
        "categories": c.categories,
        "names": c.names,
        "staff_messages": c.staff_messages,
        "close_requests": c.close_requests,
        "activity": c.activity,
        "feedback": c.feedback,
        "topics": c.topics,
        "ticket_forms": c.ticket_forms,
    })
}

/// `ticketctl --database-url <from> migrate <to> EXTRA`.
#[track_caller]
fn migrate(from: &TestDb, to: &TestDb, extra: &[&str]) -> Out {
    let mut args: Vec<String> = vec!["migrate".into()];
    args.extend(target_args(to));
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    from.run(&refs)
}

/// The summary of a successful `migrate --json`, checked; returns its checksum.
#[track_caller]
fn check_summary(out: &Out, from: &TestDb, to: &TestDb, counts: RecordCounts) -> String {
    let v = out.json();
    assert_eq!(v["source"], shown_as_source(from), "{out}");
    assert_eq!(v["target"], shown_as_target(to), "{out}");
    assert_eq!(v["copied"], counts_json(counts), "{out}");
    assert_eq!(v["verified"], true, "{out}");
    let sum = v["checksum"].as_str().expect("checksum").to_owned();
    assert!(
        sum.len() == 16 && sum.bytes().all(|b| b.is_ascii_hexdigit()),
        "{out}"
    );
    sum
}

#[track_caller]
fn assert_same_data(a: &TestDb, b: &TestDb) {
    let (ta, ea) = a.export();
    let (tb, eb) = b.export();
    assert_eq!(ta.len(), tb.len(), "ticket count");
    for (x, y) in ta.iter().zip(&tb) {
        assert_eq!(x, y, "ticket record differs");
    }
    assert_eq!(ea.len(), eb.len(), "event count");
    for (x, y) in ea.iter().zip(&eb) {
        assert_eq!(x, y, "event differs");
    }
    assert_eq!(a.counts(), b.counts());
    assert_eq!(
        archive_data(a),
        archive_data(b),
        "transcripts, categories and names"
    );
}

#[test]
fn migrate_round_trip_sqlite_mysql_mongodb_sqlite() {
    let src = TestDb::new(Backend::Sqlite);
    seed_rich(&src);
    live_heartbeat(&src, "bot-1", 0);
    let counts = src.counts();
    assert_eq!(counts.tickets, 14);
    assert_eq!(counts.participants, 8);
    assert_eq!(counts.transcripts, 3);
    assert_eq!(counts.categories, 2);
    assert_eq!(counts.names, 3);
    assert_eq!(counts.staff_messages, 3);
    assert_eq!(counts.close_requests, 2);
    assert_eq!(counts.activity, 2);
    assert_eq!(counts.feedback, 2);
    assert_eq!(counts.topics, 2);
    assert_eq!(counts.ticket_forms, 1);
    let archive = archive_data(&src);
    assert!(archive
        .0
        .iter()
        .any(|t| t.data.len() > 2 * TRANSCRIPT_CHUNK_BYTES));
    let (tickets, events) = src.export();
    assert!(tickets.iter().any(|r| r.participants.len() == 2));
    assert!(tickets.iter().any(|r| r.open_slot.is_some()));
    assert!(events.iter().any(|e| e.kind == EventKind::Deleted));

    let mysql = TestDb::unopened(Backend::Mysql);
    let mongo = TestDb::unopened(Backend::Mongodb);
    let dst = TestDb::unopened(Backend::Sqlite);
    let mut sums = Vec::new();
    for (from, to, batch) in [
        (&src, &mysql, "7"),
        (&mysql, &mongo, "5"),
        (&mongo, &dst, "1000"),
    ] {
        let out = migrate(from, to, &["--batch", batch, "--json"]).ok();
        sums.push(check_summary(&out, from, to, counts));
    }
    assert!(
        sums.windows(2).all(|w| w[0] == w[1]),
        "the checksum of identical data differs between backends: {sums:?}"
    );

    // Every record of every store equals the original, every field, to the microsecond.
    for db in [&mysql, &mongo, &dst] {
        let (t, e) = db.export();
        assert_eq!(t, tickets, "{:?} tickets", db.backend);
        assert_eq!(e, events, "{:?} events", db.backend);
        assert_eq!(
            archive_data(db),
            archive,
            "{:?} transcripts, categories and names",
            db.backend
        );
    }
    // And the CLI sees the same.
    for args in [
        &["list", "--json"][..],
        &["stats", "--json"],
        &["inspect", "ffffffff", "--json"],
    ] {
        assert_eq!(
            src.run(args).ok().json(),
            dst.run(args).ok().json(),
            "{args:?}"
        );
    }
    // A heartbeat describes a process, not data: it stays behind.
    assert_eq!(
        src.run(&["status", "--json"]).ok().json()["bot_running"],
        true
    );
    let v = dst.run(&["status", "--json"]).ok().json();
    assert_eq!(v["bot_running"], false);
    assert_eq!(v["records"], counts_json(counts));
}

fn migrate_refuses_its_own_database(backend: Backend) {
    let db = TestDb::new(backend);
    seed_rich(&db);
    let before = db.export();
    let path = db.sqlite_path().display().to_string();
    let url = db.url();
    let localhost_url = url.replace("127.0.0.1", "localhost");
    let host = mysql_host();
    let cases: Vec<Vec<&str>> = match backend {
        Backend::Sqlite => vec![
            vec!["--to", "sqlite", "--sqlite-path", &path],
            vec!["--to", "sqlite", "--sqlite-path", SQLITE_FILE],
            vec!["--to", "sqlite", "--sqlite-path", "./ticketbotdatabase.db"],
            vec!["--to", "sqlite", "--to-url", &url],
        ],
        Backend::Mysql => vec![
            vec!["--to", "mysql", "--to-url", &url],
            vec!["--to", "mysql", "--to-url", &localhost_url],
            vec![
                "--to",
                "mysql",
                "--mysql-host",
                &host,
                "--mysql-database",
                &db.name,
            ],
            vec![
                "--to",
                "mysql",
                "--mysql-host",
                "localhost",
                "--mysql-database",
                &db.name,
            ],
        ],
        Backend::Mongodb => vec![
            vec!["--to", "mongodb", "--to-url", &url],
            vec!["--to", "mongodb", "--to-url", &localhost_url],
            vec![
                "--to",
                "mongodb",
                "--mongo-uri",
                "mongodb://localhost:27017",
                "--mongo-db-name",
                &db.name,
            ],
        ],
    };
    for target in cases {
        for cmd in ["migrate", "switch"] {
            let mut args = vec![cmd];
            args.extend(&target);
            let out = db.run(&args).code(2);
            assert!(out.stderr.contains("already in use"), "{out}");
        }
    }
    // --to and --to-url disagree.
    let other = match backend {
        Backend::Sqlite => "mysql",
        _ => "sqlite",
    };
    db.run(&["migrate", "--to", other, "--to-url", &url])
        .code(2);
    assert_eq!(db.export(), before, "nothing changed");
    assert!(!db.dir().join(".env").exists(), "switch wrote .env");
}

fn migrate_dry_run_writes_nothing(backend: Backend) {
    let src = TestDb::new(backend);
    seed_rich(&src);
    let c = src.counts();
    let dst = TestDb::unopened(other_backend(backend));

    let out = migrate(&src, &dst, &["--dry-run"]).ok();
    assert_eq!(
        out.stdout,
        format!(
            "would copy {} tickets ({} participants), {} history events, {} transcripts, {} overflow categories, {} names, {} staff message counts, {} close requests, {} last-message times, {} ratings, {} topics and {} topic forms from {} to {}\n",
            c.tickets,
            c.participants,
            c.events,
            c.transcripts,
            c.categories,
            c.names,
            c.staff_messages,
            c.close_requests,
            c.activity,
            c.feedback,
            c.topics,
            c.ticket_forms,
            shown_as_source(&src),
            shown_as_target(&dst)
        ),
        "{out}"
    );
    let out = migrate(&src, &dst, &["--dry-run", "--json"]).ok();
    assert_eq!(out.json(), counts_json(c));
    assert!(!dst.exists(), "a dry run created the target");
    assert_eq!(src.counts(), c);
}

fn migrate_rerun_is_idempotent(backend: Backend) {
    let src = TestDb::new(backend);
    seed_rich(&src);
    let dst = TestDb::unopened(other_backend(backend));
    let c = src.counts();
    let first = check_summary(&migrate(&src, &dst, &["--json"]).ok(), &src, &dst, c);
    assert_same_data(&src, &dst);
    let again = check_summary(&migrate(&src, &dst, &["--json"]).ok(), &src, &dst, c);
    assert_eq!(first, again);
    assert_same_data(&src, &dst);
    // For people, one record per batch.
    let out = migrate(&src, &dst, &["--batch", "1"]).ok();
    assert!(
        out.stdout.starts_with(&format!(
            "copied {} tickets ({} participants), {} history events, {} transcripts, {} overflow categories, {} names, {} staff message counts, {} close requests, {} last-message times, {} ratings, {} topics and {} topic forms from {} to {} in ",
            c.tickets,
            c.participants,
            c.events,
            c.transcripts,
            c.categories,
            c.names,
            c.staff_messages,
            c.close_requests,
            c.activity,
            c.feedback,
            c.topics,
            c.ticket_forms,
            shown_as_source(&src),
            shown_as_target(&dst)
        )),
        "{out}"
    );
    assert!(
        out.stdout.contains(&format!(
            "\nverified: counts equal, every record identical (checksum {first})\n"
        )),
        "{out}"
    );
    assert_same_data(&src, &dst);

    // The source moves on; a re-run brings the copy up to date (upserts, not duplicates).
    let open = src
        .export()
        .0
        .into_iter()
        .find(|r| r.ticket.status == TicketStatus::Open && r.ticket.guild_id == G)
        .unwrap()
        .ticket;
    src.run(&["force-close", &open.id.to_string(), "--reason", "moved"])
        .ok();
    let store = src.store();
    src.block_on(async {
        let CreateOutcome::Created(t) = store
            .create_ticket(G, 5555, 1, at("2025-09-09T09:09:09.090909Z"))
            .await
            .unwrap()
        else {
            panic!("create_ticket refused")
        };
        store
            .add_participant(t.id, 6666, S1, at("2025-09-09T09:10:00Z"))
            .await
            .unwrap();
    });
    let c2 = src.counts();
    assert_eq!(c2.tickets, c.tickets + 1);
    let third = check_summary(&migrate(&src, &dst, &["--json"]).ok(), &src, &dst, c2);
    assert_ne!(third, first);
    assert_same_data(&src, &dst);
    assert_eq!(
        dst.get(open.id).unwrap().close_reason.as_deref(),
        Some("moved")
    );

    // A target holding something the source does not: the verification says so.
    dst.import(&[ticket(Uuid::new_v4(), G, 7777, at("2025-01-01T00:00:00Z"))]);
    let out = migrate(&src, &dst, &[]).code(1);
    assert!(out.stderr.contains("verification failed"), "{out}");
}

/// 100,000 tickets, SQLite → MySQL: the first run is killed with SIGKILL part-way, the second
/// completes, and the copy is identical to the source.
#[test]
fn migrate_kill9_then_resume_is_identical() {
    const N: u64 = 100_000;
    let started = Instant::now();
    let src = TestDb::new(Backend::Sqlite);
    let dst = TestDb::unopened(Backend::Mysql);
    let store = src.store();
    let base = at("2024-01-01T00:00:00.000001Z");
    src.block_on(async {
        for chunk in (0..N).collect::<Vec<_>>().chunks(5000) {
            let records: Vec<TicketRecord> = chunk
                .iter()
                .map(|&i| {
                    let mut t = ticket(Uuid::new_v4(), G, 10_000 + i, base + secs(i as i64));
                    if i % 2 == 0 {
                        t = with_channel(t, chan(i));
                    }
                    if i % 5 == 0 {
                        let when = t.created_at + secs(7);
                        t = claimed(t, S1 + i % 3, when);
                    }
                    let open = i % 3 != 0;
                    if !open {
                        t = closed(t.clone(), t.created_at + secs(600), Some(S2), Some("ok"));
                    }
                    let participants = if i % 10 == 0 {
                        vec![Participant {
                            ticket_id: t.id,
                            user_id: 77_000 + i,
                            added_by: S1,
                            added_at: t.created_at + secs(9),
                        }]
                    } else {
                        Vec::new()
                    };
                    TicketRecord {
                        open_slot: open.then_some(0),
                        ticket: t,
                        participants,
                    }
                })
                .collect();
            let events: Vec<TicketEvent> = records
                .iter()
                .filter(|r| r.ticket.claimed_by.is_some())
                .map(|r| {
                    event(
                        &r.ticket,
                        EventKind::Claimed,
                        r.ticket.claimed_by,
                        r.ticket.claimed_at.unwrap(),
                    )
                })
                .collect();
            store.import_tickets(&records).await.unwrap();
            store.import_events(&events).await.unwrap();
        }
    });
    let c = src.counts();
    assert_eq!(
        c,
        RecordCounts {
            tickets: N,
            participants: N / 10,
            events: N / 5,
            transcripts: 0,
            categories: 0,
            names: 0,
            staff_messages: 0,
            close_requests: 0,
            activity: 0,
            feedback: 0,
            topics: 0,
            ticket_forms: 0,
        }
    );
    eprintln!("seeded in {:?}", started.elapsed());

    let args: Vec<String> = ["--database-url".to_owned(), src.url(), "migrate".into()]
        .into_iter()
        .chain(target_args(&dst))
        .chain(["--batch".into(), "1000".into()])
        .collect();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .env_clear()
        .current_dir(src.dir())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ticketctl");
    let table = format!("`{}`.tickets", dst.name);
    let copied_before_kill = src.block_on(async {
        let admin = mysql_admin().await;
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let n: Result<i64, _> = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&admin)
                .await;
            if matches!(n, Ok(n) if n >= 25_000) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the target never got rows (last: {n:?})"
            );
            if let Ok(Some(status)) = child.try_wait() {
                panic!("ticketctl exited before it could be killed: {status}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().expect("kill -9");
        let status = child.wait().expect("wait");
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status}");
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&admin)
            .await
            .unwrap();
        admin.close().await;
        n as u64
    });
    eprintln!(
        "killed with {copied_before_kill} tickets copied, at {:?}",
        started.elapsed()
    );
    assert!(
        copied_before_kill > 0 && copied_before_kill < N,
        "the kill must land mid-copy ({copied_before_kill})"
    );
    assert_ne!(dst.counts(), c);

    let out = migrate(&src, &dst, &["--json"]).ok();
    check_summary(&out, &src, &dst, c);
    eprintln!("resumed at {:?}", started.elapsed());
    assert_eq!(dst.counts(), c);
    assert_same_data(&src, &dst);
    eprintln!("verified at {:?}", started.elapsed());
}

/// Parses a `.env` the way the bot does.
fn read_env(path: &std::path::Path) -> HashMap<String, String> {
    dotenvy::from_path_iter(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|kv| kv.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// How often `key` is assigned in the file.
fn assignments(text: &str, key: &str) -> usize {
    text.lines()
        .filter(|l| {
            let l = l.trim_start();
            l.split_once('=')
                .is_some_and(|(k, _)| k.trim() == key && !k.trim_start().starts_with('#'))
        })
        .count()
}

/// Source `backend`, configured by the Python bot's `.env` in the working directory; target the
/// next backend. A bot seen 50 s ago stops it; one seen 70 s ago does not.
fn switch_rewrites_env_and_waits_for_the_bot(backend: Backend) {
    let to = other_backend(backend);
    let user = (backend == Backend::Mysql || to == Backend::Mysql).then(MysqlUser::new);
    let login = |b: Backend| match (&user, b) {
        (Some(u), Backend::Mysql) => TestDb::with_mysql_login(b, &u.user, &u.password),
        _ => TestDb::unopened(b),
    };
    let src = login(backend);
    src.store();
    seed_rich(&src);
    let dst = login(to);
    let env_path = src.dir().join(".env");
    let original = python_env_file(&src, user.as_ref(), false);
    std::fs::write(&env_path, &original).unwrap();

    let mut args: Vec<String> = vec!["switch".into(), "--to".into(), backend_name(to).into()];
    match to {
        Backend::Sqlite => args.extend([
            "--sqlite-path".into(),
            dst.sqlite_path().display().to_string(),
        ]),
        Backend::Mysql => args.extend([
            "--mysql-host".into(),
            mysql_host(),
            "--mysql-port".into(),
            mysql_port().to_string(),
            "--mysql-user".into(),
            user.as_ref().unwrap().user.clone(),
            "--mysql-database".into(),
            dst.name.clone(),
        ]),
        Backend::Mongodb => args.extend([
            "--mongo-uri".into(),
            mongo_uri(),
            "--mongo-db-name".into(),
            dst.name.clone(),
        ]),
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let switch = || {
        let mut cmd = ticketctl(src.dir());
        if to == Backend::Mysql {
            cmd.env("MYSQL_PASSWORD", &user.as_ref().unwrap().password);
        }
        run(cmd, &refs)
    };

    live_heartbeat(&src, "bot-eu-1", 50);
    let out = switch().code(1);
    assert!(out.stderr.contains("a bot is running"), "{out}");
    assert!(out.stderr.contains("bot-eu-1"), "{out}");
    assert!(out.stderr.contains("--force"), "{out}");
    assert_eq!(std::fs::read_to_string(&env_path).unwrap(), original);
    assert!(!src.dir().join(".env.bak").exists());
    assert!(!dst.exists(), "refused, yet the target was created");

    live_heartbeat(&src, "bot-eu-1", 70);
    let out = switch().ok();
    assert!(
        out.stdout.contains(&format!(
            ".env now points at {}; the previous file is .env.bak",
            backend_name(to)
        )),
        "{out}"
    );
    if let Some(u) = &user {
        assert!(!out.all().contains(&u.password), "password printed\n{out}");
    }
    assert_eq!(
        std::fs::read_to_string(src.dir().join(".env.bak")).unwrap(),
        original,
        ".env.bak is the old file"
    );

    let text = std::fs::read_to_string(&env_path).unwrap();
    let env = read_env(&env_path);
    let mut expected: Vec<(&str, String)> = vec![("DB_TYPE", backend_name(to).into())];
    match to {
        Backend::Sqlite => expected.push(("SQLITE_PATH", dst.sqlite_path().display().to_string())),
        Backend::Mysql => {
            let u = user.as_ref().unwrap();
            expected.extend([
                ("MYSQL_HOST", mysql_host()),
                ("MYSQL_PORT", mysql_port().to_string()),
                ("MYSQL_USER", u.user.clone()),
                ("MYSQL_PASSWORD", u.password.clone()),
                ("MYSQL_DATABASE", dst.name.clone()),
            ])
        }
        Backend::Mongodb => expected.extend([
            ("MONGO_URI", mongo_uri()),
            ("MONGO_DB_NAME", dst.name.clone()),
        ]),
    }
    // What the switch did not touch stays as it was.
    expected.extend([
        ("BOT_TOKEN", "your_bot_token".into()),
        ("GUILD_ID", "1234".into()),
        ("SUPPORT_ROLE_ID", "5678".into()),
        ("DEBUG", "1".into()),
    ]);
    for (k, v) in &expected {
        assert_eq!(env.get(*k), Some(v), "{k} in the new .env:\n{text}");
        assert_eq!(assignments(&text, k), 1, "{k} assigned once:\n{text}");
    }

    // The bot's configuration now names the copy, which holds everything.
    let out = run(ticketctl(src.dir()), &["status", "--json"]).ok();
    let v = out.json();
    assert_eq!(v["backend"], backend_name(to), "{out}");
    assert_eq!(v["records"], counts_json(src.counts()), "{out}");
    assert_eq!(v["bot_running"], false, "{out}");
    assert_same_data(&src, &dst);
}

/// `--force` switches even with a live bot.
#[test]
fn switch_force_overrides_a_live_bot() {
    let user = MysqlUser::new();
    let src = TestDb::new(Backend::Sqlite);
    seed_rich(&src);
    let dst = TestDb::with_mysql_login(Backend::Mysql, &user.user, &user.password);
    let original = python_env_file(&src, None, false);
    std::fs::write(src.dir().join(".env"), &original).unwrap();
    live_heartbeat(&src, "bot-live", 0);
    let args = [
        "switch",
        "--to",
        "mysql",
        "--mysql-host",
        &mysql_host(),
        "--mysql-port",
        &mysql_port().to_string(),
        "--mysql-user",
        &user.user,
        "--mysql-database",
        &dst.name,
        "--force",
    ];
    let mut cmd = ticketctl(src.dir());
    cmd.env("MYSQL_PASSWORD", &user.password);
    let out = run(cmd, &args).ok();
    assert!(!out.all().contains(&user.password), "{out}");
    let env = read_env(&src.dir().join(".env"));
    assert_eq!(env["DB_TYPE"], "mysql");
    assert_eq!(env["MYSQL_DATABASE"], dst.name);
    assert_eq!(env["MYSQL_PASSWORD"], user.password);
    assert_eq!(
        std::fs::read_to_string(src.dir().join(".env.bak")).unwrap(),
        original
    );
    assert_same_data(&src, &dst);
}

/// `--env-file PATH`: that file is the one rewritten, its backup beside it.
#[test]
fn switch_rewrites_the_env_file_it_was_given() {
    let src = TestDb::new(Backend::Sqlite);
    seed_rich(&src);
    let dst = TestDb::unopened(Backend::Mongodb);
    let conf = tempfile::tempdir().unwrap();
    let file = conf.path().join("bot.env");
    let original = python_env_file(&src, None, true);
    std::fs::write(&file, &original).unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let file_arg = file.display().to_string();
    let out = run(
        ticketctl(cwd.path()),
        &[
            "--env-file",
            &file_arg,
            "switch",
            "--to",
            "mongodb",
            "--mongo-uri",
            &mongo_uri(),
            "--mongo-db-name",
            &dst.name,
        ],
    )
    .ok();
    assert!(
        out.stdout.contains(&format!(
            "{file_arg} now points at mongodb; the previous file is {file_arg}.bak"
        )),
        "{out}"
    );
    assert!(!cwd.path().join(".env").exists(), "wrote a .env elsewhere");
    assert_eq!(
        std::fs::read_to_string(conf.path().join("bot.env.bak")).unwrap(),
        original
    );
    let env = read_env(&file);
    assert_eq!(env["DB_TYPE"], "mongodb");
    assert_eq!(env["MONGO_URI"], mongo_uri());
    assert_eq!(env["MONGO_DB_NAME"], dst.name);
    assert_eq!(env["BOT_TOKEN"], "your_bot_token");
    assert_same_data(&src, &dst);
    // Read back through the same flag, the copy is what ticketctl now opens.
    let v = run(
        ticketctl(cwd.path()),
        &["--env-file", &file_arg, "status", "--json"],
    )
    .ok()
    .json();
    assert_eq!(v["backend"], "mongodb");
}

/// Configured by the environment alone: `switch` writes a new `.env` (no backup: there was
/// nothing) and warns that DB_TYPE in the environment still wins over it.
#[test]
fn switch_without_env_file_writes_one() {
    let src = TestDb::new(Backend::Sqlite);
    seed_rich(&src);
    let dst = TestDb::unopened(Backend::Sqlite);
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = ticketctl(cwd.path());
    cmd.env("DB_TYPE", "sqlite")
        .env("SQLITE_PATH", src.sqlite_path());
    let target = dst.sqlite_path().display().to_string();
    let out = run(cmd, &["switch", "--to", "sqlite", "--sqlite-path", &target]).ok();
    assert!(
        out.stdout.contains("wrote .env pointing at sqlite"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("DB_TYPE is set in this shell's environment"),
        "{out}"
    );
    assert!(!cwd.path().join(".env.bak").exists());
    let env = read_env(&cwd.path().join(".env"));
    assert_eq!(env["DB_TYPE"], "sqlite");
    assert_eq!(env["SQLITE_PATH"], target);
    assert_eq!(env.len(), 2, "{env:?}");
    assert_same_data(&src, &dst);
}
