//! Close requests: staff ask the creator whether the ticket can close. Accept closes it with
//! the request's reason, Deny keeps it open and tells staff, silence closes it at the deadline
//! (the sweep below, in whichever bot process sees it first; the database settles it once).

use ticketbot_common::close_request::{self, CloseRequest, CloseRequestState, RETRY_SETTLED_AFTER};
use ticketbot_common::duration::format_duration;

use super::*;

/// At most this many due requests are handled per sweep.
const PER_SWEEP: u32 = 20;

/// `/ticket close-request [reason] [delay]`: posts the question with Accept / Deny for the
/// creator. A newer request replaces an earlier one (whose buttons then say so).
pub async fn request_close(
    ctx: &serenity::Context,
    data: &Data,
    req: &Req,
    reason: Option<String>,
    delay: Option<String>,
) -> Outcome {
    require_staff(req)?;
    let delay = close_request::parse_delay(delay.as_deref())
        .map_err(|e| ServiceError::User(format!("{}.", capitalize(&e.to_string()))))?;
    let ticket = ticket_here(data, req).await?;
    if !ticket.is_open() {
        return Err(RuleError::AlreadyClosed.into());
    }
    // The ticket of this channel: the question goes here.
    let channel = req.channel_id;
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let request = CloseRequest::new(
        ticket.id,
        req.guild_id.get(),
        req.user(),
        reason,
        now(),
        delay,
    );
    data.store.put_close_request(&request).await?;
    let question = serenity::CreateMessage::new()
        .content(format!("<@{}>", ticket.creator_id))
        .embed(embeds::close_request(&request, ticket.creator_id))
        .components(vec![embeds::close_request_buttons(request.id)]);
    if let Err(e) = channel.send_message(&ctx.http, question).await {
        // A request the creator cannot see must not close their ticket.
        data.store.remove_close_request(request.id).await.ok();
        return Err(ServiceError::User(format!(
            "I couldn't post the close request in this channel (Discord said: {}), so nothing was asked.",
            discord_error(&e)
        )));
    }
    let details = describe(&request);
    audit::record(
        ctx,
        data,
        "close requested",
        req.user(),
        &ticket,
        Some(&details),
    )
    .await;
    Ok(Reply::text(format!(
        "Close request sent to <@{}>. The ticket closes <t:{}:R> unless they answer.",
        ticket.creator_id,
        request.deadline.timestamp()
    )))
}

/// The creator's click on Accept or Deny of the request `id`.
pub async fn answer_close_request(
    ctx: &serenity::Context,
    data: &Data,
    req: &Req,
    id: Uuid,
    accept: bool,
) -> Outcome {
    let ticket = ticket_here(data, req).await?;
    let request = data
        .store
        .close_request(ticket.id)
        .await?
        .filter(|r| r.id == id && r.state == CloseRequestState::Pending)
        .ok_or_else(|| {
            ServiceError::User("This close request has already been answered or replaced.".into())
        })?;
    if req.user() != ticket.creator_id {
        return Err(ServiceError::User(format!(
            "Only <@{}>, who opened this ticket, can answer this close request.",
            ticket.creator_id
        )));
    }
    let state = if accept {
        CloseRequestState::Accepted
    } else {
        CloseRequestState::Denied
    };
    let Some(settled) = data
        .store
        .settle_close_request(&request, state, now() + RETRY_SETTLED_AFTER)
        .await?
    else {
        return Err(ServiceError::User(
            "This close request has already been answered or replaced.".into(),
        ));
    };
    if accept {
        see_through(&ctx.http, &ctx.cache, data, &settled).await?;
        Ok(Reply::text("Thanks! The ticket is closed."))
    } else {
        deny(&ctx.http, data, &ticket, &settled).await;
        Ok(Reply::text(
            "The ticket stays open; the support team has been told.",
        ))
    }
}

/// Deny: staff are told in the channel (the requester pinged) and in the log, and the request
/// is gone.
async fn deny(http: &serenity::Http, data: &Data, ticket: &Ticket, request: &CloseRequest) {
    if let Some(channel) = ticket.channel_id.map(ChannelId::new) {
        let msg = serenity::CreateMessage::new()
            .content(format!("<@{}>", request.requested_by))
            .embed(embeds::notice(format!(
                "<@{}> denied the close request: the ticket stays open.",
                ticket.creator_id
            )));
        if let Err(e) = channel.send_message(http, msg).await {
            tracing::warn!("cannot post the denial in ticket {}: {e}", ticket.id);
        }
    }
    audit::post(
        http,
        data,
        "close request denied",
        Some(ticket.creator_id),
        ticket,
        Some(&describe(request)),
        None,
    )
    .await;
    if let Err(e) = data.store.remove_close_request(request.id).await {
        // Due again after the retry time: the sweep removes it then.
        tracing::warn!("cannot remove the denied close request {}: {e}", request.id);
    }
}

/// Closes the ticket of an accepted or expired request and removes the request. Safe to run
/// again (after a crash, or in two processes): a closed ticket is not closed twice, and only
/// the close that happened posts its notices.
async fn see_through(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    request: &CloseRequest,
) -> Result<(), ServiceError> {
    let ticket = data.store.get(request.ticket_id).await?;
    let open = ticket.filter(|t| t.is_open());
    let Some(ticket) = open.filter(|_| request.state.closes()) else {
        // Denied, closed another way meanwhile, or deleted: nothing left to do.
        data.store.remove_close_request(request.id).await?;
        return Ok(());
    };
    // The bot's own request is an auto-close warning: a message since it cancels the close
    // (one that raced the warning), and the close is the bot's, not a staff member's.
    let auto = request.requested_by == cache.current_user().id.get();
    if auto {
        let last = data.store.last_activity(ticket.id).await?;
        if last.is_some_and(|m| m > request.requested_at) {
            data.store.remove_close_request(request.id).await?;
            return Ok(());
        }
    }
    let close = Transition::Close {
        by: (!auto).then_some(request.requested_by),
        reason: request.reason.clone(),
        at: now(),
        forced: false,
    };
    let closed = match data.store.transition(ticket.id, &close).await {
        Ok(closed) => Some(closed),
        // Closed by someone else between the read and the close.
        Err(StoreError::Rule(RuleError::AlreadyClosed)) => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(closed) = &closed {
        if let Err(e) = sync::apply(http, cache, data, closed).await {
            tracing::warn!(
                "ticket {} closed but its channel was not locked: {e}",
                closed.id
            );
        }
        let why = request
            .reason
            .as_deref()
            .map(|r| format!("\nReason: {r}"))
            .unwrap_or_default();
        let (text, details) = match request.state {
            _ if auto => (
                format!(
                    "🔒 Ticket closed automatically: {} and no reply to the warning.",
                    request.reason.as_deref().unwrap_or("no messages")
                ),
                "auto-close".to_owned(),
            ),
            CloseRequestState::Accepted => (
                format!(
                    "🔒 <@{}> accepted the close request: ticket closed.{why}",
                    closed.creator_id
                ),
                "close request accepted by the creator".to_owned(),
            ),
            _ => (
                format!(
                    "🔒 Ticket closed: no answer to the close request within {}.{why}",
                    format_duration(request.deadline - request.requested_at)
                ),
                "no answer to the close request".to_owned(),
            ),
        };
        notice_with(http, closed, text, Some(embeds::closed_buttons())).await;
        super::feedback::ask(http, data, closed).await;
        let details = match &request.reason {
            Some(r) => format!("{details}; reason: {r}"),
            None => details,
        };
        audit::post(
            http,
            data,
            "closed",
            closed.closed_by,
            closed,
            Some(&details),
            None,
        )
        .await;
    }
    data.store.remove_close_request(request.id).await?;
    Ok(())
}

/// Forgets the ticket's pending request once the ticket is closed some other way, so that it
/// cannot close the ticket again after a reopen.
pub(crate) async fn drop_pending(data: &Data, ticket: &Ticket) {
    match data.store.close_request(ticket.id).await {
        Ok(Some(r)) if r.state == CloseRequestState::Pending => {
            if let Err(e) = data.store.remove_close_request(r.id).await {
                tracing::warn!("cannot drop the close request of ticket {}: {e}", ticket.id);
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot read the close request of ticket {}: {e}", ticket.id),
    }
}

/// One sweep: pending requests past their deadline expire and close their tickets; settled
/// ones left half-done (a process stopped between settling and closing) are seen through.
/// Returns how many requests it finished.
pub async fn sweep(http: &serenity::Http, cache: &serenity::Cache, data: &Data) -> usize {
    let at = now();
    let due = match data.store.due_close_requests(at, PER_SWEEP).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("cannot look for due close requests: {e}");
            return 0;
        }
    };
    let mut done = 0;
    for r in due {
        if !crate::channel_work::serves(cache, data, r.guild_id) {
            continue;
        }
        // Expired now, or taken up again: the database lets one process have it.
        let state = match r.state {
            CloseRequestState::Pending => CloseRequestState::Expired,
            other => other,
        };
        let taken = data
            .store
            .settle_close_request(&r, state, at + RETRY_SETTLED_AFTER)
            .await;
        let settled = match taken {
            Ok(Some(s)) => s,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!("cannot settle close request {}: {e}", r.id);
                continue;
            }
        };
        match see_through(http, cache, data, &settled).await {
            Ok(()) => done += 1,
            Err(e) => tracing::warn!(
                "cannot close ticket {} for its close request: {e}; trying again in a minute",
                r.ticket_id
            ),
        }
    }
    done
}

/// The request in words, for the log channel.
fn describe(r: &CloseRequest) -> String {
    let reason = r
        .reason
        .as_deref()
        .map(|x| format!("reason: {x}; "))
        .unwrap_or_default();
    format!(
        "{reason}closes <t:{}:f> without an answer (asked by <@{}>)",
        r.deadline.timestamp(),
        r.requested_by
    )
}
