//! What can go wrong talking to BigCommerce, in words a merchant can act on, and the one
//! classifier that says whether trying again can help.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;

/// A failed call to BigCommerce.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The store's request budget is spent (a 429, or none left in the window); kcf sends
    /// nothing until it refills.
    #[error(
        "BigCommerce's request limit for this store is reached; kcf waits {} before calling again",
        seconds(*retry_after)
    )]
    RateLimited {
        /// How long until the budget refills.
        retry_after: Duration,
    },
    /// No answer within the configured timeout.
    #[error("BigCommerce did not answer in time while {action}")]
    Timeout {
        /// What kcf was doing ("reading products").
        action: String,
    },
    /// BigCommerce could not be reached at all.
    #[error("kcf could not connect to BigCommerce while {action} ({message})")]
    Connect {
        /// What kcf was doing.
        action: String,
        /// The network's reason.
        message: String,
    },
    /// The connection broke during the exchange.
    #[error("the connection to BigCommerce broke while {action} ({message})")]
    Transport {
        /// What kcf was doing.
        action: String,
        /// The network's reason.
        message: String,
    },
    /// A 5xx: BigCommerce's own trouble (503 is maintenance).
    #[error("{message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The whole sentence.
        message: String,
        /// The wait BigCommerce asked for, if it said.
        retry_after: Option<Duration>,
    },
    /// 400 or 422: the data was refused; `fields` holds BigCommerce's per-field reasons.
    #[error("{message}")]
    Invalid {
        /// The whole sentence ("BigCommerce refused the product: sku: …").
        message: String,
        /// Field → reason, as BigCommerce gave them.
        fields: Vec<(String, String)>,
    },
    /// 409 (or a 422 saying "already in use"): a duplicate SKU, name or e-mail. Look the
    /// existing record up and bind to it.
    #[error("{message}")]
    Conflict {
        /// The whole sentence.
        message: String,
    },
    /// 404: the record (or the store) does not exist.
    #[error("{message}")]
    NotFound {
        /// The whole sentence.
        message: String,
    },
    /// 401 or 403: the token is wrong or lacks a scope. Nothing works until a person fixes it.
    #[error("{message}")]
    Unauthorized {
        /// The HTTP status.
        status: u16,
        /// The whole sentence.
        message: String,
    },
    /// 413: a batch had more items than BigCommerce takes at once.
    #[error("{message}")]
    TooLarge {
        /// The whole sentence.
        message: String,
    },
    /// Any other refusal (405, 415, 507 plan limit…).
    #[error("{message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The whole sentence.
        message: String,
    },
    /// A 2xx whose body kcf could not read: cut short on the way, or garbled. Worth another
    /// try: a proxy or a half-closed connection does this, and the record is not to blame.
    #[error("BigCommerce answered {action} with something kcf could not read ({message})")]
    Decode {
        /// What kcf was doing.
        action: String,
        /// The parser's reason.
        message: String,
    },
    /// The connector's settings are unusable.
    #[error("the BigCommerce connection settings are not usable: {0}")]
    Config(String),
}

impl Error {
    /// Whether the same call may succeed later: timeouts, network failures, 5xx, answers cut
    /// short or unreadable, and rate limits. Every 4xx and bad settings are fatal.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Timeout { .. }
                | Self::Connect { .. }
                | Self::Transport { .. }
                | Self::Server { .. }
                | Self::Decode { .. }
        )
    }

    /// Whether the store itself is out or cannot answer properly (not reached, no answer in
    /// time, a 5xx, an answer cut short or unreadable): nothing about the record, so it spends
    /// no attempt; many in a row are an outage.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. }
                | Self::Connect { .. }
                | Self::Transport { .. }
                | Self::Server { .. }
                | Self::Decode { .. }
        )
    }

    /// How long BigCommerce asked kcf to wait, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The per-field reasons of an [`Error::Invalid`]; empty for every other error.
    pub fn fields(&self) -> &[(String, String)] {
        match self {
            Self::Invalid { fields, .. } => fields,
            _ => &[],
        }
    }

    /// Classifies a failed reqwest call.
    pub(crate) fn transport(action: &str, e: &reqwest::Error) -> Self {
        let action = action.to_owned();
        if e.is_timeout() {
            Self::Timeout { action }
        } else if e.is_connect() {
            Self::Connect {
                action,
                message: root_cause(e),
            }
        } else if e.is_builder() {
            Self::Config(root_cause(e))
        } else {
            Self::Transport {
                action,
                message: root_cause(e),
            }
        }
    }

    /// Classifies a non-2xx, non-429 answer about `what` ("product", "webhook"…).
    pub(crate) fn from_status(status: u16, headers: &HeaderMap, body: &[u8], what: &str) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let body_value = parsed.unwrap_or(Value::Null);
        Self::from_body(status, &body_value, what, retry_after_header(headers))
    }

    /// Classifies one error object (a whole answer, or one entry of a 207's `errors`).
    pub(crate) fn from_body(
        status: u16,
        body: &Value,
        what: &str,
        retry_after: Option<Duration>,
    ) -> Self {
        let title = title_of(body).unwrap_or_else(|| default_title(status).to_owned());
        let fields = fields_of(body);
        match status {
            400 | 422 => {
                let conflict = fields
                    .iter()
                    .map(|(_, m)| m.as_str())
                    .chain([title.as_str()])
                    .any(looks_like_duplicate);
                if conflict {
                    let reason = if fields.is_empty() {
                        title
                    } else {
                        plain_fields(&fields)
                    };
                    return Self::Conflict {
                        message: format!("BigCommerce already has this {what}: {reason}"),
                    };
                }
                let reason = if fields.is_empty() {
                    title
                } else {
                    plain_fields(&fields)
                };
                Self::Invalid {
                    message: format!("BigCommerce refused the {what}: {reason}"),
                    fields,
                }
            }
            409 => Self::Conflict {
                message: format!("BigCommerce already has this {what}: {title}"),
            },
            404 => Self::NotFound {
                message: format!("BigCommerce has no such {what} ({title})"),
            },
            401 => Self::Unauthorized {
                status,
                message: format!(
                    "BigCommerce did not accept kcf's access token ({title}); check the store hash \
                     and paste the API account's access token again"
                ),
            },
            403 => Self::Unauthorized {
                status,
                message: format!(
                    "BigCommerce refused access to the {what} ({title}); give the API account \
                     the scopes kcf needs (products, customers, orders, webhooks: modify)"
                ),
            },
            413 => Self::TooLarge {
                message: format!("BigCommerce refused a batch of {what}s as too large: {title}"),
            },
            507 => Self::Rejected {
                status,
                message: format!(
                    "BigCommerce refused the {what}: the store's plan limit is reached ({title})"
                ),
            },
            503 => Self::Server {
                status,
                message: format!("BigCommerce is unavailable, perhaps for maintenance ({title})"),
                retry_after,
            },
            500..=599 => Self::Server {
                status,
                message: format!("BigCommerce had a problem of its own ({status}: {title})"),
                retry_after,
            },
            _ => Self::Rejected {
                status,
                message: format!("BigCommerce refused the {what} ({status}: {title})"),
            },
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn default_title(status: u16) -> &'static str {
    match status {
        400 => "the request was malformed",
        401 => "not authenticated",
        403 => "not allowed",
        404 => "not found",
        409 => "a duplicate",
        413 => "too many items",
        422 => "the data is invalid",
        503 => "service unavailable",
        500..=599 => "server error",
        _ => "no reason given",
    }
}

/// v3 bodies carry `title`; v2 bodies are `[{"status", "message"}]`.
fn title_of(body: &Value) -> Option<String> {
    let one = match body {
        Value::Array(items) => items.first()?,
        other => other,
    };
    ["title", "message", "detail"]
        .iter()
        .find_map(|k| one.get(k).and_then(Value::as_str))
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.trim().to_owned())
}

/// The `errors` map, flattened to `field → reason`; a leading batch index (`0.email`) is
/// dropped because kcf sends one record per call whenever it reads these.
fn fields_of(body: &Value) -> Vec<(String, String)> {
    let Some(errors) = body.get("errors").and_then(Value::as_object) else {
        return Vec::new();
    };
    errors
        .iter()
        .map(|(field, reason)| {
            let field = match field.split_once('.') {
                Some((index, rest)) if index.parse::<usize>().is_ok() => rest,
                _ => field.as_str(),
            };
            let reason = match reason {
                Value::String(s) => s.clone(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            (field.to_owned(), reason)
        })
        .collect()
}

fn plain_fields(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(f, m)| format!("{f}: {m}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn looks_like_duplicate(message: &str) -> bool {
    let m = message.to_lowercase();
    m.contains("already in use") || m.contains("already exists") || m.contains("duplicate")
}

/// `Retry-After` in seconds or as an HTTP date.
pub(crate) fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.as_millisecond() - jiff::Timestamp::now().as_millisecond();
    Some(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
