//! Start-up and shutdown: command registration once per process, the heartbeat that tells
//! `ticketctl` a bot is running, the loop that catches up on changes made outside this
//! process (`ticketctl force-close`), and a graceful stop on SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::Utc;
use poise::serenity_prelude as serenity;
use ticketbot_common::config::BotSettings;
use ticketbot_common::store::{Heartbeat, HEARTBEAT_EVERY};

use crate::data::{Data, Error};
use crate::sync;

/// How often changes made elsewhere are looked for.
const CATCH_UP_EVERY: Duration = Duration::from_secs(10);

/// At most this long is spent finishing in-flight work at shutdown.
const DRAIN_FOR: Duration = Duration::from_secs(7);

pub async fn register_commands(
    ctx: &serenity::Context,
    ready: &serenity::Ready,
    framework: &poise::Framework<Arc<Data>, Error>,
    settings: &BotSettings,
) -> Result<(), Error> {
    let commands = &framework.options().commands;
    match settings.guild_id {
        // In one guild: available at once. Globally: Discord may take up to an hour.
        Some(g) => {
            poise::builtins::register_in_guild(&ctx.http, commands, serenity::GuildId::new(g))
                .await?
        }
        None => poise::builtins::register_globally(&ctx.http, commands).await?,
    }
    tracing::info!(
        "registered /ticket {} as {}",
        settings
            .guild_id
            .map_or_else(|| "globally".to_owned(), |g| format!("in guild {g}")),
        ready.user.name
    );
    Ok(())
}

fn beat(data: &Data, started: chrono::DateTime<Utc>) -> Heartbeat {
    Heartbeat {
        instance_id: data.instance_id.clone(),
        details: format!(
            "bot {} pid {}",
            env!("CARGO_PKG_VERSION"),
            std::process::id()
        ),
        started_at: started,
        seen_at: Utc::now(),
    }
}

async fn heartbeat_loop(data: Arc<Data>) {
    let started = Utc::now();
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = data.store.heartbeat(&beat(&data, started)).await {
            tracing::warn!("heartbeat not recorded: {e}");
        }
    }
}

/// Brings channels in line with tickets changed by anyone (this process included: then it is
/// a no-op against the cache).
async fn catch_up_loop(http: Arc<serenity::Http>, cache: Arc<serenity::Cache>, data: Arc<Data>) {
    // Changes made while no bot ran are caught up too, a day back.
    let mut since = Utc::now() - chrono::Duration::days(1);
    let mut tick = tokio::time::interval(CATCH_UP_EVERY);
    loop {
        tick.tick().await;
        let Some(_work) = data.begin_work() else {
            return;
        };
        let checked_at = Utc::now();
        match data.store.updated_since(since, 500).await {
            Ok(tickets) => {
                let full = tickets.len() == 500;
                for t in &tickets {
                    if data.settings.guild_id.is_some_and(|g| g != t.guild_id) {
                        continue;
                    }
                    if let Err(e) = sync::apply(&http, &cache, &data, t).await {
                        tracing::warn!(
                            "cannot bring the channel of ticket {} up to date: {e}",
                            t.id
                        );
                    }
                }
                since = match (full, tickets.last()) {
                    (true, Some(last)) => last.updated_at,
                    // A little overlap: a write committed just before `checked_at` is not missed.
                    _ => checked_at - chrono::Duration::seconds(2),
                };
            }
            Err(e) => tracing::warn!("cannot look for changed tickets: {e}"),
        }
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

/// Runs the client until a stop signal, then stops cleanly.
pub async fn run(client: &mut serenity::Client, data: Arc<Data>) -> Result<()> {
    let heartbeat = tokio::spawn(heartbeat_loop(data.clone()));
    let catch_up = tokio::spawn(catch_up_loop(
        client.http.clone(),
        client.cache.clone(),
        data.clone(),
    ));
    let shards = client.shard_manager.clone();
    let outcome = tokio::select! {
        r = client.start() => r.context("the Discord connection failed").map(|_| "the gateway closed"),
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
    catch_up.abort();
    data.store.remove_heartbeat(&data.instance_id).await.ok();
    data.store.close().await;
    tracing::info!("stopped");
    Ok(())
}
