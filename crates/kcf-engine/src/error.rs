//! What can go wrong while applying a message, sorted by what the worker does about it.

use std::time::Duration;

use kcf_domain::Timestamp;

/// Why an apply did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Worth another attempt later (a timeout, a 5xx, a dependency not synced yet).
    #[error("{message}")]
    Retry {
        /// What happened, in plain words.
        message: String,
        /// Not before this long (the other side said so).
        after: Option<Duration>,
    },
    /// The store's rate limit was hit: the whole connector waits until `until`.
    #[error("{message}")]
    RateLimited {
        /// What happened, in plain words.
        message: String,
        /// When the budget resets.
        until: Timestamp,
    },
    /// Cannot be synced as it is; another attempt would fail the same way.
    #[error("{0}")]
    Invalid(String),
    /// kcf's own database failed; the message is released, not failed.
    #[error("kcf's database: {0}")]
    Store(#[from] kcf_store::StoreError),
}

impl ApplyError {
    /// A retriable error with no wait imposed by the other side.
    pub fn retry(message: impl Into<String>) -> Self {
        Self::Retry {
            message: message.into(),
            after: None,
        }
    }
}

impl From<kcf_acumatica::Error> for ApplyError {
    fn from(e: kcf_acumatica::Error) -> Self {
        let message = format!("Acumatica: {e}");
        if e.is_retriable() {
            Self::Retry {
                message,
                after: e.retry_after(),
            }
        } else {
            Self::Invalid(message)
        }
    }
}

impl From<kcf_bigcommerce::Error> for ApplyError {
    fn from(e: kcf_bigcommerce::Error) -> Self {
        let message = format!("BigCommerce: {e}");
        if let kcf_bigcommerce::Error::RateLimited { retry_after } = &e {
            return Self::RateLimited {
                message,
                until: Timestamp::now().plus(*retry_after),
            };
        }
        if e.is_retriable() {
            Self::Retry {
                message,
                after: e.retry_after(),
            }
        } else {
            Self::Invalid(message)
        }
    }
}

/// The result of one apply.
pub type ApplyResult<T = Applied> = Result<T, ApplyError>;

/// How an apply finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The final status.
    pub outcome: kcf_domain::Outcome,
    /// What was done, in plain words ("created product 112", "unchanged").
    pub note: String,
}

impl Applied {
    /// Processed, with a note.
    pub fn processed(note: impl Into<String>) -> Self {
        Self {
            outcome: kcf_domain::Outcome::Processed,
            note: note.into(),
        }
    }

    /// Filtered out, with why.
    pub fn filtered(note: impl Into<String>) -> Self {
        Self {
            outcome: kcf_domain::Outcome::Filtered,
            note: note.into(),
        }
    }

    /// Gone on its side.
    pub fn deleted(note: impl Into<String>) -> Self {
        Self {
            outcome: kcf_domain::Outcome::Deleted,
            note: note.into(),
        }
    }
}

/// Errors of the engine's own operations (set-up, batch listing, manual actions).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Bad settings, in plain words.
    #[error("{0}")]
    Setup(String),
    /// No such connector.
    #[error("there is no connector '{0}'")]
    UnknownConnector(String),
    /// The request cannot be done as asked (a bad range, an entity without batch support).
    #[error("{0}")]
    Invalid(String),
    /// An external system failed.
    #[error("{0}")]
    External(String),
    /// kcf's database failed.
    #[error("kcf's database: {0}")]
    Store(#[from] kcf_store::StoreError),
}

impl From<ApplyError> for EngineError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Store(s) => Self::Store(s),
            ApplyError::Invalid(m) => Self::Invalid(m),
            other => Self::External(other.to_string()),
        }
    }
}
