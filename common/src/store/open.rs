//! Opening the configured store, and reading names through it.

use std::sync::Arc;

use super::{MongoStore, SqlStore, TicketStore};
use crate::config::DbConfig;
use crate::error::StoreResult;
use crate::ticket::DiscordId;

/// The known names of `ids` (duplicates and unknown ids are fine), for showing them as people.
pub async fn load_names(
    store: &dyn TicketStore,
    ids: impl IntoIterator<Item = DiscordId>,
) -> StoreResult<crate::names::Names> {
    let mut ids: Vec<DiscordId> = ids.into_iter().filter(|&id| id != 0).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(crate::names::Names::new(store.names(&ids).await?))
}

/// Connects to the configured backend, creates or upgrades its schema (a Python-bot database
/// included) and returns it ready to use.
pub async fn open_store(config: &DbConfig) -> StoreResult<Arc<dyn TicketStore>> {
    Ok(match config {
        DbConfig::Sqlite { .. } | DbConfig::Mysql(_) => Arc::new(SqlStore::connect(config).await?),
        DbConfig::Mongo(mongo) => Arc::new(MongoStore::connect(mongo).await?),
    })
}

/// [`open_store`] for a short-lived tool on a database that is likely current: a SQL schema
/// already up to date is checked with one query, not migrated (MongoDB: `open_store`).
pub async fn open_current_store(config: &DbConfig) -> StoreResult<Arc<dyn TicketStore>> {
    Ok(match config {
        DbConfig::Sqlite { .. } | DbConfig::Mysql(_) => {
            Arc::new(SqlStore::connect_current(config).await?)
        }
        DbConfig::Mongo(mongo) => Arc::new(MongoStore::connect(mongo).await?),
    })
}

/// Whether the configured database exists already. Nothing is created: for tools that read,
/// a missing database is a wrong setting, not a wish for an empty one.
pub async fn database_exists(config: &DbConfig) -> StoreResult<bool> {
    match config {
        DbConfig::Sqlite { path } => Ok(path.exists()),
        DbConfig::Mysql(_) => SqlStore::database_exists(config).await,
        DbConfig::Mongo(mongo) => MongoStore::database_exists(mongo).await,
    }
}
