//! Who is asking: staff (the support role, or a guild administrator; in a topic's tickets,
//! also the topic's role) or a member.

use poise::serenity_prelude as serenity;
use ticketbot_common::error::StoreResult;
use ticketbot_common::rules::Actor;
use ticketbot_common::ticket::Ticket;
use ticketbot_common::topics::Topic;

use crate::data::Data;

/// The permissions a ticket's members get on its channel.
pub fn member_permissions() -> serenity::Permissions {
    serenity::Permissions::VIEW_CHANNEL
        | serenity::Permissions::SEND_MESSAGES
        | serenity::Permissions::READ_MESSAGE_HISTORY
        | serenity::Permissions::ATTACH_FILES
}

/// Staff hold the support role; guild administrators count too, so a server owner is never
/// locked out of their own tickets.
pub fn is_staff(member: Option<&serenity::Member>, support_role: u64) -> bool {
    member.is_some_and(|m| {
        m.roles.iter().any(|r| r.get() == support_role)
            || m.permissions.is_some_and(|p| p.administrator())
    })
}

fn holds(member: Option<&serenity::Member>, role: u64) -> bool {
    member.is_some_and(|m| m.roles.iter().any(|r| r.get() == role))
}

/// May use the staff commands somewhere: staff, or holding a topic's role (which works that
/// topic's tickets). The commands check again, per ticket.
pub async fn may_use_staff_commands(
    data: &Data,
    guild: serenity::GuildId,
    member: Option<&serenity::Member>,
) -> StoreResult<bool> {
    if is_staff(member, data.settings.support_role_id) {
        return Ok(true);
    }
    if member.is_none_or(|m| m.roles.is_empty()) {
        return Ok(false);
    }
    let topics = data.store.topics(guild.get()).await?;
    Ok(topics
        .iter()
        .filter_map(|t| t.role_id)
        .any(|r| holds(member, r)))
}

/// Who asks in `channel`: staff there when they are staff anywhere, or when the channel's
/// ticket was opened with a topic whose role they hold.
pub async fn actor_in(
    data: &Data,
    guild: serenity::GuildId,
    channel: serenity::ChannelId,
    user: serenity::UserId,
    member: Option<&serenity::Member>,
) -> StoreResult<Actor> {
    let mut actor = Actor {
        user_id: user.get(),
        is_staff: is_staff(member, data.settings.support_role_id),
    };
    if actor.is_staff || !may_use_staff_commands(data, guild, member).await? {
        return Ok(actor);
    }
    if let Some(ticket) = data.store.get_by_channel(channel.get()).await? {
        let role = topic_of(data, &ticket).await?.and_then(|t| t.role_id);
        actor.is_staff = role.is_some_and(|r| holds(member, r));
    }
    Ok(actor)
}

/// The topic the ticket was opened with, as it is now (removed ones included).
pub async fn topic_of(data: &Data, ticket: &Ticket) -> StoreResult<Option<Topic>> {
    let Some(form) = data.store.ticket_form(ticket.id).await? else {
        return Ok(None);
    };
    data.store.topic(form.topic_id).await
}
