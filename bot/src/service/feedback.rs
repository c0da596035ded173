//! Feedback: after a close the creator is asked to rate the help (1–5 buttons, in the channel
//! or by DM per `FEEDBACK`). A click stores the rating and opens a form for an optional
//! comment; the database keeps one rating per ticket, changeable for a while (see
//! [`ticketbot_common::feedback`]).

use poise::serenity_prelude::{
    ActionRowComponent, ComponentInteraction, CreateInputText, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateModal, EditMessage, InputTextStyle, ModalInteraction,
};
use ticketbot_common::config::FeedbackMode;
use ticketbot_common::feedback::{
    self, changeable_since, Feedback, FeedbackWrite, CHANGE_WINDOW, COMMENT_MAX_CHARS,
};

use super::*;

/// The comment input of the form.
const COMMENT_INPUT: &str = "comment";

/// Asks the creator of a just-closed ticket for a rating, where `FEEDBACK` says. A failure to
/// ask is logged, never an error of the close.
pub(crate) async fn ask(http: &serenity::Http, data: &Data, ticket: &Ticket) {
    let mode = data.settings.feedback;
    if mode == FeedbackMode::Off {
        return;
    }
    let question = |ping: bool| {
        let mut m = serenity::CreateMessage::new()
            .embed(embeds::feedback_question(ticket))
            .components(vec![embeds::rating_buttons(ticket.id)]);
        if ping {
            m = m.content(format!("<@{}>", ticket.creator_id));
        }
        m
    };
    if mode == FeedbackMode::Dm {
        let user = UserId::new(ticket.creator_id);
        match user.create_dm_channel(http).await {
            Ok(dm) => match dm.id.send_message(http, question(false)).await {
                Ok(_) => return,
                // Closed DMs are normal (50007): ask in the channel instead.
                Err(e) => tracing::info!(
                    ticket = %ticket.id,
                    "cannot ask for feedback by DM ({}); asking in the channel",
                    discord_error(&e)
                ),
            },
            Err(e) => tracing::info!(ticket = %ticket.id, "cannot open a DM: {e}"),
        }
    }
    let Some(channel) = ticket.channel_id else {
        return;
    };
    if let Err(e) = ChannelId::new(channel)
        .send_message(http, question(true))
        .await
    {
        tracing::warn!("cannot ask for feedback in ticket {}: {e}", ticket.id);
    }
}

/// `ticketbot:rate:<ticket>:<stars>`: the ticket and the rating of a star button.
pub(crate) fn parse_rate(custom_id: &str, prefix: &str) -> Option<(Uuid, u8)> {
    let (id, stars) = custom_id.strip_prefix(prefix)?.split_once(':')?;
    let stars: u8 = stars.parse().ok()?;
    feedback::STARS.contains(&stars).then_some(())?;
    Some((Uuid::parse_str(id).ok()?, stars))
}

/// A click on a star: stores the rating, then answers with the comment form (prefilled with
/// the comment given before). Refusals are answered ephemerally.
pub async fn rate(
    ctx: &serenity::Context,
    data: &Data,
    click: &ComponentInteraction,
    ticket_id: Uuid,
    stars: u8,
) -> anyhow::Result<()> {
    let outcome = store_rating(&ctx.http, data, click.user.id.get(), ticket_id, stars, None).await;
    let (ticket, stored) = match outcome {
        Ok(done) => done,
        Err(text) => {
            let msg = CreateInteractionResponseMessage::new()
                .content(text)
                .ephemeral(true);
            click
                .create_response(&ctx.http, CreateInteractionResponse::Message(msg))
                .await?;
            return Ok(());
        }
    };
    let mut comment = CreateInputText::new(
        InputTextStyle::Paragraph,
        "Anything to add? (optional)",
        COMMENT_INPUT,
    )
    .required(false)
    .max_length(COMMENT_MAX_CHARS as u16)
    .placeholder("What went well, what could be better");
    if let Some(c) = stored.comment.as_deref().filter(|c| !c.is_empty()) {
        comment = comment.value(c);
    }
    let form = CreateModal::new(
        format!("{}{}:{stars}", embeds::RATE_COMMENT_PREFIX, ticket.id),
        format!("You rated {}", feedback::stars(stars)),
    )
    .components(vec![serenity::CreateActionRow::InputText(comment)]);
    click
        .create_response(&ctx.http, CreateInteractionResponse::Modal(form))
        .await?;
    // The question shows what was chosen (the form may be dismissed without a comment).
    let thanks = EditMessage::new()
        .embed(embeds::feedback_thanks(&ticket, &stored))
        .components(vec![embeds::rating_buttons(ticket.id)]);
    let mut question = (*click.message).clone();
    if let Err(e) = question.edit(ctx, thanks).await {
        tracing::debug!("cannot update the feedback question: {e}");
    }
    Ok(())
}

/// The comment form sent: stores the rating with its comment.
pub async fn comment(
    ctx: &serenity::Context,
    data: &Data,
    form: &ModalInteraction,
    ticket_id: Uuid,
    stars: u8,
) -> anyhow::Result<()> {
    let text = form
        .data
        .components
        .iter()
        .flat_map(|row| &row.components)
        .find_map(|c| match c {
            ActionRowComponent::InputText(t) if t.custom_id == COMMENT_INPUT => t.value.clone(),
            _ => None,
        })
        .unwrap_or_default();
    let user = form.user.id.get();
    let outcome = store_rating(&ctx.http, data, user, ticket_id, stars, Some(&text)).await;
    let reply = match outcome {
        Ok((_, stored)) if stored.comment.as_deref().is_some_and(|c| !c.is_empty()) => {
            format!("Thanks for your feedback ({}).", stored.stars())
        }
        Ok((_, stored)) => format!("Thanks! You rated {}.", stored.stars()),
        Err(text) => text,
    };
    let msg = CreateInteractionResponseMessage::new()
        .content(reply)
        .ephemeral(true);
    form.create_response(&ctx.http, CreateInteractionResponse::Message(msg))
        .await?;
    Ok(())
}

/// Checks and stores a rating (and comment, when given); logs it. `Err` is the sentence for
/// the user.
async fn store_rating(
    http: &serenity::Http,
    data: &Data,
    user: u64,
    ticket_id: Uuid,
    stars: u8,
    comment: Option<&str>,
) -> Result<(Ticket, Feedback), String> {
    let unavailable = |e: StoreError| database_unavailable(data, &e).to_owned();
    let ticket = data
        .store
        .get(ticket_id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| "This ticket no longer exists, so it can't be rated.".to_owned())?;
    if user != ticket.creator_id {
        return Err(format!(
            "Only <@{}>, who opened this ticket, can rate it.",
            ticket.creator_id
        ));
    }
    let at = now();
    let given = Feedback::new(ticket.id, user, stars, comment, at).map_err(|e| e.to_string())?;
    let written = data
        .store
        .give_feedback(&given, changeable_since(at))
        .await
        .map_err(unavailable)?;
    let stored = data
        .store
        .feedback(ticket.id)
        .await
        .map_err(unavailable)?
        .unwrap_or(given);
    if written == FeedbackWrite::Final {
        return Err(format!(
            "You rated this ticket {} <t:{}:R>; a rating can only be changed within {} hours of giving it.",
            stored.stars(),
            stored.given_at.timestamp(),
            CHANGE_WINDOW.num_hours()
        ));
    }
    let action = match (written, comment) {
        (FeedbackWrite::Added, _) => "rated",
        (_, Some(_)) => "rating comment",
        _ => "rating changed",
    };
    let details = match stored.comment.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => format!("{}\n{c}", stored.stars()),
        None => stored.stars(),
    };
    audit::post(
        http,
        data,
        action,
        Some(user),
        &ticket,
        Some(&details),
        None,
    )
    .await;
    Ok((ticket, stored))
}
