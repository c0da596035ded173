//! What a user can do with modals and select menus in the Discord client. The client, not the
//! API, enforces these rules (a modal is submitted once, a required input must be filled, only
//! the menu's options can be picked), so a test that asks for the impossible gets a
//! [`ClientRefused`] instead of an interaction the bot could never receive.

use std::fmt;

use serde_json::{json, Value};

use crate::config::FakeUser;
use crate::interactions;
use crate::state::{Interaction, State};
use crate::{FakeDiscord, Links};

/// Why the Discord client would not send the interaction a test asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientRefused {
    /// The user has no modal with this custom id open (never shown, or the bot answered
    /// something else).
    NoOpenModal { custom_id: String },
    /// The latest modal with this custom id was already submitted; each open submits once.
    AlreadySubmitted { custom_id: String, trigger_id: u64 },
    /// The modal is shown in another channel than the one given.
    WrongChannel { expected: u64, given: u64 },
    /// The modal has no text input with this custom id.
    UnknownField { field: String },
    /// The same text input was given twice.
    DuplicateField { field: String },
    /// A required text input is empty.
    RequiredEmpty { field: String },
    /// A non-empty value shorter than the input's `min_length`.
    TooShort {
        field: String,
        min: usize,
        len: usize,
    },
    /// A value longer than the input's `max_length` (4000 by default).
    TooLong {
        field: String,
        max: usize,
        len: usize,
    },
    /// No such message in that channel (or it was deleted).
    UnknownMessage { message_id: u64 },
    /// The message has no string select with this custom id.
    NoSuchSelect { custom_id: String, message_id: u64 },
    /// The select menu is disabled.
    SelectDisabled { custom_id: String },
    /// A value that is not among the menu's options.
    UnknownOption { value: String },
    /// The same option picked twice.
    DuplicateOption { value: String },
    /// More or fewer options than the menu's `min_values..=max_values`.
    ValueCount { count: usize, min: u64, max: u64 },
}

impl fmt::Display for ClientRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ClientRefused::*;
        write!(f, "fakecord: the Discord client would refuse: ")?;
        match self {
            NoOpenModal { custom_id } => {
                write!(f, "no modal `{custom_id}` is open for this user")
            }
            AlreadySubmitted {
                custom_id,
                trigger_id,
            } => write!(
                f,
                "modal `{custom_id}` (opened by interaction {trigger_id}) was already submitted"
            ),
            WrongChannel { expected, given } => write!(
                f,
                "the modal is shown in channel {expected}, not in channel {given}"
            ),
            UnknownField { field } => write!(f, "the modal has no text input `{field}`"),
            DuplicateField { field } => write!(f, "text input `{field}` given twice"),
            RequiredEmpty { field } => write!(f, "required text input `{field}` is empty"),
            TooShort { field, min, len } => write!(
                f,
                "text input `{field}` needs at least {min} characters, got {len}"
            ),
            TooLong { field, max, len } => write!(
                f,
                "text input `{field}` takes at most {max} characters, got {len}"
            ),
            UnknownMessage { message_id } => {
                write!(f, "message {message_id} is not in that channel")
            }
            NoSuchSelect {
                custom_id,
                message_id,
            } => write!(f, "message {message_id} has no string select `{custom_id}`"),
            SelectDisabled { custom_id } => write!(f, "select menu `{custom_id}` is disabled"),
            UnknownOption { value } => write!(f, "`{value}` is not an option of the menu"),
            DuplicateOption { value } => write!(f, "option `{value}` picked twice"),
            ValueCount { count, min, max } => {
                write!(f, "{count} option(s) picked; the menu takes {min} to {max}")
            }
        }
    }
}

impl std::error::Error for ClientRefused {}

/// The `data` of an interaction's type 9 callback.
fn modal_data(i: &Interaction) -> Option<&Value> {
    i.callbacks.iter().find(|c| c.kind == 9).map(|c| &c.data)
}

/// The latest interaction of `user_id` answered with modal `custom_id`, and whether that modal
/// was already submitted.
fn latest_modal<'s>(
    st: &'s State,
    user_id: u64,
    custom_id: &str,
) -> Option<(&'s Interaction, bool)> {
    let trigger = st.interactions.values().rev().find(|i| {
        i.user_id == user_id
            && modal_data(i).is_some_and(|d| d["custom_id"].as_str() == Some(custom_id))
    })?;
    let submitted = st
        .interactions
        .values()
        .any(|i| i.kind == 5 && i.modal_trigger_id == Some(trigger.id));
    Some((trigger, submitted))
}

/// A text input of a modal, with Discord's defaults.
struct TextInput {
    custom_id: String,
    required: bool,
    min_length: usize,
    max_length: usize,
    prefill: String,
}

fn text_inputs(modal: &Value) -> Vec<TextInput> {
    let rows = modal["components"].as_array().cloned().unwrap_or_default();
    rows.iter()
        .flat_map(|r| r["components"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["type"] == 4)
        .map(|c| TextInput {
            custom_id: c["custom_id"].as_str().unwrap_or_default().to_owned(),
            required: c["required"].as_bool().unwrap_or(true),
            min_length: c["min_length"].as_u64().unwrap_or(0) as usize,
            max_length: c["max_length"].as_u64().unwrap_or(4000) as usize,
            prefill: c["value"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// The values the client sends for each input, in the modal's order, or why it would not.
fn fill(
    inputs: &[TextInput],
    fields: &[(&str, &str)],
) -> Result<Vec<(String, String)>, ClientRefused> {
    for (k, (id, _)) in fields.iter().enumerate() {
        if !inputs.iter().any(|t| t.custom_id == *id) {
            return Err(ClientRefused::UnknownField {
                field: (*id).to_owned(),
            });
        }
        if fields[..k].iter().any(|(other, _)| other == id) {
            return Err(ClientRefused::DuplicateField {
                field: (*id).to_owned(),
            });
        }
    }
    inputs
        .iter()
        .map(|t| {
            let value = fields
                .iter()
                .find(|(id, _)| *id == t.custom_id)
                .map_or_else(|| t.prefill.clone(), |(_, v)| (*v).to_owned());
            let field = t.custom_id.clone();
            let len = value.chars().count();
            if len == 0 {
                if t.required {
                    return Err(ClientRefused::RequiredEmpty { field });
                }
            } else if len < t.min_length {
                return Err(ClientRefused::TooShort {
                    field,
                    min: t.min_length,
                    len,
                });
            } else if len > t.max_length {
                return Err(ClientRefused::TooLong {
                    field,
                    max: t.max_length,
                    len,
                });
            }
            Ok((t.custom_id.clone(), value))
        })
        .collect()
}

/// The string select `custom_id` among a message's action rows.
fn find_select<'m>(components: &'m [Value], custom_id: &str) -> Option<&'m Value> {
    components
        .iter()
        .filter_map(|row| row["components"].as_array())
        .flatten()
        .find(|c| c["type"] == 3 && c["custom_id"].as_str() == Some(custom_id))
}

fn check_picks(select: &Value, custom_id: &str, values: &[&str]) -> Result<(), ClientRefused> {
    if select["disabled"].as_bool() == Some(true) {
        return Err(ClientRefused::SelectDisabled {
            custom_id: custom_id.to_owned(),
        });
    }
    let options: Vec<&str> = select["options"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["value"].as_str())
        .collect();
    for (k, v) in values.iter().enumerate() {
        if !options.contains(v) {
            return Err(ClientRefused::UnknownOption {
                value: (*v).to_owned(),
            });
        }
        if values[..k].contains(v) {
            return Err(ClientRefused::DuplicateOption {
                value: (*v).to_owned(),
            });
        }
    }
    let min = select["min_values"].as_u64().unwrap_or(1);
    let max = select["max_values"].as_u64().unwrap_or(1);
    let count = values.len();
    if (count as u64) < min || count as u64 > max {
        return Err(ClientRefused::ValueCount { count, min, max });
    }
    Ok(())
}

impl FakeDiscord {
    /// The form an interaction answered with a modal (callback type 9) showed: its `data`
    /// (`custom_id`, `title`, `components`). `None` if it did not answer with a modal.
    pub fn modal_of(&self, interaction_id: u64) -> Option<Value> {
        self.with_state(|st| {
            st.interactions
                .get(&interaction_id)
                .and_then(modal_data)
                .cloned()
        })
    }

    /// Picks `values` in the string select `custom_id` on a message, as the client lets a user:
    /// only an enabled select of that message, only its options, each once, and between its
    /// `min_values` and `max_values` (default 1 and 1) of them. Returns the interaction id.
    pub fn select_option(
        &self,
        user: &FakeUser,
        member_roles: &[u64],
        channel_id: u64,
        message_id: u64,
        custom_id: &str,
        values: &[&str],
    ) -> Result<u64, ClientRefused> {
        self.with_state(|st| {
            let message = st
                .messages
                .get(&message_id)
                .filter(|m| m.channel_id == channel_id && !m.deleted)
                .ok_or(ClientRefused::UnknownMessage { message_id })?;
            let select = find_select(&message.components, custom_id).ok_or_else(|| {
                ClientRefused::NoSuchSelect {
                    custom_id: custom_id.to_owned(),
                    message_id,
                }
            })?;
            check_picks(select, custom_id, values)
        })?;
        let data = json!({"custom_id": custom_id, "component_type": 3, "values": values});
        Ok(self.component(user, member_roles, channel_id, message_id, data))
    }

    /// Submits the modal `custom_id` that the bot last showed `user` (answered an interaction
    /// of theirs with callback type 9), with text inputs `(custom_id, value)`. Inputs not given
    /// keep their prefilled `value` (or stay empty); every input of the modal is sent, in the
    /// modal's order, as Discord does. A modal opened from a component carries that component's
    /// `message`. Refused as the client would: no such modal open (or already submitted: each
    /// open submits once), another channel, an unknown or repeated input, a required input
    /// empty, a value outside `min_length..=max_length`. Returns the interaction id.
    pub fn submit_modal(
        &self,
        user: &FakeUser,
        member_roles: &[u64],
        channel_id: u64,
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> Result<u64, ClientRefused> {
        let (trigger, from_message, values) = self.with_state(|st| {
            let (trigger, submitted) =
                latest_modal(st, user.id, custom_id).ok_or_else(|| ClientRefused::NoOpenModal {
                    custom_id: custom_id.to_owned(),
                })?;
            if submitted {
                return Err(ClientRefused::AlreadySubmitted {
                    custom_id: custom_id.to_owned(),
                    trigger_id: trigger.id,
                });
            }
            if trigger.channel_id != channel_id {
                return Err(ClientRefused::WrongChannel {
                    expected: trigger.channel_id,
                    given: channel_id,
                });
            }
            let inputs = modal_data(trigger).map(text_inputs).unwrap_or_default();
            let values = fill(&inputs, fields)?;
            let from_message = trigger.message_id.filter(|_| trigger.kind == 3);
            Ok((trigger.id, from_message, values))
        })?;
        let rows: Vec<Value> = values
            .iter()
            .map(|(id, value)| {
                json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]})
            })
            .collect();
        let data = json!({"custom_id": custom_id, "components": rows});
        Ok(self.send_interaction(
            5,
            user,
            channel_id,
            custom_id.to_owned(),
            Links {
                message_id: from_message,
                modal_trigger_id: Some(trigger),
            },
            |r, id, token| {
                let mut v = interactions::base(r, id, token, 5, user, member_roles, channel_id);
                if let Some(mid) = from_message {
                    v["message"] = interactions::component_message(r, channel_id, mid);
                }
                v["data"] = data;
                v
            },
        ))
    }
}
