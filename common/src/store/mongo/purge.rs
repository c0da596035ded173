//! Purge: removing closed tickets (and deleted tickets' histories) for good, in batches.
//!
//! Without multi-document transactions, a batch of tickets is first marked (`deleted` and
//! `purging`, in one conditional `update_many`: the tickets vanish from every read and no write
//! matches them any more), then its history and transcripts are removed, then the documents.
//! A purge interrupted after the mark is finished by the next purge or the next start.

use std::collections::BTreeMap;

use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;

use super::docs::*;
use super::MongoStore;
use crate::error::StoreResult;
use crate::store::{
    add_purge_counts, check_purge_query, purged_events, PurgeByGuild, PurgeCounts, PurgeQuery,
    PURGE_BATCH,
};
use crate::ticket::DiscordId;

/// Purgeable closed tickets (`with_channel`: those skipped because they still have one).
fn tickets_filter(query: &PurgeQuery, with_channel: bool) -> Document {
    let channel = if with_channel {
        doc! { "$ne": Bson::Null }
    } else {
        doc! { "$eq": Bson::Null }
    };
    let mut f = doc! { "deleted": false, "status": "closed", "channel_id": channel };
    if let Some(g) = query.guild_id {
        f.insert("guild_id", id_to_bson(g));
    }
    if let Some(t) = query.closed_before {
        f.insert("closed_at", doc! { "$lt": time_to_bson(t) });
    }
    if let Some(u) = query.user_id {
        f.insert("creator_id", id_to_bson(u));
    }
    f
}

/// Ticket ids by guild.
type Groups = BTreeMap<DiscordId, Vec<String>>;

fn in_ids(ids: &[String]) -> Document {
    doc! { "$in": ids.iter().map(|i| Bson::String(i.clone())).collect::<Vec<_>>() }
}

impl MongoStore {
    pub(crate) async fn purge(
        &self,
        query: &PurgeQuery,
        dry_run: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<PurgeCounts> {
        check_purge_query(query)?;
        let mut by_guild = PurgeByGuild::new();
        if !dry_run {
            // What an interrupted purge marked is finished (and counted) first.
            self.finish_purges_counted(&mut by_guild).await?;
        }
        self.purge_tickets(query, dry_run, &mut by_guild).await?;
        self.purge_deleted_histories(query, dry_run, &mut by_guild)
            .await?;
        let mut total = PurgeCounts::default();
        for c in by_guild.values() {
            add_purge_counts(&mut total, c);
        }
        total.skipped_with_channel = self
            .tickets
            .count_documents(tickets_filter(query, true))
            .await?;
        if !dry_run {
            self.insert_events(&purged_events(query, &by_guild, at))
                .await?;
        }
        Ok(total)
    }

    async fn purge_tickets(
        &self,
        query: &PurgeQuery,
        dry_run: bool,
        by_guild: &mut PurgeByGuild,
    ) -> StoreResult<()> {
        let mut after = String::new();
        loop {
            let mut f = tickets_filter(query, false);
            f.insert("_id", doc! { "$gt": &after });
            let docs: Vec<Document> = self
                .tickets
                .find(f)
                .projection(doc! { "_id": 1, "guild_id": 1 })
                .sort(doc! { "_id": 1 })
                .limit(i64::from(PURGE_BATCH))
                .await?
                .try_collect()
                .await?;
            let Some(last) = docs.last() else {
                return Ok(());
            };
            after = Reader::new(last).str("_id")?;
            let groups = groups(&docs, "_id")?;
            if dry_run {
                for (guild, ids) in &groups {
                    let c = by_guild.entry(*guild).or_default();
                    c.tickets += ids.len() as u64;
                    self.count_history(ids, c).await?;
                }
                continue;
            }
            // Mark under the condition (a ticket reopened since the listing stays), then
            // finish what was marked.
            let ids: Vec<String> = groups.values().flatten().cloned().collect();
            let mut f = tickets_filter(query, false);
            f.insert("_id", in_ids(&ids));
            self.tickets
                .update_many(f, doc! { "$set": { "deleted": true, "purging": true } })
                .await?;
            self.finish_purges_counted(by_guild).await?;
        }
    }

    /// Removes the tickets marked `purging` with everything stored for them.
    /// Finishes purges stopped half-way; returns how many tickets it removed.
    pub(crate) async fn finish_purges(&self) -> StoreResult<u64> {
        let mut by_guild = PurgeByGuild::new();
        self.finish_purges_counted(&mut by_guild).await?;
        Ok(by_guild.values().map(|c| c.tickets).sum())
    }

    async fn finish_purges_counted(&self, by_guild: &mut PurgeByGuild) -> StoreResult<()> {
        loop {
            let docs: Vec<Document> = self
                .tickets
                .find(doc! { "purging": true })
                .projection(doc! { "_id": 1, "guild_id": 1 })
                .limit(i64::from(PURGE_BATCH))
                .await?
                .try_collect()
                .await?;
            if docs.is_empty() {
                return Ok(());
            }
            for (guild, ids) in groups(&docs, "_id")? {
                let c = by_guild.entry(guild).or_default();
                self.remove_history(&ids, c).await?;
                self.forget_ticket_records(&ids).await?;
                // Last: the mark is what a re-run finishes from.
                c.tickets += self
                    .tickets
                    .delete_many(doc! { "_id": in_ids(&ids), "purging": true })
                    .await?
                    .deleted_count;
            }
        }
    }

    async fn purge_deleted_histories(
        &self,
        query: &PurgeQuery,
        dry_run: bool,
        by_guild: &mut PurgeByGuild,
    ) -> StoreResult<()> {
        let mut after = String::new();
        loop {
            let mut f = doc! { "kind": "deleted", "ticket_id": { "$gt": &after } };
            if let Some(g) = query.guild_id {
                f.insert("guild_id", id_to_bson(g));
            }
            if let Some(t) = query.closed_before {
                f.insert("at", doc! { "$lt": time_to_bson(t) });
            }
            let docs: Vec<Document> = self
                .events
                .find(f)
                .projection(doc! { "ticket_id": 1, "guild_id": 1 })
                .sort(doc! { "ticket_id": 1 })
                .limit(i64::from(PURGE_BATCH))
                .await?
                .try_collect()
                .await?;
            let Some(last) = docs.last() else {
                return Ok(());
            };
            after = Reader::new(last).str("ticket_id")?;
            let mut selected = Vec::new();
            for d in &docs {
                let id = Reader::new(d).str("ticket_id")?;
                // Still a document (a delete in progress): not history yet.
                if self.tickets.count_documents(doc! { "_id": &id }).await? > 0 {
                    continue;
                }
                if let Some(u) = query.user_id {
                    let opened_by_user = self
                        .events
                        .count_documents(doc! {
                            "ticket_id": &id, "kind": "opened", "actor_id": id_to_bson(u),
                        })
                        .await?;
                    if opened_by_user == 0 {
                        continue;
                    }
                }
                selected.push(d.clone());
            }
            for (guild, ids) in groups(&selected, "ticket_id")? {
                let c = by_guild.entry(guild).or_default();
                c.deleted_histories += ids.len() as u64;
                if dry_run {
                    self.count_history(&ids, c).await?;
                } else {
                    self.remove_history(&ids, c).await?;
                }
            }
        }
    }

    /// Counts the events and transcripts of `ids` (a dry run).
    async fn count_history(&self, ids: &[String], c: &mut PurgeCounts) -> StoreResult<()> {
        c.events += self
            .events
            .count_documents(doc! { "ticket_id": in_ids(ids) })
            .await?;
        c.transcripts += self
            .transcripts
            .count_documents(doc! { "_id": in_ids(ids) })
            .await?;
        Ok(())
    }

    /// Removes the transcripts and events of `ids`, the `deleted` events last (they are what
    /// selects a deleted ticket's history, so a re-run finds what is left).
    async fn remove_history(&self, ids: &[String], c: &mut PurgeCounts) -> StoreResult<()> {
        self.transcript_chunks
            .delete_many(doc! { "ticket_id": in_ids(ids) })
            .await?;
        c.transcripts += self
            .transcripts
            .delete_many(doc! { "_id": in_ids(ids) })
            .await?
            .deleted_count;
        c.events += self
            .events
            .delete_many(doc! { "ticket_id": in_ids(ids), "kind": { "$ne": "deleted" } })
            .await?
            .deleted_count;
        c.events += self
            .events
            .delete_many(doc! { "ticket_id": in_ids(ids) })
            .await?
            .deleted_count;
        Ok(())
    }
}

/// Ticket ids (field `id_field`) grouped by `guild_id`, without repeats.
fn groups(docs: &[Document], id_field: &str) -> StoreResult<Groups> {
    let mut out = Groups::new();
    for d in docs {
        let r = Reader::new(d);
        let ids = out.entry(r.id("guild_id")?).or_default();
        let id = r.str(id_field)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(out)
}
