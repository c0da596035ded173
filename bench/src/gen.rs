//! Deterministic test data: a small PRNG and the generator of realistic ticket records.

use chrono::{DateTime, Duration, Utc};
use ticketbot_common::store::TicketRecord;
use ticketbot_common::{DiscordId, Participant, Ticket, TicketStatus};
use uuid::Uuid;

/// The guild most tickets belong to; nine smaller guilds follow it.
pub const MAIN_GUILD: DiscordId = 900_000_000_000_000_001;
const OTHER_GUILDS: u64 = 9;
/// Creators of seeded tickets are `CREATOR_BASE + index` (unique), or one of the regulars.
const CREATOR_BASE: DiscordId = 500_000_000_000_000_000;
const REGULAR_BASE: DiscordId = 400_000_000_000_000_000;
const REGULARS: u64 = 2_000;
/// Creators of the create/claim/close cycles: never collide with a seeded open ticket.
pub const CYCLE_CREATOR_BASE: DiscordId = 600_000_000_000_000_000;
pub const STAFF_BASE: DiscordId = 300_000_000_000_000_000;
const STAFF: u64 = 20;
const CHANNEL_BASE: DiscordId = 700_000_000_000_000_000;

const MICROS_PER_YEAR: i64 = 365 * 24 * 3_600 * 1_000_000;

/// SplitMix64: tiny, fast and good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        let x = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        x < p
    }

    pub fn uuid_v4(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

/// What the query phase needs to know about a seeded ticket.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub id: Uuid,
    pub channel_id: DiscordId,
}

/// Makes the `index`-th ticket of the seed. The mix: 90 % in the main guild, ~10 % open
/// (each open ticket with its own creator and slot 0), half claimed, created over the past
/// year, mostly unique creators, a channel each, one participant on ~5 %.
pub fn record(rng: &mut Rng, index: u64, now: DateTime<Utc>) -> TicketRecord {
    let guild_id = if rng.chance(0.9) {
        MAIN_GUILD
    } else {
        MAIN_GUILD + 1 + rng.below(OTHER_GUILDS)
    };
    let open = rng.chance(0.10);
    let creator_id = if open || rng.chance(0.85) {
        CREATOR_BASE + index
    } else {
        REGULAR_BASE + rng.below(REGULARS)
    };
    let age = rng.below(MICROS_PER_YEAR as u64) as i64;
    let created_at = now - Duration::microseconds(age);
    let after = |rng: &mut Rng, max_micros: i64| {
        let t = created_at + Duration::microseconds(1 + rng.below(max_micros as u64) as i64);
        t.min(now)
    };
    let (claimed_by, claimed_at) = if rng.chance(0.5) {
        let staff = STAFF_BASE + rng.below(STAFF);
        (Some(staff), Some(after(rng, 3_600_000_000)))
    } else {
        (None, None)
    };
    let (status, closed_at, closed_by, close_reason) = if open {
        (TicketStatus::Open, None, None, None)
    } else {
        let at = after(rng, 7 * 24 * 3_600_000_000).max(claimed_at.unwrap_or(created_at));
        let by = if rng.chance(0.7) {
            claimed_by.unwrap_or(STAFF_BASE + rng.below(STAFF))
        } else {
            creator_id
        };
        let reason = match rng.below(5) {
            0 => Some("resolved".to_owned()),
            1 => Some("no answer from the user in 48 hours".to_owned()),
            _ => None,
        };
        (TicketStatus::Closed, Some(at), Some(by), reason)
    };
    let updated_at = closed_at.or(claimed_at).unwrap_or(created_at);
    let ticket = Ticket {
        id: rng.uuid_v4(),
        guild_id,
        channel_id: Some(CHANNEL_BASE + index),
        creator_id,
        status,
        created_at,
        closed_at,
        closed_by,
        close_reason,
        claimed_by,
        claimed_at,
        updated_at,
        archived_at: None,
        archive_requested_at: None,
        first_response_at: None,
        first_response_by: None,
    };
    let participants = if rng.chance(0.05) {
        vec![Participant {
            ticket_id: ticket.id,
            user_id: REGULAR_BASE + REGULARS + rng.below(REGULARS),
            added_by: claimed_by.unwrap_or(STAFF_BASE),
            added_at: after(rng, 600_000_000),
        }]
    } else {
        Vec::new()
    };
    TicketRecord {
        ticket,
        participants,
        open_slot: open.then_some(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn open_tickets_have_distinct_slots_and_the_mix_is_as_described() {
        let now = ticketbot_common::ticket::now();
        let mut rng = Rng::new(7);
        let records: Vec<_> = (0..20_000).map(|i| record(&mut rng, i, now)).collect();
        let open: Vec<_> = records.iter().filter(|r| r.ticket.is_open()).collect();
        let slots: HashSet<_> = open
            .iter()
            .map(|r| (r.ticket.guild_id, r.ticket.creator_id, r.open_slot))
            .collect();
        assert_eq!(slots.len(), open.len());
        assert!(open.iter().all(|r| r.open_slot == Some(0)));
        let share = open.len() as f64 / records.len() as f64;
        assert!((0.08..0.12).contains(&share), "{share}");
        let main = records
            .iter()
            .filter(|r| r.ticket.guild_id == MAIN_GUILD)
            .count();
        assert!(main > 17_000, "{main}");
        assert!(records.iter().all(|r| match r.ticket.closed_at {
            Some(c) => c >= r.ticket.created_at,
            None => true,
        }));
        let ids: HashSet<_> = records.iter().map(|r| r.ticket.id).collect();
        assert_eq!(ids.len(), records.len());
    }
}
