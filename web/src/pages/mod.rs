//! The pages: ticket list, one ticket, its transcript, the analytics report, and the plain
//! message pages (sign-in needed, refused, not found). Each handler asks
//! [`session::viewer`] first: no page and no file is served without a session.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use ticketbot_common::names::Names;

use crate::session::{viewer, Viewer};
use crate::WebApp;

mod analytics;
mod list;
mod ticket;

pub(crate) use analytics::stats;
pub(crate) use list::list;
pub(crate) use ticket::{ticket, transcript};

/// Tickets per page of the list.
pub(crate) const PAGE_SIZE: u32 = 50;

const STYLE: &str = include_str!("../../templates/style.css");

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

fn or_dash(v: Option<u64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

/// A person by name where known, `–` for nobody.
fn who(names: &Names, id: Option<u64>) -> String {
    id.map_or_else(|| "–".to_owned(), |id| names.label(id))
}
