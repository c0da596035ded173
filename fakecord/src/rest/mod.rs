//! The REST API under `/api/v10`: request parsing, recording, fault injection, and one match over
//! `(method, path segments)` that reads and changes the state. Handlers run synchronously under
//! the state lock and return the gateway events their change causes, which are dispatched after
//! the lock is released.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Path, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::config::perms;
use crate::faults::FaultKind;
use crate::payloads::{
    attachment_signature, error_body, form_error, normalize_embed, sf, user_json, Render,
};
use crate::snowflake::now_iso;
use crate::state::{
    Attachment, Callback, Channel, Message, Overwrite, OverwriteKind, RecordedRequest, State,
    EPHEMERAL, LOADING,
};
use crate::Shared;

mod channels;
mod components;
mod guild;
mod http;
mod interactions;
mod messages;
mod routes;
mod validate;

use channels::*;
use components::*;
use guild::*;
pub(crate) use http::{
    api_handler, attachment_handler, avatar_handler, default_avatar_handler, fallback_handler,
};
use interactions::*;
pub(crate) use messages::store_message;
use messages::*;
use routes::route;
use validate::*;

/// Gateway intents that gate dispatches.
pub(crate) mod intents {
    pub const GUILDS: u64 = 1;
    pub const GUILD_MEMBERS: u64 = 1 << 1;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
}

/// A gateway event caused by a REST call: `(t, d, intent)`; intent 0 means always sent.
pub(crate) type Ev = (String, Value, u64);

/// An HTTP answer before it becomes an axum response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Option<Value>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Reply {
            status: 200,
            body: Some(body),
        }
    }

    fn created(body: Value) -> Self {
        Reply {
            status: 201,
            body: Some(body),
        }
    }

    fn no_content() -> Self {
        Reply {
            status: 204,
            body: None,
        }
    }

    fn err(status: u16, code: u32, message: &str) -> Self {
        Reply {
            status,
            body: Some(error_body(code, message)),
        }
    }

    fn form(field: &str, code: &str, message: &str) -> Self {
        Reply {
            status: 400,
            body: Some(form_error(field, code, message)),
        }
    }

    fn not_found() -> Self {
        Reply::err(404, 0, "404: Not Found")
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match self.body {
            Some(b) => (status, axum::Json(b)).into_response(),
            None => status.into_response(),
        }
    }
}

type R<T> = Result<T, Reply>;

pub(crate) fn unknown_channel() -> Reply {
    Reply::err(404, 10003, "Unknown Channel")
}

pub(crate) fn unknown_message() -> Reply {
    Reply::err(404, 10008, "Unknown Message")
}

pub(crate) fn unknown_guild() -> Reply {
    Reply::err(404, 10004, "Unknown Guild")
}

pub(crate) fn unknown_webhook() -> Reply {
    Reply::err(404, 10015, "Unknown Webhook")
}

pub(crate) fn too_large() -> Reply {
    Reply::err(413, 40005, "Request entity too large")
}

pub(crate) fn unknown_interaction() -> Reply {
    Reply::err(404, 10062, "Unknown interaction")
}

/// A file part of a multipart request.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    /// `n` of a `files[n]` part.
    pub index: Option<u64>,
    pub filename: String,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// A parsed request.
pub(crate) struct Req {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// `Ok(Null)` for an empty body.
    pub json: Result<Value, String>,
    pub files: Vec<Upload>,
}

impl Req {
    fn query_param(&self, key: &str) -> Option<&str> {
        self.query.as_deref()?.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == key).then_some(v)
        })
    }

    fn body(&self) -> R<&Value> {
        self.json
            .as_ref()
            .map_err(|_| Reply::err(400, 50109, "The request body contains invalid JSON."))
    }
}

pub(crate) struct Ctx<'a> {
    pub shared: &'a Shared,
    pub events: &'a mut Vec<Ev>,
}

impl Ctx<'_> {
    fn id(&self) -> u64 {
        self.shared.ids.next()
    }

    fn render<'s>(&'s self, st: &'s State) -> Render<'s> {
        Render {
            st,
            cfg: &self.shared.config,
            base: &self.shared.base_url,
        }
    }

    fn emit(&mut self, t: &str, d: Value, intent: u64) {
        self.events.push((t.to_owned(), d, intent));
    }
}

pub(crate) fn missing_access() -> Reply {
    Reply::err(403, 50001, "Missing Access")
}

pub(crate) fn missing_permissions() -> Reply {
    Reply::err(403, 50013, "Missing Permissions")
}

/// Checks that the bot has `need` in a channel (and can see it), or guild-wide for `None`.
pub(crate) fn require(ctx: &Ctx, st: &State, channel: Option<u64>, need: u64) -> R<()> {
    let cfg = &ctx.shared.config;
    if !cfg.enforce_bot_permissions {
        return Ok(());
    }
    let bot = cfg.bot.id;
    let p = match channel {
        Some(c) if st.channels.get(&c).is_some_and(|c| c.kind == 1) => return Ok(()),
        Some(c) => {
            let p = st.permissions_in(bot, c);
            if p & perms::VIEW_CHANNEL == 0 {
                return Err(missing_access());
            }
            p
        }
        None => return require_in_guild(ctx, st, st.guild_id, need),
    };
    if p & need == need {
        Ok(())
    } else {
        Err(missing_permissions())
    }
}

/// Checks that the bot has `need` guild-wide in guild `g`.
pub(crate) fn require_in_guild(ctx: &Ctx, st: &State, g: u64, need: u64) -> R<()> {
    let cfg = &ctx.shared.config;
    if !cfg.enforce_bot_permissions {
        return Ok(());
    }
    let roles = st
        .members_of(g)
        .get(&cfg.bot.id)
        .map(|m| m.roles.clone())
        .unwrap_or_default();
    if st.base_permissions_in(g, cfg.bot.id, &roles) & need == need {
        Ok(())
    } else {
        Err(missing_permissions())
    }
}

pub(crate) fn parse_sf(s: &str, field: &str) -> R<u64> {
    s.parse::<u64>().map_err(|_| {
        Reply::form(
            field,
            "NUMBER_TYPE_COERCE",
            &format!("Value \"{s}\" is not snowflake."),
        )
    })
}

/// A snowflake in a JSON body: a string or a number.
pub(crate) fn json_sf(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// A permission bitset in a JSON body: a decimal string or a number.
pub(crate) fn json_bits(v: &Value) -> Option<u64> {
    match v {
        Value::Null => Some(0),
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

pub(crate) fn obj<'v>(v: &'v Value, field: &str) -> R<&'v serde_json::Map<String, Value>> {
    v.as_object().ok_or_else(|| {
        Reply::form(
            field,
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType",
        )
    })
}

pub(crate) fn check_app(a: &str, app: &str) -> R<()> {
    if a == app {
        Ok(())
    } else {
        Err(Reply::err(403, 50001, "Missing Access"))
    }
}

pub(crate) fn check_webhook_app(a: &str, app: &str) -> R<()> {
    if a == app {
        Ok(())
    } else {
        Err(unknown_webhook())
    }
}

pub(crate) fn check_guild(st: &State, g: &str) -> R<u64> {
    let g = parse_sf(g, "guild_id")?;
    if st.guilds.contains_key(&g) {
        Ok(g)
    } else {
        Err(unknown_guild())
    }
}

pub(crate) fn live_channel(st: &State, c: &str) -> R<u64> {
    let c = parse_sf(c, "channel_id")?;
    if st.channels.contains_key(&c) {
        Ok(c)
    } else {
        Err(unknown_channel())
    }
}

pub(crate) fn visible_message(st: &State, channel_id: u64, mid: u64) -> R<&Message> {
    match st.messages.get(&mid) {
        Some(m) if m.channel_id == channel_id && !m.deleted && !m.is_ephemeral() => Ok(m),
        _ => Err(unknown_message()),
    }
}

/// Guild-level permissions the bot has, for `app_permissions`.
pub(crate) fn bot_permissions(st: &State, bot_id: u64, channel_id: u64) -> u64 {
    let p = st.permissions_in(bot_id, channel_id);
    if p == 0 {
        perms::VIEW_CHANNEL | perms::SEND_MESSAGES
    } else {
        p
    }
}
