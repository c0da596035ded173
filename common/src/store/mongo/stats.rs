//! Statistics over tickets and their history, aggregated by the server: `$group` stages and
//! percentiles picked by rank (`$sort`, `$skip`). Every group key is a single expression: some
//! MongoDB-wire servers do not evaluate compound `_id`s.

use bson::{doc, Bson, Document};
use futures::TryStreamExt;
use mongodb::Collection;

use super::docs::*;
use super::MongoStore;
use crate::error::StoreResult;
use crate::stats::{
    hour_number, hours_before, roll_up_hours, sort_staff, tally, tally_messages, Activity, Backlog,
    DurationSummary, Quantile, StaffActivity, TicketStats, CLOSE_BUCKET_HOURS, MICROS_PER_HOUR,
};
use crate::store::TicketFilter;
use crate::ticket::{EventKind, TicketStatus};

impl MongoStore {
    pub(crate) async fn stats(&self, filter: &TicketFilter) -> StoreResult<TicketStats> {
        let counts = self.count(filter).await?;
        let mut closed = filter_doc(&TicketFilter {
            status: Some(TicketStatus::Closed),
            ..filter.clone()
        });
        closed.insert("closed_at", doc! { "$ne": Bson::Null });
        let time_to_close = self.summary(closed.clone(), "$closed_at").await?;
        let mut claimed = filter_doc(filter);
        claimed.insert("claimed_at", doc! { "$ne": Bson::Null });
        let time_to_claim = self.summary(claimed, "$claimed_at").await?;
        let mut answered = filter_doc(filter);
        answered.insert("first_response_at", doc! { "$ne": Bson::Null });
        let time_to_first_response = self.summary(answered.clone(), "$first_response_at").await?;

        let per_hour = |field: &str| doc! { "$floor": { "$divide": [field, MICROS_PER_HOUR] } };
        let opened_hours = counts_by(
            &self.tickets,
            filter_doc(filter),
            per_hour("$created_at").into(),
        )
        .await?;
        let closed_hours = counts_by(
            &self.events,
            events_filter(filter, &["closed", "force_closed"]),
            per_hour("$at").into(),
        )
        .await?;
        let (per_day, busiest_hours) = roll_up_hours(&opened_hours, &closed_hours);

        let mut close_times = [0; CLOSE_BUCKET_HOURS.len() + 1];
        let bucket = CLOSE_BUCKET_HOURS.iter().enumerate().rev().fold(
            Bson::Int64(CLOSE_BUCKET_HOURS.len() as i64),
            |rest, (i, h)| {
                doc! { "$cond": [
                    { "$lt": [{ "$subtract": ["$closed_at", "$created_at"] }, h * MICROS_PER_HOUR] },
                    i as i64,
                    rest,
                ] }
                .into()
            },
        );
        for (b, n) in counts_by(&self.tickets, closed, bucket).await? {
            if let Some(slot) = usize::try_from(b).ok().and_then(|b| close_times.get_mut(b)) {
                *slot += n;
            }
        }

        let mut activity = Activity::default();
        let kinds = ["opened", "closed", "force_closed", "reopened", "archived"];
        let mut cursor = self
            .events
            .aggregate([
                doc! { "$match": events_filter(filter, &kinds) },
                doc! { "$group": { "_id": "$kind", "n": { "$sum": 1 } } },
            ])
            .await?;
        while let Some(d) = cursor.try_next().await? {
            let n = d.get("n").and_then(as_i64).unwrap_or(0).max(0) as u64;
            match d.get_str("_id").unwrap_or_default() {
                "opened" => activity.opened += n,
                "closed" | "force_closed" => activity.closed += n,
                "reopened" => activity.reopened += n,
                "archived" => activity.archived += n,
                _ => {}
            }
        }

        Ok(TicketStats {
            counts,
            activity,
            backlog: self.backlog(filter).await?,
            time_to_claim,
            time_to_first_response,
            time_to_close,
            close_times,
            staff: self.staff(filter, answered).await?,
            per_day,
            busiest_hours,
            feedback: self.feedback_summary(filter).await?,
        })
    }

    /// Count, median and p90 of `end - created_at` over the tickets `matching`.
    async fn summary(&self, matching: Document, end: &str) -> StoreResult<DurationSummary> {
        let count = self.tickets.count_documents(matching.clone()).await?;
        let mut at = [None, None];
        for (slot, q) in at.iter_mut().zip([Quantile::Median, Quantile::P90]) {
            let Some(rank) = q.rank(count) else { continue };
            let mut cursor = self
                .tickets
                .aggregate([
                    doc! { "$match": matching.clone() },
                    doc! { "$project": { "d": { "$subtract": [end, "$created_at"] } } },
                    doc! { "$sort": { "d": 1 } },
                    doc! { "$skip": (rank - 1) as i64 },
                    doc! { "$limit": 1 },
                ])
                .await?;
            *slot = cursor
                .try_next()
                .await?
                .and_then(|d| d.get("d").and_then(as_i64));
        }
        Ok(DurationSummary::from_ranks(count, at[0], at[1]))
    }

    async fn backlog(&self, filter: &TicketFilter) -> StoreResult<Backlog> {
        let mut open = doc! { "deleted": false, "status": TicketStatus::Open.as_str() };
        if let Some(g) = filter.guild_id {
            open.insert("guild_id", id_to_bson(g));
        }
        let unclaimed = doc! { "$eq": [{ "$ifNull": ["$claimed_by", Bson::Null] }, Bson::Null] };
        let mut cursor = self
            .tickets
            .aggregate([
                doc! { "$match": open },
                doc! { "$group": {
                    "_id": Bson::Null,
                    "n": { "$sum": 1 },
                    "u": { "$sum": { "$cond": [unclaimed.clone(), 1, 0] } },
                    "oldest": { "$min": { "$cond": [unclaimed, "$created_at", Bson::Null] } },
                } },
            ])
            .await?;
        let Some(d) = cursor.try_next().await? else {
            return Ok(Backlog::default());
        };
        Ok(Backlog {
            open: d.get("n").and_then(as_i64).unwrap_or(0).max(0) as u64,
            unclaimed: d.get("u").and_then(as_i64).unwrap_or(0).max(0) as u64,
            oldest_unclaimed_at: Reader::new(&d).opt_time("oldest")?,
        })
    }

    /// Claims, closes, first responses and messages per member, and each one's median time to
    /// first response over the tickets they answered first (`answered`: the period's tickets
    /// with a first response).
    async fn staff(
        &self,
        filter: &TicketFilter,
        answered: Document,
    ) -> StoreResult<Vec<StaffActivity>> {
        let mut matching = events_filter(filter, &["claimed", "closed", "first_response"]);
        matching.insert("actor_id", doc! { "$ne": Bson::Null });
        let is = |kind: &str| doc! { "$sum": { "$cond": [{ "$eq": ["$kind", kind] }, 1, 0] } };
        let mut cursor = self
            .events
            .aggregate([
                doc! { "$match": matching },
                doc! { "$group": {
                    "_id": "$actor_id",
                    "c": is("claimed"),
                    "x": is("closed"),
                    "r": is("first_response"),
                } },
            ])
            .await?;
        let mut staff = Vec::new();
        while let Some(d) = cursor.try_next().await? {
            let Some(user) = Reader::new(&d).opt_id("_id")? else {
                continue;
            };
            let n = |k: &str| d.get(k).and_then(as_i64).unwrap_or(0).max(0) as u64;
            tally(&mut staff, user, EventKind::Claimed, n("c"));
            tally(&mut staff, user, EventKind::Closed, n("x"));
            tally(&mut staff, user, EventKind::FirstResponse, n("r"));
        }
        // Messages, to the hour.
        let mut m = Document::new();
        if let Some(g) = filter.guild_id {
            m.insert("guild_id", id_to_bson(g));
        }
        let mut hour = Document::new();
        if let Some(t) = filter.since {
            hour.insert("$gte", hour_number(t));
        }
        if let Some(t) = filter.until {
            hour.insert("$lt", hours_before(t));
        }
        if !hour.is_empty() {
            m.insert("hour", hour);
        }
        let mut cursor = self
            .staff_messages
            .aggregate([
                doc! { "$match": m },
                doc! { "$group": { "_id": "$user_id", "n": { "$sum": "$n" } } },
            ])
            .await?;
        while let Some(d) = cursor.try_next().await? {
            if let Some(user) = Reader::new(&d).opt_id("_id")? {
                let n = d.get("n").and_then(as_i64).unwrap_or(0).max(0) as u64;
                tally_messages(&mut staff, user, n);
            }
        }
        // Each member's median time to first response, over the tickets they answered first.
        for row in staff.iter_mut() {
            let mut matching = answered.clone();
            matching.insert("first_response_by", id_to_bson(row.user_id));
            row.median_response_secs = self
                .summary(matching, "$first_response_at")
                .await?
                .median_secs;
        }
        sort_staff(&mut staff);
        Ok(staff)
    }
}

/// `(key, count)` of the documents `matching`, grouped by the integer expression `key`.
async fn counts_by(
    coll: &Collection<Document>,
    matching: Document,
    key: Bson,
) -> StoreResult<Vec<(i64, u64)>> {
    let mut cursor = coll
        .aggregate([
            doc! { "$match": matching },
            doc! { "$group": { "_id": key, "n": { "$sum": 1 } } },
        ])
        .await?;
    let mut out = Vec::new();
    while let Some(d) = cursor.try_next().await? {
        if let Some(k) = d.get("_id").and_then(as_i64) {
            out.push((k, d.get("n").and_then(as_i64).unwrap_or(0).max(0) as u64));
        }
    }
    Ok(out)
}

/// History entries of `kinds` in the filter's guild and period.
fn events_filter(filter: &TicketFilter, kinds: &[&str]) -> Document {
    let mut f = doc! { "kind": { "$in": kinds } };
    if let Some(g) = filter.guild_id {
        f.insert("guild_id", id_to_bson(g));
    }
    let mut at = Document::new();
    if let Some(t) = filter.since {
        at.insert("$gte", time_to_bson(t));
    }
    if let Some(t) = filter.until {
        at.insert("$lt", time_to_bson(t));
    }
    if !at.is_empty() {
        f.insert("at", at);
    }
    f
}
