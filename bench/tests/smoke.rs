//! The benchmark still runs: a small run on SQLite prints a table with a number in every row.

use std::process::Command;

/// The first number of the `sqlite` cell of the row whose label starts with `label`. The run has
/// one backend, so the cell is the row's last: labels and values hold single spaces only, and
/// the table puts two or more between columns (a value wider than the header moves the cell's
/// start, so the header's indentation does not say where it begins).
fn first_number(report: &str, label: &str) -> f64 {
    assert!(
        report.lines().any(|l| l.trim_start().starts_with("sqlite")),
        "no table header in:\n{report}"
    );
    let line = report
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no row {label:?} in:\n{report}"));
    let cell = line.rsplit_once("  ").map_or("", |(_, cell)| cell).trim();
    let number = cell.split_whitespace().next().unwrap_or_default();
    number
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("row {label:?} has no number: {line:?}"))
}

#[test]
fn smoke_run_on_sqlite_reports_numbers() {
    let dir = std::env::temp_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_store-bench"))
        .args([
            "--backends",
            "sqlite",
            "--tickets",
            "2000",
            "--cycles",
            "50",
            "--concurrency",
            "4",
            "--repeat",
            "5",
            "--deep-page",
            "10",
        ])
        .arg("--sqlite-dir")
        .arg(&dir)
        .output()
        .expect("store-bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "store-bench failed:\n{stdout}\n{stderr}"
    );

    for rate in [
        "cycles/s (empty db)",
        "store ops/s, 3 per cycle (empty db)",
        "cycles/s (seeded db)",
        "seed rows/s",
        "peak RSS after seed",
    ] {
        let v = first_number(&stdout, rate);
        assert!(v.is_finite() && v > 0.0, "{rate}: {v}\n{stdout}");
    }
    assert_eq!(first_number(&stdout, "tickets seeded"), 2000.0);
    assert_eq!(
        first_number(&stdout, "deep page measured (no filter)"),
        10.0
    );
    for latency in [
        "cycle ms p50 / p99 (empty db)",
        "list p1 guild+open",
        "list p1 no filter",
        "list deep page no filter",
        "list deep page guild+open",
        "count guild",
        "get by id",
        "find_by_prefix short id",
        "get_by_channel",
    ] {
        let v = first_number(&stdout, latency);
        assert!(v.is_finite() && v >= 0.0, "{latency}: {v}\n{stdout}");
    }
    assert!(
        stdout.contains("query plans, sqlite") && stdout.contains("USING"),
        "no query plans:\n{stdout}"
    );
    assert!(
        !stdout.contains("error"),
        "an error was reported:\n{stdout}"
    );
}
