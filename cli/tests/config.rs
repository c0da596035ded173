//! Where `ticketctl` finds the database: the environment, then `.env` in the working directory
//! (the Python bot's file as it ships), `--env-file`, `--database-url`; a Python-bot SQLite
//! database read in place; passwords never printed; unreachable servers named; completions.

#[macro_use]
mod support;

use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Executor, Row, SqliteConnection};
use ticketbot_common::store::Backend;
use uuid::Uuid;

use support::*;

const G: u64 = 1_234_567_890_123_456_789;

for_each_backend!(
    env_vars_select_the_database,
    python_env_file_in_working_dir,
    env_file_flag,
);

/// A database of `backend` reachable through the Python bot's variables. MySQL gets an account
/// with a password (an empty one cannot be said through those variables: see
/// `mysql_empty_password_means_no_password`).
fn db_with_login(backend: Backend) -> (Option<MysqlUser>, TestDb) {
    let user = (backend == Backend::Mysql).then(MysqlUser::new);
    let db = match &user {
        Some(u) => TestDb::with_mysql_login(backend, &u.user, &u.password),
        None => TestDb::unopened(backend),
    };
    db.store();
    db.import(&[
        ticket(
            uuid("c0ffee00-0000-4000-8000-000000000001"),
            G,
            1,
            at("2025-01-01T00:00:00Z"),
        ),
        closed(
            ticket(
                uuid("c0ffee00-0000-4000-8000-000000000002"),
                G,
                2,
                at("2025-01-02T00:00:00Z"),
            ),
            at("2025-01-02T01:00:00Z"),
            None,
            None,
        ),
    ]);
    (user, db)
}

/// The Python bot's variables for this database.
fn python_vars(db: &TestDb, user: Option<&MysqlUser>) -> Vec<(&'static str, String)> {
    match db.backend {
        Backend::Sqlite => vec![
            ("DB_TYPE", "sqlite".into()),
            ("SQLITE_PATH", db.sqlite_path().display().to_string()),
        ],
        Backend::Mysql => {
            let u = user.expect("a MySQL account");
            vec![
                ("DB_TYPE", "mysql".into()),
                ("MYSQL_HOST", mysql_host()),
                ("MYSQL_PORT", mysql_port().to_string()),
                ("MYSQL_USER", u.user.clone()),
                ("MYSQL_PASSWORD", u.password.clone()),
                ("MYSQL_DATABASE", db.name.clone()),
            ]
        }
        Backend::Mongodb => vec![
            ("DB_TYPE", "mongodb".into()),
            ("MONGO_URI", mongo_uri()),
            ("MONGO_DB_NAME", db.name.clone()),
        ],
    }
}

/// What `status` shows as the database, password hidden.
fn expected_target(db: &TestDb, user: Option<&MysqlUser>, sqlite_shown: &str) -> String {
    match db.backend {
        Backend::Sqlite => format!("sqlite file {sqlite_shown}"),
        Backend::Mysql => format!(
            "mysql://{}:***@{}:{}/{}",
            user.unwrap().user,
            mysql_host(),
            mysql_port(),
            db.name
        ),
        Backend::Mongodb => format!("{} (database {})", mongo_uri(), db.name),
    }
}

#[track_caller]
fn assert_status(out: &Out, db: &TestDb, target: &str) {
    let v = out.json();
    assert_eq!(v["backend"], backend_name(db.backend), "{out}");
    assert_eq!(v["target"], target, "{out}");
    assert_eq!(v["tickets"], json!({"open": 1, "closed": 1}), "{out}");
}

#[track_caller]
fn assert_no_secret(out: &Out, secret: &str) {
    assert!(
        !out.all().contains(secret),
        "the password was printed\n{out}"
    );
}

fn env_vars_select_the_database(backend: Backend) {
    let (user, db) = db_with_login(backend);
    let vars = python_vars(&db, user.as_ref());
    let elsewhere = tempfile::tempdir().unwrap();
    let target = expected_target(&db, user.as_ref(), &db.sqlite_path().display().to_string());

    let mut cmd = ticketctl(elsewhere.path());
    cmd.envs(vars.iter().map(|(k, v)| (k, v)));
    let out = run(cmd, &["status", "--json"]).ok();
    assert_status(&out, &db, &target);
    if let Some(u) = &user {
        assert_no_secret(&out, &u.password);
    }
    let mut cmd = ticketctl(elsewhere.path());
    cmd.envs(vars.iter().map(|(k, v)| (k, v)));
    let out = run(cmd, &["list", "--json"]).ok();
    assert_eq!(
        ids_of(&out.json()),
        [
            "c0ffee00-0000-4000-8000-000000000002",
            "c0ffee00-0000-4000-8000-000000000001"
        ]
    );

    // TICKETCTL_DATABASE_URL alone.
    let mut cmd = ticketctl(elsewhere.path());
    cmd.env("TICKETCTL_DATABASE_URL", db.url());
    let out = run(cmd, &["list", "--json"]).ok();
    assert_eq!(ids_of(&out.json()).len(), 2);

    // --database-url wins over the variables.
    let mut cmd = ticketctl(elsewhere.path());
    cmd.env("DB_TYPE", "mysql")
        .env("MYSQL_HOST", "127.0.0.1")
        .env("MYSQL_PORT", closed_port().to_string());
    let out = run(cmd, &["--database-url", &db.url(), "list", "--json"]).ok();
    assert_eq!(ids_of(&out.json()).len(), 2);
}

fn python_env_file_in_working_dir(backend: Backend) {
    let (user, db) = db_with_login(backend);
    // For SQLite, the Python bot's layout: `ticketbotdatabase.db` beside `.env`, no path set.
    std::fs::write(
        db.dir().join(".env"),
        python_env_file(&db, user.as_ref(), false),
    )
    .unwrap();
    let target = expected_target(&db, user.as_ref(), SQLITE_FILE);
    let out = run(ticketctl(db.dir()), &["status", "--json"]).ok();
    assert_status(&out, &db, &target);
    let out2 = run(ticketctl(db.dir()), &["list", "--json"]).ok();
    assert_eq!(ids_of(&out2.json()).len(), 2, "{out2}");
    let out3 = run(ticketctl(db.dir()), &["status"]).ok();
    if let Some(u) = &user {
        for o in [&out, &out2, &out3] {
            assert_no_secret(o, &u.password);
        }
    }
    // The same file saved with Windows line ends.
    std::fs::write(
        db.dir().join(".env"),
        python_env_file(&db, user.as_ref(), false).replace('\n', "\r\n"),
    )
    .unwrap();
    let out = run(ticketctl(db.dir()), &["status", "--json"]).ok();
    assert_status(&out, &db, &target);
}

fn env_file_flag(backend: Backend) {
    let (user, db) = db_with_login(backend);
    let conf = tempfile::tempdir().unwrap();
    let file = conf.path().join("ticketbot.env");
    std::fs::write(&file, python_env_file(&db, user.as_ref(), true)).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = expected_target(&db, user.as_ref(), &db.sqlite_path().display().to_string());
    let file_arg = file.display().to_string();
    let out = run(
        ticketctl(elsewhere.path()),
        &["--env-file", &file_arg, "status", "--json"],
    )
    .ok();
    assert_status(&out, &db, &target);
    // The flag goes after the subcommand too (it is global).
    let out = run(
        ticketctl(elsewhere.path()),
        &["list", "--json", "--env-file", &file_arg],
    )
    .ok();
    assert_eq!(ids_of(&out.json()).len(), 2, "{out}");

    let missing = conf.path().join("nope.env").display().to_string();
    let out = run(
        ticketctl(elsewhere.path()),
        &["--env-file", &missing, "status"],
    )
    .code(2);
    assert!(out.stderr.contains(&missing), "{out}");
}

/// Environment over `.env`, `--database-url` over both, `--no-dotenv`, a broken `.env`.
#[test]
fn precedence_and_broken_configuration() {
    let db = TestDb::new(Backend::Sqlite);
    let real = db.sqlite_path().display().to_string();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "DB_TYPE = \"sqlite\"  # comment\nSQLITE_PATH = \"/nonexistent/dir/t.db\"\n",
    )
    .unwrap();

    // The file alone: its (missing) database, not found.
    let out = run(ticketctl(dir.path()), &["status"]).code(3);
    assert!(out.stderr.contains("/nonexistent/dir/t.db"), "{out}");

    // The environment wins over the file.
    let mut cmd = ticketctl(dir.path());
    cmd.env("SQLITE_PATH", &real);
    let out = run(cmd, &["status", "--json"]).ok();
    assert_eq!(out.json()["target"], format!("sqlite file {real}"));

    // --database-url wins over both.
    let out = run(
        ticketctl(dir.path()),
        &["--database-url", &db.url(), "status", "--json"],
    )
    .ok();
    assert_eq!(out.json()["target"], format!("sqlite file {real}"));

    // --no-dotenv: the file is not read; the default is `ticketbotdatabase.db` here.
    let out = run(ticketctl(dir.path()), &["--no-dotenv", "status"]).code(3);
    assert!(out.stderr.contains(SQLITE_FILE), "{out}");
    assert!(!out.stderr.contains("/nonexistent/dir"), "{out}");

    // A backend that does not exist: a usage error naming the variable.
    let mut cmd = ticketctl(dir.path());
    cmd.env("DB_TYPE", "postgres");
    let out = run(cmd, &["status"]).code(2);
    assert!(out.stderr.contains("DB_TYPE"), "{out}");
    let mut cmd = ticketctl(dir.path());
    cmd.env("DB_TYPE", "mysql").env("MYSQL_PORT", "eighty");
    let out = run(cmd, &["status"]).code(2);
    assert!(out.stderr.contains("MYSQL_PORT"), "{out}");

    // A `.env` that cannot be parsed: a failure that names the file.
    std::fs::write(dir.path().join(".env"), "DB_TYPE = \"sqlite\nBROKEN\n").unwrap();
    let out = run(ticketctl(dir.path()), &["status"]).code(1);
    assert!(out.stderr.contains(".env"), "{out}");
}

/// The Python bot read `MYSQL_PASSWORD = ""` as an empty password (`os.getenv` returns the
/// empty string it was given); its default `password` applied only when the variable was
/// missing. The same `.env` must reach the same server here.
#[test]
fn mysql_empty_password_means_no_password() {
    assert!(
        mysql_admin_password().is_empty(),
        "this test needs the test server's admin account without a password"
    );
    let db = TestDb::new(Backend::Mysql);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "DB_TYPE = \"mysql\"\nMYSQL_HOST = \"{}\"\nMYSQL_PORT = {}\nMYSQL_USER = \"{}\"\nMYSQL_PASSWORD = \"\"\nMYSQL_DATABASE = \"{}\"\n",
            mysql_host(),
            mysql_port(),
            mysql_admin_user(),
            db.name
        ),
    )
    .unwrap();
    let out = run(ticketctl(dir.path()), &["status", "--json"]).ok();
    assert_eq!(out.json()["backend"], "mysql");

    let empty_dir = tempfile::tempdir().unwrap();
    let mut cmd = ticketctl(empty_dir.path());
    cmd.env("DB_TYPE", "mysql")
        .env("MYSQL_HOST", mysql_host())
        .env("MYSQL_USER", mysql_admin_user())
        .env("MYSQL_PASSWORD", "")
        .env("MYSQL_DATABASE", &db.name);
    run(cmd, &["status", "--json"]).ok();
}

/// A password given through MYSQL_PASSWORD (or a flag, or a URL) shows in no output.
#[test]
fn mysql_password_never_printed() {
    let user = MysqlUser::new();
    let pw = user.password.clone();
    let encoded = mysql_url("u", &pw, "d")
        .split_once("u:")
        .unwrap()
        .1
        .split_once('@')
        .unwrap()
        .0
        .to_owned();
    let db = TestDb::with_mysql_login(Backend::Mysql, &user.user, &user.password);
    db.store();
    db.import(&[ticket(Uuid::new_v4(), G, 1, at("2025-01-01T00:00:00Z"))]);
    let sqlite = TestDb::new(Backend::Sqlite);
    sqlite.import(&[ticket(Uuid::new_v4(), G, 2, at("2025-01-02T00:00:00Z"))]);
    let shown = format!(
        "mysql://{}:***@{}:{}/{}",
        user.user,
        mysql_host(),
        mysql_port(),
        db.name
    );
    let cwd = tempfile::tempdir().unwrap();
    let env = |cmd: &mut assert_cmd::Command, password: &str| {
        cmd.env("DB_TYPE", "mysql")
            .env("MYSQL_HOST", mysql_host())
            .env("MYSQL_PORT", mysql_port().to_string())
            .env("MYSQL_USER", &user.user)
            .env("MYSQL_PASSWORD", password)
            .env("MYSQL_DATABASE", &db.name);
    };
    let mut outs = Vec::new();
    let mut go = |args: &[&str], password: &str| -> Out {
        let mut cmd = ticketctl(cwd.path());
        env(&mut cmd, password);
        let out = run(cmd, args);
        outs.push(out.clone());
        out
    };

    let out = go(&["status", "--json"], &pw).ok();
    assert_eq!(out.json()["target"], shown);
    let out = go(&["status"], &pw).ok();
    assert!(
        out.stdout.contains(&format!("database:       {shown}")),
        "{out}"
    );
    go(&["list"], &pw).ok();
    go(&["stats"], &pw).ok();

    // mysql → sqlite, and a dry run.
    let to_sqlite = cwd.path().join("copy.db").display().to_string();
    go(
        &[
            "migrate",
            "--to",
            "sqlite",
            "--sqlite-path",
            &to_sqlite,
            "--dry-run",
        ],
        &pw,
    )
    .ok();
    let out = go(
        &[
            "migrate",
            "--to",
            "sqlite",
            "--sqlite-path",
            &to_sqlite,
            "--json",
        ],
        &pw,
    )
    .ok();
    assert_eq!(out.json()["source"], shown);
    let out = go(
        &["migrate", "--to", "sqlite", "--sqlite-path", &to_sqlite],
        &pw,
    )
    .ok();
    assert!(out.stdout.contains(&shown), "{out}");

    // sqlite → mysql, the target's password from MYSQL_PASSWORD, then from the flag.
    let target = TestDb::with_mysql_login(Backend::Mysql, &user.user, &pw);
    let target_args = |name: &str| -> Vec<String> {
        [
            "--database-url",
            &sqlite.url(),
            "migrate",
            "--to",
            "mysql",
            "--mysql-host",
            &mysql_host(),
            "--mysql-port",
            &mysql_port().to_string(),
            "--mysql-user",
            &user.user,
            "--mysql-database",
            name,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let args = target_args(&target.name);
    let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
    a.push("--json");
    let out = go(&a, &pw).ok();
    assert_eq!(
        out.json()["target"],
        format!(
            "mysql://{}:***@{}:{}/{}",
            user.user,
            mysql_host(),
            mysql_port(),
            target.name
        )
    );
    a.pop();
    a.push("--dry-run");
    go(&a, &pw).ok();
    a.pop();
    a.extend(["--mysql-password", pw.as_str()]);
    go(&a, "").ok();

    // The password in a URL (percent-encoded).
    let url = mysql_url(&user.user, &pw, &db.name);
    go(&["--database-url", &url, "status", "--json"], "").ok();
    go(&["--database-url", &url, "list"], "").ok();

    // A wrong password fails without printing either one.
    let wrong = format!("{pw}-wrong");
    let out = go(&["status"], &wrong).code(1);
    assert!(out.stderr.contains(&shown), "{out}");
    assert!(!out.all().contains(&wrong), "{out}");

    assert!(outs.len() >= 12);
    for out in &outs {
        assert_no_secret(out, &pw);
        assert_no_secret(out, &encoded);
    }
}

/// An unreachable MySQL server: exit 1, its host:port and the reason, and no password.
#[test]
fn unreachable_mysql_names_host_and_reason() {
    let port = closed_port();
    let cwd = tempfile::tempdir().unwrap();
    let secret = "Hunter2Secret";
    let hostport = format!("127.0.0.1:{port}");
    let check = |out: &Out| {
        assert!(
            out.stderr.contains(&hostport),
            "must name {hostport}\n{out}"
        );
        assert!(
            out.stderr.to_lowercase().contains("refused"),
            "must say why\n{out}"
        );
        assert_no_secret(out, secret);
    };

    let url = format!("mysql://root:{secret}@127.0.0.1:{port}/tb_cli_unreachable");
    let out = run(ticketctl(cwd.path()), &["--database-url", &url, "list"]).code(1);
    check(&out);

    let mut cmd = ticketctl(cwd.path());
    cmd.env("DB_TYPE", "mysql")
        .env("MYSQL_HOST", "127.0.0.1")
        .env("MYSQL_PORT", port.to_string())
        .env("MYSQL_PASSWORD", secret);
    let out = run(cmd, &["status", "--json"]).code(1);
    check(&out);
    assert!(out.stdout.is_empty(), "{out}");

    // As a migrate target.
    let src = TestDb::new(Backend::Sqlite);
    let mut cmd = src.cmd();
    cmd.env("MYSQL_PASSWORD", secret);
    let out = run(
        cmd,
        &[
            "migrate",
            "--to",
            "mysql",
            "--mysql-host",
            "127.0.0.1",
            "--mysql-port",
            &port.to_string(),
        ],
    )
    .code(1);
    check(&out);

    // A host that does not resolve is named too.
    let url = format!("mysql://root:{secret}@nonexistent-host.invalid:3306/x");
    let out = run(ticketctl(cwd.path()), &["--database-url", &url, "list"]).code(1);
    assert!(out.stderr.contains("nonexistent-host.invalid"), "{out}");
    assert_no_secret(&out, secret);
}

/// An unreachable MongoDB server: exit 1 naming host:port, no password.
#[test]
fn unreachable_mongodb_names_host() {
    let port = closed_port();
    let cwd = tempfile::tempdir().unwrap();
    let url = format!("mongodb://bob:Hunter2Secret@127.0.0.1:{port}/tb_cli_unreachable");
    let out = run(ticketctl(cwd.path()), &["--database-url", &url, "status"]).code(1);
    assert!(out.stderr.contains(&format!("127.0.0.1:{port}")), "{out}");
    assert_no_secret(&out, "Hunter2Secret");
}

/// A MongoDB URI whose password holds characters that should have been percent-encoded
/// (`/`, `?`, `@`, `#`, `:`): whatever its shape, no part of the password is printed.
#[test]
fn mongo_uri_with_odd_password_is_never_printed() {
    let port = closed_port();
    let cwd = tempfile::tempdir().unwrap();
    for pw in [
        "Hun/ter2Secret",
        "Hun?ter2Secret",
        "Hun@ter2Secret",
        "Hun#ter2Secret",
        "Hun:ter2Secret",
        "Hunter2/Sec?ret@x",
    ] {
        let uri = format!("mongodb://bob:{pw}@127.0.0.1:{port}/tb_cli_unreachable");
        let mut cmd = ticketctl(cwd.path());
        cmd.env("DB_TYPE", "mongodb").env("MONGO_URI", &uri);
        let out = run(cmd, &["status"]);
        assert_ne!(out.code, 0, "{out}");
        for fragment in pw.split(['/', '?', '@', '#', ':']) {
            assert_no_secret(&out, fragment);
        }
        let out = run(ticketctl(cwd.path()), &["--database-url", &uri, "list"]);
        assert_ne!(out.code, 0, "{out}");
        for fragment in pw.split(['/', '?', '@', '#', ':']) {
            assert_no_secret(&out, fragment);
        }
    }
}

/// Database URLs that cannot be right: a usage error (or not found), never a panic.
#[test]
fn bad_database_urls() {
    let cwd = tempfile::tempdir().unwrap();
    for url in [
        "",
        "sqlite://",
        "postgres://u:secret@h/db",
        "mysql://u:secret@h:99999/db",
        "mysql://[::1",
        "mongodb://127.0.0.1:27017",
        "not a url",
        "://",
    ] {
        let out = run(ticketctl(cwd.path()), &["--database-url", url, "list"]).code(2);
        assert!(out.stderr.contains("--database-url"), "{out}");
        assert_no_secret(&out, "secret");
    }
    // A SQLite file that is not there is not created: not found.
    let out = run(
        ticketctl(cwd.path()),
        &["--database-url", "sqlite:///nonexistent/dir/t.db", "list"],
    )
    .code(3);
    assert!(out.stderr.contains("/nonexistent/dir/t.db"), "{out}");
    let out = run(
        ticketctl(cwd.path()),
        &[
            "--database-url",
            "sqlite://missing.db",
            "migrate",
            "--to",
            "sqlite",
            "--sqlite-path",
            "other.db",
        ],
    )
    .code(3);
    assert!(out.stderr.contains("missing.db"), "{out}");
    assert!(!cwd.path().join("missing.db").exists());
    assert!(!cwd.path().join("other.db").exists());
}

/// The Python bot's SQLite database, built exactly per `legacy-schema.md`, with its `.env`
/// beside it: `ticketctl list --json` reads it in place, every value kept.
#[test]
fn python_bot_sqlite_database_read_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SQLITE_FILE);
    let rt = runtime();
    // id, guild, channel, creator, status, created_at, closed_at, claimed_by: as the Python
    // bot bound them (ids as ints, into TEXT columns; times as `str(datetime)`).
    type Row = (
        &'static str,
        i64,
        Option<i64>,
        i64,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<i64>,
    );
    let rows: [Row; 4] = [
        (
            "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
            1_111_111_111_111_111_111,
            Some(2_222_222_222_222_222_221),
            333_333_333_333_333_333,
            "open",
            "2025-08-14 09:03:27.512345+00:00",
            None,
            None,
        ),
        (
            "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            1_111_111_111_111_111_111,
            Some(2_222_222_222_222_222_222),
            444_444_444_444_444_444,
            "closed",
            "2024-01-01 00:00:00+00:00",
            Some("2024-01-02 03:04:05.000006+00:00"),
            Some(555_555_555_555_555_555),
        ),
        (
            "f47ac10b-58cc-4372-a567-0e02b2c3d479",
            1_111_111_111_111_111_111,
            None,
            333_333_333_333_333_333,
            "open",
            "2025-08-15 10:00:00.500000+00:00",
            None,
            Some(555_555_555_555_555_555),
        ),
        (
            "9b2f7d0e-3c1a-4e5b-8f6d-2a4c6e8b0d1f",
            666_666_666_666_666_666,
            Some(2_222_222_222_222_222_223),
            777_777_777_777_777_777,
            "closed",
            "2025-03-01 12:00:00+00:00",
            Some("2025-03-01 12:30:00+00:00"),
            None,
        ),
    ];
    rt.block_on(async {
        let opts = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let mut conn = SqliteConnection::connect_with(&opts).await.unwrap();
        conn.execute(
            "CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY,
    guild_id TEXT NOT NULL,
    channel_id TEXT NULL,
    creator_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    claimed_by TEXT
)",
        )
        .await
        .unwrap();
        conn.execute("CREATE INDEX IF NOT EXISTS idx_ticket_channel ON tickets(channel_id)")
            .await
            .unwrap();
        conn.execute(
            "CREATE INDEX IF NOT EXISTS idx_ticket_guild_status ON tickets(guild_id, status)",
        )
        .await
        .unwrap();
        for r in rows {
            sqlx::query(
                "INSERT INTO tickets (id, guild_id, channel_id, creator_id, status, created_at, closed_at, claimed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(r.0)
            .bind(r.1)
            .bind(r.2)
            .bind(r.3)
            .bind(r.4)
            .bind(r.5)
            .bind(r.6)
            .bind(r.7)
            .execute(&mut conn)
            .await
            .unwrap();
        }
        // TEXT affinity: the ints are stored as decimal text, as the Python bot's were.
        let t: String = sqlx::query_scalar("SELECT typeof(guild_id) FROM tickets LIMIT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(t, "text");
        conn.close().await.unwrap();
    });
    // Its `.env`, as it ships, set to sqlite.
    std::fs::write(
        dir.path().join(".env"),
        "BOT_TOKEN = your_bot_token\nGUILD_ID = 1234\nSUPPORT_ROLE_ID = 5678\nOPEN_TICKETS_CATEGORY_ID = 1234\nCLOSED_TICKETS_CATEGORY_ID = 1234\n\nDB_TYPE = \"sqlite\"  # mongodb or sqlite or mysql\n\nMONGO_URI = \"mongodb+srv://abcd\"\nMONGO_DB_NAME = \"db\"\n\n\nMYSQL_HOST = \"localhost\"\nMYSQL_PORT = 1234\nMYSQL_USER = \"root\"\nMYSQL_PASSWORD = \"root\"\nMYSQL_DATABASE = \"abcd\"\n",
    )
    .unwrap();

    let out = run(ticketctl(dir.path()), &["list", "--json"]).ok();
    let first = out.json();
    assert_eq!(
        first,
        json!([
            {
                "id": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
                "short_id": "f47ac10b",
                "guild_id": "1111111111111111111",
                "channel_id": null,
                "creator_id": "333333333333333333",
                "claimed_by": "555555555555555555",
                "claimed_at": null,
                "status": "open",
                "created_at": "2025-08-15T10:00:00.500000Z",
                "closed_at": null,
                "closed_by": null,
                "close_reason": null,
                "updated_at": "2025-08-15T10:00:00.500000Z",
            },
            {
                "id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
                "short_id": "1b4e28ba",
                "guild_id": "1111111111111111111",
                "channel_id": "2222222222222222221",
                "creator_id": "333333333333333333",
                "claimed_by": null,
                "claimed_at": null,
                "status": "open",
                "created_at": "2025-08-14T09:03:27.512345Z",
                "closed_at": null,
                "closed_by": null,
                "close_reason": null,
                "updated_at": "2025-08-14T09:03:27.512345Z",
            },
            {
                "id": "9b2f7d0e-3c1a-4e5b-8f6d-2a4c6e8b0d1f",
                "short_id": "9b2f7d0e",
                "guild_id": "666666666666666666",
                "channel_id": "2222222222222222223",
                "creator_id": "777777777777777777",
                "claimed_by": null,
                "claimed_at": null,
                "status": "closed",
                "created_at": "2025-03-01T12:00:00.000000Z",
                "closed_at": "2025-03-01T12:30:00.000000Z",
                "closed_by": null,
                "close_reason": null,
                "updated_at": "2025-03-01T12:30:00.000000Z",
            },
            {
                "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                "short_id": "7c9e6679",
                "guild_id": "1111111111111111111",
                "channel_id": "2222222222222222222",
                "creator_id": "444444444444444444",
                "claimed_by": "555555555555555555",
                "claimed_at": null,
                "status": "closed",
                "created_at": "2024-01-01T00:00:00.000000Z",
                "closed_at": "2024-01-02T03:04:05.000006Z",
                "closed_by": null,
                "close_reason": null,
                "updated_at": "2024-01-02T03:04:05.000006Z",
            },
        ]),
        "{out}"
    );

    // Filters work on the converted values; the channel id finds its ticket.
    let out = run(
        ticketctl(dir.path()),
        &[
            "list",
            "--json",
            "--guild",
            "1111111111111111111",
            "--status",
            "open",
            "--claimed-by",
            "555555555555555555",
        ],
    )
    .ok();
    assert_eq!(
        ids_of(&out.json()),
        ["f47ac10b-58cc-4372-a567-0e02b2c3d479"]
    );
    let out = run(
        ticketctl(dir.path()),
        &["inspect", "2222222222222222222", "--json"],
    )
    .ok();
    let v = out.json();
    assert_eq!(v["id"], "7c9e6679-7425-40de-944b-e07fc1f90ae7");
    let kinds: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "claimed", "closed", "imported"], "{out}");
    assert_eq!(v["durations"]["time_to_close_secs"], 97_445);

    // Read again: the same answer, nothing imported twice.
    let again = run(ticketctl(dir.path()), &["list", "--json"]).ok();
    assert_eq!(again.json(), first);
    let status = run(ticketctl(dir.path()), &["status", "--json"])
        .ok()
        .json();
    assert_eq!(status["backend"], "sqlite");
    assert_eq!(status["target"], "sqlite file ticketbotdatabase.db");
    assert_eq!(status["tickets"], json!({"open": 2, "closed": 2}));
    assert_eq!(
        status["records"],
        json!({"tickets": 4, "participants": 0, "events": 2 + 4 + 3 + 3, "transcripts": 0, "categories": 0, "names": 0, "staff_messages": 0, "close_requests": 0, "activity": 0, "feedback": 0, "topics": 0, "ticket_forms": 0})
    );

    // Nothing lost: the Python bot's rows are kept as they were, beside the new schema.
    rt.block_on(async {
        let opts = SqliteConnectOptions::new().filename(&path);
        let mut conn = SqliteConnection::connect_with(&opts).await.unwrap();
        let kept = sqlx::query(
            "SELECT id, guild_id, channel_id, creator_id, status, created_at, closed_at, claimed_by \
             FROM tickets_legacy ORDER BY id",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut expected: Vec<Row> = rows.to_vec();
        expected.sort_by_key(|r| r.0);
        assert_eq!(kept.len(), 4);
        for (row, exp) in kept.iter().zip(&expected) {
            assert_eq!(row.get::<String, _>(0), exp.0);
            assert_eq!(row.get::<String, _>(1), exp.1.to_string());
            assert_eq!(row.get::<Option<String>, _>(2), exp.2.map(|v| v.to_string()));
            assert_eq!(row.get::<String, _>(3), exp.3.to_string());
            assert_eq!(row.get::<String, _>(4), exp.4);
            assert_eq!(row.get::<String, _>(5), exp.5);
            assert_eq!(row.get::<Option<String>, _>(6), exp.6.map(str::to_owned));
            assert_eq!(row.get::<Option<String>, _>(7), exp.7.map(|v| v.to_string()));
        }
        conn.close().await.unwrap();
    });
}

/// Completion scripts for bash, zsh and fish; they need no database and no configuration.
#[test]
fn completions_for_every_shell() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join(".env"), "DB_TYPE = \"nonsense\n").unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef ticketctl"),
        ("fish", "complete -c ticketctl"),
    ] {
        let mut cmd = ticketctl(cwd.path());
        cmd.env("DB_TYPE", "postgres");
        let out = run(cmd, &["completions", shell]).ok();
        assert!(out.stdout.contains(marker), "{shell}\n{out}");
        for word in [
            "list",
            "inspect",
            "force-close",
            "stats",
            "migrate",
            "switch",
            "status",
            "database-url",
            "env-file",
        ] {
            assert!(out.stdout.contains(word), "{shell} script lacks {word}");
        }
        assert!(out.stderr.is_empty(), "{out}");
        if shell == "bash" {
            let script = cwd.path().join("ticketctl.bash");
            std::fs::write(&script, &out.stdout).unwrap();
            if let Ok(status) = std::process::Command::new("bash")
                .arg("-n")
                .arg(&script)
                .status()
            {
                assert!(status.success(), "bash -n rejects the script");
            }
        }
    }
    let out = run(ticketctl(cwd.path()), &["completions", "tcsh"]).code(2);
    assert!(out.stderr.contains("tcsh"), "{out}");
    run(ticketctl(cwd.path()), &["completions"]).code(2);
}

/// python-dotenv expands only `${NAME}`; a `$` followed by a letter is kept as it is. A MySQL
/// password with a `$` in it, quoted in `.env` as the Python bot's users wrote it, must reach the
/// server unchanged.
#[test]
fn python_env_dollar_in_password_is_literal() {
    let user = MysqlUser::with_password("pa$word$1 x");
    let db = TestDb::with_mysql_login(Backend::Mysql, &user.user, &user.password);
    db.store();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "DB_TYPE = \"mysql\"  # mongodb or sqlite or mysql\nMYSQL_HOST = \"{}\"\nMYSQL_PORT = {}\nMYSQL_USER = \"{}\"\nMYSQL_PASSWORD = \"pa$word$1 x\"\nMYSQL_DATABASE = \"{}\"\n",
            mysql_host(),
            mysql_port(),
            user.user,
            db.name
        ),
    )
    .unwrap();
    let out = run(ticketctl(dir.path()), &["status", "--json"]).ok();
    assert_eq!(out.json()["backend"], "mysql");
    assert_no_secret(&out, "pa$word$1 x");
}

/// The rows every Python-bot database below holds (MySQL keeps whole seconds, MongoDB
/// milliseconds): id, guild, channel, creator, status, created, closed, claimed by.
type LegacyRow = (
    &'static str,
    u64,
    Option<u64>,
    u64,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<u64>,
);

const LEGACY_ROWS: [LegacyRow; 3] = [
    (
        "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
        1_111_111_111_111_111_111,
        Some(2_222_222_222_222_222_221),
        333_333_333_333_333_333,
        "open",
        "2025-08-14T09:03:27.512Z",
        None,
        None,
    ),
    (
        "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        1_111_111_111_111_111_111,
        Some(2_222_222_222_222_222_222),
        444_444_444_444_444_444,
        "closed",
        "2024-01-01T00:00:00Z",
        Some("2024-01-02T03:04:05.006Z"),
        Some(555_555_555_555_555_555),
    ),
    (
        "f47ac10b-58cc-4372-a567-0e02b2c3d479",
        1_111_111_111_111_111_111,
        None,
        333_333_333_333_333_333,
        "open",
        "2025-08-15T10:00:00.5Z",
        None,
        Some(555_555_555_555_555_555),
    ),
];

/// What `list --json` shows for the rows, newest first, times cut to `keep` (what the backend
/// kept of them).
fn legacy_expected(
    keep: fn(chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    let mut rows = LEGACY_ROWS.to_vec();
    rows.sort_by_key(|r| std::cmp::Reverse(at(r.5)));
    serde_json::Value::Array(
        rows.iter()
            .map(|r| {
                let created = keep(at(r.5));
                let closed = r.6.map(|c| keep(at(c)));
                json!({
                    "id": r.0,
                    "short_id": &r.0[..8],
                    "guild_id": r.1.to_string(),
                    "channel_id": r.2.map(|c| c.to_string()),
                    "creator_id": r.3.to_string(),
                    "claimed_by": r.7.map(|c| c.to_string()),
                    "claimed_at": null,
                    "status": r.4,
                    "created_at": rfc(created),
                    "closed_at": closed.map(rfc),
                    "closed_by": null,
                    "close_reason": null,
                    "updated_at": rfc(closed.unwrap_or(created)),
                })
            })
            .collect(),
    )
}

/// The Python bot's MySQL database (its own table, DATETIME in UTC), read in place through its
/// `.env`.
#[test]
fn python_bot_mysql_database_read_in_place() {
    use chrono::SubsecRound;
    let user = MysqlUser::new();
    let db = TestDb::with_mysql_login(Backend::Mysql, &user.user, &user.password);
    db.block_on(async {
        let admin = mysql_admin().await;
        admin
            .execute(
                format!(
                    "CREATE DATABASE `{}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                    db.name
                )
                .as_str(),
            )
            .await
            .unwrap();
        admin
            .execute(
                format!(
                    "CREATE TABLE IF NOT EXISTS `{}`.tickets (
        id VARCHAR(36) PRIMARY KEY,
        guild_id BIGINT NOT NULL,
        channel_id BIGINT,
        creator_id BIGINT NOT NULL,
        status VARCHAR(16) NOT NULL,
        created_at DATETIME NOT NULL,
        closed_at DATETIME,
        claimed_by BIGINT,
        KEY idx_channel (channel_id),
        KEY idx_guild_status (guild_id, status)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
                    db.name
                )
                .as_str(),
            )
            .await
            .unwrap();
        let datetime = |s: &str| at(s).format("%Y-%m-%d %H:%M:%S").to_string();
        for r in LEGACY_ROWS {
            sqlx::query(&format!(
                "INSERT INTO `{}`.tickets (id, guild_id, channel_id, creator_id, status, created_at, closed_at, claimed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                db.name
            ))
            .bind(r.0)
            .bind(r.1 as i64)
            .bind(r.2.map(|v| v as i64))
            .bind(r.3 as i64)
            .bind(r.4)
            .bind(datetime(r.5))
            .bind(r.6.map(datetime))
            .bind(r.7.map(|v| v as i64))
            .execute(&admin)
            .await
            .unwrap();
        }
        admin.close().await;
    });
    std::fs::write(
        db.dir().join(".env"),
        python_env_file(&db, Some(&user), false),
    )
    .unwrap();
    let out = run(ticketctl(db.dir()), &["list", "--json"]).ok();
    assert_eq!(out.json(), legacy_expected(|t| t.trunc_subsecs(0)), "{out}");
    let out = run(
        ticketctl(db.dir()),
        &["inspect", "2222222222222222222", "--json"],
    )
    .ok();
    assert_eq!(out.json()["durations"]["time_to_close_secs"], 97_445);
}

/// The Python bot's MongoDB database (int64 ids, BSON dates), read in place through its `.env`.
#[test]
fn python_bot_mongodb_database_read_in_place() {
    let db = TestDb::unopened(Backend::Mongodb);
    db.block_on(async {
        let client = mongo_client().await;
        let docs: Vec<::mongodb::bson::Document> = LEGACY_ROWS
            .iter()
            .map(|r| {
                let date = |s: &str| {
                    ::mongodb::bson::Bson::DateTime(::mongodb::bson::DateTime::from_millis(
                        at(s).timestamp_millis(),
                    ))
                };
                let int = |v: Option<u64>| {
                    v.map_or(::mongodb::bson::Bson::Null, |v| {
                        ::mongodb::bson::Bson::Int64(v as i64)
                    })
                };
                ::mongodb::bson::doc! {
                    "_id": r.0,
                    "guild_id": r.1 as i64,
                    "channel_id": int(r.2),
                    "creator_id": r.3 as i64,
                    "status": r.4,
                    "created_at": date(r.5),
                    "closed_at": r.6.map_or(::mongodb::bson::Bson::Null, date),
                    "claimed_by": int(r.7),
                }
            })
            .collect();
        client
            .database(&db.name)
            .collection::<::mongodb::bson::Document>("tickets")
            .insert_many(docs)
            .await
            .unwrap();
    });
    std::fs::write(db.dir().join(".env"), python_env_file(&db, None, false)).unwrap();
    let out = run(ticketctl(db.dir()), &["list", "--json"]).ok();
    assert_eq!(out.json(), legacy_expected(|t| t), "{out}");
    let out = run(
        ticketctl(db.dir()),
        &["inspect", "2222222222222222222", "--json"],
    )
    .ok();
    assert_eq!(out.json()["durations"]["time_to_close_secs"], 97_445);
}
