//! Opening a ticket: the row (the database decides the per-user limit), then the channel (in
//! the open category or its overflow; a full guild makes room or says so), then the welcome.

use super::*;
use crate::archive;

fn channel_overwrites(
    ctx: &serenity::Context,
    data: &Data,
    guild: GuildId,
    creator: UserId,
    topic_role: Option<u64>,
) -> Vec<PermissionOverwrite> {
    let allow = member_permissions();
    let mut overwrites = vec![
        // @everyone's role id is the guild id.
        PermissionOverwrite {
            allow: serenity::Permissions::empty(),
            deny: serenity::Permissions::VIEW_CHANNEL,
            kind: PermissionOverwriteType::Role(RoleId::new(guild.get())),
        },
        PermissionOverwrite {
            allow,
            deny: serenity::Permissions::empty(),
            kind: PermissionOverwriteType::Role(RoleId::new(data.settings.support_role_id)),
        },
        PermissionOverwrite {
            allow,
            deny: serenity::Permissions::empty(),
            kind: PermissionOverwriteType::Member(creator),
        },
        PermissionOverwrite {
            allow,
            deny: serenity::Permissions::empty(),
            kind: PermissionOverwriteType::Member(ctx.cache.current_user().id),
        },
    ];
    // A topic's own role works its tickets alongside the support role.
    if let Some(role) = topic_role.filter(|r| *r != data.settings.support_role_id) {
        overwrites.push(PermissionOverwrite {
            allow,
            deny: serenity::Permissions::empty(),
            kind: PermissionOverwriteType::Role(RoleId::new(role)),
        });
    }
    overwrites
}

/// How long an answer to a refused click waits for the channel of a ticket that a simultaneous
/// click is still creating, so that it can link to it.
const CHANNEL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Re-reads the tickets that have no channel yet (being created right now by another click)
/// until they have one, for at most [`CHANNEL_WAIT`]. Returns them, and whether one vanished
/// (discarded because its channel could not be made).
async fn wait_for_channels(data: &Data, mut open: Vec<Ticket>) -> (Vec<Ticket>, bool) {
    let deadline = tokio::time::Instant::now() + CHANNEL_WAIT;
    let mut vanished = false;
    while open.iter().any(|t| t.channel_id.is_none()) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let mut fresh = Vec::with_capacity(open.len());
        for t in open {
            if t.channel_id.is_some() {
                fresh.push(t);
                continue;
            }
            match data.store.get(t.id).await {
                Ok(Some(current)) => fresh.push(current),
                Ok(None) => vanished = true,
                Err(e) => {
                    tracing::debug!("cannot re-read ticket {}: {e}", t.id);
                    fresh.push(t);
                }
            }
        }
        open = fresh;
    }
    (open, vanished)
}

/// Discards the row of an opening whose channel could not be made or recorded.
async fn discard_half_made(data: &Data, id: Uuid) {
    undo_now_or_when_back(
        data,
        format!("discarding ticket {id}, which has no channel"),
        move |store| async move { store.discard(id).await.map(|_| ()) },
    )
    .await;
}

/// After `create_ticket` failed because the database could not be reached, whether the row was
/// written is unknown: a server that went away mid-write (or froze, and was thawed) may hold it.
/// Once the database answers again, a row of that attempt (this creator, created at `at`, still
/// without a channel) is discarded, so that it holds no slot of the user's; checked again a few
/// seconds later for a write the server was still holding.
fn forget_attempt(
    data: &Arc<Data>,
    guild: GuildId,
    user: UserId,
    at: chrono::DateTime<chrono::Utc>,
) {
    let data = data.clone();
    tokio::spawn(async move {
        let near = chrono::Duration::milliseconds(1);
        let filter = ticketbot_common::store::TicketFilter {
            guild_id: Some(guild.get()),
            status: Some(ticketbot_common::TicketStatus::Open),
            creator_id: Some(user.get()),
            since: Some(at - near),
            until: Some(at + near),
            ..Default::default()
        };
        let deadline = tokio::time::Instant::now() + UNDO_FOR;
        let mut checks = 0;
        while checks < 2 && tokio::time::Instant::now() < deadline {
            let pause = if checks == 0 { 1 } else { 5 };
            tokio::time::sleep(std::time::Duration::from_secs(pause)).await;
            let page = match data.store.list(&filter, 10, None).await {
                Ok(page) => page,
                Err(e) if e.is_unavailable() => continue,
                Err(e) => {
                    tracing::error!("cannot look for the row of a failed opening by {user} ({e}); the repair will discard it");
                    return;
                }
            };
            checks += 1;
            let ours = page.tickets.into_iter().filter(|t| {
                t.channel_id.is_none() && (t.created_at - at).abs() < near && !data.is_opening(t.id)
            });
            for t in ours {
                match data.store.discard(t.id).await {
                    Ok(_) => tracing::info!(
                        "discarded ticket {}: the database took its row while it was going away",
                        t.id
                    ),
                    Err(e) => tracing::warn!("cannot discard ticket {} yet ({e})", t.id),
                }
            }
        }
    });
}

/// Opens a ticket for `user`: row, channel, welcome message.
pub async fn open(
    ctx: &serenity::Context,
    data: &Arc<Data>,
    guild: GuildId,
    user: UserId,
) -> Outcome {
    open_with(ctx, data, guild, user, None).await
}

/// [`open`] with the topic the user picked and their answers to its form: its limit, category
/// and role apply, and the answers are stored with the row (before the channel exists, so a
/// ticket never has a channel without them).
pub async fn open_with(
    ctx: &serenity::Context,
    data: &Arc<Data>,
    guild: GuildId,
    user: UserId,
    chosen: Option<&super::topics::Chosen>,
) -> Outcome {
    let topic = chosen.map(|c| &c.topic);
    let max_open = topic
        .and_then(|t| t.max_open)
        .unwrap_or(data.settings.max_open_per_user);
    let mut attempt = 0;
    let ticket = loop {
        attempt += 1;
        let at = now();
        let created = match data
            .store
            .create_ticket(guild.get(), user.get(), max_open, at)
            .await
        {
            Ok(c) => c,
            Err(e) if e.is_unavailable() => {
                forget_attempt(data, guild, user, at);
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        match created {
            CreateOutcome::Created(t) => break t,
            CreateOutcome::LimitReached { open } => {
                let (open, vanished) = wait_for_channels(data, open).await;
                // A simultaneous click's ticket was discarded (its channel failed): the slot
                // is free again.
                if vanished && attempt < 3 {
                    continue;
                }
                if open.is_empty() {
                    // Never an empty list as an answer: the slot is held by a ticket that is
                    // going away (a delete or discard finishing).
                    return Err(ServiceError::User(
                        "Your previous ticket is still being closed down; please try again in a few seconds.".into(),
                    ));
                }
                let links = open
                    .iter()
                    .map(|t| {
                        t.channel_id
                            .map_or_else(|| format!("`{}`", t.short_id()), |c| format!("<#{c}>"))
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(ServiceError::User(format!(
                    "You already have an open ticket: {links}. Please continue there."
                )));
            }
        }
    };
    let _opening = crate::data::Opening::new(data, ticket.id);
    if let Some(c) = chosen {
        let form = ticketbot_common::topics::TicketForm {
            ticket_id: ticket.id,
            guild_id: guild.get(),
            topic_id: c.topic.id,
            topic_name: c.topic.name.clone(),
            answers: c.answers.clone(),
            submitted_at: ticket.created_at,
        };
        if let Err(e) = data.store.put_ticket_form(&form).await {
            discard_half_made(data, ticket.id).await;
            return Err(e.into());
        }
    }
    let channel = match make_channel(ctx, data, guild, &ticket, topic).await {
        Ok(c) => c,
        Err(e) => {
            discard_half_made(data, ticket.id).await;
            return Err(e);
        }
    };
    let ticket = match data
        .store
        .set_channel(ticket.id, Some(channel.id.get()))
        .await
    {
        Ok(t) => t,
        Err(e) => {
            // The channel goes, and the row with it (as soon as the database is back).
            channel.id.delete(&ctx.http).await.ok();
            discard_half_made(data, ticket.id).await;
            if e.is_unavailable() {
                return Err(e.into());
            }
            return Err(ServiceError::Internal(
                anyhow::Error::new(e).context("recording the ticket's channel"),
            ));
        }
    };
    // The user gets their link first; the welcome and the audit entry follow in the
    // background (under a burst, the log channel's 5-messages-per-5-s bucket would otherwise
    // hold every user's answer). Shutdown waits for them like for any work in flight.
    let channel_id = channel.id;
    let work = data.begin_work();
    let (ctx2, data2, ticket2) = (ctx.clone(), data.clone(), ticket.clone());
    let role = topic
        .and_then(|t| t.role_id)
        .unwrap_or(data.settings.support_role_id);
    let form = chosen.map(|c| (c.topic.label(), c.answers.clone()));
    tokio::spawn(async move {
        let _work = work;
        let (mut embed, buttons) = embeds::welcome(&ticket2);
        if let Some((label, answers)) = &form {
            embed = embeds::with_answers(embed, label, answers);
        }
        let welcome = serenity::CreateMessage::new()
            .content(format!("<@{}> <@&{role}>", ticket2.creator_id))
            .embed(embed)
            .components(buttons);
        if let Err(e) = channel_id.send_message(&ctx2.http, welcome).await {
            tracing::warn!(
                "cannot post the welcome message of ticket {}: {e}",
                ticket2.id
            );
        }
        audit::record(&ctx2, &data2, "opened", user.get(), &ticket2, None).await;
    });
    Ok(Reply::text(format!("Your ticket is open: <#{channel_id}>")))
}

/// The ticket's channel, in the open category (or its overflow). A full guild first gets room
/// made by archiving its oldest closed tickets (when archiving is on); if there is still none,
/// the user is told plainly and staff are alerted.
pub(crate) async fn make_channel(
    ctx: &serenity::Context,
    data: &Arc<Data>,
    guild: GuildId,
    ticket: &Ticket,
    topic: Option<&ticketbot_common::topics::Topic>,
) -> Result<serenity::GuildChannel, ServiceError> {
    let creator = UserId::new(ticket.creator_id);
    let builder = serenity::CreateChannel::new(ticket.channel_name())
        .kind(serenity::ChannelType::Text)
        .topic(format!(
            "Support ticket {} opened by <@{}>",
            ticket.id, ticket.creator_id
        ))
        .permissions(channel_overwrites(
            ctx,
            data,
            guild,
            creator,
            topic.and_then(|t| t.role_id),
        ));
    if let Some(category) = topic.and_then(|t| t.category_id) {
        // The topic's own category; when Discord refuses (full, or gone) the default one.
        match guild
            .create_channel(&ctx.http, builder.clone().category(ChannelId::new(category)))
            .await
        {
            Ok(c) => return Ok(c),
            Err(e) => tracing::warn!(
                "cannot open ticket {} in its topic's category {category} ({}); using the default one",
                ticket.id,
                discord_error(&e)
            ),
        }
    }
    let mut made_room = false;
    loop {
        match categories::create_channel(
            &ctx.http,
            &ctx.cache,
            data,
            guild,
            CategoryKind::Open,
            builder.clone(),
        )
        .await
        {
            Ok(c) => return Ok(c),
            Err(PlaceError::GuildFull) if !made_room => {
                made_room = true;
                let freed =
                    archive::make_room(&ctx.http, &ctx.cache, data, guild, ROOM_TO_MAKE).await;
                tracing::warn!("guild {guild} is full (500 channels): archived {freed} closed tickets to make room");
            }
            // The database went away (reading the overflow categories): said as such.
            Err(PlaceError::Store(e)) => return Err(e.into()),
            Err(PlaceError::GuildFull) => {
                alert_guild_full(&ctx.http, data, guild).await;
                return Err(ServiceError::User(
                    "No ticket can be opened right now: this server has reached Discord's limit of 500 channels. The staff have been told; please try again later. Nothing was saved.".into(),
                ));
            }
            Err(e) => {
                tracing::warn!("creating the channel of ticket {} failed: {e}", ticket.id);
                return Err(ServiceError::User(format!(
                    "I couldn't create your ticket channel (Discord said: {e}). Nothing was saved; please try again in a moment, or ask an admin to check that I can manage channels."
                )));
            }
        }
    }
}

/// How many closed tickets a full guild archives to make room for one new ticket.
const ROOM_TO_MAKE: u32 = 3;

/// How often, at most, staff are told that the guild is full.
const ALERT_EVERY: chrono::Duration = chrono::Duration::minutes(5);

/// Tells staff in the log channel (mentioning the support role) that nobody can open a ticket,
/// at most once every [`ALERT_EVERY`] across every bot process (a lease in the database).
async fn alert_guild_full(http: &serenity::Http, data: &Data, guild: GuildId) {
    let Some(log) = data.settings.log_channel_id else {
        tracing::error!("guild {guild} is full (500 channels): nobody can open a ticket; set LOG_CHANNEL_ID to have staff alerted in Discord");
        return;
    };
    let at = now();
    // A fresh holder each time: the lease only says "an alert went out recently".
    let holder = format!("{}-{}", data.instance_id, Uuid::new_v4().simple());
    match data
        .store
        .try_lease(
            &format!("alert:guild-full:{guild}"),
            &holder,
            at,
            at + ALERT_EVERY,
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => tracing::warn!("cannot check when staff were last alerted: {e}"),
    }
    let role = data.settings.support_role_id;
    let archiving = match data.settings.archive_closed_after {
        Some(_) => "Archiving is on, but no closed ticket was left to archive.",
        None => "Automatic archiving is off (ARCHIVE_CLOSED_AFTER=0): archive closed tickets with /ticket archive or `ticketctl archive`.",
    };
    let msg = serenity::CreateMessage::new()
        .content(format!(
            "<@&{role}> ⚠️ Nobody can open a ticket: this server has reached Discord's limit of 500 channels. Delete or archive channels to make room. {archiving}"
        ))
        .allowed_mentions(serenity::CreateAllowedMentions::new().roles(vec![RoleId::new(role)]));
    if let Err(e) = ChannelId::new(log).send_message(http, msg).await {
        tracing::error!("guild {guild} is full and staff could not be alerted in {log}: {e}");
    }
}

pub async fn post_panel(ctx: &serenity::Context, data: &Data, req: &Req) -> Outcome {
    require_staff(req)?;
    let (mut embed, mut buttons) = embeds::panel();
    if let Some(rows) = super::topics::panel_components(data, req.guild_id).await? {
        embed = embed.description(
            "Pick the topic of your question to open a private channel with our support team.",
        );
        buttons = rows;
    }
    let msg = serenity::CreateMessage::new()
        .embed(embed)
        .components(buttons);
    req.channel_id
        .send_message(&ctx.http, msg)
        .await
        .map_err(|e| ServiceError::User(format!("I couldn't post the panel here (Discord said: {}). Check that I can send messages in this channel.", discord_error(&e))))?;
    Ok(Reply::text(
        "Panel posted. Anyone can now open a ticket with its button.",
    ))
}
