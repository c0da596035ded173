//! Two real bot processes, shards 0 and 1 of 2, on one MariaDB and (other tests) one MongoDB,
//! against one fakecord that routes each guild to its shard, `(guild_id >> 22) % 2`, as Discord
//! does.
//!
//! `two_shard_processes_on_one_*`: one guild, so one process holds it and the other idles.
//! `two_guilds_two_processes_on_one_*`: two guilds, one per shard, each process serving its
//! own; leftovers of an earlier crash repaired at start, bursts of double clicks in both
//! guilds at once, claims raced in both guilds at once, `ticketctl force-close` caught up by
//! the channel work, and guild 2's process SIGKILLed mid-burst and restarted while guild 1's
//! goes on. Then: no duplicate, no lost ticket; each repair and each catch-up done once, by
//! the guild's own process; no process touched the other's guild; `ticketctl status` lists
//! both live processes with their shards. These wait out the repair's 2-minute grace for what
//! the kill left half-made, so they take about 2.5 minutes.

mod support;

use std::time::Duration;

use fakecord::{ids, ids2, Config, FakeUser, FaultKind};
use support::shards::Cluster;
use support::*;
use ticketbot_common::store::{Backend, CreateOutcome};
use ticketbot_common::ticket::short_id_from_channel_name;
use ticketbot_common::TicketStatus;
use uuid::Uuid;

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

// ----- two guilds, one per shard -----

/// Members of both guilds: who clicks in the first burst, and in the second.
const FIRST: u64 = 1_210_000_000_000_007_000;
const SECOND: u64 = 1_210_000_000_000_007_100;
const PER_BURST: u64 = 8;
/// Creators of the seeded leftovers of an earlier crash.
const LEFT_HALF: u64 = 1_210_000_000_000_007_900;
const LEFT_MADE: u64 = 1_210_000_000_000_007_901;
/// A second support-role member of guild 1 (guild 2's staff are its administrators).
const STAFF_B: u64 = 1_210_000_000_000_007_950;

const GUILDS: [u64; 2] = [ids::GUILD, ids2::GUILD];

fn panel_channel(guild: u64) -> u64 {
    if guild == ids::GUILD {
        ids::PANEL_CHANNEL
    } else {
        ids2::PANEL_CHANNEL
    }
}

fn staff(guild: u64) -> [u64; 2] {
    if guild == ids::GUILD {
        [ids::STAFF, STAFF_B]
    } else {
        [ids2::STAFF, ids2::STAFF2]
    }
}

/// Every ticket id written in a text.
fn uuids_in(text: &str) -> Vec<Uuid> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .filter(|w| w.len() == 36)
        .filter_map(|w| Uuid::parse_str(w).ok())
        .collect()
}

/// The channel a success reply links to.
fn opened(text: &str) -> Option<u64> {
    text.strip_prefix("Your ticket is open: ")
        .and_then(channel_mention)
}

async fn two_guilds(backend: Backend) {
    let config = Config {
        shards: 2,
        ..Config::default()
    }
    .with_second_guild();
    let mut c = Cluster::prepare(backend, config, 2, &[]).await;
    // The ids were picked so: guild 1 on shard 0, guild 2 on shard 1.
    assert_eq!(c.shard_of(ids::GUILD), 0);
    assert_eq!(c.shard_of(ids2::GUILD), 1);
    for u in (FIRST..FIRST + PER_BURST).chain(SECOND..SECOND + PER_BURST) {
        let user = FakeUser::new(u, &format!("m{}", u % 1000));
        c.fake.add_member(&user, &[ids::MEMBER_ROLE]);
        assert!(c
            .fake
            .add_member_in(ids2::GUILD, &user, &[ids2::MEMBER_ROLE]));
    }
    c.fake.add_member(
        &FakeUser::new(STAFF_B, "staffb"),
        &[ids::SUPPORT_ROLE, ids::MEMBER_ROLE],
    );

    // Leftovers of an earlier crash, older than the repair's grace, in each guild: a ticket
    // whose channel was never made, and one whose channel was made but not recorded.
    let store = c.store().await;
    let long_ago = chrono::Utc::now() - chrono::Duration::minutes(10);
    let mut guild_of: std::collections::HashMap<Uuid, u64> = Default::default();
    let mut seeded = Vec::new();
    for g in GUILDS {
        let mut made = Vec::new();
        for creator in [LEFT_HALF, LEFT_MADE] {
            match store.create_ticket(g, creator, 1, long_ago).await {
                Ok(CreateOutcome::Created(t)) => made.push(t),
                other => panic!("seeding a leftover: {other:?}"),
            }
        }
        let channel = c
            .fake
            .add_channel_in(g, &made[1].channel_name(), None)
            .expect("a known guild");
        for t in &made {
            guild_of.insert(t.id, g);
        }
        seeded.push((made[0].id, None));
        seeded.push((made[1].id, Some(channel)));
    }

    let t0 = std::time::Instant::now();
    c.launch_all().await;
    eprintln!("{:?}: both processes ready", t0.elapsed());
    // Each process repaired its own guild's leftovers at start.
    eventually("the leftovers repaired", WAIT, || {
        let store = store.clone();
        let seeded = seeded.clone();
        async move {
            for (id, channel) in seeded {
                let now = store.get(id).await.ok()?;
                match channel {
                    None if now.is_some() => return None,
                    Some(ch) if now.and_then(|t| t.channel_id) != Some(ch) => return None,
                    _ => {}
                }
            }
            Some(())
        }
    })
    .await;

    eprintln!("{:?}: leftovers repaired", t0.elapsed());
    let mut panels = Vec::new();
    for g in GUILDS {
        panels.push(c.post_panel(g, staff(g)[0], panel_channel(g)).await);
    }
    let panel = |g: u64| panels[usize::from(g != ids::GUILD)];

    // Burst 1: every member double-clicks Open in both guilds at once.
    let mut clicks = Vec::new();
    for u in FIRST..FIRST + PER_BURST {
        for _ in 0..2 {
            for g in GUILDS {
                clicks.push((g, u, c.click(g, u, panel_channel(g), panel(g), OPEN_BUTTON)));
            }
        }
    }
    let ids_only: Vec<u64> = clicks.iter().map(|(_, _, i)| *i).collect();
    let replies = c.replies(&ids_only).await;
    // `(guild, user, channel)` of every success reply.
    let mut successes: Vec<(u64, u64, u64)> = Vec::new();
    for ((g, u, _), reply) in clicks.iter().zip(&replies) {
        let text = reply.text();
        match opened(&text) {
            Some(ch) => successes.push((*g, *u, ch)),
            None => assert!(
                text.starts_with("You already have an open ticket: <#"),
                "user {u} in guild {g}: {text}"
            ),
        }
    }
    for g in GUILDS {
        for u in FIRST..FIRST + PER_BURST {
            let n = successes.iter().filter(|s| s.0 == g && s.1 == u).count();
            assert_eq!(
                n, 1,
                "user {u} in guild {g}: {n} tickets opened by a double click"
            );
        }
    }
    let channel_of = |g: u64, u: u64| {
        successes
            .iter()
            .find(|s| s.0 == g && s.1 == u)
            .map(|s| s.2)
            .expect("a ticket")
    };

    eprintln!("{:?}: burst 1 answered", t0.elapsed());
    // Claims raced by two staff at the same instant, in both guilds at once: one winner each.
    let mut welcomes = Vec::new();
    for g in GUILDS {
        let ch = channel_of(g, FIRST);
        let welcome = c
            .fake
            .wait_for(
                |st| {
                    st.channel_messages(ch)
                        .into_iter()
                        .find(|m| m.custom_ids() == [CLOSE_BUTTON, CLAIM_BUTTON])
                        .map(|m| m.id)
                },
                WAIT,
            )
            .await
            .expect("the welcome");
        welcomes.push((g, ch, welcome));
    }
    let mut claims = Vec::new();
    for (g, ch, welcome) in &welcomes {
        for s in staff(*g) {
            claims.push((*g, c.click(*g, s, *ch, *welcome, CLAIM_BUTTON)));
        }
    }
    let ids_only: Vec<u64> = claims.iter().map(|(_, i)| *i).collect();
    let replies = c.replies(&ids_only).await;
    for (g, ch, _) in &welcomes {
        let won = claims
            .iter()
            .zip(&replies)
            .filter(|((guild, _), r)| guild == g && r.text() == "You claimed this ticket.")
            .count();
        assert_eq!(won, 1, "claims in guild {g}: {replies:?}");
        let t = store
            .get_by_channel(*ch)
            .await
            .expect("get")
            .expect("the row");
        assert!(
            t.claimed_by.is_some_and(|by| staff(*g).contains(&by)),
            "{t:?}"
        );
    }

    // Catch-up: `ticketctl force-close` in both guilds. Discord refuses the first two tries
    // to lock each channel, so the work stays pending across several passes of both
    // processes' channel work: only the guild's own process may try (the other would say so
    // in its output, checked below), and the channel is locked with one successful request.
    let mut forced = Vec::new();
    for g in GUILDS {
        let ch = channel_of(g, FIRST + 1);
        let t = store.get_by_channel(ch).await.expect("get").expect("row");
        let lock = format!("PUT /channels/{ch}/permissions/{}", t.creator_id);
        c.fake.fail_next_n(lock.as_str(), 2, FaultKind::Status(500));
        let out = c.ticketctl(&["force-close", &t.id.to_string()]);
        assert!(
            out.status.success(),
            "ticketctl force-close: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        forced.push((g, t.id, lock, t.creator_id, ch));
    }
    for (_, _, _, creator, ch) in &forced {
        c.fake
            .wait_until(
                |st| st.permissions_in(*creator, *ch) & fakecord::perms::SEND_MESSAGES == 0,
                Duration::from_secs(60),
            )
            .await
            .expect("the channel locked by the channel work");
    }
    eventually("no channel work left", WAIT, || {
        let store = store.clone();
        async move {
            store
                .channels_to_sync(10)
                .await
                .ok()?
                .is_empty()
                .then_some(())
        }
    })
    .await;
    for (g, id, lock, _, _) in &forced {
        let tries = c.fake.requests_to(lock.as_str());
        let ok = tries
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .count();
        assert_eq!(
            (tries.len(), ok),
            (3, 1),
            "the lock of ticket {id}: {tries:?}"
        );
        let retried = c
            .output(c.shard_of(*g))
            .lines()
            .filter(|l| l.contains("not up to date yet") && l.contains(&id.to_string()))
            .count();
        assert_eq!(
            retried, 2,
            "ticket {id}'s catch-up retried by its guild's process"
        );
    }
    eprintln!("{:?}: claims and catch-up checked", t0.elapsed());
    // Burst 2; guild 2's process is killed in the middle of it (its channels are slow to
    // make, so the kill finds openings half-way), while guild 1's process goes on.
    let creates2 = format!("POST /guilds/{}/channels", ids2::GUILD);
    c.fake.fail_next_n(
        creates2.as_str(),
        PER_BURST as u32,
        FaultKind::Delay(Duration::from_millis(300)),
    );
    let before = c.fake.requests_to(creates2.as_str()).len();
    let mut second = Vec::new();
    for u in SECOND..SECOND + PER_BURST {
        for g in GUILDS {
            second.push((g, u, c.click(g, u, panel_channel(g), panel(g), OPEN_BUTTON)));
        }
    }
    c.fake
        .wait_until(
            |st| {
                let m = fakecord::RouteMatcher::parse(&creates2);
                st.requests
                    .iter()
                    .filter(|r| m.matches(&r.method, &r.path))
                    .count()
                    >= before + 2
            },
            WAIT,
        )
        .await
        .expect("guild 2's burst under way");
    c.kill(1).await;
    let guild1: Vec<u64> = second
        .iter()
        .filter(|s| s.0 == ids::GUILD)
        .map(|s| s.2)
        .collect();
    for ((_, u, _), reply) in second
        .iter()
        .filter(|s| s.0 == ids::GUILD)
        .zip(c.replies(&guild1).await)
    {
        let ch = opened(&reply.text()).unwrap_or_else(|| panic!("{u}: {}", reply.text()));
        successes.push((ids::GUILD, *u, ch));
    }
    c.fake.clear_faults();
    c.launch(1).await;
    // Whoever in guild 2 got no answer clicks again.
    let mut cut_off = Vec::new();
    let mut again = Vec::new();
    for (g, u, id) in second.iter().filter(|s| s.0 == ids2::GUILD) {
        if c.answered(*id) {
            let text = c
                .fake
                .replies(*id)
                .last()
                .map(|m| m.text())
                .unwrap_or_default();
            if let Some(ch) = opened(&text) {
                successes.push((*g, *u, ch));
            }
        } else {
            cut_off.push(*id);
            again.push((
                *g,
                *u,
                c.click(*g, *u, panel_channel(*g), panel(*g), OPEN_BUTTON),
            ));
        }
    }
    assert!(!cut_off.is_empty(), "the kill came after guild 2's burst");
    let ids_only: Vec<u64> = again.iter().map(|s| s.2).collect();
    for ((g, u, _), reply) in again.iter().zip(c.replies(&ids_only).await) {
        if let Some(ch) = opened(&reply.text()) {
            successes.push((*g, *u, ch));
        }
    }

    eprintln!(
        "{:?}: guild 2's process restarted, {} cut off",
        t0.elapsed(),
        cut_off.len()
    );
    // What the kill left half-made (a row without its channel, perhaps a channel without its
    // row) waits out the repair's grace, then the restarted process settles it.
    eventually(
        "every ticket with its channel, every ticket channel with its ticket",
        Duration::from_secs(200),
        || {
            let store = store.clone();
            let fake = &c.fake;
            async move {
                let tickets = all_tickets(store.as_ref()).await;
                let rows_ok = tickets.iter().all(|t| {
                    t.status != TicketStatus::Open
                        || t.channel_id.is_some_and(|ch| fake.channel(ch).is_some())
                });
                let channels_ok = fake.with_state(|st| {
                    st.channels
                        .values()
                        .filter(|ch| short_id_from_channel_name(&ch.name).is_some())
                        .all(|ch| tickets.iter().any(|t| t.channel_id == Some(ch.id)))
                });
                (rows_ok && channels_ok).then_some(())
            }
        },
    )
    .await;
    eprintln!("{:?}: half-made tickets settled", t0.elapsed());
    // Whoever was left without a ticket opens one now.
    let tickets = all_tickets(store.as_ref()).await;
    let mut last = Vec::new();
    for u in SECOND..SECOND + PER_BURST {
        let has = tickets
            .iter()
            .any(|t| t.guild_id == ids2::GUILD && t.creator_id == u && t.is_open());
        if !has {
            last.push((
                ids2::GUILD,
                u,
                c.click(
                    ids2::GUILD,
                    u,
                    ids2::PANEL_CHANNEL,
                    panel(ids2::GUILD),
                    OPEN_BUTTON,
                ),
            ));
        }
    }
    let ids_only: Vec<u64> = last.iter().map(|s| s.2).collect();
    for ((g, u, _), reply) in last.iter().zip(c.replies(&ids_only).await) {
        let ch = opened(&reply.text()).unwrap_or_else(|| panic!("{u}: {}", reply.text()));
        successes.push((*g, *u, ch));
    }

    // No duplicate, no lost ticket.
    let tickets = all_tickets(store.as_ref()).await;
    for g in GUILDS {
        for u in (FIRST..FIRST + PER_BURST).chain(SECOND..SECOND + PER_BURST) {
            let open: Vec<_> = tickets
                .iter()
                .filter(|t| t.guild_id == g && t.creator_id == u && t.is_open())
                .collect();
            assert!(
                open.len() <= 1,
                "user {u} has {} open tickets in guild {g}",
                open.len()
            );
        }
    }
    for (g, u, ch) in &successes {
        let t = tickets
            .iter()
            .find(|t| t.channel_id == Some(*ch))
            .unwrap_or_else(|| {
                panic!("user {u} was told of channel {ch} in guild {g}; no ticket has it")
            });
        assert_eq!((t.guild_id, t.creator_id), (*g, *u));
        assert!(
            c.fake.channel(*ch).is_some(),
            "channel {ch} of {t:?} is gone"
        );
    }
    for t in &tickets {
        guild_of.insert(t.id, t.guild_id);
    }

    // Each repair and each opening done once, by the guild's own process; neither process
    // wrote a line about the other's guild.
    let outputs = [c.output(0), c.output(1)];
    let mut repaired: std::collections::HashMap<Uuid, usize> = Default::default();
    for (shard, out) in outputs.iter().enumerate() {
        for line in out.lines() {
            let is_repair = line.contains("repair:");
            for id in uuids_in(line) {
                if let Some(g) = guild_of.get(&id) {
                    assert_eq!(
                        c.shard_of(*g) as usize,
                        shard,
                        "shard {shard}'s process wrote about a ticket of guild {g}: {line}"
                    );
                }
                if is_repair {
                    *repaired.entry(id).or_default() += 1;
                }
            }
            if line.contains("guild checked") {
                let own = GUILDS[shard];
                assert!(
                    line.contains(&own.to_string())
                        && !line.contains(&GUILDS[1 - shard].to_string()),
                    "shard {shard}'s process checked another guild: {line}"
                );
            }
        }
    }
    for (id, _) in &seeded {
        assert_eq!(
            repaired.get(id),
            Some(&1),
            "leftover {id} repaired {:?} times",
            repaired.get(id)
        );
    }
    for (id, n) in &repaired {
        assert_eq!(*n, 1, "ticket {id} repaired {n} times");
    }
    for t in &tickets {
        let opened_lines = outputs
            .iter()
            .map(|o| {
                o.lines()
                    .filter(|l| l.contains("ticket opened") && l.contains(&t.id.to_string()))
                    .count()
            })
            .sum::<usize>();
        assert!(
            opened_lines <= 1,
            "ticket {} opened {opened_lines} times",
            t.id
        );
    }
    // The gateway gave each guild's events to its shard only.
    let routes = c.fake.gateway_stats().guild_shards;
    for g in GUILDS {
        let got: Vec<(u32, u32)> = routes[&g].iter().copied().collect();
        assert_eq!(
            got,
            [(c.shard_of(g), 2)],
            "guild {g}'s events went to {got:?}"
        );
    }

    // `ticketctl status`: both live processes, one line each with its shard (the killed run's
    // heartbeat is older than a minute by now).
    let pids = [c.pid(0), c.pid(1)];
    let status = eventually("ticketctl status listing both processes", WAIT, || {
        let out = c.ticketctl(&["status"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        async move {
            let running: Vec<&str> = text.lines().filter(|l| l.contains("running:")).collect();
            (out.status.success()
                && running.len() == 2
                && (0..2).all(|i| {
                    running
                        .iter()
                        .any(|l| l.contains(&format!("pid {} shard {i}/2)", pids[i])))
                }))
            .then(|| text.clone())
        }
    })
    .await;
    eprintln!("{:?}: ticketctl status:\n{status}", t0.elapsed());

    c.finish(&cut_off).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_guilds_two_processes_on_one_mariadb() {
    two_guilds(Backend::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_guilds_two_processes_on_one_mongodb() {
    two_guilds(Backend::Mongodb).await;
}

/// `SHARD_COUNT=auto`: one process asks GET /gateway/bot (2 shards), runs both, serves both
/// guilds, and its heartbeat says which shards it runs once Discord has given them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_autosharded_process_serves_every_shard() {
    let config = Config {
        shards: 2,
        ..Config::default()
    }
    .with_second_guild();
    let mut c = Cluster::prepare(Backend::Sqlite, config, 1, &[("SHARD_COUNT", "auto")]).await;
    c.launch_all().await;
    assert!(c
        .fake
        .requests_to("GET /gateway/bot")
        .iter()
        .any(|r| r.status == 200));
    let user = FakeUser::new(FIRST, "both");
    c.fake.add_member(&user, &[ids::MEMBER_ROLE]);
    assert!(c
        .fake
        .add_member_in(ids2::GUILD, &user, &[ids2::MEMBER_ROLE]));
    for g in GUILDS {
        let panel = c.post_panel(g, staff(g)[0], panel_channel(g)).await;
        let click = c.click(g, FIRST, panel_channel(g), panel, OPEN_BUTTON);
        let text = c.replies(&[click]).await[0].text();
        let ch = opened(&text).unwrap_or_else(|| panic!("guild {g}: {text}"));
        assert_eq!(c.fake.guild_of_channel(ch), g);
    }
    let output = c.output(0);
    assert!(output.contains("starting shards auto"), "{output}");
    let pid = c.pid(0);
    let shown = format!("pid {pid} shards 0-1/2)");
    eventually("the heartbeat naming both shards", HEARTBEAT_WAIT, || {
        let out = c.ticketctl(&["status"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let shown = shown.clone();
        async move { text.contains(&shown).then_some(()) }
    })
    .await;
    c.finish(&[]).await;
}

/// A heartbeat every 20 s, and one more for good measure.
const HEARTBEAT_WAIT: Duration = Duration::from_secs(45);
