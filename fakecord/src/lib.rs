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
mod faults;
mod gateway;
mod guilds;
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

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use axum::serve::ListenerExt as _;
use axum::Router;
use serde_json::{json, Value};
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

use faults::Fault;
use gateway::{Gw, Out};
use payloads::{sf, Render};
use rest::{intents, Ctx};
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

/// Returned when a wait runs out of time.
#[derive(Clone, Debug)]
pub struct WaitTimeout {
    /// What was awaited.
    pub what: String,
    pub after: Duration,
    /// The last REST requests (`METHOD path -> status`), for the failure message.
    pub recent_requests: Vec<String>,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fakecord: timed out after {:?} waiting for {}; last requests: [{}]",
            self.after,
            self.what,
            self.recent_requests.join(", ")
        )
    }
}

impl std::error::Error for WaitTimeout {}

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

    // ----- inspecting state -----

    /// A copy of the whole state.
    pub fn state(&self) -> State {
        self.shared.lock_state().clone()
    }

    /// Looks at the state without copying it. Do not call other `FakeDiscord` methods inside.
    pub fn with_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.shared.lock_state())
    }

    /// A known user, or a made-up `user{id}` if the fake has never seen the id.
    pub fn user(&self, id: u64) -> FakeUser {
        self.with_state(|st| st.users.get(&id).cloned())
            .unwrap_or_else(|| FakeUser::new(id, &format!("user{id}")))
    }

    /// A member's current roles (empty for non-members).
    pub fn member_roles(&self, user_id: u64) -> Vec<u64> {
        self.with_state(|st| {
            st.members
                .get(&user_id)
                .map(|m| m.roles.clone())
                .unwrap_or_default()
        })
    }

    /// A live channel.
    pub fn channel(&self, id: u64) -> Option<Channel> {
        self.with_state(|st| st.channels.get(&id).cloned())
    }

    /// A live channel by exact (normalized) name.
    pub fn channel_named(&self, name: &str) -> Option<Channel> {
        self.with_state(|st| st.channel_named(name).cloned())
    }

    /// Whether a channel was deleted.
    pub fn was_deleted(&self, channel_id: u64) -> bool {
        self.with_state(|st| st.deleted_channels.iter().any(|c| c.id == channel_id))
    }

    /// Visible messages of a channel, oldest first.
    pub fn messages(&self, channel_id: u64) -> Vec<Message> {
        self.with_state(|st| {
            st.channel_messages(channel_id)
                .into_iter()
                .cloned()
                .collect()
        })
    }

    /// Any message by id (ephemeral and deleted included).
    pub fn message(&self, id: u64) -> Option<Message> {
        self.with_state(|st| st.messages.get(&id).cloned())
    }

    pub fn interaction(&self, id: u64) -> Option<Interaction> {
        self.with_state(|st| st.interactions.get(&id).cloned())
    }

    /// The response message and follow-ups of an interaction.
    pub fn replies(&self, interaction_id: u64) -> Vec<Message> {
        self.with_state(|st| st.replies(interaction_id).into_iter().cloned().collect())
    }

    /// Every REST request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.with_state(|st| st.requests.clone())
    }

    /// Requests matching a route pattern (see [`RouteMatcher`]).
    pub fn requests_to(&self, route: impl Into<RouteMatcher>) -> Vec<RecordedRequest> {
        let m = route.into();
        self.with_state(|st| {
            st.requests
                .iter()
                .filter(|r| m.matches(&r.method, &r.path))
                .cloned()
                .collect()
        })
    }

    /// Requests no route matched.
    pub fn unknown_routes(&self) -> Vec<RecordedRequest> {
        self.with_state(|st| st.unknown_routes().into_iter().cloned().collect())
    }

    /// # Panics
    /// If the bot called a route the fake does not know, listing them.
    pub fn assert_no_unknown_routes(&self) {
        let unknown = self.unknown_routes();
        assert!(
            unknown.is_empty(),
            "fakecord: the bot called unknown routes: {:?}",
            unknown
                .iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect::<Vec<_>>()
        );
    }

    /// Registered commands, guild ones then global ones.
    pub fn commands(&self) -> Vec<Value> {
        self.with_state(|st| st.commands().into_iter().cloned().collect())
    }

    /// A member's permissions in a channel, overwrites applied.
    pub fn permissions_in(&self, user_id: u64, channel_id: u64) -> u64 {
        self.with_state(|st| st.permissions_in(user_id, channel_id))
    }

    /// Whether a member can see a channel.
    pub fn can_view(&self, user_id: u64, channel_id: u64) -> bool {
        self.with_state(|st| st.can_view(user_id, channel_id))
    }

    pub fn gateway_stats(&self) -> GatewayStats {
        self.with_state(|st| st.gateway.clone())
    }

    // ----- driving the bot -----

    fn render_with<R>(&self, f: impl FnOnce(&Render) -> R) -> R {
        let st = self.shared.lock_state();
        let r = Render {
            st: &st,
            cfg: &self.shared.config,
            base: &self.shared.base_url,
        };
        f(&r)
    }

    /// Stores the interaction and dispatches INTERACTION_CREATE.
    fn send_interaction(
        &self,
        kind: u8,
        user: &FakeUser,
        channel_id: u64,
        name: String,
        links: Links,
        build: impl FnOnce(&Render, u64, &str) -> Value,
    ) -> u64 {
        let Links {
            message_id,
            modal_trigger_id,
        } = links;
        let id = self.shared.ids.next();
        let token = format!("fakecord-interaction-token-{id:x}");
        let payload = {
            let mut st = self.shared.lock_state();
            st.users.entry(user.id).or_insert_with(|| user.clone());
            let r = Render {
                st: &st,
                cfg: &self.shared.config,
                base: &self.shared.base_url,
            };
            let payload = build(&r, id, &token);
            st.interactions.insert(
                id,
                Interaction {
                    id,
                    token,
                    kind,
                    user_id: user.id,
                    channel_id,
                    name,
                    message_id,
                    payload: payload.clone(),
                    callbacks: Vec::new(),
                    original_message_id: None,
                    followup_ids: Vec::new(),
                    expired: false,
                    modal_trigger_id,
                },
            );
            payload
        };
        lock(&self.shared.sent).insert(id, Instant::now());
        self.shared.dispatch("INTERACTION_CREATE", payload, 0);
        self.shared.notify.notify_waiters();
        id
    }

    /// Sends a slash command as `user` with `member_roles` (use [`Self::member_roles`] for the
    /// member's current ones) in `channel_id`. `subcommand` is `None`, `Some("close")` or, for a
    /// subcommand group, `Some("group sub")`. Returns the interaction id.
    pub fn send_slash_command(
        &self,
        user: &FakeUser,
        member_roles: &[u64],
        channel_id: u64,
        name: &str,
        subcommand: Option<&str>,
        options: &[(&str, OptionValue)],
    ) -> u64 {
        let (data, full_name) =
            self.render_with(|r| interactions::command_data(r, name, subcommand, options));
        self.send_interaction(
            2,
            user,
            channel_id,
            full_name,
            Links::default(),
            |r, id, token| {
                let mut v = interactions::base(r, id, token, 2, user, member_roles, channel_id);
                v["data"] = data;
                v
            },
        )
    }

    fn component(
        &self,
        user: &FakeUser,
        member_roles: &[u64],
        channel_id: u64,
        message_id: u64,
        data: Value,
    ) -> u64 {
        let name = data["custom_id"].as_str().unwrap_or_default().to_owned();
        self.send_interaction(
            3,
            user,
            channel_id,
            name,
            Links {
                message_id: Some(message_id),
                modal_trigger_id: None,
            },
            |r, id, token| {
                let mut v = interactions::base(r, id, token, 3, user, member_roles, channel_id);
                v["message"] = interactions::component_message(r, channel_id, message_id);
                v["data"] = data;
                v
            },
        )
    }

    /// A click that Discord delivers from ANOTHER guild the bot is in, by an administrator of
    /// that guild (a bot installed in several servers, or a forged payload): `guild_id` and the
    /// member's permissions are that guild's. Returns the interaction id.
    pub fn click_button_from_guild(
        &self,
        user: &FakeUser,
        guild_id: u64,
        channel_id: u64,
        custom_id: &str,
    ) -> u64 {
        let data = json!({"custom_id": custom_id, "component_type": 2});
        self.send_interaction(
            3,
            user,
            channel_id,
            custom_id.to_owned(),
            Links::default(),
            |r, id, token| {
                let mut v = interactions::base(r, id, token, 3, user, &[], channel_id);
                v["guild_id"] = json!(sf(guild_id));
                v["guild"]["id"] = json!(sf(guild_id));
                v["channel"]["guild_id"] = json!(sf(guild_id));
                v["member"]["permissions"] = json!(perms::ALL.to_string());
                v["message"] = json!({
                    "id": sf(id), "type": 0, "content": "", "channel_id": sf(channel_id),
                    "author": payloads::user_json(&r.cfg.bot), "attachments": [], "embeds": [],
                    "mentions": [], "mention_roles": [], "pinned": false, "mention_everyone": false,
                    "tts": false, "timestamp": snowflake_time(id), "edited_timestamp": null,
                    "flags": 0, "components": [],
                });
                v["data"] = data;
                v
            },
        )
    }

    /// Clicks the button `custom_id` on a message. Returns the interaction id.
    pub fn click_button(
        &self,
        user: &FakeUser,
        member_roles: &[u64],
        channel_id: u64,
        message_id: u64,
        custom_id: &str,
    ) -> u64 {
        let data = json!({"custom_id": custom_id, "component_type": 2});
        self.component(user, member_roles, channel_id, message_id, data)
    }

    /// A user posts a message in a channel (MESSAGE_CREATE with GUILD_MESSAGES). Returns its id.
    pub fn post_user_message(&self, user: &FakeUser, channel_id: u64, content: &str) -> u64 {
        let mut events = Vec::new();
        let id = self.shared.ids.next();
        {
            let mut st = self.shared.lock_state();
            st.users.entry(user.id).or_insert_with(|| user.clone());
            let m = Message {
                id,
                channel_id,
                author: user.clone(),
                content: content.to_owned(),
                embeds: Vec::new(),
                components: Vec::new(),
                flags: 0,
                attachments: Vec::new(),
                kind: 0,
                timestamp: now_iso(),
                edited_timestamp: None,
                interaction_id: None,
                reference_id: None,
                deleted: false,
            };
            let mut ctx = Ctx {
                shared: &self.shared,
                events: &mut events,
            };
            rest::store_message(&mut ctx, &mut st, m);
        }
        self.flush(events);
        id
    }

    fn flush(&self, events: Vec<rest::Ev>) {
        for (t, d, intent) in events {
            self.shared.dispatch(&t, d, intent);
        }
        self.shared.notify.notify_waiters();
    }

    fn member_event(&self, user_id: u64) -> Option<Value> {
        self.render_with(|r| {
            let m = r.st.members.get(&user_id)?;
            let mut d = r.member(m, None);
            d["guild_id"] = sf(r.cfg.guild_id);
            Some(d)
        })
    }

    /// A user joins the guild (GUILD_MEMBER_ADD, needs the GUILD_MEMBERS intent).
    pub fn add_member(&self, user: &FakeUser, roles: &[u64]) {
        self.shared.update(|st| {
            st.users.insert(user.id, user.clone());
            st.members.insert(
                user.id,
                Member {
                    user: user.clone(),
                    roles: roles.to_vec(),
                    nick: None,
                    joined_at: now_iso(),
                },
            );
        });
        if let Some(d) = self.member_event(user.id) {
            self.shared
                .dispatch("GUILD_MEMBER_ADD", d, intents::GUILD_MEMBERS);
        }
    }

    /// A member's roles change (GUILD_MEMBER_UPDATE).
    pub fn set_member_roles(&self, user_id: u64, roles: &[u64]) {
        let known = self.shared.update(|st| {
            st.members
                .get_mut(&user_id)
                .map(|m| m.roles = roles.to_vec())
                .is_some()
        });
        if known {
            if let Some(d) = self.member_event(user_id) {
                self.shared
                    .dispatch("GUILD_MEMBER_UPDATE", d, intents::GUILD_MEMBERS);
            }
        }
    }

    /// A member leaves (GUILD_MEMBER_REMOVE).
    pub fn remove_member(&self, user_id: u64) {
        let removed = self.shared.update(|st| st.members.remove(&user_id));
        if let Some(m) = removed {
            let d = json!({"guild_id": sf(self.shared.config.guild_id), "user": payloads::user_json(&m.user)});
            self.shared
                .dispatch("GUILD_MEMBER_REMOVE", d, intents::GUILD_MEMBERS);
        }
    }

    /// The `d` of a GUILD_CREATE for the guild as it is now, as the gateway sends it after
    /// IDENTIFY. Keep it and [`FakeDiscord::dispatch`] it later to replay a stale snapshot (a
    /// guild coming back after an outage).
    pub fn guild_create_payload(&self) -> Value {
        self.render_with(|r| r.guild(true))
    }

    /// Sends any dispatch `t` with payload `d` (no intent filtering).
    pub fn dispatch(&self, t: &str, d: Value) {
        self.shared.dispatch(t, d, 0);
    }

    // ----- faults -----

    /// The next request matching `route` gets `kind`.
    pub fn fail_next(&self, route: impl Into<RouteMatcher>, kind: FaultKind) {
        self.fail_next_n(route, 1, kind);
    }

    /// The next `n` requests matching `route` get `kind`. Faults are tried in the order added.
    pub fn fail_next_n(&self, route: impl Into<RouteMatcher>, n: u32, kind: FaultKind) {
        if n > 0 {
            lock(&self.shared.faults).push(Fault {
                matcher: route.into(),
                remaining: n,
                kind,
            });
        }
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// How many injected failures are still to happen.
    pub fn pending_faults(&self) -> u32 {
        lock(&self.shared.faults).iter().map(|f| f.remaining).sum()
    }

    /// Detaches every shard's connection, sending `first` then closing with `close`; with
    /// `forget`, the sessions go too (the client must IDENTIFY again).
    fn detach_gateway(
        &self,
        first: Option<String>,
        close: Option<(u16, &str)>,
        forget: bool,
    ) -> bool {
        let conns = {
            let mut gw = self.shared.lock_gw();
            let conns = gw.take_conns();
            if forget {
                gw.forget_sessions();
            }
            conns
        };
        if conns.is_empty() {
            return false;
        }
        for conn in conns {
            if let Some(text) = &first {
                let _ = conn.tx.send(Out::Text(text.clone()));
            }
            if let Some((code, reason)) = close {
                let _ = conn.tx.send(Out::Close(code, reason.to_owned()));
            }
        }
        self.shared.sessions_changed();
        true
    }

    /// Closes the gateway connection with close code 4000 (resumable): serenity reconnects and
    /// RESUMEs; dispatches sent meanwhile are replayed. Returns whether a connection was open.
    pub fn drop_gateway(&self) -> bool {
        self.detach_gateway(None, Some((4000, "fakecord: connection dropped")), false)
    }

    /// Closes the gateway connection with `code`, as Discord does: 4009 (session timed out)
    /// forgets the session, so the client must IDENTIFY again; any other code keeps it for a
    /// RESUME (serenity itself identifies anew after 1000/1001). Returns whether a connection
    /// was open.
    pub fn close_gateway(&self, code: u16) -> bool {
        self.detach_gateway(None, Some((code, "fakecord: closed")), code == 4009)
    }

    /// Sends op 7 RECONNECT: the client should reconnect and RESUME.
    pub fn request_reconnect(&self) -> bool {
        self.detach_gateway(Some(json!({"op": 7, "d": null}).to_string()), None, false)
    }

    /// Sends op 9 INVALID SESSION. With `resumable: false` the session is forgotten and the
    /// client must IDENTIFY again (new READY, GUILD_CREATE).
    pub fn invalidate_session(&self, resumable: bool) -> bool {
        self.detach_gateway(
            Some(json!({"op": 9, "d": resumable}).to_string()),
            None,
            !resumable,
        )
    }

    // ----- waiting -----

    /// Waits until `f` returns `Some`, re-checking whenever the state changes.
    pub async fn wait_for<T>(
        &self,
        mut f: impl FnMut(&State) -> Option<T>,
        timeout: Duration,
    ) -> Result<T, WaitTimeout> {
        self.wait_named("a condition", &mut f, timeout).await
    }

    async fn wait_named<T>(
        &self,
        what: &str,
        f: &mut dyn FnMut(&State) -> Option<T>,
        timeout: Duration,
    ) -> Result<T, WaitTimeout> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(v) = f(&self.shared.lock_state()) {
                return Ok(v);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let st = self.shared.lock_state();
                if let Some(v) = f(&st) {
                    return Ok(v);
                }
                let n = st.requests.len();
                return Err(WaitTimeout {
                    what: what.to_owned(),
                    after: timeout,
                    recent_requests: st.requests[n.saturating_sub(10)..]
                        .iter()
                        .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
                        .collect(),
                });
            }
        }
    }

    /// Waits until `pred` holds.
    pub async fn wait_until(
        &self,
        mut pred: impl FnMut(&State) -> bool,
        timeout: Duration,
    ) -> Result<(), WaitTimeout> {
        self.wait_named("a condition", &mut |st| pred(st).then_some(()), timeout)
            .await
    }

    /// Waits for the first callback of an interaction.
    pub async fn wait_for_callback(
        &self,
        interaction_id: u64,
        timeout: Duration,
    ) -> Result<Callback, WaitTimeout> {
        let what = format!("a callback to interaction {interaction_id}");
        self.wait_named(
            &what,
            &mut |st| {
                st.interactions
                    .get(&interaction_id)
                    .and_then(|i| i.callbacks.first().cloned())
            },
            timeout,
        )
        .await
    }

    /// Waits for the first reply with something in it: a type 4 response, a deferred response
    /// once edited or followed up, or a follow-up. Returns the message as it is then.
    pub async fn wait_for_reply(
        &self,
        interaction_id: u64,
        timeout: Duration,
    ) -> Result<Message, WaitTimeout> {
        let what = format!("a reply to interaction {interaction_id}");
        self.wait_named(
            &what,
            &mut |st| {
                st.replies(interaction_id)
                    .into_iter()
                    .find(|m| {
                        m.flags & LOADING == 0
                            && (!m.content.is_empty()
                                || !m.embeds.is_empty()
                                || !m.attachments.is_empty()
                                || !m.components.is_empty())
                    })
                    .cloned()
            },
            timeout,
        )
        .await
    }

    /// Waits until a client has identified (READY sent) and is connected.
    pub async fn wait_for_ready(&self, timeout: Duration) -> Result<(), WaitTimeout> {
        self.wait_named(
            "the bot to IDENTIFY on the gateway",
            &mut |st| (st.gateway.identifies > 0 && st.gateway.connected).then_some(()),
            timeout,
        )
        .await
    }

    /// Waits for a request matching `route` that was answered with a 2xx, and returns it.
    pub async fn wait_for_request(
        &self,
        route: impl Into<RouteMatcher>,
        timeout: Duration,
    ) -> Result<RecordedRequest, WaitTimeout> {
        let m = route.into();
        let what = format!("a successful request matching {m:?}");
        self.wait_named(
            &what,
            &mut |st| {
                st.requests
                    .iter()
                    .find(|r| (200..300).contains(&r.status) && m.matches(&r.method, &r.path))
                    .cloned()
            },
            timeout,
        )
        .await
    }

    /// Waits until commands are registered (guild or global) and returns them.
    pub async fn wait_for_commands(&self, timeout: Duration) -> Result<Vec<Value>, WaitTimeout> {
        self.wait_named(
            "command registration",
            &mut |st| {
                let c: Vec<Value> = st.commands().into_iter().cloned().collect();
                (!c.is_empty()).then_some(c)
            },
            timeout,
        )
        .await
    }
}
