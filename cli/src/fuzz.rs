//! Property tests of ticketctl's own parsers of user input (ticket ids, times): never a panic,
//! whatever is typed; what they accept round-trips. The shared parsers (durations, `.env`,
//! URIs) are fuzzed in `common/tests/fuzz_parsers.rs`, with the corpus in
//! `common/tests/fuzz-corpus/`, which is run through these parsers too.

use proptest::prelude::*;
use uuid::Uuid;

use crate::commands::parse_time;
use crate::resolve::{parse, IdArg};

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
    for line in corpus() {
        let _ = parse(&line);
        let _ = parse_time("--since", &line);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ids_never_panic(s in any::<String>()) {
        let _ = parse(&s);
        let _ = parse(&format!("ticket-{s}"));
    }

    #[test]
    fn times_never_panic(s in any::<String>(), n in any::<i64>(), unit in "[smhdwy]") {
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
}
