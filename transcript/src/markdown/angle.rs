//! Angle-bracket tokens: mentions, emoji, timestamps, `<links>`.

use chrono::DateTime;

use super::Names;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Angle<'s> {
    User(u64),
    Role(u64),
    Channel(u64),
    Command(&'s str),
    Emoji(&'s str),
    Time(i64, u8),
    Link(&'s str),
}

/// Parses `<…>` at the start of `s`: the token and its length in bytes.
pub(super) fn angle(s: &str) -> Option<(Angle<'_>, usize)> {
    let end = s.as_bytes().iter().take(512).position(|&b| b == b'>')?;
    let inner = &s[1..end];
    let len = end + 1;
    let id = |t: &str| -> Option<u64> {
        (!t.is_empty() && t.len() <= 20 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let tok = if let Some(rest) = inner.strip_prefix("@&") {
        Angle::Role(id(rest)?)
    } else if let Some(rest) = inner.strip_prefix("@!") {
        Angle::User(id(rest)?)
    } else if let Some(rest) = inner.strip_prefix('@') {
        Angle::User(id(rest)?)
    } else if let Some(rest) = inner.strip_prefix('#') {
        Angle::Channel(id(rest)?)
    } else if let Some(rest) = inner.strip_prefix("t:") {
        let (secs, style) = match rest.split_once(':') {
            Some((secs, style)) => (secs, style),
            None => (rest, "f"),
        };
        let style = match style.as_bytes() {
            [b @ (b't' | b'T' | b'd' | b'D' | b'f' | b'F' | b'R')] => *b,
            _ => return None,
        };
        let digits = secs.strip_prefix('-').unwrap_or(secs);
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Angle::Time(secs.parse().ok()?, style)
    } else if http_scheme_len(inner).is_some() {
        if !is_http_url(inner) {
            return None;
        }
        Angle::Link(inner)
    } else if let Some(rest) = inner.strip_prefix('/') {
        let (name, cid) = rest.rsplit_once(':')?;
        id(cid)?;
        if name.is_empty() || name.len() > 100 || name.chars().any(|c| c.is_control()) {
            return None;
        }
        Angle::Command(name)
    } else {
        let rest = inner.strip_prefix('a').unwrap_or(inner);
        let rest = rest.strip_prefix(':')?;
        let (name, eid) = rest.split_once(':')?;
        id(eid)?;
        if name.is_empty()
            || name.len() > 32
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return None;
        }
        Angle::Emoji(name)
    };
    Some((tok, len))
}

pub(super) fn format_time(secs: i64, style: u8) -> Option<String> {
    let t = DateTime::from_timestamp(secs, 0)?;
    let f = match style {
        b't' => "%H:%M UTC",
        b'T' => "%H:%M:%S UTC",
        b'd' => "%Y-%m-%d",
        b'D' => "%-d %B %Y",
        b'F' => "%A, %-d %B %Y %H:%M UTC",
        // f, and R (relative to the reader's now: shown absolute here)
        _ => "%-d %B %Y %H:%M UTC",
    };
    Some(t.format(f).to_string())
}

pub(super) fn plain_token(tok: &Angle<'_>, names: &Names<'_>) -> String {
    match *tok {
        Angle::User(id) => match names.users.get(&id) {
            Some(u) => format!("@{}", u.shown_name()),
            None => format!("@unknown-user({id})"),
        },
        Angle::Role(id) => match names.roles.get(&id) {
            Some(r) => format!("@{}", r.name),
            None => format!("@unknown-role({id})"),
        },
        Angle::Channel(id) => match names.channels.get(&id) {
            Some(c) => format!("#{}", c.name),
            None => format!("#unknown-channel({id})"),
        },
        Angle::Command(name) => format!("/{name}"),
        Angle::Emoji(name) => format!(":{name}:"),
        Angle::Time(secs, style) => format_time(secs, style).unwrap_or_else(|| secs.to_string()),
        Angle::Link(url) => url.to_string(),
    }
}

/// Whether `url` may become a link: `http://` or `https://` (any case), a host, and no
/// whitespace, control characters, `<`, `>` or `"`.
pub fn is_http_url(url: &str) -> bool {
    let Some(scheme_len) = http_scheme_len(url) else {
        return false;
    };
    let rest = &url[scheme_len..];
    !rest.is_empty()
        && !rest.starts_with(['/', '?', '#', '@', ':'])
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
}

/// Length of a leading `http://` or `https://` (any case).
pub(super) fn http_scheme_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() >= 8 && b[..8].eq_ignore_ascii_case(b"https://") {
        Some(8)
    } else if b.len() >= 7 && b[..7].eq_ignore_ascii_case(b"http://") {
        Some(7)
    } else {
        None
    }
}
