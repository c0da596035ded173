//! Discord's markdown dialect to HTML, with every piece of user text escaped.
//!
//! A small dedicated parser (Discord's dialect is not CommonMark): it builds its output from
//! fixed tags and text that went through [`escape_into`] (askama's HTML escaper), so no user
//! text reaches the output unescaped. Only `http`/`https` URLs become links.
//!
//! Blocks: ```` ```lang ```` code blocks, `> ` quotes, `>>> ` quotes (to the end), `#`/`##`/`###`
//! headers, `-# ` subtext, `- `/`* ` and `1. ` lists. Inline: `**bold**`, `*italics*`,
//! `_italics_`, `__underline__`, `~~strike~~`, `||spoiler||`, `` `code` ``, masked links
//! `[text](https://…)`, bare links, `<https://…>`, mentions `<@id>` `<@!id>` `<@&id>` `<#id>`
//! `</command:id>`, `@everyone` `@here`, custom emoji `<:name:id>` and timestamps `<t:unix:f>`,
//! backslash escapes. Newlines are kept (`<br>`).

use std::collections::HashMap;
use std::fmt;

use askama::filters::Escaper;
use chrono::DateTime;

use crate::format::{css_color, iso_time};
use crate::model::{NamedRef, Transcript, User};

/// HTML made by this crate (fixed markup around escaped text): inserted as is by the templates.
///
/// Only this crate can make one; it is never built from unescaped user text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markup(String);

impl Markup {
    /// Wraps HTML that this crate built from fixed markup and escaped text.
    pub(crate) fn trusted(html: String) -> Self {
        Markup(html)
    }

    /// The HTML.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no HTML at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Markup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for Markup {}

/// Appends `text` to `out`, HTML-escaped (`& < > " '`) with askama's escaper; NUL characters
/// become U+FFFD (as an HTML parser would make them anyway).
pub fn escape_into(out: &mut String, text: &str) {
    let mut rest = text;
    loop {
        let (part, tail) = match rest.find('\0') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        // Writing into a String cannot fail.
        let _ = askama::filters::Html.write_escaped_str(&mut *out, part);
        match tail {
            Some(t) => {
                out.push('\u{FFFD}');
                rest = t;
            }
            None => break,
        }
    }
}

/// `text` HTML-escaped, see [`escape_into`].
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    escape_into(&mut out, text);
    out
}

/// Names for mentions: users, roles and channels by id.
#[derive(Debug, Default)]
pub struct Names<'a> {
    users: HashMap<u64, &'a User>,
    roles: HashMap<u64, &'a NamedRef>,
    channels: HashMap<u64, &'a NamedRef>,
}

impl<'a> Names<'a> {
    /// The users, roles and channels of `t`.
    pub fn new(t: &'a Transcript) -> Self {
        Names::from_parts(&t.users, &t.roles, &t.channels)
    }

    /// From lists.
    pub fn from_parts(users: &'a [User], roles: &'a [NamedRef], channels: &'a [NamedRef]) -> Self {
        Names {
            users: users.iter().map(|u| (u.id, u)).collect(),
            roles: roles.iter().map(|r| (r.id, r)).collect(),
            channels: channels.iter().map(|c| (c.id, c)).collect(),
        }
    }

    /// The user with this id.
    pub fn user(&self, id: u64) -> Option<&'a User> {
        self.users.get(&id).copied()
    }
}

/// Renders Discord markdown as HTML.
pub fn to_html(src: &str, names: &Names<'_>) -> Markup {
    let mut out = String::with_capacity(src.len() + src.len() / 4 + 16);
    to_html_into(&mut out, src, names);
    Markup(out)
}

/// Renders Discord markdown as HTML, appending to `out`.
pub fn to_html_into(out: &mut String, src: &str, names: &Names<'_>) {
    if src.contains('\r') {
        let normalized = src.replace("\r\n", "\n").replace('\r', "\n");
        Renderer { out, names }.document(&normalized);
    } else {
        Renderer { out, names }.document(src);
    }
}

/// Markdown left as written, but mentions, custom emoji and timestamps replaced by readable
/// text (`@Alice`, `#general`, `:blob:`, `2026-11-28 10:00 UTC`): for the plain-text export.
pub fn to_plain(src: &str, names: &Names<'_>) -> String {
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let mut start = 0;
    let bytes = src.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'<' {
            if let Some((tok, len)) = angle(&src[i..]) {
                out.push_str(&src[start..i]);
                match tok {
                    Angle::Link(url) => out.push_str(url),
                    other => out.push_str(&plain_token(&other, names)),
                }
                i += len;
                start = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&src[start..]);
    out
}

/// Greatest nesting of inline styles and quotes; deeper markup is shown as text.
const MAX_DEPTH: usize = 24;

// ---------------------------------------------------------------------------------------------
// Angle-bracket tokens: mentions, emoji, timestamps, <links>.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Angle<'s> {
    User(u64),
    Role(u64),
    Channel(u64),
    Command(&'s str),
    Emoji(&'s str),
    Time(i64, u8),
    Link(&'s str),
}

/// Parses `<…>` at the start of `s`: the token and its length in bytes.
fn angle(s: &str) -> Option<(Angle<'_>, usize)> {
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

fn format_time(secs: i64, style: u8) -> Option<String> {
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

fn plain_token(tok: &Angle<'_>, names: &Names<'_>) -> String {
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
fn http_scheme_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() >= 8 && b[..8].eq_ignore_ascii_case(b"https://") {
        Some(8)
    } else if b.len() >= 7 && b[..7].eq_ignore_ascii_case(b"http://") {
        Some(7)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Blocks.

struct Renderer<'o, 'n, 'a> {
    out: &'o mut String,
    names: &'n Names<'a>,
}

fn is_list_line(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start_matches(' ');
    let indent = line.len() - trimmed.len();
    let rest = trimmed
        .strip_prefix("- ")
        .or_else(|| trimmed.strip_prefix("* "))?;
    (!rest.trim().is_empty()).then_some(((indent / 2).min(3), rest))
}

fn is_ordered_line(line: &str) -> Option<(u64, &str)> {
    let digits = line.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let rest = line[digits..].strip_prefix(". ")?;
    (!rest.trim().is_empty()).then(|| (line[..digits].parse().unwrap_or(1), rest))
}

fn header_line(line: &str) -> Option<(u8, &str)> {
    let (level, rest) = if let Some(r) = line.strip_prefix("### ") {
        (3, r)
    } else if let Some(r) = line.strip_prefix("## ") {
        (2, r)
    } else if let Some(r) = line.strip_prefix("# ") {
        (1, r)
    } else {
        return None;
    };
    (!rest.trim().is_empty()).then_some((level, rest.trim()))
}

fn quote_line(line: &str) -> Option<&str> {
    if line == ">" {
        Some("")
    } else {
        line.strip_prefix("> ")
    }
}

/// Length of a `>>> ` prefix starting a quote that runs to the end.
fn block_quote_start(line: &str) -> Option<usize> {
    if line == ">>>" {
        Some(3)
    } else {
        line.starts_with(">>> ").then_some(4)
    }
}

/// Finds a ```` ``` ```` code block starting at `from`: (start, end, lang, body).
fn find_code_block(s: &str, from: usize) -> Option<(usize, usize, &str, &str)> {
    let mut search = from;
    loop {
        let open = search + s[search..].find("```")?;
        let body_start = open + 3;
        let close = match s[body_start..].find("```") {
            Some(c) => body_start + c,
            None => return None,
        };
        let mut inner = &s[body_start..close];
        let mut lang = "";
        if let Some(nl) = inner.find('\n') {
            let first = &inner[..nl];
            if !first.is_empty()
                && first.len() <= 32
                && first
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_+-.#".contains(&b))
                && !inner[nl + 1..].trim().is_empty()
            {
                lang = first;
                inner = &inner[nl + 1..];
            }
        }
        let body = inner.trim_start_matches('\n').trim_end_matches('\n');
        if body.trim().is_empty() {
            // "``````" or only whitespace: not a code block; look further on.
            search = open + 1;
            continue;
        }
        return Some((open, close + 3, lang, body));
    }
}

impl Renderer<'_, '_, '_> {
    fn document(&mut self, src: &str) {
        let mut pos = 0;
        while let Some((start, end, lang, body)) = find_code_block(src, pos) {
            self.blocks(&src[pos..start], 0);
            self.out.push_str("<pre class=\"codeblock\"><code");
            if !lang.is_empty() {
                self.out.push_str(" data-lang=\"");
                escape_into(self.out, lang);
                self.out.push('"');
            }
            self.out.push('>');
            escape_into(self.out, body);
            self.out.push_str("</code></pre>");
            pos = end;
            // The newline after a block belongs to it.
            if src[pos..].starts_with('\n') {
                pos += 1;
            }
        }
        self.blocks(&src[pos..], 0);
    }

    /// Line blocks of a text without code blocks. `depth` > 0 inside quotes (which do not
    /// nest in Discord).
    fn blocks(&mut self, text: &str, depth: usize) {
        if text.is_empty() {
            return;
        }
        let text = text.strip_suffix('\n').unwrap_or(text);
        let lines: Vec<&str> = text.split('\n').collect();
        let mut i = 0;
        // Start (byte offset) of the pending paragraph and its end.
        let mut para: Option<(usize, usize)> = None;
        let offset_of = |line: &str| line.as_ptr() as usize - text.as_ptr() as usize;
        while i < lines.len() {
            let line = lines[i];
            if depth == 0 {
                if let Some(prefix) = block_quote_start(line) {
                    self.flush_para(text, &mut para);
                    let start = (offset_of(line) + prefix).min(text.len());
                    self.out.push_str("<blockquote>");
                    self.blocks(&text[start..], depth + 1);
                    self.out.push_str("</blockquote>");
                    return;
                }
                if quote_line(line).is_some() {
                    self.flush_para(text, &mut para);
                    let mut joined = String::new();
                    while i < lines.len() {
                        match quote_line(lines[i]) {
                            Some(q) => {
                                if !joined.is_empty() {
                                    joined.push('\n');
                                }
                                joined.push_str(q);
                                i += 1;
                            }
                            None => break,
                        }
                    }
                    self.out.push_str("<blockquote>");
                    if joined.is_empty() {
                        self.out.push_str("<br>");
                    } else {
                        self.blocks(&joined, depth + 1);
                    }
                    self.out.push_str("</blockquote>");
                    continue;
                }
            }
            if let Some((level, rest)) = header_line(line) {
                self.flush_para(text, &mut para);
                let tag = ["h1", "h2", "h3"][usize::from(level - 1)];
                self.out.push('<');
                self.out.push_str(tag);
                self.out.push('>');
                self.inline(rest, 0, true);
                self.out.push_str("</");
                self.out.push_str(tag);
                self.out.push('>');
                i += 1;
                continue;
            }
            if let Some(rest) = line.strip_prefix("-# ").filter(|r| !r.trim().is_empty()) {
                self.flush_para(text, &mut para);
                self.out.push_str("<div class=\"subtext\">");
                self.inline(rest, 0, true);
                self.out.push_str("</div>");
                i += 1;
                continue;
            }
            if is_list_line(line).is_some() {
                self.flush_para(text, &mut para);
                self.out.push_str("<ul>");
                while let Some((level, rest)) = lines.get(i).and_then(|l| is_list_line(l)) {
                    if level > 0 {
                        self.out.push_str("<li class=\"l");
                        self.out.push(char::from(b'0' + level as u8));
                        self.out.push_str("\">");
                    } else {
                        self.out.push_str("<li>");
                    }
                    self.inline(rest, 0, true);
                    self.out.push_str("</li>");
                    i += 1;
                }
                self.out.push_str("</ul>");
                continue;
            }
            if let Some((start, _)) = is_ordered_line(line) {
                self.flush_para(text, &mut para);
                if start == 1 {
                    self.out.push_str("<ol>");
                } else {
                    self.out.push_str("<ol start=\"");
                    self.out.push_str(&start.to_string());
                    self.out.push_str("\">");
                }
                while let Some((_, rest)) = lines.get(i).and_then(|l| is_ordered_line(l)) {
                    self.out.push_str("<li>");
                    self.inline(rest, 0, true);
                    self.out.push_str("</li>");
                    i += 1;
                }
                self.out.push_str("</ol>");
                continue;
            }
            // A plain line: part of the paragraph.
            let start = offset_of(line);
            let end = start + line.len();
            para = Some(match para {
                Some((s, _)) => (s, end),
                None => (start, end),
            });
            i += 1;
        }
        self.flush_para(text, &mut para);
    }

    fn flush_para(&mut self, text: &str, para: &mut Option<(usize, usize)>) {
        if let Some((s, e)) = para.take() {
            self.inline(&text[s..e], 0, true);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Inline.

    /// Renders inline markup of `s`. `links`: whether links may be made (not inside a link).
    fn inline(&mut self, s: &str, depth: usize, links: bool) {
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

#[cfg(test)]
mod tests;
