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

use crate::model::{NamedRef, Transcript, User};

mod angle;
mod blocks;
mod inline;

pub use angle::is_http_url;
use angle::{angle, plain_token, Angle};
use blocks::Renderer;

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

#[cfg(test)]
mod tests;
