//! Purge: removing closed tickets (and deleted tickets' histories) for good, in batches of one
//! transaction each, so that an interrupted purge finishes on a re-run.

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use super::history::PER_TICKET;
use super::rows::*;
use super::SqlStore;
use crate::error::StoreResult;
use crate::store::{
    add_purge_counts, check_purge_query, purged_events, PurgeByGuild, PurgeCounts, PurgeQuery,
    PURGE_BATCH,
};
use crate::ticket::DiscordId;

/// Which removal a batch is: ticket rows, or the histories of deleted tickets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tickets,
    DeletedHistories,
}

/// `?, ?, ...` for `n` values.
fn list(n: usize) -> String {
    vec!["?"; n].join(", ")
}

fn text_binds(ids: &[String]) -> Vec<Bind> {
    ids.iter().map(|i| Bind::Text(Some(i.clone()))).collect()
}

/// The purgeable closed tickets (`with_channel`: those skipped because they still have one).
fn tickets_cond(query: &PurgeQuery, with_channel: bool) -> (String, Vec<Bind>) {
    let mut sql = format!(
        "status = 'closed' AND channel_id IS {}NULL",
        if with_channel { "NOT " } else { "" }
    );
    let mut binds = Vec::new();
    if let Some(g) = query.guild_id {
        sql.push_str(" AND guild_id = ?");
        binds.push(Bind::Int(Some(id_to_sql(g))));
    }
    if let Some(t) = query.closed_before {
        sql.push_str(" AND closed_at < ?");
        binds.push(Bind::Int(Some(time_to_sql(t))));
    }
    if let Some(u) = query.user_id {
        sql.push_str(" AND creator_id = ?");
        binds.push(Bind::Int(Some(id_to_sql(u))));
    }
    (sql, binds)
}

/// Deleted tickets (a `deleted` event, no row) whose history the query selects: deleted before
/// the cutoff, opened by the user (the `opened` event's actor).
fn deleted_cond(query: &PurgeQuery) -> (String, Vec<Bind>) {
    let mut sql = "d.kind = 'deleted' \
                   AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = d.ticket_id)"
        .to_owned();
    let mut binds = Vec::new();
    if let Some(g) = query.guild_id {
        sql.push_str(" AND d.guild_id = ?");
        binds.push(Bind::Int(Some(id_to_sql(g))));
    }
    if let Some(t) = query.closed_before {
        sql.push_str(" AND d.at < ?");
        binds.push(Bind::Int(Some(time_to_sql(t))));
    }
    if let Some(u) = query.user_id {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM ticket_events o WHERE o.ticket_id = d.ticket_id \
             AND o.kind = 'opened' AND o.actor_id = ?)",
        );
        binds.push(Bind::Int(Some(id_to_sql(u))));
    }
    (sql, binds)
}

/// `(ticket id, guild id)` rows of a selection.
async fn id_rows(
    conn: &mut AnyConnection,
    sql: &str,
    binds: Vec<Bind>,
) -> StoreResult<Vec<(String, DiscordId)>> {
    bind_all(sqlx::query(sql), binds)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((required_text(r, "id")?, id_from_sql(r.try_get("guild_id")?))))
        .collect()
}

/// Adds, per guild, the rows of `table` that belong to the tickets `ids`.
async fn count_by_guild(
    conn: &mut AnyConnection,
    table: &str,
    ids: &[String],
    by_guild: &mut PurgeByGuild,
    field: fn(&mut PurgeCounts) -> &mut u64,
) -> StoreResult<()> {
    let sql = format!(
        "SELECT guild_id, COUNT(*) AS n FROM {table} WHERE ticket_id IN ({}) GROUP BY guild_id",
        list(ids.len())
    );
    for row in bind_all(sqlx::query(&sql), text_binds(ids))
        .fetch_all(conn)
        .await?
    {
        let guild = id_from_sql(row.try_get("guild_id")?);
        *field(by_guild.entry(guild).or_default()) += row.try_get::<i64, _>("n")?.max(0) as u64;
    }
    Ok(())
}

impl SqlStore {
    pub(crate) async fn purge(
        &self,
        query: &PurgeQuery,
        dry_run: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<PurgeCounts> {
        check_purge_query(query)?;
        let mut by_guild = PurgeByGuild::new();
        for kind in [Kind::Tickets, Kind::DeletedHistories] {
            let mut after = String::new();
            loop {
                let batch = retry_transient(|| {
                    let mut scratch = PurgeByGuild::new();
                    let after = after.clone();
                    async move {
                        let last = self
                            .purge_batch(query, kind, &after, dry_run, &mut scratch)
                            .await?;
                        Ok((last, scratch))
                    }
                })
                .await?;
                let (last, counts) = batch;
                for (guild, c) in &counts {
                    add_purge_counts(by_guild.entry(*guild).or_default(), c);
                }
                match last {
                    Some(last) => after = last,
                    None => break,
                }
            }
        }
        let mut total = PurgeCounts::default();
        for c in by_guild.values() {
            add_purge_counts(&mut total, c);
        }
        let (cond, binds) = tickets_cond(query, true);
        let skipped: i64 = bind_all(
            sqlx::query(&format!("SELECT COUNT(*) FROM tickets WHERE {cond}")),
            binds,
        )
        .fetch_one(&self.reader)
        .await?
        .try_get(0)?;
        total.skipped_with_channel = skipped.max(0) as u64;
        if !dry_run {
            let events = purged_events(query, &by_guild, at);
            retry_transient(|| async {
                let mut tx = self.write_tx().await?;
                for e in &events {
                    Self::insert_event(&mut tx, e).await?;
                }
                tx.commit().await?;
                Ok(())
            })
            .await?;
        }
        Ok(total)
    }

    /// One batch after the ticket id `after`, in one transaction; returns the last id it saw
    /// (`None`: nothing left).
    async fn purge_batch(
        &self,
        query: &PurgeQuery,
        kind: Kind,
        after: &str,
        dry_run: bool,
        by_guild: &mut PurgeByGuild,
    ) -> StoreResult<Option<String>> {
        let mut tx = self.write_tx().await?;
        let (cond, mut binds) = match kind {
            Kind::Tickets => tickets_cond(query, false),
            Kind::DeletedHistories => deleted_cond(query),
        };
        let select = match kind {
            Kind::Tickets => format!(
                "SELECT id, guild_id FROM tickets WHERE {cond} AND id > ? ORDER BY id LIMIT ?"
            ),
            Kind::DeletedHistories => format!(
                "SELECT DISTINCT d.ticket_id AS id, d.guild_id AS guild_id FROM ticket_events d \
                 WHERE {cond} AND d.ticket_id > ? ORDER BY d.ticket_id LIMIT ?"
            ),
        };
        let mut page_binds = binds.clone();
        page_binds.push(Bind::Text(Some(after.to_owned())));
        page_binds.push(Bind::Int(Some(i64::from(PURGE_BATCH))));
        let mut rows = id_rows(&mut tx, &select, page_binds).await?;
        let Some(last) = rows.last().map(|(id, _)| id.clone()) else {
            return Ok(None);
        };
        if kind == Kind::Tickets && !dry_run {
            // Lock the rows under the condition, then keep those still matching: a ticket
            // reopened (or given a channel) since the listing stays.
            let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
            let in_list = list(ids.len());
            let mut lock_binds = binds.clone();
            lock_binds.extend(text_binds(&ids));
            bind_all(
                sqlx::query(&format!(
                    "UPDATE tickets SET updated_at = updated_at WHERE {cond} AND id IN ({in_list})"
                )),
                lock_binds.clone(),
            )
            .execute(&mut *tx)
            .await?;
            rows = id_rows(
                &mut tx,
                &format!("SELECT id, guild_id FROM tickets WHERE {cond} AND id IN ({in_list})"),
                lock_binds,
            )
            .await?;
        }
        binds.clear();
        let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
        for (_, guild) in &rows {
            let c = by_guild.entry(*guild).or_default();
            match kind {
                Kind::Tickets => c.tickets += 1,
                Kind::DeletedHistories => c.deleted_histories += 1,
            }
        }
        if ids.is_empty() {
            return Ok(Some(last));
        }
        count_by_guild(&mut tx, "ticket_events", &ids, by_guild, |c| &mut c.events).await?;
        count_by_guild(&mut tx, "transcripts", &ids, by_guild, |c| {
            &mut c.transcripts
        })
        .await?;
        if dry_run {
            tx.rollback().await?;
            return Ok(Some(last));
        }
        let in_list = list(ids.len());
        // A ticket's records go with it; a deleted ticket's history had them go already.
        let history = [
            ("ticket_events", "ticket_id"),
            ("transcript_chunks", "ticket_id"),
            ("transcripts", "ticket_id"),
        ];
        let tables: Vec<(&str, &str)> = match kind {
            Kind::Tickets => std::iter::once(("ticket_participants", "ticket_id"))
                .chain(PER_TICKET.iter().map(|t| (*t, "ticket_id")))
                .chain(history)
                .chain([("tickets", "id")])
                .collect(),
            Kind::DeletedHistories => history.to_vec(),
        };
        for (table, col) in tables {
            bind_all(
                sqlx::query(&format!("DELETE FROM {table} WHERE {col} IN ({in_list})")),
                text_binds(&ids),
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(last))
    }
}
