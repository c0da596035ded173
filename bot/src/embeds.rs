//! What the bot posts: the panel, the welcome message, notices, the info card, and the
//! persistent custom ids of its buttons (fixed strings, so old messages work after a restart).

use poise::serenity_prelude as serenity;
use serenity::{ButtonStyle, CreateActionRow, CreateButton, CreateEmbed};
use ticketbot_common::close_request::CloseRequest;
use ticketbot_common::ticket::{Participant, Ticket};

pub const OPEN_BUTTON: &str = "ticketbot:open";
pub const CLOSE_BUTTON: &str = "ticketbot:close";
pub const CLAIM_BUTTON: &str = "ticketbot:claim";
pub const REOPEN_BUTTON: &str = "ticketbot:reopen";
pub const DELETE_BUTTON: &str = "ticketbot:delete";
pub const ARCHIVE_BUTTON: &str = "ticketbot:archive";
/// Followed by the ticket id: the confirmation names the ticket it confirms.
pub const DELETE_CONFIRM_PREFIX: &str = "ticketbot:delete-confirm:";
pub const DELETE_CANCEL: &str = "ticketbot:delete-cancel";
/// Followed by the close request's id: an answer to a replaced request is refused.
pub const CLOSE_ACCEPT_PREFIX: &str = "ticketbot:close-accept:";
pub const CLOSE_DENY_PREFIX: &str = "ticketbot:close-deny:";
/// `ticketbot:rate:<ticket id>:<1-5>`: a star of the feedback question.
pub const RATE_PREFIX: &str = "ticketbot:rate:";
/// `ticketbot:rate-comment:<ticket id>:<1-5>`: the comment form opened by a star.
pub const RATE_COMMENT_PREFIX: &str = "ticketbot:rate-comment:";

pub const COLOR: u32 = 0x5865F2;

pub fn panel() -> (CreateEmbed, Vec<CreateActionRow>) {
    let embed = CreateEmbed::new()
        .title("Need help?")
        .description("Click **Open Ticket** to open a private channel with our support team.")
        .color(COLOR);
    let row = CreateActionRow::Buttons(vec![CreateButton::new(OPEN_BUTTON)
        .label("Open Ticket")
        .emoji('🎫')
        .style(ButtonStyle::Primary)]);
    (embed, vec![row])
}

pub fn welcome(ticket: &Ticket) -> (CreateEmbed, Vec<CreateActionRow>) {
    let embed = CreateEmbed::new()
        .title(format!("Ticket {}", ticket.short_id()))
        .description(format!(
            "Welcome <@{}>! Describe your issue and a member of the support team will be with you shortly.",
            ticket.creator_id
        ))
        .color(COLOR)
        .timestamp(serenity::Timestamp::from(ticket.created_at));
    (embed, vec![ticket_buttons()])
}

/// The welcome with the topic and the answers to its form, verbatim (each cut to what an
/// embed field holds).
pub fn with_answers(
    embed: CreateEmbed,
    topic: &str,
    answers: &[ticketbot_common::topics::Answer],
) -> CreateEmbed {
    let mut e = embed.field("Topic", fit(topic, FIELD_VALUE_MAX), false);
    for a in answers {
        let answer = if a.answer.is_empty() {
            "—"
        } else {
            &a.answer
        };
        e = e.field(fit(&a.question, 256), fit(answer, FIELD_VALUE_MAX), false);
    }
    e
}

pub fn ticket_buttons() -> CreateActionRow {
    CreateActionRow::Buttons(vec![
        CreateButton::new(CLOSE_BUTTON)
            .label("Close")
            .emoji('🔒')
            .style(ButtonStyle::Danger),
        CreateButton::new(CLAIM_BUTTON)
            .label("Claim")
            .emoji('🙋')
            .style(ButtonStyle::Success),
    ])
}

/// The question a close request puts to the creator.
pub fn close_request(r: &CloseRequest, creator: u64) -> CreateEmbed {
    let mut text = format!(
        "<@{}> thinks this ticket can be closed. <@{creator}>, is your issue solved?",
        r.requested_by
    );
    if let Some(reason) = &r.reason {
        text.push_str(&format!("\n\n**Reason:** {reason}"));
    }
    text.push_str(&format!(
        "\n\nWithout an answer, the ticket closes <t:{}:R>.",
        r.deadline.timestamp()
    ));
    CreateEmbed::new()
        .title("Close request")
        .description(fit(&text, DESCRIPTION_MAX))
        .color(COLOR)
}

pub fn close_request_buttons(id: uuid::Uuid) -> CreateActionRow {
    CreateActionRow::Buttons(vec![
        CreateButton::new(format!("{CLOSE_ACCEPT_PREFIX}{id}"))
            .label("Accept and close")
            .emoji('✅')
            .style(ButtonStyle::Success),
        CreateButton::new(format!("{CLOSE_DENY_PREFIX}{id}"))
            .label("Deny, keep open")
            .emoji('✖')
            .style(ButtonStyle::Secondary),
    ])
}

/// The feedback question sent after a close.
pub fn feedback_question(ticket: &Ticket) -> CreateEmbed {
    CreateEmbed::new()
        .title("How did we do?")
        .description(format!(
            "Your ticket `{}` is closed. How would you rate the help you got? Pick 1 (poor) to 5 (excellent); you can add a comment after.",
            ticket.short_id()
        ))
        .color(COLOR)
}

/// The question once answered: the rating shown, the buttons kept for a change of mind.
pub fn feedback_thanks(ticket: &Ticket, f: &ticketbot_common::feedback::Feedback) -> CreateEmbed {
    let until = f.given_at + ticketbot_common::feedback::CHANGE_WINDOW;
    CreateEmbed::new()
        .title("Thanks for your feedback")
        .description(format!(
            "You rated ticket `{}` {}. You can change it until <t:{}:f>.",
            ticket.short_id(),
            f.stars(),
            until.timestamp()
        ))
        .color(COLOR)
}

/// One to five stars.
pub fn rating_buttons(ticket: uuid::Uuid) -> CreateActionRow {
    CreateActionRow::Buttons(
        (1..=5u8)
            .map(|n| {
                CreateButton::new(format!("{RATE_PREFIX}{ticket}:{n}"))
                    .label(format!("{n}"))
                    .emoji('⭐')
                    .style(ButtonStyle::Secondary)
            })
            .collect(),
    )
}

pub fn closed_buttons() -> CreateActionRow {
    CreateActionRow::Buttons(vec![
        CreateButton::new(REOPEN_BUTTON)
            .label("Reopen")
            .emoji('🔓')
            .style(ButtonStyle::Success),
        CreateButton::new(ARCHIVE_BUTTON)
            .label("Archive")
            .emoji('🗄')
            .style(ButtonStyle::Secondary),
        CreateButton::new(DELETE_BUTTON)
            .label("Delete")
            .emoji('🗑')
            .style(ButtonStyle::Danger),
    ])
}

pub fn delete_confirm(ticket: &Ticket) -> Vec<CreateActionRow> {
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new(format!("{DELETE_CONFIRM_PREFIX}{}", ticket.id))
            .label("Delete for good")
            .style(ButtonStyle::Danger),
        CreateButton::new(DELETE_CANCEL)
            .label("Cancel")
            .style(ButtonStyle::Secondary),
    ])]
}

/// Discord's limits on what an embed shows (in characters).
pub const FIELD_VALUE_MAX: usize = 1024;
pub const DESCRIPTION_MAX: usize = 4096;

/// `text` cut to `max` characters (an ellipsis marks the cut), so that a long value stored by
/// anyone (a reason from `ticketctl`, many participants) can never make Discord refuse a
/// message.
pub fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub fn notice(text: impl Into<String>) -> CreateEmbed {
    CreateEmbed::new()
        .description(fit(&text.into(), DESCRIPTION_MAX))
        .color(COLOR)
}

fn user_or_dash(id: Option<u64>) -> String {
    id.map_or_else(|| "—".to_owned(), |u| format!("<@{u}>"))
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    format!("<t:{}:f>", t.timestamp())
}

pub fn info(
    ticket: &Ticket,
    participants: &[Participant],
    close_request: Option<&CloseRequest>,
    feedback: Option<&ticketbot_common::feedback::Feedback>,
) -> CreateEmbed {
    let people = if participants.is_empty() {
        "—".to_owned()
    } else {
        participants
            .iter()
            .map(|p| format!("<@{}>", p.user_id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut e = CreateEmbed::new()
        .title(format!("Ticket {}", ticket.short_id()))
        .color(COLOR)
        .field("ID", format!("`{}`", ticket.id), false)
        .field("Status", ticket.status.as_str(), true)
        .field("Creator", format!("<@{}>", ticket.creator_id), true)
        .field("Claimed by", user_or_dash(ticket.claimed_by), true)
        .field("Opened", time(ticket.created_at), true)
        .field("Participants", fit(&people, FIELD_VALUE_MAX), false);
    if let Some(closed) = ticket.closed_at {
        e = e.field("Closed", time(closed), true).field(
            "Closed by",
            user_or_dash(ticket.closed_by),
            true,
        );
        if let Some(reason) = &ticket.close_reason {
            e = e.field("Reason", fit(reason, FIELD_VALUE_MAX), false);
        }
    }
    if let Some(r) = close_request.filter(|_| ticket.is_open()) {
        e = e.field(
            "Close requested",
            format!(
                "by <@{}>; closes <t:{}:R> unless <@{}> answers",
                r.requested_by,
                r.deadline.timestamp(),
                ticket.creator_id
            ),
            false,
        );
    }
    if let Some(f) = feedback {
        let text = match f.comment.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => format!("{} — “{c}”", f.stars()),
            None => f.stars(),
        };
        e = e.field("Feedback", fit(&text, FIELD_VALUE_MAX), false);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_at_the_limit_on_a_character_boundary() {
        assert_eq!(fit("short", 10), "short");
        let long = "é".repeat(1100);
        let cut = fit(&long, FIELD_VALUE_MAX);
        assert_eq!(cut.chars().count(), FIELD_VALUE_MAX);
        assert!(cut.ends_with('…'));
        assert_eq!(fit(&"x".repeat(1024), 1024).len(), 1024);
    }
}
