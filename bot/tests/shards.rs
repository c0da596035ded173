//! Two real bot processes, shards 0 and 1 of 2, on one MariaDB and (another test) one MongoDB,
//! against one fakecord that routes the guild to its shard, `(guild_id >> 22) % 2`, as Discord
//! does. Bursts of clicks, a claim raced by two staff, the guild's process killed mid-burst and
//! started again: no duplicate, no lost ticket; the repair and the channel work act once (only
//! the guild's shard touches the guild); both processes show in the heartbeats `ticketctl
//! status` lists.

mod support;

use std::time::Duration;

use fakecord::{ids, Config, FakeUser};
use support::*;
use ticketbot_common::store::Backend;

const USERS: u64 = 24;
const USER_BASE: u64 = 1_210_000_000_000_006_000;

fn user(i: u64) -> u64 {
    USER_BASE + i
}

async fn two_processes(backend: Backend) {
    let owner = ((ids::GUILD >> 22) % 2) as u32;
    let idle = 1 - owner;
    let config = Config {
        shards: 2,
        ..Config::default()
    };
    let owner_id = owner.to_string();
    let mut e = E2e::start_with(
        backend,
        config,
        &[("SHARD_ID", owner_id.as_str()), ("SHARD_COUNT", "2")],
    )
    .await;
    // The other shard's process, on the same database and the same (fake) Discord.
    let mut env = e.bot_env();
    env.retain(|(k, _)| k != "SHARD_ID");
    env.push(("SHARD_ID".into(), idle.to_string()));
    let mut other = BotProcess::spawn(e.db.dir(), &env, "bot-other-shard.out");
    e.fake
        .wait_until(|st| st.gateway.idle_shards == 1, WAIT)
        .await
        .expect("the other shard's process connects");
    let identified = e.fake.with_state(|st| st.gateway.shards_identified.clone());
    assert!(
        identified.contains(&(owner, 2)) && identified.contains(&(idle, 2)),
        "{identified:?}"
    );

    for i in 0..USERS {
        e.fake.add_member(
            &FakeUser::new(user(i), &format!("s{i}")),
            &[ids::MEMBER_ROLE],
        );
    }
    let panel = e.post_panel().await;

    // A burst, every user clicking twice (a double click): one ticket each.
    let mut clicks = Vec::new();
    for i in 0..USERS / 2 {
        for _ in 0..2 {
            clicks.push(e.click(user(i), ids::PANEL_CHANNEL, panel, OPEN_BUTTON));
        }
    }
    e.replies(&clicks, WAIT).await;

    // Two staff claim one ticket at the same instant: exactly one wins.
    let store = e.store().await;
    let first = all_tickets(store.as_ref()).await;
    let t = &first[0];
    let channel = t.channel_id.expect("a channel");
    let welcome = e.welcome(channel);
    let staff2 = 1_210_000_000_000_006_900;
    e.fake
        .add_member(&FakeUser::new(staff2, "staff2"), &[ids::SUPPORT_ROLE]);
    let a = e.click(ids::STAFF, channel, welcome.id, CLAIM_BUTTON);
    let b = e.click(staff2, channel, welcome.id, CLAIM_BUTTON);
    let texts: Vec<String> = e
        .replies(&[a, b], WAIT)
        .await
        .iter()
        .map(|m| m.text())
        .collect();
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.as_str() == "You claimed this ticket.")
            .count(),
        1,
        "{texts:?}"
    );

    // The guild's process is killed in the middle of a second burst, then started again.
    let mut second = Vec::new();
    for i in USERS / 2..USERS {
        second.push(e.click(user(i), ids::PANEL_CHANNEL, panel, OPEN_BUTTON));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    e.kill_bot().await;
    e.launch().await;
    // Whoever got no answer clicks again.
    let answered: Vec<bool> = second
        .iter()
        .map(|id| {
            e.fake.with_state(|st| {
                st.replies(*id)
                    .iter()
                    .any(|m| m.flags & fakecord::LOADING == 0)
            })
        })
        .collect();
    let mut again = Vec::new();
    for (k, done) in answered.iter().enumerate() {
        if !done {
            let i = USERS / 2 + k as u64;
            again.push(e.click(user(i), ids::PANEL_CHANNEL, panel, OPEN_BUTTON));
        }
    }
    e.replies(&again, WAIT).await;
    e.wait_for_log("guild checked").await;

    // No duplicate, no lost ticket: one open ticket per user, each with its live channel.
    let tickets = all_tickets(store.as_ref()).await;
    for i in 0..USERS {
        let mine: Vec<_> = tickets.iter().filter(|t| t.creator_id == user(i)).collect();
        assert!(mine.len() <= 1, "user {i} has {} tickets", mine.len());
        if i < USERS / 2 {
            assert_eq!(mine.len(), 1, "user {i} lost their ticket");
        }
    }
    // Heartbeats: both processes, with their shards (what `ticketctl status` lists).
    eventually("both heartbeats", WAIT, || {
        let store = store.clone();
        async move {
            let beats = store
                .heartbeats_since(chrono::Utc::now() - chrono::Duration::minutes(2))
                .await
                .ok()?;
            let shown: Vec<String> = beats.iter().map(|b| b.details.clone()).collect();
            (shown
                .iter()
                .any(|d| d.ends_with(&format!("shard {owner}/2")))
                && shown
                    .iter()
                    .any(|d| d.ends_with(&format!("shard {idle}/2"))))
            .then_some(())
        }
    })
    .await;

    // Only the guild's shard repaired and brought channels up to date: the other process
    // never touched the guild.
    let other_out = other.output_text();
    for never in [
        "guild checked",
        "repair:",
        "deleted channel",
        "not up to date",
    ] {
        assert!(
            !other_out.contains(never),
            "the idle shard's process did {never:?}:\n{other_out}"
        );
    }
    assert!(
        other_out.contains(&format!("starting shard {idle}/2")),
        "{other_out}"
    );
    // One repair pass per start of the guild's process (started twice), never two at once.
    let passes = e.all_output().matches("guild checked").count();
    assert_eq!(passes, 2, "repair passes");

    other.signal(libc::SIGTERM);
    let status = other.wait_exit(Duration::from_secs(10)).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    e.finish_with(Checks {
        allow_unanswered: true,
        ..Checks::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shard_processes_on_one_mariadb() {
    two_processes(Backend::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shard_processes_on_one_mongodb() {
    two_processes(Backend::Mongodb).await;
}
