//! Transcripts for the integration tests and the benchmark.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use ticketbot_transcript::*;
use uuid::Uuid;

pub fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_860_000 + secs, 0).unwrap()
}

/// A real PNG: a colour gradient, or noise (incompressible, for size tests).
pub fn png(width: u32, height: u32, seed: u32, noise: bool) -> Vec<u8> {
    let mut data = Vec::with_capacity((width * height * 3) as usize);
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    for y in 0..height {
        for x in 0..width {
            if noise {
                for _ in 0..3 {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    data.push(state as u8);
                }
            } else {
                let r = (x * 255 / width.max(1)) as u8;
                let g = (y * 255 / height.max(1)) as u8;
                let b = (seed.wrapping_mul(67) % 256) as u8;
                let ring = ((x as i64 - width as i64 / 2).pow(2)
                    + (y as i64 - height as i64 / 2).pow(2)) as u32
                    / (width.max(8) * 2);
                data.extend_from_slice(&[r ^ (ring as u8 & 0x20), g, b]);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&data).unwrap();
    }
    out
}

pub fn user(id: u64, name: &str, display: Option<&str>) -> User {
    User {
        id,
        name: name.into(),
        display_name: display.map(Into::into),
        avatar: None,
        bot: false,
        color: None,
    }
}

pub fn message(id: u64, author: u64, secs: i64, content: &str) -> Message {
    Message {
        id,
        author_id: author,
        timestamp: at(secs),
        edited_timestamp: None,
        content: content.into(),
        reply_to: None,
        embeds: vec![],
        attachments: vec![],
        pinned: false,
        system: None,
    }
}

pub fn image_attachment(id: u64, name: &str, data: &[u8], w: u32, h: u32) -> (Attachment, Asset) {
    (
        Attachment {
            id,
            filename: name.into(),
            content_type: Some("image/png".into()),
            size: data.len() as u64,
            asset: Some(id.to_string()),
            width: Some(w),
            height: Some(h),
        },
        Asset {
            id: id.to_string(),
            content_type: "image/png".into(),
            filename: name.into(),
            data: data.to_vec(),
        },
    )
}

pub fn summary(short: &str) -> Summary {
    Summary {
        ticket_id: Uuid::from_u128(0x1b4e28ba_2fa1_11d2_883f_0016d3cca427),
        short_id: short.into(),
        guild_id: 1_100_000_000_000_000_001,
        guild_name: Some("Acme Support".into()),
        channel_id: Some(1_200_000_000_000_000_001),
        channel_name: format!("ticket-{short}"),
        status: "closed".into(),
        creator_id: 1_000_000_000_000_000_001,
        claimed_by: Some(1_000_000_000_000_000_002),
        participants: vec![1_000_000_000_000_000_003],
        opened_at: at(0),
        closed_at: Some(at(5400)),
        closed_by: Some(1_000_000_000_000_000_002),
        close_reason: Some("Refund issued, customer confirmed.".into()),
        archived_at: Some(at(90_000)),
        archived_by: Some(1_000_000_000_000_000_009),
    }
}

pub const ALICE: u64 = 1_000_000_000_000_000_001;
pub const BOB: u64 = 1_000_000_000_000_000_002;
pub const CAROL: u64 = 1_000_000_000_000_000_003;
pub const BOT: u64 = 1_000_000_000_000_000_009;

fn people(t: &mut Transcript) {
    let mut alice = user(ALICE, "alice", Some("Alice Martin"));
    alice.avatar = Some("avatar-alice".into());
    let mut bob = user(BOB, "bob.support", Some("Bob (Support)"));
    bob.color = Some(0x3498db);
    bob.avatar = Some("avatar-bob".into());
    let carol = user(CAROL, "carol", None);
    let mut bot = user(BOT, "ticketbot", Some("Ticketbot"));
    bot.bot = true;
    bot.color = Some(0x5865f2);
    t.users = vec![alice, bob, carol, bot];
    t.assets.push(Asset {
        id: "avatar-alice".into(),
        content_type: "image/png".into(),
        filename: "alice.png".into(),
        data: png(64, 64, 7, false),
    });
    t.assets.push(Asset {
        id: "avatar-bob".into(),
        content_type: "image/png".into(),
        filename: "bob.png".into(),
        data: png(64, 64, 3, false),
    });
    t.roles = vec![NamedRef {
        id: 1_300_000_000_000_000_001,
        name: "Support Team".into(),
        color: Some(0xe67e22),
    }];
    t.channels = vec![NamedRef {
        id: 1_200_000_000_000_000_002,
        name: "faq".into(),
        color: None,
    }];
}

fn empty(short: &str) -> Transcript {
    Transcript {
        version: FORMAT_VERSION,
        generated_at: at(90_000),
        summary: summary(short),
        users: vec![],
        roles: vec![],
        channels: vec![],
        messages: vec![],
        assets: vec![],
        omitted: vec![],
    }
}

/// A short ticket with every feature: markdown, an image, an embed, a reply, an edited
/// message, a file, a left-out file, a system message.
pub fn representative() -> Transcript {
    let mut t = empty("1b4e28ba");
    people(&mut t);
    let mut m = vec![];
    let mut welcome = message(2_000_000_000_000_000_001, BOT, 1, "");
    welcome.content =
        "Welcome <@1000000000000000001>! <@&1300000000000000001> will be with you shortly.".into();
    welcome.embeds.push(Embed {
        title: Some("Ticket #1b4e28ba opened".into()),
        description: Some("Please describe your problem. A **staff member** will claim this ticket.\nSee <#1200000000000000002> for common answers.".into()),
        url: Some("https://example.com/tickets/1b4e28ba".into()),
        color: Some(0x5865f2),
        author: Some("Acme Support".into()),
        fields: vec![
            EmbedField { name: "Topic".into(), value: "Billing".into(), inline: true },
            EmbedField { name: "Priority".into(), value: "Normal".into(), inline: true },
            EmbedField { name: "Opened".into(), value: "<t:1795860001:f>".into(), inline: true },
        ],
        footer: Some("Ticketbot".into()),
        timestamp: Some(at(1)),
        image: None,
        thumbnail: Some("avatar-bob".into()),
    });
    m.push(welcome);
    let mut q = message(
        2_000_000_000_000_000_002,
        ALICE,
        40,
        "Hi! I was charged **twice** for my _annual_ plan :(\nOrder ids:\n- `A-1001`\n- `A-1002`",
    );
    q.edited_timestamp = Some(at(95));
    m.push(q);
    let (att, asset) = image_attachment(
        3_000_000_000_000_000_001,
        "invoice.png",
        &png(320, 180, 11, false),
        320,
        180,
    );
    let mut shot = message(
        2_000_000_000_000_000_003,
        ALICE,
        70,
        "Here is the invoice ||card ending 4242||:",
    );
    shot.attachments.push(att);
    t.assets.push(asset);
    shot.attachments.push(Attachment {
        id: 3_000_000_000_000_000_002,
        filename: "screen-recording.mp4".into(),
        content_type: Some("video/mp4".into()),
        size: 48 * 1024 * 1024,
        asset: None,
        width: None,
        height: None,
    });
    t.omitted.push(Omission {
        message_id: Some(shot.id),
        filename: "screen-recording.mp4".into(),
        size: 48 * 1024 * 1024,
        reason: "larger than the 8 MiB per-file cap".into(),
    });
    m.push(shot);
    let mut claim = message(2_000_000_000_000_000_004, BOB, 300, "");
    claim.system = Some("claimed the ticket".into());
    m.push(claim);
    let mut reply = message(
        2_000_000_000_000_000_005,
        BOB,
        330,
        "Thanks <@1000000000000000001>, I can see both charges.\n> charged **twice**\nI've refunded `A-1002`; it takes 3–5 days. Details: [refund policy](https://example.com/refunds)",
    );
    reply.reply_to = Some(2_000_000_000_000_000_002);
    m.push(reply);
    let mut log = message(
        2_000_000_000_000_000_006,
        BOB,
        360,
        "Log for the record:\n```json\n{\"order\": \"A-1002\", \"refund\": true}\n```",
    );
    log.attachments.push(Attachment {
        id: 3_000_000_000_000_000_003,
        filename: "refund-log.txt".into(),
        content_type: Some("text/plain".into()),
        size: 42,
        asset: Some("log".into()),
        width: None,
        height: None,
    });
    t.assets.push(Asset {
        id: "log".into(),
        content_type: "text/plain".into(),
        filename: "refund-log.txt".into(),
        data: b"2026-11-28 refund A-1002 issued by bob\n".to_vec(),
    });
    m.push(log);
    m.push(message(
        2_000_000_000_000_000_007,
        ALICE,
        5000,
        "# Thank you!\n~~I was worried~~ All good now 🎉 <:blobheart:123456789012345678>",
    ));
    let mut close = message(2_000_000_000_000_000_008, BOT, 5400, "");
    close.embeds.push(Embed {
        title: Some("Ticket closed".into()),
        description: Some(
            "Closed by <@1000000000000000002>: Refund issued, customer confirmed.".into(),
        ),
        color: Some(0xed4245),
        ..Default::default()
    });
    m.push(close);
    t.messages = m;
    t
}

/// `n` messages of varied markdown from a few authors; `images` of them carry a
/// `side`×`side` PNG (noise: incompressible).
pub fn synthetic(n: usize, images: usize, side: u32, noise: bool) -> Transcript {
    let mut t = empty("5e1f00aa");
    people(&mut t);
    const TEXTS: [&str; 8] = [
        "Hello, I have a problem with my **order** <@1000000000000000002>",
        "Could you check the logs? `error 500` happens when I click *pay*",
        "> quoted text from earlier\nand an answer below it with a link https://example.com/docs/page?id=42",
        "```rust\nfn main() {\n    println!(\"hello\");\n}\n```",
        "Thanks! __underlined__ ~~struck~~ ||spoiler|| and <#1200000000000000002>",
        "- first item\n- second item\n- third item with **bold**",
        "Sure, I'll take a look at it right away. It may take a few minutes; meanwhile please read the FAQ.",
        "ok",
    ];
    let authors = [ALICE, BOB, CAROL, BOT];
    let every = n.checked_div(images).map_or(usize::MAX, |e| e.max(1));
    let mut img_count = 0;
    for i in 0..n {
        let id = 4_000_000_000_000_000_000 + i as u64;
        let author = authors[(i / 3) % authors.len()];
        let mut m = message(id, author, i as i64 * 45, TEXTS[i % TEXTS.len()]);
        if i % 17 == 5 {
            m.reply_to = Some(id - 3);
        }
        if i % 29 == 0 {
            m.edited_timestamp = Some(at(i as i64 * 45 + 30));
        }
        if i % 97 == 1 {
            m.embeds.push(Embed {
                title: Some(format!("Status update {i}")),
                description: Some("The ticket is **in progress**.".into()),
                color: Some(0x2ecc71),
                fields: vec![EmbedField {
                    name: "Step".into(),
                    value: i.to_string(),
                    inline: true,
                }],
                ..Default::default()
            });
        }
        if img_count < images && i % every == 0 {
            let (att, asset) = image_attachment(
                5_000_000_000_000_000_000 + i as u64,
                &format!("image-{i}.png"),
                &png(side, side, i as u32, noise),
                side,
                side,
            );
            m.attachments.push(att);
            t.assets.push(asset);
            img_count += 1;
        }
        t.messages.push(m);
    }
    t
}

/// Payloads that try to run script, add elements or fetch from `origin`
/// (`http://127.0.0.1:port`).
pub fn payloads(origin: &str) -> String {
    format!(
        "<script>document.title='pwned';window.__pwned=1;fetch('{origin}/script')</script>\
         <img src=\"{origin}/img\" onerror=\"window.__pwned=1;document.title='pwned'\">\
         <img src=x onerror=window.__pwned=1>\
         <iframe src=\"{origin}/iframe\"></iframe>\
         <link rel=stylesheet href=\"{origin}/css\">\
         <style>body{{background:url({origin}/bg)}}</style></style>\
         <script src=\"{origin}/js\"></script>\
         <svg onload=window.__pwned=1><marquee id=injected>x</marquee>\
         <object data=\"{origin}/object\"></object><embed src=\"{origin}/embed\">\
         <video src=\"{origin}/video\" autoplay></video><audio src=\"{origin}/audio\" autoplay></audio>\
         <meta http-equiv=refresh content=\"0;url={origin}/refresh\">\
         <base href=\"{origin}/base/\">\
         \" onmouseover=\"window.__pwned=1\" x=\" ' onfocus='window.__pwned=1' {{{{ 7*7 }}}} ${{alert(1)}} \
         [click](javascript:alert(1)) [data](data:text/html,<script>alert(1)</script>) \0 \u{202E}evil\u{202C} \
         [link]({origin}/masked) {origin}/bare <{origin}/angle>"
    )
}

/// [`representative`] with the payloads in every field a user controls.
pub fn hostile(origin: &str) -> Transcript {
    let mut t = representative();
    let h = payloads(origin);
    t.summary.short_id = h.clone();
    t.summary.channel_name = h.clone();
    t.summary.guild_name = Some(h.clone());
    t.summary.status = h.clone();
    t.summary.close_reason = Some(h.clone());
    for u in &mut t.users {
        u.name = h.clone();
        u.display_name = Some(h.clone());
    }
    for r in t.roles.iter_mut().chain(t.channels.iter_mut()) {
        r.name = h.clone();
    }
    for m in &mut t.messages {
        m.content = format!("{h}\n> {h}\n**{h}** ||{h}|| `{h}`\n```{h}```\n# {h}\n- {h}");
        if m.system.is_some() {
            m.system = Some(h.clone());
        }
        for a in &mut m.attachments {
            a.filename = h.clone();
            a.content_type = Some(h.clone());
        }
        for e in &mut m.embeds {
            e.title = Some(h.clone());
            e.description = Some(h.clone());
            e.url = Some(format!("javascript:alert(1)//{origin}"));
            e.author = Some(h.clone());
            e.footer = Some(h.clone());
            for f in &mut e.fields {
                f.name = h.clone();
                f.value = h.clone();
            }
        }
    }
    for a in &mut t.assets {
        a.filename = h.clone();
        if !a.content_type.starts_with("image/") {
            a.content_type = format!("text/html;{h}");
        }
    }
    for o in &mut t.omitted {
        o.filename = h.clone();
        o.reason = h.clone();
    }
    // An image attachment whose filename and content type are hostile but whose data is a
    // real image: still shown.
    t
}
