//! The buttons, menus and forms. Their custom ids are fixed strings (see `embeds`) or carry the
//! id of what they act on, so a panel or ticket message posted before a restart keeps working:
//! nothing about them is held in memory.

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use serenity::{
    ComponentInteraction, ComponentInteractionDataKind, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, ModalInteraction,
};
use uuid::Uuid;

use crate::data::Data;
use crate::embeds::*;
use crate::service::{self, Outcome, Req, ServiceError};
use crate::{access, deadline};

/// A form of ours sent: a rating's comment, a topic's answers, a topic's questions.
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
    let id = form.data.custom_id.as_str();
    if !id.starts_with("ticketbot:") {
        return Ok(());
    }
    let Some(_work) = data.begin_work() else {
        let msg = CreateInteractionResponseMessage::new()
            .content("The bot is restarting; please try again in a few seconds.")
            .ephemeral(true);
        form.create_response(&ctx.http, CreateInteractionResponse::Message(msg))
            .await?;
        return Ok(());
    };
    if let Some((ticket, stars)) = service::feedback::parse_rate(id, RATE_COMMENT_PREFIX) {
        return service::feedback::comment(ctx, data, form, ticket, stars).await;
    }
    let with_id = |prefix: &str| {
        id.strip_prefix(prefix)
            .and_then(|u| Uuid::parse_str(u).ok())
    };
    let Some(guild) = form.guild_id else {
        let outcome = Err(ServiceError::User("Tickets work inside a server.".into()));
        return answer(ctx, data, Asker::Form(form), outcome, false).await;
    };
    if let Some(topic) = with_id(service::topics::TOPIC_OPEN_PREFIX) {
        let open = async {
            let chosen = service::topics::answered(data, guild, topic, &form.data).await?;
            service::open_with(ctx, data, guild, form.user.id, Some(&chosen)).await
        };
        let (outcome, acknowledged) =
            deadline::run(open, form.create_response(&ctx.http, ephemeral_defer())).await;
        return answer(ctx, data, Asker::Form(form), outcome, acknowledged).await;
    }
    if let Some(topic) = with_id(service::topics::TOPIC_QUESTIONS_PREFIX) {
        let outcome = match service::topics::require_admin(form.member.as_ref()) {
            Ok(()) => service::topics::save_questions(data, guild, topic, &form.data).await,
            Err(e) => Err(e),
        };
        return answer(ctx, data, Asker::Form(form), outcome, false).await;
    }
    Ok(())
}

/// A click on a topic of a panel (a button, or the menu): its form, or the ticket at once.
async fn pick_topic(
    ctx: &serenity::Context,
    data: &Arc<Data>,
    click: &ComponentInteraction,
    topic: Uuid,
) -> anyhow::Result<()> {
    let Some(guild) = click.guild_id else {
        let outcome = Err(ServiceError::User("Tickets work inside a server.".into()));
        return answer(ctx, data, Asker::Click(click), outcome, false).await;
    };
    match service::topics::pick(data, guild, topic).await {
        Ok(service::topics::Picked::Ask(form)) => {
            click
                .create_response(&ctx.http, CreateInteractionResponse::Modal(form))
                .await?;
            Ok(())
        }
        Ok(service::topics::Picked::Open(chosen)) => {
            let (outcome, acknowledged) = deadline::run(
                service::open_with(ctx, data, guild, click.user.id, Some(&chosen)),
                click.create_response(&ctx.http, ephemeral_defer()),
            )
            .await;
            answer(ctx, data, Asker::Click(click), outcome, acknowledged).await
        }
        Err(e) => answer(ctx, data, Asker::Click(click), Err(e), false).await,
    }
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
    // A star, or a topic with a form, is answered with a form, which must be the first
    // response.
    if let Some((ticket, stars)) = service::feedback::parse_rate(id, RATE_PREFIX) {
        return service::feedback::rate(ctx, data, click, ticket, stars).await;
    }
    let picked = match &click.data.kind {
        ComponentInteractionDataKind::StringSelect { values }
            if id == service::topics::TOPIC_SELECT =>
        {
            values.first().and_then(|v| Uuid::parse_str(v).ok())
        }
        _ => id
            .strip_prefix(service::topics::TOPIC_BUTTON_PREFIX)
            .and_then(|u| Uuid::parse_str(u).ok()),
    };
    if let Some(topic) = picked {
        return pick_topic(ctx, data, click, topic).await;
    }
    // Answered at once when the work is quick, acknowledged first when it is not.
    let (outcome, acknowledged) = deadline::run(
        work(ctx, data, click, id),
        click.create_response(&ctx.http, ephemeral_defer()),
    )
    .await;
    answer(ctx, data, Asker::Click(click), outcome, acknowledged).await
}

/// "Thinking…", seen only by the asker, when the answer takes a while.
fn ephemeral_defer() -> CreateInteractionResponse {
    CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true))
}

/// Who gets the answer: a click or a sent form (the same calls, two serenity types).
#[derive(Clone, Copy)]
enum Asker<'a> {
    Click(&'a ComponentInteraction),
    Form(&'a ModalInteraction),
}

impl Asker<'_> {
    fn custom_id(&self) -> &str {
        match self {
            Asker::Click(c) => &c.data.custom_id,
            Asker::Form(f) => &f.data.custom_id,
        }
    }
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
    let actor = access::actor_in(
        data,
        guild_id,
        click.channel_id,
        click.user.id,
        click.member.as_ref(),
    )
    .await?;
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
                let outcome = service::answer_close_request(ctx, data, &req, request, true).await;
                answered_question(ctx, click, outcome).await
            } else if let Some(request) = with_id(CLOSE_DENY_PREFIX) {
                let outcome = service::answer_close_request(ctx, data, &req, request, false).await;
                answered_question(ctx, click, outcome).await
            } else {
                Err(ServiceError::User(
                    "This button is no longer supported; use the /ticket commands.".into(),
                ))
            }
        }
    }
}

/// An answered close request keeps its question, without the buttons nobody may click again.
async fn answered_question(
    ctx: &serenity::Context,
    click: &ComponentInteraction,
    outcome: Outcome,
) -> Outcome {
    if outcome.is_ok() {
        let edit = serenity::EditMessage::new().components(vec![]);
        if let Err(e) = click
            .channel_id
            .edit_message(&ctx.http, click.message.id, edit)
            .await
        {
            tracing::debug!("close request's buttons not removed: {e}");
        }
    }
    outcome
}

/// The outcome, ephemerally: as the response, or as a follow-up once acknowledged.
async fn answer(
    ctx: &serenity::Context,
    data: &Data,
    asker: Asker<'_>,
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
            tracing::error!("{} failed: {e:#}", asker.custom_id());
            service::Reply::text(
                "Something went wrong on my side; it has been logged. Please try again.",
            )
        }
    };
    let reply = reply.ephemeral();
    let sent = if acknowledged {
        let msg = reply.to_slash_followup_response(CreateInteractionResponseFollowup::new());
        match asker {
            Asker::Click(c) => c.create_followup(&ctx.http, msg).await.map(drop),
            Asker::Form(f) => f.create_followup(&ctx.http, msg).await.map(drop),
        }
    } else {
        let msg = CreateInteractionResponse::Message(
            reply.to_slash_initial_response(CreateInteractionResponseMessage::new()),
        );
        match asker {
            Asker::Click(c) => c.create_response(&ctx.http, msg).await,
            Asker::Form(f) => f.create_response(&ctx.http, msg).await,
        }
    };
    if let Err(e) = sent {
        // The channel may be gone (a confirmed delete): nothing left to answer in.
        tracing::debug!("answer not delivered: {e}");
    }
    Ok(())
}
