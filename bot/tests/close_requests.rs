//! `/ticket close-request`: the real bot against fakecord. The creator accepts (the ticket
//! closes with the reason), denies (it stays open, staff are told), or does not answer (it
//! closes at the deadline, also when the bot was down at that moment).

mod support;

use std::time::Duration;

use fakecord::{ids, Message, OptionValue};
use support::*;
use ticketbot_common::store::Backend;
use ticketbot_common::TicketStatus;

const ACCEPT: &str = "ticketbot:close-accept:";
const DENY: &str = "ticketbot:close-deny:";

/// The newest close request message in the channel, and its Accept and Deny ids.
fn question(e: &E2e, channel: u64) -> (Message, String, String) {
    let m = e
        .fake
        .messages(channel)
        .into_iter()
        .rev()
        .find(|m| m.custom_ids().iter().any(|c| c.starts_with(ACCEPT)))
        .expect("a close request in the channel");
    let ids = m.custom_ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids[1].starts_with(DENY), "{ids:?}");
    let (accept, deny) = (ids[0].clone(), ids[1].clone());
    (m, accept, deny)
}

fn request(e: &E2e, channel: u64, reason: Option<&str>, delay: Option<&str>) -> u64 {
    let mut opts: Vec<(&str, OptionValue)> = Vec::new();
    if let Some(r) = reason {
        opts.push(("reason", r.into()));
    }
    if let Some(d) = delay {
        opts.push(("delay", d.into()));
    }
    e.slash(ids::STAFF, channel, "close-request", &opts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_creator_accepts_or_denies_a_close_request() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;

    // Bad delays are refused with what to write instead; nothing is asked.
    let id = request(&e, channel, None, Some("soon"));
    assert!(
        e.reply_text(id)
            .await
            .contains("write a number with a unit"),
        "a bad delay"
    );
    let id = request(&e, channel, None, Some("40d"));
    assert_eq!(
        e.reply_text(id).await,
        "The delay can be at most 30d; write a shorter one."
    );
    // Only staff may ask.
    let id = e.slash(ids::ALICE, channel, "close-request", &[]);
    assert!(e.reply_text(id).await.starts_with("Only support staff"));
    assert!(e.store().await.close_request(t.id).await.unwrap().is_none());

    // Asked with a hostile reason: the creator is pinged, the reason shown as sent.
    let hostile = "<@&1> @everyone **bold** `code` </script><img src=x>";
    let id = request(&e, channel, Some(hostile), Some("2h"));
    let reply = e.reply_text(id).await;
    assert!(
        reply.starts_with(&format!("Close request sent to <@{}>.", ids::ALICE)),
        "{reply}"
    );
    let (m, accept, deny) = question(&e, channel);
    assert_eq!(m.content, format!("<@{}>", ids::ALICE));
    assert!(m.text().contains(hostile), "{}", m.text());
    let stored = e.store().await.close_request(t.id).await.unwrap().unwrap();
    assert_eq!(stored.reason.as_deref(), Some(hostile));
    assert_eq!(stored.requested_by, ids::STAFF);
    let delay = stored.deadline - stored.requested_at;
    assert_eq!(delay, chrono::Duration::hours(2));
    assert_eq!(e.audit_entries("close requested").len(), 1);
    let id = e.slash(ids::STAFF, channel, "info", &[]);
    assert!(e.reply_text(id).await.contains("Close requested"));

    // Only the creator answers.
    let id = e.click(ids::BOB, channel, m.id, &accept);
    assert_eq!(
        e.reply_text(id).await,
        format!(
            "Only <@{}>, who opened this ticket, can answer this close request.",
            ids::ALICE
        )
    );
    let id = e.click(ids::STAFF, channel, m.id, &deny);
    assert!(e.reply_text(id).await.starts_with("Only <@"));

    // Deny: open, staff told (the requester pinged), the request gone, its buttons dead.
    let id = e.click(ids::ALICE, channel, m.id, &deny);
    assert_eq!(
        e.reply_text(id).await,
        "The ticket stays open; the support team has been told."
    );
    assert_eq!(e.ticket(t.id).await.unwrap().status, TicketStatus::Open);
    let told = e
        .fake
        .messages(channel)
        .into_iter()
        .find(|m| m.text().contains("denied the close request"))
        .expect("staff told of the denial");
    assert_eq!(told.content, format!("<@{}>", ids::STAFF));
    assert_eq!(e.audit_entries("close request denied").len(), 1);
    assert!(e.store().await.close_request(t.id).await.unwrap().is_none());
    let answered = e.fake.message(m.id).expect("the question stays");
    assert!(answered.custom_ids().is_empty(), "answered: no buttons");
    assert!(answered.text().contains(hostile), "{}", answered.text());
    // A click that raced the buttons' removal.
    let id = e.click(ids::ALICE, channel, m.id, &accept);
    assert_eq!(
        e.reply_text(id).await,
        "This close request has already been answered or replaced."
    );
    assert_eq!(e.ticket(t.id).await.unwrap().status, TicketStatus::Open);

    // Asked again; a double click on Accept closes once, with the reason, by the requester.
    let id = request(&e, channel, Some("fixed in 2.1"), None);
    e.reply_text(id).await;
    let (m, accept, _) = question(&e, channel);
    let stored = e.store().await.close_request(t.id).await.unwrap().unwrap();
    assert_eq!(
        stored.deadline - stored.requested_at,
        chrono::Duration::hours(24),
        "the default delay"
    );
    let clicks = [
        e.click(ids::ALICE, channel, m.id, &accept),
        e.click(ids::ALICE, channel, m.id, &accept),
    ];
    let mut answers: Vec<String> = e
        .replies(&clicks, Duration::from_secs(10))
        .await
        .iter()
        .map(Message::text)
        .collect();
    answers.sort();
    assert_eq!(
        answers,
        [
            "Thanks! The ticket is closed.",
            "This close request has already been answered or replaced."
        ]
    );
    assert!(e.fake.message(m.id).unwrap().custom_ids().is_empty());
    let row = e.ticket(t.id).await.unwrap();
    assert_eq!(row.status, TicketStatus::Closed);
    assert_eq!(row.closed_by, Some(ids::STAFF));
    assert_eq!(row.close_reason.as_deref(), Some("fixed in 2.1"));
    let notices: Vec<Message> = e
        .fake
        .messages(channel)
        .into_iter()
        .filter(|m| m.text().contains("accepted the close request"))
        .collect();
    assert_eq!(notices.len(), 1, "one close notice");
    assert!(notices[0].text().contains("Reason: fixed in 2.1"));
    assert_eq!(
        e.audit_entries(&format!("Ticket {} closed", t.short_id()))
            .len(),
        1
    );
    assert!(e.store().await.close_request(t.id).await.unwrap().is_none());
    // A closed ticket cannot be asked again.
    let id = request(&e, channel, None, None);
    assert_eq!(e.reply_text(id).await, "This ticket is already closed");
    e.finish().await;
}

async fn an_unanswered_request_closes_at_its_deadline_across_a_restart(backend: Backend) {
    let mut e = E2e::start(backend).await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    let (kept, kept_channel) = e.open_ticket(panel, ids::BOB).await;
    let (closed_meanwhile, closed_channel) = e.open_ticket(panel, ids::OWNER).await;

    let id = request(&e, channel, Some("no reply since Monday"), Some("4s"));
    e.reply_text(id).await;
    let id = request(&e, kept_channel, None, Some("1h"));
    e.reply_text(id).await;
    // A request overtaken by a close and a reopen does not close the ticket later.
    let id = request(&e, closed_channel, None, Some("4s"));
    e.reply_text(id).await;
    let id = e.slash(ids::STAFF, closed_channel, "close", &[]);
    assert_eq!(e.reply_text(id).await, "Ticket closed.");
    let id = e.slash(ids::STAFF, closed_channel, "reopen", &[]);
    assert_eq!(e.reply_text(id).await, "Ticket reopened.");

    // The bot is down when the deadline passes; the next start closes the ticket.
    e.stop_bot().await;
    e.kill_bot().await; // already stopped: this only lets the next run start
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(e.ticket(t.id).await.unwrap().status, TicketStatus::Open);
    e.launch().await;
    let store = e.store().await;
    eventually(
        "the unanswered ticket closed",
        Duration::from_secs(30),
        || {
            let store = store.clone();
            async move {
                let row = store.get(t.id).await.ok()??;
                (row.status == TicketStatus::Closed).then_some(())
            }
        },
    )
    .await;
    let row = e.ticket(t.id).await.unwrap();
    assert_eq!(row.closed_by, Some(ids::STAFF));
    assert_eq!(row.close_reason.as_deref(), Some("no reply since Monday"));
    eventually("the request removed", Duration::from_secs(10), || {
        let store = store.clone();
        async move {
            store
                .close_request(t.id)
                .await
                .ok()?
                .is_none()
                .then_some(())
        }
    })
    .await;
    let notice = e
        .fake
        .messages(channel)
        .into_iter()
        .find(|m| {
            m.text()
                .contains("no answer to the close request within 4s")
        })
        .expect("the close notice");
    assert!(notice.text().contains("Reason: no reply since Monday"));
    let ch = e.fake.channel(channel).unwrap();
    assert_eq!(
        ch.parent_id,
        Some(ids::CLOSED_CATEGORY),
        "moved like any close"
    );

    // The others: still open, the long request still waiting.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(e.ticket(kept.id).await.unwrap().status, TicketStatus::Open);
    assert!(store.close_request(kept.id).await.unwrap().is_some());
    assert_eq!(
        e.ticket(closed_meanwhile.id).await.unwrap().status,
        TicketStatus::Open
    );
    assert!(store
        .close_request(closed_meanwhile.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        e.audit_entries(&format!("Ticket {} closed", t.short_id()))
            .len(),
        1
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_unanswered_request_closes_at_its_deadline_across_a_restart() {
    an_unanswered_request_closes_at_its_deadline_across_a_restart(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_an_unanswered_request_closes_at_its_deadline_across_a_restart() {
    an_unanswered_request_closes_at_its_deadline_across_a_restart(Backend::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_an_unanswered_request_closes_at_its_deadline_across_a_restart() {
    an_unanswered_request_closes_at_its_deadline_across_a_restart(Backend::Mongodb).await;
}

/// Auto-close with two bot processes on one MariaDB: a silent ticket gets one warning and is
/// closed once; a message cancels the warning (the ticket is warned again after a new
/// silence); a ticket with a staff close request is left to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_close_warns_once_cancels_on_a_message_and_closes_once_with_two_processes() {
    let e = E2e::start_with(
        Backend::Mysql,
        fakecord::Config::default(),
        &[("AUTO_CLOSE_AFTER", "3s"), ("AUTO_CLOSE_WARNING", "4s")],
    )
    .await;
    let identified = e.fake.with_state(|st| st.gateway.identifies);
    let mut second = BotProcess::spawn(e.db.dir(), &e.bot_env(), "bot-second.out");
    e.fake
        .wait_until(|st| st.gateway.identifies > identified, WAIT)
        .await
        .expect("the second process connects");
    let panel = e.post_panel().await;
    let (silent, silent_channel) = e.open_ticket(panel, ids::ALICE).await;
    let (talked, talked_channel) = e.open_ticket(panel, ids::BOB).await;
    let (requested, requested_channel) = e.open_ticket(panel, ids::OWNER).await;
    let id = request(&e, requested_channel, None, Some("1h"));
    e.reply_text(id).await;

    let warnings = |channel: u64| -> Vec<Message> {
        e.fake
            .messages(channel)
            .into_iter()
            .filter(|m| m.text().contains("No messages here for 3s"))
            .collect()
    };
    eventually(
        "both silent tickets warned",
        Duration::from_secs(20),
        || async {
            (!warnings(silent_channel).is_empty() && !warnings(talked_channel).is_empty())
                .then_some(())
        },
    )
    .await;
    let warning = warnings(silent_channel).remove(0);
    assert_eq!(
        warning.content,
        format!("<@{}>", ids::ALICE),
        "the creator pinged"
    );
    assert!(warning.text().contains("closes <t:"), "{}", warning.text());

    // Bob answers: his ticket's warning is cancelled.
    let bob = e.user(ids::BOB);
    let answered_at = chrono::Utc::now();
    e.fake
        .post_user_message(&bob, talked_channel, "still here!");
    let store = e.store().await;
    eventually("the warning cancelled", Duration::from_secs(10), || {
        let store = store.clone();
        async move {
            store
                .close_request(talked.id)
                .await
                .ok()?
                .is_none()
                .then_some(())
        }
    })
    .await;
    // The notice follows the row's change.
    eventually("the cancel notice", WAIT, || async {
        e.fake
            .messages(talked_channel)
            .iter()
            .any(|m| m.text().contains("Auto-close cancelled"))
            .then_some(())
    })
    .await;

    // Alice's closes once the warning's 4 s are over, by the bot, with the reason.
    eventually("the silent ticket closed", Duration::from_secs(20), || {
        let store = store.clone();
        async move {
            let t = store.get(silent.id).await.ok()??;
            (t.status == TicketStatus::Closed).then_some(())
        }
    })
    .await;
    let row = e.ticket(silent.id).await.unwrap();
    assert_eq!(row.closed_by, None, "closed by the bot, not a person");
    assert_eq!(row.close_reason.as_deref(), Some("no messages for 3s"));
    let closed_notices = |channel: u64| {
        e.fake
            .messages(channel)
            .into_iter()
            .filter(|m| m.text().contains("Ticket closed automatically"))
            .count()
    };
    // The notice follows the row's close (the channel is moved first).
    eventually("the close notice", Duration::from_secs(10), || async {
        (closed_notices(silent_channel) > 0).then_some(())
    })
    .await;
    assert_eq!(closed_notices(silent_channel), 1);
    assert_eq!(
        e.fake.channel(silent_channel).unwrap().parent_id,
        Some(ids::CLOSED_CATEGORY)
    );

    // Bob's is warned again after a new silence, then closed: not before 3 s + 4 s after his
    // message.
    eventually(
        "the answered ticket closed later",
        Duration::from_secs(30),
        || {
            let store = store.clone();
            async move {
                let t = store.get(talked.id).await.ok()??;
                (t.status == TicketStatus::Closed).then_some(t)
            }
        },
    )
    .await;
    let row = e.ticket(talked.id).await.unwrap();
    let closed_at = row.closed_at.unwrap();
    assert!(
        closed_at - answered_at >= chrono::Duration::seconds(6),
        "closed {} after the message",
        closed_at - answered_at
    );
    assert_eq!(warnings(talked_channel).len(), 2);
    eventually(
        "the second close notice",
        Duration::from_secs(10),
        || async { (closed_notices(talked_channel) > 0).then_some(()) },
    )
    .await;
    assert_eq!(closed_notices(talked_channel), 1);

    // Two processes, one warning and one close each.
    assert_eq!(warnings(silent_channel).len(), 1);
    for t in [&silent, &talked] {
        let entry = format!("Ticket {} closed", t.short_id());
        eventually("the log entry", Duration::from_secs(10), || async {
            (!e.audit_entries(&entry).is_empty()).then_some(())
        })
        .await;
        assert_eq!(e.audit_entries(&entry).len(), 1);
    }
    // A reopen starts the silence afresh (else a reopened ticket would be warned at once).
    let before_reopen = chrono::Utc::now();
    let id = e.slash(ids::STAFF, silent_channel, "reopen", &[]);
    assert_eq!(e.reply_text(id).await, "Ticket reopened.");
    let last = store.last_activity(silent.id).await.unwrap();
    assert!(last.is_some_and(|t| t >= before_reopen), "{last:?}");

    // The ticket with a staff request: no warning, still open.
    assert!(warnings(requested_channel).is_empty());
    assert_eq!(
        e.ticket(requested.id).await.unwrap().status,
        TicketStatus::Open
    );

    second.signal(libc::SIGTERM);
    assert!(second
        .wait_exit(Duration::from_secs(10))
        .await
        .is_some_and(|s| s.success()));
    e.finish().await;
}
