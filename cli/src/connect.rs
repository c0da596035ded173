//! Finding the database: `.env` and the environment, the way the bot reads them, then the
//! command line's overrides.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use ticketbot_common::config::{DbConfig, MongoConfig, MysqlConfig, Secret, Vars};
use ticketbot_common::store::{open_store, TicketStore};

use crate::error::Usage;
use crate::opt::{BackendArg, ConnectOpts, TargetOpts};

/// The variables, and the `.env` file they came from (the one `switch` rewrites).
pub struct Loaded {
    pub vars: Vars,
    pub env_file: Option<PathBuf>,
}

pub fn load_vars(opts: &ConnectOpts) -> Result<Loaded> {
    if opts.no_dotenv {
        return Ok(Loaded {
            vars: Vars::from_env(),
            env_file: None,
        });
    }
    let (path, explicit) = match &opts.env_file {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(".env"), false),
    };
    if explicit && !path.exists() {
        return Err(Usage(format!("--env-file {}: no such file", path.display())).into());
    }
    let vars = Vars::from_env_and_file(&path)?;
    Ok(Loaded {
        vars,
        env_file: path.exists().then_some(path),
    })
}

/// The configured database (the bot's), with `--database-url` winning.
pub fn source_config(opts: &ConnectOpts, vars: &Vars) -> Result<DbConfig> {
    let config = match &opts.database_url {
        Some(url) => DbConfig::from_url(url, vars.get("MONGO_DB_NAME")),
        None => DbConfig::from_vars(vars),
    };
    config.map_err(|e| Usage(e.to_string()).into())
}

/// Opens the bot's database, which must exist: a name that matches no database is a mistake
/// (wrong directory, SQLITE_PATH or MYSQL_DATABASE), not a wish for an empty one.
pub async fn connect_existing(config: &DbConfig) -> Result<Arc<dyn TicketStore>> {
    let exists = ticketbot_common::store::database_exists(config)
        .await
        .with_context(|| format!("cannot open the database ({})", config.target()))?;
    if !exists {
        let hint = match config {
            DbConfig::Sqlite { .. } => {
                "run from the bot's directory, or set SQLITE_PATH or --database-url"
            }
            DbConfig::Mysql(_) => "check MYSQL_DATABASE (and MYSQL_HOST), or --database-url",
            DbConfig::Mongo(_) => "check MONGO_DB_NAME (and MONGO_URI), or --database-url",
        };
        return Err(
            crate::error::NotFound(format!("no database at {} ({hint})", config.target())).into(),
        );
    }
    let store = ticketbot_common::store::open_current_store(config)
        .await
        .with_context(|| format!("cannot open the database ({})", config.target()))?;
    // The open may have converted or finished a database (a takeover, an index build); on a
    // current one this finds a small heap with nothing to give.
    crate::memory::give_back();
    Ok(store)
}

/// Opens a database, creating it (and its schema) when missing.
pub async fn connect(config: &DbConfig) -> Result<Arc<dyn TicketStore>> {
    open_store(config)
        .await
        .with_context(|| format!("cannot open the database ({})", config.target()))
}

/// The target of `migrate` / `switch`: its URL, else its flags over the configuration's
/// variables for that backend, else the defaults.
pub fn target_config(t: &TargetOpts, vars: &Vars) -> Result<DbConfig> {
    if let Some(url) = &t.to_url {
        let config = DbConfig::from_url(
            url,
            t.mongo_db_name.as_deref().or(vars.get("MONGO_DB_NAME")),
        )
        .map_err(|mut e| {
            // from_url names `--database-url`; this value came from `--to-url`.
            for p in &mut e.problems {
                p.variable = "--to-url".to_owned();
            }
            Usage(e.to_string())
        })?;
        if backend_arg(config.backend()) != t.to {
            return Err(Usage(format!(
                "--to-url is a {} database but --to says {:?}",
                config.backend(),
                t.to
            ))
            .into());
        }
        return Ok(config);
    }
    let mut vars = vars.clone();
    let mut set = |key: &str, value: Option<String>| {
        if let Some(v) = value {
            vars.set(key, v);
        }
    };
    set("DB_TYPE", Some(backend_name(t.to).to_owned()));
    set(
        "SQLITE_PATH",
        t.sqlite_path.as_ref().map(|p| p.display().to_string()),
    );
    set("MYSQL_HOST", t.mysql_host.clone());
    set("MYSQL_PORT", t.mysql_port.map(|p| p.to_string()));
    set("MYSQL_USER", t.mysql_user.clone());
    set("MYSQL_PASSWORD", t.mysql_password.clone());
    set("MYSQL_DATABASE", t.mysql_database.clone());
    set("MONGO_URI", t.mongo_uri.clone());
    set("MONGO_DB_NAME", t.mongo_db_name.clone());
    DbConfig::from_vars(&vars).map_err(|e| Usage(e.to_string()).into())
}

pub fn backend_name(b: BackendArg) -> &'static str {
    match b {
        BackendArg::Sqlite => "sqlite",
        BackendArg::Mysql => "mysql",
        BackendArg::Mongodb => "mongodb",
    }
}

fn backend_arg(b: ticketbot_common::store::Backend) -> BackendArg {
    use ticketbot_common::store::Backend;
    match b {
        Backend::Sqlite => BackendArg::Sqlite,
        Backend::Mysql => BackendArg::Mysql,
        Backend::Mongodb => BackendArg::Mongodb,
    }
}

/// Whether two configurations name the same data.
pub fn same_database(a: &DbConfig, b: &DbConfig) -> bool {
    fn canonical(p: &Path) -> PathBuf {
        p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
    }
    match (a, b) {
        (DbConfig::Sqlite { path: x }, DbConfig::Sqlite { path: y }) => {
            canonical(x) == canonical(y)
        }
        (DbConfig::Mysql(x), DbConfig::Mysql(y)) => same_mysql(x, y),
        (DbConfig::Mongo(x), DbConfig::Mongo(y)) => same_mongo(x, y),
        _ => false,
    }
}

fn same_mysql(x: &MysqlConfig, y: &MysqlConfig) -> bool {
    let host = |h: &str| {
        if h == "localhost" {
            "127.0.0.1".to_owned()
        } else {
            h.to_ascii_lowercase()
        }
    };
    host(&x.host) == host(&y.host) && x.port == y.port && x.database == y.database
}

fn same_mongo(x: &MongoConfig, y: &MongoConfig) -> bool {
    let hosts = |s: &Secret| {
        let rest = s.expose().split_once("://").map_or("", |(_, r)| r);
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, h)| h)
            .replace("localhost", "127.0.0.1")
    };
    hosts(&x.uri) == hosts(&y.uri) && x.database == y.database
}
