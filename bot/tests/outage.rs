//! The database goes away mid-run (its server killed) and comes back: every interaction
//! meanwhile is answered within Discord's 3 s and says the database is unavailable, nothing is
//! half-made (no channel without its row), and the bot works again without a restart. On a
//! MariaDB and a MongoDB-wire server of the test's own (the shared ones must stay up).

mod support;

use std::time::{Duration, Instant};

use fakecord::{ids, Config, FakeUser};
use support::servers::{PrivateServer, ServerKind};
use support::*;
use ticketbot_common::config::{DbConfig, MongoConfig, MysqlConfig, Secret};
use ticketbot_common::store::Backend;
use ticketbot_common::TicketStatus;

const UNAVAILABLE: &str = "I can't reach the ticket database right now";

async fn outage(kind: ServerKind) {
    let mut server = PrivateServer::start_new(kind).await;
    let backend = match kind {
        ServerKind::Mariadb => Backend::Mysql,
        ServerKind::Mongo => Backend::Mongodb,
    };
    let mut db = TestDb::new(backend);
    db.config = match kind {
        ServerKind::Mariadb => DbConfig::Mysql(MysqlConfig {
            host: "127.0.0.1".into(),
            port: server.port,
            user: "root".into(),
            password: Secret::new(String::new()),
            database: db.name.clone(),
        }),
        ServerKind::Mongo => DbConfig::Mongo(MongoConfig {
            uri: Secret::new(format!("mongodb://127.0.0.1:{}", server.port)),
            database: db.name.clone(),
        }),
    };
    let e = E2e::start_on(db, Config::default(), &[]).await;
    let panel = e.post_panel().await;
    let (alice_ticket, alice_channel) = e.open_ticket(panel, ids::ALICE).await;
    let welcome = e.welcome(alice_channel);
    let channels_before = e.fake.with_state(|st| st.channels.len());

    server.stop().await;
    let carol = 1_210_000_000_000_007_001;
    e.fake
        .add_member(&FakeUser::new(carol, "carol"), &[ids::MEMBER_ROLE]);
    let asked = Instant::now();
    let asks = [
        (
            "open",
            e.click(carol, ids::PANEL_CHANNEL, panel, OPEN_BUTTON),
        ),
        ("close", e.slash(ids::STAFF, alice_channel, "close", &[])),
        (
            "claim",
            e.click(ids::STAFF, alice_channel, welcome.id, CLAIM_BUTTON),
        ),
        ("info", e.slash(ids::STAFF, alice_channel, "info", &[])),
    ];
    // All four were sent at once; each must have its clear answer within Discord's 3 s.
    let ids: Vec<u64> = asks.iter().map(|(_, id)| *id).collect();
    let replies = e.replies(&ids, Duration::from_secs(3)).await;
    for ((what, _), reply) in asks.iter().zip(&replies) {
        let text = reply.text();
        assert!(text.starts_with(UNAVAILABLE), "{kind:?} {what}: {text}");
    }
    eprintln!(
        "{kind:?}: 4 answers while down within {:?}",
        asked.elapsed()
    );
    assert_eq!(
        e.fake.with_state(|st| st.channels.len()),
        channels_before,
        "{kind:?}: a channel was made while the database was down"
    );

    server.start().await;
    // Without a restart: the first click after the database is back works.
    let text = eventually("opening works again", Duration::from_secs(30), || async {
        let id = e.click(carol, ids::PANEL_CHANNEL, panel, OPEN_BUTTON);
        let text = e.reply_text(id).await;
        (!text.starts_with(UNAVAILABLE)).then_some(text)
    })
    .await;
    assert!(text.starts_with("Your ticket is open"), "{kind:?}: {text}");
    let id = e.slash(ids::STAFF, alice_channel, "close", &[]);
    assert_eq!(e.reply_text(id).await, "Ticket closed.");
    let store = e.store().await;
    assert_eq!(
        store.get(alice_ticket.id).await.unwrap().map(|t| t.status),
        Some(TicketStatus::Closed)
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_outage_is_answered_and_survived() {
    outage(ServerKind::Mariadb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_outage_is_answered_and_survived() {
    outage(ServerKind::Mongo).await;
}
