//! Faults injected into REST, and the gateway's disconnects as Discord makes them.

use serde_json::json;

use crate::faults::Fault;
use crate::gateway::Out;
use crate::{lock, FakeDiscord, FaultKind, RouteMatcher};

impl FakeDiscord {
    /// The next request matching `route` gets `kind`.
    pub fn fail_next(&self, route: impl Into<RouteMatcher>, kind: FaultKind) {
        self.fail_next_n(route, 1, kind);
    }

    /// The next `n` requests matching `route` get `kind`. Faults are tried in the order added.
    pub fn fail_next_n(&self, route: impl Into<RouteMatcher>, n: u32, kind: FaultKind) {
        if n > 0 {
            lock(&self.shared.faults).push(Fault {
                matcher: route.into(),
                remaining: n,
                kind,
            });
        }
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// How many injected failures are still to happen.
    pub fn pending_faults(&self) -> u32 {
        lock(&self.shared.faults).iter().map(|f| f.remaining).sum()
    }

    /// Detaches every shard's connection, sending `first` then closing with `close`; with
    /// `forget`, the sessions go too (the client must IDENTIFY again).
    fn detach_gateway(
        &self,
        first: Option<String>,
        close: Option<(u16, &str)>,
        forget: bool,
    ) -> bool {
        let conns = {
            let mut gw = self.shared.lock_gw();
            let conns = gw.take_conns();
            if forget {
                gw.forget_sessions();
            }
            conns
        };
        if conns.is_empty() {
            return false;
        }
        for conn in conns {
            if let Some(text) = &first {
                let _ = conn.tx.send(Out::Text(text.clone()));
            }
            if let Some((code, reason)) = close {
                let _ = conn.tx.send(Out::Close(code, reason.to_owned()));
            }
        }
        self.shared.sessions_changed();
        true
    }

    /// Closes the gateway connection with close code 4000 (resumable): serenity reconnects and
    /// RESUMEs; dispatches sent meanwhile are replayed. Returns whether a connection was open.
    pub fn drop_gateway(&self) -> bool {
        self.detach_gateway(None, Some((4000, "fakecord: connection dropped")), false)
    }

    /// Closes the gateway connection with `code`, as Discord does: 4009 (session timed out)
    /// forgets the session, so the client must IDENTIFY again; any other code keeps it for a
    /// RESUME (serenity itself identifies anew after 1000/1001). Returns whether a connection
    /// was open.
    pub fn close_gateway(&self, code: u16) -> bool {
        self.detach_gateway(None, Some((code, "fakecord: closed")), code == 4009)
    }

    /// Sends op 7 RECONNECT: the client should reconnect and RESUME.
    pub fn request_reconnect(&self) -> bool {
        self.detach_gateway(Some(json!({"op": 7, "d": null}).to_string()), None, false)
    }

    /// Sends op 9 INVALID SESSION. With `resumable: false` the session is forgotten and the
    /// client must IDENTIFY again (new READY, GUILD_CREATE).
    pub fn invalidate_session(&self, resumable: bool) -> bool {
        self.detach_gateway(
            Some(json!({"op": 9, "d": resumable}).to_string()),
            None,
            !resumable,
        )
    }
}
