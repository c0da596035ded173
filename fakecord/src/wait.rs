//! Waiting for the bot: until the state shows what a test expects, or a timeout that lists
//! the last requests.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::state::{Callback, Message, RecordedRequest, State, LOADING};
use crate::{FakeDiscord, RouteMatcher};

/// Returned when a wait runs out of time.
#[derive(Clone, Debug)]
pub struct WaitTimeout {
    /// What was awaited.
    pub what: String,
    pub after: Duration,
    /// The last REST requests (`METHOD path -> status`), for the failure message.
    pub recent_requests: Vec<String>,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fakecord: timed out after {:?} waiting for {}; last requests: [{}]",
            self.after,
            self.what,
            self.recent_requests.join(", ")
        )
    }
}

impl std::error::Error for WaitTimeout {}

impl FakeDiscord {
    /// Waits until `f` returns `Some`, re-checking whenever the state changes.
    pub async fn wait_for<T>(
        &self,
        mut f: impl FnMut(&State) -> Option<T>,
        timeout: Duration,
    ) -> Result<T, WaitTimeout> {
        self.wait_named("a condition", &mut f, timeout).await
    }

    pub(crate) async fn wait_named<T>(
        &self,
        what: &str,
        f: &mut dyn FnMut(&State) -> Option<T>,
        timeout: Duration,
    ) -> Result<T, WaitTimeout> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(v) = f(&self.shared.lock_state()) {
                return Ok(v);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let st = self.shared.lock_state();
                if let Some(v) = f(&st) {
                    return Ok(v);
                }
                let n = st.requests.len();
                return Err(WaitTimeout {
                    what: what.to_owned(),
                    after: timeout,
                    recent_requests: st.requests[n.saturating_sub(10)..]
                        .iter()
                        .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
                        .collect(),
                });
            }
        }
    }

    /// Waits until `pred` holds.
    pub async fn wait_until(
        &self,
        mut pred: impl FnMut(&State) -> bool,
        timeout: Duration,
    ) -> Result<(), WaitTimeout> {
        self.wait_named("a condition", &mut |st| pred(st).then_some(()), timeout)
            .await
    }

    /// Waits for the first callback of an interaction.
    pub async fn wait_for_callback(
        &self,
        interaction_id: u64,
        timeout: Duration,
    ) -> Result<Callback, WaitTimeout> {
        let what = format!("a callback to interaction {interaction_id}");
        self.wait_named(
            &what,
            &mut |st| {
                st.interactions
                    .get(&interaction_id)
                    .and_then(|i| i.callbacks.first().cloned())
            },
            timeout,
        )
        .await
    }

    /// Waits for the first reply with something in it: a type 4 response, a deferred response
    /// once edited or followed up, or a follow-up. Returns the message as it is then.
    pub async fn wait_for_reply(
        &self,
        interaction_id: u64,
        timeout: Duration,
    ) -> Result<Message, WaitTimeout> {
        let what = format!("a reply to interaction {interaction_id}");
        self.wait_named(
            &what,
            &mut |st| {
                st.replies(interaction_id)
                    .into_iter()
                    .find(|m| {
                        m.flags & LOADING == 0
                            && (!m.content.is_empty()
                                || !m.embeds.is_empty()
                                || !m.attachments.is_empty()
                                || !m.components.is_empty())
                    })
                    .cloned()
            },
            timeout,
        )
        .await
    }

    /// Waits until a client has identified (READY sent) and is connected.
    pub async fn wait_for_ready(&self, timeout: Duration) -> Result<(), WaitTimeout> {
        self.wait_named(
            "the bot to IDENTIFY on the gateway",
            &mut |st| (st.gateway.identifies > 0 && st.gateway.connected).then_some(()),
            timeout,
        )
        .await
    }

    /// Waits for a request matching `route` that was answered with a 2xx, and returns it.
    pub async fn wait_for_request(
        &self,
        route: impl Into<RouteMatcher>,
        timeout: Duration,
    ) -> Result<RecordedRequest, WaitTimeout> {
        let m = route.into();
        let what = format!("a successful request matching {m:?}");
        self.wait_named(
            &what,
            &mut |st| {
                st.requests
                    .iter()
                    .find(|r| (200..300).contains(&r.status) && m.matches(&r.method, &r.path))
                    .cloned()
            },
            timeout,
        )
        .await
    }

    /// Waits until commands are registered (guild or global) and returns them.
    pub async fn wait_for_commands(&self, timeout: Duration) -> Result<Vec<Value>, WaitTimeout> {
        self.wait_named(
            "command registration",
            &mut |st| {
                let c: Vec<Value> = st.commands().into_iter().cloned().collect();
                (!c.is_empty()).then_some(c)
            },
            timeout,
        )
        .await
    }
}
