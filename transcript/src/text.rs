//! JSON and plain-text renderings.

use std::fmt::Write as _;

use crate::format::{full_time, human_size};
use crate::markdown::{self, Names};
use crate::model::Transcript;

/// The whole model as pretty JSON, files included (base64): a complete export that
/// deserializes back into a [`Transcript`].
pub fn render_json(t: &Transcript) -> String {
    // The model always serializes: string keys only, no floats.
    serde_json::to_string_pretty(t).expect("transcript serializes")
}

/// Plain text: a summary header, then one `[time] name (id): content` entry per message, with
/// attachments, embeds and left-out files noted. Mentions are shown as names.
pub fn render_text(t: &Transcript) -> String {
    let names = Names::new(t);
    let s = &t.summary;
    let mut out = String::with_capacity(
        2048 + t
            .messages
            .iter()
            .map(|m| m.content.len() + 80)
            .sum::<usize>(),
    );
    let who = |id: u64| -> String {
        match names.user(id) {
            Some(u) if u.shown_name() != u.name => {
                format!("{} (@{}, {})", u.shown_name(), u.name, id)
            }
            Some(u) => format!("{} ({})", u.name, id),
            None => format!("unknown user ({id})"),
        }
    };
    let _ = writeln!(out, "Ticket {} ({})", s.short_id, s.ticket_id);
    let _ = writeln!(
        out,
        "Channel: #{}{}",
        s.channel_name,
        s.channel_id.map(|c| format!(" ({c})")).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "Server: {}{}",
        s.guild_name
            .as_deref()
            .map(|g| format!("{g} "))
            .unwrap_or_default(),
        format_args!("({})", s.guild_id)
    );
    let _ = writeln!(out, "Status: {}", s.status);
    let _ = writeln!(
        out,
        "Opened: {} by {}",
        full_time(&s.opened_at),
        who(s.creator_id)
    );
    let _ = writeln!(
        out,
        "Claimed by: {}",
        s.claimed_by.map(who).unwrap_or_else(|| "nobody".into())
    );
    if !s.participants.is_empty() {
        let list: Vec<String> = s.participants.iter().map(|&p| who(p)).collect();
        let _ = writeln!(out, "Participants: {}", list.join(", "));
    }
    if let Some(at) = &s.closed_at {
        let _ = writeln!(
            out,
            "Closed: {}{}",
            full_time(at),
            s.closed_by
                .map(|b| format!(" by {}", who(b)))
                .unwrap_or_default()
        );
    }
    if let Some(r) = &s.close_reason {
        let _ = writeln!(out, "Close reason: {}", indent(r));
    }
    if let Some(at) = &s.archived_at {
        let _ = writeln!(
            out,
            "Archived: {}{}",
            full_time(at),
            s.archived_by
                .map(|b| format!(" by {}", who(b)))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(out, "Messages: {}", t.messages.len());
    let _ = writeln!(out, "Generated: {}", full_time(&t.generated_at));
    if !t.omitted.is_empty() {
        let _ = writeln!(out, "Files left out: {}", t.omitted.len());
        for o in &t.omitted {
            let _ = writeln!(
                out,
                "  - {} ({}): {}{}",
                o.filename,
                human_size(o.size),
                o.reason,
                o.message_id
                    .map(|m| format!(" [message {m}]"))
                    .unwrap_or_default()
            );
        }
    }
    out.push_str("----------------------------------------------------------------\n");
    for m in &t.messages {
        let _ = write!(out, "[{}] {}", full_time(&m.timestamp), who(m.author_id));
        if names.user(m.author_id).is_some_and(|u| u.bot) {
            out.push_str(" [BOT]");
        }
        if let Some(sys) = &m.system {
            let _ = write!(out, " {sys}");
        }
        out.push(':');
        if !m.content.is_empty() {
            out.push(' ');
            out.push_str(&indent(&markdown::to_plain(&m.content, &names)));
        }
        if let Some(e) = &m.edited_timestamp {
            let _ = write!(out, " (edited {})", full_time(e));
        }
        if m.pinned {
            out.push_str(" [pinned]");
        }
        out.push('\n');
        if let Some(r) = m.reply_to {
            let to = t
                .messages
                .iter()
                .find(|x| x.id == r)
                .map(|x| who(x.author_id));
            let _ = writeln!(
                out,
                "    (reply to message {r}{})",
                to.map(|w| format!(" by {w}")).unwrap_or_default()
            );
        }
        for a in &m.attachments {
            match &a.asset {
                Some(_) => {
                    let _ = writeln!(
                        out,
                        "    [attachment: {} ({})]",
                        a.filename,
                        human_size(a.size)
                    );
                }
                None => {
                    let reason = t
                        .omitted
                        .iter()
                        .find(|o| o.message_id == Some(m.id) && o.filename == a.filename)
                        .map_or("not downloaded", |o| o.reason.as_str());
                    let _ = writeln!(
                        out,
                        "    [attachment left out: {} ({}): {}]",
                        a.filename,
                        human_size(a.size),
                        reason
                    );
                }
            }
        }
        for e in &m.embeds {
            let mut parts: Vec<String> = Vec::new();
            if let Some(a) = &e.author {
                parts.push(format!("author: {a}"));
            }
            if let Some(x) = &e.title {
                parts.push(x.clone());
            }
            if let Some(u) = &e.url {
                parts.push(u.clone());
            }
            if let Some(d) = &e.description {
                parts.push(markdown::to_plain(d, &names));
            }
            for f in &e.fields {
                parts.push(format!(
                    "{}: {}",
                    f.name,
                    markdown::to_plain(&f.value, &names)
                ));
            }
            if let Some(f) = &e.footer {
                parts.push(f.clone());
            }
            if let Some(ts) = &e.timestamp {
                parts.push(full_time(ts));
            }
            if e.image.is_some() || e.thumbnail.is_some() {
                parts.push("(image)".into());
            }
            let _ = writeln!(out, "    [embed: {}]", indent(&parts.join(" | ")));
        }
    }
    out
}

/// Continuation lines indented under their entry.
fn indent(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\n', "\n    ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{basic, hostile};

    #[test]
    fn json_is_a_complete_export() {
        let t = basic();
        let json = render_json(&t);
        assert!(json.contains("\n  \"version\": 1,"));
        let back: Transcript = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        let t = hostile();
        let back: Transcript = serde_json::from_str(&render_json(&t)).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn text_export() {
        let text = render_text(&basic());
        let expected_start = "Ticket 1b4e28ba (1b4e28ba-2fa1-11d2-883f-0016d3cca427)\n\
            Channel: #ticket-1b4e28ba (901)\n\
            Server: Support Server (900)\n\
            Status: closed\n\
            Opened: 2026-11-28 10:00:00 UTC by Alice (@alice, 1)\n\
            Claimed by: bob (2)\n\
            Participants: helper (3)\n\
            Closed: 2026-11-28 11:00:00 UTC by bob (2)\n\
            Close reason: solved\n\
            Messages: 5\n";
        assert!(text.starts_with(expected_start), "{text}");
        assert!(text.contains("Files left out: 1\n  - huge.zip (9 MiB): larger than the 8 MiB per-file cap [message 100]\n"));
        assert!(text.contains("[2026-11-28 10:00:01 UTC] Alice (@alice, 1): Hello **world**, see #ticket-1b4e28ba and @bob\n"));
        assert!(text.contains("    [attachment: shot.png (4 B)]\n"));
        assert!(text.contains(
            "    [attachment left out: huge.zip (9 MiB): larger than the 8 MiB per-file cap]\n"
        ));
        assert!(text.contains("[2026-11-28 10:01:00 UTC] bob (2): a reply (edited 2026-11-28 10:01:30 UTC)\n    (reply to message 100 by Alice (@alice, 1))\n"));
        assert!(text.contains("helper (3) [BOT]:\n    [embed: author: ticketbot | Ticket opened | https://example.com/t | Use **buttons** | Topic: billing | footer text | 2026-11-28 10:02:00 UTC | (image)]\n"));
        assert!(text.contains("bob (2) pinned a message:\n"));
    }

    #[test]
    fn multiline_content_is_indented() {
        let mut t = basic();
        t.messages[0].content = "line one\nline two\r\nline three".into();
        let text = render_text(&t);
        assert!(
            text.contains(": line one\n    line two\n    line three\n"),
            "{text}"
        );
    }
}
