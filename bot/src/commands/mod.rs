//! The `/ticket` slash command group. Every subcommand requires the support role (checked on
//! the parent, which poise applies to each subcommand), answers ephemerally, and defers first
//! so that Discord's 3-second limit never bites.

mod ticket;

pub use ticket::ticket;

use crate::data::{Data, Error};

pub fn all() -> Vec<poise::Command<std::sync::Arc<Data>, Error>> {
    vec![ticket()]
}
