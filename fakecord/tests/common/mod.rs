//! Shared by the integration tests: capturing serenity's logs so that a payload serenity could
//! not deserialize (which it only logs) fails the test.

#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::level_filters::LevelFilter;
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

/// Log lines that mean serenity dropped or mangled something the fake sent.
pub const DESERIALIZATION_FAILURES: &[&str] = &[
    "An unknown event was received",
    "Err deserializing",
    "skipping guild channel due to deserialization error",
    "Could not decode json",
    "Skipping component with unsupported kind",
    "Mismatched successful response status",
    "Unhandled error",
    "Shard handler received err",
    "Sequence off",
];

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures serenity's and fakecord's logs at DEBUG (others at WARN) for the current thread,
/// which is every task of a `#[tokio::test]` (current-thread runtime).
pub struct LogCapture {
    buffer: Buffer,
    _guard: DefaultGuard,
}

pub fn capture_logs() -> LogCapture {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(move || writer.clone());
    let filter = Targets::new()
        .with_target("serenity", LevelFilter::DEBUG)
        .with_target("fakecord", LevelFilter::DEBUG)
        .with_default(LevelFilter::WARN);
    let subscriber = tracing_subscriber::registry().with(fmt).with(filter);
    LogCapture {
        _guard: tracing::subscriber::set_default(subscriber),
        buffer,
    }
}

impl LogCapture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.0.lock().unwrap_or_else(|e| e.into_inner()))
            .into_owned()
    }

    /// Lines containing `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }

    /// Fails if serenity logged that it could not deserialize something.
    pub fn assert_no_deserialization_failures(&self) {
        let text = self.text();
        let bad: Vec<&str> = text
            .lines()
            .filter(|l| DESERIALIZATION_FAILURES.iter().any(|b| l.contains(b)))
            .collect();
        assert!(
            bad.is_empty(),
            "serenity failed to take payloads from the fake:\n{}",
            bad.join("\n")
        );
    }
}

impl Drop for LogCapture {
    /// A failing test shows what serenity logged.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let text = self.text();
            let tail: Vec<&str> = text.lines().rev().take(200).collect();
            eprintln!("---- captured serenity/fakecord logs (last 200 lines) ----");
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// A raw HTTP/1.1 request to the fake (for bodies serenity would never send). Returns the
/// status, the header block (lowercased) and the body.
pub async fn raw_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bot fake-token\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.expect("read");
    let text = String::from_utf8_lossy(&out).into_owned();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, headers.to_lowercase(), body.to_owned())
}

/// POSTs raw JSON under `/api/v10` and returns `(status, parsed body)`.
pub async fn post_json(
    addr: std::net::SocketAddr,
    path: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let (status, _, text) = raw_request(
        addr,
        "POST",
        &format!("/api/v10{path}"),
        "application/json",
        body.to_string().as_bytes(),
    )
    .await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// `(status, field path, error code)` of an answer that must be one 50035 form error.
pub fn form_error(status: u16, body: &serde_json::Value) -> (u16, String, String) {
    assert_eq!(body["code"], 50035, "not a form error: {body}");
    let errors = body["errors"].as_object().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    let (path, e) = errors.iter().next().expect("one error");
    let code = e["_errors"][0]["code"].as_str().unwrap_or_default();
    (status, path.clone(), code.to_owned())
}
