//! `ticketctl transcript ID [-o FILE] [--format html|json|text]`: a saved transcript, read from
//! the database (archived and deleted tickets included), as one self-contained file.

use std::io::Write;

use anyhow::{Context, Result};
use ticketbot_common::store::TicketStore;
use ticketbot_transcript as tr;

use crate::error::NotFound;
use crate::opt::{TranscriptArgs, TranscriptFormat};
use crate::resolve::{self, IdArg};

pub async fn run(store: &dyn TicketStore, args: &TranscriptArgs) -> Result<()> {
    // A deleted ticket has no row but keeps its transcript: a full id reaches it directly.
    let id = match resolve::parse(&args.id)? {
        IdArg::Full(id) => id,
        _ => resolve::resolve(store, &args.id).await?.id,
    };
    let blob = store.get_transcript(id).await?.ok_or_else(|| {
        NotFound(format!(
            "ticket {id} has no saved transcript (one is made when a ticket is archived or deleted, or by /ticket transcript in Discord)"
        ))
    })?;
    let transcript = tr::decode(&blob.data)
        .with_context(|| format!("the stored transcript of ticket {id} cannot be read"))?;
    let rendered = match args.format {
        TranscriptFormat::Html => tr::render_html(&transcript),
        TranscriptFormat::Json => tr::render_json(&transcript),
        TranscriptFormat::Text => tr::render_text(&transcript),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, rendered.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "wrote the transcript of ticket {} ({} messages, {} bytes) to {}",
                transcript.summary.short_id,
                transcript.messages.len(),
                rendered.len(),
                path.display()
            );
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(rendered.as_bytes())
                .and_then(|()| out.flush())
                .context("cannot write to standard output")?;
        }
    }
    Ok(())
}
