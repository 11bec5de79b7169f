//! One error type for every platform: what went wrong (its cause, kept as a source) and what
//! kind of failure it is, which is all the worker needs to decide what to do.

use std::time::Duration;

use kcf_domain::Platform;

/// What kind of failure a platform call met, sorted by what kcf does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The platform's rate or license limit: the connector waits (this long, when it said).
    RateLimited {
        /// How long the platform asked kcf to wait.
        retry_after: Option<Duration>,
    },
    /// The platform is out or cannot answer properly (not reached, no answer in time, a 5xx,
    /// an answer cut short or unreadable).
    Unavailable {
        /// How long the platform asked kcf to wait.
        retry_after: Option<Duration>,
    },
    /// The platform refused kcf's sign-in (wrong credentials).
    SignInRefused,
    /// About the request, and worth another attempt later.
    Retry {
        /// How long the platform asked kcf to wait.
        retry_after: Option<Duration>,
    },
    /// The record addressed does not exist there (any more).
    NotFound,
    /// The record cannot be created: one with its key or name exists already (or a
    /// precondition on its existence failed).
    Conflict,
    /// The platform refused the request as it is; another attempt would fail the same way.
    Invalid,
    /// The record cannot be written as it is, in kcf's own words (no platform call failed):
    /// shown without the platform's name in front.
    Record,
}

impl ErrorKind {
    /// The kind of a failure that is none of the specific ones (rate limit, sign-in, not found,
    /// conflict): from what the client's own classifier says of it.
    pub fn from_client(unavailable: bool, retriable: bool, retry_after: Option<Duration>) -> Self {
        if unavailable {
            Self::Unavailable { retry_after }
        } else if retriable {
            Self::Retry { retry_after }
        } else {
            Self::Invalid
        }
    }
}

/// A failed platform call: its platform, its kind, and its cause.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.words())]
pub struct PlatformError {
    /// Which platform.
    pub platform: Platform,
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What happened.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
    /// What kcf was doing ("listing StockItem"), when the caller said.
    pub doing: Option<String>,
}

impl PlatformError {
    /// A failure of `kind`, caused by `source`.
    pub fn new(
        platform: Platform,
        kind: ErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            platform,
            kind,
            source: source.into(),
            doing: None,
        }
    }

    /// The same error, saying what kcf was doing ("listing StockItem: Acumatica: …").
    #[must_use]
    pub fn doing(mut self, what: impl Into<String>) -> Self {
        self.doing = Some(what.into());
        self
    }

    /// A record that cannot be written as it is, in plain words.
    pub fn record(platform: Platform, message: impl Into<String>) -> Self {
        Self::new(platform, ErrorKind::Record, message.into())
    }

    /// The record addressed does not exist.
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// One with its key exists already.
    pub fn is_conflict(&self) -> bool {
        self.kind == ErrorKind::Conflict
    }

    /// How long the platform asked kcf to wait, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            ErrorKind::RateLimited { retry_after }
            | ErrorKind::Unavailable { retry_after }
            | ErrorKind::Retry { retry_after } => retry_after,
            _ => None,
        }
    }

    /// The words a person reads: "Acumatica: …", or kcf's own for a [`ErrorKind::Record`].
    pub fn words(&self) -> String {
        let words = match self.kind {
            ErrorKind::Record => self.source.to_string(),
            _ => format!("{}: {}", self.platform.label(), self.source),
        };
        match &self.doing {
            Some(doing) => format!("{doing}: {words}"),
            None => words,
        }
    }
}

/// The result of a platform call.
pub type Result<T, E = PlatformError> = std::result::Result<T, E>;
