//! Discord JSON objects built from the fake's state: users, roles, members, channels, guilds,
//! messages. Snowflakes are strings, permissions decimal strings, timestamps ISO 8601, and every
//! field serenity 0.12.5 requires is present (see the tests that deserialize these into
//! serenity's models).

use serde_json::{json, Map, Value};

use crate::config::{Config, FakeUser};
use crate::snowflake::snowflake_time;
use crate::state::{Attachment, Channel, Member, Message, Overwrite, Role, State};

pub(crate) fn sf(id: u64) -> Value {
    Value::String(id.to_string())
}

pub(crate) fn opt_sf(id: Option<u64>) -> Value {
    id.map_or(Value::Null, sf)
}

pub(crate) fn user_json(u: &FakeUser) -> Value {
    let mut v = json!({
        "id": sf(u.id),
        "username": u.username,
        "discriminator": if u.bot { "4321" } else { "0" },
        "global_name": u.global_name,
        "avatar": u.avatar,
        "avatar_decoration_data": null,
        "banner": null,
        "accent_color": null,
        "public_flags": 0,
        "flags": 0,
        "primary_guild": null,
        "collectibles": null,
    });
    if u.bot {
        v["bot"] = json!(true);
    }
    v
}

pub(crate) fn role_json(r: &Role) -> Value {
    let mut v = json!({
        "id": sf(r.id),
        "name": r.name,
        "description": null,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": null, "tertiary_color": null},
        "hoist": r.hoist,
        "icon": null,
        "unicode_emoji": null,
        "position": r.position,
        "permissions": r.permissions.to_string(),
        "managed": r.bot_id.is_some(),
        "mentionable": r.mentionable,
        "flags": 0,
    });
    if let Some(bot) = r.bot_id {
        v["tags"] = json!({"bot_id": sf(bot)});
    }
    v
}

pub(crate) fn overwrite_json(o: &Overwrite) -> Value {
    json!({
        "id": sf(o.id),
        "type": o.kind.code(),
        "allow": o.allow.to_string(),
        "deny": o.deny.to_string(),
    })
}

pub(crate) struct Render<'a> {
    pub st: &'a State,
    pub cfg: &'a Config,
    /// `http://127.0.0.1:PORT`
    pub base: &'a str,
}

impl Render<'_> {
    pub fn user(&self, id: u64) -> FakeUser {
        self.st
            .users
            .get(&id)
            .cloned()
            .unwrap_or_else(|| FakeUser::new(id, &format!("user{id}")))
    }

    /// A channel object. `with_guild_id` is false inside GUILD_CREATE, as on Discord.
    pub fn channel(&self, c: &Channel, with_guild_id: bool) -> Value {
        if c.kind == 1 {
            let recipients: Vec<Value> = c
                .recipients
                .iter()
                .map(|id| user_json(&self.user(*id)))
                .collect();
            return json!({
                "id": sf(c.id),
                "type": 1,
                "last_message_id": opt_sf(c.last_message_id),
                "flags": 0,
                "recipients": recipients,
            });
        }
        let mut v = json!({
            "id": sf(c.id),
            "type": c.kind,
            "name": c.name,
            "position": c.position,
            "permission_overwrites": c.permission_overwrites.iter().map(overwrite_json).collect::<Vec<_>>(),
            "parent_id": opt_sf(c.parent_id),
            "nsfw": c.nsfw,
            "flags": 0,
        });
        if c.kind != 4 {
            v["topic"] = json!(c.topic);
            v["last_message_id"] = opt_sf(c.last_message_id);
            v["rate_limit_per_user"] = json!(c.rate_limit_per_user);
            v["icon_emoji"] = Value::Null;
            v["theme_color"] = Value::Null;
        }
        if c.kind == 2 {
            v["bitrate"] = json!(64000);
            v["user_limit"] = json!(0);
            v["rtc_region"] = Value::Null;
        }
        if with_guild_id {
            v["guild_id"] = opt_sf(c.guild_id);
        }
        v
    }

    /// A guild member object; `permissions` is added in interaction payloads.
    pub fn member(&self, m: &Member, permissions: Option<u64>) -> Value {
        let mut v = self.partial_member(m, permissions);
        let o = v.as_object_mut().expect("object");
        o.insert("user".into(), user_json(&m.user));
        o.insert("deaf".into(), json!(false));
        o.insert("mute".into(), json!(false));
        v
    }

    /// A member without `user`, `deaf`, `mute` (as in `resolved.members`).
    pub fn partial_member(&self, m: &Member, permissions: Option<u64>) -> Value {
        let mut v = json!({
            "nick": m.nick,
            "avatar": null,
            "banner": null,
            "roles": m.roles.iter().map(|r| sf(*r)).collect::<Vec<_>>(),
            "joined_at": m.joined_at,
            "premium_since": null,
            "flags": 0,
            "pending": false,
            "communication_disabled_until": null,
            "unusual_dm_activity_until": null,
        });
        if let Some(p) = permissions {
            v["permissions"] = json!(p.to_string());
        }
        v
    }

    /// The first guild's object; with `create` the GUILD_CREATE extras (members, channels, ...).
    pub fn guild(&self, create: bool) -> Value {
        self.guild_payload(self.cfg.guild_id, create)
    }

    /// Guild `g`'s object; with `create` the GUILD_CREATE extras.
    pub fn guild_payload(&self, g: u64, create: bool) -> Value {
        let cfg = self.cfg;
        let mut roles: Vec<&Role> = self.st.roles.values().filter(|r| r.guild_id == g).collect();
        roles.sort_by_key(|r| (r.position, r.id));
        let name = self
            .st
            .guilds
            .get(&g)
            .map_or(cfg.guild_name.as_str(), |i| i.name.as_str());
        let mut v = json!({
            "id": sf(g),
            "name": name,
            "icon": null,
            "icon_hash": null,
            "splash": null,
            "discovery_splash": null,
            "owner_id": sf(self.st.owner_of(g)),
            "region": "deprecated",
            "afk_channel_id": null,
            "afk_timeout": 300,
            "widget_enabled": false,
            "widget_channel_id": null,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": roles.iter().map(|r| role_json(r)).collect::<Vec<_>>(),
            "emojis": [],
            "features": [],
            "mfa_level": 0,
            "application_id": null,
            "system_channel_id": null,
            "system_channel_flags": 0,
            "rules_channel_id": null,
            "max_presences": null,
            "max_members": 500000,
            "vanity_url_code": null,
            "description": null,
            "banner": null,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": null,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "nsfw_level": 0,
            "nsfw": false,
            "stickers": [],
            "premium_progress_bar_enabled": false,
            "safety_alerts_channel_id": null,
            "incidents_data": null,
            "home_header": null,
            "latest_onboarding_question_id": null,
        });
        if create {
            let o = v.as_object_mut().expect("object");
            let members: Vec<Value> = self
                .st
                .members_of(g)
                .values()
                .map(|m| self.member(m, None))
                .collect();
            let channels: Vec<Value> = self
                .st
                .channels
                .values()
                .filter(|c| c.guild_id == Some(g))
                .map(|c| self.channel(c, false))
                .collect();
            let joined_at = self
                .st
                .members_of(g)
                .get(&cfg.bot.id)
                .map(|m| m.joined_at.clone())
                .unwrap_or_else(|| snowflake_time(g));
            o.insert("joined_at".into(), json!(joined_at));
            o.insert("large".into(), json!(false));
            o.insert("lazy".into(), json!(true));
            o.insert("unavailable".into(), json!(false));
            o.insert("member_count".into(), json!(members.len()));
            o.insert("voice_states".into(), json!([]));
            o.insert("members".into(), Value::Array(members));
            o.insert("channels".into(), Value::Array(channels));
            o.insert("threads".into(), json!([]));
            o.insert("presences".into(), json!([]));
            o.insert("stage_instances".into(), json!([]));
            o.insert("guild_scheduled_events".into(), json!([]));
            o.insert("soundboard_sounds".into(), json!([]));
            o.insert("embedded_activities".into(), json!([]));
        }
        v
    }

    pub fn attachment(&self, m: &Message, a: &Attachment) -> Value {
        let url = signed_attachment_url(self.base, m.channel_id, a, self.st.url_generation);
        let mut v = json!({
            "id": sf(a.id),
            "filename": a.filename,
            "description": a.description,
            "content_type": a.content_type,
            "size": a.data.len(),
            "url": url,
            "proxy_url": url,
        });
        if let Some((w, h)) = png_size(&a.data) {
            v["width"] = json!(w);
            v["height"] = json!(h);
        }
        v
    }

    /// Users mentioned as `<@id>` / `<@!id>` in the content, known ones only.
    pub fn mentions(&self, content: &str) -> Vec<Value> {
        let mut ids: Vec<u64> = Vec::new();
        for id in mentioned_ids(content) {
            if self.st.users.contains_key(&id) && !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids.iter().map(|id| user_json(&self.user(*id))).collect()
    }

    /// A message object. `gateway` adds `guild_id` and `member`, as MESSAGE_CREATE has them.
    pub fn message(&self, m: &Message, gateway: bool) -> Value {
        self.message_nested(m, gateway, true)
    }

    /// `nest`: include `referenced_message` for a reply (one level, as Discord does).
    fn message_nested(&self, m: &Message, gateway: bool, nest: bool) -> Value {
        let mut v = json!({
            "id": sf(m.id),
            "type": m.kind,
            "content": m.content,
            "channel_id": sf(m.channel_id),
            "author": user_json(&m.author),
            "attachments": m.attachments.iter().map(|a| self.attachment(m, a)).collect::<Vec<_>>(),
            "embeds": m.embeds,
            "mentions": self.mentions(&m.content),
            "mention_roles": [],
            "pinned": false,
            "mention_everyone": false,
            "tts": false,
            "timestamp": m.timestamp,
            "edited_timestamp": m.edited_timestamp,
            "flags": m.flags,
            "components": m.components,
        });
        let o = v.as_object_mut().expect("object");
        if let Some(r) = m.reference_id {
            o.insert(
                "message_reference".into(),
                json!({
                    "type": 0,
                    "message_id": sf(r),
                    "channel_id": sf(m.channel_id),
                    "guild_id": opt_sf(self.guild_of(m.channel_id)),
                }),
            );
            if nest {
                let referenced = match self.st.messages.get(&r) {
                    Some(rm) if !rm.deleted => self.message_nested(rm, false, false),
                    _ => Value::Null,
                };
                o.insert("referenced_message".into(), referenced);
            }
        }
        if let Some(iid) = m.interaction_id {
            o.insert("application_id".into(), sf(self.cfg.application_id));
            o.insert("webhook_id".into(), sf(self.cfg.application_id));
            if let Some(i) = self.st.interactions.get(&iid) {
                if i.kind == 2 {
                    o.insert(
                        "interaction".into(),
                        json!({"id": sf(i.id), "type": 2, "name": i.name, "user": user_json(&self.user(i.user_id))}),
                    );
                }
                if let Some(meta) = self.interaction_metadata(i, Some(m.id), true) {
                    o.insert("interaction_metadata".into(), meta);
                }
            }
        }
        if gateway {
            if let Some(g) = self.guild_of(m.channel_id) {
                o.insert("guild_id".into(), sf(g));
                if let Some(member) = self.st.members_of(g).get(&m.author.id) {
                    let mut pm = self.partial_member(member, None);
                    pm["deaf"] = json!(false);
                    pm["mute"] = json!(false);
                    o.insert("member".into(), pm);
                }
            }
        }
        v
    }

    /// A message's `interaction_metadata`; `None` where Discord's shape needs what the fake
    /// does not know (a modal submit whose opening interaction is unknown).
    fn interaction_metadata(
        &self,
        i: &crate::state::Interaction,
        message_id: Option<u64>,
        nest: bool,
    ) -> Option<Value> {
        let mut meta = json!({
            "id": sf(i.id),
            "type": i.kind,
            "user": user_json(&self.user(i.user_id)),
            "authorizing_integration_owners": {"0": sf(self.st.guild_of_channel(i.channel_id))},
        });
        if i.original_message_id.is_some() && i.original_message_id != message_id {
            meta["original_response_message_id"] = opt_sf(i.original_message_id);
        }
        match i.kind {
            2 => {
                meta["name"] = json!(i.name);
                meta["command_type"] = json!(1);
            }
            3 => meta["interacted_message_id"] = opt_sf(i.message_id),
            5 => {
                let trigger = i
                    .modal_trigger_id
                    .and_then(|t| self.st.interactions.get(&t))?;
                if !nest {
                    return None;
                }
                meta["triggering_interaction_metadata"] =
                    self.interaction_metadata(trigger, None, false)?;
            }
            _ => {}
        }
        Some(meta)
    }

    pub fn guild_of(&self, channel_id: u64) -> Option<u64> {
        self.st
            .channels
            .get(&channel_id)
            .or_else(|| self.st.deleted_channels.iter().find(|c| c.id == channel_id))
            .and_then(|c| c.guild_id)
    }

    /// `GET /oauth2/applications/@me`.
    pub fn application(&self) -> Value {
        let owner = self.user(self.st.owner_id);
        json!({
            "id": sf(self.cfg.application_id),
            "name": self.cfg.bot.username,
            "icon": null,
            "description": "Support tickets (fakecord)",
            "summary": "",
            "type": null,
            "bot_public": false,
            "bot_require_code_grant": false,
            "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
            "owner": user_json(&owner),
            "team": null,
            "flags": 0,
            "rpc_origins": [],
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": null,
            "role_connections_verification_url": null,
            "approximate_guild_count": self.st.guilds.len().max(1),
            "bot": user_json(&self.cfg.bot),
        })
    }

    /// `GET /users/@me` for the bot.
    pub fn current_user(&self) -> Value {
        let mut v = user_json(&self.cfg.bot);
        let o = v.as_object_mut().expect("object");
        o.insert("verified".into(), json!(true));
        o.insert("mfa_enabled".into(), json!(false));
        o.insert("email".into(), Value::Null);
        o.insert("locale".into(), json!("en-US"));
        o.insert("premium_type".into(), json!(0));
        v
    }
}

/// An embed as Discord returns it: the bot's object with `type: "rich"` added.
pub(crate) fn normalize_embed(e: &Value) -> Value {
    let mut e = e.clone();
    if let Some(o) = e.as_object_mut() {
        o.entry("type").or_insert_with(|| json!("rich"));
    }
    e
}

/// Discord's JSON error body.
pub(crate) fn error_body(code: u32, message: &str) -> Value {
    json!({"message": message, "code": code})
}

/// Discord's 50035 "Invalid Form Body" with one field error.
pub(crate) fn form_error(field: &str, code: &str, message: &str) -> Value {
    let mut errors = Map::new();
    errors.insert(
        field.to_owned(),
        json!({"_errors": [{"code": code, "message": message}]}),
    );
    json!({"message": "Invalid Form Body", "code": 50035, "errors": errors})
}

/// The ids in `<@id>` and `<@!id>` mentions of a text.
pub(crate) fn mentioned_ids(content: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut rest = content;
    while let Some(start) = rest.find("<@") {
        rest = &rest[start + 2..];
        let body = rest.strip_prefix('!').unwrap_or(rest);
        if let Some(end) = body.find('>') {
            if let Ok(id) = body[..end].parse::<u64>() {
                out.push(id);
            }
        }
    }
    out
}

/// Width and height of a PNG (from its IHDR chunk).
pub(crate) fn png_size(data: &[u8]) -> Option<(u32, u32)> {
    const SIG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if data.len() < 24 || !data.starts_with(SIG) || &data[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&data[16..20]), be(&data[20..24])))
}

/// A 64-bit FNV-1a hash.
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in *p {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The `hm` signature of an attachment URL: 64 hex digits, valid for one generation of URLs.
pub(crate) fn attachment_signature(id: u64, ex: u64, is: u64, generation: u64) -> String {
    let key = [
        id.to_le_bytes(),
        ex.to_le_bytes(),
        is.to_le_bytes(),
        generation.to_le_bytes(),
    ];
    let parts: Vec<&[u8]> = key.iter().map(|k| k.as_slice()).collect();
    let mut out = String::new();
    for salt in 0u8..4 {
        let salt = [salt];
        let mut all = parts.clone();
        all.push(&salt);
        out.push_str(&format!("{:016x}", fnv(&all)));
    }
    out
}

/// Discord's signed CDN URL: `{base}/attachments/{channel}/{id}/{filename}?ex=..&is=..&hm=..`
/// (`ex`/`is`: hex Unix seconds of expiry and issue, a day apart).
pub(crate) fn signed_attachment_url(
    base: &str,
    channel_id: u64,
    a: &Attachment,
    generation: u64,
) -> String {
    let is = chrono::Utc::now().timestamp().max(0) as u64;
    let ex = is + 86_400;
    format!(
        "{base}/attachments/{channel_id}/{}/{}?ex={ex:x}&is={is:x}&hm={}&",
        a.id,
        a.filename,
        attachment_signature(a.id, ex, is, generation)
    )
}

/// Empties what a reader without the MESSAGE_CONTENT intent may not see of a guild message
/// (`content`, `embeds`, `attachments`, `components`), unless the bot wrote it or it mentions
/// the bot.
pub(crate) fn strip_content(v: &mut Value, bot_id: u64) {
    let bot = bot_id.to_string();
    if v.pointer("/author/id").and_then(Value::as_str) == Some(bot.as_str()) {
        return;
    }
    let mentions_bot = v
        .get("mentions")
        .and_then(Value::as_array)
        .is_some_and(|m| {
            m.iter()
                .any(|u| u.get("id").and_then(Value::as_str) == Some(bot.as_str()))
        });
    if mentions_bot {
        return;
    }
    if let Some(o) = v.as_object_mut() {
        o.insert("content".into(), json!(""));
        o.insert("embeds".into(), json!([]));
        o.insert("attachments".into(), json!([]));
        o.insert("components".into(), json!([]));
    }
}
