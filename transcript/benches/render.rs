//! Times encode / decode / render on a synthetic 10,000-message transcript with images.
//!
//! `cargo bench -p ticketbot-transcript --bench render` (release build). Prints one line per
//! step with the best of a few runs and the output size.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use ticketbot_transcript::*;

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        best = best.min(start.elapsed());
        last = Some(out);
    }
    (best, last.expect("at least one run"))
}

fn mib(n: usize) -> String {
    format!("{:.2} MiB", n as f64 / (1024.0 * 1024.0))
}

fn main() {
    let messages: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let start = Instant::now();
    // 100 incompressible 128×128 images (~48 KiB each) and 2 avatars.
    let t = common::synthetic(messages, 100, 128, true);
    let assets: usize = t.assets.iter().map(|a| a.data.len()).sum();
    println!(
        "transcript: {} messages, {} assets ({}), built in {:?}",
        t.messages.len(),
        t.assets.len(),
        mib(assets),
        start.elapsed()
    );
    let (d, bytes) = best(3, || encode(&t));
    println!(
        "encode       {:>9.1} ms  {}",
        d.as_secs_f64() * 1e3,
        mib(bytes.len())
    );
    let (d, back) = best(3, || decode(&bytes).expect("decodes"));
    assert_eq!(back.messages.len(), t.messages.len());
    println!("decode       {:>9.1} ms", d.as_secs_f64() * 1e3);
    let (d, html) = best(5, || render_html(&t));
    println!(
        "render_html  {:>9.1} ms  {}",
        d.as_secs_f64() * 1e3,
        mib(html.len())
    );
    let (d, text) = best(3, || render_text(&t));
    println!(
        "render_text  {:>9.1} ms  {}",
        d.as_secs_f64() * 1e3,
        mib(text.len())
    );
    let (d, json) = best(3, || render_json(&t));
    println!(
        "render_json  {:>9.1} ms  {}",
        d.as_secs_f64() * 1e3,
        mib(json.len())
    );
    let (d, parts) = best(3, || discord_parts(&t, DISCORD_PART_LIMIT));
    println!(
        "discord_parts{:>9.1} ms  {} part(s): {}",
        d.as_secs_f64() * 1e3,
        parts.len(),
        parts
            .iter()
            .map(|p| format!("{} {}", p.filename, mib(p.bytes.len())))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let text_only = common::synthetic(messages, 0, 0, false);
    let (d, small) = best(3, || encode(&text_only));
    println!(
        "encode (text only, {} avatars) {:.1} ms  {} (JSON {})",
        2,
        d.as_secs_f64() * 1e3,
        mib(small.len()),
        mib(render_json(&text_only).len())
    );
    // Linearity: half the messages should take about half the time.
    let half = common::synthetic(messages / 2, 50, 128, true);
    let (d_half, _) = best(5, || render_html(&half));
    let (d_full, _) = best(5, || render_html(&t));
    println!(
        "render_html {} msgs {:.1} ms, {} msgs {:.1} ms (ratio {:.2})",
        messages / 2,
        d_half.as_secs_f64() * 1e3,
        messages,
        d_full.as_secs_f64() * 1e3,
        d_full.as_secs_f64() / d_half.as_secs_f64()
    );
}
