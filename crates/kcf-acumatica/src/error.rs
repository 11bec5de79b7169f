//! What can go wrong talking to Acumatica, and the one place that says whether trying again
//! can help.

use std::time::Duration;

use serde_json::Value;

/// An Acumatica call that did not work. The messages are in plain words, fit for a person.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot work (bad URL, missing user); fix it and restart.
    #[error("the Acumatica settings are not usable: {0}")]
    Config(String),
    /// kcf was asked for something Acumatica cannot be asked (a bad key or query value).
    #[error("kcf cannot ask Acumatica this: {0}")]
    Invalid(String),
    /// The server could not be reached, or the connection broke.
    #[error("could not reach Acumatica: {0}")]
    Connect(String),
    /// No answer in time.
    #[error("Acumatica did not answer in time ({0})")]
    Timeout(String),
    /// The sign-in was refused: wrong user, password, tenant or client.
    #[error("Acumatica refused the sign-in: {0}")]
    Unauthorized(String),
    /// The sign-in worked, but the session was gone again before the request it was for
    /// (sessions ended by a timeout, a restart or an administrator while we signed in).
    /// Nothing is wrong with the settings: trying again later can work.
    #[error("Acumatica kept ending the session right after signing in: {0}")]
    SessionLost(String),
    /// Too many requests or sessions (429, "API Login Limit"): wait and try again.
    #[error("Acumatica is busy (license limits){}: {message}", retry_after.map(|d| format!(", retry in {} s", d.as_secs())).unwrap_or_default())]
    Throttled {
        /// How long the server asked us to wait, if it said.
        retry_after: Option<Duration>,
        /// What it said.
        message: String,
    },
    /// The record asked for does not exist.
    #[error("Acumatica has no such record: {0}")]
    NotFound(String),
    /// Acumatica refused a record (422): the fields it named and why.
    #[error("Acumatica refused the {entity}: {}", describe(fields))]
    Validation {
        /// The entity (SalesOrder, Customer…).
        entity: String,
        /// (field path, message), e.g. `("Details.InventoryID", "'Inventory ID' X cannot be
        /// found in the system.")`; the path is empty for a message about the whole record.
        fields: Vec<(String, String)>,
    },
    /// Any other error status, with Acumatica's own message.
    #[error("Acumatica answered {status}: {message}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// Acumatica's `exceptionMessage` or `message`, or the start of the body.
        message: String,
    },
    /// A successful answer kcf could not read.
    #[error("Acumatica's answer could not be read: {0}")]
    Decode(String),
}

fn describe(fields: &[(String, String)]) -> String {
    if fields.is_empty() {
        return "no reason was given".into();
    }
    fields
        .iter()
        .map(|(f, m)| {
            if f.is_empty() {
                m.clone()
            } else {
                format!("{f}: {m}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// Whether the same call may work later: timeouts, connection failures, 5xx, 429, answers
    /// cut short or unreadable, and a session lost again just after signing in are worth
    /// retrying; refusals (400, 404, 412, 422), a refused sign-in and bad settings are not.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Connect(_)
            | Self::Timeout(_)
            | Self::Throttled { .. }
            | Self::SessionLost(_)
            | Self::Decode(_) => true,
            Self::Http { status, .. } => *status >= 500 || *status == 408,
            Self::Config(_)
            | Self::Invalid(_)
            | Self::Unauthorized(_)
            | Self::NotFound(_)
            | Self::Validation { .. } => false,
        }
    }

    /// Whether Acumatica itself is out or cannot answer properly (not reached, no answer in
    /// time, a 5xx, an answer cut short or unreadable, sessions ended as fast as they are
    /// opened): nothing about the record, so it spends no attempt; many in a row are an outage.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Connect(_) | Self::Timeout(_) | Self::SessionLost(_) | Self::Decode(_) => true,
            Self::Http { status, .. } => *status >= 500 || *status == 408,
            _ => false,
        }
    }

    /// The wait the server asked for (`Retry-After`), when it asked.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status behind the error, when there was one (412 tells a failed
    /// `If-Match`/`If-None-Match` apart).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Http { status, .. } => Some(*status),
            Self::NotFound(_) => Some(404),
            Self::Validation { .. } => Some(422),
            Self::Throttled { .. } => Some(429),
            Self::Unauthorized(_) | Self::SessionLost(_) => Some(401),
            _ => None,
        }
    }

    pub(crate) fn from_reqwest(e: &reqwest::Error, what: &str) -> Self {
        if e.is_timeout() {
            Self::Timeout(what.to_owned())
        } else if e.is_builder() {
            Self::Config(format!("{what}: {e}"))
        } else {
            // Connection refused, reset, TLS failures and bodies cut short: all worth a retry.
            Self::Connect(format!("{what}: {}", chain(e)))
        }
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Acumatica's message from an error body: `exceptionMessage` (the specific one), `message`,
/// an OAuth `error_description`, or the start of the text.
pub(crate) fn message_of(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let field = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let found = field("exceptionMessage")
            .or_else(|| field("message"))
            .or_else(|| field("error_description"))
            .or_else(|| field("title"))
            .or_else(|| field("error"));
        if let Some(m) = found {
            return m.to_owned();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "no details were given".into();
    }
    text.chars().take(300).collect()
}

/// `Retry-After` as seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    let wait = at.as_millisecond() - jiff::Timestamp::now().as_millisecond();
    Some(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn classifies_retriable_and_fatal() {
        let http = |status| Error::Http {
            status,
            message: "x".into(),
        };
        assert!(http(500).is_retriable() && http(503).is_retriable());
        for s in [400, 404, 412, 422] {
            assert!(!http(s).is_retriable(), "{s}");
        }
        assert!(Error::Timeout("GET".into()).is_retriable());
        assert!(Error::Connect("refused".into()).is_retriable());
        let throttled = Error::Throttled {
            retry_after: Some(Duration::from_secs(3)),
            message: "API Login Limit".into(),
        };
        assert!(throttled.is_retriable());
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(3)));
        assert!(Error::Decode("eof".into()).is_retriable());
        assert!(Error::Decode("eof".into()).is_unavailable());
        assert!(!http(422).is_unavailable() && http(502).is_unavailable());
        assert!(!Error::Unauthorized("Invalid credentials".into()).is_retriable());
        assert_eq!(http(412).status(), Some(412));
    }

    #[test]
    fn validation_reads_in_plain_words() {
        let e = Error::Validation {
            entity: "SalesOrder".into(),
            fields: vec![
                (
                    "CustomerID".into(),
                    "'Customer' cannot be found in the system.".into(),
                ),
                (
                    "Details.InventoryID".into(),
                    "'Inventory ID' XYZ cannot be found in the system.".into(),
                ),
            ],
        };
        assert_eq!(
            e.to_string(),
            "Acumatica refused the SalesOrder: CustomerID: 'Customer' cannot be found in the system.; \
             Details.InventoryID: 'Inventory ID' XYZ cannot be found in the system."
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(120);
        let header = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&later)
            .unwrap();
        let wait = parse_retry_after(&header).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn messages_prefer_the_specific_one() {
        let body =
            br#"{"message":"An error has occurred.","exceptionMessage":"Invalid credentials."}"#;
        assert_eq!(message_of(body), "Invalid credentials.");
        assert_eq!(message_of(b"<html>oops</html>"), "<html>oops</html>");
        assert_eq!(message_of(b""), "no details were given");
    }
}
