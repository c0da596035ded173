//! Fault injection: make the next N requests matching a route fail or stall.

use std::time::Duration;

/// What an injected fault does to a matching request.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Answer with this status and Discord's JSON error body for it (500, 502, 503, 403, 404,
    /// ...). Nothing is changed in the fake's state.
    Status(u16),
    /// Answer with this status, Discord error code and message.
    Error {
        status: u16,
        code: u32,
        message: String,
    },
    /// Answer 429 with `retry_after`, `global: false` and the `Retry-After` / `X-RateLimit-*`
    /// headers Discord sends. Nothing is changed in the fake's state.
    RateLimited { retry_after_secs: f64 },
    /// Wait this long, then handle the request normally.
    Delay(Duration),
    /// Handle the request at once (its gateway events go out), then wait this long before
    /// answering: Discord's events often arrive before the REST response that caused them.
    SlowResponse(Duration),
}

impl FaultKind {
    pub(crate) fn describe(&self) -> String {
        match self {
            FaultKind::Status(s) => format!("status {s}"),
            FaultKind::Error { status, code, .. } => format!("status {status} code {code}"),
            FaultKind::RateLimited { retry_after_secs } => {
                format!("429 retry_after {retry_after_secs}")
            }
            FaultKind::Delay(d) => format!("delay {d:?}"),
            FaultKind::SlowResponse(d) => format!("response delayed {d:?}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*` or `{name}`: any one segment.
    Any,
    /// `**` at the end: any rest, including nothing.
    Rest,
}

/// Which requests a fault applies to: `"METHOD /path"` or `"/path"` (any method), relative to
/// `/api/v10` (a leading `/api/v10` is accepted too). A segment `*` or `{name}` matches any one
/// segment, a final `**` any rest. Examples: `"POST /channels/*/messages"`,
/// `"PUT /applications/{app}/guilds/{guild}/commands"`, `"/interactions/**"`, `"*"` (all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMatcher {
    method: Option<String>,
    segments: Vec<Segment>,
}

impl RouteMatcher {
    /// Every request.
    pub fn any() -> Self {
        RouteMatcher {
            method: None,
            segments: vec![Segment::Rest],
        }
    }

    pub fn parse(pattern: &str) -> Self {
        let pattern = pattern.trim();
        if pattern == "*" || pattern == "**" {
            return Self::any();
        }
        let (method, path) = match pattern.split_once(char::is_whitespace) {
            Some((m, p)) if !m.starts_with('/') => (Some(m.trim().to_ascii_uppercase()), p.trim()),
            _ => (None, pattern),
        };
        let method = method.filter(|m| m != "*");
        let path = path.strip_prefix("/api/v10").unwrap_or(path);
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s {
                "**" => Segment::Rest,
                "*" => Segment::Any,
                s if s.starts_with('{') && s.ends_with('}') => Segment::Any,
                s => Segment::Literal(s.to_owned()),
            })
            .collect();
        RouteMatcher { method, segments }
    }

    /// Whether a request (path relative to `/api/v10`, no query) matches.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if let Some(m) = &self.method {
            if !m.eq_ignore_ascii_case(method) {
                return false;
            }
        }
        let path = path.strip_prefix("/api/v10").unwrap_or(path);
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut i = 0;
        for seg in &self.segments {
            match seg {
                Segment::Rest => return true,
                Segment::Any => {
                    if i >= segs.len() {
                        return false;
                    }
                }
                Segment::Literal(l) => {
                    if segs.get(i) != Some(&l.as_str()) {
                        return false;
                    }
                }
            }
            i += 1;
        }
        i == segs.len()
    }
}

impl From<&str> for RouteMatcher {
    fn from(s: &str) -> Self {
        RouteMatcher::parse(s)
    }
}

impl From<String> for RouteMatcher {
    fn from(s: String) -> Self {
        RouteMatcher::parse(&s)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Fault {
    pub matcher: RouteMatcher,
    pub remaining: u32,
    pub kind: FaultKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_segments() {
        let m = RouteMatcher::parse("POST /channels/*/messages");
        assert!(m.matches("POST", "/channels/1/messages"));
        assert!(m.matches("post", "/api/v10/channels/1/messages"));
        assert!(!m.matches("GET", "/channels/1/messages"));
        assert!(!m.matches("POST", "/channels/1/messages/2"));
        assert!(!m.matches("POST", "/channels/1"));

        let m = RouteMatcher::parse("/interactions/**");
        assert!(m.matches("POST", "/interactions/1/tok/callback"));
        assert!(!m.matches("POST", "/webhooks/1/tok"));

        let m = RouteMatcher::parse("PUT /applications/{app}/guilds/{guild}/commands");
        assert!(m.matches("PUT", "/applications/1/guilds/2/commands"));

        assert!(RouteMatcher::parse("*").matches("DELETE", "/channels/5"));
        assert!(RouteMatcher::parse("* /channels/5").matches("DELETE", "/channels/5"));
    }
}
