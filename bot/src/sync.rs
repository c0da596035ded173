//! Makes a ticket's Discord channel match its database state: the creator may write while the
//! ticket is open and only read once it is closed; the channel sits in the open or closed
//! category. Idempotent, so it serves close, reopen, and catching up on `ticketctl force-close`.

use poise::serenity_prelude as serenity;
use serenity::{PermissionOverwrite, PermissionOverwriteType, UserId};
use ticketbot_common::ticket::{Ticket, TicketStatus};

use crate::access::member_permissions;
use crate::data::Data;

/// The creator's overwrite for this state.
fn creator_overwrite(ticket: &Ticket) -> PermissionOverwrite {
    let user = UserId::new(ticket.creator_id);
    match ticket.status {
        TicketStatus::Open => PermissionOverwrite {
            allow: member_permissions(),
            deny: serenity::Permissions::empty(),
            kind: PermissionOverwriteType::Member(user),
        },
        TicketStatus::Closed => PermissionOverwrite {
            allow: serenity::Permissions::VIEW_CHANNEL
                | serenity::Permissions::READ_MESSAGE_HISTORY,
            deny: serenity::Permissions::SEND_MESSAGES | serenity::Permissions::ATTACH_FILES,
            kind: PermissionOverwriteType::Member(user),
        },
    }
}

fn wanted_category(ticket: &Ticket, data: &Data) -> Option<u64> {
    match ticket.status {
        TicketStatus::Open => data.settings.open_category_id,
        TicketStatus::Closed => data.settings.closed_category_id,
    }
}

/// Applies what differs from the cached channel (everything when it is not cached).
pub async fn apply(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    ticket: &Ticket,
) -> serenity::Result<()> {
    let Some(channel_id) = ticket.channel_id.map(serenity::ChannelId::new) else {
        return Ok(());
    };
    let wanted = creator_overwrite(ticket);
    let category = wanted_category(ticket, data);
    let cached = cache
        .guild(serenity::GuildId::new(ticket.guild_id))
        .and_then(|g| {
            g.channels
                .get(&channel_id)
                .map(|c| (c.permission_overwrites.clone(), c.parent_id))
        });
    let (overwrite_ok, parent_ok) = match &cached {
        Some((overwrites, parent)) => (
            overwrites
                .iter()
                .any(|o| o.kind == wanted.kind && o.allow == wanted.allow && o.deny == wanted.deny),
            category.is_none_or(|c| parent.map(|p| p.get()) == Some(c)),
        ),
        None => (false, category.is_none()),
    };
    if !overwrite_ok {
        channel_id.create_permission(http, wanted).await?;
    }
    if let (false, Some(c)) = (parent_ok, category) {
        let edit = serenity::EditChannel::new().category(Some(serenity::ChannelId::new(c)));
        channel_id.edit(http, edit).await?;
    }
    Ok(())
}
