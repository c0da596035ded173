//! The buttons. Their custom ids are fixed strings (see `embeds`), so a panel or ticket message
//! posted before a restart keeps working: nothing about them is held in memory.

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use serenity::{
    ComponentInteraction, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage,
};
use uuid::Uuid;

use crate::data::Data;
use crate::embeds::*;
use crate::service::{self, Outcome, Req, ServiceError};
use crate::{access, deadline};

/// A comment form of ours sent (the only modal the bot opens).
pub async fn handle_modal(
    ctx: &serenity::Context,
    data: &Arc<Data>,
    form: &serenity::ModalInteraction,
) -> anyhow::Result<()> {
    if let Some(only) = data.settings.guild_id {
        // A DM has no guild: the rating question may be sent there.
        if form.guild_id.is_some_and(|g| g.get() != only) {
            return Ok(());
        }
    }
    let Some((ticket, stars)) =
        service::feedback::parse_rate(&form.data.custom_id, RATE_COMMENT_PREFIX)
    else {
        return Ok(());
    };
    let Some(_work) = data.begin_work() else {
        let msg = CreateInteractionResponseMessage::new()
            .content("The bot is restarting; please try again in a few seconds.")
            .ephemeral(true);
        form.create_response(&ctx.http, CreateInteractionResponse::Message(msg))
            .await?;
        return Ok(());
    };
    service::feedback::comment(ctx, data, form, ticket, stars).await
}

/// Handles a click on one of our buttons; others are ignored (another bot's, or poise's).
pub async fn handle(
    ctx: &serenity::Context,
    data: &Arc<Data>,
    click: &ComponentInteraction,
) -> anyhow::Result<()> {
    let id = click.data.custom_id.as_str();
    let ours = id.starts_with("ticketbot:");
    if !ours {
        return Ok(());
    }
    // With GUILD_ID set the bot serves that guild only: a click from any other guild (its
    // administrators are not our staff) is ignored. A DM has no guild: the feedback question
    // may be there, and other buttons answer that they work in a server.
    if let Some(only) = data.settings.guild_id {
        if click.guild_id.is_some_and(|g| g.get() != only) {
            tracing::debug!(guild = ?click.guild_id, "ignored a click from another guild");
            return Ok(());
        }
    }
    let Some(_work) = data.begin_work() else {
        let msg = CreateInteractionResponseMessage::new()
            .content("The bot is restarting; please try again in a few seconds.")
            .ephemeral(true);
        click
            .create_response(&ctx.http, CreateInteractionResponse::Message(msg))
            .await?;
        return Ok(());
    };
    if id == DELETE_CANCEL {
        let msg = CreateInteractionResponseMessage::new()
            .content("Deletion cancelled.")
            .components(vec![]);
        click
            .create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(msg))
            .await?;
        return Ok(());
    }
    // A star is answered with the comment form, which must be the first response.
    if let Some((ticket, stars)) = service::feedback::parse_rate(id, RATE_PREFIX) {
        return service::feedback::rate(ctx, data, click, ticket, stars).await;
    }
    // Answered at once when the work is quick, acknowledged first when it is not.
    let defer =
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true));
    let (outcome, acknowledged) = deadline::run(
        work(ctx, data, click, id),
        click.create_response(&ctx.http, defer),
    )
    .await;
    answer(ctx, data, click, outcome, acknowledged).await
}

async fn work(
    ctx: &serenity::Context,
    data: &Arc<Data>,
    click: &ComponentInteraction,
    id: &str,
) -> Outcome {
    let Some(guild_id) = click.guild_id else {
        return Err(ServiceError::User("Tickets work inside a server.".into()));
    };
    let actor = access::actor(
        click.user.id,
        click.member.as_ref(),
        data.settings.support_role_id,
    );
    let req = Req {
        guild_id,
        channel_id: click.channel_id,
        actor,
    };
    match id {
        OPEN_BUTTON => service::open(ctx, data, guild_id, click.user.id).await,
        CLOSE_BUTTON => service::close(ctx, data, &req, None).await,
        CLAIM_BUTTON => service::claim(ctx, data, &req).await,
        REOPEN_BUTTON => service::reopen(ctx, data, &req, None).await,
        ARCHIVE_BUTTON => service::archive(ctx, data, &req).await,
        DELETE_BUTTON => service::request_delete(data, &req).await,
        other => {
            let with_id = |prefix: &str| {
                other
                    .strip_prefix(prefix)
                    .and_then(|u| Uuid::parse_str(u).ok())
            };
            if let Some(ticket) = with_id(DELETE_CONFIRM_PREFIX) {
                service::confirm_delete(ctx, data, &req, ticket).await
            } else if let Some(request) = with_id(CLOSE_ACCEPT_PREFIX) {
                service::answer_close_request(ctx, data, &req, request, true).await
            } else if let Some(request) = with_id(CLOSE_DENY_PREFIX) {
                service::answer_close_request(ctx, data, &req, request, false).await
            } else {
                Err(ServiceError::User(
                    "This button is no longer supported; use the /ticket commands.".into(),
                ))
            }
        }
    }
}

/// The outcome, ephemerally: as the response, or as a follow-up once acknowledged.
async fn answer(
    ctx: &serenity::Context,
    data: &Data,
    click: &ComponentInteraction,
    outcome: Outcome,
    acknowledged: bool,
) -> anyhow::Result<()> {
    let reply = match outcome {
        Ok(r) => r,
        Err(ServiceError::User(msg)) => service::Reply::text(msg),
        Err(ServiceError::Unavailable(e)) => {
            service::Reply::text(service::database_unavailable(data, &e))
        }
        Err(ServiceError::Internal(e)) => {
            tracing::error!("button {} failed: {e:#}", click.data.custom_id);
            service::Reply::text(
                "Something went wrong on my side; it has been logged. Please try again.",
            )
        }
    };
    let reply = reply.ephemeral();
    let sent = if acknowledged {
        let msg = reply.to_slash_followup_response(CreateInteractionResponseFollowup::new());
        click.create_followup(&ctx.http, msg).await.map(drop)
    } else {
        let msg = reply.to_slash_initial_response(CreateInteractionResponseMessage::new());
        click
            .create_response(&ctx.http, CreateInteractionResponse::Message(msg))
            .await
    };
    if let Err(e) = sent {
        // The channel may be gone (a confirmed delete): nothing left to answer in.
        tracing::debug!("answer not delivered: {e}");
    }
    Ok(())
}
