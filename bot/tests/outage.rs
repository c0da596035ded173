//! The database goes away mid-run and comes back: stopped as an operator stops it (SIGTERM, a
//! clean shutdown) or killed (SIGKILL, as a crash). Every interaction meanwhile is answered
//! within Discord's 3 s and says the database is unavailable, nothing is half-made (no channel
//! without its row, no row without its channel — also when the database goes away in the
//! middle of an opening), and the bot works again without a restart. On a MariaDB and a
//! MongoDB-wire server of the test's own (`support::servers`; the shared ones must stay up).

mod support;

use std::time::{Duration, Instant};

use fakecord::{ids, Config, FakeUser, FaultKind};
use support::servers::{PrivateServer, ServerKind};
use support::*;
use ticketbot_common::store::Backend;
use ticketbot_common::{Ticket, TicketStatus};

const UNAVAILABLE: &str = "I can't reach the ticket database right now";

/// The MariaDB password of these tests: the private server takes any (no grant tables), and
/// none of the bot's output may hold it.
const PASSWORD: &str = "Outage-Pw-5c1f0e9b";

/// A member who opens a ticket while the database is down.
const CAROL: u64 = 1_210_000_000_000_007_001;

#[derive(Debug, Clone, Copy)]
enum Down {
    /// SIGTERM: the server shuts down cleanly, closing every connection.
    Stopped,
    /// SIGKILL: the server vanishes mid-conversation.
    Killed,
}

async fn take_down(server: &mut PrivateServer, how: Down) {
    match how {
        Down::Stopped => server.stop().await,
        Down::Killed => server.kill().await,
    }
}

/// The bot on a fresh database of `server`, carol a member, the panel posted.
async fn bot_on(server: &PrivateServer) -> (E2e, u64) {
    let backend = match server.kind {
        ServerKind::Mariadb => Backend::Mysql,
        ServerKind::Mongo => Backend::Mongodb,
    };
    let mut db = TestDb::new(backend);
    db.config = server.db_config(&db.name, PASSWORD);
    let e = E2e::start_on(db, Config::default(), &[]).await;
    e.fake
        .add_member(&FakeUser::new(CAROL, "carol"), &[ids::MEMBER_ROLE]);
    let panel = e.post_panel().await;
    (e, panel)
}

async fn tickets_of(e: &E2e, user: u64) -> Vec<Ticket> {
    let store = e.store().await;
    all_tickets(store.as_ref())
        .await
        .into_iter()
        .filter(|t| t.creator_id == user)
        .collect()
}

/// Clicks Open for carol until the answer is not "unavailable" (the database coming back);
/// returns that answer and how long it took.
async fn open_when_back(e: &E2e, panel: u64) -> (String, Duration) {
    let since = Instant::now();
    let text = eventually("opening works again", Duration::from_secs(30), || async {
        let id = e.click(CAROL, ids::PANEL_CHANNEL, panel, OPEN_BUTTON);
        let text = e.reply_text(id).await;
        (!text.starts_with(UNAVAILABLE)).then_some(text)
    })
    .await;
    (text, since.elapsed())
}

/// Nothing the bot printed or logged holds the database password; the log says which database
/// was unavailable (its address, the password hidden) and why.
fn assert_logs_name_database_not_password(e: &E2e, server: &PrivateServer) {
    let mut texts = vec![("the bot's output".to_owned(), e.all_output())];
    texts.extend(
        files_under(&e.db.dir().join("logs"))
            .into_iter()
            .map(|(p, t)| (p.display().to_string(), t)),
    );
    for (name, text) in &texts {
        assert!(
            !text.contains(PASSWORD),
            "{name} contains the database password"
        );
    }
    let out = e.all_output();
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(" bot::") && l.contains("database") && l.contains("unavailable"))
        .collect();
    assert!(
        !lines.is_empty(),
        "no log line says the database is unavailable:\n{out}"
    );
    for line in lines {
        assert!(
            line.contains(&server.address()),
            "the log line does not name the database ({}): {line}",
            server.address()
        );
    }
}

async fn outage(kind: ServerKind, how: Down) {
    let mut server = PrivateServer::start_new(kind).await;
    let (e, panel) = bot_on(&server).await;
    let (alice_ticket, alice_channel) = e.open_ticket(panel, ids::ALICE).await;
    let welcome = e.welcome(alice_channel);
    let channels_before = e.fake.with_state(|st| st.channels.len());

    take_down(&mut server, how).await;
    let asked = Instant::now();
    let asks = [
        (
            "Open button",
            e.click(CAROL, ids::PANEL_CHANNEL, panel, OPEN_BUTTON),
        ),
        (
            "Close button",
            e.click(ids::STAFF, alice_channel, welcome.id, CLOSE_BUTTON),
        ),
        (
            "Claim button",
            e.click(ids::STAFF, alice_channel, welcome.id, CLAIM_BUTTON),
        ),
        (
            "/ticket info",
            e.slash(ids::STAFF, alice_channel, "info", &[]),
        ),
        (
            "/ticket close",
            e.slash(ids::STAFF, alice_channel, "close", &[]),
        ),
    ];
    // All sent at once. fakecord holds each to Discord's 3 s for its first response (a
    // deferral counts); the answer itself, the follow-up, must come within 3 s too.
    let interactions: Vec<u64> = asks.iter().map(|(_, id)| *id).collect();
    let replies = e.replies(&interactions, Duration::from_secs(3)).await;
    let answered = asked.elapsed();
    for ((what, _), reply) in asks.iter().zip(&replies) {
        let text = reply.text();
        assert!(
            text.starts_with(UNAVAILABLE) && text.contains("try again"),
            "{kind:?} {how:?} {what}: {text}"
        );
    }
    assert_eq!(
        e.fake.with_state(|st| st.channels.len()),
        channels_before,
        "{kind:?} {how:?}: a channel was made or deleted while the database was down"
    );

    server.start().await;
    // Nothing was written meanwhile: alice's ticket as it was, no ticket of carol's.
    let alice = e.ticket(alice_ticket.id).await.expect("alice's ticket");
    assert_eq!(alice.status, TicketStatus::Open, "{kind:?} {how:?}");
    assert_eq!(alice.claimed_by, None, "{kind:?} {how:?}");
    assert!(tickets_of(&e, CAROL).await.is_empty(), "{kind:?} {how:?}");
    // Without a restart: opening and closing work again.
    let (text, back) = open_when_back(&e, panel).await;
    assert!(
        text.starts_with("Your ticket is open"),
        "{kind:?} {how:?}: {text}"
    );
    let id = e.click(ids::STAFF, alice_channel, welcome.id, CLOSE_BUTTON);
    assert_eq!(e.reply_text(id).await, "Ticket closed.", "{kind:?} {how:?}");
    assert_eq!(
        e.ticket(alice_ticket.id).await.map(|t| t.status),
        Some(TicketStatus::Closed)
    );
    eprintln!(
        "{kind:?} {how:?}: 5 interactions answered within {answered:?} while down; opening worked {back:?} after the server was back"
    );
    assert_logs_name_database_not_password(&e, &server);
    e.finish().await;
}

/// The database goes away after the row of an opening is written, while Discord is making its
/// channel: the channel is deleted again, the user is told, and the row goes as soon as the
/// database is back (not minutes later), so that the user can open a ticket at once.
async fn outage_mid_open(kind: ServerKind) {
    let mut server = PrivateServer::start_new(kind).await;
    let (e, panel) = bot_on(&server).await;
    let channels_before = e.fake.with_state(|st| st.channels.len());
    e.fake.fail_next(
        "POST /guilds/*/channels",
        FaultKind::Delay(Duration::from_millis(2500)),
    );
    let click = e.click(CAROL, ids::PANEL_CHANNEL, panel, OPEN_BUTTON);
    eventually("carol's ticket row", WAIT, || async {
        (!tickets_of(&e, CAROL).await.is_empty()).then_some(())
    })
    .await;
    server.kill().await;
    let text = e.reply_text(click).await;
    assert!(text.starts_with(UNAVAILABLE), "{kind:?}: {text}");
    assert_eq!(
        e.fake.with_state(|st| st.channels.len()),
        channels_before,
        "{kind:?}: the channel made for the unrecorded ticket is still there"
    );

    server.start().await;
    let (text, back) = open_when_back(&e, panel).await;
    assert!(text.starts_with("Your ticket is open"), "{kind:?}: {text}");
    let carols = tickets_of(&e, CAROL).await;
    assert_eq!(carols.len(), 1, "{kind:?}: {carols:?}");
    assert!(carols[0].channel_id.is_some(), "{kind:?}: {carols:?}");
    eprintln!("{kind:?}: opening worked {back:?} after the server was back");
    assert_logs_name_database_not_password(&e, &server);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_stopped_is_answered_and_survived() {
    outage(ServerKind::Mariadb, Down::Stopped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_killed_is_answered_and_survived() {
    outage(ServerKind::Mariadb, Down::Killed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_stopped_is_answered_and_survived() {
    outage(ServerKind::Mongo, Down::Stopped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_killed_is_answered_and_survived() {
    outage(ServerKind::Mongo, Down::Killed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_lost_mid_open_leaves_nothing_half_made() {
    outage_mid_open(ServerKind::Mariadb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_lost_mid_open_leaves_nothing_half_made() {
    outage_mid_open(ServerKind::Mongo).await;
}

/// The server freezes (SIGSTOP: its connections stay open but nothing answers, as when the
/// network to it is cut), then thaws. Every interaction is still answered, within Discord's 3 s
/// for the first response and within 10 s with the answer (MariaDB: 2 s, the pool's wait;
/// MongoDB: about 7 s, the driver noticing the silent server). An opening whose row the server
/// took just before it froze is discarded once it thaws: carol can open a ticket at once.
async fn frozen(kind: ServerKind) {
    let server = PrivateServer::start_new(kind).await;
    let (e, panel) = bot_on(&server).await;
    let (alice_ticket, alice_channel) = e.open_ticket(panel, ids::ALICE).await;
    let welcome = e.welcome(alice_channel);
    let channels_before = e.fake.with_state(|st| st.channels.len());

    server.pause().await;
    let asked = Instant::now();
    let asks = [
        e.click(CAROL, ids::PANEL_CHANNEL, panel, OPEN_BUTTON),
        e.click(ids::STAFF, alice_channel, welcome.id, CLAIM_BUTTON),
        e.slash(ids::STAFF, alice_channel, "info", &[]),
    ];
    let replies = e.replies(&asks, Duration::from_secs(10)).await;
    let answered = asked.elapsed();
    for reply in &replies {
        let text = reply.text();
        assert!(text.starts_with(UNAVAILABLE), "{kind:?} frozen: {text}");
    }
    assert_eq!(
        e.fake.with_state(|st| st.channels.len()),
        channels_before,
        "{kind:?}: a channel was made or deleted while the database was frozen"
    );

    server.resume().await;
    let (text, back) = open_when_back(&e, panel).await;
    assert!(text.starts_with("Your ticket is open"), "{kind:?}: {text}");
    let carols = tickets_of(&e, CAROL).await;
    assert_eq!(carols.len(), 1, "{kind:?}: {carols:?}");
    assert_eq!(
        e.ticket(alice_ticket.id).await.map(|t| t.claimed_by),
        Some(None)
    );
    eprintln!(
        "{kind:?} frozen: 3 interactions answered within {answered:?}; opening worked {back:?} after it thawed"
    );
    assert_logs_name_database_not_password(&e, &server);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_frozen_is_answered_and_survived() {
    frozen(ServerKind::Mariadb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_frozen_is_answered_and_survived() {
    frozen(ServerKind::Mongo).await;
}
