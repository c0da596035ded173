//! The gateway at `/ws`: HELLO, IDENTIFY → READY + GUILD_CREATE (the guilds of the shard the
//! IDENTIFY names), RESUME → replay + RESUMED, heartbeats, and dispatches with increasing
//! sequence numbers. One session per shard (see `shards`); events sent while no connection is
//! attached stay in the session's log and are replayed on RESUME, events sent before their
//! shard's first IDENTIFY wait and follow its READY.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State as AxState;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use crate::payloads::{sf, Render};
use crate::rest::intents;
pub(crate) use crate::shards::{Conn, Gw, Out, Session};
use crate::Shared;

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
    let detached = shared.lock_gw().detach(conn_id);
    if detached {
        shared.sessions_changed();
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
    let shard = (shard.0 as u32, shard.1 as u32);
    shared.update(|st| st.gateway.shards_identified.push(shard));
    let session_id = format!("fakecord{:x}", shared.ids.next());
    let guilds: Vec<u64> = shared
        .config
        .guild_ids()
        .into_iter()
        .filter(|g| crate::shards::holds(shard, Some(*g)))
        .collect();
    let (ready, creates) = {
        let st = shared.lock_state();
        let r = Render {
            st: &st,
            cfg: &shared.config,
            base: &shared.base_url,
        };
        let unavailable: Vec<Value> = guilds
            .iter()
            .map(|g| json!({"id": sf(*g), "unavailable": true}))
            .collect();
        let ready = json!({
            "v": 10,
            "user": r.current_user(),
            "guilds": unavailable,
            "session_id": session_id,
            "session_type": "normal",
            "resume_gateway_url": shared.gateway_url(),
            "shard": [shard.0, shard.1],
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
        let creates: Vec<Value> = guilds.iter().map(|g| r.guild_payload(*g, true)).collect();
        (ready, creates)
    };
    let mut seqs = Vec::new();
    {
        let mut gw = shared.lock_gw();
        let i = gw.start(Session {
            id: session_id.clone(),
            shard,
            seq: 0,
            intents: intents_bits,
            log: VecDeque::new(),
            bot_id: shared.config.bot.id,
            conn: Some(Conn {
                id: conn_id,
                tx: tx.clone(),
            }),
        });
        seqs.extend(
            gw.send_to(i, "READY", ready, 0)
                .map(|s| (s, "READY".to_owned(), None)),
        );
        for (g, d) in guilds.iter().zip(creates) {
            seqs.extend(
                gw.send_to(i, "GUILD_CREATE", d, intents::GUILDS)
                    .map(|s| (s, "GUILD_CREATE".to_owned(), Some(*g))),
            );
        }
        for (t, d, intent) in gw.take_pending(shard) {
            let guild = crate::shards::event_guild(&t, &d);
            if let Some(s) = gw.send_to(i, &t, d, intent) {
                seqs.push((s, t, guild));
            }
        }
    }
    shared.update(|st| {
        let g = &mut st.gateway;
        g.identifies += 1;
        g.session_id = Some(session_id);
        g.intents = Some(intents_bits);
    });
    shared.record_sent(seqs);
    shared.sessions_changed();
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
        match gw.sessions.iter().position(|s| s.id == want) {
            Some(i) => {
                let s = &mut gw.sessions[i];
                for (seq, text) in &s.log {
                    if *seq > from {
                        let _ = tx.send(Out::Text(text.clone()));
                    }
                }
                s.conn = Some(Conn {
                    id: conn_id,
                    tx: tx.clone(),
                });
                gw.send_to(i, "RESUMED", json!({"_trace": ["fakecord"]}), 0)
            }
            None => {
                let _ = tx.send(Out::Text(json!({"op": 9, "d": false}).to_string()));
                None
            }
        }
    };
    if let Some(sent) = resumed {
        shared.update(|st| st.gateway.resumes += 1);
        shared.record_sent(vec![(sent, "RESUMED".into(), None)]);
        shared.sessions_changed();
    }
}
