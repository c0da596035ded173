//! Participants (add, remove) and the info card.

use super::*;

pub async fn add(ctx: &serenity::Context, data: &Data, req: &Req, user: UserId) -> Outcome {
    require_staff(req)?;
    let ticket = ticket_here(data, req).await?;
    data.store
        .add_participant(ticket.id, user.get(), req.user(), now())
        .await?;
    // The database is the truth; the channel follows it (retried by `channel_work` until
    // Discord confirms, so the two never stay apart).
    let granted = crate::sync::apply(&ctx.http, &ctx.cache, data, &ticket).await;
    notice(
        ctx,
        &ticket,
        format!("➕ <@{user}> was added by <@{}>.", req.user()),
        None,
    )
    .await;
    audit::record(
        ctx,
        data,
        "participant added",
        req.user(),
        &ticket,
        Some(&format!("<@{user}>")),
    )
    .await;
    match granted {
        Ok(()) => Ok(Reply::text(format!("Added <@{user}> to this ticket."))),
        Err(e) => {
            tracing::warn!(
                "ticket {}: <@{user}> added but not given access yet: {e}",
                ticket.id
            );
            Ok(Reply::text(format!(
                "Added <@{user}> to this ticket, but I couldn't give them access to the channel yet (Discord said: {e}); I'll retry shortly."
            )))
        }
    }
}

pub async fn remove(ctx: &serenity::Context, data: &Data, req: &Req, user: UserId) -> Outcome {
    require_staff(req)?;
    let ticket = ticket_here(data, req).await?;
    data.store
        .remove_participant(ticket.id, user.get(), req.user(), now())
        .await?;
    let revoked = crate::sync::apply(&ctx.http, &ctx.cache, data, &ticket).await;
    notice(
        ctx,
        &ticket,
        format!("➖ <@{user}> was removed by <@{}>.", req.user()),
        None,
    )
    .await;
    audit::record(
        ctx,
        data,
        "participant removed",
        req.user(),
        &ticket,
        Some(&format!("<@{user}>")),
    )
    .await;
    match revoked {
        Ok(()) => Ok(Reply::text(format!("Removed <@{user}> from this ticket."))),
        Err(e) => {
            tracing::warn!(
                "ticket {}: <@{user}> removed but still has access: {e}",
                ticket.id
            );
            Ok(Reply::text(format!(
                "Removed <@{user}> from this ticket, but I couldn't take their access to the channel away yet (Discord said: {e}); I'll retry shortly."
            )))
        }
    }
}

pub async fn info(data: &Data, req: &Req) -> Outcome {
    let ticket = ticket_here(data, req).await?;
    let participants = data.store.participants(ticket.id).await?;
    let close_request = data
        .store
        .close_request(ticket.id)
        .await?
        .filter(|r| r.state == ticketbot_common::close_request::CloseRequestState::Pending);
    let feedback = data.store.feedback(ticket.id).await?;
    let form = data.store.ticket_form(ticket.id).await?;
    let mut embed = embeds::info(
        &ticket,
        &participants,
        close_request.as_ref(),
        feedback.as_ref(),
    );
    if let Some(f) = form {
        embed = embeds::with_answers(embed, &f.topic_name, &f.answers);
    }
    Ok(Reply {
        embed: Some(embed),
        ..Reply::default()
    })
}
