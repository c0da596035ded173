//! Property tests of ticketctl's own parsers of user input (ticket ids, times): never a panic,
//! whatever is typed; what they accept round-trips. The shared parsers (durations, `.env`,
//! URIs) are fuzzed in `common/tests/fuzz_parsers.rs`, with the corpus in
//! `common/tests/fuzz-corpus/`, which is run through these parsers too. Seeds of failed cases
//! are kept in `cli/tests/proptest-regressions/fuzz.txt`; `PROPTEST_CASES=<n>` runs more.

use chrono::{DateTime, SecondsFormat, Utc};
use proptest::prelude::*;
use proptest::test_runner::Config;
use ticketbot_common::config::Vars;
use ticketbot_common::fuzzing::{self, text};
use uuid::Uuid;

use crate::commands::parse_time;
use crate::connect::{source_config, target_config};
use crate::opt::{BackendArg, ConnectOpts, TargetOpts};
use crate::resolve::{parse, IdArg};

fn config() -> Config {
    fuzzing::config(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/proptest-regressions/fuzz.txt"
        ),
        512,
    )
}

/// A password with the characters that break URLs, and markers that show any part of it.
fn password() -> impl Strategy<Value = String> {
    "[/?#@:%&= a-zA-Z0-9]{0,12}".prop_map(|odd| format!("Zq9{odd}Kx7"))
}

fn to(url: &str, backend: BackendArg) -> TargetOpts {
    TargetOpts {
        to: backend,
        to_url: Some(url.to_owned()),
        sqlite_path: None,
        mysql_host: None,
        mysql_port: None,
        mysql_user: None,
        mysql_password: None,
        mysql_database: None,
        mongo_uri: None,
        mongo_db_name: None,
    }
}

fn corpus() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../common/tests/fuzz-corpus");
    ["durations.txt", "ids.txt", "uris.txt", "env-lines.txt"]
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(format!("{dir}/{f}"))
                .unwrap_or_else(|e| panic!("cannot read {dir}/{f}: {e}"))
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_corpus_through_every_parser() {
    let vars = Vars::default();
    for line in corpus() {
        let _ = parse(&line);
        let _ = parse_time("--since", &line);
        let conn = ConnectOpts {
            env_file: None,
            no_dotenv: true,
            database_url: Some(line.clone()),
        };
        let _ = source_config(&conn, &vars);
        let _ = target_config(&to(&line, BackendArg::Mysql), &vars);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ids_never_panic(s in text()) {
        let _ = parse(&s);
        let _ = parse(&format!("ticket-{s}"));
    }

    #[test]
    fn times_never_panic(s in text(), n in any::<i64>(), unit in "[smhdwy]") {
        let _ = parse_time("--since", &s);
        let _ = parse_time("--since", &format!("{n}{unit}"));
        let _ = parse_time("--until", &format!("{}-13-45", n % 100_000));
    }

    #[test]
    fn ids_round_trip(bytes in any::<[u8; 16]>(), upper in any::<bool>(), len in 4usize..36) {
        let id = Uuid::from_bytes(bytes);
        let text = if upper { id.to_string().to_uppercase() } else { id.to_string() };
        prop_assert_eq!(parse(&text).ok(), Some(IdArg::Full(id)));
        let prefix = &id.to_string()[..len];
        prop_assert_eq!(parse(prefix).ok(), Some(IdArg::Prefix(prefix.to_owned())));
    }

    #[test]
    fn channel_ids_round_trip(c in 100_000_000_000_000u64..) {
        prop_assert_eq!(parse(&c.to_string()).ok(), Some(IdArg::Channel(c)));
    }

    #[test]
    fn ids_round_trip_in_any_case_with_the_channel_prefix(
        bytes in any::<[u8; 16]>(),
        len in 4usize..36,
        prefix in prop::sample::select(vec!["ticket-", "Ticket-", "TICKET-", " ticket-"]),
    ) {
        // `Ticket-1B4E28BA` was refused: `ticket-` was removed before lowercasing.
        let id = Uuid::from_bytes(bytes).to_string();
        let got = parse(&format!("{prefix}{}", id[..len].to_uppercase()));
        prop_assert_eq!(got.ok(), Some(IdArg::Prefix(id[..len].to_owned())));
    }

    #[test]
    fn times_round_trip(secs in -62_135_596_800i64..253_402_300_799, nanos in 0u32..1_000_000_000) {
        // Years 1 to 9999, as RFC 3339 (any precision, any offset) and as a date.
        let t = DateTime::from_timestamp(secs, nanos).unwrap_or_default();
        let text = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        prop_assert_eq!(parse_time("--since", &text).ok(), Some(t), "{}", text);
        if let Some(india) = chrono::FixedOffset::east_opt(5 * 3600 + 1800) {
            let there = t.with_timezone(&india).to_rfc3339();
            prop_assert_eq!(parse_time("--since", &there).ok(), Some(t), "{}", there);
        }
        let day = t.date_naive();
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        prop_assert_eq!(parse_time("--until", &day.to_string()).ok(), Some(midnight));
    }

    #[test]
    fn ages_are_that_long_ago(secs in 0i64..3_000_000_000) {
        let age = chrono::Duration::seconds(secs);
        let text = ticketbot_common::duration::format_duration(age);
        let t = parse_time("--since", &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let off = (Utc::now() - age - t).num_seconds().abs();
        prop_assert!(off < 60, "{} -> {}", text, t);
    }

    #[test]
    fn time_errors_name_the_flag(
        s in text(),
        flag in prop::sample::select(vec!["--since", "--until", "--closed-before"]),
    ) {
        if let Err(e) = parse_time(flag, &s) {
            prop_assert!(e.to_string().starts_with(flag), "{}", e);
        }
    }

    #[test]
    fn database_url_errors_name_their_flag_and_hide_the_password(
        scheme in prop::sample::select(vec![
            "mysql://", "mysql:/", "mongodb://", "postgres://", "sqlite://", "",
        ]),
        pw in password(),
        host in "(@[a-z]{1,8}(:[0-9]{1,5})?)?",
        tail in "(/[a-z]{0,6})?",
    ) {
        let url = format!("{scheme}bob:{pw}{host}{tail}");
        if scheme == "sqlite://" || (host.is_empty() && pw.contains('@')) {
            // A file name (no password), or `@` naming the host: nothing to hide.
            return Ok(());
        }
        let vars = Vars::default();
        let conn = ConnectOpts { env_file: None, no_dotenv: true, database_url: Some(url.clone()) };
        let shown = match source_config(&conn, &vars) {
            Ok(c) => format!("{c:?} {}", c.target()),
            Err(e) => {
                prop_assert!(e.to_string().contains("--database-url"), "{}", e);
                format!("{e:#} {e:?}")
            }
        };
        prop_assert!(!shown.contains("Zq9") && !shown.contains("Kx7"), "{} -> {}", url, shown);
        for backend in [BackendArg::Sqlite, BackendArg::Mysql, BackendArg::Mongodb] {
            match target_config(&to(&url, backend), &vars) {
                Ok(c) => {
                    let shown = format!("{c:?} {}", c.target());
                    prop_assert!(!shown.contains("Zq9") && !shown.contains("Kx7"), "{}", shown);
                }
                Err(e) => {
                    let shown = format!("{e:#} {e:?}");
                    prop_assert!(!shown.contains("Zq9") && !shown.contains("Kx7"), "{}", shown);
                    // `--to-url` was reported as `--database-url`.
                    prop_assert!(!shown.contains("--database-url"), "{}", shown);
                }
            }
        }
    }
}
