//! What the fake remembers, for tests to inspect: the guild's roles, channels and members, every
//! message, every interaction with its callbacks and follow-ups, registered commands, and every
//! REST request in the order it was handled.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::config::{perms, FakeUser};

/// Whether a permission overwrite targets a role or a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverwriteKind {
    /// `type: 0`
    Role,
    /// `type: 1`
    Member,
}

impl OverwriteKind {
    pub fn code(self) -> u8 {
        match self {
            OverwriteKind::Role => 0,
            OverwriteKind::Member => 1,
        }
    }
}

/// A channel permission overwrite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overwrite {
    pub id: u64,
    pub kind: OverwriteKind,
    pub allow: u64,
    pub deny: u64,
}

impl Overwrite {
    pub fn allows(&self, perm: u64) -> bool {
        self.allow & perm == perm
    }

    pub fn denies(&self, perm: u64) -> bool {
        self.deny & perm == perm
    }
}

/// A role of the guild.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub id: u64,
    pub name: String,
    pub permissions: u64,
    pub position: u16,
    pub color: u32,
    pub hoist: bool,
    pub mentionable: bool,
    /// Set on the bot's managed role.
    pub bot_id: Option<u64>,
    /// The guild the role belongs to (role ids are unique across guilds, as on Discord).
    pub guild_id: u64,
}

/// A guild the bot is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuildInfo {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
}

/// A channel: guild channels (text 0, voice 2, category 4, ...) and DM channels (1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub id: u64,
    pub kind: u8,
    /// `None` for DM channels.
    pub guild_id: Option<u64>,
    pub name: String,
    pub parent_id: Option<u64>,
    pub position: u16,
    pub topic: Option<String>,
    pub nsfw: bool,
    pub rate_limit_per_user: u16,
    pub permission_overwrites: Vec<Overwrite>,
    /// DM channels only.
    pub recipients: Vec<u64>,
    pub last_message_id: Option<u64>,
}

impl Channel {
    /// The overwrite for a role or member id, if any.
    pub fn overwrite(&self, id: u64) -> Option<&Overwrite> {
        self.permission_overwrites.iter().find(|o| o.id == id)
    }

    pub fn is_category(&self) -> bool {
        self.kind == 4
    }

    /// Whether messages can be posted in it (text, DM, announcement, threads, voice text chat).
    pub fn is_textual(&self) -> bool {
        matches!(self.kind, 0 | 1 | 2 | 3 | 5 | 10 | 11 | 12 | 13)
    }
}

/// A member of the guild.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user: FakeUser,
    pub roles: Vec<u64>,
    pub nick: Option<String>,
    pub joined_at: String,
}

/// A file attached to a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub id: u64,
    pub filename: String,
    pub content_type: Option<String>,
    pub description: Option<String>,
    pub data: Vec<u8>,
}

impl Attachment {
    /// The contents as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// Message flag: only the invoking user sees it.
pub const EPHEMERAL: u64 = 1 << 6;
/// Message flag: a deferred interaction response still "thinking".
pub const LOADING: u64 = 1 << 7;

/// A message, whoever posted it. Ephemeral interaction responses are messages too, but are not
/// listed among a channel's messages.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: u64,
    pub channel_id: u64,
    pub author: FakeUser,
    pub content: String,
    /// Embeds as the bot sent them (plus `type: "rich"`).
    pub embeds: Vec<Value>,
    /// Action rows as the bot sent them.
    pub components: Vec<Value>,
    pub flags: u64,
    pub attachments: Vec<Attachment>,
    /// Discord message type: 0 default, 19 reply, 20 slash-command response.
    pub kind: u8,
    pub timestamp: String,
    pub edited_timestamp: Option<String>,
    /// The interaction this message answers (response or follow-up).
    pub interaction_id: Option<u64>,
    /// The message this one replies to.
    pub reference_id: Option<u64>,
    pub deleted: bool,
}

impl Message {
    pub fn is_ephemeral(&self) -> bool {
        self.flags & EPHEMERAL != 0
    }

    /// Content, then every embed's title, description, field names and values, footer and
    /// author name, one per line: handy for `contains` assertions.
    pub fn text(&self) -> String {
        let mut out = vec![self.content.clone()];
        for e in &self.embeds {
            for key in ["title", "description"] {
                if let Some(s) = e.get(key).and_then(Value::as_str) {
                    out.push(s.to_owned());
                }
            }
            for f in e
                .get("fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for key in ["name", "value"] {
                    if let Some(s) = f.get(key).and_then(Value::as_str) {
                        out.push(s.to_owned());
                    }
                }
            }
            for (outer, inner) in [("footer", "text"), ("author", "name")] {
                if let Some(s) = e
                    .get(outer)
                    .and_then(|o| o.get(inner))
                    .and_then(Value::as_str)
                {
                    out.push(s.to_owned());
                }
            }
        }
        out.retain(|s| !s.is_empty());
        out.join("\n")
    }

    /// Every component (buttons, selects) inside the action rows, flattened.
    pub fn buttons(&self) -> Vec<&Value> {
        self.components
            .iter()
            .flat_map(|row| {
                row.get("components")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .collect()
    }

    /// The `custom_id`s of all components.
    pub fn custom_ids(&self) -> Vec<String> {
        self.buttons()
            .into_iter()
            .filter_map(|c| c.get("custom_id").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    }
}

/// One `POST /interactions/{id}/{token}/callback`.
#[derive(Clone, Debug, PartialEq)]
pub struct Callback {
    /// 4 message, 5 deferred message, 6 deferred update, 7 update message, 8 autocomplete,
    /// 9 modal.
    pub kind: u8,
    pub content: Option<String>,
    pub flags: u64,
    pub embeds: Vec<Value>,
    pub components: Vec<Value>,
    /// The callback's whole `data` object.
    pub data: Value,
}

impl Callback {
    pub fn is_ephemeral(&self) -> bool {
        self.flags & EPHEMERAL != 0
    }
}

/// An interaction the fake sent, and everything the bot answered to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Interaction {
    pub id: u64,
    pub token: String,
    /// 2 application command, 3 message component, 5 modal submit.
    pub kind: u8,
    pub user_id: u64,
    pub channel_id: u64,
    /// Command name (with subcommand, e.g. `ticket close`) or the button's custom id.
    pub name: String,
    /// The message a component belongs to (for a modal submit: that of the component that
    /// opened the modal).
    pub message_id: Option<u64>,
    /// The INTERACTION_CREATE `d` object as sent.
    pub payload: Value,
    pub callbacks: Vec<Callback>,
    /// The `@original` response message (created by callback 4/5, or the component's message
    /// for 6/7).
    pub original_message_id: Option<u64>,
    pub followup_ids: Vec<u64>,
    /// Set when the ack deadline passed with no callback.
    pub expired: bool,
    /// For a modal submit: the interaction whose type 9 callback opened the modal.
    pub modal_trigger_id: Option<u64>,
}

/// One REST request, as the fake handled it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// The path after `/api/v10`, e.g. `/channels/123/messages`.
    pub path: String,
    pub query: Option<String>,
    /// The JSON body (`payload_json` for multipart), `Null` when empty; unparseable bodies are
    /// kept as a string.
    pub body: Value,
    /// File names uploaded with the request.
    pub files: Vec<String>,
    /// `X-Audit-Log-Reason`, if sent.
    pub audit_reason: Option<String>,
    pub status: u16,
    /// False when no route matched (answered 404).
    pub known_route: bool,
    /// Set when an injected fault answered it.
    pub fault: Option<String>,
}

/// What the gateway has seen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GatewayStats {
    /// WebSocket connections accepted.
    pub connections: u32,
    pub identifies: u32,
    pub resumes: u32,
    pub heartbeats: u32,
    /// A connection is attached to a live session.
    pub connected: bool,
    pub session_id: Option<String>,
    /// Intents of the last IDENTIFY.
    pub intents: Option<u64>,
    /// Sequence number of the last dispatch.
    pub last_seq: u64,
    /// Every dispatch sent (or queued for resume): `(s, t)`.
    pub dispatched: Vec<(u64, String)>,
    /// Every non-heartbeat payload the client sent (token replaced by `***`).
    pub received: Vec<Value>,
    /// Close codes the fake sent (4004, 4014, 4000 from `drop_gateway`, ...), in order.
    pub close_codes: Vec<u16>,
    /// `[shard, count]` of every IDENTIFY, in order (`[0, 1]` when none was sent).
    pub shards_identified: Vec<(u32, u32)>,
    /// Connected sessions whose shard holds none of the guilds (they get no guild events).
    pub idle_shards: u32,
    /// The sessions, one per shard, as they are now.
    pub sessions: Vec<ShardSession>,
    /// For each guild, the shards (`(id, count)`) its dispatches were routed to.
    pub guild_shards: BTreeMap<u64, BTreeSet<(u32, u32)>>,
}

/// A gateway session of one shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardSession {
    /// `(id, count)` as the IDENTIFY gave it.
    pub shard: (u32, u32),
    pub session_id: String,
    /// A connection is attached.
    pub connected: bool,
    /// The guilds of this shard, `(guild_id >> 22) % count == id`.
    pub guilds: Vec<u64>,
}

/// Everything tests can inspect. Get a copy with `FakeDiscord::state()` or look inside with
/// `FakeDiscord::with_state`.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// The first guild (the one `Config`'s guild fields describe); most helpers act on it.
    pub guild_id: u64,
    pub owner_id: u64,
    /// Every guild the bot is in, the first one included.
    pub guilds: BTreeMap<u64, GuildInfo>,
    /// Members of the other guilds (`Config::extra_guilds`), by guild; the first guild's are
    /// in `members`.
    pub guild_members: BTreeMap<u64, BTreeMap<u64, Member>>,
    pub roles: BTreeMap<u64, Role>,
    pub channels: BTreeMap<u64, Channel>,
    pub deleted_channels: Vec<Channel>,
    pub members: BTreeMap<u64, Member>,
    /// Known users (members and others seen), by id.
    pub users: BTreeMap<u64, FakeUser>,
    /// Every message by id, ephemeral and deleted ones included.
    pub messages: BTreeMap<u64, Message>,
    pub interactions: BTreeMap<u64, Interaction>,
    pub global_commands: Vec<Value>,
    pub guild_commands: BTreeMap<u64, Vec<Value>>,
    /// Every REST request, in the order handled.
    pub requests: Vec<RecordedRequest>,
    pub gateway: GatewayStats,
    /// Per-category channel limits set with `FakeDiscord::set_category_limit`.
    pub category_limits: BTreeMap<u64, usize>,
    /// Users whose DMs are closed (`FakeDiscord::close_dms`): sending to them fails with 50007.
    pub closed_dms: BTreeSet<u64>,
    /// Attachment URLs signed in an older generation answer 404
    /// (`FakeDiscord::expire_attachment_urls` moves it on).
    pub url_generation: u64,
}

impl State {
    /// The visible (not ephemeral, not deleted) messages of a channel, oldest first.
    pub fn channel_messages(&self, channel_id: u64) -> Vec<&Message> {
        self.messages
            .values()
            .filter(|m| m.channel_id == channel_id && !m.deleted && !m.is_ephemeral())
            .collect()
    }

    /// A live channel by exact name.
    pub fn channel_named(&self, name: &str) -> Option<&Channel> {
        self.channels.values().find(|c| c.name == name)
    }

    /// Live channels under a category.
    pub fn channels_in(&self, parent_id: u64) -> Vec<&Channel> {
        self.channels
            .values()
            .filter(|c| c.parent_id == Some(parent_id))
            .collect()
    }

    /// Live channels of the guild (categories included).
    pub fn guild_channel_count(&self) -> usize {
        self.guild_channel_count_in(self.guild_id)
    }

    /// Live channels of guild `g` (categories included).
    pub fn guild_channel_count_in(&self, g: u64) -> usize {
        self.channels
            .values()
            .filter(|c| c.guild_id == Some(g))
            .count()
    }

    /// The guild a channel (live or deleted) belongs to; the first guild for a DM or an
    /// unknown channel.
    pub fn guild_of_channel(&self, channel_id: u64) -> u64 {
        self.channels
            .get(&channel_id)
            .or_else(|| self.deleted_channels.iter().find(|c| c.id == channel_id))
            .and_then(|c| c.guild_id)
            .unwrap_or(self.guild_id)
    }

    /// The members of guild `g` (none for an unknown guild).
    pub fn members_of(&self, g: u64) -> &BTreeMap<u64, Member> {
        static NONE: BTreeMap<u64, Member> = BTreeMap::new();
        if g == self.guild_id {
            &self.members
        } else {
            self.guild_members.get(&g).unwrap_or(&NONE)
        }
    }

    /// The members of guild `g`, to change; `None` for an unknown guild.
    pub fn members_of_mut(&mut self, g: u64) -> Option<&mut BTreeMap<u64, Member>> {
        if g == self.guild_id {
            Some(&mut self.members)
        } else {
            self.guild_members.get_mut(&g)
        }
    }

    /// The owner of guild `g`.
    pub fn owner_of(&self, g: u64) -> u64 {
        self.guilds.get(&g).map_or(self.owner_id, |i| i.owner_id)
    }

    /// The DM channel with a user, if the bot opened one.
    pub fn dm_channel(&self, user_id: u64) -> Option<&Channel> {
        self.channels
            .values()
            .chain(self.deleted_channels.iter())
            .find(|c| c.kind == 1 && c.recipients == [user_id])
    }

    /// Requests that no route matched.
    pub fn unknown_routes(&self) -> Vec<&RecordedRequest> {
        self.requests.iter().filter(|r| !r.known_route).collect()
    }

    /// Registered commands, guild ones then global ones.
    pub fn commands(&self) -> Vec<&Value> {
        self.guild_commands
            .values()
            .flatten()
            .chain(self.global_commands.iter())
            .collect()
    }

    /// The response message and follow-ups of an interaction, in order.
    pub fn replies(&self, interaction_id: u64) -> Vec<&Message> {
        let Some(i) = self.interactions.get(&interaction_id) else {
            return Vec::new();
        };
        let mut ids = Vec::new();
        // A component's own message is not a reply unless the bot updated it.
        let original_is_reply =
            i.callbacks.iter().any(|c| matches!(c.kind, 4 | 5 | 7)) || i.kind == 2;
        if let (Some(id), true) = (i.original_message_id, original_is_reply) {
            ids.push(id);
        }
        for id in &i.followup_ids {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
        ids.iter().filter_map(|id| self.messages.get(id)).collect()
    }

    /// Guild-wide permissions of a member (roles, owner, administrator), Discord's way.
    pub fn base_permissions(&self, user_id: u64, roles: &[u64]) -> u64 {
        self.base_permissions_in(self.guild_id, user_id, roles)
    }

    /// Guild-wide permissions of a member of guild `g`.
    pub fn base_permissions_in(&self, g: u64, user_id: u64, roles: &[u64]) -> u64 {
        if user_id == self.owner_of(g) {
            return perms::ALL;
        }
        let mut p = self.roles.get(&g).map(|r| r.permissions).unwrap_or(0);
        for r in roles {
            if let Some(role) = self.roles.get(r).filter(|role| role.guild_id == g) {
                p |= role.permissions;
            }
        }
        if p & perms::ADMINISTRATOR != 0 {
            return perms::ALL;
        }
        p
    }

    /// Permissions of a user with `roles` in a channel, with its overwrites applied in
    /// Discord's order (@everyone, roles, member).
    pub fn permissions_with_roles(&self, user_id: u64, roles: &[u64], channel_id: u64) -> u64 {
        let g = self.guild_of_channel(channel_id);
        let mut p = self.base_permissions_in(g, user_id, roles);
        if p == perms::ALL {
            return p;
        }
        let Some(ch) = self.channels.get(&channel_id) else {
            return p;
        };
        if let Some(o) = ch.overwrite(g) {
            p &= !o.deny;
            p |= o.allow;
        }
        let (mut allow, mut deny) = (0, 0);
        for o in &ch.permission_overwrites {
            if o.kind == OverwriteKind::Role && o.id != g && roles.contains(&o.id) {
                allow |= o.allow;
                deny |= o.deny;
            }
        }
        p &= !deny;
        p |= allow;
        if let Some(o) = ch
            .permission_overwrites
            .iter()
            .find(|o| o.kind == OverwriteKind::Member && o.id == user_id)
        {
            p &= !o.deny;
            p |= o.allow;
        }
        p
    }

    /// Permissions of a guild member (with their current roles) in a channel.
    pub fn permissions_in(&self, user_id: u64, channel_id: u64) -> u64 {
        let roles = self
            .members_of(self.guild_of_channel(channel_id))
            .get(&user_id)
            .map(|m| m.roles.clone())
            .unwrap_or_default();
        self.permissions_with_roles(user_id, &roles, channel_id)
    }

    /// Whether a member can see a channel.
    pub fn can_view(&self, user_id: u64, channel_id: u64) -> bool {
        self.permissions_in(user_id, channel_id) & perms::VIEW_CHANNEL != 0
    }
}
