//! `ticketctl` while the bot's database is down: on a MariaDB and a MongoDB-wire server of the
//! test's own (`bot/tests/support/servers.rs`; the shared servers must stay up) that worked a
//! moment ago and is then stopped, or frozen (SIGSTOP: it accepts connections but never
//! answers, as behind a cut network). Every command exits 1 within a few seconds, saying which
//! database (its address, the password hidden) could not be reached and why; and works again
//! once the server is back.

#[allow(unused_macros)]
mod support;

#[allow(dead_code)]
#[path = "../../bot/tests/support/servers.rs"]
mod servers;

use std::path::Path;
use std::time::{Duration, Instant};

use servers::{PrivateServer, ServerKind};
use support::*;
use ticketbot_common::config::DbConfig;

/// The MariaDB password: the private server takes any (no grant tables), and no output may
/// hold it.
const PASSWORD: &str = "Cli-Outage-Pw-31d9e7";

/// How long a command may take to give up on a database that does not answer.
const GIVE_UP_WITHIN: Duration = Duration::from_secs(15);

/// The commands an operator runs to look: each must fail the same way.
const LOOKS: &[&[&str]] = &[
    &["list"],
    &["list", "--json"],
    &["status"],
    &["status", "--json"],
];

/// The bot's variables for `config` (MariaDB with its password), the way an operator's shell or
/// `.env` has them. For MongoDB, `uri` replaces the configured URI (to put a password in it: the
/// nx-27017 server knows no users, so a URI with one works only while it is down).
fn vars(config: &DbConfig, uri: Option<&str>) -> Vec<(String, String)> {
    assert!(
        !matches!(config, DbConfig::Sqlite { .. }),
        "no SQLite server"
    );
    config
        .env_vars()
        .into_iter()
        .map(|(k, v)| match (k, uri) {
            ("MONGO_URI", Some(uri)) => (k.to_owned(), uri.to_owned()),
            _ => (k.to_owned(), v),
        })
        .collect()
}

fn ticketctl_with(dir: &Path, vars: &[(String, String)], args: &[&str]) -> (Out, Duration) {
    let mut cmd = ticketctl(dir);
    cmd.envs(vars.iter().map(|(k, v)| (k, v)));
    let started = Instant::now();
    let out = run(cmd, args);
    (out, started.elapsed())
}

/// Exit 1, soon, naming the server and the reason, never the password.
#[track_caller]
fn assert_unreachable(out: Out, took: Duration, server: &PrivateServer, why: &[&str]) {
    let out = out.code(1);
    assert!(
        took < GIVE_UP_WITHIN,
        "gave up only after {took:?} (at most {GIVE_UP_WITHIN:?})\n{out}"
    );
    assert!(
        out.stderr.contains(&server.address()),
        "must name {}\n{out}",
        server.address()
    );
    let lower = out.stderr.to_lowercase();
    assert!(
        why.iter().any(|w| lower.contains(w)),
        "must say why (one of {why:?})\n{out}"
    );
    assert!(
        !out.all().contains(PASSWORD),
        "the password was printed\n{out}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout\n{out}");
}

fn ticketctl_while_down(kind: ServerKind) {
    let rt = runtime();
    let mut server = rt.block_on(PrivateServer::start_new(kind));
    let name = fresh_name();
    let config = server.db_config(&name, PASSWORD);
    // The bot's database, with a ticket in it.
    rt.block_on(async {
        let store = ticketbot_common::open_store(&config)
            .await
            .unwrap_or_else(|e| panic!("open_store({config:?}): {e}"));
        let t = ticket(uuid::Uuid::new_v4(), 1, 2, now());
        store.import_tickets(&records(&[t])).await.expect("import");
        store.close().await;
    });
    let dir = tempfile::tempdir().expect("a temp dir");
    let up = vars(&config, None);
    let down = vars(
        &config,
        Some(&format!("mongodb://ops:{PASSWORD}@{}", server.address())),
    );
    let (out, _) = ticketctl_with(dir.path(), &up, &["list", "--json"]);
    assert_eq!(ids_of(&out.ok().json()).len(), 1);

    // Stopped: nothing listens on its port any more.
    rt.block_on(server.stop());
    for args in LOOKS {
        let (out, took) = ticketctl_with(dir.path(), &down, args);
        eprintln!("{kind:?} stopped: ticketctl {args:?} gave up after {took:?}");
        assert_unreachable(out, took, &server, &["refused"]);
    }

    // Frozen: the port takes connections, nothing answers.
    rt.block_on(server.start());
    rt.block_on(server.pause());
    for args in [&["list"][..], &["status"][..]] {
        let (out, took) = ticketctl_with(dir.path(), &down, args);
        eprintln!("{kind:?} frozen: ticketctl {args:?} gave up after {took:?}");
        assert_unreachable(out, took, &server, &["no answer", "timed out", "timeout"]);
    }

    // Back: the same commands work again.
    rt.block_on(server.resume());
    let (out, _) = ticketctl_with(dir.path(), &up, &["list", "--json"]);
    assert_eq!(ids_of(&out.ok().json()).len(), 1);
    let (out, _) = ticketctl_with(dir.path(), &up, &["status"]);
    out.ok();
}

#[test]
fn mariadb_down_is_named_and_exits_1() {
    ticketctl_while_down(ServerKind::Mariadb);
}

#[test]
fn mongodb_down_is_named_and_exits_1() {
    ticketctl_while_down(ServerKind::Mongo);
}
