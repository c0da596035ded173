//! `ticketctl serve`'s web view, served for real on loopback over a real SQLite store.
//!
//! - `--token` sign-in over HTTP: no page, file or figure without the session; a wrong token,
//!   a forged cookie and a signed-out browser are refused; security headers on every answer.
//! - Discord sign-in in headless Chromium: the browser goes through fakecord's OAuth2 pages
//!   (`discord.com` mapped to fakecord's TLS address), then lists, filters and pages tickets,
//!   opens one with its history, and the analytics page with its charts; a member without the
//!   support role is refused; hostile strings render as text. Screenshots stay in the test's
//!   temp folder; `TICKETBOT_DOCS_DIR=<dir>` also copies them there (how docs/web-*.png are
//!   made).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, Utc};
use fakecord::{ids, Config, FakeDiscord};
use ticketbot_common::config::{DbConfig, DiscordSignIn, Secret, WebAuth, WebSettings};
use ticketbot_common::feedback::Feedback;
use ticketbot_common::names::{Name, NameKind};
use ticketbot_common::store::{open_store, CreateOutcome, TicketStore};
use ticketbot_common::topics::{Answer, TicketForm};
use ticketbot_common::{Ticket, Transition};
use ticketbot_testkit::browser;
use ticketbot_web::WebApp;

/// A close reason made to break out of HTML if it were not escaped.
const HOSTILE: &str = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>\"'&";
const TICKETS: usize = 60;
/// The staff member's display name, hostile too.
const STAFF_NAME: &str = "<b>Sam</b> & co";

struct Seeded {
    store: Arc<dyn TicketStore>,
    /// Newest first, as the list shows them.
    tickets: Vec<Ticket>,
    /// The oldest ticket, of another guild: staff of the guild do not see it.
    other: Ticket,
}

const OTHER_GUILD: u64 = 1_210_000_000_000_009_999;

/// 60 tickets a minute apart: most answered by STAFF, every third claimed by STAFF, every
/// second closed (one claimed and closed with the hostile reason).
async fn seed(dir: &Path) -> Seeded {
    let store = open_store(&DbConfig::Sqlite {
        path: dir.join("tickets.db"),
    })
    .await
    .unwrap();
    let start = Utc::now() - Duration::hours(2);
    store
        .remember_names(&[Name::seen(
            ids::STAFF,
            NameKind::User,
            STAFF_NAME,
            None,
            start,
        )])
        .await
        .unwrap();
    let CreateOutcome::Created(other) = store
        .create_ticket(
            OTHER_GUILD,
            6_000_000_000_000_000_001,
            1,
            start - Duration::hours(1),
        )
        .await
        .unwrap()
    else {
        panic!("other guild's ticket not created");
    };
    let billing = uuid::Uuid::new_v4();
    let mut tickets = Vec::new();
    for i in 0..TICKETS {
        let at = start + Duration::minutes(i as i64);
        let CreateOutcome::Created(t) = store
            .create_ticket(ids::GUILD, 5_000_000_000_000_000 + i as u64, 1, at)
            .await
            .unwrap()
        else {
            panic!("ticket {i} not created");
        };
        if i % 4 != 3 {
            store
                .record_first_response(t.id, ids::STAFF, at + Duration::seconds(10 + i as i64))
                .await
                .unwrap();
        }
        if i % 3 == 0 {
            store
                .transition(
                    t.id,
                    &Transition::Claim {
                        by: ids::STAFF,
                        at: at + Duration::seconds(30),
                    },
                )
                .await
                .unwrap();
        }
        if i % 2 == 0 {
            let reason = if i == 54 {
                HOSTILE.to_owned()
            } else {
                format!("done {i}")
            };
            store
                .transition(
                    t.id,
                    &Transition::Close {
                        by: Some(ids::STAFF),
                        reason: Some(reason),
                        at: at + Duration::seconds(50),
                        forced: false,
                    },
                )
                .await
                .unwrap();
            // Its creator rates it: 5 stars, or 4 for every fourth.
            let stars = if i % 4 == 0 { 4 } else { 5 };
            let rated = at + Duration::seconds(60);
            let comment = (i == 54).then_some(HOSTILE);
            let f = Feedback::new(t.id, t.creator_id, stars, comment, rated).unwrap();
            store.give_feedback(&f, rated).await.unwrap();
        }
        // Every fifth opened with the Billing topic; the hostile one answers its form hostilely.
        if i % 5 == 4 {
            let form = TicketForm {
                ticket_id: t.id,
                guild_id: t.guild_id,
                topic_id: billing,
                topic_name: "Billing".to_owned(),
                answers: vec![Answer {
                    question: "Order number".to_owned(),
                    answer: if i == 54 { HOSTILE } else { "#1234" }.to_owned(),
                }],
                submitted_at: at,
            };
            store.put_ticket_form(&form).await.unwrap();
        }
        tickets.push(store.get(t.id).await.unwrap().unwrap());
    }
    tickets.reverse();
    Seeded {
        store,
        tickets,
        other,
    }
}

async fn serve(listener: tokio::net::TcpListener, app: Arc<WebApp>) {
    tokio::spawn(ticketbot_web::serve(
        listener,
        app,
        std::future::pending::<()>(),
    ));
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `name=value` of a `Set-Cookie` answer.
fn cookie_pair(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_sign_in_guards_every_page_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let Seeded {
        store,
        tickets,
        other,
    } = seed(dir.path()).await;
    let settings = WebSettings {
        auth: WebAuth::Token,
        api_addr: None,
        ca_file: None,
    };
    let (app, token) = WebApp::new(store, &settings).unwrap();
    let token = token.expect("a token in --token mode");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    serve(listener, app).await;
    let base = format!("http://{addr}");
    let http = client();
    let some = &tickets[0];
    let pages = [
        "/".to_owned(),
        "/tickets".to_owned(),
        format!("/tickets/{}", some.id),
        format!("/tickets/{}/transcript", some.id),
        "/stats?days=all".to_owned(),
        "/nowhere".to_owned(),
    ];

    // Without a session: 401 and nothing of the tickets.
    for page in &pages {
        let r = http.get(format!("{base}{page}")).send().await.unwrap();
        assert_eq!(r.status(), 401, "{page}");
        let body = r.text().await.unwrap();
        assert!(!body.contains(&some.short_id()), "{page} leaked a ticket");
    }
    let r = http
        .get(format!("{base}/tickets?token=not-the-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // The printed URL signs in and drops the token from the address.
    let url = WebApp::first_url(addr, Some(&token));
    assert!(url.starts_with(&format!("http://{addr}/?token=")));
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(set.contains(attr), "{attr} missing from {set}");
    }
    assert!(
        !set.contains(&token),
        "the token itself must not be the cookie"
    );
    let session = cookie_pair(&r, ticketbot_web::SESSION_COOKIE).unwrap();

    let get = |path: String, cookie: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            http.get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
        }
    };
    let r = get("/tickets".into(), session.clone()).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("script-src 'unsafe-inline'"));
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let body = r.text().await.unwrap();
    assert_eq!(body.matches("<tr><td><a href=\"/tickets/").count(), 50);
    assert!(body.contains(&tickets[0].short_id()) && !body.contains(&tickets[50].short_id()));

    // Every page with the session; the report and transcript keep frame-ancestors too.
    // The operator sees every guild.
    let r = get(format!("/tickets/{}", other.id), session.clone()).await;
    assert_eq!(r.status(), 200);

    let r = get("/stats?days=all".into(), session.clone()).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert!(r.text().await.unwrap().contains("<svg"));
    let r = get(format!("/tickets/{}/transcript", some.id), session.clone()).await;
    assert_eq!(r.status(), 404, "no transcript saved for this ticket");

    // The hostile reason is text.
    let hostile = tickets
        .iter()
        .find(|t| t.close_reason.as_deref() == Some(HOSTILE))
        .unwrap();
    let body = get(format!("/tickets/{}", hostile.id), session.clone())
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !body.contains("<script") && !body.contains("<img"),
        "{body}"
    );
    assert!(body.contains("&#60;script&#62;"), "{body}");
    // People by name: the claimer's hostile name as text, beside the short id.
    assert!(
        body.contains("&#60;b&#62;Sam&#60;/b&#62; &#38; co (1210…0402)"),
        "{body}"
    );

    // A forged cookie (one character of the signature changed) is refused.
    let (name, value) = session.split_once('=').unwrap();
    let mut forged: Vec<char> = value.chars().collect();
    forged[3] = if forged[3] == 'A' { 'B' } else { 'A' };
    let forged = format!("{name}={}", forged.into_iter().collect::<String>());
    let r = get("/tickets".into(), forged).await;
    assert_eq!(r.status(), 401);
    assert!(!r.text().await.unwrap().contains(&some.short_id()));

    // Sign out: the cookie is cleared.
    let r = http
        .post(format!("{base}/logout"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cleared = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

/// The web view in Discord sign-in mode, with fakecord as Discord; returns what the browser
/// needs.
struct Stage {
    fake: FakeDiscord,
    base: String,
    resolver_rule: String,
    _dir: tempfile::TempDir,
    shots: std::path::PathBuf,
    tickets: Vec<Ticket>,
    other: Ticket,
}

async fn discord_stage() -> Stage {
    let dir = tempfile::tempdir().unwrap();
    let Seeded {
        store,
        tickets,
        other,
    } = seed(dir.path()).await;
    let fake = FakeDiscord::start(Config::default()).await;
    let tls = fake
        .serve_tls()
        .await
        .expect("fakecord on port 443 (needs root)");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, fakecord::tls::CA_PEM).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let public_url = format!("http://{addr}");
    fake.oauth_register("client-secret", &[&format!("{public_url}/oauth/callback")]);
    let settings = WebSettings {
        auth: WebAuth::Discord(DiscordSignIn {
            client_id: ids::APPLICATION,
            client_secret: Secret::new("client-secret"),
            public_url: public_url.clone(),
            bot_token: Secret::new("fake.bot.token"),
            guild_id: ids::GUILD,
            support_role_id: ids::SUPPORT_ROLE,
            session_key: None,
        }),
        api_addr: Some(tls.ip()),
        ca_file: Some(ca),
    };
    let (app, token) = WebApp::new(store, &settings).unwrap();
    assert!(token.is_none());
    serve(listener, app).await;
    let shots = dir.path().join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    Stage {
        fake,
        base: public_url,
        resolver_rule: format!("--host-resolver-rules=MAP discord.com {}", tls.ip()),
        _dir: dir,
        shots,
        tickets,
        other,
    }
}

impl Stage {
    /// Chromium signs in (through fakecord's OAuth2) and lands on `page`; returns its DOM.
    async fn open(&self, browser: &Path, page: &str, screenshot: Option<&str>) -> String {
        let next: String = url::form_urlencoded::byte_serialize(page.as_bytes()).collect();
        let url = format!("{}/login?next={next}", self.base);
        let profile = tempfile::tempdir().unwrap();
        let browser = browser.to_owned();
        let rule = self.resolver_rule.clone();
        let shot = screenshot.map(|name| self.shots.join(name));
        tokio::task::spawn_blocking(move || {
            let mut args = vec![rule.clone(), "--ignore-certificate-errors".to_owned()];
            if let Some(shot) = &shot {
                let shot_args = [
                    format!("--screenshot={}", shot.display()),
                    "--window-size=1100,1000".to_owned(),
                ];
                let a: Vec<&str> = args.iter().chain(&shot_args).map(String::as_str).collect();
                browser::run(&browser, &profile.path().join("shot"), &url, &a);
                if let Ok(docs) = std::env::var("TICKETBOT_DOCS_DIR") {
                    let name = shot.file_name().unwrap();
                    std::fs::copy(shot, Path::new(&docs).join(name)).unwrap();
                }
            }
            args.push("--dump-dom".to_owned());
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            browser::run(&browser, profile.path(), &url, &a)
        })
        .await
        .unwrap()
    }
}

fn rows(dom: &str) -> Vec<&str> {
    dom.split("<tr><td><a href=\"/tickets/").skip(1).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_with_discord_and_browse() {
    let Some(browser) = browser::chromium() else {
        return;
    };
    let stage = discord_stage().await;
    stage.fake.oauth_sign_in(Some(ids::STAFF));

    // The list, newest first, 50 a page, with a link to the older ones.
    let dom = stage.open(&browser, "/tickets", Some("web-list.png")).await;
    assert!(dom.contains("<h1>Tickets</h1>"), "{dom}");
    let page1 = rows(&dom);
    assert_eq!(page1.len(), 50);
    assert!(page1[0].starts_with(&stage.tickets[0].id.to_string()));
    let older = dom
        .split("rel=\"next\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a link to the next page")
        .replace("&amp;", "&");
    let dom = stage.open(&browser, &older, None).await;
    let page2 = rows(&dom);
    assert_eq!(page2.len(), TICKETS - 50);
    assert!(page2[0].starts_with(&stage.tickets[50].id.to_string()));
    assert!(
        !dom.contains("rel=\"next\""),
        "the last page links nowhere older"
    );
    // Another guild's ticket (the oldest) is not this guild's staff's to see.
    assert!(!dom.contains(&stage.other.short_id()), "{dom}");
    let dom = stage
        .open(&browser, &format!("/tickets/{}", stage.other.id), None)
        .await;
    assert!(dom.contains("No such ticket"), "{dom}");
    let dom = stage
        .open(&browser, &format!("/tickets?guild={OTHER_GUILD}"), None)
        .await;
    assert!(dom.contains("its own guild only"), "{dom}");

    // Filters: open tickets claimed by STAFF.
    let dom = stage
        .open(
            &browser,
            &format!("/tickets?status=open&claimed_by={}", ids::STAFF),
            None,
        )
        .await;
    let want: Vec<String> = stage
        .tickets
        .iter()
        .filter(|t| t.status.as_str() == "open" && t.claimed_by == Some(ids::STAFF))
        .map(|t| t.id.to_string())
        .collect();
    let got: Vec<String> = rows(&dom)
        .iter()
        .map(|r| r.split('"').next().unwrap().to_owned())
        .collect();
    assert_eq!(got, want);
    assert!(!want.is_empty());

    // One ticket: fields and history, the hostile reason as text.
    let hostile = stage
        .tickets
        .iter()
        .find(|t| t.close_reason.as_deref() == Some(HOSTILE))
        .unwrap();
    let dom = stage
        .open(
            &browser,
            &format!("/tickets/{}", hostile.short_id()),
            Some("web-ticket.png"),
        )
        .await;
    assert!(
        dom.contains(&format!("Ticket {}", hostile.short_id())),
        "{dom}"
    );
    for kind in ["opened", "claimed", "closed"] {
        assert!(
            dom.contains(&format!("<span class=\"kind\">{kind}</span>")),
            "{kind} missing from the history: {dom}"
        );
    }
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "{dom}"
    );
    assert!(!dom.contains("<script") && !dom.contains("<img"), "{dom}");
    assert!(
        dom.contains("<title>Ticket"),
        "the title was not replaced: {dom}"
    );
    assert!(
        dom.contains("&lt;b&gt;Sam&lt;/b&gt; &amp; co (1210…0402)"),
        "the claimer by name: {dom}"
    );
    // Its topic, its form's answer and its rating's comment, as text.
    assert!(dom.contains("<dt>Topic</dt><dd>Billing</dd>"), "{dom}");
    assert!(dom.contains("<dt>Order number</dt>"), "{dom}");
    assert!(dom.contains("★★★★★ 5/5"), "{dom}");
    assert_eq!(
        dom.matches("&lt;script&gt;document.title='pwned'&lt;/script&gt;")
            .count(),
        4,
        "the reason, its history entry, the answer and the comment: {dom}"
    );

    // The topic filter, in any case.
    let dom = stage.open(&browser, "/tickets?topic=BILLING", None).await;
    let billing: Vec<String> = stage
        .tickets
        .iter()
        .enumerate()
        .filter(|(i, _)| (TICKETS - 1 - i) % 5 == 4)
        .map(|(_, t)| t.id.to_string())
        .collect();
    let got: Vec<String> = rows(&dom)
        .iter()
        .map(|r| r.split('"').next().unwrap().to_owned())
        .collect();
    assert_eq!(got, billing);
    assert_eq!(got.len(), TICKETS / 5);

    // The analytics page with its charts.
    let dom = stage
        .open(&browser, "/stats?days=all", Some("web-stats.png"))
        .await;
    assert!(dom.contains("<h1>Ticket report</h1>"), "{dom}");
    assert_eq!(dom.matches("class=\"cell\"").count(), 168, "heatmap cells");
    assert!(dom.contains("aria-current=\"page\">All time"), "{dom}");
    // 30 closed tickets rated: 15 of them (every fourth ticket) 4 stars, the rest 5; all of
    // them claimed or closed by STAFF.
    assert!(dom.contains("<title>4 ★: 15</title>"), "{dom}");
    assert!(dom.contains("<title>5 ★: 15</title>"), "{dom}");
    assert!(
        dom.contains("4.5/5") && dom.contains("from 30 ratings"),
        "{dom}"
    );
    assert!(dom.contains("<td class=\"n\">4.5/5 (30)</td>"), "{dom}");
    assert!(stage.fake.oauth_exchanges() >= 5);
}

/// A sign-in whose code Discord refuses (used already, or too old) is told to sign in again;
/// one refused for the server's own client secret says the operator must fix it. Neither
/// claims Discord is out of reach, and neither signs anyone in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_sign_ins_say_why() {
    let stage = discord_stage().await;
    let http = client();
    let callback = |code: &'static str| {
        let (http, base) = (http.clone(), stage.base.clone());
        async move {
            let login = http.get(format!("{base}/login")).send().await.unwrap();
            let state_cookie = cookie_pair(&login, "tb_oauth").expect("state cookie");
            let location = login.headers()[reqwest::header::LOCATION]
                .to_str()
                .unwrap()
                .to_owned();
            let state = url::Url::parse(&location)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
                .expect("state in the authorize URL");
            let r = http
                .get(format!("{base}/oauth/callback?code={code}&state={state}"))
                .header(reqwest::header::COOKIE, state_cookie)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let session = cookie_pair(&r, "tb_session");
            (status, session, r.text().await.unwrap())
        }
    };
    let (status, session, page) = callback("a-code-discord-never-gave").await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("Sign-in expired"), "{page}");
    assert!(page.contains("href=\"/login\""), "{page}");
    assert!(session.is_none());
    // The server's client secret no longer registered (reset in the Developer Portal).
    stage
        .fake
        .oauth_register("a-new-secret", &[&format!("{}/oauth/callback", stage.base)]);
    let (status, session, page) = callback("any-code").await;
    assert_eq!(status, 502, "{page}");
    assert!(page.contains("Sign-in is not set up right"), "{page}");
    assert!(page.contains("OAUTH_CLIENT_SECRET"), "{page}");
    assert!(!page.contains("client-secret"), "{page}");
    assert!(session.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_without_the_support_role_is_refused() {
    let Some(browser) = browser::chromium() else {
        return;
    };
    let stage = discord_stage().await;
    stage.fake.oauth_sign_in(Some(ids::ALICE));
    let some = &stage.tickets[0];
    for page in ["/tickets".to_owned(), format!("/tickets/{}", some.id)] {
        let dom = stage.open(&browser, &page, None).await;
        assert!(dom.contains("Staff only"), "{dom}");
        assert!(
            !dom.contains(&some.short_id()),
            "{page} leaked a ticket: {dom}"
        );
        assert!(!dom.contains("<table"), "{dom}");
    }
    // Not signed in to Discord at all: Discord's login page, nothing of ours.
    stage.fake.oauth_sign_in(None);
    let dom = stage.open(&browser, "/tickets", None).await;
    assert!(dom.contains("Log in to Discord"), "{dom}");
}
