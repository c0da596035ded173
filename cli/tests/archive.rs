//! `transcript`, `archive` and `purge` against every backend: the saved transcript rendered from
//! the database (escaped, complete, deleted tickets included), archive requests left for the bot
//! (exactly the right tickets, nothing on a dry run, `--wait` until a "bot" has done them), and
//! purges (exactly the right rows, histories and transcripts, a confirmation, an audit event).

#[macro_use]
mod support;

use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use ticketbot_common::rules::Transition;
use ticketbot_common::store::{Backend, CreateOutcome, Heartbeat, TranscriptBlob};
use ticketbot_common::ticket::{Ticket, TicketEvent};
use ticketbot_common::EventKind;
use ticketbot_transcript as tr;
use uuid::Uuid;

use support::*;

const G: u64 = 1_234_567_890_123_456_789;
const H: u64 = 987_654_321_098_765_432;
const U1: u64 = 300_000_000_000_000_001;
const U2: u64 = 300_000_000_000_000_002;
const U3: u64 = 300_000_000_000_000_003;
const S1: u64 = 900_000_000_000_000_001;

const fn chan(n: u64) -> u64 {
    1_300_000_000_000_000_000 + n
}

const HOSTILE: &str = "<script>alert(1)</script>";
/// The hostile text HTML-escaped, by name or by number (askama writes `&#60;`).
const ESCAPED: [&str; 2] = [
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
];

fn has_escaped(html: &str) -> bool {
    ESCAPED
        .iter()
        .any(|e| html.contains(&format!("hello {e} world")))
}
const ATTACHMENT_BYTES: &[u8] = b"order A-1002 refunded\nby staff, 2025-03-05\n";

for_each_backend!(
    backfill_takes_first_responses_and_names_from_transcripts,
    transcript_renders_html_json_text,
    transcript_of_deleted_ticket_and_errors,
    archive_marks_exactly_the_due_tickets,
    archive_wait_returns_when_the_bot_is_done,
    archive_dry_run_lists_at_most_twenty,
    archive_usage_errors,
    purge_by_age,
    purge_by_user,
    purge_usage_errors,
);

// ---- helpers --------------------------------------------------------------------------------

/// Standard base64 (with padding), written out here so the test does not trust the renderer's.
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn user(id: u64, name: &str, display: Option<&str>) -> tr::User {
    tr::User {
        id,
        name: name.into(),
        display_name: display.map(Into::into),
        avatar: None,
        bot: false,
        color: None,
    }
}

fn message(id: u64, author: u64, at: DateTime<Utc>, content: &str) -> tr::Message {
    tr::Message {
        id,
        author_id: author,
        timestamp: at,
        edited_timestamp: None,
        content: content.into(),
        reply_to: None,
        embeds: vec![],
        attachments: vec![],
        pinned: false,
        system: None,
    }
}

/// A transcript of `t`: a hostile message from the creator, a staff answer with a file.
fn transcript_of(t: &Ticket) -> tr::Transcript {
    let opened = t.created_at;
    let mut answer = message(
        2_000_000_000_000_000_002,
        S1,
        opened + secs(120),
        "Refund issued, see the **log**",
    );
    answer.attachments.push(tr::Attachment {
        id: 3_000_000_000_000_000_001,
        filename: "refund-log.txt".into(),
        content_type: Some("text/plain".into()),
        size: ATTACHMENT_BYTES.len() as u64,
        asset: Some("refund-log".into()),
        width: None,
        height: None,
    });
    tr::Transcript {
        version: tr::FORMAT_VERSION,
        generated_at: t.closed_at.unwrap_or(opened) + secs(5),
        summary: tr::Summary {
            ticket_id: t.id,
            short_id: t.short_id(),
            guild_id: t.guild_id,
            guild_name: Some("Acme Support".into()),
            channel_id: Some(chan(99)),
            channel_name: format!("ticket-{}", t.short_id()),
            status: "closed".into(),
            creator_id: t.creator_id,
            claimed_by: Some(S1),
            participants: vec![],
            opened_at: opened,
            closed_at: t.closed_at,
            closed_by: Some(S1),
            close_reason: Some("refunded".into()),
            archived_at: None,
            archived_by: None,
        },
        users: vec![
            user(t.creator_id, "alice", Some("Alice Martin")),
            user(S1, "bob.support", None),
        ],
        roles: vec![],
        channels: vec![],
        messages: vec![
            message(
                2_000_000_000_000_000_001,
                t.creator_id,
                opened + secs(60),
                &format!("hello {HOSTILE} world"),
            ),
            answer,
        ],
        assets: vec![tr::Asset {
            id: "refund-log".into(),
            content_type: "text/plain".into(),
            filename: "refund-log.txt".into(),
            data: ATTACHMENT_BYTES.to_vec(),
        }],
        omitted: vec![],
    }
}

fn put_transcript(db: &TestDb, t: &tr::Transcript) {
    let store = db.store();
    let blob = TranscriptBlob {
        ticket_id: t.summary.ticket_id,
        guild_id: t.summary.guild_id,
        created_at: t.generated_at,
        message_count: t.messages.len() as u32,
        data: tr::encode(t),
    };
    db.block_on(async { store.put_transcript(&blob).await.expect("put_transcript") });
}

fn has_transcript(db: &TestDb, id: Uuid) -> bool {
    let store = db.store();
    db.block_on(async { store.get_transcript(id).await.expect("get_transcript") })
        .is_some()
}

fn archived(mut t: Ticket, when: DateTime<Utc>) -> Ticket {
    t.channel_id = None;
    t.archived_at = Some(when);
    t.updated_at = t.updated_at.max(when);
    t
}

/// `opened` and `closed` events (and `archived` when it was) for an imported ticket.
fn events_of(t: &Ticket) -> Vec<TicketEvent> {
    let mut e = vec![event(
        t,
        EventKind::Opened,
        Some(t.creator_id),
        t.created_at,
    )];
    if let Some(c) = t.closed_at {
        e.push(event(t, EventKind::Closed, Some(S1), c));
    }
    if let Some(a) = t.archived_at {
        e.push(event(t, EventKind::Archived, Some(S1), a));
    }
    e
}

/// What an event says, without its (random) id.
fn gist(events: &[TicketEvent]) -> Vec<(EventKind, Option<u64>, DateTime<Utc>)> {
    events.iter().map(|e| (e.kind, e.actor_id, e.at)).collect()
}

/// A ticket made, closed and deleted through the store (the `deleted` event at `deleted`);
/// returns its id.
fn deleted_ticket(db: &TestDb, guild: u64, creator: u64, deleted: DateTime<Utc>) -> Uuid {
    let store = db.store();
    let opened = deleted - secs(86_400);
    db.block_on(async {
        let CreateOutcome::Created(t) = store
            .create_ticket(guild, creator, 5, opened)
            .await
            .expect("create_ticket")
        else {
            panic!("create_ticket refused")
        };
        store
            .transition(
                t.id,
                &Transition::Close {
                    by: Some(S1),
                    reason: None,
                    at: opened + secs(60),
                    forced: false,
                },
            )
            .await
            .expect("close");
        store.delete(t.id, Some(S1), deleted).await.expect("delete");
        t.id
    })
}

/// The short ids a dry run of `archive` lists, in order.
fn listed(out: &Out) -> Vec<String> {
    out.stdout
        .lines()
        .filter(|l| l.starts_with("  ") && !l.contains("more"))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect()
}

fn beat(db: &TestDb) {
    let store = db.store();
    db.block_on(async {
        store
            .heartbeat(&Heartbeat {
                instance_id: "bot-test".into(),
                details: "pid 1 on the test".into(),
                started_at: now() - secs(600),
                seen_at: now(),
            })
            .await
            .expect("heartbeat")
    });
}

/// Starts `ticketctl --database-url <db> ARGS` in the background, output piped.
fn spawn(db: &TestDb, args: &[&str]) -> Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("ticketctl"))
        .env_clear()
        .current_dir(db.dir())
        .arg("--database-url")
        .arg(db.url())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ticketctl")
}

/// Waits for a child for at most `limit`; kills it (and fails) on the timeout.
fn wait_child(mut child: Child, limit: Duration) -> (i32, String, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            let mut out = String::new();
            let mut err = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code().unwrap_or(-1), out, err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ticketctl did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---- transcript -----------------------------------------------------------------------------

/// Tickets older than first-response tracking get theirs from their saved transcript (the first
/// message by someone other than the creator, a participant or a bot), once; one already known
/// is kept; names come along.
fn backfill_takes_first_responses_and_names_from_transcripts(backend: Backend) {
    let db = TestDb::new(backend);
    let opened = at("2025-03-04T05:06:07Z");
    let closed_at = at("2025-03-05T00:00:00Z");
    let old = closed(
        ticket(Uuid::new_v4(), G, U1, opened),
        closed_at,
        Some(S1),
        None,
    );
    let mut known = closed(
        ticket(Uuid::new_v4(), G, U2, opened),
        closed_at,
        Some(S1),
        None,
    );
    known.first_response_at = Some(opened + secs(7));
    known.first_response_by = Some(S1);
    let quiet = closed(
        ticket(Uuid::new_v4(), G, U3, opened),
        closed_at,
        Some(S1),
        None,
    );
    db.import(&[old.clone(), known.clone(), quiet.clone()]);
    put_transcript(&db, &transcript_of(&old));
    put_transcript(&db, &transcript_of(&known));
    let mut only_creator = transcript_of(&quiet);
    only_creator.messages.truncate(1);
    put_transcript(&db, &only_creator);

    let dry = db.run(&["backfill", "--dry-run", "--json"]).ok().json();
    assert_eq!(dry["first_responses"], 1, "{dry}");
    assert_eq!(
        db.get(old.id).unwrap().first_response_at,
        None,
        "a dry run wrote"
    );

    let v = db.run(&["backfill", "--json"]).ok().json();
    assert_eq!(
        (
            &v["transcripts"],
            &v["first_responses"],
            &v["already_known"],
            &v["without_staff_message"]
        ),
        (&json!(3), &json!(1), &json!(1), &json!(1)),
        "{v}"
    );
    let t = db.get(old.id).unwrap();
    assert_eq!(
        (t.first_response_at, t.first_response_by),
        (Some(opened + secs(120)), Some(S1))
    );
    let k = db.get(known.id).unwrap();
    assert_eq!(k.first_response_at, Some(opened + secs(7)), "kept");
    assert!(db
        .history(old.id)
        .iter()
        .any(|e| e.kind == EventKind::FirstResponse));
    // Again: nothing new.
    let again = db.run(&["backfill", "--json"]).ok().json();
    assert_eq!(again["first_responses"], 0, "{again}");
    assert_eq!(again["already_known"], 2, "{again}");
    // The people by name.
    let out = db.run(&["inspect", &old.short_id()]).ok();
    assert!(out.stdout.contains("Alice Martin (3000…0001)"), "{out}");
    assert!(out.stdout.contains("bob.support (9000…0001)"), "{out}");
    let out = db.run(&["backfill"]).ok();
    assert!(
        out.stdout
            .starts_with("3 transcripts read: recorded 0 first responses"),
        "{out}"
    );
}

fn transcript_renders_html_json_text(backend: Backend) {
    let db = TestDb::new(backend);
    let t = archived(
        closed(
            ticket(
                uuid("7a7a7a7a-0000-4000-8000-000000000001"),
                G,
                U1,
                at("2025-03-04T05:06:07Z"),
            ),
            at("2025-03-05T00:00:00Z"),
            Some(S1),
            Some("refunded"),
        ),
        at("2025-03-12T00:00:00Z"),
    );
    let other = with_channel(
        ticket(
            uuid("7b7b7b7b-0000-4000-8000-000000000002"),
            G,
            U2,
            at("2025-03-06T00:00:00Z"),
        ),
        chan(2),
    );
    db.import(&[t.clone(), other.clone()]);
    let model = transcript_of(&t);
    put_transcript(&db, &model);

    // HTML (the default) to a file, by short id.
    let out = db.run(&["transcript", "7a7a7a7a", "-o", "out.html"]).ok();
    assert_eq!(out.stdout, "", "nothing on stdout with -o\n{out}");
    assert!(
        out.stderr.contains("(2 messages") && out.stderr.contains("out.html"),
        "{out}"
    );
    let html = std::fs::read_to_string(db.dir().join("out.html")).expect("out.html written");
    assert!(has_escaped(&html), "the message, escaped:\n{html}");
    assert!(!html.contains(HOSTILE), "the raw script is in the page");
    assert!(
        !html.to_ascii_lowercase().contains("<script"),
        "a script tag"
    );
    assert!(html.contains("Content-Security-Policy"), "no CSP");
    assert!(html.contains("Refund issued"), "the second message");
    assert!(html.contains("refund-log.txt"), "the attachment's name");
    assert!(
        html.contains(&base64(ATTACHMENT_BYTES)),
        "the attachment's bytes, inside the page"
    );
    assert!(html.contains(&t.id.to_string()), "the ticket id");

    // HTML on stdout without -o, by channel-less full id too: the same page.
    let out = db.run(&["transcript", &t.id.to_string()]).ok();
    assert_eq!(out.stdout, html, "stdout and -o differ");

    // JSON: the whole model back, attachments included.
    let out = db.run(&["transcript", "7a7a7a7a", "--format", "json"]).ok();
    let v = out.json();
    assert_eq!(v["summary"]["ticket_id"], t.id.to_string());
    assert_eq!(
        v["messages"][0]["content"],
        format!("hello {HOSTILE} world")
    );
    assert_eq!(v["assets"][0]["data"], base64(ATTACHMENT_BYTES));
    let back: tr::Transcript = serde_json::from_str(&out.stdout).expect("the JSON is a transcript");
    assert_eq!(back, model, "JSON does not round-trip");

    // JSON to a file.
    db.run(&["transcript", "7a7a7a7a", "--format", "json", "-o", "t.json"])
        .ok();
    let file = std::fs::read_to_string(db.dir().join("t.json")).unwrap();
    let back: tr::Transcript = serde_json::from_str(&file).expect("t.json is a transcript");
    assert_eq!(back, model);

    // Text: the message lines, unescaped.
    let out = db.run(&["transcript", "7a7a7a7a", "--format", "text"]).ok();
    let msg_lines: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(msg_lines.len(), 2, "{out}");
    assert!(
        msg_lines[0].ends_with(&format!(
            "Alice Martin (@alice, {U1}): hello {HOSTILE} world"
        )),
        "{out}"
    );
    assert!(
        msg_lines[1].contains(&format!("bob.support ({S1}): Refund issued")),
        "{out}"
    );
    assert!(out.stdout.contains("refund-log.txt"), "{out}");
    assert!(
        out.stdout.contains(&format!("Ticket 7a7a7a7a ({})", t.id)),
        "{out}"
    );

    // A bad --format is a usage error.
    db.run(&["transcript", "7a7a7a7a", "--format", "pdf"])
        .code(2);
    // The other ticket has none.
    let out = db.run(&["transcript", "7b7b7b7b"]).code(3);
    assert!(out.stderr.contains("no saved transcript"), "{out}");
}

fn transcript_of_deleted_ticket_and_errors(backend: Backend) {
    let db = TestDb::new(backend);
    let gone = deleted_ticket(&db, G, U1, at("2025-04-02T00:00:00Z"));
    assert_eq!(db.get(gone), None);
    let mut t = ticket(gone, G, U1, at("2025-04-01T00:00:00Z"));
    t.closed_at = Some(at("2025-04-01T00:01:00Z"));
    let model = transcript_of(&t);
    put_transcript(&db, &model);

    // Its full id reaches the transcript although the row is gone.
    let out = db
        .run(&["transcript", &gone.to_string(), "--format", "text"])
        .ok();
    assert!(
        out.stdout.contains(&format!("hello {HOSTILE} world")),
        "{out}"
    );
    let out = db
        .run(&["transcript", &gone.to_string(), "-o", "gone.html"])
        .ok();
    let html = std::fs::read_to_string(db.dir().join("gone.html")).unwrap();
    assert!(has_escaped(&html) && !html.contains(HOSTILE), "{out}");
    // The short id needs the row: not found.
    let short = &gone.to_string()[..8];
    db.run(&["transcript", short]).code(3);

    // A ticket without a transcript: exit 3, said plainly, no file written.
    let bare = closed(
        with_channel(
            ticket(
                uuid("5ca1ab1e-0000-4000-8000-000000000001"),
                G,
                U2,
                at("2025-05-01T00:00:00Z"),
            ),
            chan(1),
        ),
        at("2025-05-02T00:00:00Z"),
        Some(S1),
        None,
    );
    db.import(std::slice::from_ref(&bare));
    let out = db
        .run(&["transcript", "5ca1ab1e", "-o", "none.html"])
        .code(3);
    assert!(
        out.stderr
            .contains(&format!("ticket {} has no saved transcript", bare.id)),
        "{out}"
    );
    assert!(!db.dir().join("none.html").exists(), "a file was written");
    // By channel id, the same.
    db.run(&["transcript", &chan(1).to_string()]).code(3);
    // An unknown full id: no transcript either.
    let out = db.run(&["transcript", &Uuid::new_v4().to_string()]).code(3);
    assert!(out.stderr.contains("no saved transcript"), "{out}");
    // Unknown short id.
    db.run(&["transcript", "deadbeef"]).code(3);

    // Malformed ids: usage errors.
    for bad in [
        "xyz",
        "12",
        "'; DROP TABLE tickets; --",
        "ticket-zzzzzzzz",
        "",
    ] {
        let out = db.run(&["transcript", bad]).code(2);
        assert!(out.stderr.contains("is not a ticket id"), "{out}");
    }
    // No id at all.
    db.run(&["transcript"]).code(2);
}

// ---- archive --------------------------------------------------------------------------------

struct ArchiveScene {
    /// Due in G: closed before the cutoff, with a channel.
    a1: Ticket,
    a2: Ticket,
    /// Due in H.
    h1: Ticket,
    /// Not due: closed after the cutoff, open, archived, closed without a channel.
    late: Ticket,
    open: Ticket,
    done: Ticket,
    chanless: Ticket,
}

impl ArchiveScene {
    const CUTOFF: &'static str = "2025-03-01T00:00:00Z";

    fn new(db: &TestDb) -> Self {
        let closed_at = |id: &str, guild, creator, ch, when: &str| {
            let w = at(when);
            let t = ticket(uuid(id), guild, creator, w - secs(3600));
            closed(with_channel(t, ch), w, Some(S1), None)
        };
        let s = ArchiveScene {
            a1: closed_at(
                "a1a1a1a1-0000-4000-8000-000000000001",
                G,
                U1,
                chan(1),
                "2025-01-10T00:00:00Z",
            ),
            a2: closed_at(
                "a2a2a2a2-0000-4000-8000-000000000002",
                G,
                U2,
                chan(2),
                "2025-02-28T23:59:59.999999Z",
            ),
            h1: closed_at(
                "b1b1b1b1-0000-4000-8000-000000000003",
                H,
                U3,
                chan(3),
                "2025-01-15T12:30:00Z",
            ),
            late: closed_at(
                "c1c1c1c1-0000-4000-8000-000000000004",
                G,
                U1,
                chan(4),
                Self::CUTOFF,
            ),
            open: with_channel(
                ticket(
                    uuid("d1d1d1d1-0000-4000-8000-000000000005"),
                    G,
                    U1,
                    at("2024-12-01T00:00:00Z"),
                ),
                chan(5),
            ),
            done: archived(
                closed_at(
                    "e1e1e1e1-0000-4000-8000-000000000006",
                    G,
                    U2,
                    chan(6),
                    "2025-01-05T00:00:00Z",
                ),
                at("2025-01-06T00:00:00Z"),
            ),
            chanless: {
                let mut t = closed_at(
                    "f1f1f1f1-0000-4000-8000-000000000007",
                    G,
                    U2,
                    chan(7),
                    "2025-01-07T00:00:00Z",
                );
                t.channel_id = None;
                t
            },
        };
        db.import(&s.all());
        for t in s.all() {
            assert_eq!(db.get(t.id).as_ref(), Some(&t), "imported verbatim");
        }
        s
    }

    fn all(&self) -> Vec<Ticket> {
        vec![
            self.a1.clone(),
            self.a2.clone(),
            self.h1.clone(),
            self.late.clone(),
            self.open.clone(),
            self.done.clone(),
            self.chanless.clone(),
        ]
    }
}

fn archive_marks_exactly_the_due_tickets(backend: Backend) {
    let db = TestDb::new(backend);
    let s = ArchiveScene::new(&db);
    let before = db.export();

    // Dry run: counted and listed, oldest close first; nothing changes.
    let out = db
        .run(&[
            "archive",
            "--closed-before",
            ArchiveScene::CUTOFF,
            "--dry-run",
        ])
        .ok();
    assert!(
        out.stdout.starts_with("would archive 3 closed tickets"),
        "{out}"
    );
    assert_eq!(
        listed(&out),
        [s.a1.short_id(), s.h1.short_id(), s.a2.short_id()],
        "{out}"
    );
    assert!(
        out.stdout.contains(&format!(
            "  {}  closed 2025-01-15 12:30  creator {U3}",
            s.h1.short_id()
        )),
        "{out}"
    );
    let v = db
        .run(&[
            "archive",
            "--closed-before",
            ArchiveScene::CUTOFF,
            "--dry-run",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(
        v,
        json!({"dry_run": true, "tickets": 3, "bot_running": false})
    );
    // Only guild G; a date as the cutoff (midnight UTC).
    let out = db
        .run(&[
            "archive",
            "--closed-before",
            "2025-03-01",
            "--guild",
            &G.to_string(),
            "--dry-run",
        ])
        .ok();
    assert_eq!(listed(&out), [s.a1.short_id(), s.a2.short_id()], "{out}");
    // An age: everything closed before a day ago (all of them, the cutoff is long past).
    let v = db
        .run(&["archive", "--closed-before", "1d", "--dry-run", "--json"])
        .ok()
        .json();
    assert_eq!(v["tickets"], 4, "{v}");
    // A cutoff before every close: none.
    let out = db
        .run(&["archive", "--closed-before", "2024-01-01", "--dry-run"])
        .ok();
    assert!(
        out.stdout.starts_with("would archive 0 closed tickets"),
        "{out}"
    );
    assert_eq!(listed(&out), Vec::<String>::new(), "{out}");
    assert_eq!(db.export(), before, "a dry run changed the database");

    // For real, guild G only, as JSON.
    let t0 = now();
    let out = db
        .run(&[
            "archive",
            "--closed-before",
            ArchiveScene::CUTOFF,
            "--guild",
            &G.to_string(),
            "--json",
        ])
        .ok();
    let t1 = now();
    assert_eq!(
        out.json(),
        json!({"dry_run": false, "tickets": 2, "bot_running": false})
    );
    for t in [&s.a1, &s.a2] {
        let got = db.get(t.id).unwrap();
        let req = got
            .archive_requested_at
            .unwrap_or_else(|| panic!("{} not requested: {got:?}", t.short_id()));
        assert!(t0 <= req && req <= t1, "requested at {req}, ran {t0}..{t1}");
        assert!(got.updated_at >= t0, "updated_at not bumped: {got:?}");
        // Nothing else of the ticket changes: the bot archives it.
        let mut expected = t.clone();
        expected.archive_requested_at = got.archive_requested_at;
        expected.updated_at = got.updated_at;
        assert_eq!(got, expected);
    }
    for t in [&s.h1, &s.late, &s.open, &s.done, &s.chanless] {
        assert_eq!(db.get(t.id).as_ref(), Some(t), "{} changed", t.short_id());
    }

    // Now every guild, as text: only H's is left; no bot runs, and it says so.
    let out = db
        .run(&["archive", "--closed-before", ArchiveScene::CUTOFF])
        .ok();
    assert!(
        out.stdout
            .starts_with("asked the bot to archive 1 closed tickets"),
        "{out}"
    );
    assert!(out.stderr.contains("no bot is running"), "{out}");
    assert!(db.get(s.h1.id).unwrap().archive_requested_at.is_some());
    for t in [&s.late, &s.open, &s.done, &s.chanless] {
        assert_eq!(db.get(t.id).as_ref(), Some(t), "{} changed", t.short_id());
    }

    // Again, with a bot running: nothing left to ask, no note.
    beat(&db);
    let out = db
        .run(&["archive", "--closed-before", ArchiveScene::CUTOFF])
        .ok();
    assert!(
        out.stdout
            .starts_with("asked the bot to archive 0 closed tickets"),
        "{out}"
    );
    assert!(!out.stderr.contains("no bot"), "{out}");
    let v = db
        .run(&["archive", "--closed-before", "1d", "--json"])
        .ok()
        .json();
    assert_eq!(
        v,
        json!({"dry_run": false, "tickets": 1, "bot_running": true}),
        "only the late one was left"
    );
    assert!(db.get(s.late.id).unwrap().archive_requested_at.is_some());
    for t in [&s.open, &s.done, &s.chanless] {
        assert_eq!(db.get(t.id).as_ref(), Some(t), "{} changed", t.short_id());
    }
}

fn archive_wait_returns_when_the_bot_is_done(backend: Backend) {
    let db = TestDb::new(backend);
    let s = ArchiveScene::new(&db);
    beat(&db);
    let store = db.store();

    let g = G.to_string();
    let mut child = spawn(
        &db,
        &[
            "archive",
            "--closed-before",
            ArchiveScene::CUTOFF,
            "--guild",
            &g,
            "--wait",
            "--json",
        ],
    );

    // The "bot": sees the requests, archives one, then (while ticketctl still waits) the other.
    let start = Instant::now();
    while db.get(s.a2.id).unwrap().archive_requested_at.is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the archive was never requested"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "ticketctl exited before the bot archived anything"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let archive = |t: &Ticket| {
        db.block_on(async { store.mark_archived(t.id, None, now()).await })
            .unwrap_or_else(|e| panic!("mark_archived {}: {e}", t.short_id()));
    };
    archive(&s.a1);
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        child.try_wait().unwrap().is_none(),
        "ticketctl stopped waiting with one ticket left"
    );
    archive(&s.a2);
    let (code, stdout, stderr) = wait_child(child, Duration::from_secs(60));
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(
        v,
        json!({"dry_run": false, "tickets": 2, "bot_running": true, "still_waiting": 0})
    );
    assert!(
        !stderr.contains("waiting for the bot"),
        "--json waits quietly: {stderr}"
    );
    for t in [&s.a1, &s.a2] {
        let got = db.get(t.id).unwrap();
        assert!(
            got.archived_at.is_some() && got.channel_id.is_none(),
            "{got:?}"
        );
        assert_eq!(got.archive_requested_at, None);
    }
    // H's was not asked for.
    assert_eq!(db.get(s.h1.id).as_ref(), Some(&s.h1));

    // As text, without a bot: it says so before it waits, then waits all the same.
    db.block_on(async { store.remove_heartbeat("bot-test").await.unwrap() });
    let mut child = spawn(
        &db,
        &["archive", "--closed-before", ArchiveScene::CUTOFF, "--wait"],
    );
    let start = Instant::now();
    while db.get(s.h1.id).unwrap().archive_requested_at.is_none() {
        assert!(start.elapsed() < Duration::from_secs(60), "never requested");
        assert!(
            child.try_wait().unwrap().is_none(),
            "ticketctl exited early"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        child.try_wait().unwrap().is_none(),
        "ticketctl stopped waiting with the ticket left"
    );
    archive(&s.h1);
    let (code, stdout, stderr) = wait_child(child, Duration::from_secs(60));
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(
        stdout, "asked the bot to archive 1 closed tickets\nall archived\n",
        "stderr: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    let note = lines.iter().position(|l| l.contains("no bot is running"));
    let waiting = lines
        .iter()
        .position(|l| *l == "waiting for the bot: 1 left");
    assert!(
        matches!((note, waiting), (Some(n), Some(w)) if n < w),
        "the note must come before the waiting: {stderr}"
    );

    // Nothing due: --wait returns at once, as text.
    let out = db
        .run(&[
            "archive",
            "--closed-before",
            ArchiveScene::CUTOFF,
            "--guild",
            &G.to_string(),
            "--wait",
        ])
        .ok();
    assert!(
        out.stdout
            .starts_with("asked the bot to archive 0 closed tickets"),
        "{out}"
    );
}

fn archive_dry_run_lists_at_most_twenty(backend: Backend) {
    let db = TestDb::new(backend);
    let base = at("2025-01-01T00:00:00Z");
    let tickets: Vec<Ticket> = (0..23u64)
        .map(|i| {
            let t = ticket(Uuid::new_v4(), G, U1 + i, base + secs(i as i64 * 60));
            // Closed in reverse order of creation: the listing follows the close.
            let c = base + secs(86_400 - i as i64 * 3600);
            closed(with_channel(t, chan(100 + i)), c, Some(S1), None)
        })
        .collect();
    db.import(&tickets);
    let out = db
        .run(&["archive", "--closed-before", "2025-02-01", "--dry-run"])
        .ok();
    assert!(
        out.stdout.starts_with("would archive 23 closed tickets"),
        "{out}"
    );
    let mut by_close: Vec<&Ticket> = tickets.iter().collect();
    by_close.sort_by_key(|t| t.closed_at);
    let expected: Vec<String> = by_close[..20].iter().map(|t| t.short_id()).collect();
    assert_eq!(listed(&out), expected, "{out}");
    assert!(out.stdout.ends_with("  ... and 3 more\n"), "{out}");
}

fn archive_usage_errors(backend: Backend) {
    let db = TestDb::new(backend);
    let s = ArchiveScene::new(&db);
    let before = db.export();
    for bad in ["yesterday", "7x", "", "2025-13-01", "-"] {
        let out = db.run(&["archive", "--closed-before", bad]).code(2);
        assert!(out.stderr.contains("--closed-before"), "{out}");
    }
    db.run(&["archive"]).code(2);
    db.run(&["archive", "--dry-run"]).code(2);
    db.run(&["archive", "--closed-before", "7d", "--guild", "abc"])
        .code(2);
    db.run(&["archive", "--closed-before", "7d", "--guild", "-1"])
        .code(2);
    assert_eq!(db.export(), before);
    assert_eq!(db.get(s.a1.id).as_ref(), Some(&s.a1));
}

// ---- purge ----------------------------------------------------------------------------------

struct PurgeScene {
    /// Purged by `--closed-before 2025-01-01`.
    old1: Ticket,
    old2: Ticket,
    old_h: Ticket,
    deleted_old: Uuid,
    /// Kept: closed later, still with a channel (reported), open, deleted later.
    new: Ticket,
    with_channel: Ticket,
    open: Ticket,
    deleted_new: Uuid,
}

impl PurgeScene {
    const CUTOFF: &'static str = "2025-01-01";

    fn new(db: &TestDb) -> Self {
        let closed_at = |guild, creator, when: &str| {
            let w = at(when);
            closed(
                ticket(Uuid::new_v4(), guild, creator, w - secs(7200)),
                w,
                Some(S1),
                None,
            )
        };
        let s = PurgeScene {
            old1: archived(
                with_channel(closed_at(G, U1, "2024-01-10T00:00:00Z"), chan(1)),
                at("2024-01-11T00:00:00Z"),
            ),
            old2: closed_at(G, U2, "2024-12-31T23:59:59.999999Z"),
            old_h: closed_at(H, U1, "2024-06-01T00:00:00Z"),
            deleted_old: deleted_ticket(db, G, U3, at("2024-04-01T00:00:00Z")),
            new: archived(
                closed_at(G, U1, "2025-01-01T00:00:00Z"),
                at("2025-01-02T00:00:00Z"),
            ),
            with_channel: with_channel(closed_at(G, U2, "2024-03-01T00:00:00Z"), chan(10)),
            open: ticket(Uuid::new_v4(), G, U1, at("2023-12-01T00:00:00Z")),
            deleted_new: deleted_ticket(db, G, U3, at("2025-05-01T00:00:00Z")),
        };
        let tickets = s.tickets();
        db.import(&tickets);
        let events: Vec<TicketEvent> = tickets.iter().flat_map(events_of).collect();
        db.import_events(&events);
        for t in [&s.old1, &s.old2, &s.new, &s.with_channel] {
            put_transcript(db, &transcript_of(t));
        }
        for id in [s.deleted_old, s.deleted_new] {
            let mut t = ticket(id, G, U3, at("2024-03-01T00:00:00Z"));
            t.closed_at = Some(at("2024-03-02T00:00:00Z"));
            put_transcript(db, &transcript_of(&t));
        }
        s
    }

    fn tickets(&self) -> Vec<Ticket> {
        vec![
            self.old1.clone(),
            self.old2.clone(),
            self.old_h.clone(),
            self.new.clone(),
            self.with_channel.clone(),
            self.open.clone(),
        ]
    }
}

/// The `purged` audit events, as (guild, details).
fn purged_events(db: &TestDb) -> Vec<(u64, Value)> {
    db.history(Uuid::nil())
        .into_iter()
        .map(|e| {
            assert_eq!(e.kind, EventKind::Purged, "{e:?}");
            assert_eq!(e.actor_id, None);
            let d: Value = serde_json::from_str(e.details.as_deref().expect("details"))
                .expect("details are JSON");
            (e.guild_id, d)
        })
        .collect()
}

fn purge_by_age(backend: Backend) {
    let db = TestDb::new(backend);
    let s = PurgeScene::new(&db);
    let events_gone: usize = [s.old1.id, s.old2.id, s.old_h.id, s.deleted_old]
        .iter()
        .map(|id| db.history(*id).len())
        .sum();
    // opened+closed+archived, opened+closed twice, opened+closed+deleted.
    assert_eq!(events_gone, 10);
    let before = db.export();
    let counts_before = db.counts();

    // Dry runs: counts only.
    let v = db
        .run(&[
            "purge",
            "--closed-before",
            PurgeScene::CUTOFF,
            "--dry-run",
            "--json",
        ])
        .ok()
        .json();
    let expected = json!({
        "tickets": 3,
        "deleted_histories": 1,
        "events": 10,
        "transcripts": 3,
        "skipped_with_channel": 1,
    });
    let mut dry = expected.clone();
    dry["dry_run"] = json!(true);
    assert_eq!(v, dry);
    let out = db
        .run(&["purge", "--closed-before", PurgeScene::CUTOFF, "--dry-run"])
        .ok();
    assert_eq!(
        out.stdout,
        "would purge 3 tickets and the history of 1 deleted tickets (10 history events, 3 transcripts)\n"
    );
    assert!(
        out.stderr
            .contains("1 matching closed tickets still have a Discord channel"),
        "{out}"
    );
    let v = db
        .run(&[
            "purge",
            "--closed-before",
            PurgeScene::CUTOFF,
            "--guild",
            &H.to_string(),
            "--dry-run",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(
        v,
        json!({"dry_run": true, "tickets": 1, "deleted_histories": 0, "events": 2,
               "transcripts": 0, "skipped_with_channel": 0})
    );
    assert_eq!(db.export(), before, "a dry run changed the database");

    // Without --yes, stdin not a terminal (even with a "y" on it): refused, nothing removed.
    let mut cmd = db.cmd();
    cmd.write_stdin("y\n");
    let out = run(cmd, &["purge", "--closed-before", PurgeScene::CUTOFF]).code(2);
    assert!(out.stderr.contains("--yes"), "{out}");
    assert!(out.stderr.contains("3 tickets"), "{out}");
    assert_eq!(db.export(), before, "purged without --yes");
    assert_eq!(db.counts(), counts_before);
    assert!(has_transcript(&db, s.old1.id));

    // With --yes.
    let out = db
        .run(&[
            "purge",
            "--closed-before",
            PurgeScene::CUTOFF,
            "--yes",
            "--json",
        ])
        .ok();
    let mut done = expected.clone();
    done["dry_run"] = json!(false);
    assert_eq!(out.json(), done);
    assert!(out.stderr.contains("audit: purged 3 tickets"), "{out}");

    for id in [s.old1.id, s.old2.id, s.old_h.id] {
        assert_eq!(db.get(id), None, "{id} not purged");
    }
    for id in [s.old1.id, s.old2.id, s.old_h.id, s.deleted_old] {
        assert_eq!(db.history(id), vec![], "history of {id} left");
        assert!(!has_transcript(&db, id), "transcript of {id} left");
    }
    for t in [&s.new, &s.with_channel, &s.open] {
        assert_eq!(db.get(t.id).as_ref(), Some(t), "{} changed", t.short_id());
        assert_eq!(
            gist(&db.history(t.id)),
            gist(&events_of(t)),
            "{} history",
            t.short_id()
        );
    }
    for id in [s.new.id, s.with_channel.id, s.deleted_new] {
        assert!(has_transcript(&db, id), "transcript of {id} removed");
    }
    let kinds: Vec<EventKind> = db.history(s.deleted_new).iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::Opened, EventKind::Closed, EventKind::Deleted]
    );
    let after = db.counts();
    assert_eq!(after.tickets, counts_before.tickets - 3);
    assert_eq!(after.transcripts, counts_before.transcripts - 3);
    // 10 removed, one `purged` event per guild touched added.
    assert_eq!(after.events, counts_before.events - 10 + 2);

    // The audit entries: one per guild, with the query and that guild's counts.
    let mut audit = purged_events(&db);
    audit.sort_by_key(|(g, _)| *g);
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[0].0, H);
    assert_eq!(audit[1].0, G);
    assert_eq!(audit[0].1["counts"]["tickets"], 1, "{audit:?}");
    assert_eq!(audit[0].1["counts"]["events"], 2, "{audit:?}");
    assert_eq!(audit[1].1["counts"]["tickets"], 2, "{audit:?}");
    assert_eq!(audit[1].1["counts"]["deleted_histories"], 1, "{audit:?}");
    assert_eq!(audit[1].1["counts"]["events"], 8, "{audit:?}");
    assert_eq!(audit[1].1["counts"]["transcripts"], 3, "{audit:?}");
    assert_eq!(audit[1].1["query"]["user_id"], Value::Null, "{audit:?}");
    assert!(
        audit[1].1["query"]["closed_before"]
            .as_str()
            .is_some_and(|c| c.starts_with("2025-01-01T00:00:00")),
        "{audit:?}"
    );

    // Again: nothing left, no new audit entry; the one with a channel is still reported.
    let out = db
        .run(&["purge", "--closed-before", PurgeScene::CUTOFF, "--yes"])
        .ok();
    assert_eq!(out.stdout, "nothing to purge\n", "{out}");
    assert!(out.stderr.contains("1 matching closed tickets"), "{out}");
    assert_eq!(purged_events(&db).len(), 2);
}

fn purge_by_user(backend: Backend) {
    let db = TestDb::new(backend);
    let closed_at = |guild, creator, when: &str| {
        let w = at(when);
        closed(
            ticket(Uuid::new_v4(), guild, creator, w - secs(60)),
            w,
            Some(S1),
            None,
        )
    };
    let mine_g = closed_at(G, U1, "2025-06-01T00:00:00Z");
    let mine_h = closed_at(H, U1, "2024-06-01T00:00:00Z");
    let mine_open = ticket(Uuid::new_v4(), G, U1, at("2024-01-01T00:00:00Z"));
    let mine_chan = with_channel(closed_at(G, U1, "2024-02-01T00:00:00Z"), chan(1));
    let theirs = closed_at(G, U2, "2024-03-01T00:00:00Z");
    let tickets = [
        mine_g.clone(),
        mine_h.clone(),
        mine_open.clone(),
        mine_chan.clone(),
        theirs.clone(),
    ];
    db.import(&tickets);
    db.import_events(&tickets.iter().flat_map(events_of).collect::<Vec<_>>());
    let mine_deleted = deleted_ticket(&db, G, U1, at("2025-07-01T00:00:00Z"));
    let their_deleted = deleted_ticket(&db, G, U2, at("2024-07-01T00:00:00Z"));
    for t in [&mine_g, &mine_h, &theirs] {
        put_transcript(&db, &transcript_of(t));
    }
    let before = db.export();

    // One guild, dry run.
    let v = db
        .run(&[
            "purge",
            "--user",
            &U1.to_string(),
            "--guild",
            &G.to_string(),
            "--dry-run",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(
        v,
        json!({"dry_run": true, "tickets": 1, "deleted_histories": 1, "events": 5,
               "transcripts": 1, "skipped_with_channel": 1})
    );
    assert_eq!(db.export(), before);

    // Every guild, for real, as text.
    let out = db.run(&["purge", "--user", &U1.to_string(), "-y"]).ok();
    assert_eq!(
        out.stdout,
        "purged 2 tickets and the history of 1 deleted tickets (7 history events, 2 transcripts)\n",
        "{out}"
    );
    assert!(out.stderr.contains("1 matching closed tickets"), "{out}");
    assert!(out.stderr.contains("audit: purged"), "{out}");
    for id in [mine_g.id, mine_h.id, mine_deleted] {
        assert_eq!(db.get(id), None);
        assert_eq!(db.history(id), vec![], "history of {id} left");
        assert!(!has_transcript(&db, id));
    }
    for t in [&mine_open, &mine_chan, &theirs] {
        assert_eq!(db.get(t.id).as_ref(), Some(t));
        assert_eq!(gist(&db.history(t.id)), gist(&events_of(t)));
    }
    assert!(has_transcript(&db, theirs.id));
    assert_eq!(db.history(their_deleted).len(), 3);
    let audit = purged_events(&db);
    assert_eq!(audit.len(), 2, "one per guild: {audit:?}");
    for (_, d) in &audit {
        assert_eq!(d["query"]["user_id"], json!(U1), "{d}");
    }

    // The user's tickets combined with a time: only older ones (none left but the open one).
    let v = db
        .run(&[
            "purge",
            "--user",
            &U2.to_string(),
            "--closed-before",
            "2024-03-01",
            "--dry-run",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(v["tickets"], 0, "closed exactly at the cutoff is kept: {v}");
    assert_eq!(v["deleted_histories"], 0, "{v}");
}

fn purge_usage_errors(backend: Backend) {
    let db = TestDb::new(backend);
    let s = PurgeScene::new(&db);
    let before = db.export();
    // Neither --closed-before nor --user.
    let out = db.run(&["purge", "--yes"]).code(2);
    assert!(
        out.stderr.contains("--closed-before") || out.stderr.contains("--user"),
        "{out}"
    );
    db.run(&["purge", "--dry-run", "--json"]).code(2);
    db.run(&["purge", "--guild", &G.to_string(), "--yes"])
        .code(2);
    for bad in ["yesterday", "", "365"] {
        let out = db.run(&["purge", "--closed-before", bad, "--yes"]).code(2);
        assert!(out.stderr.contains("--closed-before"), "{out}");
    }
    db.run(&["purge", "--user", "alice", "--yes"]).code(2);
    db.run(&["purge", "--user", "-5", "--yes"]).code(2);
    assert_eq!(db.export(), before, "a refused purge changed the database");
    assert!(has_transcript(&db, s.old1.id));
}
