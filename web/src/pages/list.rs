//! The ticket list: filters from the form, keyset paging.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use ticketbot_common::store::{load_names, ClaimFilter, Cursor, TicketFilter};
use ticketbot_common::ticket::TicketStatus;

use crate::session::{viewer, Viewer};
use crate::WebApp;

use super::{
    age, bad_request, id_field, render, set, store_error, time_field, when, who, PAGE_SIZE,
};

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
