//! The transcript as one self-contained HTML page: no script, no network (a Content Security
//! Policy forbids both), images inline as `data:` URIs.
//!
//! Built with askama templates (compiled, HTML auto-escaping): a page head (styles and the
//! ticket summary), one template per message, and a page foot, all written into one `String`.
//! User text reaches the page only through askama's escaping or through
//! [`crate::markdown`], which escapes it with the same escaper.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::ops::Range;

use askama::Template;
use base64::Engine as _;
use chrono::{DateTime, Utc};

use crate::format::{css_color, full_time, human_size, iso_time};
use crate::markdown::{self, is_http_url, Markup, Names};
use crate::model::{Asset, Attachment, Embed, Message, Transcript, User};

mod views;

use views::*;

/// Messages of one author within this many seconds are grouped under one header.
const GROUP_SECONDS: i64 = 7 * 60;

/// The page's Content Security Policy: nothing may be fetched or run; only inline styles and
/// `data:` images/fonts/media.
pub const CSP: &str = "default-src 'none'; img-src data:; media-src data:; font-src data:; \
     style-src 'unsafe-inline'; script-src 'none'; connect-src 'none'; frame-src 'none'; \
     object-src 'none'; base-uri 'none'; form-action 'none'";

const STYLE: &str = include_str!("../templates/style.css");

/// Image types shown inline; anything else is a download.
const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Renders the whole transcript, with every kept file inline.
pub fn render_html(t: &Transcript) -> String {
    let prep = Prepared::new(t, true);
    let mut out = String::with_capacity(prep.estimate(0..t.messages.len()));
    prep.page(&mut out, 0..t.messages.len(), None);
    out
}

/// A `data:` URI (fixed MIME type and base64): safe to write as is.
#[derive(Debug, Clone)]
pub(crate) struct DataUri(String);

impl fmt::Display for DataUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for DataUri {}

fn data_uri(mime: &str, data: &[u8]) -> DataUri {
    let mut s = String::with_capacity(mime.len() + 13 + data.len().div_ceil(3) * 4);
    s.push_str("data:");
    s.push_str(mime);
    s.push_str(";base64,");
    base64::engine::general_purpose::STANDARD.encode_string(data, &mut s);
    DataUri(s)
}

/// The MIME type to show `asset` inline with, if it is an image we show.
fn image_mime(asset: &Asset) -> Option<&'static str> {
    let ct = asset
        .content_type
        .split(';')
        .next()?
        .trim()
        .to_ascii_lowercase();
    IMAGE_TYPES.iter().copied().find(|m| *m == ct)
}

/// Which part of several a page is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartInfo {
    pub number: usize,
    pub of: usize,
}

/// What is looked up while rendering, built once per transcript.
pub(crate) struct Prepared<'t> {
    t: &'t Transcript,
    names: Names<'t>,
    assets: HashMap<&'t str, &'t Asset>,
    /// Message index by id (for replies).
    by_id: HashMap<u64, usize>,
    /// Avatar CSS class number by user id.
    avatar_class: HashMap<u64, usize>,
    /// `.av-N{…}` rules.
    avatar_css: String,
    /// Omission reasons by (message id, filename).
    omissions: HashMap<(Option<u64>, &'t str), &'t str>,
    /// Whether files are inline (else placeholders).
    pub(crate) embed_assets: bool,
}

impl<'t> Prepared<'t> {
    pub(crate) fn new(t: &'t Transcript, embed_assets: bool) -> Self {
        let assets: HashMap<&str, &Asset> = t.assets.iter().map(|a| (a.id.as_str(), a)).collect();
        let mut avatar_class = HashMap::new();
        let mut avatar_css = String::new();
        // Avatars are small and shown once per user in the styles, so they stay even when
        // other files are left out, unless they are large together.
        let avatar_bytes: usize = t
            .users
            .iter()
            .filter_map(|u| assets.get(u.avatar.as_deref()?))
            .map(|a| a.data.len())
            .sum();
        if embed_assets || avatar_bytes <= 512 * 1024 {
            for u in &t.users {
                let Some(asset) = u.avatar.as_deref().and_then(|id| assets.get(id)) else {
                    continue;
                };
                let Some(mime) = image_mime(asset) else {
                    continue;
                };
                let n = avatar_class.len();
                avatar_class.insert(u.id, n);
                // Base64 and a fixed MIME type: nothing here can end the style element.
                let _ = writeln!(
                    avatar_css,
                    ".av-{n}{{background-image:url({})}}",
                    data_uri(mime, &asset.data)
                );
            }
        }
        debug_assert!(!avatar_css.contains('<'));
        Prepared {
            t,
            names: Names::new(t),
            assets,
            by_id: t
                .messages
                .iter()
                .enumerate()
                .map(|(i, m)| (m.id, i))
                .collect(),
            avatar_class,
            avatar_css,
            omissions: t
                .omitted
                .iter()
                .map(|o| ((o.message_id, o.filename.as_str()), o.reason.as_str()))
                .collect(),
            embed_assets,
        }
    }

    /// How many messages the transcript has.
    pub(crate) fn message_count(&self) -> usize {
        self.t.messages.len()
    }

    /// A capacity guess for a page of these messages.
    pub(crate) fn estimate(&self, range: Range<usize>) -> usize {
        let msgs = &self.t.messages[range];
        let text: usize = msgs.iter().map(|m| m.content.len() * 2 + 700).sum();
        let files: usize = if self.embed_assets {
            self.t
                .assets
                .iter()
                .map(|a| a.data.len() / 3 * 4 + 200)
                .sum()
        } else {
            0
        };
        16 * 1024 + STYLE.len() + self.avatar_css.len() + text + files
    }

    fn user_ref(&self, id: u64) -> UserRef<'t> {
        match self.names.user(id) {
            Some(u) => UserRef::of(u),
            None => UserRef {
                id,
                name: "unknown user",
                username: "",
                bot: false,
                known: false,
            },
        }
    }

    /// Writes a page with the messages in `range`.
    pub(crate) fn page(&self, out: &mut String, range: Range<usize>, part: Option<PartInfo>) {
        let first = range.start;
        let head = self.head(range.clone(), part);
        // Rendering into a String cannot fail; templates have no fallible filters.
        let _ = head.render_into(out);
        for i in range {
            self.message(out, i, i == first);
        }
        let _ = PageFoot {
            generated: full_time(&self.t.generated_at),
        }
        .render_into(out);
    }

    fn head(&self, range: Range<usize>, part: Option<PartInfo>) -> PageHead<'_> {
        let t = self.t;
        let s = &t.summary;
        let mut css = String::with_capacity(STYLE.len() + self.avatar_css.len());
        css.push_str(STYLE);
        css.push_str(&self.avatar_css);
        let by_at = |at: &Option<DateTime<Utc>>, by: &Option<u64>| {
            at.as_ref()
                .map(|at| (full_time(at), by.map(|b| self.user_ref(b))))
        };
        let part = part.map(|p| {
            let msgs = &t.messages[range.clone()];
            PartView {
                number: p.number,
                of: p.of,
                first: range.start + 1,
                last: range.end,
                from: msgs
                    .first()
                    .map(|m| full_time(&m.timestamp))
                    .unwrap_or_default(),
                to: msgs
                    .last()
                    .map(|m| full_time(&m.timestamp))
                    .unwrap_or_default(),
            }
        });
        PageHead {
            csp: CSP,
            css: Markup::trusted(css),
            short_id: &s.short_id,
            ticket_id: s.ticket_id.to_string(),
            channel_name: &s.channel_name,
            channel_id: s.channel_id,
            guild_name: s.guild_name.as_deref(),
            guild_id: s.guild_id,
            status: &s.status,
            creator: self.user_ref(s.creator_id),
            claimer: s.claimed_by.map(|c| self.user_ref(c)),
            participants: s.participants.iter().map(|&p| self.user_ref(p)).collect(),
            opened: full_time(&s.opened_at),
            closed: by_at(&s.closed_at, &s.closed_by),
            close_reason: s.close_reason.as_deref(),
            archived: by_at(&s.archived_at, &s.archived_by),
            message_count: t.messages.len(),
            kept_files: t.assets.len(),
            omitted: t
                .omitted
                .iter()
                .map(|o| OmissionView {
                    message_id: o.message_id.filter(|id| self.by_id.contains_key(id)),
                    filename: &o.filename,
                    size: human_size(o.size),
                    reason: &o.reason,
                })
                .collect(),
            part,
            files_left_out: !self.embed_assets && !t.assets.is_empty(),
        }
    }

    /// Whether message `i` starts a new group (avatar and name shown).
    fn starts_group(&self, i: usize, first_on_page: bool) -> bool {
        let m = &self.t.messages[i];
        if first_on_page || i == 0 || m.reply_to.is_some() || m.system.is_some() {
            return true;
        }
        let prev = &self.t.messages[i - 1];
        prev.author_id != m.author_id
            || prev.system.is_some()
            || (m.timestamp - prev.timestamp).num_seconds() > GROUP_SECONDS
            || m.timestamp < prev.timestamp
    }

    /// Writes message `i`.
    pub(crate) fn message(&self, out: &mut String, i: usize, first_on_page: bool) {
        let view = self.message_view(i, self.starts_group(i, first_on_page));
        let _ = view.render_into(out);
    }

    /// Writes message `i` as the start of a group (its largest form), for size estimates.
    pub(crate) fn message_as_head(&self, out: &mut String, i: usize) {
        let _ = self.message_view(i, true).render_into(out);
    }

    fn message_view(&self, i: usize, head: bool) -> MessageView<'_> {
        let m: &Message = &self.t.messages[i];
        let author = self.user_ref(m.author_id);
        let user = self.names.user(m.author_id);
        let reply = m.reply_to.map(|rid| match self.by_id.get(&rid) {
            Some(&ri) => {
                let r = &self.t.messages[ri];
                let ru = self.user_ref(r.author_id);
                ReplyView {
                    id: rid,
                    found: true,
                    name: ru.name,
                    avatar: self.avatar(r.author_id, self.names.user(r.author_id)),
                    preview: preview(&markdown::to_plain(&r.content, &self.names), r),
                }
            }
            None => ReplyView {
                id: rid,
                found: false,
                name: "",
                avatar: self.avatar(0, None),
                preview: String::new(),
            },
        });
        MessageView {
            id: m.id,
            short_id: &self.t.summary.short_id,
            head,
            system: m.system.as_deref(),
            avatar: self.avatar(m.author_id, user),
            name_color: user
                .and_then(|u| u.color)
                .filter(|&c| c != 0)
                .map(css_color),
            author,
            time_full: full_time(&m.timestamp),
            time_iso: iso_time(&m.timestamp),
            time_short: m.timestamp.format("%H:%M").to_string(),
            edited: m.edited_timestamp.as_ref().map(full_time),
            pinned: m.pinned,
            reply,
            content: markdown::to_html(&m.content, &self.names),
            embeds: m.embeds.iter().map(|e| self.embed_view(e)).collect(),
            attachments: m
                .attachments
                .iter()
                .map(|a| self.attachment_view(m.id, a))
                .collect(),
        }
    }

    fn avatar(&self, user_id: u64, user: Option<&'t User>) -> AvatarView {
        match self.avatar_class.get(&user_id) {
            Some(&n) => AvatarView {
                class: format!("av-{n}"),
                initial: String::new(),
            },
            None => AvatarView {
                class: format!("dav-{}", (user_id >> 22) % 6),
                initial: user
                    .and_then(|u| u.shown_name().chars().find(|c| !c.is_whitespace()))
                    .map(|c| c.to_uppercase().collect())
                    .unwrap_or_else(|| "?".into()),
            },
        }
    }

    fn image(&self, asset_id: Option<&str>) -> Option<ImageView<'t>> {
        let asset = self.assets.get(asset_id?)?;
        let mime = image_mime(asset)?;
        Some(if self.embed_assets {
            ImageView {
                src: Some(data_uri(mime, &asset.data)),
                alt: &asset.filename,
            }
        } else {
            ImageView {
                src: None,
                alt: &asset.filename,
            }
        })
    }

    fn embed_view(&self, e: &'t Embed) -> EmbedView<'t> {
        EmbedView {
            color: css_color(e.color.unwrap_or(0x1e1f22)),
            author: e.author.as_deref(),
            title: e.title.as_deref(),
            url: e.url.as_deref().filter(|u| is_http_url(u)),
            description: e
                .description
                .as_deref()
                .map(|d| markdown::to_html(d, &self.names))
                .unwrap_or_default(),
            fields: e
                .fields
                .iter()
                .map(|f| FieldView {
                    name: &f.name,
                    value: markdown::to_html(&f.value, &self.names),
                    inline: f.inline,
                })
                .collect(),
            footer: e.footer.as_deref(),
            timestamp: e.timestamp.as_ref().map(full_time),
            image: self.image(e.image.as_deref()),
            thumbnail: self.image(e.thumbnail.as_deref()),
        }
    }

    fn attachment_view(&self, message_id: u64, a: &'t Attachment) -> AttachmentView<'t> {
        let size = human_size(a.size);
        let asset = a.asset.as_deref().and_then(|id| self.assets.get(id));
        let Some(asset) = asset else {
            let reason = self
                .omissions
                .get(&(Some(message_id), a.filename.as_str()))
                .copied()
                .unwrap_or("not downloaded");
            return AttachmentView::LeftOut {
                filename: &a.filename,
                size,
                reason,
            };
        };
        if !self.embed_assets {
            return AttachmentView::NotHere {
                filename: &a.filename,
                size,
                image: image_mime(asset).is_some(),
            };
        }
        match image_mime(asset) {
            Some(mime) => AttachmentView::Image {
                src: data_uri(mime, &asset.data),
                filename: &a.filename,
                size,
                width: a.width.map(|w| w.min(400)),
                height: match (a.width, a.height) {
                    (Some(w), Some(h)) if w > 400 => {
                        Some((u64::from(h) * 400 / u64::from(w)) as u32)
                    }
                    (_, h) => h,
                },
            },
            None => AttachmentView::File {
                href: data_uri("application/octet-stream", &asset.data),
                filename: &a.filename,
                size,
            },
        }
    }
}

/// One line of the replied-to message, at most 100 characters.
fn preview(plain: &str, m: &Message) -> String {
    let mut s: String = plain
        .split_whitespace()
        .flat_map(|w| std::iter::once(' ').chain(w.chars()))
        .skip(1)
        .take(101)
        .collect();
    if s.chars().count() > 100 {
        s = s.chars().take(100).collect();
        s.push('…');
    }
    if s.is_empty() {
        s = if !m.attachments.is_empty() {
            "(attachment)".into()
        } else if !m.embeds.is_empty() {
            "(embed)".into()
        } else {
            "(no text)".into()
        };
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Template data.

pub(crate) struct UserRef<'a> {
    id: u64,
    name: &'a str,
    username: &'a str,
    bot: bool,
    known: bool,
}

impl<'a> UserRef<'a> {
    fn of(u: &'a User) -> Self {
        UserRef {
            id: u.id,
            name: u.shown_name(),
            username: &u.name,
            bot: u.bot,
            known: true,
        }
    }
}

#[cfg(test)]
mod tests;
