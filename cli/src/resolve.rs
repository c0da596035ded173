//! Turning what the operator typed (UUID, short id, channel id) into one ticket.

use anyhow::Result;
use ticketbot_common::store::TicketStore;
use ticketbot_common::ticket::Ticket;
use uuid::Uuid;

use crate::error::{NotFound, Usage};

const WHAT_AN_ID_IS: &str = "a ticket id is a UUID (1b4e28ba-2fa1-41d2-883f-0016d3cca427), \
its short id (the first 8 characters, as in the channel name ticket-1b4e28ba), or the ticket \
channel's Discord id (digits)";

/// What the argument looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdArg {
    Full(Uuid),
    Prefix(String),
    Channel(u64),
}

pub fn parse(raw: &str) -> Result<IdArg> {
    // Lowercased first: `Ticket-1b4e28ba` (a capitalised channel name) is an id too.
    let lower = raw.trim().to_ascii_lowercase();
    let s = lower.trim_start_matches("ticket-").to_owned();
    if let Ok(id) = Uuid::parse_str(&s) {
        return Ok(IdArg::Full(id));
    }
    // Snowflakes are 17 to 20 digits; a short id is 8 hex characters.
    if s.len() >= 15 && s.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(c) = s.parse() {
            return Ok(IdArg::Channel(c));
        }
    }
    if s.len() >= 4 && s.len() < 36 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Ok(IdArg::Prefix(s));
    }
    Err(Usage(format!("{raw:?} is not a ticket id: {WHAT_AN_ID_IS}")).into())
}

/// The one ticket the argument names; an ambiguous prefix lists the candidates and fails.
pub async fn resolve(store: &dyn TicketStore, raw: &str) -> Result<Ticket> {
    let found = match parse(raw)? {
        IdArg::Full(id) => store.get(id).await?,
        IdArg::Channel(c) => store.get_by_channel(c).await?,
        IdArg::Prefix(p) => {
            let mut matches = store.find_by_prefix(&p, 20).await?;
            if matches.len() > 1 {
                let list = matches
                    .iter()
                    .map(|t| format!("  {}  {}  created {}", t.id, t.status, t.created_at))
                    .collect::<Vec<_>>()
                    .join("\n");
                anyhow::bail!(
                    "{raw:?} matches {} tickets; give more characters or the full id:\n{list}",
                    matches.len()
                );
            }
            matches.pop()
        }
    };
    found.ok_or_else(|| NotFound(format!("no ticket matches {raw:?}")).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_forms() {
        let u = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
        assert_eq!(parse(u).unwrap(), IdArg::Full(Uuid::parse_str(u).unwrap()));
        assert_eq!(parse("1B4E28BA").unwrap(), IdArg::Prefix("1b4e28ba".into()));
        assert_eq!(
            parse("ticket-1b4e28ba").unwrap(),
            IdArg::Prefix("1b4e28ba".into())
        );
        assert_eq!(
            parse("1234567890123456789").unwrap(),
            IdArg::Channel(1_234_567_890_123_456_789)
        );
        for bad in [
            "",
            "xyz",
            "12",
            "'; DROP TABLE tickets; --",
            "ticket-zzzzzzzz",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.is::<Usage>(), "{bad}");
        }
    }
}
