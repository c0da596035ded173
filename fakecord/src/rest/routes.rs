//! One match over `(method, path segments)`.

#[allow(unused_imports)]
use super::*;

pub(crate) fn route(ctx: &mut Ctx, st: &mut State, req: &Req) -> Option<R<Reply>> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let cfg = &ctx.shared.config;
    let app = cfg.application_id.to_string();
    let m = req.method.as_str();
    let r = match (m, segs.as_slice()) {
        ("GET", ["gateway"]) => Ok(Reply::ok(json!({"url": ctx.shared.gateway_url()}))),
        ("GET", ["gateway", "bot"]) => Ok(Reply::ok(json!({
            "url": ctx.shared.gateway_url(),
            "shards": ctx.shared.config.shards,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1},
        }))),
        ("GET", ["oauth2", "applications", "@me"]) | ("GET", ["applications", "@me"]) => {
            Ok(Reply::ok(ctx.render(st).application()))
        }
        ("GET", ["users", "@me"]) => Ok(Reply::ok(ctx.render(st).current_user())),
        ("GET", ["users", id]) => get_user(st, id),
        ("POST", ["users", "@me", "channels"]) => create_dm(ctx, st, req),

        ("GET", ["applications", a, "commands"]) => {
            check_app(a, &app).map(|_| Reply::ok(Value::Array(st.global_commands.clone())))
        }
        ("PUT", ["applications", a, "commands"]) => {
            check_app(a, &app).and_then(|_| put_commands(ctx, st, req, None))
        }
        ("POST", ["applications", a, "commands"]) => {
            check_app(a, &app).and_then(|_| post_command(ctx, st, req, None))
        }
        ("GET", ["applications", a, "guilds", g, "commands"]) => check_app(a, &app)
            .and_then(|_| check_guild(st, g))
            .map(|g| {
                Reply::ok(Value::Array(
                    st.guild_commands.get(&g).cloned().unwrap_or_default(),
                ))
            }),
        ("PUT", ["applications", a, "guilds", g, "commands"]) => check_app(a, &app)
            .and_then(|_| check_guild(st, g))
            .and_then(|g| put_commands(ctx, st, req, Some(g))),
        ("POST", ["applications", a, "guilds", g, "commands"]) => check_app(a, &app)
            .and_then(|_| check_guild(st, g))
            .and_then(|g| post_command(ctx, st, req, Some(g))),
        ("DELETE", ["applications", a, "guilds", g, "commands", c]) => check_app(a, &app)
            .and_then(|_| check_guild(st, g))
            .and_then(|g| delete_command(st, Some(g), c)),
        ("DELETE", ["applications", a, "commands", c]) => {
            check_app(a, &app).and_then(|_| delete_command(st, None, c))
        }

        ("GET", ["guilds", g]) => check_guild(st, g).map(|g| {
            let mut v = ctx.render(st).guild_payload(g, false);
            if req.query_param("with_counts") == Some("true") {
                v["approximate_member_count"] = json!(st.members_of(g).len());
                v["approximate_presence_count"] = json!(0);
            }
            Reply::ok(v)
        }),
        ("GET", ["guilds", g, "channels"]) => check_guild(st, g).map(|g| {
            let r = ctx.render(st);
            Reply::ok(Value::Array(
                st.channels
                    .values()
                    .filter(|c| c.guild_id == Some(g))
                    .map(|c| r.channel(c, true))
                    .collect(),
            ))
        }),
        ("POST", ["guilds", g, "channels"]) => {
            check_guild(st, g).and_then(|g| create_channel(ctx, st, req, g))
        }
        ("GET", ["guilds", g, "roles"]) => check_guild(st, g).map(|g| {
            let mut roles: Vec<_> = st.roles.values().filter(|r| r.guild_id == g).collect();
            roles.sort_by_key(|r| (r.position, r.id));
            Reply::ok(Value::Array(
                roles.into_iter().map(crate::payloads::role_json).collect(),
            ))
        }),
        ("GET", ["guilds", g, "members"]) => check_guild(st, g).map(|g| {
            let limit: usize = req
                .query_param("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(1)
                .clamp(1, 1000);
            let after: u64 = req
                .query_param("after")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let r = ctx.render(st);
            Reply::ok(Value::Array(
                st.members_of(g)
                    .range(after + 1..)
                    .take(limit)
                    .map(|(_, m)| r.member(m, None))
                    .collect(),
            ))
        }),
        ("GET", ["guilds", g, "members", u]) => check_guild(st, g).and_then(|g| {
            let u = parse_sf(u, "user_id")?;
            let m = st
                .members_of(g)
                .get(&u)
                .ok_or_else(|| Reply::err(404, 10007, "Unknown Member"))?;
            Ok(Reply::ok(ctx.render(st).member(m, None)))
        }),
        ("PUT", ["guilds", g, "members", u, "roles", r]) => {
            check_guild(st, g).and_then(|g| member_role(ctx, st, g, u, r, true))
        }
        ("DELETE", ["guilds", g, "members", u, "roles", r]) => {
            check_guild(st, g).and_then(|g| member_role(ctx, st, g, u, r, false))
        }

        ("GET", ["channels", c]) => live_channel(st, c).map(|c| {
            let c = st.channels[&c].clone();
            Reply::ok(ctx.render(st).channel(&c, true))
        }),
        ("PATCH", ["channels", c]) => edit_channel(ctx, st, req, c),
        ("DELETE", ["channels", c]) => delete_channel(ctx, st, c),
        ("PUT", ["channels", c, "permissions", o]) => put_overwrite(ctx, st, req, c, o),
        ("DELETE", ["channels", c, "permissions", o]) => delete_overwrite(ctx, st, c, o),
        ("POST", ["channels", c, "typing"]) => live_channel(st, c).map(|_| Reply::no_content()),
        ("GET", ["channels", c, "messages"]) => list_messages(ctx, st, req, c),
        ("POST", ["channels", c, "messages"]) => create_message(ctx, st, req, c),
        ("GET", ["channels", c, "messages", mid]) => live_channel(st, c).and_then(|c| {
            require(ctx, st, Some(c), perms::READ_MESSAGE_HISTORY)?;
            let mid = parse_sf(mid, "message_id")?;
            let msg = visible_message(st, c, mid)?;
            Ok(Reply::ok(rest_message(ctx, &ctx.render(st), msg)))
        }),
        ("PATCH", ["channels", c, "messages", mid]) => edit_channel_message(ctx, st, req, c, mid),
        ("DELETE", ["channels", c, "messages", mid]) => live_channel(st, c).and_then(|c| {
            let mid = parse_sf(mid, "message_id")?;
            let author = visible_message(st, c, mid)?.author.id;
            let need = if author == ctx.shared.config.bot.id {
                0
            } else {
                perms::MANAGE_MESSAGES
            };
            require(ctx, st, Some(c), need)?;
            delete_message(ctx, st, mid);
            Ok(Reply::no_content())
        }),

        ("POST", ["interactions", id, token, "callback"]) => callback(ctx, st, req, id, token),
        ("POST", ["webhooks", a, token]) => {
            check_webhook_app(a, &app).and_then(|_| followup(ctx, st, req, token))
        }
        ("GET", ["webhooks", a, token, "messages", mid]) => check_webhook_app(a, &app)
            .and_then(|_| webhook_message(st, token, mid))
            .map(|mid| Reply::ok(ctx.render(st).message(&st.messages[&mid], false))),
        ("PATCH", ["webhooks", a, token, "messages", mid]) => check_webhook_app(a, &app)
            .and_then(|_| webhook_message(st, token, mid))
            .and_then(|mid| edit_message(ctx, st, req, mid)),
        ("DELETE", ["webhooks", a, token, "messages", mid]) => check_webhook_app(a, &app)
            .and_then(|_| webhook_message(st, token, mid))
            .map(|mid| {
                delete_message(ctx, st, mid);
                Reply::no_content()
            }),
        _ => return None,
    };
    Some(r)
}
