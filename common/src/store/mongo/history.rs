//! The outbox, participants, history, delete and discard, heartbeats.

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::options::ReturnDocument;
use uuid::Uuid;

use super::docs::*;
use super::{MongoStore, DELETED_EVENTS};
use crate::error::StoreResult;
use crate::rules::{self, RuleError};
use crate::store::{Heartbeat, RACE_RETRIES};
use crate::ticket::{DiscordId, EventKind, Participant, Ticket, TicketEvent};

impl MongoStore {
    pub(crate) fn outbox_events(doc: &Document) -> StoreResult<Vec<TicketEvent>> {
        match doc.get_document("outbox") {
            Ok(outbox) => outbox
                .values()
                .filter_map(Bson::as_document)
                .map(event_from_doc)
                .collect(),
            Err(_) => Ok(Vec::new()),
        }
    }

    pub(crate) async fn flush_outbox(&self, doc: &Document) -> StoreResult<()> {
        let id = doc.get("_id").cloned().unwrap_or(Bson::Null);
        for event in Self::outbox_events(doc)? {
            self.flush_event(&id, &event).await?;
        }
        Ok(())
    }

    pub(crate) async fn flush_event(
        &self,
        ticket_id: &Bson,
        event: &TicketEvent,
    ) -> StoreResult<()> {
        self.insert_events(std::slice::from_ref(event)).await?;
        let key = format!("outbox.{}", event.id);
        self.tickets
            .update_one(
                doc! { "_id": ticket_id.clone(), &key: { "$exists": true } },
                doc! { "$unset": { &key: "" }, "$inc": { "outbox_n": -1_i64 } },
            )
            .await?;
        Ok(())
    }

    /// Inserts events, skipping those already there.
    pub(crate) async fn insert_events(&self, events: &[TicketEvent]) -> StoreResult<()> {
        for event in events {
            match self.events.insert_one(event_doc(event)).await {
                Ok(_) => {}
                Err(e) if is_duplicate_key(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// One conditional write; on success the outbox event is copied to the history.
    pub(crate) async fn write_with_event(
        &self,
        filter: Document,
        update: Document,
        event: &TicketEvent,
    ) -> Result<Option<Document>, mongodb::error::Error> {
        let updated = self
            .tickets
            .find_one_and_update(filter, with_outbox(update, event))
            .return_document(ReturnDocument::After)
            .await?;
        if let Some(doc) = &updated {
            let id = doc.get("_id").cloned().unwrap_or(Bson::Null);
            if let Err(e) = self.flush_event(&id, event).await {
                // The event is safe in the outbox; it is copied at the next start.
                tracing::warn!(
                    "history event {} stays in the outbox for now: {e}",
                    event.id
                );
            }
        }
        Ok(updated)
    }

    pub(crate) async fn get_doc(&self, id: Uuid) -> StoreResult<Option<Document>> {
        Ok(self
            .tickets
            .find_one(doc! { "_id": id.to_string(), "deleted": false })
            .await?)
    }

    pub(crate) async fn finish_delete(&self, doc: &Document) -> StoreResult<Ticket> {
        self.flush_outbox(doc).await?;
        let ticket = ticket_from_doc(doc)?;
        let r = Reader::new(doc);
        let event = TicketEvent {
            id: Uuid::new_v5(&DELETED_EVENTS, ticket.id.as_bytes()),
            ticket_id: ticket.id,
            guild_id: ticket.guild_id,
            kind: EventKind::Deleted,
            actor_id: r.opt_id("deleted_by")?,
            at: r.opt_time("deleted_at")?.unwrap_or(ticket.updated_at),
            details: serde_json::to_string(&ticket).ok(),
        };
        self.insert_events(std::slice::from_ref(&event)).await?;
        self.record_channel_deletion(&ticket, event.at).await?;
        self.forget_ticket_records(&[ticket.id.to_string()]).await?;
        self.tickets
            .delete_one(doc! { "_id": ticket.id.to_string(), "deleted": true })
            .await?;
        Ok(ticket)
    }

    pub(crate) async fn record_first_response(
        &self,
        id: Uuid,
        by: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let Some(doc) = self.get_doc(id).await? else {
            return Ok(false);
        };
        let ticket = ticket_from_doc(&doc)?;
        if ticket.first_response_at.is_some() || ticket.creator_id == by {
            return Ok(false);
        }
        let event = TicketEvent::new(&ticket, EventKind::FirstResponse, Some(by), at, None);
        // `$eq: null` also matches a ticket written before the field existed.
        let filter = doc! {
            "_id": id.to_string(),
            "deleted": false,
            "first_response_at": { "$eq": Bson::Null },
        };
        let update = doc! { "$set": {
            "first_response_at": time_to_bson(at),
            "first_response_by": id_to_bson(by),
        } };
        Ok(self
            .write_with_event(filter, update, &event)
            .await?
            .is_some())
    }

    pub(crate) async fn add_participant(
        &self,
        id: Uuid,
        user_id: DiscordId,
        by: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<Participant> {
        let key = format!("participants.{user_id}");
        for _ in 0..RACE_RETRIES {
            let current = self.get(id).await?.ok_or(RuleError::NotFound)?;
            rules::check_add_participant(&current, user_id)?;
            let event = TicketEvent::new(
                &current,
                EventKind::ParticipantAdded,
                Some(by),
                at,
                Some(user_id.to_string()),
            );
            let filter = doc! {
                "_id": id.to_string(), "deleted": false, "status": "open",
                "creator_id": { "$ne": id_to_bson(user_id) }, &key: { "$exists": false },
            };
            let update = doc! {
                "$set": {
                    &key: { "added_by": id_to_bson(by), "added_at": time_to_bson(at) },
                    "updated_at": time_to_bson(at),
                    // The channel's overwrites follow the participants (see `channels_to_sync`).
                    "channel_sync": Uuid::new_v4().to_string(),
                },
                "$inc": { "participant_n": 1_i64 },
            };
            if self
                .write_with_event(filter, update, &event)
                .await?
                .is_some()
            {
                return Ok(Participant {
                    ticket_id: id,
                    user_id,
                    added_by: by,
                    added_at: at,
                });
            }
            let doc = self.get_doc(id).await?.ok_or(RuleError::NotFound)?;
            if participants_from_doc(&doc, id)?
                .iter()
                .any(|p| p.user_id == user_id)
            {
                return Err(RuleError::AlreadyParticipant(user_id).into());
            }
        }
        Err(RuleError::Closed.into())
    }

    pub(crate) async fn remove_participant(
        &self,
        id: Uuid,
        user_id: DiscordId,
        by: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let key = format!("participants.{user_id}");
        let current = self.get(id).await?.ok_or(RuleError::NotFound)?;
        rules::check_remove_participant(&current, user_id)?;
        let event = TicketEvent::new(
            &current,
            EventKind::ParticipantRemoved,
            Some(by),
            at,
            Some(user_id.to_string()),
        );
        let filter = doc! { "_id": id.to_string(), "deleted": false, &key: { "$exists": true } };
        let update = doc! {
            "$unset": { &key: "" },
            "$set": { "updated_at": time_to_bson(at), "channel_sync": Uuid::new_v4().to_string() },
            "$inc": { "participant_n": -1_i64 },
        };
        match self.write_with_event(filter, update, &event).await? {
            Some(_) => Ok(()),
            None => match self.get(id).await? {
                None => Err(RuleError::NotFound.into()),
                Some(_) => Err(RuleError::NotParticipant(user_id).into()),
            },
        }
    }

    pub(crate) async fn participants(&self, id: Uuid) -> StoreResult<Vec<Participant>> {
        match self.get_doc(id).await? {
            Some(doc) => participants_from_doc(&doc, id),
            None => Ok(Vec::new()),
        }
    }

    pub(crate) async fn history(&self, id: Uuid) -> StoreResult<Vec<TicketEvent>> {
        let docs: Vec<Document> = self
            .events
            .find(doc! { "ticket_id": id.to_string() })
            .await?
            .try_collect()
            .await?;
        let mut events = docs
            .iter()
            .map(event_from_doc)
            .collect::<StoreResult<Vec<_>>>()?;
        // Events still in the outbox (a write whose copy was interrupted) belong to it too.
        if let Some(doc) = self
            .tickets
            .find_one(doc! { "_id": id.to_string() })
            .await?
        {
            for e in Self::outbox_events(&doc)? {
                if !events.iter().any(|x| x.id == e.id) {
                    events.push(e);
                }
            }
        }
        crate::ticket::in_logical_order(&mut events);
        Ok(events)
    }

    pub(crate) async fn delete(
        &self,
        id: Uuid,
        by: Option<DiscordId>,
        at: DateTime<Utc>,
    ) -> StoreResult<Ticket> {
        // Marked first, which freezes the ticket (every write requires `deleted: false`); then
        // the history entry, then the document. A start after a crash finishes the job.
        let marked = self
            .tickets
            .find_one_and_update(
                doc! { "_id": id.to_string(), "deleted": false },
                doc! { "$set": { "deleted": true, "deleted_by": opt_id_to_bson(by), "deleted_at": time_to_bson(at) } },
            )
            .return_document(ReturnDocument::After)
            .await?
            .ok_or(RuleError::NotFound)?;
        self.finish_delete(&marked).await
    }

    pub(crate) async fn discard(&self, id: Uuid) -> StoreResult<bool> {
        self.events
            .delete_many(doc! { "ticket_id": id.to_string() })
            .await?;
        self.forget_ticket_records(&[id.to_string()]).await?;
        let res = self
            .tickets
            .delete_one(doc! { "_id": id.to_string() })
            .await?;
        Ok(res.deleted_count > 0)
    }

    /// Removes what is kept per ticket beside its row (its form, rating, close request and
    /// last-message time; each keyed by the ticket id) when the row goes for good.
    pub(crate) async fn forget_ticket_records(&self, ids: &[String]) -> StoreResult<()> {
        let ids: Vec<bson::Bson> = ids.iter().map(|i| bson::Bson::String(i.clone())).collect();
        for c in [
            &self.ticket_forms,
            &self.feedback,
            &self.close_requests,
            &self.activity,
        ] {
            c.delete_many(doc! { "_id": { "$in": ids.clone() } })
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn heartbeat(&self, beat: &Heartbeat) -> StoreResult<()> {
        self.heartbeats
            .replace_one(
                doc! { "_id": beat.instance_id.clone() },
                heartbeat_doc(beat),
            )
            .upsert(true)
            .await?;
        Ok(())
    }

    pub(crate) async fn heartbeats_since(
        &self,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<Heartbeat>> {
        let docs: Vec<Document> = self
            .heartbeats
            .find(doc! { "seen_at": { "$gte": time_to_bson(since) } })
            .sort(doc! { "_id": 1 })
            .await?
            .try_collect()
            .await?;
        docs.iter()
            .map(|d| {
                let r = Reader::new(d);
                Ok(Heartbeat {
                    instance_id: r.str("_id")?,
                    details: r.str("details")?,
                    started_at: r.time("started_at")?,
                    seen_at: r.time("seen_at")?,
                })
            })
            .collect()
    }

    pub(crate) async fn remove_heartbeat(&self, instance_id: &str) -> StoreResult<()> {
        self.heartbeats
            .delete_one(doc! { "_id": instance_id.to_owned() })
            .await?;
        Ok(())
    }
}
