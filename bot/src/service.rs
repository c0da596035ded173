//! What each ticket action does, in order, over the store and Discord. Handlers (slash commands,
//! buttons) only gather who asks where and show the reply.
//!
//! Order matters for "never a partial state": the row is created first (the database decides
//! the per-user limit), then the channel; if the channel cannot be made the row is discarded,
//! and if the row cannot take the channel the channel is deleted. What a crash leaves between
//! two steps is repaired at start-up and every minute after (see `reconcile`).

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use serenity::{
    ChannelId, CreateActionRow, CreateEmbed, GuildId, PermissionOverwrite, PermissionOverwriteType,
    RoleId, UserId,
};
use ticketbot_common::rules::{self, Actor, RuleError, Transition};
use ticketbot_common::store::CreateOutcome;
use ticketbot_common::ticket::{now, Ticket};
use ticketbot_common::StoreError;
use uuid::Uuid;

use crate::access::member_permissions;
use crate::data::Data;
use crate::{audit, embeds, sync};

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

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rule(r) => ServiceError::User(capitalize(&r.to_string())),
            other => ServiceError::Internal(other.into()),
        }
    }
}

impl From<RuleError> for ServiceError {
    fn from(r: RuleError) -> Self {
        ServiceError::User(capitalize(&r.to_string()))
    }
}

fn capitalize(s: &str) -> String {
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

const NOT_A_TICKET: &str = "This isn't a ticket channel. Use this inside a ticket's channel (ticket-xxxxxxxx), or use /ticket create to open one.";

/// The ticket of the channel the request came from.
async fn ticket_here(data: &Data, req: &Req) -> Result<Ticket, ServiceError> {
    data.store
        .get_by_channel(req.channel_id.get())
        .await?
        .ok_or_else(|| ServiceError::User(NOT_A_TICKET.to_owned()))
}

fn require_staff(req: &Req) -> Result<(), ServiceError> {
    if req.actor.is_staff {
        Ok(())
    } else {
        Err(RuleError::StaffOnly.into())
    }
}

async fn notice(
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

fn channel_overwrites(
    ctx: &serenity::Context,
    data: &Data,
    guild: GuildId,
    creator: UserId,
) -> Vec<PermissionOverwrite> {
    let allow = member_permissions();
    vec![
        // @everyone's role id is the guild id.
        PermissionOverwrite {
            allow: serenity::Permissions::empty(),
            deny: serenity::Permissions::VIEW_CHANNEL,
            kind: PermissionOverwriteType::Role(RoleId::new(guild.get())),
        },
        PermissionOverwrite {
            allow,
            deny: serenity::Permissions::empty(),
            kind: PermissionOverwriteType::Role(RoleId::new(data.settings.support_role_id)),
        },
        PermissionOverwrite {
            allow,
            deny: serenity::Permissions::empty(),
            kind: PermissionOverwriteType::Member(creator),
        },
        PermissionOverwrite {
            allow,
            deny: serenity::Permissions::empty(),
            kind: PermissionOverwriteType::Member(ctx.cache.current_user().id),
        },
    ]
}

/// How long an answer to a refused click waits for the channel of a ticket that a simultaneous
/// click is still creating, so that it can link to it.
const CHANNEL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Re-reads the tickets that have no channel yet (being created right now by another click)
/// until they have one, for at most [`CHANNEL_WAIT`]. Returns them, and whether one vanished
/// (discarded because its channel could not be made).
async fn wait_for_channels(data: &Data, mut open: Vec<Ticket>) -> (Vec<Ticket>, bool) {
    let deadline = tokio::time::Instant::now() + CHANNEL_WAIT;
    let mut vanished = false;
    while open.iter().any(|t| t.channel_id.is_none()) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let mut fresh = Vec::with_capacity(open.len());
        for t in open {
            if t.channel_id.is_some() {
                fresh.push(t);
                continue;
            }
            match data.store.get(t.id).await {
                Ok(Some(current)) => fresh.push(current),
                Ok(None) => vanished = true,
                Err(e) => {
                    tracing::debug!("cannot re-read ticket {}: {e}", t.id);
                    fresh.push(t);
                }
            }
        }
        open = fresh;
    }
    (open, vanished)
}

/// Opens a ticket for `user`: row, channel, welcome message.
pub async fn open(
    ctx: &serenity::Context,
    data: &Arc<Data>,
    guild: GuildId,
    user: UserId,
) -> Outcome {
    let mut attempt = 0;
    let ticket = loop {
        attempt += 1;
        let created = data
            .store
            .create_ticket(
                guild.get(),
                user.get(),
                data.settings.max_open_per_user,
                now(),
            )
            .await?;
        match created {
            CreateOutcome::Created(t) => break t,
            CreateOutcome::LimitReached { open } => {
                let (open, vanished) = wait_for_channels(data, open).await;
                // A simultaneous click's ticket was discarded (its channel failed): the slot
                // is free again.
                if vanished && attempt < 3 {
                    continue;
                }
                let links = open
                    .iter()
                    .map(|t| {
                        t.channel_id
                            .map_or_else(|| format!("`{}`", t.short_id()), |c| format!("<#{c}>"))
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(ServiceError::User(format!(
                    "You already have an open ticket: {links}. Please continue there."
                )));
            }
        }
    };
    let mut builder = serenity::CreateChannel::new(ticket.channel_name())
        .kind(serenity::ChannelType::Text)
        .topic(format!(
            "Support ticket {} opened by <@{}>",
            ticket.id, ticket.creator_id
        ))
        .permissions(channel_overwrites(ctx, data, guild, user));
    if let Some(category) = data.settings.open_category_id {
        builder = builder.category(ChannelId::new(category));
    }
    let channel = match guild.create_channel(&ctx.http, builder).await {
        Ok(c) => c,
        Err(e) => {
            if let Err(d) = data.store.discard(ticket.id).await {
                tracing::error!("ticket {} has no channel and could not be discarded ({d}); the next start repairs it", ticket.id);
            }
            let e = discord_error(&e);
            tracing::warn!("creating the channel of ticket {} failed: {e}", ticket.id);
            return Err(ServiceError::User(format!(
                "I couldn't create your ticket channel (Discord said: {e}). Nothing was saved; please try again in a moment, or ask an admin to check that I can manage channels."
            )));
        }
    };
    let ticket = match data
        .store
        .set_channel(ticket.id, Some(channel.id.get()))
        .await
    {
        Ok(t) => t,
        Err(e) => {
            channel.id.delete(&ctx.http).await.ok();
            data.store.discard(ticket.id).await.ok();
            return Err(ServiceError::Internal(
                anyhow::Error::new(e).context("recording the ticket's channel"),
            ));
        }
    };
    let (embed, buttons) = embeds::welcome(&ticket);
    let welcome = serenity::CreateMessage::new()
        .content(format!(
            "<@{}> <@&{}>",
            ticket.creator_id, data.settings.support_role_id
        ))
        .embed(embed)
        .components(buttons);
    if let Err(e) = channel.id.send_message(&ctx.http, welcome).await {
        tracing::warn!(
            "cannot post the welcome message of ticket {}: {e}",
            ticket.id
        );
    }
    audit::record(ctx, data, "opened", user.get(), &ticket, None).await;
    Ok(Reply::text(format!(
        "Your ticket is open: <#{}>",
        channel.id
    )))
}

async fn transition(
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

pub async fn close(
    ctx: &serenity::Context,
    data: &Data,
    req: &Req,
    reason: Option<String>,
) -> Outcome {
    let ticket = ticket_here(data, req).await?;
    let t = Transition::Close {
        by: Some(req.user()),
        reason: reason.clone(),
        at: now(),
        forced: false,
    };
    let closed = transition(ctx, data, req, &ticket, t).await?;
    let locked = sync::apply(&ctx.http, &ctx.cache, data, &closed).await;
    let why = reason
        .as_deref()
        .map(|r| format!("\nReason: {r}"))
        .unwrap_or_default();
    notice(
        ctx,
        &closed,
        format!("🔒 Ticket closed by <@{}>.{why}", req.user()),
        Some(embeds::closed_buttons()),
    )
    .await;
    audit::record(ctx, data, "closed", req.user(), &closed, reason.as_deref()).await;
    match locked {
        Ok(()) => Ok(Reply::text("Ticket closed.")),
        Err(e) => {
            tracing::warn!(
                "ticket {} closed but its channel was not locked: {e}",
                closed.id
            );
            Ok(Reply::text(format!(
                "Ticket closed, but I couldn't lock the channel yet (Discord said: {}); I'll retry shortly.",
                discord_error(&e)
            )))
        }
    }
}

pub async fn reopen(ctx: &serenity::Context, data: &Data, req: &Req) -> Outcome {
    let ticket = ticket_here(data, req).await?;
    let t = Transition::Reopen {
        by: req.user(),
        at: now(),
    };
    let opened = transition(ctx, data, req, &ticket, t).await?;
    let unlocked = sync::apply(&ctx.http, &ctx.cache, data, &opened).await;
    notice(
        ctx,
        &opened,
        format!("🔓 Ticket reopened by <@{}>.", req.user()),
        Some(embeds::ticket_buttons()),
    )
    .await;
    audit::record(ctx, data, "reopened", req.user(), &opened, None).await;
    match unlocked {
        Ok(()) => Ok(Reply::text("Ticket reopened.")),
        Err(e) => Ok(Reply::text(format!(
            "Ticket reopened, but I couldn't unlock the channel yet (Discord said: {}); I'll retry shortly.",
            discord_error(&e)
        ))),
    }
}

pub async fn claim(ctx: &serenity::Context, data: &Data, req: &Req) -> Outcome {
    let ticket = ticket_here(data, req).await?;
    let t = Transition::Claim {
        by: req.user(),
        at: now(),
    };
    let claimed = transition(ctx, data, req, &ticket, t).await?;
    notice(
        ctx,
        &claimed,
        format!(
            "🙋 <@{}> claimed this ticket and will handle it.",
            req.user()
        ),
        None,
    )
    .await;
    audit::record(ctx, data, "claimed", req.user(), &claimed, None).await;
    Ok(Reply::text("You claimed this ticket."))
}

pub async fn unclaim(ctx: &serenity::Context, data: &Data, req: &Req) -> Outcome {
    let ticket = ticket_here(data, req).await?;
    let t = Transition::Unclaim {
        by: req.user(),
        at: now(),
    };
    let unclaimed = transition(ctx, data, req, &ticket, t).await?;
    notice(
        ctx,
        &unclaimed,
        format!(
            "<@{}> unclaimed this ticket; another staff member can claim it.",
            req.user()
        ),
        None,
    )
    .await;
    audit::record(ctx, data, "unclaimed", req.user(), &unclaimed, None).await;
    Ok(Reply::text("You unclaimed this ticket."))
}

pub async fn add(ctx: &serenity::Context, data: &Data, req: &Req, user: UserId) -> Outcome {
    require_staff(req)?;
    let ticket = ticket_here(data, req).await?;
    data.store
        .add_participant(ticket.id, user.get(), req.user(), now())
        .await?;
    let overwrite = PermissionOverwrite {
        allow: member_permissions(),
        deny: serenity::Permissions::empty(),
        kind: PermissionOverwriteType::Member(user),
    };
    if let Err(e) = req.channel_id.create_permission(&ctx.http, overwrite).await {
        // Undo the record so that database and channel agree.
        data.store
            .remove_participant(ticket.id, user.get(), req.user(), now())
            .await
            .ok();
        let e = discord_error(&e);
        return Err(ServiceError::User(format!("I couldn't give <@{user}> access to this channel (Discord said: {e}); nothing changed.")));
    }
    notice(
        ctx,
        &ticket,
        format!("➕ <@{user}> was added by <@{}>.", req.user()),
        None,
    )
    .await;
    audit::record(
        ctx,
        data,
        "participant added",
        req.user(),
        &ticket,
        Some(&format!("<@{user}>")),
    )
    .await;
    Ok(Reply::text(format!("Added <@{user}> to this ticket.")))
}

pub async fn remove(ctx: &serenity::Context, data: &Data, req: &Req, user: UserId) -> Outcome {
    require_staff(req)?;
    let ticket = ticket_here(data, req).await?;
    data.store
        .remove_participant(ticket.id, user.get(), req.user(), now())
        .await?;
    if let Err(e) = req
        .channel_id
        .delete_permission(&ctx.http, PermissionOverwriteType::Member(user))
        .await
    {
        data.store
            .add_participant(ticket.id, user.get(), req.user(), now())
            .await
            .ok();
        let e = discord_error(&e);
        return Err(ServiceError::User(format!(
            "I couldn't take <@{user}>'s access away (Discord said: {e}); nothing changed."
        )));
    }
    notice(
        ctx,
        &ticket,
        format!("➖ <@{user}> was removed by <@{}>.", req.user()),
        None,
    )
    .await;
    audit::record(
        ctx,
        data,
        "participant removed",
        req.user(),
        &ticket,
        Some(&format!("<@{user}>")),
    )
    .await;
    Ok(Reply::text(format!("Removed <@{user}> from this ticket.")))
}

pub async fn info(data: &Data, req: &Req) -> Outcome {
    let ticket = ticket_here(data, req).await?;
    let participants = data.store.participants(ticket.id).await?;
    Ok(Reply {
        embed: Some(embeds::info(&ticket, &participants)),
        ..Reply::default()
    })
}

/// Asks for confirmation; the confirm button carries the ticket id.
pub async fn request_delete(data: &Data, req: &Req) -> Outcome {
    require_staff(req)?;
    let ticket = ticket_here(data, req).await?;
    Ok(Reply {
        content: format!(
            "Delete ticket {} for good? Its channel and record go; its history stays in the audit log.",
            ticket.short_id()
        ),
        embed: None,
        components: embeds::delete_confirm(&ticket),
    })
}

pub async fn confirm_delete(ctx: &serenity::Context, data: &Data, req: &Req, id: Uuid) -> Outcome {
    require_staff(req)?;
    let Some(ticket) = data.store.get(id).await? else {
        return Err(ServiceError::User("That ticket is already deleted.".into()));
    };
    if let Some(channel) = ticket.channel_id {
        match ChannelId::new(channel).delete(&ctx.http).await {
            Ok(_) => {}
            Err(serenity::Error::Http(e))
                if e.status_code() == Some(serenity::StatusCode::NOT_FOUND) => {}
            Err(e) => {
                let e = discord_error(&e);
                return Err(ServiceError::User(format!(
                    "I couldn't delete the channel (Discord said: {e}); the ticket is kept. Check that I can manage channels and try again."
                )));
            }
        }
    }
    data.store.delete(id, Some(req.user()), now()).await?;
    // Only once it is done: the entry is built from the ticket as read above, and it goes to
    // the log channel, so nothing is lost by waiting (a refused delete must leave no entry).
    audit::record(ctx, data, "deleted", req.user(), &ticket, None).await;
    Ok(Reply::text(format!(
        "Ticket {} deleted.",
        ticket.short_id()
    )))
}

pub async fn post_panel(ctx: &serenity::Context, req: &Req) -> Outcome {
    require_staff(req)?;
    let (embed, buttons) = embeds::panel();
    let msg = serenity::CreateMessage::new()
        .embed(embed)
        .components(buttons);
    req.channel_id
        .send_message(&ctx.http, msg)
        .await
        .map_err(|e| ServiceError::User(format!("I couldn't post the panel here (Discord said: {}). Check that I can send messages in this channel.", discord_error(&e))))?;
    Ok(Reply::text(
        "Panel posted. Anyone can now open a ticket with its button.",
    ))
}
