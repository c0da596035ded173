//! Configuration from the environment and `.env`, with the Python bot's variable names.
//!
//! Every problem is collected and reported at once, each naming its variable and the fix.
//! Secrets (the bot token, database passwords) are kept out of `Debug` and messages.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod web;
pub use web::{DiscordSignIn, WebAuth, WebSettings};

/// Which backend a store is, for messages and `ticketctl status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Mysql,
    Mongodb,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Mysql => "mysql",
            Backend::Mongodb => "mongodb",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the Python bot kept its SQLite database, and so our default.
pub const DEFAULT_SQLITE_PATH: &str = "ticketbotdatabase.db";

/// A value that must never be printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct MysqlConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Secret,
    pub database: String,
}

impl fmt::Debug for MysqlConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MysqlConfig({})", self.target())
    }
}

impl MysqlConfig {
    /// `mysql://user:***@host:port/database`: what we connect to, password hidden.
    pub fn target(&self) -> String {
        let pw = if self.password.is_empty() { "" } else { ":***" };
        format!(
            "mysql://{}{}@{}:{}/{}",
            self.user, pw, self.host, self.port, self.database
        )
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct MongoConfig {
    pub uri: Secret,
    pub database: String,
}

impl fmt::Debug for MongoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MongoConfig({})", self.target())
    }
}

impl MongoConfig {
    /// The URI with any password replaced by `***`, and the database name.
    pub fn target(&self) -> String {
        format!(
            "{} (database {})",
            redact_uri(self.uri.expose()),
            self.database
        )
    }
}

/// Splits what follows `scheme://` into the user info and the hosts-and-path. The user info
/// ends at the LAST `@`: a password that holds an unescaped `/`, `?`, `#` or `@` (invalid, but
/// typed by people) must still be recognised as a password and hidden, never printed.
fn split_userinfo(rest: &str) -> (Option<&str>, &str) {
    match rest.rfind('@') {
        // An `@` in the query of a URI without credentials has no `:` before it in a user
        // part... or it may: hiding too much is safe, showing a password is not.
        Some(at) if rest[..at].contains(':') || !rest[..at].contains(['/', '?', '#']) => {
            (Some(&rest[..at]), &rest[at + 1..])
        }
        _ => (None, rest),
    }
}

/// Hides the password of `scheme://user:password@host/...`, whatever characters the password
/// holds.
pub fn redact_uri(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_owned();
    };
    match split_userinfo(rest) {
        (Some(userinfo), hosts) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{hosts}")
        }
        (None, _) => uri.to_owned(),
    }
}

/// Why a MongoDB URI's user info cannot be right: characters that must be percent-encoded.
/// The driver refuses such a URI too; saying so first names the fix without printing it.
fn mongo_userinfo_problem(uri: &str) -> Option<String> {
    userinfo_problem(uri, &['/', '?', '#', '@']).or_else(|| port_problem(uri))
}

/// `mongodb://user:password` (the `@host` forgotten) reads as a host and a port, and would be
/// shown: a port that is not a number is refused without showing it (the driver refuses it too).
fn port_problem(uri: &str) -> Option<String> {
    let hosts = split_userinfo(uri.split_once("://")?.1).1;
    let authority = hosts.split(['/', '?', '#']).next().unwrap_or_default();
    let odd = |h: &str| {
        // `host`, `host:port`, `[v6]` or `[v6]:port`.
        let after_host = match h.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((_, after)) => after,
                None => return true,
            },
            None => h,
        };
        after_host
            .split_once(':')
            .is_some_and(|(_, port)| port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
    };
    authority.split(',').any(odd).then(|| {
        "it names a port that is not a number (if that is a password, the URI misses @HOST); the value is not shown".to_owned()
    })
}

/// Whether the user info of `scheme://USERINFO@hosts` holds one of `odd`, characters that
/// must be percent-encoded. For a MySQL URL only `/ ? #` matter (the URL parser takes the last
/// `@`): with them a password reads as host, port and path, and shows as the database's name.
fn userinfo_problem(uri: &str, odd: &[char]) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let userinfo = split_userinfo(rest).0?;
    userinfo.contains(odd).then(|| {
        "its user name or password holds a character that must be percent-encoded (/ as %2F, ? as %3F, # as %23, @ as %40, : in a user name as %3A); the value is not shown".to_owned()
    })
}

/// Which database the store uses and how to reach it.
#[derive(Clone, PartialEq, Eq)]
pub enum DbConfig {
    Sqlite { path: PathBuf },
    Mysql(MysqlConfig),
    Mongo(MongoConfig),
}

impl fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.target())
    }
}

impl DbConfig {
    pub fn backend(&self) -> Backend {
        match self {
            DbConfig::Sqlite { .. } => Backend::Sqlite,
            DbConfig::Mysql(_) => Backend::Mysql,
            DbConfig::Mongo(_) => Backend::Mongodb,
        }
    }

    /// The variables that select this database, with their values: what [`DbConfig::from_vars`]
    /// reads back as this configuration (an empty MYSQL_PASSWORD is "no password").
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        match self {
            DbConfig::Sqlite { path } => vec![
                ("DB_TYPE", "sqlite".into()),
                ("SQLITE_PATH", path.display().to_string()),
            ],
            DbConfig::Mysql(m) => vec![
                ("DB_TYPE", "mysql".into()),
                ("MYSQL_HOST", m.host.clone()),
                ("MYSQL_PORT", m.port.to_string()),
                ("MYSQL_USER", m.user.clone()),
                ("MYSQL_PASSWORD", m.password.expose().to_owned()),
                ("MYSQL_DATABASE", m.database.clone()),
            ],
            DbConfig::Mongo(m) => vec![
                ("DB_TYPE", "mongodb".into()),
                ("MONGO_URI", m.uri.expose().to_owned()),
                ("MONGO_DB_NAME", m.database.clone()),
            ],
        }
    }

    /// Where the data is, fit to print: the file, or the URL with the password hidden.
    pub fn target(&self) -> String {
        match self {
            DbConfig::Sqlite { path } => format!("sqlite file {}", path.display()),
            DbConfig::Mysql(m) => m.target(),
            DbConfig::Mongo(m) => m.target(),
        }
    }

    /// Reads `DB_TYPE` and the chosen backend's variables.
    pub fn from_vars(vars: &Vars) -> Result<DbConfig, ConfigError> {
        let mut problems = Vec::new();
        let db = Self::collect(vars, &mut problems);
        match db {
            Some(db) if problems.is_empty() => Ok(db),
            _ => Err(ConfigError { problems }),
        }
    }

    fn collect(vars: &Vars, problems: &mut Vec<Problem>) -> Option<DbConfig> {
        let db_type = vars.get("DB_TYPE").unwrap_or("sqlite").to_ascii_lowercase();
        match db_type.as_str() {
            "sqlite" | "sqlite3" => Some(DbConfig::Sqlite {
                path: PathBuf::from(vars.get("SQLITE_PATH").unwrap_or(DEFAULT_SQLITE_PATH)),
            }),
            "mysql" | "mariadb" => {
                let port = match vars.get("MYSQL_PORT") {
                    None => 3306,
                    Some(p) => match p.parse::<u16>() {
                        Ok(p) if p > 0 => p,
                        _ => {
                            problems.push(Problem::new(
                                "MYSQL_PORT",
                                format!("{p:?} is not a port number; use a number from 1 to 65535, e.g. 3306"),
                            ));
                            3306
                        }
                    },
                };
                // The Python bot's defaults, so that its users' `.env` means the same here.
                Some(DbConfig::Mysql(MysqlConfig {
                    host: vars.get("MYSQL_HOST").unwrap_or("localhost").to_owned(),
                    port,
                    user: vars.get("MYSQL_USER").unwrap_or("root").to_owned(),
                    // Set but empty means no password (as in the Python bot); unset means its
                    // default.
                    password: Secret::new(vars.get_set("MYSQL_PASSWORD").unwrap_or("password")),
                    database: vars
                        .get("MYSQL_DATABASE")
                        .unwrap_or("ticket_bot")
                        .to_owned(),
                }))
            }
            "mongodb" | "mongo" => {
                let Some(uri) = vars.get("MONGO_URI") else {
                    problems.push(Problem::new(
                        "MONGO_URI",
                        "is required with DB_TYPE=mongodb; set it to your server, e.g. mongodb://localhost:27017",
                    ));
                    return None;
                };
                if !(uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://")) {
                    problems.push(Problem::new(
                        "MONGO_URI",
                        "must start with mongodb:// or mongodb+srv://",
                    ));
                }
                if let Some(why) = mongo_userinfo_problem(uri) {
                    problems.push(Problem::new("MONGO_URI", why));
                    return None;
                }
                let database = vars
                    .get("MONGO_DB_NAME")
                    .map(str::to_owned)
                    .or_else(|| database_from_uri(uri));
                let Some(database) = database else {
                    problems.push(Problem::new(
                        "MONGO_DB_NAME",
                        "is required with DB_TYPE=mongodb (the MONGO_URI names no database); set it to the database the bot uses, e.g. ticket_bot",
                    ));
                    return None;
                };
                Some(DbConfig::Mongo(MongoConfig {
                    uri: Secret::new(uri),
                    database,
                }))
            }
            other => {
                problems.push(Problem::new(
                    "DB_TYPE",
                    format!("{other:?} is not a backend; use sqlite, mysql or mongodb"),
                ));
                None
            }
        }
    }
}

impl DbConfig {
    /// From a database URL: `sqlite://PATH` (or `sqlite:PATH`), `mysql://USER:PASSWORD@HOST:PORT/DB`
    /// (`mariadb://` too), `mongodb://...` or `mongodb+srv://...` with the database in the path,
    /// else `mongo_database`.
    pub fn from_url(raw: &str, mongo_database: Option<&str>) -> Result<DbConfig, ConfigError> {
        let bad = |fix: String| ConfigError {
            problems: vec![Problem::new("--database-url", fix)],
        };
        let raw = raw.trim();
        if let Some(path) = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(bad(
                    "sqlite URL names no file; e.g. sqlite://ticketbotdatabase.db".into(),
                ));
            }
            return Ok(DbConfig::Sqlite { path: path.into() });
        }
        if raw.starts_with("mongodb://") || raw.starts_with("mongodb+srv://") {
            if let Some(why) = mongo_userinfo_problem(raw) {
                return Err(bad(format!("the MongoDB URL is not valid: {why}")));
            }
            let database = database_from_uri(raw)
                .or_else(|| mongo_database.map(str::to_owned))
                .ok_or_else(|| bad("MongoDB URL names no database; add it as the path, e.g. mongodb://localhost:27017/ticket_bot".into()))?;
            return Ok(DbConfig::Mongo(MongoConfig {
                uri: Secret::new(raw),
                database,
            }));
        }
        // The value is not shown: a URL the parser cannot read may hold a password anywhere
        // (`mysql://root:secret`, no host).
        let url = url::Url::parse(raw).map_err(|e| {
            bad(format!(
                "not a database URL ({e}); use sqlite://FILE, mysql://USER:PASSWORD@HOST:PORT/DB or mongodb://HOST:PORT/DB"
            ))
        })?;
        if !matches!(url.scheme(), "mysql" | "mariadb") {
            return Err(bad(format!(
                "unknown scheme {:?}; use sqlite://, mysql:// or mongodb://",
                url.scheme()
            )));
        }
        // `mysql:/root:pw@h/db` (one slash) would be a path on localhost: the password in the
        // database's name.
        if !url.has_authority() {
            return Err(bad(
                "the URL names no server; use mysql://USER:PASSWORD@HOST:PORT/DB".into(),
            ));
        }
        if let Some(why) = userinfo_problem(raw, &['/', '?', '#']) {
            return Err(bad(format!("the MySQL URL is not valid: {why}")));
        }
        let decode = |s: &str| {
            percent_decode(s)
                .ok_or_else(|| bad("the URL's user or password is not valid UTF-8".into()))
        };
        let database = url.path().trim_start_matches('/');
        Ok(DbConfig::Mysql(MysqlConfig {
            host: url.host_str().unwrap_or("localhost").to_owned(),
            port: url.port().unwrap_or(3306),
            user: match url.username() {
                "" => "root".to_owned(),
                u => decode(u)?,
            },
            password: Secret::new(decode(url.password().unwrap_or(""))?),
            database: if database.is_empty() {
                "ticket_bot".to_owned()
            } else {
                decode(database)?
            },
        }))
    }
}

fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

fn database_from_uri(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let path = split_userinfo(rest).1.split_once('/')?.1;
    let db = path.split(['?', '#']).next()?;
    (!db.is_empty()).then(|| db.to_owned())
}

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

/// `DISCORD_API_ADDR` and `DISCORD_CA_FILE`: where `discord.com` is reached and which extra
/// CA is trusted (tests and TLS gateways), for the bot and the web view alike.
fn discord_endpoint(
    vars: &Vars,
    problems: &mut Vec<Problem>,
) -> (Option<std::net::IpAddr>, Option<PathBuf>) {
    let api_addr = match vars.get("DISCORD_API_ADDR") {
        None => None,
        Some(a) => match a.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                problems.push(Problem::new(
            "DISCORD_API_ADDR",
            format!("{a:?} is not an IP address (it is for tests and TLS gateways; leave it unset for Discord)"),
            ));
                None
            }
        },
    };
    let ca_file = vars.get("DISCORD_CA_FILE").map(PathBuf::from);
    if let Some(f) = &ca_file {
        if !f.is_file() {
            problems.push(Problem::new(
            "DISCORD_CA_FILE",
            format!("{} is not a readable file; give the path of a PEM certificate, or leave it unset", f.display()),
        ));
        }
    }
    (api_addr, ca_file)
}

fn snowflake(vars: &Vars, key: &str, how: &str, problems: &mut Vec<Problem>) -> Option<u64> {
    let raw = vars.get(key)?;
    match raw.parse::<u64>() {
        Ok(v) if v > 0 => Some(v),
        _ => {
            problems.push(Problem::new(
                key,
                format!("{raw:?} is not a Discord id (a number such as 123456789012345678); {how}"),
            ));
            None
        }
    }
}

fn flag(vars: &Vars, key: &str, default: bool, problems: &mut Vec<Problem>) -> bool {
    match vars.get(key).map(str::to_ascii_lowercase).as_deref() {
        None => default,
        Some("1" | "true" | "yes" | "on") => true,
        Some("0" | "false" | "no" | "off") => false,
        Some(other) => {
            problems.push(Problem::new(
                key,
                format!("{other:?} is not a yes/no value; use 1 or 0"),
            ));
            default
        }
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

fn duration_var(
    vars: &Vars,
    key: &str,
    default: &str,
    problems: &mut Vec<Problem>,
) -> Option<chrono::Duration> {
    let raw = vars.get(key).unwrap_or(default);
    if matches!(
        raw.trim().to_ascii_lowercase().as_str(),
        "off" | "never" | "no"
    ) {
        return None;
    }
    match crate::duration::parse_duration(raw) {
        Ok(d) if d.is_zero() => None,
        Ok(d) => Some(d),
        Err(e) => {
            problems.push(Problem::new(key, format!("{e}; 0 turns it off")));
            None
        }
    }
}

fn megabytes(vars: &Vars, key: &str, default: u64, max: u64, problems: &mut Vec<Problem>) -> u64 {
    const MIB: u64 = 1024 * 1024;
    match vars.get(key) {
        None => default * MIB,
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if n <= max => n * MIB,
            _ => {
                problems.push(Problem::new(
                    key,
                    format!("{raw:?} is not a size in MiB from 0 to {max} (for example {default})"),
                ));
                default * MIB
            }
        },
    }
}

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

/// One bad or missing variable and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub variable: String,
    pub fix: String,
}

impl Problem {
    pub fn new(variable: impl Into<String>, fix: impl Into<String>) -> Self {
        Problem {
            variable: variable.into(),
            fix: fix.into(),
        }
    }
}

/// Every configuration problem found, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    pub fn merge(mut self, other: ConfigError) -> Self {
        self.problems.extend(other.problems);
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration:")?;
        for p in &self.problems {
            write!(f, "\n  {}: {}", p.variable, p.fix)?;
        }
        Ok(())
    }
}

/// A snapshot of the variables: the process environment over the `.env` file, as the Python
/// bot's python-dotenv did (a variable already set wins). Blank values count as unset.
#[derive(Clone, Default)]
pub struct Vars {
    map: HashMap<String, String>,
}

/// The names only: values include the token and passwords.
impl fmt::Debug for Vars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.map.keys().collect();
        names.sort();
        f.debug_tuple("Vars").field(&names).finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct EnvFileError {
    pub path: String,
    #[source]
    pub source: dotenvy::Error,
}

impl Vars {
    /// The process environment only.
    pub fn from_env() -> Self {
        Vars {
            map: std::env::vars().collect(),
        }
    }

    /// The process environment over `path` (when it exists). Only a file that exists but cannot
    /// be read or parsed is an error.
    pub fn from_env_and_file(path: &Path) -> Result<Self, EnvFileError> {
        let mut vars = Vars::default();
        if path.exists() {
            vars.map = read_env_file(path)?;
        }
        vars.map.extend(std::env::vars());
        Ok(vars)
    }

    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Vars {
            map: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.map.insert(key.into(), value.into());
    }

    /// The trimmed value, `Some("")` when set but blank.
    pub fn get_set(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(|v| v.trim())
    }

    /// The trimmed value, `None` when unset or blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// Parses a `.env` file into a map, without touching the process environment.
///
/// The file is read as python-dotenv (the Python bot's loader) reads it: only `${NAME}` is
/// expanded, so a password such as `pa$word` stays as written (dotenvy alone would expand
/// `$word`).
pub fn read_env_file(path: &Path) -> Result<HashMap<String, String>, EnvFileError> {
    let err = |source, text: &str| EnvFileError {
        path: path.display().to_string(),
        source: hide_values(source, text),
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(dotenvy::Error::Io(e), ""))?;
    let text = escape_bare_dollars(&text);
    let iter = dotenvy::from_read_iter(std::io::Cursor::new(text.as_bytes()));
    iter.map(|item| item.map_err(|e| err(e, &text))).collect()
}

/// dotenvy's parse error quotes the line or the value, and after an unclosed quote the rest of
/// the file: tokens and passwords. It is replaced by the variable's name and the line number.
fn hide_values(e: dotenvy::Error, text: &str) -> dotenvy::Error {
    let dotenvy::Error::LineParse(quoted, at) = e else {
        return e;
    };
    // Where the quoted text starts a line, or follows `NAME=` on its line.
    let found = text
        .match_indices(quoted.as_str())
        .filter(|_| !quoted.is_empty())
        .find_map(|(pos, _)| {
            let start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
            let before = text[start..pos].trim_start_matches('\u{feff}');
            (before.trim().is_empty() || before.trim_end().ends_with('='))
                .then(|| (start, format!("{before}{quoted}")))
        });
    let shown = match found {
        Some((start, line)) => {
            let number = text[..start].matches('\n').count() + 1;
            let name = line
                .split_once('=')
                .map(|(k, _)| k.trim())
                .map(|k| k.strip_prefix("export ").unwrap_or(k).trim())
                .filter(|k| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            match name {
                Some(k) => format!("{k}=… (line {number}; the value is not shown)"),
                None => format!("line {number}, not shown"),
            }
        }
        None => "not shown".to_owned(),
    };
    dotenvy::Error::LineParse(shown, at)
}

/// Escapes each `$` that is not the start of `${` in unquoted and double-quoted values, so that
/// dotenvy keeps it literally. Single-quoted values and comments are left as they are.
fn escape_bare_dollars(text: &str) -> String {
    #[derive(PartialEq)]
    enum State {
        Key,
        Value,
        Single,
        Double,
        Comment,
    }
    let mut out = String::with_capacity(text.len());
    let mut state = State::Key;
    let mut chars = text.chars().peekable();
    let mut prev = '\n';
    while let Some(c) = chars.next() {
        match state {
            State::Key => match c {
                '#' if prev == '\n' || prev.is_whitespace() => state = State::Comment,
                '=' => state = State::Value,
                _ => {}
            },
            State::Value => match c {
                '\'' if prev == '=' || prev.is_whitespace() => state = State::Single,
                '"' if prev == '=' || prev.is_whitespace() => state = State::Double,
                '#' if prev.is_whitespace() => state = State::Comment,
                '$' if chars.peek() != Some(&'{') => out.push('\\'),
                '\\' => {
                    out.push(c);
                    if let Some(next) = chars.next() {
                        out.push(next);
                        prev = next;
                    }
                    continue;
                }
                _ => {}
            },
            State::Double => match c {
                '"' => state = State::Value,
                '$' if chars.peek() != Some(&'{') => out.push('\\'),
                '\\' => {
                    out.push(c);
                    if let Some(next) = chars.next() {
                        out.push(next);
                        prev = next;
                    }
                    continue;
                }
                _ => {}
            },
            State::Single => {
                if c == '\'' {
                    state = State::Value;
                }
            }
            State::Comment => {}
        }
        if c == '\n' && state != State::Double && state != State::Single {
            state = State::Key;
        }
        out.push(c);
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_variables() {
        let with = |pairs: &[(&str, &str)]| {
            let mut v =
                Vars::from_pairs([("BOT_TOKEN", "aaa.bbb.ccc"), ("SUPPORT_ROLE_ID", "456")]);
            for (k, val) in pairs {
                v.set(*k, *val);
            }
            BotSettings::from_vars(&v)
        };
        let ok = |pairs: &[(&str, &str)]| with(pairs).unwrap().shards;
        assert_eq!(ok(&[]), Shards::Single);
        assert_eq!(ok(&[("SHARD_COUNT", "auto")]), Shards::Auto);
        assert_eq!(ok(&[("SHARD_COUNT", "AUTO")]), Shards::Auto);
        assert_eq!(ok(&[("SHARD_COUNT", "4")]), Shards::All { count: 4 });
        assert_eq!(
            ok(&[("SHARD_ID", "1"), ("SHARD_COUNT", "2")]),
            Shards::One { id: 1, count: 2 }
        );
        for (pairs, var) in [
            (&[("SHARD_ID", "1")][..], "SHARD_ID"),
            (&[("SHARD_ID", "2"), ("SHARD_COUNT", "2")][..], "SHARD_ID"),
            (&[("SHARD_ID", "-1"), ("SHARD_COUNT", "2")][..], "SHARD_ID"),
            (
                &[("SHARD_ID", "0"), ("SHARD_COUNT", "auto")][..],
                "SHARD_COUNT",
            ),
            (&[("SHARD_COUNT", "0")][..], "SHARD_COUNT"),
            (&[("SHARD_COUNT", "many")][..], "SHARD_COUNT"),
        ] {
            let err = with(pairs).unwrap_err();
            assert!(
                err.problems
                    .iter()
                    .any(|p| p.variable == var && p.fix.contains("SHARD_COUNT")),
                "{pairs:?}: {err}"
            );
        }
        // A guild belongs to shard (guild_id >> 22) % count.
        let guild = 1_210_000_000_000_000_100_u64;
        let mine = Shards::One {
            id: ((guild >> 22) % 2) as u32,
            count: 2,
        };
        let other = Shards::One {
            id: 1 - ((guild >> 22) % 2) as u32,
            count: 2,
        };
        assert!(mine.owns(guild) && !other.owns(guild));
        assert!(Shards::Single.owns(guild) && Shards::Auto.owns(guild));
        assert_eq!(Shards::One { id: 1, count: 2 }.to_string(), "shard 1/2");
    }

    #[test]
    fn sqlite_is_the_default() {
        let db = DbConfig::from_vars(&Vars::default()).unwrap();
        assert_eq!(
            db,
            DbConfig::Sqlite {
                path: DEFAULT_SQLITE_PATH.into()
            }
        );
    }

    #[test]
    fn mysql_defaults_are_the_python_bots() {
        let db = DbConfig::from_vars(&Vars::from_pairs([("DB_TYPE", "MySQL")])).unwrap();
        let DbConfig::Mysql(m) = db else {
            panic!("not mysql")
        };
        assert_eq!(
            (
                m.host.as_str(),
                m.port,
                m.user.as_str(),
                m.database.as_str()
            ),
            ("localhost", 3306, "root", "ticket_bot")
        );
        assert_eq!(m.password.expose(), "password");
    }

    #[test]
    fn passwords_never_print() {
        let vars = Vars::from_pairs([("DB_TYPE", "mysql"), ("MYSQL_PASSWORD", "hunter2")]);
        let db = DbConfig::from_vars(&vars).unwrap();
        assert!(!format!("{db:?}").contains("hunter2"));
        assert!(!db.target().contains("hunter2"));
        let vars = Vars::from_pairs([
            ("DB_TYPE", "mongodb"),
            (
                "MONGO_URI",
                "mongodb://bob:hunter2@db.example:27017/?authSource=admin",
            ),
            ("MONGO_DB_NAME", "t"),
        ]);
        let db = DbConfig::from_vars(&vars).unwrap();
        assert_eq!(
            db.target(),
            "mongodb://bob:***@db.example:27017/?authSource=admin (database t)"
        );
        assert!(!format!("{db:?}").contains("hunter2"));
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let vars = Vars::from_pairs([("DB_TYPE", "mysql"), ("MYSQL_PORT", "abc")]);
        let err = DbConfig::from_vars(&vars).unwrap_err();
        assert_eq!(err.problems[0].variable, "MYSQL_PORT");
        let err = DbConfig::from_vars(&Vars::from_pairs([("DB_TYPE", "postgres")])).unwrap_err();
        assert!(err.to_string().contains("DB_TYPE"), "{err}");
        let err = DbConfig::from_vars(&Vars::from_pairs([("DB_TYPE", "mongodb")])).unwrap_err();
        assert_eq!(err.problems[0].variable, "MONGO_URI");
        let err =
            max_open_per_user(&Vars::from_pairs([("MAX_OPEN_TICKETS_PER_USER", "0")])).unwrap_err();
        assert_eq!(err.problems[0].variable, "MAX_OPEN_TICKETS_PER_USER");
    }

    #[test]
    fn bot_settings_name_every_problem_and_hide_the_token() {
        let vars = Vars::from_pairs([
            ("BOT_TOKEN", "secret-without-dots"),
            ("GUILD_ID", "abc"),
            ("DB_TYPE", "oracle"),
        ]);
        let err = BotSettings::from_vars(&vars).unwrap_err();
        let named: Vec<&str> = err.problems.iter().map(|p| p.variable.as_str()).collect();
        for v in ["BOT_TOKEN", "GUILD_ID", "SUPPORT_ROLE_ID", "DB_TYPE"] {
            assert!(named.contains(&v), "{v} missing from {named:?}");
        }
        assert!(!err.to_string().contains("secret-without-dots"));
        let vars = Vars::from_pairs([
            ("BOT_TOKEN", "aaa.bbb.ccc"),
            ("GUILD_ID", "123"),
            ("SUPPORT_ROLE_ID", "456"),
        ]);
        let s = BotSettings::from_vars(&vars).unwrap();
        assert_eq!(
            (s.guild_id, s.support_role_id, s.max_open_per_user),
            (Some(123), 456, 1)
        );
        assert!(!format!("{s:?}").contains("aaa.bbb.ccc"));
    }

    #[test]
    fn archive_and_transcript_settings() {
        let base = [
            ("BOT_TOKEN", "aaa.bbb.ccc"),
            ("GUILD_ID", "123"),
            ("SUPPORT_ROLE_ID", "456"),
        ];
        let s = BotSettings::from_vars(&Vars::from_pairs(base)).unwrap();
        assert_eq!(s.archive_closed_after, Some(chrono::Duration::days(7)));
        assert!(s.transcript_dm);
        assert_eq!(s.transcript_max_file_bytes, 10 * 1024 * 1024);
        assert_eq!(s.transcript_max_total_bytes, 50 * 1024 * 1024);
        assert_eq!(s.cdn_base, "https://cdn.discordapp.com");

        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v: Vec<(&str, &str)> = base.to_vec();
            v.extend_from_slice(extra);
            BotSettings::from_vars(&Vars::from_pairs(v))
        };
        let s = with(&[
            ("ARCHIVE_CLOSED_AFTER", "12h"),
            ("TRANSCRIPT_DM", "0"),
            ("TRANSCRIPT_MAX_FILE_MB", "3"),
            ("TRANSCRIPT_MAX_MB", "0"),
        ])
        .unwrap();
        assert_eq!(s.archive_closed_after, Some(chrono::Duration::hours(12)));
        assert!(!s.transcript_dm);
        assert_eq!(s.transcript_max_file_bytes, 3 * 1024 * 1024);
        assert_eq!(s.transcript_max_total_bytes, 0);
        for off in ["0", "off", "0d"] {
            let s = with(&[("ARCHIVE_CLOSED_AFTER", off)]).unwrap();
            assert_eq!(s.archive_closed_after, None, "{off}");
        }
        let err = with(&[
            ("ARCHIVE_CLOSED_AFTER", "a week"),
            ("TRANSCRIPT_MAX_MB", "-1"),
            ("TRANSCRIPT_DM", "maybe"),
            ("DISCORD_CDN_BASE", "ftp://x"),
        ])
        .unwrap_err();
        let named: Vec<&str> = err.problems.iter().map(|p| p.variable.as_str()).collect();
        for v in [
            "ARCHIVE_CLOSED_AFTER",
            "TRANSCRIPT_MAX_MB",
            "TRANSCRIPT_DM",
            "DISCORD_CDN_BASE",
        ] {
            assert!(named.contains(&v), "{v} missing from {named:?}");
        }
    }

    #[test]
    fn auto_close_is_off_unless_set_and_its_settings_are_checked() {
        let base = [
            ("BOT_TOKEN", "aaa.bbb.ccc"),
            ("GUILD_ID", "123"),
            ("SUPPORT_ROLE_ID", "456"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v: Vec<(&str, &str)> = base.to_vec();
            v.extend_from_slice(extra);
            BotSettings::from_vars(&Vars::from_pairs(v))
        };
        let s = with(&[]).unwrap();
        assert_eq!(s.auto_close_after, None);
        assert_eq!(s.auto_close_warning, chrono::Duration::hours(24));
        let s = with(&[("AUTO_CLOSE_AFTER", "72h"), ("AUTO_CLOSE_WARNING", "12h")]).unwrap();
        assert_eq!(s.auto_close_after, Some(chrono::Duration::hours(72)));
        assert_eq!(s.auto_close_warning, chrono::Duration::hours(12));
        let err = with(&[("AUTO_CLOSE_AFTER", "3 days")]).unwrap_err();
        assert_eq!(err.problems[0].variable, "AUTO_CLOSE_AFTER");
        let err = with(&[("AUTO_CLOSE_AFTER", "3d"), ("AUTO_CLOSE_WARNING", "0")]).unwrap_err();
        assert_eq!(err.problems[0].variable, "AUTO_CLOSE_WARNING");
        assert!(err.problems[0].fix.contains("e.g. 24h"));
    }

    #[test]
    fn feedback_modes() {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = vec![
                ("BOT_TOKEN", "aaa.bbb.ccc"),
                ("GUILD_ID", "123"),
                ("SUPPORT_ROLE_ID", "456"),
            ];
            v.extend_from_slice(extra);
            BotSettings::from_vars(&Vars::from_pairs(v))
        };
        assert_eq!(with(&[]).unwrap().feedback, FeedbackMode::Channel);
        assert_eq!(
            with(&[("FEEDBACK", "DM")]).unwrap().feedback,
            FeedbackMode::Dm
        );
        assert_eq!(
            with(&[("FEEDBACK", "0")]).unwrap().feedback,
            FeedbackMode::Off
        );
        let err = with(&[("FEEDBACK", "sometimes")]).unwrap_err();
        assert_eq!(err.problems[0].variable, "FEEDBACK");
        assert!(err.problems[0].fix.contains("dm or off"));
    }

    #[test]
    fn odd_passwords_are_hidden_whatever_their_shape() {
        for pw in ["p/ss", "p?ss", "p#ss", "p@ss", "p:ss", "a/b?c@d#e", "plain"] {
            let uri = format!("mongodb://bob:{pw}@h1:27017,h2:27018/tix?authSource=admin");
            let shown = redact_uri(&uri);
            assert_eq!(
                shown, "mongodb://bob:***@h1:27017,h2:27018/tix?authSource=admin",
                "{pw}"
            );
        }
        assert_eq!(redact_uri("mongodb://h:27017/db"), "mongodb://h:27017/db");
        assert_eq!(
            redact_uri("mongodb://h/db?appName=a@b"),
            "mongodb://h/db?appName=a@b"
        );
        assert_eq!(redact_uri("mongodb://bob@h/db"), "mongodb://bob@h/db");
        assert_eq!(
            database_from_uri("mongodb://bob:p/ss@h/tix?x=1").as_deref(),
            Some("tix")
        );
        for pw in ["p/ss", "p?ss", "p#ss", "p@ss"] {
            let uri = format!("mongodb://bob:{pw}@h/tix");
            let err = DbConfig::from_vars(&Vars::from_pairs([
                ("DB_TYPE", "mongodb"),
                ("MONGO_URI", uri.as_str()),
            ]))
            .unwrap_err();
            assert_eq!(err.problems[0].variable, "MONGO_URI");
            assert!(err.problems[0].fix.contains("percent-encoded"), "{err}");
            assert!(!err.to_string().contains(pw), "{err}");
            let err = DbConfig::from_url(&uri, None).unwrap_err();
            assert!(!err.to_string().contains(pw), "{err}");
        }
        // Encoded, it is fine.
        assert!(DbConfig::from_vars(&Vars::from_pairs([
            ("DB_TYPE", "mongodb"),
            ("MONGO_URI", "mongodb://bob:p%2Fss@h/tix"),
        ]))
        .is_ok());
    }

    #[test]
    fn database_urls() {
        assert_eq!(
            DbConfig::from_url("sqlite://data/t.db", None).unwrap(),
            DbConfig::Sqlite {
                path: "data/t.db".into()
            }
        );
        let DbConfig::Mysql(m) =
            DbConfig::from_url("mysql://bob:p%40ss@db.local:3307/tix", None).unwrap()
        else {
            panic!("not mysql")
        };
        assert_eq!((m.user.as_str(), m.password.expose()), ("bob", "p@ss"));
        assert_eq!(
            (m.host.as_str(), m.port, m.database.as_str()),
            ("db.local", 3307, "tix")
        );
        let DbConfig::Mongo(g) = DbConfig::from_url("mongodb://h:27017", Some("x")).unwrap() else {
            panic!("not mongo")
        };
        assert_eq!(g.database, "x");
        assert!(DbConfig::from_url("mongodb://h:27017", None).is_err());
        let err = DbConfig::from_url("postgres://u:secret@h/db", None).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn mongo_database_may_come_from_the_uri() {
        let vars = Vars::from_pairs([("DB_TYPE", "mongodb"), ("MONGO_URI", "mongodb://h/tix?x=1")]);
        let DbConfig::Mongo(m) = DbConfig::from_vars(&vars).unwrap() else {
            panic!("not mongo")
        };
        assert_eq!(m.database, "tix");
    }

    #[test]
    fn dollars_stay_literal_as_in_python_dotenv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "HOME_DIR=/h\nA = \"pa$word$1 x\"  # c $x\nB=un$quoted\nC='si$ngle'\nD=\"${HOME_DIR}/x\"\nE=\"q\\\"$z\"\n",
        )
        .unwrap();
        let map = read_env_file(&path).unwrap();
        assert_eq!(map["A"], "pa$word$1 x");
        assert_eq!(map["B"], "un$quoted");
        assert_eq!(map["C"], "si$ngle");
        assert_eq!(map["D"], "/h/x");
        assert_eq!(map["E"], "q\"$z");
    }

    #[test]
    fn empty_mysql_password_means_none() {
        let vars = Vars::from_pairs([("DB_TYPE", "mysql"), ("MYSQL_PASSWORD", "")]);
        let DbConfig::Mysql(m) = DbConfig::from_vars(&vars).unwrap() else {
            panic!("not mysql")
        };
        assert_eq!(m.password.expose(), "");
    }

    #[test]
    fn python_bot_env_file_loads_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# Ticket bot\nBOT_TOKEN = \"abc.def\"  # your token\nGUILD_ID = \"123\"\nDB_TYPE = \"mongodb\"  # sqlite, mysql or mongodb\nMONGO_URI = \"mongodb://localhost:27017\"\nMONGO_DB_NAME = \"ticketbot\"\n",
        )
        .unwrap();
        let map = read_env_file(&path).unwrap();
        assert_eq!(map.get("DB_TYPE").map(String::as_str), Some("mongodb"));
        assert_eq!(map.get("BOT_TOKEN").map(String::as_str), Some("abc.def"));
        assert_eq!(map.get("GUILD_ID").map(String::as_str), Some("123"));
    }
}
