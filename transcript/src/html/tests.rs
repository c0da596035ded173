use crate::fixture::{basic, hostile, message, HOSTILE};
use crate::{render_html, Transcript};

/// Tags that may appear in a page; anything else means user text got out.
const KNOWN_TAGS: &[&str] = &[
    "!DOCTYPE",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "div",
    "span",
    "bdi",
    "b",
    "code",
    "dl",
    "dt",
    "dd",
    "p",
    "details",
    "summary",
    "ul",
    "ol",
    "li",
    "a",
    "main",
    "footer",
    "time",
    "img",
    "strong",
    "em",
    "u",
    "s",
    "pre",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "br",
];

fn tags(html: &str) -> Vec<String> {
    let body_start = html.find("</style>").expect("style end") + 8;
    let mut out = Vec::new();
    let mut rest = &html[body_start..];
    while let Some(p) = rest.find('<') {
        let name: String = rest[p + 1..]
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        out.push(name);
        rest = &rest[p + 1..];
    }
    out
}

fn attributes(html: &str) -> Vec<String> {
    // Every attribute name written after a tag name, up to '>'.
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(p) = rest.find('<') {
        let tag_end = rest[p..].find('>').map_or(rest.len(), |e| p + e);
        let inside = &rest[p + 1..tag_end];
        let mut in_quote = false;
        let mut word = String::new();
        for c in inside.chars() {
            match c {
                '"' => in_quote = !in_quote,
                '=' if !in_quote => {
                    out.push(std::mem::take(&mut word));
                }
                c if c.is_whitespace() && !in_quote => word.clear(),
                c if !in_quote => word.push(c),
                _ => {}
            }
        }
        rest = &rest[tag_end.min(rest.len() - 1) + 1..];
        if rest.is_empty() {
            break;
        }
    }
    out
}

#[test]
fn page_basics() {
    let html = render_html(&basic());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;; img-src data:;"));
    assert!(!html.contains("<script"));
    assert!(html.contains("id=\"m-100\""));
    // Summary.
    assert!(html.contains("1b4e28ba-2fa1-11d2-883f-0016d3cca427"));
    assert!(html.contains("Support Server"));
    assert!(html.contains("solved"));
    assert!(html.contains("Files left out (1)"));
    // Markdown and mentions.
    assert!(html.contains("Hello <strong>world</strong>, see <span class=\"mention\" title=\"channel 901\">#ticket-1b4e28ba</span>"));
    // Image inline, file downloadable, left-out noted.
    assert!(html.contains("<img src=\"data:image/png;base64,iVBORw==\" alt=\"shot.png\""));
    assert!(html.contains("width=\"400\" height=\"300\""));
    assert!(html
        .contains("href=\"data:application/octet-stream;base64,aGVsbG8=\" download=\"log.txt\""));
    assert!(html.contains("left out: larger than the 8 MiB per-file cap"));
    // Avatar as a style rule; default avatar with initial.
    assert!(html.contains(".av-0{background-image:url(data:image/png;base64,iVBORw==)}"));
    assert!(html.contains("class=\"avatar av-0\""));
    assert!(html.contains("class=\"avatar dav-"));
    // Grouping: 101 follows 100 by the same author within minutes.
    assert!(html.contains("<div class=\"msg head\" id=\"m-100\">"));
    assert!(html.contains("<div class=\"msg\" id=\"m-101\">"));
    // Reply, edited, embed, system, bot tag.
    assert!(html.contains("<a href=\"#m-100\">replying to <b>@<bdi>Alice</bdi></b>: <bdi>Hello **world**, see #ticket-1b4e28ba and @bob</bdi></a>"));
    assert!(html.contains("(edited 2026-11-28 10:01:30 UTC)"));
    assert!(html.contains("border-left-color:#5865f2"));
    assert!(html.contains("<a href=\"https://example.com/t\""));
    assert!(html.contains("<img class=\"e-image\" src=\"data:image/jpeg;base64,/9j/\""));
    assert!(html.contains("<span class=\"sysact\">pinned a message</span>"));
    assert!(html.contains("<span class=\"bot\">BOT</span>"));
    assert!(html.contains("style=\"color:#3498db\""));
    for tag in tags(&html) {
        assert!(KNOWN_TAGS.contains(&tag.as_str()), "unexpected tag {tag}");
    }
}

#[test]
fn hostile_content_is_text() {
    let t = hostile();
    let html = render_html(&t);
    for tag in tags(&html) {
        assert!(KNOWN_TAGS.contains(&tag.as_str()), "unexpected tag {tag}");
    }
    for attr in attributes(&html) {
        assert!(
            !attr.starts_with("on") && attr != "srcdoc" && attr != "formaction",
            "attribute {attr}"
        );
    }
    assert!(!html.contains("<script"));
    assert!(
        !html.contains("javascript:alert(1)\""),
        "no javascript: href"
    );
    assert!(!html.contains("href=\"javascript"));
    // NUL characters in names stay (the HTML parser makes them U+FFFD); in message text
    // the markdown renderer replaces them.
    assert!(!html.contains("b\0<"));
    // The style element is closed once, by us.
    assert_eq!(html.matches("</style>").count(), 1);
    assert_eq!(html.matches("<style>").count(), 1);
    // The payload shows as text.
    assert!(html.contains("&#60;script&#62;document.title=&#39;pwned&#39;&#60;/script&#62;"));
    // Hostile content types do not become image types or URIs.
    assert!(!html.contains(&format!("data:{}", HOSTILE)));
    assert!(html.contains("data:application/octet-stream;base64,"));
}

#[test]
fn hostile_template_syntax_is_inert() {
    let mut t = basic();
    t.messages[0].content = "{{ content }} {% if true %}x{% endif %} {# c #}".into();
    let html = render_html(&t);
    assert!(html.contains("{{ content }} {% if true %}x{% endif %} {# c #}"));
}

#[test]
fn empty_transcript() {
    let mut t: Transcript = basic();
    t.messages.clear();
    t.assets.clear();
    t.omitted.clear();
    t.users.clear();
    let html = render_html(&t);
    assert!(html.contains("unknown user · 1"));
    assert!(html.trim_end().ends_with("</html>"));
}

#[test]
fn reply_to_missing_message_and_unknown_author() {
    let mut t = basic();
    let mut m = message(200, 42, 5000, "who am I");
    m.reply_to = Some(12345);
    t.messages.push(m);
    let html = render_html(&t);
    assert!(html.contains("not in this transcript (12345)"));
    assert!(html.contains(">unknown user</bdi>"));
}

#[test]
fn grouping_breaks_after_seven_minutes() {
    let mut t = basic();
    t.messages = vec![
        message(1, 1, 0, "a"),
        message(2, 1, 400, "b"),
        message(3, 1, 900, "c"),
        message(4, 2, 901, "d"),
    ];
    let html = render_html(&t);
    assert!(html.contains("<div class=\"msg head\" id=\"m-1\">"));
    assert!(html.contains("<div class=\"msg\" id=\"m-2\">"));
    assert!(html.contains("<div class=\"msg head\" id=\"m-3\">"));
    assert!(html.contains("<div class=\"msg head\" id=\"m-4\">"));
}

#[test]
fn large_render_is_linear_enough() {
    let mut t = basic();
    t.messages = (0..3000)
        .map(|i| {
            message(
                1000 + i,
                1 + i % 3,
                i as i64 * 60,
                "some **text** with <@1> and https://example.com",
            )
        })
        .collect();
    let start = std::time::Instant::now();
    let html = render_html(&t);
    assert!(html.len() > 3000 * 100);
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
}
