//! `tally(shape, k1, k2, …)`: an aggregate function registered on SQLite's read connections
//! that counts rows by several keys in one pass, without the sort SQLite's GROUP BY needs.
//!
//! A report needs a dozen counts per key over the same rows (durations per minute, tickets
//! per hour, history entries per staff member). As GROUP BY queries that is a dozen scans, each
//! sorting up to a million keys; as one `tally` it is one scan that keeps a small table of
//! counts per key (a few thousand entries: minutes, hours, staff members).
//!
//! `shape` lists how many arguments make each key, e.g. `'1 1 2'`: the first argument counted
//! alone, the second alone, the third and fourth together. A key with a NULL part is not
//! counted (as GROUP BY over a WHERE … IS NOT NULL). The result is text, one line per key:
//! `group key… count`.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::Connection;

use crate::error::{StoreError, StoreResult};

/// The longest key `tally` counts.
const MAX_WIDTH: usize = 2;

type Key = (u8, [i64; MAX_WIDTH]);
type Counts = HashMap<Key, u64, BuildHasherDefault<rustc_hash::FxHasher>>;

struct Tally;

struct State {
    widths: Vec<usize>,
    counts: Counts,
}

impl Aggregate<State, String> for Tally {
    fn init(&self, ctx: &mut Context<'_>) -> rusqlite::Result<State> {
        let shape: String = ctx.get(0)?;
        let widths = shape
            .split_whitespace()
            .map(|w| {
                w.parse::<usize>()
                    .ok()
                    .filter(|w| (1..=MAX_WIDTH).contains(w))
            })
            .collect::<Option<Vec<_>>>()
            .filter(|w| w.len() < usize::from(u8::MAX) && w.iter().sum::<usize>() + 1 == ctx.len())
            .ok_or_else(|| {
                user_error(format!(
                    "tally: shape {shape:?} does not match its {} keys",
                    ctx.len() - 1
                ))
            })?;
        Ok(State {
            widths,
            counts: Counts::default(),
        })
    }

    fn step(&self, ctx: &mut Context<'_>, state: &mut State) -> rusqlite::Result<()> {
        let mut arg = 1;
        for (group, &width) in state.widths.iter().enumerate() {
            let mut key = [0; MAX_WIDTH];
            let mut whole = true;
            for part in key.iter_mut().take(width) {
                match ctx.get_raw(arg) {
                    ValueRef::Integer(v) => *part = v,
                    ValueRef::Null => whole = false,
                    other => {
                        return Err(user_error(format!(
                            "tally: argument {arg} is {:?}, not an integer",
                            other.data_type()
                        )))
                    }
                }
                arg += 1;
            }
            if whole {
                // The group index fits: `init` allows fewer than 255 groups.
                *state.counts.entry((group as u8, key)).or_default() += 1;
            }
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, state: Option<State>) -> rusqlite::Result<String> {
        let Some(state) = state else {
            return Ok(String::new());
        };
        let mut out = String::with_capacity(state.counts.len() * 24);
        for ((group, key), n) in state.counts {
            use std::fmt::Write;
            let _ = write!(out, "{group}");
            for part in &key[..state.widths[usize::from(group)]] {
                let _ = write!(out, " {part}");
            }
            let _ = writeln!(out, " {n}");
        }
        Ok(out)
    }
}

fn user_error(message: String) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(message.into())
}

/// Makes `tally` callable on `conn`.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_aggregate_function(
        "tally",
        -1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        Tally,
    )
}

/// One counted key (as wide as its group's shape, padded with zeros) and its count.
pub(crate) type Counted = ([i64; MAX_WIDTH], u64);

/// A `tally` result: per group, its counted keys, in no particular order.
pub(crate) fn parse(text: &str, groups: usize) -> StoreResult<Vec<Vec<Counted>>> {
    let bad = || StoreError::corrupt("tally", text.chars().take(80).collect::<String>());
    let mut out = vec![Vec::new(); groups];
    for line in text.lines() {
        let mut numbers = line.split(' ').map(str::parse::<i64>);
        let group = numbers.next().and_then(Result::ok).ok_or_else(bad)?;
        let numbers: Vec<i64> = numbers.collect::<Result<_, _>>().map_err(|_| bad())?;
        let (&n, key_parts) = numbers.split_last().ok_or_else(bad)?;
        let mut key = [0; MAX_WIDTH];
        if key_parts.len() > MAX_WIDTH {
            return Err(bad());
        }
        key[..key_parts.len()].copy_from_slice(key_parts);
        let slot = usize::try_from(group)
            .ok()
            .and_then(|g| out.get_mut(g))
            .ok_or_else(bad)?;
        slot.push((key, u64::try_from(n).map_err(|_| bad())?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(sql: &str) -> rusqlite::Result<String> {
        let conn = Connection::open_in_memory()?;
        register(&conn)?;
        conn.execute_batch(
            "CREATE TABLE t (a INTEGER, b INTEGER, c INTEGER); \
             INSERT INTO t VALUES (1, 10, 100), (1, NULL, 100), (2, 10, 200), (1, 10, 100);",
        )?;
        conn.query_row(sql, [], |r| r.get(0))
    }

    #[test]
    fn counts_each_key_and_skips_keys_with_a_null() {
        let text = run("SELECT tally('1 2 1', a, b, c, b) FROM t").unwrap_or_default();
        let mut groups = parse(&text, 3).unwrap_or_default();
        for g in &mut groups {
            g.sort_unstable();
        }
        assert_eq!(groups[0], vec![([1, 0], 3), ([2, 0], 1)]);
        assert_eq!(groups[1], vec![([10, 100], 2), ([10, 200], 1)]);
        assert_eq!(groups[2], vec![([10, 0], 3)]);
    }

    #[test]
    fn no_rows_is_no_counts_and_a_bad_shape_is_an_error() {
        let text = run("SELECT tally('1', a) FROM t WHERE a > 5").unwrap_or_else(|e| e.to_string());
        assert_eq!(text, "");
        let err = run("SELECT tally('1 1', a) FROM t").map_err(|e| e.to_string());
        assert!(
            matches!(&err, Err(e) if e.contains("does not match")),
            "{err:?}"
        );
        let err = run("SELECT tally('1', 'x') FROM t").map_err(|e| e.to_string());
        assert!(
            matches!(&err, Err(e) if e.contains("not an integer")),
            "{err:?}"
        );
        assert!(parse("0 x 1", 1).is_err());
        assert!(parse("3 1 1", 1).is_err());
    }
}
