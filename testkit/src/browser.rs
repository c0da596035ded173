//! Pages in a real browser: Debian's `chromium`, headless.
//!
//! Chromium is required (CI installs it); `TICKETBOT_SKIP_BROWSER=1` skips the browser tests
//! where it is not installed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The browser, or None when skipping is asked for. Panics with a clear message if missing.
pub fn chromium() -> Option<PathBuf> {
    if std::env::var("TICKETBOT_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("TICKETBOT_SKIP_BROWSER=1: browser test skipped");
        return None;
    }
    let candidates = [
        std::env::var("CHROMIUM").ok().map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromium")),
        Some(PathBuf::from("/usr/bin/chromium-browser")),
    ];
    for c in candidates.into_iter().flatten() {
        if c.is_file() {
            return Some(c);
        }
    }
    panic!(
        "chromium is not installed (looked for $CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser). \
         Install it (`apt-get install chromium`) or set TICKETBOT_SKIP_BROWSER=1 to skip the browser tests."
    );
}

/// Runs headless chromium on `url` with extra `args` (e.g. `--dump-dom`, `--screenshot=…`)
/// and a fresh profile in `profile`; returns stdout. Panics if it fails or takes over 90 s.
pub fn run(browser: &Path, profile: &Path, url: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--mute-audio",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .arg(url)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start chromium");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = out_thread.join().unwrap_or_default();
    let err = err_thread.join().unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}): {err}");
    out
}

/// A `file://` URL for a local page.
pub fn file_url(page: &Path) -> String {
    format!("file://{}", page.display())
}
