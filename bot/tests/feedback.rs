//! Feedback after a close: the real bot against fakecord. The creator rates with a star
//! button, the comment form opens, the rating is stored once per ticket, only the creator's,
//! changeable within the window; it shows in `/ticket info` and the log channel.

mod support;

use fakecord::{ids, Message};
use support::*;
use ticketbot_common::feedback::FeedbackWrite;
use ticketbot_common::store::Backend;

const RATE: &str = "ticketbot:rate:";
const COMMENT_FORM: &str = "ticketbot:rate-comment:";

/// The newest feedback question in the messages, and its five star ids.
fn question(messages: Vec<Message>) -> Option<(Message, Vec<String>)> {
    let m = messages
        .into_iter()
        .rev()
        .find(|m| m.custom_ids().iter().any(|c| c.starts_with(RATE)))?;
    let stars = m.custom_ids();
    assert_eq!(stars.len(), 5, "{stars:?}");
    Some((m, stars))
}

async fn close(e: &E2e, channel: u64) {
    let id = e.slash(ids::STAFF, channel, "close", &[("reason", "done".into())]);
    assert_eq!(e.reply_text(id).await, "Ticket closed.");
}

/// The comment form a star click opened.
async fn form_of(e: &E2e, click: u64) -> serde_json::Value {
    eventually("the comment form", WAIT, || async {
        e.fake.modal_of(click)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_creator_rates_once_with_a_comment() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    let id = e.slash(ids::STAFF, channel, "claim", &[]);
    e.reply_text(id).await;
    close(&e, channel).await;

    // Asked in the channel, the creator pinged.
    let (m, stars) = eventually("the feedback question", WAIT, || async {
        question(e.fake.messages(channel))
    })
    .await;
    assert_eq!(m.content, format!("<@{}>", ids::ALICE));
    assert!(m.text().contains("How did we do?"), "{}", m.text());
    assert_eq!(stars[3], format!("{RATE}{}:4", t.id));

    // Only the creator rates.
    for who in [ids::BOB, ids::STAFF] {
        let id = e.click(who, channel, m.id, &stars[0]);
        assert_eq!(
            e.reply_text(id).await,
            format!(
                "Only <@{}>, who opened this ticket, can rate it.",
                ids::ALICE
            )
        );
    }
    assert_eq!(e.store().await.feedback(t.id).await.unwrap(), None);

    // A star stores the rating and opens the comment form.
    let click = e.click(ids::ALICE, channel, m.id, &stars[3]);
    let form = form_of(&e, click).await;
    assert_eq!(
        form["custom_id"].as_str(),
        Some(format!("{COMMENT_FORM}{}:4", t.id).as_str())
    );
    let input = &form["components"][0]["components"][0];
    assert_eq!(input["style"], 2, "a paragraph: {form}");
    assert_eq!(input["required"], false, "{form}");
    let stored = e.store().await.feedback(t.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.user_id, stored.rating, stored.comment),
        (ids::ALICE, 4, None)
    );
    eventually("the rating in the log", WAIT, || async {
        (e.audit_entries("rated").len() == 1).then_some(())
    })
    .await;

    // The comment, hostile, kept verbatim.
    let hostile = "<@&1> @everyone **bold** `code` </script><img src=x onerror=alert(1)>\n'; DROP TABLE feedback; --";
    let user = e.fake.user(ids::ALICE);
    let roles = e.fake.member_roles(ids::ALICE);
    let form_id = format!("{COMMENT_FORM}{}:4", t.id);
    let sent = e
        .fake
        .submit_modal(&user, &roles, channel, &form_id, &[("comment", hostile)])
        .expect("the form is open");
    assert_eq!(
        e.reply_text(sent).await,
        "Thanks for your feedback (★★★★☆ 4/5)."
    );
    let stored = e.store().await.feedback(t.id).await.unwrap().unwrap();
    assert_eq!(stored.comment.as_deref(), Some(hostile));
    assert_eq!(stored.rating, 4);
    // A form is sent once.
    assert!(e
        .fake
        .submit_modal(&user, &roles, channel, &form_id, &[("comment", "again")])
        .is_err());

    // A change of mind within the window: the rating changes, the comment stays and is
    // offered again in the form.
    let click = e.click(ids::ALICE, channel, m.id, &stars[1]);
    let form = form_of(&e, click).await;
    assert_eq!(form["components"][0]["components"][0]["value"], hostile);
    let stored = e.store().await.feedback(t.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.rating, stored.comment.as_deref()),
        (2, Some(hostile))
    );

    // Shown in /ticket info.
    let id = e.slash(ids::STAFF, channel, "info", &[]);
    let info = e.reply_text(id).await;
    assert!(info.contains("★★☆☆☆ 2/5"), "{info}");
    assert!(info.contains(hostile), "{info}");

    // Once the window has passed, the rating is final.
    let store = e.store().await;
    let mut old = stored.clone();
    old.given_at -= chrono::Duration::hours(25);
    store.import_feedback(&[old]).await.unwrap();
    let id = e.click(ids::ALICE, channel, m.id, &stars[4]);
    let text = e.reply_text(id).await;
    assert!(
        text.starts_with("You rated this ticket ★★☆☆☆ 2/5 <t:"),
        "{text}"
    );
    assert_eq!(store.feedback(t.id).await.unwrap().unwrap().rating, 2);
    assert_eq!(
        store
            .give_feedback(&stored, chrono::Utc::now() - chrono::Duration::hours(24))
            .await
            .unwrap(),
        FeedbackWrite::Final
    );
    e.assert_consistent(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_off_asks_nothing() {
    let e = E2e::start_with(
        Backend::Sqlite,
        fakecord::Config::default(),
        &[("FEEDBACK", "off")],
    )
    .await;
    let panel = e.post_panel().await;
    let (_, channel) = e.open_ticket(panel, ids::ALICE).await;
    close(&e, channel).await;
    // The close notice comes before the question would: once it is there, so would it be.
    eventually("the close notice", WAIT, || async {
        e.fake
            .messages(channel)
            .iter()
            .any(|m| m.text().contains("Ticket closed by"))
            .then_some(())
    })
    .await;
    eventually("the close in the log", WAIT, || async {
        (!e.audit_entries("closed").is_empty()).then_some(())
    })
    .await;
    assert!(question(e.fake.messages(channel)).is_none());
    assert!(question(e.fake.dm_messages(ids::ALICE)).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_by_dm_falls_back_to_the_channel() {
    let e = E2e::start_with(
        Backend::Mongodb,
        fakecord::Config::default(),
        &[("FEEDBACK", "dm")],
    )
    .await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    close(&e, channel).await;

    // Asked by DM, not in the channel.
    let (m, stars) = eventually("the question by DM", WAIT, || async {
        question(e.fake.dm_messages(ids::ALICE))
    })
    .await;
    assert!(question(e.fake.messages(channel)).is_none());
    let dm = e.fake.dm_channel_id(ids::ALICE).expect("a DM channel");

    // A double click on two stars in the DM: one rating, the later click a change.
    let user = e.fake.user(ids::ALICE);
    let clicks = [
        e.fake.click_button(&user, &[], dm, m.id, &stars[0]),
        e.fake.click_button(&user, &[], dm, m.id, &stars[2]),
    ];
    for c in clicks {
        form_of(&e, c).await;
    }
    let stored = e.store().await.feedback(t.id).await.unwrap().unwrap();
    assert!([1, 3].contains(&stored.rating), "{stored:?}");
    assert_eq!(e.store().await.record_counts().await.unwrap().feedback, 1);
    eventually("one rating and one change in the log", WAIT, || async {
        (e.audit_entries(" rated").len() == 1 && e.audit_entries("rating changed").len() == 1)
            .then_some(())
    })
    .await;

    // The comment, sent from the DM with the second click's form: its rating is kept.
    let form_id = format!("{COMMENT_FORM}{}:3", t.id);
    let sent = e
        .fake
        .submit_modal(
            &user,
            &[],
            dm,
            &form_id,
            &[("comment", "  quick and kind  ")],
        )
        .expect("the form is open");
    let reply = e.fake.wait_for_reply(sent, WAIT).await.unwrap();
    assert!(
        reply.text().starts_with("Thanks for your feedback"),
        "{}",
        reply.text()
    );
    let stored = e.store().await.feedback(t.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.rating, stored.comment.as_deref()),
        (3, Some("quick and kind"))
    );
    eventually("the comment in the log", WAIT, || async {
        e.audit_entries("quick and kind").first().cloned()
    })
    .await;

    // A creator whose DMs are closed is asked in the channel instead.
    let id = e.slash(ids::STAFF, channel, "reopen", &[]);
    e.reply_text(id).await;
    e.fake.close_dms(ids::ALICE);
    close(&e, channel).await;
    let (m, _) = eventually("the question in the channel", WAIT, || async {
        question(e.fake.messages(channel))
    })
    .await;
    assert_eq!(m.content, format!("<@{}>", ids::ALICE));
}
