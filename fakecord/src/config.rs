//! What the fake guild looks like when the fake starts: its ids, roles, channels and members.
//!
//! `Config::default()` gives a guild fit for the ticket bot: an @everyone role, a support role,
//! a plain member role, the bot's managed role; categories for open and closed tickets, a panel
//! channel and a log channel; an owner, a support-staff member, two ordinary members and the bot.

use std::time::Duration;

use crate::state::{Overwrite, OverwriteKind};

/// Fixed ids of the default guild, so that tests and bot configuration can name them.
pub mod ids {
    pub const APPLICATION: u64 = 1_210_000_000_000_000_001;
    pub const BOT: u64 = 1_210_000_000_000_000_001;
    pub const GUILD: u64 = 1_210_000_000_000_000_100;
    /// The @everyone role has the guild's id, as on Discord.
    pub const EVERYONE_ROLE: u64 = GUILD;
    pub const SUPPORT_ROLE: u64 = 1_210_000_000_000_000_201;
    pub const MEMBER_ROLE: u64 = 1_210_000_000_000_000_202;
    pub const BOT_ROLE: u64 = 1_210_000_000_000_000_203;
    pub const OPEN_CATEGORY: u64 = 1_210_000_000_000_000_301;
    pub const CLOSED_CATEGORY: u64 = 1_210_000_000_000_000_302;
    pub const PANEL_CHANNEL: u64 = 1_210_000_000_000_000_303;
    pub const LOG_CHANNEL: u64 = 1_210_000_000_000_000_304;
    pub const GENERAL_CHANNEL: u64 = 1_210_000_000_000_000_305;
    pub const OWNER: u64 = 1_210_000_000_000_000_401;
    pub const STAFF: u64 = 1_210_000_000_000_000_402;
    pub const ALICE: u64 = 1_210_000_000_000_000_403;
    pub const BOB: u64 = 1_210_000_000_000_000_404;
}

/// Permission bits (Discord's numbering), for seeds, overwrites and assertions.
pub mod perms {
    pub const CREATE_INSTANT_INVITE: u64 = 1 << 0;
    pub const KICK_MEMBERS: u64 = 1 << 1;
    pub const BAN_MEMBERS: u64 = 1 << 2;
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const ADD_REACTIONS: u64 = 1 << 6;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const ATTACH_FILES: u64 = 1 << 15;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const MENTION_EVERYONE: u64 = 1 << 17;
    pub const USE_EXTERNAL_EMOJIS: u64 = 1 << 18;
    pub const CHANGE_NICKNAME: u64 = 1 << 26;
    pub const MANAGE_ROLES: u64 = 1 << 28;
    pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
    pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
    /// Every permission bit Discord defines today (bits 0..=50).
    pub const ALL: u64 = (1 << 51) - 1;

    /// What @everyone may do in a new Discord server.
    pub const EVERYONE_DEFAULT: u64 = CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | MENTION_EVERYONE
        | USE_EXTERNAL_EMOJIS
        | CHANGE_NICKNAME
        | USE_APPLICATION_COMMANDS
        | SEND_MESSAGES_IN_THREADS;

    /// What the bot's managed role holds when it is invited with the permissions it asks for.
    pub const BOT_ROLE_DEFAULT: u64 = MANAGE_CHANNELS
        | MANAGE_ROLES
        | MANAGE_MESSAGES
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY;
}

/// A Discord user as the fake knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeUser {
    pub id: u64,
    pub username: String,
    pub global_name: Option<String>,
    pub bot: bool,
    /// Avatar hash (32 hex digits, `a_` prefix when animated), served at
    /// `/avatars/{id}/{hash}.png`; `None`: the default avatar `/embed/avatars/{n}.png`.
    pub avatar: Option<String>,
}

impl FakeUser {
    /// A human user with a global (display) name equal to the capitalised username.
    pub fn new(id: u64, username: &str) -> Self {
        let mut display = username.to_owned();
        if let Some(first) = display.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        FakeUser {
            id,
            username: username.to_owned(),
            global_name: Some(display),
            bot: false,
            avatar: None,
        }
    }

    /// The same user with an avatar hash (32 hex digits).
    pub fn with_avatar(mut self, hash: &str) -> Self {
        self.avatar = Some(hash.to_owned());
        self
    }

    /// `<@id>`, as the bot would write a mention.
    pub fn mention(&self) -> String {
        format!("<@{}>", self.id)
    }
}

/// A role of the guild at start.
#[derive(Clone, Debug)]
pub struct RoleSeed {
    pub id: u64,
    pub name: String,
    pub permissions: u64,
    pub position: u16,
    pub color: u32,
    /// The bot's own managed role (carries `tags.bot_id`).
    pub bot_role: bool,
}

/// A channel of the guild at start.
#[derive(Clone, Debug)]
pub struct ChannelSeed {
    pub id: u64,
    /// 0 text, 2 voice, 4 category, 5 announcement.
    pub kind: u8,
    pub name: String,
    pub parent_id: Option<u64>,
    pub position: u16,
    pub topic: Option<String>,
    pub permission_overwrites: Vec<Overwrite>,
}

/// A member of the guild at start.
#[derive(Clone, Debug)]
pub struct MemberSeed {
    pub user: FakeUser,
    pub roles: Vec<u64>,
}

/// Everything the fake needs to know to start.
#[derive(Clone, Debug)]
pub struct Config {
    pub application_id: u64,
    /// The bot's user (`bot: true`); `id` is usually the application id.
    pub bot: FakeUser,
    pub guild_id: u64,
    pub guild_name: String,
    pub owner_id: u64,
    /// Permissions of @everyone (the role whose id is the guild id).
    pub everyone_permissions: u64,
    pub support_role_id: u64,
    pub member_role_id: u64,
    pub bot_role_id: u64,
    pub open_category_id: u64,
    pub closed_category_id: u64,
    pub panel_channel_id: u64,
    pub log_channel_id: u64,
    /// Roles other than @everyone.
    pub roles: Vec<RoleSeed>,
    pub channels: Vec<ChannelSeed>,
    /// Members, the bot included.
    pub members: Vec<MemberSeed>,
    /// Other guilds the bot is in (see [`Config::with_second_guild`]); GUILD_CREATE goes to
    /// each guild's shard.
    pub extra_guilds: Vec<crate::GuildSeed>,
    /// Sent in HELLO. serenity heartbeats at this interval.
    pub heartbeat_interval_ms: u64,
    /// The shard count GET /gateway/bot recommends. Sessions may identify with any
    /// `[id, count]`; a guild's events go to shard `(guild_id >> 22) % count` only (DMs to
    /// shard 0), and a shard that holds no guild gets a READY without guilds and no events.
    pub shards: u32,
    /// Discord's REST rate limits, enforced with headers and 429s; `None`: no limits (for a
    /// client whose rate limiter is off, which sees 429s as errors).
    pub rate_limits: Option<crate::RateLimits>,
    /// When set, requests whose `Authorization` is not `Bot <token>` get 401.
    pub require_token: Option<String>,
    /// When set, an interaction not answered (callback) within this time is expired, as Discord
    /// does after 3 s: a late callback gets 404 "Unknown interaction" (10062).
    pub interaction_ack_deadline: Option<Duration>,
    /// Discord lowercases text-channel names and turns spaces into dashes; so does the fake
    /// unless this is false.
    pub normalize_channel_names: bool,
    /// Check the bot's own permissions on REST calls as Discord does (403 50001 "Missing
    /// Access" without VIEW_CHANNEL, 403 50013 "Missing Permissions" otherwise).
    pub enforce_bot_permissions: bool,
    /// Channels a category may hold (Discord: 50). Over it: 400 50035 `CHANNEL_PARENT_MAX_CHANNELS`.
    /// `FakeDiscord::set_category_limit` lowers it for one category.
    pub category_channel_limit: usize,
    /// Channels a guild may hold, categories included (Discord: 500). Over it: 400 30013.
    pub guild_channel_limit: usize,
    /// The MESSAGE_CONTENT privileged intent toggle of the Developer Portal. When false an
    /// IDENTIFY asking for intent `1 << 15` is closed with 4014 "Disallowed intent(s).", and REST
    /// message reads return other users' guild messages without content.
    pub message_content_enabled: bool,
    /// Most bytes of attachments per message (Discord: 10 MiB for bots since January 2025).
    /// Over it: 413 40005 "Request entity too large".
    pub upload_limit_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        use ids::*;
        let bot = FakeUser {
            id: BOT,
            username: "Ticketbot".into(),
            global_name: None,
            bot: true,
            avatar: None,
        };
        let role = |id, name: &str, permissions, position, color, bot_role| RoleSeed {
            id,
            name: name.into(),
            permissions,
            position,
            color,
            bot_role,
        };
        let channel = |id, kind, name: &str, parent_id, position| ChannelSeed {
            id,
            kind,
            name: name.into(),
            parent_id,
            position,
            topic: None,
            permission_overwrites: Vec::new(),
        };
        let hide_from_everyone = vec![
            Overwrite {
                id: GUILD,
                kind: OverwriteKind::Role,
                allow: 0,
                deny: perms::VIEW_CHANNEL,
            },
            Overwrite {
                id: SUPPORT_ROLE,
                kind: OverwriteKind::Role,
                allow: perms::VIEW_CHANNEL,
                deny: 0,
            },
            // The bot was set up to see and manage its private channels.
            Overwrite {
                id: BOT_ROLE,
                kind: OverwriteKind::Role,
                allow: perms::VIEW_CHANNEL
                    | perms::SEND_MESSAGES
                    | perms::READ_MESSAGE_HISTORY
                    | perms::MANAGE_CHANNELS
                    | perms::MANAGE_ROLES,
                deny: 0,
            },
        ];
        let mut open = channel(OPEN_CATEGORY, 4, "Tickets", None, 1);
        open.permission_overwrites = hide_from_everyone.clone();
        let mut closed = channel(CLOSED_CATEGORY, 4, "Closed Tickets", None, 2);
        closed.permission_overwrites = hide_from_everyone.clone();
        let mut log = channel(LOG_CHANNEL, 0, "ticket-logs", None, 3);
        log.permission_overwrites = hide_from_everyone;
        let mut panel = channel(PANEL_CHANNEL, 0, "support", None, 0);
        panel.topic = Some("Open a ticket with the button below".into());
        Config {
            application_id: APPLICATION,
            bot: bot.clone(),
            guild_id: GUILD,
            guild_name: "Fakecord Test Guild".into(),
            owner_id: OWNER,
            everyone_permissions: perms::EVERYONE_DEFAULT,
            support_role_id: SUPPORT_ROLE,
            member_role_id: MEMBER_ROLE,
            bot_role_id: BOT_ROLE,
            open_category_id: OPEN_CATEGORY,
            closed_category_id: CLOSED_CATEGORY,
            panel_channel_id: PANEL_CHANNEL,
            log_channel_id: LOG_CHANNEL,
            roles: vec![
                role(
                    SUPPORT_ROLE,
                    "Support",
                    perms::MANAGE_MESSAGES,
                    2,
                    0x3498db,
                    false,
                ),
                role(MEMBER_ROLE, "Member", 0, 1, 0x2ecc71, false),
                role(BOT_ROLE, "Ticketbot", perms::BOT_ROLE_DEFAULT, 3, 0, true),
            ],
            channels: vec![
                channel(GENERAL_CHANNEL, 0, "general", None, 0),
                panel,
                open,
                closed,
                log,
            ],
            members: vec![
                MemberSeed {
                    user: FakeUser::new(OWNER, "owner"),
                    roles: vec![],
                },
                MemberSeed {
                    user: FakeUser::new(STAFF, "staff")
                        .with_avatar("5f1c0a7e3b9d42e68c0f1a2b3c4d5e6f"),
                    roles: vec![SUPPORT_ROLE, MEMBER_ROLE],
                },
                MemberSeed {
                    user: FakeUser::new(ALICE, "alice")
                        .with_avatar("a11ce0000000000000000000000000af"),
                    roles: vec![MEMBER_ROLE],
                },
                MemberSeed {
                    user: FakeUser::new(BOB, "bob"),
                    roles: vec![],
                },
                MemberSeed {
                    user: bot,
                    roles: vec![BOT_ROLE],
                },
            ],
            extra_guilds: Vec::new(),
            heartbeat_interval_ms: 41_250,
            shards: 1,
            rate_limits: None,
            require_token: None,
            interaction_ack_deadline: None,
            normalize_channel_names: true,
            enforce_bot_permissions: true,
            category_channel_limit: 50,
            guild_channel_limit: 500,
            message_content_enabled: true,
            upload_limit_bytes: 10 * 1024 * 1024,
        }
    }
}
