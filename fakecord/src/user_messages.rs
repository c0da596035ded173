//! Messages written by users, for transcript tests: rich ones (attachments, embeds, replies,
//! mentions), edits, and bulk-seeded history.

use serde_json::Value;

use crate::config::FakeUser;
use crate::payloads::Render;
use crate::rest::{self, intents, Ctx};
use crate::snowflake::{now_iso, snowflake_time};
use crate::state::{Attachment, Message, State};
use crate::FakeDiscord;

/// A file a user attaches to a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewAttachment {
    pub filename: String,
    /// e.g. `image/png`; `None` leaves `content_type` out, as Discord does for unknown types.
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// What a user posts with [`FakeDiscord::post_rich_message`]. Build it with the methods or
/// with struct syntax and `..Default::default()`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserMessage {
    pub content: String,
    pub attachments: Vec<NewAttachment>,
    /// Embed objects as Discord stores them (link previews, ...).
    pub embeds: Vec<Value>,
    /// The message this one replies to (type 19 with `message_reference` and
    /// `referenced_message`).
    pub reply_to: Option<u64>,
}

impl UserMessage {
    pub fn new(content: &str) -> Self {
        UserMessage {
            content: content.to_owned(),
            ..Default::default()
        }
    }

    pub fn attach(mut self, filename: &str, content_type: Option<&str>, data: Vec<u8>) -> Self {
        self.attachments.push(NewAttachment {
            filename: filename.to_owned(),
            content_type: content_type.map(str::to_owned),
            data,
        });
        self
    }

    pub fn embed(mut self, embed: Value) -> Self {
        self.embeds.push(embed);
        self
    }

    pub fn reply_to(mut self, message_id: u64) -> Self {
        self.reply_to = Some(message_id);
        self
    }
}

fn intent_of(st: &State, channel_id: u64) -> u64 {
    match st.channels.get(&channel_id) {
        Some(c) if c.kind == 1 => intents::DIRECT_MESSAGES,
        _ => intents::GUILD_MESSAGES,
    }
}

impl FakeDiscord {
    /// A user posts a message with attachments, embeds and/or a reply reference; dispatches
    /// MESSAGE_CREATE (mentions resolved from `<@id>`, attachments with signed URLs, `width` and
    /// `height` for PNGs). Returns its id.
    pub fn post_rich_message(&self, user: &FakeUser, channel_id: u64, msg: UserMessage) -> u64 {
        let mut events = Vec::new();
        let id = self.shared.ids.next();
        {
            let mut st = self.shared.lock_state();
            st.users.entry(user.id).or_insert_with(|| user.clone());
            let attachments = msg
                .attachments
                .into_iter()
                .map(|a| Attachment {
                    id: self.shared.ids.next(),
                    filename: a.filename,
                    content_type: a.content_type,
                    description: None,
                    data: a.data,
                })
                .collect();
            let embeds = msg
                .embeds
                .iter()
                .map(crate::payloads::normalize_embed)
                .collect();
            let m = Message {
                id,
                channel_id,
                author: user.clone(),
                content: msg.content,
                embeds,
                components: Vec::new(),
                flags: 0,
                attachments,
                kind: if msg.reply_to.is_some() { 19 } else { 0 },
                timestamp: now_iso(),
                edited_timestamp: None,
                interaction_id: None,
                reference_id: msg.reply_to,
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

    /// A user edits their message: new content, `edited_timestamp` set, MESSAGE_UPDATE
    /// dispatched. Returns false for an unknown or deleted message.
    pub fn edit_user_message(&self, message_id: u64, new_content: &str) -> bool {
        let event = {
            let mut st = self.shared.lock_state();
            let Some(m) = st.messages.get_mut(&message_id).filter(|m| !m.deleted) else {
                return false;
            };
            m.content = new_content.to_owned();
            m.edited_timestamp = Some(now_iso());
            let m = m.clone();
            let r = Render {
                st: &st,
                cfg: &self.shared.config,
                base: &self.shared.base_url,
            };
            let v = r.message(&m, true);
            ("MESSAGE_UPDATE".to_owned(), v, intent_of(&st, m.channel_id))
        };
        self.flush(vec![event]);
        true
    }

    /// Inserts `n` plain messages (`"message {i}"`, authors taken in turn from `authors`) into
    /// a channel's history at once, with NO gateway dispatch: for long-history benchmarks.
    /// Ids are increasing snowflakes 1 ms apart (they may run ahead of the clock by `n` ms);
    /// timestamps follow the ids. Returns the ids, oldest first.
    pub fn seed_messages(&self, channel_id: u64, n: usize, authors: &[u64]) -> Vec<u64> {
        if n == 0 {
            return Vec::new();
        }
        let fallback = [self.shared.config.owner_id];
        let authors = if authors.is_empty() {
            &fallback[..]
        } else {
            authors
        };
        let start = self.shared.ids.reserve_spaced(n as u64, 1 << 22);
        let ids: Vec<u64> = (0..n as u64).map(|i| start + (i << 22)).collect();
        self.shared.update(|st| {
            let users: Vec<FakeUser> = authors
                .iter()
                .map(|a| {
                    st.users
                        .get(a)
                        .cloned()
                        .unwrap_or_else(|| FakeUser::new(*a, &format!("user{a}")))
                })
                .collect();
            for (i, id) in ids.iter().enumerate() {
                let m = Message {
                    id: *id,
                    channel_id,
                    author: users[i % users.len()].clone(),
                    content: format!("message {i}"),
                    embeds: Vec::new(),
                    components: Vec::new(),
                    flags: 0,
                    attachments: Vec::new(),
                    kind: 0,
                    timestamp: snowflake_time(*id),
                    edited_timestamp: None,
                    interaction_id: None,
                    reference_id: None,
                    deleted: false,
                };
                st.messages.insert(*id, m);
            }
            if let Some(c) = st.channels.get_mut(&channel_id) {
                c.last_message_id = ids.last().copied();
            }
        });
        ids
    }
}
