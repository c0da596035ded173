//! Users, DM channels, application commands and member roles.

#[allow(unused_imports)]
use super::*;

pub(crate) fn get_user(st: &State, id: &str) -> R<Reply> {
    let id = parse_sf(id, "user_id")?;
    st.users
        .get(&id)
        .map(|u| Reply::ok(user_json(u)))
        .ok_or_else(|| Reply::err(404, 10013, "Unknown User"))
}

pub(crate) fn create_dm(ctx: &mut Ctx, st: &mut State, req: &Req) -> R<Reply> {
    let body = obj(req.body()?, "recipient_id")?;
    let rid = body.get("recipient_id").and_then(json_sf).ok_or_else(|| {
        Reply::form(
            "recipient_id",
            "BASE_TYPE_REQUIRED",
            "This field is required",
        )
    })?;
    if !st.users.contains_key(&rid) {
        return Err(Reply::err(404, 10013, "Unknown User"));
    }
    let existing = st
        .channels
        .values()
        .find(|c| c.kind == 1 && c.recipients == [rid])
        .cloned();
    let ch = match existing {
        Some(c) => c,
        None => {
            let c = Channel {
                id: ctx.id(),
                kind: 1,
                guild_id: None,
                name: String::new(),
                parent_id: None,
                position: 0,
                topic: None,
                nsfw: false,
                rate_limit_per_user: 0,
                permission_overwrites: Vec::new(),
                recipients: vec![rid],
                last_message_id: None,
            };
            st.channels.insert(c.id, c.clone());
            c
        }
    };
    Ok(Reply::ok(ctx.render(st).channel(&ch, true)))
}

// ----- commands -----

pub(crate) fn normalize_command(
    ctx: &Ctx,
    v: &Value,
    guild: Option<u64>,
    existing: &[Value],
    index: usize,
) -> R<Value> {
    let prefix = |f: &str| {
        if existing.is_empty() && index == usize::MAX {
            f.to_owned()
        } else {
            format!("{index}.{f}")
        }
    };
    let o = obj(v, &prefix("name"))?;
    let name = o.get("name").and_then(Value::as_str).unwrap_or("");
    let kind = o.get("type").and_then(Value::as_u64).unwrap_or(1);
    if name.is_empty() || name.chars().count() > 32 {
        return Err(Reply::form(
            &prefix("name"),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 32 in length.",
        ));
    }
    if kind == 1 && name.chars().any(|c| c.is_uppercase() || c.is_whitespace()) {
        return Err(Reply::form(
            &prefix("name"),
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        ));
    }
    let description = o.get("description").and_then(Value::as_str).unwrap_or("");
    if kind == 1 && (description.is_empty() || description.chars().count() > 100) {
        return Err(Reply::form(
            &prefix("description"),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ));
    }
    let id = existing
        .iter()
        .find(|c| {
            c.get("name").and_then(Value::as_str) == Some(name)
                && c.get("type").and_then(Value::as_u64) == Some(kind)
        })
        .and_then(|c| c.get("id").and_then(json_sf))
        .unwrap_or_else(|| ctx.id());
    let mut out = v.clone();
    let m = out.as_object_mut().expect("checked object");
    m.insert("id".into(), sf(id));
    m.insert(
        "application_id".into(),
        sf(ctx.shared.config.application_id),
    );
    m.insert("version".into(), sf(ctx.id()));
    m.insert("type".into(), json!(kind));
    m.insert("description".into(), json!(description));
    m.entry("default_member_permissions").or_insert(Value::Null);
    m.entry("nsfw").or_insert(json!(false));
    m.entry("integration_types").or_insert(json!([0]));
    m.entry("contexts").or_insert(Value::Null);
    match guild {
        Some(g) => {
            m.insert("guild_id".into(), sf(g));
        }
        None => {
            m.entry("dm_permission").or_insert(json!(true));
        }
    }
    Ok(out)
}

pub(crate) fn put_commands(
    ctx: &mut Ctx,
    st: &mut State,
    req: &Req,
    guild: Option<u64>,
) -> R<Reply> {
    let body = req.body()?;
    let Some(list) = body.as_array() else {
        return Err(Reply::form(
            "_root",
            "LIST_TYPE_CONVERT",
            "Only iterables may be used in a ListType",
        ));
    };
    let existing = match guild {
        Some(g) => st.guild_commands.get(&g).cloned().unwrap_or_default(),
        None => st.global_commands.clone(),
    };
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        out.push(normalize_command(ctx, c, guild, &existing, i)?);
    }
    match guild {
        Some(g) => {
            st.guild_commands.insert(g, out.clone());
        }
        None => st.global_commands = out.clone(),
    }
    Ok(Reply::ok(Value::Array(out)))
}

pub(crate) fn post_command(
    ctx: &mut Ctx,
    st: &mut State,
    req: &Req,
    guild: Option<u64>,
) -> R<Reply> {
    let body = req.body()?;
    let list = match guild {
        Some(g) => st.guild_commands.entry(g).or_default(),
        None => &mut st.global_commands,
    };
    let cmd = normalize_command(ctx, body, guild, list, usize::MAX)?;
    let id = cmd.get("id").cloned();
    if let Some(pos) = list.iter().position(|c| c.get("id") == id.as_ref()) {
        list[pos] = cmd.clone();
        Ok(Reply::ok(cmd))
    } else {
        list.push(cmd.clone());
        Ok(Reply::created(cmd))
    }
}

pub(crate) fn delete_command(st: &mut State, guild: Option<u64>, c: &str) -> R<Reply> {
    let c = parse_sf(c, "command_id")?;
    let list = match guild {
        Some(g) => st.guild_commands.entry(g).or_default(),
        None => &mut st.global_commands,
    };
    let before = list.len();
    list.retain(|x| x.get("id").and_then(json_sf) != Some(c));
    if list.len() == before {
        return Err(Reply::err(404, 10063, "Unknown application command"));
    }
    Ok(Reply::no_content())
}

// ----- members -----

pub(crate) fn member_role(
    ctx: &mut Ctx,
    st: &mut State,
    g: u64,
    u: &str,
    r: &str,
    add: bool,
) -> R<Reply> {
    let u = parse_sf(u, "user_id")?;
    let r = parse_sf(r, "role_id")?;
    let Some(position) = st
        .roles
        .get(&r)
        .filter(|role| role.guild_id == g)
        .map(|role| role.position)
    else {
        return Err(Reply::err(404, 10011, "Unknown Role"));
    };
    require_in_guild(ctx, st, g, perms::MANAGE_ROLES)?;
    if ctx.shared.config.enforce_bot_permissions && st.owner_of(g) != ctx.shared.config.bot.id {
        // Role hierarchy: the bot can only hand out roles below its highest one.
        let top = st
            .members_of(g)
            .get(&ctx.shared.config.bot.id)
            .into_iter()
            .flat_map(|m| m.roles.iter())
            .filter_map(|id| st.roles.get(id))
            .map(|role| role.position)
            .max()
            .unwrap_or(0);
        if position >= top {
            return Err(missing_permissions());
        }
    }
    let member = st
        .members_of_mut(g)
        .and_then(|m| m.get_mut(&u))
        .ok_or_else(|| Reply::err(404, 10007, "Unknown Member"))?;
    let had = member.roles.contains(&r);
    if add && !had {
        member.roles.push(r);
    } else if !add && had {
        member.roles.retain(|x| *x != r);
    }
    if add != had {
        let m = member.clone();
        let mut d = ctx.render(st).member(&m, None);
        d["guild_id"] = sf(g);
        ctx.emit("GUILD_MEMBER_UPDATE", d, intents::GUILD_MEMBERS);
    }
    Ok(Reply::no_content())
}
