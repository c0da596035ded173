//! The command line, as clap types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes: 0 success, 1 failure, 2 usage error (bad flag or value), 3 not found.

Configuration: the environment, then `.env` in the working directory (or --env-file), with
the bot's variable names (DB_TYPE, SQLITE_PATH, MYSQL_*, MONGO_URI, MONGO_DB_NAME).
--database-url overrides them.";

/// Operate the ticket bot's database: list, inspect and close tickets, see statistics, move the
/// data to another backend.
#[derive(Debug, Parser)]
#[command(name = "ticketctl", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub conn: ConnectOpts,

    #[command(subcommand)]
    pub command: Command,
}

/// Where the database is. Flattened into every command.
#[derive(Debug, Clone, Args)]
pub struct ConnectOpts {
    /// Read configuration from this file instead of `.env` in the working directory.
    #[arg(long, global = true, value_name = "PATH")]
    pub env_file: Option<PathBuf>,

    /// Do not read any `.env` file.
    #[arg(long, global = true)]
    pub no_dotenv: bool,

    /// The database: sqlite://FILE, mysql://USER:PASSWORD@HOST:PORT/DB or mongodb://HOST/DB.
    /// Overrides DB_TYPE and the backend's variables.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "TICKETCTL_DATABASE_URL"
    )]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List tickets, newest first.
    List(ListArgs),
    /// Show one ticket: every field, participants, durations and its history.
    Inspect(InspectArgs),
    /// Close a ticket from the shell (the bot then locks and moves its channel).
    ForceClose(ForceCloseArgs),
    /// Counts, time to close, staff activity and tickets per day.
    Stats(StatsArgs),
    /// Copy every record to another backend, then verify the copy.
    Migrate(MigrateArgs),
    /// Migrate, verify, then point `.env` at the new backend.
    Switch(SwitchArgs),
    /// Backend, schema version, counts, and whether a bot is running on this database.
    Status(JsonFlag),
    /// Write a ticket's saved transcript (archived and deleted tickets included) as HTML, JSON
    /// or text.
    Transcript(TranscriptArgs),
    /// Ask the running bot to archive closed tickets: transcript saved, channel deleted.
    Archive(ArchiveArgs),
    /// Remove closed tickets for good: records, history and transcripts.
    Purge(PurgeArgs),
    /// A read-only web view for staff: tickets, their history and transcripts, analytics.
    Serve(ServeArgs),
    /// Take from saved transcripts what the database lacks: the first staff response of
    /// tickets that predate it, and names.
    Backfill(BackfillArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Only count what would be recorded.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,
    /// Sign in with a random token instead of Discord (one operator on this machine): the URL
    /// that carries it is printed as the first line on stdout.
    #[arg(long)]
    pub token: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TranscriptFormat {
    /// One self-contained page (images inside, no script, no network).
    Html,
    /// The whole transcript as data (attachments base64-encoded).
    Json,
    /// Plain text.
    Text,
}

#[derive(Debug, Args)]
pub struct TranscriptArgs {
    /// Ticket id (full UUID, short id, or channel id). A deleted ticket: its full id.
    pub id: String,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "html")]
    pub format: TranscriptFormat,
}

#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// Closed before this time or age (7d, 12h, 2025-08-14, RFC 3339).
    #[arg(long, value_name = "WHEN")]
    pub closed_before: String,
    /// Only this guild (server) id.
    #[arg(long, value_name = "ID")]
    pub guild: Option<u64>,
    /// Only count and list what would be archived.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait until the running bot has archived them (at most 10 minutes).
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Closed (or deleted) before this time or age (365d, 2025-01-01, RFC 3339).
    #[arg(long, value_name = "WHEN", required_unless_present = "user")]
    pub closed_before: Option<String>,
    /// Tickets opened by this user id (a request to erase their data).
    #[arg(long, value_name = "ID")]
    pub user: Option<u64>,
    /// Only this guild (server) id.
    #[arg(long, value_name = "ID")]
    pub guild: Option<u64>,
    /// Only count what would be purged.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    pub yes: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct JsonFlag {
    /// Print JSON for scripts instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Open,
    Closed,
    All,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value = "all")]
    pub status: StatusArg,
    /// Only this guild (server) id.
    #[arg(long, value_name = "ID")]
    pub guild: Option<u64>,
    /// Only tickets opened by this user id.
    #[arg(long, value_name = "ID")]
    pub creator: Option<u64>,
    /// Only tickets claimed by this staff user id.
    #[arg(long, value_name = "ID", conflicts_with = "unclaimed")]
    pub claimed_by: Option<u64>,
    /// Only tickets nobody has claimed.
    #[arg(long)]
    pub unclaimed: bool,
    /// Opened at or after T: RFC 3339, YYYY-MM-DD, or an age such as 7d, 12h, 30m.
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Opened before T (same forms as --since).
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Only tickets opened with this topic (its name, any case).
    #[arg(long, value_name = "NAME")]
    pub topic: Option<String>,
    /// Tickets per page.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
    /// Continue after this cursor (printed at the end of the previous page).
    #[arg(long, value_name = "CURSOR")]
    pub after: Option<String>,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A ticket id, its 8-character short id (or any prefix), or its channel id.
    pub id: String,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct ForceCloseArgs {
    /// A ticket id, short id or channel id.
    pub id: String,
    /// Why it was closed; stored and shown in its history.
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[arg(long, value_name = "ID")]
    pub guild: Option<u64>,
    /// Only tickets opened (and events) at or after T.
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only tickets opened (and events) before T.
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Also write the figures as one self-contained HTML page (charts inline, no script, no
    /// network) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Sqlite,
    Mysql,
    Mongodb,
}

/// The target of a migrate or switch. Unset values come from the configuration's variables
/// for that backend (SQLITE_PATH, MYSQL_*, MONGO_*), then the defaults.
#[derive(Debug, Clone, Args)]
pub struct TargetOpts {
    /// The backend to copy to.
    #[arg(long, value_enum)]
    pub to: BackendArg,
    /// The target as a URL (overrides the flags below).
    #[arg(long, value_name = "URL")]
    pub to_url: Option<String>,
    #[arg(long, value_name = "PATH")]
    pub sqlite_path: Option<PathBuf>,
    #[arg(long)]
    pub mysql_host: Option<String>,
    #[arg(long)]
    pub mysql_port: Option<u16>,
    #[arg(long)]
    pub mysql_user: Option<String>,
    /// Prefer MYSQL_PASSWORD in the environment: a flag shows in the process list.
    #[arg(long)]
    pub mysql_password: Option<String>,
    #[arg(long)]
    pub mysql_database: Option<String>,
    #[arg(long)]
    pub mongo_uri: Option<String>,
    #[arg(long)]
    pub mongo_db_name: Option<String>,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub target: TargetOpts,
    /// Records per batch (memory stays flat whatever the total).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    pub batch: u32,
    /// Only count what would be copied.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct SwitchArgs {
    #[command(flatten)]
    pub target: TargetOpts,
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    pub batch: u32,
    /// Switch even though a bot seems to be running (its writes during the copy may be lost).
    #[arg(long)]
    pub force: bool,
}
