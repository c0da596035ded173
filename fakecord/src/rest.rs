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
use crate::payloads::{error_body, form_error, normalize_embed, sf, user_json, Render};
use crate::snowflake::now_iso;
use crate::state::{
    Attachment, Callback, Channel, Message, Overwrite, OverwriteKind, RecordedRequest, State,
    EPHEMERAL, LOADING,
};
use crate::Shared;

/// Gateway intents that gate dispatches.
pub(crate) mod intents {
    pub const GUILDS: u64 = 1;
    pub const GUILD_MEMBERS: u64 = 1 << 1;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
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

fn unknown_channel() -> Reply {
    Reply::err(404, 10003, "Unknown Channel")
}

fn unknown_message() -> Reply {
    Reply::err(404, 10008, "Unknown Message")
}

fn unknown_guild() -> Reply {
    Reply::err(404, 10004, "Unknown Guild")
}

fn unknown_webhook() -> Reply {
    Reply::err(404, 10015, "Unknown Webhook")
}

fn unknown_interaction() -> Reply {
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

async fn parse_body(headers: &HeaderMap, body: Bytes) -> (Result<Value, String>, Vec<Upload>) {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if ct.starts_with("multipart/form-data") {
        let Ok(req) = Request::builder()
            .header(header::CONTENT_TYPE, ct.as_str())
            .body(Body::from(body))
        else {
            return (Err("bad multipart request".into()), Vec::new());
        };
        let mut mp = match Multipart::from_request(req, &()).await {
            Ok(mp) => mp,
            Err(e) => return (Err(e.to_string()), Vec::new()),
        };
        let mut json = Ok(Value::Null);
        let mut files = Vec::new();
        loop {
            match mp.next_field().await {
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or("").to_owned();
                    let filename = field.file_name().map(str::to_owned);
                    let content_type = field.content_type().map(str::to_owned);
                    let data = match field.bytes().await {
                        Ok(d) => d,
                        Err(e) => return (Err(e.to_string()), files),
                    };
                    if name == "payload_json" {
                        json = serde_json::from_slice(&data).map_err(|e| e.to_string());
                    } else if let Some(filename) = filename {
                        let index = name
                            .strip_prefix("files[")
                            .and_then(|s| s.strip_suffix(']'))
                            .and_then(|s| s.parse().ok());
                        files.push(Upload {
                            index,
                            filename,
                            content_type,
                            data: data.to_vec(),
                        });
                    }
                }
                Ok(None) => break,
                Err(e) => return (Err(e.to_string()), files),
            }
        }
        (json, files)
    } else if body.iter().all(u8::is_ascii_whitespace) {
        (Ok(Value::Null), Vec::new())
    } else {
        (
            serde_json::from_slice(&body).map_err(|_| String::from_utf8_lossy(&body).into_owned()),
            Vec::new(),
        )
    }
}

fn rate_limited(retry_after: f64) -> Response {
    let body = json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": false});
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    let reset = chrono::Utc::now().timestamp_millis() as f64 / 1000.0 + retry_after;
    let h = resp.headers_mut();
    let mut put = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    put("retry-after", format!("{}", retry_after.ceil() as u64));
    put("x-ratelimit-limit", "5".into());
    put("x-ratelimit-remaining", "0".into());
    put("x-ratelimit-reset", format!("{reset:.3}"));
    put("x-ratelimit-reset-after", format!("{retry_after:.3}"));
    put(
        "x-ratelimit-bucket",
        "fakecord0000000000000000000000000".into(),
    );
    put("x-ratelimit-scope", "user".into());
    resp
}

fn status_fault(status: u16) -> Reply {
    match status {
        400 => Reply::err(400, 0, "400: Bad Request"),
        401 => Reply::err(401, 0, "401: Unauthorized"),
        403 => Reply::err(403, 50013, "Missing Permissions"),
        404 => Reply::not_found(),
        405 => Reply::err(405, 0, "405: Method Not Allowed"),
        500 => Reply::err(500, 0, "500: Internal Server Error"),
        502 => Reply::err(502, 0, "502: Bad Gateway"),
        503 => Reply::err(503, 0, "503: Service Unavailable"),
        504 => Reply::err(504, 0, "504: Gateway Timeout"),
        s => Reply::err(s, 0, &format!("{s}: Error")),
    }
}

/// Every request under `/api/v10`.
pub(crate) async fn api_handler(
    AxState(shared): AxState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path()
        .strip_prefix("/api/v10")
        .unwrap_or(uri.path())
        .to_owned();
    let (json, files) = parse_body(&headers, body).await;
    let req = Req {
        method: method.as_str().to_owned(),
        path,
        query: uri.query().map(str::to_owned),
        json,
        files,
    };
    let mut rec = RecordedRequest {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        body: match &req.json {
            Ok(v) => v.clone(),
            Err(raw) => Value::String(raw.clone()),
        },
        files: req.files.iter().map(|f| f.filename.clone()).collect(),
        audit_reason: headers
            .get("x-audit-log-reason")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        status: 0,
        known_route: true,
        fault: None,
    };

    let public_route = req.path.starts_with("/interactions/") || req.path.starts_with("/webhooks/");
    if let (Some(token), false) = (&shared.config.require_token, public_route) {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if auth != format!("Bot {token}") {
            rec.status = 401;
            shared.record(rec);
            return Reply::err(401, 0, "401: Unauthorized").into_response();
        }
    }

    if let Some(kind) = shared.take_fault(&req.method, &req.path) {
        rec.fault = Some(kind.describe());
        match kind {
            FaultKind::Delay(d) => tokio::time::sleep(d).await,
            FaultKind::RateLimited { retry_after_secs } => {
                rec.status = 429;
                shared.record(rec);
                return rate_limited(retry_after_secs);
            }
            FaultKind::Status(s) => {
                rec.status = s;
                shared.record(rec);
                return status_fault(s).into_response();
            }
            FaultKind::Error {
                status,
                code,
                message,
            } => {
                rec.status = status;
                shared.record(rec);
                return Reply::err(status, code, &message).into_response();
            }
        }
    }

    let mut events = Vec::new();
    let reply = {
        let mut st = shared.lock_state();
        let mut ctx = Ctx {
            shared: &shared,
            events: &mut events,
        };
        let reply = match route(&mut ctx, &mut st, &req) {
            Some(Ok(r)) | Some(Err(r)) => r,
            None => {
                rec.known_route = false;
                tracing::warn!(method = %req.method, path = %req.path, "fakecord: unknown route");
                Reply::not_found()
            }
        };
        rec.status = reply.status;
        st.requests.push(rec);
        reply
    };
    for ev in events {
        shared.dispatch(&ev.0, ev.1, ev.2);
    }
    shared.notify.notify_waiters();
    reply.into_response()
}

/// Requests outside `/api/v10` and `/ws`: recorded as unknown, answered 404.
pub(crate) async fn fallback_handler(
    AxState(shared): AxState<Arc<Shared>>,
    method: Method,
    uri: Uri,
) -> Response {
    tracing::warn!(%method, %uri, "fakecord: unknown route");
    shared.record(RecordedRequest {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        body: Value::Null,
        files: Vec::new(),
        audit_reason: None,
        status: 404,
        known_route: false,
        fault: None,
    });
    Reply::not_found().into_response()
}

/// `GET /attachments/{channel}/{attachment}/{filename}`: the uploaded bytes.
pub(crate) async fn attachment_handler(
    AxState(shared): AxState<Arc<Shared>>,
    Path((_channel, id, _name)): Path<(String, String, String)>,
) -> Response {
    let id: u64 = id.parse().unwrap_or(0);
    let st = shared.lock_state();
    let found = st
        .messages
        .values()
        .flat_map(|m| m.attachments.iter())
        .find(|a| a.id == id)
        .cloned();
    drop(st);
    match found {
        Some(a) => {
            let ct = a
                .content_type
                .unwrap_or_else(|| "application/octet-stream".into());
            ([(header::CONTENT_TYPE, ct)], a.data).into_response()
        }
        None => Reply::not_found().into_response(),
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

fn missing_access() -> Reply {
    Reply::err(403, 50001, "Missing Access")
}

fn missing_permissions() -> Reply {
    Reply::err(403, 50013, "Missing Permissions")
}

/// Checks that the bot has `need` in a channel (and can see it), or guild-wide for `None`.
fn require(ctx: &Ctx, st: &State, channel: Option<u64>, need: u64) -> R<()> {
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
        None => {
            let roles = st
                .members
                .get(&bot)
                .map(|m| m.roles.clone())
                .unwrap_or_default();
            st.base_permissions(bot, &roles)
        }
    };
    if p & need == need {
        Ok(())
    } else {
        Err(missing_permissions())
    }
}

fn parse_sf(s: &str, field: &str) -> R<u64> {
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
fn json_bits(v: &Value) -> Option<u64> {
    match v {
        Value::Null => Some(0),
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn obj<'v>(v: &'v Value, field: &str) -> R<&'v serde_json::Map<String, Value>> {
    v.as_object().ok_or_else(|| {
        Reply::form(
            field,
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType",
        )
    })
}

fn route(ctx: &mut Ctx, st: &mut State, req: &Req) -> Option<R<Reply>> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let cfg = &ctx.shared.config;
    let app = cfg.application_id.to_string();
    let m = req.method.as_str();
    let r = match (m, segs.as_slice()) {
        ("GET", ["gateway"]) => Ok(Reply::ok(json!({"url": ctx.shared.gateway_url()}))),
        ("GET", ["gateway", "bot"]) => Ok(Reply::ok(json!({
            "url": ctx.shared.gateway_url(),
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1},
        }))),
        ("GET", ["oauth2", "applications", "@me"]) | ("GET", ["applications", "@me"]) => {
            Ok(Reply::ok(ctx.render(st).application()))
        }
        ("GET", ["users", "@me"]) => Ok(Reply::ok(ctx.render(st).current_user())),
        ("GET", ["users", id]) => get_user(st, id),
        ("POST", ["users", "@me", "channels"]) => create_dm(ctx, st, req),

        ("GET", ["applications", a, "commands"]) => {
            check_app(a, &app).map(|_| Reply::ok(Value::Array(st.global_commands.clone())))
        }
        ("PUT", ["applications", a, "commands"]) => {
            check_app(a, &app).and_then(|_| put_commands(ctx, st, req, None))
        }
        ("POST", ["applications", a, "commands"]) => {
            check_app(a, &app).and_then(|_| post_command(ctx, st, req, None))
        }
        ("GET", ["applications", a, "guilds", g, "commands"]) => check_app(a, &app)
            .and_then(|_| check_guild(st, g))
            .map(|g| {
                Reply::ok(Value::Array(
                    st.guild_commands.get(&g).cloned().unwrap_or_default(),
                ))
            }),
        ("PUT", ["applications", a, "guilds", g, "commands"]) => check_app(a, &app)
            .and_then(|_| check_guild(st, g))
            .and_then(|g| put_commands(ctx, st, req, Some(g))),
        ("POST", ["applications", a, "guilds", g, "commands"]) => check_app(a, &app)
            .and_then(|_| check_guild(st, g))
            .and_then(|g| post_command(ctx, st, req, Some(g))),
        ("DELETE", ["applications", a, "guilds", g, "commands", c]) => check_app(a, &app)
            .and_then(|_| check_guild(st, g))
            .and_then(|g| delete_command(st, Some(g), c)),
        ("DELETE", ["applications", a, "commands", c]) => {
            check_app(a, &app).and_then(|_| delete_command(st, None, c))
        }

        ("GET", ["guilds", g]) => check_guild(st, g).map(|_| {
            let mut v = ctx.render(st).guild(false);
            if req.query_param("with_counts") == Some("true") {
                v["approximate_member_count"] = json!(st.members.len());
                v["approximate_presence_count"] = json!(0);
            }
            Reply::ok(v)
        }),
        ("GET", ["guilds", g, "channels"]) => check_guild(st, g).map(|g| {
            let r = ctx.render(st);
            Reply::ok(Value::Array(
                st.channels
                    .values()
                    .filter(|c| c.guild_id == Some(g))
                    .map(|c| r.channel(c, true))
                    .collect(),
            ))
        }),
        ("POST", ["guilds", g, "channels"]) => {
            check_guild(st, g).and_then(|g| create_channel(ctx, st, req, g))
        }
        ("GET", ["guilds", g, "roles"]) => check_guild(st, g).map(|_| {
            let mut roles: Vec<_> = st.roles.values().collect();
            roles.sort_by_key(|r| (r.position, r.id));
            Reply::ok(Value::Array(
                roles.into_iter().map(crate::payloads::role_json).collect(),
            ))
        }),
        ("GET", ["guilds", g, "members"]) => check_guild(st, g).map(|_| {
            let limit: usize = req
                .query_param("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(1)
                .clamp(1, 1000);
            let after: u64 = req
                .query_param("after")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let r = ctx.render(st);
            Reply::ok(Value::Array(
                st.members
                    .range(after + 1..)
                    .take(limit)
                    .map(|(_, m)| r.member(m, None))
                    .collect(),
            ))
        }),
        ("GET", ["guilds", g, "members", u]) => check_guild(st, g).and_then(|_| {
            let u = parse_sf(u, "user_id")?;
            let m = st
                .members
                .get(&u)
                .ok_or_else(|| Reply::err(404, 10007, "Unknown Member"))?;
            Ok(Reply::ok(ctx.render(st).member(m, None)))
        }),
        ("PUT", ["guilds", g, "members", u, "roles", r]) => {
            check_guild(st, g).and_then(|g| member_role(ctx, st, g, u, r, true))
        }
        ("DELETE", ["guilds", g, "members", u, "roles", r]) => {
            check_guild(st, g).and_then(|g| member_role(ctx, st, g, u, r, false))
        }

        ("GET", ["channels", c]) => live_channel(st, c).map(|c| {
            let c = st.channels[&c].clone();
            Reply::ok(ctx.render(st).channel(&c, true))
        }),
        ("PATCH", ["channels", c]) => edit_channel(ctx, st, req, c),
        ("DELETE", ["channels", c]) => delete_channel(ctx, st, c),
        ("PUT", ["channels", c, "permissions", o]) => put_overwrite(ctx, st, req, c, o),
        ("DELETE", ["channels", c, "permissions", o]) => delete_overwrite(ctx, st, c, o),
        ("POST", ["channels", c, "typing"]) => live_channel(st, c).map(|_| Reply::no_content()),
        ("GET", ["channels", c, "messages"]) => list_messages(ctx, st, req, c),
        ("POST", ["channels", c, "messages"]) => create_message(ctx, st, req, c),
        ("GET", ["channels", c, "messages", mid]) => live_channel(st, c).and_then(|c| {
            require(ctx, st, Some(c), perms::READ_MESSAGE_HISTORY)?;
            let mid = parse_sf(mid, "message_id")?;
            let msg = visible_message(st, c, mid)?;
            Ok(Reply::ok(ctx.render(st).message(msg, false)))
        }),
        ("PATCH", ["channels", c, "messages", mid]) => edit_channel_message(ctx, st, req, c, mid),
        ("DELETE", ["channels", c, "messages", mid]) => live_channel(st, c).and_then(|c| {
            let mid = parse_sf(mid, "message_id")?;
            let author = visible_message(st, c, mid)?.author.id;
            let need = if author == ctx.shared.config.bot.id {
                0
            } else {
                perms::MANAGE_MESSAGES
            };
            require(ctx, st, Some(c), need)?;
            delete_message(ctx, st, mid);
            Ok(Reply::no_content())
        }),

        ("POST", ["interactions", id, token, "callback"]) => callback(ctx, st, req, id, token),
        ("POST", ["webhooks", a, token]) => {
            check_webhook_app(a, &app).and_then(|_| followup(ctx, st, req, token))
        }
        ("GET", ["webhooks", a, token, "messages", mid]) => check_webhook_app(a, &app)
            .and_then(|_| webhook_message(st, token, mid))
            .map(|mid| Reply::ok(ctx.render(st).message(&st.messages[&mid], false))),
        ("PATCH", ["webhooks", a, token, "messages", mid]) => check_webhook_app(a, &app)
            .and_then(|_| webhook_message(st, token, mid))
            .and_then(|mid| edit_message(ctx, st, req, mid)),
        ("DELETE", ["webhooks", a, token, "messages", mid]) => check_webhook_app(a, &app)
            .and_then(|_| webhook_message(st, token, mid))
            .map(|mid| {
                delete_message(ctx, st, mid);
                Reply::no_content()
            }),
        _ => return None,
    };
    Some(r)
}

fn check_app(a: &str, app: &str) -> R<()> {
    if a == app {
        Ok(())
    } else {
        Err(Reply::err(403, 50001, "Missing Access"))
    }
}

fn check_webhook_app(a: &str, app: &str) -> R<()> {
    if a == app {
        Ok(())
    } else {
        Err(unknown_webhook())
    }
}

fn check_guild(st: &State, g: &str) -> R<u64> {
    let g = parse_sf(g, "guild_id")?;
    if g == st.guild_id {
        Ok(g)
    } else {
        Err(unknown_guild())
    }
}

fn live_channel(st: &State, c: &str) -> R<u64> {
    let c = parse_sf(c, "channel_id")?;
    if st.channels.contains_key(&c) {
        Ok(c)
    } else {
        Err(unknown_channel())
    }
}

fn visible_message(st: &State, channel_id: u64, mid: u64) -> R<&Message> {
    match st.messages.get(&mid) {
        Some(m) if m.channel_id == channel_id && !m.deleted && !m.is_ephemeral() => Ok(m),
        _ => Err(unknown_message()),
    }
}

fn get_user(st: &State, id: &str) -> R<Reply> {
    let id = parse_sf(id, "user_id")?;
    st.users
        .get(&id)
        .map(|u| Reply::ok(user_json(u)))
        .ok_or_else(|| Reply::err(404, 10013, "Unknown User"))
}

fn create_dm(ctx: &mut Ctx, st: &mut State, req: &Req) -> R<Reply> {
    let body = obj(req.body()?, "recipient_id")?;
    let rid = body.get("recipient_id").and_then(json_sf).ok_or_else(|| {
        Reply::form(
            "recipient_id",
            "BASE_TYPE_REQUIRED",
            "This field is required",
        )
    })?;
    if !st.users.contains_key(&rid) {
        return Err(Reply::err(404, 10013, "Unknown User"));
    }
    let existing = st
        .channels
        .values()
        .find(|c| c.kind == 1 && c.recipients == [rid])
        .cloned();
    let ch = match existing {
        Some(c) => c,
        None => {
            let c = Channel {
                id: ctx.id(),
                kind: 1,
                guild_id: None,
                name: String::new(),
                parent_id: None,
                position: 0,
                topic: None,
                nsfw: false,
                rate_limit_per_user: 0,
                permission_overwrites: Vec::new(),
                recipients: vec![rid],
                last_message_id: None,
            };
            st.channels.insert(c.id, c.clone());
            c
        }
    };
    Ok(Reply::ok(ctx.render(st).channel(&ch, true)))
}

// ----- commands -----

fn normalize_command(
    ctx: &Ctx,
    v: &Value,
    guild: Option<u64>,
    existing: &[Value],
    index: usize,
) -> R<Value> {
    let prefix = |f: &str| {
        if existing.is_empty() && index == usize::MAX {
            f.to_owned()
        } else {
            format!("{index}.{f}")
        }
    };
    let o = obj(v, &prefix("name"))?;
    let name = o.get("name").and_then(Value::as_str).unwrap_or("");
    let kind = o.get("type").and_then(Value::as_u64).unwrap_or(1);
    if name.is_empty() || name.chars().count() > 32 {
        return Err(Reply::form(
            &prefix("name"),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 32 in length.",
        ));
    }
    if kind == 1 && name.chars().any(|c| c.is_uppercase() || c.is_whitespace()) {
        return Err(Reply::form(
            &prefix("name"),
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        ));
    }
    let description = o.get("description").and_then(Value::as_str).unwrap_or("");
    if kind == 1 && (description.is_empty() || description.chars().count() > 100) {
        return Err(Reply::form(
            &prefix("description"),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ));
    }
    let id = existing
        .iter()
        .find(|c| {
            c.get("name").and_then(Value::as_str) == Some(name)
                && c.get("type").and_then(Value::as_u64) == Some(kind)
        })
        .and_then(|c| c.get("id").and_then(json_sf))
        .unwrap_or_else(|| ctx.id());
    let mut out = v.clone();
    let m = out.as_object_mut().expect("checked object");
    m.insert("id".into(), sf(id));
    m.insert(
        "application_id".into(),
        sf(ctx.shared.config.application_id),
    );
    m.insert("version".into(), sf(ctx.id()));
    m.insert("type".into(), json!(kind));
    m.insert("description".into(), json!(description));
    m.entry("default_member_permissions").or_insert(Value::Null);
    m.entry("nsfw").or_insert(json!(false));
    m.entry("integration_types").or_insert(json!([0]));
    m.entry("contexts").or_insert(Value::Null);
    match guild {
        Some(g) => {
            m.insert("guild_id".into(), sf(g));
        }
        None => {
            m.entry("dm_permission").or_insert(json!(true));
        }
    }
    Ok(out)
}

fn put_commands(ctx: &mut Ctx, st: &mut State, req: &Req, guild: Option<u64>) -> R<Reply> {
    let body = req.body()?;
    let Some(list) = body.as_array() else {
        return Err(Reply::form(
            "_root",
            "LIST_TYPE_CONVERT",
            "Only iterables may be used in a ListType",
        ));
    };
    let existing = match guild {
        Some(g) => st.guild_commands.get(&g).cloned().unwrap_or_default(),
        None => st.global_commands.clone(),
    };
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        out.push(normalize_command(ctx, c, guild, &existing, i)?);
    }
    match guild {
        Some(g) => {
            st.guild_commands.insert(g, out.clone());
        }
        None => st.global_commands = out.clone(),
    }
    Ok(Reply::ok(Value::Array(out)))
}

fn post_command(ctx: &mut Ctx, st: &mut State, req: &Req, guild: Option<u64>) -> R<Reply> {
    let body = req.body()?;
    let list = match guild {
        Some(g) => st.guild_commands.entry(g).or_default(),
        None => &mut st.global_commands,
    };
    let cmd = normalize_command(ctx, body, guild, list, usize::MAX)?;
    let id = cmd.get("id").cloned();
    if let Some(pos) = list.iter().position(|c| c.get("id") == id.as_ref()) {
        list[pos] = cmd.clone();
        Ok(Reply::ok(cmd))
    } else {
        list.push(cmd.clone());
        Ok(Reply::created(cmd))
    }
}

fn delete_command(st: &mut State, guild: Option<u64>, c: &str) -> R<Reply> {
    let c = parse_sf(c, "command_id")?;
    let list = match guild {
        Some(g) => st.guild_commands.entry(g).or_default(),
        None => &mut st.global_commands,
    };
    let before = list.len();
    list.retain(|x| x.get("id").and_then(json_sf) != Some(c));
    if list.len() == before {
        return Err(Reply::err(404, 10063, "Unknown application command"));
    }
    Ok(Reply::no_content())
}

// ----- members -----

fn member_role(ctx: &mut Ctx, st: &mut State, g: u64, u: &str, r: &str, add: bool) -> R<Reply> {
    let u = parse_sf(u, "user_id")?;
    let r = parse_sf(r, "role_id")?;
    let Some(position) = st.roles.get(&r).map(|role| role.position) else {
        return Err(Reply::err(404, 10011, "Unknown Role"));
    };
    require(ctx, st, None, perms::MANAGE_ROLES)?;
    if ctx.shared.config.enforce_bot_permissions && st.owner_id != ctx.shared.config.bot.id {
        // Role hierarchy: the bot can only hand out roles below its highest one.
        let top = st
            .members
            .get(&ctx.shared.config.bot.id)
            .into_iter()
            .flat_map(|m| m.roles.iter())
            .filter_map(|id| st.roles.get(id))
            .map(|role| role.position)
            .max()
            .unwrap_or(0);
        if position >= top {
            return Err(missing_permissions());
        }
    }
    let member = st
        .members
        .get_mut(&u)
        .ok_or_else(|| Reply::err(404, 10007, "Unknown Member"))?;
    let had = member.roles.contains(&r);
    if add && !had {
        member.roles.push(r);
    } else if !add && had {
        member.roles.retain(|x| *x != r);
    }
    if add != had {
        let m = st.members[&u].clone();
        let mut d = ctx.render(st).member(&m, None);
        d["guild_id"] = sf(g);
        ctx.emit("GUILD_MEMBER_UPDATE", d, intents::GUILD_MEMBERS);
    }
    Ok(Reply::no_content())
}

// ----- channels -----

fn parse_overwrites(v: &Value) -> R<Vec<Overwrite>> {
    let Some(list) = v.as_array() else {
        return Err(Reply::form(
            "permission_overwrites",
            "LIST_TYPE_CONVERT",
            "Only iterables may be used in a ListType",
        ));
    };
    let mut out = Vec::new();
    for (i, o) in list.iter().enumerate() {
        out.push(parse_overwrite(
            o,
            None,
            &format!("permission_overwrites.{i}"),
        )?);
    }
    Ok(out)
}

fn parse_overwrite(o: &Value, id: Option<u64>, field: &str) -> R<Overwrite> {
    let bad = |f: &str, code: &str, msg: &str| Reply::form(&format!("{field}.{f}"), code, msg);
    let map = obj(o, field)?;
    let id = match id {
        Some(id) => id,
        None => map
            .get("id")
            .and_then(json_sf)
            .ok_or_else(|| bad("id", "BASE_TYPE_REQUIRED", "This field is required"))?,
    };
    let kind = match map.get("type") {
        Some(Value::Number(n)) if n.as_u64() == Some(0) => OverwriteKind::Role,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => OverwriteKind::Member,
        Some(Value::String(s)) if s == "0" || s == "role" => OverwriteKind::Role,
        Some(Value::String(s)) if s == "1" || s == "member" => OverwriteKind::Member,
        _ => {
            return Err(bad(
                "type",
                "BASE_TYPE_CHOICES",
                "Value must be one of (0, 1).",
            ))
        }
    };
    let allow = json_bits(map.get("allow").unwrap_or(&Value::Null))
        .ok_or_else(|| bad("allow", "NUMBER_TYPE_COERCE", "Value is not int."))?;
    let deny = json_bits(map.get("deny").unwrap_or(&Value::Null))
        .ok_or_else(|| bad("deny", "NUMBER_TYPE_COERCE", "Value is not int."))?;
    Ok(Overwrite {
        id,
        kind,
        allow,
        deny,
    })
}

fn channel_name(ctx: &Ctx, kind: u8, raw: &str) -> R<String> {
    let n = raw.chars().count();
    if n == 0 || n > 100 {
        return Err(Reply::form(
            "name",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ));
    }
    if ctx.shared.config.normalize_channel_names && matches!(kind, 0 | 5) {
        Ok(raw
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-")
            .to_lowercase())
    } else {
        Ok(raw.to_owned())
    }
}

fn parse_parent(st: &State, v: &Value) -> R<Option<u64>> {
    if v.is_null() {
        return Ok(None);
    }
    let id = json_sf(v)
        .ok_or_else(|| Reply::form("parent_id", "NUMBER_TYPE_COERCE", "Value is not snowflake."))?;
    match st.channels.get(&id) {
        Some(c) if c.is_category() => Ok(Some(id)),
        _ => Err(Reply::form(
            "parent_id",
            "CHANNEL_PARENT_INVALID",
            "Category does not exist",
        )),
    }
}

fn create_channel(ctx: &mut Ctx, st: &mut State, req: &Req, g: u64) -> R<Reply> {
    require(ctx, st, None, perms::MANAGE_CHANNELS)?;
    let body = obj(req.body()?, "name")?;
    let kind = match body.get("type") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_u64() {
            Some(k @ (0 | 2 | 4 | 5 | 13 | 15 | 16)) => k as u8,
            _ => {
                return Err(Reply::form(
                    "type",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {0, 2, 4, 5, 13, 15, 16}.",
                ))
            }
        },
    };
    let raw_name = match body.get("name") {
        Some(Value::String(s)) => s.as_str(),
        _ => {
            return Err(Reply::form(
                "name",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ))
        }
    };
    let name = channel_name(ctx, kind, raw_name)?;
    let parent_id = match body.get("parent_id") {
        Some(v) if kind != 4 => parse_parent(st, v)?,
        _ => None,
    };
    let permission_overwrites = match body.get("permission_overwrites") {
        Some(v) if !v.is_null() => parse_overwrites(v)?,
        // Discord syncs a new channel with its category when no overwrites are given.
        _ => parent_id
            .and_then(|p| st.channels.get(&p))
            .map(|p| p.permission_overwrites.clone())
            .unwrap_or_default(),
    };
    let position = match body.get("position").and_then(Value::as_u64) {
        Some(p) => p as u16,
        None => st
            .channels
            .values()
            .filter(|c| c.guild_id == Some(g) && c.kind == kind)
            .map(|c| c.position + 1)
            .max()
            .unwrap_or(0),
    };
    let ch = Channel {
        id: ctx.id(),
        kind,
        guild_id: Some(g),
        name,
        parent_id,
        position,
        topic: body.get("topic").and_then(Value::as_str).map(str::to_owned),
        nsfw: body.get("nsfw").and_then(Value::as_bool).unwrap_or(false),
        rate_limit_per_user: body
            .get("rate_limit_per_user")
            .and_then(Value::as_u64)
            .unwrap_or(0) as u16,
        permission_overwrites,
        recipients: Vec::new(),
        last_message_id: None,
    };
    st.channels.insert(ch.id, ch.clone());
    let v = ctx.render(st).channel(&ch, true);
    ctx.emit("CHANNEL_CREATE", v.clone(), intents::GUILDS);
    Ok(Reply::created(v))
}

fn edit_channel(ctx: &mut Ctx, st: &mut State, req: &Req, c: &str) -> R<Reply> {
    let id = live_channel(st, c)?;
    let body = obj(req.body()?, "name")?.clone();
    let mut ch = st.channels[&id].clone();
    if ch.kind == 1 {
        return Err(Reply::err(
            403,
            50003,
            "Cannot execute action on a DM channel",
        ));
    }
    let mut need = perms::MANAGE_CHANNELS;
    if body.contains_key("permission_overwrites") || body.contains_key("lock_permissions") {
        need |= perms::MANAGE_ROLES;
    }
    require(ctx, st, Some(id), need)?;
    if let Some(v) = body.get("name") {
        let raw = v
            .as_str()
            .ok_or_else(|| Reply::form("name", "BASE_TYPE_REQUIRED", "This field is required"))?;
        ch.name = channel_name(ctx, ch.kind, raw)?;
    }
    if let Some(v) = body.get("parent_id") {
        if ch.kind != 4 {
            ch.parent_id = parse_parent(st, v)?;
        }
    }
    if let Some(v) = body.get("permission_overwrites") {
        ch.permission_overwrites = if v.is_null() {
            Vec::new()
        } else {
            parse_overwrites(v)?
        };
    } else if body.get("lock_permissions").and_then(Value::as_bool) == Some(true) {
        if let Some(p) = ch.parent_id.and_then(|p| st.channels.get(&p)) {
            ch.permission_overwrites = p.permission_overwrites.clone();
        }
    }
    if let Some(v) = body.get("topic") {
        ch.topic = v.as_str().map(str::to_owned);
    }
    if let Some(v) = body.get("position").and_then(Value::as_u64) {
        ch.position = v as u16;
    }
    if let Some(v) = body.get("nsfw").and_then(Value::as_bool) {
        ch.nsfw = v;
    }
    if let Some(v) = body.get("rate_limit_per_user").and_then(Value::as_u64) {
        ch.rate_limit_per_user = v as u16;
    }
    st.channels.insert(id, ch.clone());
    let v = ctx.render(st).channel(&ch, true);
    ctx.emit("CHANNEL_UPDATE", v.clone(), intents::GUILDS);
    Ok(Reply::ok(v))
}

fn delete_channel(ctx: &mut Ctx, st: &mut State, c: &str) -> R<Reply> {
    let id = live_channel(st, c)?;
    if st.channels[&id].kind != 1 {
        require(ctx, st, Some(id), perms::MANAGE_CHANNELS)?;
    }
    let ch = st.channels.remove(&id).expect("checked live");
    let v = ctx.render(st).channel(&ch, true);
    st.deleted_channels.push(ch.clone());
    if ch.kind == 1 {
        return Ok(Reply::ok(v));
    }
    ctx.emit("CHANNEL_DELETE", v.clone(), intents::GUILDS);
    // Children of a deleted category lose their parent, as on Discord.
    let children: Vec<u64> = st
        .channels
        .values()
        .filter(|c| c.parent_id == Some(id))
        .map(|c| c.id)
        .collect();
    for child in children {
        if let Some(c) = st.channels.get_mut(&child) {
            c.parent_id = None;
        }
        let cv = ctx.render(st).channel(&st.channels[&child], true);
        ctx.emit("CHANNEL_UPDATE", cv, intents::GUILDS);
    }
    Ok(Reply::ok(v))
}

fn put_overwrite(ctx: &mut Ctx, st: &mut State, req: &Req, c: &str, o: &str) -> R<Reply> {
    let id = live_channel(st, c)?;
    let oid = parse_sf(o, "overwrite_id")?;
    require(ctx, st, Some(id), perms::MANAGE_ROLES)?;
    let ow = parse_overwrite(req.body()?, Some(oid), "permission_overwrite")?;
    let ch = st.channels.get_mut(&id).expect("checked live");
    match ch.permission_overwrites.iter_mut().find(|x| x.id == oid) {
        Some(x) => *x = ow,
        None => ch.permission_overwrites.push(ow),
    }
    let ch = ch.clone();
    let v = ctx.render(st).channel(&ch, true);
    ctx.emit("CHANNEL_UPDATE", v, intents::GUILDS);
    Ok(Reply::no_content())
}

fn delete_overwrite(ctx: &mut Ctx, st: &mut State, c: &str, o: &str) -> R<Reply> {
    let id = live_channel(st, c)?;
    let oid = parse_sf(o, "overwrite_id")?;
    require(ctx, st, Some(id), perms::MANAGE_ROLES)?;
    let ch = st.channels.get_mut(&id).expect("checked live");
    let before = ch.permission_overwrites.len();
    ch.permission_overwrites.retain(|x| x.id != oid);
    if ch.permission_overwrites.len() != before {
        let ch = ch.clone();
        let v = ctx.render(st).channel(&ch, true);
        ctx.emit("CHANNEL_UPDATE", v, intents::GUILDS);
    }
    Ok(Reply::no_content())
}

// ----- messages -----

/// The message fields of a create/edit body; `None` means "not given".
#[derive(Default)]
struct MsgInput {
    content: Option<String>,
    embeds: Option<Vec<Value>>,
    components: Option<Vec<Value>>,
    flags: Option<u64>,
    attachments: Option<Vec<Value>>,
    reference: Option<u64>,
}

fn parse_msg(v: &Value, prefix: &str) -> R<MsgInput> {
    let f = |name: &str| format!("{prefix}{name}");
    if v.is_null() {
        return Ok(MsgInput::default());
    }
    let o = obj(v, &f("content"))?;
    let list = |key: &str| -> R<Option<Vec<Value>>> {
        match o.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(Vec::new())),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(_) => Err(Reply::form(
                &f(key),
                "LIST_TYPE_CONVERT",
                "Only iterables may be used in a ListType",
            )),
        }
    };
    let content = match o.get("content") {
        None => None,
        Some(Value::Null) => Some(String::new()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(Reply::form(
                &f("content"),
                "STRING_TYPE_CONVERT",
                "Could not interpret value as string.",
            ))
        }
    };
    let flags =
        match o.get("flags") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                Reply::form(&f("flags"), "NUMBER_TYPE_COERCE", "Value is not int.")
            })?),
        };
    let reference = o
        .get("message_reference")
        .and_then(|r| r.get("message_id"))
        .and_then(json_sf);
    Ok(MsgInput {
        content,
        embeds: list("embeds")?,
        components: list("components")?,
        flags,
        attachments: list("attachments")?,
        reference,
    })
}

fn too_long(field: &str, max: usize) -> Reply {
    Reply::form(
        field,
        "BASE_TYPE_MAX_LENGTH",
        &format!("Must be {max} or fewer in length."),
    )
}

/// Discord's limits on content, embeds and components.
fn validate_msg(prefix: &str, content: &str, embeds: &[Value], components: &[Value]) -> R<()> {
    let f = |name: &str| format!("{prefix}{name}");
    let len = |v: Option<&Value>| v.and_then(Value::as_str).map_or(0, |s| s.chars().count());
    if content.chars().count() > 2000 {
        return Err(too_long(&f("content"), 2000));
    }
    if embeds.len() > 10 {
        return Err(too_long(&f("embeds"), 10));
    }
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        let ef = |k: &str| f(&format!("embeds.{i}.{k}"));
        if !e.is_object() {
            return Err(Reply::form(
                &ef("_"),
                "DICT_TYPE_CONVERT",
                "Only dictionaries may be used in a DictType",
            ));
        }
        for (key, max) in [("title", 256), ("description", 4096)] {
            let n = len(e.get(key));
            if n > max {
                return Err(too_long(&ef(key), max));
            }
            total += n;
        }
        let fields = e.get("fields").and_then(Value::as_array);
        if fields.map_or(0, Vec::len) > 25 {
            return Err(too_long(&ef("fields"), 25));
        }
        for (j, fl) in fields.into_iter().flatten().enumerate() {
            for (key, max) in [("name", 256), ("value", 1024)] {
                let n = len(fl.get(key));
                if n == 0 {
                    return Err(Reply::form(
                        &ef(&format!("fields.{j}.{key}")),
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    ));
                }
                if n > max {
                    return Err(too_long(&ef(&format!("fields.{j}.{key}")), max));
                }
                total += n;
            }
        }
        let n = len(e.get("footer").and_then(|x| x.get("text")));
        if n > 2048 {
            return Err(too_long(&ef("footer.text"), 2048));
        }
        total += n;
        let n = len(e.get("author").and_then(|x| x.get("name")));
        if n > 256 {
            return Err(too_long(&ef("author.name"), 256));
        }
        total += n;
    }
    if total > 6000 {
        return Err(Reply::form(
            &f("embeds"),
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000",
        ));
    }
    if components.len() > 5 {
        return Err(too_long(&f("components"), 5));
    }
    let mut seen: Vec<String> = Vec::new();
    for (i, row) in components.iter().enumerate() {
        let rf = |k: &str| f(&format!("components.{i}.{k}"));
        if row.get("type").and_then(Value::as_u64) != Some(1) {
            return Err(Reply::form(
                &rf("type"),
                "UNION_TYPE_CHOICES",
                "Value of field \"type\" must be one of (1,).",
            ));
        }
        let inner = row
            .get("components")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if inner.is_empty() || inner.len() > 5 {
            return Err(Reply::form(
                &rf("components"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 5 in length.",
            ));
        }
        for (j, c) in inner.iter().enumerate() {
            let cf = |k: &str| rf(&format!("components.{j}.{k}"));
            let ctype = c.get("type").and_then(Value::as_u64).unwrap_or(0);
            let style = c.get("style").and_then(Value::as_u64).unwrap_or(0);
            if len(c.get("label")) > 80 {
                return Err(too_long(&cf("label"), 80));
            }
            let is_link = ctype == 2 && (style == 5 || style == 6);
            match c.get("custom_id").and_then(Value::as_str) {
                Some(id) if !is_link => {
                    if id.is_empty() || id.chars().count() > 100 {
                        return Err(Reply::form(
                            &cf("custom_id"),
                            "BASE_TYPE_BAD_LENGTH",
                            "Must be between 1 and 100 in length.",
                        ));
                    }
                    if seen.iter().any(|s| s == id) {
                        return Err(Reply::form(
                            &cf("custom_id"),
                            "COMPONENT_CUSTOM_ID_DUPLICATED",
                            "Component custom id cannot be duplicated",
                        ));
                    }
                    seen.push(id.to_owned());
                }
                None if !is_link => {
                    return Err(Reply::form(
                        &cf("custom_id"),
                        "BASE_TYPE_REQUIRED",
                        "A custom id is required",
                    ))
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The attachments a create/edit leaves on the message: kept ones (listed by id) and new files.
fn build_attachments(
    ctx: &Ctx,
    input: &MsgInput,
    files: &[Upload],
    existing: &[Attachment],
) -> Vec<Attachment> {
    let mut out: Vec<Attachment> = match &input.attachments {
        None => existing.to_vec(),
        Some(list) => existing
            .iter()
            .filter(|a| {
                list.iter()
                    .any(|x| x.get("id").and_then(json_sf) == Some(a.id))
            })
            .cloned()
            .collect(),
    };
    for (n, file) in files.iter().enumerate() {
        let index = file.index.unwrap_or(n as u64);
        let meta = input.attachments.iter().flatten().find(|x| {
            x.get("id").and_then(json_sf) == Some(index) && !existing.iter().any(|a| a.id == index)
        });
        out.push(Attachment {
            id: ctx.id(),
            filename: meta
                .and_then(|m| m.get("filename"))
                .and_then(Value::as_str)
                .unwrap_or(&file.filename)
                .to_owned(),
            content_type: file.content_type.clone(),
            description: meta
                .and_then(|m| m.get("description"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            data: file.data.clone(),
        });
    }
    out
}

fn empty_message() -> Reply {
    Reply::err(400, 50006, "Cannot send an empty message")
}

/// Builds (but does not store) a bot message from a create body.
fn new_bot_message(
    ctx: &Ctx,
    input: &MsgInput,
    files: &[Upload],
    channel_id: u64,
    prefix: &str,
) -> R<Message> {
    let content = input.content.clone().unwrap_or_default();
    let embeds: Vec<Value> = input.embeds.iter().flatten().map(normalize_embed).collect();
    let components = input.components.clone().unwrap_or_default();
    validate_msg(prefix, &content, &embeds, &components)?;
    let attachments = build_attachments(ctx, input, files, &[]);
    if content.is_empty() && embeds.is_empty() && components.is_empty() && attachments.is_empty() {
        return Err(empty_message());
    }
    Ok(Message {
        id: ctx.id(),
        channel_id,
        author: ctx.shared.config.bot.clone(),
        content,
        embeds,
        components,
        flags: input.flags.unwrap_or(0) & (EPHEMERAL | (1 << 2) | (1 << 12)),
        attachments,
        kind: if input.reference.is_some() { 19 } else { 0 },
        timestamp: now_iso(),
        edited_timestamp: None,
        interaction_id: None,
        reference_id: input.reference,
        deleted: false,
    })
}

fn message_intent(st: &State, channel_id: u64) -> u64 {
    match st.channels.get(&channel_id) {
        Some(c) if c.kind == 1 => intents::DIRECT_MESSAGES,
        _ => intents::GUILD_MESSAGES,
    }
}

/// Stores a message; a visible one updates the channel and emits MESSAGE_CREATE.
pub(crate) fn store_message(ctx: &mut Ctx, st: &mut State, m: Message) {
    let visible = !m.is_ephemeral();
    if visible {
        if let Some(c) = st.channels.get_mut(&m.channel_id) {
            c.last_message_id = Some(m.id);
        }
    }
    st.messages.insert(m.id, m.clone());
    if visible {
        let v = ctx.render(st).message(&m, true);
        let intent = message_intent(st, m.channel_id);
        ctx.emit("MESSAGE_CREATE", v, intent);
    }
}

fn create_message(ctx: &mut Ctx, st: &mut State, req: &Req, c: &str) -> R<Reply> {
    let id = live_channel(st, c)?;
    if !st.channels[&id].is_textual() {
        return Err(Reply::err(
            400,
            50008,
            "Cannot send messages in a non-text channel",
        ));
    }
    let input = parse_msg(req.body()?, "")?;
    let mut m = new_bot_message(ctx, &input, &req.files, id, "")?;
    m.flags &= !EPHEMERAL;
    let mut need = perms::SEND_MESSAGES;
    if !m.embeds.is_empty() {
        need |= perms::EMBED_LINKS;
    }
    if !m.attachments.is_empty() {
        need |= perms::ATTACH_FILES;
    }
    require(ctx, st, Some(id), need)?;
    if let Some(r) = m.reference_id {
        if visible_message(st, id, r).is_err() {
            return Err(Reply::form(
                "message_reference",
                "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                "Unknown message",
            ));
        }
    }
    store_message(ctx, st, m.clone());
    Ok(Reply::ok(ctx.render(st).message(&m, false)))
}

fn list_messages(ctx: &mut Ctx, st: &mut State, req: &Req, c: &str) -> R<Reply> {
    let id = live_channel(st, c)?;
    require(ctx, st, Some(id), perms::READ_MESSAGE_HISTORY)?;
    let limit: usize = req
        .query_param("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let before: Option<u64> = req.query_param("before").and_then(|v| v.parse().ok());
    let after: Option<u64> = req.query_param("after").and_then(|v| v.parse().ok());
    let around: Option<u64> = req.query_param("around").and_then(|v| v.parse().ok());
    let all = st.channel_messages(id);
    let picked: Vec<&Message> = if let Some(a) = after {
        // The `limit` oldest after `a`, newest first.
        let mut v: Vec<_> = all.into_iter().filter(|m| m.id > a).take(limit).collect();
        v.reverse();
        v
    } else if let Some(a) = around {
        let mut older: Vec<_> = all
            .iter()
            .filter(|m| m.id <= a)
            .rev()
            .take(limit.div_ceil(2))
            .copied()
            .collect();
        let newer: Vec<_> = all
            .iter()
            .filter(|m| m.id > a)
            .take(limit / 2)
            .copied()
            .collect();
        let mut v: Vec<_> = newer.into_iter().rev().collect();
        v.append(&mut older);
        v
    } else {
        all.into_iter()
            .rev()
            .filter(|m| !matches!(before, Some(b) if m.id >= b))
            .take(limit)
            .collect()
    };
    let r = ctx.render(st);
    Ok(Reply::ok(Value::Array(
        picked.into_iter().map(|m| r.message(m, false)).collect(),
    )))
}

/// Applies an edit body to a stored message and emits MESSAGE_UPDATE if it is visible.
fn apply_edit(ctx: &mut Ctx, st: &mut State, req: &Req, mid: u64, prefix: &str) -> R<Message> {
    let input = parse_msg(req.body()?, prefix)?;
    apply_input(ctx, st, &input, &req.files, mid, prefix)
}

fn apply_input(
    ctx: &mut Ctx,
    st: &mut State,
    input: &MsgInput,
    files: &[Upload],
    mid: u64,
    prefix: &str,
) -> R<Message> {
    let mut m = st.messages.get(&mid).cloned().ok_or_else(unknown_message)?;
    if let Some(c) = &input.content {
        m.content = c.clone();
    }
    if let Some(e) = &input.embeds {
        m.embeds = e.iter().map(normalize_embed).collect();
    }
    if let Some(c) = &input.components {
        m.components = c.clone();
    }
    if input.attachments.is_some() || !files.is_empty() {
        m.attachments = build_attachments(ctx, input, files, &m.attachments);
    }
    validate_msg(prefix, &m.content, &m.embeds, &m.components)?;
    let was_loading = m.flags & LOADING != 0;
    m.flags &= !LOADING;
    if let Some(f) = input.flags {
        // Only SUPPRESS_EMBEDS may change on edit.
        m.flags = (m.flags & !(1 << 2)) | (f & (1 << 2));
    }
    if m.content.is_empty()
        && m.embeds.is_empty()
        && m.components.is_empty()
        && m.attachments.is_empty()
    {
        return Err(empty_message());
    }
    if !was_loading {
        m.edited_timestamp = Some(now_iso());
    }
    st.messages.insert(mid, m.clone());
    if !m.is_ephemeral() {
        let v = ctx.render(st).message(&m, true);
        let intent = message_intent(st, m.channel_id);
        ctx.emit("MESSAGE_UPDATE", v, intent);
    }
    Ok(m)
}

fn edit_channel_message(ctx: &mut Ctx, st: &mut State, req: &Req, c: &str, mid: &str) -> R<Reply> {
    let id = live_channel(st, c)?;
    let mid = parse_sf(mid, "message_id")?;
    let author = visible_message(st, id, mid)?.author.id;
    require(ctx, st, Some(id), 0)?;
    if author != ctx.shared.config.bot.id {
        return Err(Reply::err(
            403,
            50005,
            "Cannot edit a message authored by another user",
        ));
    }
    let m = apply_edit(ctx, st, req, mid, "")?;
    Ok(Reply::ok(ctx.render(st).message(&m, false)))
}

fn edit_message(ctx: &mut Ctx, st: &mut State, req: &Req, mid: u64) -> R<Reply> {
    let m = apply_edit(ctx, st, req, mid, "")?;
    Ok(Reply::ok(ctx.render(st).message(&m, false)))
}

fn delete_message(ctx: &mut Ctx, st: &mut State, mid: u64) {
    let Some(m) = st.messages.get_mut(&mid) else {
        return;
    };
    m.deleted = true;
    let m = m.clone();
    if !m.is_ephemeral() {
        let guild = ctx.render(st).guild_of(m.channel_id);
        let mut d = json!({"id": sf(m.id), "channel_id": sf(m.channel_id)});
        if let Some(g) = guild {
            d["guild_id"] = sf(g);
        }
        let intent = message_intent(st, m.channel_id);
        ctx.emit("MESSAGE_DELETE", d, intent);
    }
}

// ----- interactions -----

fn interaction_by_token(st: &State, token: &str) -> R<u64> {
    st.interactions
        .values()
        .find(|i| i.token == token)
        .map(|i| i.id)
        .ok_or_else(unknown_webhook)
}

fn callback(ctx: &mut Ctx, st: &mut State, req: &Req, id: &str, token: &str) -> R<Reply> {
    let iid = parse_sf(id, "interaction_id")?;
    let inter = match st.interactions.get(&iid) {
        Some(i) if i.token == token => i.clone(),
        _ => return Err(unknown_interaction()),
    };
    if inter.callbacks.is_empty() {
        if let (Some(deadline), Some(sent)) = (
            ctx.shared.config.interaction_ack_deadline,
            ctx.shared.sent_at(iid),
        ) {
            if sent.elapsed() > deadline {
                if let Some(i) = st.interactions.get_mut(&iid) {
                    i.expired = true;
                }
                return Err(unknown_interaction());
            }
        }
    }
    if inter.expired {
        return Err(unknown_interaction());
    }
    if !inter.callbacks.is_empty() {
        return Err(Reply::err(
            400,
            40060,
            "Interaction has already been acknowledged.",
        ));
    }
    let body = req.body()?;
    let o = obj(body, "type")?;
    let kind = o
        .get("type")
        .and_then(Value::as_u64)
        .ok_or_else(|| Reply::form("type", "BASE_TYPE_REQUIRED", "This field is required"))?;
    let data = o.get("data").cloned().unwrap_or(Value::Null);
    let input = parse_msg(&data, "data.")?;
    let bad_type = || {
        Reply::form(
            "type",
            "INTERACTION_RESPONSE_TYPE_INVALID",
            "Interaction response type is invalid for this interaction",
        )
    };
    let mut original = inter.original_message_id;
    match kind {
        4 => {
            let mut m = new_bot_message(ctx, &input, &req.files, inter.channel_id, "data.")?;
            m.kind = if inter.kind == 2 { 20 } else { 0 };
            m.interaction_id = Some(iid);
            original = Some(m.id);
            set_original(st, iid, m.id);
            store_message(ctx, st, m);
        }
        5 => {
            let flags = LOADING | (input.flags.unwrap_or(0) & EPHEMERAL);
            let m = Message {
                id: ctx.id(),
                channel_id: inter.channel_id,
                author: ctx.shared.config.bot.clone(),
                content: String::new(),
                embeds: Vec::new(),
                components: Vec::new(),
                flags,
                attachments: Vec::new(),
                kind: if inter.kind == 2 { 20 } else { 0 },
                timestamp: now_iso(),
                edited_timestamp: None,
                interaction_id: Some(iid),
                reference_id: None,
                deleted: false,
            };
            original = Some(m.id);
            set_original(st, iid, m.id);
            store_message(ctx, st, m);
        }
        6 | 7 => {
            if inter.kind != 3 && inter.kind != 5 {
                return Err(bad_type());
            }
            let Some(mid) = inter.message_id.filter(|m| st.messages.contains_key(m)) else {
                return Err(unknown_message());
            };
            original = Some(mid);
            set_original(st, iid, mid);
            if kind == 7 {
                apply_input(ctx, st, &input, &req.files, mid, "data.")?;
            }
        }
        8 => {
            if inter.kind != 4 {
                return Err(bad_type());
            }
        }
        9 => {
            let ok = data.get("custom_id").and_then(Value::as_str).is_some()
                && data.get("title").and_then(Value::as_str).is_some()
                && data.get("components").and_then(Value::as_array).is_some();
            if !ok {
                return Err(Reply::form(
                    "data.custom_id",
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                ));
            }
        }
        _ => return Err(bad_type()),
    }
    let cb = Callback {
        kind: kind as u8,
        content: input.content.clone(),
        flags: input.flags.unwrap_or(0),
        embeds: input.embeds.clone().unwrap_or_default(),
        components: input.components.clone().unwrap_or_default(),
        data,
    };
    if let Some(i) = st.interactions.get_mut(&iid) {
        i.callbacks.push(cb);
        i.original_message_id = original;
    }
    Ok(Reply::no_content())
}

fn set_original(st: &mut State, iid: u64, mid: u64) {
    if let Some(i) = st.interactions.get_mut(&iid) {
        i.original_message_id = Some(mid);
    }
}

fn followup(ctx: &mut Ctx, st: &mut State, req: &Req, token: &str) -> R<Reply> {
    let iid = interaction_by_token(st, token)?;
    let inter = st.interactions[&iid].clone();
    if inter.callbacks.is_empty() || inter.expired {
        return Err(unknown_webhook());
    }
    let input = parse_msg(req.body()?, "")?;
    // The first follow-up after a deferred (type 5) response replaces the "thinking" message.
    let loading = inter
        .original_message_id
        .filter(|id| st.messages.get(id).is_some_and(|m| m.flags & LOADING != 0));
    let m = match loading {
        Some(mid) => apply_input(ctx, st, &input, &req.files, mid, "")?,
        None => {
            let mut m = new_bot_message(ctx, &input, &req.files, inter.channel_id, "")?;
            m.interaction_id = Some(iid);
            m.kind = if inter.kind == 2 { 20 } else { 0 };
            m.reference_id = None;
            store_message(ctx, st, m.clone());
            m
        }
    };
    if let Some(i) = st.interactions.get_mut(&iid) {
        i.followup_ids.push(m.id);
    }
    Ok(Reply::ok(ctx.render(st).message(&m, false)))
}

/// The id of `@original` or of a follow-up of the interaction with this token.
fn webhook_message(st: &State, token: &str, mid: &str) -> R<u64> {
    let iid = interaction_by_token(st, token)?;
    let inter = &st.interactions[&iid];
    let id = if mid == "@original" {
        inter.original_message_id.ok_or_else(unknown_message)?
    } else {
        let id = parse_sf(mid, "message_id")?;
        if inter.original_message_id != Some(id) && !inter.followup_ids.contains(&id) {
            return Err(unknown_message());
        }
        id
    };
    match st.messages.get(&id) {
        Some(m) if !m.deleted => Ok(id),
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
