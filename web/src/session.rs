//! Who is looking: the signed session cookie, the `--token` sign-in and the Discord sign-in
//! (OAuth2 authorization code, then a staff check with the bot token).
//!
//! The cookie holds `user.expiry` signed with HMAC-SHA256 under a key made at start: a forged
//! or altered cookie fails the signature, an old one its expiry, and a restart signs everyone
//! out. With Discord sign-in, staff standing is asked again once a minute, so that a member who
//! loses the support role loses the web view too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use cookie::{Cookie, CookieJar, Key, SameSite};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::discord::{Client, Standing, EXCHANGE};
use crate::pages::{message_page, Message};
use crate::WebApp;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tb_session";
/// The OAuth2 `state` and the page to return to, between `/login` and the callback.
const STATE_COOKIE: &str = "tb_oauth";
/// How long a sign-in lasts.
const SESSION_HOURS: i64 = 12;
/// How long a staff check is trusted.
const STANDING_TTL: Duration = Duration::from_secs(60);

pub(crate) struct Auth {
    key: Key,
    mode: Mode,
}

enum Mode {
    Token(String),
    Discord {
        client: Client,
        /// user → (checked at, standing, display name)
        checked: Mutex<HashMap<u64, (Instant, Standing, String)>>,
    },
}

/// A random token for `--token`: 256 bits from the OS, as hex.
pub(crate) fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Auth {
    pub(crate) fn token(token: &str) -> Auth {
        Auth {
            key: Key::generate(),
            mode: Mode::Token(token.to_owned()),
        }
    }

    pub(crate) fn discord(client: Client) -> Auth {
        // WEB_SESSION_KEY: the same key on every server and after restarts (stretched to
        // the signing key by HKDF); otherwise one made for this process.
        let key = match &client.sign_in.session_key {
            // The settings refuse a shorter key; HKDF needs 32 bytes.
            Some(master) if master.expose().len() >= 32 => {
                Key::derive_from(master.expose().as_bytes())
            }
            _ => Key::generate(),
        };
        Auth {
            key,
            mode: Mode::Discord {
                client,
                checked: Mutex::new(HashMap::new()),
            },
        }
    }

    fn secure(&self) -> bool {
        match &self.mode {
            Mode::Token(_) => false,
            Mode::Discord { client, .. } => client.sign_in.https(),
        }
    }

    fn cookie(&self, name: &'static str, value: String, max_age_secs: i64) -> Cookie<'static> {
        let mut c = Cookie::new(name, value);
        c.set_http_only(true);
        c.set_same_site(SameSite::Lax);
        c.set_path("/");
        c.set_secure(self.secure());
        c.set_max_age(cookie::time::Duration::seconds(max_age_secs));
        c
    }

    /// A `Set-Cookie` value carrying `value` signed.
    fn signed(&self, name: &'static str, value: String, max_age_secs: i64) -> String {
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key)
            .add(self.cookie(name, value, max_age_secs));
        jar.get(name).map(|c| c.to_string()).unwrap_or_default()
    }

    fn removal(&self, name: &'static str) -> String {
        self.cookie(name, String::new(), 0).to_string()
    }

    /// The verified value of a signed cookie of the request.
    fn read(&self, headers: &HeaderMap, name: &str) -> Option<String> {
        let mut jar = CookieJar::new();
        for h in headers.get_all(header::COOKIE) {
            let Ok(h) = h.to_str() else { continue };
            for c in Cookie::split_parse(h).flatten() {
                jar.add_original(c.into_owned());
            }
        }
        jar.signed(&self.key)
            .get(name)
            .map(|c| c.value().to_owned())
    }

    fn session_value(user: u64) -> String {
        let expires = Utc::now().timestamp() + SESSION_HOURS * 3600;
        format!("{user}.{expires}")
    }

    /// The user of a genuine, unexpired session cookie (`0` with `--token`).
    fn session_user(&self, headers: &HeaderMap) -> Option<u64> {
        let v = self.read(headers, SESSION_COOKIE)?;
        let (user, expires) = v.split_once('.')?;
        let expires: i64 = expires.parse().ok()?;
        if expires <= Utc::now().timestamp() {
            return None;
        }
        user.parse().ok()
    }
}

/// The signed-in viewer of a page.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    /// The Discord user (`None` with `--token`).
    pub user_id: Option<u64>,
    pub name: String,
}

fn unauthorized(text: &str) -> Response {
    message_page(
        StatusCode::UNAUTHORIZED,
        Message {
            title: "Sign-in needed",
            text,
            link: None,
        },
    )
}

fn refused(name: &str) -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        Message {
            title: "Staff only",
            text: &format!(
                "You are signed in to Discord as {name}, who is not staff of this guild. \
                 The web view is for members with the support role and administrators."
            ),
            link: Some(("/logout", "Sign out")),
        },
    )
}

/// What went wrong in a sign-in, told apart: the user's code refused (used or too old: sign
/// in again), the server's own credentials refused (the operator must fix them), or Discord
/// out of reach.
fn sign_in_failed(e: &crate::DiscordError, again: Option<(&str, &str)>) -> Response {
    use crate::DiscordError::Status;
    match e {
        Status {
            status: 400,
            what: EXCHANGE,
        } => message_page(
            StatusCode::BAD_REQUEST,
            Message {
                title: "Sign-in expired",
                text: "Discord did not accept this sign-in: it was used already or is too old. \
                       Sign in again.",
                link: again,
            },
        ),
        Status { status: 401, what } => {
            let vars = if *what == EXCHANGE {
                "OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET"
            } else {
                "BOT_TOKEN"
            };
            tracing::error!("web sign-in: Discord refused the server's {vars} ({e})");
            message_page(
                StatusCode::BAD_GATEWAY,
                Message {
                    title: "Sign-in is not set up right",
                    text: &format!(
                        "Discord refused this web view's {vars}. \
                         Tell whoever runs it to check them in the Developer Portal."
                    ),
                    link: None,
                },
            )
        }
        _ => discord_down(e),
    }
}

fn discord_down(e: &crate::DiscordError) -> Response {
    tracing::warn!("web sign-in: {e}");
    message_page(
        StatusCode::BAD_GATEWAY,
        Message {
            title: "Discord cannot be reached",
            text: "Your staff standing could not be checked with Discord. Try again in a moment.",
            link: None,
        },
    )
}

/// The page's path and query, without a `token` parameter.
fn without_token(uri: &Uri) -> String {
    let rest: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .filter(|(k, _)| k != "token")
            .collect();
    if rest.is_empty() {
        uri.path().to_owned()
    } else {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(rest)
            .finish();
        format!("{}?{q}", uri.path())
    }
}

/// A local path to come back to: `/…` but not `//host`.
fn local_path(next: &str) -> Option<&str> {
    (next.starts_with('/') && !next.starts_with("//") && !next.contains('\\')).then_some(next)
}

/// Every page calls this first: the viewer, or the response that refuses them.
pub(crate) async fn viewer(
    app: &WebApp,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Viewer, Response> {
    let auth = &app.auth;
    if let Mode::Token(expected) = &auth.mode {
        let given = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned());
        if let Some(given) = given {
            if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                let cookie =
                    auth.signed(SESSION_COOKIE, Auth::session_value(0), SESSION_HOURS * 3600);
                return Err((
                    StatusCode::SEE_OTHER,
                    [
                        (header::SET_COOKIE, cookie),
                        (header::LOCATION, without_token(uri)),
                    ],
                )
                    .into_response());
            }
            return Err(unauthorized(
                "This token is not the one `ticketctl serve --token` printed.",
            ));
        }
    }
    let session = auth.session_user(headers);
    match (&auth.mode, session) {
        (Mode::Token(_), Some(_)) => Ok(Viewer {
            user_id: None,
            name: "operator".to_owned(),
        }),
        (Mode::Token(_), None) => Err(unauthorized(
            "Open the address that `ticketctl serve --token` printed when it started (it carries the token).",
        )),
        (Mode::Discord { .. }, None) => {
            let next = uri.path_and_query().map_or("/", |p| p.as_str());
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", next)
                .finish();
            Err(Redirect::to(&format!("/login?{query}")).into_response())
        }
        (Mode::Discord { client, checked }, Some(user)) => {
            let cached = checked
                .lock()
                .ok()
                .and_then(|m| m.get(&user).cloned())
                .filter(|(at, _, _)| at.elapsed() < STANDING_TTL);
            let (standing, name) = match cached {
                Some((_, s, name)) => (s, name),
                None => {
                    let s = client.standing(user).await.map_err(|e| discord_down(&e))?;
                    let name = checked
                        .lock()
                        .ok()
                        .and_then(|m| m.get(&user).map(|c| c.2.clone()))
                        .unwrap_or_else(|| user.to_string());
                    if let Ok(mut m) = checked.lock() {
                        m.insert(user, (Instant::now(), s, name.clone()));
                    }
                    (s, name)
                }
            };
            if standing == Standing::Staff {
                Ok(Viewer {
                    user_id: Some(user),
                    name,
                })
            } else {
                let mut r = refused(&name);
                if let Ok(v) = auth.removal(SESSION_COOKIE).parse() {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
                Err(r)
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

/// `/login`: off to Discord's consent page.
pub(crate) async fn login(State(app): State<Arc<WebApp>>, Query(q): Query<LoginQuery>) -> Response {
    let Mode::Discord { client, .. } = &app.auth.mode else {
        return unauthorized(
            "This server uses a token: open the address `ticketctl serve --token` printed.",
        );
    };
    let next = q.next.as_deref().and_then(local_path).unwrap_or("/tickets");
    let state = uuid::Uuid::new_v4().simple().to_string();
    let value = format!(
        "{state}.{}",
        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    );
    let cookie = app.auth.signed(STATE_COOKIE, value, 600);
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, client.authorize_url(&state)),
        ],
    )
        .into_response()
}

#[derive(Deserialize)]
pub(crate) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `/oauth/callback`: Discord sends the browser back here with a code.
pub(crate) async fn callback(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let Mode::Discord { client, checked } = &app.auth.mode else {
        return unauthorized("This server does not use Discord sign-in.");
    };
    let again = Some(("/login", "Sign in again"));
    let expected = app.auth.read(&headers, STATE_COOKIE);
    let (state, next) = match expected.as_deref().and_then(|v| v.split_once('.')) {
        Some((s, n)) => (
            s.to_owned(),
            url::form_urlencoded::parse(format!("n={n}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default(),
        ),
        None => (String::new(), String::new()),
    };
    if q.error.is_some() {
        return message_page(
            StatusCode::UNAUTHORIZED,
            Message {
                title: "Sign-in cancelled",
                text: "Discord did not sign you in.",
                link: again,
            },
        );
    }
    let (Some(code), Some(given)) = (q.code, q.state) else {
        return message_page(
            StatusCode::BAD_REQUEST,
            Message {
                title: "Sign-in failed",
                text: "Discord's answer lacks its code.",
                link: again,
            },
        );
    };
    if state.is_empty() || !bool::from(state.as_bytes().ct_eq(given.as_bytes())) {
        return message_page(
            StatusCode::BAD_REQUEST,
            Message {
                title: "Sign-in failed",
                text: "This sign-in did not start here, or took over ten minutes.",
                link: again,
            },
        );
    }
    let user = match client.user_from_code(&code).await {
        Ok(u) => u,
        Err(e) => return sign_in_failed(&e, again),
    };
    let standing = match client.standing(user.id).await {
        Ok(s) => s,
        Err(e) => return sign_in_failed(&e, again),
    };
    if let Ok(mut m) = checked.lock() {
        m.insert(user.id, (Instant::now(), standing, user.name.clone()));
    }
    let clear_state = app.auth.removal(STATE_COOKIE);
    if standing != Standing::Staff {
        let mut r = refused(&user.name);
        if let Ok(v) = clear_state.parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
        return r;
    }
    let session = app.auth.signed(
        SESSION_COOKIE,
        Auth::session_value(user.id),
        SESSION_HOURS * 3600,
    );
    let next = local_path(&next).unwrap_or("/tickets").to_owned();
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, next)]).into_response();
    for c in [session, clear_state] {
        if let Ok(v) = c.parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// `/logout`: the session cookie is dropped.
pub(crate) async fn logout(State(app): State<Arc<WebApp>>) -> Response {
    let link = match app.auth.mode {
        Mode::Discord { .. } => Some(("/login", "Sign in again")),
        Mode::Token(_) => None,
    };
    let mut r = message_page(
        StatusCode::OK,
        Message {
            title: "Signed out",
            text: "You are signed out of the ticket view.",
            link,
        },
    );
    if let Ok(v) = app.auth.removal(SESSION_COOKIE).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(set_cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let pair = set_cookie.split(';').next().unwrap();
        h.insert(header::COOKIE, pair.parse().unwrap());
        h
    }

    fn discord_auth(session_key: Option<&str>) -> Auth {
        use ticketbot_common::config::{DiscordSignIn, Secret, WebAuth, WebSettings};
        let sign_in = DiscordSignIn {
            client_id: 1,
            client_secret: Secret::new("s"),
            public_url: "https://tickets.example.com".into(),
            bot_token: Secret::new("b"),
            guild_id: 2,
            support_role_id: 3,
            session_key: session_key.map(Secret::new),
        };
        let settings = WebSettings {
            auth: WebAuth::Discord(sign_in.clone()),
            api_addr: None,
            ca_file: None,
        };
        Auth::discord(Client::new(sign_in, &settings).expect("client"))
    }

    /// WEB_SESSION_KEY: servers sharing it (or one restarted) read each other's sessions;
    /// without it, or with another key, they do not.
    #[test]
    fn a_shared_session_key_carries_sessions_across_servers() {
        let key = "0123456789abcdef0123456789abcdef-shared";
        let (a, b) = (discord_auth(Some(key)), discord_auth(Some(key)));
        let set = a.signed(SESSION_COOKIE, Auth::session_value(7), 60);
        assert_eq!(b.session_user(&with_cookie(&set)), Some(7));
        assert!(set.contains("Secure"), "{set}");
        let other = discord_auth(Some("another key, just as long as the first"));
        assert_eq!(other.session_user(&with_cookie(&set)), None);
        let (c, d) = (discord_auth(None), discord_auth(None));
        let set = c.signed(SESSION_COOKIE, Auth::session_value(7), 60);
        assert_eq!(c.session_user(&with_cookie(&set)), Some(7));
        assert_eq!(d.session_user(&with_cookie(&set)), None);
    }

    #[test]
    fn a_tampered_foreign_or_expired_session_is_not_read() {
        let auth = Auth::token("t");
        let set = auth.signed(SESSION_COOKIE, Auth::session_value(42), 60);
        assert_eq!(auth.session_user(&with_cookie(&set)), Some(42));
        // The value changed, the signature kept.
        let forged = set.replace("42.", "43.");
        assert_eq!(auth.session_user(&with_cookie(&forged)), None);
        // Signed by another server (another key).
        let other = Auth::token("t").signed(SESSION_COOKIE, Auth::session_value(42), 60);
        assert_eq!(auth.session_user(&with_cookie(&other)), None);
        // Genuine but past its expiry.
        let past = Utc::now().timestamp() - 1;
        let expired = auth.signed(SESSION_COOKIE, format!("42.{past}"), 60);
        assert_eq!(auth.session_user(&with_cookie(&expired)), None);
        // Unsigned.
        assert_eq!(
            auth.session_user(&with_cookie("tb_session=42.99999999999")),
            None
        );
    }

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(
            local_path("/tickets?status=open"),
            Some("/tickets?status=open")
        );
        assert_eq!(local_path("//evil.example"), None);
        assert_eq!(local_path("https://evil.example"), None);
        assert_eq!(local_path("/\\evil.example"), None);
    }

    #[test]
    fn the_token_leaves_the_address() {
        let uri: Uri = "/tickets?token=abc&status=open".parse().unwrap();
        assert_eq!(without_token(&uri), "/tickets?status=open");
        let uri: Uri = "/?token=abc".parse().unwrap();
        assert_eq!(without_token(&uri), "/");
    }
}
