//! Discord's REST rate limits, enforced: per-route buckets keyed by the route and its major
//! parameter (channel, guild, webhook), the global limit per bot (interaction callbacks and
//! webhooks are outside it), `X-RateLimit-*` headers on every answer, and 429s with Discord's
//! JSON body. Off unless [`Config::rate_limits`](crate::Config) is set.
//!
//! It also keeps the score a test asserts on: how many requests were answered 429, and how
//! many came while a 429's `retry_after` was still running for their bucket (a client that
//! ignores 429s; Discord bans those).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

/// Limits, per window. Discord does not document bucket sizes (its headers say them, and they
/// change); the defaults are the fake's: the global 50/s and 5 messages per 5 s per channel as
/// Discord has them, roomier buckets elsewhere so that a test of hundreds of tickets ends.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimits {
    /// Requests per second per bot, over all routes but interaction callbacks and webhooks.
    pub global_per_second: u32,
    /// `POST /channels/{id}/messages`: per channel.
    pub messages: (u32, Duration),
    /// Creating and deleting channels, per guild.
    pub channels: (u32, Duration),
    /// Every other route, per route and major parameter.
    pub other: (u32, Duration),
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            global_per_second: 50,
            messages: (5, Duration::from_secs(5)),
            channels: (20, Duration::from_secs(2)),
            other: (10, Duration::from_secs(1)),
        }
    }
}

#[derive(Debug)]
struct Bucket {
    limit: u32,
    window: Duration,
    used: u32,
    reset_at: Instant,
    /// A 429's retry_after runs until then (from the first instant).
    blocked_until: Option<(Instant, Instant)>,
}

/// Requests already on their way when a 429 went out cannot have seen it: only those that
/// arrive later than this after it count as ignoring it.
const IN_FLIGHT: Duration = Duration::from_millis(100);

fn ignores(blocked: Option<(Instant, Instant)>, now: Instant) -> bool {
    blocked.is_some_and(|(since, until)| now < until && now.duration_since(since) > IN_FLIGHT)
}

/// What the client did against the limits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateLimitScore {
    /// Requests answered 429.
    pub limited: u32,
    /// Requests sent while a 429's `retry_after` still ran for their bucket (or globally).
    pub ignored_429: u32,
    /// Requests counted against a bucket.
    pub counted: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Limiter {
    buckets: HashMap<String, Bucket>,
    global: Option<(Instant, u32)>,
    global_blocked_until: Option<(Instant, Instant)>,
    pub(crate) score: RateLimitScore,
}

/// A 429 to answer, or the headers for a request that passes.
pub(crate) enum Verdict {
    Pass(Vec<(&'static str, String)>),
    Limited {
        body: Value,
        headers: Vec<(&'static str, String)>,
    },
}

/// The bucket key: the route with ids replaced, except its major parameter.
fn bucket_key(method: &str, path: &str) -> (String, Kind) {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut out = Vec::with_capacity(segs.len());
    for (i, s) in segs.iter().enumerate() {
        let major = i == 1 && matches!(segs[0], "channels" | "guilds" | "webhooks")
            || (i == 2 && segs[0] == "webhooks");
        let is_id = s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty();
        out.push(if is_id && !major { ":id" } else { s });
    }
    let kind = match (method, segs.as_slice()) {
        ("POST", ["channels", _, "messages"]) => Kind::Messages,
        ("POST", ["guilds", _, "channels"]) | ("DELETE", ["channels", _]) => Kind::Channels,
        (_, ["interactions", ..]) | (_, ["webhooks", ..]) => Kind::Interaction,
        _ => Kind::Other,
    };
    // Deleting a channel counts against its guild's channel bucket in Discord; keyed by route.
    (format!("{method} /{}", out.join("/")), kind)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Messages,
    Channels,
    Interaction,
    Other,
}

fn epoch_secs(at: Instant) -> f64 {
    let now = Instant::now();
    let unix = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    unix + at.saturating_duration_since(now).as_secs_f64()
}

fn short_hash(s: &str) -> String {
    // FNV-1a: a stable, opaque bucket id as Discord sends one.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl Limiter {
    pub(crate) fn check(&mut self, limits: &RateLimits, method: &str, path: &str) -> Verdict {
        let now = Instant::now();
        let (key, kind) = bucket_key(method, path);
        // The global limit, except for interaction callbacks and webhooks.
        if kind != Kind::Interaction {
            if ignores(self.global_blocked_until, now) {
                self.score.ignored_429 += 1;
            }
            let (start, n) = self.global.get_or_insert((now, 0));
            if now.duration_since(*start) >= Duration::from_secs(1) {
                *start = now;
                *n = 0;
            }
            *n += 1;
            if *n > limits.global_per_second {
                let until = *start + Duration::from_secs(1);
                if self.global_blocked_until.is_none_or(|(_, u)| now >= u) {
                    self.global_blocked_until = Some((now, until));
                }
                self.score.limited += 1;
                let retry = until
                    .saturating_duration_since(now)
                    .as_secs_f64()
                    .max(0.001);
                return Verdict::Limited {
                    body: json!({"message": "You are being rate limited.", "retry_after": retry, "global": true}),
                    headers: vec![
                        ("retry-after", format!("{}", retry.ceil() as u64)),
                        ("x-ratelimit-global", "true".into()),
                        ("x-ratelimit-scope", "global".into()),
                    ],
                };
            }
        }
        let (limit, window) = match kind {
            Kind::Messages => limits.messages,
            Kind::Channels => limits.channels,
            Kind::Other => limits.other,
            // Interaction responses have buckets too, but roomy ones.
            Kind::Interaction => (50, Duration::from_secs(1)),
        };
        let b = self.buckets.entry(key.clone()).or_insert(Bucket {
            limit,
            window,
            used: 0,
            reset_at: now + window,
            blocked_until: None,
        });
        if ignores(b.blocked_until, now) {
            self.score.ignored_429 += 1;
        }
        if now >= b.reset_at {
            b.used = 0;
            b.reset_at = now + b.window;
        }
        self.score.counted += 1;
        let id = short_hash(&key);
        let reset_after = b.reset_at.saturating_duration_since(now).as_secs_f64();
        let mut headers = vec![
            ("x-ratelimit-limit", b.limit.to_string()),
            (
                "x-ratelimit-reset",
                format!("{:.3}", epoch_secs(b.reset_at)),
            ),
            ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
            ("x-ratelimit-bucket", id),
        ];
        if b.used >= b.limit {
            if b.blocked_until.is_none_or(|(_, u)| now >= u) {
                b.blocked_until = Some((now, b.reset_at));
            }
            self.score.limited += 1;
            headers.push(("x-ratelimit-remaining", "0".into()));
            headers.push(("retry-after", format!("{}", reset_after.ceil() as u64)));
            headers.push(("x-ratelimit-scope", "user".into()));
            return Verdict::Limited {
                body: json!({"message": "You are being rate limited.", "retry_after": reset_after.max(0.001), "global": false}),
                headers,
            };
        }
        b.used += 1;
        headers.push(("x-ratelimit-remaining", (b.limit - b.used).to_string()));
        Verdict::Pass(headers)
    }
}

pub(crate) fn put_headers(h: &mut HeaderMap, headers: &[(&'static str, String)]) {
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(*k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keep_the_major_parameter_only() {
        assert_eq!(
            bucket_key("POST", "/channels/123/messages").0,
            "POST /channels/123/messages"
        );
        assert_eq!(
            bucket_key("PATCH", "/channels/123/messages/456").0,
            "PATCH /channels/123/messages/:id"
        );
        assert_eq!(
            bucket_key("PUT", "/guilds/9/members/77/roles/5").0,
            "PUT /guilds/9/members/:id/roles/:id"
        );
    }

    #[test]
    fn a_bucket_refuses_past_its_limit_and_counts_ignored_429s() {
        let limits = RateLimits::default();
        let mut l = Limiter::default();
        for _ in 0..5 {
            assert!(matches!(
                l.check(&limits, "POST", "/channels/1/messages"),
                Verdict::Pass(_)
            ));
        }
        assert!(matches!(
            l.check(&limits, "POST", "/channels/1/messages"),
            Verdict::Limited { .. }
        ));
        // Another channel is another bucket.
        assert!(matches!(
            l.check(&limits, "POST", "/channels/2/messages"),
            Verdict::Pass(_)
        ));
        // Right after the 429: still in flight, not ignoring it.
        assert!(matches!(
            l.check(&limits, "POST", "/channels/1/messages"),
            Verdict::Limited { .. }
        ));
        assert_eq!(l.score.ignored_429, 0);
        std::thread::sleep(IN_FLIGHT + Duration::from_millis(20));
        assert!(matches!(
            l.check(&limits, "POST", "/channels/1/messages"),
            Verdict::Limited { .. }
        ));
        assert_eq!(l.score.limited, 3);
        assert_eq!(l.score.ignored_429, 1);
    }

    #[test]
    fn the_global_limit_spares_interactions() {
        let limits = RateLimits {
            global_per_second: 3,
            ..RateLimits::default()
        };
        let mut l = Limiter::default();
        for i in 0..3 {
            assert!(matches!(
                l.check(&limits, "GET", &format!("/channels/{i}")),
                Verdict::Pass(_)
            ));
        }
        match l.check(&limits, "GET", "/channels/9") {
            Verdict::Limited { body, headers } => {
                assert_eq!(body["global"], true);
                assert!(headers
                    .iter()
                    .any(|(k, v)| *k == "x-ratelimit-global" && v == "true"));
            }
            Verdict::Pass(_) => panic!("over the global limit"),
        }
        assert!(matches!(
            l.check(&limits, "POST", "/interactions/1/tok/callback"),
            Verdict::Pass(_)
        ));
    }
}
