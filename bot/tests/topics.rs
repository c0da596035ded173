//! Ticket topics with forms: the real bot against fakecord. Administrators add topics (and
//! their questions, in a modal) from Discord; the panel offers them as buttons or, past five,
//! a menu; a topic's form is asked in a modal and the ticket opens in the topic's category,
//! with its role, its limit, and the answers stored verbatim and shown; old panels keep
//! working and a removed topic's button says so.

mod support;

use fakecord::{ids, OptionValue};
use support::*;
use ticketbot_common::store::{Backend, TicketFilter};
use uuid::Uuid;

const TOPIC: &str = "ticketbot:topic:";
const QUESTIONS: &str = "ticketbot:topic-form:";
const ANSWERS: &str = "ticketbot:topic-open:";

/// The form an interaction was answered with.
async fn form_of(e: &E2e, interaction: u64) -> serde_json::Value {
    eventually("a form", WAIT, || async { e.fake.modal_of(interaction) }).await
}

/// `/ticket topic add` by the owner, its questions sent; returns the topic id.
async fn add_topic(e: &E2e, opts: &[(&str, OptionValue)], questions: &[(&str, &str)]) -> Uuid {
    let id = e.slash(ids::OWNER, ids::PANEL_CHANNEL, "topic add", opts);
    let form = form_of(e, id).await;
    let custom = form["custom_id"].as_str().unwrap().to_owned();
    assert!(custom.starts_with(QUESTIONS), "{form}");
    assert_eq!(form["components"].as_array().unwrap().len(), 5, "{form}");
    let owner = e.fake.user(ids::OWNER);
    let roles = e.fake.member_roles(ids::OWNER);
    let sent = e
        .fake
        .submit_modal(&owner, &roles, ids::PANEL_CHANNEL, &custom, questions)
        .expect("the questions form is open");
    let reply = e.reply_text(sent).await;
    assert!(reply.starts_with("Topic “"), "{reply}");
    Uuid::parse_str(&custom[QUESTIONS.len()..]).unwrap()
}

/// `/ticket setup`; the new panel message.
async fn panel(e: &E2e) -> fakecord::Message {
    let id = e.slash(ids::STAFF, ids::PANEL_CHANNEL, "setup", &[]);
    e.reply_text(id).await;
    e.fake.messages(ids::PANEL_CHANNEL).pop().expect("a panel")
}

/// A click on a panel's topic by `user`, answered with the ticket's link; its channel.
async fn opened(e: &E2e, interaction: u64) -> u64 {
    let text = e.reply_text(interaction).await;
    assert!(text.starts_with("Your ticket is open: <#"), "{text}");
    channel_mention(&text).expect("a channel mention")
}

async fn topics_with_forms(backend: Backend) {
    let e = E2e::start(backend).await;

    // Staff who are not administrators cannot manage topics.
    let id = e.slash(
        ids::STAFF,
        ids::PANEL_CHANNEL,
        "topic add",
        &[("name", "Billing".into())],
    );
    assert_eq!(
        e.reply_text(id).await,
        "Only server administrators (Manage Server) can manage ticket topics."
    );

    // Discord would refuse a panel with a made-up emoji: refused here, with what to write.
    let id = e.slash(
        ids::OWNER,
        ids::PANEL_CHANNEL,
        "topic add",
        &[
            ("name", "Billing".into()),
            ("emoji", ":credit_card:".into()),
        ],
    );
    let text = e.reply_text(id).await;
    assert!(
        text.starts_with("\":credit_card:\" is not an emoji: pick one"),
        "{text}"
    );
    assert!(e.store().await.topics(ids::GUILD).await.unwrap().is_empty());

    let billing = add_topic(
        &e,
        &[
            ("name", "Billing".into()),
            ("emoji", "💳".into()),
            ("category", OptionValue::Channel(ids::CLOSED_CATEGORY)),
            ("role", OptionValue::Role(ids::MEMBER_ROLE)),
            ("limit", 2i64.into()),
        ],
        &[
            ("q0", "Order number | e.g. #1234 | 2-20"),
            ("q1", "What happened? | paragraph | optional"),
        ],
    )
    .await;
    let other = add_topic(&e, &[("name", "Other".into())], &[]).await;
    // Names are unique in any case.
    let id = e.slash(
        ids::OWNER,
        ids::PANEL_CHANNEL,
        "topic add",
        &[("name", " BILLING".into())],
    );
    assert!(e.reply_text(id).await.contains("exists already"));
    // A bad question is refused with what was typed, nothing saved.
    let id = e.slash(
        ids::OWNER,
        ids::PANEL_CHANNEL,
        "topic edit",
        &[("name", "other".into())],
    );
    let form = form_of(&e, id).await;
    let owner = e.fake.user(ids::OWNER);
    let sent = e
        .fake
        .submit_modal(
            &owner,
            &e.fake.member_roles(ids::OWNER),
            ids::PANEL_CHANNEL,
            form["custom_id"].as_str().unwrap(),
            &[("q0", "Why? | sometimes")],
        )
        .unwrap();
    let text = e.reply_text(sent).await;
    assert!(
        text.starts_with("Question 1: \"sometimes\" is not") && text.contains("`Why? | sometimes`"),
        "{text}"
    );
    let id = e.slash(ids::STAFF, ids::PANEL_CHANNEL, "topic list", &[]);
    let list = e.reply_text(id).await;
    assert!(list.contains("💳 Billing"), "{list}");
    assert!(
        list.contains("1. Order number | 2-20 | placeholder: e.g. #1234"),
        "{list}"
    );
    assert!(list.contains("No form"), "{list}");

    // The panel offers the two topics as buttons.
    let p = panel(&e).await;
    assert_eq!(
        p.custom_ids(),
        [format!("{TOPIC}{billing}"), format!("{TOPIC}{other}")]
    );

    // Billing asks its form; the answers come back verbatim, the ticket opens in the topic's
    // category with its role pinged and let in.
    let alice = e.fake.user(ids::ALICE);
    let roles = e.fake.member_roles(ids::ALICE);
    let click = e.click(
        ids::ALICE,
        ids::PANEL_CHANNEL,
        p.id,
        &format!("{TOPIC}{billing}"),
    );
    let form = form_of(&e, click).await;
    assert_eq!(form["title"], "💳 Billing");
    let first = &form["components"][0]["components"][0];
    assert_eq!(
        (
            first["label"].as_str(),
            first["min_length"].as_u64(),
            first["max_length"].as_u64()
        ),
        (Some("Order number"), Some(2), Some(20)),
        "{form}"
    );
    assert_eq!(form["components"][1]["components"][0]["required"], false);
    let hostile =
        "'; DROP TABLE ticket_forms; -- </script><img src=x onerror=alert(1)>\n@everyone <@&1> ```";
    let answers_id = format!("{ANSWERS}{billing}");
    // The client keeps a too-short answer from being sent.
    assert!(e
        .fake
        .submit_modal(
            &alice,
            &roles,
            ids::PANEL_CHANNEL,
            &answers_id,
            &[("a0", "x")]
        )
        .is_err());
    let sent = e
        .fake
        .submit_modal(
            &alice,
            &roles,
            ids::PANEL_CHANNEL,
            &answers_id,
            &[("a0", "#42 «ü»"), ("a1", hostile)],
        )
        .unwrap();
    let channel = opened(&e, sent).await;
    let store = e.store().await;
    let t = store.get_by_channel(channel).await.unwrap().unwrap();
    let stored = store.ticket_form(t.id).await.unwrap().expect("the form");
    assert_eq!(stored.topic_name, "Billing");
    let answers: Vec<(&str, &str)> = stored
        .answers
        .iter()
        .map(|a| (a.question.as_str(), a.answer.as_str()))
        .collect();
    assert_eq!(
        answers,
        [("Order number", "#42 «ü»"), ("What happened?", hostile)]
    );
    let c = e.fake.channel(channel).unwrap();
    assert_eq!(
        c.parent_id,
        Some(ids::CLOSED_CATEGORY),
        "the topic category"
    );
    assert!(e.fake.can_view(ids::ALICE, channel));
    let welcome = eventually("the welcome", WAIT, || async {
        e.fake
            .messages(channel)
            .into_iter()
            .find(|m| m.text().contains("Order number"))
    })
    .await;
    assert_eq!(
        welcome.content,
        format!("<@{}> <@&{}>", ids::ALICE, ids::MEMBER_ROLE)
    );
    assert!(welcome.text().contains(hostile), "{}", welcome.text());
    let id = e.slash(ids::STAFF, channel, "info", &[]);
    let info = e.reply_text(id).await;
    assert!(info.contains("Billing") && info.contains(hostile), "{info}");
    // The transcript carries the answers (the welcome message's embed).
    let id = e.slash(ids::STAFF, channel, "transcript", &[]);
    let reply = e.reply(id).await;
    assert_eq!(reply.attachments.len(), 1);
    let html = reply.attachments[0].text();
    assert!(
        html.contains("Order number") && html.contains("#42 «ü»"),
        "the answers in the transcript"
    );
    assert!(
        !html.contains("<img src=x onerror"),
        "hostile markup escaped"
    );
    // Adding someone re-syncs the channel: it stays in the topic's category.
    let id = e.slash(
        ids::STAFF,
        channel,
        "add",
        &[("user", OptionValue::User(ids::BOB))],
    );
    e.reply_text(id).await;
    eventually("Bob let in", WAIT, || async {
        e.fake.can_view(ids::BOB, channel).then_some(())
    })
    .await;
    assert_eq!(
        e.fake.channel(channel).unwrap().parent_id,
        Some(ids::CLOSED_CATEGORY)
    );
    let filter = TicketFilter {
        topic: Some("BILLING".into()),
        ..TicketFilter::default()
    };
    assert_eq!(store.count(&filter).await.unwrap().total(), 1);

    // Billing's own limit is 2: a second Billing ticket opens; "Other" keeps the global 1.
    let click = e.click(
        ids::ALICE,
        ids::PANEL_CHANNEL,
        p.id,
        &format!("{TOPIC}{billing}"),
    );
    form_of(&e, click).await;
    let sent = e
        .fake
        .submit_modal(
            &alice,
            &roles,
            ids::PANEL_CHANNEL,
            &answers_id,
            &[("a0", "#43")],
        )
        .unwrap();
    opened(&e, sent).await;
    let click = e.click(
        ids::ALICE,
        ids::PANEL_CHANNEL,
        p.id,
        &format!("{TOPIC}{other}"),
    );
    assert!(e
        .reply_text(click)
        .await
        .starts_with("You already have an open ticket"));

    // A topic without a form opens at once.
    let click = e.click(
        ids::BOB,
        ids::PANEL_CHANNEL,
        p.id,
        &format!("{TOPIC}{other}"),
    );
    let bobs = opened(&e, click).await;
    let t = store.get_by_channel(bobs).await.unwrap().unwrap();
    let form = store.ticket_form(t.id).await.unwrap().unwrap();
    assert_eq!((form.topic_name.as_str(), form.answers.len()), ("Other", 0));

    // Removed: the old panel's button says so.
    let id = e.slash(
        ids::OWNER,
        ids::PANEL_CHANNEL,
        "topic remove",
        &[("name", "billing".into())],
    );
    assert!(e
        .reply_text(id)
        .await
        .starts_with("Topic “Billing” removed."));
    let click = e.click(
        ids::BOB,
        ids::PANEL_CHANNEL,
        p.id,
        &format!("{TOPIC}{billing}"),
    );
    assert_eq!(
        e.reply_text(click).await,
        "The topic “Billing” was removed; please pick another one, or ask the staff."
    );
    e.assert_consistent(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_topics_with_forms() {
    topics_with_forms(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_topics_with_forms() {
    topics_with_forms(Backend::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_topics_make_a_menu_and_old_panels_still_open() {
    let e = E2e::start(Backend::Mongodb).await;
    // A panel posted before any topic existed.
    let old = e.post_panel().await;
    let mut ids_of = Vec::new();
    for (name, limit) in [
        ("One", 1),
        ("Two", 1),
        ("Three", 1),
        ("Four", 1),
        ("Five", 1),
        ("Sales", 3),
    ] {
        let opts = [("name", name.into()), ("limit", (limit as i64).into())];
        ids_of.push(add_topic(&e, &opts, &[]).await);
    }
    let p = panel(&e).await;
    assert_eq!(p.custom_ids(), ["ticketbot:topic-select"]);
    let bob = e.fake.user(ids::BOB);
    let roles = e.fake.member_roles(ids::BOB);
    let sales = ids_of[5].to_string();
    // Only the offered values can be picked.
    assert!(e
        .fake
        .select_option(
            &bob,
            &roles,
            ids::PANEL_CHANNEL,
            p.id,
            "ticketbot:topic-select",
            &["nope"]
        )
        .is_err());
    let pick = e
        .fake
        .select_option(
            &bob,
            &roles,
            ids::PANEL_CHANNEL,
            p.id,
            "ticketbot:topic-select",
            &[&sales],
        )
        .unwrap();
    let channel = opened(&e, pick).await;
    let store = e.store().await;
    let t = store.get_by_channel(channel).await.unwrap().unwrap();
    assert_eq!(
        store.ticket_form(t.id).await.unwrap().unwrap().topic_name,
        "Sales"
    );

    // The old panel's Open Ticket button still opens a ticket, without a topic.
    let (t, _) = e.open_ticket(old, ids::ALICE).await;
    assert_eq!(store.ticket_form(t.id).await.unwrap(), None);
    e.assert_consistent(&[]).await;
}

const BILLING_ROLE: u64 = 1_210_000_000_000_000_290;
const BILLING_CATEGORY: u64 = 1_210_000_000_000_000_390;

/// The text of the bot's refusal to a non-staff member.
const STAFF_ONLY: &str = "Only support staff";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_role_works_its_tickets_which_reopen_in_the_topic_category() {
    let mut config = fakecord::Config::default();
    config.roles.push(fakecord::RoleSeed {
        id: BILLING_ROLE,
        name: "Billing team".into(),
        permissions: 0,
        position: 1,
        color: 0,
        bot_role: false,
    });
    config.channels.push(fakecord::ChannelSeed {
        id: BILLING_CATEGORY,
        kind: 4,
        name: "billing".into(),
        parent_id: None,
        position: 9,
        topic: None,
        permission_overwrites: Vec::new(),
    });
    // Bob is on the billing team, not support staff.
    for m in &mut config.members {
        if m.user.id == ids::BOB {
            m.roles = vec![BILLING_ROLE];
        }
    }
    let e = E2e::start_with(Backend::Sqlite, config, &[]).await;
    add_topic(
        &e,
        &[
            ("name", "Billing".into()),
            ("category", OptionValue::Channel(BILLING_CATEGORY)),
            ("role", OptionValue::Role(BILLING_ROLE)),
        ],
        &[],
    )
    .await;
    add_topic(&e, &[("name", "Other".into()), ("limit", 2i64.into())], &[]).await;
    let p = panel(&e).await;
    let [billing, other] = [0, 1].map(|i| p.custom_ids()[i].clone());

    let click = e.click(ids::ALICE, ids::PANEL_CHANNEL, p.id, &billing);
    let channel = opened(&e, click).await;
    let t = e
        .store()
        .await
        .get_by_channel(channel)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        e.fake.channel(channel).unwrap().parent_id,
        Some(BILLING_CATEGORY)
    );
    assert!(
        e.fake.can_view(ids::BOB, channel),
        "the topic's role is let in"
    );
    let click = e.click(ids::ALICE, ids::PANEL_CHANNEL, p.id, &other);
    let other_channel = opened(&e, click).await;
    assert!(!e.fake.can_view(ids::BOB, other_channel));

    // The creator is not staff; Bob is, in Billing's tickets only.
    let id = e.slash(ids::ALICE, channel, "claim", &[]);
    assert!(e.reply_text(id).await.starts_with(STAFF_ONLY));
    let id = e.slash(ids::BOB, other_channel, "claim", &[]);
    assert!(e.reply_text(id).await.starts_with(STAFF_ONLY));
    let id = e.slash(ids::BOB, ids::PANEL_CHANNEL, "stats", &[]);
    assert!(e.reply_text(id).await.starts_with(STAFF_ONLY));
    let id = e.slash(ids::BOB, channel, "claim", &[]);
    assert_eq!(e.reply_text(id).await, "You claimed this ticket.");
    assert_eq!(e.ticket(t.id).await.unwrap().claimed_by, Some(ids::BOB));

    // Closed, it goes to the closed category; reopened, back to Billing's.
    let id = e.slash(ids::BOB, channel, "close", &[("reason", "paid".into())]);
    assert_eq!(e.reply_text(id).await, "Ticket closed.");
    eventually("in the closed category", WAIT, || async {
        (e.fake.channel(channel)?.parent_id == Some(ids::CLOSED_CATEGORY)).then_some(())
    })
    .await;
    let id = e.slash(ids::BOB, channel, "reopen", &[]);
    assert_eq!(e.reply_text(id).await, "Ticket reopened.");
    eventually("back in Billing's category", WAIT, || async {
        (e.fake.channel(channel)?.parent_id == Some(BILLING_CATEGORY)).then_some(())
    })
    .await;

    // Archived, then reopened by id: a new channel, in Billing's category, Bob let in.
    let id = e.slash(ids::BOB, channel, "close", &[]);
    assert_eq!(e.reply_text(id).await, "Ticket closed.");
    let id = e.slash(ids::BOB, channel, "archive", &[]);
    assert!(e
        .reply_text(id)
        .await
        .starts_with(&format!("Ticket {} archived", t.short_id())));
    let id = e.slash(
        ids::STAFF,
        ids::GENERAL_CHANNEL,
        "reopen",
        &[("id", t.short_id().into())],
    );
    let text = e.reply_text(id).await;
    let again = channel_mention(&text).unwrap_or_else(|| panic!("{text}"));
    assert_ne!(again, channel);
    assert_eq!(
        e.fake.channel(again).unwrap().parent_id,
        Some(BILLING_CATEGORY)
    );
    assert!(e.fake.can_view(ids::BOB, again));
    e.assert_consistent(&[]).await;
    e.finish().await;
}
