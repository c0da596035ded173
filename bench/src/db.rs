//! The throw-away databases (created fresh, dropped after) and the query plans the servers
//! choose for the store's statements.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use bson::{doc, Bson, Document};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};
use ticketbot_common::config::{DbConfig, MongoConfig, MysqlConfig, Secret};
use ticketbot_common::store::Cursor;
use ticketbot_common::DiscordId;
use uuid::Uuid;

use crate::Args;

/// One backend's database for one run.
pub enum Target {
    Sqlite { path: PathBuf },
    Mysql(MysqlConfig),
    Mongo(MongoConfig),
}

impl Target {
    pub fn sqlite(args: &Args) -> Target {
        let dir = args.sqlite_dir.clone().unwrap_or_else(std::env::temp_dir);
        let name = format!(
            "tb_bench-{}-{}.db",
            std::process::id(),
            Uuid::new_v4().simple()
        );
        Target::Sqlite {
            path: dir.join(name),
        }
    }

    pub fn mysql(args: &Args) -> Target {
        Target::Mysql(MysqlConfig {
            host: args.mysql_host.clone(),
            port: args.mysql_port,
            user: args.mysql_user.clone(),
            password: Secret::new(args.mysql_password.clone()),
            database: args.mysql_database.clone(),
        })
    }

    pub fn mongo(args: &Args) -> Target {
        Target::Mongo(MongoConfig {
            uri: Secret::new(args.mongo_uri.clone()),
            database: args.mongo_database.clone(),
        })
    }

    pub fn config(&self) -> DbConfig {
        match self {
            Target::Sqlite { path } => DbConfig::Sqlite { path: path.clone() },
            Target::Mysql(m) => DbConfig::Mysql(m.clone()),
            Target::Mongo(m) => DbConfig::Mongo(m.clone()),
        }
    }

    /// Removes what a previous run may have left, so that the store starts on nothing.
    pub async fn drop_database(&self) -> Result<()> {
        match self {
            Target::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    match std::fs::remove_file(&p) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e).with_context(|| format!("removing {p:?}")),
                    }
                }
            }
            Target::Mysql(m) => {
                let mut conn = mysql_options(m, false).connect().await?;
                let sql = format!(
                    "DROP DATABASE IF EXISTS `{}`",
                    m.database.replace('`', "``")
                );
                sqlx::raw_sql(&sql).execute(&mut conn).await?;
                conn.close().await.ok();
            }
            Target::Mongo(m) => {
                let client = mongo_client(m).await?;
                client.database(&m.database).drop().await?;
                client.shutdown().await;
            }
        }
        Ok(())
    }

    /// The server's (or library's) version, for the report.
    pub async fn server_version(&self) -> Result<String> {
        Ok(match self {
            Target::Sqlite { path } => {
                let mut conn = sqlite_options(path).connect().await?;
                let v: String = sqlx::query_scalar("SELECT sqlite_version()")
                    .fetch_one(&mut conn)
                    .await?;
                format!("SQLite {v}")
            }
            Target::Mysql(m) => {
                let mut conn = mysql_options(m, false).connect().await?;
                let row = sqlx::raw_sql("SELECT VERSION()")
                    .fetch_one(&mut conn)
                    .await?;
                row.try_get_unchecked::<String, _>(0)?
            }
            Target::Mongo(m) => {
                let client = mongo_client(m).await?;
                let info = client
                    .database("admin")
                    .run_command(doc! { "buildInfo": 1 })
                    .await?;
                let v = info.get_str("version").unwrap_or("?").to_owned();
                client.shutdown().await;
                format!("MongoDB wire {v}")
            }
        })
    }
}

fn sqlite_options(path: &std::path::Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new().filename(path).read_only(true)
}

fn mysql_options(m: &MysqlConfig, with_db: bool) -> MySqlConnectOptions {
    let mut o = MySqlConnectOptions::new()
        .host(&m.host)
        .port(m.port)
        .username(&m.user);
    if !m.password.is_empty() {
        o = o.password(m.password.expose());
    }
    if with_db {
        o = o.database(&m.database);
    }
    o
}

async fn mongo_client(m: &MongoConfig) -> Result<mongodb::Client> {
    let mut options = mongodb::options::ClientOptions::parse(m.uri.expose()).await?;
    options.server_selection_timeout = Some(Duration::from_secs(10));
    Ok(mongodb::Client::with_options(options)?)
}

/// Values found during the run that make the plans realistic.
pub struct PlanInputs {
    pub guild: DiscordId,
    /// The cursor of the deep page of the unfiltered listing.
    pub cursor: Option<Cursor>,
    /// The cursor of the deep page of the guild's open tickets.
    pub cursor_guild_open: Option<Cursor>,
    pub id: Uuid,
    pub channel_id: DiscordId,
}

/// The columns `SqlStore` selects (common/src/store/sql/mod.rs, `TICKET_COLUMNS`).
const TICKET_COLUMNS: &str = "id, guild_id, channel_id, creator_id, status, created_at, \
     closed_at, closed_by, close_reason, claimed_by, claimed_at, updated_at, open_slot, \
     archived_at, archive_requested_at, first_response_at, first_response_by";
const PAGE: u32 = 50;

/// A bound value, as `SqlStore` binds it (integers and text only).
#[derive(Debug, Clone)]
enum Val {
    Int(i64),
    Text(String),
}

/// One statement `SqlStore` sends for a measured call, with its bound values.
struct Statement {
    name: &'static str,
    sql: String,
    binds: Vec<Val>,
}

/// The statements `SqlStore` sends for the measured calls, with `?` placeholders and the
/// values bound separately, exactly as the store does (plans can differ from the same
/// statement with literals inlined). Kept in step with common/src/store/sql/ by hand.
fn sql_statements(p: &PlanInputs) -> Vec<Statement> {
    let page = |name, filter: &str, mut binds: Vec<Val>, cursor: Option<&Cursor>| {
        let mut conds: Vec<String> = (!filter.is_empty())
            .then(|| filter.to_owned())
            .into_iter()
            .collect();
        if let Some(c) = cursor {
            conds.push("created_at <= ? AND (created_at < ? OR id < ?)".to_owned());
            let t = c.created_at.timestamp_micros();
            binds.extend([Val::Int(t), Val::Int(t), Val::Text(c.id.to_string())]);
        }
        let wher = if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        };
        binds.push(Val::Int(i64::from(PAGE) + 1));
        Statement {
            name,
            sql: format!(
                "SELECT {TICKET_COLUMNS} FROM tickets{wher} ORDER BY created_at DESC, id DESC LIMIT ?"
            ),
            binds,
        }
    };
    let g = || vec![Val::Int(p.guild as i64), Val::Text("open".into())];
    let guild_open = "guild_id = ? AND status = ?";
    let mut out = vec![
        page("list first page, guild + open", guild_open, g(), None),
        page("list first page, no filter", "", Vec::new(), None),
    ];
    if let Some(c) = &p.cursor {
        out.push(page(
            "list with cursor (deep page), no filter",
            "",
            Vec::new(),
            Some(c),
        ));
    }
    if let Some(c) = &p.cursor_guild_open {
        out.push(page(
            "list with cursor (deep page), guild + open",
            guild_open,
            g(),
            Some(c),
        ));
    }
    let prefix = p.id.to_string()[..8].to_owned();
    out.extend([
        Statement {
            name: "count, guild",
            sql: "SELECT status, COUNT(*) AS n FROM tickets WHERE guild_id = ? GROUP BY status"
                .into(),
            binds: vec![Val::Int(p.guild as i64)],
        },
        Statement {
            name: "get by id",
            sql: format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?"),
            binds: vec![Val::Text(p.id.to_string())],
        },
        Statement {
            name: "find_by_prefix",
            sql: format!(
                "SELECT {TICKET_COLUMNS} FROM tickets WHERE id >= ? AND id < ? ORDER BY id LIMIT ?"
            ),
            binds: vec![
                Val::Text(prefix.clone()),
                Val::Text(format!("{prefix}~")),
                Val::Int(10),
            ],
        },
        Statement {
            name: "get_by_channel",
            sql: format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE channel_id = ?"),
            binds: vec![Val::Int(p.channel_id as i64)],
        },
    ]);
    out
}

impl Statement {
    fn describe(&self, out: &mut String) -> std::fmt::Result {
        let binds: Vec<String> = self
            .binds
            .iter()
            .map(|b| match b {
                Val::Int(v) => v.to_string(),
                Val::Text(v) => format!("'{v}'"),
            })
            .collect();
        writeln!(
            out,
            "  {}\n    {}\n    binds: {}",
            self.name,
            self.sql,
            binds.join(", ")
        )
    }

    fn bind<'q, DB>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
    where
        DB: sqlx::Database,
        i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        let mut q = sqlx::query(sql);
        for b in &self.binds {
            q = match b {
                Val::Int(v) => q.bind(*v),
                Val::Text(v) => q.bind(v.as_str()),
            };
        }
        q
    }
}

/// The query plans, as text for the report.
pub async fn plans(target: &Target, p: &PlanInputs) -> Result<String> {
    match target {
        Target::Sqlite { path } => sqlite_plans(path, p).await,
        Target::Mysql(m) => mysql_plans(m, p).await,
        Target::Mongo(m) => mongo_plans(m, p).await,
    }
}

async fn sqlite_plans(path: &std::path::Path, p: &PlanInputs) -> Result<String> {
    let mut conn = sqlite_options(path).connect().await?;
    let mut out = String::new();
    for st in sql_statements(p) {
        st.describe(&mut out)?;
        let sql = format!("EXPLAIN QUERY PLAN {}", st.sql);
        let rows = st.bind(&sql).fetch_all(&mut conn).await?;
        for row in rows {
            let detail: String = row.try_get("detail")?;
            writeln!(out, "    -> {detail}")?;
        }
    }
    Ok(out)
}

/// Any value of a MySQL result row, as text.
fn mysql_cell(row: &sqlx::mysql::MySqlRow, col: &str) -> String {
    if let Ok(v) = row.try_get::<Option<String>, _>(col) {
        return v.unwrap_or_else(|| "NULL".into());
    }
    if let Ok(Some(v)) = row.try_get::<Option<i64>, _>(col) {
        return v.to_string();
    }
    if let Ok(Some(v)) = row.try_get::<Option<u64>, _>(col) {
        return v.to_string();
    }
    if let Ok(Some(v)) = row.try_get::<Option<f64>, _>(col) {
        return format!("{v:.0}");
    }
    match row.try_get_unchecked::<Option<Vec<u8>>, _>(col) {
        Ok(Some(v)) => String::from_utf8_lossy(&v).into_owned(),
        _ => "NULL".into(),
    }
}

/// Every number that follows `"key": ` in a JSON text (MariaDB's ANALYZE FORMAT=JSON).
fn json_numbers(json: &str, key: &str) -> Vec<f64> {
    let pat = format!("\"{key}\": ");
    json.match_indices(&pat)
        .filter_map(|(i, _)| {
            let rest = &json[i + pat.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
                .unwrap_or(rest.len());
            rest[..end].parse::<f64>().ok()
        })
        .map(|v| (v * 100.0).round() / 100.0)
        .collect()
}

async fn mysql_plans(m: &MysqlConfig, p: &PlanInputs) -> Result<String> {
    let mut conn = mysql_options(m, true).connect().await?;
    let mut out = String::new();
    let cell = mysql_cell;
    for st in sql_statements(p) {
        st.describe(&mut out)?;
        // Prepared, values bound: as the store sends it.
        let sql = format!("EXPLAIN {}", st.sql);
        let rows = st.bind(&sql).fetch_all(&mut conn).await?;
        for row in &rows {
            writeln!(
                out,
                "    -> EXPLAIN: table={} type={} key={} key_len={} rows={} Extra={}",
                cell(row, "table"),
                cell(row, "type"),
                cell(row, "key"),
                cell(row, "key_len"),
                cell(row, "rows"),
                cell(row, "Extra"),
            )?;
        }
        // MariaDB's ANALYZE runs the statement and adds the rows really read (r_rows).
        let sql = format!("ANALYZE {}", st.sql);
        match st.bind(&sql).fetch_all(&mut conn).await {
            Ok(rows) => {
                for row in &rows {
                    writeln!(
                        out,
                        "    -> ANALYZE: type={} key={} rows={} r_rows={} Extra={}",
                        cell(row, "type"),
                        cell(row, "key"),
                        cell(row, "rows"),
                        cell(row, "r_rows"),
                        cell(row, "Extra"),
                    )?;
                }
            }
            Err(e) => writeln!(out, "    (ANALYZE not available: {e})")?,
        }
        // The tabular r_rows of a filesort counts the sorted output; the JSON form tells the
        // rows read from each table access.
        let sql = format!("ANALYZE FORMAT=JSON {}", st.sql);
        if let Ok(row) = st.bind(&sql).fetch_one(&mut conn).await {
            let json = cell(&row, "ANALYZE");
            writeln!(
                out,
                "    -> ANALYZE FORMAT=JSON: r_rows {:?}, r_total_time_ms {:?}",
                json_numbers(&json, "r_rows"),
                json_numbers(&json, "r_total_time_ms"),
            )?;
        }
    }
    // Stale statistics right after a bulk load make the optimizer misjudge plans.
    let live: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(&mut conn)
        .await?;
    let stats = sqlx::query(
        "SELECT index_name, cardinality FROM information_schema.statistics \
         WHERE table_schema = DATABASE() AND table_name = 'tickets' AND seq_in_index = 1 \
         ORDER BY index_name",
    )
    .fetch_all(&mut conn)
    .await?;
    let stats: Vec<String> = stats
        .iter()
        .map(|r| format!("{}={}", cell(r, "index_name"), cell(r, "cardinality")))
        .collect();
    writeln!(
        out,
        "  InnoDB statistics at plan time ({live} rows): cardinality {}",
        stats.join(", ")
    )?;
    conn.close().await.ok();
    Ok(out)
}

/// nx-27017 answers `explain` for `find` with the filter's plan only (no sort, no limit);
/// that is still what decides whether an index is used.
async fn mongo_plans(m: &MongoConfig, p: &PlanInputs) -> Result<String> {
    let client = mongo_client(m).await?;
    let db = client.database(&m.database);
    let g = Bson::Int64(p.guild as i64);
    let keyset = |c: &Cursor| {
        let t = Bson::Int64(c.created_at.timestamp_micros());
        doc! { "$or": [
            { "created_at": { "$lt": t.clone() } },
            { "created_at": t, "_id": { "$lt": c.id.to_string() } },
        ]}
    };
    let sort = doc! { "created_at": -1, "_id": -1 };
    let mut finds: Vec<(&str, Document, Option<Document>)> = vec![
        (
            "list first page, guild + open",
            doc! { "deleted": false, "guild_id": g.clone(), "status": "open" },
            Some(sort.clone()),
        ),
        (
            "list first page, no filter",
            doc! { "deleted": false },
            Some(sort.clone()),
        ),
    ];
    if let Some(c) = &p.cursor {
        finds.push((
            "list with cursor (deep page), no filter",
            doc! { "$and": [ { "deleted": false }, keyset(c) ] },
            Some(sort.clone()),
        ));
    }
    if let Some(c) = &p.cursor_guild_open {
        finds.push((
            "list with cursor (deep page), guild + open",
            doc! { "$and": [ { "deleted": false, "guild_id": g.clone(), "status": "open" }, keyset(c) ] },
            Some(sort.clone()),
        ));
    }
    let prefix = p.id.to_string()[..8].to_owned();
    finds.extend([
        (
            "count, guild (one count_documents per status)",
            doc! { "deleted": false, "guild_id": g.clone(), "status": "open" },
            None,
        ),
        (
            "get by id",
            doc! { "_id": p.id.to_string(), "deleted": false },
            None,
        ),
        (
            "find_by_prefix",
            doc! { "_id": { "$gte": &prefix, "$lt": format!("{prefix}~") }, "deleted": false },
            Some(doc! { "_id": 1 }),
        ),
        (
            "get_by_channel",
            doc! { "channel_id": Bson::Int64(p.channel_id as i64), "deleted": false },
            None,
        ),
    ]);
    let mut out = String::new();
    for (name, filter, sort) in finds {
        writeln!(out, "  {name}\n    filter {filter}")?;
        if let Some(s) = &sort {
            writeln!(out, "    sort {s}")?;
        }
        let mut find = doc! { "find": "tickets", "filter": filter };
        if let Some(s) = sort {
            find.insert("sort", s);
        }
        match db
            .run_command(doc! { "explain": find, "verbosity": "queryPlanner" })
            .await
        {
            Ok(r) => {
                let plan = r
                    .get_document("queryPlanner")
                    .ok()
                    .and_then(|q| q.get("winningPlan").cloned())
                    .unwrap_or(Bson::Null);
                writeln!(out, "    -> winningPlan: {plan}")?;
            }
            Err(e) => writeln!(out, "    (explain failed: {e})")?,
        }
    }
    client.shutdown().await;
    Ok(out)
}
