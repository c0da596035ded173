//! Database servers of a test's own, which it may stop and start again (the shared servers of
//! every other test must never go away): a MariaDB (`mariadb-install-db` + `mariadbd`, no
//! grant tables) or an nx-27017 MongoDB-wire server backed by files (`--data-dir`), each on a
//! free port with its data in a temp directory, kept across a stop and a start. `stop` is an
//! operator's clean shutdown (SIGTERM), `kill` a crash (SIGKILL), `pause`/`resume` a server
//! that stops answering without closing its connections (SIGSTOP/SIGCONT).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use ticketbot_common::config::{DbConfig, MongoConfig, MysqlConfig, Secret};
use tokio::process::{Child, Command};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    Mariadb,
    Mongo,
}

pub struct PrivateServer {
    pub kind: ServerKind,
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn nx_27017() -> PathBuf {
    let venv = std::env::var_os("MONGO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
                });
            cache.join("ticketbot/venv-mongo")
        });
    venv.join("bin/nx-27017")
}

async fn port_open(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

impl PrivateServer {
    pub async fn start_new(kind: ServerKind) -> PrivateServer {
        let dir = tempfile::Builder::new()
            .prefix("ticketbot-server-")
            .tempdir()
            .expect("a temp dir");
        if kind == ServerKind::Mariadb {
            // A temp dir of its own: in a shared /tmp, installs running at once collide on
            // their temporary tables ("Unknown table 'mysql.tmp_user_sys'").
            std::fs::create_dir(dir.path().join("tmp")).expect("the server's temp dir");
            let install = Command::new("mariadb-install-db")
                .args([
                    "--no-defaults",
                    &format!("--datadir={}", dir.path().join("data").display()),
                    &format!("--tmpdir={}", dir.path().join("tmp").display()),
                    "--user=root",
                    "--skip-test-db",
                    "--auth-root-authentication-method=normal",
                ])
                .output()
                .await
                .expect("mariadb-install-db runs");
            assert!(
                install.status.success(),
                "mariadb-install-db failed ({}):\n{}{}",
                install.status,
                String::from_utf8_lossy(&install.stdout),
                String::from_utf8_lossy(&install.stderr)
            );
        }
        let mut server = PrivateServer {
            kind,
            port: free_port(),
            dir,
            child: None,
        };
        server.start().await;
        server
    }

    /// `127.0.0.1:<port>`: how messages about this server must name it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The configuration of the database `database` on this server. The MariaDB runs without
    /// grant tables and so takes any `password` (a test can check it is never printed);
    /// nx-27017 has no authentication, so the MongoDB URI carries none and `password` is unused.
    pub fn db_config(&self, database: &str, password: &str) -> DbConfig {
        match self.kind {
            ServerKind::Mariadb => DbConfig::Mysql(MysqlConfig {
                host: "127.0.0.1".into(),
                port: self.port,
                user: "root".into(),
                password: Secret::new(password.to_owned()),
                database: database.to_owned(),
            }),
            ServerKind::Mongo => DbConfig::Mongo(MongoConfig {
                uri: Secret::new(format!("mongodb://{}", self.address())),
                database: database.to_owned(),
            }),
        }
    }

    /// Starts the server (again, on the same data and port) and waits until it answers.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let d = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("server.log"))
            .expect("the server's log file");
        let mut cmd = match self.kind {
            ServerKind::Mariadb => {
                let mut c = Command::new("mariadbd");
                c.args([
                    "--no-defaults".to_owned(),
                    format!("--datadir={}", d.join("data").display()),
                    format!("--tmpdir={}", d.join("tmp").display()),
                    format!("--port={}", self.port),
                    "--bind-address=127.0.0.1".to_owned(),
                    format!("--socket={}", d.join("sock").display()),
                    "--user=root".to_owned(),
                    "--skip-grant-tables".to_owned(),
                    "--skip-log-bin".to_owned(),
                    "--innodb-buffer-pool-size=16M".to_owned(),
                ]);
                c
            }
            ServerKind::Mongo => {
                let mut c = Command::new(nx_27017());
                c.args([
                    // One file per database, kept across a restart (in its single-file
                    // mode nx-27017 forgets the names of the databases when it restarts).
                    "--data-dir".to_owned(),
                    d.join("mongo").display().to_string(),
                    "--host".to_owned(),
                    "127.0.0.1".to_owned(),
                    "--port".to_owned(),
                    self.port.to_string(),
                    "--pid-file".to_owned(),
                    d.join("nx.pid").display().to_string(),
                    "--log-file".to_owned(),
                    d.join("nx.log").display().to_string(),
                ]);
                c
            }
        };
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .kill_on_drop(true);
        self.child = Some(cmd.spawn().expect("the server starts"));
        for _ in 0..200 {
            if port_open(self.port).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{:?} did not open port {} within 20 s:\n{}",
            self.kind,
            self.port,
            std::fs::read_to_string(d.join("server.log")).unwrap_or_default()
        );
    }

    /// Stops the server as an operator does (`systemctl stop`: SIGTERM, a clean shutdown that
    /// closes every client connection) and waits until it has exited and its port is closed.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                // Our own child, by its pid.
                let _ = Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .await;
            }
            if tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .is_err()
            {
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
        }
        self.wait_port_closed().await;
    }

    /// Kills the server (SIGKILL: as a crash or a pulled power cable) and waits until its port
    /// is closed.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        self.wait_port_closed().await;
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing answers, as when the
    /// network to it is cut. [`PrivateServer::resume`] thaws it.
    pub async fn pause(&self) {
        self.signal("-STOP").await;
    }

    pub async fn resume(&self) {
        self.signal("-CONT").await;
    }

    async fn signal(&self, signal: &str) {
        let pid = self
            .child
            .as_ref()
            .and_then(Child::id)
            .expect("the server is running");
        // Our own child, by its pid.
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .await
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {pid} failed");
    }

    async fn wait_port_closed(&self) {
        for _ in 0..100 {
            if !port_open(self.port).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{:?} still answers on port {}", self.kind, self.port);
    }
}
