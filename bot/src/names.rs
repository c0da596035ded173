//! The names of the users and roles the bot meets (interactions, messages, the guild's roles),
//! recorded so that `ticketctl`, the report and the web view show people, not bare ids. A
//! sighting that changes nothing this process has recorded writes nothing; the write runs
//! beside the work that saw it, never in its way.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use poise::serenity_prelude as serenity;
use ticketbot_common::names::{Name, NameKind};

use crate::data::Data;

/// Names remembered before the memory is cleared (a later sighting costs one write again).
const REMEMBERED: usize = 100_000;

/// What this process last recorded for an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    name: String,
    avatar: Option<String>,
}

/// The name a user goes by in the guild: the nickname, else the display name, else the
/// username.
fn display_name<'a>(user: &'a serenity::User, nick: Option<&'a str>) -> &'a str {
    nick.or(user.global_name.as_deref()).unwrap_or(&user.name)
}

fn user_name(user: &serenity::User, nick: Option<&str>) -> Option<Name> {
    if user.bot {
        return None;
    }
    Some(Name::seen(
        user.id.get(),
        NameKind::User,
        display_name(user, nick),
        user.avatar.map(|a| a.to_string()).as_deref(),
        Utc::now(),
    ))
}

/// Records the names that changed since this process last recorded them, in the background.
fn record(data: &Arc<Data>, names: Vec<Name>) {
    let fresh: Vec<Name> = {
        let Ok(mut seen) = data.names_seen.lock() else {
            return;
        };
        if seen.len() > REMEMBERED {
            seen.clear();
        }
        names
            .into_iter()
            .filter(|n| {
                let now = Seen {
                    name: n.name.clone(),
                    avatar: n.avatar.clone(),
                };
                seen.insert(n.id, now.clone()) != Some(now)
            })
            .collect()
    };
    if fresh.is_empty() {
        return;
    }
    let data = Arc::clone(data);
    tokio::spawn(async move {
        if let Err(e) = data.store.remember_names(&fresh).await {
            tracing::debug!("{} names not recorded: {e}", fresh.len());
            // Forget them, so that the next sighting tries again.
            if let Ok(mut seen) = data.names_seen.lock() {
                for n in &fresh {
                    seen.remove(&n.id);
                }
            }
        }
    });
}

/// A user seen in an interaction or a message of the guild (with their member nickname).
pub fn saw_user(data: &Arc<Data>, user: &serenity::User, nick: Option<&str>) {
    if let Some(n) = user_name(user, nick) {
        record(data, vec![n]);
    }
}

/// The user behind an interaction.
pub fn saw_interaction(data: &Arc<Data>, interaction: &serenity::Interaction) {
    let (user, member) = match interaction {
        serenity::Interaction::Command(c) | serenity::Interaction::Autocomplete(c) => {
            (&c.user, c.member.as_deref())
        }
        serenity::Interaction::Component(c) => (&c.user, c.member.as_ref()),
        serenity::Interaction::Modal(m) => (&m.user, m.member.as_ref()),
        _ => return,
    };
    saw_user(data, user, member.and_then(|m| m.nick.as_deref()));
}

/// The roles of a guild (at start and when they change).
pub fn saw_roles(data: &Arc<Data>, roles: &HashMap<serenity::RoleId, serenity::Role>) {
    let at = Utc::now();
    let names = roles
        .values()
        .map(|r| Name::seen(r.id.get(), NameKind::Role, &r.name, None, at))
        .collect();
    record(data, names);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_goes_by_nickname_then_display_name_then_username() {
        let mut u = serenity::User::default();
        u.name = "alice_1".into();
        assert_eq!(display_name(&u, None), "alice_1");
        u.global_name = Some("Alice".into());
        assert_eq!(display_name(&u, None), "Alice");
        assert_eq!(display_name(&u, Some("Al (support)")), "Al (support)");
        u.bot = true;
        assert!(user_name(&u, None).is_none());
    }
}
