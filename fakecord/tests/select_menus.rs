//! Components in messages as Discord checks them: a select menu alone in its row with 1–25
//! unique options and sane `min_values`/`max_values`, at most 5 buttons a row, no text inputs;
//! and `select_option` refusing picks the Discord client would not allow.

mod common;

use common::{form_error, post_json};
use fakecord::{ids, ClientRefused, Config, FakeDiscord, FakeUser};
use serde_json::{json, Value};
use serenity::all::{
    ChannelId, CreateActionRow, CreateMessage, CreateSelectMenu, CreateSelectMenuKind,
    CreateSelectMenuOption,
};
use serenity::http::HttpBuilder;

fn option(v: &str) -> Value {
    json!({"label": v.to_uppercase(), "value": v})
}

fn select(custom_id: &str, options: Vec<Value>) -> Value {
    json!({"type": 3, "custom_id": custom_id, "options": options})
}

fn button(custom_id: &str) -> Value {
    json!({"type": 2, "style": 1, "label": "B", "custom_id": custom_id})
}

fn message(rows: Vec<Vec<Value>>) -> Value {
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|r| json!({"type": 1, "components": r}))
        .collect();
    json!({"content": "pick", "components": rows})
}

async fn post_message(fake: &FakeDiscord, channel: u64, body: &Value) -> (u16, Value) {
    post_json(fake.addr(), &format!("/channels/{channel}/messages"), body).await
}

fn id_of(m: &Value) -> u64 {
    m["id"].as_str().and_then(|s| s.parse().ok()).expect("id")
}

/// The select `s` with three options, changed by `f`, alone in a message.
fn tweak(f: impl FnOnce(&mut Value)) -> Value {
    let mut s = select("s", vec![option("a"), option("b"), option("c")]);
    f(&mut s);
    message(vec![vec![s]])
}

#[tokio::test]
async fn message_components_are_checked() {
    let fake = FakeDiscord::start(Config::default()).await;
    let x = |n: usize| "x".repeat(n);
    let c0 = "components.0.components.0";
    let abc = || vec![option("a"), option("b"), option("c")];
    let opt = |k: &str, v: Value| tweak(|s| s["options"][0][k] = v);
    let cases: Vec<(Value, String, &str)> = vec![
        // A select takes the whole row.
        (
            message(vec![vec![select("s", abc()), button("b")]]),
            "components.0.components.1".into(),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
        ),
        (
            message(vec![vec![button("b"), select("s", abc())]]),
            "components.0.components.1".into(),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
        ),
        (
            message(vec![vec![select("s", abc()), select("t", abc())]]),
            "components.0.components.1".into(),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
        ),
        (
            tweak(|s| s["options"] = json!([])),
            format!("{c0}.options"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            tweak(|s| {
                s["options"] = json!((0..26)
                    .map(|i| option(&format!("o{i}")))
                    .collect::<Vec<_>>())
            }),
            format!("{c0}.options"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            tweak(|s| {
                s.as_object_mut().unwrap().remove("options");
            }),
            format!("{c0}.options"),
            "BASE_TYPE_REQUIRED",
        ),
        (
            opt("label", json!("")),
            format!("{c0}.options.0.label"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            opt("label", json!(x(101))),
            format!("{c0}.options.0.label"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            opt("value", json!("")),
            format!("{c0}.options.0.value"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            opt("value", json!(x(101))),
            format!("{c0}.options.0.value"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            opt("description", json!(x(101))),
            format!("{c0}.options.0.description"),
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            opt("value", json!("b")),
            format!("{c0}.options.1.value"),
            "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
        ),
        (
            tweak(|s| s["placeholder"] = json!(x(151))),
            format!("{c0}.placeholder"),
            "BASE_TYPE_MAX_LENGTH",
        ),
        (
            tweak(|s| s["min_values"] = json!(26)),
            format!("{c0}.min_values"),
            "NUMBER_TYPE_MAX",
        ),
        (
            tweak(|s| s["max_values"] = json!(0)),
            format!("{c0}.max_values"),
            "NUMBER_TYPE_MIN",
        ),
        (
            tweak(|s| s["max_values"] = json!(26)),
            format!("{c0}.max_values"),
            "NUMBER_TYPE_MAX",
        ),
        (
            tweak(|s| {
                s["min_values"] = json!(3);
                s["max_values"] = json!(2);
            }),
            format!("{c0}.min_values"),
            "NUMBER_TYPE_MAX",
        ),
        // More picks than options.
        (
            tweak(|s| s["max_values"] = json!(4)),
            format!("{c0}.options"),
            "BASE_TYPE_MIN_LENGTH",
        ),
        (
            tweak(|s| s["custom_id"] = json!(x(101))),
            format!("{c0}.custom_id"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        // Buttons: five a row.
        (
            message(vec![(0..6).map(|i| button(&format!("b{i}"))).collect()]),
            "components.0.components".into(),
            "BASE_TYPE_BAD_LENGTH",
        ),
        // A text input is for modals only.
        (
            message(vec![vec![
                json!({"type": 4, "custom_id": "t", "label": "T", "style": 1}),
            ]]),
            format!("{c0}.type"),
            "UNION_TYPE_CHOICES",
        ),
        // An emoji is a Unicode one, or a custom one by its id.
        (
            opt("emoji", json!({"name": "black_nib"})),
            format!("{c0}.options.0.emoji.name"),
            "BUTTON_COMPONENT_INVALID_EMOJI",
        ),
        (
            message(vec![vec![{
                let mut b = button("b");
                b["emoji"] = json!({"name": "!!"});
                b
            }]]),
            format!("{c0}.emoji.name"),
            "BUTTON_COMPONENT_INVALID_EMOJI",
        ),
        (
            message(vec![vec![{
                let mut b = button("b");
                b["emoji"] = json!({"id": "nope", "name": "billing"});
                b
            }]]),
            format!("{c0}.emoji.name"),
            "BUTTON_COMPONENT_INVALID_EMOJI",
        ),
        // The existing checks stay.
        (
            message(vec![vec![button("d")], vec![select("d", abc())]]),
            "components.1.components.0.custom_id".into(),
            "COMPONENT_CUSTOM_ID_DUPLICATED",
        ),
    ];
    for (body, path, code) in &cases {
        let (status, answer) = post_message(&fake, ids::PANEL_CHANNEL, body).await;
        assert_eq!(
            form_error(status, &answer),
            (400, path.clone(), (*code).to_owned()),
            "{body}"
        );
    }
    assert_eq!(cases.len(), 25);
    assert!(fake.messages(ids::PANEL_CHANNEL).is_empty());

    // The same rules hold for interaction responses (paths under `data.`).
    let alice = FakeUser::new(ids::ALICE, "alice");
    let cmd = fake.send_slash_command(
        &alice,
        &[ids::MEMBER_ROLE],
        ids::PANEL_CHANNEL,
        "ticket",
        None,
        &[],
    );
    let token = fake.interaction(cmd).unwrap().token;
    let path = format!("/interactions/{cmd}/{token}/callback");
    let input = message(vec![vec![
        json!({"type": 4, "custom_id": "t", "label": "T", "style": 1}),
    ]]);
    let (status, answer) = post_json(fake.addr(), &path, &json!({"type": 4, "data": input})).await;
    assert_eq!(
        form_error(status, &answer),
        (
            400,
            format!("data.{c0}.type"),
            "UNION_TYPE_CHOICES".to_owned()
        )
    );
    let two = message(vec![vec![select("s", abc()), button("b")]]);
    let (status, answer) = post_json(fake.addr(), &path, &json!({"type": 4, "data": two})).await;
    assert_eq!(
        form_error(status, &answer),
        (
            400,
            "data.components.0.components.1".to_owned(),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED".to_owned()
        )
    );

    // Every limit at its maximum is accepted: 25 options of 100-character labels and values,
    // a 150-character placeholder, 0 to 25 picks; user selects take no options.
    let options: Vec<Value> = (0..25)
        .map(|i| json!({"label": format!("{i:02}{}", x(98)), "value": format!("{i:02}{}", x(98)), "description": x(100)}))
        .collect();
    let full = json!({"type": 3, "custom_id": x(100), "options": options, "placeholder": x(150), "min_values": 0, "max_values": 25});
    let users = json!({"type": 5, "custom_id": "u", "min_values": 0, "max_values": 25});
    let emoji = [
        json!({"name": "💳"}),
        json!({"name": "❤️"}),
        json!({"id": "123456789012345678", "name": "billing"}),
    ];
    let buttons = (0..5)
        .map(|i| {
            let mut b = button(&format!("b{i}"));
            if let Some(e) = emoji.get(i) {
                b["emoji"] = e.clone();
            }
            b
        })
        .collect();
    let body = message(vec![vec![full], vec![users], buttons]);
    let (status, answer) = post_message(&fake, ids::PANEL_CHANNEL, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(fake.message(id_of(&answer)).unwrap().components.len(), 3);
}

#[tokio::test]
async fn select_option_picks_only_what_the_menu_offers() {
    let fake = FakeDiscord::start(Config::default()).await;
    let alice = FakeUser::new(ids::ALICE, "alice");
    let roles = [ids::MEMBER_ROLE];
    let http = HttpBuilder::new("fake-token")
        .proxy(fake.http_url())
        .ratelimiter_disabled(true)
        .build();

    // Built and sent by serenity: two picks of three, and a plain single-choice menu.
    let options = ["low", "normal", "urgent"]
        .iter()
        .map(|v| CreateSelectMenuOption::new(v.to_uppercase(), *v))
        .collect::<Vec<_>>();
    let many = CreateSelectMenu::new(
        "priority",
        CreateSelectMenuKind::String {
            options: options.clone(),
        },
    )
    .placeholder("Priority")
    .min_values(1)
    .max_values(2);
    let one = CreateSelectMenu::new("single", CreateSelectMenuKind::String { options });
    let disabled = CreateSelectMenu::new(
        "off",
        CreateSelectMenuKind::String {
            options: vec![CreateSelectMenuOption::new("X", "x")],
        },
    )
    .disabled(true);
    let msg = ChannelId::new(ids::PANEL_CHANNEL)
        .send_message(
            &http,
            CreateMessage::new().content("Pick").components(vec![
                CreateActionRow::SelectMenu(many),
                CreateActionRow::SelectMenu(one),
                CreateActionRow::SelectMenu(disabled),
            ]),
        )
        .await
        .expect("a valid select message")
        .id
        .get();
    let pick = |custom_id: &str, values: &[&str]| {
        fake.select_option(&alice, &roles, ids::PANEL_CHANNEL, msg, custom_id, values)
    };

    let id = pick("priority", &["urgent", "low"]).expect("two of three");
    let sent = fake.interaction(id).unwrap();
    assert_eq!(sent.kind, 3);
    assert_eq!(
        sent.payload["data"],
        json!({"custom_id": "priority", "component_type": 3, "values": ["urgent", "low"]})
    );
    assert_eq!(sent.payload["message"]["id"], msg.to_string());
    assert!(pick("single", &["normal"]).is_ok());

    let value = |v: &str| v.to_owned();
    assert_eq!(
        pick("priority", &["high"]),
        Err(ClientRefused::UnknownOption {
            value: value("high")
        })
    );
    assert_eq!(
        pick("priority", &["low", "low"]),
        Err(ClientRefused::DuplicateOption {
            value: value("low")
        })
    );
    assert_eq!(
        pick("priority", &[]),
        Err(ClientRefused::ValueCount {
            count: 0,
            min: 1,
            max: 2
        })
    );
    assert_eq!(
        pick("priority", &["low", "normal", "urgent"]),
        Err(ClientRefused::ValueCount {
            count: 3,
            min: 1,
            max: 2
        })
    );
    // Defaults: exactly one.
    assert_eq!(
        pick("single", &["low", "normal"]),
        Err(ClientRefused::ValueCount {
            count: 2,
            min: 1,
            max: 1
        })
    );
    assert_eq!(
        pick("off", &["x"]),
        Err(ClientRefused::SelectDisabled {
            custom_id: "off".into()
        })
    );
    assert_eq!(
        pick("nope", &["low"]),
        Err(ClientRefused::NoSuchSelect {
            custom_id: "nope".into(),
            message_id: msg
        })
    );
    // Not in that channel, or no such message.
    assert_eq!(
        fake.select_option(
            &alice,
            &roles,
            ids::GENERAL_CHANNEL,
            msg,
            "priority",
            &["low"]
        ),
        Err(ClientRefused::UnknownMessage { message_id: msg })
    );
    assert!(matches!(
        fake.select_option(&alice, &roles, ids::PANEL_CHANNEL, 42, "priority", &["low"]),
        Err(ClientRefused::UnknownMessage { message_id: 42 })
    ));
    // A button is not a select.
    let (status, m) = post_message(
        &fake,
        ids::PANEL_CHANNEL,
        &message(vec![vec![button("priority")]]),
    )
    .await;
    assert_eq!(status, 200);
    let err = fake
        .select_option(
            &alice,
            &roles,
            ids::PANEL_CHANNEL,
            id_of(&m),
            "priority",
            &["low"],
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("no string select `priority`"),
        "{err}"
    );
    // Only the two accepted picks became interactions.
    assert_eq!(fake.state().interactions.len(), 2);
}
