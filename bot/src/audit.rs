//! The audit trail for people: every ticket action goes to the log and, when `LOG_CHANNEL_ID`
//! is set, to that channel. (The database history is written by the store itself.)

use poise::serenity_prelude as serenity;
use ticketbot_common::ticket::Ticket;

use crate::data::Data;

pub async fn record(
    ctx: &serenity::Context,
    data: &Data,
    action: &str,
    by: u64,
    ticket: &Ticket,
    extra: Option<&str>,
) {
    tracing::info!(
        action,
        ticket = %ticket.id,
        by,
        creator = ticket.creator_id,
        channel = ?ticket.channel_id,
        extra = extra.unwrap_or(""),
        "ticket {action}"
    );
    let Some(log_channel) = data.settings.log_channel_id else {
        return;
    };
    let mut embed = serenity::CreateEmbed::new()
        .title(format!("Ticket {} {action}", ticket.short_id()))
        .field("By", format!("<@{by}>"), true)
        .field("Creator", format!("<@{}>", ticket.creator_id), true)
        .field("Status", ticket.status.as_str(), true)
        .field("Ticket ID", format!("`{}`", ticket.id), false)
        .timestamp(serenity::Timestamp::now());
    if let Some(c) = ticket.channel_id {
        embed = embed.field("Channel", format!("<#{c}> ({c})"), false);
    }
    if let Some(extra) = extra {
        embed = embed.field("Details", extra, false);
    }
    let msg = serenity::CreateMessage::new().embed(embed);
    if let Err(e) = serenity::ChannelId::new(log_channel)
        .send_message(&ctx.http, msg)
        .await
    {
        tracing::warn!("cannot post to the log channel {log_channel}: {e}");
    }
}
