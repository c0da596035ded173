use super::*;
use crate::model::{NamedRef, User};

fn users() -> Vec<User> {
    vec![
        User {
            id: 1,
            name: "alice".into(),
            display_name: Some("Alice <A>".into()),
            avatar: None,
            bot: false,
            color: None,
        },
        User {
            id: 2,
            name: "bob".into(),
            display_name: None,
            avatar: None,
            bot: false,
            color: None,
        },
    ]
}

fn roles() -> Vec<NamedRef> {
    vec![NamedRef {
        id: 10,
        name: "Support".into(),
        color: Some(0x3498db),
    }]
}

fn channels() -> Vec<NamedRef> {
    vec![NamedRef {
        id: 20,
        name: "general".into(),
        color: None,
    }]
}

fn md(s: &str) -> String {
    let (u, r, c) = (users(), roles(), channels());
    let names = Names::from_parts(&u, &r, &c);
    to_html(s, &names).as_str().to_string()
}

/// The HTML has no tag other than the ones this parser makes.
fn assert_only_known_tags(html: &str) {
    const KNOWN: &[&str] = &[
        "strong",
        "em",
        "u",
        "s",
        "span",
        "code",
        "pre",
        "blockquote",
        "h1",
        "h2",
        "h3",
        "ul",
        "ol",
        "li",
        "a",
        "br",
        "div",
        "time",
    ];
    let mut rest = html;
    while let Some(p) = rest.find('<') {
        let tag: String = rest[p + 1..]
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(
            KNOWN.contains(&tag.as_str()),
            "unexpected tag {tag:?} in {html}"
        );
        rest = &rest[p + 1..];
    }
}

#[test]
fn plain_text_is_escaped() {
    assert_eq!(md("a < b & c > d"), "a &#60; b &#38; c &#62; d");
    assert_eq!(md("\"q\" 'a'"), "&#34;q&#34; &#39;a&#39;");
}

#[test]
fn escape_function() {
    assert_eq!(escape("<script>&\"'"), "&#60;script&#62;&#38;&#34;&#39;");
    assert_eq!(escape("a\0b\0"), "a\u{FFFD}b\u{FFFD}");
    assert_eq!(escape(""), "");
    assert_eq!(escape("héllo 😀"), "héllo 😀");
}

#[test]
fn hostile_strings_stay_text() {
    let cases = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "</style><script>alert(1)</script>",
        "\" onmouseover=\"x",
        "' onmouseover='x",
        "{{ 7*7 }} {% if %} ${alert(1)} #{x}",
        "<svg/onload=alert(1)>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<iframe src=//evil>",
        "<!-- comment --> <![CDATA[x]]>",
        "a\0b<\0script>",
    ];
    for case in cases {
        let html = md(case);
        assert_only_known_tags(&html);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains('\0'), "{html}");
        // Every quote is escaped: no attribute can be opened by user text.
        assert!(!html.contains('"'), "{case} -> {html}");
    }
}

#[test]
fn javascript_links_are_text() {
    let html = md("[click](javascript:alert(1))");
    assert_eq!(html, "[click](javascript:alert(1))");
    let html = md("[click](JavaScript:alert(1)) <javascript:alert(1)> javascript:alert(1)");
    assert!(!html.contains("<a"), "{html}");
    let html = md("[x](data:text/html,<script>alert(1)</script>)");
    assert!(!html.contains("<a"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    let html = md("[x](vbscript:msgbox) [y](file:///etc/passwd) [z](//evil.example)");
    assert!(!html.contains("<a"), "{html}");
}

#[test]
fn masked_and_bare_links() {
    assert_eq!(
        md("[docs](https://example.com/a?b=1&c=2)"),
        "<a href=\"https://example.com/a?b=1&#38;c=2\" title=\"https://example.com/a?b=1&#38;c=2\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">docs</a>"
    );
    let html = md("see https://example.com/x.");
    assert!(
        html.starts_with("see <a href=\"https://example.com/x\""),
        "{html}"
    );
    assert!(html.ends_with("</a>."), "{html}");
    // Parentheses: balanced ones belong to the URL.
    let html = md("(https://en.wikipedia.org/wiki/Rust_(language))");
    assert!(
        html.contains("href=\"https://en.wikipedia.org/wiki/Rust_(language)\""),
        "{html}"
    );
    assert!(html.ends_with("</a>)"), "{html}");
    let html = md("[wiki](https://en.wikipedia.org/wiki/Rust_(language))");
    assert!(html.contains(">wiki</a>"), "{html}");
    assert!(html.contains("href=\"https://en.wikipedia.org/wiki/Rust_(language)\""));
    // <url> suppresses the embed in Discord; still a link.
    let html = md("<https://example.com>");
    assert!(html.contains(">https://example.com</a>"), "{html}");
    // [text](<url>)
    let html = md("[t](<https://example.com/a b>)");
    assert!(!html.contains(">t</a>"), "spaces are not allowed: {html}");
    let html = md("[t](<https://example.com/ab>)");
    assert!(html.contains("href=\"https://example.com/ab\""), "{html}");
    // No link inside a link's label.
    let html = md("[https://a.example](https://b.example)");
    assert_eq!(html.matches("<a ").count(), 1, "{html}");
    // Formatting inside a label.
    let html = md("[**bold**](https://b.example)");
    assert!(html.contains("><strong>bold</strong></a>"), "{html}");
    // Uppercase scheme; "http" inside a word is not a link start.
    assert!(md("HTTPS://EXAMPLE.COM").contains("<a "));
    assert!(!md("xhttps://example.com").contains("<a "));
    assert!(!md("https://").contains("<a "));
    // A quote cannot leave the attribute.
    let html = md("https://example.com/\"onmouseover=\"x");
    assert!(html.contains("href=\"https://example.com/\""), "{html}");
}

#[test]
fn emphasis() {
    assert_eq!(md("**b**"), "<strong>b</strong>");
    assert_eq!(md("*i*"), "<em>i</em>");
    assert_eq!(md("_i_"), "<em>i</em>");
    assert_eq!(md("__u__"), "<u>u</u>");
    assert_eq!(md("~~s~~"), "<s>s</s>");
    assert_eq!(md("***bi***"), "<strong><em>bi</em></strong>");
    assert_eq!(md("__*ui*__"), "<u><em>ui</em></u>");
    assert_eq!(md("**a *b* c**"), "<strong>a <em>b</em> c</strong>");
    assert_eq!(md("*a **b** c*"), "<em>a <strong>b</strong> c</em>");
    assert_eq!(md("**é**"), "<strong>é</strong>");
    assert_eq!(md("**multi\nline**"), "<strong>multi<br>line</strong>");
}

#[test]
fn emphasis_not_applied() {
    assert_eq!(md("snake_case_name"), "snake_case_name");
    assert_eq!(md("2 * 3 * 4"), "2 * 3 * 4");
    assert_eq!(md("**"), "**");
    assert_eq!(md("****"), "****");
    assert_eq!(md("** **x"), "<strong> </strong>x");
    assert_eq!(md("*unclosed"), "*unclosed");
    assert_eq!(md("~~unclosed ||also"), "~~unclosed ||also");
    assert_eq!(md("\\*not italic\\*"), "*not italic*");
    assert_eq!(md("\\_x\\_ \\`y\\`"), "_x_ `y`");
}

#[test]
fn spoilers() {
    assert_eq!(
        md("||secret||"),
        "<span class=\"spoiler\" tabindex=\"0\">secret</span>"
    );
    assert_eq!(
        md("||**a**||"),
        "<span class=\"spoiler\" tabindex=\"0\"><strong>a</strong></span>"
    );
    assert_eq!(md("a || b"), "a || b");
}

#[test]
fn inline_code() {
    assert_eq!(md("`<b>`"), "<code class=\"inline\">&#60;b&#62;</code>");
    assert_eq!(md("`**no**`"), "<code class=\"inline\">**no**</code>");
    assert_eq!(md("``a ` b``"), "<code class=\"inline\">a ` b</code>");
    assert_eq!(md("`<@1>`"), "<code class=\"inline\">&#60;@1&#62;</code>");
    assert_eq!(md("``"), "``");
    assert_eq!(md("`unclosed"), "`unclosed");
}

#[test]
fn code_blocks() {
    assert_eq!(
        md("```rust\nfn main() { \"<x>\" }\n```"),
        "<pre class=\"codeblock\"><code data-lang=\"rust\">fn main() { &#34;&#60;x&#62;&#34; }</code></pre>"
    );
    assert_eq!(
        md("before\n```\n**x**\n> y\n```\nafter"),
        "before<pre class=\"codeblock\"><code>**x**\n&gt; y</code></pre>after"
            .replace("&gt;", "&#62;")
    );
    assert_eq!(
        md("```one line```"),
        "<pre class=\"codeblock\"><code>one line</code></pre>"
    );
    // A single word is content, not a language, without a newline after it.
    assert_eq!(
        md("```rust```"),
        "<pre class=\"codeblock\"><code>rust</code></pre>"
    );
    assert_eq!(md("``````"), "``````");
    assert_eq!(md("```unclosed\ncode"), "```unclosed<br>code");
    // A hostile language name cannot become an attribute.
    let html = md("```\" onload=\"x\ncode\n```");
    assert!(!html.contains("onload=\""), "{html}");
    assert!(!html.contains("data-lang"), "{html}");
}

#[test]
fn quotes() {
    assert_eq!(md("> quoted"), "<blockquote>quoted</blockquote>");
    assert_eq!(
        md("> a\n> b\nafter"),
        "<blockquote>a<br>b</blockquote>after"
    );
    assert_eq!(
        md("before\n>>> all\nthe rest\n> x"),
        "before<blockquote>all<br>the rest<br>&#62; x</blockquote>"
    );
    assert_eq!(md(">not a quote"), "&#62;not a quote");
    assert_eq!(
        md("> **bold** in quote"),
        "<blockquote><strong>bold</strong> in quote</blockquote>"
    );
    // Quotes do not nest.
    assert_eq!(md("> > x"), "<blockquote>&#62; x</blockquote>");
    assert_eq!(md(">>>"), "<blockquote></blockquote>");
}

#[test]
fn headers_lists_subtext() {
    assert_eq!(md("# Big"), "<h1>Big</h1>");
    assert_eq!(md("## Mid"), "<h2>Mid</h2>");
    assert_eq!(md("### *Small*"), "<h3><em>Small</em></h3>");
    assert_eq!(md("#### no"), "#### no");
    assert_eq!(md("#no"), "#no");
    assert_eq!(
        md("-# fine print"),
        "<div class=\"subtext\">fine print</div>"
    );
    assert_eq!(
        md("- one\n- **two**\n  - nested\nafter"),
        "<ul><li>one</li><li><strong>two</strong></li><li class=\"l1\">nested</li></ul>after"
    );
    assert_eq!(md("* star"), "<ul><li>star</li></ul>");
    assert_eq!(md("1. a\n2. b"), "<ol><li>a</li><li>b</li></ol>");
    assert_eq!(md("3. c"), "<ol start=\"3\"><li>c</li></ol>");
    assert_eq!(md("-not a list"), "-not a list");
}

#[test]
fn newlines_kept() {
    assert_eq!(md("a\nb\n\nc"), "a<br>b<br><br>c");
    assert_eq!(md("a\r\nb"), "a<br>b");
    assert_eq!(md(""), "");
    assert_eq!(md("\n"), "");
}

#[test]
fn mentions() {
    assert_eq!(
        md("<@1> <@!2>"),
        "<span class=\"mention\" title=\"user 1\">@Alice &#60;A&#62;</span> <span class=\"mention\" title=\"user 2\">@bob</span>"
    );
    assert_eq!(
        md("<@999>"),
        "<span class=\"mention\" title=\"user 999\">@unknown-user</span>"
    );
    assert_eq!(
        md("<@&10>"),
        "<span class=\"mention\" style=\"color:#3498db;background-color:#3498db26\" title=\"role 10\">@Support</span>"
    );
    assert_eq!(
        md("<#20>"),
        "<span class=\"mention\" title=\"channel 20\">#general</span>"
    );
    assert_eq!(
        md("</ticket close:123>"),
        "<span class=\"mention\">/ticket close</span>"
    );
    assert_eq!(
        md("@everyone @here"),
        "<span class=\"mention\">@everyone</span> <span class=\"mention\">@here</span>"
    );
    // Not mentions.
    assert_eq!(md("<@abc>"), "&#60;@abc&#62;");
    assert_eq!(md("<@>"), "&#60;@&#62;");
    assert_eq!(
        md("<@99999999999999999999999>"),
        "&#60;@99999999999999999999999&#62;"
    );
}

#[test]
fn emoji_and_timestamps() {
    assert_eq!(
        md("<:blob:123>"),
        "<span class=\"emoji\" title=\"&#60;:blob:123&#62;\">:blob:</span>"
    );
    assert!(md("<a:dance:456>").contains(">:dance:</span>"));
    assert_eq!(md("<:bad name:1>"), "&#60;:bad name:1&#62;");
    let html = md("<t:1795860001:f>");
    assert_eq!(
        html,
        "<time class=\"ts\" datetime=\"2026-11-28T10:00:01Z\" title=\"2026-11-28 10:00:01 UTC\">28 November 2026 10:00 UTC</time>"
    );
    assert!(md("<t:1795860001>").contains(">28 November 2026 10:00 UTC<"));
    assert!(md("<t:1795860001:t>").contains(">10:00 UTC<"));
    assert!(md("<t:1795860001:T>").contains(">10:00:01 UTC<"));
    assert!(md("<t:1795860001:d>").contains(">2026-11-28<"));
    assert!(md("<t:1795860001:D>").contains(">28 November 2026<"));
    assert!(md("<t:1795860001:F>").contains(">Saturday, 28 November 2026 10:00 UTC<"));
    assert!(md("<t:1795860001:R>").contains("<time"));
    assert_eq!(md("<t:1795860001:x>"), "&#60;t:1795860001:x&#62;");
    assert_eq!(md("<t:999999999999999:f>"), "&#60;t:999999999999999:f&#62;");
}

#[test]
fn plain_conversion() {
    let (u, r, c) = (users(), roles(), channels());
    let names = Names::from_parts(&u, &r, &c);
    assert_eq!(
        to_plain(
            "hi <@1>, see <#20> <@&10> <:blob:1> <t:1795860001:d> **x** <@5>",
            &names
        ),
        "hi @Alice <A>, see #general @Support :blob: 2026-11-28 **x** @unknown-user(5)"
    );
    assert_eq!(to_plain("<https://a.example>", &names), "https://a.example");
    assert_eq!(to_plain("a < b > c", &names), "a < b > c");
}

#[test]
fn multibyte_and_rtl() {
    assert_eq!(
        md("héllo wörld 😀 **日本**"),
        "héllo wörld 😀 <strong>日本</strong>"
    );
    assert_eq!(md("\u{202E}evil\u{202C}"), "\u{202E}evil\u{202C}");
    assert_eq!(md("*😀*"), "<em>😀</em>");
    assert_eq!(md("_ü_"), "<em>ü</em>");
    // Backslash before a multibyte character.
    assert_eq!(md("\\é"), "\\é");
}

#[test]
fn long_and_pathological_input_is_fast() {
    let long = "x".repeat(4000);
    assert_eq!(md(&long), long);
    let inputs = [
        "*a ".repeat(1500),
        "**a ".repeat(1000),
        "_a ".repeat(1500),
        "[".repeat(4000),
        "[a](".repeat(1000),
        "<".repeat(4000),
        "<@".repeat(2000),
        "`".repeat(4000),
        "||".repeat(2000),
        "~~a".repeat(1300),
        "https://x.example/".repeat(200),
        "> ".repeat(2000),
        "```".repeat(1300),
        "\\".repeat(4000),
        "*_~|".repeat(1000),
        "*".repeat(4000),
    ];
    let start = std::time::Instant::now();
    for input in &inputs {
        let html = md(input);
        assert_only_known_tags(&html);
    }
    // Generous (debug build, shared machine): quadratic behaviour would take far longer.
    assert!(start.elapsed().as_secs_f64() < 2.0, "{:?}", start.elapsed());
}

#[test]
fn deep_nesting_is_bounded() {
    let mut s = String::new();
    for _ in 0..200 {
        s.push_str("**__");
    }
    s.push('x');
    for _ in 0..200 {
        s.push_str("__**");
    }
    let html = md(&s);
    assert!(html.contains('x'));
    assert_only_known_tags(&html);
}

#[test]
fn http_urls() {
    assert!(is_http_url("https://example.com"));
    assert!(is_http_url("http://127.0.0.1:8080/x"));
    assert!(is_http_url("HTTPS://EXAMPLE.COM"));
    assert!(!is_http_url("javascript:alert(1)"));
    assert!(!is_http_url("https://"));
    assert!(!is_http_url("https:///x"));
    assert!(!is_http_url("https://a b"));
    assert!(!is_http_url("https://a\"b"));
    assert!(!is_http_url("https://a\nb"));
    assert!(!is_http_url(" https://a"));
    assert!(!is_http_url("data:text/html,x"));
}

mod fuzz {
    //! Messages are typed by anyone in the ticket: whatever they hold, rendering never panics
    //! and no user text becomes markup. Seeds of failed cases are kept in
    //! `transcript/tests/proptest-regressions/markdown.txt`; `PROPTEST_CASES=<n>` runs more.
    use proptest::prelude::*;
    use proptest::test_runner::{Config, FileFailurePersistence};

    use super::*;

    fn config() -> Config {
        Config {
            cases: std::env::var("PROPTEST_CASES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(512),
            failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/proptest-regressions/markdown.txt"
            )))),
            ..Config::default()
        }
    }

    /// Any text: proptest's `any::<String>()` holds no control character (no NUL, newline, BOM
    /// or bidi override); these do.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "(?s).{0,64}",
            "[\\x00-\\x1f\\x7f\\u{85}\\u{feff}\\u{202e}\\u{2028} a-z0-9:=@/#'\"\\\\.-]{0,48}",
        ]
    }

    /// Markdown made of the pieces the parser reacts to, hostile ones included, and anything.
    fn message() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            prop::sample::select(vec![
                "*",
                "**",
                "_",
                "__",
                "~~",
                "||",
                "`",
                "```",
                "```js\n",
                "\n",
                "> ",
                ">>> ",
                "# ",
                "## ",
                "-# ",
                "- ",
                "* ",
                "1. ",
                "[",
                "](",
                ")",
                "<",
                ">",
                "\\",
                "<@1>",
                "<@!2>",
                "<@&10>",
                "<#20>",
                "<@99999999999999999999>",
                "</cmd:1>",
                "<:e:1>",
                "<a:e:1>",
                "<t:",
                "<t:-99999999999999:R>",
                "<t:0:F>",
                "https://x.example/a_b",
                "<https://x.example>",
                "http://",
                "javascript:alert(1)",
                "[x](https://y.example)",
                "\"",
                "'",
                "&",
                "\0",
                "\r",
                " ",
                "a",
                "é",
                "😀",
                "\u{202e}",
                "<script>",
                "onerror=",
                "<img src=x>",
                "@everyone",
            ])
            .prop_map(str::to_owned),
            text(),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn markdown_never_panics_and_makes_only_its_own_markup(src in message()) {
            let html = md(&src);
            assert_only_known_tags(&html);
            prop_assert!(!html.contains('\0'), "{}", html);
            // Attributes are the parser's: links only to http(s), every value closed.
            for (at, _) in html.match_indices("href=\"") {
                let value = &html[at + 6..];
                prop_assert!(
                    value.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://"))
                        || value.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://")),
                    "{}", html
                );
                let end = value.find('"').unwrap_or(value.len());
                prop_assert!(!value[..end].contains(['<', '>']), "{}", html);
            }
            let (u, r, c) = (users(), roles(), channels());
            let _ = to_plain(&src, &Names::from_parts(&u, &r, &c));
        }

        #[test]
        fn plain_text_is_only_escaped(src in "[^*_~|`<>\\[\\]().#>@:/\\\\\n\r\0-]{0,200}") {
            // No markup character: the text as it was, escaped.
            prop_assert_eq!(md(&src), escape(&src));
        }
    }
}
