//! `ticketctl serve`: the sign-in it needs is checked before it listens, and `--token` prints
//! the address that signs in as its first line, then guards every page.

#[allow(unused_macros)]
// for_each_backend: serve runs on SQLite only (the view is the store trait's)
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

use ticketbot_common::store::Backend;

use support::*;

/// The status line of a plain HTTP/1.0 GET.
fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to ticketctl serve");
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn serve_without_discord_settings_names_each_and_offers_token() {
    let db = TestDb::new(Backend::Sqlite);
    db.store();
    let out = db.run_unchecked(&["serve"]).code(2);
    for var in [
        "OAUTH_CLIENT_ID",
        "OAUTH_CLIENT_SECRET",
        "PUBLIC_URL",
        "BOT_TOKEN",
        "GUILD_ID",
        "SUPPORT_ROLE_ID",
    ] {
        assert!(out.stderr.contains(var), "{var} not named: {out}");
    }
    assert!(out.stderr.contains("--token"), "{out}");
}

#[test]
fn serve_token_prints_its_address_first_and_guards_pages() {
    let db = TestDb::new(Backend::Sqlite);
    db.store();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ticketctl"))
        .env_clear()
        .current_dir(db.dir())
        .args([
            "--database-url",
            &db.url(),
            "serve",
            "--token",
            "--bind",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().to_owned();
    let rest = url.strip_prefix("http://").expect("an http:// address");
    let (addr, path) = rest.split_at(rest.find('/').unwrap());
    assert!(path.starts_with("/?token=") && path.len() > 40, "{url}");

    let without = get(addr, "/tickets");
    let wrong = get(addr, "/tickets?token=guess");
    let with = get(addr, path);
    let _ = child.kill();
    let _ = child.wait();
    assert!(without.starts_with("HTTP/1.0 401"), "{without}");
    assert!(wrong.starts_with("HTTP/1.0 401"), "{wrong}");
    assert!(with.starts_with("HTTP/1.0 303"), "{with}");
    assert!(with.contains("set-cookie: tb_session="), "{with}");
}
