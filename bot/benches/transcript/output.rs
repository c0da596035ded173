//! The report: a table of both commands, their request timelines, and one JSON line.

use super::*;

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

pub(super) fn report(args: &Args, r: &Report) {
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
