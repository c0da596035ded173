//! `ticketctl switch`: a verified migrate, then `.env` now names the new backend.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ticketbot_common::config::DbConfig;
use ticketbot_common::store::{TicketStore, LIVE_WITHIN};

use super::migrate::{copy_and_verify, print_summary, refuse_same};
use crate::connect::{connect, connect_existing, target_config, Loaded};
use crate::opt::SwitchArgs;

async fn refuse_if_bot_running(store: &dyn TicketStore, when: &str) -> Result<()> {
    let live = store
        .heartbeats_since(chrono::Utc::now() - LIVE_WITHIN)
        .await?;
    if let Some(bot) = live.first() {
        bail!(
            "a bot is running on this database {when} (instance {}, {}, last seen {}); stop it first so that nothing it writes is left behind, or pass --force",
            bot.instance_id,
            bot.details,
            bot.seen_at
        );
    }
    Ok(())
}

pub async fn run(source_config: &DbConfig, loaded: &Loaded, args: &SwitchArgs) -> Result<()> {
    let target_config = target_config(&args.target, &loaded.vars)?;
    refuse_same(source_config, &target_config)?;
    let source = connect_existing(source_config).await?;
    if !args.force {
        refuse_if_bot_running(source.as_ref(), "").await?;
    }
    let target = connect(&target_config).await?;
    let summary = copy_and_verify(
        source.clone(),
        target,
        source_config,
        &target_config,
        args.batch,
    )
    .await?;
    if !args.force {
        refuse_if_bot_running(source.as_ref(), "(it started during the copy)").await?;
    }
    print_summary(&summary);

    let env_path = loaded
        .env_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(".env"));
    let backup = rewrite_env(&env_path, &env_values(&target_config))?;
    match backup {
        Some(b) => println!(
            "{} now points at {}; the previous file is {}",
            env_path.display(),
            target_config.backend(),
            b.display()
        ),
        None => println!(
            "wrote {} pointing at {}",
            env_path.display(),
            target_config.backend()
        ),
    }
    if std::env::var_os("DB_TYPE").is_some() {
        println!("note: DB_TYPE is set in this shell's environment and wins over .env; change it there too");
    }
    println!(
        "next: start the bot as usual; it uses {}. The old database is left as it was.",
        target_config.target()
    );
    Ok(())
}

/// The variables that select `config`, with their values.
pub fn env_values(config: &DbConfig) -> Vec<(&'static str, String)> {
    match config {
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

/// A value as dotenv reads it back verbatim: single quotes are literal; otherwise double quotes
/// with `\`, `"` and `$` escaped.
pub fn quote(value: &str) -> String {
    if !value.contains('\'') && !value.contains('\n') {
        return format!("'{value}'");
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' | '"' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn key_of(line: &str) -> Option<&str> {
    let l = line.trim_start();
    let l = l.strip_prefix("export ").unwrap_or(l);
    let (key, _) = l.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('#')).then_some(key)
}

/// Sets `values` in the file (replacing their lines, appending the missing ones), keeping every
/// other line. The old file is kept as `<file>.bak`. Written atomically.
pub fn rewrite_env(path: &Path, values: &[(&str, String)]) -> Result<Option<PathBuf>> {
    let old = match std::fs::read_to_string(path) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut lines: Vec<String> = old
        .as_deref()
        .unwrap_or("")
        .lines()
        .map(str::to_owned)
        .collect();
    let mut missing: Vec<&(&str, String)> = Vec::new();
    for kv in values {
        let (key, value) = kv;
        let mut found = false;
        for line in lines.iter_mut() {
            if key_of(line) == Some(key) {
                *line = format!("{key}={}", quote(value));
                found = true;
            }
        }
        if !found {
            missing.push(kv);
        }
    }
    if !missing.is_empty() {
        lines.push(format!(
            "# set by ticketctl switch on {}",
            chrono::Utc::now().format("%Y-%m-%d")
        ));
        for (key, value) in missing {
            lines.push(format!("{key}={}", quote(value)));
        }
    }
    let backup = match &old {
        Some(_) => {
            let mut b = path.as_os_str().to_owned();
            b.push(".bak");
            let b = PathBuf::from(b);
            std::fs::copy(path, &b)
                .with_context(|| format!("cannot back up {} to {}", path.display(), b.display()))?;
            Some(b)
        }
        None => None,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, lines.join("\n") + "\n")
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(backup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewritten_env_reads_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# bot\nBOT_TOKEN = \"abc\"  # token\nDB_TYPE = \"sqlite\"  # backend\n",
        )
        .unwrap();
        let tricky = "p'a\"s$s\\w";
        let backup = rewrite_env(
            &path,
            &[
                ("DB_TYPE", "mysql".into()),
                ("MYSQL_PASSWORD", tricky.into()),
                ("MYSQL_HOST", "h".into()),
            ],
        )
        .unwrap();
        assert!(backup.unwrap().exists());
        let map = ticketbot_common::config::read_env_file(&path).unwrap();
        assert_eq!(map["DB_TYPE"], "mysql");
        assert_eq!(map["MYSQL_PASSWORD"], tricky);
        assert_eq!(map["MYSQL_HOST"], "h");
        assert_eq!(map["BOT_TOKEN"], "abc");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("DB_TYPE").count(), 1);
    }
}
