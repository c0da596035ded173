//! Creating, reading, listing and transitioning tickets.

use chrono::{DateTime, Utc};
use sqlx::{Any, Executor, Transaction};
use uuid::Uuid;

use super::lite;
use super::rows::*;
use super::{ticket_columns, SqlStore, EVENT_COLUMNS, TICKET_COLUMNS, TICKET_COLUMN_COUNT};
use crate::error::{StoreError, StoreResult};
use crate::rules::{RuleError, Transition};
use crate::store::{
    decide_transition, ClaimFilter, CreateOutcome, Cursor, Page, StatusCounts, TicketFilter,
    RACE_RETRIES,
};
use crate::ticket::{DiscordId, Participant, Ticket, TicketEvent, TicketStatus};

impl SqlStore {
    pub(crate) async fn fetch_ticket<'e, E>(executor: E, id: Uuid) -> StoreResult<Option<Ticket>>
    where
        E: Executor<'e, Database = Any>,
    {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(executor)
            .await?;
        row.map(|r| ticket_from_row(&r).map(|(t, _)| t)).transpose()
    }

    pub(crate) async fn insert_event(
        tx: &mut Transaction<'_, Any>,
        e: &TicketEvent,
    ) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO ticket_events ({EVENT_COLUMNS}) VALUES {}",
            placeholders(1, 7)
        );
        bind_all(sqlx::query(&sql), event_binds(e))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// One attempt at creating a ticket in slot `slot`; `None` when the slot is taken.
    pub(crate) async fn try_create(
        &self,
        ticket: &Ticket,
        slot: u32,
    ) -> StoreResult<Option<Ticket>> {
        let mut tx = self.write_tx().await?;
        let sql = format!(
            "INSERT INTO tickets ({TICKET_COLUMNS}) VALUES {}",
            placeholders(1, TICKET_COLUMN_COUNT)
        );
        match bind_all(sqlx::query(&sql), ticket_binds(ticket, Some(slot)))
            .execute(&mut *tx)
            .await
        {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let opened = TicketEvent::opened(ticket);
        Self::insert_event(&mut tx, &opened).await?;
        tx.commit().await?;
        Ok(Some(ticket.clone()))
    }

    pub(crate) async fn open_tickets_of(
        &self,
        guild_id: DiscordId,
        creator_id: DiscordId,
    ) -> StoreResult<Vec<Ticket>> {
        let filter = TicketFilter {
            guild_id: Some(guild_id),
            creator_id: Some(creator_id),
            status: Some(TicketStatus::Open),
            ..TicketFilter::default()
        };
        Ok(self.list(&filter, 100, None).await?.tickets)
    }

    /// The conditional write of one transition; `None` when its condition did not hold.
    pub(crate) async fn try_transition(
        &self,
        id: Uuid,
        t: &Transition,
    ) -> StoreResult<Option<Ticket>> {
        if let Some(lite) = &self.lite {
            let t = t.clone();
            return lite
                .writer
                .run(move |conn| lite::try_transition(conn, id, &t))
                .await;
        }
        let at = time_to_sql(t.at());
        let (set, cond, binds): (&str, &str, Vec<Bind>) = match t {
            Transition::Claim { by, .. } => (
                "claimed_by = ?, claimed_at = ?",
                "status = 'open' AND claimed_by IS NULL",
                vec![Bind::Int(Some(id_to_sql(*by))), Bind::Int(Some(at))],
            ),
            Transition::Unclaim { by, .. } => (
                "claimed_by = NULL, claimed_at = NULL",
                "status = 'open' AND claimed_by = ?",
                vec![Bind::Int(Some(id_to_sql(*by)))],
            ),
            Transition::Close { by, reason, .. } => (
                "status = 'closed', closed_at = ?, closed_by = ?, close_reason = ?, open_slot = NULL, \
                 channel_sync = ?",
                "status = 'open'",
                vec![
                    Bind::Int(Some(at)),
                    Bind::Int(by.map(id_to_sql)),
                    Bind::Text(reason.clone()),
                    Bind::Text(Some(Uuid::new_v4().to_string())),
                ],
            ),
            Transition::Reopen { .. } => return self.try_reopen(id, t).await,
        };
        let mut tx = self.write_tx().await?;
        let sql = format!("UPDATE tickets SET {set}, updated_at = ? WHERE id = ? AND {cond}");
        let mut all = Vec::new();
        let (set_binds, cond_binds) = match t {
            Transition::Unclaim { .. } => (Vec::new(), binds),
            _ => (binds, Vec::new()),
        };
        all.extend(set_binds);
        all.push(Bind::Int(Some(at)));
        all.push(Bind::Text(Some(id.to_string())));
        all.extend(cond_binds);
        let done = bind_all(sqlx::query(&sql), all).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.finish_transition(tx, id, t).await.map(Some)
    }

    /// Reopen takes the lowest open-ticket slot of the creator that is free, so that a reopened
    /// ticket counts against the limit again (staff may take a user over it).
    pub(crate) async fn try_reopen(&self, id: Uuid, t: &Transition) -> StoreResult<Option<Ticket>> {
        let Some(current) = Self::fetch_ticket(&self.reader, id).await? else {
            return Ok(None);
        };
        let used: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tickets WHERE guild_id = ? AND creator_id = ? AND status = 'open'",
        )
        .bind(id_to_sql(current.guild_id))
        .bind(id_to_sql(current.creator_id))
        .fetch_one(&self.reader)
        .await?;
        let mut slot = used.max(0);
        loop {
            let mut tx = self.write_tx().await?;
            let res = sqlx::query(
                "UPDATE tickets SET status = 'open', closed_at = NULL, closed_by = NULL, \
                 close_reason = NULL, archived_at = NULL, archive_requested_at = NULL, open_slot = ?, \
                 channel_sync = ?, updated_at = ? WHERE id = ? AND status = 'closed'",
            )
            .bind(slot)
            .bind(Uuid::new_v4().to_string())
            .bind(time_to_sql(t.at()))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await;
            match res {
                Ok(done) if done.rows_affected() == 0 => return Ok(None),
                Ok(_) => return self.finish_transition(tx, id, t).await.map(Some),
                Err(e) if is_unique_violation(&e) => slot += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub(crate) async fn finish_transition(
        &self,
        mut tx: Transaction<'_, Any>,
        id: Uuid,
        t: &Transition,
    ) -> StoreResult<Ticket> {
        let ticket = Self::fetch_ticket(&mut *tx, id)
            .await?
            .ok_or(RuleError::NotFound)?;
        Self::record_transition(tx, ticket, t).await
    }

    /// Adds the transition's event to the history and commits.
    async fn record_transition(
        mut tx: Transaction<'_, Any>,
        ticket: Ticket,
        t: &Transition,
    ) -> StoreResult<Ticket> {
        let event = t.event(&ticket);
        Self::insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(ticket)
    }

    pub(crate) fn filter_sql(filter: &TicketFilter, sql: &mut String, binds: &mut Vec<Bind>) {
        let mut clause = |cond: &str, b: Option<Bind>| {
            sql.push_str(if sql.contains(" WHERE ") {
                " AND "
            } else {
                " WHERE "
            });
            sql.push_str(cond);
            binds.extend(b);
        };
        if let Some(g) = filter.guild_id {
            clause("guild_id = ?", Some(Bind::Int(Some(id_to_sql(g)))));
        }
        if let Some(s) = filter.status {
            clause("status = ?", Some(Bind::Text(Some(s.as_str().into()))));
        }
        if let Some(c) = filter.creator_id {
            clause("creator_id = ?", Some(Bind::Int(Some(id_to_sql(c)))));
        }
        match filter.claim {
            ClaimFilter::Any => {}
            ClaimFilter::Unclaimed => clause("claimed_by IS NULL", None),
            ClaimFilter::By(u) => clause("claimed_by = ?", Some(Bind::Int(Some(id_to_sql(u))))),
        }
        if let Some(t) = filter.since {
            clause("created_at >= ?", Some(Bind::Int(Some(time_to_sql(t)))));
        }
        if let Some(t) = filter.until {
            clause("created_at < ?", Some(Bind::Int(Some(time_to_sql(t)))));
        }
        if let Some(topic) = &filter.topic {
            clause(
                "id IN (SELECT ticket_id FROM topic_forms WHERE topic_key = ?)",
                Some(Bind::Text(Some(crate::topics::name_key(topic)))),
            );
        }
    }

    pub(crate) async fn participants_of_range(
        &self,
        first: &Uuid,
        last: &Uuid,
    ) -> StoreResult<Vec<Participant>> {
        let sql = "SELECT ticket_id, user_id, added_by, added_at FROM ticket_participants \
             WHERE ticket_id >= ? AND ticket_id <= ? ORDER BY ticket_id, user_id";
        let binds = vec![
            Bind::Text(Some(first.to_string())),
            Bind::Text(Some(last.to_string())),
        ];
        self.read_all(sql, binds, |r| participant_from_row(r)).await
    }

    pub(crate) async fn create_ticket(
        &self,
        guild_id: DiscordId,
        creator_id: DiscordId,
        max_open: u32,
        at: DateTime<Utc>,
    ) -> StoreResult<CreateOutcome> {
        let ticket = Ticket::new(guild_id, creator_id, at);
        if let Some(lite) = &self.lite {
            return lite
                .writer
                .run(move |conn| lite::create(conn, &ticket, max_open))
                .await;
        }
        for _ in 0..RACE_RETRIES {
            for slot in 0..max_open.max(1) {
                let created = retry_transient(|| self.try_create(&ticket, slot)).await?;
                if let Some(t) = created {
                    return Ok(CreateOutcome::Created(t));
                }
            }
            let open = self.open_tickets_of(guild_id, creator_id).await?;
            // Empty: a ticket was closed between our insert and this read; try again.
            if !open.is_empty() {
                return Ok(CreateOutcome::LimitReached { open });
            }
        }
        let open = self.open_tickets_of(guild_id, creator_id).await?;
        Ok(CreateOutcome::LimitReached { open })
    }

    pub(crate) async fn get(&self, id: Uuid) -> StoreResult<Option<Ticket>> {
        let sql = concat!("SELECT ", ticket_columns!(), " FROM tickets WHERE id = ?");
        let binds = vec![Bind::Text(Some(id.to_string()))];
        self.one_ticket(sql, binds).await
    }

    /// The first ticket a read query selects.
    async fn one_ticket(&self, sql: &str, binds: Vec<Bind>) -> StoreResult<Option<Ticket>> {
        let found = self
            .read_all(sql, binds, |r| ticket_from_row(r).map(|(t, _)| t))
            .await?;
        Ok(found.into_iter().next())
    }

    pub(crate) async fn find_by_prefix(
        &self,
        prefix: &str,
        limit: u32,
    ) -> StoreResult<Vec<Ticket>> {
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE id >= ? AND id < ? ORDER BY id LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(prefix.clone())
            .bind(format!("{prefix}~"))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| ticket_from_row(r).map(|(t, _)| t))
            .collect()
    }

    pub(crate) async fn get_by_channel(
        &self,
        channel_id: DiscordId,
    ) -> StoreResult<Option<Ticket>> {
        let sql = concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE channel_id = ?"
        );
        let binds = vec![Bind::Int(Some(id_to_sql(channel_id)))];
        self.one_ticket(sql, binds).await
    }

    pub(crate) async fn list(
        &self,
        filter: &TicketFilter,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Page> {
        let mut sql = format!("SELECT {TICKET_COLUMNS} FROM tickets");
        let mut binds = Vec::new();
        Self::filter_sql(filter, &mut sql, &mut binds);
        if let Some(c) = after {
            sql.push_str(if sql.contains(" WHERE ") {
                " AND "
            } else {
                " WHERE "
            });
            // The first conjunct is an index range on every engine; the second breaks ties.
            sql.push_str("created_at <= ? AND (created_at < ? OR id < ?)");
            let t = time_to_sql(c.created_at);
            binds.extend([
                Bind::Int(Some(t)),
                Bind::Int(Some(t)),
                Bind::Text(Some(c.id.to_string())),
            ]);
        }
        sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
        binds.push(Bind::Int(Some(i64::from(limit) + 1)));
        let mut tickets = self
            .read_all(&sql, binds, |r| ticket_from_row(r).map(|(t, _)| t))
            .await?;
        let next = if tickets.len() > limit as usize {
            tickets.truncate(limit as usize);
            tickets.last().map(Cursor::after)
        } else {
            None
        };
        Ok(Page { tickets, next })
    }

    pub(crate) async fn count(&self, filter: &TicketFilter) -> StoreResult<StatusCounts> {
        let mut sql = "SELECT status, COUNT(*) AS n FROM tickets".to_owned();
        let mut binds = Vec::new();
        Self::filter_sql(filter, &mut sql, &mut binds);
        sql.push_str(" GROUP BY status");
        let rows = self
            .read_all(&sql, binds, |r| {
                let n = u64::try_from(r.int("n")?.unwrap_or(0)).unwrap_or(0);
                Ok((required_text(r, "status")?, n))
            })
            .await?;
        let mut counts = StatusCounts::default();
        for (status, n) in rows {
            match status.parse::<TicketStatus>() {
                Ok(TicketStatus::Open) => counts.open += n,
                Ok(TicketStatus::Closed) => counts.closed += n,
                Err(e) => return Err(StoreError::corrupt("tickets.status", e)),
            }
        }
        Ok(counts)
    }

    pub(crate) async fn updated_since(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE updated_at >= ? ORDER BY updated_at, id LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(time_to_sql(since))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| ticket_from_row(r).map(|(t, _)| t))
            .collect()
    }

    pub(crate) async fn set_channel(
        &self,
        id: Uuid,
        channel_id: Option<DiscordId>,
    ) -> StoreResult<Ticket> {
        if let Some(lite) = &self.lite {
            let now = time_to_sql(crate::ticket::now());
            return lite
                .writer
                .run(move |conn| lite::set_channel(conn, id, channel_id, now))
                .await;
        }
        // MySQL (SQLite went to `lite` above): the update, then a read.
        let res = sqlx::query("UPDATE tickets SET channel_id = ?, updated_at = ? WHERE id = ?")
            .bind(channel_id.map(id_to_sql))
            .bind(time_to_sql(crate::ticket::now()))
            .bind(id.to_string())
            .execute(&self.pool)
            .await;
        match res {
            Ok(done) if done.rows_affected() == 0 => Err(RuleError::NotFound.into()),
            Ok(_) => Self::fetch_ticket(&self.reader, id)
                .await?
                .ok_or_else(|| RuleError::NotFound.into()),
            Err(e) if is_unique_violation(&e) => {
                let channel_id = channel_id.unwrap_or_default();
                let owner = self.get_by_channel(channel_id).await?;
                Err(StoreError::ChannelTaken {
                    channel_id,
                    ticket_id: owner.map(|t| t.id).unwrap_or_default(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn transition(
        &self,
        id: Uuid,
        transition: &Transition,
    ) -> StoreResult<Ticket> {
        decide_transition(
            id,
            transition,
            || retry_transient(|| self.try_transition(id, transition)),
            || self.get(id),
        )
        .await
    }
}
