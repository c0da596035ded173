//! A real serenity `Client` against the fake gateway: READY, GUILD_CREATE into the cache,
//! INTERACTION_CREATE for slash commands, buttons and modals built by the fake's helpers, the
//! responses (message, deferred, follow-up, edit, update) recorded by the fake, events caused by
//! REST calls, and reconnection (drop → RESUME with replay, op 7, op 9 → re-IDENTIFY).
//! serenity's debug logs are captured and any deserialization failure fails the test.

mod common;

use std::sync::Arc;
use std::time::Duration;

use fakecord::{ids, Config, FakeDiscord, OptionValue, EPHEMERAL};
use serenity::all::{
    ActionRowComponent, ChannelId, CommandDataOptionValue, Context, CreateActionRow, CreateButton,
    CreateChannel, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, CreateMessage, EditInteractionResponse, EventHandler,
    GatewayIntents, GuildChannel, GuildId, Interaction, Message, Ready, ResumedEvent, ShardManager,
    UserId,
};
use serenity::async_trait;
use serenity::client::ClientBuilder;
use serenity::http::HttpBuilder;
use serenity::model::guild::Guild;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
enum Seen {
    Ready {
        user: u64,
        guilds: usize,
    },
    GuildCreate {
        roles: usize,
        channels: usize,
        members: usize,
        cached_roles: Vec<u64>,
        cached_channels: Vec<u64>,
        cached_bot_member: bool,
    },
    Command {
        id: u64,
        name: String,
        sub: String,
        user_option: Option<u64>,
        resolved_user: Option<String>,
        member_roles: Vec<u64>,
        channel_name: Option<String>,
    },
    Button {
        id: u64,
        custom_id: String,
        message_id: u64,
        message_buttons: usize,
    },
    Modal {
        id: u64,
        custom_id: String,
        value: String,
    },
    ChannelCreate {
        id: u64,
        cached: bool,
    },
    MessageCreate {
        id: u64,
        content: String,
    },
    Resumed,
}

struct Recorder {
    tx: UnboundedSender<Seen>,
}

#[async_trait]
impl EventHandler for Recorder {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.tx.send(Seen::Ready {
            user: ready.user.id.get(),
            guilds: ready.guilds.len(),
        });
    }

    async fn guild_create(&self, ctx: Context, guild: Guild, _is_new: Option<bool>) {
        let (cached_roles, cached_channels, cached_bot_member) = {
            let cached = ctx.cache.guild(guild.id).expect("guild in cache");
            (
                cached.roles.keys().map(|r| r.get()).collect(),
                cached.channels.keys().map(|c| c.get()).collect(),
                cached.members.contains_key(&UserId::new(ids::BOT)),
            )
        };
        let _ = self.tx.send(Seen::GuildCreate {
            roles: guild.roles.len(),
            channels: guild.channels.len(),
            members: guild.members.len(),
            cached_roles,
            cached_channels,
            cached_bot_member,
        });
    }

    async fn channel_create(&self, ctx: Context, channel: GuildChannel) {
        let cached = ctx
            .cache
            .guild(channel.guild_id)
            .is_some_and(|g| g.channels.contains_key(&channel.id));
        let _ = self.tx.send(Seen::ChannelCreate {
            id: channel.id.get(),
            cached,
        });
    }

    async fn message(&self, _ctx: Context, msg: Message) {
        let _ = self.tx.send(Seen::MessageCreate {
            id: msg.id.get(),
            content: msg.content,
        });
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        let _ = self.tx.send(Seen::Resumed);
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(cmd) => {
                let (sub, inner) = match cmd.data.options.first().map(|o| (&o.name, &o.value)) {
                    Some((name, CommandDataOptionValue::SubCommand(opts))) => {
                        (name.clone(), opts.clone())
                    }
                    _ => (String::new(), cmd.data.options.clone()),
                };
                let user_option = inner.iter().find_map(|o| match o.value {
                    CommandDataOptionValue::User(u) => Some(u),
                    _ => None,
                });
                let resolved_user = user_option
                    .and_then(|u| cmd.data.resolved.users.get(&u))
                    .map(|u| u.name.clone());
                let _ = self.tx.send(Seen::Command {
                    id: cmd.id.get(),
                    name: cmd.data.name.clone(),
                    sub: sub.clone(),
                    user_option: user_option.map(|u| u.get()),
                    resolved_user,
                    member_roles: cmd
                        .member
                        .as_ref()
                        .map(|m| m.roles.iter().map(|r| r.get()).collect())
                        .unwrap_or_default(),
                    channel_name: cmd.channel.as_ref().and_then(|c| c.name.clone()),
                });
                let result = match sub.as_str() {
                    // Deferred, then the original response is edited.
                    "close" => {
                        cmd.defer(&ctx.http).await.expect("defer");
                        cmd.edit_response(
                            &ctx.http,
                            EditInteractionResponse::new().content("Closing this ticket"),
                        )
                        .await
                        .map(|_| ())
                    }
                    // Answered with a modal.
                    "rename" => {
                        let modal = serenity::all::CreateModal::new("rename-modal", "Rename")
                            .components(vec![CreateActionRow::InputText(
                                serenity::all::CreateInputText::new(
                                    serenity::all::InputTextStyle::Short,
                                    "Name",
                                    "name",
                                ),
                            )]);
                        cmd.create_response(&ctx.http, CreateInteractionResponse::Modal(modal))
                            .await
                    }
                    _ => {
                        cmd.create_response(
                            &ctx.http,
                            CreateInteractionResponse::Message(
                                CreateInteractionResponseMessage::new()
                                    .content(format!("ok {sub}"))
                                    .ephemeral(true),
                            ),
                        )
                        .await
                    }
                };
                result.expect("respond to command");
            }
            Interaction::Component(comp) => {
                let buttons = comp
                    .message
                    .components
                    .iter()
                    .flat_map(|r| r.components.iter())
                    .filter(|c| matches!(c, ActionRowComponent::Button(_)))
                    .count();
                let _ = self.tx.send(Seen::Button {
                    id: comp.id.get(),
                    custom_id: comp.data.custom_id.clone(),
                    message_id: comp.message.id.get(),
                    message_buttons: buttons,
                });
                if comp.data.custom_id == "ticket:open" {
                    // Deferred ephemeral, then a follow-up (replaces the "thinking" message).
                    comp.create_response(
                        &ctx.http,
                        CreateInteractionResponse::Defer(
                            CreateInteractionResponseMessage::new().ephemeral(true),
                        ),
                    )
                    .await
                    .expect("defer");
                    comp.create_followup(
                        &ctx.http,
                        CreateInteractionResponseFollowup::new()
                            .content("Ticket created")
                            .ephemeral(true),
                    )
                    .await
                    .expect("follow-up");
                } else {
                    // Update the message the button is on.
                    comp.create_response(
                        &ctx.http,
                        CreateInteractionResponse::UpdateMessage(
                            CreateInteractionResponseMessage::new()
                                .content("This ticket is closed")
                                .components(vec![]),
                        ),
                    )
                    .await
                    .expect("update");
                }
            }
            Interaction::Modal(modal) => {
                let value = modal
                    .data
                    .components
                    .iter()
                    .flat_map(|r| r.components.iter())
                    .find_map(|c| match c {
                        ActionRowComponent::InputText(t) => t.value.clone(),
                        _ => None,
                    })
                    .unwrap_or_default();
                let _ = self.tx.send(Seen::Modal {
                    id: modal.id.get(),
                    custom_id: modal.data.custom_id.clone(),
                    value: value.clone(),
                });
                modal
                    .create_response(
                        &ctx.http,
                        CreateInteractionResponse::Message(
                            CreateInteractionResponseMessage::new()
                                .content(format!("Renamed to {value}")),
                        ),
                    )
                    .await
                    .expect("modal response");
            }
            other => panic!("unexpected interaction {other:?}"),
        }
    }
}

struct Bot {
    rx: UnboundedReceiver<Seen>,
    /// Events received but not yet asked for.
    backlog: Vec<Seen>,
    shards: Arc<ShardManager>,
    http: Arc<serenity::http::Http>,
    task: JoinHandle<()>,
}

impl Bot {
    async fn start(fake: &FakeDiscord) -> Bot {
        let (tx, rx) = unbounded_channel();
        let http = HttpBuilder::new("fake-token")
            .proxy(fake.http_url())
            .ratelimiter_disabled(true)
            .build();
        let intents = GatewayIntents::non_privileged()
            | GatewayIntents::GUILD_MEMBERS
            | GatewayIntents::MESSAGE_CONTENT;
        let mut client = ClientBuilder::new_with_http(http, intents)
            .event_handler(Recorder { tx })
            .await
            .expect("client");
        let shards = Arc::clone(&client.shard_manager);
        let http = Arc::clone(&client.http);
        let task = tokio::spawn(async move {
            client.start().await.expect("client ran");
        });
        Bot {
            rx,
            backlog: Vec::new(),
            shards,
            http,
            task,
        }
    }

    /// The first event (received earlier or now) matching `pick`; others are kept.
    async fn next<T>(&mut self, what: &str, mut pick: impl FnMut(&Seen) -> Option<T>) -> T {
        if let Some(pos) = self.backlog.iter().position(|s| pick(s).is_some()) {
            let seen = self.backlog.remove(pos);
            return pick(&seen).expect("matched");
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(seen)) => {
                    if let Some(v) = pick(&seen) {
                        return v;
                    }
                    self.backlog.push(seen);
                }
                Ok(None) => panic!("handler gone while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    async fn stop(self) {
        self.shards.shutdown_all().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

fn alice() -> fakecord::FakeUser {
    fakecord::FakeUser::new(ids::ALICE, "alice")
}

#[tokio::test]
async fn client_receives_ready_guild_and_interactions() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config::default()).await;
    let mut bot = Bot::start(&fake).await;

    let (user, guilds) = bot
        .next("READY", |s| match s {
            Seen::Ready { user, guilds } => Some((*user, *guilds)),
            _ => None,
        })
        .await;
    assert_eq!((user, guilds), (ids::BOT, 1));
    let gc = bot
        .next("GUILD_CREATE", |s| {
            matches!(s, Seen::GuildCreate { .. }).then(|| s.clone())
        })
        .await;
    let Seen::GuildCreate {
        roles,
        channels,
        members,
        cached_roles,
        cached_channels,
        cached_bot_member,
    } = gc
    else {
        unreachable!()
    };
    assert_eq!((roles, channels, members), (4, 5, 5));
    for role in [
        ids::GUILD,
        ids::SUPPORT_ROLE,
        ids::MEMBER_ROLE,
        ids::BOT_ROLE,
    ] {
        assert!(cached_roles.contains(&role), "role {role} cached");
    }
    for ch in [
        ids::OPEN_CATEGORY,
        ids::CLOSED_CATEGORY,
        ids::PANEL_CHANNEL,
        ids::LOG_CHANNEL,
    ] {
        assert!(cached_channels.contains(&ch), "channel {ch} cached");
    }
    assert!(cached_bot_member);
    fake.wait_for_ready(WAIT).await.unwrap();

    // A slash command with a subcommand and a user option.
    let add = fake.send_slash_command(
        &alice(),
        &[ids::MEMBER_ROLE],
        ids::PANEL_CHANNEL,
        "ticket",
        Some("add"),
        &[("user", OptionValue::User(ids::BOB))],
    );
    let seen = bot
        .next("the /ticket add command", |s| match s {
            Seen::Command { id, .. } if *id == add => Some(s.clone()),
            _ => None,
        })
        .await;
    let Seen::Command {
        name,
        sub,
        user_option,
        resolved_user,
        member_roles,
        channel_name,
        ..
    } = seen
    else {
        unreachable!()
    };
    assert_eq!((name.as_str(), sub.as_str()), ("ticket", "add"));
    assert_eq!(user_option, Some(ids::BOB));
    assert_eq!(resolved_user.as_deref(), Some("bob"));
    assert_eq!(member_roles, vec![ids::MEMBER_ROLE]);
    assert_eq!(channel_name.as_deref(), Some("support"));
    let cb = fake.wait_for_callback(add, WAIT).await.unwrap();
    assert_eq!(cb.kind, 4);
    assert!(cb.is_ephemeral());
    assert_eq!(cb.content.as_deref(), Some("ok add"));
    let reply = fake.wait_for_reply(add, WAIT).await.unwrap();
    assert!(reply.is_ephemeral());
    assert!(
        fake.messages(ids::PANEL_CHANNEL).is_empty(),
        "ephemeral replies are not channel messages"
    );

    // REST calls made by the bot cause gateway events that serenity takes into its cache.
    let panel = ChannelId::new(ids::PANEL_CHANNEL)
        .send_message(
            &bot.http,
            CreateMessage::new()
                .content("Need help? Open a ticket.")
                .components(vec![CreateActionRow::Buttons(vec![
                    CreateButton::new("ticket:open").label("Open ticket"),
                    CreateButton::new("ticket:close").label("Close"),
                ])]),
        )
        .await
        .expect("panel message");
    let content = bot
        .next("MESSAGE_CREATE", |s| match s {
            Seen::MessageCreate { id, content } if *id == panel.id.get() => Some(content.clone()),
            _ => None,
        })
        .await;
    assert_eq!(content, "Need help? Open a ticket.");
    let created = GuildId::new(ids::GUILD)
        .create_channel(
            &bot.http,
            CreateChannel::new("ticket-0001").category(ChannelId::new(ids::OPEN_CATEGORY)),
        )
        .await
        .expect("create channel");
    let cached = bot
        .next("CHANNEL_CREATE", |s| match s {
            Seen::ChannelCreate { id, cached } if *id == created.id.get() => Some(*cached),
            _ => None,
        })
        .await;
    assert!(cached, "new channel in serenity's cache");

    // A button on that message: deferred ephemeral + follow-up.
    let open = fake.click_button(
        &alice(),
        &[ids::MEMBER_ROLE],
        ids::PANEL_CHANNEL,
        panel.id.get(),
        "ticket:open",
    );
    let (message_id, buttons) = bot
        .next("the ticket:open click", |s| match s {
            Seen::Button {
                id,
                message_id,
                message_buttons,
                custom_id,
            } if *id == open => {
                assert_eq!(custom_id, "ticket:open");
                Some((*message_id, *message_buttons))
            }
            _ => None,
        })
        .await;
    assert_eq!((message_id, buttons), (panel.id.get(), 2));
    let reply = fake.wait_for_reply(open, WAIT).await.unwrap();
    assert_eq!(reply.content, "Ticket created");
    assert!(reply.is_ephemeral());
    let rec = fake.interaction(open).unwrap();
    assert_eq!(rec.callbacks[0].kind, 5);
    assert_eq!(rec.callbacks[0].flags & EPHEMERAL, EPHEMERAL);
    assert_eq!(rec.followup_ids, vec![reply.id]);

    // /ticket close: deferred (visible), then the original response is edited.
    let close = fake.send_slash_command(
        &alice(),
        &[ids::MEMBER_ROLE],
        created.id.get(),
        "ticket",
        Some("close"),
        &[],
    );
    let reply = fake.wait_for_reply(close, WAIT).await.unwrap();
    assert_eq!(reply.content, "Closing this ticket");
    assert!(!reply.is_ephemeral());
    assert_eq!(fake.interaction(close).unwrap().callbacks[0].kind, 5);
    let visible = fake.messages(created.id.get());
    assert_eq!(visible.len(), 1);
    assert_eq!(visible[0].content, "Closing this ticket");
    assert_eq!(visible[0].kind, 20);

    // The close button updates the panel message in place (callback type 7).
    let click = fake.click_button(
        &alice(),
        &[ids::MEMBER_ROLE],
        ids::PANEL_CHANNEL,
        panel.id.get(),
        "ticket:close",
    );
    let cb = fake.wait_for_callback(click, WAIT).await.unwrap();
    assert_eq!(cb.kind, 7);
    fake.wait_until(
        |st| st.messages[&panel.id.get()].content == "This ticket is closed",
        WAIT,
    )
    .await
    .unwrap();
    assert!(fake.message(panel.id.get()).unwrap().components.is_empty());

    // A modal: the command answers with type 9, the user submits, the bot replies.
    let rename = fake.send_slash_command(
        &alice(),
        &[ids::MEMBER_ROLE],
        created.id.get(),
        "ticket",
        Some("rename"),
        &[],
    );
    let cb = fake.wait_for_callback(rename, WAIT).await.unwrap();
    assert_eq!(cb.kind, 9);
    assert_eq!(cb.data["custom_id"], "rename-modal");
    let submit = fake
        .submit_modal(
            &alice(),
            &[ids::MEMBER_ROLE],
            created.id.get(),
            "rename-modal",
            &[("name", "printer-issue")],
        )
        .expect("the rename modal is open");
    let value = bot
        .next("the modal submit", |s| match s {
            Seen::Modal {
                id,
                custom_id,
                value,
            } if *id == submit => {
                assert_eq!(custom_id, "rename-modal");
                Some(value.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(value, "printer-issue");
    let reply = fake.wait_for_reply(submit, WAIT).await.unwrap();
    assert_eq!(reply.content, "Renamed to printer-issue");

    // Every dispatch had an increasing sequence number.
    let stats = fake.gateway_stats();
    let seqs: Vec<u64> = stats.dispatched.iter().map(|(s, _)| *s).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert_eq!(stats.dispatched[0].1, "READY");
    assert_eq!(stats.dispatched[1].1, "GUILD_CREATE");
    assert!(stats.heartbeats <= 1);

    bot.stop().await;
    fake.assert_no_unknown_routes();
    assert!(
        !logs.lines_with("Received Ready").is_empty(),
        "serenity's debug logs are captured"
    );
    logs.assert_no_deserialization_failures();
    // What serenity itself asked for at start-up.
    let startup: Vec<String> = fake
        .requests()
        .iter()
        .take(1)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(startup, vec!["GET /gateway".to_owned()]);
}

#[tokio::test]
async fn client_resumes_after_drop_and_reidentifies_after_invalid_session() {
    let logs = common::capture_logs();
    let fake = FakeDiscord::start(Config::default()).await;
    let mut bot = Bot::start(&fake).await;
    bot.next("GUILD_CREATE", |s| {
        matches!(s, Seen::GuildCreate { .. }).then_some(())
    })
    .await;
    let command = |fake: &FakeDiscord| {
        fake.send_slash_command(
            &alice(),
            &[ids::MEMBER_ROLE],
            ids::PANEL_CHANNEL,
            "ticket",
            Some("open"),
            &[],
        )
    };
    let expect_command = |id: u64| {
        move |s: &Seen| match s {
            Seen::Command { id: got, .. } if *got == id => Some(()),
            _ => None,
        }
    };

    // Drop the connection, and send an interaction while the bot is away: it is replayed on
    // RESUME.
    assert!(fake.drop_gateway());
    let missed = command(&fake);
    bot.next("RESUMED", |s| matches!(s, Seen::Resumed).then_some(()))
        .await;
    bot.next(
        "the interaction sent while disconnected",
        expect_command(missed),
    )
    .await;
    fake.wait_for_reply(missed, WAIT).await.unwrap();
    let stats = fake.gateway_stats();
    assert_eq!((stats.identifies, stats.resumes), (1, 1));
    assert_eq!(stats.connections, 2);

    // A later interaction on the resumed session.
    let later = command(&fake);
    bot.next("an interaction after resume", expect_command(later))
        .await;
    fake.wait_for_reply(later, WAIT).await.unwrap();

    // op 7 RECONNECT: resumes again.
    assert!(fake.request_reconnect());
    bot.next("RESUMED after op 7", |s| {
        matches!(s, Seen::Resumed).then_some(())
    })
    .await;
    assert_eq!(fake.gateway_stats().resumes, 2);

    // op 9 INVALID SESSION (not resumable): serenity identifies again (after its 5 s
    // between-IDENTIFY pause), gets READY and GUILD_CREATE, and still answers.
    assert!(fake.invalidate_session(false));
    bot.next("READY after re-identify", |s| {
        matches!(s, Seen::Ready { .. }).then_some(())
    })
    .await;
    let after = command(&fake);
    bot.next("an interaction after re-identify", expect_command(after))
        .await;
    fake.wait_for_reply(after, WAIT).await.unwrap();
    assert_eq!(fake.gateway_stats().identifies, 2);

    bot.stop().await;
    fake.assert_no_unknown_routes();
    logs.assert_no_deserialization_failures();
}
