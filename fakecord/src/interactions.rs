//! INTERACTION_CREATE payloads shaped as Discord sends them for a guild-installed bot: slash
//! commands (type 2), message components (type 3) and modal submits (type 5).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::config::FakeUser;
use crate::payloads::{sf, user_json, Render};
use crate::rest::{bot_permissions, json_sf};
use crate::snowflake::snowflake_time;
use crate::state::Member;

/// The value of a slash-command option.
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    /// type 3
    String(String),
    /// type 4
    Integer(i64),
    /// type 5
    Boolean(bool),
    /// type 6, resolved into `resolved.users` (and `resolved.members` for guild members)
    User(u64),
    /// type 7, resolved into `resolved.channels`
    Channel(u64),
    /// type 8, resolved into `resolved.roles`
    Role(u64),
    /// type 10
    Number(f64),
}

impl From<&str> for OptionValue {
    fn from(s: &str) -> Self {
        OptionValue::String(s.to_owned())
    }
}

impl From<String> for OptionValue {
    fn from(s: String) -> Self {
        OptionValue::String(s)
    }
}

impl From<i64> for OptionValue {
    fn from(n: i64) -> Self {
        OptionValue::Integer(n)
    }
}

impl From<bool> for OptionValue {
    fn from(b: bool) -> Self {
        OptionValue::Boolean(b)
    }
}

impl From<f64> for OptionValue {
    fn from(n: f64) -> Self {
        OptionValue::Number(n)
    }
}

impl From<&FakeUser> for OptionValue {
    fn from(u: &FakeUser) -> Self {
        OptionValue::User(u.id)
    }
}

/// The member object of the interacting user in guild `g`.
fn acting_member(r: &Render, g: u64, user: &FakeUser, roles: &[u64]) -> Member {
    let known = r.st.members_of(g).get(&user.id);
    Member {
        user: user.clone(),
        roles: roles.to_vec(),
        nick: known.and_then(|m| m.nick.clone()),
        joined_at: known.map_or_else(|| snowflake_time(user.id), |m| m.joined_at.clone()),
    }
}

/// The fields every guild interaction has.
pub(crate) fn base(
    r: &Render,
    id: u64,
    token: &str,
    kind: u8,
    user: &FakeUser,
    roles: &[u64],
    channel_id: u64,
) -> Value {
    let cfg = r.cfg;
    if let Some(dm) = r.st.channels.get(&channel_id).filter(|c| c.kind == 1) {
        return dm_base(r, id, token, kind, user, dm);
    }
    // The guild of the channel clicked in: each guild's interactions reach its own shard.
    let guild = r.st.guild_of_channel(channel_id);
    let perms = r.st.permissions_with_roles(user.id, roles, channel_id);
    let member = r.member(&acting_member(r, guild, user, roles), Some(perms));
    let mut channel = match r.st.channels.get(&channel_id) {
        Some(c) => r.channel(c, true),
        None => {
            json!({"id": sf(channel_id), "type": 0, "name": "unknown", "guild_id": sf(guild), "flags": 0, "position": 0, "permission_overwrites": [], "nsfw": false, "parent_id": null})
        }
    };
    channel["permissions"] = json!(perms.to_string());
    json!({
        "id": sf(id),
        "application_id": sf(cfg.application_id),
        "type": kind,
        "token": token,
        "version": 1,
        "guild_id": sf(guild),
        "guild": {"id": sf(guild), "locale": "en-US", "features": []},
        "channel_id": sf(channel_id),
        "channel": channel,
        "member": member,
        "app_permissions": bot_permissions(r.st, cfg.bot.id, channel_id).to_string(),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": sf(guild)},
        "context": 0,
        "attachment_size_limit": 10_485_760,
    })
}

/// An interaction in the bot's DM with `user`: no guild, no member, `user` instead, context 1
/// (BOT_DM), and the guild-install owner "0" (Discord's value for the bot's DM). It reaches
/// shard 0, as every DM event does.
fn dm_base(
    r: &Render,
    id: u64,
    token: &str,
    kind: u8,
    user: &FakeUser,
    dm: &crate::state::Channel,
) -> Value {
    json!({
        "id": sf(id),
        "application_id": sf(r.cfg.application_id),
        "type": kind,
        "token": token,
        "version": 1,
        "channel_id": sf(dm.id),
        "channel": {
            "id": sf(dm.id),
            "type": 1,
            "flags": 0,
            "last_message_id": null,
            "recipients": [user_json(user)],
        },
        "user": user_json(user),
        // What a bot may do in a DM: view, send, embed links, attach files, read history.
        "app_permissions": "117760",
        "locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": "0"},
        "context": 1,
        "attachment_size_limit": 10_485_760,
    })
}

/// The `message` a component sits on, as it is now (or a bare bot message for an id the fake
/// does not know, so that a test can click on anything).
pub(crate) fn component_message(r: &Render, channel_id: u64, message_id: u64) -> Value {
    match r.st.messages.get(&message_id) {
        Some(m) => r.message(m, false),
        None => json!({
            "id": sf(message_id), "type": 0, "content": "", "channel_id": sf(channel_id),
            "author": user_json(&r.cfg.bot), "attachments": [], "embeds": [],
            "mentions": [], "mention_roles": [], "pinned": false, "mention_everyone": false,
            "tts": false, "timestamp": snowflake_time(message_id), "edited_timestamp": null,
            "flags": 0, "components": [],
        }),
    }
}

/// `data` of a chat-input command, and the full command name (`ticket close`).
pub(crate) fn command_data(
    r: &Render,
    name: &str,
    subcommand: Option<&str>,
    options: &[(&str, OptionValue)],
) -> (Value, String) {
    let registered =
        r.st.commands()
            .into_iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .cloned();
    let command_id = registered
        .as_ref()
        .and_then(|c| c.get("id").and_then(json_sf))
        // An unregistered command still needs an id; a stable one per name.
        .unwrap_or_else(|| 1_000_000_000_000_000_000 + fnv(name) % 1_000_000_000_000_000);
    let mut users = Map::new();
    let mut members = Map::new();
    let mut roles = Map::new();
    let mut channels = Map::new();
    let mut opts = Vec::new();
    for (oname, value) in options {
        let (t, v) = match value {
            OptionValue::String(s) => (3, json!(s)),
            OptionValue::Integer(n) => (4, json!(n)),
            OptionValue::Boolean(b) => (5, json!(b)),
            OptionValue::Number(n) => (10, json!(n)),
            OptionValue::User(id) => {
                users.insert(id.to_string(), user_json(&r.user(*id)));
                if let Some(m) = r.st.members.get(id) {
                    let perms = r.st.permissions_with_roles(*id, &m.roles, 0);
                    members.insert(id.to_string(), r.partial_member(m, Some(perms)));
                }
                (6, sf(*id))
            }
            OptionValue::Channel(id) => {
                if let Some(c) = r.st.channels.get(id) {
                    let mut v = json!({
                        "id": sf(c.id),
                        "name": c.name,
                        "type": c.kind,
                        "parent_id": c.parent_id.map(sf),
                        "flags": 0,
                        "permissions": r.st.permissions_in(r.cfg.bot.id, c.id).to_string(),
                    });
                    if c.parent_id.is_none() {
                        v.as_object_mut().map(|o| o.remove("parent_id"));
                    }
                    channels.insert(id.to_string(), v);
                }
                (7, sf(*id))
            }
            OptionValue::Role(id) => {
                if let Some(role) = r.st.roles.get(id) {
                    roles.insert(id.to_string(), crate::payloads::role_json(role));
                }
                (8, sf(*id))
            }
        };
        opts.push(json!({"name": oname, "type": t, "value": v}));
    }
    let mut full_name = name.to_owned();
    let options = match subcommand.map(|s| s.split_whitespace().collect::<Vec<_>>()) {
        None => opts,
        Some(parts) if parts.is_empty() => opts,
        Some(parts) => {
            full_name = format!("{name} {}", parts.join(" "));
            let leaf = json!({"name": parts[parts.len() - 1], "type": 1, "options": opts});
            if parts.len() >= 2 {
                vec![json!({"name": parts[0], "type": 2, "options": [leaf]})]
            } else {
                vec![leaf]
            }
        }
    };
    let mut data = json!({
        "id": sf(command_id),
        "name": name,
        "type": 1,
        "options": options,
    });
    if let Some(g) = registered
        .as_ref()
        .and_then(|c| c.get("guild_id"))
        .and_then(json_sf)
    {
        data["guild_id"] = sf(g);
    }
    let mut resolved = BTreeMap::new();
    for (key, map) in [
        ("users", users),
        ("members", members),
        ("roles", roles),
        ("channels", channels),
    ] {
        if !map.is_empty() {
            resolved.insert(key, Value::Object(map));
        }
    }
    if !resolved.is_empty() {
        data["resolved"] = json!(resolved);
    }
    (data, full_name)
}

/// A small stable hash for made-up command ids.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
