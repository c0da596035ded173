//! The MESSAGE_CONTENT privileged intent on the gateway: close code 4014 when the Developer
//! Portal toggle is off, and empty content in MESSAGE_CREATE/UPDATE for a session without it.

mod common;

use std::time::Duration;

use fakecord::{ids, Config, FakeDiscord, UserMessage};
use serenity::all::{
    ChannelId, Client, Context, EventHandler, GatewayIntents, Message, MessageUpdateEvent,
};
use serenity::async_trait;
use serenity::gateway::GatewayError;
use serenity::http::HttpBuilder;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

const WAIT: Duration = Duration::from_secs(15);

struct Recorder {
    tx: UnboundedSender<(String, String)>,
}

#[async_trait]
impl EventHandler for Recorder {
    async fn message(&self, _ctx: Context, msg: Message) {
        let _ = self.tx.send(("create".into(), msg.content));
    }

    async fn message_update(
        &self,
        _ctx: Context,
        _old: Option<Message>,
        _new: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        let _ = self
            .tx
            .send(("update".into(), event.content.unwrap_or_default()));
    }
}

async fn start_client(
    fake: &FakeDiscord,
    intents: GatewayIntents,
) -> (Client, UnboundedReceiver<(String, String)>) {
    let (tx, rx) = unbounded_channel();
    let http = HttpBuilder::new("fake-token")
        .proxy(fake.http_url())
        .ratelimiter_disabled(true)
        .build();
    let client = serenity::all::ClientBuilder::new_with_http(http, intents)
        .event_handler(Recorder { tx })
        .await
        .expect("client");
    (client, rx)
}

#[tokio::test]
async fn disallowed_message_content_intent_closes_with_4014() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config {
        message_content_enabled: false,
        ..Config::default()
    })
    .await;
    let intents = GatewayIntents::non_privileged() | GatewayIntents::MESSAGE_CONTENT;
    let (mut client, _rx) = start_client(&fake, intents).await;
    let result = tokio::time::timeout(WAIT, client.start())
        .await
        .expect("client.start() returns instead of reconnecting");
    match result {
        Err(serenity::Error::Gateway(GatewayError::DisallowedGatewayIntents)) => {}
        other => panic!("expected DisallowedGatewayIntents, got {other:?}"),
    }
    let stats = fake.gateway_stats();
    assert_eq!(stats.close_codes, vec![4014]);
    assert_eq!(stats.identifies, 0, "no READY was sent");
    assert!(!logs
        .lines_with("Disallowed gateway intents have been provided")
        .is_empty());

    // Without the privileged intent the same portal setting is fine.
    let (mut client, _rx) = start_client(&fake, GatewayIntents::non_privileged()).await;
    let task = tokio::spawn(async move { client.start().await });
    fake.wait_for_ready(WAIT).await.expect("READY");
    task.abort();
}

async fn next(rx: &mut UnboundedReceiver<(String, String)>) -> (String, String) {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("an event")
        .expect("handler alive")
}

#[tokio::test]
async fn sessions_without_message_content_get_empty_content() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config::default()).await;
    let (mut client, mut rx) = start_client(&fake, GatewayIntents::non_privileged()).await;
    let http = std::sync::Arc::clone(&client.http);
    let shards = std::sync::Arc::clone(&client.shard_manager);
    let task = tokio::spawn(async move { client.start().await });
    fake.wait_for_ready(WAIT).await.expect("READY");
    let alice = fake.user(ids::ALICE);

    fake.post_rich_message(
        &alice,
        ids::PANEL_CHANNEL,
        UserMessage::new("secret").attach("a.txt", None, b"a".to_vec()),
    );
    assert_eq!(next(&mut rx).await, ("create".into(), String::new()));
    let mention = format!("<@{}> help", ids::BOT);
    let mid = fake.post_user_message(&alice, ids::PANEL_CHANNEL, &mention);
    assert_eq!(next(&mut rx).await, ("create".into(), mention));
    let hidden = fake.post_user_message(&alice, ids::PANEL_CHANNEL, "more secrets");
    assert_eq!(next(&mut rx).await, ("create".into(), String::new()));
    fake.edit_user_message(hidden, "edited secret");
    assert_eq!(next(&mut rx).await, ("update".into(), String::new()));
    fake.edit_user_message(mid, &format!("<@{}> edited", ids::BOT));
    assert_eq!(next(&mut rx).await.1, format!("<@{}> edited", ids::BOT));
    ChannelId::new(ids::PANEL_CHANNEL)
        .say(&http, "the bot's own words")
        .await
        .unwrap();
    assert_eq!(
        next(&mut rx).await,
        ("create".into(), "the bot's own words".into())
    );

    shards.shutdown_all().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    logs.assert_no_deserialization_failures();
}
