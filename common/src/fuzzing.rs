//! What the property tests ("fuzzing" on stable, in the normal test run) of user input share,
//! in every crate that reads such input: the run's configuration and the text that breaks
//! parsers. For tests only: built under `cfg(test)` here and with the `fuzzing` feature for the
//! other crates' tests (and this crate's integration tests).

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

/// `cases` per property unless `PROPTEST_CASES` says otherwise; the seeds of failed cases are
/// kept in `regressions`. Give it an absolute path (`concat!(env!("CARGO_MANIFEST_DIR"), …)`):
/// proptest would otherwise resolve `file!()`, relative to the workspace, against the crate's
/// directory when saving.
pub fn config(regressions: &'static str, cases: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..Config::default()
    }
}

/// Any text: proptest's `any::<String>()` holds no control character (no NUL, newline, BOM
/// or bidi override); these do.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(?s).{0,64}",
        "[\\x00-\\x1f\\x7f\\u{85}\\u{feff}\\u{202e}\\u{2028} a-z0-9:=@/#'\"\\\\.-]{0,48}",
    ]
}
