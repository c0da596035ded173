//! Several real `bot` processes, one per gateway shard, against one fake Discord hosting
//! several guilds and one database: [`Cluster`] starts them (`SHARD_ID=i`, `SHARD_COUNT=n`, no
//! `GUILD_ID`: every guild of the shard), kills and restarts one, drives clicks in any guild,
//! runs `ticketctl` on the same database, and at the end stops every process (exit 0 within
//! 10 s) and checks every output as [`E2e`] does.

use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fakecord::{ids, Config, FakeDiscord, Message, State};
use ticketbot_common::store::Backend;
use ticketbot_common::TicketStore;
use tokio::sync::OnceCell;

use super::*;

/// One shard's process: the running one, and the output of every run.
pub struct ShardProcess {
    pub shard: u32,
    pub bot: Option<BotProcess>,
    pub outputs: Vec<PathBuf>,
}

pub struct Cluster {
    pub fake: FakeDiscord,
    pub db: TestDb,
    pub count: u32,
    pub procs: Vec<ShardProcess>,
    /// The variables every process shares (each adds its `SHARD_ID` and `LOG_FILE`).
    env: Vec<(String, String)>,
    store: OnceCell<Arc<dyn TicketStore>>,
    finished: bool,
}

impl Cluster {
    /// The fake (`config`, whose `shards` GET /gateway/bot recommends), a fresh database, and
    /// no process yet: call [`Cluster::launch_all`]. `count` processes, shard `i` of `count`
    /// each; `extra` adds or overrides variables (with `SHARD_COUNT=auto`, give `count` 1: that
    /// process runs every shard).
    pub async fn prepare(
        backend: Backend,
        config: Config,
        count: u32,
        extra: &[(&str, &str)],
    ) -> Cluster {
        let mut config = config;
        // Discord's rule: an interaction not acknowledged within 3 s is dead.
        config
            .interaction_ack_deadline
            .get_or_insert(Duration::from_secs(3));
        let fake = FakeDiscord::start(config).await;
        let db = TestDb::new(backend);
        let mut env: Vec<(String, String)> = vec![
            ("BOT_TOKEN".into(), TOKEN.into()),
            ("SUPPORT_ROLE_ID".into(), ids::SUPPORT_ROLE.to_string()),
            ("SHARD_COUNT".into(), count.to_string()),
            ("DISCORD_API_BASE".into(), fake.http_url()),
            ("DISCORD_CDN_BASE".into(), fake.http_url()),
            ("RUST_LOG".into(), RUST_LOG.into()),
        ];
        env.extend(db.env());
        for (k, v) in extra {
            env.retain(|(key, _)| key != k);
            env.push(((*k).to_owned(), (*v).to_owned()));
        }
        Cluster {
            fake,
            db,
            count,
            procs: (0..count)
                .map(|shard| ShardProcess {
                    shard,
                    bot: None,
                    outputs: Vec::new(),
                })
                .collect(),
            env,
            store: OnceCell::new(),
            finished: false,
        }
    }

    /// Starts every shard's process at once and waits until each is ready.
    pub async fn launch_all(&mut self) {
        let before = self.sessions_now();
        for i in 0..self.count {
            self.spawn(i);
        }
        for i in 0..self.count {
            self.wait_ready(i, &before).await;
        }
    }

    /// Starts shard `i`'s process (again) and waits until it is ready.
    pub async fn launch(&mut self, i: u32) {
        let before = self.sessions_now();
        self.spawn(i);
        self.wait_ready(i, &before).await;
    }

    fn sessions_now(&self) -> Vec<String> {
        self.fake.with_state(|st| {
            st.gateway
                .sessions
                .iter()
                .map(|s| s.session_id.clone())
                .collect()
        })
    }

    fn spawn(&mut self, i: u32) {
        let auto = self.autosharded();
        let p = &mut self.procs[i as usize];
        assert!(p.bot.is_none(), "shard {i}'s process is already running");
        let run = p.outputs.len() + 1;
        let mut env = self.env.clone();
        if !auto {
            env.push(("SHARD_ID".into(), i.to_string()));
        }
        let log = self.db.dir().join("logs").join(format!("shard{i}.log"));
        env.push(("LOG_FILE".into(), log.display().to_string()));
        let bot = BotProcess::spawn(self.db.dir(), &env, &format!("bot-shard{i}-run{run}.out"));
        p.outputs.push(bot.output.clone());
        p.bot = Some(bot);
    }

    /// `SHARD_COUNT=auto`: one process runs every shard GET /gateway/bot recommends.
    fn autosharded(&self) -> bool {
        self.env
            .iter()
            .any(|(k, v)| k == "SHARD_COUNT" && v.eq_ignore_ascii_case("auto"))
    }

    /// Ready: a new session of each of its shards is connected and `/ticket` is registered.
    async fn wait_ready(&mut self, i: u32, before: &[String]) {
        let shards: Vec<(u32, u32)> = if self.autosharded() {
            let total = self.fake.config().shards;
            (0..total).map(|id| (id, total)).collect()
        } else {
            vec![(i, self.count)]
        };
        let connected = |st: &State| {
            shards.iter().all(|shard| {
                st.gateway
                    .sessions
                    .iter()
                    .any(|s| s.shard == *shard && s.connected && !before.contains(&s.session_id))
            })
        };
        let output = self.procs[i as usize]
            .outputs
            .last()
            .cloned()
            .expect("spawned");
        let fake = &self.fake;
        let ready = async {
            fake.wait_until(connected, WAIT)
                .await
                .map_err(|e| e.to_string())?;
            eventually("the process to register /ticket", WAIT, || {
                let text = read_lossy(&output);
                async move { text.contains("registered /ticket").then_some(()) }
            })
            .await;
            Ok::<(), String>(())
        };
        let bot = self.procs[i as usize].bot.as_mut().expect("spawned");
        tokio::select! {
            r = ready => if let Err(e) = r {
                panic!("shard {i}'s process did not become ready: {e}\n{}", tail(&bot.output_text(), 80));
            },
            status = bot.wait_exit(WAIT) => {
                panic!("shard {i}'s process exited ({status:?}) before it was ready\n{}", tail(&bot.output_text(), 80));
            }
        }
    }

    /// SIGKILL, as a crash.
    pub async fn kill(&mut self, i: u32) {
        if let Some(mut bot) = self.procs[i as usize].bot.take() {
            bot.kill().await;
        }
    }

    pub fn pid(&self, i: u32) -> u32 {
        self.procs[i as usize]
            .bot
            .as_ref()
            .map(|b| b.pid)
            .expect("the process is running")
    }

    /// Every run's output of shard `i`'s process.
    pub fn output(&self, i: u32) -> String {
        self.procs[i as usize]
            .outputs
            .iter()
            .map(|p| read_lossy(p))
            .collect()
    }

    /// The shard of a guild, Discord's way.
    pub fn shard_of(&self, guild: u64) -> u32 {
        ((guild >> 22) % u64::from(self.count)) as u32
    }

    pub async fn store(&self) -> Arc<dyn TicketStore> {
        self.store
            .get_or_init(|| async { self.db.open().await })
            .await
            .clone()
    }

    // ----- driving -----

    /// A click by a member of `guild` (with their roles there).
    pub fn click(&self, guild: u64, user: u64, channel: u64, message: u64, custom_id: &str) -> u64 {
        let roles = self.fake.member_roles_in(guild, user);
        self.fake
            .click_button(&self.fake.user(user), &roles, channel, message, custom_id)
    }

    /// `/ticket <sub>` by a member of `guild`.
    pub fn slash(&self, guild: u64, user: u64, channel: u64, sub: &str) -> u64 {
        let roles = self.fake.member_roles_in(guild, user);
        self.fake.send_slash_command(
            &self.fake.user(user),
            &roles,
            channel,
            "ticket",
            Some(sub),
            &[],
        )
    }

    /// Waits for a reply to every interaction; returns them in order.
    pub async fn replies(&self, interactions: &[u64]) -> Vec<Message> {
        if let Err(e) = self
            .fake
            .wait_until(|st| interactions.iter().all(|i| has_reply(st, *i)), WAIT)
            .await
        {
            panic!("interactions got no reply: {e}\n{}", self.tails());
        }
        interactions
            .iter()
            .map(|i| {
                self.fake
                    .replies(*i)
                    .into_iter()
                    .find(|m| m.flags & fakecord::LOADING == 0)
                    .expect("a reply")
            })
            .collect()
    }

    /// Whether an interaction has its (final) reply.
    pub fn answered(&self, interaction: u64) -> bool {
        self.fake
            .replies(interaction)
            .iter()
            .any(|m| m.flags & fakecord::LOADING == 0)
    }

    /// `/ticket setup` by `staff` in `channel` of `guild`; returns the panel message's id.
    pub async fn post_panel(&self, guild: u64, staff: u64, channel: u64) -> u64 {
        let id = self.slash(guild, staff, channel, "setup");
        let text = self.replies(&[id]).await[0].text();
        assert_eq!(
            text, "Panel posted. Anyone can now open a ticket with its button.",
            "in guild {guild}"
        );
        self.fake
            .messages(channel)
            .into_iter()
            .rev()
            .find(|m| m.custom_ids() == [OPEN_BUTTON])
            .expect("the panel message")
            .id
    }

    /// Runs `ticketctl` on this database (its variables, no `.env`).
    pub fn ticketctl(&self, args: &[&str]) -> Output {
        std::process::Command::new(ticketctl_binary())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.db.env())
            .current_dir(self.db.dir())
            .args(args)
            .output()
            .expect("cannot run ticketctl")
    }

    fn tails(&self) -> String {
        self.procs
            .iter()
            .map(|p| {
                let text: String = p.outputs.iter().map(|o| read_lossy(o)).collect();
                format!(
                    "---- shard {} process (last 60 lines) ----\n{}",
                    p.shard,
                    tail(&text, 60)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    // ----- the end -----

    /// Stops every process with SIGTERM (each must exit 0 within 10 s), then checks: no
    /// unknown route, every interaction answered but `unanswered_ok`, and every output free of
    /// panics, payloads serenity could not take, and the token.
    pub async fn finish(mut self, unanswered_ok: &[u64]) {
        let unanswered: Vec<(u64, String)> = self.fake.with_state(|st| {
            st.interactions
                .values()
                .filter(|i| i.callbacks.is_empty() && !unanswered_ok.contains(&i.id))
                .map(|i| (i.id, i.name.clone()))
                .collect()
        });
        assert!(
            unanswered.is_empty(),
            "interactions never answered: {unanswered:?}"
        );
        self.fake.assert_no_unknown_routes();
        for p in &mut self.procs {
            let Some(bot) = p.bot.as_mut() else { continue };
            bot.signal(libc::SIGTERM);
            let status = bot.wait_exit(Duration::from_secs(10)).await;
            assert!(
                status.is_some_and(|s| s.success()),
                "shard {}'s process: {status:?} after SIGTERM\n{}",
                p.shard,
                tail(&bot.output_text(), 60)
            );
        }
        let mut texts: Vec<(String, String)> = self
            .procs
            .iter()
            .flat_map(|p| p.outputs.iter())
            .map(|p| (p.display().to_string(), read_lossy(p)))
            .collect();
        texts.extend(
            files_under(&self.db.dir().join("logs"))
                .into_iter()
                .map(|(p, t)| (p.display().to_string(), t)),
        );
        for (name, text) in &texts {
            assert_clean_log(name, text);
        }
        if let Some(store) = self.store.get() {
            store.close().await;
        }
        self.finished = true;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.finished && std::thread::panicking() {
            eprintln!("{}", self.tails());
        }
        for p in &mut self.procs {
            if let Some(bot) = p.bot.as_mut() {
                bot.signal(libc::SIGKILL);
            }
        }
    }
}

/// The newest modification time of the files under `path`.
fn newest(path: &std::path::Path) -> Option<std::time::SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .flatten()
        .filter_map(|e| newest(&e.path()))
        .max()
}

/// The `ticketctl` binary beside the test's `bot` (cargo builds only the tested package's
/// binaries for its tests): built with `cargo build -p ticketctl` when it is missing or older
/// than its sources, else used as it is (a workspace run has just built it, and building it
/// again for `-p ticketctl` alone would recompile the store with other features).
pub fn ticketctl_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let bot = PathBuf::from(env!("CARGO_BIN_EXE_bot"));
            let profile_dir = bot.parent().expect("the bot binary's directory");
            let target_dir = profile_dir.parent().expect("the target directory");
            let bin = profile_dir.join(format!("ticketctl{}", std::env::consts::EXE_SUFFIX));
            let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("the workspace")
                .to_path_buf();
            let sources = ["cli", "common", "transcript", "migrations", "Cargo.lock"]
                .iter()
                .filter_map(|p| newest(&workspace.join(p)))
                .max();
            let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
            if built.is_some() && built >= sources {
                return bin;
            }
            let mut cmd = std::process::Command::new(
                std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
            );
            cmd.current_dir(&workspace)
                .env("CARGO_TARGET_DIR", target_dir)
                .args(["build", "--quiet", "-p", "ticketctl", "--bin", "ticketctl"]);
            match profile_dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") | None => {}
                Some("release") => {
                    cmd.arg("--release");
                }
                Some(other) => {
                    cmd.args(["--profile", other]);
                }
            }
            let out = cmd.output().expect("cannot run cargo to build ticketctl");
            assert!(
                out.status.success(),
                "cargo build -p ticketctl failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            bin
        })
        .clone()
}
