//! Messages written by staff in ticket channels, counted per guild, member and hour: one
//! document each (`_id` `guild:user:hour`), `$inc` with upsert.

use bson::{doc, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;

use super::docs::{as_i64, id_to_bson, is_duplicate_key, Reader};
use super::MongoStore;
use crate::error::StoreResult;
use crate::stats::hour_number;
use crate::store::StaffMessages;
use crate::ticket::DiscordId;

fn key(guild_id: DiscordId, user_id: DiscordId, hour: i64) -> String {
    format!("{guild_id}:{user_id}:{hour}")
}

impl MongoStore {
    pub(crate) async fn count_staff_message(
        &self,
        guild_id: DiscordId,
        user_id: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let hour = hour_number(at);
        let filter = doc! { "_id": key(guild_id, user_id, hour) };
        let update = doc! {
            "$inc": { "n": 1_i64 },
            "$setOnInsert": {
                "guild_id": id_to_bson(guild_id),
                "user_id": id_to_bson(user_id),
                "hour": hour,
            },
        };
        // Two first messages of an hour at once: one inserts, the other's upsert collides and
        // is an increment the second time.
        for _ in 0..3 {
            match self
                .staff_messages
                .update_one(filter.clone(), update.clone())
                .upsert(true)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if is_duplicate_key(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    pub(crate) async fn all_staff_messages(&self) -> StoreResult<Vec<StaffMessages>> {
        let docs: Vec<Document> = self
            .staff_messages
            .find(doc! {})
            .await?
            .try_collect()
            .await?;
        let mut all = docs
            .iter()
            .map(|d| {
                let r = Reader::new(d);
                Ok(StaffMessages {
                    guild_id: r.id("guild_id")?,
                    user_id: r.id("user_id")?,
                    hour: r.i64("hour")?,
                    n: d.get("n").and_then(as_i64).unwrap_or(0).max(0) as u64,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        all.sort_by_key(|m| (m.guild_id, m.user_id, m.hour));
        Ok(all)
    }

    pub(crate) async fn import_staff_messages(&self, rows: &[StaffMessages]) -> StoreResult<()> {
        for m in rows {
            let update = doc! { "$set": {
                "guild_id": id_to_bson(m.guild_id),
                "user_id": id_to_bson(m.user_id),
                "hour": m.hour,
                "n": i64::try_from(m.n).unwrap_or(i64::MAX),
            }};
            self.staff_messages
                .update_one(doc! { "_id": key(m.guild_id, m.user_id, m.hour) }, update)
                .upsert(true)
                .await?;
        }
        Ok(())
    }
}
