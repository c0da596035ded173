//! Names of users and roles: one row per id, the latest sighting kept (a conditional upsert, so
//! that processes writing in any order agree).

use super::rows::*;
use super::SqlStore;
use crate::error::{StoreError, StoreResult};
use crate::names::{Name, NameKind};
use crate::store::Backend;
use crate::ticket::DiscordId;

const COLUMNS: &str = "id, kind, name, avatar, seen_at";
/// Rows per statement.
const BATCH: usize = 200;

fn name_from_row(r: &dyn Cols) -> StoreResult<Name> {
    let kind = required_text(r, "kind")?;
    Ok(Name {
        id: id_from_sql(r.int("id")?.unwrap_or(0)),
        kind: kind
            .parse::<NameKind>()
            .map_err(|e| StoreError::corrupt("names.kind", e))?,
        name: required_text(r, "name")?,
        avatar: text(r, "avatar")?,
        seen_at: time_from_sql(r.int("seen_at")?.unwrap_or(0), "names.seen_at")?,
    })
}

impl SqlStore {
    pub(crate) async fn remember_names(&self, names: &[Name]) -> StoreResult<()> {
        // A later sighting replaces an earlier one; an earlier one arriving late changes nothing.
        let upsert = match self.dialect.backend {
            Backend::Mysql => {
                "ON DUPLICATE KEY UPDATE \
                 kind = IF(VALUES(seen_at) >= seen_at, VALUES(kind), kind), \
                 name = IF(VALUES(seen_at) >= seen_at, VALUES(name), name), \
                 avatar = IF(VALUES(seen_at) >= seen_at, VALUES(avatar), avatar), \
                 seen_at = GREATEST(seen_at, VALUES(seen_at))"
            }
            _ => {
                "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
                 avatar = excluded.avatar, seen_at = excluded.seen_at \
                 WHERE excluded.seen_at >= names.seen_at"
            }
        };
        let binds: Vec<Bind> = names
            .iter()
            .flat_map(|n| {
                [
                    Bind::Int(Some(id_to_sql(n.id))),
                    Bind::Text(Some(n.kind.as_str().to_owned())),
                    Bind::Text(Some(n.name.clone())),
                    Bind::Text(n.avatar.clone()),
                    Bind::Int(Some(time_to_sql(n.seen_at))),
                ]
            })
            .collect();
        self.insert_rows(&format!("INSERT INTO names ({COLUMNS})"), 5, upsert, binds)
            .await
    }

    pub(crate) async fn names(&self, ids: &[DiscordId]) -> StoreResult<Vec<Name>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH) {
            let sql = format!(
                "SELECT {COLUMNS} FROM names WHERE id IN ({})",
                vec!["?"; chunk.len()].join(", ")
            );
            let binds = chunk
                .iter()
                .map(|&id| Bind::Int(Some(id_to_sql(id))))
                .collect();
            out.extend(self.read_all(&sql, binds, name_from_row).await?);
        }
        Ok(out)
    }

    pub(crate) async fn export_names(
        &self,
        after: Option<DiscordId>,
        limit: u32,
    ) -> StoreResult<Vec<Name>> {
        // By the id as a u64, as on every backend: the ids below 2^63 (stored as they are),
        // then those from 2^63 (stored negative), each a range of the primary key.
        let mut out = Vec::new();
        for range in NameRange::after(after) {
            let want = limit as usize - out.len();
            if want == 0 {
                break;
            }
            let (cond, from) = match range {
                NameRange::Low(from) => ("id >= ?", from),
                NameRange::High(from) => ("id >= ? AND id < 0", from),
            };
            let sql = format!("SELECT {COLUMNS} FROM names WHERE {cond} ORDER BY id LIMIT ?");
            let binds = vec![Bind::Int(Some(from)), Bind::Int(Some(want as i64))];
            out.extend(self.read_all(&sql, binds, name_from_row).await?);
        }
        Ok(out)
    }
}

/// A part of the names to read after an id, in the order of ids as u64: the ids below 2^63
/// (`Low`) and those from 2^63 (`High`, stored negative), each from a stored value on.
enum NameRange {
    Low(i64),
    High(i64),
}

impl NameRange {
    fn after(after: Option<DiscordId>) -> Vec<NameRange> {
        match after.map(id_to_sql) {
            None => vec![NameRange::Low(0), NameRange::High(i64::MIN)],
            Some(i64::MAX) => vec![NameRange::High(i64::MIN)],
            Some(a) if a >= 0 => vec![NameRange::Low(a + 1), NameRange::High(i64::MIN)],
            // After -1 (u64::MAX) nothing is left: `id >= 0 AND id < 0`.
            Some(a) => vec![NameRange::High(a + 1)],
        }
    }
}
