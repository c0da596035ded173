//! Names of users and roles: one document per id (`_id`), the latest sighting kept. The write
//! matches only an older sighting; when a newer one is there, the upsert's insert collides with
//! it and nothing changes.

use bson::{doc, Bson, Document};
use futures::TryStreamExt;

use super::docs::{id_to_bson, is_duplicate_key, opt_str_to_bson, time_to_bson, Reader};
use super::MongoStore;
use crate::error::StoreResult;
use crate::names::{Name, NameKind};
use crate::ticket::DiscordId;

fn name_from_doc(d: &Document) -> StoreResult<Name> {
    let r = Reader::new(d);
    Ok(Name {
        id: r.id("_id")?,
        kind: r
            .str("kind")?
            .parse::<NameKind>()
            .map_err(|e| r.err("kind", &e))?,
        name: r.str("name")?,
        avatar: r.opt_str("avatar")?,
        seen_at: r.time("seen_at")?,
    })
}

impl MongoStore {
    pub(crate) async fn remember_names(&self, names: &[Name]) -> StoreResult<()> {
        for n in names {
            let filter = doc! {
                "_id": id_to_bson(n.id),
                "seen_at": { "$lte": time_to_bson(n.seen_at) },
            };
            let update = doc! { "$set": {
                "kind": n.kind.as_str(),
                "name": n.name.as_str(),
                "avatar": opt_str_to_bson(&n.avatar),
                "seen_at": time_to_bson(n.seen_at),
            }};
            match self.names.update_one(filter, update).upsert(true).await {
                Ok(_) => {}
                // A newer sighting is stored: it stays.
                Err(e) if is_duplicate_key(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    pub(crate) async fn names(&self, ids: &[DiscordId]) -> StoreResult<Vec<Name>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<Bson> = ids.iter().map(|&id| id_to_bson(id)).collect();
        let docs: Vec<Document> = self
            .names
            .find(doc! { "_id": { "$in": wanted } })
            .await?
            .try_collect()
            .await?;
        docs.iter().map(name_from_doc).collect()
    }

    pub(crate) async fn export_names(
        &self,
        after: Option<DiscordId>,
        limit: u32,
    ) -> StoreResult<Vec<Name>> {
        // By the id as a u64, as on every backend: the ids below 2^63 (stored as they are) a
        // page at a time, then those from 2^63 (stored negative; Discord's ids reach 2^63 in
        // 2084, so these are few) read at once and ordered here, not by the server.
        let low = after.map_or(Some(0), |a| (a as i64).checked_add(1).filter(|&f| f > 0));
        let mut out = Vec::new();
        if let Some(from) = low {
            let docs: Vec<Document> = self
                .names
                .find(doc! { "_id": { "$gte": from } })
                .sort(doc! { "_id": 1 })
                .limit(i64::from(limit))
                .await?
                .try_collect()
                .await?;
            out = docs
                .iter()
                .map(name_from_doc)
                .collect::<StoreResult<Vec<_>>>()?;
        }
        if out.len() < limit as usize {
            let docs: Vec<Document> = self
                .names
                .find(doc! { "_id": { "$lt": 0_i64 } })
                .await?
                .try_collect()
                .await?;
            let mut high = docs
                .iter()
                .map(name_from_doc)
                .collect::<StoreResult<Vec<_>>>()?;
            high.sort_by_key(|n| n.id);
            let rest = limit as usize - out.len();
            out.extend(
                high.into_iter()
                    .filter(|n| after.is_none_or(|a| n.id > a))
                    .take(rest),
            );
        }
        Ok(out)
    }
}
