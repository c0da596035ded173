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
    let copied = async {
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
        Ok::<_, anyhow::Error>(summary)
    }
    .await;
    source.close().await;
    let summary = copied?;
    print_summary(&summary);

    let env_path = loaded
        .env_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(".env"));
    let backup = rewrite_env(&env_path, &target_config.env_vars())?;
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
/// other line. The old file is kept as `<file>.bak` (`.bak.1`, `.bak.2`, ... when one exists),
/// with the same permissions; the new one is written to a temporary file, flushed, renamed
/// over the old one, and the directory flushed.
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
    // The file holds the bot token and database passwords: a new one is private, an old
    // one keeps its permissions.
    let mode = file_mode(path).unwrap_or(0o600);
    let backup = match &old {
        Some(text) => Some(write_backup(path, text, mode)?),
        None => None,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    write_synced(&tmp, &(lines.join("\n") + "\n"), mode, false)?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    sync_dir(path);
    Ok(backup)
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn file_mode(_: &Path) -> Option<u32> {
    None
}

/// Writes `text` to `path` with `mode`, flushed to disk. `create_new`: fail if it exists.
fn write_synced(path: &Path, text: &str, mode: u32, create_new: bool) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // `mode` at creation is filtered by the umask; set it exactly.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the permissions of {}", path.display()))?;
    }
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Keeps the old file as `<file>.bak`, or `<file>.bak.N` when earlier backups exist: a backup
/// is never overwritten.
fn write_backup(path: &Path, text: &str, mode: u32) -> Result<PathBuf> {
    for n in 0u32..10_000 {
        let mut b = path.as_os_str().to_owned();
        b.push(".bak");
        if n > 0 {
            b.push(format!(".{n}"));
        }
        let b = PathBuf::from(b);
        match write_synced(&b, text, mode, true) {
            Ok(()) => return Ok(b),
            Err(e)
                if e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::AlreadyExists) =>
            {
                continue
            }
            Err(e) => {
                return Err(e.context(format!("cannot back up {}", path.display())));
            }
        }
    }
    anyhow::bail!(
        "{} already has 10,000 backups beside it; remove old ones",
        path.display()
    )
}

/// Makes the rename durable: the directory entry is flushed too (best effort).
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = std::fs::File::open(dir) {
        d.sync_all().ok();
    }
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

    #[cfg(unix)]
    #[test]
    fn permissions_kept_and_backups_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "BOT_TOKEN=a.b.c\nDB_TYPE=sqlite\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let mut backups = Vec::new();
        for (i, backend) in ["mysql", "mongodb", "sqlite"].into_iter().enumerate() {
            let b = rewrite_env(&path, &[("DB_TYPE", backend.into())])
                .unwrap()
                .unwrap();
            assert_eq!(
                mode(&path),
                0o600,
                "the token stays private after switch {i}"
            );
            assert_eq!(mode(&b), 0o600, "and so does its backup");
            backups.push(b);
        }
        let names: Vec<String> = backups
            .iter()
            .map(|b| b.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [".env.bak", ".env.bak.1", ".env.bak.2"]);
        // Each backup is the file as it was before that switch.
        let db_type =
            |p: &Path| ticketbot_common::config::read_env_file(p).unwrap()["DB_TYPE"].clone();
        assert_eq!(db_type(&backups[0]), "sqlite");
        assert_eq!(db_type(&backups[1]), "mysql");
        assert_eq!(db_type(&backups[2]), "mongodb");
        assert_eq!(db_type(&path), "sqlite");
        assert!(!dir.path().join(".env.tmp").exists());

        // A new file holds secrets: private from the start.
        let fresh = dir.path().join("new.env");
        assert!(rewrite_env(&fresh, &[("DB_TYPE", "mysql".into())])
            .unwrap()
            .is_none());
        assert_eq!(mode(&fresh), 0o600);
    }
}
