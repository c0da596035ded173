//! Property tests ("fuzzing" that runs on stable, inside the normal test run) of every parser of
//! user input in `common`: durations, ids and channel names, `.env` files and variables, database
//! URIs. Each must never panic, must round-trip what it formats, must name the variable it
//! refuses, and must never let a password or token through to an error, a Debug or a Display.
//!
//! The corpus: `tests/fuzz-corpus/*.txt` (hand-picked nasty inputs, one per line, run through
//! every parser on every run) and `tests/fuzz_parsers.regressions` (inputs proptest once failed
//! on, replayed first; created by proptest when a property fails). `PROPTEST_CASES=<n>` runs more.

use std::collections::HashMap;
use std::io::Write;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use ticketbot_common::config::{read_env_file, redact_uri, BotSettings, DbConfig, Vars};
use ticketbot_common::duration::parse_duration;
use ticketbot_common::ticket::{short_id_from_channel_name, EventKind, Ticket, TicketStatus};

/// Case counts sized for a debug build on 2 cores (the whole file in a few seconds).
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    }
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

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn durations_never_panic(s in any::<String>()) {
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
    fn channel_names_never_panic(s in any::<String>()) {
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
    fn status_and_event_names_round_trip(s in any::<String>(), i in 0usize..2) {
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
    fn redaction_never_panics(s in any::<String>()) {
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
    fn a_mysql_password_and_the_token_reach_no_message(pw in password(), port in any::<String>()) {
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
    fn a_bad_value_names_its_variable(i in 0..VARIABLES.len(), value in any::<String>()) {
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
    fn env_files_never_panic(text in any::<String>()) {
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
}
