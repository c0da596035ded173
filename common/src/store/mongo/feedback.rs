//! Ratings: one document per ticket (`_id` the ticket id). The first rating is an insert only
//! one writer can win (a duplicate `_id` fails); a change is an update conditional on the
//! author and the change window.

use std::collections::HashMap;

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use uuid::Uuid;

use super::docs::{
    filter_doc, id_to_bson, is_duplicate_key, opt_str_to_bson, time_to_bson, Reader,
};
use super::MongoStore;
use crate::error::StoreResult;
use crate::feedback::{summarize, Feedback, FeedbackSummary, FeedbackWrite, RatedGroup};
use crate::store::TicketFilter;

/// Ticket ids looked up per query when joining ratings to tickets.
const JOIN_BATCH: usize = 1000;

fn feedback_doc(f: &Feedback) -> Document {
    doc! {
        "_id": f.ticket_id.to_string(),
        "user_id": id_to_bson(f.user_id),
        "rating": i32::from(f.rating),
        "comment": opt_str_to_bson(&f.comment),
        "given_at": time_to_bson(f.given_at),
        "updated_at": time_to_bson(f.updated_at),
    }
}

fn feedback_from_doc(d: &Document) -> StoreResult<Feedback> {
    let r = Reader::new(d);
    let rating = r.i64("rating")?;
    Ok(Feedback {
        ticket_id: r.uuid("_id")?,
        user_id: r.id("user_id")?,
        rating: u8::try_from(rating)
            .ok()
            .filter(|s| crate::feedback::STARS.contains(s))
            .ok_or_else(|| r.err("rating", &format!("{rating} is not 1 to 5")))?,
        comment: r.opt_str("comment")?,
        given_at: r.time("given_at")?,
        updated_at: r.time("updated_at")?,
    })
}

impl MongoStore {
    pub(crate) async fn give_feedback(
        &self,
        feedback: &Feedback,
        changeable_since: DateTime<Utc>,
    ) -> StoreResult<FeedbackWrite> {
        match self.feedback.insert_one(feedback_doc(feedback)).await {
            Ok(_) => return Ok(FeedbackWrite::Added),
            Err(e) if is_duplicate_key(&e) => {}
            Err(e) => return Err(e.into()),
        }
        let mut set = doc! {
            "rating": i32::from(feedback.rating),
            "updated_at": time_to_bson(feedback.updated_at),
        };
        if let Some(c) = &feedback.comment {
            set.insert("comment", c.as_str());
        }
        let done = self
            .feedback
            .update_one(
                doc! {
                    "_id": feedback.ticket_id.to_string(),
                    "user_id": id_to_bson(feedback.user_id),
                    "given_at": { "$gte": time_to_bson(changeable_since) },
                },
                doc! { "$set": set },
            )
            .await?;
        Ok(if done.matched_count > 0 {
            FeedbackWrite::Changed
        } else {
            FeedbackWrite::Final
        })
    }

    pub(crate) async fn feedback(&self, ticket_id: Uuid) -> StoreResult<Option<Feedback>> {
        self.feedback
            .find_one(doc! { "_id": ticket_id.to_string() })
            .await?
            .as_ref()
            .map(feedback_from_doc)
            .transpose()
    }

    pub(crate) async fn feedback_summary(
        &self,
        filter: &TicketFilter,
    ) -> StoreResult<FeedbackSummary> {
        // Ratings are at most one per ticket and usually far fewer: read them, then the
        // tickets they rate that the filter selects, a batch of ids at a time.
        let ratings: HashMap<String, u8> = crate::store::TicketStore::all_feedback(self)
            .await?
            .into_iter()
            .map(|f| (f.ticket_id.to_string(), f.rating))
            .collect();
        let ids: Vec<&String> = ratings.keys().collect();
        let mut groups = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(JOIN_BATCH) {
            let mut f = filter_doc(filter);
            let in_chunk: Vec<Bson> = chunk.iter().map(|s| Bson::String((*s).clone())).collect();
            f.insert("_id", doc! { "$in": in_chunk });
            let docs: Vec<Document> = self
                .tickets
                .find(f)
                .projection(doc! { "_id": 1, "claimed_by": 1, "closed_by": 1 })
                .await?
                .try_collect()
                .await?;
            for d in &docs {
                let r = Reader::new(d);
                let Some(&rating) = d.get_str("_id").ok().and_then(|id| ratings.get(id)) else {
                    continue;
                };
                groups.push(RatedGroup {
                    claimed_by: r.opt_id("claimed_by")?,
                    closed_by: r.opt_id("closed_by")?,
                    rating,
                    tickets: 1,
                });
            }
        }
        Ok(summarize(groups))
    }

    pub(crate) async fn export_feedback(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Feedback>> {
        super::docs::page_after(&self.feedback, after, limit, feedback_from_doc).await
    }

    pub(crate) async fn import_feedback(&self, rows: &[Feedback]) -> StoreResult<()> {
        for f in rows {
            self.feedback
                .replace_one(doc! { "_id": f.ticket_id.to_string() }, feedback_doc(f))
                .upsert(true)
                .await?;
        }
        Ok(())
    }
}
