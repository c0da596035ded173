//! ticketbot's shared core: the ticket schema, its rules, the configuration and the ticket
//! store with its SQLite, MySQL and MongoDB backends. Nothing here knows Discord.

pub mod auto_close;
pub mod close_request;
pub mod config;
pub mod duration;
pub mod error;
pub mod feedback;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod names;
pub mod rules;
pub mod stats;
pub mod store;
pub mod ticket;
pub mod topics;

pub use error::{StoreError, StoreResult};
pub use rules::{Actor, Policy, RuleError, Transition};
pub use store::{open_store, TicketStore};
pub use ticket::{DiscordId, EventKind, Participant, Ticket, TicketEvent, TicketStatus};
