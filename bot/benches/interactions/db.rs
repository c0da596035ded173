//! The database the bot runs on: a SQLite file, or a fresh MySQL/MariaDB database.

use super::*;

pub(super) fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

pub(super) struct MysqlServer {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) password: String,
}

pub(super) fn mysql_server() -> MysqlServer {
    MysqlServer {
        host: env_or("BENCH_MYSQL_HOST", "127.0.0.1"),
        port: env_or("BENCH_MYSQL_PORT", "3306").parse().unwrap_or(3306),
        user: env_or("BENCH_MYSQL_USER", "root"),
        password: env_or("BENCH_MYSQL_PASSWORD", ""),
    }
}

pub(super) async fn mysql_pool(with_db: bool) -> Result<sqlx::MySqlPool, String> {
    let s = mysql_server();
    let mut opts = sqlx::mysql::MySqlConnectOptions::new()
        .host(&s.host)
        .port(s.port)
        .username(&s.user);
    if !s.password.is_empty() {
        opts = opts.password(&s.password);
    }
    if with_db {
        opts = opts.database(MYSQL_DB);
    }
    sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts)
        .await
        .map_err(|e| format!("cannot connect to MySQL at {}:{}: {e}", s.host, s.port))
}

pub(super) async fn mysql_drop_db() -> Result<(), String> {
    let pool = mysql_pool(false).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS `{MYSQL_DB}`"))
        .execute(&pool)
        .await
        .map_err(|e| format!("DROP DATABASE {MYSQL_DB}: {e}"))?;
    pool.close().await;
    Ok(())
}

/// A fresh database and the directory the bot runs in (its logs, the SQLite file).
pub(super) struct Db {
    pub(super) backend: Backend,
    pub(super) dir: tempfile::TempDir,
}

impl Db {
    pub(super) async fn new(backend: Backend) -> Result<Db, String> {
        let dir = tempfile::Builder::new()
            .prefix("ticketbot-bench-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        if backend == Backend::Mysql {
            mysql_drop_db().await?;
        }
        Ok(Db { backend, dir })
    }

    pub(super) fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join("ticketbot.db")
    }

    pub(super) fn env(&self, api_base: &str) -> Vec<(String, String)> {
        let mut env = shared::bot_env(self.dir.path(), api_base);
        let mut set = |k: &str, v: String| env.push((k.to_owned(), v));
        match self.backend {
            Backend::Sqlite => {
                set("DB_TYPE", "sqlite".into());
                set("SQLITE_PATH", self.sqlite_path().display().to_string());
            }
            Backend::Mysql => {
                let s = mysql_server();
                set("DB_TYPE", "mysql".into());
                set("MYSQL_HOST", s.host);
                set("MYSQL_PORT", s.port.to_string());
                set("MYSQL_USER", s.user);
                // Set but empty means no password.
                set("MYSQL_PASSWORD", s.password);
                set("MYSQL_DATABASE", MYSQL_DB.into());
            }
        }
        env
    }

    /// Ticket rows, and how many of them have a channel.
    pub(super) async fn count_tickets(&self) -> Result<(i64, i64), String> {
        let sql = "SELECT COUNT(*), COUNT(channel_id) FROM tickets";
        match self.backend {
            Backend::Sqlite => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(self.sqlite_path());
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(opts)
                    .await
                    .map_err(|e| format!("open the SQLite file: {e}"))?;
                let r = sqlx::query_as::<_, (i64, i64)>(sql)
                    .fetch_one(&pool)
                    .await
                    .map_err(|e| e.to_string());
                pool.close().await;
                r
            }
            Backend::Mysql => {
                let pool = mysql_pool(true).await?;
                let r = sqlx::query_as::<_, (i64, i64)>(sql)
                    .fetch_one(&pool)
                    .await
                    .map_err(|e| e.to_string());
                pool.close().await;
                r
            }
        }
    }

    /// What the data takes on disk (SQLite: file + WAL; MySQL: data + indexes).
    pub(super) async fn size(&self) -> String {
        match self.backend {
            Backend::Sqlite => {
                let len = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                let db = len(self.sqlite_path());
                let mut wal = self.sqlite_path().into_os_string();
                wal.push("-wal");
                let wal = len(PathBuf::from(wal));
                format!("{} file + {} WAL", mib(db), mib(wal))
            }
            Backend::Mysql => {
                let sql = "SELECT CAST(COALESCE(SUM(data_length), 0) AS SIGNED), \
                           CAST(COALESCE(SUM(index_length), 0) AS SIGNED) \
                           FROM information_schema.tables WHERE table_schema = ?";
                let r = match mysql_pool(false).await {
                    Ok(pool) => {
                        let r = sqlx::query_as::<_, (i64, i64)>(sql)
                            .bind(MYSQL_DB)
                            .fetch_one(&pool)
                            .await;
                        pool.close().await;
                        r.map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e),
                };
                match r {
                    Ok((data, index)) => format!(
                        "{} data + {} index",
                        mib(data.max(0) as u64),
                        mib(index.max(0) as u64)
                    ),
                    Err(e) => format!("? ({e})"),
                }
            }
        }
    }

    pub(super) async fn cleanup(&self) {
        if self.backend == Backend::Mysql {
            if let Err(e) = mysql_drop_db().await {
                eprintln!("warning: {e}");
            }
        }
    }
}

pub(super) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
