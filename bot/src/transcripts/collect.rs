//! Reads a ticket channel's whole history from Discord and turns it into the Discord-free
//! transcript model: messages oldest first, their authors, mentions, embeds, and the bytes of
//! attachments and avatars (Discord's CDN links expire, so the bytes are what is kept).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use poise::serenity_prelude as serenity;
use serenity::{ChannelId, GetMessages, MessageId};
use ticketbot_common::ticket::{EventKind, Ticket};
use ticketbot_transcript as tr;

use crate::data::Data;

/// Messages per history page: Discord's maximum.
const PAGE: u8 = 100;

/// Downloads run this many at a time.
const PARALLEL_DOWNLOADS: usize = 4;

/// Why a transcript could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("the ticket has no channel")]
    NoChannel,
    /// Discord says the channel does not exist (any more).
    #[error("the ticket's channel no longer exists")]
    ChannelGone,
    #[error("Discord refused to show the channel's messages: {0}")]
    Discord(String),
    #[error(transparent)]
    Store(#[from] ticketbot_common::StoreError),
}

fn time(ts: &serenity::Timestamp) -> DateTime<Utc> {
    **ts
}

/// Every message of the channel, oldest first, one page of 100 at a time.
pub async fn fetch_history(
    http: &serenity::Http,
    channel: ChannelId,
) -> Result<Vec<serenity::Message>, CollectError> {
    let mut all: Vec<serenity::Message> = Vec::new();
    let mut after = MessageId::new(1);
    loop {
        let page = channel
            .messages(http, GetMessages::new().after(after).limit(PAGE))
            .await
            .map_err(|e| match &e {
                serenity::Error::Http(h)
                    if h.status_code() == Some(serenity::StatusCode::NOT_FOUND) =>
                {
                    CollectError::ChannelGone
                }
                _ => CollectError::Discord(crate::service::discord_error(&e)),
            })?;
        let n = page.len();
        let Some(newest) = page.iter().map(|m| m.id).max() else {
            break;
        };
        all.extend(page);
        after = newest;
        if n < usize::from(PAGE) {
            break;
        }
    }
    all.sort_by_key(|m| m.id);
    all.dedup_by_key(|m| m.id);
    Ok(all)
}

fn system_text(kind: serenity::MessageType) -> Option<String> {
    use serenity::MessageType as K;
    let text = match kind {
        K::Regular | K::InlineReply | K::ChatInputCommand | K::ContextMenuCommand => return None,
        K::PinsAdd => "pinned a message",
        K::MemberJoin => "joined the server",
        K::ThreadCreated => "started a thread",
        _ => "did something Discord shows as a system message",
    };
    Some(text.to_owned())
}

fn embed(e: &serenity::Embed) -> tr::Embed {
    tr::Embed {
        title: e.title.clone(),
        description: e.description.clone(),
        url: e.url.clone(),
        color: e.colour.map(|c| c.0),
        author: e.author.as_ref().map(|a| a.name.clone()),
        fields: e
            .fields
            .iter()
            .map(|f| tr::EmbedField {
                name: f.name.clone(),
                value: f.value.clone(),
                inline: f.inline,
            })
            .collect(),
        footer: e.footer.as_ref().map(|f| f.text.clone()),
        timestamp: e.timestamp.as_ref().map(time),
        // Images of embeds point anywhere on the web; fetching them would make the bot a
        // proxy for arbitrary URLs. Their address stays in `url`/the description.
        image: None,
        thumbnail: None,
    }
}

/// Something to download: an attachment of a message, or a user's avatar.
enum Wanted {
    Attachment {
        message: u64,
        index: usize,
        url: String,
        filename: String,
        content_type: String,
    },
    Avatar {
        user: u64,
        url: String,
    },
}

async fn download(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let resp = client.get(url).send().await.map_err(|e| {
        // reqwest's text can carry the URL's query (signed, harmless) but never a secret.
        format!("download failed ({})", e.without_url())
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("download failed (HTTP {})", status.as_u16()));
    }
    resp.bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|e| format!("download failed ({})", e.without_url()))
}

/// Who did what to the ticket, from its history: the summary's archived/closed "by whom".
async fn archived_by(data: &Data, ticket: &Ticket) -> Option<u64> {
    let history = data.store.history(ticket.id).await.ok()?;
    history
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::Archived)
        .and_then(|e| e.actor_id)
}

/// Reads the channel and builds the transcript. `archiving` describes an archive in progress
/// (its time and who asked), shown in the summary.
pub async fn collect(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    ticket: &Ticket,
    archiving: Option<(DateTime<Utc>, Option<u64>)>,
) -> Result<tr::Transcript, CollectError> {
    let channel = ticket
        .channel_id
        .map(ChannelId::new)
        .ok_or(CollectError::NoChannel)?;
    let messages = fetch_history(http, channel).await?;
    let participants = data.store.participants(ticket.id).await?;

    let mut users: BTreeMap<u64, tr::User> = BTreeMap::new();
    let mut avatar_urls: HashMap<u64, String> = HashMap::new();
    let mut meet = |u: &serenity::User, nick: Option<&str>| {
        let id = u.id.get();
        if let Some(hash) = &u.avatar {
            avatar_urls.entry(id).or_insert_with(|| {
                format!("{}/avatars/{id}/{hash}.png?size=64", data.settings.cdn_base)
            });
        }
        users.entry(id).or_insert_with(|| tr::User {
            id,
            name: u.name.clone(),
            display_name: nick.map(str::to_owned).or_else(|| u.global_name.clone()),
            avatar: None,
            bot: u.bot,
            color: None,
        });
    };
    for m in &messages {
        meet(&m.author, m.member.as_ref().and_then(|p| p.nick.as_deref()));
        for u in &m.mentions {
            meet(u, None);
        }
    }
    // People the summary names who did not write (the claimer, an added member, ...).
    let named = [ticket.creator_id]
        .into_iter()
        .chain(ticket.claimed_by)
        .chain(ticket.closed_by)
        .chain(archiving.and_then(|(_, by)| by))
        .chain(participants.iter().map(|p| p.user_id));
    for id in named {
        let known = cache
            .guild(serenity::GuildId::new(ticket.guild_id))
            .and_then(|g| {
                g.members
                    .get(&serenity::UserId::new(id))
                    .map(|m| (m.user.clone(), m.nick.clone()))
            });
        if let Some((user, nick)) = known {
            meet(&user, nick.as_deref());
        }
    }

    let guild = serenity::GuildId::new(ticket.guild_id);
    let (guild_name, roles, channels, channel_name) = cache
        .guild(guild)
        .map(|g| {
            let roles = g
                .roles
                .values()
                .map(|r| tr::NamedRef {
                    id: r.id.get(),
                    name: r.name.clone(),
                    color: (r.colour.0 != 0).then_some(r.colour.0),
                })
                .collect::<Vec<_>>();
            let channels = g
                .channels
                .values()
                .map(|c| tr::NamedRef {
                    id: c.id.get(),
                    name: c.name.clone(),
                    color: None,
                })
                .collect::<Vec<_>>();
            let name = g
                .channels
                .get(&channel)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| ticket.channel_name());
            (Some(g.name.clone()), roles, channels, name)
        })
        .unwrap_or_else(|| (None, Vec::new(), Vec::new(), ticket.channel_name()));

    // What to download, in message order, admitted by the size caps.
    let mut budget = tr::AssetBudget::new(tr::Limits {
        max_file_bytes: data.settings.transcript_max_file_bytes,
        max_total_bytes: data.settings.transcript_max_total_bytes,
    });
    let mut omitted = Vec::new();
    let mut wanted = Vec::new();
    let mut out_messages = Vec::with_capacity(messages.len());
    for m in &messages {
        let mut attachments = Vec::with_capacity(m.attachments.len());
        for (index, a) in m.attachments.iter().enumerate() {
            let size = u64::from(a.size);
            match budget.admit(size) {
                Ok(()) => wanted.push(Wanted::Attachment {
                    message: m.id.get(),
                    index,
                    url: a.url.clone(),
                    filename: a.filename.clone(),
                    content_type: a
                        .content_type
                        .clone()
                        .unwrap_or_else(|| "application/octet-stream".into()),
                }),
                Err(reason) => omitted.push(tr::Omission {
                    message_id: Some(m.id.get()),
                    filename: a.filename.clone(),
                    size,
                    reason,
                }),
            }
            attachments.push(tr::Attachment {
                id: a.id.get(),
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size,
                asset: None,
                width: a.width,
                height: a.height,
            });
        }
        out_messages.push(tr::Message {
            id: m.id.get(),
            author_id: m.author.id.get(),
            timestamp: time(&m.timestamp),
            edited_timestamp: m.edited_timestamp.as_ref().map(time),
            content: m.content.clone(),
            reply_to: m
                .message_reference
                .as_ref()
                .and_then(|r| r.message_id)
                .map(|id| id.get()),
            embeds: m.embeds.iter().map(embed).collect(),
            attachments,
            pinned: m.pinned,
            system: system_text(m.kind),
        });
    }
    for (user, url) in avatar_urls {
        wanted.push(Wanted::Avatar { user, url });
    }

    let client = reqwest::Client::new();
    let fetched: Vec<(Wanted, Result<Vec<u8>, String>)> = futures::stream::iter(wanted)
        .map(|w| {
            let client = client.clone();
            async move {
                let url = match &w {
                    Wanted::Attachment { url, .. } | Wanted::Avatar { url, .. } => url.clone(),
                };
                let got = download(&client, &url).await;
                (w, got)
            }
        })
        .buffered(PARALLEL_DOWNLOADS)
        .collect()
        .await;

    let index_of: HashMap<u64, usize> = out_messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id, i))
        .collect();
    let mut assets = Vec::new();
    for (w, got) in fetched {
        match (w, got) {
            (
                Wanted::Attachment {
                    message,
                    index,
                    filename,
                    content_type,
                    ..
                },
                Ok(bytes),
            ) => {
                let id = format!("a{message}-{index}");
                if let Some(a) = index_of
                    .get(&message)
                    .and_then(|&i| out_messages[i].attachments.get_mut(index))
                {
                    a.asset = Some(id.clone());
                }
                assets.push(tr::Asset {
                    id,
                    content_type,
                    filename,
                    data: bytes,
                });
            }
            (
                Wanted::Attachment {
                    message, filename, ..
                },
                Err(reason),
            ) => {
                let size = index_of
                    .get(&message)
                    .and_then(|&i| {
                        out_messages[i]
                            .attachments
                            .iter()
                            .find(|a| a.filename == filename)
                    })
                    .map_or(0, |a| a.size);
                omitted.push(tr::Omission {
                    message_id: Some(message),
                    filename,
                    size,
                    reason,
                });
            }
            (Wanted::Avatar { user, .. }, Ok(bytes)) => {
                let id = format!("avatar-{user}");
                if let Some(u) = users.get_mut(&user) {
                    u.avatar = Some(id.clone());
                }
                assets.push(tr::Asset {
                    id,
                    content_type: "image/png".into(),
                    filename: format!("avatar-{user}.png"),
                    data: bytes,
                });
            }
            (Wanted::Avatar { user, .. }, Err(reason)) => {
                tracing::debug!("avatar of {user} not saved: {reason}");
            }
        }
    }

    let mut seen_participants = HashSet::new();
    let summary = tr::Summary {
        ticket_id: ticket.id,
        short_id: ticket.short_id(),
        guild_id: ticket.guild_id,
        guild_name,
        channel_id: ticket.channel_id,
        channel_name,
        status: ticket.status.as_str().to_owned(),
        creator_id: ticket.creator_id,
        claimed_by: ticket.claimed_by,
        participants: participants
            .iter()
            .map(|p| p.user_id)
            .filter(|u| seen_participants.insert(*u))
            .collect(),
        opened_at: ticket.created_at,
        closed_at: ticket.closed_at,
        closed_by: ticket.closed_by,
        close_reason: ticket.close_reason.clone(),
        archived_at: archiving.map(|(at, _)| at).or(ticket.archived_at),
        archived_by: match archiving {
            Some((_, by)) => by,
            None if ticket.is_archived() => archived_by(data, ticket).await,
            None => None,
        },
    };
    Ok(tr::Transcript {
        version: tr::FORMAT_VERSION,
        generated_at: ticketbot_common::ticket::now(),
        summary,
        users: users.into_values().collect(),
        roles,
        channels,
        messages: out_messages,
        assets,
        omitted,
    })
}
