//! Participants (add, remove) and the info card.

use super::*;

pub async fn add(ctx: &serenity::Context, data: &Data, req: &Req, user: UserId) -> Outcome {
    require_staff(req)?;
    let ticket = ticket_here(data, req).await?;
    data.store
        .add_participant(ticket.id, user.get(), req.user(), now())
        .await?;
    let overwrite = PermissionOverwrite {
        allow: member_permissions(),
        deny: serenity::Permissions::empty(),
        kind: PermissionOverwriteType::Member(user),
    };
    if let Err(e) = req.channel_id.create_permission(&ctx.http, overwrite).await {
        // Undo the record so that database and channel agree.
        data.store
            .remove_participant(ticket.id, user.get(), req.user(), now())
            .await
            .ok();
        let e = discord_error(&e);
        return Err(ServiceError::User(format!("I couldn't give <@{user}> access to this channel (Discord said: {e}); nothing changed.")));
    }
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
    Ok(Reply::text(format!("Added <@{user}> to this ticket.")))
}

pub async fn remove(ctx: &serenity::Context, data: &Data, req: &Req, user: UserId) -> Outcome {
    require_staff(req)?;
    let ticket = ticket_here(data, req).await?;
    data.store
        .remove_participant(ticket.id, user.get(), req.user(), now())
        .await?;
    if let Err(e) = req
        .channel_id
        .delete_permission(&ctx.http, PermissionOverwriteType::Member(user))
        .await
    {
        data.store
            .add_participant(ticket.id, user.get(), req.user(), now())
            .await
            .ok();
        let e = discord_error(&e);
        return Err(ServiceError::User(format!(
            "I couldn't take <@{user}>'s access away (Discord said: {e}); nothing changed."
        )));
    }
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
    Ok(Reply::text(format!("Removed <@{user}> from this ticket.")))
}

pub async fn info(data: &Data, req: &Req) -> Outcome {
    let ticket = ticket_here(data, req).await?;
    let participants = data.store.participants(ticket.id).await?;
    Ok(Reply {
        embed: Some(embeds::info(&ticket, &participants)),
        ..Reply::default()
    })
}
