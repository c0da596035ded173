//! What each ticket action does, in order, over the store and Discord. Handlers (slash commands,
//! buttons) only gather who asks where and show the reply.
//!
//! Order matters for "never a partial state": the row is created first (the database decides
//! the per-user limit), then the channel; if the channel cannot be made the row is discarded,
//! and if the row cannot take the channel the channel is deleted. What a crash leaves between
//! two steps is repaired at start-up and every minute after (see `reconcile`).

mod archiving;
mod close_requests;
pub mod feedback;
mod members;
mod open;
mod states;
mod stats;
pub mod topics;

pub use archiving::{archive, confirm_delete, request_delete, transcript};
pub use close_requests::{answer_close_request, request_close, sweep as sweep_close_requests};
pub use members::{add, info, remove};
pub use open::{open, open_with, post_panel};
pub use states::{claim, close, reopen, unclaim};
pub use stats::{stats, Period};

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use serenity::{
    ChannelId, CreateActionRow, CreateEmbed, GuildId, PermissionOverwrite, PermissionOverwriteType,
    RoleId, UserId,
};
use ticketbot_common::rules::{self, Actor, RuleError, Transition};
use ticketbot_common::store::{CategoryKind, CreateOutcome};
use ticketbot_common::ticket::{now, Ticket};
use ticketbot_common::StoreError;
use uuid::Uuid;

use crate::access::member_permissions;
use crate::categories::{self, PlaceError};
use crate::data::Data;
use crate::{audit, embeds, sync, transcripts};

/// Who asks, where.
#[derive(Debug, Clone, Copy)]
pub struct Req {
    pub guild_id: GuildId,
    pub channel_id: ChannelId,
    pub actor: Actor,
}

impl Req {
    fn user(&self) -> u64 {
        self.actor.user_id
    }
}

/// What the asker sees (ephemeral).
#[derive(Default)]
pub struct Reply {
    pub content: String,
    pub embed: Option<CreateEmbed>,
    pub components: Vec<CreateActionRow>,
    /// Files (a transcript), each under Discord's upload limit.
    pub files: Vec<serenity::CreateAttachment>,
}

impl Reply {
    pub fn text(content: impl Into<String>) -> Self {
        Reply {
            content: content.into(),
            ..Reply::default()
        }
    }

    /// As poise's builder, ephemeral; it renders as a response or as a follow-up.
    pub fn ephemeral(self) -> poise::CreateReply {
        let mut r = poise::CreateReply::default()
            .ephemeral(true)
            .components(self.components);
        for f in self.files {
            r = r.attachment(f);
        }
        if !self.content.is_empty() {
            r = r.content(self.content);
        }
        if let Some(e) = self.embed {
            r = r.embed(e);
        }
        r
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Shown to the asker as is: what went wrong and what to do instead.
    #[error("{0}")]
    User(String),
    /// The database could not be reached (nothing was done): the asker is told so with
    /// [`database_unavailable`], which logs which database and why.
    #[error("the database is unavailable: {0}")]
    Unavailable(StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a user is told while the database cannot be reached.
pub(crate) const DATABASE_UNAVAILABLE: &str = "I can't reach the ticket database right now, so I couldn't do that. Please try again in a minute.";

/// The answer to a request that found the database unreachable; the log line names the
/// database (password hidden) and the cause.
pub fn database_unavailable(data: &Data, e: &StoreError) -> &'static str {
    tracing::error!(
        "the database {} is unavailable: {e}",
        data.settings.db.target()
    );
    DATABASE_UNAVAILABLE
}

/// How long a step that an outage left half-done is retried in the background; after that the
/// periodic repair of `reconcile` is left to it.
const UNDO_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// Undoes what an outage cut short (a ticket row whose channel is gone again): now, and while
/// the database cannot be reached, again every second in the background, so that nothing stays
/// half-made once it is back (the user may open a ticket again at once). Another failure is
/// logged and left to the repair.
pub(crate) async fn undo_now_or_when_back<F, Fut>(data: &Data, what: String, undo: F)
where
    F: Fn(Arc<dyn ticketbot_common::TicketStore>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), StoreError>> + Send + 'static,
{
    let store = data.store.clone();
    let target = data.settings.db.target();
    match undo(store.clone()).await {
        Ok(()) => return,
        Err(e) if !e.is_unavailable() => {
            tracing::error!("{what} failed ({e}); the repair will do it");
            return;
        }
        Err(e) => tracing::warn!(
            "{what} waits for the database {target}, which is unavailable ({e}); retrying in the background"
        ),
    }
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + UNDO_FOR;
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            match undo(store.clone()).await {
                Ok(()) => {
                    tracing::info!("{what}: done, the database {target} is back");
                    return;
                }
                Err(e) if e.is_unavailable() && tokio::time::Instant::now() < deadline => {}
                Err(e) => {
                    tracing::error!("{what} failed ({e}); the repair will do it");
                    return;
                }
            }
        }
    });
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rule(r) => ServiceError::User(capitalize(&r.to_string())),
            e if e.is_unavailable() => ServiceError::Unavailable(e),
            other => ServiceError::Internal(other.into()),
        }
    }
}

impl From<RuleError> for ServiceError {
    fn from(r: RuleError) -> Self {
        ServiceError::User(capitalize(&r.to_string()))
    }
}

pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

pub type Outcome = Result<Reply, ServiceError>;

/// Discord's error, fit to show a person: the status with Discord's message. A 429 carries no
/// JSON error code, so serenity's own text for it is a decoding complaint; say what it means.
pub fn discord_error(e: &serenity::Error) -> String {
    match e {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)) => {
            let status = r.status_code.as_u16();
            if status == 429 {
                "it is rate-limiting me (HTTP 429)".to_owned()
            } else if r.error.code == -1 || r.error.message.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("{e} (HTTP {status})")
            }
        }
        other => other.to_string(),
    }
}

pub(crate) const NOT_A_TICKET: &str = "This isn't a ticket channel. Use this inside a ticket's channel (ticket-xxxxxxxx), or use /ticket create to open one.";

/// The ticket of the channel the request came from.
pub(crate) async fn ticket_here(data: &Data, req: &Req) -> Result<Ticket, ServiceError> {
    data.store
        .get_by_channel(req.channel_id.get())
        .await?
        .ok_or_else(|| ServiceError::User(NOT_A_TICKET.to_owned()))
}

pub(crate) fn require_staff(req: &Req) -> Result<(), ServiceError> {
    if req.actor.is_staff {
        Ok(())
    } else {
        Err(RuleError::StaffOnly.into())
    }
}

pub(crate) async fn notice(
    ctx: &serenity::Context,
    ticket: &Ticket,
    text: String,
    buttons: Option<CreateActionRow>,
) {
    notice_with(&ctx.http, ticket, text, buttons).await;
}

/// [`notice`] with only the HTTP client at hand (background work).
pub(crate) async fn notice_with(
    http: &serenity::Http,
    ticket: &Ticket,
    text: String,
    buttons: Option<CreateActionRow>,
) {
    let Some(channel) = ticket.channel_id else {
        return;
    };
    let mut msg = serenity::CreateMessage::new().embed(embeds::notice(text));
    if let Some(row) = buttons {
        msg = msg.components(vec![row]);
    }
    if let Err(e) = ChannelId::new(channel).send_message(http, msg).await {
        tracing::warn!("cannot post a notice in ticket {}: {e}", ticket.id);
    }
}

pub(crate) async fn transition(
    ctx: &serenity::Context,
    data: &Data,
    req: &Req,
    ticket: &Ticket,
    t: Transition,
) -> Result<Ticket, ServiceError> {
    rules::authorize(ticket, &req.actor, &t, &data.policy)?;
    let updated = data.store.transition(ticket.id, &t).await?;
    tracing::debug!(ticket = %updated.id, ?t, "transition applied");
    let _ = ctx;
    Ok(updated)
}

/// What a staff member typed as a ticket id (short id, longer prefix or full id, with or
/// without the channel name's `ticket-`, any case) as the prefix of the ids it names. Longer
/// than an id names nothing, and would not fit in a reply.
pub(crate) fn id_prefix(raw: &str) -> Result<String, ServiceError> {
    let lower = raw.trim().to_ascii_lowercase();
    let id = lower.trim_start_matches("ticket-");
    if !(4..=36).contains(&id.len()) || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(ServiceError::User(format!(
            "`{}` is not a ticket id. Use the id shown by /ticket info or in the log channel (for example `1b4e28ba`).",
            id.chars().take(40).collect::<String>()
        )));
    }
    Ok(id.to_owned())
}

/// The ticket a staff member names by id (short id, longer prefix or full id), in this guild.
pub(crate) async fn ticket_by_id(
    data: &Data,
    req: &Req,
    raw: &str,
) -> Result<Ticket, ServiceError> {
    require_staff(req)?;
    let raw = id_prefix(raw)?;
    let found = data.store.find_by_prefix(&raw, 5).await?;
    let here: Vec<_> = found
        .into_iter()
        .filter(|t| t.guild_id == req.guild_id.get())
        .collect();
    match here.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(ServiceError::User(format!(
            "No ticket `{raw}` in this server."
        ))),
        _ => Err(ServiceError::User(format!(
            "More than one ticket starts with `{raw}`; give more of its id."
        ))),
    }
}

#[cfg(test)]
mod fuzz {
    //! `/ticket reopen|transcript id:` is typed by people: property tests (the shared corpus of
    //! nasty inputs is `common/tests/fuzz-corpus/`).
    use proptest::prelude::*;
    use proptest::test_runner::Config;
    use ticketbot_common::fuzzing::{self, text};
    use ticketbot_common::ticket::Ticket;

    use super::{id_prefix, ServiceError};

    fn config() -> Config {
        fuzzing::config(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/proptest-regressions/id_prefix.txt"
            ),
            1024,
        )
    }

    #[test]
    fn the_corpus_never_panics() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../common/tests/fuzz-corpus/ids.txt"
        );
        let corpus = std::fs::read_to_string(path).expect("the id corpus");
        for line in corpus.lines() {
            let _ = id_prefix(line);
        }
        // Found by the properties below: a capitalised `Ticket-` (phone keyboards) was refused.
        assert_eq!(
            id_prefix("Ticket-1B4E28BA").ok().as_deref(),
            Some("1b4e28ba")
        );
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn never_panics_and_replies_briefly(s in text(), n in 0usize..8000) {
            for raw in [s.clone(), format!("ticket-{s}"), "a".repeat(n)] {
                if let Err(ServiceError::User(msg)) = id_prefix(&raw) {
                    // Discord refuses replies over 2000 characters.
                    prop_assert!(msg.chars().count() < 300, "{}", msg);
                }
            }
        }

        #[test]
        fn every_form_of_a_tickets_id_names_it(
            creator in any::<u64>(),
            len in 4usize..=36,
            upper in any::<bool>(),
            prefix in prop::sample::select(vec!["", "ticket-", "Ticket-", "TICKET-", " ticket-"]),
        ) {
            let t = Ticket::new(1, creator, chrono::Utc::now());
            let full = t.id.to_string();
            let typed = format!("{prefix}{}", &full[..len]);
            let typed = if upper { typed.to_uppercase() } else { typed };
            let got = id_prefix(&typed).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(full.starts_with(&got), "{} from {}", got, typed);
            prop_assert_eq!(got.len(), len);
        }
    }
}
