//! The analytics page: the report of a period, with its charts.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Uri};
use axum::response::{Html, IntoResponse, Response};
use chrono::{Duration, Utc};
use serde::Deserialize;
use ticketbot_common::store::{load_names, TicketFilter};

use crate::session::viewer;
use crate::WebApp;

use super::{bad_request, id_field, set, store_error};

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
