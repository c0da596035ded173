//! The pages: ticket list, one ticket, its transcript, the analytics report, and the plain
//! message pages (sign-in needed, refused, not found). Each handler asks
//! [`session::viewer`] first: no page and no file is served without a session.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Deserialize;
use ticketbot_common::names::Names;
use ticketbot_common::store::{load_names, ClaimFilter, Cursor, TicketFilter};
use ticketbot_common::ticket::{first_known_claim, Ticket, TicketEvent, TicketStatus};
use uuid::Uuid;

use crate::session::{viewer, Viewer};
use crate::WebApp;

/// Tickets per page of the list.
pub(crate) const PAGE_SIZE: u32 = 50;

const STYLE: &str = include_str!("../templates/style.css");

fn when(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn age(d: Duration) -> String {
    ticketbot_report::human_secs(d.num_seconds().max(0) as f64)
}

pub(crate) struct Message<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub link: Option<(&'a str, &'a str)>,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    text: &'a str,
    link: Option<(&'a str, &'a str)>,
    viewer: Option<&'a Viewer>,
}

fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!("web page could not be rendered: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "page could not be rendered",
            )
                .into_response()
        }
    }
}

pub(crate) fn message_page(status: StatusCode, m: Message<'_>) -> Response {
    let mut r = render(&MessagePage {
        title: m.title,
        text: m.text,
        link: m.link,
        viewer: None,
    });
    *r.status_mut() = status;
    r
}

fn store_error(e: ticketbot_common::StoreError) -> Response {
    tracing::error!("web view: the database failed: {e}");
    message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        Message {
            title: "Database unavailable",
            text: "The ticket database did not answer. Try again in a moment.",
            link: None,
        },
    )
}

fn bad_request(text: &str) -> Response {
    message_page(
        StatusCode::BAD_REQUEST,
        Message {
            title: "Bad request",
            text,
            link: Some(("/tickets", "All tickets")),
        },
    )
}

pub(crate) async fn home(State(app): State<Arc<WebApp>>, headers: HeaderMap, uri: Uri) -> Response {
    match viewer(&app, &headers, &uri).await {
        Ok(_) => (StatusCode::SEE_OTHER, [(header::LOCATION, "/tickets")]).into_response(),
        Err(r) => r,
    }
}

pub(crate) async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLE,
    )
        .into_response()
}

pub(crate) async fn not_found(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Err(r) = viewer(&app, &headers, &uri).await {
        return r;
    }
    message_page(
        StatusCode::NOT_FOUND,
        Message {
            title: "Not found",
            text: "There is no such page.",
            link: Some(("/tickets", "All tickets")),
        },
    )
}

// ----- the list -----

/// The list's filters, as the form sends them (empty fields are unset).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
    guild: Option<String>,
    creator: Option<String>,
    claimed_by: Option<String>,
    since: Option<String>,
    until: Option<String>,
    topic: Option<String>,
    after: Option<String>,
}

fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn id_field(v: &Option<String>, name: &str) -> Result<Option<u64>, String> {
    set(v)
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| format!("{name}: {s:?} is not a Discord id (a number)."))
        })
        .transpose()
}

fn time_field(v: &Option<String>, name: &str) -> Result<Option<DateTime<Utc>>, String> {
    set(v)
        .map(|s| {
            ticketbot_common::duration::parse_time(s, Utc::now()).ok_or_else(|| {
                format!("{name}: {s:?} is not a date (2025-08-14), a time or an age (7d).")
            })
        })
        .transpose()
}

impl ListQuery {
    fn filter(&self) -> Result<TicketFilter, String> {
        let claimed = set(&self.claimed_by);
        Ok(TicketFilter {
            guild_id: id_field(&self.guild, "Guild")?,
            status: match set(&self.status) {
                None | Some("all") => None,
                Some("open") => Some(TicketStatus::Open),
                Some("closed") => Some(TicketStatus::Closed),
                Some(other) => {
                    return Err(format!("Status: {other:?} is not open, closed or all."))
                }
            },
            creator_id: id_field(&self.creator, "Creator")?,
            claim: match claimed {
                None => ClaimFilter::Any,
                Some("none") => ClaimFilter::Unclaimed,
                Some(_) => ClaimFilter::By(id_field(&self.claimed_by, "Claimed by")?.unwrap_or(0)),
            },
            since: time_field(&self.since, "Since")?,
            until: time_field(&self.until, "Until")?,
            topic: set(&self.topic).map(str::to_owned),
        })
    }

    /// The query string of these filters (without the cursor), for the next page's link.
    fn filters_query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("guild", &self.guild),
            ("creator", &self.creator),
            ("claimed_by", &self.claimed_by),
            ("since", &self.since),
            ("until", &self.until),
            ("topic", &self.topic),
        ] {
            if let Some(v) = set(v) {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

struct Row {
    id: String,
    short_id: String,
    status: &'static str,
    creator: String,
    claimed_by: String,
    opened: String,
    age: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage<'a> {
    viewer: Option<&'a Viewer>,
    q: &'a ListQuery,
    status: &'a str,
    rows: Vec<Row>,
    next: Option<String>,
    first_page: Option<String>,
}

fn or_dash(v: Option<u64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

/// A person by name where known, `–` for nobody.
fn who(names: &Names, id: Option<u64>) -> String {
    id.map_or_else(|| "–".to_owned(), |id| names.label(id))
}

pub(crate) async fn list(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    uri: Uri,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let viewer = match viewer(&app, &headers, &uri).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Ok(Query(q)) = q else {
        return bad_request("The filters could not be read.");
    };
    let mut filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return bad_request(&e),
    };
    if let Some(g) = app.guild {
        if filter.guild_id.is_some_and(|asked| asked != g) {
            return bad_request("This view shows the tickets of its own guild only.");
        }
        filter.guild_id = Some(g);
    }
    let after = match set(&q.after).map(str::parse::<Cursor>).transpose() {
        Ok(c) => c,
        Err(_) => return bad_request("This page's position (after=…) is not one the list made."),
    };
    let page = match app.store.list(&filter, PAGE_SIZE, after.as_ref()).await {
        Ok(p) => p,
        Err(e) => return store_error(e),
    };
    let people: Vec<u64> = page
        .tickets
        .iter()
        .flat_map(|t| [Some(t.creator_id), t.claimed_by])
        .flatten()
        .collect();
    let names = match load_names(app.store.as_ref(), people).await {
        Ok(n) => n,
        Err(e) => return store_error(e),
    };
    let now = Utc::now();
    let rows = page
        .tickets
        .iter()
        .map(|t| Row {
            id: t.id.to_string(),
            short_id: t.short_id(),
            status: t.status.as_str(),
            creator: names.label(t.creator_id),
            claimed_by: who(&names, t.claimed_by),
            opened: when(t.created_at),
            age: age(now - t.created_at),
            reason: t.close_reason.clone().unwrap_or_default(),
        })
        .collect();
    let filters = q.filters_query();
    let join = |extra: String| {
        let mut s = String::from("/tickets?");
        s.push_str(&filters);
        if !filters.is_empty() && !extra.is_empty() {
            s.push('&');
        }
        s.push_str(&extra);
        s
    };
    let next = page.next.map(|c| {
        join(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("after", &c.to_string())
                .finish(),
        )
    });
    let first_page = after.is_some().then(|| join(String::new()));
    render(&ListPage {
        viewer: Some(&viewer),
        status: set(&q.status).unwrap_or("all"),
        q: &q,
        rows,
        next,
        first_page,
    })
}

// ----- one ticket -----

struct Field {
    name: &'static str,
    value: String,
}

struct Entry {
    at: String,
    kind: String,
    actor: String,
    details: String,
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage<'a> {
    viewer: Option<&'a Viewer>,
    short_id: String,
    id: String,
    status: &'static str,
    fields: Vec<Field>,
    history: Vec<Entry>,
    participants: Vec<String>,
    transcript: Option<String>,
    /// The topic it was opened with, and the answers to its form.
    topic: Option<String>,
    answers: Vec<Answered>,
    /// "★★★★☆ 4/5", and the comment.
    rating: Option<(String, String)>,
}

/// A question and its answer, verbatim.
struct Answered {
    name: String,
    value: String,
}

/// A full id, or a short id that names one ticket.
async fn find(app: &WebApp, raw: &str) -> Result<Option<Ticket>, Response> {
    let found = find_any(app, raw).await?;
    Ok(found.filter(|t| app.shows(t.guild_id)))
}

async fn find_any(app: &WebApp, raw: &str) -> Result<Option<Ticket>, Response> {
    if let Ok(id) = raw.parse::<Uuid>() {
        return app.store.get(id).await.map_err(store_error);
    }
    let prefix = raw.trim().to_ascii_lowercase();
    if prefix.len() < 4 || !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Ok(None);
    }
    let found = app
        .store
        .find_by_prefix(&prefix, 2)
        .await
        .map_err(store_error)?;
    Ok(if found.len() == 1 {
        found.into_iter().next()
    } else {
        None
    })
}

fn fields(t: &Ticket, history: &[TicketEvent], names: &Names) -> Vec<Field> {
    let time = |v: Option<DateTime<Utc>>| v.map_or_else(|| "–".to_owned(), when);
    let since = |v: Option<DateTime<Utc>>, known: bool| match v {
        Some(v) => age(v - t.created_at),
        None if known => "–".to_owned(),
        None => "unknown".to_owned(),
    };
    let claim = first_known_claim(t, history);
    vec![
        Field {
            name: "Guild",
            value: t.guild_id.to_string(),
        },
        Field {
            name: "Creator",
            value: names.label(t.creator_id),
        },
        Field {
            name: "Channel",
            value: or_dash(t.channel_id),
        },
        Field {
            name: "Opened",
            value: when(t.created_at),
        },
        Field {
            name: "Claimed by",
            value: who(names, t.claimed_by),
        },
        Field {
            name: "Time to claim",
            value: since(claim, t.claimed_by.is_none()),
        },
        Field {
            name: "First staff response",
            value: match (t.first_response_at, t.first_response_by) {
                (Some(at), Some(by)) => {
                    format!("{} by {}", age(at - t.created_at), names.label(by))
                }
                (Some(at), None) => age(at - t.created_at),
                _ => "–".to_owned(),
            },
        },
        Field {
            name: "Closed",
            value: time(t.closed_at),
        },
        Field {
            name: "Closed by",
            value: who(names, t.closed_by),
        },
        Field {
            name: "Close reason",
            value: t.close_reason.clone().unwrap_or_else(|| "–".to_owned()),
        },
        Field {
            name: "Archived",
            value: time(t.archived_at),
        },
    ]
}

pub(crate) async fn ticket(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    uri: Uri,
    Path(raw): Path<String>,
) -> Response {
    let viewer = match viewer(&app, &headers, &uri).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let t = match find(&app, &raw).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return message_page(
                StatusCode::NOT_FOUND,
                Message {
                    title: "No such ticket",
                    text: "No ticket has this id (a short id must name exactly one ticket).",
                    link: Some(("/tickets", "All tickets")),
                },
            )
        }
        Err(r) => return r,
    };
    let (history, participants, transcript, form, rating) = match tokio::try_join!(
        app.store.history(t.id),
        app.store.participants(t.id),
        app.store.transcript_info(t.id),
        app.store.ticket_form(t.id),
        app.store.feedback(t.id),
    ) {
        Ok(x) => x,
        Err(e) => return store_error(e),
    };
    let people: Vec<u64> = [t.creator_id]
        .into_iter()
        .chain(t.claimed_by)
        .chain(t.closed_by)
        .chain(t.first_response_by)
        .chain(participants.iter().map(|p| p.user_id))
        .chain(history.iter().filter_map(|e| e.actor_id))
        .collect();
    let names = match load_names(app.store.as_ref(), people).await {
        Ok(n) => n,
        Err(e) => return store_error(e),
    };
    render(&TicketPage {
        viewer: Some(&viewer),
        short_id: t.short_id(),
        id: t.id.to_string(),
        status: t.status.as_str(),
        fields: fields(&t, &history, &names),
        history: history
            .iter()
            .map(|e| Entry {
                at: when(e.at),
                kind: e.kind.to_string(),
                actor: who(&names, e.actor_id),
                details: e.details.clone().unwrap_or_default(),
            })
            .collect(),
        participants: participants
            .iter()
            .map(|p| names.label(p.user_id))
            .collect(),
        transcript: transcript.map(|i| format!("{} messages", i.message_count)),
        topic: form.as_ref().map(|f| f.topic_name.clone()),
        answers: form
            .into_iter()
            .flat_map(|f| f.answers)
            .map(|a| Answered {
                name: a.question,
                value: a.answer,
            })
            .collect(),
        rating: rating.map(|f| {
            (
                ticketbot_common::feedback::stars(f.rating),
                f.comment.unwrap_or_default(),
            )
        }),
    })
}

pub(crate) async fn transcript(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    uri: Uri,
    Path(raw): Path<String>,
) -> Response {
    if let Err(r) = viewer(&app, &headers, &uri).await {
        return r;
    }
    // A deleted ticket keeps its transcript: a full id reaches it without the row.
    let id = match raw.parse::<Uuid>() {
        Ok(id) => Some(id),
        Err(_) => match find(&app, &raw).await {
            Ok(t) => t.map(|t| t.id),
            Err(r) => return r,
        },
    };
    let blob = match id {
        Some(id) => match app.store.get_transcript(id).await {
            Ok(b) => b,
            Err(e) => return store_error(e),
        },
        None => None,
    };
    let Some(blob) = blob.filter(|b| app.shows(b.guild_id)) else {
        return message_page(
            StatusCode::NOT_FOUND,
            Message {
                title: "No transcript",
                text: "This ticket has no saved transcript (one is made when a ticket is archived or deleted, or by /ticket transcript).",
                link: Some(("/tickets", "All tickets")),
            },
        );
    };
    let page = match ticketbot_transcript::decode(&blob.data) {
        Ok(t) => ticketbot_transcript::render_html(&t),
        Err(e) => {
            tracing::error!("transcript of {} cannot be read: {e}", blob.ticket_id);
            return message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                Message {
                    title: "Transcript unreadable",
                    text: "The stored transcript of this ticket cannot be read.",
                    link: None,
                },
            );
        }
    };
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            crate::headers::with_frame_ancestors(ticketbot_transcript::CSP),
        )],
        Html(page),
    )
        .into_response()
}

// ----- analytics -----

#[derive(Debug, Default, Deserialize)]
pub(crate) struct StatsQuery {
    days: Option<String>,
    guild: Option<String>,
}

/// The periods offered: days back from now (`None`: all time).
const PERIODS: [(Option<i64>, &str); 5] = [
    (Some(7), "Last 7 days"),
    (Some(30), "30 days"),
    (Some(90), "90 days"),
    (Some(365), "A year"),
    (None, "All time"),
];

pub(crate) async fn stats(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    uri: Uri,
    q: Result<Query<StatsQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = viewer(&app, &headers, &uri).await {
        return r;
    }
    let Ok(Query(q)) = q else {
        return bad_request("The period could not be read.");
    };
    let days = match set(&q.days) {
        None => Some(30),
        Some("all") => None,
        Some(d) => match d.parse::<i64>() {
            Ok(d) if (1..=36_500).contains(&d) => Some(d),
            _ => return bad_request("Days: expected a number of days (1 to 36500) or all."),
        },
    };
    let guild = match (id_field(&q.guild, "Guild"), app.guild) {
        (Err(e), _) => return bad_request(&e),
        (Ok(Some(asked)), Some(g)) if asked != g => {
            return bad_request("This view shows the figures of its own guild only.")
        }
        (Ok(asked), scope) => scope.or(asked),
    };
    let now = Utc::now();
    let filter = TicketFilter {
        guild_id: guild,
        since: days.map(|d| now - Duration::days(d)),
        ..TicketFilter::default()
    };
    let stats = match app.store.stats(&filter).await {
        Ok(s) => s,
        Err(e) => return store_error(e),
    };
    let feedback = &stats.feedback;
    let guild_q = guild.map(|g| format!("&guild={g}")).unwrap_or_default();
    let mut links = vec![ticketbot_report::Link {
        label: "← Tickets".to_owned(),
        href: "/tickets".to_owned(),
        current: false,
    }];
    links.extend(PERIODS.iter().map(|&(d, label)| ticketbot_report::Link {
        label: label.to_owned(),
        href: format!(
            "/stats?days={}{guild_q}",
            d.map_or_else(|| "all".to_owned(), |d| d.to_string())
        ),
        current: d == days,
    }));
    let scope = ticketbot_report::Scope {
        guild_id: guild,
        since: filter.since,
        until: None,
        generated_at: now,
    };
    let staff = stats.staff.iter().map(|s| s.user_id);
    let staff: Vec<u64> = staff
        .chain(feedback.staff.iter().map(|s| s.user_id))
        .collect();
    let names = match load_names(app.store.as_ref(), staff).await {
        Ok(n) => n,
        Err(e) => return store_error(e),
    };
    let page = ticketbot_report::page(&stats, &scope, &names, &links);
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            crate::headers::with_frame_ancestors(ticketbot_report::CSP),
        )],
        Html(page),
    )
        .into_response()
}
