//! Work on Discord channels that the database keeps until Discord confirms it, so that neither a
//! failed REST call nor a crash loses it: a ticket whose channel is out of date (a close or reopen
//! whose lock/unlock/move has not been confirmed), and the channel of a deleted ticket that is
//! still to be deleted. The second is also the only proof the repair accepts that a channel is
//! ours to delete: a channel is never deleted for its name.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ticket::{DiscordId, Ticket};

/// A ticket whose channel does not match its state yet. `token` names the change: confirming
/// it with [`TicketStore::channel_synced`](super::TicketStore::channel_synced) clears the mark
/// only if no later change replaced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSync {
    pub ticket: Ticket,
    pub token: Uuid,
}

/// The channel of a deleted ticket, recorded in the same write as the delete, before Discord
/// is asked to delete it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelDeletion {
    pub channel_id: DiscordId,
    pub guild_id: DiscordId,
    pub ticket_id: Uuid,
    pub requested_at: DateTime<Utc>,
}
