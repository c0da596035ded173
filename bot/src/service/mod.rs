//! What each ticket action does, in order, over the store and Discord. Handlers (slash commands,
//! buttons) only gather who asks where and show the reply.
//!
//! Order matters for "never a partial state": the row is created first (the database decides
//! the per-user limit), then the channel; if the channel cannot be made the row is discarded,
//! and if the row cannot take the channel the channel is deleted. What a crash leaves between
//! two steps is repaired at start-up and every minute after (see `reconcile`).

mod archiving;
mod members;
mod open;
mod states;

pub use archiving::{archive, confirm_delete, request_delete, transcript};
pub use members::{add, info, remove};
pub use open::{open, post_panel};
pub use states::{claim, close, reopen, unclaim};

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use serenity::{
    ChannelId, CreateActionRow, CreateEmbed, GuildId, PermissionOverwrite, PermissionOverwriteType,
    RoleId, UserId,
};
use ticketbot_common::rules::{self, Actor, RuleError, Transition};
use ticketbot_common::store::{CategoryKind, CreateOutcome};
use ticketbot_common::ticket::{now, Ticket};
use ticketbot_common::StoreError;
use uuid::Uuid;

use crate::access::member_permissions;
use crate::categories::{self, PlaceError};
use crate::data::Data;
use crate::{audit, embeds, sync, transcripts};

/// Who asks, where.
#[derive(Debug, Clone, Copy)]
pub struct Req {
    pub guild_id: GuildId,
    pub channel_id: ChannelId,
    pub actor: Actor,
}

impl Req {
    fn user(&self) -> u64 {
        self.actor.user_id
    }
}

/// What the asker sees (ephemeral).
#[derive(Default)]
pub struct Reply {
    pub content: String,
    pub embed: Option<CreateEmbed>,
    pub components: Vec<CreateActionRow>,
    /// Files (a transcript), each under Discord's upload limit.
    pub files: Vec<serenity::CreateAttachment>,
}

impl Reply {
    pub fn text(content: impl Into<String>) -> Self {
        Reply {
            content: content.into(),
            ..Reply::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Shown to the asker as is: what went wrong and what to do instead.
    #[error("{0}")]
    User(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a user is told while the database cannot be reached.
pub(crate) const DATABASE_UNAVAILABLE: &str = "I can't reach the ticket database right now, so I couldn't do that. Please try again in a minute.";

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rule(r) => ServiceError::User(capitalize(&r.to_string())),
            e if e.is_unavailable() => {
                tracing::error!("the database is unavailable: {e}");
                ServiceError::User(DATABASE_UNAVAILABLE.into())
            }
            other => ServiceError::Internal(other.into()),
        }
    }
}

impl From<RuleError> for ServiceError {
    fn from(r: RuleError) -> Self {
        ServiceError::User(capitalize(&r.to_string()))
    }
}

pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

pub type Outcome = Result<Reply, ServiceError>;

/// Discord's error, fit to show a person: the status with Discord's message. A 429 carries no
/// JSON error code, so serenity's own text for it is a decoding complaint; say what it means.
pub fn discord_error(e: &serenity::Error) -> String {
    match e {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)) => {
            let status = r.status_code.as_u16();
            if status == 429 {
                "it is rate-limiting me (HTTP 429)".to_owned()
            } else if r.error.code == -1 || r.error.message.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("{e} (HTTP {status})")
            }
        }
        other => other.to_string(),
    }
}

pub(crate) const NOT_A_TICKET: &str = "This isn't a ticket channel. Use this inside a ticket's channel (ticket-xxxxxxxx), or use /ticket create to open one.";

/// The ticket of the channel the request came from.
pub(crate) async fn ticket_here(data: &Data, req: &Req) -> Result<Ticket, ServiceError> {
    data.store
        .get_by_channel(req.channel_id.get())
        .await?
        .ok_or_else(|| ServiceError::User(NOT_A_TICKET.to_owned()))
}

pub(crate) fn require_staff(req: &Req) -> Result<(), ServiceError> {
    if req.actor.is_staff {
        Ok(())
    } else {
        Err(RuleError::StaffOnly.into())
    }
}

pub(crate) async fn notice(
    ctx: &serenity::Context,
    ticket: &Ticket,
    text: String,
    buttons: Option<CreateActionRow>,
) {
    let Some(channel) = ticket.channel_id else {
        return;
    };
    let mut msg = serenity::CreateMessage::new().embed(embeds::notice(text));
    if let Some(row) = buttons {
        msg = msg.components(vec![row]);
    }
    if let Err(e) = ChannelId::new(channel).send_message(&ctx.http, msg).await {
        tracing::warn!("cannot post a notice in ticket {}: {e}", ticket.id);
    }
}

pub(crate) async fn transition(
    ctx: &serenity::Context,
    data: &Data,
    req: &Req,
    ticket: &Ticket,
    t: Transition,
) -> Result<Ticket, ServiceError> {
    rules::authorize(ticket, &req.actor, &t, &data.policy)?;
    let updated = data.store.transition(ticket.id, &t).await?;
    tracing::debug!(ticket = %updated.id, ?t, "transition applied");
    let _ = ctx;
    Ok(updated)
}

/// The ticket a staff member names by id (short id, longer prefix or full id), in this guild.
pub(crate) async fn ticket_by_id(
    data: &Data,
    req: &Req,
    raw: &str,
) -> Result<Ticket, ServiceError> {
    require_staff(req)?;
    let raw = raw
        .trim()
        .trim_start_matches("ticket-")
        .to_ascii_lowercase();
    if raw.len() < 4 || !raw.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(ServiceError::User(format!(
            "`{}` is not a ticket id. Use the id shown by /ticket info or in the log channel (for example `1b4e28ba`).",
            raw.chars().take(40).collect::<String>()
        )));
    }
    let found = data.store.find_by_prefix(&raw, 5).await?;
    let here: Vec<_> = found
        .into_iter()
        .filter(|t| t.guild_id == req.guild_id.get())
        .collect();
    match here.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(ServiceError::User(format!(
            "No ticket `{raw}` in this server."
        ))),
        _ => Err(ServiceError::User(format!(
            "More than one ticket starts with `{raw}`; give more of its id."
        ))),
    }
}
