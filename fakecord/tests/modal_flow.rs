//! A modal end to end with a serenity client: a button opens it (callback type 9 built by
//! serenity), the submit arrives as INTERACTION_CREATE type 5 with every input of the modal and
//! the button's message, and it can be submitted once.

mod common;

use std::sync::Arc;
use std::time::Duration;

use fakecord::{ids, ClientRefused, Config, FakeDiscord, FakeUser};
use serenity::all::{
    ActionRowComponent, ChannelId, Context, CreateActionRow, CreateButton, CreateInputText,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage, CreateModal,
    EventHandler, GatewayIntents, InputTextStyle, Interaction, ShardManager,
};
use serenity::async_trait;
use serenity::client::ClientBuilder;
use serenity::http::{Http, HttpBuilder};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(20);

fn alice() -> FakeUser {
    FakeUser::new(ids::ALICE, "alice")
}

/// What the serenity client saw of a modal submit.
#[derive(Debug)]
struct Submitted {
    id: u64,
    custom_id: String,
    values: Vec<(String, String)>,
    message_id: Option<u64>,
}

struct Handler {
    tx: UnboundedSender<Submitted>,
}

#[async_trait]
impl EventHandler for Handler {
    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Component(click) if click.data.custom_id == "feedback:open" => {
                let rows = vec![
                    CreateInputText::new(InputTextStyle::Short, "Rating", "rating")
                        .min_length(1)
                        .max_length(1),
                    CreateInputText::new(InputTextStyle::Short, "Name", "name")
                        .min_length(3)
                        .max_length(20)
                        .required(false),
                    CreateInputText::new(InputTextStyle::Paragraph, "Comment", "comment")
                        .required(false)
                        .value("prefilled"),
                ]
                .into_iter()
                .map(CreateActionRow::InputText)
                .collect();
                let modal = CreateModal::new("feedback-form", "Feedback").components(rows);
                click
                    .create_response(&ctx.http, CreateInteractionResponse::Modal(modal))
                    .await
                    .expect("modal accepted");
            }
            Interaction::Modal(m) => {
                let values = m
                    .data
                    .components
                    .iter()
                    .flat_map(|r| r.components.iter())
                    .filter_map(|c| match c {
                        ActionRowComponent::InputText(t) => {
                            Some((t.custom_id.clone(), t.value.clone().unwrap_or_default()))
                        }
                        _ => None,
                    })
                    .collect();
                let _ = self.tx.send(Submitted {
                    id: m.id.get(),
                    custom_id: m.data.custom_id.clone(),
                    values,
                    message_id: m.message.as_ref().map(|msg| msg.id.get()),
                });
                let reply = CreateInteractionResponseMessage::new().content("Thanks");
                m.create_response(&ctx.http, CreateInteractionResponse::Message(reply))
                    .await
                    .expect("reply accepted");
            }
            other => panic!("unexpected interaction {other:?}"),
        }
    }
}

async fn start_bot(
    fake: &FakeDiscord,
) -> (
    Arc<Http>,
    Arc<ShardManager>,
    JoinHandle<()>,
    UnboundedReceiver<Submitted>,
) {
    let (tx, rx) = unbounded_channel();
    let http = HttpBuilder::new("fake-token")
        .proxy(fake.http_url())
        .ratelimiter_disabled(true)
        .build();
    let mut client = ClientBuilder::new_with_http(http, GatewayIntents::non_privileged())
        .event_handler(Handler { tx })
        .await
        .expect("client");
    let shards = Arc::clone(&client.shard_manager);
    let http = Arc::clone(&client.http);
    let task = tokio::spawn(async move {
        client.start().await.expect("client ran");
    });
    (http, shards, task, rx)
}

#[tokio::test]
async fn a_button_opens_a_modal_submitted_once_to_serenity() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config::default()).await;
    let (http, shards, task, mut rx) = start_bot(&fake).await;
    fake.wait_for_ready(WAIT).await.unwrap();
    let roles = fake.member_roles(ids::ALICE);

    let button = CreateButton::new("feedback:open").label("Give feedback");
    let msg = ChannelId::new(ids::PANEL_CHANNEL)
        .send_message(
            &http,
            CreateMessage::new()
                .content("How did we do?")
                .components(vec![CreateActionRow::Buttons(vec![button])]),
        )
        .await
        .expect("message sent")
        .id
        .get();

    let click = fake.click_button(&alice(), &roles, ids::PANEL_CHANNEL, msg, "feedback:open");
    let cb = fake.wait_for_callback(click, WAIT).await.unwrap();
    assert_eq!(cb.kind, 9);
    let shown = fake.modal_of(click).expect("a modal");
    assert_eq!(
        (shown["custom_id"].as_str(), shown["title"].as_str()),
        (Some("feedback-form"), Some("Feedback"))
    );
    let ids_shown: Vec<&str> = shown["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["components"][0]["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids_shown, ["rating", "name", "comment"]);

    // What the client refuses never reaches the bot.
    let refused = fake.submit_modal(
        &alice(),
        &roles,
        ids::PANEL_CHANNEL,
        "feedback-form",
        &[("rating", "10")],
    );
    assert!(
        matches!(refused, Err(ClientRefused::TooLong { max: 1, len: 2, .. })),
        "{refused:?}"
    );
    let refused = fake.submit_modal(
        &alice(),
        &roles,
        ids::PANEL_CHANNEL,
        "feedback-form",
        &[("comment", "x")],
    );
    assert!(
        matches!(refused, Err(ClientRefused::RequiredEmpty { .. })),
        "{refused:?}"
    );

    let id = fake
        .submit_modal(
            &alice(),
            &roles,
            ids::PANEL_CHANNEL,
            "feedback-form",
            &[("rating", "5")],
        )
        .expect("the modal is open");
    let seen = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("in time")
        .expect("a submit");
    assert_eq!(seen.id, id);
    assert_eq!(seen.custom_id, "feedback-form");
    let values: Vec<(&str, &str)> = seen
        .values
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        values,
        [("rating", "5"), ("name", ""), ("comment", "prefilled")]
    );
    assert_eq!(seen.message_id, Some(msg));
    let reply = fake.wait_for_reply(id, WAIT).await.unwrap();
    assert_eq!(reply.content, "Thanks");
    let creates = fake
        .gateway_stats()
        .dispatched
        .iter()
        .filter(|(_, t)| t == "INTERACTION_CREATE")
        .count();
    assert_eq!(creates, 2, "the click and the one submit");

    // Once.
    let twice = fake.submit_modal(
        &alice(),
        &roles,
        ids::PANEL_CHANNEL,
        "feedback-form",
        &[("rating", "4")],
    );
    assert!(
        matches!(twice, Err(ClientRefused::AlreadySubmitted { trigger_id, .. }) if trigger_id == click),
        "{twice:?}"
    );
    assert!(rx.try_recv().is_err());

    shards.shutdown_all().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    fake.assert_no_unknown_routes();
    logs.assert_no_deserialization_failures();
}
