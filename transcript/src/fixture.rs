//! Transcripts for unit tests.

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use crate::model::*;

pub(crate) const HOSTILE: &str =
    "<script>document.title='pwned'</script><img src=x onerror=alert(1)>\
    \" onmouseover=\"x ' onfocus='y </style><script>alert(2)</script> {{ 7*7 }} ${alert(3)} \
    [click](javascript:alert(1)) \0 \u{202E}evil\u{202C}";

pub(crate) fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_860_000 + secs, 0).unwrap()
}

pub(crate) fn user(id: u64, name: &str) -> User {
    User {
        id,
        name: name.into(),
        display_name: None,
        avatar: None,
        bot: false,
        color: None,
    }
}

pub(crate) fn message(id: u64, author: u64, secs: i64, content: &str) -> Message {
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

pub(crate) fn summary() -> Summary {
    Summary {
        ticket_id: Uuid::from_u128(0x1b4e28ba_2fa1_11d2_883f_0016d3cca427),
        short_id: "1b4e28ba".into(),
        guild_id: 900,
        guild_name: Some("Support Server".into()),
        channel_id: Some(901),
        channel_name: "ticket-1b4e28ba".into(),
        status: "closed".into(),
        creator_id: 1,
        claimed_by: Some(2),
        participants: vec![3],
        opened_at: at(0),
        closed_at: Some(at(3600)),
        closed_by: Some(2),
        close_reason: Some("solved".into()),
        archived_at: None,
        archived_by: None,
    }
}

/// A small transcript with an image, a file, a left-out file, an embed and a reply.
pub(crate) fn basic() -> Transcript {
    let mut alice = user(1, "alice");
    alice.display_name = Some("Alice".into());
    alice.avatar = Some("avatar-1".into());
    let mut bob = user(2, "bob");
    bob.color = Some(0x3498db);
    let mut helper = user(3, "helper");
    helper.bot = true;
    let mut m1 = message(100, 1, 1, "Hello **world**, see <#901> and <@2>");
    m1.attachments = vec![
        Attachment {
            id: 500,
            filename: "shot.png".into(),
            content_type: Some("image/png".into()),
            size: 4,
            asset: Some("500".into()),
            width: Some(800),
            height: Some(600),
        },
        Attachment {
            id: 501,
            filename: "log.txt".into(),
            content_type: Some("text/plain".into()),
            size: 5,
            asset: Some("501".into()),
            width: None,
            height: None,
        },
        Attachment {
            id: 502,
            filename: "huge.zip".into(),
            content_type: None,
            size: 9 * 1024 * 1024,
            asset: None,
            width: None,
            height: None,
        },
    ];
    let m2 = message(101, 1, 30, "second in group");
    let mut m3 = message(102, 2, 60, "a reply");
    m3.reply_to = Some(100);
    m3.edited_timestamp = Some(at(90));
    let mut m4 = message(103, 3, 120, "");
    m4.embeds = vec![Embed {
        title: Some("Ticket opened".into()),
        description: Some("Use **buttons**".into()),
        url: Some("https://example.com/t".into()),
        color: Some(0x5865f2),
        author: Some("ticketbot".into()),
        fields: vec![EmbedField {
            name: "Topic".into(),
            value: "billing".into(),
            inline: true,
        }],
        footer: Some("footer text".into()),
        timestamp: Some(at(120)),
        image: Some("embed-img".into()),
        thumbnail: None,
    }];
    let mut m5 = message(104, 2, 200, "");
    m5.system = Some("pinned a message".into());
    Transcript {
        version: FORMAT_VERSION,
        generated_at: at(4000),
        summary: summary(),
        users: vec![alice, bob, helper],
        roles: vec![NamedRef {
            id: 700,
            name: "Support".into(),
            color: Some(0xe67e22),
        }],
        channels: vec![NamedRef {
            id: 901,
            name: "ticket-1b4e28ba".into(),
            color: None,
        }],
        messages: vec![m1, m2, m3, m4, m5],
        assets: vec![
            asset("500", "image/png", "shot.png", b"\x89PNG"),
            asset("501", "text/plain", "log.txt", b"hello"),
            asset("avatar-1", "image/png", "avatar.png", b"\x89PNG"),
            asset("embed-img", "image/jpeg", "e.jpg", b"\xff\xd8\xff"),
        ],
        omitted: vec![Omission {
            message_id: Some(100),
            filename: "huge.zip".into(),
            size: 9 * 1024 * 1024,
            reason: "larger than the 8 MiB per-file cap".into(),
        }],
    }
}

pub(crate) fn asset(id: &str, ct: &str, name: &str, data: &[u8]) -> Asset {
    Asset {
        id: id.into(),
        content_type: ct.into(),
        filename: name.into(),
        data: data.to_vec(),
    }
}

/// [`basic`] with hostile text in every field a user controls.
pub(crate) fn hostile() -> Transcript {
    let mut t = basic();
    let h = HOSTILE.to_string();
    t.summary.short_id = h.clone();
    t.summary.channel_name = h.clone();
    t.summary.guild_name = Some(h.clone());
    t.summary.close_reason = Some(h.clone());
    t.summary.status = h.clone();
    for u in &mut t.users {
        u.name = h.clone();
        u.display_name = Some(h.clone());
    }
    for r in t.roles.iter_mut().chain(t.channels.iter_mut()) {
        r.name = h.clone();
    }
    for m in &mut t.messages {
        m.content = format!("{h} <@1> <#901> <@&700> ```{h}``` `{h}` > {h}");
        m.system = m.system.as_ref().map(|_| h.clone());
        for a in &mut m.attachments {
            a.filename = h.clone();
        }
        for e in &mut m.embeds {
            e.title = Some(h.clone());
            e.description = Some(h.clone());
            e.url = Some("javascript:alert(1)".into());
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
        a.content_type = h.clone();
    }
    t.assets[0].content_type = "image/png".into();
    for o in &mut t.omitted {
        o.filename = h.clone();
        o.reason = h.clone();
    }
    t
}
