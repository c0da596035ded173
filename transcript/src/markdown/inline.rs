//! Inline markup: styles, spoilers, code, links, mentions and escapes.

use chrono::DateTime;

use super::angle::{angle, format_time, http_scheme_len, is_http_url, Angle};
use super::blocks::Renderer;
use super::{escape_into, MAX_DEPTH};
use crate::format::{css_color, iso_time};

impl Renderer<'_, '_, '_> {
    /// Renders inline markup of `s`. `links`: whether links may be made (not inside a link).
    pub(super) fn inline(&mut self, s: &str, depth: usize, links: bool) {
        if depth > MAX_DEPTH {
            escape_into(self.out, s);
            return;
        }
        let b = s.as_bytes();
        let mut i = 0;
        let mut text_start = 0;
        // Per delimiter: a search for its closer from a position at or after this failed.
        let mut no_closer = [usize::MAX; 6];
        macro_rules! flush {
            () => {
                if text_start < i {
                    escape_into(self.out, &s[text_start..i]);
                }
            };
        }
        while i < b.len() {
            let c = b[i];
            match c {
                b'\\' if i + 1 < b.len() && b[i + 1].is_ascii_punctuation() => {
                    flush!();
                    escape_into(self.out, &s[i + 1..i + 2]);
                    i += 2;
                    text_start = i;
                    continue;
                }
                b'\n' => {
                    flush!();
                    self.out.push_str("<br>");
                    i += 1;
                    text_start = i;
                    continue;
                }
                b'`' => {
                    let run = b[i..].iter().take_while(|&&x| x == b'`').count();
                    if run <= 2 {
                        let delim = &s[i..i + run];
                        if let Some(close) = find_exact_run(s, i + run, delim) {
                            flush!();
                            self.out.push_str("<code class=\"inline\">");
                            escape_into(self.out, &s[i + run..close]);
                            self.out.push_str("</code>");
                            i = close + run;
                            text_start = i;
                            continue;
                        }
                    }
                    i += run;
                    continue;
                }
                b'<' => {
                    if let Some((tok, len)) = angle(&s[i..]) {
                        if links || !matches!(tok, Angle::Link(_)) {
                            flush!();
                            self.angle_html(&tok, s, i, len);
                            i += len;
                            text_start = i;
                            continue;
                        }
                    }
                }
                b'@' => {
                    let rest = &s[i..];
                    let word = if rest.starts_with("@everyone") {
                        Some("@everyone")
                    } else if rest.starts_with("@here") {
                        Some("@here")
                    } else {
                        None
                    };
                    if let Some(w) = word {
                        flush!();
                        self.out.push_str("<span class=\"mention\">");
                        self.out.push_str(w);
                        self.out.push_str("</span>");
                        i += w.len();
                        text_start = i;
                        continue;
                    }
                }
                b'[' if links => {
                    if let Some((label, url, len)) = masked_link(&s[i..]) {
                        flush!();
                        self.link_open(url);
                        self.inline(label, depth + 1, false);
                        self.out.push_str("</a>");
                        i += len;
                        text_start = i;
                        continue;
                    }
                }
                b'h' | b'H' if links => {
                    let prev_ok = i == 0
                        || !s[..i]
                            .chars()
                            .next_back()
                            .is_some_and(char::is_alphanumeric);
                    if prev_ok {
                        if let Some(len) = bare_link(&s[i..]) {
                            flush!();
                            let url = &s[i..i + len];
                            self.link_open(url);
                            escape_into(self.out, url);
                            self.out.push_str("</a>");
                            i += len;
                            text_start = i;
                            continue;
                        }
                    }
                }
                b'*' | b'_' | b'~' | b'|' => {
                    if let Some((kind, open_len, close)) = self.delimited(s, i, &mut no_closer) {
                        flush!();
                        let (open_tag, close_tag) = TAGS[kind];
                        self.out.push_str(open_tag);
                        self.inline(&s[i + open_len..close], depth + 1, links);
                        self.out.push_str(close_tag);
                        i = close + open_len;
                        text_start = i;
                        continue;
                    }
                    // Skip the whole run so that "****" is not retried at every star.
                    let run = b[i..].iter().take_while(|&&x| x == c).count();
                    i += run;
                    continue;
                }
                _ => {}
            }
            // Advance one character (keep UTF-8 boundaries).
            i += utf8_len(c);
        }
        flush!();
    }

    /// Which delimited span starts at `i`, if closed: (kind, delimiter length, closer index).
    fn delimited(
        &self,
        s: &str,
        i: usize,
        no_closer: &mut [usize; 6],
    ) -> Option<(usize, usize, usize)> {
        let b = s.as_bytes();
        let rest = &s[i..];
        // Double delimiters first.
        for (kind, delim) in [(0usize, "**"), (1, "__"), (2, "~~"), (3, "||")] {
            if !rest.starts_with(delim) {
                continue;
            }
            if i >= no_closer[kind] {
                continue;
            }
            let ch = delim.as_bytes()[0];
            // At least one character inside.
            let Some(&first) = b.get(i + 2) else {
                continue;
            };
            let mut from = i + 2 + utf8_len(first);
            let found = loop {
                let Some(off) = s.get(from..).and_then(|t| t.find(delim)) else {
                    break None;
                };
                let at = from + off;
                // "**a***": the closer is the last two of a run.
                if b.get(at + 2) == Some(&ch) && (kind == 0 || kind == 1) {
                    from = at + 1;
                    continue;
                }
                break Some(at);
            };
            match found {
                Some(close) => return Some((kind, 2, close)),
                None => no_closer[kind] = no_closer[kind].min(i),
            }
        }
        match b[i] {
            b'*' => {
                // *italics*: not "* " and not "**".
                let next = *b.get(i + 1)?;
                if next.is_ascii_whitespace() || next == b'*' || i >= no_closer[4] {
                    return None;
                }
                let mut j = i + 1;
                while j < b.len() {
                    match b[j] {
                        b'\\' => j += 2,
                        b'*' if b.get(j + 1) == Some(&b'*') => j += 2,
                        b'*' if !b[j - 1].is_ascii_whitespace() => return Some((4, 1, j)),
                        _ => j += 1,
                    }
                }
                no_closer[4] = no_closer[4].min(i);
                None
            }
            b'_' => {
                // _italics_: not inside a word (snake_case stays as it is).
                if i > 0 && is_word_char_before(s, i) {
                    return None;
                }
                let next = *b.get(i + 1)?;
                if next == b'_' || next.is_ascii_whitespace() {
                    return None;
                }
                let mut j = i + 1;
                while j < b.len() {
                    match b[j] {
                        b'\\' => j += 2,
                        b'_' if b.get(j + 1) == Some(&b'_') => j += 2,
                        b'_' => {
                            let after_ok = s[j + 1..]
                                .chars()
                                .next()
                                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                            return after_ok.then_some((5, 1, j));
                        }
                        _ => j += 1,
                    }
                }
                None
            }
            _ => None,
        }
    }

    fn link_open(&mut self, url: &str) {
        self.out.push_str("<a href=\"");
        escape_into(self.out, url);
        self.out.push_str("\" title=\"");
        escape_into(self.out, url);
        self.out
            .push_str("\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">");
    }

    fn angle_html(&mut self, tok: &Angle<'_>, s: &str, i: usize, len: usize) {
        let names = self.names;
        match *tok {
            Angle::User(id) => {
                self.out.push_str("<span class=\"mention\" title=\"user ");
                self.out.push_str(&id.to_string());
                self.out.push_str("\">@");
                match names.users.get(&id) {
                    Some(u) => escape_into(self.out, u.shown_name()),
                    None => self.out.push_str("unknown-user"),
                }
                self.out.push_str("</span>");
            }
            Angle::Role(id) => {
                let role = names.roles.get(&id);
                match role.and_then(|r| r.color).filter(|&c| c != 0) {
                    Some(color) => {
                        let hex = css_color(color);
                        self.out.push_str("<span class=\"mention\" style=\"color:");
                        self.out.push_str(&hex);
                        self.out.push_str(";background-color:");
                        self.out.push_str(&hex);
                        self.out.push_str("26\"");
                    }
                    None => self.out.push_str("<span class=\"mention\""),
                }
                self.out.push_str(" title=\"role ");
                self.out.push_str(&id.to_string());
                self.out.push_str("\">@");
                match role {
                    Some(r) => escape_into(self.out, &r.name),
                    None => self.out.push_str("unknown-role"),
                }
                self.out.push_str("</span>");
            }
            Angle::Channel(id) => {
                self.out
                    .push_str("<span class=\"mention\" title=\"channel ");
                self.out.push_str(&id.to_string());
                self.out.push_str("\">#");
                match names.channels.get(&id) {
                    Some(c) => escape_into(self.out, &c.name),
                    None => self.out.push_str("unknown-channel"),
                }
                self.out.push_str("</span>");
            }
            Angle::Command(name) => {
                self.out.push_str("<span class=\"mention\">/");
                escape_into(self.out, name);
                self.out.push_str("</span>");
            }
            Angle::Emoji(name) => {
                self.out.push_str("<span class=\"emoji\" title=\"");
                escape_into(self.out, &s[i..i + len]);
                self.out.push_str("\">:");
                escape_into(self.out, name);
                self.out.push_str(":</span>");
            }
            Angle::Time(secs, style) => match DateTime::from_timestamp(secs, 0) {
                Some(t) => {
                    self.out.push_str("<time class=\"ts\" datetime=\"");
                    self.out.push_str(&iso_time(&t));
                    self.out.push_str("\" title=\"");
                    self.out.push_str(&crate::format::full_time(&t));
                    self.out.push_str("\">");
                    self.out
                        .push_str(&format_time(secs, style).unwrap_or_default());
                    self.out.push_str("</time>");
                }
                None => escape_into(self.out, &s[i..i + len]),
            },
            Angle::Link(url) => {
                self.link_open(url);
                escape_into(self.out, url);
                self.out.push_str("</a>");
            }
        }
    }
}

const TAGS: [(&str, &str); 6] = [
    ("<strong>", "</strong>"),
    ("<u>", "</u>"),
    ("<s>", "</s>"),
    ("<span class=\"spoiler\" tabindex=\"0\">", "</span>"),
    ("<em>", "</em>"),
    ("<em>", "</em>"),
];

fn utf8_len(first: u8) -> usize {
    match first {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

fn is_word_char_before(s: &str, i: usize) -> bool {
    s[..i]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Index of the next run of exactly `delim` (backticks) at or after `from` with at least one
/// character before it.
fn find_exact_run(s: &str, from: usize, delim: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut j = from;
    while j < b.len() {
        if b[j] == b'`' {
            let run = b[j..].iter().take_while(|&&x| x == b'`').count();
            if run == delim.len() && j > from {
                return Some(j);
            }
            j += run;
        } else {
            j += 1;
        }
    }
    None
}

/// `[label](url)` or `[label](<url>)` at the start of `s` with an http(s) url:
/// (label, url, length).
fn masked_link(s: &str) -> Option<(&str, &str, usize)> {
    let window = &s.as_bytes()[..s.len().min(1100)];
    let close = window.windows(2).position(|w| w == b"](")?;
    let label = &s[1..close];
    if label.trim().is_empty() || label.contains('[') || label.contains(']') || label.len() > 1024 {
        return None;
    }
    let after = &s[close + 2..];
    let (url, len) = if let Some(inner) = after.strip_prefix('<') {
        let end = inner.find(">)")?;
        (&inner[..end], close + 2 + 1 + end + 2)
    } else {
        // Balanced parentheses inside the URL (Wikipedia links).
        let mut depth = 0usize;
        let mut end = None;
        for (k, ch) in after.char_indices() {
            match ch {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = Some(k);
                    break;
                }
                ')' => depth -= 1,
                c if c.is_whitespace() => return None,
                _ => {}
            }
        }
        let end = end?;
        (&after[..end], close + 2 + end + 1)
    };
    is_http_url(url).then_some((label, url, len))
}

/// Length of a bare http(s) link at the start of `s`, trailing punctuation left out.
fn bare_link(s: &str) -> Option<usize> {
    http_scheme_len(s)?;
    let mut end = s
        .char_indices()
        .find(|&(_, c)| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
        .map_or(s.len(), |(k, _)| k);
    // Trailing punctuation is not part of the URL; a ')' only if unbalanced.
    loop {
        let url = &s[..end];
        let last = url.chars().next_back()?;
        let strip = match last {
            '.' | ',' | ':' | ';' | '!' | '?' | '\'' | '*' | '_' | '~' | '|' => true,
            ')' => url.matches('(').count() < url.matches(')').count(),
            _ => false,
        };
        if !strip {
            break;
        }
        end -= last.len_utf8();
    }
    is_http_url(&s[..end]).then_some(end)
}
