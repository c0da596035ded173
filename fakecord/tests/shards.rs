//! Sharding as Discord does it, seen by real serenity clients: two guilds whose ids land on
//! different shards of two; a client running shard 0 of 2 and another running shard 1 of 2
//! each get READY and GUILD_CREATE for their own guild only, each guild's interactions and
//! messages reach only its shard, and after a drop each shard RESUMEs its own session and gets
//! the events it missed (and only those). A client that autoshards asks GET /gateway/bot and
//! gets both guilds, each on its shard.

mod common;

use std::sync::Arc;
use std::time::Duration;

use fakecord::{ids, ids2, Config, FakeDiscord};
use serenity::all::{
    Context, EventHandler, GatewayIntents, Guild, Interaction, Message, Ready, ResumedEvent,
    ShardManager,
};
use serenity::async_trait;
use serenity::client::ClientBuilder;
use serenity::http::HttpBuilder;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(20);

/// What a client saw, with the shard that saw it.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Ready { shard: u32, guilds: Vec<u64> },
    GuildCreate { shard: u32, guild: u64 },
    Click { shard: u32, guild: u64, id: u64 },
    Message { shard: u32, guild: Option<u64> },
    Resumed { shard: u32 },
}

struct Recorder {
    tx: UnboundedSender<Seen>,
}

#[async_trait]
impl EventHandler for Recorder {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let guilds = ready.guilds.iter().map(|g| g.id.get()).collect();
        let _ = self.tx.send(Seen::Ready {
            shard: ctx.shard_id.0,
            guilds,
        });
    }

    async fn guild_create(&self, ctx: Context, guild: Guild, _new: Option<bool>) {
        let _ = self.tx.send(Seen::GuildCreate {
            shard: ctx.shard_id.0,
            guild: guild.id.get(),
        });
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        if let Interaction::Component(c) = interaction {
            let _ = self.tx.send(Seen::Click {
                shard: ctx.shard_id.0,
                guild: c.guild_id.map_or(0, |g| g.get()),
                id: c.id.get(),
            });
        }
    }

    async fn message(&self, ctx: Context, m: Message) {
        let _ = self.tx.send(Seen::Message {
            shard: ctx.shard_id.0,
            guild: m.guild_id.map(|g| g.get()),
        });
    }

    async fn resume(&self, ctx: Context, _: ResumedEvent) {
        let _ = self.tx.send(Seen::Resumed {
            shard: ctx.shard_id.0,
        });
    }
}

/// How the client connects: one shard of a total, or as many as GET /gateway/bot says.
enum Plan {
    Shard(u32, u32),
    Auto,
}

struct Client {
    rx: UnboundedReceiver<Seen>,
    seen: Vec<Seen>,
    shards: Arc<ShardManager>,
    task: JoinHandle<()>,
}

impl Client {
    async fn start(fake: &FakeDiscord, plan: Plan) -> Client {
        let (tx, rx) = unbounded_channel();
        let http = HttpBuilder::new("fake-token")
            .proxy(fake.http_url())
            .ratelimiter_disabled(true)
            .build();
        let intents = GatewayIntents::non_privileged() | GatewayIntents::MESSAGE_CONTENT;
        let mut client = ClientBuilder::new_with_http(http, intents)
            .event_handler(Recorder { tx })
            .await
            .expect("client");
        let shards = Arc::clone(&client.shard_manager);
        let task = tokio::spawn(async move {
            let ran = match plan {
                Plan::Shard(id, total) => client.start_shard(id, total).await,
                Plan::Auto => client.start_autosharded().await,
            };
            ran.expect("client ran");
        });
        Client {
            rx,
            seen: Vec::new(),
            shards,
            task,
        }
    }

    /// Waits until `want` has been seen (keeping everything seen).
    async fn expect(&mut self, want: &Seen) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !self.seen.contains(want) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(s)) => self.seen.push(s),
                Ok(None) => panic!("handler gone while waiting for {want:?}"),
                Err(_) => panic!("timed out waiting for {want:?}; seen {:?}", self.seen),
            }
        }
    }

    /// Everything seen so far, without waiting.
    fn drain(&mut self) -> &[Seen] {
        while let Ok(s) = self.rx.try_recv() {
            self.seen.push(s);
        }
        &self.seen
    }

    async fn stop(self) {
        self.shards.shutdown_all().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

fn two_guilds() -> Config {
    Config {
        shards: 2,
        ..Config::default()
    }
    .with_second_guild()
}

#[tokio::test]
async fn each_shard_gets_only_its_guilds_events() {
    let logs = common::capture_logs();
    assert_eq!((ids::GUILD >> 22) % 2, 0);
    assert_eq!((ids2::GUILD >> 22) % 2, 1);
    let fake = FakeDiscord::start(two_guilds()).await;
    let mut zero = Client::start(&fake, Plan::Shard(0, 2)).await;
    let mut one = Client::start(&fake, Plan::Shard(1, 2)).await;
    zero.expect(&Seen::GuildCreate {
        shard: 0,
        guild: ids::GUILD,
    })
    .await;
    one.expect(&Seen::GuildCreate {
        shard: 1,
        guild: ids2::GUILD,
    })
    .await;
    assert!(zero.drain().contains(&Seen::Ready {
        shard: 0,
        guilds: vec![ids::GUILD]
    }));
    assert!(one.drain().contains(&Seen::Ready {
        shard: 1,
        guilds: vec![ids2::GUILD]
    }));
    fake.wait_until(
        |st| st.gateway.sessions.iter().filter(|s| s.connected).count() == 2,
        WAIT,
    )
    .await
    .expect("two sessions");

    // A click in each guild reaches its shard only.
    let alice = fake.user(ids::ALICE);
    let alice2 = fake.user(ids2::ALICE);
    let roles2 = fake.member_roles_in(ids2::GUILD, ids2::ALICE);
    assert_eq!(roles2, [ids2::MEMBER_ROLE]);
    let c1 = fake.click_button(&alice, &[], ids::PANEL_CHANNEL, 1, "a");
    let c2 = fake.click_button(&alice2, &roles2, ids2::PANEL_CHANNEL, 1, "b");
    zero.expect(&Seen::Click {
        shard: 0,
        guild: ids::GUILD,
        id: c1,
    })
    .await;
    one.expect(&Seen::Click {
        shard: 1,
        guild: ids2::GUILD,
        id: c2,
    })
    .await;
    // The other guild's member is not a member here: Discord's payload says whose guild it is.
    let payload = fake.interaction(c2).expect("sent").payload;
    assert_eq!(payload["guild_id"], ids2::GUILD.to_string());

    // Drop both connections; each shard resumes its own session and gets what it missed.
    assert!(fake.drop_gateway());
    let missed = fake.click_button(&alice2, &roles2, ids2::PANEL_CHANNEL, 1, "c");
    let message = fake.post_user_message(&alice, ids::GENERAL_CHANNEL, "hello");
    one.expect(&Seen::Resumed { shard: 1 }).await;
    zero.expect(&Seen::Resumed { shard: 0 }).await;
    one.expect(&Seen::Click {
        shard: 1,
        guild: ids2::GUILD,
        id: missed,
    })
    .await;
    zero.expect(&Seen::Message {
        shard: 0,
        guild: Some(ids::GUILD),
    })
    .await;
    assert!(message > 0);
    // Fresh events after the resume still go to the right shard: the last event of each
    // client is its own guild's.
    let last = fake.click_button(&alice, &[], ids::PANEL_CHANNEL, 1, "d");
    zero.expect(&Seen::Click {
        shard: 0,
        guild: ids::GUILD,
        id: last,
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let wrong_zero: Vec<Seen> = zero
        .drain()
        .iter()
        .filter(|s| {
            matches!(s, Seen::Click { guild, .. } | Seen::GuildCreate { guild, .. } if *guild != ids::GUILD)
                || matches!(s, Seen::Message { guild, .. } if *guild != Some(ids::GUILD))
        })
        .cloned()
        .collect();
    let wrong_one: Vec<Seen> = one
        .drain()
        .iter()
        .filter(|s| {
            matches!(s, Seen::Click { guild, .. } | Seen::GuildCreate { guild, .. } if *guild != ids2::GUILD)
                || matches!(s, Seen::Message { .. })
        })
        .cloned()
        .collect();
    assert!(wrong_zero.is_empty(), "shard 0 saw {wrong_zero:?}");
    assert!(wrong_one.is_empty(), "shard 1 saw {wrong_one:?}");
    let routes = fake.gateway_stats().guild_shards;
    assert_eq!(
        routes[&ids::GUILD].iter().copied().collect::<Vec<_>>(),
        [(0, 2)]
    );
    assert_eq!(
        routes[&ids2::GUILD].iter().copied().collect::<Vec<_>>(),
        [(1, 2)]
    );

    zero.stop().await;
    one.stop().await;
    let bad: Vec<String> = common::DESERIALIZATION_FAILURES
        .iter()
        .flat_map(|b| logs.lines_with(b))
        .collect();
    assert!(bad.is_empty(), "serenity could not take: {bad:?}");
    fake.assert_no_unknown_routes();
}

#[tokio::test]
async fn an_autosharded_client_runs_every_recommended_shard() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(two_guilds()).await;
    let mut all = Client::start(&fake, Plan::Auto).await;
    all.expect(&Seen::GuildCreate {
        shard: 0,
        guild: ids::GUILD,
    })
    .await;
    all.expect(&Seen::GuildCreate {
        shard: 1,
        guild: ids2::GUILD,
    })
    .await;
    assert!(fake
        .requests_to("GET /gateway/bot")
        .iter()
        .any(|r| r.status == 200));
    let mut identified = fake.gateway_stats().shards_identified;
    identified.sort_unstable();
    assert_eq!(identified, [(0, 2), (1, 2)]);
    // Each guild's click reaches the shard that holds it, in one process.
    let admin2 = fake.user(ids2::STAFF);
    let roles2 = fake.member_roles_in(ids2::GUILD, ids2::STAFF);
    let id = fake.click_button(&admin2, &roles2, ids2::PANEL_CHANNEL, 1, "x");
    all.expect(&Seen::Click {
        shard: 1,
        guild: ids2::GUILD,
        id,
    })
    .await;
    all.stop().await;
    let bad: Vec<String> = common::DESERIALIZATION_FAILURES
        .iter()
        .flat_map(|b| logs.lines_with(b))
        .collect();
    assert!(bad.is_empty(), "serenity could not take: {bad:?}");
}
