//! The variables (the environment over `.env`), the readers of their values, and the problems
//! found in them.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One bad or missing variable and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub variable: String,
    pub fix: String,
}

impl Problem {
    pub fn new(variable: impl Into<String>, fix: impl Into<String>) -> Self {
        Problem {
            variable: variable.into(),
            fix: fix.into(),
        }
    }
}

/// Every configuration problem found, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    pub fn merge(mut self, other: ConfigError) -> Self {
        self.problems.extend(other.problems);
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration:")?;
        for p in &self.problems {
            write!(f, "\n  {}: {}", p.variable, p.fix)?;
        }
        Ok(())
    }
}

/// `key` as a Discord id (unset: `None`); anything else is a problem that says `how` to find it.
pub(super) fn snowflake(
    vars: &Vars,
    key: &str,
    how: &str,
    problems: &mut Vec<Problem>,
) -> Option<u64> {
    let raw = vars.get(key)?;
    match raw.parse::<u64>() {
        Ok(v) if v > 0 => Some(v),
        _ => {
            problems.push(Problem::new(
                key,
                format!("{raw:?} is not a Discord id (a number such as 123456789012345678); {how}"),
            ));
            None
        }
    }
}

/// `key` as yes/no (`1 true yes on`, `0 false no off`), `default` when unset.
pub(super) fn flag(vars: &Vars, key: &str, default: bool, problems: &mut Vec<Problem>) -> bool {
    match vars.get(key).map(str::to_ascii_lowercase).as_deref() {
        None => default,
        Some("1" | "true" | "yes" | "on") => true,
        Some("0" | "false" | "no" | "off") => false,
        Some(other) => {
            problems.push(Problem::new(
                key,
                format!("{other:?} is not a yes/no value; use 1 or 0"),
            ));
            default
        }
    }
}

/// `key` as a duration such as `7d` or `36h` (`default` when unset); `0`, `off`, `never` or
/// `no` is `None`.
pub(super) fn duration_var(
    vars: &Vars,
    key: &str,
    default: &str,
    problems: &mut Vec<Problem>,
) -> Option<chrono::Duration> {
    let raw = vars.get(key).unwrap_or(default);
    if matches!(
        raw.trim().to_ascii_lowercase().as_str(),
        "off" | "never" | "no"
    ) {
        return None;
    }
    match crate::duration::parse_duration(raw) {
        Ok(d) if d.is_zero() => None,
        Ok(d) => Some(d),
        Err(e) => {
            problems.push(Problem::new(key, format!("{e}; 0 turns it off")));
            None
        }
    }
}

/// `key` as a size in MiB from 0 to `max`, in bytes (`default` MiB when unset).
pub(super) fn megabytes(
    vars: &Vars,
    key: &str,
    default: u64,
    max: u64,
    problems: &mut Vec<Problem>,
) -> u64 {
    const MIB: u64 = 1024 * 1024;
    match vars.get(key) {
        None => default * MIB,
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if n <= max => n * MIB,
            _ => {
                problems.push(Problem::new(
                    key,
                    format!("{raw:?} is not a size in MiB from 0 to {max} (for example {default})"),
                ));
                default * MIB
            }
        },
    }
}

/// `DISCORD_API_ADDR` and `DISCORD_CA_FILE`: where `discord.com` is reached and which extra
/// CA is trusted (tests and TLS gateways), for the bot and the web view alike.
pub(super) fn discord_endpoint(
    vars: &Vars,
    problems: &mut Vec<Problem>,
) -> (Option<std::net::IpAddr>, Option<PathBuf>) {
    let api_addr = match vars.get("DISCORD_API_ADDR") {
        None => None,
        Some(a) => match a.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                problems.push(Problem::new(
            "DISCORD_API_ADDR",
            format!("{a:?} is not an IP address (it is for tests and TLS gateways; leave it unset for Discord)"),
            ));
                None
            }
        },
    };
    let ca_file = vars.get("DISCORD_CA_FILE").map(PathBuf::from);
    if let Some(f) = &ca_file {
        if !f.is_file() {
            problems.push(Problem::new(
            "DISCORD_CA_FILE",
            format!("{} is not a readable file; give the path of a PEM certificate, or leave it unset", f.display()),
        ));
        }
    }
    (api_addr, ca_file)
}

/// A snapshot of the variables: the process environment over the `.env` file, as the Python
/// bot's python-dotenv did (a variable already set wins). Blank values count as unset.
#[derive(Clone, Default)]
pub struct Vars {
    map: HashMap<String, String>,
}

/// The names only: values include the token and passwords.
impl fmt::Debug for Vars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.map.keys().collect();
        names.sort();
        f.debug_tuple("Vars").field(&names).finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct EnvFileError {
    pub path: String,
    #[source]
    pub source: dotenvy::Error,
}

impl Vars {
    /// The process environment only.
    pub fn from_env() -> Self {
        Vars {
            map: std::env::vars().collect(),
        }
    }

    /// The process environment over `path` (when it exists). Only a file that exists but cannot
    /// be read or parsed is an error.
    pub fn from_env_and_file(path: &Path) -> Result<Self, EnvFileError> {
        let mut vars = Vars::default();
        if path.exists() {
            vars.map = read_env_file(path)?;
        }
        vars.map.extend(std::env::vars());
        Ok(vars)
    }

    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Vars {
            map: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.map.insert(key.into(), value.into());
    }

    /// The trimmed value, `Some("")` when set but blank.
    pub fn get_set(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(|v| v.trim())
    }

    /// The trimmed value, `None` when unset or blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// Parses a `.env` file into a map, without touching the process environment.
///
/// The file is read as python-dotenv (the Python bot's loader) reads it: only `${NAME}` is
/// expanded, so a password such as `pa$word` stays as written (dotenvy alone would expand
/// `$word`).
pub fn read_env_file(path: &Path) -> Result<HashMap<String, String>, EnvFileError> {
    let err = |source, text: &str| EnvFileError {
        path: path.display().to_string(),
        source: hide_values(source, text),
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(dotenvy::Error::Io(e), ""))?;
    let text = escape_bare_dollars(&text);
    let iter = dotenvy::from_read_iter(std::io::Cursor::new(text.as_bytes()));
    iter.map(|item| item.map_err(|e| err(e, &text))).collect()
}

/// dotenvy's parse error quotes the line or the value, and after an unclosed quote the rest of
/// the file: tokens and passwords. It is replaced by the variable's name and the line number.
fn hide_values(e: dotenvy::Error, text: &str) -> dotenvy::Error {
    let dotenvy::Error::LineParse(quoted, at) = e else {
        return e;
    };
    // Where the quoted text starts a line, or follows `NAME=` on its line.
    let found = text
        .match_indices(quoted.as_str())
        .filter(|_| !quoted.is_empty())
        .find_map(|(pos, _)| {
            let start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
            let before = text[start..pos].trim_start_matches('\u{feff}');
            (before.trim().is_empty() || before.trim_end().ends_with('='))
                .then(|| (start, format!("{before}{quoted}")))
        });
    let shown = match found {
        Some((start, line)) => {
            let number = text[..start].matches('\n').count() + 1;
            let name = line
                .split_once('=')
                .map(|(k, _)| k.trim())
                .map(|k| k.strip_prefix("export ").unwrap_or(k).trim())
                .filter(|k| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            match name {
                Some(k) => format!("{k}=… (line {number}; the value is not shown)"),
                None => format!("line {number}, not shown"),
            }
        }
        None => "not shown".to_owned(),
    };
    dotenvy::Error::LineParse(shown, at)
}

/// Escapes each `$` that is not the start of `${` in unquoted and double-quoted values, so that
/// dotenvy keeps it literally. Single-quoted values and comments are left as they are.
fn escape_bare_dollars(text: &str) -> String {
    #[derive(PartialEq)]
    enum State {
        Key,
        Value,
        Single,
        Double,
        Comment,
    }
    let mut out = String::with_capacity(text.len());
    let mut state = State::Key;
    let mut chars = text.chars().peekable();
    let mut prev = '\n';
    while let Some(c) = chars.next() {
        if matches!(state, State::Value | State::Double) {
            // A backslash keeps the next character as it is; a bare `$` gets one.
            if c == '\\' {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.push(next);
                    prev = next;
                }
                continue;
            }
            if c == '$' && chars.peek() != Some(&'{') {
                out.push('\\');
            }
        }
        match state {
            State::Key => match c {
                '#' if prev == '\n' || prev.is_whitespace() => state = State::Comment,
                '=' => state = State::Value,
                _ => {}
            },
            State::Value => match c {
                '\'' if prev == '=' || prev.is_whitespace() => state = State::Single,
                '"' if prev == '=' || prev.is_whitespace() => state = State::Double,
                '#' if prev.is_whitespace() => state = State::Comment,
                _ => {}
            },
            State::Double => {
                if c == '"' {
                    state = State::Value;
                }
            }
            State::Single => {
                if c == '\'' {
                    state = State::Value;
                }
            }
            State::Comment => {}
        }
        if c == '\n' && state != State::Double && state != State::Single {
            state = State::Key;
        }
        out.push(c);
        prev = c;
    }
    out
}
