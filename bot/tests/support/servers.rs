//! Database servers of a test's own, which it may stop and start again (the shared servers of
//! every other test must never go away): a MariaDB (`mariadb-install-db` + `mariadbd`, no
//! grant tables) or an nx-27017 MongoDB-wire server backed by a file, each on a free port with
//! its data in a temp directory, kept across a stop and a start.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

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
            let status = Command::new("mariadb-install-db")
                .args([
                    "--no-defaults",
                    &format!("--datadir={}", dir.path().join("data").display()),
                    "--user=root",
                    "--skip-test-db",
                    "--auth-root-authentication-method=normal",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await
                .expect("mariadb-install-db runs");
            assert!(status.success(), "mariadb-install-db failed");
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
                    "--db".to_owned(),
                    d.join("mongo.db").display().to_string(),
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

    /// Stops the server (SIGKILL: as a crash or a pulled cable) and waits until its port is
    /// closed.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        for _ in 0..100 {
            if !port_open(self.port).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{:?} still answers on port {}", self.kind, self.port);
    }
}
