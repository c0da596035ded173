//! Statistics over tickets and their history.

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
        let durations: Vec<i64> = self
            .read_all(&sql, binds, |r| Ok(r.int("d")?.unwrap_or(0)))
            .await?;

        let day = match self.dialect.backend {
            Backend::Mysql => format!("created_at DIV {MICROS_PER_DAY}"),
            _ => format!("created_at / {MICROS_PER_DAY}"),
        };
        let mut sql = format!("SELECT {day} AS day, COUNT(*) AS n FROM tickets");
        let mut binds = Vec::new();
        Self::filter_sql(filter, &mut sql, &mut binds);
        sql.push_str(" GROUP BY day ORDER BY day");
        let per_day = self
            .read_all(&sql, binds, |r| {
                let day = r.int("day")?.unwrap_or(0);
                let opened = r.int("n")?.unwrap_or(0).max(0) as u64;
                Ok(day_from_number(day).map(|date| DayCount { date, opened }))
            })
            .await?
            .into_iter()
            .flatten()
            .collect();

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
        let rows = self
            .read_all(&sql, binds, |r| {
                let user = id_from_sql(r.int("actor_id")?.unwrap_or(0));
                let n = r.int("n")?.unwrap_or(0).max(0) as u64;
                Ok((user, n, required_text(r, "kind")?))
            })
            .await?;
        let mut staff = Vec::new();
        for (user, n, kind) in rows {
            match kind.as_str() {
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
