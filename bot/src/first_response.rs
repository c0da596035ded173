//! The first message by staff in a ticket's channel, for the time-to-first-response figures:
//! recorded once per ticket by the database (a conditional write), whichever of several bot
//! processes sees the message. Only the author, the channel and the time are used: no content.

use std::sync::Arc;

use poise::serenity_prelude as serenity;

use crate::data::Data;

/// How many channels known to be answered are remembered before the memory is cleared
/// (a later message there costs one indexed read again, nothing more).
const REMEMBERED: usize = 100_000;

/// Looks at one MESSAGE_CREATE.
pub async fn note(ctx: &serenity::Context, data: &Arc<Data>, msg: &serenity::Message) {
    let Some(guild) = msg.guild_id else { return };
    if msg.author.bot
        || msg.webhook_id.is_some()
        || data.settings.guild_id.is_some_and(|g| g != guild.get())
        || !by_staff(ctx, data, guild, msg)
    {
        return;
    }
    let channel = msg.channel_id.get();
    if lock(&data.answered).contains(&channel) {
        return;
    }
    let ticket = match data.store.get_by_channel(channel).await {
        Ok(Some(t)) => t,
        Ok(None) => return,
        Err(e) => {
            tracing::debug!("first response in channel {channel} not checked: {e}");
            return;
        }
    };
    let author = msg.author.id.get();
    if ticket.first_response_at.is_some() {
        remember(data, channel);
        return;
    }
    if ticket.creator_id == author {
        return;
    }
    match data
        .store
        .record_first_response(ticket.id, author, *msg.timestamp)
        .await
    {
        Ok(recorded) => {
            if recorded {
                tracing::info!(
                    ticket = %ticket.id,
                    staff = author,
                    "first response recorded"
                );
            }
            remember(data, channel);
        }
        Err(e) => tracing::warn!("first response of ticket {} not recorded: {e}", ticket.id),
    }
}

/// Holds the support role, or is an administrator (by role, or owns the guild).
fn by_staff(
    ctx: &serenity::Context,
    data: &Data,
    guild: serenity::GuildId,
    msg: &serenity::Message,
) -> bool {
    let Some(member) = &msg.member else {
        return false;
    };
    if member
        .roles
        .iter()
        .any(|r| r.get() == data.settings.support_role_id)
    {
        return true;
    }
    ctx.cache.guild(guild).is_some_and(|g| {
        g.owner_id == msg.author.id
            || member.roles.iter().any(|r| {
                g.roles
                    .get(r)
                    .is_some_and(|role| role.permissions.administrator())
            })
    })
}

fn remember(data: &Data, channel: u64) {
    let mut answered = lock(&data.answered);
    if answered.len() >= REMEMBERED {
        answered.clear();
    }
    answered.insert(channel);
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
