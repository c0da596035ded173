//! Typed errors of the store. Messages name the database target (password hidden) and the
//! cause; they never carry a secret.

use uuid::Uuid;

use crate::rules::RuleError;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or opened.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// What we tried to reach, with any password hidden.
        target: String,
        #[source]
        source: BoxError,
    },
    /// A ticket rule refused the operation (already claimed, closed, not found, ...).
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// The Discord channel is recorded for another ticket already.
    #[error("channel {channel_id} already belongs to ticket {ticket_id}")]
    ChannelTaken { channel_id: u64, ticket_id: Uuid },
    /// A stored value cannot be read back as a ticket (hand-edited or corrupt data).
    #[error("stored record {id} is malformed: {reason}")]
    Corrupt { id: String, reason: String },
    /// Applying or checking the schema failed.
    #[error("schema migration failed: {0}")]
    Migrate(String),
    /// A request the store refuses as it stands (a purge that selects nothing by time or user).
    #[error("invalid request: {0}")]
    InvalidQuery(String),
    /// A record conflicts with one stored already (an overflow category id recorded for another
    /// base or number).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A conditional write kept losing to other writers (the record changed under it every
    /// time); trying again later is the answer.
    #[error("too much contention: {0}")]
    Contended(String),
    #[error("SQL database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// SQLite's hot path (see the store's `lite` executor).
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("MongoDB error: {0}")]
    Mongo(#[from] mongodb::error::Error),
}

impl StoreError {
    /// Whether the database could not be reached (down, restarting, network cut), as opposed
    /// to refusing the operation: trying again later is the answer, and nothing was written.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect { .. } => true,
            StoreError::Sql(e) => matches!(
                e,
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::WorkerCrashed
            ),
            StoreError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::SystemIoFailure)
            ),
            StoreError::Mongo(e) => {
                use mongodb::error::ErrorKind;
                matches!(
                    e.kind.as_ref(),
                    ErrorKind::ServerSelection { .. }
                        | ErrorKind::Io(_)
                        | ErrorKind::ConnectionPoolCleared { .. }
                ) || e.contains_label(mongodb::error::RETRYABLE_WRITE_ERROR)
            }
            _ => false,
        }
    }

    pub(crate) fn corrupt(id: impl ToString, reason: impl ToString) -> Self {
        StoreError::Corrupt {
            id: id.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The rule that refused the operation, if that is what happened.
    pub fn rule(&self) -> Option<&RuleError> {
        match self {
            StoreError::Rule(r) => Some(r),
            _ => None,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
