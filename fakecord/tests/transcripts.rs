//! What a transcript needs from the fake: rich user messages (attachments, embeds, replies,
//! mentions, edits), signed attachment URLs that expire, avatars, long histories paged with
//! before/after, and REST content gating without the MESSAGE_CONTENT intent.

mod common;

use std::time::{Duration, Instant};

use fakecord::{ids, Config, FakeDiscord, UserMessage};
use serenity::all::{ApplicationId, ChannelId, CreateMessage, GetMessages, MessageId, UserId};
use serenity::http::{Http, HttpBuilder};

fn http_for(fake: &FakeDiscord) -> Http {
    HttpBuilder::new("fake-token")
        .proxy(fake.http_url())
        .ratelimiter_disabled(true)
        .application_id(ApplicationId::new(ids::APPLICATION))
        .build()
}

/// A raw GET of a full URL on the fake: `(status, body bytes)`.
async fn get_bytes(fake: &FakeDiscord, url: &str) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let path = url
        .strip_prefix(&fake.http_url())
        .expect("a URL on the fake");
    let mut stream = tokio::net::TcpStream::connect(fake.addr())
        .await
        .expect("connect");
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        fake.addr()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.expect("read");
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers")
        + 4;
    let head = String::from_utf8_lossy(&out[..split]).to_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut body = out[split..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut plain = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let n = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16)
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            plain.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
            rest = &rest[eol + 2 + n + 2..];
        }
        body = plain;
    }
    (status, body)
}

#[tokio::test]
async fn rich_messages_attachments_and_avatars() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config::default()).await;
    let http = http_for(&fake);
    let panel = ChannelId::new(ids::PANEL_CHANNEL);
    let alice = fake.user(ids::ALICE);
    let staff = fake.user(ids::STAFF);

    // Avatars: users carry a hash; the fake serves PNGs outside /api.
    let user = http.get_user(UserId::new(ids::ALICE)).await.expect("user");
    let hash = user.avatar.expect("alice has an avatar").to_string();
    assert_eq!(Some(hash.as_str()), alice.avatar.as_deref());
    // serenity builds CDN URLs itself, on Discord's host, as webp: the proxy does not apply.
    assert_eq!(
        user.avatar_url().as_deref(),
        Some(
            format!(
                "https://cdn.discordapp.com/avatars/{}/{hash}.webp?size=1024",
                ids::ALICE
            )
            .as_str()
        )
    );
    let (status, png) = get_bytes(
        &fake,
        &format!("{}/avatars/{}/{hash}.png", fake.http_url(), ids::ALICE),
    )
    .await;
    assert_eq!(status, 200);
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!(u32::from_be_bytes([png[16], png[17], png[18], png[19]]), 16);
    let (status, _) = get_bytes(
        &fake,
        &format!("{}/avatars/{}/{hash}.png", fake.http_url(), ids::BOB),
    )
    .await;
    assert_eq!(status, 404, "bob has no such avatar");
    let (status, default) =
        get_bytes(&fake, &format!("{}/embed/avatars/3.png", fake.http_url())).await;
    assert_eq!(status, 200);
    assert!(default.starts_with(b"\x89PNG"));

    // A rich message: mentions, an image, a text file and an embed.
    let first = fake.post_rich_message(
        &alice,
        ids::PANEL_CHANNEL,
        UserMessage::new(&format!("help {} and <@!{}>", staff.mention(), ids::BOT))
            .attach("screenshot.png", Some("image/png"), png.clone())
            .attach("log.txt", Some("text/plain"), b"boom\n".to_vec())
            .embed(serde_json::json!({"type": "link", "url": "https://example.com", "title": "Example"})),
    );
    let got = http
        .get_message(panel, MessageId::new(first))
        .await
        .expect("message");
    assert_eq!(got.author.id.get(), ids::ALICE);
    let mut mentioned: Vec<u64> = got.mentions.iter().map(|u| u.id.get()).collect();
    mentioned.sort_unstable();
    assert_eq!(mentioned, {
        let mut v = vec![ids::STAFF, ids::BOT];
        v.sort_unstable();
        v
    });
    assert_eq!(got.embeds.len(), 1);
    assert_eq!(got.attachments.len(), 2);
    let image = &got.attachments[0];
    assert_eq!((image.width, image.height), (Some(16), Some(16)));
    assert_eq!(image.size as usize, png.len());
    assert_eq!(image.content_type.as_deref(), Some("image/png"));
    let prefix = format!(
        "{}/attachments/{}/{}/screenshot.png?ex=",
        fake.http_url(),
        ids::PANEL_CHANNEL,
        image.id
    );
    assert!(image.url.starts_with(&prefix), "{}", image.url);
    assert!(
        image.url.contains("&is=") && image.url.contains("&hm="),
        "{}",
        image.url
    );
    assert_eq!(image.proxy_url, image.url);
    assert_eq!(got.attachments[1].width, None);
    assert_eq!(image.download().await.expect("download"), png);
    assert_eq!(got.attachments[1].download().await.unwrap(), b"boom\n");

    // A reply, and an edit.
    let reply = fake.post_rich_message(
        &staff,
        ids::PANEL_CHANNEL,
        UserMessage::new("on it").reply_to(first),
    );
    let got_reply = http
        .get_message(panel, MessageId::new(reply))
        .await
        .unwrap();
    assert_eq!(got_reply.kind, serenity::all::MessageType::InlineReply);
    assert_eq!(
        got_reply
            .message_reference
            .as_ref()
            .and_then(|r| r.message_id)
            .map(|m| m.get()),
        Some(first)
    );
    assert_eq!(
        got_reply.referenced_message.as_ref().map(|m| m.id.get()),
        Some(first)
    );
    assert!(fake.edit_user_message(first, "help please"));
    let edited = http
        .get_message(panel, MessageId::new(first))
        .await
        .unwrap();
    assert_eq!(edited.content, "help please");
    assert!(edited.edited_timestamp.is_some());
    assert!(!fake.edit_user_message(424242, "nope"));

    // Expired links: the old URL is dead (serenity's download does not check the status!),
    // a fresh fetch of the message gives a working one.
    fake.expire_attachment_urls();
    let (status, body) = get_bytes(&fake, &image.url).await;
    assert_eq!(status, 404);
    assert_eq!(body, b"This content is no longer available.");
    let stale = image
        .download()
        .await
        .expect("serenity returns the 404 body as the file");
    assert_ne!(stale, png);
    let fresh = http
        .get_message(panel, MessageId::new(first))
        .await
        .unwrap();
    assert_ne!(fresh.attachments[0].url, image.url);
    assert_eq!(fresh.attachments[0].download().await.unwrap(), png);
    // The bot's own uploads are signed the same way.
    let own = panel
        .send_message(
            &http,
            CreateMessage::new().add_file(serenity::all::CreateAttachment::bytes(
                b"t".to_vec(),
                "t.txt",
            )),
        )
        .await
        .unwrap();
    assert!(own.attachments[0].url.contains("?ex="));
    assert_eq!(own.attachments[0].download().await.unwrap(), b"t");

    fake.assert_no_unknown_routes();
    logs.assert_no_deserialization_failures();
}

#[tokio::test]
async fn ten_thousand_messages_page_quickly() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config::default()).await;
    let http = http_for(&fake);
    let channel = fake.add_filler_channels(None, 1, "long-ticket")[0];
    let ch = ChannelId::new(channel);
    let other = fake.add_filler_channels(None, 1, "noise")[0];

    let started = Instant::now();
    let seeded = fake.seed_messages(channel, 10_000, &[ids::ALICE, ids::STAFF]);
    fake.seed_messages(other, 500, &[ids::BOB]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "seeding took {:?}",
        started.elapsed()
    );
    assert_eq!(seeded.len(), 10_000);
    assert!(seeded.windows(2).all(|w| w[0] < w[1]));
    assert!(fake
        .gateway_stats()
        .dispatched
        .iter()
        .all(|(_, t)| t != "MESSAGE_CREATE"));
    let later = fake.post_rich_message(&fake.user(ids::ALICE), channel, UserMessage::new("newest"));
    assert!(later > seeded[9_999], "ids stay increasing after seeding");

    // Newest first, 100 at a time, with `before`.
    let started = Instant::now();
    let mut all = Vec::new();
    let mut before: Option<MessageId> = None;
    loop {
        let mut q = GetMessages::new().limit(100);
        if let Some(b) = before {
            q = q.before(b);
        }
        let page = ch.messages(&http, q).await.expect("page");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 100);
        before = page.last().map(|m| m.id);
        all.extend(page);
    }
    let paging = started.elapsed();
    assert_eq!(all.len(), 10_001);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(all[0].id.get(), later);
    assert_eq!(all[10_000].id.get(), seeded[0]);
    assert_eq!(all[10_000].content, "message 0");
    assert_eq!(all[10_000].author.id.get(), ids::ALICE);
    assert_eq!(all[9_999].author.id.get(), ids::STAFF);
    assert!(all[1].timestamp > all[10_000].timestamp);
    assert!(
        paging < Duration::from_secs(30),
        "101 pages took {paging:?}"
    );

    // `after` gives the oldest `limit` after the id, still newest first.
    let page = ch
        .messages(
            &http,
            GetMessages::new()
                .after(MessageId::new(seeded[99]))
                .limit(100),
        )
        .await
        .unwrap();
    assert_eq!(page.len(), 100);
    assert_eq!(page[0].id.get(), seeded[199]);
    assert_eq!(page[99].id.get(), seeded[100]);
    let page = ch
        .messages(
            &http,
            GetMessages::new()
                .around(MessageId::new(seeded[500]))
                .limit(10),
        )
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|m| m.id.get()).collect::<Vec<_>>(),
        seeded[496..506].iter().rev().copied().collect::<Vec<_>>()
    );
    // Limits outside 1..=100 are clamped.
    let page = http.get_messages(ch, None, Some(255)).await.unwrap();
    assert_eq!(page.len(), 100);

    fake.assert_no_unknown_routes();
    logs.assert_no_deserialization_failures();
}

#[tokio::test]
async fn rest_reads_without_message_content_are_empty() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config {
        message_content_enabled: false,
        ..Config::default()
    })
    .await;
    let http = http_for(&fake);
    let panel = ChannelId::new(ids::PANEL_CHANNEL);
    let alice = fake.user(ids::ALICE);
    let hidden = fake.post_rich_message(
        &alice,
        ids::PANEL_CHANNEL,
        UserMessage::new("my password is hunter2").attach("a.txt", None, b"a".to_vec()),
    );
    let mentioning =
        fake.post_user_message(&alice, ids::PANEL_CHANNEL, &format!("<@{}> help", ids::BOT));
    let own = panel.say(&http, "Open a ticket").await.unwrap();
    let page = panel
        .messages(&http, GetMessages::new().limit(10))
        .await
        .unwrap();
    let by_id = |id: u64| {
        page.iter()
            .find(|m| m.id.get() == id)
            .expect("listed")
            .clone()
    };
    let h = by_id(hidden);
    assert_eq!((h.content.as_str(), h.attachments.len()), ("", 0));
    assert_eq!(
        h.author.id.get(),
        ids::ALICE,
        "the rest of the message is there"
    );
    assert_eq!(
        by_id(mentioning.to_owned()).content,
        format!("<@{}> help", ids::BOT)
    );
    assert_eq!(by_id(own.id.get()).content, "Open a ticket");
    let single = http
        .get_message(panel, MessageId::new(hidden))
        .await
        .unwrap();
    assert_eq!(single.content, "");
    // DMs are not gated.
    let dm = UserId::new(ids::ALICE)
        .create_dm_channel(&http)
        .await
        .unwrap();
    let in_dm = fake.post_user_message(&alice, dm.id.get(), "private words");
    assert_eq!(
        http.get_message(dm.id, MessageId::new(in_dm))
            .await
            .unwrap()
            .content,
        "private words"
    );
    // The fake itself still knows the content.
    assert_eq!(
        fake.message(hidden).unwrap().content,
        "my password is hunter2"
    );

    fake.assert_no_unknown_routes();
    logs.assert_no_deserialization_failures();
}
