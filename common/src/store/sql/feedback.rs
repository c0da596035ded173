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
pub(super) fn group_from_row(r: &dyn Cols) -> StoreResult<RatedGroup> {
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
        let attempt = || async {
            let mut tx = self.write_tx().await?;
            let added = bind_all(sqlx::query(&sql), feedback_binds(feedback).to_vec())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            let written = added
                || sqlx::query(
                    "UPDATE feedback SET rating = ?, comment = COALESCE(?, comment), \
                     updated_at = ? WHERE ticket_id = ? AND user_id = ? AND given_at >= ?",
                )
                .bind(i64::from(feedback.rating))
                .bind(feedback.comment.clone())
                .bind(time_to_sql(feedback.updated_at))
                .bind(feedback.ticket_id.to_string())
                .bind(id_to_sql(feedback.user_id))
                .bind(time_to_sql(changeable_since))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
            if written {
                // The ticket's copy, which reports count, changes with the rating.
                sqlx::query("UPDATE tickets SET rating = ? WHERE id = ?")
                    .bind(i64::from(feedback.rating))
                    .bind(feedback.ticket_id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(match (added, written) {
                (true, _) => Some(FeedbackWrite::Added),
                (false, true) => Some(FeedbackWrite::Changed),
                (false, false) => None,
            })
        };
        if let Some(write) = retry_transient(attempt).await? {
            return Ok(write);
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
        // From the ratings' copies on the tickets (`tickets_rated` covers the query): the
        // filter's columns are the ticket's, and no join visits a ticket per rating.
        let mut sql = String::from(
            "SELECT claimed_by, closed_by, rating, COUNT(*) AS n FROM tickets \
             WHERE rating IS NOT NULL",
        );
        let mut binds = Vec::new();
        Self::filter_sql(filter, &mut sql, &mut binds);
        // In the order of the dialect's `tickets_rated`, which is then walked without a
        // temporary table or a sort (MySQL's leads with the rating: it has no partial index).
        // MariaDB sorts a GROUP BY's groups unless told not to; the order is not needed.
        sql.push_str(match self.dialect.backend {
            Backend::Mysql => " GROUP BY rating, claimed_by, closed_by ORDER BY NULL",
            _ => " GROUP BY claimed_by, closed_by, rating",
        });
        let groups = self.read_all(&sql, binds, group_from_row).await?;
        Ok(summarize(groups))
    }

    pub(crate) async fn export_feedback(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Feedback>> {
        self.page_by_ticket(COLUMNS, "feedback", after, limit, feedback_from_row)
            .await
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
        // A chunk of ratings and their copies on the tickets, in one transaction. A rating
        // whose ticket is not there yet has no copy: imports write tickets first.
        const ROWS: usize = 200;
        for chunk in rows.chunks(ROWS) {
            let insert = format!(
                "INSERT INTO feedback ({COLUMNS}) VALUES {} {tail}",
                placeholders(chunk.len(), 6)
            );
            let copy = format!(
                "UPDATE tickets SET rating = \
                 (SELECT f.rating FROM feedback f WHERE f.ticket_id = tickets.id) \
                 WHERE id IN ({})",
                vec!["?"; chunk.len()].join(", ")
            );
            let attempt = || async {
                let mut tx = self.write_tx().await?;
                bind_all(
                    bulk_query(&insert, chunk.len(), ROWS),
                    chunk.iter().flat_map(feedback_binds).collect(),
                )
                .execute(&mut *tx)
                .await?;
                let ids = chunk
                    .iter()
                    .map(|f| Bind::Text(Some(f.ticket_id.to_string())));
                bind_all(bulk_query(&copy, chunk.len(), ROWS), ids.collect())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            };
            retry_transient(attempt).await?;
        }
        Ok(())
    }
}
