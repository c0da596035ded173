//! Discord's limits with Discord's error bodies: channels per category and per guild, upload
//! size per message, closed DMs.

mod common;

use fakecord::{ids, Config, FakeDiscord};
use serde_json::{json, Value};
use serenity::all::{
    ApplicationId, ChannelId, ChannelType, CreateAttachment, CreateChannel, CreateMessage,
    EditChannel, GuildId, InteractionId, PermissionOverwrite, PermissionOverwriteType, Permissions,
    RoleId, UserId,
};
use serenity::http::{Http, HttpBuilder, HttpError};

fn http_for(fake: &FakeDiscord) -> Http {
    HttpBuilder::new("fake-token")
        .proxy(fake.http_url())
        .ratelimiter_disabled(true)
        .application_id(ApplicationId::new(ids::APPLICATION))
        .build()
}

fn unsuccessful(e: serenity::Error) -> serenity::http::ErrorResponse {
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => r,
        other => panic!("expected an unsuccessful request, got {other:?}"),
    }
}

fn guild() -> GuildId {
    GuildId::new(ids::GUILD)
}

/// POSTs raw JSON and returns `(status, parsed body)`.
async fn post_json(fake: &FakeDiscord, path: &str, body: &Value) -> (u16, Value) {
    let (status, _, text) = common::raw_request(
        fake.addr(),
        "POST",
        &format!("/api/v10{path}"),
        "application/json",
        body.to_string().as_bytes(),
    )
    .await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn category_full_body() -> Value {
    json!({"code": 50035, "message": "Invalid Form Body", "errors": {"parent_id": {"_errors": [
        {"code": "CHANNEL_PARENT_MAX_CHANNELS", "message": "Maximum number of channels in category reached (50)"}
    ]}}})
}

#[tokio::test]
async fn category_and_guild_channel_limits() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config::default()).await;
    let http = http_for(&fake);
    let open = ChannelId::new(ids::OPEN_CATEGORY);
    assert_eq!(fake.guild_channel_count(), 5);

    // Fill the open category to Discord's 50.
    let fillers = fake.add_filler_channels(Some(ids::OPEN_CATEGORY), 50, "ticket");
    assert_eq!(fillers.len(), 50);
    assert_eq!(fake.channels_in(Some(ids::OPEN_CATEGORY)).len(), 50);
    assert_eq!(fake.channel(fillers[3]).unwrap().name, "ticket-3");
    let path = format!("/guilds/{}/channels", ids::GUILD);
    let (status, body) = post_json(
        &fake,
        &path,
        &json!({"name": "ticket-51", "type": 0, "parent_id": ids::OPEN_CATEGORY.to_string()}),
    )
    .await;
    assert_eq!((status, body), (400, category_full_body()));

    // serenity surfaces it as code 50035 with the field error.
    let err = guild()
        .create_channel(&http, CreateChannel::new("ticket-51").category(open))
        .await
        .unwrap_err();
    let r = unsuccessful(err);
    assert_eq!((r.status_code.as_u16(), r.error.code), (400, 50035));
    assert_eq!(r.error.errors[0].code, "CHANNEL_PARENT_MAX_CHANNELS");
    assert_eq!(r.error.errors[0].path, "parent_id");

    // Moving a channel into the full category fails the same way; moving within it is fine.
    let outside = guild()
        .create_channel(&http, CreateChannel::new("waiting"))
        .await
        .expect("top-level channel");
    let err = outside
        .id
        .edit(&http, EditChannel::new().category(Some(open)))
        .await
        .unwrap_err();
    let r = unsuccessful(err);
    assert_eq!(r.error.errors[0].code, "CHANNEL_PARENT_MAX_CHANNELS");
    assert_eq!(fake.channel(outside.id.get()).unwrap().parent_id, None);
    ChannelId::new(fillers[0])
        .edit(
            &http,
            EditChannel::new().category(Some(open)).topic("same parent"),
        )
        .await
        .expect("re-setting the same parent is no move");

    // Deleting one (as an admin would) makes room.
    assert!(fake.delete_channel_direct(fillers[0]));
    assert!(fake.was_deleted(fillers[0]));
    outside
        .id
        .edit(&http, EditChannel::new().category(Some(open)))
        .await
        .expect("room again");

    // A per-category limit below 50: Discord refuses early too.
    fake.set_category_limit(ids::CLOSED_CATEGORY, 1);
    let closed = ChannelId::new(ids::CLOSED_CATEGORY);
    guild()
        .create_channel(&http, CreateChannel::new("closed-1").category(closed))
        .await
        .expect("first one fits");
    let (status, body) = post_json(
        &fake,
        &path,
        &json!({"name": "closed-2", "parent_id": ids::CLOSED_CATEGORY.to_string()}),
    )
    .await;
    assert_eq!((status, body), (400, category_full_body()));

    // A second category, created like a bot would (names of categories keep their case).
    let overwrites = vec![
        PermissionOverwrite {
            allow: Permissions::empty(),
            deny: Permissions::VIEW_CHANNEL,
            kind: PermissionOverwriteType::Role(RoleId::new(ids::GUILD)),
        },
        PermissionOverwrite {
            allow: Permissions::VIEW_CHANNEL | Permissions::MANAGE_CHANNELS,
            deny: Permissions::empty(),
            kind: PermissionOverwriteType::Role(RoleId::new(ids::BOT_ROLE)),
        },
    ];
    let cat2 = guild()
        .create_channel(
            &http,
            CreateChannel::new("Tickets 2")
                .kind(ChannelType::Category)
                .permissions(overwrites),
        )
        .await
        .expect("category");
    assert_eq!(cat2.kind, ChannelType::Category);
    assert_eq!(cat2.name, "Tickets 2");
    assert_eq!(cat2.permission_overwrites.len(), 2);
    let in_cat2 = guild()
        .create_channel(&http, CreateChannel::new("Ticket 0051").category(cat2.id))
        .await
        .expect("channel in the new category");
    assert_eq!(in_cat2.name, "ticket-0051");
    assert!(
        !fake.can_view(ids::ALICE, in_cat2.id.get()),
        "synced with the category"
    );
    in_cat2.id.delete(&http).await.expect("delete channel");
    cat2.id.delete(&http).await.expect("delete empty category");
    assert!(fake.channel(cat2.id.get()).is_none());

    // The guild limit: 500 channels, categories included.
    let have = fake.guild_channel_count();
    fake.add_filler_channels(None, 500 - have, "filler");
    assert_eq!(fake.guild_channel_count(), 500);
    let (status, body) = post_json(&fake, &path, &json!({"name": "one-more"})).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"code": 30013, "message": "Maximum number of guild channels reached (500)"})
        )
    );
    let err = guild()
        .create_channel(
            &http,
            CreateChannel::new("Tickets 3").kind(ChannelType::Category),
        )
        .await
        .unwrap_err();
    assert_eq!(unsuccessful(err).error.code, 30013, "categories count too");

    fake.assert_no_unknown_routes();
    logs.assert_no_deserialization_failures();
}

#[tokio::test]
async fn uploads_over_the_limit_get_413() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config::default()).await;
    let http = http_for(&fake);
    let panel = ChannelId::new(ids::PANEL_CHANNEL);
    let limit = fake.config().upload_limit_bytes;
    assert_eq!(limit, 10 * 1024 * 1024);
    let file = |name: &str, n: usize| CreateAttachment::bytes(vec![b'x'; n], name);
    let is_413 = |e: serenity::Error| {
        let r = unsuccessful(e);
        (r.status_code.as_u16(), r.error.code, r.error.message)
    };
    let too_large = (413, 40005, "Request entity too large".to_owned());

    // Exactly the limit (over 2 files) is fine; one byte more is not.
    let ok = panel
        .send_message(
            &http,
            CreateMessage::new()
                .add_file(file("a.txt", limit / 2))
                .add_file(file("b.txt", limit / 2)),
        )
        .await
        .expect("10 MiB in total");
    assert_eq!(ok.attachments.len(), 2);
    let err = panel
        .send_message(
            &http,
            CreateMessage::new()
                .add_file(file("a.txt", limit / 2))
                .add_file(file("b.txt", limit / 2 + 1)),
        )
        .await
        .unwrap_err();
    assert_eq!(is_413(err), too_large);

    // Interaction responses and follow-ups too.
    let alice = fake.user(ids::ALICE);
    let iid = fake.send_slash_command(
        &alice,
        &[ids::MEMBER_ROLE],
        ids::PANEL_CHANNEL,
        "ticket",
        None,
        &[],
    );
    let token = fake.interaction(iid).unwrap().token;
    let err = http
        .create_interaction_response(
            InteractionId::new(iid),
            &token,
            &json!({"type": 4, "data": {"content": "transcript"}}),
            vec![file("t.txt", limit + 1)],
        )
        .await
        .unwrap_err();
    assert_eq!(is_413(err), too_large);
    assert!(fake.interaction(iid).unwrap().callbacks.is_empty());
    http.create_interaction_response(InteractionId::new(iid), &token, &json!({"type": 5}), vec![])
        .await
        .expect("defer");
    let err = http
        .create_followup_message(
            &token,
            &json!({"content": "x"}),
            vec![file("t.txt", limit + 1)],
        )
        .await
        .unwrap_err();
    assert_eq!(is_413(err), too_large);
    let err = http
        .edit_original_interaction_response(
            &token,
            &json!({"content": "x"}),
            vec![file("t.txt", limit + 1)],
        )
        .await
        .unwrap_err();
    assert_eq!(is_413(err), too_large);
    http.create_followup_message(
        &token,
        &json!({"content": "x"}),
        vec![file("t.txt", 3 * 1024 * 1024)],
    )
    .await
    .expect("3 MiB is fine (above axum's 2 MB multipart default)");

    // A smaller configured limit (a boosted guild would have a larger one).
    let small = FakeDiscord::start(Config {
        upload_limit_bytes: 1000,
        ..Config::default()
    })
    .await;
    let err = ChannelId::new(ids::PANEL_CHANNEL)
        .send_message(
            &http_for(&small),
            CreateMessage::new().add_file(file("a.txt", 1001)),
        )
        .await
        .unwrap_err();
    assert_eq!(is_413(err), too_large);

    fake.assert_no_unknown_routes();
    logs.assert_no_deserialization_failures();
}

#[tokio::test]
async fn closed_dms_get_50007() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config::default()).await;
    let http = http_for(&fake);
    let dm = UserId::new(ids::ALICE)
        .create_dm_channel(&http)
        .await
        .expect("DM channel");
    dm.id
        .send_message(
            &http,
            CreateMessage::new().content("Your ticket was opened"),
        )
        .await
        .expect("DM");
    let got = fake.dm_messages(ids::ALICE);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].content, "Your ticket was opened");
    assert!(fake.dm_messages(ids::BOB).is_empty());

    fake.close_dms(ids::ALICE);
    let again = UserId::new(ids::ALICE)
        .create_dm_channel(&http)
        .await
        .expect("opening the DM channel still works");
    assert_eq!(again.id, dm.id);
    let err = dm
        .id
        .send_message(
            &http,
            CreateMessage::new().content("Your ticket was closed"),
        )
        .await
        .unwrap_err();
    let r = unsuccessful(err);
    assert_eq!(
        (
            r.status_code.as_u16(),
            r.error.code,
            r.error.message.as_str()
        ),
        (403, 50007, "Cannot send messages to this user")
    );
    assert_eq!(fake.dm_messages(ids::ALICE).len(), 1);
    fake.assert_no_unknown_routes();
    logs.assert_no_deserialization_failures();
}
