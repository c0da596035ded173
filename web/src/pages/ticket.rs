//! One ticket: its fields, its history, its transcript.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use ticketbot_common::names::Names;
use ticketbot_common::store::load_names;
use ticketbot_common::ticket::{first_known_claim, Ticket, TicketEvent};
use uuid::Uuid;

use crate::session::{viewer, Viewer};
use crate::WebApp;

use super::{age, message_page, or_dash, render, store_error, when, who, Message};

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
