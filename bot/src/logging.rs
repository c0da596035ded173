//! Logging: console and a daily-rotated file (`LOG_FILE`, default `bot.log`). `DEBUG=1` turns on
//! debug detail for our crates; `RUST_LOG`, when set, wins.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use ticketbot_common::config::BotSettings;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

pub fn init(settings: &BotSettings) -> Result<WorkerGuard> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(f) if !f.trim().is_empty() => {
            EnvFilter::try_new(f).context("RUST_LOG is not a valid filter; e.g. RUST_LOG=info")?
        }
        // The binary's crate is `bot`: its events' targets are `bot::…`.
        _ if settings.debug => {
            EnvFilter::new("info,bot=debug,ticketbot=debug,ticketbot_common=debug")
        }
        _ => EnvFilter::new("info,serenity=warn,tracing::span=warn"),
    };
    let path = &settings.log_file;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .context("LOG_FILE names no file; e.g. LOG_FILE=bot.log")?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("LOG_FILE: cannot create {}", dir.display()))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(name.to_string_lossy())
        .max_log_files(14)
        .build(dir)
        .with_context(|| format!("LOG_FILE: cannot open {}", path.display()))?;
    let (file, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::registry()
        .with(filter)
        // Colours only on a terminal: not in journald, docker logs or a redirected file.
        .with(
            fmt::layer()
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr),
        )
        .with(fmt::layer().with_ansi(false).with_writer(file))
        .try_init()
        .context("cannot set up logging")?;
    Ok(guard)
}
