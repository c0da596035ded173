//! End-to-end tests of a guild's long life: transcripts, archive (command, automatic,
//! `ticketctl`'s request), reopen of an archived ticket, purge, and Discord's channel limits
//! (full categories, a full guild), with the real `bot` binary against `fakecord`.

mod support;

use std::time::Duration;

use chrono::Utc;
use fakecord::{ids, Config, FakeUser, NewAttachment, UserMessage};
use support::*;
use ticketbot_common::store::{ArchiveQuery, Backend, PurgeQuery};
use ticketbot_common::ticket::{now, Ticket};
use ticketbot_common::{EventKind, TicketStatus};
use ticketbot_transcript as tr;

/// A 2×2 PNG (red, green / blue, white), as a user would upload.
fn png() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 2, 2);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().expect("png header");
        w.write_image_data(&[255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])
            .expect("png data");
    }
    out
}

const HOSTILE: &str =
    "<img src=x onerror=alert(1)> [click](javascript:alert(1)) </style><script>alert(2)</script>";

/// Alice and staff talk in the ticket: markdown, an image, a text file, a reply, an edit and a
/// hostile message. Returns the ids of the image message and of the hostile one.
fn converse(e: &E2e, channel: u64) -> (u64, u64) {
    let alice = e.user(ids::ALICE);
    let staff = e.user(ids::STAFF);
    let first = e.fake.post_rich_message(
        &alice,
        channel,
        UserMessage {
            content: "Hello! **bold** and ||spoiler|| and `code`".into(),
            ..UserMessage::default()
        },
    );
    let image = e.fake.post_rich_message(
        &alice,
        channel,
        UserMessage {
            content: "screenshot attached".into(),
            attachments: vec![
                NewAttachment {
                    filename: "screen.png".into(),
                    content_type: Some("image/png".into()),
                    data: png(),
                },
                NewAttachment {
                    filename: "log.txt".into(),
                    content_type: Some("text/plain".into()),
                    data: b"error 42\n".to_vec(),
                },
            ],
            ..UserMessage::default()
        },
    );
    e.fake.post_rich_message(
        &staff,
        channel,
        UserMessage {
            content: format!("<@{}> thanks, looking into it", ids::ALICE),
            reply_to: Some(first),
            ..UserMessage::default()
        },
    );
    e.fake
        .edit_user_message(first, "Hello! **bold** and ||spoiler|| and `code` (edited)");
    let hostile = e.fake.post_rich_message(
        &alice,
        channel,
        UserMessage {
            content: HOSTILE.into(),
            ..UserMessage::default()
        },
    );
    (image, hostile)
}

async fn close(e: &E2e, ticket: &Ticket, channel: u64, reason: &str) {
    let id = e.slash(ids::STAFF, channel, "close", &[("reason", reason.into())]);
    let text = e.reply_text(id).await;
    assert!(text.starts_with("Ticket closed"), "{text}");
    let row = e.ticket(ticket.id).await.expect("row");
    assert_eq!(row.status, TicketStatus::Closed);
}

async fn wait_archived(e: &E2e, ticket: &Ticket) -> Ticket {
    let store = e.store().await;
    eventually("the ticket is archived", Duration::from_secs(60), || {
        let store = store.clone();
        async move {
            store
                .get(ticket.id)
                .await
                .ok()
                .flatten()
                .filter(Ticket::is_archived)
        }
    })
    .await
}

/// The transcript saved in the database, decoded.
async fn stored_transcript(e: &E2e, ticket: &Ticket) -> tr::Transcript {
    let blob = e
        .store()
        .await
        .get_transcript(ticket.id)
        .await
        .expect("get_transcript")
        .unwrap_or_else(|| panic!("no transcript saved for {}", ticket.id));
    tr::decode(&blob.data).expect("the stored transcript decodes")
}

/// Everything an archive must leave: row archived without channel, channel gone, history,
/// transcript with the conversation and the attachment bytes, log entry with the file, DM.
async fn assert_archived(e: &E2e, ticket: &Ticket, channel: u64, image: u64, by: Option<u64>) {
    let row = wait_archived(e, ticket).await;
    assert_eq!(row.status, TicketStatus::Closed);
    assert_eq!(
        row.channel_id, None,
        "the archived ticket forgets its channel"
    );
    assert!(e.fake.channel(channel).is_none(), "the channel is deleted");
    let history = e.store().await.history(ticket.id).await.expect("history");
    let archived: Vec<_> = history
        .iter()
        .filter(|ev| ev.kind == EventKind::Archived)
        .collect();
    assert_eq!(archived.len(), 1, "{history:?}");
    assert_eq!(archived[0].actor_id, by);

    // CDN links expire: the transcript has the bytes.
    e.fake.expire_attachment_urls();
    let t = stored_transcript(e, ticket).await;
    assert_eq!(t.summary.ticket_id, ticket.id);
    assert_eq!(t.summary.creator_id, ids::ALICE);
    assert_eq!(t.summary.close_reason.as_deref(), Some("solved"));
    assert!(t.summary.archived_at.is_some());
    let texts: Vec<&str> = t.messages.iter().map(|m| m.content.as_str()).collect();
    assert!(texts.contains(&HOSTILE), "{texts:?}");
    assert!(
        texts.iter().any(|c| c.ends_with("(edited)")),
        "the edited text: {texts:?}"
    );
    let first = t
        .messages
        .iter()
        .find(|m| m.content.ends_with("(edited)"))
        .expect("edited message");
    assert!(first.edited_timestamp.is_some());
    assert!(
        t.messages.iter().any(|m| m.reply_to == Some(first.id)),
        "the reply points at its message"
    );
    let img = t
        .messages
        .iter()
        .find(|m| m.id == image)
        .expect("the image message");
    let asset_id = img.attachments[0]
        .asset
        .clone()
        .expect("the image was saved");
    assert_eq!(t.asset(&asset_id).expect("asset").data, png());
    let log_asset = img.attachments[1]
        .asset
        .clone()
        .expect("the text file was saved");
    assert_eq!(t.asset(&log_asset).expect("asset").data, b"error 42\n");
    assert!(
        t.users
            .iter()
            .any(|u| u.id == ids::ALICE && u.avatar.is_some()),
        "alice's avatar is saved"
    );
    // In messages order.
    let ids_in_order: Vec<u64> = t.messages.iter().map(|m| m.id).collect();
    let mut sorted = ids_in_order.clone();
    sorted.sort_unstable();
    assert_eq!(ids_in_order, sorted);

    // The log channel: the entry with the HTML file (posted just after the ticket is marked).
    let needle = format!("Ticket {} archived", ticket.short_id());
    eventually("the archive entry in the log channel", WAIT, || async {
        (!e.audit_entries(&needle).is_empty()).then_some(())
    })
    .await;
    let entries = e.audit_entries(&needle);
    assert_eq!(entries.len(), 1, "one archive entry");
    let file = entries[0]
        .attachments
        .iter()
        .find(|a| a.filename == format!("transcript-{}.html", ticket.short_id()))
        .expect("the transcript file in the log channel");
    let html = file.text();
    let at = html.find("onerror").unwrap_or(0);
    assert!(
        (html.contains("&lt;img src=x onerror=alert(1)&gt;")
            || html.contains("&#60;img src=x onerror=alert(1)&#62;"))
            && !html.contains("<img src=x"),
        "escaped: {}",
        &html[at.saturating_sub(80)..(at + 80).min(html.len())]
    );
    assert!(!html.contains("<script>alert(2)"), "never raw");

    // The creator's DM (sent after the log entry).
    eventually("the transcript in the creator's DMs", WAIT, || async {
        e.fake
            .dm_messages(ids::ALICE)
            .iter()
            .any(|m| {
                m.attachments
                    .iter()
                    .any(|a| a.filename.starts_with("transcript-"))
            })
            .then_some(())
    })
    .await;
}

async fn archive_by_command(backend: Backend) {
    let e = E2e::start(backend).await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    let (image, _) = converse(&e, channel);

    // Not while it is open.
    let id = e.slash(ids::STAFF, channel, "archive", &[]);
    assert_eq!(
        e.reply_text(id).await,
        "This ticket is still open; close it before archiving it"
    );
    close(&e, &t, channel, "solved").await;
    let id = e.slash(ids::STAFF, channel, "archive", &[]);
    let text = e.reply_text(id).await;
    assert!(
        text.starts_with(&format!("Ticket {} archived", t.short_id())),
        "{text}"
    );
    assert_archived(&e, &t, channel, image, Some(ids::STAFF)).await;

    // Staff still get the saved transcript, by id, from anywhere in the guild.
    let id = e.slash(
        ids::STAFF,
        ids::GENERAL_CHANNEL,
        "transcript",
        &[("id", t.short_id().into())],
    );
    let reply = e.reply(id).await;
    assert!(
        reply.text().contains("Transcript of ticket"),
        "{}",
        reply.text()
    );
    assert_eq!(reply.attachments.len(), 1);
    assert!(reply.attachments[0].text().contains("screenshot attached"));
    e.assert_consistent(&[]).await;
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_by_command_sqlite() {
    archive_by_command(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_by_command_mysql() {
    archive_by_command(Backend::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_by_command_mongodb() {
    archive_by_command(Backend::Mongodb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_closed_long_enough_are_archived_automatically() {
    let e = E2e::start_with(
        Backend::Sqlite,
        Config::default(),
        &[("ARCHIVE_CLOSED_AFTER", "3s")],
    )
    .await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    let (image, _) = converse(&e, channel);
    let (open_one, open_channel) = e.open_ticket(panel, ids::BOB).await;
    close(&e, &t, channel, "solved").await;
    assert_archived(&e, &t, channel, image, None).await;
    // An open ticket is never archived.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let row = e.ticket(open_one.id).await.unwrap();
    assert!(!row.is_archived() && row.channel_id == Some(open_channel));
    e.finish().await;
}

async fn archive_requested_by_ticketctl(backend: Backend) {
    let e = E2e::start(backend).await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    let (image, _) = converse(&e, channel);
    close(&e, &t, channel, "solved").await;
    // What `ticketctl archive --closed-before 0s` writes (the CLI's own tests run the binary).
    let store = e.store().await;
    let query = ArchiveQuery {
        guild_id: None,
        closed_before: Some(Utc::now()),
        requested: false,
    };
    assert_eq!(store.request_archive(&query, now()).await.unwrap(), 1);
    assert_archived(&e, &t, channel, image, None).await;
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_requested_by_ticketctl_sqlite() {
    archive_requested_by_ticketctl(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_requested_by_ticketctl_mysql() {
    archive_requested_by_ticketctl(Backend::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_requested_by_ticketctl_mongodb() {
    archive_requested_by_ticketctl(Backend::Mongodb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_an_archived_ticket_gives_it_a_new_channel_with_its_transcript() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    converse(&e, channel);
    close(&e, &t, channel, "solved").await;
    let id = e.slash(ids::STAFF, channel, "archive", &[]);
    e.reply_text(id).await;
    wait_archived(&e, &t).await;

    let id = e.slash(
        ids::STAFF,
        ids::GENERAL_CHANNEL,
        "reopen",
        &[("id", t.short_id().into())],
    );
    let text = e.reply_text(id).await;
    assert!(
        text.starts_with(&format!("Ticket {} reopened in <#", t.short_id())),
        "{text}"
    );
    let new_channel = channel_mention(&text).expect("the new channel");
    assert_ne!(new_channel, channel);
    let row = e.ticket(t.id).await.unwrap();
    assert_eq!(row.status, TicketStatus::Open);
    assert_eq!(row.channel_id, Some(new_channel));
    assert!(!row.is_archived());
    let ch = e.fake.channel(new_channel).expect("the new channel exists");
    assert_eq!(ch.name, t.channel_name());
    assert_eq!(ch.parent_id, Some(ids::OPEN_CATEGORY));
    assert!(e.fake.can_view(ids::ALICE, new_channel));
    let posted = e.fake.messages(new_channel);
    let with_file = posted
        .iter()
        .find(|m| !m.attachments.is_empty())
        .expect("the transcript is attached in the new channel");
    assert!(with_file.attachments[0]
        .text()
        .contains("screenshot attached"));
    assert!(history_has(&e, &t, EventKind::Reopened).await);
    // She can write again, and close again.
    close(&e, &t, new_channel, "solved").await;
    e.assert_consistent(&[]).await;
    e.finish().await;
}

async fn history_has(e: &E2e, t: &Ticket, kind: EventKind) -> bool {
    e.store()
        .await
        .history(t.id)
        .await
        .expect("history")
        .iter()
        .any(|ev| ev.kind == kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_staff_get_transcripts() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    converse(&e, channel);
    let (bobs, _) = e.open_ticket(panel, ids::BOB).await;
    let refused = format!(
        "Only support staff (<@&{}>) can use /ticket commands. To get help, use the Open Ticket button of the ticket panel.",
        ids::SUPPORT_ROLE
    );
    // The creator in her own ticket, and bob asking for alice's by id.
    let id = e.slash(ids::ALICE, channel, "transcript", &[]);
    assert_eq!(e.reply_text(id).await, refused);
    let id = e.slash(
        ids::BOB,
        ids::GENERAL_CHANNEL,
        "transcript",
        &[("id", t.short_id().into())],
    );
    assert_eq!(e.reply_text(id).await, refused);
    let id = e.slash(
        ids::BOB,
        ids::GENERAL_CHANNEL,
        "transcript",
        &[("id", t.id.to_string().into())],
    );
    let reply = e.reply(id).await;
    assert_eq!(reply.text(), refused);
    assert!(reply.attachments.is_empty());
    // Staff get it, ephemerally, made now from the channel.
    let id = e.slash(ids::STAFF, channel, "transcript", &[]);
    let reply = e.reply(id).await;
    assert_eq!(reply.attachments.len(), 1, "{}", reply.text());
    assert!(reply.attachments[0].text().contains("screenshot attached"));
    assert!(e
        .store()
        .await
        .get_transcript(t.id)
        .await
        .unwrap()
        .is_some());
    assert!(e
        .store()
        .await
        .get_transcript(bobs.id)
        .await
        .unwrap()
        .is_none());
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_keeps_the_transcript_and_purge_removes_it() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    converse(&e, channel);
    let id = e.slash(ids::STAFF, channel, "delete", &[]);
    let ask = e.reply(id).await;
    let confirm = ask
        .custom_ids()
        .into_iter()
        .find(|c| c.starts_with(DELETE_CONFIRM_PREFIX))
        .expect("confirm button");
    let click = e.click(ids::STAFF, channel, ask.id, &confirm);
    e.reply_text(click).await;
    eventually("the channel is deleted", WAIT, || async {
        e.fake.channel(channel).is_none().then_some(())
    })
    .await;
    assert!(e.ticket(t.id).await.is_none());
    let entries = e.audit_entries(&format!("Ticket {} deleted", t.short_id()));
    assert_eq!(entries.len(), 1);
    assert!(
        !entries[0].attachments.is_empty(),
        "the transcript goes with the entry"
    );
    let saved = stored_transcript(&e, &t).await;
    assert!(saved
        .messages
        .iter()
        .any(|m| m.content == "screenshot attached"));

    // Purge: the deleted ticket's history and transcript go for good.
    let store = e.store().await;
    let q = PurgeQuery {
        guild_id: None,
        closed_before: Some(Utc::now() + chrono::Duration::seconds(1)),
        user_id: None,
    };
    let dry = store.purge(&q, true, now()).await.unwrap();
    assert_eq!(dry.deleted_histories, 1);
    assert_eq!(dry.transcripts, 1);
    assert!(
        store.get_transcript(t.id).await.unwrap().is_some(),
        "dry run keeps it"
    );
    let done = store.purge(&q, false, now()).await.unwrap();
    assert_eq!(done.transcripts, 1);
    assert!(store.get_transcript(t.id).await.unwrap().is_none());
    assert!(store.history(t.id).await.unwrap().is_empty());
    e.finish().await;
}

const MANY_BASE: u64 = 1_210_000_000_000_300_000;

/// 60 tickets opened and closed while both categories are nearly full: every ticket opens,
/// closes, locks and moves; overflow categories are made beside the full ones, and deleted
/// again once archiving empties them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_tickets_in_nearly_full_categories() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    e.fake
        .add_filler_channels(Some(ids::OPEN_CATEGORY), 45, "old-open");
    e.fake
        .add_filler_channels(Some(ids::CLOSED_CATEGORY), 49, "old-closed");
    // Discord sometimes refuses before 50: the bot must trust the answer.
    e.fake.set_category_limit(ids::CLOSED_CATEGORY, 49);
    let mut tickets = Vec::new();
    for i in 0..60 {
        let u = FakeUser::new(MANY_BASE + i, &format!("user{i}"));
        e.fake.add_member(&u, &[ids::MEMBER_ROLE]);
        tickets.push(e.open_ticket(panel, u.id).await);
    }
    let store = e.store().await;
    let open_overflow = store
        .overflow_categories(ids::GUILD, ids::OPEN_CATEGORY)
        .await
        .unwrap();
    assert!(
        !open_overflow.is_empty(),
        "an overflow category was made for open tickets"
    );
    let first = e
        .fake
        .channel(open_overflow[0].category_id)
        .expect("it exists");
    assert_eq!(first.name, "Tickets 2");
    let base = e.fake.channel(ids::OPEN_CATEGORY).unwrap();
    assert_eq!(
        first.permission_overwrites, base.permission_overwrites,
        "same overwrites as the full category"
    );
    for (t, channel) in &tickets {
        close(&e, t, *channel, "done").await;
        let ch = e.fake.channel(*channel).expect("still there");
        assert_eq!(
            ch.overwrite(t.creator_id),
            Some(&locked(t.creator_id)),
            "locked"
        );
    }
    // Reopens move channels back into the (full) open category's overflow too.
    e.fake
        .add_filler_channels(Some(ids::OPEN_CATEGORY), 5, "more-open");
    for (t, channel) in tickets.iter().take(10) {
        let id = e.slash(ids::STAFF, *channel, "reopen", &[]);
        assert_eq!(e.reply_text(id).await, "Ticket reopened.");
        let ch = e.fake.channel(*channel).unwrap();
        assert_eq!(
            ch.overwrite(t.creator_id).map(|o| o.allow),
            Some(MEMBER_PERMS)
        );
    }
    let open_now = open_categories_of(&e).await;
    assert!(
        open_now.len() >= 2,
        "the full open category got an overflow again"
    );
    e.fake.with_state(|st| {
        for (_, channel) in tickets.iter().take(10) {
            let parent = st.channels[channel].parent_id.expect("in a category");
            assert!(open_now.contains(&parent), "moved back to an open category");
        }
        for c in &open_now {
            assert!(st.channels_in(*c).len() <= 50);
        }
    });
    for (t, channel) in tickets.iter().take(10) {
        close(&e, t, *channel, "done").await;
    }
    let closed_overflow = store
        .overflow_categories(ids::GUILD, ids::CLOSED_CATEGORY)
        .await
        .unwrap();
    let closed_categories: Vec<u64> = std::iter::once(ids::CLOSED_CATEGORY)
        .chain(closed_overflow.iter().map(|c| c.category_id))
        .collect();
    assert!(
        closed_overflow.len() >= 2,
        "60 closed channels need two more categories"
    );
    e.fake.with_state(|st| {
        for (_, channel) in &tickets {
            let parent = st.channels[channel].parent_id.expect("in a category");
            assert!(
                closed_categories.contains(&parent),
                "moved to a closed category"
            );
        }
        for c in &closed_categories {
            assert!(st.channels_in(*c).len() <= 50);
        }
    });
    // Open overflow categories emptied by the moves are gone.
    eventually(
        "empty open overflow categories are deleted",
        WAIT,
        || async {
            let left = store
                .overflow_categories(ids::GUILD, ids::OPEN_CATEGORY)
                .await
                .unwrap();
            left.iter()
                .all(|c| e.fake.channel(c.category_id).is_none())
                .then_some(())
                .filter(|()| left.is_empty())
        },
    )
    .await;
    // Archiving everything empties the closed overflow categories, which then go too.
    let q = ArchiveQuery {
        guild_id: None,
        closed_before: Some(Utc::now()),
        requested: false,
    };
    assert_eq!(store.request_archive(&q, now()).await.unwrap(), 60);
    eventually(
        "every ticket is archived",
        Duration::from_secs(240),
        || async {
            (store
                .count_archivable(&ArchiveQuery {
                    requested: true,
                    ..ArchiveQuery::default()
                })
                .await
                .unwrap()
                == 0)
                .then_some(())
        },
    )
    .await;
    eventually("closed overflow categories are deleted", WAIT, || async {
        let left = store
            .overflow_categories(ids::GUILD, ids::CLOSED_CATEGORY)
            .await
            .unwrap();
        (left.is_empty()
            && closed_overflow
                .iter()
                .all(|c| e.fake.channel(c.category_id).is_none()))
        .then_some(())
    })
    .await;
    e.assert_consistent(&[]).await;
    e.finish().await;
}

async fn open_categories_of(e: &E2e) -> Vec<u64> {
    std::iter::once(ids::OPEN_CATEGORY)
        .chain(
            e.store()
                .await
                .overflow_categories(ids::GUILD, ids::OPEN_CATEGORY)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.category_id),
        )
        .collect()
}

fn locked(creator: u64) -> fakecord::Overwrite {
    fakecord::Overwrite {
        id: creator,
        kind: fakecord::OverwriteKind::Member,
        allow: fakecord::perms::VIEW_CHANNEL | fakecord::perms::READ_MESSAGE_HISTORY,
        deny: fakecord::perms::SEND_MESSAGES | fakecord::perms::ATTACH_FILES,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_channel_is_never_deleted() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    converse(&e, channel);
    close(&e, &t, channel, "solved").await;
    // Discord refuses the history (a permission taken away): nothing may be lost.
    e.fake
        .fail_next("GET /channels/*/messages", fakecord::FaultKind::Status(403));
    let id = e.slash(ids::STAFF, channel, "archive", &[]);
    let text = e.reply_text(id).await;
    assert!(
        text.starts_with("I couldn't read the channel's messages, so nothing was deleted"),
        "{text}"
    );
    assert!(e.fake.channel(channel).is_some(), "the channel is kept");
    let row = e.ticket(t.id).await.unwrap();
    assert!(!row.is_archived());
    assert_eq!(row.channel_id, Some(channel));
    assert!(e
        .store()
        .await
        .get_transcript(t.id)
        .await
        .unwrap()
        .is_none());
    // And a delete is refused the same way.
    e.fake
        .fail_next("GET /channels/*/messages", fakecord::FaultKind::Status(403));
    let id = e.slash(ids::STAFF, channel, "delete", &[]);
    let ask = e.reply(id).await;
    let confirm = ask
        .custom_ids()
        .into_iter()
        .find(|c| c.starts_with(DELETE_CONFIRM_PREFIX))
        .expect("confirm button");
    let click = e.click(ids::STAFF, channel, ask.id, &confirm);
    let text = e.reply_text(click).await;
    assert!(text.contains("so nothing was deleted"), "{text}");
    assert!(e.fake.channel(channel).is_some());
    assert!(e.ticket(t.id).await.is_some());
    // Once Discord answers again, the archive goes through.
    let id = e.slash(ids::STAFF, channel, "archive", &[]);
    assert!(e.reply_text(id).await.contains("archived"));
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_dms_do_not_stop_an_archive() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    converse(&e, channel);
    e.fake.close_dms(ids::ALICE);
    close(&e, &t, channel, "solved").await;
    let id = e.slash(ids::STAFF, channel, "archive", &[]);
    assert!(e.reply_text(id).await.contains("archived"));
    wait_archived(&e, &t).await;
    assert_eq!(
        e.audit_entries(&format!("Ticket {} archived", t.short_id()))
            .len(),
        1
    );
    assert!(e.fake.dm_messages(ids::ALICE).is_empty());
    e.wait_for_log("the creator's DMs are closed").await;
    e.finish().await;
}

/// Random bytes do not compress: what Discord sees is what the transcript weighs.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_transcript_stays_under_discords_upload_limit() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    let alice = e.user(ids::ALICE);
    for i in 0..3 {
        e.fake.post_rich_message(
            &alice,
            channel,
            UserMessage {
                content: format!("photo {i}"),
                attachments: vec![NewAttachment {
                    filename: format!("photo{i}.jpg"),
                    content_type: Some("image/jpeg".into()),
                    data: noise(4 * 1024 * 1024, i + 1),
                }],
                ..UserMessage::default()
            },
        );
    }
    close(&e, &t, channel, "solved").await;
    let id = e.slash(ids::STAFF, channel, "archive", &[]);
    assert!(e.reply_text(id).await.contains("archived"));
    wait_archived(&e, &t).await;
    // The database keeps every byte.
    let saved = stored_transcript(&e, &t).await;
    assert_eq!(
        saved
            .assets
            .iter()
            .filter(|a| a.filename.starts_with("photo"))
            .count(),
        3
    );
    // Discord gets what fits, and is told so.
    let entry = e
        .audit_entries(&format!("Ticket {} archived", t.short_id()))
        .pop()
        .expect("the archive entry");
    let total: usize = entry.attachments.iter().map(|a| a.data.len()).sum();
    assert!(
        total > 0 && total <= 10 * 1024 * 1024,
        "{total} bytes posted"
    );
    assert!(
        entry.content.contains("ticketctl transcript"),
        "the message says where the rest is: {}",
        entry.content
    );
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_guild_says_so_alerts_staff_once_and_recovers() {
    let e = E2e::start_with(
        Backend::Sqlite,
        Config::default(),
        &[("ARCHIVE_CLOSED_AFTER", "0")],
    )
    .await;
    let panel = e.post_panel().await;
    let room = 500 - e.fake.guild_channel_count();
    let fillers = e.fake.add_filler_channels(None, room, "filler");
    assert_eq!(e.fake.guild_channel_count(), 500);
    let rows_before = all_tickets(e.store().await.as_ref()).await.len();
    let mut texts = Vec::new();
    for user in [ids::ALICE, ids::BOB] {
        let click = e.click(user, ids::PANEL_CHANNEL, panel, OPEN_BUTTON);
        texts.push(e.reply_text(click).await);
    }
    for text in &texts {
        assert!(
            text.starts_with("No ticket can be opened right now: this server has reached Discord's limit of 500 channels."),
            "{text}"
        );
    }
    assert_eq!(
        all_tickets(e.store().await.as_ref()).await.len(),
        rows_before,
        "nothing saved"
    );
    let alerts = e.audit_entries("Nobody can open a ticket");
    assert_eq!(alerts.len(), 1, "one alert, not one per click");
    assert!(alerts[0]
        .content
        .contains(&format!("<@&{}>", ids::SUPPORT_ROLE)));
    assert_eq!(e.fake.guild_channel_count(), 500, "nothing half-made");

    // Room is freed: opening works again, no restart.
    e.fake.delete_channel_direct(fillers[0]);
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    assert_eq!(e.ticket(t.id).await.unwrap().channel_id, Some(channel));
    e.assert_consistent(&[]).await;
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_guild_archives_its_oldest_closed_ticket_to_make_room() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    let (old, old_channel) = e.open_ticket(panel, ids::BOB).await;
    close(&e, &old, old_channel, "done").await;
    let room = 500 - e.fake.guild_channel_count();
    e.fake.add_filler_channels(None, room, "filler");
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    assert!(e.fake.channel(channel).is_some());
    let old_row = wait_archived(&e, &old).await;
    assert_eq!(old_row.channel_id, None);
    assert!(e.fake.channel(old_channel).is_none());
    assert!(e
        .store()
        .await
        .get_transcript(old.id)
        .await
        .unwrap()
        .is_some());
    assert_eq!(e.ticket(t.id).await.unwrap().status, TicketStatus::Open);
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_content_intent_says_what_to_enable_and_exits_non_zero() {
    let config = Config {
        message_content_enabled: false,
        ..Config::default()
    };
    let mut e = E2e::prepare(TestDb::new(Backend::Sqlite), config, &[]).await;
    e.spawn_only();
    let status = e
        .bot()
        .wait_exit(Duration::from_secs(30))
        .await
        .expect("the bot exits when Discord refuses the intent");
    assert!(!status.success(), "exit status {status:?}");
    let out = e.output();
    assert!(out.contains("gateway close 4014"), "{out}");
    assert!(out.contains("MESSAGE CONTENT INTENT"), "{out}");
    assert_no_token("bot output", &out);
}

/// A close reason longer than an embed field (from `ticketctl force-close`, which has no cap,
/// or a client that ignores the command's max_length) never breaks an answer, a notice or the
/// audit entry: each is cut to Discord's limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_reasons_are_cut_to_discords_limits() {
    let e = E2e::start(Backend::Sqlite).await;
    let reason_option = e.fake.commands()[0]["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "close")
        .and_then(|c| c["options"].as_array().cloned())
        .unwrap_or_default();
    assert_eq!(reason_option[0]["max_length"], 1000, "{reason_option:?}");
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    let long = "why ".repeat(1200);
    let id = e.slash(
        ids::STAFF,
        channel,
        "close",
        &[("reason", long.clone().into())],
    );
    assert!(e.reply_text(id).await.starts_with("Ticket closed"));
    let entry = e
        .audit_entries(&format!("Ticket {} closed", t.short_id()))
        .pop()
        .expect("the audit entry was accepted by Discord");
    let details = entry.embeds[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Details")
        .expect("details")["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(details.chars().count(), 1024);
    assert!(details.ends_with('…'));
    let notice = e
        .fake
        .messages(channel)
        .into_iter()
        .rev()
        .find(|m| m.text().contains("Ticket closed by"))
        .expect("the close notice was accepted by Discord");
    assert!(
        notice.embeds[0]["description"]
            .as_str()
            .unwrap()
            .chars()
            .count()
            <= 4096
    );
    let id = e.slash(ids::STAFF, channel, "info", &[]);
    let info = e.reply(id).await;
    let reason = info.embeds[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Reason")
        .expect("reason")["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(reason.chars().count(), 1024);
    // The database keeps the whole reason.
    assert_eq!(
        e.ticket(t.id).await.unwrap().close_reason.as_deref(),
        Some(long.as_str())
    );
    e.finish().await;
}

/// The delete confirmation names its ticket: clicked anywhere but that ticket's channel (a
/// forged or replayed interaction), it deletes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_confirmation_only_works_in_its_ticket() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    let (_, other) = e.open_ticket(panel, ids::BOB).await;
    let id = e.slash(ids::STAFF, channel, "delete", &[]);
    let ask = e.reply(id).await;
    let confirm = ask
        .custom_ids()
        .into_iter()
        .find(|c| c.starts_with(DELETE_CONFIRM_PREFIX))
        .expect("confirm button");
    for place in [other, ids::GENERAL_CHANNEL] {
        let click = e.click(ids::STAFF, place, ask.id, &confirm);
        let text = e.reply_text(click).await;
        assert!(
            text.starts_with("This button belongs to another ticket's channel"),
            "{text}"
        );
    }
    assert!(e.fake.channel(channel).is_some());
    assert!(e.ticket(t.id).await.is_some());
    let click = e.click(ids::STAFF, channel, ask.id, &confirm);
    assert_eq!(
        e.reply_text(click).await,
        format!("Ticket {} deleted.", t.short_id())
    );
    e.finish().await;
}

/// With GUILD_ID set, a click delivered from another guild, by that guild's administrator, is
/// ignored: they are not our staff, and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicks_from_another_guild_are_ignored() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    let other_guild = ids::GUILD + 999;
    let bob = e.user(ids::BOB);
    let mut sent = Vec::new();
    for button in [CLAIM_BUTTON, CLOSE_BUTTON] {
        sent.push(
            e.fake
                .click_button_from_guild(&bob, other_guild, channel, button),
        );
    }
    sent.push(
        e.fake
            .click_button_from_guild(&bob, other_guild, ids::PANEL_CHANNEL, OPEN_BUTTON),
    );
    // The same click from our guild is answered at once, so a second is plenty.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for id in sent {
        assert!(
            e.fake.interaction(id).unwrap().callbacks.is_empty(),
            "interaction {id} was answered"
        );
    }
    let row = e.ticket(t.id).await.unwrap();
    assert_eq!((row.status, row.claimed_by), (TicketStatus::Open, None));
    assert_eq!(all_tickets(e.store().await.as_ref()).await.len(), 1);
    e.finish_with(Checks {
        allow_unanswered: true,
        ..Checks::default()
    })
    .await;
}

/// A row that says channel `0` (written by another tool; serenity panics on id 0) must not
/// stop the background work: a force-close made after it is still applied to its channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_channel_id_in_the_database_does_not_stop_the_bot() {
    let e = E2e::start(Backend::Sqlite).await;
    let panel = e.post_panel().await;
    let store = e.store().await;
    let mut odd = Ticket::new(ids::GUILD, ids::BOB, now());
    odd.channel_id = Some(0);
    store
        .import_tickets(&[ticketbot_common::store::TicketRecord {
            ticket: odd.clone(),
            participants: Vec::new(),
            open_slot: Some(0),
        }])
        .await
        .expect("import");
    let (t, channel) = e.open_ticket(panel, ids::ALICE).await;
    let close = ticketbot_common::rules::Transition::Close {
        by: None,
        reason: Some("from the shell".into()),
        at: now(),
        forced: true,
    };
    store.transition(t.id, &close).await.expect("force-close");
    eventually(
        "the force-closed ticket's channel is locked",
        Duration::from_secs(40),
        || async {
            e.fake
                .channel(channel)
                .and_then(|c| c.overwrite(ids::ALICE).cloned())
                .filter(|o| *o == locked(ids::ALICE))
        },
    )
    .await;
    assert!(!e.output().contains("panicked"), "the bot panicked");
    // The odd row has no channel by design: out of the way of the final consistency check.
    store.discard(odd.id).await.expect("discard");
    e.finish().await;
}
