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

    pub(crate) async fn all_names(&self) -> StoreResult<Vec<Name>> {
        let sql = format!("SELECT {COLUMNS} FROM names");
        let mut all = self.read_all(&sql, Vec::new(), name_from_row).await?;
        // By the id as u64 (SQL orders the stored two's complement), as on every backend.
        all.sort_by_key(|n| n.id);
        Ok(all)
    }
}
