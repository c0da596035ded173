//! The HTML in a real browser (Debian's `chromium`, headless): hostile content runs nothing
//! and fetches nothing, images show, and a screenshot looks like a transcript.
//!
//! Chromium is required (CI installs it); set `TICKETBOT_SKIP_BROWSER=1` to skip these tests
//! where it is not installed. `TICKETBOT_DOCS_SCREENSHOT=<path>` also copies the screenshot
//! there (how docs/transcript.png is made).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ticketbot_testkit::browser::{self, chromium};
use ticketbot_transcript::*;

/// A tiny HTTP server on 127.0.0.1 that counts every connection.
struct Trap {
    origin: String,
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Trap {
    fn start() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, r, s) = (hits.clone(), requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        h.fetch_add(1, Ordering::SeqCst);
                        r.lock().unwrap().push(answer(stream));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Trap {
            origin,
            hits,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// HTTP requests received (connections that sent nothing are not counted: those are the
    /// browser's speculative preconnects).
    fn requests(&self) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(200));
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| !r.is_empty())
            .cloned()
            .collect()
    }

    fn assert_untouched(&self, what: &str) {
        // Give late requests a moment to arrive.
        std::thread::sleep(Duration::from_millis(200));
        let n = self.hits.load(Ordering::SeqCst);
        assert_eq!(
            n,
            0,
            "{what}: the page made {n} request(s): {:?}",
            self.requests.lock().unwrap()
        );
    }
}

impl Drop for Trap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(mut stream: TcpStream) -> String {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 2048];
    let n = stream.read(&mut buf).unwrap_or(0);
    let line = String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    line
}

/// Runs headless chromium on the file `page` with extra `args`; returns stdout.
fn run(browser: &Path, profile: &Path, page: &Path, args: &[&str]) -> String {
    browser::run(browser, profile, &browser::file_url(page), args)
}

/// Elements the product makes (plus what the browser adds: html/head/body).
const ALLOWED_TAGS: &[&str] = &[
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

const ALLOWED_ATTRS: &[&str] = &[
    "lang",
    "charset",
    "http-equiv",
    "content",
    "name",
    "class",
    "id",
    "title",
    "href",
    "rel",
    "target",
    "download",
    "src",
    "alt",
    "width",
    "height",
    "datetime",
    "style",
    "tabindex",
    "open",
    "data-lang",
];

/// Every element in a `--dump-dom` serialization with its attributes. Text is serialized with
/// `<` as `&lt;`, so each `<` outside attribute values and the style element starts a tag.
fn dom_tags(dom: &str) -> Vec<(String, Vec<(String, String)>)> {
    let b = dom.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        i += 1;
        if dom[i..].starts_with("!--") {
            i += dom[i..].find("-->").map_or(b.len() - i, |e| e + 3);
            continue;
        }
        if b.get(i) == Some(&b'/') || b.get(i) == Some(&b'!') {
            i += dom[i..].find('>').map_or(b.len() - i, |e| e + 1);
            continue;
        }
        let name_len = dom[i..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(0);
        let tag = dom[i..i + name_len].to_ascii_lowercase();
        i += name_len;
        let mut attrs = Vec::new();
        loop {
            while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                i += 1;
                break;
            }
            let n = dom[i..]
                .find(|c: char| c.is_whitespace() || c == '=' || c == '>')
                .unwrap_or(dom.len() - i);
            let attr = dom[i..i + n].to_ascii_lowercase();
            i += n;
            let mut value = String::new();
            if b.get(i) == Some(&b'=') {
                i += 1;
                if b.get(i) == Some(&b'"') {
                    let e = dom[i + 1..].find('"').expect("closing quote");
                    value = dom[i + 1..i + 1 + e].to_string();
                    i += e + 2;
                } else {
                    let e = dom[i..]
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .unwrap_or(dom.len() - i);
                    value = dom[i..i + e].to_string();
                    i += e;
                }
            }
            attrs.push((attr, value));
        }
        if tag == "style" {
            i += dom[i..].find("</style>").expect("style end");
        }
        out.push((tag, attrs));
    }
    out
}

const NONCE: &str = "checker-9f2c1a";

/// A copy of the page with a checker script (allowed by nonce only) that reports, after load,
/// the images that did not decode, whether hostile code ran, and the avatar backgrounds.
fn with_checker(html: &str) -> String {
    let start = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .expect("CSP meta");
    let end = start + html[start..].find('>').unwrap() + 1;
    let csp = format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; \
         style-src 'unsafe-inline'; script-src 'nonce-{NONCE}'\">"
    );
    let script = format!(
        r#"<script nonce="{NONCE}">
window.addEventListener('load', function () {{
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) {{ return !(i.complete && i.naturalWidth > 0); }})
                   .map(function (i) {{ return i.getAttribute('src').slice(0, 40); }});
  var avatars = Array.prototype.slice.call(document.querySelectorAll('.avatar'))
      .filter(function (a) {{ return /\bav-\d/.test(a.className); }});
  var badAvatars = avatars.filter(function (a) {{
      return getComputedStyle(a).backgroundImage.indexOf('url("data:image/') !== 0; }}).length;
  var r = document.createElement('pre');
  r.id = 'checker-result';
  r.textContent = 'RESULT images=' + imgs.length + ' broken=' + broken.length +
      ' avatars=' + avatars.length + ' badavatars=' + badAvatars +
      ' pwned=' + (typeof window.__pwned) + ' title=' + (document.title === 'pwned' ? 'pwned' : 'ok') +
      ' END ' + JSON.stringify(broken);
  document.body.appendChild(r);
}});
</script>"#
    );
    let body_end = html.rfind("</body>").expect("body end");
    format!(
        "{}{}{}{}{}",
        &html[..start],
        csp,
        &html[end..body_end],
        script,
        &html[body_end..]
    )
}

fn checker_result(dom: &str) -> String {
    let marker = "id=\"checker-result\">";
    let s = dom
        .find(marker)
        .map(|i| i + marker.len())
        .unwrap_or_else(|| panic!("no checker result in DOM ({} bytes)", dom.len()));
    let e = s + dom[s..].find(" END").unwrap();
    dom[s..e].to_string()
}

/// (a) and (c) for one page; (b) is checked by the caller's trap.
fn check_page(
    browser: &Path,
    dir: &Path,
    name: &str,
    html: &str,
    expect_images: usize,
    expect_avatars: bool,
) {
    let page = dir.join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    // (a) The product page: no script ran, nothing injected.
    let profile = dir.join(format!("{name}-profile"));
    let dom = run(
        browser,
        &profile,
        &page,
        &["--virtual-time-budget=3000", "--dump-dom"],
    );
    assert!(
        dom.contains("id=\"m-"),
        "{name}: messages missing from the DOM"
    );
    assert!(
        !dom.contains("<title>pwned</title>"),
        "{name}: a script set the title"
    );
    for (tag, attrs) in dom_tags(&dom) {
        assert!(
            ALLOWED_TAGS.contains(&tag.as_str()),
            "{name}: injected <{tag}> in the DOM"
        );
        for (attr, value) in attrs {
            assert!(
                ALLOWED_ATTRS.contains(&attr.as_str()),
                "{name}: unexpected attribute {attr}={value:?} on <{tag}>"
            );
            if attr == "href" {
                assert!(
                    value.starts_with("https://")
                        || value.starts_with("http://")
                        || value.starts_with("#m-")
                        || value.starts_with("data:application/octet-stream;base64,"),
                    "{name}: href {value:?}"
                );
            }
            if attr == "src" {
                assert!(value.starts_with("data:image/"), "{name}: src {value:?}");
            }
        }
    }
    assert_eq!(
        dom.matches("<style>").count(),
        1,
        "{name}: one style element"
    );
    assert_eq!(dom.matches("<meta http-equiv=\"refresh\"").count(), 0);
    assert!(
        !dom.contains("href=\"javascript:"),
        "{name}: javascript: link"
    );
    // (c) A copy with a checker script.
    let checked = dir.join(format!("{name}-checked.html"));
    std::fs::write(&checked, with_checker(html)).unwrap();
    let profile = dir.join(format!("{name}-profile-checked"));
    let dom = run(
        browser,
        &profile,
        &checked,
        &["--virtual-time-budget=3000", "--dump-dom"],
    );
    let result = checker_result(&dom);
    println!("{name}: {result}");
    assert!(
        result.contains(&format!("images={expect_images} ")),
        "{name}: {result}"
    );
    assert!(result.contains(" broken=0 "), "{name}: {result}");
    assert!(result.contains(" badavatars=0 "), "{name}: {result}");
    if expect_avatars {
        assert!(!result.contains(" avatars=0 "), "{name}: {result}");
    }
    assert!(result.contains(" pwned=undefined "), "{name}: {result}");
    assert!(result.contains(" title=ok"), "{name}: {result}");
}

#[test]
fn hostile_transcript_runs_and_fetches_nothing() {
    let Some(browser) = chromium() else { return };
    let trap = Trap::start();
    let dir = tempfile::tempdir().unwrap();
    let t = common::hostile(&trap.origin);
    let html = render_html(&t);
    assert!(html.contains(&trap.origin), "payloads reference the trap");
    // Images: the invoice attachment and the embed thumbnail (avatars are backgrounds).
    check_page(&browser, dir.path(), "hostile", &html, 2, true);
    // The payload is shown as text.
    let dom = run(
        &browser,
        &dir.path().join("p2"),
        &dir.path().join("hostile.html"),
        &["--dump-dom"],
    );
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned';window.__pwned=1;fetch("),
        "payload text missing"
    );
    assert!(
        dom.contains("&lt;img src=\"http://127.0.0.1"),
        "payload text missing"
    );
    // Parts without files: same guarantees.
    let parts = discord_parts(&t, 40 * 1024);
    assert!(parts.len() > 1);
    let first = String::from_utf8(parts[0].bytes.clone()).unwrap();
    check_page(&browser, dir.path(), "hostile-part", &first, 0, false);
    trap.assert_untouched("hostile transcript");
}

/// Even if a bug let markup through, the page's Content Security Policy stops it: the test
/// injects raw markup into the product page and nothing runs or is fetched.
#[test]
fn content_security_policy_blocks_injected_markup() {
    let Some(browser) = chromium() else { return };
    let trap = Trap::start();
    let dir = tempfile::tempdir().unwrap();
    let html = render_html(&common::representative());
    let o = &trap.origin;
    let injected = format!(
        "<script>document.title='pwned';fetch('{o}/fetch')</script>\
         <script src=\"{o}/js\"></script><img src=\"{o}/img\">\
         <link rel=stylesheet href=\"{o}/css\"><iframe src=\"{o}/iframe\"></iframe>\
         <style>body{{background:url({o}/bg)}}</style><div style=\"background:url({o}/inline)\">x</div>\
         <object data=\"{o}/object\"></object><video src=\"{o}/video\" autoplay></video>\
         <img src=x onerror=\"document.title='pwned'\">"
    );
    let main = html.find("<main class=\"chat\">").unwrap() + "<main class=\"chat\">".len();
    let page = dir.path().join("injected.html");
    std::fs::write(
        &page,
        format!("{}{}{}", &html[..main], injected, &html[main..]),
    )
    .unwrap();
    let dom = run(
        &browser,
        &dir.path().join("profile"),
        &page,
        &["--virtual-time-budget=3000", "--dump-dom"],
    );
    assert!(dom.contains("<title>Ticket 1b4e28ba"), "title kept");
    assert!(!dom.contains("<title>pwned"), "an injected script ran");
    // Chromium may open a connection for an injected URL (a preconnect), but sends no request.
    let requests = trap.requests();
    assert!(requests.is_empty(), "injected markup fetched: {requests:?}");
}

#[test]
fn large_transcript_in_browser() {
    let Some(browser) = chromium() else { return };
    let trap = Trap::start();
    let dir = tempfile::tempdir().unwrap();
    let mut t = common::synthetic(2000, 40, 96, false);
    // Links to the trap in ordinary messages: links are not followed by loading the page.
    t.messages[10].content = format!("see {}/link and [docs]({}/docs)", trap.origin, trap.origin);
    let html = render_html(&t);
    let start = Instant::now();
    check_page(&browser, dir.path(), "large", &html, 40, true);
    println!(
        "2,000 messages ({} KiB) checked in {:?}",
        html.len() / 1024,
        start.elapsed()
    );
    trap.assert_untouched("large transcript");
}

#[test]
fn screenshot_looks_like_a_transcript() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("transcript.html");
    std::fs::write(&page, render_html(&common::representative())).unwrap();
    let shot = dir.path().join("transcript.png");
    run(
        &browser,
        &dir.path().join("profile"),
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,1800",
            "--virtual-time-budget=2000",
        ],
    );
    println!("screenshot: {}", shot.display());
    let bytes = std::fs::read(&shot).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 30_000,
        "suspiciously small screenshot: {} bytes",
        bytes.len()
    );
    let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1200, 1800));
    // Many distinct colours: text, images and avatars were drawn, not a blank page.
    let step = info.line_size / info.width as usize;
    let mut colors = std::collections::HashSet::new();
    for px in buf[..info.buffer_size()].chunks(step) {
        colors.insert(px[..3].to_vec());
    }
    assert!(colors.len() > 500, "only {} colours", colors.len());
    if let Ok(dest) = std::env::var("TICKETBOT_DOCS_SCREENSHOT") {
        std::fs::copy(&shot, &dest).unwrap();
        println!("copied to {dest}");
    }
    // Keep the folder for a look when asked.
    if std::env::var("TICKETBOT_KEEP_SCREENSHOT").is_ok() {
        let kept = dir.keep();
        println!("kept {}", kept.display());
    }
}
