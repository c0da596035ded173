//! The audit trail for people: every ticket action goes to the log and, when `LOG_CHANNEL_ID`
//! is set, to that channel, with the transcript attached when there is one. (The database
//! history is written by the store itself.)

use poise::serenity_prelude as serenity;
use ticketbot_common::ticket::Ticket;
use ticketbot_transcript::Transcript;

use crate::data::Data;
use crate::{embeds, transcripts};

pub async fn record(
    ctx: &serenity::Context,
    data: &Data,
    action: &str,
    by: u64,
    ticket: &Ticket,
    extra: Option<&str>,
) {
    post(&ctx.http, data, action, Some(by), ticket, extra, None).await;
}

/// An archive's entry, with the transcript files.
pub async fn archived(
    http: &serenity::Http,
    data: &Data,
    ticket: &Ticket,
    by: Option<u64>,
    transcript: Option<&Transcript>,
) {
    let extra = transcript
        .is_none()
        .then_some("No transcript: the channel was already gone.");
    post(http, data, "archived", by, ticket, extra, transcript).await;
}

/// Logs the action and posts its entry (with the transcript files, when given) to the log
/// channel. `by`: `None` for the bot itself (automatic archive, `ticketctl`).
pub async fn post(
    http: &serenity::Http,
    data: &Data,
    action: &str,
    by: Option<u64>,
    ticket: &Ticket,
    extra: Option<&str>,
    transcript: Option<&Transcript>,
) {
    tracing::info!(
        action,
        ticket = %ticket.id,
        by = ?by,
        creator = ticket.creator_id,
        channel = ?ticket.channel_id,
        extra = extra.unwrap_or(""),
        "ticket {action}"
    );
    let Some(log_channel) = data.settings.log_channel_id else {
        return;
    };
    let by = by.map_or_else(|| "the bot".to_owned(), |u| format!("<@{u}>"));
    let mut embed = serenity::CreateEmbed::new()
        .title(format!("Ticket {} {action}", ticket.short_id()))
        .field("By", by, true)
        .field("Creator", format!("<@{}>", ticket.creator_id), true)
        .field("Status", ticket.status.as_str(), true)
        .field("Ticket ID", format!("`{}`", ticket.id), false)
        .timestamp(serenity::Timestamp::now());
    if let Some(c) = ticket.channel_id {
        embed = embed.field("Channel", format!("<#{c}> ({c})"), false);
    }
    if let Some(extra) = extra {
        embed = embed.field(
            "Details",
            embeds::fit(extra, embeds::FIELD_VALUE_MAX),
            false,
        );
    }
    let channel = serenity::ChannelId::new(log_channel);
    let msg = serenity::CreateMessage::new().embed(embed);
    let sent = match transcript {
        Some(t) => transcripts::post(http, channel, t, msg).await,
        None => channel.send_message(http, msg).await.map(drop),
    };
    if let Err(e) = sent {
        tracing::warn!("cannot post to the log channel {log_channel}: {e}");
    }
}
