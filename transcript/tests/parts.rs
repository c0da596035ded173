//! `discord_parts`: whole, without files, split.

mod common;

use ticketbot_transcript::*;

fn ids_in(html: &str) -> Vec<u64> {
    html.match_indices("<div class=\"msg")
        .map(|(i, _)| {
            let rest = &html[i..];
            let s = rest.find("id=\"m-").unwrap() + 6;
            let e = s + rest[s..].find('"').unwrap();
            rest[s..e].parse().unwrap()
        })
        .collect()
}

#[test]
fn small_transcript_is_one_full_file() {
    let t = common::representative();
    let parts = discord_parts(&t, DISCORD_PART_LIMIT);
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].filename, "transcript-1b4e28ba.html");
    assert_eq!(parts[0].note, None);
    assert_eq!(parts[0].bytes, render_html(&t).into_bytes());
}

#[test]
fn images_left_out_when_too_big() {
    // 20 incompressible 200×200 images: ~2.3 MiB of PNG, ~3 MiB as base64.
    let t = common::synthetic(200, 20, 200, true);
    let full = render_html(&t);
    let limit = 1024 * 1024;
    assert!(full.len() > limit);
    let parts = discord_parts(&t, limit);
    assert_eq!(
        parts.len(),
        1,
        "{:?}",
        parts.iter().map(|p| &p.filename).collect::<Vec<_>>()
    );
    let p = &parts[0];
    assert_eq!(p.filename, "transcript-5e1f00aa.html");
    assert!(p.bytes.len() <= limit);
    let html = String::from_utf8(p.bytes.clone()).unwrap();
    let note = p.note.as_deref().unwrap();
    assert!(
        note.contains("images and files left out to stay under Discord's 10 MiB upload limit"),
        "{note}"
    );
    assert!(note.contains("`ticketctl transcript 5e1f00aa`"), "{note}");
    assert!(
        html.contains("image not included here; <code>ticketctl transcript 5e1f00aa</code> has it")
    );
    assert!(html.contains("Images and files are not included in this copy"));
    assert!(!html.contains("<img src=\"data:"), "no inline images left");
    // Avatars are small: kept.
    assert!(html.contains(".av-0{background-image:url(data:image/png;base64,"));
    assert_eq!(ids_in(&html).len(), 200);
}

#[test]
fn large_transcript_is_split_into_standalone_parts() {
    let t = common::synthetic(3000, 10, 64, true);
    let limit = 256 * 1024;
    let parts = discord_parts(&t, limit);
    assert!(parts.len() >= 3, "{}", parts.len());
    let n = parts.len();
    let mut all_ids = Vec::new();
    for (k, p) in parts.iter().enumerate() {
        assert_eq!(
            p.filename,
            format!("transcript-5e1f00aa-part-{}-of-{n}.html", k + 1)
        );
        assert!(
            p.bytes.len() <= limit,
            "part {} is {} bytes",
            k + 1,
            p.bytes.len()
        );
        let html = std::str::from_utf8(&p.bytes).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        assert!(html.contains(&format!("part {} of {n}", k + 1)));
        assert!(
            html.contains("Refund issued, customer confirmed."),
            "summary on every part"
        );
        let note = p.note.as_deref().unwrap();
        assert!(
            note.starts_with(&format!("part {} of {n} (messages ", k + 1)),
            "{note}"
        );
        let ids = ids_in(html);
        // The first message of each part has its header.
        assert!(html.contains(&format!("<div class=\"msg head\" id=\"m-{}\"", ids[0])));
        all_ids.extend(ids);
    }
    let expected: Vec<u64> = t.messages.iter().map(|m| m.id).collect();
    assert_eq!(all_ids, expected, "every message once, in order");
    // Parts are reasonably full (not one message each).
    let total: usize = parts.iter().map(|p| p.bytes.len()).sum();
    assert!(total / n > limit / 2, "average part {} bytes", total / n);
}

#[test]
fn ten_thousand_messages_with_images_fit_discord() {
    let t = common::synthetic(10_000, 100, 128, true);
    let parts = discord_parts(&t, DISCORD_PART_LIMIT);
    for p in &parts {
        assert!(
            p.bytes.len() <= DISCORD_PART_LIMIT,
            "{} {}",
            p.filename,
            p.bytes.len()
        );
    }
    let total_msgs: usize = parts
        .iter()
        .map(|p| ids_in(std::str::from_utf8(&p.bytes).unwrap()).len())
        .sum();
    assert_eq!(total_msgs, 10_000);
}

#[test]
fn encode_decode_large() {
    let t = common::synthetic(2000, 20, 64, true);
    let bytes = encode(&t);
    let back = decode(&bytes).unwrap();
    assert_eq!(back, t);
}

#[test]
fn budget_records_omissions() {
    let mut budget = AssetBudget::new(Limits::default());
    let sizes = [
        1024u64,
        9 * 1024 * 1024,
        8 * 1024 * 1024,
        8 * 1024 * 1024,
        8 * 1024 * 1024,
        8 * 1024 * 1024,
        8 * 1024 * 1024,
        8 * 1024 * 1024,
        8 * 1024 * 1024,
    ];
    let reasons: Vec<Option<String>> = sizes.iter().map(|&s| budget.admit(s).err()).collect();
    assert_eq!(reasons[0], None);
    assert_eq!(
        reasons[1].as_deref(),
        Some("larger than the 8 MiB per-file cap")
    );
    assert_eq!(reasons[7], None);
    assert_eq!(
        reasons[8].as_deref(),
        Some("transcript size cap of 50 MiB reached")
    );
    assert_eq!(budget.used(), 48 * 1024 * 1024 + 1024);
}
