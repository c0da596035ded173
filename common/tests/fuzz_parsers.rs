//! Property tests ("fuzzing" that runs on stable, inside the normal test run) of every parser of
//! user input in `common`: durations, ids and channel names, list cursors, `.env` files and
//! variables, database URIs and `--database-url`. Each must never panic, must round-trip what it formats, must name the variable it
//! refuses, and must never let a password or token through to an error, a Debug or a Display.
//!
//! The corpus: `tests/fuzz-corpus/*.txt` (hand-picked nasty inputs, one per line, run through
//! every parser on every run; inputs that once found a bug are kept there) and
//! `tests/proptest-regressions/fuzz_parsers.txt` (seeds of the cases proptest once failed on,
//! replayed first; proptest appends to it when a property fails: check it in).
//! `PROPTEST_CASES=<n>` runs more (or fewer) cases of every property.

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, Duration};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;
use proptest::test_runner::Config;
use ticketbot_common::config::{
    read_env_file, redact_uri, BotSettings, DbConfig, MysqlConfig, Secret, Vars,
};
use ticketbot_common::duration::{format_duration, parse_duration};
use ticketbot_common::fuzzing::{self, text};
use ticketbot_common::store::Cursor;
use ticketbot_common::ticket::{short_id_from_channel_name, EventKind, Ticket, TicketStatus};
use uuid::Uuid;

/// Case counts sized for a debug build on 2 cores (the whole file in about a second).
fn config(cases: u32) -> Config {
    fuzzing::config(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/proptest-regressions/fuzz_parsers.txt"
        ),
        cases,
    )
}

fn corpus(name: &str) -> Vec<String> {
    let path = format!("{}/tests/fuzz-corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
        .lines()
        .map(str::to_owned)
        .collect()
}

fn every_corpus_line() -> Vec<String> {
    ["durations.txt", "ids.txt", "uris.txt", "env-lines.txt"]
        .iter()
        .flat_map(|f| corpus(f))
        .collect()
}

/// Whether any part of a [`password`] shows: its markers, however it was cut or encoded.
fn shows_password(text: &str) -> bool {
    text.contains("Zq9") || text.contains("Kx7")
}

/// What people put in variables: anything, numbers of every size, and the words the parsers
/// know.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        any::<i128>().prop_map(|n| n.to_string()),
        "[ +-]?[0-9]{0,25}( ?[smhdwSMHDW])?",
        prop::sample::select(vec![
            "0",
            "1",
            "-1",
            "auto",
            "AUTO",
            "off",
            "yes",
            "maybe",
            "65535",
            "65536",
            "4294967295",
            "4294967296",
            "18446744073709551616",
            "http://x",
            "ftp://x",
            "127.0.0.1",
            "::1",
            "1d 2h",
            " ",
            "\0",
            "mysql",
            "mongodb",
            "sqlite",
        ])
        .prop_map(str::to_owned),
    ]
}

/// A password nobody would find elsewhere in a URI or message, with arbitrary characters
/// (the ones that break naive URI parsing included) in the middle.
fn password() -> impl Strategy<Value = String> {
    (
        "[/?#@:%&= a-zA-Z0-9\\\\\"'`{}\\[\\]]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(6).collect::<String>()),
    )
        .prop_map(|(odd, any)| format!("Zq9{odd}{any}Kx7"))
}

fn bot_vars(extra: &[(&str, &str)]) -> Vars {
    let mut v = Vars::from_pairs([
        ("BOT_TOKEN", "MTIx.GxE2eT.fuzz-Token-Value"),
        ("GUILD_ID", "1210000000000000100"),
        ("SUPPORT_ROLE_ID", "1210000000000000201"),
    ]);
    for (k, val) in extra {
        v.set(*k, *val);
    }
    v
}

/// Every variable the bot reads from `.env`.
const VARIABLES: &[&str] = &[
    "ARCHIVE_CLOSED_AFTER",
    "BOT_TOKEN",
    "CLOSED_TICKETS_CATEGORY_ID",
    "CREATOR_MAY_CLOSE",
    "DB_TYPE",
    "DEBUG",
    "DISCORD_API_ADDR",
    "DISCORD_API_BASE",
    "DISCORD_CA_FILE",
    "DISCORD_CDN_BASE",
    "GUILD_ID",
    "LOG_CHANNEL_ID",
    "LOG_FILE",
    "MAX_OPEN_TICKETS_PER_USER",
    "MONGO_DB_NAME",
    "MONGO_URI",
    "MYSQL_DATABASE",
    "MYSQL_HOST",
    "MYSQL_PASSWORD",
    "MYSQL_PORT",
    "MYSQL_USER",
    "OPEN_TICKETS_CATEGORY_ID",
    "SHARD_COUNT",
    "SHARD_ID",
    "SQLITE_PATH",
    "SUPPORT_ROLE_ID",
    "TRANSCRIPT_DM",
    "TRANSCRIPT_MAX_FILE_MB",
    "TRANSCRIPT_MAX_MB",
];

#[test]
fn the_corpus_through_every_parser() {
    for line in every_corpus_line() {
        let _ = parse_duration(&line);
        let _ = short_id_from_channel_name(&line);
        let _ = line.parse::<TicketStatus>();
        let _ = line.parse::<EventKind>();
        let _ = redact_uri(&line);
        for var in VARIABLES {
            let _ = BotSettings::from_vars(&bot_vars(&[(var, &line)]));
        }
        let _ = DbConfig::from_vars(&Vars::from_pairs([
            ("DB_TYPE", "mongodb"),
            ("MONGO_URI", line.as_str()),
        ]));
        for db in [None, Some("db")] {
            let _ = DbConfig::from_url(&line, db);
        }
        let _ = line.parse::<Cursor>();
    }
    // Very long input.
    for long in [
        "9".repeat(100_000),
        "mongodb://".repeat(10_000),
        "a@:/".repeat(25_000),
    ] {
        let _ = parse_duration(&long);
        let _ = redact_uri(&long);
        let _ = DbConfig::from_url(&long, None);
        let _ = long.parse::<Cursor>();
        let _ = BotSettings::from_vars(&bot_vars(&[("SUPPORT_ROLE_ID", &long)]));
    }
    // The whole env corpus as one file, and each line as a file of its own.
    let lines = corpus("env-lines.txt");
    let mut files = vec![lines.join("\n")];
    files.extend(lines);
    for text in files {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(text.as_bytes()).expect("write");
        let _ = read_env_file(f.path());
    }
}

/// What the properties below found, each kept as it was found (the inputs are in the corpus).
#[test]
fn what_the_properties_found_stays_fixed() {
    // format_duration writes `1d 2h`; parse_duration refused it.
    assert_eq!(parse_duration("1d 2h"), Ok(Duration::seconds(93_600)));
    // A password of a MySQL URL read as port and database (`12` and `ss@h/db`), or as the path
    // of a URL with one slash, was shown in the configuration; an unreadable URL was echoed.
    for url in [
        "mysql://bob:12/xyzzy@h/db",
        "MYSQL://bob:12/xyzzy@h/db",
        "mysql:/bob:12xyzzy@h/db",
        "mysql://bob:12xyzzy",
    ] {
        let e = DbConfig::from_url(url, None).expect_err(url);
        assert!(!e.to_string().contains("xyzzy"), "{url}: {e}");
        assert_eq!(e.problems[0].variable, "--database-url");
    }
    // A MongoDB URI without `@host`: the password, read as a port, was shown.
    for uri in ["mongodb://bob:xyzzy", "mongodb://:xyzzy:#x"] {
        let vars = Vars::from_pairs([("DB_TYPE", "mongodb"), ("MONGO_URI", uri)]);
        let e = DbConfig::from_vars(&vars).expect_err(uri);
        assert!(!e.to_string().contains("xyzzy"), "{uri}: {e}");
        assert_eq!(e.problems[0].variable, "MONGO_URI");
        let e = DbConfig::from_url(uri, Some("t")).expect_err(uri);
        assert!(!e.to_string().contains("xyzzy"), "{uri}: {e}");
    }
    // dotenvy's errors quote the line, or the rest of the file after an unclosed quote.
    for text in [
        "MYSQL_PASSWORD=hunter2 x\n",
        "MYSQL_PASSWORD=\"hunter2\nBOT_TOKEN=hunter2.b.c\n",
    ] {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(text.as_bytes()).expect("write");
        let e = read_env_file(f.path()).expect_err(text);
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("MYSQL_PASSWORD=… (line 1"), "{shown}");
    }
    // Vars' Debug listed every value.
    let vars = Vars::from_pairs([("BOT_TOKEN", "hunter2.b.c")]);
    assert_eq!(format!("{vars:?}"), "Vars([\"BOT_TOKEN\"])");
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn durations_never_panic(s in text()) {
        let _ = parse_duration(&s);
    }

    #[test]
    fn durations_of_digits_and_units_never_panic(s in "[ +-]?[0-9]{0,25}[smhdwSMHDWx]?") {
        let _ = parse_duration(&s);
    }

    #[test]
    fn durations_round_trip(n in 0i64..100_000_000, unit in 0usize..5) {
        let (c, per) = [('s', 1), ('m', 60), ('h', 3600), ('d', 86_400), ('w', 604_800)][unit];
        let d = parse_duration(&format!("{n}{c}")).expect("a plain duration parses");
        prop_assert_eq!(d.num_seconds(), n * per);
        let upper = parse_duration(&format!(" {n}{} ", c.to_ascii_uppercase())).expect("upper");
        prop_assert_eq!(upper, d);
    }

    #[test]
    fn channel_names_never_panic(s in text()) {
        let _ = short_id_from_channel_name(&s);
        let _ = short_id_from_channel_name(&format!("ticket-{s}"));
    }

    #[test]
    fn a_tickets_channel_name_gives_its_short_id(creator in any::<u64>(), guild in any::<u64>()) {
        let t = Ticket::new(guild, creator, chrono::Utc::now());
        let (name, short) = (t.channel_name(), t.short_id());
        prop_assert_eq!(short_id_from_channel_name(&name), Some(short.as_str()));
    }

    #[test]
    fn status_and_event_names_round_trip(s in text(), i in 0usize..2) {
        let _ = s.parse::<TicketStatus>();
        let _ = s.parse::<EventKind>();
        let status = [TicketStatus::Open, TicketStatus::Closed][i];
        prop_assert_eq!(status.as_str().parse::<TicketStatus>().ok(), Some(status));
    }

    #[test]
    fn uri_redaction_hides_any_password(
        user in "[a-z]{1,8}",
        pw in password(),
        host in "[a-z]{1,10}(:[0-9]{1,5})?",
        tail in "(/[a-z]{0,8})?(\\?[a-z=&]{0,12})?",
        scheme in prop::sample::select(vec!["mongodb", "mongodb+srv", "mysql"]),
    ) {
        let uri = format!("{scheme}://{user}:{pw}@{host}{tail}");
        let shown = redact_uri(&uri);
        prop_assert!(!shown.contains(&pw), "{shown}");
        prop_assert!(shown.contains(&user), "{shown}");
    }

    #[test]
    fn redaction_never_panics(s in text()) {
        let _ = redact_uri(&s);
        let _ = redact_uri(&format!("mongodb://{s}"));
    }

    #[test]
    fn a_mongo_uri_password_reaches_no_message(
        pw in password(),
        host in "[a-z]{1,10}(:[0-9]{1,5})?",
    ) {
        let uri = format!("mongodb://bob:{pw}@{host}/db");
        let vars = Vars::from_pairs([("DB_TYPE", "mongodb"), ("MONGO_URI", uri.as_str())]);
        match DbConfig::from_vars(&vars) {
            Ok(c) => {
                let shown = format!("{c:?} {}", c.target());
                prop_assert!(!shown.contains(&pw), "{}", shown);
            }
            Err(e) => {
                let shown = format!("{e} {e:?}");
                prop_assert!(!shown.contains(&pw), "{}", shown);
            }
        }
        let settings = BotSettings::from_vars(&bot_vars(&[("DB_TYPE", "mongodb"), ("MONGO_URI", &uri)]));
        match settings {
            Ok(s) => {
                let shown = format!("{s:?}");
                prop_assert!(!shown.contains(&pw), "{}", shown);
            }
            Err(e) => {
                let shown = e.to_string();
                prop_assert!(!shown.contains(&pw), "{}", shown);
            }
        }
    }

    #[test]
    fn a_mysql_password_and_the_token_reach_no_message(pw in password(), port in text()) {
        let vars = bot_vars(&[
            ("DB_TYPE", "mysql"),
            ("MYSQL_PASSWORD", &pw),
            ("MYSQL_PORT", &port),
        ]);
        match BotSettings::from_vars(&vars) {
            Ok(s) => {
                let shown = format!("{s:?}");
                prop_assert!(!shown.contains(&pw) && !shown.contains("fuzz-Token-Value"));
            }
            Err(e) => {
                let shown = format!("{e} {e:?}");
                prop_assert!(!shown.contains(&pw) && !shown.contains("fuzz-Token-Value"), "{shown}");
            }
        }
    }

    #[test]
    fn a_bad_value_names_its_variable(i in 0..VARIABLES.len(), value in value()) {
        let var = VARIABLES[i];
        if let Err(e) = BotSettings::from_vars(&bot_vars(&[(var, &value)])) {
            let named: Vec<&str> = e.problems.iter().map(|p| p.variable.as_str()).collect();
            prop_assert!(!named.is_empty());
            // A bad value of `var` is reported as `var`, or as what it makes necessary
            // (DB_TYPE=mysql asks for MYSQL_*).
            prop_assert!(
                named.contains(&var) || var == "DB_TYPE",
                "{var}={value:?} refused as {named:?}"
            );
            let secret = matches!(var, "BOT_TOKEN" | "MYSQL_PASSWORD" | "MONGO_URI");
            if secret && value.trim().len() >= 6 {
                prop_assert!(!e.to_string().contains(value.trim()), "{e}");
            }
        }
    }

    #[test]
    fn snowflake_variables_take_every_u64_but_zero(id in any::<u64>()) {
        let text = id.to_string();
        let r = BotSettings::from_vars(&bot_vars(&[("SUPPORT_ROLE_ID", &text)]));
        if id == 0 {
            prop_assert!(r.is_err());
        } else {
            prop_assert_eq!(r.expect("a snowflake").support_role_id, id);
        }
    }

    #[test]
    fn env_files_never_panic(text in text()) {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(text.as_bytes()).expect("write");
        let _ = read_env_file(f.path());
    }

    #[test]
    fn env_files_round_trip_plain_values(
        pairs in prop::collection::hash_map("[A-Z][A-Z0-9_]{0,12}", "[A-Za-z0-9_./:@+-]{0,24}", 0..8),
        quote in 0usize..3,
    ) {
        let q = ["", "\"", "'"][quote];
        let text: String = pairs
            .iter()
            .map(|(k, v)| format!("{k} = {q}{v}{q}  # note\n"))
            .collect();
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(text.as_bytes()).expect("write");
        let read: HashMap<String, String> = read_env_file(f.path()).expect("a plain file parses");
        for (k, v) in &pairs {
            // Unquoted, ` # note` ends the value; quoted, the value is exactly what is inside.
            prop_assert_eq!(read.get(k).map(String::as_str), Some(v.as_str()), "{}", text);
        }
    }

    #[test]
    fn what_the_formatter_writes_parses_back(secs in 0i64..=i64::MAX / 1000) {
        // `format_duration` writes `1d 2h`; the parser once refused it.
        let d = Duration::seconds(secs);
        let text = format_duration(d);
        prop_assert_eq!(parse_duration(&text), Ok(d), "{}", text);
    }

    #[test]
    fn cursors_never_panic(s in text(), n in any::<i128>(), tail in text()) {
        let _ = s.parse::<Cursor>();
        let _ = format!("{n}.{tail}").parse::<Cursor>();
    }

    #[test]
    fn cursors_round_trip(micros in any::<i64>(), bytes in any::<[u8; 16]>()) {
        if let Some(created_at) = DateTime::from_timestamp_micros(micros) {
            let c = Cursor { created_at, id: Uuid::from_bytes(bytes) };
            prop_assert_eq!(c.to_string().parse::<Cursor>(), Ok(c));
        }
    }

    #[test]
    fn database_urls_never_panic(
        s in text(),
        scheme in prop::sample::select(vec![
            "", "sqlite:", "sqlite://", "mysql://", "mariadb://", "mongodb://", "mongodb+srv://",
            "MYSQL://", "postgres://",
        ]),
    ) {
        let _ = DbConfig::from_url(&s, None);
        let _ = DbConfig::from_url(&format!("{scheme}{s}"), Some("db"));
    }

    #[test]
    fn a_database_url_password_reaches_no_message(
        scheme in prop::sample::select(vec![
            "mysql://", "mariadb://", "MySQL://", "mongodb://", "mongodb+srv://", "postgres://",
            "mysql:/", "mysql:", "",
        ]),
        user in "[a-z]{0,8}",
        pw in password(),
        host in "(@([a-z]{1,10}(:[0-9]{1,5})?)?)?",
        tail in "(/[a-z]{0,8})?(\\?[a-z=&@]{0,12})?",
    ) {
        // `--database-url`, mistyped or not (`@host` forgotten: `host` may be empty). A password
        // that starts with digits once showed (`mysql://bob:12/ss@h/db` was read as host bob,
        // port 12, database `ss@h/db`). Without `@host`, a password holding `@` names a host,
        // and one of digits then `/` or `,` is a port: they cannot be told apart, not generated.
        let pws = match (host.starts_with('@'), pw.contains('@')) {
            (true, _) => vec![format!("12/{pw}"), format!("{pw}/x"), pw],
            (false, false) => vec![pw],
            (false, true) => vec![],
        };
        for pw in pws {
            let url = format!("{scheme}{user}:{pw}{host}{tail}");
            let shown = match DbConfig::from_url(&url, Some("t")) {
                Ok(c) => format!("{c:?} {}", c.target()),
                Err(e) => format!("{e} {e:?}"),
            };
            prop_assert!(!shows_password(&shown), "{} -> {}", url, shown);
        }
    }

    #[test]
    fn mysql_urls_round_trip(
        user in "\\PC{1,12}",
        pw in "\\PC{0,16}",
        host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5})?",
        port in 1u16..,
        // `.` and `..` are path segments a URL removes (and no MySQL database's name).
        database in "\\PC{1,16}".prop_filter("a dot segment", |d| d != "." && d != ".."),
    ) {
        let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        let auth = if pw.is_empty() { enc(&user) } else { format!("{}:{}", enc(&user), enc(&pw)) };
        let url = format!("mysql://{auth}@{host}:{port}/{}", enc(&database));
        let want = DbConfig::Mysql(MysqlConfig {
            host,
            port,
            user,
            password: Secret::new(pw),
            database,
        });
        prop_assert_eq!(DbConfig::from_url(&url, None).ok(), Some(want), "{}", url);
    }

    #[test]
    fn env_file_errors_show_no_value(
        pw in password(),
        lines in prop::collection::vec(
            prop::sample::select(vec![
                "BOT_TOKEN=\"{pw}", "MYSQL_PASSWORD='{pw}", "MYSQL_PASSWORD={pw} x'y",
                "export MONGO_URI = \"{pw}\" '", "BOT_TOKEN={pw}", "A=\"ok\"", "B='ok'",
                "# comment {pw}", "C=\"${D}\"", "no equals", "X=a b", "Y=\\", "",
            ]),
            1..8,
        ),
    ) {
        let text: String = lines.iter().map(|l| l.replace("{pw}", &pw) + "\n").collect();
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(text.as_bytes()).expect("write");
        if let Err(e) = read_env_file(f.path()) {
            // The temporary file's random name may hold a marker.
            let shown = format!("{e} {e:?}").replace(&e.path, "");
            prop_assert!(!shows_password(&shown), "{:?} -> {}", text, shown);
        }
    }

    #[test]
    fn an_env_file_error_names_the_variable(
        key in "[A-Z][A-Z0-9_]{0,15}",
        broken in prop::sample::select(vec!["\"unclosed", "'unclosed", "a b", "x'y", "\"a\" b"]),
        before in prop::collection::vec("[A-Z]{1,4}=[a-z]{0,4}", 0..3),
    ) {
        let text = format!("{}\n{key}={broken}\nAFTER=1\n", before.join("\n"));
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(text.as_bytes()).expect("write");
        if let Err(e) = read_env_file(f.path()) {
            prop_assert!(e.to_string().contains(&format!("{key}=")), "{:?} -> {}", text, e);
        }
    }

    #[test]
    fn variables_debug_shows_no_value(pw in password(), i in 0..VARIABLES.len()) {
        let vars = Vars::from_pairs([(VARIABLES[i], pw.as_str()), ("MYSQL_PASSWORD", pw.as_str())]);
        let shown = format!("{vars:?}");
        prop_assert!(!shows_password(&shown), "{}", shown);
        prop_assert!(shown.contains("MYSQL_PASSWORD"), "{}", shown);
    }
}
