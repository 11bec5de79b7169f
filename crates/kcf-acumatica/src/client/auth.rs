//! Signing in and out: a cookie session (`/entity/auth/login`) or an OAuth 2.0 password-grant
//! bearer token (`/identity/connect/token`). Sign-ins are serialized by one lock, and each
//! bumps a generation counter, so any number of requests that meet a 401 together cause one
//! sign-in.

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use kcf_domain::Secret;

use super::{AcumaticaClient, Answer, Body, Call};
use crate::{AcumaticaAuth, Error};

/// An OAuth access token (hidden from `Debug`) and when to stop using it.
#[derive(Debug, Clone)]
pub(super) struct Bearer {
    token: Secret,
    use_until: Instant,
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl AcumaticaClient {
    /// Signs in now (calls otherwise sign in lazily). Does nothing when already signed in.
    #[tracing::instrument(skip_all, err)]
    pub async fn login(&self) -> Result<(), Error> {
        self.ensure_signed_in().await.map(|_| ())
    }

    /// Signs out, freeing the license's API-user slot at once rather than when the session
    /// times out. Does nothing when not signed in; the next call signs in again.
    #[tracing::instrument(skip_all, err)]
    pub async fn logout(&self) -> Result<(), Error> {
        let _guard = self.inner.session.lock().await;
        if !self.inner.signed_in.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        let url = self.url(&["entity", "auth", "logout"])?;
        let answer = self
            .send_once(&Call {
                method: Method::POST,
                ..Call::get(url)
            })
            .await;
        self.set_bearer(None);
        self.keep(false).await;
        answer?.check("sign-out").map(|_| ())
    }

    /// Signs in and reads the list of endpoints, checking that the configured one is served.
    #[tracing::instrument(skip_all, err)]
    pub async fn test_connection(&self) -> Result<(), Error> {
        let url = self.url(&["entity"])?;
        let answer = self
            .execute(&Call::get(url))
            .await?
            .check("endpoint list")?;
        let list = answer.json("the endpoint list")?;
        let [name, version] = &self.inner.endpoint;
        let offered: Vec<String> = list
            .get("endpoints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some(format!(
                    "{}/{}",
                    e.get("name")?.as_str()?,
                    e.get("version")?.as_str()?
                ))
            })
            .collect();
        let wanted = format!("{name}/{version}");
        if offered.is_empty() || offered.iter().any(|o| o.eq_ignore_ascii_case(&wanted)) {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "this Acumatica does not serve the endpoint {wanted}; it serves {}",
                offered.join(", ")
            )))
        }
    }

    pub(super) fn bearer_token(&self) -> Option<String> {
        self.inner
            .bearer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|b| b.token.expose().to_owned())
    }

    fn set_bearer(&self, bearer: Option<Bearer>) {
        *self.inner.bearer.write().unwrap_or_else(|p| p.into_inner()) = bearer;
    }

    fn is_signed_in(&self) -> bool {
        if !self.inner.signed_in.load(Ordering::SeqCst) {
            return false;
        }
        match self.inner.config.auth {
            AcumaticaAuth::Cookie { .. } => true,
            AcumaticaAuth::OAuth { .. } => self
                .inner
                .bearer
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .is_some_and(|b| Instant::now() < b.use_until),
        }
    }

    /// Signs in unless signed in; returns the generation the caller's request runs under.
    pub(super) async fn ensure_signed_in(&self) -> Result<u64, Error> {
        if self.is_signed_in() {
            return Ok(self.generation());
        }
        let _guard = self.inner.session.lock().await;
        if !self.is_signed_in() && !self.resume_kept(None).await {
            self.sign_in().await?;
        }
        Ok(self.generation())
    }

    /// Signs in again after a 401, unless another request already did since `seen`; returns
    /// the generation the retry runs under.
    pub(super) async fn sign_in_again(&self, seen: u64) -> Result<u64, Error> {
        let _guard = self.inner.session.lock().await;
        if self.generation() != seen && self.is_signed_in() {
            return Ok(self.generation());
        }
        let failed = self.session_cookies();
        self.inner.signed_in.store(false, Ordering::SeqCst);
        // Another process of the connector may have signed in since: its session is the kept
        // one now. Only when the kept one is the one that failed, sign in anew.
        if !self.resume_kept(failed.as_deref()).await {
            self.sign_in().await?;
        }
        Ok(self.generation())
    }

    /// Counts a new session (signed in, or resumed): requests that met a 401 under an older
    /// generation retry under this one instead of signing in again.
    pub(super) fn mark_signed_in(&self) {
        self.inner.signed_in.store(true, Ordering::SeqCst);
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Signs in; the caller holds the session lock.
    async fn sign_in(&self) -> Result<(), Error> {
        match &self.inner.config.auth {
            AcumaticaAuth::Cookie {
                username,
                password,
                tenant,
                branch,
            } => {
                let mut body = json!({
                    "name": username, "password": password.expose(), "tenant": tenant,
                });
                if let Some(branch) = branch {
                    body["branch"] = json!(branch);
                }
                let url = self.url(&["entity", "auth", "login"])?;
                let answer = self
                    .send_once(&Call::with_body(Method::POST, url, &body))
                    .await?;
                if !answer.status.is_success() {
                    return Err(refusal(answer));
                }
            }
            AcumaticaAuth::OAuth {
                client_id,
                client_secret,
                username,
                password,
            } => {
                self.set_bearer(None);
                let form = form_encode(&[
                    ("grant_type", "password"),
                    ("client_id", client_id),
                    ("client_secret", client_secret.expose()),
                    ("username", username),
                    ("password", password.expose()),
                    ("scope", "api"),
                ]);
                let url = self.url(&["identity", "connect", "token"])?;
                let answer = self
                    .send_once(&Call {
                        method: Method::POST,
                        body: Body::Form(form),
                        ..Call::get(url)
                    })
                    .await?;
                if !answer.status.is_success() {
                    return Err(refusal(answer));
                }
                let token: TokenAnswer = serde_json::from_slice(&answer.body)
                    .map_err(|e| Error::Decode(format!("the OAuth token: {e}")))?;
                let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600));
                // Renew a little early so a request never leaves with a token about to lapse.
                let margin = (lifetime / 10).min(Duration::from_secs(60));
                self.set_bearer(Some(Bearer {
                    token: Secret::new(token.access_token),
                    use_until: Instant::now() + lifetime - margin,
                }));
            }
        }
        self.mark_signed_in();
        tracing::info!(
            base_url = %self.inner.config.base_url,
            "signed in to Acumatica"
        );
        self.keep(true).await;
        Ok(())
    }
}

/// The error a refused sign-in means: the license's user limit is busy (retriable), the
/// credentials are wrong (fatal), or something else.
fn refusal(answer: Answer) -> Error {
    if answer.status == StatusCode::TOO_MANY_REQUESTS || answer.login_limit() {
        return Error::Throttled {
            retry_after: answer.retry_after(),
            message: answer.message(),
        };
    }
    let message = answer.message();
    let oauth_error = serde_json::from_slice::<Value>(&answer.body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
        .filter(|e| e.starts_with("invalid_") || e.starts_with("unauthorized_"));
    let lower = message.to_lowercase();
    let bad_credentials = matches!(
        answer.status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ) || oauth_error.is_some()
        || lower.contains("invalid credentials")
        || lower.contains("password")
        || lower.contains("user name");
    if bad_credentials {
        return Error::Unauthorized(match oauth_error {
            Some(code) if !message.contains(&code) => format!("{code}: {message}"),
            _ => message,
        });
    }
    match answer.check("sign-in") {
        Err(e) => e,
        Ok(a) => Error::Http {
            status: a.status.as_u16(),
            message: a.message(),
        },
    }
}

/// `application/x-www-form-urlencoded`.
fn form_encode(pairs: &[(&str, &str)]) -> String {
    fn encode(s: &str, out: &mut String) {
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    out.push(char::from(b));
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (n, (k, v)) in pairs.iter().enumerate() {
        if n > 0 {
            out.push('&');
        }
        encode(k, &mut out);
        out.push('=');
        encode(v, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_what_it_must() {
        assert_eq!(
            form_encode(&[("client_id", "abc@Company"), ("password", "p&s=w rd+ø")]),
            "client_id=abc%40Company&password=p%26s%3Dw+rd%2B%C3%B8"
        );
    }
}
