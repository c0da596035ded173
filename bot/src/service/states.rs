//! Close, reopen (an archived ticket's in a new channel), claim and unclaim.

use super::open::make_channel;
use super::*;

pub async fn close(
    ctx: &serenity::Context,
    data: &Data,
    req: &Req,
    reason: Option<String>,
) -> Outcome {
    let ticket = ticket_here(data, req).await?;
    let t = Transition::Close {
        by: Some(req.user()),
        reason: reason.clone(),
        at: now(),
        forced: false,
    };
    let closed = transition(ctx, data, req, &ticket, t).await?;
    super::close_requests::drop_pending(data, &closed).await;
    let locked = sync::apply(&ctx.http, &ctx.cache, data, &closed).await;
    let why = reason
        .as_deref()
        .map(|r| format!("\nReason: {r}"))
        .unwrap_or_default();
    notice(
        ctx,
        &closed,
        format!("🔒 Ticket closed by <@{}>.{why}", req.user()),
        Some(embeds::closed_buttons()),
    )
    .await;
    super::feedback::ask(&ctx.http, data, &closed).await;
    audit::record(ctx, data, "closed", req.user(), &closed, reason.as_deref()).await;
    match locked {
        Ok(()) => Ok(Reply::text("Ticket closed.")),
        Err(e) => {
            tracing::warn!(
                "ticket {} closed but its channel was not locked: {e}",
                closed.id
            );
            Ok(Reply::text(format!(
                "Ticket closed, but I couldn't lock the channel yet (Discord said: {e}); I'll retry shortly."
            )))
        }
    }
}

/// Reopens the ticket of this channel, or the ticket `id` names (a short id or full id),
/// which is how an archived ticket, whose channel is gone, comes back: in a new channel, with
/// its transcript attached.
pub async fn reopen(
    ctx: &serenity::Context,
    data: &Arc<Data>,
    req: &Req,
    id: Option<&str>,
) -> Outcome {
    let ticket = match id {
        Some(id) => ticket_by_id(data, req, id).await?,
        None => ticket_here(data, req).await?,
    };
    if ticket.is_archived() || ticket.channel_id.is_none() {
        return reopen_archived(ctx, data, req, ticket).await;
    }
    let t = Transition::Reopen {
        by: req.user(),
        at: now(),
    };
    let opened = transition(ctx, data, req, &ticket, t).await?;
    crate::auto_close::reopened(data, &opened).await;
    let unlocked = sync::apply(&ctx.http, &ctx.cache, data, &opened).await;
    notice(
        ctx,
        &opened,
        format!("🔓 Ticket reopened by <@{}>.", req.user()),
        Some(embeds::ticket_buttons()),
    )
    .await;
    audit::record(ctx, data, "reopened", req.user(), &opened, None).await;
    match unlocked {
        Ok(()) => Ok(Reply::text("Ticket reopened.")),
        Err(e) => Ok(Reply::text(format!(
            "Ticket reopened, but I couldn't unlock the channel yet (Discord said: {e}); I'll retry shortly."
        ))),
    }
}

/// A ticket without a channel comes back in a new one: channel first (nothing recorded if it
/// cannot be made), then the reopen (the channel is deleted again if the rules refuse), then
/// the channel recorded, then the transcript posted in it.
async fn reopen_archived(
    ctx: &serenity::Context,
    data: &Arc<Data>,
    req: &Req,
    ticket: Ticket,
) -> Outcome {
    let t = Transition::Reopen {
        by: req.user(),
        at: now(),
    };
    rules::authorize(&ticket, &req.actor, &t, &data.policy)?;
    rules::check(&ticket, &t)?;
    // Back in its topic's category, with its role, when it was opened with one.
    let topic = crate::access::topic_of(data, &ticket).await?;
    let channel = make_channel(ctx, data, req.guild_id, &ticket, topic.as_ref()).await?;
    let undo = |why: String| async {
        channel.id.delete(&ctx.http).await.ok();
        why
    };
    let opened = match data.store.transition(ticket.id, &t).await {
        Ok(o) => o,
        Err(e) => {
            undo(String::new()).await;
            return Err(e.into());
        }
    };
    let opened = match data
        .store
        .set_channel(opened.id, Some(channel.id.get()))
        .await
    {
        Ok(o) => o,
        Err(e) => {
            undo(String::new()).await;
            let close = Transition::Close {
                by: None,
                reason: Some("reopening failed: its new channel could not be recorded".into()),
                at: now(),
                forced: true,
            };
            // Closed again (as soon as the database is back, if it is what failed).
            let id = ticket.id;
            undo_now_or_when_back(
                data,
                format!("closing ticket {id} again, whose reopening failed"),
                move |store| {
                    let close = close.clone();
                    async move { store.transition(id, &close).await.map(|_| ()) }
                },
            )
            .await;
            if e.is_unavailable() {
                return Err(e.into());
            }
            return Err(ServiceError::Internal(
                anyhow::Error::new(e).context("recording the reopened ticket's channel"),
            ));
        }
    };
    crate::auto_close::reopened(data, &opened).await;
    let (embed, buttons) = embeds::welcome(&opened);
    let welcome = serenity::CreateMessage::new()
        .content(format!(
            "<@{}> <@&{}> This ticket was reopened by <@{}>; the earlier conversation is attached.",
            opened.creator_id,
            data.settings.support_role_id,
            req.user()
        ))
        .embed(embed)
        .components(buttons);
    let posted = match transcripts::load(data, opened.id).await {
        Ok(Some(t)) => transcripts::post(&ctx.http, channel.id, &t, welcome).await,
        Ok(None) => channel.id.send_message(&ctx.http, welcome).await.map(drop),
        Err(e) => {
            tracing::warn!(
                "the transcript of ticket {} cannot be read: {e:#}",
                opened.id
            );
            channel.id.send_message(&ctx.http, welcome).await.map(drop)
        }
    };
    if let Err(e) = posted {
        tracing::warn!("cannot post in the reopened ticket {}: {e}", opened.id);
    }
    audit::record(
        ctx,
        data,
        "reopened",
        req.user(),
        &opened,
        Some("in a new channel (it was archived)"),
    )
    .await;
    Ok(Reply::text(format!(
        "Ticket {} reopened in <#{}>.",
        opened.short_id(),
        channel.id
    )))
}

pub async fn claim(ctx: &serenity::Context, data: &Data, req: &Req) -> Outcome {
    let ticket = ticket_here(data, req).await?;
    let t = Transition::Claim {
        by: req.user(),
        at: now(),
    };
    let claimed = transition(ctx, data, req, &ticket, t).await?;
    notice(
        ctx,
        &claimed,
        format!(
            "🙋 <@{}> claimed this ticket and will handle it.",
            req.user()
        ),
        None,
    )
    .await;
    audit::record(ctx, data, "claimed", req.user(), &claimed, None).await;
    Ok(Reply::text("You claimed this ticket."))
}

pub async fn unclaim(ctx: &serenity::Context, data: &Data, req: &Req) -> Outcome {
    let ticket = ticket_here(data, req).await?;
    let t = Transition::Unclaim {
        by: req.user(),
        at: now(),
    };
    let unclaimed = transition(ctx, data, req, &ticket, t).await?;
    notice(
        ctx,
        &unclaimed,
        format!(
            "<@{}> unclaimed this ticket; another staff member can claim it.",
            req.user()
        ),
        None,
    )
    .await;
    audit::record(ctx, data, "unclaimed", req.user(), &unclaimed, None).await;
    Ok(Reply::text("You unclaimed this ticket."))
}
