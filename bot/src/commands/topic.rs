//! `/ticket topic add|edit|remove|list`: administrators manage the guild's ticket topics. Add
//! and edit answer with the topic's questions form (the modal is the command's response).

use poise::serenity_prelude as serenity;
use serenity::CreateInteractionResponse;

use super::ticket::{respond, start};
use crate::data::{Context, Error, WorkGuard};
use crate::events;
use crate::service::topics::{self, TopicFields};
use crate::service::{self, ServiceError};

/// Ticket topics (administrators).
#[poise::command(
    slash_command,
    guild_only,
    subcommands("topic_add", "topic_edit", "topic_remove", "topic_list"),
    subcommand_required
)]
pub async fn topic(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Checks who asks; `None` (the user told why) when they may not.
async fn admin(ctx: Context<'_>) -> Result<Option<(service::Req, WorkGuard)>, Error> {
    let Some(started) = start(ctx).await? else {
        return Ok(None);
    };
    let member = ctx.author_member().await;
    if let Err(ServiceError::User(msg)) = topics::require_admin(member.as_deref()) {
        events::say(ctx, &msg).await?;
        return Ok(None);
    }
    Ok(Some(started))
}

/// Answers with the topic's questions form, or says what went wrong.
async fn show_form(
    ctx: Context<'_>,
    topic: Result<ticketbot_common::topics::Topic, ServiceError>,
) -> Result<(), Error> {
    let topic = match topic {
        Ok(t) => t,
        Err(ServiceError::User(msg)) => return events::say(ctx, &msg).await,
        Err(ServiceError::Unavailable(e)) => {
            return events::say(ctx, service::database_unavailable(ctx.data(), &e)).await
        }
        Err(ServiceError::Internal(e)) => return Err(e.into()),
    };
    let poise::Context::Application(app) = ctx else {
        return Ok(());
    };
    app.interaction
        .create_response(
            ctx.http(),
            CreateInteractionResponse::Modal(topics::questions_form(&topic)),
        )
        .await?;
    app.has_sent_initial_response
        .store(true, std::sync::atomic::Ordering::SeqCst);
    Ok(())
}

/// The options of add and edit, as the service takes them.
fn fields(
    name: Option<String>,
    emoji: Option<String>,
    category: Option<serenity::GuildChannel>,
    role: Option<serenity::Role>,
    limit: Option<u32>,
) -> TopicFields {
    TopicFields {
        name,
        emoji,
        category: category.map(|c| c.id.get()),
        role: role.map(|r| r.id.get()),
        limit,
    }
}

/// Add a topic; a form for its questions follows.
#[poise::command(slash_command, guild_only, rename = "add")]
pub async fn topic_add(
    ctx: Context<'_>,
    #[description = "Its name on the panel, e.g. Billing"]
    #[max_length = 80]
    name: String,
    #[description = "An emoji shown with it"]
    #[max_length = 64]
    emoji: Option<String>,
    #[description = "The category its tickets open in (default: the usual one)"]
    #[channel_types("Category")]
    category: Option<serenity::GuildChannel>,
    #[description = "The role that handles its tickets (default: the support role)"] role: Option<
        serenity::Role,
    >,
    #[description = "Open tickets one user may hold when opening with it"]
    #[min = 1]
    #[max = 100]
    limit: Option<u32>,
) -> Result<(), Error> {
    let Some((req, _work)) = admin(ctx).await? else {
        return Ok(());
    };
    let fields = fields(Some(name), emoji, category, role, limit);
    show_form(ctx, topics::add(ctx.data(), req.guild_id, fields).await).await
}

/// Change a topic; a form for its questions follows.
#[poise::command(slash_command, guild_only, rename = "edit")]
pub async fn topic_edit(
    ctx: Context<'_>,
    #[description = "The topic's current name"]
    #[max_length = 80]
    name: String,
    #[description = "A new name"]
    #[rename = "new-name"]
    #[max_length = 80]
    new_name: Option<String>,
    #[description = "A new emoji (- for none)"]
    #[max_length = 64]
    emoji: Option<String>,
    #[description = "A new category for its tickets"]
    #[channel_types("Category")]
    category: Option<serenity::GuildChannel>,
    #[description = "A new role for its tickets"] role: Option<serenity::Role>,
    #[description = "A new per-user limit"]
    #[min = 1]
    #[max = 100]
    limit: Option<u32>,
) -> Result<(), Error> {
    let Some((req, _work)) = admin(ctx).await? else {
        return Ok(());
    };
    let fields = fields(new_name, emoji, category, role, limit);
    show_form(
        ctx,
        topics::edit(ctx.data(), req.guild_id, &name, fields).await,
    )
    .await
}

/// Remove a topic (panels' buttons for it then say so).
#[poise::command(slash_command, guild_only, rename = "remove")]
pub async fn topic_remove(
    ctx: Context<'_>,
    #[description = "The topic's name"]
    #[max_length = 80]
    name: String,
) -> Result<(), Error> {
    let Some((req, _work)) = admin(ctx).await? else {
        return Ok(());
    };
    respond(ctx, topics::remove(ctx.data(), &req, &name)).await
}

/// The guild's topics with their forms.
#[poise::command(slash_command, guild_only, rename = "list")]
pub async fn topic_list(ctx: Context<'_>) -> Result<(), Error> {
    let Some((req, _work)) = start(ctx).await? else {
        return Ok(());
    };
    respond(ctx, topics::list(ctx.data(), &req)).await
}
