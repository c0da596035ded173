//! Modals as Discord has them: the callback type 9 checked field by field (400 / 50035 with the
//! field's path), only in answer to a command or a component, and `submit_modal` refusing what
//! the Discord client would not send (tests/modal_flow.rs runs the happy path with serenity).

mod common;

use common::{form_error, post_json};
use fakecord::{ids, ClientRefused, Config, FakeDiscord, FakeUser};
use serde_json::{json, Value};

/// A bot message in #support with one button `rate`, posted through REST. Returns its id.
async fn button_message(fake: &FakeDiscord) -> u64 {
    let body = json!({"content": "Rate us", "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "Rate", "custom_id": "rate"}]}]});
    let path = format!("/channels/{}/messages", ids::PANEL_CHANNEL);
    let (status, m) = post_json(fake.addr(), &path, &body).await;
    assert_eq!(status, 200, "{m}");
    m["id"].as_str().and_then(|s| s.parse().ok()).expect("id")
}

async fn callback(fake: &FakeDiscord, interaction_id: u64, body: &Value) -> (u16, Value) {
    let token = fake.interaction(interaction_id).expect("interaction").token;
    let path = format!("/interactions/{interaction_id}/{token}/callback");
    post_json(fake.addr(), &path, body).await
}

fn input(id: &str, label: &str) -> Value {
    json!({"type": 4, "custom_id": id, "label": label, "style": 1})
}

/// A type 9 callback body, one action row per input.
fn modal(custom_id: &str, title: &str, inputs: Vec<Value>) -> Value {
    let rows: Vec<Value> = inputs
        .into_iter()
        .map(|c| json!({"type": 1, "components": [c]}))
        .collect();
    json!({"type": 9, "data": {"custom_id": custom_id, "title": title, "components": rows}})
}

/// The valid one-input modal `form`, changed by `f`.
fn tweak(f: impl FnOnce(&mut Value)) -> Value {
    let mut body = modal("form", "Form", vec![input("a", "A")]);
    f(&mut body);
    body
}

fn alice() -> FakeUser {
    FakeUser::new(ids::ALICE, "alice")
}

#[tokio::test]
async fn modal_callbacks_are_checked_field_by_field() {
    let fake = FakeDiscord::start(Config::default()).await;
    let roles = fake.member_roles(ids::ALICE);
    let msg = button_message(&fake).await;
    let click = || fake.click_button(&alice(), &roles, ids::PANEL_CHANNEL, msg, "rate");
    let x = |n: usize| "x".repeat(n);
    let input0 = "data.components.0.components.0";
    let six: Vec<Value> = (0..6).map(|i| input(&format!("i{i}"), "L")).collect();
    let cases: Vec<(Value, String, &str)> = vec![
        (json!({"type": 9}), "data".into(), "BASE_TYPE_REQUIRED"),
        (
            tweak(|b| {
                b["data"].as_object_mut().unwrap().remove("custom_id");
            }),
            "data.custom_id".into(),
            "BASE_TYPE_REQUIRED",
        ),
        (
            tweak(|b| b["data"]["custom_id"] = json!(x(101))),
            "data.custom_id".into(),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            tweak(|b| b["data"]["title"] = json!("")),
            "data.title".into(),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            tweak(|b| b["data"]["title"] = json!(x(46))),
            "data.title".into(),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            tweak(|b| b["data"]["components"] = json!([])),
            "data.components".into(),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            modal("form", "Form", six),
            "data.components".into(),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            tweak(|b| b["data"]["components"][0]["type"] = json!(2)),
            "data.components.0.type".into(),
            "UNION_TYPE_CHOICES",
        ),
        (
            tweak(|b| {
                b["data"]["components"][0]["components"] = json!([input("a", "A"), input("b", "B")])
            }),
            "data.components.0.components.1".into(),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
        ),
        (
            tweak(|b| {
                b["data"]["components"][0]["components"][0] =
                    json!({"type": 2, "style": 1, "label": "B", "custom_id": "b"})
            }),
            format!("{input0}.type"),
            "UNION_TYPE_CHOICES",
        ),
        (
            modal("form", "Form", vec![input(&x(101), "A")]),
            format!("{input0}.custom_id"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            modal("form", "Form", vec![input("a", "A"), input("a", "B")]),
            "data.components.1.components.0.custom_id".into(),
            "COMPONENT_CUSTOM_ID_DUPLICATED",
        ),
        (
            tweak(|b| {
                let c = &mut b["data"]["components"][0]["components"][0];
                c.as_object_mut().unwrap().remove("label");
            }),
            format!("{input0}.label"),
            "BASE_TYPE_REQUIRED",
        ),
        (
            modal("form", "Form", vec![input("a", "")]),
            format!("{input0}.label"),
            "BASE_TYPE_BAD_LENGTH",
        ),
        (
            modal("form", "Form", vec![input("a", &x(46))]),
            format!("{input0}.label"),
            "BASE_TYPE_BAD_LENGTH",
        ),
    ];
    let field = |k: &str, v: Value| -> Value {
        tweak(|b| b["data"]["components"][0]["components"][0][k] = v)
    };
    let mut cases = cases;
    for (k, v, code) in [
        ("style", json!(3), "BASE_TYPE_CHOICES"),
        ("style", Value::Null, "BASE_TYPE_REQUIRED"),
        ("min_length", json!(4001), "NUMBER_TYPE_MAX"),
        ("min_length", json!(-1), "NUMBER_TYPE_MIN"),
        ("max_length", json!(0), "NUMBER_TYPE_MIN"),
        ("max_length", json!(4001), "NUMBER_TYPE_MAX"),
        ("value", json!(x(4001)), "BASE_TYPE_MAX_LENGTH"),
        ("placeholder", json!(x(101)), "BASE_TYPE_MAX_LENGTH"),
        ("required", json!("yes"), "BASE_TYPE_BOOLEAN"),
    ] {
        cases.push((field(k, v), format!("{input0}.{k}"), code));
    }
    let mut min_over_max = field("min_length", json!(10));
    min_over_max["data"]["components"][0]["components"][0]["max_length"] = json!(5);
    cases.push((
        min_over_max,
        format!("{input0}.min_length"),
        "NUMBER_TYPE_MAX",
    ));
    let mut prefill_over_max = field("value", json!("123456"));
    prefill_over_max["data"]["components"][0]["components"][0]["max_length"] = json!(5);
    cases.push((
        prefill_over_max,
        format!("{input0}.value"),
        "BASE_TYPE_MAX_LENGTH",
    ));

    let mut refused = Vec::new();
    for (body, path, code) in &cases {
        let id = click();
        let (status, answer) = callback(&fake, id, body).await;
        assert_eq!(
            form_error(status, &answer),
            (400, path.clone(), (*code).to_owned()),
            "{body}"
        );
        assert!(fake.interaction(id).unwrap().callbacks.is_empty());
        assert_eq!(fake.modal_of(id), None);
        refused.push(id);
    }
    assert_eq!(refused.len(), 26);

    // A refused modal does not acknowledge: a valid one can still answer.
    let ok = modal("form", "Form", vec![input("a", "A")]);
    assert_eq!(callback(&fake, refused[0], &ok).await.0, 204);
    assert_eq!(fake.modal_of(refused[0]), Some(ok["data"].clone()));

    // Every limit at its maximum is accepted.
    let inputs: Vec<Value> = (0..5)
        .map(|i| {
            json!({"type": 4, "custom_id": format!("{i}{}", x(99)), "label": x(45), "style": 2,
                "min_length": 4000, "max_length": 4000, "value": x(4000),
                "placeholder": x(100), "required": false})
        })
        .collect();
    let full = modal(&x(100), &x(45), inputs);
    let id = click();
    assert_eq!(callback(&fake, id, &full).await, (204, Value::Null));
    assert_eq!(fake.modal_of(id), Some(full["data"].clone()));
}

#[tokio::test]
async fn only_commands_and_components_may_open_a_modal() {
    let fake = FakeDiscord::start(Config::default()).await;
    let roles = fake.member_roles(ids::ALICE);
    let form = modal("form", "Form", vec![input("a", "A")]);

    let cmd = fake.send_slash_command(&alice(), &roles, ids::PANEL_CHANNEL, "ticket", None, &[]);
    assert_eq!(callback(&fake, cmd, &form).await.0, 204);

    // The submit of that modal cannot answer with another modal.
    let submit = fake
        .submit_modal(&alice(), &roles, ids::PANEL_CHANNEL, "form", &[("a", "x")])
        .expect("the modal is open");
    let (status, body) = callback(&fake, submit, &form).await;
    assert_eq!(
        form_error(status, &body),
        (
            400,
            "type".to_owned(),
            "INTERACTION_RESPONSE_TYPE_INVALID".to_owned()
        )
    );
    assert!(fake.interaction(submit).unwrap().callbacks.is_empty());
    // It can still be answered with a message.
    let (status, _) = callback(
        &fake,
        submit,
        &json!({"type": 4, "data": {"content": "ok"}}),
    )
    .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn submit_modal_refuses_what_the_client_would_not_send() {
    let fake = FakeDiscord::start(Config::default()).await;
    let roles = fake.member_roles(ids::ALICE);
    let msg = button_message(&fake).await;
    let submit = |custom_id: &str, fields: &[(&str, &str)]| {
        fake.submit_modal(&alice(), &roles, ids::PANEL_CHANNEL, custom_id, fields)
    };

    // Nothing open yet.
    assert_eq!(
        submit("form", &[]),
        Err(ClientRefused::NoOpenModal {
            custom_id: "form".into()
        })
    );
    let click = fake.click_button(&alice(), &roles, ids::PANEL_CHANNEL, msg, "rate");
    let form = modal(
        "form",
        "Form",
        vec![
            json!({"type": 4, "custom_id": "code", "label": "Code", "style": 1,
                "min_length": 3, "max_length": 5}),
            json!({"type": 4, "custom_id": "note", "label": "Note", "style": 2,
                "min_length": 2, "required": false}),
            json!({"type": 4, "custom_id": "kept", "label": "Kept", "style": 1,
                "value": "prefilled"}),
        ],
    );
    assert_eq!(callback(&fake, click, &form).await.0, 204);

    let field = |f: &str| f.to_owned();
    assert_eq!(
        submit("form", &[("code", "abc"), ("nope", "x")]),
        Err(ClientRefused::UnknownField {
            field: field("nope")
        })
    );
    assert_eq!(
        submit("form", &[("code", "abc"), ("code", "abd")]),
        Err(ClientRefused::DuplicateField {
            field: field("code")
        })
    );
    assert_eq!(
        submit("form", &[]),
        Err(ClientRefused::RequiredEmpty {
            field: field("code")
        })
    );
    assert_eq!(
        submit("form", &[("code", "abc"), ("kept", "")]),
        Err(ClientRefused::RequiredEmpty {
            field: field("kept")
        })
    );
    assert_eq!(
        submit("form", &[("code", "ab")]),
        Err(ClientRefused::TooShort {
            field: field("code"),
            min: 3,
            len: 2
        })
    );
    assert_eq!(
        submit("form", &[("code", "abcdef")]),
        Err(ClientRefused::TooLong {
            field: field("code"),
            max: 5,
            len: 6
        })
    );
    // The default max_length is 4000.
    let long = "y".repeat(4001);
    assert_eq!(
        submit("form", &[("code", "abc"), ("note", &long)]),
        Err(ClientRefused::TooLong {
            field: field("note"),
            max: 4000,
            len: 4001
        })
    );
    // Optional but non-empty: min_length applies.
    assert_eq!(
        submit("form", &[("code", "abc"), ("note", "n")]),
        Err(ClientRefused::TooShort {
            field: field("note"),
            min: 2,
            len: 1
        })
    );
    // Only where it is shown, only to whom it is shown, only the modal shown.
    assert_eq!(
        fake.submit_modal(
            &alice(),
            &roles,
            ids::GENERAL_CHANNEL,
            "form",
            &[("code", "abc")]
        ),
        Err(ClientRefused::WrongChannel {
            expected: ids::PANEL_CHANNEL,
            given: ids::GENERAL_CHANNEL
        })
    );
    let bob = fake.user(ids::BOB);
    assert!(matches!(
        fake.submit_modal(&bob, &[], ids::PANEL_CHANNEL, "form", &[("code", "abc")]),
        Err(ClientRefused::NoOpenModal { .. })
    ));
    assert!(matches!(
        submit("other", &[]),
        Err(ClientRefused::NoOpenModal { .. })
    ));
    assert!(fake.state().interactions.values().all(|i| i.kind != 5));

    // Inputs not given are sent too, in the modal's order: prefilled or empty.
    let id = submit("form", &[("code", "abc")]).expect("a valid submit");
    let sent = fake.interaction(id).unwrap();
    assert_eq!((sent.kind, sent.modal_trigger_id), (5, Some(click)));
    let values: Vec<(String, String)> = sent.payload["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let c = &row["components"][0];
            assert_eq!(c["type"], 4);
            (
                c["custom_id"].as_str().unwrap().to_owned(),
                c["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    assert_eq!(
        values,
        pairs(&[("code", "abc"), ("note", ""), ("kept", "prefilled")])
    );
    assert_eq!(sent.payload["data"]["custom_id"], "form");
    assert_eq!(sent.payload["message"]["id"], msg.to_string());

    // Submitted once; opening it again allows one more.
    let again = submit("form", &[("code", "abc")]);
    assert_eq!(
        again,
        Err(ClientRefused::AlreadySubmitted {
            custom_id: "form".into(),
            trigger_id: click
        })
    );
    assert!(again.unwrap_err().to_string().contains("already submitted"));
    let reopen = fake.click_button(&alice(), &roles, ids::PANEL_CHANNEL, msg, "rate");
    assert_eq!(callback(&fake, reopen, &form).await.0, 204);
    let second = submit("form", &[("code", "xyz")]).expect("opened again");
    assert_eq!(
        fake.interaction(second).unwrap().modal_trigger_id,
        Some(reopen)
    );
    assert!(submit("form", &[("code", "xyz")]).is_err());

    // A modal opened by a slash command carries no `message`.
    let cmd = fake.send_slash_command(&alice(), &roles, ids::PANEL_CHANNEL, "ticket", None, &[]);
    assert_eq!(callback(&fake, cmd, &form).await.0, 204);
    let id = submit("form", &[("code", "abc")]).unwrap();
    assert!(fake
        .interaction(id)
        .unwrap()
        .payload
        .get("message")
        .is_none());
}
