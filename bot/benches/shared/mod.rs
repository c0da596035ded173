//! What the benches that run the real bot against fakecord share: the bot's process and its
//! environment, readings from `/proc`, and the printed tables. Each bench uses a part of it.
#![allow(dead_code)]

use std::fmt::{Display, Write as _};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use fakecord::{ids, State};
use tokio::process::{Child, Command};

/// Shaped like a real token (`a.b.c`); the fake does not check it.
pub const TOKEN: &str = "MTIxMDAwMDAwMDAwMDAwMDAx.GxBnCh.bench-token-not-a-secret";

/// The bot's settings for the fake's guild, without the database: its ids, a log file in
/// `dir`, the fake as Discord's API. `BENCH_BOT_RUST_LOG` becomes its `RUST_LOG` (e.g.
/// `info,sqlx::query=debug` times every statement); `BENCH_BOT_ENV=K=V,K=V` adds variables
/// (e.g. heaptrack's `LD_PRELOAD` and `DUMP_HEAPTRACK_OUTPUT`).
pub fn bot_env(dir: &Path, api_base: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("BOT_TOKEN", TOKEN.to_owned()),
        ("GUILD_ID", ids::GUILD.to_string()),
        ("SUPPORT_ROLE_ID", ids::SUPPORT_ROLE.to_string()),
        ("OPEN_TICKETS_CATEGORY_ID", ids::OPEN_CATEGORY.to_string()),
        (
            "CLOSED_TICKETS_CATEGORY_ID",
            ids::CLOSED_CATEGORY.to_string(),
        ),
        ("LOG_CHANNEL_ID", ids::LOG_CHANNEL.to_string()),
        (
            "LOG_FILE",
            dir.join("logs").join("bot.log").display().to_string(),
        ),
        ("DISCORD_API_BASE", api_base.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Ok(filter) = std::env::var("BENCH_BOT_RUST_LOG") {
        env.push(("RUST_LOG".to_owned(), filter));
    }
    if let Ok(extra) = std::env::var("BENCH_BOT_ENV") {
        env.extend(extra.split(',').filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        }));
    }
    env
}

/// Whether the bot has registered its guild commands (it does so after READY).
pub fn registered(st: &State) -> bool {
    st.requests.iter().any(|r| {
        r.method == "PUT"
            && (200..300).contains(&r.status)
            && r.path.starts_with("/applications/")
            && r.path.contains("/guilds/")
            && r.path.ends_with("/commands")
    })
}

// ----- the bot process -----

pub struct Bot {
    pub child: Child,
    pub pid: u32,
    pub output: PathBuf,
}

impl Bot {
    /// The `bot` binary in `dir`, its output (stdout and stderr) in `dir/output_name`.
    pub fn spawn(dir: &Path, env: &[(String, String)], output_name: &str) -> Result<Bot, String> {
        Bot::spawn_program(
            Path::new(env!("CARGO_BIN_EXE_bot")),
            &[],
            dir,
            env,
            output_name,
        )
    }

    /// Any program as the bot (the Python bot's model), with only `env` and PATH.
    pub fn spawn_program(
        program: &Path,
        args: &[&Path],
        dir: &Path,
        env: &[(String, String)],
        output_name: &str,
    ) -> Result<Bot, String> {
        let output = dir.join(output_name);
        let file = std::fs::File::create(&output).map_err(|e| format!("output file: {e}"))?;
        let err = file.try_clone().map_err(|e| format!("output file: {e}"))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let pid = child.id().ok_or("the bot has no pid")?;
        Ok(Bot { child, pid, output })
    }

    pub fn output(&self) -> String {
        std::fs::read(&self.output)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    pub fn output_tail(&self, lines: usize) -> String {
        let text = self.output();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM, then SIGKILL after 15 s. Returns how long it took to exit.
    pub async fn stop(&mut self) -> (Duration, Option<ExitStatus>) {
        let t = Instant::now();
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        let status = match tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await {
            Ok(s) => s.ok(),
            Err(_) => {
                let _ = self.child.start_kill();
                self.child.wait().await.ok()
            }
        };
        (t.elapsed(), status)
    }
}

// ----- /proc -----

/// Fields of `/proc/<pid>/status` in KiB (`VmRSS:` …), `None` where missing.
pub fn status_kib<const N: usize>(pid: u32, names: [&str; N]) -> [Option<u64>; N] {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    names.map(|name| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    })
}

/// (VmRSS, VmHWM) in KiB.
pub fn memory_kib(pid: u32) -> (Option<u64>, Option<u64>) {
    let [rss, hwm] = status_kib(pid, ["VmRSS:", "VmHWM:"]);
    (rss, hwm)
}

/// CPU time (user + system) a process (a pid, or `self`) has used, in seconds.
pub fn cpu_secs(pid: impl Display) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3; utime and stime are fields 14 and 15.
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    Some(ticks as f64 / if hz > 0 { hz as f64 } else { 100.0 })
}

/// The 1-, 5- and 15-minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ----- printing -----

pub fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// KiB as MiB, `?` when unknown.
pub fn kib(v: Option<u64>) -> String {
    v.map_or_else(|| "?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

/// A Markdown table: the first column left-aligned, the others right-aligned.
pub fn print_table(title: &str, header: &[String], rows: &[Vec<String>]) {
    let mut width = vec![0; header.len()];
    for r in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |r: &[String]| {
        let mut s = String::new();
        for (i, c) in r.iter().enumerate() {
            let pad = " ".repeat(width[i] - c.chars().count());
            if i == 0 {
                let _ = write!(s, "| {c}{pad} ");
            } else {
                let _ = write!(s, "| {pad}{c} ");
            }
        }
        s.push('|');
        s
    };
    let mut rule = String::new();
    for w in &width {
        let _ = write!(rule, "|{}", "-".repeat(w + 2));
    }
    rule.push('|');
    println!("\n{title}\n");
    println!("{}", line(header));
    println!("{rule}");
    for r in rows {
        println!("{}", line(r));
    }
}
