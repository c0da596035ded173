//! Which database the store uses: `DB_TYPE` and its backend's variables, or a database URL.

use std::fmt;
use std::path::PathBuf;

use super::secret::{mongo_userinfo_problem, redact_uri, split_userinfo, userinfo_problem};
use super::{Backend, ConfigError, Problem, Secret, Vars};

/// Where the Python bot kept its SQLite database, and so our default.
pub const DEFAULT_SQLITE_PATH: &str = "ticketbotdatabase.db";

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

pub(super) fn database_from_uri(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let path = split_userinfo(rest).1.split_once('/')?.1;
    let db = path.split(['?', '#']).next()?;
    (!db.is_empty()).then(|| db.to_owned())
}
