//! Statistics over tickets and their history.

use bson::{doc, Document};
use futures::TryStreamExt;

use super::docs::*;
use super::MongoStore;
use crate::error::StoreResult;
use crate::stats::{
    day_from_number, sort_staff, tally, DayCount, DurationSummary, TicketStats, MICROS_PER_DAY,
};
use crate::store::TicketFilter;

impl MongoStore {
    pub(crate) async fn stats(&self, filter: &TicketFilter) -> StoreResult<TicketStats> {
        // Gathered client-side from projections: works on every MongoDB-wire server, and the
        // arithmetic is shared with the SQL backend.
        let counts = self.count(filter).await?;
        let mut durations = Vec::new();
        let mut days: std::collections::BTreeMap<i64, u64> = Default::default();
        let mut cursor = self
            .tickets
            .find(filter_doc(filter))
            .projection(doc! { "created_at": 1, "closed_at": 1, "status": 1 })
            .await?;
        while let Some(d) = cursor.try_next().await? {
            let r = Reader::new(&d);
            let created = r.i64("created_at")?;
            *days.entry(created.div_euclid(MICROS_PER_DAY)).or_default() += 1;
            if r.opt_str("status")?.as_deref() == Some("closed") {
                if let Some(closed) = r.opt_i64("closed_at")? {
                    durations.push(closed - created);
                }
            }
        }
        let per_day = days
            .into_iter()
            .filter_map(|(day, opened)| day_from_number(day).map(|date| DayCount { date, opened }))
            .collect();

        let mut events_filter = doc! { "kind": { "$in": ["claimed", "closed"] } };
        if let Some(g) = filter.guild_id {
            events_filter.insert("guild_id", id_to_bson(g));
        }
        let mut at = Document::new();
        if let Some(t) = filter.since {
            at.insert("$gte", time_to_bson(t));
        }
        if let Some(t) = filter.until {
            at.insert("$lt", time_to_bson(t));
        }
        if !at.is_empty() {
            events_filter.insert("at", at);
        }
        let mut staff = Vec::new();
        let mut cursor = self
            .events
            .find(events_filter)
            .projection(doc! { "actor_id": 1, "kind": 1 })
            .await?;
        while let Some(d) = cursor.try_next().await? {
            let r = Reader::new(&d);
            let Some(user) = r.opt_id("actor_id")? else {
                continue;
            };
            match r.str("kind")?.as_str() {
                "claimed" => tally(&mut staff, user, 1, 0),
                _ => tally(&mut staff, user, 0, 1),
            }
        }
        sort_staff(&mut staff);
        Ok(TicketStats {
            counts,
            time_to_close: DurationSummary::from_micros(durations),
            staff,
            per_day,
        })
    }
}
