//! End-to-end benchmark of transcripts of a long ticket: the real release `bot` binary against
//! `fakecord` (a fake Discord on 127.0.0.1), SQLite in a temp directory.
//!
//! 1. `/ticket archive` of a closed ticket holding `--messages` (10,000) seeded messages plus
//!    `--images` (50) messages with one PNG of `--image-kib` (64) KiB each: from sending the
//!    command to the fake receiving the bot's reply, with a timeline of the bot's requests
//!    (history pages, channel delete, log entry, the creator's DM, the reply), the bot's CPU,
//!    its memory (VmRSS before, peak VmHWM during: the peak is reset through
//!    `/proc/<pid>/clear_refs` just before the command), the stored transcript (compressed
//!    size; decoded, re-encoded and rendered here, timed), the number of
//!    `GET /channels/{id}/messages` pages and the HTML file posted to the log channel;
//! 2. `/ticket transcript` (on demand) in another ticket with the same content, left open,
//!    measured the same way (the file is in the reply).
//!
//! ```text
//! cargo bench -p ticketbot --bench transcript -- [--messages 10000] [--images 50] [--image-kib 64]
//! ```
//!
//! Prints a table, then one JSON line (`{"bench":"transcript",...}`) for the record.
//! `BENCH_BOT_RUST_LOG` becomes the bot's `RUST_LOG`.
//!
//! The fake does not model rate limits (and the bot turns its rate limiter off behind
//! `DISCORD_API_BASE`): Discord does not publish the history route's limit, it is seen at 5
//! requests per 5 s per channel, so on Discord the ~100 pages of a 10,000-message ticket take
//! about 100 s more than here (serenity's rate limiter waits; the interaction token lasts 15 min). The fake, the
//! bot and this process share the machine. Attachment and avatar downloads go to the fake's
//! CDN, which does not record them: they are inside the gap between the last history page and
//! the next request.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fakecord::{ids, Config, FakeDiscord, OptionValue, RecordedRequest, UserMessage};
use serde_json::{json, Value};
use ticketbot_common::config::DbConfig;
use ticketbot_common::{Ticket, TicketStore};
use ticketbot_transcript as tr;

mod measure;
mod output;
mod setup;
#[path = "../shared/mod.rs"]
mod shared;

use measure::*;
use output::*;
use setup::*;
use shared::{cpu_secs, kib, loadavg, memory_kib, ms, print_table, registered, Bot};

const OPEN_BUTTON: &str = "ticketbot:open";
const READY_TIMEOUT: Duration = Duration::from_secs(120);
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
const OP_TIMEOUT: Duration = Duration::from_secs(180);
/// What the bot keeps under Discord's 10 MiB upload limit (`transcripts::UPLOAD_LIMIT` minus
/// its headroom), to time `discord_parts` as the bot calls it.
const PART_LIMIT: usize = 10 * 1024 * 1024 - 64 * 1024;
/// Left to the bot after each step before its memory is read again.
const SETTLE: Duration = Duration::from_secs(2);

struct Args {
    messages: usize,
    images: usize,
    image_kib: usize,
}

const USAGE: &str = "usage: cargo bench -p ticketbot --bench transcript -- [--messages 10000] [--images 50] [--image-kib 64]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        messages: 10_000,
        images: 50,
        image_kib: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<usize, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))?
                .parse()
                .map_err(|e| format!("{name}: {e}"))
        };
        match key.as_str() {
            "--messages" => args.messages = value("--messages")?,
            "--images" => args.images = value("--images")?,
            "--image-kib" => args.image_kib = value("--image-kib")?.max(1),
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

// ----- the run -----

struct Report {
    load_start: String,
    load_end: String,
    rss_idle: Option<u64>,
    image_bytes: u64,
    fill: Duration,
    ops: Vec<Op>,
    warnings: Vec<String>,
    warning_count: usize,
    exit: Option<ExitStatus>,
}

async fn run(args: &Args) -> Result<Report, String> {
    let load_start = loadavg();
    let dir = tempfile::Builder::new()
        .prefix("ticketbot-transcript-bench-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let fake = Arc::new(FakeDiscord::start(Config::default()).await);
    let mut bot = Bot::spawn(dir.path(), &bot_env(dir.path(), &fake), "bot.out")?;
    let ready = fake.wait_until(registered, READY_TIMEOUT);
    tokio::select! {
        r = ready => r.map_err(|e| format!("the bot did not register /ticket: {e}\n{}", bot.output_tail(40)))?,
        status = bot.child.wait() => {
            return Err(format!("the bot exited ({status:?}) before it was ready:\n{}", bot.output_tail(40)));
        }
    }
    let store = ticketbot_common::open_store(&DbConfig::Sqlite {
        path: sqlite_path(dir.path()),
    })
    .await
    .map_err(|e| format!("open the bot's SQLite database: {e}"))?;
    tokio::time::sleep(SETTLE).await;
    let (rss_idle, _) = memory_kib(bot.pid);

    let setup = slash(&fake, ids::STAFF, ids::PANEL_CHANNEL, "setup", &[]);
    reply_text(&fake, &bot, setup, "/ticket setup").await?;
    let panel = fake
        .messages(ids::PANEL_CHANNEL)
        .into_iter()
        .find(|m| m.custom_ids().iter().any(|c| c == OPEN_BUTTON))
        .ok_or("the panel message with the open button was not posted")?
        .id;

    // 1. Archive a closed ticket.
    let (ticket, channel) = open_ticket(&fake, &bot, store.as_ref(), panel).await?;
    let t = Instant::now();
    let image_bytes = fill(&fake, channel, args);
    let fill_took = t.elapsed();
    let close = slash(
        &fake,
        ids::STAFF,
        channel,
        "close",
        &[("reason", "benchmark".into())],
    );
    let text = reply_text(&fake, &bot, close, "/ticket close").await?;
    if !text.starts_with("Ticket closed") {
        return Err(format!("unexpected answer to /ticket close: {text}"));
    }
    eprintln!(
        "archiving a ticket of {} messages…",
        args.messages + args.images
    );
    let archive = measure("archive", &fake, &mut bot, store.as_ref(), &ticket, channel).await?;
    eprintln!("  reply after {} ms: {}", ms(archive.took), archive.reply);

    // 2. The on-demand transcript of an open ticket (alice's first one is closed now).
    let (ticket, channel) = open_ticket(&fake, &bot, store.as_ref(), panel).await?;
    fill(&fake, channel, args);
    eprintln!("on-demand transcript of an open ticket…");
    let on_demand = measure(
        "transcript",
        &fake,
        &mut bot,
        store.as_ref(),
        &ticket,
        channel,
    )
    .await?;
    eprintln!(
        "  reply after {} ms: {}",
        ms(on_demand.took),
        on_demand.reply
    );

    let load_end = loadavg();
    store.close().await;
    let (_, exit) = bot.stop().await;
    let text = bot.output();
    let noisy: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains("ERROR"))
        .collect();
    Ok(Report {
        load_start,
        load_end,
        rss_idle,
        image_bytes,
        fill: fill_took,
        ops: vec![archive, on_demand],
        warnings: noisy
            .iter()
            .take(8)
            .map(|l| l.chars().take(300).collect())
            .collect(),
        warning_count: noisy.len(),
        exit,
    })
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the async runtime");
    match runtime.block_on(run(&args)) {
        Ok(r) => report(&args, &r),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
