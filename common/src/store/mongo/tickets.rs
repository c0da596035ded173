//! Creating, reading, listing and transitioning tickets.

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::options::ReturnDocument;
use uuid::Uuid;

use super::docs::*;
use super::{MongoStore, MAX_SLOT};
use crate::error::{StoreError, StoreResult};
use crate::rules::{RuleError, Transition};
use crate::store::{
    decide_transition, CreateOutcome, Cursor, Page, StatusCounts, TicketFilter, TicketRecord,
    RACE_RETRIES,
};
use crate::ticket::{DiscordId, Ticket, TicketEvent, TicketStatus};

impl MongoStore {
    pub(crate) async fn try_reopen(&self, id: Uuid, t: &Transition) -> StoreResult<Option<Ticket>> {
        let Some(current) = self.get(id).await? else {
            return Ok(None);
        };
        let used = self
            .tickets
            .count_documents(doc! {
                "guild_id": id_to_bson(current.guild_id),
                "creator_id": id_to_bson(current.creator_id),
                "status": "open",
                "deleted": false,
            })
            .await?;
        let mut slot = used as i64;
        let event = TicketEvent::new(&current, t.event_kind(), t.actor(), t.at(), None);
        loop {
            let update = doc! { "$set": {
                "status": "open", "closed_at": Bson::Null, "closed_by": Bson::Null,
                "close_reason": Bson::Null, "open_slot": slot, "updated_at": time_to_bson(t.at()),
                "archived_at": Bson::Null, "archive_requested_at": Bson::Null,
                "channel_sync": Uuid::new_v4().to_string(),
            }};
            let filter = doc! { "_id": id.to_string(), "deleted": false, "status": "closed" };
            let slot_taken = match self.write_with_event(filter, update, &event).await {
                Ok(Some(doc)) => return ticket_from_doc(&doc).map(Some),
                // Still closed yet not updated: the slot's unique index refused the write (some
                // MongoDB-wire servers report that as "no document" rather than error 11000).
                Ok(None) => self
                    .get(id)
                    .await?
                    .is_some_and(|t| t.status == TicketStatus::Closed),
                Err(e) if is_duplicate_key(&e) => true,
                Err(e) => return Err(e.into()),
            };
            if !slot_taken || slot > MAX_SLOT {
                return Ok(None);
            }
            slot += 1;
        }
    }

    pub(crate) async fn try_transition(
        &self,
        id: Uuid,
        t: &Transition,
    ) -> StoreResult<Option<Ticket>> {
        let at = time_to_bson(t.at());
        let mut filter = doc! { "_id": id.to_string(), "deleted": false };
        let set = match t {
            Transition::Claim { by, .. } => {
                filter.insert("status", "open");
                filter.insert("claimed_by", doc! { "$eq": Bson::Null });
                doc! { "claimed_by": id_to_bson(*by), "claimed_at": at.clone() }
            }
            Transition::Unclaim { by, .. } => {
                filter.insert("status", "open");
                filter.insert("claimed_by", id_to_bson(*by));
                doc! { "claimed_by": Bson::Null, "claimed_at": Bson::Null }
            }
            Transition::Close { by, reason, .. } => {
                filter.insert("status", "open");
                doc! {
                    "status": "closed", "closed_at": at.clone(), "closed_by": opt_id_to_bson(*by),
                    "close_reason": opt_str_to_bson(reason), "open_slot": id.to_string(),
                    "channel_sync": Uuid::new_v4().to_string(),
                }
            }
            Transition::Reopen { .. } => return self.try_reopen(id, t).await,
        };
        let mut set = set;
        set.insert("updated_at", at);
        // The event needs the guild id; the ticket's guild never changes, so any read gives it.
        let Some(current) = self.get(id).await? else {
            return Ok(None);
        };
        let event = t.event(&current);
        let doc = self
            .write_with_event(filter, doc! { "$set": set }, &event)
            .await?;
        doc.as_ref().map(ticket_from_doc).transpose()
    }

    pub(crate) async fn create_ticket(
        &self,
        guild_id: DiscordId,
        creator_id: DiscordId,
        max_open: u32,
        at: DateTime<Utc>,
    ) -> StoreResult<CreateOutcome> {
        let ticket = Ticket::new(guild_id, creator_id, at);
        let opened = TicketEvent::opened(&ticket);
        let filter = TicketFilter {
            guild_id: Some(guild_id),
            creator_id: Some(creator_id),
            status: Some(TicketStatus::Open),
            ..TicketFilter::default()
        };
        for _ in 0..RACE_RETRIES {
            for slot in 0..max_open.max(1) {
                let record = TicketRecord {
                    ticket: ticket.clone(),
                    participants: Vec::new(),
                    open_slot: Some(slot),
                };
                let mut doc = ticket_doc(&record);
                doc.insert("outbox", doc! { opened.id.to_string(): event_doc(&opened) });
                doc.insert("outbox_n", 1_i64);
                match self.tickets.insert_one(doc).await {
                    Ok(_) => {
                        let id = Bson::String(ticket.id.to_string());
                        if let Err(e) = self.flush_event(&id, &opened).await {
                            tracing::warn!("opened event stays in the outbox for now: {e}");
                        }
                        return Ok(CreateOutcome::Created(ticket));
                    }
                    Err(e) if is_duplicate_key(&e) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            let open = self.list(&filter, 100, None).await?.tickets;
            if !open.is_empty() {
                return Ok(CreateOutcome::LimitReached { open });
            }
            // Every slot is taken, yet no open ticket shows: a delete that stopped half-way
            // holds one. Finish it now, in the normal path, and try again.
            self.finish_deletes_of(guild_id, creator_id).await?;
        }
        let open = self.list(&filter, 100, None).await?.tickets;
        Ok(CreateOutcome::LimitReached { open })
    }

    pub(crate) async fn get(&self, id: Uuid) -> StoreResult<Option<Ticket>> {
        self.get_doc(id)
            .await?
            .as_ref()
            .map(ticket_from_doc)
            .transpose()
    }

    pub(crate) async fn find_by_prefix(
        &self,
        prefix: &str,
        limit: u32,
    ) -> StoreResult<Vec<Ticket>> {
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Ok(Vec::new());
        }
        let docs: Vec<Document> = self
            .tickets
            .find(
                doc! { "_id": { "$gte": &prefix, "$lt": format!("{prefix}~") }, "deleted": false },
            )
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        docs.iter().map(ticket_from_doc).collect()
    }

    pub(crate) async fn get_by_channel(
        &self,
        channel_id: DiscordId,
    ) -> StoreResult<Option<Ticket>> {
        let doc = self
            .tickets
            .find_one(doc! { "channel_id": id_to_bson(channel_id), "deleted": false })
            .await?;
        doc.as_ref().map(ticket_from_doc).transpose()
    }

    pub(crate) async fn list(
        &self,
        filter: &TicketFilter,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Page> {
        let mut f = filter_doc(filter);
        if let Some(c) = after {
            let t = time_to_bson(c.created_at);
            let keyset = doc! { "$or": [
                { "created_at": { "$lt": t.clone() } },
                { "created_at": t, "_id": { "$lt": c.id.to_string() } },
            ]};
            f = doc! { "$and": [f, keyset] };
        }
        let docs: Vec<Document> = self
            .tickets
            .find(f)
            .sort(doc! { "created_at": -1, "_id": -1 })
            .limit(i64::from(limit) + 1)
            .await?
            .try_collect()
            .await?;
        let mut tickets = docs
            .iter()
            .map(ticket_from_doc)
            .collect::<StoreResult<Vec<_>>>()?;
        let next = if tickets.len() > limit as usize {
            tickets.truncate(limit as usize);
            tickets.last().map(Cursor::after)
        } else {
            None
        };
        Ok(Page { tickets, next })
    }

    pub(crate) async fn count(&self, filter: &TicketFilter) -> StoreResult<StatusCounts> {
        let mut counts = StatusCounts::default();
        for status in [TicketStatus::Open, TicketStatus::Closed] {
            if filter.status.is_some_and(|s| s != status) {
                continue;
            }
            let mut f = filter_doc(filter);
            f.insert("status", status.as_str());
            let n = self.tickets.count_documents(f).await?;
            match status {
                TicketStatus::Open => counts.open = n,
                TicketStatus::Closed => counts.closed = n,
            }
        }
        Ok(counts)
    }

    pub(crate) async fn updated_since(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Ticket>> {
        let docs: Vec<Document> = self
            .tickets
            .find(doc! { "updated_at": { "$gte": time_to_bson(since) }, "deleted": false })
            .sort(doc! { "updated_at": 1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        docs.iter().map(ticket_from_doc).collect()
    }

    pub(crate) async fn set_channel(
        &self,
        id: Uuid,
        channel_id: Option<DiscordId>,
    ) -> StoreResult<Ticket> {
        let update = doc! { "$set": {
            "channel_id": opt_id_to_bson(channel_id),
            "channel_key": channel_key(id, channel_id),
            "updated_at": time_to_bson(crate::ticket::now()),
        }};
        let res = self
            .tickets
            .find_one_and_update(doc! { "_id": id.to_string(), "deleted": false }, update)
            .return_document(ReturnDocument::After)
            .await;
        // Some MongoDB-wire servers skip a write that breaks a unique index without reporting
        // error 11000: then the document exists but came back as `None`.
        let taken = match res {
            Ok(Some(doc)) => return ticket_from_doc(&doc),
            Ok(None) => self.get_doc(id).await?.is_some(),
            Err(e) if is_duplicate_key(&e) => true,
            Err(e) => return Err(e.into()),
        };
        if !taken {
            return Err(RuleError::NotFound.into());
        }
        let channel_id = channel_id.unwrap_or_default();
        let owner = self.get_by_channel(channel_id).await?;
        Err(StoreError::ChannelTaken {
            channel_id,
            ticket_id: owner.map(|t| t.id).unwrap_or_default(),
        })
    }

    pub(crate) async fn transition(
        &self,
        id: Uuid,
        transition: &Transition,
    ) -> StoreResult<Ticket> {
        decide_transition(
            id,
            transition,
            || self.try_transition(id, transition),
            || self.get(id),
        )
        .await
    }

    /// Finishes the interrupted deletes of one user's tickets (documents marked `deleted` whose
    /// removal did not happen), which would otherwise keep holding their open slots.
    pub(crate) async fn finish_deletes_of(
        &self,
        guild_id: DiscordId,
        creator_id: DiscordId,
    ) -> StoreResult<()> {
        let mut stuck = self
            .tickets
            .find(doc! {
                "guild_id": id_to_bson(guild_id),
                "creator_id": id_to_bson(creator_id),
                "deleted": true,
                "purging": { "$ne": true },
            })
            .await?;
        while let Some(doc) = stuck.try_next().await? {
            let ticket = self.finish_delete(&doc).await?;
            tracing::info!("finished the interrupted delete of ticket {}", ticket.id);
        }
        Ok(())
    }
}
