//! Makes a ticket's Discord channel match its database state: the creator may write while the
//! ticket is open and only read once it is closed; each participant has the members' access
//! and a removed one has it no more; the channel sits in the open or closed category.
//! Idempotent, so it serves close, reopen, add/remove and the retries of `channel_work`.

use poise::serenity_prelude as serenity;
use serenity::{PermissionOverwrite, PermissionOverwriteType, UserId};
use ticketbot_common::store::CategoryKind;
use ticketbot_common::ticket::{Ticket, TicketStatus};

use crate::access::{self, member_permissions};
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
    let bot = cache.current_user().id;
    sync_participants(
        http,
        data,
        ticket,
        channel_id,
        cached.as_ref().map(|c| &c.0),
        bot,
    )
    .await?;
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
    // An open ticket of a topic with its own category belongs there, and a reopen brings it
    // back; one that opened in a usual open category (the topic's was full) stays put. Read
    // only when the channel is out of place, as most syncs find it in place.
    let topic_category = match kind {
        CategoryKind::Open if !parent_ok => access::topic_of(data, ticket)
            .await?
            .and_then(|t| t.category_id),
        _ => None,
    };
    let parent_ok = parent_ok || (topic_category.is_some() && topic_category == old_parent);
    if !overwrite_ok {
        channel_id.create_permission(http, wanted).await?;
    }
    if !parent_ok {
        let into_topic = match topic_category {
            Some(c) => categories::move_into(http, channel_id, c)
                .await
                .inspect_err(|e| {
                    tracing::warn!(
                        "cannot move ticket {} into its topic's category {c} ({e}); using the default one",
                        ticket.id
                    )
                })
                .is_ok(),
            None => false,
        };
        if !into_topic {
            categories::move_channel(http, cache, data, guild, kind, channel_id).await?;
        }
        // The category it left may be an overflow one that is empty now.
        categories::remove_if_empty(http, data, guild, old_parent).await;
    }
    Ok(())
}

/// Gives every participant the members' access, and takes it from users who hold exactly the
/// access this bot grants but are neither the creator nor a participant (removed ones).
/// Overwrites set by hand with other permissions are left alone.
async fn sync_participants(
    http: &serenity::Http,
    data: &Data,
    ticket: &Ticket,
    channel_id: serenity::ChannelId,
    cached: Option<&Vec<PermissionOverwrite>>,
    bot: UserId,
) -> Result<(), PlaceError> {
    let participants = data.store.participants(ticket.id).await?;
    let fetched;
    let overwrites = match cached {
        Some(o) => o,
        None => {
            fetched = match channel_id.to_channel(http).await?.guild() {
                Some(c) => c.permission_overwrites,
                None => return Ok(()),
            };
            &fetched
        }
    };
    let granted = |user: UserId| {
        overwrites.iter().any(|o| {
            o.kind == PermissionOverwriteType::Member(user)
                && o.allow.contains(member_permissions())
        })
    };
    for p in &participants {
        let user = UserId::new(p.user_id);
        if !granted(user) {
            let grant = PermissionOverwrite {
                allow: member_permissions(),
                deny: serenity::Permissions::empty(),
                kind: PermissionOverwriteType::Member(user),
            };
            channel_id.create_permission(http, grant).await?;
        }
    }
    for o in overwrites {
        let PermissionOverwriteType::Member(user) = o.kind else {
            continue;
        };
        let ours = o.allow == member_permissions() && o.deny.is_empty();
        let keeps = user.get() == ticket.creator_id
            || user == bot
            || participants.iter().any(|p| p.user_id == user.get());
        if ours && !keeps {
            channel_id
                .delete_permission(http, PermissionOverwriteType::Member(user))
                .await?;
        }
    }
    Ok(())
}
