//! Test knobs on the guild's channels (limits, filler channels, direct deletes) and on DMs.

use crate::payloads::Render;
use crate::rest::intents;
use crate::state::{Channel, Message};
use crate::FakeDiscord;

impl FakeDiscord {
    /// Makes one category refuse new channels (and moves into it) once it holds `n`, with
    /// Discord's `CHANNEL_PARENT_MAX_CHANNELS` error: Discord is seen refusing below 50.
    pub fn set_category_limit(&self, category_id: u64, n: usize) {
        self.shared.update(|st| {
            st.category_limits.insert(category_id, n);
        });
    }

    /// Creates `n` plain text channels named `{name_prefix}-{i}` (under `parent` if given)
    /// straight in the state, past every limit, emitting CHANNEL_CREATE so the bot's cache
    /// follows. Returns their ids.
    pub fn add_filler_channels(
        &self,
        parent: Option<u64>,
        n: usize,
        name_prefix: &str,
    ) -> Vec<u64> {
        let guild_id = self.shared.config.guild_id;
        let mut created = Vec::with_capacity(n);
        let mut events = Vec::with_capacity(n);
        {
            let mut st = self.shared.lock_state();
            let overwrites = parent
                .and_then(|p| st.channels.get(&p))
                .map(|p| p.permission_overwrites.clone())
                .unwrap_or_default();
            let mut position = st
                .channels
                .values()
                .filter(|c| c.guild_id == Some(guild_id) && c.kind == 0)
                .map(|c| c.position + 1)
                .max()
                .unwrap_or(0);
            for i in 0..n {
                let ch = Channel {
                    id: self.shared.ids.next(),
                    kind: 0,
                    guild_id: Some(guild_id),
                    name: format!("{name_prefix}-{i}"),
                    parent_id: parent,
                    position,
                    topic: None,
                    nsfw: false,
                    rate_limit_per_user: 0,
                    permission_overwrites: overwrites.clone(),
                    recipients: Vec::new(),
                    last_message_id: None,
                };
                position = position.saturating_add(1);
                st.channels.insert(ch.id, ch.clone());
                created.push(ch.id);
                let r = Render {
                    st: &st,
                    cfg: &self.shared.config,
                    base: &self.shared.base_url,
                };
                events.push((
                    "CHANNEL_CREATE".to_owned(),
                    r.channel(&ch, true),
                    intents::GUILDS,
                ));
            }
        }
        self.flush(events);
        created
    }

    /// Deletes a channel straight in the state (as a human admin would), emitting CHANNEL_DELETE
    /// (and CHANNEL_UPDATE for the children of a category, which lose their parent). Returns
    /// whether it existed.
    pub fn delete_channel_direct(&self, id: u64) -> bool {
        let mut events = Vec::new();
        {
            let mut st = self.shared.lock_state();
            let Some(ch) = st.channels.remove(&id) else {
                return false;
            };
            st.deleted_channels.push(ch.clone());
            let children: Vec<u64> = st.channels_in(id).iter().map(|c| c.id).collect();
            for child in &children {
                if let Some(c) = st.channels.get_mut(child) {
                    c.parent_id = None;
                }
            }
            let r = Render {
                st: &st,
                cfg: &self.shared.config,
                base: &self.shared.base_url,
            };
            if ch.kind != 1 {
                events.push((
                    "CHANNEL_DELETE".to_owned(),
                    r.channel(&ch, true),
                    intents::GUILDS,
                ));
            }
            for child in &children {
                if let Some(c) = st.channels.get(child) {
                    events.push((
                        "CHANNEL_UPDATE".to_owned(),
                        r.channel(c, true),
                        intents::GUILDS,
                    ));
                }
            }
        }
        self.flush(events);
        true
    }

    /// Live channels under a category (`Some(id)`), or at the top level of the guild (`None`).
    pub fn channels_in(&self, parent: Option<u64>) -> Vec<Channel> {
        let guild_id = self.shared.config.guild_id;
        self.with_state(|st| {
            st.channels
                .values()
                .filter(|c| c.guild_id == Some(guild_id) && c.parent_id == parent)
                .cloned()
                .collect()
        })
    }

    /// Live channels of the guild, categories included (Discord's 500 counts these).
    pub fn guild_channel_count(&self) -> usize {
        self.with_state(|st| st.guild_channel_count())
    }

    /// The user has closed their DMs (or blocked the bot / left every shared server): messages
    /// to their DM channel fail with 403 50007 "Cannot send messages to this user". Opening
    /// the DM channel still works, as on Discord.
    pub fn close_dms(&self, user_id: u64) {
        self.shared.update(|st| {
            st.closed_dms.insert(user_id);
        });
    }

    /// The id of the bot's DM channel with `user_id`, once the bot has opened it.
    pub fn dm_channel_id(&self, user_id: u64) -> Option<u64> {
        self.with_state(|st| st.dm_channel(user_id).map(|c| c.id))
    }

    /// Messages in the DM channel with a user (what the bot sent them), oldest first.
    pub fn dm_messages(&self, user_id: u64) -> Vec<Message> {
        self.with_state(|st| match st.dm_channel(user_id) {
            Some(c) => st.channel_messages(c.id).into_iter().cloned().collect(),
            None => Vec::new(),
        })
    }

    /// Every attachment URL handed out so far stops working (404), as Discord's signed CDN
    /// links expire after about a day; messages fetched afterwards carry fresh URLs. Proves a
    /// transcript kept the bytes, not the link.
    pub fn expire_attachment_urls(&self) {
        self.shared.update(|st| st.url_generation += 1);
    }
}
