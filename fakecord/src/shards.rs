//! The gateway's sessions, one per shard, and the routing of dispatches to them, as Discord
//! does: an event of guild `g` goes only to the shard `(g >> 22) % count`, events without a
//! guild (DMs) to shard 0. Each session keeps its own sequence numbers and log, so a RESUME
//! replays what that shard missed; an event for a shard with no session yet waits for its
//! IDENTIFY.

use std::collections::VecDeque;

use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

use crate::payloads::strip_content;
use crate::rest::{intents, json_sf};

/// Most dispatches a session keeps for replay.
const LOG_LIMIT: usize = 10_000;

pub(crate) enum Out {
    Text(String),
    Close(u16, String),
}

/// The connection a session is attached to.
pub(crate) struct Conn {
    pub id: u64,
    pub tx: UnboundedSender<Out>,
}

pub(crate) struct Session {
    pub id: String,
    /// `(id, count)` from IDENTIFY.
    pub shard: (u32, u32),
    pub seq: u64,
    pub intents: u64,
    pub log: VecDeque<(u64, String)>,
    /// The bot's user id (its own messages keep their content without MESSAGE_CONTENT).
    pub bot_id: u64,
    pub conn: Option<Conn>,
}

/// Whether `shard` receives the events of `guild` (`None`: a DM, shard 0's).
pub(crate) fn holds(shard: (u32, u32), guild: Option<u64>) -> bool {
    match guild {
        Some(g) => (g >> 22) % u64::from(shard.1.max(1)) == u64::from(shard.0),
        None => shard.0 == 0,
    }
}

/// The guild a dispatch belongs to: `id` for the guild's own events, else `guild_id`.
pub(crate) fn event_guild(t: &str, d: &Value) -> Option<u64> {
    let key = match t {
        "GUILD_CREATE" | "GUILD_UPDATE" | "GUILD_DELETE" => "id",
        _ => "guild_id",
    };
    d.get(key).and_then(json_sf)
}

/// One dispatch sent (or logged for replay): its sequence number in the session and the
/// session's shard.
pub(crate) type Sent = (u64, (u32, u32));

#[derive(Default)]
pub(crate) struct Gw {
    pub sessions: Vec<Session>,
    /// Dispatches for a shard that has no session yet: `(t, d, intent)`.
    pub pending: Vec<(String, Value, u64)>,
    pub next_conn: u64,
}

impl Gw {
    /// Sends one dispatch to the session(s) of the shard holding its guild (or logs it there
    /// for replay). Empty when it was queued for a shard not identified yet or filtered out
    /// by intents.
    pub fn dispatch(&mut self, t: &str, d: Value, intent: u64) -> Vec<Sent> {
        let guild = event_guild(t, &d);
        let targets: Vec<usize> = (0..self.sessions.len())
            .filter(|&i| holds(self.sessions[i].shard, guild))
            .collect();
        if targets.is_empty() {
            self.pending.push((t.to_owned(), d, intent));
            return Vec::new();
        }
        targets
            .into_iter()
            .filter_map(|i| self.send_to(i, t, d.clone(), intent))
            .collect()
    }

    /// Sends one dispatch to session `i` (READY, GUILD_CREATE, RESUMED, routed events).
    pub fn send_to(&mut self, i: usize, t: &str, mut d: Value, intent: u64) -> Option<Sent> {
        let s = self.sessions.get_mut(i)?;
        if intent != 0 && s.intents & intent == 0 {
            return None;
        }
        let guild_message = matches!(t, "MESSAGE_CREATE" | "MESSAGE_UPDATE")
            && d.get("guild_id").is_some_and(|g| !g.is_null());
        if guild_message && s.intents & intents::MESSAGE_CONTENT == 0 {
            strip_content(&mut d, s.bot_id);
        }
        s.seq += 1;
        let text = json!({"op": 0, "s": s.seq, "t": t, "d": d}).to_string();
        if let Some(c) = &s.conn {
            let _ = c.tx.send(Out::Text(text.clone()));
        }
        s.log.push_back((s.seq, text));
        if s.log.len() > LOG_LIMIT {
            s.log.pop_front();
        }
        Some((s.seq, s.shard))
    }

    /// Starts the session of a shard, replacing that shard's earlier one, and forgetting
    /// sessions of another shard count that nothing is attached to (a restart with another
    /// SHARD_COUNT). Returns its index.
    pub fn start(&mut self, session: Session) -> usize {
        let shard = session.shard;
        self.sessions
            .retain(|s| s.shard != shard && (s.shard.1 == shard.1 || s.conn.is_some()));
        self.sessions.push(session);
        self.sessions.len() - 1
    }

    /// The dispatches that waited for a shard: those `shard` holds, in order.
    pub fn take_pending(&mut self, shard: (u32, u32)) -> Vec<(String, Value, u64)> {
        let (mine, rest) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(t, d, _)| holds(shard, event_guild(t, d)));
        self.pending = rest;
        mine
    }

    /// Detaches every connection (a test dropping the gateway); returns them.
    pub fn take_conns(&mut self) -> Vec<Conn> {
        self.sessions
            .iter_mut()
            .filter_map(|s| s.conn.take())
            .collect()
    }

    /// Detaches connection `conn_id` from its session; returns whether one was attached.
    pub fn detach(&mut self, conn_id: u64) -> bool {
        let mut found = false;
        for s in &mut self.sessions {
            if s.conn.as_ref().is_some_and(|c| c.id == conn_id) {
                s.conn = None;
                found = true;
            }
        }
        found
    }

    /// Forgets every session: the client must IDENTIFY again.
    pub fn forget_sessions(&mut self) {
        self.sessions.clear();
    }

    pub fn any_connected(&self) -> bool {
        self.sessions.iter().any(|s| s.conn.is_some())
    }

    /// What tests see of the sessions: `guilds` are the ids of every guild the fake hosts.
    pub fn snapshot(&self, guilds: &[u64]) -> Vec<crate::ShardSession> {
        self.sessions
            .iter()
            .map(|s| crate::ShardSession {
                shard: s.shard,
                session_id: s.id.clone(),
                connected: s.conn.is_some(),
                guilds: guilds
                    .iter()
                    .copied()
                    .filter(|g| holds(s.shard, Some(*g)))
                    .collect(),
            })
            .collect()
    }

    /// Connected sessions whose shard holds none of `guilds`.
    pub fn idle(&self, guilds: &[u64]) -> u32 {
        self.sessions
            .iter()
            .filter(|s| s.conn.is_some() && !guilds.iter().any(|g| holds(s.shard, Some(*g))))
            .count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guild_goes_to_shard_id_shifted_modulo_count() {
        let g: u64 = 1_210_000_000_010_000_100;
        let shard = ((g >> 22) % 3) as u32;
        assert!(holds((shard, 3), Some(g)));
        assert!(!holds(((shard + 1) % 3, 3), Some(g)));
        assert!(holds((0, 1), Some(g)));
        // DMs belong to shard 0.
        assert!(holds((0, 2), None) && !holds((1, 2), None));
    }

    #[test]
    fn the_guild_of_an_event() {
        let d = json!({"id": "5", "guild_id": "7"});
        assert_eq!(event_guild("GUILD_CREATE", &d), Some(5));
        assert_eq!(event_guild("CHANNEL_CREATE", &d), Some(7));
        assert_eq!(event_guild("MESSAGE_CREATE", &json!({"id": "5"})), None);
    }
}
