//! Archive, transcripts on demand, and delete (which saves the transcript first).

use super::*;
use crate::archive;

/// `/ticket archive`: in a closed ticket's channel, saves its transcript and deletes the
/// channel.
pub async fn archive(ctx: &serenity::Context, data: &Data, req: &Req) -> Outcome {
    require_staff(req)?;
    let ticket = ticket_here(data, req).await?;
    rules::check_archive(&ticket)?;
    match archive::archive(&ctx.http, &ctx.cache, data, &ticket, Some(req.user())).await {
        Ok(archive::Archived::Done { ticket, messages }) => Ok(Reply::text(format!(
            "Ticket {} archived: {messages} messages saved in its transcript, channel deleted.",
            ticket.short_id()
        ))),
        Ok(archive::Archived::Busy) => Err(ServiceError::User(
            "This ticket is being archived already.".into(),
        )),
        Err(archive::ArchiveError::Rule(r)) => Err(r.into()),
        Err(archive::ArchiveError::Store(e)) => Err(e.into()),
        Err(e) => Err(ServiceError::User(capitalize(&e.to_string()))),
    }
}

/// `/ticket transcript [id]` (staff): this ticket's transcript made now from its channel, or
/// the saved one of an archived or deleted ticket.
pub async fn transcript(
    ctx: &serenity::Context,
    data: &Data,
    req: &Req,
    id: Option<&str>,
) -> Outcome {
    require_staff(req)?;
    let (ticket_id, live) = match id {
        Some(raw) => match ticket_by_id(data, req, raw).await {
            Ok(t) => (t.id, Some(t)),
            // A deleted ticket's transcript stays; it can be named by its full id.
            Err(e) => match Uuid::parse_str(raw.trim()) {
                Ok(full) => (full, None),
                Err(_) => return Err(e),
            },
        },
        None => {
            let t = ticket_here(data, req).await?;
            (t.id, Some(t))
        }
    };
    let made = match &live {
        Some(t) if t.channel_id.is_some() => {
            match transcripts::make_and_save(&ctx.http, &ctx.cache, data, t, None).await {
                Ok(tr) => Some(tr),
                Err(e) => {
                    tracing::warn!("transcript of {} not made now: {e}", t.id);
                    None
                }
            }
        }
        _ => None,
    };
    let transcript = match made {
        Some(t) => t,
        None => match transcripts::load(data, ticket_id).await {
            Ok(Some(t)) if t.summary.guild_id == req.guild_id.get() => t,
            Ok(_) => {
                return Err(ServiceError::User(
                    "There is no saved transcript for that ticket.".into(),
                ))
            }
            Err(e) => return Err(ServiceError::Internal(e.context("reading a transcript"))),
        },
    };
    let files = transcripts::files(&transcript);
    // An interaction reply takes one upload's worth: the first part, with a word on the rest.
    let mut content = transcripts::describe(&transcript, &files);
    if files.parts.len() > 1 {
        content.push_str(&format!(
            " Only part 1 fits in this reply; `ticketctl transcript {}` writes the whole file.",
            transcript.summary.ticket_id
        ));
    }
    Ok(Reply {
        content,
        files: files.parts.into_iter().take(1).collect(),
        ..Reply::default()
    })
}

/// Asks for confirmation; the confirm button carries the ticket id.
pub async fn request_delete(data: &Data, req: &Req) -> Outcome {
    require_staff(req)?;
    let ticket = ticket_here(data, req).await?;
    Ok(Reply {
        files: Vec::new(),
        content: format!(
            "Delete ticket {} for good? Its channel and record go; its history stays in the audit log.",
            ticket.short_id()
        ),
        embed: None,
        components: embeds::delete_confirm(&ticket),
    })
}

pub async fn confirm_delete(ctx: &serenity::Context, data: &Data, req: &Req, id: Uuid) -> Outcome {
    require_staff(req)?;
    let Some(ticket) = data.store.get(id).await? else {
        return Err(ServiceError::User("That ticket is already deleted.".into()));
    };
    // The button carries the ticket id; it only counts where that ticket lives.
    if ticket.guild_id != req.guild_id.get()
        || ticket.channel_id.is_some_and(|c| c != req.channel_id.get())
    {
        return Err(ServiceError::User(
            "This button belongs to another ticket's channel; use /ticket delete in the ticket you want to delete.".into(),
        ));
    }
    // The conversation is kept: transcript first, and no delete without it.
    let transcript = match transcripts::make_and_save(&ctx.http, &ctx.cache, data, &ticket, None).await {
        Ok(t) => Some(t),
        Err(transcripts::CollectError::ChannelGone | transcripts::CollectError::NoChannel) => {
            transcripts::load(data, ticket.id).await.ok().flatten()
        }
        Err(e) => {
            return Err(ServiceError::User(format!(
                "I couldn't save the ticket's transcript ({e}), so nothing was deleted. Try again in a moment."
            )))
        }
    };
    let old_parent = ticket.channel_id.and_then(|c| {
        ctx.cache
            .guild(req.guild_id)
            .and_then(|g| {
                g.channels
                    .get(&ChannelId::new(c))
                    .and_then(|ch| ch.parent_id)
            })
            .map(|p| p.get())
    });
    // The record goes first, and with it (in the same write) the channel is recorded as ours to
    // delete: the channel's delete event then finds no ticket to force-close, and a channel
    // Discord will not delete right now is deleted by `channel_work` later, never forgotten.
    data.store.delete(id, Some(req.user()), now()).await?;
    let mut channel_left = None;
    if let Some(channel) = ticket.channel_id {
        match ChannelId::new(channel).delete(&ctx.http).await {
            Ok(_) => {}
            Err(serenity::Error::Http(e))
                if e.status_code() == Some(serenity::StatusCode::NOT_FOUND) => {}
            Err(e) => channel_left = Some(discord_error(&e)),
        }
        if channel_left.is_none() {
            if let Err(e) = data.store.channel_deleted(channel).await {
                tracing::warn!("cannot record that channel {channel} is deleted: {e}");
            }
        }
    }
    // Only once it is done: the entry is built from the ticket as read above, and it goes to
    // the log channel, so nothing is lost by waiting (a refused delete must leave no entry).
    audit::post(
        &ctx.http,
        data,
        "deleted",
        Some(req.user()),
        &ticket,
        None,
        transcript.as_ref(),
    )
    .await;
    if let Some(t) = &transcript {
        transcripts::dm_creator(&ctx.http, data, &ticket, t).await;
    }
    if let Some(e) = channel_left {
        tracing::warn!("ticket {} deleted; its channel is not yet: {e}", ticket.id);
        return Ok(Reply::text(format!(
            "Ticket {} deleted, but Discord did not delete its channel yet (Discord said: {e}); I'll retry shortly.",
            ticket.short_id()
        )));
    }
    categories::remove_if_empty(&ctx.http, data, req.guild_id, old_parent).await;
    Ok(Reply::text(format!(
        "Ticket {} deleted.",
        ticket.short_id()
    )))
}
