//! Auto-close of stale tickets (`AUTO_CLOSE_AFTER`): a ticket whose channel has had no message
//! for that long gets a warning, and closes when nobody writes within the warning's grace.
//!
//! The warning is a close request made by the bot itself (see [`crate::close_request`]): it
//! lives in the database, survives restarts and is settled once whichever bot process sees
//! its deadline first. Any message in the channel cancels it. The last message time is kept
//! per ticket ([`TicketActivity`]), written by the bot as MESSAGE_CREATE events arrive.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ticket::DiscordId;

/// Default of `AUTO_CLOSE_WARNING`: the grace between the warning and the close.
pub const DEFAULT_WARNING: &str = "24h";

/// When a ticket's channel last had a message (not the bot's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketActivity {
    pub ticket_id: Uuid,
    pub guild_id: DiscordId,
    pub last_message_at: DateTime<Utc>,
}

/// How often one process writes a ticket's activity: at most once per this long (a busy
/// channel is not a write per message), and always soon enough for an `after` of any size.
pub fn write_every(after: Duration) -> Duration {
    (after / 10).clamp(Duration::seconds(1), Duration::minutes(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_is_written_often_enough_for_the_setting() {
        assert_eq!(write_every(Duration::hours(72)), Duration::minutes(1));
        assert_eq!(write_every(Duration::minutes(5)), Duration::seconds(30));
        assert_eq!(write_every(Duration::seconds(3)), Duration::seconds(1));
    }
}
