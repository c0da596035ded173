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

    pub(crate) async fn all_names(&self) -> StoreResult<Vec<Name>> {
        let docs: Vec<Document> = self.names.find(doc! {}).await?.try_collect().await?;
        let mut all = docs
            .iter()
            .map(name_from_doc)
            .collect::<StoreResult<Vec<_>>>()?;
        // Ordered like the SQL backend (by the id as u64), whatever the server's Int64 order.
        all.sort_by_key(|n| n.id);
        Ok(all)
    }
}
