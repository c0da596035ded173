//! Messages by staff in ticket channels: the first one is the ticket's first response, for the
//! time-to-first-response figures, recorded once per ticket by the database (a conditional
//! write) whichever of several bot processes sees it; every one is counted per member and hour
//! (an upsert that adds one). Only the author, the channel and the time are used: no content.

use std::sync::Arc;

use poise::serenity_prelude as serenity;

use crate::data::{lock, Data};

/// How many channels known to be answered (with their ticket's creator) are remembered before
/// the memory is cleared (a later message there costs one indexed read again, nothing more).
const REMEMBERED: usize = 100_000;

/// Looks at one MESSAGE_CREATE: a staff message in a ticket channel is counted (per member and
/// hour), and the first one is the ticket's first response.
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
    let author = msg.author.id.get();
    let known = lock(&data.answered).get(&channel).copied();
    let creator = match known {
        Some(creator) => creator,
        None => match first_response(data, channel, author, msg).await {
            Some(creator) => creator,
            None => return,
        },
    };
    // The creator's own words are not staff work, even when the creator is staff.
    if creator == author {
        return;
    }
    if let Err(e) = data
        .store
        .count_staff_message(guild.get(), author, *msg.timestamp)
        .await
    {
        tracing::debug!("staff message in channel {channel} not counted: {e}");
    }
}

/// For a channel not yet known answered: its ticket's creator (`None`: not a ticket channel,
/// or the database did not answer), recording the first response when this is it.
async fn first_response(
    data: &Data,
    channel: u64,
    author: u64,
    msg: &serenity::Message,
) -> Option<u64> {
    let ticket = match data.store.get_by_channel(channel).await {
        Ok(Some(t)) => t,
        Ok(None) => return None,
        Err(e) => {
            tracing::debug!("first response in channel {channel} not checked: {e}");
            return None;
        }
    };
    if ticket.first_response_at.is_some() {
        remember(data, channel, ticket.creator_id);
        return Some(ticket.creator_id);
    }
    if ticket.creator_id == author {
        return Some(ticket.creator_id);
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
            remember(data, channel, ticket.creator_id);
        }
        Err(e) => tracing::warn!("first response of ticket {} not recorded: {e}", ticket.id),
    }
    Some(ticket.creator_id)
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

fn remember(data: &Data, channel: u64, creator: u64) {
    let mut answered = lock(&data.answered);
    if answered.len() >= REMEMBERED {
        answered.clear();
    }
    answered.insert(channel, creator);
}
