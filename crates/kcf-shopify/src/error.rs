//! What can go wrong talking to Shopify, in words a merchant can act on, and the one
//! classifier that says whether trying again can help.

use std::time::Duration;

/// One `userErrors` entry: the input path at fault, Shopify's message and code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct UserError {
    /// The input path (`["input", "variants", "0"]`).
    #[serde(default)]
    pub field: Option<Vec<String>>,
    /// What Shopify says.
    pub message: String,
    /// Its code (`TAKEN`, `OPTIONS_OVER_LIMIT`…), when it gave one.
    #[serde(default)]
    pub code: Option<String>,
}

/// A failed call to Shopify.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The shop's query-cost bucket holds too few points (Shopify answered THROTTLED, or kcf
    /// saw it coming); kcf sends nothing until it refills.
    #[error(
        "Shopify's query-cost budget for this shop is spent; kcf waits {:.1} s for it to refill",
        retry_after.as_secs_f64()
    )]
    RateLimited {
        /// How long until the bucket holds enough again.
        retry_after: Duration,
    },
    /// No answer within the configured timeout.
    #[error("Shopify did not answer in time while {action}")]
    Timeout {
        /// What kcf was doing.
        action: String,
    },
    /// Shopify could not be reached, or the connection broke.
    #[error("kcf could not talk to Shopify while {action} ({message})")]
    Transport {
        /// What kcf was doing.
        action: String,
        /// The network's reason.
        message: String,
    },
    /// A 5xx, or an answer that is not the JSON Shopify sends.
    #[error("Shopify could not answer properly while {action}: {message}")]
    Server {
        /// What kcf was doing.
        action: String,
        /// What was wrong.
        message: String,
        /// The HTTP status (0 for an unreadable body).
        status: u16,
    },
    /// 401 or 403: the token is wrong, revoked, or lacks a scope.
    #[error("Shopify refused kcf's access token ({status}): {message}")]
    Unauthorized {
        /// The HTTP status.
        status: u16,
        /// What Shopify said.
        message: String,
    },
    /// The query itself was refused (`errors[]`): kcf's mistake, or an API version that no
    /// longer has a field.
    #[error("Shopify refused the query while {action}: {message}")]
    Query {
        /// What kcf was doing.
        action: String,
        /// The messages, joined.
        message: String,
    },
    /// The data was refused (`userErrors`).
    #[error("Shopify refused {what}: {}", joined(errors))]
    Refused {
        /// What kcf was writing ("the product").
        what: String,
        /// Shopify's reasons.
        errors: Vec<UserError>,
    },
    /// The record addressed does not exist.
    #[error("{message}")]
    NotFound {
        /// The whole sentence.
        message: String,
    },
    /// The settings cannot work.
    #[error("{0}")]
    Config(String),
}

fn joined(errors: &[UserError]) -> String {
    errors
        .iter()
        .map(|e| match &e.field {
            Some(f) if !f.is_empty() => format!("{}: {}", f.join("."), e.message),
            _ => e.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// Whether another attempt later can succeed without anyone changing anything.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Timeout { .. }
                | Self::Transport { .. }
                | Self::Server { .. }
        )
    }

    /// Whether Shopify is out or cannot answer properly.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::Transport { .. } | Self::Server { .. }
        )
    }

    /// How long Shopify asked kcf to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// Whether the refusal carries this `userErrors` code.
    pub fn has_code(&self, code: &str) -> bool {
        matches!(self, Self::Refused { errors, .. } if errors.iter().any(|e| e.code.as_deref() == Some(code)))
    }

    pub(crate) fn transport(action: &str, e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout {
                action: action.to_owned(),
            }
        } else {
            Self::Transport {
                action: action.to_owned(),
                message: e.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_as_fields_and_messages() {
        let e = Error::Refused {
            what: "the product".into(),
            errors: vec![UserError {
                field: Some(vec!["input".into(), "productOptions".into()]),
                message: "Can only specify a maximum of 3 options".into(),
                code: Some("OPTIONS_OVER_LIMIT".into()),
            }],
        };
        assert_eq!(
            e.to_string(),
            "Shopify refused the product: input.productOptions: Can only specify a maximum of 3 options"
        );
        assert!(e.has_code("OPTIONS_OVER_LIMIT"));
        assert!(!e.is_retriable());
        let t = Error::RateLimited {
            retry_after: Duration::from_millis(1500),
        };
        assert!(t.is_retriable() && !t.is_unavailable());
        assert_eq!(t.retry_after(), Some(Duration::from_millis(1500)));
    }
}
