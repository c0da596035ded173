//! More than one guild: a bot in several servers, whose guilds Discord spreads over gateway
//! shards by `(guild_id >> 22) % shard_count`. The first guild is the one `Config`'s guild fields
//! describe (every older helper acts on it); `Config::extra_guilds` adds others, and
//! [`Config::with_second_guild`] adds one like the first that lands on the other shard of two.

use crate::config::{perms, ChannelSeed, Config, FakeUser, MemberSeed, RoleSeed};
use crate::rest::intents;
use crate::state::{Channel, GuildInfo, Member, Overwrite, OverwriteKind, Role, State};
use crate::FakeDiscord;

/// Fixed ids of the second guild ([`Config::with_second_guild`]). `(GUILD >> 22) % 2` is 1,
/// the first guild's is 0: with two shards each holds one.
pub mod ids2 {
    pub const GUILD: u64 = 1_210_000_000_010_000_100;
    /// The @everyone role has the guild's id, as on Discord.
    pub const EVERYONE_ROLE: u64 = GUILD;
    /// Administrators: the ticket bot counts them as staff (its support role is the first
    /// guild's).
    pub const ADMIN_ROLE: u64 = 1_210_000_000_010_000_201;
    pub const MEMBER_ROLE: u64 = 1_210_000_000_010_000_202;
    pub const BOT_ROLE: u64 = 1_210_000_000_010_000_203;
    pub const OPEN_CATEGORY: u64 = 1_210_000_000_010_000_301;
    pub const CLOSED_CATEGORY: u64 = 1_210_000_000_010_000_302;
    pub const PANEL_CHANNEL: u64 = 1_210_000_000_010_000_303;
    pub const LOG_CHANNEL: u64 = 1_210_000_000_010_000_304;
    pub const GENERAL_CHANNEL: u64 = 1_210_000_000_010_000_305;
    pub const OWNER: u64 = 1_210_000_000_010_000_401;
    /// An administrator.
    pub const STAFF: u64 = 1_210_000_000_010_000_402;
    pub const ALICE: u64 = 1_210_000_000_010_000_403;
    /// A second administrator.
    pub const STAFF2: u64 = 1_210_000_000_010_000_404;
}

/// Another guild the bot is in, as it is when the fake starts.
#[derive(Clone, Debug)]
pub struct GuildSeed {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    /// Permissions of @everyone (the role whose id is the guild id).
    pub everyone_permissions: u64,
    /// Roles other than @everyone; ids unique across guilds.
    pub roles: Vec<RoleSeed>,
    pub channels: Vec<ChannelSeed>,
    /// Members, the bot included.
    pub members: Vec<MemberSeed>,
}

impl GuildSeed {
    /// The first guild, as `Config`'s guild fields describe it.
    fn first(cfg: &Config) -> GuildSeed {
        GuildSeed {
            id: cfg.guild_id,
            name: cfg.guild_name.clone(),
            owner_id: cfg.owner_id,
            everyone_permissions: cfg.everyone_permissions,
            roles: cfg.roles.clone(),
            channels: cfg.channels.clone(),
            members: cfg.members.clone(),
        }
    }

    /// A guild like the default one (see [`ids2`]): an admin role instead of a support role,
    /// a member role, the bot's role; #general, #support, the two ticket categories and
    /// #ticket-logs; an owner, two administrators, a member and the bot.
    pub fn second(bot: &FakeUser) -> GuildSeed {
        use ids2::*;
        let channel = |id, kind, name: &str, parent_id, position| ChannelSeed {
            id,
            kind,
            name: name.into(),
            parent_id,
            position,
            topic: None,
            permission_overwrites: Vec::new(),
        };
        let role = |id, name: &str, permissions, position, bot_role| RoleSeed {
            id,
            name: name.into(),
            permissions,
            position,
            color: 0,
            bot_role,
        };
        let overwrite = |id, allow, deny| Overwrite {
            id,
            kind: OverwriteKind::Role,
            allow,
            deny,
        };
        let hidden = vec![
            overwrite(GUILD, 0, perms::VIEW_CHANNEL),
            overwrite(
                BOT_ROLE,
                perms::VIEW_CHANNEL
                    | perms::SEND_MESSAGES
                    | perms::READ_MESSAGE_HISTORY
                    | perms::MANAGE_CHANNELS
                    | perms::MANAGE_ROLES,
                0,
            ),
        ];
        let mut channels = vec![
            channel(GENERAL_CHANNEL, 0, "general", None, 0),
            channel(PANEL_CHANNEL, 0, "support", None, 1),
            channel(OPEN_CATEGORY, 4, "Tickets", None, 1),
            channel(CLOSED_CATEGORY, 4, "Closed Tickets", None, 2),
            channel(LOG_CHANNEL, 0, "ticket-logs", None, 3),
        ];
        for c in channels.iter_mut().skip(2) {
            c.permission_overwrites = hidden.clone();
        }
        let member = |user: FakeUser, roles: Vec<u64>| MemberSeed { user, roles };
        GuildSeed {
            id: GUILD,
            name: "Fakecord Second Guild".into(),
            owner_id: OWNER,
            everyone_permissions: perms::EVERYONE_DEFAULT,
            roles: vec![
                role(ADMIN_ROLE, "Admin", perms::ADMINISTRATOR, 2, false),
                role(MEMBER_ROLE, "Member", 0, 1, false),
                role(BOT_ROLE, "Ticketbot", perms::BOT_ROLE_DEFAULT, 3, true),
            ],
            channels,
            members: vec![
                member(FakeUser::new(OWNER, "owner2"), vec![]),
                member(
                    FakeUser::new(STAFF, "admin2"),
                    vec![ADMIN_ROLE, MEMBER_ROLE],
                ),
                member(
                    FakeUser::new(STAFF2, "admin2b"),
                    vec![ADMIN_ROLE, MEMBER_ROLE],
                ),
                member(FakeUser::new(ALICE, "alice2"), vec![MEMBER_ROLE]),
                member(bot.clone(), vec![BOT_ROLE]),
            ],
        }
    }
}

impl Config {
    /// The same configuration with a second guild ([`GuildSeed::second`], ids in [`ids2`]).
    pub fn with_second_guild(mut self) -> Config {
        self.extra_guilds.push(GuildSeed::second(&self.bot));
        self
    }

    /// The ids of every guild: the first, then the extra ones.
    pub fn guild_ids(&self) -> Vec<u64> {
        std::iter::once(self.guild_id)
            .chain(self.extra_guilds.iter().map(|g| g.id))
            .collect()
    }
}

/// The state at start: every guild with its roles, channels and members.
pub(crate) fn seed_state(cfg: &Config) -> State {
    let mut st = State {
        guild_id: cfg.guild_id,
        owner_id: cfg.owner_id,
        ..State::default()
    };
    st.users.insert(cfg.bot.id, cfg.bot.clone());
    seed_guild(&mut st, cfg, &GuildSeed::first(cfg));
    for g in &cfg.extra_guilds {
        seed_guild(&mut st, cfg, g);
    }
    st
}

fn seed_guild(st: &mut State, cfg: &Config, g: &GuildSeed) {
    const JOINED: &str = "2024-01-01T00:00:00.000000+00:00";
    st.guilds.insert(
        g.id,
        GuildInfo {
            id: g.id,
            name: g.name.clone(),
            owner_id: g.owner_id,
        },
    );
    let everyone = RoleSeed {
        id: g.id,
        name: "@everyone".into(),
        permissions: g.everyone_permissions,
        position: 0,
        color: 0,
        bot_role: false,
    };
    for r in std::iter::once(&everyone).chain(&g.roles) {
        st.roles.insert(
            r.id,
            Role {
                id: r.id,
                name: r.name.clone(),
                permissions: r.permissions,
                position: r.position,
                color: r.color,
                hoist: false,
                mentionable: false,
                bot_id: r.bot_role.then_some(cfg.bot.id),
                guild_id: g.id,
            },
        );
    }
    for c in &g.channels {
        st.channels.insert(
            c.id,
            Channel {
                id: c.id,
                kind: c.kind,
                guild_id: Some(g.id),
                name: c.name.clone(),
                parent_id: c.parent_id,
                position: c.position,
                topic: c.topic.clone(),
                nsfw: false,
                rate_limit_per_user: 0,
                permission_overwrites: c.permission_overwrites.clone(),
                recipients: Vec::new(),
                last_message_id: None,
            },
        );
    }
    if g.id != st.guild_id {
        st.guild_members.entry(g.id).or_default();
    }
    for m in &g.members {
        st.users.insert(m.user.id, m.user.clone());
        let member = Member {
            user: m.user.clone(),
            roles: m.roles.clone(),
            nick: None,
            joined_at: JOINED.into(),
        };
        if let Some(members) = st.members_of_mut(g.id) {
            members.insert(m.user.id, member);
        }
    }
}

impl FakeDiscord {
    /// A user joins guild `guild` (GUILD_MEMBER_ADD, to that guild's shard). Returns whether the
    /// guild is known.
    pub fn add_member_in(&self, guild: u64, user: &FakeUser, roles: &[u64]) -> bool {
        let event = self.shared.update(|st| {
            let member = Member {
                user: user.clone(),
                roles: roles.to_vec(),
                nick: None,
                joined_at: crate::now_iso(),
            };
            st.members_of_mut(guild)?.insert(user.id, member.clone());
            st.users.insert(user.id, user.clone());
            let r = crate::payloads::Render {
                st,
                cfg: &self.shared.config,
                base: &self.shared.base_url,
            };
            let mut d = r.member(&member, None);
            d["guild_id"] = crate::payloads::sf(guild);
            Some(d)
        });
        let Some(d) = event else {
            return false;
        };
        self.shared
            .dispatch("GUILD_MEMBER_ADD", d, intents::GUILD_MEMBERS);
        true
    }

    /// A member's current roles in guild `guild` (empty for non-members).
    pub fn member_roles_in(&self, guild: u64, user_id: u64) -> Vec<u64> {
        self.with_state(|st| {
            st.members_of(guild)
                .get(&user_id)
                .map(|m| m.roles.clone())
                .unwrap_or_default()
        })
    }

    /// The guild a channel belongs to (the first guild for a DM or an unknown channel).
    pub fn guild_of_channel(&self, channel_id: u64) -> u64 {
        self.with_state(|st| st.guild_of_channel(channel_id))
    }

    /// Creates a text channel named `name` (under `parent` if given) in guild `guild` straight
    /// in the state, as a human admin would, emitting CHANNEL_CREATE to that guild's shard.
    /// Returns its id, or `None` for an unknown guild.
    pub fn add_channel_in(&self, guild: u64, name: &str, parent: Option<u64>) -> Option<u64> {
        let (id, event) = self.shared.update(|st| {
            if !st.guilds.contains_key(&guild) {
                return None;
            }
            let ch = Channel {
                id: self.shared.ids.next(),
                kind: 0,
                guild_id: Some(guild),
                name: name.to_owned(),
                parent_id: parent,
                position: 0,
                topic: None,
                nsfw: false,
                rate_limit_per_user: 0,
                permission_overwrites: Vec::new(),
                recipients: Vec::new(),
                last_message_id: None,
            };
            st.channels.insert(ch.id, ch.clone());
            let r = crate::payloads::Render {
                st,
                cfg: &self.shared.config,
                base: &self.shared.base_url,
            };
            Some((ch.id, r.channel(&ch, true)))
        })?;
        self.shared
            .dispatch("CHANNEL_CREATE", event, intents::GUILDS);
        Some(id)
    }
}
