//! Statistics over tickets and their history.

use sqlx::Row;

use super::rows::*;
use super::SqlStore;
use crate::error::StoreResult;
use crate::stats::{
    day_from_number, sort_staff, tally, DayCount, DurationSummary, TicketStats, MICROS_PER_DAY,
};
use crate::store::{Backend, TicketFilter};
use crate::ticket::TicketStatus;

impl SqlStore {
    pub(crate) async fn stats(&self, filter: &TicketFilter) -> StoreResult<TicketStats> {
        let counts = self.count(filter).await?;

        let mut sql = "SELECT closed_at - created_at AS d FROM tickets".to_owned();
        let mut binds = Vec::new();
        let closed = TicketFilter {
            status: Some(TicketStatus::Closed),
            ..filter.clone()
        };
        Self::filter_sql(&closed, &mut sql, &mut binds);
        sql.push_str(" AND closed_at IS NOT NULL");
        let durations: Vec<i64> = bind_all(sqlx::query(&sql), binds)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|r| r.try_get::<i64, _>("d"))
            .collect::<Result<_, _>>()?;

        let day = match self.dialect.backend {
            Backend::Mysql => format!("created_at DIV {MICROS_PER_DAY}"),
            _ => format!("created_at / {MICROS_PER_DAY}"),
        };
        let mut sql = format!("SELECT {day} AS day, COUNT(*) AS n FROM tickets");
        let mut binds = Vec::new();
        Self::filter_sql(filter, &mut sql, &mut binds);
        sql.push_str(" GROUP BY day ORDER BY day");
        let mut per_day = Vec::new();
        for row in bind_all(sqlx::query(&sql), binds)
            .fetch_all(&self.reader)
            .await?
        {
            if let Some(date) = day_from_number(row.try_get("day")?) {
                let opened = row.try_get::<i64, _>("n")?.max(0) as u64;
                per_day.push(DayCount { date, opened });
            }
        }

        let mut sql = "SELECT actor_id, kind, COUNT(*) AS n FROM ticket_events \
                       WHERE kind IN ('claimed', 'closed') AND actor_id IS NOT NULL"
            .to_owned();
        let mut binds = Vec::new();
        if let Some(g) = filter.guild_id {
            sql.push_str(" AND guild_id = ?");
            binds.push(Bind::Int(Some(id_to_sql(g))));
        }
        if let Some(t) = filter.since {
            sql.push_str(" AND at >= ?");
            binds.push(Bind::Int(Some(time_to_sql(t))));
        }
        if let Some(t) = filter.until {
            sql.push_str(" AND at < ?");
            binds.push(Bind::Int(Some(time_to_sql(t))));
        }
        // In the order of `ticket_events_kind_actor_at`: the groups come off the index.
        sql.push_str(" GROUP BY kind, actor_id");
        let mut staff = Vec::new();
        for row in bind_all(sqlx::query(&sql), binds)
            .fetch_all(&self.reader)
            .await?
        {
            let user = id_from_sql(row.try_get("actor_id")?);
            let n = row.try_get::<i64, _>("n")?.max(0) as u64;
            match required_text(&row, "kind")?.as_str() {
                "claimed" => tally(&mut staff, user, n, 0),
                _ => tally(&mut staff, user, 0, n),
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
