//! Transcripts: made from a ticket channel's history (`collect`), kept compressed in the
//! database so that every bot process and `ticketctl` can read them, and handed out as files
//! under Discord's upload limit (log channel, the creator's DMs, `/ticket transcript`).

mod collect;

use chrono::{DateTime, Utc};
use poise::serenity_prelude as serenity;
use serenity::{CreateAttachment, CreateMessage};
use ticketbot_common::store::TranscriptBlob;
use ticketbot_common::ticket::Ticket;
use ticketbot_transcript as tr;

pub use collect::CollectError;

use crate::data::Data;

/// Reads the ticket's channel, saves the transcript in the database (replacing an older one)
/// and returns it.
pub async fn make_and_save(
    http: &serenity::Http,
    cache: &serenity::Cache,
    data: &Data,
    ticket: &Ticket,
    archiving: Option<(DateTime<Utc>, Option<u64>)>,
) -> Result<tr::Transcript, CollectError> {
    let transcript = collect::collect(http, cache, data, ticket, archiving).await?;
    let blob = TranscriptBlob {
        ticket_id: ticket.id,
        guild_id: ticket.guild_id,
        created_at: transcript.generated_at,
        message_count: u32::try_from(transcript.messages.len()).unwrap_or(u32::MAX),
        data: tr::encode(&transcript),
    };
    data.store.put_transcript(&blob).await?;
    tracing::info!(
        ticket = %ticket.id,
        messages = transcript.messages.len(),
        bytes = blob.data.len(),
        left_out = transcript.omitted.len(),
        "transcript saved"
    );
    Ok(transcript)
}

/// The stored transcript of a ticket, decoded.
pub async fn load(data: &Data, ticket_id: uuid::Uuid) -> anyhow::Result<Option<tr::Transcript>> {
    let Some(blob) = data.store.get_transcript(ticket_id).await? else {
        return Ok(None);
    };
    Ok(Some(tr::decode(&blob.data)?))
}

/// The transcript as files that fit in Discord messages, with what was done to fit them.
pub struct Files {
    /// One message's worth of files each (one file per message when split).
    pub parts: Vec<CreateAttachment>,
    pub note: Option<String>,
}

pub fn files(transcript: &tr::Transcript) -> Files {
    // Discord takes at most 10 MiB per message from a bot in an unboosted guild; the limit
    // leaves room for the rest of the message.
    let parts = tr::discord_parts(transcript, tr::DISCORD_PART_LIMIT);
    let note = parts.iter().find_map(|p| p.note.clone());
    Files {
        parts: parts
            .into_iter()
            .map(|p| CreateAttachment::bytes(p.bytes, p.filename))
            .collect(),
        note,
    }
}

/// A line about the files for the message they go with.
pub fn describe(transcript: &tr::Transcript, files: &Files) -> String {
    let mut text = format!(
        "Transcript of ticket `{}`: {} messages",
        transcript.summary.short_id,
        transcript.messages.len()
    );
    if !transcript.omitted.is_empty() {
        text.push_str(&format!(
            ", {} file(s) left out (listed inside)",
            transcript.omitted.len()
        ));
    }
    if files.parts.len() > 1 {
        text.push_str(&format!(", in {} parts", files.parts.len()));
    }
    text.push('.');
    if let Some(note) = &files.note {
        text.push(' ');
        text.push_str(note);
    }
    text
}

/// Posts the transcript files to a channel, one message per part (each under the upload
/// limit). `first` goes with the first part (an audit embed, say).
pub async fn post(
    http: &serenity::Http,
    channel: serenity::ChannelId,
    transcript: &tr::Transcript,
    first: CreateMessage,
) -> serenity::Result<()> {
    let files = files(transcript);
    let text = describe(transcript, &files);
    let count = files.parts.len();
    for (i, part) in files.parts.into_iter().enumerate() {
        let msg = if i == 0 {
            first.clone().content(text.clone())
        } else {
            CreateMessage::new().content(format!("Part {} of {count}", i + 1))
        }
        .add_file(part);
        channel.send_message(http, msg).await?;
    }
    Ok(())
}

/// Sends the creator their ticket's transcript by DM when `TRANSCRIPT_DM` is on. Closed DMs
/// are normal (Discord 50007): logged, not an error.
pub async fn dm_creator(
    http: &serenity::Http,
    data: &Data,
    ticket: &Ticket,
    transcript: &tr::Transcript,
) {
    if !data.settings.transcript_dm {
        return;
    }
    let user = serenity::UserId::new(ticket.creator_id);
    let intro = CreateMessage::new().allowed_mentions(serenity::CreateAllowedMentions::new());
    let dm = match user.create_dm_channel(http).await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!("cannot open a DM with {user} for ticket {}: {e}", ticket.id);
            return;
        }
    };
    match post(http, dm.id, transcript, intro).await {
        Ok(()) => tracing::info!(ticket = %ticket.id, "transcript sent to the creator by DM"),
        Err(e) => tracing::info!(
            ticket = %ticket.id,
            "the creator's DMs are closed or refused the transcript: {}",
            crate::service::discord_error(&e)
        ),
    }
}
