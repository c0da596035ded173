//! serenity's HTTP client against the fake: every route the bot is expected to use
//! round-trips, the responses deserialize into serenity's models, and the fake's state shows
//! what was done. Also errors and injected faults as serenity surfaces them.

mod common;

use std::time::{Duration, Instant};

use fakecord::{ids, perms, Config, FakeDiscord, FaultKind, OverwriteKind};
use serenity::all::{
    ApplicationId, ChannelId, ChannelType, CommandOptionType, CreateActionRow, CreateAttachment,
    CreateButton, CreateChannel, CreateCommand, CreateCommandOption, CreateEmbed, CreateMessage,
    EditChannel, EditMessage, GetMessages, GuildId, PermissionOverwrite, PermissionOverwriteType,
    Permissions, RoleId, UserId,
};
use serenity::http::{Http, HttpBuilder, HttpError};

fn http_for(fake: &FakeDiscord) -> Http {
    HttpBuilder::new("fake-token")
        .proxy(fake.http_url())
        .ratelimiter_disabled(true)
        .application_id(ApplicationId::new(ids::APPLICATION))
        .build()
}

/// `(status, discord code, message)` of a failed call.
fn http_error(e: serenity::Error) -> (u16, isize, String) {
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => {
            (r.status_code.as_u16(), r.error.code, r.error.message)
        }
        other => panic!("expected an unsuccessful request, got {other:?}"),
    }
}

fn guild() -> GuildId {
    GuildId::new(ids::GUILD)
}

#[tokio::test]
async fn startup_routes_deserialize() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config::default()).await;
    let http = http_for(&fake);

    let gw = http.get_gateway().await.expect("GET /gateway");
    assert_eq!(gw.url, fake.gateway_url());
    let bot_gw = http.get_bot_gateway().await.expect("GET /gateway/bot");
    assert_eq!(bot_gw.shards, 1);

    let me = http.get_current_user().await.expect("GET /users/@me");
    assert!(me.bot);
    assert_eq!(me.id.get(), ids::BOT);
    let app = http
        .get_current_application_info()
        .await
        .expect("GET /oauth2/applications/@me");
    assert_eq!(app.id.get(), ids::APPLICATION);
    assert_eq!(app.owner.expect("owner").id.get(), ids::OWNER);

    let g = http.get_guild(guild()).await.expect("GET /guilds/{id}");
    assert_eq!(g.roles.len(), 4);
    assert!(g.roles.contains_key(&RoleId::new(ids::GUILD)), "@everyone");
    let roles = http.get_guild_roles(guild()).await.expect("roles");
    let support = roles
        .iter()
        .find(|r| r.id.get() == ids::SUPPORT_ROLE)
        .expect("support role");
    assert_eq!(support.name, "Support");
    let bot_role = roles.iter().find(|r| r.id.get() == ids::BOT_ROLE).unwrap();
    assert!(bot_role.managed);
    assert_eq!(bot_role.tags.bot_id.map(|b| b.get()), Some(ids::BOT));

    let channels = http.get_channels(guild()).await.expect("channels");
    let open = channels
        .iter()
        .find(|c| c.id.get() == ids::OPEN_CATEGORY)
        .expect("open category");
    assert_eq!(open.kind, ChannelType::Category);
    assert_eq!(open.guild_id, guild());

    let alice = http
        .get_member(guild(), UserId::new(ids::ALICE))
        .await
        .expect("member");
    assert_eq!(alice.user.name, "alice");
    assert_eq!(alice.roles, vec![RoleId::new(ids::MEMBER_ROLE)]);
    let missing = http.get_member(guild(), UserId::new(42)).await.unwrap_err();
    assert_eq!(http_error(missing), (404, 10007, "Unknown Member".into()));

    // Guild command registration (bulk overwrite) keeps ids across re-registration.
    let ticket = CreateCommand::new("ticket")
        .description("Support tickets")
        .add_option(CreateCommandOption::new(
            CommandOptionType::SubCommand,
            "open",
            "Open a ticket",
        ))
        .add_option(
            CreateCommandOption::new(CommandOptionType::SubCommand, "add", "Add a member")
                .add_sub_option(
                    CreateCommandOption::new(CommandOptionType::User, "user", "Who").required(true),
                ),
        );
    let first = guild()
        .set_commands(&http, vec![ticket.clone()])
        .await
        .expect("PUT guild commands");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].name, "ticket");
    assert_eq!(first[0].guild_id, Some(guild()));
    let again = guild().set_commands(&http, vec![ticket]).await.unwrap();
    assert_eq!(again[0].id, first[0].id);
    let global = serenity::all::Command::set_global_commands(
        &http,
        vec![CreateCommand::new("ping").description("Ping")],
    )
    .await
    .expect("PUT global commands");
    assert_eq!(global[0].name, "ping");
    assert_eq!(fake.commands().len(), 2);

    let put = fake.requests_to("PUT /applications/*/guilds/*/commands");
    assert_eq!(put.len(), 2);
    assert_eq!(put[0].body[0]["name"], "ticket");

    fake.assert_no_unknown_routes();
    logs.assert_no_deserialization_failures();
}

#[tokio::test]
async fn channels_overwrites_and_messages_round_trip() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config::default()).await;
    let http = http_for(&fake);
    let allow_member = |id: u64| PermissionOverwrite {
        allow: Permissions::VIEW_CHANNEL
            | Permissions::SEND_MESSAGES
            | Permissions::READ_MESSAGE_HISTORY,
        deny: Permissions::empty(),
        kind: PermissionOverwriteType::Member(UserId::new(id)),
    };

    // Create a ticket channel under the open category.
    let builder = CreateChannel::new("Ticket 0001")
        .kind(ChannelType::Text)
        .category(ChannelId::new(ids::OPEN_CATEGORY))
        .topic("alice's ticket")
        .permissions(vec![
            PermissionOverwrite {
                allow: Permissions::empty(),
                deny: Permissions::VIEW_CHANNEL,
                kind: PermissionOverwriteType::Role(RoleId::new(ids::GUILD)),
            },
            PermissionOverwrite {
                allow: Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES,
                deny: Permissions::empty(),
                kind: PermissionOverwriteType::Role(RoleId::new(ids::BOT_ROLE)),
            },
            allow_member(ids::ALICE),
        ]);
    let ch = guild()
        .create_channel(&http, builder)
        .await
        .expect("create");
    assert_eq!(
        ch.name, "ticket-0001",
        "Discord normalizes text channel names"
    );
    assert_eq!(ch.parent_id, Some(ChannelId::new(ids::OPEN_CATEGORY)));
    assert_eq!(ch.permission_overwrites.len(), 3);

    let state_ch = fake.channel(ch.id.get()).expect("in the fake's state");
    assert_eq!(state_ch.parent_id, Some(ids::OPEN_CATEGORY));
    let alice_ow = state_ch.overwrite(ids::ALICE).expect("alice overwrite");
    assert_eq!(alice_ow.kind, OverwriteKind::Member);
    assert!(alice_ow.allows(perms::VIEW_CHANNEL | perms::SEND_MESSAGES));
    assert!(fake.can_view(ids::ALICE, ch.id.get()));
    assert!(!fake.can_view(ids::BOB, ch.id.get()));

    // Read it back.
    let got = http
        .get_channel(ch.id)
        .await
        .expect("get")
        .guild()
        .expect("guild channel");
    assert_eq!(got.topic.as_deref(), Some("alice's ticket"));

    // Add and remove a member overwrite.
    ch.id
        .create_permission(&http, allow_member(ids::BOB))
        .await
        .expect("PUT permissions");
    assert!(fake.can_view(ids::BOB, ch.id.get()));
    ch.id
        .delete_permission(
            &http,
            PermissionOverwriteType::Member(UserId::new(ids::BOB)),
        )
        .await
        .expect("DELETE permissions");
    assert!(!fake.can_view(ids::BOB, ch.id.get()));

    // Send a message with an embed and a button, and one with a file.
    let msg = ch
        .id
        .send_message(
            &http,
            CreateMessage::new()
                .content("Welcome <@1>")
                .embed(
                    CreateEmbed::new()
                        .title("Ticket #1")
                        .description("Describe it"),
                )
                .components(vec![CreateActionRow::Buttons(vec![CreateButton::new(
                    "ticket:close",
                )
                .label("Close")])]),
        )
        .await
        .expect("send");
    assert_eq!(msg.embeds[0].title.as_deref(), Some("Ticket #1"));
    assert_eq!(msg.components.len(), 1);
    let file = ch
        .id
        .send_message(
            &http,
            CreateMessage::new()
                .content("transcript")
                .add_file(CreateAttachment::bytes(
                    b"line one\n".to_vec(),
                    "transcript.txt",
                )),
        )
        .await
        .expect("send with file");
    assert_eq!(file.attachments[0].filename, "transcript.txt");
    assert_eq!(file.attachments[0].size, 9);

    let stored = fake.messages(ch.id.get());
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].custom_ids(), vec!["ticket:close".to_owned()]);
    assert!(stored[0].text().contains("Describe it"));
    assert_eq!(stored[1].attachments[0].text(), "line one\n");

    // List (newest first), edit, delete.
    let listed = ch
        .id
        .messages(&http, GetMessages::new().limit(10))
        .await
        .expect("list");
    assert_eq!(
        listed.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![file.id, msg.id]
    );
    let edited = ch
        .id
        .edit_message(
            &http,
            msg.id,
            EditMessage::new().content("Closed").components(vec![]),
        )
        .await
        .expect("edit");
    assert_eq!(edited.content, "Closed");
    assert!(edited.edited_timestamp.is_some());
    assert!(fake.message(msg.id.get()).unwrap().components.is_empty());
    ch.id
        .delete_message(&http, file.id)
        .await
        .expect("delete msg");
    assert_eq!(fake.messages(ch.id.get()).len(), 1);

    // Move to the closed category and rename.
    let moved = ch
        .id
        .edit(
            &http,
            EditChannel::new()
                .name("closed-0001")
                .category(Some(ChannelId::new(ids::CLOSED_CATEGORY))),
        )
        .await
        .expect("PATCH channel");
    assert_eq!(moved.parent_id, Some(ChannelId::new(ids::CLOSED_CATEGORY)));
    assert_eq!(fake.channel(ch.id.get()).unwrap().name, "closed-0001");

    // DM a user.
    let dm = UserId::new(ids::ALICE)
        .create_dm_channel(&http)
        .await
        .expect("DM channel");
    assert_eq!(dm.recipient.id.get(), ids::ALICE);
    dm.id
        .send_message(
            &http,
            CreateMessage::new().content("Your ticket was closed"),
        )
        .await
        .expect("DM");

    // Delete the channel.
    ch.id.delete(&http).await.expect("delete channel");
    assert!(fake.channel(ch.id.get()).is_none());
    assert!(fake.was_deleted(ch.id.get()));
    let gone = http.get_channel(ch.id).await.unwrap_err();
    assert_eq!(http_error(gone), (404, 10003, "Unknown Channel".into()));

    let reqs = fake.requests();
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, format!("/guilds/{}/channels", ids::GUILD));
    assert_eq!(reqs[0].body["name"], "Ticket 0001");
    fake.assert_no_unknown_routes();
    logs.assert_no_deserialization_failures();
}

#[tokio::test]
async fn discord_validation_errors_reach_serenity() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config::default()).await;
    let http = http_for(&fake);
    let panel = ChannelId::new(ids::PANEL_CHANNEL);

    // serenity validates length client-side, so send the raw JSON the way a bot could.
    let empty = http
        .send_message(panel, vec![], &serde_json::json!({"content": ""}))
        .await
        .unwrap_err();
    assert_eq!(
        http_error(empty),
        (400, 50006, "Cannot send an empty message".into())
    );

    let long = "x".repeat(2001);
    let err = http
        .send_message(panel, vec![], &serde_json::json!({"content": long}))
        .await
        .unwrap_err();
    let (status, code, _) = http_error(err);
    assert_eq!((status, code), (400, 50035));

    let category = ChannelId::new(ids::OPEN_CATEGORY);
    let err = category.say(&http, "hello").await.unwrap_err();
    assert_eq!(http_error(err).1, 50008);

    // The bot cannot post where it cannot see (private channel without a bot overwrite).
    let private = guild()
        .create_channel(
            &http,
            CreateChannel::new("secret").permissions(vec![PermissionOverwrite {
                allow: Permissions::empty(),
                deny: Permissions::VIEW_CHANNEL,
                kind: PermissionOverwriteType::Role(RoleId::new(ids::GUILD)),
            }]),
        )
        .await
        .unwrap();
    let err = private.id.say(&http, "hi").await.unwrap_err();
    assert_eq!(http_error(err), (403, 50001, "Missing Access".into()));

    // Unknown routes are answered with Discord's 404 and recorded.
    let err = http.get_guild_webhooks(guild()).await.unwrap_err();
    assert_eq!(http_error(err), (404, 0, "404: Not Found".into()));
    let unknown = fake.unknown_routes();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].path, format!("/guilds/{}/webhooks", ids::GUILD));

    logs.assert_no_deserialization_failures();
}

#[tokio::test]
async fn injected_faults_surface_as_serenity_errors() {
    let _logs = common::capture_logs();
    let fake = FakeDiscord::start(Config::default()).await;
    let http = http_for(&fake);
    let panel = ChannelId::new(ids::PANEL_CHANNEL);

    // Two 500s, then success.
    fake.fail_next_n("POST /channels/*/messages", 2, FaultKind::Status(500));
    for _ in 0..2 {
        let err = panel.say(&http, "hi").await.unwrap_err();
        assert_eq!(
            http_error(err),
            (500, 0, "500: Internal Server Error".into())
        );
    }
    assert_eq!(fake.pending_faults(), 0);
    panel.say(&http, "hi").await.expect("third try succeeds");
    assert_eq!(
        fake.messages(ids::PANEL_CHANNEL).len(),
        1,
        "failed sends store nothing"
    );

    // 403 with Discord's body.
    fake.fail_next("PATCH /channels/{id}", FaultKind::Status(403));
    let err = panel
        .edit(&http, EditChannel::new().name("x"))
        .await
        .unwrap_err();
    assert_eq!(http_error(err), (403, 50013, "Missing Permissions".into()));

    // 429: with the rate limiter disabled serenity does not retry; the bot gets the error.
    fake.fail_next(
        "POST /guilds/*/channels",
        FaultKind::RateLimited {
            retry_after_secs: 1.5,
        },
    );
    let err = guild()
        .create_channel(&http, CreateChannel::new("t"))
        .await
        .unwrap_err();
    let (status, code, _message) = http_error(err);
    assert_eq!(status, 429);
    assert_eq!(
        code, -1,
        "Discord's 429 body has no `code`: serenity reports -1"
    );
    let last = fake.requests().pop().unwrap();
    assert_eq!(last.status, 429);
    assert!(last.fault.is_some());
    assert_eq!(fake.state().channels.len(), 5, "nothing created");

    // Delay: the call is slow but succeeds.
    fake.fail_next(
        "GET /channels/*",
        FaultKind::Delay(Duration::from_millis(300)),
    );
    let t = Instant::now();
    http.get_channel(panel).await.expect("delayed but fine");
    assert!(t.elapsed() >= Duration::from_millis(300));

    // A custom Discord error.
    fake.fail_next(
        "*",
        FaultKind::Error {
            status: 400,
            code: 50035,
            message: "Invalid Form Body".into(),
        },
    );
    let err = http.get_current_user().await.unwrap_err();
    assert_eq!(http_error(err), (400, 50035, "Invalid Form Body".into()));
}

#[tokio::test]
async fn interaction_rules_match_discord() {
    use serenity::all::{
        CreateInteractionResponse, CreateInteractionResponseFollowup,
        CreateInteractionResponseMessage, InteractionId,
    };
    let fake = FakeDiscord::start(Config {
        interaction_ack_deadline: Some(Duration::from_millis(200)),
        ..Config::default()
    })
    .await;
    let http = http_for(&fake);
    let alice = fake.user(ids::ALICE);
    let reply = |text: &str| {
        CreateInteractionResponse::Message(CreateInteractionResponseMessage::new().content(text))
    };

    // No gateway client: the interaction waits for one, but it can be answered over REST.
    let id = fake.send_slash_command(&alice, &[], ids::PANEL_CHANNEL, "ticket", None, &[]);
    let token = fake.interaction(id).unwrap().token;

    // A follow-up before the interaction is acknowledged: Unknown Webhook.
    let early = CreateInteractionResponseFollowup::new().content("too early");
    let err = http
        .create_followup_message(&token, &early, vec![])
        .await
        .unwrap_err();
    assert_eq!(http_error(err).1, 10015);

    http.create_interaction_response(InteractionId::new(id), &token, &reply("first"), vec![])
        .await
        .expect("first callback");
    let err = http
        .create_interaction_response(InteractionId::new(id), &token, &reply("second"), vec![])
        .await
        .unwrap_err();
    assert_eq!(
        http_error(err),
        (
            400,
            40060,
            "Interaction has already been acknowledged.".into()
        )
    );
    let followup = http
        .create_followup_message(
            &token,
            &CreateInteractionResponseFollowup::new().content("more"),
            vec![],
        )
        .await
        .expect("follow-up");
    let original = http
        .get_original_interaction_response(&token)
        .await
        .expect("GET @original");
    assert_eq!(original.content, "first");
    let texts: Vec<String> = fake.replies(id).iter().map(|m| m.content.clone()).collect();
    assert_eq!(texts, vec!["first", "more"]);
    assert_eq!(fake.messages(ids::PANEL_CHANNEL).len(), 2, "both visible");
    assert_eq!(
        fake.message(followup.id.get()).unwrap().interaction_id,
        Some(id)
    );

    // Too late: Discord forgets interactions not answered within the deadline.
    let late = fake.send_slash_command(&alice, &[], ids::PANEL_CHANNEL, "ticket", None, &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let token = fake.interaction(late).unwrap().token;
    let err = http
        .create_interaction_response(InteractionId::new(late), &token, &reply("late"), vec![])
        .await
        .unwrap_err();
    assert_eq!(http_error(err), (404, 10062, "Unknown interaction".into()));
    assert!(fake.interaction(late).unwrap().expired);
}

#[tokio::test]
async fn malformed_requests_get_discord_errors_not_panics() {
    let fake = FakeDiscord::start(Config::default()).await;
    let addr = fake.addr();
    let messages = format!("/api/v10/channels/{}/messages", ids::PANEL_CHANNEL);

    let (status, _, body) =
        common::raw_request(addr, "POST", &messages, "application/json", b"{not json").await;
    assert_eq!(status, 400);
    assert!(body.contains("50109"), "{body}");

    let (status, _, body) =
        common::raw_request(addr, "POST", &messages, "application/json", b"[1,2]").await;
    assert_eq!(status, 400);
    assert!(body.contains("50035"), "{body}");

    let (status, _, body) = common::raw_request(
        addr,
        "POST",
        &messages,
        "application/json",
        br#"{"content": 5, "embeds": "x"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("Invalid Form Body"), "{body}");

    let (status, _, body) = common::raw_request(
        addr,
        "POST",
        &format!("/api/v10/guilds/{}/channels", ids::GUILD),
        "application/json",
        br#"{"name": "x", "permission_overwrites": [{"id": "1", "type": 7}]}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("permission_overwrites"), "{body}");

    let (status, _, body) = common::raw_request(
        addr,
        "PATCH",
        "/api/v10/channels/not-a-number",
        "application/json",
        b"{}",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("NUMBER_TYPE_COERCE"), "{body}");

    let (status, _, body) = common::raw_request(
        addr,
        "POST",
        &messages,
        "multipart/form-data; boundary=xyz",
        b"--xyz\r\ngarbage",
    )
    .await;
    assert_eq!(status, 400, "{body}");

    let (status, _, body) = common::raw_request(
        addr,
        "POST",
        "/api/v10/interactions/1/nope/callback",
        "application/json",
        br#"{"type": 4}"#,
    )
    .await;
    assert_eq!(status, 404);
    assert!(body.contains("10062"), "{body}");

    // A 429 carries Discord's headers and body.
    fake.fail_next(
        "GET /users/@me",
        FaultKind::RateLimited {
            retry_after_secs: 2.5,
        },
    );
    let (status, headers, body) =
        common::raw_request(addr, "GET", "/api/v10/users/@me", "application/json", b"").await;
    assert_eq!(status, 429);
    assert!(headers.contains("retry-after: 3"), "{headers}");
    assert!(headers.contains("x-ratelimit-remaining: 0"), "{headers}");
    assert!(
        headers.contains("x-ratelimit-reset-after: 2.500"),
        "{headers}"
    );
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["retry_after"], 2.5);
    assert_eq!(body["global"], false);

    // Outside the API.
    let (status, _, body) = common::raw_request(addr, "GET", "/nowhere", "text/plain", b"").await;
    assert_eq!(status, 404);
    // Compared as JSON: key order depends on serde_json features other crates turn on.
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"code": 0, "message": "404: Not Found"})
    );
    assert_eq!(fake.unknown_routes().len(), 1);

    // The server is still fine.
    let (status, _, _) =
        common::raw_request(addr, "GET", "/api/v10/gateway", "application/json", b"").await;
    assert_eq!(status, 200);
}
