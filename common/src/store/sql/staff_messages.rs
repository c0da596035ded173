//! Messages written by staff in ticket channels, counted per guild, member and hour (an upsert
//! that adds one: any number of processes may count at once).

use chrono::{DateTime, Utc};

use super::rows::*;
use super::SqlStore;
use crate::error::StoreResult;
use crate::stats::hour_number;
use crate::store::{Backend, StaffMessages};
use crate::ticket::DiscordId;

impl SqlStore {
    pub(crate) async fn count_staff_message(
        &self,
        guild_id: DiscordId,
        user_id: DiscordId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let add = match self.dialect.backend {
            Backend::Mysql => "ON DUPLICATE KEY UPDATE n = n + 1",
            _ => "ON CONFLICT (guild_id, user_id, hour) DO UPDATE SET n = n + 1",
        };
        let sql = format!(
            "INSERT INTO staff_messages (guild_id, user_id, hour, n) VALUES (?, ?, ?, 1) {add}"
        );
        let binds = vec![
            Bind::Int(Some(id_to_sql(guild_id))),
            Bind::Int(Some(id_to_sql(user_id))),
            Bind::Int(Some(hour_number(at))),
        ];
        self.execute(sql, binds, true).await.map(drop)
    }

    pub(crate) async fn all_staff_messages(&self) -> StoreResult<Vec<StaffMessages>> {
        let mut all = self
            .read_all(
                "SELECT guild_id, user_id, hour, n FROM staff_messages",
                Vec::new(),
                |r| {
                    Ok(StaffMessages {
                        guild_id: id_from_sql(r.int("guild_id")?.unwrap_or(0)),
                        user_id: id_from_sql(r.int("user_id")?.unwrap_or(0)),
                        hour: r.int("hour")?.unwrap_or(0),
                        n: r.int("n")?.unwrap_or(0).max(0) as u64,
                    })
                },
            )
            .await?;
        // One order on every backend (ids as u64).
        all.sort_by_key(|m| (m.guild_id, m.user_id, m.hour));
        Ok(all)
    }

    pub(crate) async fn import_staff_messages(&self, rows: &[StaffMessages]) -> StoreResult<()> {
        let set = match self.dialect.backend {
            Backend::Mysql => "ON DUPLICATE KEY UPDATE n = VALUES(n)",
            _ => "ON CONFLICT (guild_id, user_id, hour) DO UPDATE SET n = excluded.n",
        };
        let binds: Vec<Bind> = rows
            .iter()
            .flat_map(|m| {
                [
                    Bind::Int(Some(id_to_sql(m.guild_id))),
                    Bind::Int(Some(id_to_sql(m.user_id))),
                    Bind::Int(Some(m.hour)),
                    Bind::Int(Some(i64::try_from(m.n).unwrap_or(i64::MAX))),
                ]
            })
            .collect();
        self.insert_rows(
            "INSERT INTO staff_messages (guild_id, user_id, hour, n)",
            4,
            set,
            binds,
        )
        .await
    }
}
