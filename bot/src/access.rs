//! Who is asking: staff (the support role, or a guild administrator) or a member.

use poise::serenity_prelude as serenity;
use ticketbot_common::rules::Actor;

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

pub fn actor(
    user: serenity::UserId,
    member: Option<&serenity::Member>,
    support_role: u64,
) -> Actor {
    Actor {
        user_id: user.get(),
        is_staff: is_staff(member, support_role),
    }
}
