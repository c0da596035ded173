//! Auto-close of stale tickets (`AUTO_CLOSE_AFTER`): every message in a ticket channel is
//! noted (its time only), a ticket silent for that long gets a warning, and a message cancels
//! the warning. The warning is a close request by the bot (`common::auto_close`): its deadline
//! is kept in the database and the close-request sweep closes the ticket, once, whichever
//! process gets there first.

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use serenity::ChannelId;
use ticketbot_common::auto_close::{write_every, TicketActivity};
use ticketbot_common::close_request::CloseRequest;
use ticketbot_common::duration::format_duration;
use ticketbot_common::ticket::{now, Ticket};

use crate::data::{lock, Data};
use crate::{audit, embeds};

/// How many channels' last write times are remembered before the memory is cleared (a later
/// message there costs one write, nothing more).
const REMEMBERED: usize = 100_000;

/// At most this many tickets are warned per sweep.
const PER_SWEEP: u32 = 20;

/// Notes a message in a ticket channel (at most once per [`write_every`] per channel and
/// process), and cancels the bot's warning there.
pub async fn note(ctx: &serenity::Context, data: &Arc<Data>, msg: &serenity::Message) {
    let Some(after) = data.settings.auto_close_after else {
        return;
    };
    let Some(guild) = msg.guild_id else { return };
    if msg.author.bot
        || msg.webhook_id.is_some()
        || data.settings.guild_id.is_some_and(|g| g != guild.get())
    {
        return;
    }
    let channel = msg.channel_id.get();
    let at = *msg.timestamp;
    {
        let mut written = lock(&data.activity_written);
        if written
            .get(&channel)
            .is_some_and(|last| at - *last < write_every(after))
        {
            return;
        }
        if written.len() >= REMEMBERED {
            written.clear();
        }
        written.insert(channel, at);
    }
    let ticket = match data.store.get_by_channel(channel).await {
        Ok(Some(t)) if t.is_open() => t,
        Ok(_) => return,
        Err(e) => {
            tracing::debug!("cannot note the message in channel {channel}: {e}");
            return;
        }
    };
    let activity = TicketActivity {
        ticket_id: ticket.id,
        guild_id: guild.get(),
        last_message_at: at,
    };
    if let Err(e) = data.store.record_activity(&activity).await {
        tracing::warn!("cannot note the last message of ticket {}: {e}", ticket.id);
    }
    let me = ctx.cache.current_user().id.get();
    match data.store.cancel_close_request(ticket.id, me).await {
        Ok(true) => {
            let text = "Auto-close cancelled: there is a new message. Thanks!";
            crate::service::notice_with(&ctx.http, &ticket, text.to_owned(), None).await;
        }
        Ok(false) => {}
        Err(e) => tracing::warn!("cannot cancel the auto-close of ticket {}: {e}", ticket.id),
    }
}

/// A reopen starts the silence afresh: without this, a ticket reopened after a long quiet
/// would be warned at once.
pub async fn reopened(data: &Data, ticket: &Ticket) {
    if data.settings.auto_close_after.is_none() {
        return;
    }
    let activity = TicketActivity {
        ticket_id: ticket.id,
        guild_id: ticket.guild_id,
        last_message_at: now(),
    };
    if let Err(e) = data.store.record_activity(&activity).await {
        tracing::warn!("cannot note the reopen of ticket {}: {e}", ticket.id);
    }
}

/// One sweep: warns the open tickets silent for `AUTO_CLOSE_AFTER` (the database lets one
/// process warn each). Returns how many it warned.
pub async fn warn_stale(http: &serenity::Http, cache: &serenity::Cache, data: &Data) -> usize {
    let Some(after) = data.settings.auto_close_after else {
        return 0;
    };
    let at = now();
    let stale = match data.store.stale_tickets(at - after, PER_SWEEP).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot look for stale tickets: {e}");
            return 0;
        }
    };
    let me = cache.current_user().id.get();
    let grace = data.settings.auto_close_warning;
    let mut warned = 0;
    for t in stale {
        let Some(channel) = t.channel_id else {
            continue;
        };
        if !crate::channel_work::serves(cache, data, t.guild_id) {
            continue;
        }
        let reason = format!("no messages for {}", format_duration(after));
        let warning = CloseRequest::new(t.id, t.guild_id, me, Some(reason), at, grace);
        match data.store.add_close_request(&warning).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!("cannot warn ticket {}: {e}", t.id);
                continue;
            }
        }
        let text = format!(
            "⏰ No messages here for {}. This ticket closes <t:{}:R> unless someone replies.",
            format_duration(after),
            warning.deadline.timestamp()
        );
        let msg = serenity::CreateMessage::new()
            .content(format!("<@{}>", t.creator_id))
            .embed(embeds::notice(text));
        if let Err(e) = ChannelId::new(channel).send_message(http, msg).await {
            // Unseen, a warning must not close the ticket: taken back, tried again next sweep.
            tracing::warn!("cannot post the auto-close warning in ticket {}: {e}", t.id);
            data.store.remove_close_request(warning.id).await.ok();
            continue;
        }
        let details = format!(
            "no messages for {}; closes <t:{}:f> unless someone replies",
            format_duration(after),
            warning.deadline.timestamp()
        );
        audit::post(
            http,
            data,
            "auto-close warning",
            None,
            &t,
            Some(&details),
            None,
        )
        .await;
        warned += 1;
    }
    warned
}
