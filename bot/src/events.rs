//! Errors of commands, and the events the bot reacts to besides commands: buttons, a guild
//! coming online (repair), a ticket channel deleted by hand.

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use serenity::FullEvent;
use ticketbot_common::rules::Transition;
use ticketbot_common::ticket::now;

use crate::data::{Context, Data, Error};
use crate::{components, reconcile};

/// An ephemeral reply.
pub async fn say(ctx: Context<'_>, text: &str) -> Result<(), Error> {
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

/// Whether a command comes from a guild this bot serves: with GUILD_ID set, only that one.
pub fn served(ctx: Context<'_>) -> bool {
    ctx.data()
        .settings
        .guild_id
        .is_none_or(|g| ctx.guild_id().map(|id| id.get()) == Some(g))
}

pub async fn on_error(error: poise::FrameworkError<'_, Arc<Data>, Error>) {
    match error {
        poise::FrameworkError::CommandCheckFailed {
            ctx, error: None, ..
        } if !served(ctx) => {
            // Another guild's command (a stale global registration): ignored.
            tracing::debug!(guild = ?ctx.guild_id(), "ignored a command from another guild");
        }
        poise::FrameworkError::CommandCheckFailed {
            ctx, error: None, ..
        } => {
            let role = ctx.data().settings.support_role_id;
            let text = format!("Only support staff (<@&{role}>) can use /ticket commands. To get help, use the Open Ticket button of the ticket panel.");
            if let Err(e) = say(ctx, &text).await {
                tracing::warn!("cannot answer a refused command: {e}");
            }
        }
        poise::FrameworkError::Command { error, ctx, .. } => {
            tracing::error!("/{} failed: {error}", ctx.command().qualified_name);
            if let Err(e) = say(
                ctx,
                "Something went wrong on my side; it has been logged. Please try again.",
            )
            .await
            {
                tracing::warn!("cannot report a failed command: {e}");
            }
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::error!("error while handling an error: {e}");
            }
        }
    }
}

pub async fn handle(
    fw: poise::FrameworkContext<'_, Arc<Data>, Error>,
    event: &FullEvent,
) -> Result<(), Error> {
    let ctx = fw.serenity_context;
    let data = fw.user_data;
    if let FullEvent::InteractionCreate { interaction } = event {
        crate::names::saw_interaction(data, interaction);
    }
    match event {
        FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(click),
        } => {
            if let Err(e) = components::handle(ctx, data, click).await {
                tracing::error!("button {} failed: {e:#}", click.data.custom_id);
            }
        }
        FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Modal(form),
        } => {
            if let Err(e) = components::handle_modal(ctx, data, form).await {
                tracing::error!("form {} failed: {e:#}", form.data.custom_id);
            }
        }
        FullEvent::GuildCreate { guild, .. }
            if data.settings.guild_id.is_none_or(|g| g == guild.id.get()) =>
        {
            crate::names::saw_roles(data, &guild.roles);
            let channels: Vec<serenity::GuildChannel> = guild.channels.values().cloned().collect();
            match reconcile::guild(&ctx.http, data, guild.id, &channels).await {
                Ok(repairs) => repairs.log(guild.id),
                Err(e) => tracing::error!("repairing guild {} failed: {e:#}", guild.id),
            }
        }
        FullEvent::ChannelUpdate { old, new } => {
            // Moved out of a category: room there again.
            if let Some(old) = old.as_ref().filter(|o| o.parent_id != new.parent_id) {
                crate::categories::room_made(data, old.parent_id);
            }
        }
        FullEvent::ChannelDelete { channel, .. } => {
            crate::categories::room_made(data, channel.parent_id);
            if let Ok(Some(ticket)) = data.store.get_by_channel(channel.id.get()).await {
                if ticket.is_open() {
                    let close = Transition::Close {
                        by: None,
                        reason: Some("its channel was deleted in Discord".into()),
                        at: now(),
                        forced: true,
                    };
                    match data.store.transition(ticket.id, &close).await {
                        Ok(_) => {
                            tracing::info!("ticket {} closed: its channel was deleted", ticket.id)
                        }
                        Err(e) => tracing::debug!(
                            "ticket {} not closed after channel delete: {e}",
                            ticket.id
                        ),
                    }
                }
            }
        }
        FullEvent::Message { new_message } => {
            let served = data
                .settings
                .guild_id
                .is_none_or(|g| new_message.guild_id.map(|id| id.get()) == Some(g));
            if new_message.guild_id.is_some() && served {
                let nick = new_message.member.as_ref().and_then(|m| m.nick.as_deref());
                crate::names::saw_user(data, &new_message.author, nick);
            }
            crate::first_response::note(ctx, data, new_message).await;
            crate::auto_close::note(ctx, data, new_message).await;
        }
        FullEvent::GuildRoleCreate { new } | FullEvent::GuildRoleUpdate { new, .. } => {
            let one = std::iter::once((new.id, new.clone())).collect();
            crate::names::saw_roles(data, &one);
        }
        FullEvent::Ready { data_about_bot } => {
            tracing::info!(
                "connected to Discord as {} ({} guilds)",
                data_about_bot.user.name,
                data_about_bot.guilds.len()
            );
        }
        _ => {}
    }
    Ok(())
}
