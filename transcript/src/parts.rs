//! The HTML cut to fit Discord's upload limit.

use std::ops::Range;

use crate::format::human_size;
use crate::html::{PartInfo, Prepared};
use crate::model::Transcript;

/// Largest file a bot may upload to Discord (and the largest total per message).
pub const DISCORD_UPLOAD_LIMIT: usize = 10 * 1024 * 1024;

/// [`DISCORD_UPLOAD_LIMIT`] less 64 KiB for the rest of the message: the `limit_bytes` to pass
/// to [`discord_parts`].
pub const DISCORD_PART_LIMIT: usize = DISCORD_UPLOAD_LIMIT - 64 * 1024;

/// One file to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// `transcript-<short id>.html` or `transcript-<short id>-part-<n>-of-<m>.html`.
    pub filename: String,
    /// The HTML.
    pub bytes: Vec<u8>,
    /// What was left out or split, for the bot's message (None: the full transcript).
    pub note: Option<String>,
}

/// The transcript's HTML as files of at most `limit_bytes` each (pass [`DISCORD_PART_LIMIT`]):
///
/// 1. the full page, if it fits;
/// 2. else the page with images and files replaced by "not included here" placeholders;
/// 3. else that page split into numbered parts, each a standalone page with the summary.
///
/// Each part is meant for its own Discord message (the limit is per message). A single message
/// larger than the limit on its own (not possible with Discord's 4,000-character messages
/// unless the limit is tiny) gets a part of its own, over the limit.
pub fn discord_parts(t: &Transcript, limit_bytes: usize) -> Vec<Part> {
    let short = sanitize(&t.summary.short_id);
    let all = 0..t.messages.len();
    let full = Prepared::new(t, true);
    let mut html = String::with_capacity(full.estimate(all.clone()));
    full.page(&mut html, all.clone(), None);
    if html.len() <= limit_bytes {
        return vec![Part {
            filename: format!("transcript-{short}.html"),
            bytes: html.into_bytes(),
            note: None,
        }];
    }
    let full_size = html.len();
    drop(html);

    let lean = Prepared::new(t, false);
    let db_hint = format!(
        "the full transcript is in the database: `ticketctl transcript {}`",
        t.summary.short_id
    );
    let left_out = if t.assets.is_empty() {
        String::new()
    } else {
        "images and files left out".to_string()
    };
    let mut html = String::with_capacity(lean.estimate(all.clone()));
    lean.page(&mut html, all.clone(), None);
    if html.len() <= limit_bytes {
        return vec![Part {
            filename: format!("transcript-{short}.html"),
            bytes: html.into_bytes(),
            note: Some(format!(
                "{} to stay under Discord's {} upload limit (full size {}); {db_hint}",
                if left_out.is_empty() {
                    "shortened"
                } else {
                    &left_out
                },
                human_size(DISCORD_UPLOAD_LIMIT as u64),
                human_size(full_size as u64),
            )),
        }];
    }
    drop(html);

    let ranges = split(&lean, limit_bytes);
    let of = ranges.len();
    ranges
        .into_iter()
        .enumerate()
        .map(|(k, range)| {
            let mut html = String::with_capacity(lean.estimate(range.clone()));
            let (first, last) = (range.start + 1, range.end);
            lean.page(&mut html, range, Some(PartInfo { number: k + 1, of }));
            Part {
                filename: format!("transcript-{short}-part-{}-of-{of}.html", k + 1),
                bytes: html.into_bytes(),
                note: Some(format!(
                    "part {} of {of} (messages {first}–{last} of {}): split{} to stay under \
                     Discord's {} upload limit; {db_hint}",
                    k + 1,
                    t.messages.len(),
                    if left_out.is_empty() {
                        String::new()
                    } else {
                        format!(", {left_out},")
                    },
                    human_size(DISCORD_UPLOAD_LIMIT as u64),
                )),
            }
        })
        .collect()
}

/// Message ranges whose pages fit `limit` (sizes measured with every message in its largest
/// form, as the first of a group, so real pages are no larger).
fn split(p: &Prepared<'_>, limit: usize) -> Vec<Range<usize>> {
    let n = p.message_count();
    // The page without messages, with the longest part label.
    let mut empty = String::new();
    p.page(
        &mut empty,
        0..0,
        Some(PartInfo {
            number: n.max(1),
            of: n.max(1),
        }),
    );
    // Room for the "messages a–b of n (from … to …)" line of a real part.
    let overhead = empty.len() + 128;
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut size = overhead;
    let mut buf = String::new();
    for i in 0..n {
        buf.clear();
        p.message_as_head(&mut buf, i);
        if i > start && size + buf.len() > limit {
            ranges.push(start..i);
            start = i;
            size = overhead;
        }
        size += buf.len();
    }
    ranges.push(start..n);
    ranges
}

/// The short id as it may appear in a file name.
fn sanitize(s: &str) -> String {
    let s: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect();
    if s.is_empty() {
        "ticket".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(sanitize("1b4e28ba"), "1b4e28ba");
        assert_eq!(sanitize("../../etc/passwd"), "etcpasswd");
        assert_eq!(sanitize("<>"), "ticket");
    }
}
