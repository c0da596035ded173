//! `/ticket <verb>`: thin handlers over `service`.

use poise::serenity_prelude as serenity;

use crate::data::{Context, Error, WorkGuard};
use crate::service::{self, Outcome, Req, ServiceError};
use crate::{access, events};

/// Staff only: the support role (or administrator), checked for every use.
async fn require_staff(ctx: Context<'_>) -> Result<bool, Error> {
    let member = ctx.author_member().await;
    Ok(access::is_staff(
        member.as_deref(),
        ctx.data().settings.support_role_id,
    ))
}

/// Defers (ephemeral) and describes the request; `None` when the bot is shutting down.
async fn start(ctx: Context<'_>) -> Result<Option<(Req, WorkGuard)>, Error> {
    let Some(work) = ctx.data().begin_work() else {
        events::say(
            ctx,
            "The bot is restarting; please try again in a few seconds.",
        )
        .await?;
        return Ok(None);
    };
    ctx.defer_ephemeral().await?;
    let Some(guild_id) = ctx.guild_id() else {
        events::say(
            ctx,
            "Ticket commands work inside a server, not in direct messages.",
        )
        .await?;
        return Ok(None);
    };
    let member = ctx.author_member().await;
    let actor = access::actor(
        ctx.author().id,
        member.as_deref(),
        ctx.data().settings.support_role_id,
    );
    Ok(Some((
        Req {
            guild_id,
            channel_id: ctx.channel_id(),
            actor,
        },
        work,
    )))
}

async fn respond(ctx: Context<'_>, outcome: Outcome) -> Result<(), Error> {
    match outcome {
        Ok(reply) => {
            let mut r = poise::CreateReply::default()
                .ephemeral(true)
                .components(reply.components);
            for f in reply.files {
                r = r.attachment(f);
            }
            if !reply.content.is_empty() {
                r = r.content(reply.content);
            }
            if let Some(e) = reply.embed {
                r = r.embed(e);
            }
            ctx.send(r).await?;
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
        "delete",
        "add",
        "remove",
        "claim",
        "unclaim",
        "info",
        "reopen",
        "archive",
        "transcript"
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
    respond(ctx, service::post_panel(ctx.serenity_context(), &req).await).await
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
        service::open(ctx.serenity_context(), ctx.data(), req.guild_id, user).await,
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
        service::close(ctx.serenity_context(), ctx.data(), &req, reason).await,
    )
    .await
}

/// Delete this ticket's channel and record (asks for confirmation).
#[poise::command(slash_command, guild_only)]
pub async fn delete(ctx: Context<'_>) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(ctx, service::request_delete(ctx.data(), &req).await).await
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
        service::add(ctx.serenity_context(), ctx.data(), &req, user.id).await,
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
        service::remove(ctx.serenity_context(), ctx.data(), &req, user.id).await,
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
        service::claim(ctx.serenity_context(), ctx.data(), &req).await,
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
        service::unclaim(ctx.serenity_context(), ctx.data(), &req).await,
    )
    .await
}

/// Show this ticket's details.
#[poise::command(slash_command, guild_only)]
pub async fn info(ctx: Context<'_>) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(ctx, service::info(ctx.data(), &req).await).await
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
        service::reopen(ctx.serenity_context(), ctx.data(), &req, id.as_deref()).await,
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
        service::archive(ctx.serenity_context(), ctx.data(), &req).await,
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
        service::transcript(ctx.serenity_context(), ctx.data(), &req, id.as_deref()).await,
    )
    .await
}
