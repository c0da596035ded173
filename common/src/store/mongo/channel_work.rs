//! Channel work kept until Discord confirms it: the out-of-date mark on the ticket document and
//! the `channel_deletions` collection (`_id`: the channel id).

use bson::{doc, Bson, Document};
use futures::TryStreamExt;
use uuid::Uuid;

use super::docs::*;
use super::MongoStore;
use crate::error::StoreResult;
use crate::store::{ChannelDeletion, ChannelSync};
use crate::ticket::{DiscordId, Ticket};

impl MongoStore {
    pub(crate) async fn channels_to_sync(&self, limit: u32) -> StoreResult<Vec<ChannelSync>> {
        let docs: Vec<Document> = self
            .tickets
            .find(doc! {
                "channel_sync": { "$type": "string" },
                "channel_id": { "$ne": Bson::Null },
                "deleted": false,
            })
            .sort(doc! { "updated_at": 1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        docs.iter()
            .filter_map(|d| {
                let token = match Reader::new(d).uuid("channel_sync") {
                    Ok(t) => t,
                    Err(e) => return Some(Err(e)),
                };
                match ticket_from_doc(d) {
                    // A legacy channel id of 0 reads as none: nothing to bring up to date.
                    Ok(ticket) if ticket.channel_id.is_none() => None,
                    Ok(ticket) => Some(Ok(ChannelSync { ticket, token })),
                    Err(e) => Some(Err(e)),
                }
            })
            .collect()
    }

    pub(crate) async fn channel_synced(&self, id: Uuid, token: Uuid) -> StoreResult<bool> {
        // `updated_at` stays: confirming Discord's state is not a change of the ticket.
        let done = self
            .tickets
            .update_one(
                doc! { "_id": id.to_string(), "channel_sync": token.to_string() },
                doc! { "$set": { "channel_sync": Bson::Null } },
            )
            .await?;
        Ok(done.matched_count > 0)
    }

    /// Records the channel of `ticket` (being deleted) as one to delete. Idempotent: an
    /// interrupted delete finished again records it once.
    pub(crate) async fn record_channel_deletion(
        &self,
        ticket: &Ticket,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()> {
        let Some(channel) = ticket.channel_id else {
            return Ok(());
        };
        self.channel_deletions
            .update_one(
                doc! { "_id": id_to_bson(channel) },
                doc! { "$setOnInsert": {
                    "guild_id": id_to_bson(ticket.guild_id),
                    "ticket_id": ticket.id.to_string(),
                    "requested_at": time_to_bson(at),
                }},
            )
            .upsert(true)
            .await?;
        Ok(())
    }

    pub(crate) async fn channels_to_delete(&self, limit: u32) -> StoreResult<Vec<ChannelDeletion>> {
        let docs: Vec<Document> = self
            .channel_deletions
            .find(doc! {})
            .sort(doc! { "requested_at": 1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        docs.iter()
            .map(|d| {
                let r = Reader::new(d);
                Ok(ChannelDeletion {
                    channel_id: r.id("_id")?,
                    guild_id: r.id("guild_id")?,
                    ticket_id: r.uuid("ticket_id")?,
                    requested_at: r.time("requested_at")?,
                })
            })
            .collect()
    }

    pub(crate) async fn channel_deleted(&self, channel_id: DiscordId) -> StoreResult<bool> {
        let done = self
            .channel_deletions
            .delete_one(doc! { "_id": id_to_bson(channel_id) })
            .await?;
        Ok(done.deleted_count > 0)
    }

    pub(crate) async fn finish_interrupted(&self) -> StoreResult<u64> {
        self.repair().await
    }
}
