//! Interaction callbacks, follow-ups and webhook messages.

#[allow(unused_imports)]
use super::*;

// ----- interactions -----

pub(crate) fn interaction_by_token(st: &State, token: &str) -> R<u64> {
    st.interactions
        .values()
        .find(|i| i.token == token)
        .map(|i| i.id)
        .ok_or_else(unknown_webhook)
}

pub(crate) fn callback(
    ctx: &mut Ctx,
    st: &mut State,
    req: &Req,
    id: &str,
    token: &str,
) -> R<Reply> {
    let iid = parse_sf(id, "interaction_id")?;
    let inter = match st.interactions.get(&iid) {
        Some(i) if i.token == token => i.clone(),
        _ => return Err(unknown_interaction()),
    };
    if inter.callbacks.is_empty() {
        if let (Some(deadline), Some(sent)) = (
            ctx.shared.config.interaction_ack_deadline,
            ctx.shared.sent_at(iid),
        ) {
            if sent.elapsed() > deadline {
                if let Some(i) = st.interactions.get_mut(&iid) {
                    i.expired = true;
                }
                return Err(unknown_interaction());
            }
        }
    }
    if inter.expired {
        return Err(unknown_interaction());
    }
    if !inter.callbacks.is_empty() {
        return Err(Reply::err(
            400,
            40060,
            "Interaction has already been acknowledged.",
        ));
    }
    let body = req.body()?;
    let o = obj(body, "type")?;
    let kind = o
        .get("type")
        .and_then(Value::as_u64)
        .ok_or_else(|| Reply::form("type", "BASE_TYPE_REQUIRED", "This field is required"))?;
    let data = o.get("data").cloned().unwrap_or(Value::Null);
    let input = parse_msg(&data, "data.")?;
    let bad_type = || {
        Reply::form(
            "type",
            "INTERACTION_RESPONSE_TYPE_INVALID",
            "Interaction response type is invalid for this interaction",
        )
    };
    let mut original = inter.original_message_id;
    match kind {
        4 => {
            let mut m = new_bot_message(ctx, &input, &req.files, inter.channel_id, "data.")?;
            m.kind = if inter.kind == 2 { 20 } else { 0 };
            m.interaction_id = Some(iid);
            original = Some(m.id);
            set_original(st, iid, m.id);
            store_message(ctx, st, m);
        }
        5 => {
            let flags = LOADING | (input.flags.unwrap_or(0) & EPHEMERAL);
            let m = Message {
                id: ctx.id(),
                channel_id: inter.channel_id,
                author: ctx.shared.config.bot.clone(),
                content: String::new(),
                embeds: Vec::new(),
                components: Vec::new(),
                flags,
                attachments: Vec::new(),
                kind: if inter.kind == 2 { 20 } else { 0 },
                timestamp: now_iso(),
                edited_timestamp: None,
                interaction_id: Some(iid),
                reference_id: None,
                deleted: false,
            };
            original = Some(m.id);
            set_original(st, iid, m.id);
            store_message(ctx, st, m);
        }
        6 | 7 => {
            if inter.kind != 3 && inter.kind != 5 {
                return Err(bad_type());
            }
            let Some(mid) = inter.message_id.filter(|m| st.messages.contains_key(m)) else {
                return Err(unknown_message());
            };
            original = Some(mid);
            set_original(st, iid, mid);
            if kind == 7 {
                apply_input(ctx, st, &input, &req.files, mid, "data.")?;
            }
        }
        8 => {
            if inter.kind != 4 {
                return Err(bad_type());
            }
        }
        9 => {
            // A modal answers a command or a component; never a modal submit (a modal cannot
            // open another) nor an autocomplete.
            if inter.kind != 2 && inter.kind != 3 {
                return Err(bad_type());
            }
            validate_modal(&data)?;
        }
        _ => return Err(bad_type()),
    }
    let cb = Callback {
        kind: kind as u8,
        content: input.content.clone(),
        flags: input.flags.unwrap_or(0),
        embeds: input.embeds.clone().unwrap_or_default(),
        components: input.components.clone().unwrap_or_default(),
        data,
    };
    if let Some(i) = st.interactions.get_mut(&iid) {
        i.callbacks.push(cb);
        i.original_message_id = original;
    }
    Ok(Reply::no_content())
}

pub(crate) fn set_original(st: &mut State, iid: u64, mid: u64) {
    if let Some(i) = st.interactions.get_mut(&iid) {
        i.original_message_id = Some(mid);
    }
}

pub(crate) fn followup(ctx: &mut Ctx, st: &mut State, req: &Req, token: &str) -> R<Reply> {
    let iid = interaction_by_token(st, token)?;
    let inter = st.interactions[&iid].clone();
    if inter.callbacks.is_empty() || inter.expired {
        return Err(unknown_webhook());
    }
    let input = parse_msg(req.body()?, "")?;
    // The first follow-up after a deferred (type 5) response replaces the "thinking" message.
    let loading = inter
        .original_message_id
        .filter(|id| st.messages.get(id).is_some_and(|m| m.flags & LOADING != 0));
    let m = match loading {
        Some(mid) => apply_input(ctx, st, &input, &req.files, mid, "")?,
        None => {
            let mut m = new_bot_message(ctx, &input, &req.files, inter.channel_id, "")?;
            m.interaction_id = Some(iid);
            m.kind = if inter.kind == 2 { 20 } else { 0 };
            m.reference_id = None;
            store_message(ctx, st, m.clone());
            m
        }
    };
    if let Some(i) = st.interactions.get_mut(&iid) {
        i.followup_ids.push(m.id);
    }
    Ok(Reply::ok(ctx.render(st).message(&m, false)))
}

/// The id of `@original` or of a follow-up of the interaction with this token.
pub(crate) fn webhook_message(st: &State, token: &str, mid: &str) -> R<u64> {
    let iid = interaction_by_token(st, token)?;
    let inter = &st.interactions[&iid];
    let id = if mid == "@original" {
        inter.original_message_id.ok_or_else(unknown_message)?
    } else {
        let id = parse_sf(mid, "message_id")?;
        if inter.original_message_id != Some(id) && !inter.followup_ids.contains(&id) {
            return Err(unknown_message());
        }
        id
    };
    match st.messages.get(&id) {
        Some(m) if !m.deleted => Ok(id),
        _ => Err(unknown_message()),
    }
}
