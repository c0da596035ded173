//! Ticket topics ("Billing", "Bug report"): each with its label and emoji, its own open
//! category and support role (falling back to the global ones), its own per-user limit, and an
//! optional form of up to five questions, asked in a Discord modal before the ticket opens.
//! The answers are kept with the ticket ([`TicketForm`]).
//!
//! Topics live in the database, per guild, and are managed from Discord; a removed topic is
//! kept (marked removed) so that an old panel's button can say which topic is gone, and its
//! name is free for a new topic.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ticket::DiscordId;

/// A modal holds at most five text inputs.
pub const MAX_QUESTIONS: usize = 5;
/// A panel offers at most 25 topics (a select menu's options).
pub const MAX_TOPICS: usize = 25;
/// A button label is at most 80 characters.
pub const NAME_MAX: usize = 80;
/// A modal text input's label is at most 45 characters.
pub const QUESTION_MAX: usize = 45;
/// A text input's placeholder is at most 100 characters.
pub const PLACEHOLDER_MAX: usize = 100;
/// A text input holds at most 4,000 characters.
pub const ANSWER_MAX: u16 = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionStyle {
    /// One line.
    Short,
    /// Several lines.
    Paragraph,
}

/// One question of a topic's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub label: String,
    pub style: QuestionStyle,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
}

/// A guild's ticket topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Topic {
    pub id: Uuid,
    #[serde(serialize_with = "crate::ticket::id_as_string")]
    pub guild_id: DiscordId,
    pub name: String,
    pub emoji: Option<String>,
    /// Where its tickets open; the global open category when `None`.
    #[serde(serialize_with = "crate::ticket::opt_id_as_string")]
    pub category_id: Option<DiscordId>,
    /// The role that handles its tickets; the global support role when `None`.
    #[serde(serialize_with = "crate::ticket::opt_id_as_string")]
    pub role_id: Option<DiscordId>,
    /// Open tickets one user may hold when opening with this topic; the global limit when
    /// `None`.
    pub max_open: Option<u32>,
    pub questions: Vec<Question>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was removed; its buttons then say so.
    pub removed_at: Option<DateTime<Utc>>,
}

/// What is wrong with a topic or a question, in words for the administrator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("a topic's name is 1 to {NAME_MAX} characters")]
    Name,
    #[error("a form has at most {MAX_QUESTIONS} questions")]
    TooManyQuestions,
    #[error("question {0}: a question is 1 to {QUESTION_MAX} characters before the first |")]
    QuestionLabel(usize),
    #[error("question {0}: a placeholder is at most {PLACEHOLDER_MAX} characters")]
    Placeholder(usize),
    #[error("question {0}: lengths are written like 10-500, at most {ANSWER_MAX}, the first no larger than the second")]
    Lengths(usize),
    #[error("question {n}: {part:?} is not short, paragraph, required, optional or a length like 10-500")]
    Unknown { n: usize, part: String },
    #[error("a per-user limit is 1 to 100")]
    Limit,
    #[error("{0:?} is not an emoji: pick one in Discord's emoji picker, or write a server emoji as <:name:id> (or - for none)")]
    Emoji(String),
}

/// One Unicode emoji, or a server's own written `<:name:id>` (`<a:name:id>` when animated):
/// what Discord takes on a button or a menu option.
pub fn is_emoji(text: &str) -> bool {
    let text = text.trim();
    match text.strip_prefix('<').and_then(|t| t.strip_suffix('>')) {
        Some(custom) => {
            let parts: Vec<&str> = custom.split(':').collect();
            let [animated, name, id] = parts[..] else {
                return false;
            };
            matches!(animated, "" | "a")
                && (2..=32).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && (17..=20).contains(&id.len())
                && id.chars().all(|c| c.is_ascii_digit())
        }
        None => emojis::get(text).is_some(),
    }
}

/// The key names are compared by: trimmed, lowercase.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Topic {
    /// A new topic; checked (see [`Topic::check`]).
    pub fn new(
        guild_id: DiscordId,
        name: &str,
        questions: Vec<Question>,
        at: DateTime<Utc>,
    ) -> Result<Self, TopicError> {
        let t = Topic {
            id: Uuid::new_v4(),
            guild_id,
            name: name.trim().to_owned(),
            emoji: None,
            category_id: None,
            role_id: None,
            max_open: None,
            questions,
            created_at: at,
            updated_at: at,
            removed_at: None,
        };
        t.check()?;
        Ok(t)
    }

    /// Discord's limits on what a topic turns into (a button, a modal).
    pub fn check(&self) -> Result<(), TopicError> {
        let n = self.name.chars().count();
        if n == 0 || n > NAME_MAX {
            return Err(TopicError::Name);
        }
        if self.questions.len() > MAX_QUESTIONS {
            return Err(TopicError::TooManyQuestions);
        }
        if self.max_open.is_some_and(|m| !(1..=100).contains(&m)) {
            return Err(TopicError::Limit);
        }
        if let Some(e) = self.emoji.as_deref().filter(|e| !is_emoji(e)) {
            return Err(TopicError::Emoji(e.to_owned()));
        }
        for (i, q) in self.questions.iter().enumerate() {
            q.check(i + 1)?;
        }
        Ok(())
    }

    pub fn key(&self) -> String {
        name_key(&self.name)
    }

    pub fn is_removed(&self) -> bool {
        self.removed_at.is_some()
    }

    /// "💳 Billing" or "Billing".
    pub fn label(&self) -> String {
        match &self.emoji {
            Some(e) => format!("{e} {}", self.name),
            None => self.name.clone(),
        }
    }
}

impl Question {
    fn check(&self, n: usize) -> Result<(), TopicError> {
        let len = self.label.chars().count();
        if len == 0 || len > QUESTION_MAX {
            return Err(TopicError::QuestionLabel(n));
        }
        if self
            .placeholder
            .as_ref()
            .is_some_and(|p| p.chars().count() > PLACEHOLDER_MAX)
        {
            return Err(TopicError::Placeholder(n));
        }
        let (min, max) = (
            self.min_length.unwrap_or(0),
            self.max_length.unwrap_or(ANSWER_MAX),
        );
        if min > ANSWER_MAX || max == 0 || max > ANSWER_MAX || min > max {
            return Err(TopicError::Lengths(n));
        }
        Ok(())
    }

    /// Reads question `n` (from 1) written as `label | style | required | min-max |
    /// placeholder`, every part after the label optional and in any order: `short` (the
    /// default) or `paragraph`; `required` (the default) or `optional`; lengths like `10-500`;
    /// `e.g. …` or `placeholder: …` for the hint shown in the empty box.
    pub fn parse(n: usize, line: &str) -> Result<Question, TopicError> {
        let mut parts = line.split('|').map(str::trim);
        let label = parts.next().unwrap_or_default().to_owned();
        let mut q = Question {
            label,
            style: QuestionStyle::Short,
            required: true,
            min_length: None,
            max_length: None,
            placeholder: None,
        };
        for part in parts.filter(|p| !p.is_empty()) {
            let lower = part.to_lowercase();
            match lower.as_str() {
                "short" | "line" => q.style = QuestionStyle::Short,
                "paragraph" | "long" => q.style = QuestionStyle::Paragraph,
                "required" => q.required = true,
                "optional" => q.required = false,
                _ if lower.starts_with("placeholder:") => {
                    q.placeholder = Some(part["placeholder:".len()..].trim().to_owned());
                }
                _ if lower.starts_with("e.g.") => q.placeholder = Some(part.to_owned()),
                _ => match lower.split_once('-') {
                    Some((a, b)) => {
                        let min = a.trim().parse().map_err(|_| TopicError::Lengths(n))?;
                        let max = b.trim().parse().map_err(|_| TopicError::Lengths(n))?;
                        q.min_length = Some(min).filter(|&m| m > 0);
                        q.max_length = Some(max);
                    }
                    None => {
                        return Err(TopicError::Unknown {
                            n,
                            part: part.to_owned(),
                        })
                    }
                },
            }
        }
        q.check(n)?;
        Ok(q)
    }

    /// The question written back in the form [`Question::parse`] reads.
    pub fn to_line(&self) -> String {
        let mut parts = vec![self.label.clone()];
        if self.style == QuestionStyle::Paragraph {
            parts.push("paragraph".into());
        }
        if !self.required {
            parts.push("optional".into());
        }
        if self.min_length.is_some() || self.max_length.is_some() {
            parts.push(format!(
                "{}-{}",
                self.min_length.unwrap_or(0),
                self.max_length.unwrap_or(ANSWER_MAX)
            ));
        }
        if let Some(p) = &self.placeholder {
            parts.push(format!("placeholder: {p}"));
        }
        parts.join(" | ")
    }
}

/// One answer of a ticket's form, with the question as it was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub question: String,
    pub answer: String,
}

/// The topic a ticket was opened with, and the answers to its form (verbatim).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketForm {
    pub ticket_id: Uuid,
    #[serde(serialize_with = "crate::ticket::id_as_string")]
    pub guild_id: DiscordId,
    pub topic_id: Uuid,
    /// The topic's name when the ticket opened (a later rename or removal leaves it).
    pub topic_name: String,
    pub answers: Vec<Answer>,
    pub submitted_at: DateTime<Utc>,
}

impl TicketForm {
    pub fn topic_key(&self) -> String {
        name_key(&self.topic_name)
    }
}

/// What writing a topic did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicWrite {
    Done,
    /// Another topic of the guild has this name.
    NameTaken,
    /// No such topic (or it was removed).
    Missing,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_are_unicode_ones_or_a_servers_own() {
        for ok in [
            "💳",
            "❤️",
            "👍🏽",
            "🇫🇷",
            " 🐛 ",
            "<:billing:123456789012345678>",
            "<a:spin_2:12345678901234567890>",
        ] {
            assert!(is_emoji(ok), "{ok}");
        }
        for bad in [
            "",
            "!!",
            ":credit_card:",
            "credit_card",
            "💳💳",
            "<:b:1>",
            "<:name:abc>",
            "<x:name:123456789012345678>",
            "<:a:b:c>",
        ] {
            assert!(!is_emoji(bad), "{bad}");
        }
        let mut t = Topic::new(1, "Billing", Vec::new(), Utc::now()).unwrap();
        t.emoji = Some(":credit_card:".into());
        assert_eq!(t.check(), Err(TopicError::Emoji(":credit_card:".into())));
        t.emoji = Some("💳".into());
        assert_eq!(t.check(), Ok(()));
    }

    #[test]
    fn questions_read_and_write_back() {
        let q = Question::parse(1, "Order number | e.g. #1234 | 3-20").unwrap();
        assert_eq!(q.label, "Order number");
        assert_eq!(q.style, QuestionStyle::Short);
        assert!(q.required);
        assert_eq!((q.min_length, q.max_length), (Some(3), Some(20)));
        assert_eq!(q.placeholder.as_deref(), Some("e.g. #1234"));
        assert_eq!(Question::parse(1, &q.to_line()).unwrap(), q);
        let q = Question::parse(2, "What happened? | PARAGRAPH | optional").unwrap();
        assert_eq!((q.style, q.required), (QuestionStyle::Paragraph, false));
        assert_eq!(q.to_line(), "What happened? | paragraph | optional");
    }

    #[test]
    fn bad_questions_say_what_is_wrong() {
        assert_eq!(
            Question::parse(1, " | short"),
            Err(TopicError::QuestionLabel(1))
        );
        assert_eq!(
            Question::parse(2, &"x".repeat(46)),
            Err(TopicError::QuestionLabel(2))
        );
        assert_eq!(Question::parse(3, "a | 20-10"), Err(TopicError::Lengths(3)));
        assert_eq!(
            Question::parse(3, "a | 1-4001"),
            Err(TopicError::Lengths(3))
        );
        assert_eq!(
            Question::parse(4, "a | sometimes"),
            Err(TopicError::Unknown {
                n: 4,
                part: "sometimes".into()
            })
        );
        let err = Question::parse(4, "a | sometimes").unwrap_err().to_string();
        assert!(err.starts_with("question 4: \"sometimes\" is not"), "{err}");
    }

    #[test]
    fn topics_follow_discords_limits() {
        let now = Utc::now();
        assert!(Topic::new(1, "  Billing ", vec![], now).is_ok());
        assert_eq!(Topic::new(1, " ", vec![], now), Err(TopicError::Name));
        assert_eq!(
            Topic::new(1, &"n".repeat(81), vec![], now),
            Err(TopicError::Name)
        );
        let q = Question::parse(1, "q").unwrap();
        assert_eq!(
            Topic::new(1, "x", vec![q; 6], now),
            Err(TopicError::TooManyQuestions)
        );
        assert_eq!(name_key("  Bug REPORT "), "bug report");
    }
}
