//! The transcript as plain data: what the bot collects from a ticket's channel and what is
//! stored (compressed, see [`crate::encode`]) and rendered.
//!
//! Discord ids ("snowflakes") are `u64` here and decimal strings in JSON, as Discord sends them
//! (JavaScript readers lose precision above 2^53). Reading accepts numbers too.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_with::{base64::Base64, serde_as, DisplayFromStr, PickFirst};
use uuid::Uuid;

/// Version of the model written into [`Transcript::version`] and the stored header.
pub const FORMAT_VERSION: u32 = 1;

/// Reference to an [`Asset`] by its [`Asset::id`] (any string unique in the transcript, e.g.
/// the attachment id or `avatar-<user id>`).
pub type AssetId = String;

/// A ticket channel's whole conversation and what is needed to show it without Discord.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// [`FORMAT_VERSION`] of the writer.
    pub version: u32,
    /// When the bot made the transcript.
    pub generated_at: DateTime<Utc>,
    /// The ticket.
    pub summary: Summary,
    /// Everyone who wrote, was mentioned or appears in the summary (creator, claimer, ...).
    pub users: Vec<User>,
    /// Roles, for `<@&id>` mentions.
    #[serde(default)]
    pub roles: Vec<NamedRef>,
    /// Channels, for `<#id>` mentions.
    #[serde(default)]
    pub channels: Vec<NamedRef>,
    /// Messages, oldest first.
    pub messages: Vec<Message>,
    /// Files kept in the transcript (attachments, avatars, embed images).
    #[serde(default)]
    pub assets: Vec<Asset>,
    /// Files that were left out, and why.
    #[serde(default)]
    pub omitted: Vec<Omission>,
}

/// The ticket the transcript belongs to.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The ticket's id.
    pub ticket_id: Uuid,
    /// Its short id, as in the channel name (`ticket-<short id>`) and `ticketctl`.
    pub short_id: String,
    #[serde_as(as = "PickFirst<(DisplayFromStr, _)>")]
    pub guild_id: u64,
    pub guild_name: Option<String>,
    /// The ticket channel (None if it was already gone).
    #[serde_as(as = "Option<PickFirst<(DisplayFromStr, _)>>")]
    #[serde(default)]
    pub channel_id: Option<u64>,
    pub channel_name: String,
    /// The ticket's status when the transcript was made (`open`, `closed`, ...).
    pub status: String,
    #[serde_as(as = "PickFirst<(DisplayFromStr, _)>")]
    pub creator_id: u64,
    #[serde_as(as = "Option<PickFirst<(DisplayFromStr, _)>>")]
    #[serde(default)]
    pub claimed_by: Option<u64>,
    /// Users added to the ticket (besides the creator).
    #[serde_as(as = "Vec<PickFirst<(DisplayFromStr, _)>>")]
    #[serde(default)]
    pub participants: Vec<u64>,
    pub opened_at: DateTime<Utc>,
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde_as(as = "Option<PickFirst<(DisplayFromStr, _)>>")]
    #[serde(default)]
    pub closed_by: Option<u64>,
    #[serde(default)]
    pub close_reason: Option<String>,
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
    #[serde_as(as = "Option<PickFirst<(DisplayFromStr, _)>>")]
    #[serde(default)]
    pub archived_by: Option<u64>,
}

/// A Discord user as shown in the transcript.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    #[serde_as(as = "PickFirst<(DisplayFromStr, _)>")]
    pub id: u64,
    /// Username (unique handle).
    pub name: String,
    /// Server nickname or global display name, if any.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Avatar image, an [`Asset`] id.
    #[serde(default)]
    pub avatar: Option<AssetId>,
    #[serde(default)]
    pub bot: bool,
    /// Colour of the member's top coloured role (`0xRRGGBB`).
    #[serde(default)]
    pub color: Option<u32>,
}

impl User {
    /// The display name, else the username.
    pub fn shown_name(&self) -> &str {
        self.display_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.name)
    }
}

/// A role or channel, for mentions.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRef {
    #[serde_as(as = "PickFirst<(DisplayFromStr, _)>")]
    pub id: u64,
    pub name: String,
    /// Role colour (`0xRRGGBB`); unused for channels.
    #[serde(default)]
    pub color: Option<u32>,
}

/// One message of the channel.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    #[serde_as(as = "PickFirst<(DisplayFromStr, _)>")]
    pub id: u64,
    #[serde_as(as = "PickFirst<(DisplayFromStr, _)>")]
    pub author_id: u64,
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub edited_timestamp: Option<DateTime<Utc>>,
    /// Discord markdown, as sent.
    #[serde(default)]
    pub content: String,
    /// The message this one replies to.
    #[serde_as(as = "Option<PickFirst<(DisplayFromStr, _)>>")]
    #[serde(default)]
    pub reply_to: Option<u64>,
    #[serde(default)]
    pub embeds: Vec<Embed>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default)]
    pub pinned: bool,
    /// For messages that are not ordinary ones (Discord's non-default message types): what
    /// happened, e.g. `"pinned a message"`, `"added @bob to the thread"`. Shown after the
    /// author's name.
    #[serde(default)]
    pub system: Option<String>,
}

/// A rich embed (as bots send). Images are [`Asset`] ids.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Embed {
    #[serde(default)]
    pub title: Option<String>,
    /// Discord markdown.
    #[serde(default)]
    pub description: Option<String>,
    /// Link of the title (only `http`/`https` become links).
    #[serde(default)]
    pub url: Option<String>,
    /// Left border colour (`0xRRGGBB`).
    #[serde(default)]
    pub color: Option<u32>,
    /// Author line (name only).
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub fields: Vec<EmbedField>,
    #[serde(default)]
    pub footer: Option<String>,
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub image: Option<AssetId>,
    #[serde(default)]
    pub thumbnail: Option<AssetId>,
}

/// A field of an [`Embed`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EmbedField {
    pub name: String,
    /// Discord markdown.
    pub value: String,
    #[serde(default)]
    pub inline: bool,
}

/// A file attached to a message.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    #[serde_as(as = "PickFirst<(DisplayFromStr, _)>")]
    pub id: u64,
    pub filename: String,
    #[serde(default)]
    pub content_type: Option<String>,
    /// Size in bytes as Discord reported it.
    pub size: u64,
    /// The kept file; `None`: left out (see [`Transcript::omitted`]).
    #[serde(default)]
    pub asset: Option<AssetId>,
    /// Image dimensions, if an image.
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
}

/// A file kept inside the transcript.
#[serde_as]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub id: AssetId,
    /// MIME type. Only `image/png`, `image/jpeg`, `image/gif` and `image/webp` are shown as
    /// images; everything else is offered as a download (as `application/octet-stream`).
    pub content_type: String,
    pub filename: String,
    /// The bytes (base64 in JSON).
    #[serde_as(as = "Base64")]
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Asset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asset")
            .field("id", &self.id)
            .field("content_type", &self.content_type)
            .field("filename", &self.filename)
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .finish()
    }
}

/// A file that was not kept, and why.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Omission {
    /// The message it was attached to (None for avatars, embed images, ...).
    #[serde_as(as = "Option<PickFirst<(DisplayFromStr, _)>>")]
    #[serde(default)]
    pub message_id: Option<u64>,
    pub filename: String,
    pub size: u64,
    /// E.g. "larger than the 8 MiB per-file cap".
    pub reason: String,
}

impl Transcript {
    /// The first message by staff, for tickets that predate first-response tracking: the first
    /// message by a person who is neither the creator, nor a participant, nor a bot — in a
    /// ticket channel only staff write besides them. System messages do not count.
    pub fn first_staff_message(&self) -> Option<&Message> {
        let s = &self.summary;
        let bot = |id: u64| self.users.iter().any(|u| u.id == id && u.bot);
        self.messages.iter().find(|m| {
            m.system.is_none()
                && m.author_id != s.creator_id
                && !s.participants.contains(&m.author_id)
                && !bot(m.author_id)
        })
    }

    /// The asset with this id.
    pub fn asset(&self, id: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.id == id)
    }

    /// The user with this id.
    pub fn user(&self, id: u64) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }
}
