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

#[path = "shared/mod.rs"]
mod shared;

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

// ----- the bot process -----

fn bot_env(dir: &Path, fake: &FakeDiscord) -> Vec<(String, String)> {
    let mut env = shared::bot_env(dir, &fake.http_url());
    env.extend(
        [
            ("DISCORD_CDN_BASE", fake.http_url()),
            ("ARCHIVE_CLOSED_AFTER", "0".into()),
            ("DB_TYPE", "sqlite".into()),
            ("SQLITE_PATH", sqlite_path(dir).display().to_string()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    env
}

fn sqlite_path(dir: &Path) -> PathBuf {
    dir.join("ticketbot.db")
}

// ----- /proc -----

/// Resets VmHWM to the current VmRSS (`5` to `/proc/<pid>/clear_refs`, Linux ≥ 4.0).
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

// ----- content -----

/// A `side`×`side` RGBA PNG of noise (so it does not compress): about `4 * side²` bytes.
fn noise_png(side: u32, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut pixels = vec![0u8; (side * side * 4) as usize];
    for chunk in pixels.chunks_mut(8) {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
    let mut out = Vec::with_capacity(pixels.len() + 1024);
    {
        let mut enc = png::Encoder::new(&mut out, side, side);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("png header");
        w.write_image_data(&pixels).expect("png data");
    }
    out
}

/// Fills a ticket channel: `messages` seeded plain messages (alice and staff in turn), then
/// `images` messages with one noise PNG each. Returns the bytes of images posted.
fn fill(fake: &FakeDiscord, channel: u64, args: &Args) -> u64 {
    fake.seed_messages(channel, args.messages, &[ids::ALICE, ids::STAFF]);
    let side = ((args.image_kib * 1024 / 4) as f64).sqrt().round().max(1.0) as u32;
    let users = [fake.user(ids::ALICE), fake.user(ids::STAFF)];
    let mut bytes = 0;
    for i in 0..args.images {
        let png = noise_png(side, i as u64 + 1);
        bytes += png.len() as u64;
        let msg = UserMessage::new(&format!("screenshot {i}")).attach(
            &format!("screen-{i}.png"),
            Some("image/png"),
            png,
        );
        fake.post_rich_message(&users[i % 2], channel, msg);
    }
    bytes
}

// ----- driving -----

fn slash(
    fake: &FakeDiscord,
    user_id: u64,
    channel: u64,
    sub: &str,
    options: &[(&str, OptionValue)],
) -> u64 {
    fake.send_slash_command(
        &fake.user(user_id),
        &fake.member_roles(user_id),
        channel,
        "ticket",
        Some(sub),
        options,
    )
}

async fn reply_text(fake: &FakeDiscord, bot: &Bot, id: u64, what: &str) -> Result<String, String> {
    fake.wait_for_reply(id, STEP_TIMEOUT)
        .await
        .map(|m| m.text())
        .map_err(|e| format!("{what}: {e}\n{}", bot.output_tail(30)))
}

fn channel_mention(text: &str) -> Option<u64> {
    let start = text.find("<#")? + 2;
    let end = text[start..].find('>')? + start;
    text[start..end].parse().ok()
}

async fn open_ticket(
    fake: &FakeDiscord,
    bot: &Bot,
    store: &dyn TicketStore,
    panel: u64,
) -> Result<(Ticket, u64), String> {
    let click = fake.click_button(
        &fake.user(ids::ALICE),
        &fake.member_roles(ids::ALICE),
        ids::PANEL_CHANNEL,
        panel,
        OPEN_BUTTON,
    );
    let text = reply_text(fake, bot, click, "open a ticket").await?;
    let channel =
        channel_mention(&text).ok_or_else(|| format!("no channel in the answer: {text}"))?;
    let ticket = store
        .get_by_channel(channel)
        .await
        .map_err(|e| format!("get_by_channel: {e}"))?
        .ok_or_else(|| format!("no ticket row has the channel {channel}"))?;
    Ok((ticket, channel))
}

// ----- one measured command -----

/// A request the bot made during a measured command, and when this process first saw it.
struct Seen {
    at: Duration,
    route: String,
    status: u16,
}

/// `METHOD /path` with ids and tokens replaced by what they are.
fn route_of(r: &RecordedRequest, ticket_channel: u64) -> String {
    let parts: Vec<&str> = r.path.split('/').collect();
    let norm: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let owner = if i > 0 { parts[i - 1] } else { "" };
            match (owner, p.parse::<u64>().ok()) {
                ("channels", Some(id)) if id == ticket_channel => "{ticket}".to_owned(),
                ("channels", Some(ids::LOG_CHANNEL)) => "{log}".to_owned(),
                ("interactions" | "webhooks" | "messages" | "channels", Some(_)) => {
                    "{id}".to_owned()
                }
                ("applications", Some(_)) => "{app}".to_owned(),
                _ if owner == "interactions" || owner == "webhooks" || p.len() > 40 => {
                    "{token}".to_owned()
                }
                _ => (*p).to_owned(),
            }
        })
        .collect();
    let mut s = format!("{} {}", r.method, norm.join("/"));
    if !r.files.is_empty() {
        let _ = write!(s, " [{} file(s)]", r.files.len());
    }
    s
}

/// What one command cost.
struct Op {
    name: &'static str,
    reply: String,
    /// command → first callback (the defer)
    ack: Option<Duration>,
    /// command → the reply with content
    took: Duration,
    timeline: Vec<Seen>,
    history_pages: usize,
    first_page: Option<Duration>,
    last_page: Option<Duration>,
    bot_cpu: f64,
    rss_before: Option<u64>,
    hwm_before: Option<u64>,
    peak_reset: bool,
    hwm_during: Option<u64>,
    rss_after: Option<u64>,
    rss_settled: Option<u64>,
    /// (file names, bytes) posted to the log channel, sent by DM, in the reply
    log_files: (Vec<String>, u64),
    dm_files: (Vec<String>, u64),
    reply_files: (Vec<String>, u64),
    stored: Option<Stored>,
}

/// The transcript in the database, and what it costs to use it here.
struct Stored {
    bytes: usize,
    message_count: u32,
    messages: usize,
    users: usize,
    assets: usize,
    asset_bytes: usize,
    omitted: usize,
    decode: Duration,
    encode: Duration,
    encoded_bytes: usize,
    render: Duration,
    html_bytes: usize,
    parts: Duration,
    part_sizes: Vec<usize>,
}

fn files_of(msgs: &[fakecord::Message]) -> (Vec<String>, u64) {
    let mut names = Vec::new();
    let mut bytes = 0;
    for m in msgs {
        for a in &m.attachments {
            names.push(a.filename.clone());
            bytes += a.data.len() as u64;
        }
    }
    (names, bytes)
}

/// Sends `/ticket <sub>` as staff in `channel` and measures it until the reply.
async fn measure(
    name: &'static str,
    fake: &FakeDiscord,
    bot: &mut Bot,
    store: &dyn TicketStore,
    ticket: &Ticket,
    channel: u64,
) -> Result<Op, String> {
    tokio::time::sleep(SETTLE).await;
    let (rss_before, hwm_before) = memory_kib(bot.pid);
    let peak_reset = reset_peak(bot.pid);
    let log_before = fake.messages(ids::LOG_CHANNEL).len();
    let dm_before = fake.dm_messages(ids::ALICE).len();
    let first_request = fake.with_state(|st| st.requests.len());
    let cpu_before = cpu_secs(bot.pid);

    let id = slash(fake, ids::STAFF, channel, name, &[]);
    let t0 = Instant::now();
    let mut next = first_request;
    let mut timeline: Vec<Seen> = Vec::new();
    let mut ack = None;
    let waiting = fake.wait_for(
        |st| {
            let now = t0.elapsed();
            for r in &st.requests[next..] {
                timeline.push(Seen {
                    at: now,
                    route: route_of(r, channel),
                    status: r.status,
                });
            }
            next = st.requests.len();
            if ack.is_none()
                && st
                    .interactions
                    .get(&id)
                    .is_some_and(|i| !i.callbacks.is_empty())
            {
                ack = Some(now);
            }
            st.replies(id)
                .into_iter()
                .find(|m| {
                    m.flags & fakecord::LOADING == 0
                        && (!m.content.is_empty() || !m.attachments.is_empty())
                })
                .map(|m| (now, m.clone()))
        },
        OP_TIMEOUT,
    );
    let (took, reply) = tokio::select! {
        r = waiting => r.map_err(|e| format!("/ticket {name}: {e}\n{}", bot.output_tail(30)))?,
        status = bot.child.wait() => {
            return Err(format!("the bot exited ({status:?}) during /ticket {name}:\n{}", bot.output_tail(40)));
        }
    };
    let cpu_after = cpu_secs(bot.pid);
    let (rss_after, hwm_during) = memory_kib(bot.pid);

    let pages: Vec<&Seen> = timeline
        .iter()
        .filter(|s| s.route == "GET /channels/{ticket}/messages")
        .collect();
    let history_pages = pages.len();
    let first_page = pages.first().map(|s| s.at);
    let last_page = pages.last().map(|s| s.at);

    let log_files = files_of(&fake.messages(ids::LOG_CHANNEL)[log_before..]);
    let dm_files = files_of(&fake.dm_messages(ids::ALICE)[dm_before..]);
    let reply_files = files_of(std::slice::from_ref(&reply));

    tokio::time::sleep(SETTLE).await;
    let (rss_settled, _) = memory_kib(bot.pid);

    let stored = match store.get_transcript(ticket.id).await {
        Ok(Some(blob)) => Some(use_stored(&blob.data, blob.message_count)?),
        Ok(None) => None,
        Err(e) => return Err(format!("get_transcript: {e}")),
    };
    Ok(Op {
        name,
        reply: reply.text(),
        ack,
        took,
        timeline,
        history_pages,
        first_page,
        last_page,
        bot_cpu: cpu_before.zip(cpu_after).map_or(f64::NAN, |(a, b)| b - a),
        rss_before,
        hwm_before,
        peak_reset,
        hwm_during,
        rss_after,
        rss_settled,
        log_files,
        dm_files,
        reply_files,
        stored,
    })
}

/// Decodes, re-encodes and renders a stored transcript, timing each.
fn use_stored(data: &[u8], message_count: u32) -> Result<Stored, String> {
    let t = Instant::now();
    let transcript = tr::decode(data).map_err(|e| format!("decode the stored transcript: {e}"))?;
    let decode = t.elapsed();
    let t = Instant::now();
    let encoded_bytes = tr::encode(&transcript).len();
    let encode = t.elapsed();
    let t = Instant::now();
    let html = tr::render_html(&transcript);
    let render = t.elapsed();
    let t = Instant::now();
    let part_sizes = tr::discord_parts(&transcript, PART_LIMIT)
        .iter()
        .map(|p| p.bytes.len())
        .collect();
    let parts = t.elapsed();
    Ok(Stored {
        bytes: data.len(),
        message_count,
        messages: transcript.messages.len(),
        users: transcript.users.len(),
        assets: transcript.assets.len(),
        asset_bytes: transcript.assets.iter().map(|a| a.data.len()).sum(),
        omitted: transcript.omitted.len(),
        decode,
        encode,
        encoded_bytes,
        render,
        html_bytes: html.len(),
        parts,
        part_sizes,
    })
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

// ----- output -----

fn opt_ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".into(), ms)
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn files(f: &(Vec<String>, u64)) -> String {
    if f.0.is_empty() {
        "-".into()
    } else {
        format!("{} ({})", mib(f.1), f.0.join(", "))
    }
}

/// The step after the last history page: downloads, encoding and storing (the gap), then
/// what the bot sent, with the time since the previous request.
fn print_timeline(op: &Op) {
    println!(
        "\n/ticket {}: requests the bot made (ms after the command; history pages folded)",
        op.name
    );
    let mut prev = Duration::ZERO;
    let mut i = 0;
    while i < op.timeline.len() {
        let s = &op.timeline[i];
        let mut j = i + 1;
        while j < op.timeline.len() && op.timeline[j].route == s.route {
            j += 1;
        }
        let last = &op.timeline[j - 1];
        let failed = op.timeline[i..j]
            .iter()
            .filter(|s| !(200..300).contains(&s.status))
            .count();
        let times = if j - i > 1 {
            format!("{:>7}..{:<7}", ms(s.at), ms(last.at))
        } else {
            format!("{:>7}  {:<7}", ms(s.at), "")
        };
        println!(
            "  {times} (+{:>6}) {:>4}× {}{}",
            ms(s.at.saturating_sub(prev)),
            j - i,
            s.route,
            if failed > 0 {
                format!(" ({failed} failed)")
            } else {
                String::new()
            }
        );
        prev = last.at;
        i = j;
    }
    println!("  {:>7}  {:<7} reply seen", ms(op.took), "");
}

fn report(args: &Args, r: &Report) {
    let mut header = vec!["metric".to_owned()];
    header.extend(r.ops.iter().map(|o| format!("/ticket {}", o.name)));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |name: &str, f: &dyn Fn(&Op) -> String| {
        let mut v = vec![name.to_owned()];
        v.extend(r.ops.iter().map(f));
        rows.push(v);
    };
    row("ticket", &|o| {
        if o.name == "archive" {
            "closed, then archived".into()
        } else {
            "open (left open)".into()
        }
    });
    row("command → defer callback (ms)", &|o| opt_ms(o.ack));
    row("command → reply (ms)", &|o| ms(o.took));
    row(
        "  history pages fetched (GET /channels/{id}/messages)",
        &|o| o.history_pages.to_string(),
    );
    row(
        "  first page → last page (ms)",
        &|o| match (o.first_page, o.last_page) {
            (Some(a), Some(b)) => ms(b - a),
            _ => "-".into(),
        },
    );
    row(
        "  last page → reply (ms): downloads, encode, store, post",
        &|o| {
            o.last_page
                .map_or("-".into(), |l| ms(o.took.saturating_sub(l)))
        },
    );
    row("  requests made", &|o| o.timeline.len().to_string());
    row("bot CPU during the command (s)", &|o| {
        format!("{:.2}", o.bot_cpu)
    });
    row("bot VmRSS before", &|o| kib(o.rss_before));
    row("bot VmHWM before (since start)", &|o| kib(o.hwm_before));
    row("bot VmHWM during the command (peak)", &|o| {
        let s = kib(o.hwm_during);
        if o.peak_reset {
            s
        } else {
            format!("{s} (peak not reset: since start)")
        }
    });
    row("bot VmRSS right after the reply", &|o| kib(o.rss_after));
    row("bot VmRSS 2 s later", &|o| kib(o.rss_settled));
    row("stored transcript (compressed)", &|o| {
        o.stored
            .as_ref()
            .map_or("none".into(), |s| mib(s.bytes as u64))
    });
    row("  messages (row / decoded), users", &|o| {
        o.stored.as_ref().map_or("-".into(), |s| {
            format!("{} / {}, {}", s.message_count, s.messages, s.users)
        })
    });
    row("  assets kept (files + avatars), bytes; left out", &|o| {
        o.stored.as_ref().map_or("-".into(), |s| {
            format!("{}, {}; {}", s.assets, mib(s.asset_bytes as u64), s.omitted)
        })
    });
    row("  decode here (ms)", &|o| {
        o.stored.as_ref().map_or("-".into(), |s| ms(s.decode))
    });
    row("  encode again here (ms) → bytes", &|o| {
        o.stored.as_ref().map_or("-".into(), |s| {
            format!("{} → {}", ms(s.encode), mib(s.encoded_bytes as u64))
        })
    });
    row("  render_html here (ms)", &|o| {
        o.stored.as_ref().map_or("-".into(), |s| ms(s.render))
    });
    row("  rendered HTML size", &|o| {
        o.stored
            .as_ref()
            .map_or("-".into(), |s| mib(s.html_bytes as u64))
    });
    row("  discord_parts here (ms) → parts", &|o| {
        o.stored.as_ref().map_or("-".into(), |s| {
            format!(
                "{} → {}",
                ms(s.parts),
                s.part_sizes
                    .iter()
                    .map(|b| mib(*b as u64))
                    .collect::<Vec<_>>()
                    .join(" + ")
            )
        })
    });
    row("HTML posted to the log channel", &|o| files(&o.log_files));
    row("HTML sent to the creator by DM", &|o| files(&o.dm_files));
    row("HTML in the reply", &|o| files(&o.reply_files));
    print_table(
        &format!(
            "ticketbot transcript benchmark: {} seeded messages + {} images of ~{} KiB (SQLite)",
            args.messages, args.images, args.image_kib
        ),
        &header,
        &rows,
    );
    for o in &r.ops {
        println!("\n/ticket {} replied: {}", o.name, o.reply);
    }
    for o in &r.ops {
        print_timeline(o);
    }
    println!(
        "\nfakecord default config: rate limits are NOT modelled. Discord does not publish the limit of \
         GET /channels/{{id}}/messages; it is seen at 5 requests per 5 s per channel, i.e. about {} s \
         more for these {} pages on Discord. Fake, bot and bench share the machine.",
        r.ops.first().map_or(0, |o| o.history_pages.saturating_sub(5)),
        r.ops.first().map_or(0, |o| o.history_pages)
    );
    println!(
        "bot VmRSS 2 s after start: {}; images posted: {} in {} messages; filling a channel took {} ms",
        kib(r.rss_idle),
        mib(r.image_bytes),
        args.images,
        ms(r.fill)
    );
    println!(
        "load average (1/5/15 min): {} at start, {} at end (2 cores)",
        r.load_start, r.load_end
    );
    println!(
        "bot WARN/ERROR lines: {}; exit: {}",
        r.warning_count,
        r.exit.map_or_else(|| "?".into(), |s| s.to_string())
    );
    for w in &r.warnings {
        println!("  {w}");
    }
    let bin = env!("CARGO_BIN_EXE_bot");
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
    println!("bot binary: {bin} ({})", mib(size));

    let op_json = |o: &Op| -> Value {
        json!({
            "ack_ms": o.ack.map(|d| d.as_secs_f64() * 1000.0),
            "reply_ms": o.took.as_secs_f64() * 1000.0,
            "history_pages": o.history_pages,
            "pages_ms": match (o.first_page, o.last_page) {
                (Some(a), Some(b)) => Some((b - a).as_secs_f64() * 1000.0),
                _ => None,
            },
            "after_pages_ms": o.last_page.map(|l| o.took.saturating_sub(l).as_secs_f64() * 1000.0),
            "requests": o.timeline.len(),
            "bot_cpu_s": (o.bot_cpu * 1000.0).round() / 1000.0,
            "rss_before_kib": o.rss_before,
            "hwm_before_kib": o.hwm_before,
            "hwm_during_kib": o.hwm_during,
            "peak_reset": o.peak_reset,
            "rss_after_kib": o.rss_after,
            "rss_settled_kib": o.rss_settled,
            "stored_bytes": o.stored.as_ref().map(|s| s.bytes),
            "stored_messages": o.stored.as_ref().map(|s| s.messages),
            "assets": o.stored.as_ref().map(|s| s.assets),
            "asset_bytes": o.stored.as_ref().map(|s| s.asset_bytes),
            "omitted": o.stored.as_ref().map(|s| s.omitted),
            "decode_ms": o.stored.as_ref().map(|s| s.decode.as_secs_f64() * 1000.0),
            "render_ms": o.stored.as_ref().map(|s| s.render.as_secs_f64() * 1000.0),
            "html_bytes": o.stored.as_ref().map(|s| s.html_bytes),
            "parts": o.stored.as_ref().map(|s| s.part_sizes.clone()),
            "log_html_bytes": o.log_files.1,
            "dm_html_bytes": o.dm_files.1,
            "reply_html_bytes": o.reply_files.1,
        })
    };
    let mut ops = serde_json::Map::new();
    for o in &r.ops {
        ops.insert(o.name.to_owned(), op_json(o));
    }
    let line = json!({
        "bench": "transcript",
        "backend": "sqlite",
        "rate_limits_modelled": false,
        "messages": args.messages,
        "images": args.images,
        "image_kib": args.image_kib,
        "image_bytes": r.image_bytes,
        "rss_idle_kib": r.rss_idle,
        "load_start": r.load_start,
        "load_end": r.load_end,
        "bot_warnings": r.warning_count,
        "ops": ops,
    });
    println!("\n{line}");
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
