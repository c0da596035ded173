//! Observing what the bot sends: each click's requests, matched to its clicker.

use super::*;

/// When each request of interest reached the fake, keyed by interaction or user.
#[derive(Default)]
pub(super) struct Obs {
    pub(super) next: usize,
    /// interaction id → (seen, callback type)
    pub(super) callbacks: HashMap<u64, (Instant, u64)>,
    /// interaction id → (seen, the ticket link was given)
    pub(super) followups: HashMap<u64, (Instant, bool)>,
    /// user id → seen: channel created, welcome posted, audit entry posted
    pub(super) channel: HashMap<u64, Instant>,
    pub(super) welcome: HashMap<u64, Instant>,
    pub(super) audit: HashMap<u64, Instant>,
    /// route → (requests, failed)
    pub(super) routes: HashMap<String, (usize, usize)>,
    pub(super) failures: Vec<String>,
}

/// The first `<@id>` (not `<@&role>`) in a text.
pub(super) fn user_mention(text: &str) -> Option<u64> {
    let mut rest = text;
    while let Some(i) = rest.find("<@") {
        rest = &rest[i + 2..];
        if rest.starts_with('&') {
            continue;
        }
        let end = rest.find('>')?;
        if let Ok(id) = rest[..end].trim_start_matches('!').parse() {
            return Some(id);
        }
    }
    None
}

pub(super) fn interaction_of_token(token: &str) -> Option<u64> {
    u64::from_str_radix(token.strip_prefix(TOKEN_PREFIX)?, 16).ok()
}

/// `METHOD /path` with ids and tokens replaced, to count requests per route.
pub(super) fn route_of(r: &RecordedRequest) -> String {
    let parts: Vec<&str> = r.path.split('/').collect();
    let norm: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if p.starts_with(TOKEN_PREFIX) {
                "{token}".to_owned()
            } else if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                let owner = if i > 0 { parts[i - 1] } else { "" };
                match (owner, p.parse::<u64>().ok()) {
                    ("channels", Some(ids::LOG_CHANNEL)) => "{log_channel}".to_owned(),
                    ("channels", Some(ids::PANEL_CHANNEL)) => "{panel_channel}".to_owned(),
                    _ => "{id}".to_owned(),
                }
            } else {
                (*p).to_owned()
            }
        })
        .collect();
    format!("{} {}", r.method, norm.join("/"))
}

/// Whether a message body is the open button's answer with the ticket's link (ours, or the
/// Python bot's "Ticket created: #channel").
pub(super) fn has_link(message: &serde_json::Value) -> bool {
    message["content"]
        .as_str()
        .is_some_and(|c| c.contains("Your ticket is open") || c.starts_with("Ticket created"))
}

impl Obs {
    pub(super) fn scan(&mut self, st: &State) {
        let now = Instant::now();
        for r in st.requests.iter().skip(self.next) {
            let ok = (200..300).contains(&r.status);
            let e = self.routes.entry(route_of(r)).or_default();
            e.0 += 1;
            if !ok {
                e.1 += 1;
                if self.failures.len() < 20 {
                    self.failures.push(format!(
                        "{} {} -> {} {}",
                        r.method,
                        r.path,
                        r.status,
                        r.fault.clone().unwrap_or_default()
                    ));
                }
                continue;
            }
            if r.method != "POST" {
                continue;
            }
            let seg: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
            match seg.as_slice() {
                ["interactions", id, _token, "callback"] => {
                    if let Ok(id) = id.parse() {
                        let kind = r.body["type"].as_u64().unwrap_or(0);
                        self.callbacks.entry(id).or_insert((now, kind));
                        // Answered at once (type 4): the answer is the reply.
                        if kind == 4 {
                            self.followups
                                .entry(id)
                                .or_insert((now, has_link(&r.body["data"])));
                        }
                    }
                }
                ["webhooks", _app, token] => {
                    if let Some(id) = interaction_of_token(token) {
                        self.followups.entry(id).or_insert((now, has_link(&r.body)));
                    }
                }
                ["guilds", _, "channels"] => {
                    if let Some(u) = r.body["topic"].as_str().and_then(user_mention) {
                        self.channel.entry(u).or_insert(now);
                    }
                }
                ["channels", ch, "messages"] => {
                    if ch.parse::<u64>().ok() == Some(ids::LOG_CHANNEL) {
                        let creator = r.body["embeds"][0]["fields"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|f| f["name"] == "Creator")
                            .and_then(|f| f["value"].as_str())
                            .and_then(user_mention);
                        if let Some(u) = creator {
                            self.audit.entry(u).or_insert(now);
                        }
                    } else if let Some(u) = r.body["content"].as_str().and_then(user_mention) {
                        self.welcome.entry(u).or_insert(now);
                    }
                }
                _ => {}
            }
        }
        self.next = st.requests.len();
    }
}
