//! What can go wrong in the store.

use kcf_domain::{ConnectorId, InvalidId, UnknownName};

/// A store error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or reached; says which setting to fix.
    #[error("cannot open the {backend} store at {target} (setting `{setting}`): {detail}. {hint}")]
    Open {
        /// "SQLite" or "PostgreSQL".
        backend: &'static str,
        /// The path or URL (password redacted).
        target: String,
        /// The setting that named it.
        setting: &'static str,
        /// What the driver said.
        detail: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// The database holds a schema this build does not know.
    #[error("migration error: {0}")]
    Migration(String),
    /// No connector with that id.
    #[error("unknown connector '{0}'")]
    UnknownConnector(ConnectorId),
    /// A record that does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of record.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A binding would link an external id to two ERP keys (or the other way round).
    #[error("binding conflict: {0}")]
    BindingConflict(String),
    /// Bad input to a store call (page size, empty batch…).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The request is well-formed but the record's state refuses it (a manual action on a
    /// message whose status does not take it).
    #[error("{0}")]
    Conflict(String),
    /// A stored value that this build cannot read.
    #[error("corrupt row: column {column}: {detail}")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The transaction holding this write could not commit; the write did not happen.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
    /// Anything the database driver reported.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    pub(crate) fn corrupt(column: &'static str, e: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            column,
            detail: e.to_string(),
        }
    }

    /// True when PostgreSQL broke a deadlock by failing this transaction (SQLSTATE 40P01):
    /// nothing of it was written, and the same work done again goes through.
    pub fn is_deadlock(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(e)) if e.code().as_deref() == Some("40P01"))
    }

    /// True when the database could not be reached at all (no connection within the
    /// timeout, the connection lost or refused), as opposed to a statement it refused.
    pub fn is_unreachable(&self) -> bool {
        match self {
            Self::Open { .. } | Self::Closed => true,
            Self::Database(e) => matches!(
                e,
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::WorkerCrashed
            ),
            _ => false,
        }
    }

    /// True for a unique-constraint violation reported by either backend.
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
    }
}

impl From<UnknownName> for StoreError {
    fn from(e: UnknownName) -> Self {
        Self::Corrupt {
            column: e.kind,
            detail: e.to_string(),
        }
    }
}

impl From<InvalidId> for StoreError {
    fn from(e: InvalidId) -> Self {
        Self::Corrupt {
            column: e.kind,
            detail: e.to_string(),
        }
    }
}

/// Store results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
