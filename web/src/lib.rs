//! `ticketctl serve`: a read-only web view of the tickets for staff, on the bot's database.
//!
//! Server-rendered HTML (askama escapes every value), no script. Pages: the ticket list with
//! filters and keyset paging, one ticket with its history and transcript, and the analytics
//! report. Every request checks the signed session cookie; with Discord sign-in, the user's
//! staff standing is checked again with the bot token at most a minute old.

mod discord;
mod headers;
mod pages;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use ticketbot_common::config::{WebAuth, WebSettings};
use ticketbot_common::store::TicketStore;

pub use discord::DiscordError;
pub use session::SESSION_COOKIE;

/// What the server needs: the store, how visitors sign in, and its signing key.
pub struct WebApp {
    store: Arc<dyn TicketStore>,
    auth: session::Auth,
    /// With Discord sign-in, the guild whose staff sign in: they see its tickets only (the
    /// database may hold other guilds'). `None` with `--token`: the operator sees all.
    guild: Option<u64>,
}

impl WebApp {
    /// Whether a ticket, transcript or figure of `guild_id` may be shown.
    fn shows(&self, guild_id: u64) -> bool {
        self.guild.is_none_or(|g| g == guild_id)
    }
}

impl WebApp {
    /// A server for `settings`. With `--token` sign-in, also returns the token to print.
    pub fn new(
        store: Arc<dyn TicketStore>,
        settings: &WebSettings,
    ) -> Result<(Arc<WebApp>, Option<String>), DiscordError> {
        let guild = match &settings.auth {
            WebAuth::Token => None,
            WebAuth::Discord(d) => Some(d.guild_id),
        };
        let (auth, token) = match &settings.auth {
            WebAuth::Token => {
                let token = session::new_token();
                (session::Auth::token(&token), Some(token))
            }
            WebAuth::Discord(sign_in) => {
                let client = discord::Client::new(sign_in.clone(), settings)?;
                (session::Auth::discord(client), None)
            }
        };
        Ok((Arc::new(WebApp { store, auth, guild }), token))
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/", get(pages::home))
            .route("/tickets", get(pages::list))
            .route("/tickets/{id}", get(pages::ticket))
            .route("/tickets/{id}/transcript", get(pages::transcript))
            .route("/stats", get(pages::stats))
            .route("/style.css", get(pages::style))
            .route("/login", get(session::login))
            .route("/oauth/callback", get(session::callback))
            .route("/logout", get(session::logout).post(session::logout))
            .fallback(pages::not_found)
            .layer(axum::middleware::from_fn(headers::security))
            .with_state(Arc::clone(self))
    }

    /// The URL to open first: with a token, the one that signs in.
    pub fn first_url(addr: SocketAddr, token: Option<&str>) -> String {
        match token {
            Some(t) => format!("http://{addr}/?token={t}"),
            None => format!("http://{addr}/"),
        }
    }
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<WebApp>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.router())
        .with_graceful_shutdown(shutdown)
        .await
}
