//! Driving the bot as Discord's users do: commands, clicks, messages, members joining and
//! leaving, raw dispatches.

use std::time::Instant;

use serde_json::{json, Value};

use crate::interactions::{self, OptionValue};
use crate::payloads::{self, sf, Render};
use crate::rest::{self, intents};
use crate::snowflake::{now_iso, snowflake_time};
use crate::state::{Interaction, Member};
use crate::{lock, perms, FakeDiscord, FakeUser, Links, UserMessage};

impl FakeDiscord {
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
    pub(crate) fn send_interaction(
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

    pub(crate) fn component(
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
        self.post_rich_message(user, channel_id, UserMessage::new(content))
    }

    pub(crate) fn flush(&self, events: Vec<rest::Ev>) {
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
}
