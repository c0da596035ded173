//! The transcript of a support ticket's Discord channel: plain data (no Discord library), the
//! compressed form stored in the database, and renderings as one self-contained HTML file, JSON
//! and plain text.
//!
//! - [`Transcript`] and its parts: the model, filled by the bot from Discord messages.
//! - [`AssetBudget`]: caps on the files kept while the bot downloads them.
//! - [`encode`] / [`decode`]: the stored bytes.
//! - [`render_html`], [`render_json`], [`render_text`]: the renderings.
//! - [`discord_parts`]: the HTML cut to fit Discord's upload limit.

mod budget;
mod codec;
mod format;
mod html;
pub mod markdown;
mod model;
mod parts;
mod text;

#[cfg(test)]
mod fixture;

pub use budget::{AssetBudget, Limits};
pub use codec::{decode, encode, TranscriptError, MAGIC, MAX_DECODED_BYTES};
pub use format::human_size;
pub use html::{render_html, CSP};
pub use model::*;
pub use parts::{discord_parts, Part, DISCORD_PART_LIMIT, DISCORD_UPLOAD_LIMIT};
pub use text::{render_json, render_text};
