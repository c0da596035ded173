//! `ticketctl inspect`: one ticket, all of it.

use anyhow::Result;
use chrono::Utc;
use serde::Serialize;
use ticketbot_common::feedback::Feedback;
use ticketbot_common::names::Names;
use ticketbot_common::store::{load_names, TicketStore};
use ticketbot_common::ticket::{Ticket, TicketEvent};
use ticketbot_common::topics::TicketForm;

use crate::opt::InspectArgs;
use crate::output::{
    human_duration, or_dash, print_json, rfc3339, table, EventJson, ParticipantJson, TicketJson,
};
use crate::resolve::{self, IdArg};

#[derive(Debug, Serialize)]
struct Durations {
    open_for_secs: i64,
    time_to_claim_secs: Option<i64>,
    time_to_first_response_secs: Option<i64>,
    time_to_close_secs: Option<i64>,
}

fn durations(t: &Ticket, history: &[TicketEvent]) -> Durations {
    let end = t.closed_at.unwrap_or_else(Utc::now);
    let claimed = ticketbot_common::ticket::first_known_claim(t, history);
    Durations {
        open_for_secs: (end - t.created_at).num_seconds(),
        time_to_claim_secs: claimed.map(|c| (c - t.created_at).num_seconds()),
        time_to_first_response_secs: t
            .first_response_at
            .map(|r| (r - t.created_at).num_seconds()),
        time_to_close_secs: t.closed_at.map(|c| (c - t.created_at).num_seconds()),
    }
}

pub async fn run(store: &dyn TicketStore, args: &InspectArgs) -> Result<()> {
    let ticket = match resolve::resolve(store, &args.id).await {
        Ok(t) => t,
        Err(e) => {
            // A deleted ticket's history outlives it: show that rather than "not found".
            if let Ok(IdArg::Full(id)) = resolve::parse(&args.id) {
                let history = store.history(id).await?;
                if !history.is_empty() {
                    return print_deleted(id, &history, args.json.json);
                }
            }
            return Err(e);
        }
    };
    let participants = store.participants(ticket.id).await?;
    let history = store.history(ticket.id).await?;
    let d = durations(&ticket, &history);
    let feedback = store.feedback(ticket.id).await?;
    let form = store.ticket_form(ticket.id).await?;
    if args.json.json {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            ticket: TicketJson,
            participants: Vec<ParticipantJson>,
            durations: Durations,
            history: Vec<EventJson>,
            /// The creator's rating, or null.
            feedback: Option<&'a Feedback>,
            /// The topic it was opened with and the form's answers, or null.
            form: Option<&'a TicketForm>,
        }
        return print_json(&Out {
            ticket: TicketJson::from(&ticket),
            participants: participants.iter().map(ParticipantJson::from).collect(),
            durations: d,
            history: history.iter().map(EventJson::from).collect(),
            feedback: feedback.as_ref(),
            form: form.as_ref(),
        });
    }
    let names = load_names(
        store,
        [ticket.creator_id]
            .into_iter()
            .chain(ticket.claimed_by)
            .chain(ticket.closed_by)
            .chain(ticket.first_response_by)
            .chain(participants.iter().flat_map(|p| [p.user_id, p.added_by]))
            .chain(history.iter().filter_map(|e| e.actor_id)),
    )
    .await?;
    let who = |id: Option<u64>| or_dash(id.map(|id| names.label(id)));
    let secs = |s: Option<i64>| s.map(|s| human_duration(chrono::Duration::seconds(s)));
    let mut t = table(&["field", "value"]);
    let rows = [
        ("id", ticket.id.to_string()),
        ("short id", ticket.short_id()),
        ("status", ticket.status.to_string()),
        (
            "topic",
            or_dash(form.as_ref().map(|f| f.topic_name.clone())),
        ),
        ("guild", ticket.guild_id.to_string()),
        ("channel", or_dash(ticket.channel_id)),
        ("creator", names.label(ticket.creator_id)),
        ("claimed by", who(ticket.claimed_by)),
        ("claimed at", or_dash(ticket.claimed_at.map(rfc3339))),
        ("created at", rfc3339(ticket.created_at)),
        ("closed at", or_dash(ticket.closed_at.map(rfc3339))),
        ("closed by", who(ticket.closed_by)),
        ("close reason", or_dash(ticket.close_reason.clone())),
        ("updated at", rfc3339(ticket.updated_at)),
        (
            "open for",
            human_duration(chrono::Duration::seconds(d.open_for_secs)),
        ),
        (
            "time to claim",
            match (secs(d.time_to_claim_secs), ticket.claimed_by) {
                (Some(s), _) => s,
                // Claimed, but when is not known (taken over from the Python bot).
                (None, Some(_)) => "unknown".to_owned(),
                (None, None) => "-".to_owned(),
            },
        ),
        (
            "first response",
            match (
                secs(d.time_to_first_response_secs),
                ticket.first_response_by,
            ) {
                (Some(after), Some(by)) => format!("after {after}, by {}", names.label(by)),
                _ => "-".to_owned(),
            },
        ),
        ("time to close", or_dash(secs(d.time_to_close_secs))),
        (
            "feedback",
            match &feedback {
                Some(f) => {
                    let mut text = format!("{} ({})", f.stars(), rfc3339(f.given_at));
                    if let Some(c) = f.comment.as_deref().filter(|c| !c.is_empty()) {
                        text.push('\n');
                        text.push_str(c);
                    }
                    text
                }
                None => "-".to_owned(),
            },
        ),
        (
            "participants",
            if participants.is_empty() {
                "-".to_owned()
            } else {
                participants
                    .iter()
                    .map(|p| {
                        format!(
                            "{} (added by {})",
                            names.label(p.user_id),
                            names.label(p.added_by)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            },
        ),
    ];
    for (k, v) in rows {
        t.add_row(vec![k.to_owned(), v]);
    }
    println!("{t}");
    if let Some(f) = form.as_ref().filter(|f| !f.answers.is_empty()) {
        let mut t = table(&["question", "answer"]);
        for a in &f.answers {
            let answer = if a.answer.is_empty() { "-" } else { &a.answer };
            t.add_row(vec![a.question.clone(), answer.to_owned()]);
        }
        println!("{t}");
    }
    print_timeline(&history, &names);
    Ok(())
}

fn print_timeline(history: &[TicketEvent], names: &Names) {
    let mut t = table(&["when", "event", "by", "details"]);
    for e in history {
        t.add_row(vec![
            rfc3339(e.at),
            e.kind.to_string(),
            or_dash(e.actor_id.map(|id| names.label(id))),
            or_dash(e.details.clone()),
        ]);
    }
    println!("history\n{t}");
}

fn print_deleted(id: uuid::Uuid, history: &[TicketEvent], json: bool) -> Result<()> {
    if json {
        #[derive(Serialize)]
        struct Out {
            id: String,
            deleted: bool,
            history: Vec<EventJson>,
        }
        return print_json(&Out {
            id: id.to_string(),
            deleted: true,
            history: history.iter().map(EventJson::from).collect(),
        });
    }
    println!("ticket {id} was deleted; its history:");
    print_timeline(history, &Names::default());
    Ok(())
}
