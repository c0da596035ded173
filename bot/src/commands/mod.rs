//! The `/ticket` slash command group. Every subcommand requires the support role (checked on
//! the parent, which poise applies to each subcommand) and answers ephemerally: at once when
//! the work is quick, after a deferral when it is not, so that Discord's 3-second limit never
//! bites (`deadline`).

mod ticket;
mod topic;

pub use ticket::ticket;

use crate::data::{Data, Error};

pub fn all() -> Vec<poise::Command<std::sync::Arc<Data>, Error>> {
    vec![ticket()]
}
