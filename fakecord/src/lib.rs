//! # fakecord
//!
//! A fake Discord on 127.0.0.1 that speaks enough of the real REST API (v10) and gateway for
//! serenity 0.12.5 / poise 0.7.1 bots to run unmodified against it, so that end-to-end tests can
//! drive a bot with slash commands and button clicks and inspect what it did.
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use fakecord::{Config, FakeDiscord, ids};
//!
//! let fake = FakeDiscord::start(Config::default()).await;
//! // Point serenity at it:
//! //   HttpBuilder::new("fake-token").proxy(fake.http_url()).ratelimiter_disabled(true).build()
//! // ... start the bot with ClientBuilder::new_with_http(http, intents) ...
//! fake.wait_for_ready(Duration::from_secs(10)).await.unwrap();
//! let alice = fake.user(ids::ALICE);
//! let id = fake.send_slash_command(&alice, &[ids::MEMBER_ROLE], ids::PANEL_CHANNEL,
//!     "ticket", Some("open"), &[("reason", "help".into())]);
//! let reply = fake.wait_for_reply(id, Duration::from_secs(10)).await.unwrap();
//! assert!(reply.text().contains("ticket"));
//! fake.assert_no_unknown_routes();
//! # }
//! ```
//!
//! See the crate's README.md for the routes, the state and serenity's behaviour against it.

#![recursion_limit = "256"]

mod config;
mod disrupt;
mod drive;
mod faults;
mod gateway;
mod guilds;
mod inspect;
mod interactions;
mod knobs;
mod modals;
mod oauth;
mod payloads;
mod png;
mod ratelimit;
mod rest;
mod shards;
mod snowflake;
mod state;
pub mod tls;
mod user_messages;
mod wait;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use axum::serve::ListenerExt as _;
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use config::{ids, perms, ChannelSeed, Config, FakeUser, MemberSeed, RoleSeed};
pub use faults::{FaultKind, RouteMatcher};
pub use guilds::{ids2, GuildSeed};
pub use interactions::OptionValue;
pub use modals::ClientRefused;
pub use ratelimit::{RateLimitScore, RateLimits};
pub use snowflake::{now_iso, snowflake_time, DISCORD_EPOCH_MS};
pub use state::{
    Attachment, Callback, Channel, GatewayStats, GuildInfo, Interaction, Member, Message,
    Overwrite, OverwriteKind, RecordedRequest, Role, ShardSession, State, EPHEMERAL, LOADING,
};
pub use user_messages::{NewAttachment, UserMessage};
pub use wait::WaitTimeout;

use faults::Fault;
use gateway::Gw;
use snowflake::Snowflakes;

/// Largest request body accepted (attachments included): well above the upload limit, so that
/// the fake (413 40005), not axum, refuses an oversized upload.
const BODY_LIMIT: usize = 26 * 1024 * 1024;

pub(crate) fn body_limit(cfg: &Config) -> usize {
    BODY_LIMIT.max(
        cfg.upload_limit_bytes
            .saturating_mul(2)
            .saturating_add(1 << 20),
    )
}

/// State shared by the server tasks and the test's handle.
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// `http://127.0.0.1:PORT`
    pub(crate) base_url: String,
    port: u16,
    state: Mutex<State>,
    gw: Mutex<Gw>,
    faults: Mutex<Vec<Fault>>,
    limiter: Mutex<ratelimit::Limiter>,
    sent: Mutex<HashMap<u64, Instant>>,
    pub(crate) notify: Notify,
    pub(crate) ids: Snowflakes,
    pub(crate) oauth: Mutex<oauth::OAuth>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(crate) fn lock_state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn limiter(&self) -> MutexGuard<'_, ratelimit::Limiter> {
        lock(&self.limiter)
    }

    pub(crate) fn lock_gw(&self) -> MutexGuard<'_, Gw> {
        lock(&self.gw)
    }

    /// Changes the state and wakes every waiter.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let r = f(&mut self.lock_state());
        self.notify.notify_waiters();
        r
    }

    pub(crate) fn record(&self, rec: RecordedRequest) {
        self.update(|st| st.requests.push(rec));
    }

    pub(crate) fn gateway_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<FaultKind> {
        let mut faults = lock(&self.faults);
        let pos = faults
            .iter()
            .position(|f| f.remaining > 0 && f.matcher.matches(method, path))?;
        let f = &mut faults[pos];
        f.remaining -= 1;
        let kind = f.kind.clone();
        if f.remaining == 0 {
            faults.remove(pos);
        }
        Some(kind)
    }

    /// Sends a dispatch to the shard of its guild (or keeps it for replay / that shard's
    /// first session).
    pub(crate) fn dispatch(&self, t: &str, d: Value, intent: u64) {
        let guild = shards::event_guild(t, &d);
        let sent = self.lock_gw().dispatch(t, d, intent);
        self.record_sent(sent.into_iter().map(|s| (s, t.to_owned(), guild)).collect());
    }

    /// Records dispatches sent: `(sequence and shard, t, guild)`.
    pub(crate) fn record_sent(&self, sent: Vec<(shards::Sent, String, Option<u64>)>) {
        if sent.is_empty() {
            return;
        }
        self.update(|st| {
            for ((seq, shard), t, guild) in sent {
                st.gateway.last_seq = seq;
                st.gateway.dispatched.push((seq, t));
                if let Some(g) = guild {
                    st.gateway.guild_shards.entry(g).or_default().insert(shard);
                }
            }
        });
    }

    /// Brings the gateway's view of its sessions in the state up to date.
    pub(crate) fn sessions_changed(&self) {
        let guilds = self.config.guild_ids();
        let (sessions, connected, idle) = {
            let gw = self.lock_gw();
            (gw.snapshot(&guilds), gw.any_connected(), gw.idle(&guilds))
        };
        self.update(|st| {
            st.gateway.sessions = sessions;
            st.gateway.connected = connected;
            st.gateway.idle_shards = idle;
        });
    }

    pub(crate) fn sent_at(&self, interaction_id: u64) -> Option<Instant> {
        lock(&self.sent).get(&interaction_id).copied()
    }
}

/// What a new interaction points at: the message of its component, the interaction whose
/// modal it submits.
#[derive(Clone, Copy, Default)]
pub(crate) struct Links {
    pub(crate) message_id: Option<u64>,
    pub(crate) modal_trigger_id: Option<u64>,
}

/// A running fake Discord. Dropping it stops the server.
pub struct FakeDiscord {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: JoinHandle<()>,
    app: Router,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.drop_gateway();
        self.task.abort();
    }
}

impl fmt::Debug for FakeDiscord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeDiscord")
            .field("addr", &self.addr)
            .finish()
    }
}

impl FakeDiscord {
    /// Binds 127.0.0.1 on a free port and serves REST and the gateway.
    ///
    /// # Panics
    /// If no loopback port can be bound (use [`FakeDiscord::try_start`] to handle that).
    pub async fn start(config: Config) -> FakeDiscord {
        Self::try_start(config)
            .await
            .expect("fakecord: could not bind 127.0.0.1:0")
    }

    pub async fn try_start(config: Config) -> std::io::Result<FakeDiscord> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = guilds::seed_state(&config);
        let shared = Arc::new(Shared {
            config,
            base_url: format!("http://127.0.0.1:{}", addr.port()),
            port: addr.port(),
            state: Mutex::new(state),
            gw: Mutex::new(Gw::default()),
            faults: Mutex::new(Vec::new()),
            limiter: Mutex::new(ratelimit::Limiter::default()),
            sent: Mutex::new(HashMap::new()),
            notify: Notify::new(),
            ids: Snowflakes::default(),
            oauth: Mutex::new(oauth::OAuth::default()),
        });
        let app = Router::new()
            .route("/ws", get(gateway::ws_handler))
            .route("/api/v10/{*rest}", any(rest::api_handler))
            .route("/oauth2/authorize", get(oauth::authorize))
            .route("/api/v10/oauth2/token", axum::routing::post(oauth::token))
            .route("/api/v10/users/@me", any(oauth::me))
            .route(
                "/attachments/{channel}/{id}/{name}",
                get(rest::attachment_handler),
            )
            .route("/avatars/{user}/{file}", get(rest::avatar_handler))
            .route("/embed/avatars/{file}", get(rest::default_avatar_handler))
            .fallback(rest::fallback_handler)
            .layer(DefaultBodyLimit::max(body_limit(&shared.config)))
            .with_state(Arc::clone(&shared));
        let served = app.clone();
        let task = tokio::spawn(async move {
            // Discord's edge does not hold small writes back (Nagle): without this, an answer
            // written in two pieces waits for the peer's delayed ACK, 40 ms on Linux.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            if let Err(e) = axum::serve(listener, served).await {
                tracing::error!("fakecord server stopped: {e}");
            }
        });
        Ok(FakeDiscord {
            shared,
            addr,
            task,
            app,
        })
    }

    /// How the client fared against the rate limits (see [`RateLimits`]).
    pub fn rate_limit_score(&self) -> RateLimitScore {
        lock(&self.shared.limiter).score.clone()
    }

    /// Also serves REST over TLS as `discord.com` (see [`tls`]); returns the address (port 443
    /// of a loopback address of its own). A client that resolves `discord.com` there and
    /// trusts [`tls::CA_PEM`] runs with serenity's rate limiter on.
    pub async fn serve_tls(&self) -> std::io::Result<SocketAddr> {
        tls::serve(self.app.clone()).await
    }

    // ----- addresses and configuration -----

    /// `http://127.0.0.1:PORT`: give it to `HttpBuilder::proxy`.
    pub fn http_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `ws://127.0.0.1:PORT/ws`, as `GET /gateway` answers.
    pub fn gateway_url(&self) -> String {
        self.shared.gateway_url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }
}
