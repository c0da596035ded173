//! The gateway at `/ws`: HELLO, IDENTIFY → READY + GUILD_CREATE, RESUME → replay + RESUMED,
//! heartbeats, and dispatches with increasing sequence numbers. One session at a time (one
//! shard); events sent while no connection is attached stay in the session's log and are
//! replayed on RESUME, events sent before the first IDENTIFY wait and follow READY.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State as AxState;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use crate::payloads::{sf, strip_content, Render};
use crate::rest::intents;
use crate::Shared;

/// Most dispatches a session keeps for replay.
const LOG_LIMIT: usize = 10_000;

pub(crate) enum Out {
    Text(String),
    Close(u16, String),
}

pub(crate) struct Session {
    pub id: String,
    pub seq: u64,
    pub intents: u64,
    pub log: VecDeque<(u64, String)>,
    /// The bot's user id (its own messages keep their content without MESSAGE_CONTENT).
    pub bot_id: u64,
}

pub(crate) struct Conn {
    pub id: u64,
    pub tx: UnboundedSender<Out>,
    pub session_id: String,
}

/// A session of a shard that does not hold the guild: READY without guilds, then nothing.
pub(crate) struct IdleShard {
    pub conn_id: u64,
    pub session_id: String,
    pub tx: UnboundedSender<Out>,
}

#[derive(Default)]
pub(crate) struct Gw {
    /// The session of the shard that holds the guild.
    pub session: Option<Session>,
    pub conn: Option<Conn>,
    /// Sessions of the other shards (sharded clients), by session id.
    pub idle: Vec<IdleShard>,
    /// Dispatches asked for before any session existed: `(t, d, intent)`.
    pub pending: Vec<(String, Value, u64)>,
    pub next_conn: u64,
}

impl Gw {
    /// Sends (or logs for replay) one dispatch; returns its sequence number, or `None` when it
    /// was queued for the first session or filtered out by intents.
    pub fn dispatch(&mut self, t: &str, d: Value, intent: u64) -> Option<u64> {
        let Some(s) = self.session.as_mut() else {
            self.pending.push((t.to_owned(), d, intent));
            return None;
        };
        if intent != 0 && s.intents & intent == 0 {
            return None;
        }
        let mut d = d;
        let guild_message = matches!(t, "MESSAGE_CREATE" | "MESSAGE_UPDATE")
            && d.get("guild_id").is_some_and(|g| !g.is_null());
        if guild_message && s.intents & intents::MESSAGE_CONTENT == 0 {
            strip_content(&mut d, s.bot_id);
        }
        s.seq += 1;
        let text = json!({"op": 0, "s": s.seq, "t": t, "d": d}).to_string();
        if let Some(c) = &self.conn {
            if c.session_id == s.id {
                let _ = c.tx.send(Out::Text(text.clone()));
            }
        }
        s.log.push_back((s.seq, text));
        if s.log.len() > LOG_LIMIT {
            s.log.pop_front();
        }
        Some(s.seq)
    }
}

pub(crate) async fn ws_handler(
    AxState(shared): AxState<Arc<Shared>>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.max_message_size(1 << 20)
        .on_upgrade(move |socket| run_connection(shared, socket))
}

async fn run_connection(shared: Arc<Shared>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = unbounded_channel();
    let conn_id = {
        let mut gw = shared.lock_gw();
        gw.next_conn += 1;
        gw.next_conn
    };
    shared.update(|st| st.gateway.connections += 1);
    let hello = json!({"op": 10, "d": {"heartbeat_interval": shared.config.heartbeat_interval_ms, "_trace": ["fakecord"]}, "s": null, "t": null});
    let _ = tx.send(Out::Text(hello.to_string()));
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Out::Text(t)) => {
                    if sink.send(WsMessage::Text(t.into())).await.is_err() {
                        break;
                    }
                }
                Some(Out::Close(code, reason)) => {
                    shared.update(|st| st.gateway.close_codes.push(code));
                    let frame = CloseFrame { code, reason: reason.into() };
                    let _ = sink.send(WsMessage::Close(Some(frame))).await;
                    break;
                }
                None => break,
            },
            msg = stream.next() => match msg {
                Some(Ok(WsMessage::Text(t))) => handle_payload(&shared, conn_id, &tx, t.as_str()),
                Some(Ok(WsMessage::Binary(_))) => {
                    let _ = tx.send(Out::Close(4002, "Error while decoding payload.".into()));
                }
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let detached = {
        let mut gw = shared.lock_gw();
        let idle_before = gw.idle.len();
        gw.idle.retain(|s| s.conn_id != conn_id);
        if gw.idle.len() != idle_before {
            let n = gw.idle.len() as u32;
            shared.update(|st| st.gateway.idle_shards = n);
        }
        if gw.conn.as_ref().is_some_and(|c| c.id == conn_id) {
            gw.conn = None;
            true
        } else {
            false
        }
    };
    if detached {
        shared.update(|st| st.gateway.connected = false);
    }
}

fn handle_payload(shared: &Arc<Shared>, conn_id: u64, tx: &UnboundedSender<Out>, text: &str) {
    let Ok(mut v) = serde_json::from_str::<Value>(text) else {
        let _ = tx.send(Out::Close(4002, "Error while decoding payload.".into()));
        return;
    };
    let op = v.get("op").and_then(Value::as_u64);
    if op == Some(1) {
        let _ = tx.send(Out::Text(json!({"op": 11}).to_string()));
        shared.update(|st| st.gateway.heartbeats += 1);
        return;
    }
    let d = v.get("d").cloned().unwrap_or(Value::Null);
    if let Some(t) = v.pointer_mut("/d/token") {
        *t = json!("***");
    }
    shared.update(|st| st.gateway.received.push(v));
    match op {
        Some(2) => identify(shared, conn_id, tx, &d),
        Some(6) => resume(shared, conn_id, tx, &d),
        // Presence update, voice state, request guild members, request soundboard sounds.
        Some(3 | 4 | 8 | 31) => {}
        _ => {
            let _ = tx.send(Out::Close(4001, "Unknown opcode.".into()));
        }
    }
}

fn token_ok(shared: &Shared, d: &Value) -> bool {
    let Some(token) = d.get("token").and_then(Value::as_str) else {
        return false;
    };
    match &shared.config.require_token {
        Some(want) => token == want || token == format!("Bot {want}"),
        None => !token.is_empty(),
    }
}

fn identify(shared: &Arc<Shared>, conn_id: u64, tx: &UnboundedSender<Out>, d: &Value) {
    if !token_ok(shared, d) {
        let _ = tx.send(Out::Close(4004, "Authentication failed.".into()));
        return;
    }
    let intents_bits = d.get("intents").and_then(Value::as_u64).unwrap_or(0);
    if intents_bits & intents::MESSAGE_CONTENT != 0 && !shared.config.message_content_enabled {
        // A privileged intent not enabled in the Developer Portal.
        let _ = tx.send(Out::Close(4014, "Disallowed intent(s).".into()));
        return;
    }
    let shard = d
        .get("shard")
        .and_then(Value::as_array)
        .and_then(|a| Some((a.first()?.as_u64()?, a.get(1)?.as_u64()?)))
        .unwrap_or((0, 1));
    if shard.1 == 0 || shard.0 >= shard.1 || shard.1 > u64::from(u16::MAX) {
        let _ = tx.send(Out::Close(4010, "Invalid shard.".into()));
        return;
    }
    let (shard_id, shard_count) = (shard.0 as u32, shard.1 as u32);
    shared.update(|st| st.gateway.shards_identified.push((shard_id, shard_count)));
    let session_id = format!("fakecord{:x}", shared.ids.next());
    if (shared.config.guild_id >> 22) % shard.1 != shard.0 {
        idle_shard(shared, conn_id, tx, session_id, [shard_id, shard_count]);
        return;
    }
    let (ready, guild) = {
        let st = shared.lock_state();
        let r = Render {
            st: &st,
            cfg: &shared.config,
            base: &shared.base_url,
        };
        let ready = json!({
            "v": 10,
            "user": r.current_user(),
            "guilds": [{"id": sf(shared.config.guild_id), "unavailable": true}],
            "session_id": session_id,
            "session_type": "normal",
            "resume_gateway_url": shared.gateway_url(),
            "shard": [shard_id, shard_count],
            "application": {"id": sf(shared.config.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
            "_trace": ["fakecord"],
        });
        (ready, r.guild(true))
    };
    let mut seqs = Vec::new();
    {
        let mut gw = shared.lock_gw();
        gw.session = Some(Session {
            id: session_id.clone(),
            seq: 0,
            intents: intents_bits,
            log: VecDeque::new(),
            bot_id: shared.config.bot.id,
        });
        gw.conn = Some(Conn {
            id: conn_id,
            tx: tx.clone(),
            session_id: session_id.clone(),
        });
        seqs.extend(
            gw.dispatch("READY", ready, 0)
                .map(|s| (s, "READY".to_owned())),
        );
        seqs.extend(
            gw.dispatch("GUILD_CREATE", guild, intents::GUILDS)
                .map(|s| (s, "GUILD_CREATE".to_owned())),
        );
        let pending = std::mem::take(&mut gw.pending);
        for (t, d, intent) in pending {
            if let Some(s) = gw.dispatch(&t, d, intent) {
                seqs.push((s, t));
            }
        }
    }
    shared.update(|st| {
        let g = &mut st.gateway;
        g.identifies += 1;
        g.connected = true;
        g.session_id = Some(session_id);
        g.intents = Some(intents_bits);
        if let Some((s, _)) = seqs.last() {
            g.last_seq = *s;
        }
        g.dispatched.extend(seqs);
    });
}

fn resume(shared: &Arc<Shared>, conn_id: u64, tx: &UnboundedSender<Out>, d: &Value) {
    if !token_ok(shared, d) {
        let _ = tx.send(Out::Close(4004, "Authentication failed.".into()));
        return;
    }
    let want = d.get("session_id").and_then(Value::as_str).unwrap_or("");
    let from = d.get("seq").and_then(Value::as_u64).unwrap_or(0);
    let resumed = {
        let mut gw = shared.lock_gw();
        // An idle shard's session: nothing to replay.
        if let Some(s) = gw.idle.iter_mut().find(|s| s.session_id == want) {
            s.conn_id = conn_id;
            s.tx = tx.clone();
            let resumed = json!({"op": 0, "s": 2, "t": "RESUMED", "d": {"_trace": ["fakecord"]}});
            let _ = tx.send(Out::Text(resumed.to_string()));
            drop(gw);
            shared.update(|st| st.gateway.resumes += 1);
            return;
        }
        let ok = gw.session.as_ref().is_some_and(|s| s.id == want);
        if ok {
            let s = gw.session.as_ref().expect("checked");
            for (seq, text) in &s.log {
                if *seq > from {
                    let _ = tx.send(Out::Text(text.clone()));
                }
            }
            gw.conn = Some(Conn {
                id: conn_id,
                tx: tx.clone(),
                session_id: want.to_owned(),
            });
            gw.dispatch("RESUMED", json!({"_trace": ["fakecord"]}), 0)
        } else {
            let _ = tx.send(Out::Text(json!({"op": 9, "d": false}).to_string()));
            None
        }
    };
    if let Some(seq) = resumed {
        shared.update(|st| {
            let g = &mut st.gateway;
            g.resumes += 1;
            g.connected = true;
            g.last_seq = seq;
            g.dispatched.push((seq, "RESUMED".into()));
        });
    }
}

/// A shard that does not hold the guild: READY with no guilds, then only heartbeats.
fn idle_shard(
    shared: &Arc<Shared>,
    conn_id: u64,
    tx: &UnboundedSender<Out>,
    session_id: String,
    shard: [u32; 2],
) {
    let user = {
        let st = shared.lock_state();
        Render {
            st: &st,
            cfg: &shared.config,
            base: &shared.base_url,
        }
        .current_user()
    };
    let ready = json!({
        "v": 10,
        "user": user,
        "guilds": [],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": shared.gateway_url(),
        "shard": shard,
        "application": {"id": sf(shared.config.application_id), "flags": 0},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
        "user_settings": {},
        "auth": {},
        "_trace": ["fakecord"],
    });
    let _ = tx.send(Out::Text(
        json!({"op": 0, "s": 1, "t": "READY", "d": ready}).to_string(),
    ));
    let n = {
        let mut gw = shared.lock_gw();
        gw.idle.push(IdleShard {
            conn_id,
            session_id,
            tx: tx.clone(),
        });
        gw.idle.len() as u32
    };
    shared.update(|st| {
        st.gateway.identifies += 1;
        st.gateway.idle_shards = n;
    });
}
