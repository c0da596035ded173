//! The export and import side of `ticketctl migrate`, and record counts.

use std::future::IntoFuture;

use bson::{doc, Bson, Document};
use futures::TryStreamExt;
use uuid::Uuid;

use super::docs::*;
use super::MongoStore;
use crate::error::StoreResult;
use crate::store::{RecordCounts, TicketRecord};
use crate::ticket::TicketEvent;

impl MongoStore {
    pub(crate) async fn export_tickets(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketRecord>> {
        let after = after.map(|a| a.to_string()).unwrap_or_default();
        let docs: Vec<Document> = self
            .tickets
            .find(doc! { "_id": { "$gt": after }, "deleted": false })
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        docs.iter().map(record_from_doc).collect()
    }

    pub(crate) async fn export_events(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketEvent>> {
        if after.is_none() {
            // An export must include events that an interrupted write left in an outbox.
            self.repair().await?;
        }
        page_after(&self.events, after, limit, event_from_doc).await
    }

    pub(crate) async fn import_tickets(&self, records: &[TicketRecord]) -> StoreResult<()> {
        // A few replaces in flight at once: much faster than one by one, still bounded.
        for chunk in records.chunks(16) {
            futures::future::try_join_all(chunk.iter().map(|r| {
                self.tickets
                    .replace_one(doc! { "_id": r.ticket.id.to_string() }, ticket_doc(r))
                    .upsert(true)
                    .into_future()
            }))
            .await?;
        }
        Ok(())
    }

    pub(crate) async fn import_events(&self, events: &[TicketEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let docs: Vec<Document> = events.iter().map(event_doc).collect();
        match self.events.insert_many(docs).ordered(false).await {
            Ok(_) => Ok(()),
            // Some were there already: the rest went in (unordered insert).
            Err(e) if is_duplicate_key(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// MongoDB loads as it always does: its writes are unordered bulk inserts already, and its
    /// few indexes cost little beside them.
    pub(crate) async fn begin_bulk_load(&self) -> StoreResult<bool> {
        Ok(false)
    }

    pub(crate) async fn finish_bulk_load(&self) -> StoreResult<()> {
        Ok(())
    }

    /// MongoDB's cache is not sized per collection here: no advice.
    pub(crate) async fn cache_fit(&self) -> StoreResult<Option<crate::store::CacheFit>> {
        Ok(None)
    }

    pub(crate) async fn record_counts(&self) -> StoreResult<RecordCounts> {
        let live = doc! { "deleted": false };
        let tickets = self.tickets.count_documents(live.clone()).await?;
        let mut sum = self
            .tickets
            .aggregate([
                doc! { "$match": live },
                doc! { "$group": { "_id": Bson::Null, "n": { "$sum": "$participant_n" } } },
            ])
            .await?;
        let participants = match sum.try_next().await? {
            Some(d) => d.get("n").and_then(as_i64).unwrap_or(0).max(0) as u64,
            None => 0,
        };
        let events = self.events.count_documents(doc! {}).await?;
        Ok(RecordCounts {
            tickets,
            participants,
            events,
            transcripts: self.transcripts.count_documents(doc! {}).await?,
            categories: self.categories.count_documents(doc! {}).await?,
            names: self.names.count_documents(doc! {}).await?,
            staff_messages: self.staff_messages.count_documents(doc! {}).await?,
            close_requests: self.close_requests.count_documents(doc! {}).await?,
            activity: self.activity.count_documents(doc! {}).await?,
            feedback: self.feedback.count_documents(doc! {}).await?,
            topics: self.topics.count_documents(doc! {}).await?,
            ticket_forms: self.ticket_forms.count_documents(doc! {}).await?,
        })
    }
}
