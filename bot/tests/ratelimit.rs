//! The production path: serenity's rate limiter on, REST to `https://discord.com` (fakecord's
//! TLS side) with Discord's rate limits enforced, buckets, global limit, headers and 429s.
//! A burst of 200 ticket openings must make every ticket and answer every user, without the
//! bot ignoring a 429 (Discord bans clients that do).

mod support;

use std::time::{Duration, Instant};

use fakecord::{ids, Config, FakeUser, RateLimits};
use support::*;
use ticketbot_common::store::Backend;

const USERS: u64 = 200;
const USER_BASE: u64 = 1_210_000_000_000_005_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_200_openings_with_the_rate_limiter_on() {
    let config = Config {
        rate_limits: Some(RateLimits::default()),
        ..Config::default()
    };
    // No audit log channel: 200 audit entries in one channel take 200 s at Discord's 5
    // messages per 5 s, which is not what this measures.
    let e = E2e::start_tls(Backend::Sqlite, config, &[("LOG_CHANNEL_ID", "")]).await;
    for i in 0..USERS {
        e.fake.add_member(
            &FakeUser::new(USER_BASE + i, &format!("burst{i}")),
            &[ids::MEMBER_ROLE],
        );
    }
    let panel = e.post_panel().await;
    let started = Instant::now();
    let clicks: Vec<u64> = (0..USERS)
        .map(|i| e.click(USER_BASE + i, ids::PANEL_CHANNEL, panel, OPEN_BUTTON))
        .collect();
    let replies = e.replies(&clicks, Duration::from_secs(300)).await;
    let took = started.elapsed();
    for r in &replies {
        assert!(
            r.text().starts_with("Your ticket is open: <#"),
            "{}",
            r.text()
        );
    }
    let store = e.store().await;
    let tickets = all_tickets(store.as_ref()).await;
    assert_eq!(tickets.len() as u64, USERS, "every ticket made");
    assert!(tickets.iter().all(|t| t.channel_id.is_some()));
    let score = e.fake.rate_limit_score();
    let requests = e.fake.requests().len();
    eprintln!(
        "burst of {USERS} openings with serenity's rate limiter on: {:.1} s, {requests} requests, {} answered 429, {} sent while a 429 still ran",
        took.as_secs_f64(),
        score.limited,
        score.ignored_429
    );
    assert_eq!(score.ignored_429, 0, "the bot ignored a 429: {score:?}");
    // The limiter learns each bucket from its first answer's headers; only the global limit,
    // which no header announces, may be met now and then.
    assert!(
        u64::from(score.limited) * 100 <= requests as u64,
        "more than 1% of requests answered 429: {score:?} of {requests}"
    );
    e.finish().await;
}
