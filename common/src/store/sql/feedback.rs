//! Ratings: one row per ticket (the primary key). The first rating is an insert that only one
//! writer can win; a change is an update conditional on the author and the change window.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rows::*;
use super::SqlStore;
use crate::error::{StoreError, StoreResult};
use crate::feedback::{summarize, Feedback, FeedbackSummary, FeedbackWrite, RatedGroup};
use crate::store::{Backend, TicketFilter};

const COLUMNS: &str = "ticket_id, user_id, rating, comment, given_at, updated_at";

fn feedback_from_row(r: &dyn Cols) -> StoreResult<Feedback> {
    let id = required_text(r, "ticket_id")?;
    let time = |col: &str| time_from_sql(r.int(col)?.unwrap_or(0), &id);
    let rating = r.int("rating")?.unwrap_or(0);
    Ok(Feedback {
        ticket_id: parse_uuid(&id)?,
        user_id: id_from_sql(r.int("user_id")?.unwrap_or(0)),
        rating: u8::try_from(rating)
            .ok()
            .filter(|r| crate::feedback::STARS.contains(r))
            .ok_or_else(|| StoreError::corrupt(&id, format!("rating {rating}")))?,
        comment: text(r, "comment")?,
        given_at: time("given_at")?,
        updated_at: time("updated_at")?,
    })
}

fn feedback_binds(f: &Feedback) -> [Bind; 6] {
    [
        Bind::Text(Some(f.ticket_id.to_string())),
        Bind::Int(Some(id_to_sql(f.user_id))),
        Bind::Int(Some(i64::from(f.rating))),
        Bind::Text(f.comment.clone()),
        Bind::Int(Some(time_to_sql(f.given_at))),
        Bind::Int(Some(time_to_sql(f.updated_at))),
    ]
}

/// A `(claimed_by, closed_by, rating, n)` row of the summary.
fn group_from_row(r: &dyn Cols) -> StoreResult<RatedGroup> {
    let count = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    Ok(RatedGroup {
        claimed_by: r.int("claimed_by")?.map(id_from_sql),
        closed_by: r.int("closed_by")?.map(id_from_sql),
        rating: u8::try_from(r.int("rating")?.unwrap_or(0)).unwrap_or(0),
        tickets: count(r.int("n")?),
    })
}

impl SqlStore {
    pub(crate) async fn give_feedback(
        &self,
        feedback: &Feedback,
        changeable_since: DateTime<Utc>,
    ) -> StoreResult<FeedbackWrite> {
        let insert = match self.dialect.backend {
            Backend::Mysql => "INSERT IGNORE INTO",
            _ => "INSERT OR IGNORE INTO",
        };
        let sql = format!(
            "{insert} feedback ({COLUMNS}) VALUES {}",
            placeholders(1, 6)
        );
        let added = retry_transient(|| async {
            let done = bind_all(sqlx::query(&sql), feedback_binds(feedback).to_vec())
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        })
        .await?;
        if added == 1 {
            return Ok(FeedbackWrite::Added);
        }
        let changed = retry_transient(|| async {
            let done = sqlx::query(
                "UPDATE feedback SET rating = ?, comment = COALESCE(?, comment), updated_at = ? \
                 WHERE ticket_id = ? AND user_id = ? AND given_at >= ?",
            )
            .bind(i64::from(feedback.rating))
            .bind(feedback.comment.clone())
            .bind(time_to_sql(feedback.updated_at))
            .bind(feedback.ticket_id.to_string())
            .bind(id_to_sql(feedback.user_id))
            .bind(time_to_sql(changeable_since))
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected())
        })
        .await?;
        if changed > 0 {
            return Ok(FeedbackWrite::Changed);
        }
        // MySQL counts only rows whose values changed: the same rating given twice in the
        // window matches but "affects" nothing. Tell that from a final rating by reading.
        let stored = self.feedback(feedback.ticket_id).await?;
        Ok(match stored {
            Some(s) if s.user_id == feedback.user_id && s.given_at >= changeable_since => {
                FeedbackWrite::Changed
            }
            _ => FeedbackWrite::Final,
        })
    }

    pub(crate) async fn feedback(&self, ticket_id: Uuid) -> StoreResult<Option<Feedback>> {
        let sql = format!("SELECT {COLUMNS} FROM feedback WHERE ticket_id = ?");
        let rows = self
            .read_all(
                &sql,
                vec![Bind::Text(Some(ticket_id.to_string()))],
                feedback_from_row,
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    pub(crate) async fn feedback_summary(
        &self,
        filter: &TicketFilter,
    ) -> StoreResult<FeedbackSummary> {
        // Driven from the ratings (far fewer than tickets), each joined to its ticket by
        // primary key, in one pass; the filter's columns are the ticket's (none is also a
        // rating column). CROSS JOIN keeps SQLite's planner from driving from the tickets
        // (2.5x slower on 1M tickets with 300k ratings); MySQL reads it as a plain join.
        let mut sql = String::from(
            "SELECT t.claimed_by AS claimed_by, t.closed_by AS closed_by, f.rating AS rating, \
             COUNT(*) AS n FROM feedback f CROSS JOIN tickets t ON t.id = f.ticket_id",
        );
        let mut binds = Vec::new();
        Self::filter_sql(filter, &mut sql, &mut binds);
        sql.push_str(" GROUP BY t.claimed_by, t.closed_by, f.rating");
        let groups = self.read_all(&sql, binds, group_from_row).await?;
        Ok(summarize(groups))
    }

    pub(crate) async fn all_feedback(&self) -> StoreResult<Vec<Feedback>> {
        let sql = format!("SELECT {COLUMNS} FROM feedback ORDER BY ticket_id");
        self.read_all(&sql, Vec::new(), feedback_from_row).await
    }

    pub(crate) async fn import_feedback(&self, rows: &[Feedback]) -> StoreResult<()> {
        let tail = match self.dialect.backend {
            Backend::Mysql => {
                "ON DUPLICATE KEY UPDATE user_id = VALUES(user_id), rating = VALUES(rating), \
                 comment = VALUES(comment), given_at = VALUES(given_at), \
                 updated_at = VALUES(updated_at)"
            }
            _ => {
                "ON CONFLICT (ticket_id) DO UPDATE SET user_id = excluded.user_id, \
                 rating = excluded.rating, comment = excluded.comment, \
                 given_at = excluded.given_at, updated_at = excluded.updated_at"
            }
        };
        let binds: Vec<Bind> = rows.iter().flat_map(feedback_binds).collect();
        self.insert_rows(&format!("INSERT INTO feedback ({COLUMNS})"), 6, tail, binds)
            .await
    }
}
