//! `bot`: the ticket bot daemon. Reads the configuration (the Python bot's `.env` works as is),
//! opens the store, connects to Discord and serves `/ticket` commands and buttons until
//! SIGINT/SIGTERM.

mod access;
mod archive;
mod audit;
mod auto_close;
mod categories;
mod channel_work;
mod commands;
mod components;
mod data;
mod deadline;
mod embeds;
mod events;
mod first_response;
mod lifecycle;
mod logging;
mod memory;
mod names;
mod reconcile;
mod service;
mod sync;
mod transcripts;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use poise::serenity_prelude as serenity;
use ticketbot_common::config::{BotSettings, Vars};

pub use data::{Context, Data, Error};

fn main() -> ExitCode {
    // Configuration first: every bad variable is named before anything connects.
    let vars = match Vars::from_env_and_file(Path::new(".env")) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let settings = match BotSettings::from_vars(&vars) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _log_guard = match logging::init(&settings) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Idle connections to Discord's API kept for reuse. A burst of clicks opens one connection
/// per request in flight; without a cap every one of them stays open (90 s), with its buffers:
/// 500 sockets and ~40 MB after a burst of 1,000.
const IDLE_API_CONNECTIONS: usize = 32;

/// The HTTP client for Discord's API (serenity's own, plus): with `DISCORD_API_ADDR` or
/// `DISCORD_CA_FILE`, `discord.com` reached at that address, that CA trusted; a bounded pool of
/// idle connections.
fn api_client(settings: &BotSettings) -> Result<reqwest::Client> {
    let mut client = reqwest::Client::builder()
        .use_rustls_tls()
        .pool_max_idle_per_host(IDLE_API_CONNECTIONS);
    if let Some(ip) = settings.api_addr {
        client = client.resolve("discord.com", std::net::SocketAddr::new(ip, 443));
    }
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read DISCORD_CA_FILE {}", path.display()))?;
        let ca = reqwest::Certificate::from_pem(&pem).with_context(|| {
            format!(
                "DISCORD_CA_FILE {} is not a PEM certificate",
                path.display()
            )
        })?;
        client = client.add_root_certificate(ca);
    }
    client
        .build()
        .context("cannot build the HTTP client for Discord's API")
}

async fn run(settings: BotSettings) -> Result<()> {
    let settings = Arc::new(settings);
    let store = ticketbot_common::open_store(&settings.db)
        .await
        .with_context(|| format!("cannot open the database ({})", settings.db.target()))?;
    tracing::info!(
        "database ready: {} (schema {})",
        settings.db.target(),
        store.schema_version().await.unwrap_or_default()
    );
    let data = Arc::new(Data::new(store.clone(), settings.clone()));

    let mut http =
        serenity::HttpBuilder::new(settings.token.expose()).client(api_client(&settings)?);
    if let Some(base) = &settings.api_base {
        // serenity's rate limiter ignores the proxy, so it is off behind one (as serenity
        // documents for rate-limiting proxies); Discord's 429s then reach us as errors.
        http = http.proxy(base.clone()).ratelimiter_disabled(true);
    }
    let http = http.build();

    let framework_data = data.clone();
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands::all(),
            on_error: |error| Box::pin(events::on_error(error)),
            command_check: Some(|ctx| Box::pin(async move { Ok(events::served(ctx)) })),
            event_handler: |ctx, event| Box::pin(events::handle(ctx, event)),
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                lifecycle::register_commands(ctx, ready, framework, &framework_data.settings)
                    .await?;
                Ok(framework_data)
            })
        })
        .build();

    // GUILD_MESSAGES and the privileged MESSAGE_CONTENT: transcripts read the ticket channels'
    // messages. Discord refuses MESSAGE_CONTENT (close 4014) unless it is enabled in the
    // Developer Portal; `lifecycle::run` then says how.
    let intents = serenity::GatewayIntents::GUILDS
        | serenity::GatewayIntents::GUILD_MESSAGES
        | serenity::GatewayIntents::MESSAGE_CONTENT;
    let mut client = serenity::ClientBuilder::new_with_http(http, intents)
        .framework(framework)
        .await
        .context("cannot build the Discord client")?;

    lifecycle::run(&mut client, data).await
}
