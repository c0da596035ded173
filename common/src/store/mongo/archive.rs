//! Archive marks, overflow categories and leases.

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use uuid::Uuid;

use super::docs::*;
use super::MongoStore;
use crate::error::{StoreError, StoreResult};
use crate::rules::{self, RuleError};
use crate::store::{ArchiveQuery, CategoryKind, OverflowCategory, RACE_RETRIES};
use crate::ticket::{DiscordId, EventKind, Ticket, TicketEvent};

/// Closed, not archived, with a channel: what can be archived at all.
fn archivable_filter() -> Document {
    doc! {
        "deleted": false,
        "status": "closed",
        "archived_at": { "$eq": Bson::Null },
        "channel_id": { "$ne": Bson::Null },
    }
}

/// [`archivable_filter`] narrowed by the query: the guild, then closed before the cutoff or
/// requested (without a cutoff, only requested ones).
fn archive_query_filter(query: &ArchiveQuery) -> Document {
    let mut f = archivable_filter();
    if let Some(g) = query.guild_id {
        f.insert("guild_id", id_to_bson(g));
    }
    let requested = doc! { "archive_requested_at": { "$ne": Bson::Null } };
    match (query.closed_before, query.requested) {
        (Some(t), true) => {
            f.insert(
                "$or",
                vec![
                    Bson::Document(doc! { "closed_at": { "$lt": time_to_bson(t) } }),
                    Bson::Document(requested),
                ],
            );
        }
        (Some(t), false) => {
            f.insert("closed_at", doc! { "$lt": time_to_bson(t) });
        }
        (None, _) => f.extend(requested),
    }
    f
}

fn category_doc(c: &OverflowCategory) -> Document {
    doc! {
        "_id": id_to_bson(c.category_id),
        "guild_id": id_to_bson(c.guild_id),
        "base_id": id_to_bson(c.base_id),
        "kind": c.kind.as_str(),
        "number": i64::from(c.number),
        "created_at": time_to_bson(c.created_at),
    }
}

fn category_from_doc(d: &Document) -> StoreResult<OverflowCategory> {
    let r = Reader::new(d);
    let kind = match r.str("kind")?.as_str() {
        "open" => CategoryKind::Open,
        "closed" => CategoryKind::Closed,
        other => return Err(r.err("kind", &format!("unknown category kind {other:?}"))),
    };
    Ok(OverflowCategory {
        guild_id: r.id("guild_id")?,
        base_id: r.id("base_id")?,
        kind,
        number: u32::try_from(r.i64("number")?).map_err(|_| r.err("number", "out of range"))?,
        category_id: r.id("_id")?,
        created_at: r.time("created_at")?,
    })
}

impl MongoStore {
    pub(crate) async fn mark_archived(
        &self,
        id: Uuid,
        by: Option<DiscordId>,
        at: DateTime<Utc>,
    ) -> StoreResult<Ticket> {
        for _ in 0..RACE_RETRIES {
            let current = self.get(id).await?.ok_or(RuleError::NotFound)?;
            rules::check_archive(&current)?;
            let details = current.channel_id.map(|c| c.to_string());
            let event = TicketEvent::new(&current, EventKind::Archived, by, at, details);
            // Conditional on the state read, channel included, so the event names the channel
            // the write removed; of several archivers exactly one matches.
            let channel = match current.channel_id {
                Some(c) => id_to_bson(c),
                None => Bson::Document(doc! { "$eq": Bson::Null }),
            };
            let filter = doc! {
                "_id": id.to_string(), "deleted": false, "status": "closed",
                "archived_at": { "$eq": Bson::Null }, "channel_id": channel,
            };
            let update = doc! { "$set": {
                "archived_at": time_to_bson(at),
                "archive_requested_at": Bson::Null,
                "channel_id": Bson::Null,
                "channel_key": channel_key(id, None),
                "updated_at": time_to_bson(at),
            }};
            if let Some(doc) = self.write_with_event(filter, update, &event).await? {
                return ticket_from_doc(&doc);
            }
        }
        let current = self.get(id).await?.ok_or(RuleError::NotFound)?;
        rules::check_archive(&current)?;
        Err(StoreError::Migrate(format!(
            "ticket {id} kept changing; it was not archived"
        )))
    }

    pub(crate) async fn request_archive(
        &self,
        query: &ArchiveQuery,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut f = archivable_filter();
        f.insert("archive_requested_at", doc! { "$eq": Bson::Null });
        if let Some(g) = query.guild_id {
            f.insert("guild_id", id_to_bson(g));
        }
        if let Some(t) = query.closed_before {
            f.insert("closed_at", doc! { "$lt": time_to_bson(t) });
        }
        let res = self
            .tickets
            .update_many(
                f,
                doc! { "$set": {
                    "archive_requested_at": time_to_bson(at),
                    "updated_at": time_to_bson(at),
                }},
            )
            .await?;
        Ok(res.modified_count)
    }

    pub(crate) async fn archivable(
        &self,
        query: &ArchiveQuery,
        limit: u32,
    ) -> StoreResult<Vec<Ticket>> {
        let docs: Vec<Document> = self
            .tickets
            .find(archive_query_filter(query))
            .sort(doc! { "closed_at": 1, "_id": 1 })
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        docs.iter().map(ticket_from_doc).collect()
    }

    pub(crate) async fn count_archivable(&self, query: &ArchiveQuery) -> StoreResult<u64> {
        Ok(self
            .tickets
            .count_documents(archive_query_filter(query))
            .await?)
    }

    pub(crate) async fn overflow_categories(
        &self,
        guild_id: DiscordId,
        base_id: DiscordId,
    ) -> StoreResult<Vec<OverflowCategory>> {
        let docs: Vec<Document> = self
            .categories
            .find(doc! { "guild_id": id_to_bson(guild_id), "base_id": id_to_bson(base_id) })
            .sort(doc! { "number": 1 })
            .await?
            .try_collect()
            .await?;
        docs.iter().map(category_from_doc).collect()
    }

    pub(crate) async fn all_overflow_categories(&self) -> StoreResult<Vec<OverflowCategory>> {
        let docs: Vec<Document> = self.categories.find(doc! {}).await?.try_collect().await?;
        let mut all = docs
            .iter()
            .map(category_from_doc)
            .collect::<StoreResult<Vec<_>>>()?;
        // Ordered like the SQL backend (by the id as u64), whatever the server's Int64 order.
        all.sort_by_key(|c| c.category_id);
        Ok(all)
    }

    pub(crate) async fn add_overflow_category(
        &self,
        category: &OverflowCategory,
    ) -> StoreResult<Option<OverflowCategory>> {
        match self.categories.insert_one(category_doc(category)).await {
            Ok(_) => {}
            Err(e) if is_duplicate_key(&e) => {}
            Err(e) => return Err(e.into()),
        }
        // Read back rather than trust the insert's answer: some MongoDB-wire servers skip a
        // write that breaks a unique index without reporting it.
        let known = self
            .categories
            .find_one(doc! { "_id": id_to_bson(category.category_id) })
            .await?;
        if let Some(known) = known {
            let known = category_from_doc(&known)?;
            if known.base_id == category.base_id && known.number == category.number {
                return Ok(None);
            }
            return Err(StoreError::Conflict(format!(
                "category {} is recorded already as number {} beside {}",
                known.category_id, known.number, known.base_id
            )));
        }
        let winner = self
            .categories
            .find_one(doc! {
                "base_id": id_to_bson(category.base_id),
                "number": i64::from(category.number),
            })
            .await?;
        match winner {
            Some(w) => category_from_doc(&w).map(Some),
            None => Err(StoreError::Conflict(format!(
                "overflow category number {} beside {} changed while being recorded; try again",
                category.number, category.base_id
            ))),
        }
    }

    pub(crate) async fn remove_overflow_category(
        &self,
        category_id: DiscordId,
    ) -> StoreResult<bool> {
        let res = self
            .categories
            .delete_one(doc! { "_id": id_to_bson(category_id) })
            .await?;
        Ok(res.deleted_count > 0)
    }

    pub(crate) async fn try_lease(
        &self,
        key: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // Held by us, or expired: renew or take it over, each in one conditional write. (Two
        // writes, not one with `$or`: nx-27017 reports a match for `_id` + `$or` filters that
        // match nothing.)
        let set = doc! { "$set": { "holder": holder, "until": time_to_bson(until) } };
        for filter in [
            doc! { "_id": key, "holder": holder },
            doc! { "_id": key, "until": { "$lt": time_to_bson(now) } },
        ] {
            if self
                .leases
                .update_one(filter, set.clone())
                .await?
                .matched_count
                > 0
            {
                return Ok(true);
            }
        }
        // Free: the `_id` decides between simultaneous inserts.
        match self
            .leases
            .insert_one(doc! { "_id": key, "holder": holder, "until": time_to_bson(until) })
            .await
        {
            Ok(_) => {}
            Err(e) if is_duplicate_key(&e) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        let held = self.leases.find_one(doc! { "_id": key }).await?;
        Ok(held.is_some_and(|d| d.get_str("holder").ok() == Some(holder)))
    }

    pub(crate) async fn release_lease(&self, key: &str, holder: &str) -> StoreResult<()> {
        self.leases
            .delete_one(doc! { "_id": key, "holder": holder })
            .await?;
        Ok(())
    }
}
