//! The HTTP side: body parsing, recording, faults, and the handlers outside the API.

#[allow(unused_imports)]
use super::*;

pub(crate) async fn parse_body(
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    body: Bytes,
) -> (Result<Value, String>, Vec<Upload>) {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if ct.starts_with("multipart/form-data") {
        let Ok(mut req) = Request::builder()
            .header(header::CONTENT_TYPE, ct.as_str())
            .body(Body::from(body))
        else {
            return (Err("bad multipart request".into()), Vec::new());
        };
        // Keeps the router's `DefaultBodyLimit`: without it axum's multipart stops at 2 MB.
        *req.extensions_mut() = extensions.clone();
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

pub(crate) fn rate_limited(retry_after: f64) -> Response {
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

pub(crate) fn status_fault(status: u16) -> Reply {
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
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let body = match axum::body::to_bytes(body, crate::body_limit(&shared.config)).await {
        Ok(b) => b,
        Err(_) => {
            shared.record(RecordedRequest {
                method: method.as_str().to_owned(),
                path: uri
                    .path()
                    .strip_prefix("/api/v10")
                    .unwrap_or(uri.path())
                    .to_owned(),
                query: uri.query().map(str::to_owned),
                body: Value::Null,
                files: Vec::new(),
                audit_reason: None,
                status: 413,
                known_route: true,
                fault: None,
            });
            return too_large().into_response();
        }
    };
    let path = uri
        .path()
        .strip_prefix("/api/v10")
        .unwrap_or(uri.path())
        .to_owned();
    let (json, files) = parse_body(&headers, &parts.extensions, body).await;
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

    let mut slow_response = None;
    if let Some(kind) = shared.take_fault(&req.method, &req.path) {
        rec.fault = Some(kind.describe());
        match kind {
            FaultKind::Delay(d) => tokio::time::sleep(d).await,
            FaultKind::SlowResponse(d) => slow_response = Some(d),
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

    let mut limit_headers = Vec::new();
    if let Some(limits) = &shared.config.rate_limits {
        let verdict = shared.limiter().check(limits, &req.method, &req.path);
        match verdict {
            crate::ratelimit::Verdict::Pass(h) => limit_headers = h,
            crate::ratelimit::Verdict::Limited { body, headers } => {
                rec.status = 429;
                shared.record(rec);
                let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
                crate::ratelimit::put_headers(resp.headers_mut(), &headers);
                return resp;
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
    if let Some(d) = slow_response {
        tokio::time::sleep(d).await;
    }
    let mut resp = reply.into_response();
    crate::ratelimit::put_headers(resp.headers_mut(), &limit_headers);
    resp
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

/// `GET /attachments/{channel}/{attachment}/{filename}?ex=&is=&hm=`: the uploaded bytes, while
/// the URL's signature is current and unexpired; otherwise 404 as Discord's CDN answers.
pub(crate) async fn attachment_handler(
    AxState(shared): AxState<Arc<Shared>>,
    Path((_channel, id, _name)): Path<(String, String, String)>,
    uri: Uri,
) -> Response {
    let id: u64 = id.parse().unwrap_or(0);
    let param = |key: &str| {
        uri.query().unwrap_or("").split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == key).then(|| v.to_owned())
        })
    };
    let hex = |key: &str| param(key).and_then(|v| u64::from_str_radix(&v, 16).ok());
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let st = shared.lock_state();
    let signed = match (hex("ex"), hex("is"), param("hm")) {
        (Some(ex), Some(is), Some(hm)) => {
            ex > now && hm == attachment_signature(id, ex, is, st.url_generation)
        }
        _ => false,
    };
    let found = st
        .messages
        .values()
        .flat_map(|m| m.attachments.iter())
        .find(|a| a.id == id)
        .cloned();
    drop(st);
    match found {
        Some(a) if signed => {
            let ct = a
                .content_type
                .unwrap_or_else(|| "application/octet-stream".into());
            ([(header::CONTENT_TYPE, ct)], a.data).into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            "This content is no longer available.",
        )
            .into_response(),
    }
}

/// `GET /avatars/{user}/{hash}.png`: a small PNG for a user whose avatar hash it is.
pub(crate) async fn avatar_handler(
    AxState(shared): AxState<Arc<Shared>>,
    Path((user, file)): Path<(String, String)>,
) -> Response {
    let user: u64 = user.parse().unwrap_or(0);
    let Some(hash) = file.strip_suffix(".png") else {
        return Reply::not_found().into_response();
    };
    let known = shared
        .lock_state()
        .users
        .get(&user)
        .is_some_and(|u| u.avatar.as_deref() == Some(hash));
    if !known {
        return Reply::not_found().into_response();
    }
    png_response(crate::png::solid(
        16,
        16,
        crate::png::color_of(hash.as_bytes()),
    ))
}

/// `GET /embed/avatars/{n}.png` (n in 0..=5): Discord's default avatars.
pub(crate) async fn default_avatar_handler(Path(file): Path<String>) -> Response {
    match file.strip_suffix(".png").and_then(|n| n.parse::<u8>().ok()) {
        Some(n) if n <= 5 => png_response(crate::png::solid(16, 16, crate::png::color_of(&[n]))),
        _ => Reply::not_found().into_response(),
    }
}

fn png_response(data: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "image/png")], data).into_response()
}
