//! Channel messages: create, list, edit, delete; attachments.

#[allow(unused_imports)]
use super::*;

/// The attachments a create/edit leaves on the message: kept ones (listed by id) and new files.
pub(crate) fn build_attachments(
    ctx: &Ctx,
    input: &MsgInput,
    files: &[Upload],
    existing: &[Attachment],
) -> Vec<Attachment> {
    let mut out: Vec<Attachment> = match &input.attachments {
        None => existing.to_vec(),
        Some(list) => existing
            .iter()
            .filter(|a| {
                list.iter()
                    .any(|x| x.get("id").and_then(json_sf) == Some(a.id))
            })
            .cloned()
            .collect(),
    };
    for (n, file) in files.iter().enumerate() {
        let index = file.index.unwrap_or(n as u64);
        let meta = input.attachments.iter().flatten().find(|x| {
            x.get("id").and_then(json_sf) == Some(index) && !existing.iter().any(|a| a.id == index)
        });
        out.push(Attachment {
            id: ctx.id(),
            filename: meta
                .and_then(|m| m.get("filename"))
                .and_then(Value::as_str)
                .unwrap_or(&file.filename)
                .to_owned(),
            content_type: file.content_type.clone(),
            description: meta
                .and_then(|m| m.get("description"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            data: file.data.clone(),
        });
    }
    out
}

pub(crate) fn empty_message() -> Reply {
    Reply::err(400, 50006, "Cannot send an empty message")
}

/// Builds (but does not store) a bot message from a create body.
/// Discord's per-message upload limit: 413 40005 over `upload_limit_bytes` in total.
fn check_upload(ctx: &Ctx, files: &[Upload]) -> R<()> {
    let total: usize = files.iter().map(|f| f.data.len()).sum();
    if total > ctx.shared.config.upload_limit_bytes {
        return Err(too_large());
    }
    Ok(())
}

pub(crate) fn new_bot_message(
    ctx: &Ctx,
    input: &MsgInput,
    files: &[Upload],
    channel_id: u64,
    prefix: &str,
) -> R<Message> {
    check_upload(ctx, files)?;
    let content = input.content.clone().unwrap_or_default();
    let embeds: Vec<Value> = input.embeds.iter().flatten().map(normalize_embed).collect();
    let components = input.components.clone().unwrap_or_default();
    validate_msg(prefix, &content, &embeds, &components)?;
    let attachments = build_attachments(ctx, input, files, &[]);
    if content.is_empty() && embeds.is_empty() && components.is_empty() && attachments.is_empty() {
        return Err(empty_message());
    }
    Ok(Message {
        id: ctx.id(),
        channel_id,
        author: ctx.shared.config.bot.clone(),
        content,
        embeds,
        components,
        flags: input.flags.unwrap_or(0) & (EPHEMERAL | (1 << 2) | (1 << 12)),
        attachments,
        kind: if input.reference.is_some() { 19 } else { 0 },
        timestamp: now_iso(),
        edited_timestamp: None,
        interaction_id: None,
        reference_id: input.reference,
        deleted: false,
    })
}

pub(crate) fn message_intent(st: &State, channel_id: u64) -> u64 {
    match st.channels.get(&channel_id) {
        Some(c) if c.kind == 1 => intents::DIRECT_MESSAGES,
        _ => intents::GUILD_MESSAGES,
    }
}

/// Stores a message; a visible one updates the channel and emits MESSAGE_CREATE.
pub(crate) fn store_message(ctx: &mut Ctx, st: &mut State, m: Message) {
    let visible = !m.is_ephemeral();
    if visible {
        if let Some(c) = st.channels.get_mut(&m.channel_id) {
            c.last_message_id = Some(m.id);
        }
    }
    st.messages.insert(m.id, m.clone());
    if visible {
        let v = ctx.render(st).message(&m, true);
        let intent = message_intent(st, m.channel_id);
        ctx.emit("MESSAGE_CREATE", v, intent);
    }
}

pub(crate) fn create_message(ctx: &mut Ctx, st: &mut State, req: &Req, c: &str) -> R<Reply> {
    let id = live_channel(st, c)?;
    if !st.channels[&id].is_textual() {
        return Err(Reply::err(
            400,
            50008,
            "Cannot send messages in a non-text channel",
        ));
    }
    let input = parse_msg(req.body()?, "")?;
    let mut m = new_bot_message(ctx, &input, &req.files, id, "")?;
    m.flags &= !EPHEMERAL;
    let closed_dm = st.channels[&id].kind == 1
        && st.channels[&id]
            .recipients
            .iter()
            .any(|r| st.closed_dms.contains(r));
    if closed_dm {
        return Err(Reply::err(403, 50007, "Cannot send messages to this user"));
    }
    let mut need = perms::SEND_MESSAGES;
    if !m.embeds.is_empty() {
        need |= perms::EMBED_LINKS;
    }
    if !m.attachments.is_empty() {
        need |= perms::ATTACH_FILES;
    }
    require(ctx, st, Some(id), need)?;
    if let Some(r) = m.reference_id {
        if visible_message(st, id, r).is_err() {
            return Err(Reply::form(
                "message_reference",
                "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                "Unknown message",
            ));
        }
    }
    store_message(ctx, st, m.clone());
    Ok(Reply::ok(ctx.render(st).message(&m, false)))
}

pub(crate) fn list_messages(ctx: &mut Ctx, st: &mut State, req: &Req, c: &str) -> R<Reply> {
    let id = live_channel(st, c)?;
    require(ctx, st, Some(id), perms::READ_MESSAGE_HISTORY)?;
    let limit: usize = req
        .query_param("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let before: Option<u64> = req.query_param("before").and_then(|v| v.parse().ok());
    let after: Option<u64> = req.query_param("after").and_then(|v| v.parse().ok());
    let around: Option<u64> = req.query_param("around").and_then(|v| v.parse().ok());
    // Ranges over the id-ordered map: a page costs its size (plus other channels' messages in
    // the range), not the whole history.
    let visible = |m: &&Message| m.channel_id == id && !m.deleted && !m.is_ephemeral();
    let older = |upto: std::ops::Bound<u64>, n: usize| -> Vec<&Message> {
        st.messages
            .range((std::ops::Bound::Unbounded, upto))
            .rev()
            .map(|(_, m)| m)
            .filter(visible)
            .take(n)
            .collect()
    };
    let newer = |from: u64, n: usize| -> Vec<&Message> {
        st.messages
            .range((std::ops::Bound::Excluded(from), std::ops::Bound::Unbounded))
            .map(|(_, m)| m)
            .filter(visible)
            .take(n)
            .collect()
    };
    let picked: Vec<&Message> = if let Some(a) = after {
        // The `limit` oldest after `a`, newest first.
        let mut v = newer(a, limit);
        v.reverse();
        v
    } else if let Some(a) = around {
        let mut v = newer(a, limit / 2);
        v.reverse();
        v.extend(older(std::ops::Bound::Included(a), limit.div_ceil(2)));
        v
    } else {
        match before {
            Some(b) => older(std::ops::Bound::Excluded(b), limit),
            None => older(std::ops::Bound::Unbounded, limit),
        }
    };
    let r = ctx.render(st);
    Ok(Reply::ok(Value::Array(
        picked
            .into_iter()
            .map(|m| rest_message(ctx, &r, m))
            .collect(),
    )))
}

/// A message as REST reads return it: without the app's MESSAGE_CONTENT access, other users'
/// guild messages come without content (unless they mention the bot).
pub(crate) fn rest_message(ctx: &Ctx, r: &Render, m: &Message) -> Value {
    let mut v = r.message(m, false);
    let cfg = &ctx.shared.config;
    if !cfg.message_content_enabled && r.guild_of(m.channel_id).is_some() {
        crate::payloads::strip_content(&mut v, cfg.bot.id);
    }
    v
}

/// Applies an edit body to a stored message and emits MESSAGE_UPDATE if it is visible.
pub(crate) fn apply_edit(
    ctx: &mut Ctx,
    st: &mut State,
    req: &Req,
    mid: u64,
    prefix: &str,
) -> R<Message> {
    let input = parse_msg(req.body()?, prefix)?;
    apply_input(ctx, st, &input, &req.files, mid, prefix)
}

pub(crate) fn apply_input(
    ctx: &mut Ctx,
    st: &mut State,
    input: &MsgInput,
    files: &[Upload],
    mid: u64,
    prefix: &str,
) -> R<Message> {
    check_upload(ctx, files)?;
    let mut m = st.messages.get(&mid).cloned().ok_or_else(unknown_message)?;
    if let Some(c) = &input.content {
        m.content = c.clone();
    }
    if let Some(e) = &input.embeds {
        m.embeds = e.iter().map(normalize_embed).collect();
    }
    if let Some(c) = &input.components {
        m.components = c.clone();
    }
    if input.attachments.is_some() || !files.is_empty() {
        m.attachments = build_attachments(ctx, input, files, &m.attachments);
    }
    validate_msg(prefix, &m.content, &m.embeds, &m.components)?;
    let was_loading = m.flags & LOADING != 0;
    m.flags &= !LOADING;
    if let Some(f) = input.flags {
        // Only SUPPRESS_EMBEDS may change on edit.
        m.flags = (m.flags & !(1 << 2)) | (f & (1 << 2));
    }
    if m.content.is_empty()
        && m.embeds.is_empty()
        && m.components.is_empty()
        && m.attachments.is_empty()
    {
        return Err(empty_message());
    }
    if !was_loading {
        m.edited_timestamp = Some(now_iso());
    }
    st.messages.insert(mid, m.clone());
    if !m.is_ephemeral() {
        let v = ctx.render(st).message(&m, true);
        let intent = message_intent(st, m.channel_id);
        ctx.emit("MESSAGE_UPDATE", v, intent);
    }
    Ok(m)
}

pub(crate) fn edit_channel_message(
    ctx: &mut Ctx,
    st: &mut State,
    req: &Req,
    c: &str,
    mid: &str,
) -> R<Reply> {
    let id = live_channel(st, c)?;
    let mid = parse_sf(mid, "message_id")?;
    let author = visible_message(st, id, mid)?.author.id;
    require(ctx, st, Some(id), 0)?;
    if author != ctx.shared.config.bot.id {
        return Err(Reply::err(
            403,
            50005,
            "Cannot edit a message authored by another user",
        ));
    }
    let m = apply_edit(ctx, st, req, mid, "")?;
    Ok(Reply::ok(ctx.render(st).message(&m, false)))
}

pub(crate) fn edit_message(ctx: &mut Ctx, st: &mut State, req: &Req, mid: u64) -> R<Reply> {
    let m = apply_edit(ctx, st, req, mid, "")?;
    Ok(Reply::ok(ctx.render(st).message(&m, false)))
}

pub(crate) fn delete_message(ctx: &mut Ctx, st: &mut State, mid: u64) {
    let Some(m) = st.messages.get_mut(&mid) else {
        return;
    };
    m.deleted = true;
    let m = m.clone();
    if !m.is_ephemeral() {
        let guild = ctx.render(st).guild_of(m.channel_id);
        let mut d = json!({"id": sf(m.id), "channel_id": sf(m.channel_id)});
        if let Some(g) = guild {
            d["guild_id"] = sf(g);
        }
        let intent = message_intent(st, m.channel_id);
        ctx.emit("MESSAGE_DELETE", d, intent);
    }
}
