//! Discord's OAuth2 authorization-code flow, as a web sign-in uses it: the authorize page
//! (`/oauth2/authorize`), the token exchange (`POST /api/v10/oauth2/token`) and the signed-in
//! user (`GET /api/v10/users/@me` with `Authorization: Bearer`).
//!
//! A browser has no Discord account here: the test says who is signed in on Discord
//! ([`FakeDiscord::oauth_sign_in`]) and which redirect URLs the application registered
//! ([`FakeDiscord::oauth_register`]). Then the authorize page, like Discord's for an
//! application the user has already authorized, redirects straight back with a code. What
//! Discord refuses, the fake refuses: an unregistered `redirect_uri`, a wrong client secret, a
//! code used twice or with another `redirect_uri`, a scope other than `identify`'s family.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State as AxState};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::{lock, FakeDiscord, Shared};

/// What the fake's Discord knows of OAuth2.
#[derive(Debug, Default)]
pub(crate) struct OAuth {
    /// The application's client secret (Developer Portal, OAuth2).
    secret: Option<String>,
    /// Registered redirect URLs: `redirect_uri` must be one of them, exactly.
    redirects: Vec<String>,
    /// Who the browser is signed in to Discord as.
    signed_in: Option<u64>,
    /// Unused codes: user and the `redirect_uri` they were issued for.
    codes: HashMap<String, (u64, String)>,
    /// Access tokens: their user.
    tokens: HashMap<String, u64>,
    /// Codes exchanged and tokens issued, for tests.
    pub(crate) exchanges: u64,
}

impl FakeDiscord {
    /// Sets the application's OAuth2 client secret and its registered redirect URLs.
    pub fn oauth_register(&self, client_secret: &str, redirect_uris: &[&str]) {
        let mut o = lock(&self.shared.oauth);
        o.secret = Some(client_secret.to_owned());
        o.redirects = redirect_uris.iter().map(|s| (*s).to_owned()).collect();
    }

    /// Who the browser is signed in to Discord as (`None`: nobody, the authorize page asks
    /// to log in).
    pub fn oauth_sign_in(&self, user: Option<u64>) {
        lock(&self.shared.oauth).signed_in = user;
    }

    /// How many codes were exchanged for tokens.
    pub fn oauth_exchanges(&self) -> u64 {
        lock(&self.shared.oauth).exchanges
    }
}

fn page(status: StatusCode, text: &str) -> Response {
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>Discord</title><p>{}</p>",
        text.replace('&', "&amp;").replace('<', "&lt;")
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `GET /oauth2/authorize?response_type=code&client_id=…&scope=identify&redirect_uri=…&state=…`
pub(crate) async fn authorize(
    AxState(shared): AxState<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let app = shared.config.application_id.to_string();
    if q.get("client_id") != Some(&app) {
        return page(StatusCode::BAD_REQUEST, "Unknown Application");
    }
    if q.get("response_type").map(String::as_str) != Some("code") {
        return page(StatusCode::BAD_REQUEST, "Invalid response_type");
    }
    let scopes: Vec<&str> = q
        .get("scope")
        .map(|s| s.split([' ', '+']).collect())
        .unwrap_or_default();
    if !scopes.contains(&"identify") {
        return page(StatusCode::BAD_REQUEST, "Invalid scope");
    }
    let mut o = lock(&shared.oauth);
    let Some(redirect) = q.get("redirect_uri").filter(|r| o.redirects.contains(r)) else {
        return page(StatusCode::BAD_REQUEST, "Invalid OAuth2 redirect_uri");
    };
    let Some(user) = o.signed_in else {
        return page(StatusCode::OK, "Log in to Discord to continue");
    };
    let code = format!("code{}", shared.ids.next());
    o.codes.insert(code.clone(), (user, redirect.clone()));
    let mut target = format!("{redirect}?code={code}");
    if let Some(state) = q.get("state") {
        target.push_str("&state=");
        target
            .push_str(&url::form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>());
    }
    (StatusCode::FOUND, [(header::LOCATION, target)]).into_response()
}

fn invalid(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": error}))).into_response()
}

/// `POST /api/v10/oauth2/token` (form: grant_type, code, redirect_uri; client credentials in
/// HTTP Basic auth or the form).
pub(crate) async fn token(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64_decode(b.trim()))
        .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())));
    let (client, secret) = match basic {
        Some(c) => c,
        None => (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    let mut o = lock(&shared.oauth);
    if client != shared.config.application_id.to_string() || o.secret.as_deref() != Some(&secret) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return invalid("unsupported_grant_type");
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some((user, redirect)) = o.codes.remove(&code) else {
        return invalid("invalid_grant");
    };
    if form.get("redirect_uri") != Some(&redirect) {
        return invalid("invalid_grant");
    }
    let access = format!("access{}", shared.ids.next());
    o.tokens.insert(access.clone(), user);
    o.exchanges += 1;
    axum::Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 604_800,
        "refresh_token": format!("refresh{}", shared.ids.next()),
        "scope": "identify",
    }))
    .into_response()
}

/// `GET /api/v10/users/@me`: with a Bearer token, its user; otherwise the bot's route.
pub(crate) async fn me(state: AxState<Arc<Shared>>, request: Request<Body>) -> Response {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let Some(bearer) = bearer else {
        return crate::rest::api_handler(state, request).await;
    };
    let user = lock(&state.oauth).tokens.get(&bearer).copied();
    match user {
        Some(id) => {
            let u = state.0.lock_state().users.get(&id).cloned();
            let u = u.unwrap_or_else(|| crate::FakeUser::new(id, &format!("user{id}")));
            axum::Json(crate::payloads::user_json(&u)).into_response()
        }
        None => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "401: Unauthorized", "code": 0})),
        )
            .into_response(),
    }
}

/// HTTP Basic credentials: standard base64 of `id:secret`.
fn base64_decode(s: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    String::from_utf8(bytes).ok()
}
