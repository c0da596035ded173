//! The bot's settings: every variable it reads, checked together.

use std::fmt;
use std::path::PathBuf;

use super::vars::{discord_endpoint, duration_var, flag, megabytes, snowflake};
use super::{ConfigError, DbConfig, Problem, Secret, Vars};

/// `MAX_OPEN_TICKETS_PER_USER`: how many open tickets one user may hold (default 1).
pub fn max_open_per_user(vars: &Vars) -> Result<u32, ConfigError> {
    match vars.get("MAX_OPEN_TICKETS_PER_USER") {
        None => Ok(1),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(ConfigError {
                problems: vec![Problem::new(
                    "MAX_OPEN_TICKETS_PER_USER",
                    format!("{v:?} is not a whole number of at least 1; e.g. 1"),
                )],
            }),
        },
    }
}

/// Everything the bot reads from its configuration.
#[derive(Clone)]
pub struct BotSettings {
    pub token: Secret,
    /// Commands are registered in this guild (instantly); globally when unset.
    pub guild_id: Option<u64>,
    pub support_role_id: u64,
    pub open_category_id: Option<u64>,
    pub closed_category_id: Option<u64>,
    pub log_channel_id: Option<u64>,
    pub max_open_per_user: u32,
    pub creator_may_close: bool,
    pub log_file: PathBuf,
    pub debug: bool,
    /// Another Discord API base (tests, proxies): `http://127.0.0.1:PORT`. serenity's rate
    /// limiter is off behind it (it ignores the base and would call discord.com).
    pub api_base: Option<String>,
    /// `DISCORD_API_ADDR`: connect to this address for `discord.com` instead of resolving it
    /// (a test double of Discord, or a TLS-intercepting gateway); the rate limiter stays on.
    pub api_addr: Option<std::net::IpAddr>,
    /// `DISCORD_CA_FILE`: a PEM certificate authority trusted for Discord's API besides the
    /// usual ones.
    pub ca_file: Option<PathBuf>,
    /// Where avatars are fetched for transcripts (`DISCORD_CDN_BASE`; Discord's CDN when unset).
    pub cdn_base: String,
    /// `ARCHIVE_CLOSED_AFTER`: closed tickets older than this are archived (transcript saved,
    /// channel deleted); `None` (`0`) turns automatic archiving off.
    pub archive_closed_after: Option<chrono::Duration>,
    /// `AUTO_CLOSE_AFTER`: an open ticket whose channel has had no message for this long is
    /// warned, then closed; `None` (the default) turns auto-close off.
    pub auto_close_after: Option<chrono::Duration>,
    /// `AUTO_CLOSE_WARNING`: how long after the warning an unanswered ticket closes.
    pub auto_close_warning: chrono::Duration,
    /// `FEEDBACK`: where the creator is asked to rate a closed ticket, if at all.
    pub feedback: FeedbackMode,
    /// `TRANSCRIPT_DM`: send the creator the transcript by DM when the ticket is archived.
    pub transcript_dm: bool,
    /// `TRANSCRIPT_MAX_FILE_MB`: attachments larger than this are left out of transcripts.
    pub transcript_max_file_bytes: u64,
    /// `TRANSCRIPT_MAX_MB`: the attachments of one transcript stop at this total.
    pub transcript_max_total_bytes: u64,
    /// `SHARD_ID` / `SHARD_COUNT`: which gateway shards this process runs.
    pub shards: Shards,
    pub db: DbConfig,
}

/// Which of Discord's gateway shards a bot process runs. A guild belongs to shard
/// `(guild_id >> 22) % count`; several processes, each with its own shards, share one MySQL or
/// MongoDB database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shards {
    /// No sharding variables: one shard, this process.
    #[default]
    Single,
    /// `SHARD_COUNT=auto` without `SHARD_ID`: every shard, as many as Discord recommends.
    Auto,
    /// `SHARD_COUNT=N` without `SHARD_ID`: all N shards in this process.
    All { count: u32 },
    /// `SHARD_ID=I` and `SHARD_COUNT=N`: shard I of N only.
    One { id: u32, count: u32 },
}

impl Shards {
    /// Whether this process receives `guild_id`'s events (for `Auto`: whatever Discord assigns,
    /// all of them).
    pub fn owns(self, guild_id: u64) -> bool {
        match self {
            Shards::One { id, count } => (guild_id >> 22) % u64::from(count) == u64::from(id),
            _ => true,
        }
    }
}

impl fmt::Display for Shards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shards::Single => f.write_str("shard 0/1"),
            Shards::Auto => f.write_str("shards auto"),
            Shards::All { count } => write!(f, "shards 0-{}/{count}", count.saturating_sub(1)),
            Shards::One { id, count } => write!(f, "shard {id}/{count}"),
        }
    }
}

fn shards(vars: &Vars, problems: &mut Vec<Problem>) -> Shards {
    const HOW: &str = "set SHARD_COUNT to the total number of shards (or `auto`) and SHARD_ID to this process's shard, 0 to SHARD_COUNT-1; leave both unset for one process";
    let count = match vars.get("SHARD_COUNT") {
        None => None,
        Some(c) if c.eq_ignore_ascii_case("auto") => Some(None),
        Some(c) => match c.parse::<u32>() {
            Ok(n) if (1..=65_535).contains(&n) => Some(Some(n)),
            _ => {
                problems.push(Problem::new(
                    "SHARD_COUNT",
                    format!("{c:?} is not a shard count (1 to 65535, or auto); {HOW}"),
                ));
                return Shards::Single;
            }
        },
    };
    let id = match vars.get("SHARD_ID") {
        None => None,
        Some(i) => match i.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                problems.push(Problem::new(
                    "SHARD_ID",
                    format!("{i:?} is not a shard number; {HOW}"),
                ));
                return Shards::Single;
            }
        },
    };
    match (id, count) {
        (None, None) => Shards::Single,
        (None, Some(None)) => Shards::Auto,
        (None, Some(Some(count))) => Shards::All { count },
        (Some(_), None) => {
            problems.push(Problem::new(
                "SHARD_ID",
                format!("needs SHARD_COUNT; {HOW}"),
            ));
            Shards::Single
        }
        (Some(_), Some(None)) => {
            problems.push(Problem::new(
                "SHARD_COUNT",
                format!("cannot be auto when SHARD_ID is set (a process running one shard must know the total); {HOW}"),
            ));
            Shards::Single
        }
        (Some(id), Some(Some(count))) if id >= count => {
            problems.push(Problem::new(
                "SHARD_ID",
                format!("{id} is not below SHARD_COUNT {count}; {HOW}"),
            ));
            Shards::Single
        }
        (Some(id), Some(Some(count))) => Shards::One { id, count },
    }
}

impl fmt::Debug for BotSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BotSettings")
            .field("token", &self.token)
            .field("guild_id", &self.guild_id)
            .field("support_role_id", &self.support_role_id)
            .field("open_category_id", &self.open_category_id)
            .field("closed_category_id", &self.closed_category_id)
            .field("log_channel_id", &self.log_channel_id)
            .field("max_open_per_user", &self.max_open_per_user)
            .field("creator_may_close", &self.creator_may_close)
            .field("log_file", &self.log_file)
            .field("debug", &self.debug)
            .field("api_base", &self.api_base)
            .field("api_addr", &self.api_addr)
            .field("ca_file", &self.ca_file)
            .field("cdn_base", &self.cdn_base)
            .field("archive_closed_after", &self.archive_closed_after)
            .field("auto_close_after", &self.auto_close_after)
            .field("auto_close_warning", &self.auto_close_warning)
            .field("transcript_dm", &self.transcript_dm)
            .field("transcript_max_file_bytes", &self.transcript_max_file_bytes)
            .field(
                "transcript_max_total_bytes",
                &self.transcript_max_total_bytes,
            )
            .field("shards", &self.shards)
            .field("db", &self.db)
            .finish()
    }
}

/// `FEEDBACK`: where the rating request goes after a close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackMode {
    /// In the ticket's channel, pinging the creator (who keeps read access after a close).
    Channel,
    /// By DM; in the channel when the creator's DMs are closed.
    Dm,
    Off,
}

fn feedback_mode(vars: &Vars, problems: &mut Vec<Problem>) -> FeedbackMode {
    match vars
        .get("FEEDBACK")
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("1" | "true" | "yes" | "on" | "channel") => FeedbackMode::Channel,
        Some("dm") => FeedbackMode::Dm,
        Some("0" | "false" | "no" | "off") => FeedbackMode::Off,
        Some(other) => {
            problems.push(Problem::new(
                "FEEDBACK",
                format!(
                    "{other:?} is not a feedback mode; use on (in the ticket's channel), dm or off"
                ),
            ));
            FeedbackMode::Channel
        }
    }
}

/// Default of `ARCHIVE_CLOSED_AFTER`: a week gives staff and the creator time to reread or
/// reopen a closed ticket in Discord, and keeps a guild that closes a few tickets a day far
/// from Discord's 50-per-category and 500-per-guild limits.
pub const DEFAULT_ARCHIVE_CLOSED_AFTER: &str = "7d";

impl BotSettings {
    /// Reads and checks every variable, reporting every problem at once.
    pub fn from_vars(vars: &Vars) -> Result<BotSettings, ConfigError> {
        const COPY_ID: &str = "enable Developer Mode in Discord, right-click it and Copy ID";
        let mut problems = Vec::new();
        let token = match vars.get("BOT_TOKEN") {
            None => {
                problems.push(Problem::new(
                    "BOT_TOKEN",
                    "is required; copy the token from the Discord Developer Portal (your application, Bot, Reset Token)",
                ));
                Secret::default()
            }
            Some(t) if t.split('.').count() != 3 || t.chars().any(char::is_whitespace) => {
                problems.push(Problem::new(
                    "BOT_TOKEN",
                    "does not look like a bot token (three parts separated by dots); copy it again from the Developer Portal",
                ));
                Secret::new(t)
            }
            Some(t) => Secret::new(t),
        };
        let guild_id = snowflake(vars, "GUILD_ID", COPY_ID, &mut problems);
        let support_role_id = snowflake(vars, "SUPPORT_ROLE_ID", COPY_ID, &mut problems);
        if vars.get("SUPPORT_ROLE_ID").is_none() {
            problems.push(Problem::new(
                "SUPPORT_ROLE_ID",
                format!("is required: the role of your support staff; {COPY_ID}"),
            ));
        }
        let open_category_id = snowflake(vars, "OPEN_TICKETS_CATEGORY_ID", COPY_ID, &mut problems);
        let closed_category_id =
            snowflake(vars, "CLOSED_TICKETS_CATEGORY_ID", COPY_ID, &mut problems);
        let log_channel_id = snowflake(vars, "LOG_CHANNEL_ID", COPY_ID, &mut problems);
        let creator_may_close = flag(vars, "CREATOR_MAY_CLOSE", true, &mut problems);
        let debug = flag(vars, "DEBUG", false, &mut problems);
        let api_base = vars
            .get("DISCORD_API_BASE")
            .map(|s| s.trim_end_matches('/').to_owned());
        if let Some(base) = &api_base {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                problems.push(Problem::new(
                    "DISCORD_API_BASE",
                    "must be an http:// or https:// URL (it is for tests and proxies; leave it unset for Discord)",
                ));
            }
        }
        let (api_addr, ca_file) = discord_endpoint(vars, &mut problems);
        let cdn_base = vars
            .get("DISCORD_CDN_BASE")
            .unwrap_or("https://cdn.discordapp.com")
            .trim_end_matches('/')
            .to_owned();
        if !(cdn_base.starts_with("http://") || cdn_base.starts_with("https://")) {
            problems.push(Problem::new(
                "DISCORD_CDN_BASE",
                "must be an http:// or https:// URL (it is for tests; leave it unset for Discord)",
            ));
        }
        let archive_closed_after = duration_var(
            vars,
            "ARCHIVE_CLOSED_AFTER",
            DEFAULT_ARCHIVE_CLOSED_AFTER,
            &mut problems,
        );
        let auto_close_after = duration_var(vars, "AUTO_CLOSE_AFTER", "0", &mut problems);
        let auto_close_warning = duration_var(
            vars,
            "AUTO_CLOSE_WARNING",
            crate::auto_close::DEFAULT_WARNING,
            &mut problems,
        );
        if auto_close_after.is_some() && auto_close_warning.is_none() {
            problems.push(Problem::new(
                "AUTO_CLOSE_WARNING",
                "must be longer than 0 while AUTO_CLOSE_AFTER is set (people need time to answer the warning); e.g. 24h",
            ));
        }
        let feedback = feedback_mode(vars, &mut problems);
        let transcript_dm = flag(vars, "TRANSCRIPT_DM", true, &mut problems);
        let transcript_max_file_bytes =
            megabytes(vars, "TRANSCRIPT_MAX_FILE_MB", 10, 1024, &mut problems);
        let transcript_max_total_bytes =
            megabytes(vars, "TRANSCRIPT_MAX_MB", 50, 4096, &mut problems);
        let max_open_per_user = match max_open_per_user(vars) {
            Ok(n) => n,
            Err(e) => {
                problems.extend(e.problems);
                1
            }
        };
        let shards = shards(vars, &mut problems);
        let db = match DbConfig::from_vars(vars) {
            Ok(db) => Some(db),
            Err(e) => {
                problems.extend(e.problems);
                None
            }
        };
        match (db, support_role_id) {
            (Some(db), Some(support_role_id)) if problems.is_empty() => Ok(BotSettings {
                token,
                guild_id,
                support_role_id,
                open_category_id,
                closed_category_id,
                log_channel_id,
                max_open_per_user,
                creator_may_close,
                log_file: PathBuf::from(vars.get("LOG_FILE").unwrap_or("bot.log")),
                debug,
                api_base,
                api_addr,
                ca_file,
                cdn_base,
                archive_closed_after,
                auto_close_after,
                auto_close_warning: auto_close_warning.unwrap_or(chrono::Duration::hours(24)),
                feedback,
                transcript_dm,
                transcript_max_file_bytes,
                transcript_max_total_bytes,
                shards,
                db,
            }),
            _ => Err(ConfigError { problems }),
        }
    }
}
