//! The keyset cursor of newest-first listings: the last row's `(created_at, id)`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ticket::Ticket;

/// Where a page ended. Printed as `<microseconds since 1970>.<uuid>`, opaque to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn after(ticket: &Ticket) -> Self {
        Cursor {
            created_at: ticket.created_at,
            id: ticket.id,
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}",
            self.created_at.timestamp_micros(),
            self.id.simple()
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a cursor; pass the `next` value a previous page printed")]
pub struct BadCursor(pub String);

impl FromStr for Cursor {
    type Err = BadCursor;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadCursor(s.to_owned());
        let (micros, id) = s.trim().split_once('.').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        Ok(Cursor {
            created_at: DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
            id: Uuid::parse_str(id).map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let t = Ticket::new(1, 2, crate::ticket::now());
        let c = Cursor::after(&t);
        assert_eq!(c.to_string().parse::<Cursor>(), Ok(c));
        for bad in [
            "",
            "abc",
            "12.",
            ".x",
            "12.not-a-uuid",
            "99999999999999999999.0",
        ] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad}");
        }
    }
}
