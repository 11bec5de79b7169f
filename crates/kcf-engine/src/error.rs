//! What can go wrong while applying a message, sorted by what the worker does about it.

use std::time::Duration;

use kcf_domain::{Platform, Timestamp};
use kcf_platform::{ErrorKind, PlatformError};

/// Why an apply did not finish, sorted by what the worker does about it: only
/// [`ApplyError::Retry`] and [`ApplyError::Invalid`] are about the record itself and spend its
/// attempts; the others are about the other system, and the record waits without spending any.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// About the record, and worth another attempt later (a dependency not synced yet).
    #[error("{message}")]
    Retry {
        /// What happened, in plain words.
        message: String,
        /// Not before this long (the other side said so).
        after: Option<Duration>,
    },
    /// The other system is out or cannot answer properly (not reached, no answer in time, a
    /// 5xx, an answer cut short or unreadable): tried again later without spending an attempt;
    /// enough of these in a row put the connector in an outage.
    #[error("{message}")]
    Unavailable {
        /// Which system.
        system: Platform,
        /// What happened, in plain words.
        message: String,
        /// Not before this long (the other side said so).
        after: Option<Duration>,
    },
    /// A rate limit or license limit of either system: the whole connector waits until
    /// `until`, and the message is tried again then without spending an attempt.
    #[error("{message}")]
    RateLimited {
        /// What happened, in plain words.
        message: String,
        /// When the budget resets.
        until: Timestamp,
    },
    /// The other system refused kcf's sign-in (wrong credentials): the connector waits for a
    /// person to fix its connection settings.
    #[error("{message}")]
    SignInRefused {
        /// Which system.
        system: Platform,
        /// What it said.
        message: String,
    },
    /// Must wait for something else kcf is doing (a store order not yet in the ERP): tried
    /// again after `after`, without spending an attempt.
    #[error("{message}")]
    Waiting {
        /// What it waits for, in plain words.
        message: String,
        /// How long.
        after: Duration,
    },
    /// Cannot be synced as it is; another attempt would fail the same way.
    #[error("{0}")]
    Invalid(String),
    /// kcf's own database failed; the message is released, not failed.
    #[error("kcf's database: {0}")]
    Store(#[from] kcf_store::StoreError),
}

/// How long a license or rate limit that named no time is waited out.
const DEFAULT_LIMIT_PAUSE: Duration = Duration::from_secs(5);

impl ApplyError {
    /// A retriable error with no wait imposed by the other side.
    pub fn retry(message: impl Into<String>) -> Self {
        Self::Retry {
            message: message.into(),
            after: None,
        }
    }

    /// The same error, its words prefixed with what kcf was doing ("listing orders: …").
    pub fn context(self, doing: &str) -> Self {
        let with = |m: String| format!("{doing}: {m}");
        match self {
            Self::Retry { message, after } => Self::Retry {
                message: with(message),
                after,
            },
            Self::Unavailable {
                system,
                message,
                after,
            } => Self::Unavailable {
                system,
                message: with(message),
                after,
            },
            Self::RateLimited { message, until } => Self::RateLimited {
                message: with(message),
                until,
            },
            Self::SignInRefused { system, message } => Self::SignInRefused {
                system,
                message: with(message),
            },
            Self::Waiting { message, after } => Self::Waiting {
                message: with(message),
                after,
            },
            Self::Invalid(m) => Self::Invalid(with(m)),
            Self::Store(s) => Self::Store(s),
        }
    }

    /// A copy (the database error becomes a retry; it has no `Clone`).
    pub fn duplicate(&self) -> Self {
        match self {
            Self::Retry { message, after } => Self::Retry {
                message: message.clone(),
                after: *after,
            },
            Self::Unavailable {
                system,
                message,
                after,
            } => Self::Unavailable {
                system: *system,
                message: message.clone(),
                after: *after,
            },
            Self::RateLimited { message, until } => Self::RateLimited {
                message: message.clone(),
                until: *until,
            },
            Self::SignInRefused { system, message } => Self::SignInRefused {
                system: *system,
                message: message.clone(),
            },
            Self::Waiting { message, after } => Self::Waiting {
                message: message.clone(),
                after: *after,
            },
            Self::Invalid(m) => Self::Invalid(m.clone()),
            Self::Store(s) => Self::retry(format!("kcf's database: {s}")),
        }
    }
}

impl From<PlatformError> for ApplyError {
    fn from(e: PlatformError) -> Self {
        let system = e.platform;
        let message = e.words();
        match e.kind {
            ErrorKind::RateLimited { retry_after } => Self::RateLimited {
                message,
                until: Timestamp::now().plus(retry_after.unwrap_or(DEFAULT_LIMIT_PAUSE)),
            },
            ErrorKind::SignInRefused => Self::SignInRefused { system, message },
            ErrorKind::Unavailable { retry_after } => Self::Unavailable {
                system,
                message,
                after: retry_after,
            },
            ErrorKind::Retry { retry_after } => Self::Retry {
                message,
                after: retry_after,
            },
            ErrorKind::NotFound | ErrorKind::Conflict | ErrorKind::Invalid | ErrorKind::Record => {
                Self::Invalid(message)
            }
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
    /// Well-formed, but what the other systems hold refuses it (a mapping value neither
    /// system offers).
    #[error("{0}")]
    Conflict(String),
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
