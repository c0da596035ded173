//! `/ticket <verb>`: thin handlers over `service`.

use std::future::Future;

use poise::serenity_prelude as serenity;

use super::topic::topic;
use crate::data::{Context, Error, WorkGuard};
use crate::service::{self, Outcome, Req, ServiceError};
use crate::{access, deadline, events};

/// Staff only: the support role (or administrator), or a topic's role, checked for every use
/// (and again per ticket by each command). When the database cannot say, the command runs and
/// reports that itself.
async fn require_staff(ctx: Context<'_>) -> Result<bool, Error> {
    let (Some(guild), Some(member)) = (ctx.guild_id(), ctx.author_member().await) else {
        return Ok(false);
    };
    match access::may_use_staff_commands(ctx.data(), guild, Some(&member)).await {
        Ok(may) => Ok(may),
        Err(e) => {
            tracing::warn!("cannot read the topics' roles: {e}");
            Ok(true)
        }
    }
}

/// Describes the request; `None` (the user told why) when the bot is shutting down.
pub(super) async fn start(ctx: Context<'_>) -> Result<Option<(Req, WorkGuard)>, Error> {
    let Some(work) = ctx.data().begin_work() else {
        events::say(
            ctx,
            "The bot is restarting; please try again in a few seconds.",
        )
        .await?;
        return Ok(None);
    };
    let Some(guild_id) = ctx.guild_id() else {
        events::say(
            ctx,
            "Ticket commands work inside a server, not in direct messages.",
        )
        .await?;
        return Ok(None);
    };
    let member = ctx.author_member().await;
    let actor = match access::actor_in(
        ctx.data(),
        guild_id,
        ctx.channel_id(),
        ctx.author().id,
        member.as_deref(),
    )
    .await
    {
        Ok(actor) => actor,
        Err(e) => {
            events::say(ctx, service::database_unavailable(ctx.data(), &e)).await?;
            return Ok(None);
        }
    };
    Ok(Some((
        Req {
            guild_id,
            channel_id: ctx.channel_id(),
            actor,
        },
        work,
    )))
}

/// Runs the work and answers with its outcome, ephemerally: at once when it is quick, after
/// an acknowledgement when it is not (see `deadline`).
pub(super) async fn respond(
    ctx: Context<'_>,
    work: impl Future<Output = Outcome>,
) -> Result<(), Error> {
    let (outcome, _acknowledged) = deadline::run(work, ctx.defer_ephemeral()).await;
    match outcome {
        Ok(reply) => {
            ctx.send(reply.ephemeral()).await?;
            Ok(())
        }
        Err(ServiceError::User(msg)) => events::say(ctx, &msg).await,
        Err(ServiceError::Unavailable(e)) => {
            events::say(ctx, service::database_unavailable(ctx.data(), &e)).await
        }
        Err(ServiceError::Internal(e)) => Err(e.into()),
    }
}

/// Support tickets.
#[poise::command(
    slash_command,
    guild_only,
    check = "require_staff",
    subcommands(
        "setup",
        "create",
        "close",
        "close_request",
        "delete",
        "add",
        "remove",
        "claim",
        "unclaim",
        "info",
        "reopen",
        "archive",
        "transcript",
        "stats",
        "topic"
    ),
    subcommand_required
)]
pub async fn ticket(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Post the ticket panel (an embed with an Open Ticket button) in this channel.
#[poise::command(slash_command, guild_only)]
pub async fn setup(ctx: Context<'_>) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(
        ctx,
        service::post_panel(ctx.serenity_context(), ctx.data(), &req),
    )
    .await
}

/// Open a ticket for yourself.
#[poise::command(slash_command, guild_only)]
pub async fn create(ctx: Context<'_>) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    let user = serenity::UserId::new(req.actor.user_id);
    respond(
        ctx,
        service::open(ctx.serenity_context(), ctx.data(), req.guild_id, user),
    )
    .await
}

/// Close this ticket (its creator can then read but no longer write).
#[poise::command(slash_command, guild_only)]
pub async fn close(
    ctx: Context<'_>,
    #[description = "Why the ticket is closed"]
    #[max_length = 1000]
    reason: Option<String>,
) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(
        ctx,
        service::close(ctx.serenity_context(), ctx.data(), &req, reason),
    )
    .await
}

/// Ask the ticket's creator to confirm it can close (closes on Accept, or without an answer).
#[poise::command(slash_command, guild_only, rename = "close-request")]
pub async fn close_request(
    ctx: Context<'_>,
    #[description = "Why the ticket can close (shown to the creator)"]
    #[max_length = 1000]
    reason: Option<String>,
    #[description = "How long the creator has to answer, e.g. 30m, 12h, 2d (default 24h)"]
    #[max_length = 20]
    delay: Option<String>,
) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(
        ctx,
        service::request_close(ctx.serenity_context(), ctx.data(), &req, reason, delay),
    )
    .await
}

/// Delete this ticket's channel and record (asks for confirmation).
#[poise::command(slash_command, guild_only)]
pub async fn delete(ctx: Context<'_>) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(ctx, service::request_delete(ctx.data(), &req)).await
}

/// Add someone to this ticket.
#[poise::command(slash_command, guild_only)]
pub async fn add(
    ctx: Context<'_>,
    #[description = "Who to add"] user: serenity::User,
) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(
        ctx,
        service::add(ctx.serenity_context(), ctx.data(), &req, user.id),
    )
    .await
}

/// Remove someone from this ticket.
#[poise::command(slash_command, guild_only)]
pub async fn remove(
    ctx: Context<'_>,
    #[description = "Who to remove"] user: serenity::User,
) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(
        ctx,
        service::remove(ctx.serenity_context(), ctx.data(), &req, user.id),
    )
    .await
}

/// Claim this ticket: you handle it.
#[poise::command(slash_command, guild_only)]
pub async fn claim(ctx: Context<'_>) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(
        ctx,
        service::claim(ctx.serenity_context(), ctx.data(), &req),
    )
    .await
}

/// Give up your claim on this ticket.
#[poise::command(slash_command, guild_only)]
pub async fn unclaim(ctx: Context<'_>) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(
        ctx,
        service::unclaim(ctx.serenity_context(), ctx.data(), &req),
    )
    .await
}

/// Show this ticket's details.
#[poise::command(slash_command, guild_only)]
pub async fn info(ctx: Context<'_>) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(ctx, service::info(ctx.data(), &req)).await
}

/// Reopen this closed ticket, or an archived one by its id (it gets a new channel).
#[poise::command(slash_command, guild_only)]
pub async fn reopen(
    ctx: Context<'_>,
    #[description = "Id of an archived ticket (from the log channel); leave empty in a ticket channel"]
    #[max_length = 36]
    id: Option<String>,
) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(
        ctx,
        service::reopen(ctx.serenity_context(), ctx.data(), &req, id.as_deref()),
    )
    .await
}

/// Archive this closed ticket: save its transcript, then delete its channel.
#[poise::command(slash_command, guild_only)]
pub async fn archive(ctx: Context<'_>) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(
        ctx,
        service::archive(ctx.serenity_context(), ctx.data(), &req),
    )
    .await
}

/// Get a ticket's transcript (only you see it): this ticket's, or another's by id.
#[poise::command(slash_command, guild_only)]
pub async fn transcript(
    ctx: Context<'_>,
    #[description = "Ticket id (short or full); leave empty in a ticket channel"]
    #[max_length = 36]
    id: Option<String>,
) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(
        ctx,
        service::transcript(ctx.serenity_context(), ctx.data(), &req, id.as_deref()),
    )
    .await
}

/// Ticket statistics for this server (only you see them): figures and a chart.
#[poise::command(slash_command, guild_only)]
pub async fn stats(
    ctx: Context<'_>,
    #[description = "Which period (default: the last 7 days)"] period: Option<service::Period>,
    #[description = "One staff member's figures"] staff: Option<serenity::User>,
) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    let period = period.unwrap_or(service::Period::Week);
    respond(
        ctx,
        service::stats(ctx.data(), &req, period, staff.map(|u| u.id)),
    )
    .await
}
