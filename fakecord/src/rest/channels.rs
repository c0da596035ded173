//! Guild channels and permission overwrites.

#[allow(unused_imports)]
use super::*;

// ----- channels -----

pub(crate) fn parse_overwrites(v: &Value) -> R<Vec<Overwrite>> {
    let Some(list) = v.as_array() else {
        return Err(Reply::form(
            "permission_overwrites",
            "LIST_TYPE_CONVERT",
            "Only iterables may be used in a ListType",
        ));
    };
    let mut out = Vec::new();
    for (i, o) in list.iter().enumerate() {
        out.push(parse_overwrite(
            o,
            None,
            &format!("permission_overwrites.{i}"),
        )?);
    }
    Ok(out)
}

pub(crate) fn parse_overwrite(o: &Value, id: Option<u64>, field: &str) -> R<Overwrite> {
    let bad = |f: &str, code: &str, msg: &str| Reply::form(&format!("{field}.{f}"), code, msg);
    let map = obj(o, field)?;
    let id = match id {
        Some(id) => id,
        None => map
            .get("id")
            .and_then(json_sf)
            .ok_or_else(|| bad("id", "BASE_TYPE_REQUIRED", "This field is required"))?,
    };
    let kind = match map.get("type") {
        Some(Value::Number(n)) if n.as_u64() == Some(0) => OverwriteKind::Role,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => OverwriteKind::Member,
        Some(Value::String(s)) if s == "0" || s == "role" => OverwriteKind::Role,
        Some(Value::String(s)) if s == "1" || s == "member" => OverwriteKind::Member,
        _ => {
            return Err(bad(
                "type",
                "BASE_TYPE_CHOICES",
                "Value must be one of (0, 1).",
            ))
        }
    };
    let allow = json_bits(map.get("allow").unwrap_or(&Value::Null))
        .ok_or_else(|| bad("allow", "NUMBER_TYPE_COERCE", "Value is not int."))?;
    let deny = json_bits(map.get("deny").unwrap_or(&Value::Null))
        .ok_or_else(|| bad("deny", "NUMBER_TYPE_COERCE", "Value is not int."))?;
    Ok(Overwrite {
        id,
        kind,
        allow,
        deny,
    })
}

pub(crate) fn channel_name(ctx: &Ctx, kind: u8, raw: &str) -> R<String> {
    let n = raw.chars().count();
    if n == 0 || n > 100 {
        return Err(Reply::form(
            "name",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ));
    }
    if ctx.shared.config.normalize_channel_names && matches!(kind, 0 | 5) {
        Ok(raw
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-")
            .to_lowercase())
    } else {
        Ok(raw.to_owned())
    }
}

/// A `parent_id`: a category of guild `g` (one of another guild is refused, as on Discord).
pub(crate) fn parse_parent(st: &State, v: &Value, g: u64) -> R<Option<u64>> {
    if v.is_null() {
        return Ok(None);
    }
    let id = json_sf(v)
        .ok_or_else(|| Reply::form("parent_id", "NUMBER_TYPE_COERCE", "Value is not snowflake."))?;
    match st.channels.get(&id) {
        Some(c) if c.is_category() && c.guild_id == Some(g) => Ok(Some(id)),
        _ => Err(Reply::form(
            "parent_id",
            "CHANNEL_PARENT_INVALID",
            "Category does not exist",
        )),
    }
}

/// The channels a category may hold: its own limit (`set_category_limit`) or the config's.
pub(crate) fn category_limit(ctx: &Ctx, st: &State, category: u64) -> usize {
    st.category_limits
        .get(&category)
        .copied()
        .unwrap_or(ctx.shared.config.category_channel_limit)
}

/// Discord's answer when a category is full.
fn check_category_room(ctx: &Ctx, st: &State, category: u64) -> R<()> {
    if st.channels_in(category).len() >= category_limit(ctx, st, category) {
        return Err(Reply::form(
            "parent_id",
            "CHANNEL_PARENT_MAX_CHANNELS",
            &format!(
                "Maximum number of channels in category reached ({})",
                ctx.shared.config.category_channel_limit
            ),
        ));
    }
    Ok(())
}

pub(crate) fn create_channel(ctx: &mut Ctx, st: &mut State, req: &Req, g: u64) -> R<Reply> {
    require_in_guild(ctx, st, g, perms::MANAGE_CHANNELS)?;
    let body = obj(req.body()?, "name")?;
    let kind = match body.get("type") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_u64() {
            Some(k @ (0 | 2 | 4 | 5 | 13 | 15 | 16)) => k as u8,
            _ => {
                return Err(Reply::form(
                    "type",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {0, 2, 4, 5, 13, 15, 16}.",
                ))
            }
        },
    };
    let raw_name = match body.get("name") {
        Some(Value::String(s)) => s.as_str(),
        _ => {
            return Err(Reply::form(
                "name",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ))
        }
    };
    let name = channel_name(ctx, kind, raw_name)?;
    let parent_id = match body.get("parent_id") {
        Some(v) if kind != 4 => parse_parent(st, v, g)?,
        _ => None,
    };
    if let Some(p) = parent_id {
        check_category_room(ctx, st, p)?;
    }
    let guild_limit = ctx.shared.config.guild_channel_limit;
    if st.guild_channel_count_in(g) >= guild_limit {
        return Err(Reply::err(
            400,
            30013,
            &format!("Maximum number of guild channels reached ({guild_limit})"),
        ));
    }
    let permission_overwrites = match body.get("permission_overwrites") {
        Some(v) if !v.is_null() => parse_overwrites(v)?,
        // Discord syncs a new channel with its category when no overwrites are given.
        _ => parent_id
            .and_then(|p| st.channels.get(&p))
            .map(|p| p.permission_overwrites.clone())
            .unwrap_or_default(),
    };
    let position = match body.get("position").and_then(Value::as_u64) {
        Some(p) => p as u16,
        None => st
            .channels
            .values()
            .filter(|c| c.guild_id == Some(g) && c.kind == kind)
            .map(|c| c.position + 1)
            .max()
            .unwrap_or(0),
    };
    let ch = Channel {
        id: ctx.id(),
        kind,
        guild_id: Some(g),
        name,
        parent_id,
        position,
        topic: body.get("topic").and_then(Value::as_str).map(str::to_owned),
        nsfw: body.get("nsfw").and_then(Value::as_bool).unwrap_or(false),
        rate_limit_per_user: body
            .get("rate_limit_per_user")
            .and_then(Value::as_u64)
            .unwrap_or(0) as u16,
        permission_overwrites,
        recipients: Vec::new(),
        last_message_id: None,
    };
    st.channels.insert(ch.id, ch.clone());
    let v = ctx.render(st).channel(&ch, true);
    ctx.emit("CHANNEL_CREATE", v.clone(), intents::GUILDS);
    Ok(Reply::created(v))
}

pub(crate) fn edit_channel(ctx: &mut Ctx, st: &mut State, req: &Req, c: &str) -> R<Reply> {
    let id = live_channel(st, c)?;
    let body = obj(req.body()?, "name")?.clone();
    let mut ch = st.channels[&id].clone();
    if ch.kind == 1 {
        return Err(Reply::err(
            403,
            50003,
            "Cannot execute action on a DM channel",
        ));
    }
    let mut need = perms::MANAGE_CHANNELS;
    if body.contains_key("permission_overwrites") || body.contains_key("lock_permissions") {
        need |= perms::MANAGE_ROLES;
    }
    require(ctx, st, Some(id), need)?;
    if let Some(v) = body.get("name") {
        let raw = v
            .as_str()
            .ok_or_else(|| Reply::form("name", "BASE_TYPE_REQUIRED", "This field is required"))?;
        ch.name = channel_name(ctx, ch.kind, raw)?;
    }
    if let Some(v) = body.get("parent_id") {
        if ch.kind != 4 {
            let parent = parse_parent(st, v, st.guild_of_channel(id))?;
            if let Some(p) = parent.filter(|p| ch.parent_id != Some(*p)) {
                check_category_room(ctx, st, p)?;
            }
            ch.parent_id = parent;
        }
    }
    if let Some(v) = body.get("permission_overwrites") {
        ch.permission_overwrites = if v.is_null() {
            Vec::new()
        } else {
            parse_overwrites(v)?
        };
    } else if body.get("lock_permissions").and_then(Value::as_bool) == Some(true) {
        if let Some(p) = ch.parent_id.and_then(|p| st.channels.get(&p)) {
            ch.permission_overwrites = p.permission_overwrites.clone();
        }
    }
    if let Some(v) = body.get("topic") {
        ch.topic = v.as_str().map(str::to_owned);
    }
    if let Some(v) = body.get("position").and_then(Value::as_u64) {
        ch.position = v as u16;
    }
    if let Some(v) = body.get("nsfw").and_then(Value::as_bool) {
        ch.nsfw = v;
    }
    if let Some(v) = body.get("rate_limit_per_user").and_then(Value::as_u64) {
        ch.rate_limit_per_user = v as u16;
    }
    st.channels.insert(id, ch.clone());
    let v = ctx.render(st).channel(&ch, true);
    ctx.emit("CHANNEL_UPDATE", v.clone(), intents::GUILDS);
    Ok(Reply::ok(v))
}

pub(crate) fn delete_channel(ctx: &mut Ctx, st: &mut State, c: &str) -> R<Reply> {
    let id = live_channel(st, c)?;
    if st.channels[&id].kind != 1 {
        require(ctx, st, Some(id), perms::MANAGE_CHANNELS)?;
    }
    let ch = st.channels.remove(&id).expect("checked live");
    let v = ctx.render(st).channel(&ch, true);
    st.deleted_channels.push(ch.clone());
    if ch.kind == 1 {
        return Ok(Reply::ok(v));
    }
    ctx.emit("CHANNEL_DELETE", v.clone(), intents::GUILDS);
    // Children of a deleted category lose their parent, as on Discord.
    let children: Vec<u64> = st
        .channels
        .values()
        .filter(|c| c.parent_id == Some(id))
        .map(|c| c.id)
        .collect();
    for child in children {
        if let Some(c) = st.channels.get_mut(&child) {
            c.parent_id = None;
        }
        let cv = ctx.render(st).channel(&st.channels[&child], true);
        ctx.emit("CHANNEL_UPDATE", cv, intents::GUILDS);
    }
    Ok(Reply::ok(v))
}

pub(crate) fn put_overwrite(
    ctx: &mut Ctx,
    st: &mut State,
    req: &Req,
    c: &str,
    o: &str,
) -> R<Reply> {
    let id = live_channel(st, c)?;
    let oid = parse_sf(o, "overwrite_id")?;
    require(ctx, st, Some(id), perms::MANAGE_ROLES)?;
    let ow = parse_overwrite(req.body()?, Some(oid), "permission_overwrite")?;
    let ch = st.channels.get_mut(&id).expect("checked live");
    match ch.permission_overwrites.iter_mut().find(|x| x.id == oid) {
        Some(x) => *x = ow,
        None => ch.permission_overwrites.push(ow),
    }
    let ch = ch.clone();
    let v = ctx.render(st).channel(&ch, true);
    ctx.emit("CHANNEL_UPDATE", v, intents::GUILDS);
    Ok(Reply::no_content())
}

pub(crate) fn delete_overwrite(ctx: &mut Ctx, st: &mut State, c: &str, o: &str) -> R<Reply> {
    let id = live_channel(st, c)?;
    let oid = parse_sf(o, "overwrite_id")?;
    require(ctx, st, Some(id), perms::MANAGE_ROLES)?;
    let ch = st.channels.get_mut(&id).expect("checked live");
    let before = ch.permission_overwrites.len();
    ch.permission_overwrites.retain(|x| x.id != oid);
    if ch.permission_overwrites.len() != before {
        let ch = ch.clone();
        let v = ctx.render(st).channel(&ch, true);
        ctx.emit("CHANNEL_UPDATE", v, intents::GUILDS);
    }
    Ok(Reply::no_content())
}
