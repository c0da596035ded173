//! How tickets look to people (tables, ages) and to scripts (the stable JSON contract).

use chrono::{DateTime, SecondsFormat, Utc};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;
use ticketbot_common::ticket::{Participant, Ticket, TicketEvent};

/// RFC 3339 UTC with microseconds, the JSON contract's time format.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn id(v: u64) -> String {
    v.to_string()
}

/// A ticket for scripts: ids as decimal strings (as Discord's API), times RFC 3339 UTC.
#[derive(Debug, Serialize)]
pub struct TicketJson {
    pub id: String,
    pub short_id: String,
    pub guild_id: String,
    pub channel_id: Option<String>,
    pub creator_id: String,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<String>,
    pub status: &'static str,
    pub created_at: String,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub close_reason: Option<String>,
    pub updated_at: String,
}

impl From<&Ticket> for TicketJson {
    fn from(t: &Ticket) -> Self {
        TicketJson {
            id: t.id.to_string(),
            short_id: t.short_id(),
            guild_id: id(t.guild_id),
            channel_id: t.channel_id.map(id),
            creator_id: id(t.creator_id),
            claimed_by: t.claimed_by.map(id),
            claimed_at: t.claimed_at.map(rfc3339),
            status: t.status.as_str(),
            created_at: rfc3339(t.created_at),
            closed_at: t.closed_at.map(rfc3339),
            closed_by: t.closed_by.map(id),
            close_reason: t.close_reason.clone(),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ParticipantJson {
    pub user_id: String,
    pub added_by: String,
    pub added_at: String,
}

impl From<&Participant> for ParticipantJson {
    fn from(p: &Participant) -> Self {
        ParticipantJson {
            user_id: id(p.user_id),
            added_by: id(p.added_by),
            added_at: rfc3339(p.added_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EventJson {
    pub id: String,
    pub kind: &'static str,
    pub actor_id: Option<String>,
    pub at: String,
    pub details: Option<String>,
}

impl From<&TicketEvent> for EventJson {
    fn from(e: &TicketEvent) -> Self {
        EventJson {
            id: e.id.to_string(),
            kind: e.kind.as_str(),
            actor_id: e.actor_id.map(id),
            at: rfc3339(e.at),
            details: e.details.clone(),
        }
    }
}

pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

/// `3d 4h`, `12m 5s`: a duration for people, two units at most.
pub fn human_duration(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m {s}s"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

pub fn human_secs(secs: f64) -> String {
    human_duration(chrono::Duration::milliseconds((secs * 1000.0) as i64))
}

pub fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        let d = chrono::Duration::seconds;
        assert_eq!(human_duration(d(5)), "5s");
        assert_eq!(human_duration(d(65)), "1m 5s");
        assert_eq!(human_duration(d(3 * 3600 + 120)), "3h 2m");
        assert_eq!(human_duration(d(2 * 86_400 + 3600)), "2d 1h");
    }
}
