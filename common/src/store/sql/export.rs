//! The export and import side of `ticketctl migrate`, and record counts.

use uuid::Uuid;

use super::rows::*;
use super::{SqlStore, EVENT_COLUMNS, TICKET_COLUMNS};
use crate::error::{StoreError, StoreResult};
use crate::store::{RecordCounts, TicketRecord};
use crate::ticket::{Participant, TicketEvent};

/// Rows per statement of a bulk load: each under every server's placeholder limit.
const TICKET_CHUNK: usize = 500;
const EVENT_CHUNK: usize = 1000;

impl SqlStore {
    /// Up to `limit` rows (`columns` of `table`, keyed by `ticket_id`) after the ticket
    /// `after`, by ticket id, each read by `decode`: a page of a migrate export.
    pub(crate) async fn page_by_ticket<T>(
        &self,
        columns: &str,
        table: &str,
        after: Option<Uuid>,
        limit: u32,
        decode: fn(&dyn Cols) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let sql =
            format!("SELECT {columns} FROM {table} WHERE ticket_id > ? ORDER BY ticket_id LIMIT ?");
        self.read_all(&sql, page_binds(after, limit), decode).await
    }

    pub(crate) async fn export_tickets(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketRecord>> {
        // Through `read_all`: on SQLite a page is read on the calling thread by one of the
        // store's own readers (no file map), so that a whole-table walk keeps little memory.
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id > ? ORDER BY id LIMIT ?");
        let mut records = self
            .read_all(&sql, page_binds(after, limit), |r| {
                ticket_from_row(r).map(|(ticket, open_slot)| TicketRecord {
                    ticket,
                    participants: Vec::new(),
                    open_slot,
                })
            })
            .await?;
        if let (Some(first), Some(last)) = (records.first(), records.last()) {
            let participants = self
                .participants_of_range(&first.ticket.id, &last.ticket.id)
                .await?;
            let mut by_ticket = participants.into_iter().peekable();
            for record in &mut records {
                while let Some(p) = by_ticket.next_if(|p| p.ticket_id <= record.ticket.id) {
                    if p.ticket_id == record.ticket.id {
                        record.participants.push(p);
                    }
                }
            }
        }
        Ok(records)
    }

    pub(crate) async fn export_events(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<TicketEvent>> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM ticket_events WHERE id > ? ORDER BY id LIMIT ?");
        self.read_all(&sql, page_binds(after, limit), |r| event_from_row(r))
            .await
    }

    pub(crate) async fn import_tickets(&self, records: &[TicketRecord]) -> StoreResult<()> {
        self.import_batch(records, &[]).await
    }

    pub(crate) async fn import_events(&self, events: &[TicketEvent]) -> StoreResult<()> {
        self.import_batch(&[], events).await
    }

    /// Upserts tickets (with their participants) and inserts the events not there yet, all in
    /// ONE transaction: a bulk load commits once per call, not once per statement (on SQLite
    /// each commit rewrote the same index pages into the WAL again).
    pub(crate) async fn import_batch(
        &self,
        records: &[TicketRecord],
        events: &[TicketEvent],
    ) -> StoreResult<()> {
        if records.is_empty() && events.is_empty() {
            return Ok(());
        }
        // In key order, each page of the history's primary key is visited once per batch
        // (history ids are random: in their own order a big batch revisits pages the cache
        // has dropped).
        let mut by_id: Vec<&TicketEvent> = events.iter().collect();
        by_id.sort_unstable_by_key(|e| e.id);
        let by_id = &by_id;
        retry_transient(|| async {
            let mut tx = self.write_tx().await?;
            for chunk in records.chunks(TICKET_CHUNK) {
                self.upsert_tickets(&mut tx, chunk).await?;
            }
            for chunk in by_id.chunks(EVENT_CHUNK) {
                let sql = format!(
                    "{} INTO ticket_events ({EVENT_COLUMNS}) VALUES {}",
                    self.dialect.insert_ignore(),
                    placeholders(chunk.len(), 7)
                );
                bind_all(
                    bulk_query(&sql, chunk.len(), EVENT_CHUNK),
                    chunk.iter().flat_map(|e| event_binds(e)).collect(),
                )
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn upsert_tickets(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        chunk: &[TicketRecord],
    ) -> StoreResult<()> {
        let columns: Vec<&str> = TICKET_COLUMNS.split(", ").collect();
        let sql = format!(
            "INSERT INTO tickets ({TICKET_COLUMNS}) VALUES {}{}",
            placeholders(chunk.len(), columns.len()),
            self.dialect.upsert("id", &columns)
        );
        let binds = chunk
            .iter()
            .flat_map(|r| ticket_binds(&r.ticket, r.open_slot))
            .collect();
        bind_all(bulk_query(&sql, chunk.len(), TICKET_CHUNK), binds)
            .execute(&mut **tx)
            .await?;
        // Participants are replaced whole; a record without any (most) has none to delete
        // unless the ticket was there before, which only a re-run or an upsert can mean.
        let ids = chunk
            .iter()
            .map(|r| Bind::Text(Some(r.ticket.id.to_string())))
            .collect::<Vec<_>>();
        let sql = format!(
            "DELETE FROM ticket_participants WHERE ticket_id IN ({})",
            vec!["?"; ids.len()].join(", ")
        );
        bind_all(bulk_query(&sql, chunk.len(), TICKET_CHUNK), ids)
            .execute(&mut **tx)
            .await?;
        let participants: Vec<&Participant> = chunk.iter().flat_map(|r| &r.participants).collect();
        for part in participants.chunks(EVENT_CHUNK) {
            let sql = format!(
                "INSERT INTO ticket_participants (ticket_id, user_id, added_by, added_at) VALUES {}",
                placeholders(part.len(), 4)
            );
            let binds = part
                .iter()
                .flat_map(|p| {
                    [
                        Bind::Text(Some(p.ticket_id.to_string())),
                        Bind::Int(Some(id_to_sql(p.user_id))),
                        Bind::Int(Some(id_to_sql(p.added_by))),
                        Bind::Int(Some(time_to_sql(p.added_at))),
                    ]
                })
                .collect();
            bind_all(bulk_query(&sql, part.len(), EVENT_CHUNK), binds)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn record_counts(&self) -> StoreResult<RecordCounts> {
        let count = |table: &'static str| async move {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&self.reader)
                .await?;
            Ok::<u64, StoreError>(n.max(0) as u64)
        };
        Ok(RecordCounts {
            tickets: count("tickets").await?,
            participants: count("ticket_participants").await?,
            events: count("ticket_events").await?,
            transcripts: count("transcripts").await?,
            categories: count("overflow_categories").await?,
            names: count("names").await?,
            staff_messages: count("staff_messages").await?,
            close_requests: count("close_requests").await?,
            activity: count("ticket_activity").await?,
            feedback: count("feedback").await?,
            topics: count("topics").await?,
            ticket_forms: count("topic_forms").await?,
        })
    }
}
