//! Start-up and shutdown: command registration once per process, the heartbeat that tells
//! `ticketctl` a bot is running, the channel work kept in the database (channels to bring up
//! to date after a close or reopen by anyone, this process, another one or `ticketctl`; channels
//! of deleted tickets), the repair run again every minute, and a graceful stop on SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::Utc;
use poise::serenity_prelude as serenity;
use ticketbot_common::config::{BotSettings, Shards};
use ticketbot_common::store::{Heartbeat, HEARTBEAT_EVERY};

use crate::data::{Data, Error};
use crate::reconcile;

/// How often the start-up repair runs again: after a crash that a prompt restart followed, a
/// half-made ticket is younger than the repair's grace period at the start, and only a later
/// look can settle it (until then it holds its creator's slot).
const REPAIR_EVERY: Duration = Duration::from_secs(60);

/// At most this long is spent finishing in-flight work at shutdown.
const DRAIN_FOR: Duration = Duration::from_secs(7);

/// Registers `/ticket` once per process run, in the background: a failed registration (Discord
/// down for a moment) is retried with a growing delay instead of failing the framework's setup,
/// which would leave the bot connected but deaf (poise handles no event until setup succeeds).
/// Buttons need no registration, and the commands of the last run stay registered meanwhile.
pub async fn register_commands(
    ctx: &serenity::Context,
    ready: &serenity::Ready,
    framework: &poise::Framework<Arc<Data>, Error>,
    settings: &BotSettings,
) -> Result<(), Error> {
    let builders = poise::builtins::create_application_commands(&framework.options().commands);
    let http = ctx.http.clone();
    let guild = settings.guild_id.map(serenity::GuildId::new);
    let user = ready.user.name.clone();
    tokio::spawn(async move {
        // In one guild: available at once. Globally: Discord may take up to an hour.
        let place = guild.map_or_else(|| "globally".to_owned(), |g| format!("in guild {g}"));
        let mut delay = Duration::from_secs(1);
        loop {
            let done = match guild {
                Some(g) => g.set_commands(&http, builders.clone()).await.map(drop),
                None => serenity::Command::set_global_commands(&http, builders.clone())
                    .await
                    .map(drop),
            };
            match done {
                Ok(()) => {
                    tracing::info!("registered /ticket {place} as {user}");
                    return;
                }
                Err(e) => {
                    tracing::error!(
                        "cannot register /ticket {place}: {e}; retrying in {}s (buttons keep working)",
                        delay.as_secs()
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
            }
        }
    });
    Ok(())
}

fn beat(data: &Data, shards: Shards, started: chrono::DateTime<Utc>) -> Heartbeat {
    Heartbeat {
        instance_id: data.instance_id.clone(),
        details: format!(
            "bot {} pid {} {}",
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            shards
        ),
        started_at: started,
        seen_at: Utc::now(),
    }
}

/// The shards this process runs: with `SHARD_COUNT=auto`, all of those Discord recommended,
/// once every one of them is connected (until then, `auto`).
async fn running_shards(
    data: &Data,
    manager: &serenity::ShardManager,
    cache: &serenity::Cache,
) -> Shards {
    if data.settings.shards != Shards::Auto {
        return data.settings.shards;
    }
    let running = manager.runners.lock().await.len();
    match u32::try_from(running) {
        Ok(count) if count > 0 && count == cache.shard_count() => Shards::All { count },
        _ => Shards::Auto,
    }
}

async fn heartbeat_loop(
    data: Arc<Data>,
    manager: Arc<serenity::ShardManager>,
    cache: Arc<serenity::Cache>,
) {
    let started = Utc::now();
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tick.tick().await;
        let shards = running_shards(&data, &manager, &cache).await;
        if let Err(e) = data.store.heartbeat(&beat(&data, shards, started)).await {
            tracing::warn!("heartbeat not recorded: {e}");
        }
    }
}

/// Runs the repair of `reconcile` every [`REPAIR_EVERY`] over the cached guild, as at start-up.
async fn repair_loop(http: Arc<serenity::Http>, cache: Arc<serenity::Cache>, data: Arc<Data>) {
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + REPAIR_EVERY, REPAIR_EVERY);
    loop {
        tick.tick().await;
        let Some(_work) = data.begin_work() else {
            return;
        };
        // MongoDB's writes stopped half-way (by a crash, here or in another process).
        match data.store.finish_interrupted().await {
            Ok(0) => {}
            Ok(n) => tracing::info!("repair: finished {n} interrupted database writes"),
            Err(e) => tracing::warn!("cannot finish interrupted database writes: {e}"),
        }
        let guilds = match data.settings.guild_id {
            Some(g) => vec![serenity::GuildId::new(g)],
            None => cache.guilds(),
        };
        for g in guilds {
            // Copied out, so that no cache guard is held across an await.
            let Some(channels) = cache
                .guild(g)
                .map(|guild| guild.channels.values().cloned().collect::<Vec<_>>())
            else {
                continue;
            };
            match reconcile::guild(&http, &data, g, &channels).await {
                Ok(repairs) if repairs.any() => repairs.log(g),
                Ok(_) => {}
                Err(e) => tracing::warn!("repairing guild {g} failed: {e:#}"),
            }
            crate::categories::sweep(&http, &data, g, &channels).await;
        }
    }
}

/// Discord's refusals that a restart does not cure, said with what to change.
fn explain_gateway_error(e: serenity::Error) -> anyhow::Error {
    use serenity::GatewayError as G;
    match e {
        serenity::Error::Gateway(G::DisallowedGatewayIntents) => anyhow::anyhow!(
            "Discord refused the privileged Message Content intent (gateway close 4014). Transcripts need it to read ticket channels: in the Discord Developer Portal open your application, Bot, Privileged Gateway Intents, turn on MESSAGE CONTENT INTENT, save, and start the bot again."
        ),
        serenity::Error::Gateway(G::InvalidGatewayIntents) => anyhow::anyhow!(
            "Discord refused the gateway intents the bot asks for (gateway close 4013)"
        ),
        serenity::Error::Gateway(G::InvalidAuthentication) => anyhow::anyhow!(
            "Discord refused the bot token (gateway close 4004): copy it again from the Developer Portal (your application, Bot, Reset Token) into BOT_TOKEN"
        ),
        other => anyhow::Error::new(other).context("the Discord connection failed"),
    }
}

async fn stop_signal() -> Result<&'static str> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot listen for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => { r.context("cannot listen for SIGINT")?; Ok("SIGINT") }
            _ = term.recv() => Ok("SIGTERM"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("cannot listen for Ctrl-C")?;
        Ok("Ctrl-C")
    }
}

/// Runs a background task for the life of the process: if it panics (a bug, a value nobody
/// foresaw), the panic is logged and the task starts again after a growing pause, instead of
/// the bot going on without it and nobody knowing.
fn supervise<F, Fut>(name: &'static str, task: F) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    /// Stopping the supervisor (abort at shutdown) stops the task too.
    struct AbortOnDrop(tokio::task::JoinHandle<()>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    tokio::spawn(async move {
        let mut pause = Duration::from_secs(1);
        loop {
            let mut running = AbortOnDrop(tokio::spawn(task()));
            match (&mut running.0).await {
                Ok(()) => return,
                Err(e) if e.is_panic() => {
                    tracing::error!(
                        "the {name} task failed ({e}); starting it again in {}s",
                        pause.as_secs()
                    );
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(60));
                }
                Err(_) => return,
            }
        }
    })
}

/// How often due close requests are looked for.
const CLOSE_REQUESTS_EVERY: Duration = Duration::from_secs(5);

/// Closes the tickets whose close request (or auto-close warning) went unanswered, and warns
/// stale tickets (see `service::sweep_close_requests` and `auto_close`).
async fn close_request_loop(
    http: Arc<serenity::Http>,
    cache: Arc<serenity::Cache>,
    data: Arc<Data>,
) {
    let mut tick = tokio::time::interval(CLOSE_REQUESTS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(_work) = data.begin_work() else {
            return;
        };
        crate::service::sweep_close_requests(&http, &cache, &data).await;
        crate::auto_close::warn_stale(&http, &cache, &data).await;
    }
}

/// Runs the client until a stop signal, then stops cleanly.
pub async fn run(client: &mut serenity::Client, data: Arc<Data>) -> Result<()> {
    let shards = client.shard_manager.clone();
    let (http, cache) = (client.http.clone(), client.cache.clone());
    let (d, m, c) = (data.clone(), shards.clone(), cache.clone());
    let heartbeat = supervise("heartbeat", move || {
        heartbeat_loop(d.clone(), m.clone(), c.clone())
    });
    let (h, c, d) = (http.clone(), cache.clone(), data.clone());
    let channel_work = supervise("channel work", move || {
        crate::channel_work::run_loop(h.clone(), c.clone(), d.clone())
    });
    let (h, c, d) = (http.clone(), cache.clone(), data.clone());
    let repair = supervise("repair", move || {
        repair_loop(h.clone(), c.clone(), d.clone())
    });
    let (h, c, d) = (http.clone(), cache.clone(), data.clone());
    let archiver = supervise("archive", move || {
        crate::archive::run_loop(h.clone(), c.clone(), d.clone())
    });
    let (h, c, d) = (http, cache, data.clone());
    let close_requests = supervise("close requests", move || {
        close_request_loop(h.clone(), c.clone(), d.clone())
    });
    let d = data.clone();
    let memory = supervise("memory", move || crate::memory::trim_loop(d.clone()));
    let plan = data.settings.shards;
    tracing::info!("starting {plan}");
    let connect = async {
        match plan {
            Shards::Single => client.start().await,
            Shards::Auto => client.start_autosharded().await,
            Shards::All { count } => client.start_shards(count).await,
            Shards::One { id, count } => client.start_shard(id, count).await,
        }
    };
    let outcome = tokio::select! {
        r = connect => r.map_err(explain_gateway_error).map(|_| "the gateway closed"),
        s = stop_signal() => s,
    };
    let why = outcome?;
    tracing::info!("stopping ({why}): finishing work in flight");
    if tokio::time::timeout(DRAIN_FOR, data.drain()).await.is_err() {
        tracing::warn!(
            "some work was still running after {}s; stopping anyway",
            DRAIN_FOR.as_secs()
        );
    }
    shards.shutdown_all().await;
    heartbeat.abort();
    channel_work.abort();
    repair.abort();
    archiver.abort();
    close_requests.abort();
    memory.abort();
    data.store.remove_heartbeat(&data.instance_id).await.ok();
    data.store.close().await;
    tracing::info!("stopped");
    Ok(())
}
