//! Makes a ticket's Discord channel match its database state: the creator may write while the
//! ticket is open and only read once it is closed; the channel sits in the open or closed
//! category. Idempotent, so it serves close, reopen, and catching up on `ticketctl force-close`.

use poise::serenity_prelude as serenity;
use serenity::{PermissionOverwrite, PermissionOverwriteType, UserId};
use ticketbot_common::store::CategoryKind;
use ticketbot_common::ticket::{Ticket, TicketStatus};

use crate::access::member_permissions;
use crate::categories::{self, PlaceError};
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

fn wanted_kind(ticket: &Ticket) -> CategoryKind {
    match ticket.status {
        TicketStatus::Open => CategoryKind::Open,
        TicketStatus::Closed => CategoryKind::Closed,
    }
}

/// Applies what differs from the cached channel (everything when it is not cached). The
/// channel belongs in the configured category of its state or one of its overflow categories;
/// a full category sends it to the next (see `categories`).
pub async fn apply(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    ticket: &Ticket,
) -> Result<(), PlaceError> {
    let Some(channel_id) = ticket.channel_id.map(serenity::ChannelId::new) else {
        return Ok(());
    };
    let guild = serenity::GuildId::new(ticket.guild_id);
    let wanted = creator_overwrite(ticket);
    let kind = wanted_kind(ticket);
    let categories = categories::all_of_kind(data, guild, kind).await?;
    let cached = cache.guild(guild).and_then(|g| {
        g.channels
            .get(&channel_id)
            .map(|c| (c.permission_overwrites.clone(), c.parent_id))
    });
    let (overwrite_ok, parent_ok, old_parent) = match &cached {
        Some((overwrites, parent)) => (
            overwrites
                .iter()
                .any(|o| o.kind == wanted.kind && o.allow == wanted.allow && o.deny == wanted.deny),
            categories.is_empty() || parent.is_some_and(|p| categories.contains(&p.get())),
            parent.map(|p| p.get()),
        ),
        None => (false, categories.is_empty(), None),
    };
    if !overwrite_ok {
        channel_id.create_permission(http, wanted).await?;
    }
    if !parent_ok {
        categories::move_channel(http, cache, data, guild, kind, channel_id).await?;
        // The category it left may be an overflow one that is empty now.
        categories::remove_if_empty(http, data, guild, old_parent).await;
    }
    Ok(())
}
