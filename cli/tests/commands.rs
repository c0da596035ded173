//! `list`, `inspect`, `force-close`, `stats` and `status` against every backend: the tables for
//! people, the `--json` contract for scripts (exact values, ids as strings, RFC 3339 UTC), and
//! every error path with its exit code.

#[macro_use]
mod support;

use serde_json::{json, Value};
use ticketbot_common::rules::Transition;
use ticketbot_common::store::{Backend, CreateOutcome, Heartbeat};
use ticketbot_common::ticket::{Ticket, TicketStatus};
use ticketbot_common::EventKind;
use uuid::Uuid;

use support::*;

const G: u64 = 1_234_567_890_123_456_789;
const H: u64 = 987_654_321_098_765_432;
const U1: u64 = 300_000_000_000_000_001;
const U2: u64 = 300_000_000_000_000_002;
const U3: u64 = 300_000_000_000_000_003;
/// The largest snowflake the type allows: above 2^63, so every backend's signed storage and
/// every JSON consumer's doubles are tested.
const BIG: u64 = u64::MAX;
const S1: u64 = 900_000_000_000_000_001;
const S2: u64 = 900_000_000_000_000_002;

const fn chan(n: u64) -> u64 {
    1_300_000_000_000_000_000 + n
}

for_each_backend!(
    list_json_and_table,
    list_pagination,
    list_filters,
    inspect_every_form,
    inspect_ambiguous_prefix,
    inspect_deleted_ticket,
    inspect_not_found_and_malformed,
    inspect_imported_claim,
    force_close_and_idempotence,
    stats_values,
    stats_empty_database,
    stats_html_report,
    status_and_bot_detection,
    usage_errors_exit_2,
    odd_input_never_panics,
    read_commands_on_a_missing_database_create_nothing,
);

fn list_json_and_table(backend: Backend) {
    let db = TestDb::new(backend);
    let n = now();
    let a = with_channel(
        ticket(
            uuid("aaaaaaaa-0000-4000-8000-000000000001"),
            G,
            U1,
            n - secs(2 * 86_400 + 5 * 3600 + 10 * 60),
        ),
        chan(1),
    );
    let b = closed(
        claimed(
            with_channel(
                ticket(
                    uuid("bbbbbbbb-0000-4000-8000-000000000002"),
                    G,
                    BIG,
                    at("2025-03-04T05:06:07.123456Z"),
                ),
                chan(2),
            ),
            S1,
            at("2025-03-04T05:16:07.5Z"),
        ),
        at("2025-03-05T00:00:00Z"),
        Some(S1),
        Some("fixed — \"quoted\", ünïcode ✅"),
    );
    let c = claimed(
        ticket(
            uuid("cccccccc-0000-4000-8000-000000000003"),
            H,
            U2,
            at("2024-12-31T23:59:59.999999Z"),
        ),
        S2,
        at("2025-01-01T00:00:00.000001Z"),
    );
    db.import(&[a.clone(), b.clone(), c.clone()]);

    let out = db.run(&["list", "--json"]).ok();
    assert!(out.next_cursor().is_none(), "one page only\n{out}");
    let v = out.json();
    assert_eq!(ids_of(&v), id_strings(&[&a, &b, &c]), "newest first\n{out}");
    for (got, t) in v.as_array().unwrap().iter().zip([&a, &b, &c]) {
        assert_fields(got, &ticket_json(t));
    }
    // The contract's values, literally.
    assert_eq!(v[1]["id"], "bbbbbbbb-0000-4000-8000-000000000002");
    assert_eq!(v[1]["short_id"], "bbbbbbbb");
    assert_eq!(v[1]["guild_id"], "1234567890123456789");
    assert_eq!(v[1]["creator_id"], "18446744073709551615");
    assert_eq!(v[1]["claimed_by"], "900000000000000001");
    assert_eq!(v[1]["channel_id"], "1300000000000000002");
    assert_eq!(v[1]["status"], "closed");
    assert_eq!(v[1]["created_at"], "2025-03-04T05:06:07.123456Z");
    assert_eq!(v[1]["closed_at"], "2025-03-05T00:00:00.000000Z");
    assert_eq!(v[1]["close_reason"], "fixed — \"quoted\", ünïcode ✅");
    assert_eq!(v[0]["status"], "open");
    assert_eq!(v[0]["claimed_by"], Value::Null);
    assert_eq!(v[0]["closed_at"], Value::Null);
    assert_eq!(v[2]["guild_id"], "987654321098765432");
    assert_eq!(v[2]["channel_id"], Value::Null);
    assert_eq!(v[2]["created_at"], "2024-12-31T23:59:59.999999Z");
    for t in v.as_array().unwrap() {
        for k in ["created_at", "updated_at"] {
            assert!(is_rfc3339_utc(t[k].as_str().unwrap()), "{k}: {t}");
        }
        for k in ["id", "short_id", "guild_id", "creator_id"] {
            assert!(t[k].is_string(), "{k} must be a string: {t}");
        }
    }

    let out = db.run(&["list"]).ok();
    let rows = out.table_rows();
    assert_eq!(rows.len(), 4, "header and three tickets\n{out}");
    assert_eq!(
        rows[0],
        [
            "short id",
            "status",
            "creator",
            "claimed by",
            "channel",
            "age"
        ],
        "{out}"
    );
    assert_eq!(
        rows[1],
        [
            "aaaaaaaa",
            "open",
            "300000000000000001",
            "-",
            "1300000000000000001",
            "2d 5h"
        ],
        "{out}"
    );
    assert_eq!(
        rows[2][..5],
        [
            "bbbbbbbb",
            "closed",
            "18446744073709551615",
            "900000000000000001",
            "1300000000000000002"
        ],
        "{out}"
    );
    assert_eq!(
        rows[3][..5],
        [
            "cccccccc",
            "open",
            "300000000000000002",
            "900000000000000002",
            "-"
        ],
        "{out}"
    );
    for row in &rows[2..] {
        let age = &row[5];
        let (d, h) = age
            .split_once("d ")
            .unwrap_or_else(|| panic!("age {age:?}\n{out}"));
        assert!(d.parse::<u32>().unwrap() > 200, "age {age:?}");
        assert!(h.strip_suffix('h').unwrap().parse::<u32>().unwrap() < 24);
    }
}

fn list_pagination(backend: Backend) {
    let db = TestDb::new(backend);
    let base = at("2025-05-01T00:00:00Z");
    // Three tickets share each creation time, so the keyset's id tie-break is exercised.
    let tickets: Vec<Ticket> = (0..120u64)
        .map(|i| {
            let t = ticket(
                Uuid::new_v4(),
                G,
                U1 + i % 7,
                base + secs(i as i64 / 3 * 60),
            );
            if i % 2 == 0 {
                closed(t.clone(), t.created_at + secs(30), Some(S1), None)
            } else {
                t
            }
        })
        .collect();
    db.import(&tickets);
    let mut expected = tickets.clone();
    // Newest first; among equal times, the greater id (as text) first.
    expected.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id.to_string())));
    let expected_ids: Vec<String> = expected.iter().map(|t| t.id.to_string()).collect();
    let open_ids: Vec<String> = expected
        .iter()
        .filter(|t| t.status == TicketStatus::Open)
        .map(|t| t.id.to_string())
        .collect();
    assert_eq!(open_ids.len(), 60);

    let pages = |extra: &[&str]| -> (Vec<usize>, Vec<String>) {
        let mut sizes = Vec::new();
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut args = vec!["list", "--json"];
            args.extend_from_slice(extra);
            if let Some(c) = &after {
                args.extend(["--after", c.as_str()]);
            }
            let out = db.run(&args).ok();
            let ids = ids_of(&out.json());
            sizes.push(ids.len());
            all.extend(ids);
            after = out.next_cursor();
            if after.is_none() {
                return (sizes, all);
            }
            assert!(sizes.len() < 10, "pagination does not end\n{out}");
        }
    };

    let (sizes, all) = pages(&[]);
    assert_eq!(sizes, [50, 50, 20], "default limit is 50");
    assert_eq!(
        all, expected_ids,
        "three pages, newest first, no duplicates"
    );

    let (sizes, all) = pages(&["--limit", "50"]);
    assert_eq!(sizes, [50, 50, 20]);
    assert_eq!(all, expected_ids);

    // A total that is a multiple of the page size: the last full page says there is no more.
    let (sizes, all) = pages(&["--limit", "40"]);
    assert_eq!(sizes, [40, 40, 40]);
    assert_eq!(all, expected_ids);

    let (sizes, all) = pages(&["--status", "open", "--limit", "25"]);
    assert_eq!(sizes, [25, 25, 10]);
    assert_eq!(all, open_ids);

    // The table's cursor is the JSON's cursor.
    let json_page = db.run(&["list", "--json", "--limit", "50"]).ok();
    let table_page = db.run(&["list", "--limit", "50"]).ok();
    assert_eq!(json_page.next_cursor(), table_page.next_cursor());
    assert_eq!(table_page.table_rows().len(), 51, "{table_page}");
}

fn list_filters(backend: Backend) {
    let db = TestDb::new(backend);
    let t1 = ticket(
        uuid("10000000-0000-4000-8000-000000000001"),
        G,
        U1,
        at("2025-01-10T10:00:00Z"),
    );
    let t2 = claimed(
        ticket(
            uuid("20000000-0000-4000-8000-000000000002"),
            G,
            U2,
            at("2025-01-11T10:00:00Z"),
        ),
        S1,
        at("2025-01-11T10:05:00Z"),
    );
    let t3 = closed(
        claimed(
            ticket(
                uuid("30000000-0000-4000-8000-000000000003"),
                G,
                U1,
                at("2025-01-12T10:00:00Z"),
            ),
            S1,
            at("2025-01-12T10:30:00Z"),
        ),
        at("2025-01-12T12:00:00Z"),
        Some(S1),
        None,
    );
    let t4 = closed(
        ticket(
            uuid("40000000-0000-4000-8000-000000000004"),
            G,
            U2,
            at("2025-01-13T00:00:00Z"),
        ),
        at("2025-01-13T01:00:00Z"),
        Some(S2),
        None,
    );
    let t5 = claimed(
        ticket(
            uuid("50000000-0000-4000-8000-000000000005"),
            H,
            U1,
            at("2025-01-14T10:00:00Z"),
        ),
        S2,
        at("2025-01-14T10:01:00Z"),
    );
    let t6 = closed(
        claimed(
            ticket(
                uuid("60000000-0000-4000-8000-000000000006"),
                H,
                U3,
                at("2025-01-15T23:59:59.999999Z"),
            ),
            S1,
            at("2025-01-16T00:00:00Z"),
        ),
        at("2025-01-16T01:00:00Z"),
        Some(S1),
        None,
    );
    db.import(&[
        t1.clone(),
        t2.clone(),
        t3.clone(),
        t4.clone(),
        t5.clone(),
        t6.clone(),
    ]);
    let g = G.to_string();
    let h = H.to_string();
    let u1 = U1.to_string();
    let s1 = S1.to_string();
    let cases: Vec<(Vec<&str>, Vec<&Ticket>)> = vec![
        (vec![], vec![&t6, &t5, &t4, &t3, &t2, &t1]),
        (vec!["--status", "all"], vec![&t6, &t5, &t4, &t3, &t2, &t1]),
        (vec!["--status", "open"], vec![&t5, &t2, &t1]),
        (vec!["--status", "closed"], vec![&t6, &t4, &t3]),
        (vec!["--guild", &g], vec![&t4, &t3, &t2, &t1]),
        (vec!["--guild", &h, "--status", "closed"], vec![&t6]),
        (vec!["--creator", &u1], vec![&t5, &t3, &t1]),
        (vec!["--claimed-by", &s1], vec![&t6, &t3, &t2]),
        (vec!["--unclaimed"], vec![&t4, &t1]),
        (
            vec!["--unclaimed", "--guild", &g, "--status", "open"],
            vec![&t1],
        ),
        (vec!["--creator", &u1, "--status", "closed"], vec![&t3]),
        // A date is midnight UTC; --since is inclusive, --until exclusive.
        (vec!["--since", "2025-01-13"], vec![&t6, &t5, &t4]),
        (vec!["--until", "2025-01-13"], vec![&t3, &t2, &t1]),
        (
            vec![
                "--since",
                "2025-01-11T10:00:00Z",
                "--until",
                "2025-01-14T10:00:00Z",
            ],
            vec![&t4, &t3, &t2],
        ),
        (vec!["--since", "2025-01-15T23:59:59.999999Z"], vec![&t6]),
        (
            vec!["--until", "2025-01-15T23:59:59.999999Z"],
            vec![&t5, &t4, &t3, &t2, &t1],
        ),
        (
            vec!["--since", "2025-01-12T11:00:00+01:00"],
            vec![&t6, &t5, &t4, &t3],
        ),
        (
            vec!["--since", "2025-01-12 10:00"],
            vec![&t6, &t5, &t4, &t3],
        ),
        (
            vec!["--since", "36500d"],
            vec![&t6, &t5, &t4, &t3, &t2, &t1],
        ),
        (vec!["--since", "1d"], vec![]),
        (vec!["--creator", "999"], vec![]),
        (vec!["--limit", "2"], vec![&t6, &t5]),
    ];
    for (args, expected) in cases {
        let mut all = vec!["list", "--json"];
        all.extend(&args);
        let out = db.run(&all).ok();
        assert_eq!(
            ids_of(&out.json()),
            id_strings(&expected),
            "list {args:?}\n{out}"
        );
    }

    // Nothing matches: an empty array for scripts, a note on stderr for people; both succeed.
    let out = db.run(&["list", "--json", "--guild", "42"]).ok();
    assert_eq!(out.json(), json!([]));
    let out = db.run(&["list", "--guild", "42"]).ok();
    assert_eq!(out.stdout.trim(), "", "{out}");
    assert!(out.stderr.contains("no tickets match"), "{out}");

    // --claimed-by and --unclaimed contradict each other.
    db.run(&["list", "--claimed-by", &s1, "--unclaimed"])
        .code(2);
}

/// A ticket taken through its whole life by the library, as the bot would.
fn lifecycle(db: &TestDb) -> (Ticket, chrono::DateTime<chrono::Utc>) {
    let store = db.store();
    let t0 = at("2025-06-01T10:00:00.123456Z");
    let t = db.block_on(async {
        let CreateOutcome::Created(t) = store.create_ticket(G, U1, 3, t0).await.unwrap() else {
            panic!("create_ticket refused")
        };
        store.set_channel(t.id, Some(chan(7))).await.unwrap();
        store
            .transition(
                t.id,
                &Transition::Claim {
                    by: S1,
                    at: t0 + secs(300),
                },
            )
            .await
            .unwrap();
        store
            .add_participant(t.id, U2, S1, t0 + secs(360))
            .await
            .unwrap();
        store
            .transition(
                t.id,
                &Transition::Close {
                    by: Some(S1),
                    reason: Some("résolu: \"done\" ✅".into()),
                    at: t0 + secs(3900),
                    forced: false,
                },
            )
            .await
            .unwrap()
    });
    (t, t0)
}

/// A claim taken over from the Python bot has no time: its time to claim is unknown, not 0s,
/// and its history reads opened → claimed though both entries share the opening's instant.
fn inspect_imported_claim(backend: Backend) {
    let db = TestDb::new(backend);
    let created = at("2025-03-01T08:00:00Z");
    let mut t = ticket(Uuid::new_v4(), G, U1, created);
    t.claimed_by = Some(S1);
    db.import(std::slice::from_ref(&t));
    // The claim's id sorts first: the order must come from the entries' meaning, not their ids.
    let mut claim = event(&t, EventKind::Claimed, Some(S1), created);
    claim.details = Some(ticketbot_common::ticket::CLAIM_TIME_UNKNOWN.into());
    let opened = event(&t, EventKind::Opened, Some(U1), created);
    let imported = event(&t, EventKind::Imported, None, created + secs(60));
    db.import_events(&[claim, opened, imported]);

    let v = db.run(&["inspect", &t.short_id(), "--json"]).ok().json();
    assert_eq!(v["durations"]["time_to_claim_secs"], Value::Null, "{v}");
    let kinds: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "claimed", "imported"]);

    let out = db.run(&["inspect", &t.short_id()]).ok();
    let row = out
        .table_rows()
        .into_iter()
        .find(|r| r.first().map(String::as_str) == Some("time to claim"))
        .unwrap_or_else(|| panic!("no time to claim row\n{out}"));
    assert_eq!(row[1], "unknown", "{out}");
    // Nor does it count in the statistics' time to claim.
    let v = db.run(&["stats", "--json"]).ok().json();
    assert_eq!(v["time_to_claim"]["count"], 0, "{v}");
}

/// People by name where the bot recorded one: `name (4000…0001)`, ids alone otherwise; JSON
/// keeps ids.
#[test]
fn names_show_beside_ids() {
    use ticketbot_common::names::{Name, NameKind};
    let db = TestDb::new(Backend::Sqlite);
    let created = at("2025-03-01T08:00:00Z");
    let mut t = ticket(Uuid::new_v4(), G, U1, created);
    t.claimed_by = Some(S1);
    t.claimed_at = Some(created + secs(30));
    db.import(std::slice::from_ref(&t));
    let store = db.store();
    db.block_on(store.remember_names(&[Name::seen(
        U1,
        NameKind::User,
        "Ünïcode Ann",
        None,
        created,
    )]))
    .unwrap();
    let label = |id: u64, name: &str| {
        let s = id.to_string();
        format!("{name} ({}…{})", &s[..4], &s[s.len() - 4..])
    };
    let out = db.run(&["list"]).ok();
    let row = &out.table_rows()[1];
    assert_eq!(row[2], label(U1, "Ünïcode Ann"), "{out}");
    assert_eq!(row[3], S1.to_string(), "no name known: the id\n{out}");
    let out = db.run(&["inspect", &t.short_id()]).ok();
    assert!(out.stdout.contains(&label(U1, "Ünïcode Ann")), "{out}");
    let v = db.run(&["list", "--json"]).ok().json();
    assert_eq!(v[0]["creator_id"], U1.to_string(), "{v}");
}

fn inspect_every_form(backend: Backend) {
    let db = TestDb::new(backend);
    let (t, _) = lifecycle(&db);
    // Another ticket, so that a lookup that ignores its argument cannot pass.
    db.import(&[with_channel(
        ticket(Uuid::new_v4(), G, U3, at("2025-06-02T00:00:00Z")),
        chan(8),
    )]);
    assert_eq!(db.get(t.id).as_ref(), Some(&t));
    let full = t.id.to_string();
    let short = t.short_id();

    let v = db.run(&["inspect", &full, "--json"]).ok().json();
    assert_fields(&v, &ticket_json(&t));
    assert_eq!(v["id"], full);
    assert_eq!(v["short_id"], short);
    assert_eq!(v["status"], "closed");
    assert_eq!(v["guild_id"], "1234567890123456789");
    assert_eq!(v["channel_id"], "1300000000000000007");
    assert_eq!(v["creator_id"], "300000000000000001");
    assert_eq!(v["claimed_by"], "900000000000000001");
    assert_eq!(v["claimed_at"], "2025-06-01T10:05:00.123456Z");
    assert_eq!(v["created_at"], "2025-06-01T10:00:00.123456Z");
    assert_eq!(v["closed_at"], "2025-06-01T11:05:00.123456Z");
    assert_eq!(v["closed_by"], "900000000000000001");
    assert_eq!(v["close_reason"], "résolu: \"done\" ✅");
    assert_eq!(v["updated_at"], "2025-06-01T11:05:00.123456Z");
    assert_eq!(
        v["participants"],
        json!([{
            "user_id": "300000000000000002",
            "added_by": "900000000000000001",
            "added_at": "2025-06-01T10:06:00.123456Z",
        }])
    );
    assert_eq!(
        v["durations"],
        json!({
            "open_for_secs": 3900,
            "time_to_claim_secs": 300,
            "time_to_first_response_secs": null,
            "time_to_close_secs": 3900
        })
    );
    let history = db.history(t.id);
    let kinds: Vec<&str> = v["history"]
        .as_array()
        .expect("history array")
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "claimed", "participant_added", "closed"]);
    assert_eq!(
        v["history"],
        Value::Array(history.iter().map(event_json).collect())
    );
    assert_eq!(v["history"][0]["actor_id"], "300000000000000001");
    assert_eq!(v["history"][0]["at"], "2025-06-01T10:00:00.123456Z");
    assert_eq!(v["history"][1]["actor_id"], "900000000000000001");
    assert_eq!(v["history"][1]["at"], "2025-06-01T10:05:00.123456Z");
    assert_eq!(v["history"][3]["details"], "résolu: \"done\" ✅");
    assert_eq!(v["history"][3]["at"], "2025-06-01T11:05:00.123456Z");

    // Every other way of naming it gives the same answer.
    let upper = short.to_uppercase();
    let channel_name = format!("ticket-{short}");
    let long_prefix = full[..13].to_owned();
    let channel = chan(7).to_string();
    for form in [&short, &upper, &channel_name, &long_prefix, &channel] {
        let other = db.run(&["inspect", form.as_str(), "--json"]).ok().json();
        assert_eq!(other, v, "inspect {form}");
    }

    // For people: a field table and the timeline.
    let out = db.run(&["inspect", &short]).ok();
    let rows = out.table_rows();
    let field = |name: &str| -> String {
        rows.iter()
            .find(|r| r.first().map(String::as_str) == Some(name))
            .and_then(|r| r.get(1).cloned())
            .unwrap_or_else(|| panic!("no {name:?} row\n{out}"))
    };
    assert_eq!(field("id"), full);
    assert_eq!(field("short id"), short);
    assert_eq!(field("status"), "closed");
    assert_eq!(field("guild"), "1234567890123456789");
    assert_eq!(field("channel"), "1300000000000000007");
    assert_eq!(field("creator"), "300000000000000001");
    assert_eq!(field("claimed by"), "900000000000000001");
    assert_eq!(field("created at"), "2025-06-01T10:00:00.123456Z");
    assert_eq!(field("closed at"), "2025-06-01T11:05:00.123456Z");
    assert_eq!(field("close reason"), "résolu: \"done\" ✅");
    assert_eq!(field("open for"), "1h 5m");
    assert_eq!(field("time to claim"), "5m 0s");
    assert_eq!(field("first response"), "-");
    assert_eq!(field("time to close"), "1h 5m");
    assert_eq!(
        field("participants"),
        "300000000000000002 (added by 900000000000000001)"
    );
    assert!(out.stdout.contains("history"), "{out}");
    let timeline: Vec<&str> = rows
        .iter()
        .filter(|r| r.len() == 4 && r[0].starts_with("2025-"))
        .map(|r| r[1].as_str())
        .collect();
    assert_eq!(
        timeline,
        ["opened", "claimed", "participant_added", "closed"],
        "{out}"
    );
    assert_eq!(field("feedback"), "-");
    assert_eq!(v["feedback"], Value::Null);

    // The creator's rating, with its comment.
    let comment = "réponse rapide <b>\"merci\"</b>";
    let rating = ticketbot_common::feedback::Feedback::new(
        t.id,
        t.creator_id,
        4,
        Some(comment),
        at("2025-06-01T12:00:00.123456Z"),
    )
    .unwrap();
    let store = db.store();
    db.block_on(async {
        store
            .import_feedback(&[rating])
            .await
            .expect("import_feedback")
    });
    let v = db.run(&["inspect", &full, "--json"]).ok().json();
    assert_eq!(
        v["feedback"],
        json!({
            "ticket_id": full,
            "user_id": "300000000000000001",
            "rating": 4,
            "comment": comment,
            "given_at": "2025-06-01T12:00:00.123456Z",
            "updated_at": "2025-06-01T12:00:00.123456Z",
        })
    );
    let out = db.run(&["inspect", &short]).ok();
    assert!(
        out.stdout
            .contains("★★★★☆ 4/5 (2025-06-01T12:00:00.123456Z)"),
        "{out}"
    );
    assert!(out.stdout.contains(comment), "{out}");

    // The topic it was opened with, and the form's answers.
    assert_eq!(field("topic"), "-");
    let form = ticketbot_common::topics::TicketForm {
        ticket_id: t.id,
        guild_id: G,
        topic_id: Uuid::from_u128(7),
        topic_name: "Billing 💳".into(),
        answers: vec![
            ticketbot_common::topics::Answer {
                question: "Order number".into(),
                answer: "#42 «ü»".into(),
            },
            ticketbot_common::topics::Answer {
                question: "Anything else?".into(),
                answer: String::new(),
            },
        ],
        submitted_at: t.created_at,
    };
    let store = db.store();
    db.block_on(async { store.put_ticket_form(&form).await.expect("put_ticket_form") });
    let v = db.run(&["inspect", &full, "--json"]).ok().json();
    assert_eq!(v["form"]["topic_name"], "Billing 💳");
    assert_eq!(
        v["form"]["answers"],
        json!([
            {"question": "Order number", "answer": "#42 «ü»"},
            {"question": "Anything else?", "answer": ""},
        ])
    );
    let out = db.run(&["inspect", &short]).ok();
    let rows = out.table_rows();
    assert!(
        rows.contains(&vec!["topic".into(), "Billing 💳".into()]),
        "{out}"
    );
    assert!(
        rows.contains(&vec!["Order number".into(), "#42 «ü»".into()]),
        "{out}"
    );
    assert!(
        rows.contains(&vec!["Anything else?".into(), "-".into()]),
        "{out}"
    );
    // Listings filter by topic name, in any case.
    let listed = db
        .run(&["list", "--topic", "BILLING 💳", "--json"])
        .ok()
        .json();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [full.as_str()]);
    let none = db
        .run(&["list", "--topic", "Billing", "--json"])
        .ok()
        .json();
    assert_eq!(none, json!([]));
}

fn inspect_ambiguous_prefix(backend: Backend) {
    let db = TestDb::new(backend);
    let x = ticket(
        uuid("abcdef01-1111-4111-8111-111111111111"),
        G,
        U1,
        at("2025-02-01T00:00:00Z"),
    );
    let y = ticket(
        uuid("abcdef01-2222-4222-8222-222222222222"),
        G,
        U2,
        at("2025-02-02T00:00:00Z"),
    );
    let z = ticket(
        uuid("abcdef02-3333-4333-8333-333333333333"),
        G,
        U3,
        at("2025-02-03T00:00:00Z"),
    );
    db.import(&[x.clone(), y.clone(), z.clone()]);

    let out = db.run(&["inspect", "abcdef01"]).code(1);
    assert!(out.stdout.is_empty(), "{out}");
    assert!(out.stderr.contains("matches 2 tickets"), "{out}");
    assert!(out.stderr.contains(&x.id.to_string()), "{out}");
    assert!(out.stderr.contains(&y.id.to_string()), "{out}");
    assert!(!out.stderr.contains(&z.id.to_string()), "{out}");

    let out = db.run(&["inspect", "abcdef", "--json"]).code(1);
    assert!(out.stdout.is_empty(), "{out}");
    assert!(out.stderr.contains("matches 3 tickets"), "{out}");

    // An ambiguous prefix closes nothing.
    db.run(&["force-close", "ticket-abcdef01"]).code(1);
    assert_eq!(db.get(x.id).unwrap().status, TicketStatus::Open);
    assert_eq!(db.get(y.id).unwrap().status, TicketStatus::Open);

    // More characters decide it.
    let v = db.run(&["inspect", "abcdef01-1", "--json"]).ok().json();
    assert_eq!(v["id"], x.id.to_string());
    let v = db.run(&["inspect", "ABCDEF01-2222", "--json"]).ok().json();
    assert_eq!(v["id"], y.id.to_string());
    let v = db
        .run(&["inspect", "ticket-abcdef02", "--json"])
        .ok()
        .json();
    assert_eq!(v["id"], z.id.to_string());
}

fn inspect_deleted_ticket(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.store();
    let t0 = at("2025-07-01T08:00:00.000001Z");
    let t = db.block_on(async {
        let CreateOutcome::Created(t) = store.create_ticket(G, U1, 1, t0).await.unwrap() else {
            panic!("create_ticket refused")
        };
        store
            .transition(
                t.id,
                &Transition::Claim {
                    by: S1,
                    at: t0 + secs(60),
                },
            )
            .await
            .unwrap();
        store.delete(t.id, Some(S2), t0 + secs(600)).await.unwrap()
    });
    assert_eq!(db.get(t.id), None);
    let history = db.history(t.id);

    let v = db
        .run(&["inspect", &t.id.to_string(), "--json"])
        .ok()
        .json();
    assert_eq!(v["id"], t.id.to_string());
    assert_eq!(v["deleted"], true);
    assert_eq!(
        v["history"],
        Value::Array(history.iter().map(event_json).collect())
    );
    let kinds: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "claimed", "deleted"]);
    assert_eq!(v["history"][2]["actor_id"], S2.to_string());
    assert_eq!(v["history"][2]["at"], "2025-07-01T08:10:00.000001Z");

    let out = db.run(&["inspect", &t.id.to_string()]).ok();
    assert!(out.stdout.contains("was deleted"), "{out}");
    assert!(out.stdout.contains("deleted"), "{out}");

    // Gone from listings.
    assert_eq!(db.run(&["list", "--json"]).ok().json(), json!([]));
    // A UUID with no history at all is simply unknown.
    db.run(&["inspect", &Uuid::new_v4().to_string()]).code(3);
}

fn inspect_not_found_and_malformed(backend: Backend) {
    let db = TestDb::new(backend);
    let t = with_channel(
        ticket(
            uuid("0badc0de-0000-4000-8000-000000000001"),
            G,
            U1,
            at("2025-01-01T00:00:00Z"),
        ),
        chan(1),
    );
    db.import(std::slice::from_ref(&t));

    for unknown in [
        "5f0c7a1e-9d2b-4c3a-8e4f-1a2b3c4d5e6f",
        "deadbeef",
        "ticket-deadbeef",
        "1300000000000000999",
        "99999999999999999999999",
    ] {
        for cmd in ["inspect", "force-close"] {
            let out = db.run(&[cmd, unknown]).code(3);
            assert!(out.stderr.contains("no ticket matches"), "{out}");
        }
    }
    for malformed in [
        "xyz",
        "12",
        "",
        "ticket-zzzzzzzz",
        "'; DROP TABLE tickets; --",
        "{\"$gt\": \"\"}",
        "0badc0de-0000-4000-8000-00000000000z",
    ] {
        for cmd in ["inspect", "force-close"] {
            let out = db.run(&[cmd, malformed]).code(2);
            // It says what an id looks like.
            assert!(
                out.stderr.contains("UUID") && out.stderr.contains("short id"),
                "{out}"
            );
        }
    }
    // Nothing was touched.
    assert_eq!(db.get(t.id), Some(t));
    assert_eq!(db.counts().tickets, 1);
}

fn force_close_and_idempotence(backend: Backend) {
    let db = TestDb::new(backend);
    let a = with_channel(
        claimed(
            ticket(
                uuid("f0000000-0000-4000-8000-00000000000a"),
                G,
                U1,
                at("2025-04-01T00:00:00Z"),
            ),
            S1,
            at("2025-04-01T00:01:00Z"),
        ),
        chan(10),
    );
    let b = with_channel(
        ticket(
            uuid("f1000000-0000-4000-8000-00000000000b"),
            G,
            U2,
            at("2025-04-02T00:00:00Z"),
        ),
        chan(11),
    );
    db.import(&[a.clone(), b.clone()]);

    let before = now();
    let out = db
        .run(&["force-close", &a.short_id(), "--reason", "spam & abuse"])
        .ok();
    let after = now();
    assert!(
        out.stdout
            .contains(&format!("closed ticket {} ({})", a.short_id(), a.id)),
        "{out}"
    );
    let got = db.get(a.id).unwrap();
    assert_eq!(got.status, TicketStatus::Closed);
    assert_eq!(got.close_reason.as_deref(), Some("spam & abuse"));
    assert_eq!(got.closed_by, None, "an operator is not a Discord user");
    assert_eq!(got.claimed_by, Some(S1), "the claim stays on record");
    let closed_at = got.closed_at.expect("closed_at");
    assert!(before <= closed_at && closed_at <= after, "{closed_at}");
    let history = db.history(a.id);
    let last = history.last().expect("an event");
    assert_eq!(last.kind, EventKind::ForceClosed);
    assert_eq!(last.actor_id, None);
    assert_eq!(last.details.as_deref(), Some("spam & abuse"));
    assert_eq!(last.at, closed_at);

    // Again: it says so, succeeds, and changes nothing.
    let out = db.run(&["force-close", &a.id.to_string()]).ok();
    assert!(out.stderr.contains("already closed"), "{out}");
    assert_eq!(db.get(a.id).as_ref(), Some(&got));
    assert_eq!(db.history(a.id), history);
    let out = db
        .run(&["force-close", &a.id.to_string(), "--json", "--reason", "x"])
        .ok();
    assert_fields(&out.json(), &ticket_json(&got));
    assert!(out.stderr.contains("already closed"), "{out}");
    assert_eq!(db.history(a.id), history);

    // --json, by channel id, without a reason.
    let out = db
        .run(&["force-close", &chan(11).to_string(), "--json"])
        .ok();
    let v = out.json();
    let got_b = db.get(b.id).unwrap();
    assert_eq!(got_b.status, TicketStatus::Closed);
    assert_eq!(got_b.close_reason, None);
    assert_fields(&v, &ticket_json(&got_b));
    assert_eq!(v["status"], "closed");
    assert_eq!(v["close_reason"], Value::Null);
    assert!(is_rfc3339_utc(v["closed_at"].as_str().unwrap()), "{v}");
    let last = db.history(b.id).pop().unwrap();
    assert_eq!((last.kind, last.details), (EventKind::ForceClosed, None));

    // Now `list --status open` is empty.
    assert_eq!(
        db.run(&["list", "--status", "open", "--json"]).ok().json(),
        json!([])
    );
}

/// Tickets with known creation and close times, and history events of two staff members.
fn seed_stats(db: &TestDb) {
    let mut tickets = Vec::new();
    let mut n = 0u64;
    let mut add = |guild: u64, created: &str, minutes_to_close: Option<i64>| {
        n += 1;
        let t = ticket(
            Uuid::from_u128(0x5000_0000_0000_4000_8000_0000_0000_0000 | u128::from(n)),
            guild,
            U1 + n,
            at(created),
        );
        tickets.push(match minutes_to_close {
            Some(m) => {
                let closed_at = t.created_at + secs(m * 60) + chrono::Duration::milliseconds(250);
                closed(t, closed_at, Some(S1), None)
            }
            None => t,
        });
    };
    add(G, "2025-02-01T09:00:00Z", Some(10));
    add(G, "2025-02-01T10:00:00Z", Some(20));
    add(G, "2025-02-01T11:00:00Z", Some(30));
    add(G, "2025-02-01T23:59:59.999999Z", None);
    add(G, "2025-02-02T00:00:00Z", Some(40));
    add(G, "2025-02-02T08:00:00Z", Some(50));
    add(G, "2025-02-02T09:00:00Z", Some(60));
    add(G, "2025-02-02T10:00:00Z", Some(70));
    add(G, "2025-02-02T11:00:00Z", None);
    add(G, "2025-02-04T09:00:00Z", Some(80));
    add(G, "2025-02-04T10:00:00Z", Some(90));
    add(G, "2025-02-04T11:00:00Z", Some(100));
    add(G, "2025-02-04T12:00:00Z", None);
    // Another guild: one ticket closed after 1.25 s, one open.
    let h1 = ticket(
        Uuid::from_u128(0x5000_0000_0000_4000_8000_0000_0000_0100),
        H,
        U1,
        at("2025-02-01T12:00:00Z"),
    );
    let h1 = closed(
        h1.clone(),
        h1.created_at + chrono::Duration::milliseconds(1250),
        None,
        None,
    );
    let h2 = ticket(
        Uuid::from_u128(0x5000_0000_0000_4000_8000_0000_0000_0101),
        H,
        U2,
        at("2025-02-03T12:00:00Z"),
    );
    tickets.push(h1.clone());
    tickets.push(h2);
    db.import(&tickets);
    // Ratings: two of this guild's tickets (closed by staff 1, no claim), one of the other's
    // (closed by the system: no staff member to credit).
    let rate = |t: &Ticket, stars: u8, comment: Option<&str>| {
        ticketbot_common::feedback::Feedback::new(
            t.id,
            t.creator_id,
            stars,
            comment,
            t.created_at + secs(7200),
        )
        .unwrap()
    };
    let ratings = [
        rate(&tickets[0], 5, Some("great")),
        rate(&tickets[4], 2, None),
        rate(&h1, 3, None),
    ];
    let store = db.store();
    db.block_on(async {
        store
            .import_feedback(&ratings)
            .await
            .expect("import_feedback")
    });

    let g = &tickets[0];
    let ev = |kind, actor, when: &str| event(g, kind, actor, at(when));
    let mut events = vec![
        // Staff 1: three claims (two on Feb 1, one on Feb 4), three closes on Feb 4.
        ev(EventKind::Claimed, Some(S1), "2025-02-01T09:01:00Z"),
        ev(EventKind::Claimed, Some(S1), "2025-02-01T10:01:00Z"),
        ev(EventKind::Claimed, Some(S1), "2025-02-04T09:01:00Z"),
        ev(EventKind::Closed, Some(S1), "2025-02-04T10:30:00Z"),
        ev(EventKind::Closed, Some(S1), "2025-02-04T11:30:00Z"),
        ev(EventKind::Closed, Some(S1), "2025-02-04T13:00:00Z"),
        // Staff 2: one claim on Feb 1, four closes on Feb 2.
        ev(EventKind::Claimed, Some(S2), "2025-02-01T11:01:00Z"),
        ev(EventKind::Closed, Some(S2), "2025-02-02T00:40:00Z"),
        ev(EventKind::Closed, Some(S2), "2025-02-02T08:50:00Z"),
        ev(EventKind::Closed, Some(S2), "2025-02-02T10:00:00Z"),
        ev(EventKind::Closed, Some(S2), "2025-02-02T11:10:00Z"),
        // Not staff activity: openings, a system close, a forced close.
        ev(EventKind::Opened, Some(U1), "2025-02-01T09:00:00Z"),
        ev(EventKind::Opened, Some(U2), "2025-02-02T09:00:00Z"),
        ev(EventKind::Closed, None, "2025-02-01T09:10:00Z"),
        ev(EventKind::ForceClosed, None, "2025-02-01T10:20:00Z"),
    ];
    // Staff 1 claims five tickets of the other guild.
    for i in 0..5 {
        events.push(event(
            &h1,
            EventKind::Claimed,
            Some(S1),
            at("2025-02-03T12:00:00Z") + secs(i),
        ));
    }
    db.import_events(&events);
}

/// The figures `stats --json` had before the analytics were added: they must not change.
const OLD_FIELDS: &[&str] = &["counts", "time_to_close", "staff", "per_day"];

/// The object with only `keys`.
fn only(v: serde_json::Value, keys: &[&str]) -> serde_json::Value {
    let obj = v.as_object().expect("a JSON object");
    serde_json::Value::Object(
        keys.iter()
            .filter_map(|k| obj.get(*k).map(|x| ((*k).to_owned(), x.clone())))
            .collect(),
    )
}

/// `key`'s value, and the object without it.
fn without(mut v: serde_json::Value, key: &str) -> (serde_json::Value, serde_json::Value) {
    let taken = v
        .as_object_mut()
        .and_then(|o| o.remove(key))
        .unwrap_or_default();
    (taken, v)
}

fn stats_values(backend: Backend) {
    let db = TestDb::new(backend);
    seed_stats(&db);
    let g = G.to_string();

    let v = db.run(&["stats", "--guild", &g, "--json"]).ok().json();
    let (hours, v) = without(v, "busiest_hours");
    assert_eq!(
        v,
        json!({
            "counts": {"open": 3, "closed": 10},
            // From the history: two openings; 3 + 4 staff closes, a system close, a forced one.
            "activity": {"opened": 2, "closed": 9, "reopened": 0, "archived": 0},
            "backlog": {"open": 3, "unclaimed": 3, "oldest_unclaimed_at": "2025-02-01T23:59:59.999999Z"},
            // The claims are in the history only: no ticket holds a claim time.
            "time_to_claim": {"count": 0, "median_secs": null, "p90_secs": null},
            "time_to_first_response": {"count": 0, "median_secs": null, "p90_secs": null},
            "time_to_close": {"count": 10, "median_secs": 3000.25, "p90_secs": 5400.25},
            "close_times": [5, 5, 0, 0, 0, 0],
            "staff": [
                {"user_id": "900000000000000001", "claims": 3, "closes": 3, "first_responses": 0, "messages": 0, "median_response_secs": null},
                {"user_id": "900000000000000002", "claims": 1, "closes": 4, "first_responses": 0, "messages": 0, "median_response_secs": null},
            ],
            "per_day": [
                {"date": "2025-02-01", "opened": 4, "closed": 2},
                {"date": "2025-02-02", "opened": 5, "closed": 4},
                {"date": "2025-02-04", "opened": 4, "closed": 3},
            ],
            "feedback": {
                "overall": {"by_stars": [0, 1, 0, 0, 1]},
                "staff": [{"user_id": "900000000000000001", "ratings": {"by_stars": [0, 1, 0, 0, 1]}}],
            },
        })
    );
    let all = db.run(&["stats", "--json"]).ok().json();
    assert_eq!(
        all["feedback"]["overall"]["by_stars"],
        json!([0, 1, 1, 0, 1])
    );
    let hours = hours.as_array().unwrap().clone();
    let opened: u64 = hours.iter().map(|h| h["opened"].as_u64().unwrap()).sum();
    assert_eq!(opened, 13, "every ticket in an hour of the week: {hours:?}");
    // 2025-02-01 was a Saturday.
    assert!(
        hours.contains(&json!({"weekday": 5, "hour": 23, "opened": 1})),
        "{hours:?}"
    );

    let v = only(db.run(&["stats", "--json"]).ok().json(), OLD_FIELDS);
    assert_eq!(
        v,
        json!({
            "counts": {"open": 4, "closed": 11},
            "time_to_close": {"count": 11, "median_secs": 3000.25, "p90_secs": 5400.25},
            "staff": [
                {"user_id": "900000000000000001", "claims": 8, "closes": 3, "first_responses": 0, "messages": 0, "median_response_secs": null},
                {"user_id": "900000000000000002", "claims": 1, "closes": 4, "first_responses": 0, "messages": 0, "median_response_secs": null},
            ],
            "per_day": [
                {"date": "2025-02-01", "opened": 5, "closed": 2},
                {"date": "2025-02-02", "opened": 5, "closed": 4},
                {"date": "2025-02-03", "opened": 1, "closed": 0},
                {"date": "2025-02-04", "opened": 4, "closed": 3},
            ],
        })
    );

    // --since limits both the tickets and the events.
    let v = only(
        db.run(&["stats", "--guild", &g, "--since", "2025-02-02", "--json"])
            .ok()
            .json(),
        OLD_FIELDS,
    );
    assert_eq!(
        v,
        json!({
            "counts": {"open": 2, "closed": 7},
            "time_to_close": {"count": 7, "median_secs": 4200.25, "p90_secs": 6000.25},
            "staff": [
                {"user_id": "900000000000000001", "claims": 1, "closes": 3, "first_responses": 0, "messages": 0, "median_response_secs": null},
                {"user_id": "900000000000000002", "claims": 0, "closes": 4, "first_responses": 0, "messages": 0, "median_response_secs": null},
            ],
            "per_day": [
                {"date": "2025-02-02", "opened": 5, "closed": 4},
                {"date": "2025-02-04", "opened": 4, "closed": 3},
            ],
        })
    );

    // For people.
    let out = db.run(&["stats", "--guild", &g]).ok();
    assert!(
        out.stdout
            .contains("feedback: average 3.50 over 2 ratings (5★ 1, 4★ 0, 3★ 0, 2★ 1, 1★ 0)"),
        "{out}"
    );
    assert!(
        out.table_rows().contains(&vec![
            "900000000000000001".into(),
            "2".into(),
            "3.50".into()
        ]),
        "{out}"
    );
    assert!(
        out.stdout.contains("tickets: 13 (3 open, 10 closed)"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("time to close: median 50m 0s, p90 1h 30m (over 10 closed tickets)"),
        "{out}"
    );
    let rows = out.table_rows();
    assert!(
        rows.contains(&vec![
            "staff".into(),
            "claims".into(),
            "closes".into(),
            "first responses".into(),
            "messages".into(),
            "median response".into()
        ]),
        "{out}"
    );
    assert!(
        rows.contains(&vec![
            "900000000000000001".into(),
            "3".into(),
            "3".into(),
            "0".into(),
            "0".into(),
            "-".into()
        ]),
        "{out}"
    );
    assert!(
        rows.contains(&vec![
            "900000000000000002".into(),
            "1".into(),
            "4".into(),
            "0".into(),
            "0".into(),
            "-".into()
        ]),
        "{out}"
    );
    let days: Vec<(String, String, String)> = rows
        .iter()
        .filter(|r| r.len() == 3 && r[0].starts_with("2025-"))
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    assert_eq!(
        days,
        [
            ("2025-02-01".into(), "4".into(), "2".into()),
            ("2025-02-02".into(), "5".into(), "4".into()),
            ("2025-02-04".into(), "4".into(), "3".into()),
        ],
        "{out}"
    );
}

/// `--html` writes the report beside the usual output; an unwritable path is a clear error.
fn stats_html_report(backend: Backend) {
    let db = TestDb::new(backend);
    seed_stats(&db);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let out = db
        .run(&[
            "stats",
            "--guild",
            &G.to_string(),
            "--html",
            page.to_str().unwrap(),
        ])
        .ok();
    assert!(
        out.stdout.contains("tickets: 13 (3 open, 10 closed)"),
        "{out}"
    );
    assert!(out.stdout.contains("report written to"), "{out}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains(&format!("Guild {G}, all time")));
    // A bar pair per day from Feb 1 to Feb 4 (the empty Feb 3 included), 10 closes bucketed.
    assert_eq!(html.matches("<g class=\"period\">").count(), 4);
    assert!(
        html.contains("<title>2025-02-02: 5 opened, 4 closed</title>"),
        "{html}"
    );
    assert!(html.contains("<title>under 1h: 5</title>"), "{html}");
    assert!(
        html.contains("<td>900000000000000002</td><td class=\"n\">1</td><td class=\"n\">4</td><td class=\"n\">0</td>")
    );
    // With --json, the JSON still goes to stdout and the page is written.
    let page2 = dir.path().join("again.html");
    let v = db
        .run(&["stats", "--json", "--html", page2.to_str().unwrap()])
        .ok()
        .json();
    assert_eq!(v["counts"]["open"], 4);
    assert!(page2.is_file());

    let bad = dir.path().join("no-such-dir").join("r.html");
    let out = db.run(&["stats", "--html", bad.to_str().unwrap()]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("writing the report to"), "{out}");
}

fn stats_empty_database(backend: Backend) {
    let db = TestDb::new(backend);
    let v = db.run(&["stats", "--json"]).ok().json();
    assert_eq!(
        v,
        json!({
            "counts": {"open": 0, "closed": 0},
            "activity": {"opened": 0, "closed": 0, "reopened": 0, "archived": 0},
            "backlog": {"open": 0, "unclaimed": 0, "oldest_unclaimed_at": null},
            "time_to_claim": {"count": 0, "median_secs": null, "p90_secs": null},
            "time_to_first_response": {"count": 0, "median_secs": null, "p90_secs": null},
            "time_to_close": {"count": 0, "median_secs": null, "p90_secs": null},
            "close_times": [0, 0, 0, 0, 0, 0],
            "staff": [],
            "per_day": [],
            "busiest_hours": [],
            "feedback": {"overall": {"by_stars": [0, 0, 0, 0, 0]}, "staff": []},
        })
    );
    let out = db.run(&["stats"]).ok();
    assert!(out.stdout.contains("feedback: no ratings"), "{out}");
    assert!(
        out.stdout.contains("tickets: 0 (0 open, 0 closed)"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("time to close: median -, p90 - (over 0 closed tickets)"),
        "{out}"
    );
}

fn status_and_bot_detection(backend: Backend) {
    let db = TestDb::new(backend);
    let (t, _) = lifecycle(&db);
    db.import(&[
        ticket(Uuid::new_v4(), G, U2, at("2025-06-03T00:00:00Z")),
        ticket(Uuid::new_v4(), G, U3, at("2025-06-04T00:00:00Z")),
    ]);
    let store = db.store();
    let schema = db.block_on(async { store.schema_version().await.unwrap() });
    assert!(schema >= 1);
    let events = db.counts().events;
    assert_eq!(db.history(t.id).len(), 4);

    let expected_target = match backend {
        Backend::Sqlite => format!("sqlite file {}", db.sqlite_path().display()),
        Backend::Mysql => format!(
            "mysql://{}@{}:{}/{}",
            mysql_admin_user(),
            mysql_host(),
            mysql_port(),
            db.name
        ),
        Backend::Mongodb => format!("{}/{} (database {})", mongo_uri(), db.name, db.name),
    };
    let backend_name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Mysql => "mysql",
        Backend::Mongodb => "mongodb",
    };

    let v = db.run(&["status", "--json"]).ok().json();
    assert_eq!(
        v,
        json!({
            "backend": backend_name,
            "target": expected_target,
            "schema_version": schema,
            "tickets": {"open": 2, "closed": 1},
            "records": {"tickets": 3, "participants": 1, "events": events, "transcripts": 0, "categories": 0, "names": 0, "staff_messages": 0, "close_requests": 0, "activity": 0, "feedback": 0, "topics": 0, "ticket_forms": 0},
            "bot_running": false,
            "bots": [],
        })
    );
    let out = db.run(&["status"]).ok();
    assert!(
        out.stdout
            .contains(&format!("backend:        {backend_name}\n")),
        "{out}"
    );
    assert!(
        out.stdout
            .contains(&format!("database:       {expected_target}\n")),
        "{out}"
    );
    assert!(
        out.stdout.contains(&format!("schema version: {schema}\n")),
        "{out}"
    );
    assert!(
        out.stdout.contains("tickets:        3 (2 open, 1 closed)"),
        "{out}"
    );
    assert!(
        out.stdout.contains(&format!(
            "records:        3 tickets, 1 participants, {events} history events"
        )),
        "{out}"
    );
    assert!(out.stdout.contains("bot:            not running"), "{out}");

    // A bot seen just now is running; one last seen five minutes ago is not.
    let seen = now();
    let started = seen - secs(3600);
    db.block_on(async {
        store
            .heartbeat(&Heartbeat {
                instance_id: "bot-live-1".into(),
                details: "pid 4242 on host-a".into(),
                started_at: started,
                seen_at: seen,
            })
            .await
            .unwrap();
        store
            .heartbeat(&Heartbeat {
                instance_id: "bot-stale-0".into(),
                details: "pid 1 on host-b".into(),
                started_at: started,
                seen_at: seen - secs(300),
            })
            .await
            .unwrap();
    });
    let v = db.run(&["status", "--json"]).ok().json();
    assert_eq!(v["bot_running"], true, "{v}");
    assert_eq!(
        v["bots"],
        json!([{
            "instance_id": "bot-live-1",
            "details": "pid 4242 on host-a",
            "started_at": rfc(started),
            "seen_at": rfc(seen),
        }])
    );
    let out = db.run(&["status"]).ok();
    assert!(
        out.stdout.contains(&format!(
            "bot:            running: bot-live-1 (pid 4242 on host-a), last seen {}",
            rfc(seen)
        )),
        "{out}"
    );

    // The live one goes quiet.
    db.block_on(async { store.remove_heartbeat("bot-live-1").await.unwrap() });
    let v = db.run(&["status", "--json"]).ok().json();
    assert_eq!(v["bot_running"], false, "{v}");
    assert_eq!(v["bots"], json!([]));
}

fn usage_errors_exit_2(backend: Backend) {
    let db = TestDb::new(backend);
    db.import(&[ticket(Uuid::new_v4(), G, U1, at("2025-01-01T00:00:00Z"))]);
    let cases: &[(&[&str], &str)] = &[
        (&["list", "--since", "yesterday"], "--since"),
        (&["list", "--since", "7x"], "--since"),
        (&["list", "--since", "99999999999999999d"], "--since"),
        (&["list", "--until", "2025-13-01"], "--until"),
        (&["stats", "--since", "tomorrow"], "--since"),
        (&["list", "--after", "garbage"], "--after"),
        (&["list", "--after", "12.not-a-uuid"], "--after"),
        (&["list", "--after", "99999999999999999999.0"], "--after"),
        (&["list", "--after", ""], "--after"),
        (&["list", "--limit", "0"], "--limit"),
        (&["list", "--limit", "abc"], "--limit"),
        (&["list", "--status", "pending"], "--status"),
        (&["list", "--guild", "abc"], "--guild"),
        (&["list", "--creator", "18446744073709551616"], "--creator"),
        (&["stats", "--guild", "x"], "--guild"),
        (&["inspect"], "<ID>"),
        (&["force-close"], "<ID>"),
        (&["frobnicate"], "frobnicate"),
        (&["list", "--bogus"], "--bogus"),
    ];
    for (args, mentions) in cases {
        let out = db.run(args).code(2);
        assert!(
            out.stderr.contains(mentions),
            "should mention {mentions}\n{out}"
        );
        assert!(out.stdout.is_empty(), "{out}");
    }
    assert_eq!(db.counts().tickets, 1);
}

fn odd_input_never_panics(backend: Backend) {
    let db = TestDb::new(backend);
    db.import(&[ticket(Uuid::new_v4(), G, U1, at("2025-01-01T00:00:00Z"))]);
    let long = "a".repeat(10_000);
    let digits = "9".repeat(40);
    let odd: Vec<Vec<&str>> = vec![
        vec!["inspect", "ticket-"],
        vec!["inspect", "-"],
        vec!["inspect", "----"],
        vec!["inspect", "\u{202e}deadbeef"],
        vec!["inspect", "déjà-vu"],
        vec!["inspect", &long],
        vec!["inspect", &digits],
        vec!["inspect", "0"],
        vec!["inspect", "ffffffff-ffff-ffff-ffff-ffffffffffff"],
        vec!["inspect", "00000000-0000-0000-0000-000000000000"],
        vec!["inspect", ".*"],
        vec!["inspect", "%"],
        vec!["inspect", "a_b%"],
        vec!["force-close", "%%%%", "--reason", "\u{7}"],
        vec!["list", "--since", "-5d"],
        vec!["list", "--since", ""],
        vec!["stats", "--since", ""],
        vec!["list", "--since", "\u{1F600}"],
        vec!["list", "--until", "7\u{00E9}"],
        vec!["stats", "--since", "\u{1F600}"],
        vec!["list", "--until", "0000-00-00"],
        vec!["list", "--since", "9999-12-31T23:59:59Z"],
        vec!["list", "--since", "0001-01-01T00:00:00Z"],
        vec![
            "list",
            "--after",
            "-9223372036854775808.00000000000000000000000000000000",
        ],
        vec![
            "list",
            "--after",
            "9223372036854775807.ffffffffffffffffffffffffffffffff",
        ],
        vec![
            "list",
            "--limit",
            "10000",
            "--guild",
            "18446744073709551615",
        ],
        vec!["stats", "--since", "0001-01-01"],
        vec!["stats", "--since", "9999-12-31"],
    ];
    // Every input is tried; the failures are reported together.
    let mut problems = Vec::new();
    for args in &odd {
        let out = db.run_unchecked(args);
        if let Some(crash) = out.crashed() {
            problems.push(format!("{crash}\n{out}"));
        } else if ![0, 1, 2, 3].contains(&out.code) {
            problems.push(format!("unexpected exit code\n{out}"));
        } else if out.code != 0 && !out.stderr.starts_with("error: ") {
            problems.push(format!("no `error: ` line\n{out}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert_eq!(db.counts().tickets, 1);
}

/// A database name that names nothing (a typo in MYSQL_DATABASE, MONGO_DB_NAME or
/// SQLITE_PATH) is not a wish for an empty database: the read-only commands say it is not there
/// (exit 3) and create nothing, on every backend, as they do for a SQLite file.
fn read_commands_on_a_missing_database_create_nothing(backend: Backend) {
    let db = TestDb::unopened(backend);
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["status", "--json"],
        &["stats"],
        &["inspect", "deadbeef"],
    ] {
        let out = db.run(args);
        assert!(
            !db.exists(),
            "`ticketctl {}` created the database {}\n{out}",
            args.join(" "),
            db.name
        );
        assert_eq!(out.code, 3, "{out}");
        assert!(out.stderr.starts_with("error: "), "{out}");
    }
}
