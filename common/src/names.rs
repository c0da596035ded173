//! Names of the users and roles the bot meets, so that ids read as people: `alice (4000…0101)`
//! rather than `400000000000000101`. The bot records them as it sees them; a name seen later
//! replaces one seen earlier, whichever process writes first.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ticket::DiscordId;

/// What a name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NameKind {
    User,
    Role,
}

impl NameKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::User => "user",
            NameKind::Role => "role",
        }
    }
}

impl FromStr for NameKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "user" => Ok(NameKind::User),
            "role" => Ok(NameKind::Role),
            other => Err(format!("{other:?} is not a name kind")),
        }
    }
}

/// A user's display name (and avatar hash), or a role's name, as last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name {
    pub id: DiscordId,
    pub kind: NameKind,
    pub name: String,
    /// A user's avatar hash (Discord's CDN key); `None` for the default avatar and for roles.
    pub avatar: Option<String>,
    pub seen_at: DateTime<Utc>,
}

/// Longest name kept (Discord's display names stop at 32 characters, role names at 100).
pub const MAX_NAME_CHARS: usize = 100;

impl Name {
    /// A name as the bot saw it, cut to [`MAX_NAME_CHARS`] and without control characters.
    pub fn seen(
        id: DiscordId,
        kind: NameKind,
        name: &str,
        avatar: Option<&str>,
        at: DateTime<Utc>,
    ) -> Name {
        Name {
            id,
            kind,
            name: name
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_NAME_CHARS)
                .collect(),
            avatar: avatar.map(str::to_owned),
            seen_at: at,
        }
    }
}

/// An id shortened for reading beside a name: `4000…0101`.
pub fn short_snowflake(id: DiscordId) -> String {
    let s = id.to_string();
    if s.len() <= 10 {
        return s;
    }
    format!("{}…{}", &s[..4], &s[s.len() - 4..])
}

/// Names by id, for showing ids as people.
#[derive(Debug, Clone, Default)]
pub struct Names(HashMap<DiscordId, Name>);

impl Names {
    pub fn new(names: Vec<Name>) -> Names {
        Names(names.into_iter().map(|n| (n.id, n)).collect())
    }

    pub fn get(&self, id: DiscordId) -> Option<&Name> {
        self.0.get(&id)
    }

    /// `alice (4000…0101)` when the name is known, the bare id otherwise.
    pub fn label(&self, id: DiscordId) -> String {
        Label(id, self.get(id).map(|n| n.name.as_str())).to_string()
    }
}

/// An id with its name if known: `alice (4000…0101)`, else `400000000000000101`.
pub struct Label<'a>(pub DiscordId, pub Option<&'a str>);

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(name) if !name.is_empty() => write!(f, "{name} ({})", short_snowflake(self.0)),
            _ => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_as_people() {
        assert_eq!(short_snowflake(400_000_000_000_000_101), "4000…0101");
        assert_eq!(short_snowflake(12345), "12345");
        let names = Names::new(vec![Name::seen(
            400_000_000_000_000_101,
            NameKind::User,
            "alice\u{7}",
            Some("a1b2"),
            Utc::now(),
        )]);
        assert_eq!(names.label(400_000_000_000_000_101), "alice (4000…0101)");
        assert_eq!(names.label(400_000_000_000_000_102), "400000000000000102");
        let long = Name::seen(1, NameKind::Role, &"x".repeat(300), None, Utc::now());
        assert_eq!(long.name.chars().count(), MAX_NAME_CHARS);
    }
}
