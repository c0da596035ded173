//! Close requests: one document per ticket (`_id` the ticket id). A request is settled by a
//! conditional update on what the caller saw (id, state, due time), so of several processes
//! one wins.

use bson::{doc, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use uuid::Uuid;

use super::docs::{id_to_bson, is_duplicate_key, opt_str_to_bson, time_to_bson, Reader};
use super::MongoStore;
use crate::close_request::{CloseRequest, CloseRequestState};
use crate::error::StoreResult;
use crate::ticket::DiscordId;

fn request_doc(r: &CloseRequest) -> Document {
    doc! {
        "_id": r.ticket_id.to_string(),
        "id": r.id.to_string(),
        "guild_id": id_to_bson(r.guild_id),
        "requested_by": id_to_bson(r.requested_by),
        "reason": opt_str_to_bson(&r.reason),
        "requested_at": time_to_bson(r.requested_at),
        "deadline": time_to_bson(r.deadline),
        "state": r.state.as_str(),
        "due_at": time_to_bson(r.due_at),
    }
}

fn request_from_doc(d: &Document) -> StoreResult<CloseRequest> {
    let r = Reader::new(d);
    Ok(CloseRequest {
        id: r.uuid("id")?,
        ticket_id: r.uuid("_id")?,
        guild_id: r.id("guild_id")?,
        requested_by: r.id("requested_by")?,
        reason: r.opt_str("reason")?,
        requested_at: r.time("requested_at")?,
        deadline: r.time("deadline")?,
        state: r.str("state")?.parse().map_err(
            |e: crate::close_request::UnknownCloseRequestState| r.err("state", &e.to_string()),
        )?,
        due_at: r.time("due_at")?,
    })
}

impl MongoStore {
    pub(crate) async fn put_close_request(&self, request: &CloseRequest) -> StoreResult<()> {
        self.import_close_requests(std::slice::from_ref(request))
            .await
    }

    pub(crate) async fn add_close_request(&self, request: &CloseRequest) -> StoreResult<bool> {
        match self.close_requests.insert_one(request_doc(request)).await {
            Ok(_) => Ok(true),
            // The ticket has a request already.
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn cancel_close_request(
        &self,
        ticket_id: Uuid,
        requested_by: DiscordId,
    ) -> StoreResult<bool> {
        let done = self
            .close_requests
            .delete_one(doc! {
                "_id": ticket_id.to_string(),
                "requested_by": id_to_bson(requested_by),
                "state": CloseRequestState::Pending.as_str(),
            })
            .await?;
        Ok(done.deleted_count > 0)
    }

    pub(crate) async fn close_request(&self, ticket_id: Uuid) -> StoreResult<Option<CloseRequest>> {
        self.close_requests
            .find_one(doc! { "_id": ticket_id.to_string() })
            .await?
            .as_ref()
            .map(request_from_doc)
            .transpose()
    }

    pub(crate) async fn settle_close_request(
        &self,
        seen: &CloseRequest,
        state: CloseRequestState,
        due_at: DateTime<Utc>,
    ) -> StoreResult<Option<CloseRequest>> {
        let filter = doc! {
            "_id": seen.ticket_id.to_string(),
            "id": seen.id.to_string(),
            "state": seen.state.as_str(),
            "due_at": time_to_bson(seen.due_at),
        };
        let update = doc! { "$set": { "state": state.as_str(), "due_at": time_to_bson(due_at) } };
        let done = self.close_requests.update_one(filter, update).await?;
        Ok((done.matched_count == 1).then(|| CloseRequest {
            state,
            due_at,
            ..seen.clone()
        }))
    }

    pub(crate) async fn due_close_requests(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<CloseRequest>> {
        let docs: Vec<Document> = self
            .close_requests
            .find(doc! { "due_at": { "$lte": time_to_bson(now) } })
            .sort(doc! { "due_at": 1, "id": 1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        docs.iter().map(request_from_doc).collect()
    }

    pub(crate) async fn remove_close_request(&self, id: Uuid) -> StoreResult<bool> {
        let done = self
            .close_requests
            .delete_one(doc! { "id": id.to_string() })
            .await?;
        Ok(done.deleted_count > 0)
    }

    pub(crate) async fn export_close_requests(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<CloseRequest>> {
        super::docs::page_after(&self.close_requests, after, limit, request_from_doc).await
    }

    pub(crate) async fn import_close_requests(&self, rows: &[CloseRequest]) -> StoreResult<()> {
        for r in rows {
            self.close_requests
                .replace_one(doc! { "_id": r.ticket_id.to_string() }, request_doc(r))
                .upsert(true)
                .await?;
        }
        Ok(())
    }
}
