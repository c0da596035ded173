//! Setting up: the bot's environment, a ticket's seeded content, and driving the bot.

use super::*;

// ----- the bot process -----

pub(super) fn bot_env(dir: &Path, fake: &FakeDiscord) -> Vec<(String, String)> {
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

pub(super) fn sqlite_path(dir: &Path) -> PathBuf {
    dir.join("ticketbot.db")
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
pub(super) fn fill(fake: &FakeDiscord, channel: u64, args: &Args) -> u64 {
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

pub(super) fn slash(
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

pub(super) async fn reply_text(
    fake: &FakeDiscord,
    bot: &Bot,
    id: u64,
    what: &str,
) -> Result<String, String> {
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

pub(super) async fn open_ticket(
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
