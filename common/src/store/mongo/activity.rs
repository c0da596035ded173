//! Last message per ticket (auto-close): one document per ticket (`_id` the ticket id). The
//! write matches only an older time; when a newer one is there, the upsert's insert collides
//! with it and nothing changes.

use std::collections::HashSet;

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use uuid::Uuid;

use super::docs::{
    filter_doc, id_to_bson, is_duplicate_key, ticket_from_doc, time_to_bson, Reader,
};
use super::MongoStore;
use crate::auto_close::TicketActivity;
use crate::error::StoreResult;
use crate::store::TicketFilter;
use crate::ticket::{Ticket, TicketStatus};

fn activity_from_doc(d: &Document) -> StoreResult<TicketActivity> {
    let r = Reader::new(d);
    Ok(TicketActivity {
        ticket_id: r.uuid("_id")?,
        guild_id: r.id("guild_id")?,
        last_message_at: r.time("last_message_at")?,
    })
}

impl MongoStore {
    pub(crate) async fn record_activity(&self, activity: &TicketActivity) -> StoreResult<()> {
        self.import_activity(std::slice::from_ref(activity)).await
    }

    pub(crate) async fn last_activity(
        &self,
        ticket_id: Uuid,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        self.activity
            .find_one(doc! { "_id": ticket_id.to_string() })
            .await?
            .as_ref()
            .map(|d| activity_from_doc(d).map(|a| a.last_message_at))
            .transpose()
    }

    pub(crate) async fn stale_tickets(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Ticket>> {
        // Open tickets are few (each holds a channel): read them, then leave out those with a
        // newer message or a close request.
        let mut filter = filter_doc(&TicketFilter {
            status: Some(TicketStatus::Open),
            ..TicketFilter::default()
        });
        filter.insert("created_at", doc! { "$lte": time_to_bson(before) });
        filter.insert("channel_id", doc! { "$ne": Bson::Null });
        let docs: Vec<Document> = self
            .tickets
            .find(filter)
            .sort(doc! { "created_at": 1, "_id": 1 })
            .await?
            .try_collect()
            .await?;
        let open = docs
            .iter()
            .map(ticket_from_doc)
            .collect::<StoreResult<Vec<_>>>()?;
        let ids: Vec<Bson> = open
            .iter()
            .map(|t| Bson::String(t.id.to_string()))
            .collect();
        let recent: Vec<Document> = self
            .activity
            .find(doc! { "_id": { "$in": ids.clone() }, "last_message_at": { "$gt": time_to_bson(before) } })
            .await?
            .try_collect()
            .await?;
        let requested: Vec<Document> = self
            .close_requests
            .find(doc! { "_id": { "$in": ids } })
            .await?
            .try_collect()
            .await?;
        let busy: HashSet<String> = recent
            .iter()
            .chain(&requested)
            .filter_map(|d| d.get_str("_id").ok().map(str::to_owned))
            .collect();
        Ok(open
            .into_iter()
            .filter(|t| !busy.contains(&t.id.to_string()))
            .take(limit as usize)
            .collect())
    }

    pub(crate) async fn export_activity(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketActivity>> {
        super::docs::page_after(&self.activity, after, limit, activity_from_doc).await
    }

    pub(crate) async fn import_activity(&self, rows: &[TicketActivity]) -> StoreResult<()> {
        for a in rows {
            let filter = doc! {
                "_id": a.ticket_id.to_string(),
                "last_message_at": { "$lt": time_to_bson(a.last_message_at) },
            };
            let update = doc! { "$set": {
                "guild_id": id_to_bson(a.guild_id),
                "last_message_at": time_to_bson(a.last_message_at),
            }};
            match self.activity.update_one(filter, update).upsert(true).await {
                Ok(_) => {}
                // A newer (or the same) time is stored: it stays.
                Err(e) if is_duplicate_key(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
