//! Who is calling: workspace users (Argon2id passwords, server-side sessions in an HttpOnly,
//! SameSite=Strict cookie), API tokens (stored as SHA-256 hashes; tokens from the config file
//! are also accepted), and the cross-site check every unsafe request passes.

use std::time::Duration;

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use kcf_domain::Timestamp;
use sha2::{Digest, Sha256};

use crate::{AppState, error::ApiError};

/// The session cookie's name.
pub const COOKIE: &str = "kcf_session";
/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// The admin user created at first start.
pub const ADMIN: &str = "admin";

/// Who made a request; handlers record it as the actor of what they change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A signed-in workspace user.
    User(String),
    /// An API token, by name.
    Token(String),
}

impl Principal {
    /// How history and logs name it.
    pub fn actor(&self) -> String {
        match self {
            Self::User(u) => format!("user:{u}"),
            Self::Token(t) => format!("token:{t}"),
        }
    }

    /// The user name, or the token's name.
    pub fn name(&self) -> &str {
        match self {
            Self::User(n) | Self::Token(n) => n,
        }
    }
}

/// SHA-256 hex of a high-entropy secret (session ids and API tokens need no slow hash).
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fresh random secret with a prefix (`kcf_…` tokens, session ids).
pub fn random_secret(prefix: &str) -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    format!(
        "{prefix}{:032x}{:032x}",
        rng.random::<u128>(),
        rng.random::<u128>()
    )
}

/// Hashes a password as an Argon2id PHC string (on a blocking thread: it is slow on purpose).
pub async fn hash_password(password: &str) -> Result<String, ApiError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
    })
    .await
    .map_err(|_| ApiError::unavailable("password hashing stopped"))?
    .map_err(|e| ApiError::bad_request(format!("cannot hash this password: {e}")))
}

/// A hash of a random password, checked against for an unknown user name (made once).
pub async fn decoy_hash() -> &'static str {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_init(|| async {
            hash_password(&random_secret("decoy-"))
                .await
                .unwrap_or_default()
        })
        .await
}

/// Checks a password against a stored PHC string.
pub async fn verify_password(password: &str, phc: &str) -> bool {
    let (password, phc) = (password.to_owned(), phc.to_owned());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Creates the admin user when no user exists (with `password`, or a generated one that is
/// returned so it can be printed once); with users present, `password` resets the admin's.
pub async fn ensure_admin(
    store: &dyn kcf_store::Store,
    password: Option<&str>,
) -> Result<Option<String>, ApiError> {
    if store.user_count().await? == 0 {
        let generated = password.is_none();
        let password = password
            .map(str::to_owned)
            .unwrap_or_else(|| random_secret("")[..20].to_owned());
        // Two processes starting at once both find no user: exactly one creates it, and
        // only that one reports a generated password.
        let created = store
            .add_user(ADMIN, &hash_password(&password).await?)
            .await?;
        if created || generated {
            return Ok((created && generated).then_some(password));
        }
    }
    if let Some(password) = password {
        store
            .put_user(ADMIN, &hash_password(password).await?)
            .await?;
    }
    Ok(None)
}

/// Throttles sign-in: after `MAX_FAILURES` failures for a user name from one client within
/// `WINDOW`, that client's further attempts for it are refused until the window has passed;
/// after `MAX_FAILURES_ANYWHERE` from all clients together, everyone's are. So one client
/// cannot lock the admin out for everybody, and guessing from many clients is still slowed.
/// The counts are kept in the database: they hold across a restart and across api processes.
#[derive(Debug, Default)]
pub struct LoginThrottle;

const MAX_FAILURES: u32 = 5;
const MAX_FAILURES_ANYWHERE: u32 = 100;
const WINDOW: Duration = Duration::from_secs(300);
/// The key of all clients together (no client address is `*`).
const ANYWHERE: &str = "*";

impl LoginThrottle {
    /// `Err(seconds to wait)` when the user name is locked out for `client`.
    pub async fn check(
        &self,
        store: &dyn kcf_store::Store,
        username: &str,
        client: &str,
    ) -> kcf_store::Result<Result<(), u64>> {
        let now = Timestamp::now();
        let start = now.minus(WINDOW);
        for (key, max) in [(client, MAX_FAILURES), (ANYWHERE, MAX_FAILURES_ANYWHERE)] {
            let (n, since) = store.sign_in_failures(username, key, start).await?;
            if n >= max {
                let left_ms = (since.0 + WINDOW.as_millis() as i64 - now.0).max(0);
                return Ok(Err(u64::try_from(left_ms / 1000).unwrap_or(0) + 1));
            }
        }
        Ok(Ok(()))
    }

    /// Records a failed attempt.
    pub async fn failed(
        &self,
        store: &dyn kcf_store::Store,
        username: &str,
        client: &str,
    ) -> kcf_store::Result<()> {
        let now = Timestamp::now();
        for key in [client, ANYWHERE] {
            store
                .count_sign_in_failure(username, key, now, now.minus(WINDOW))
                .await?;
        }
        Ok(())
    }

    /// Forgets the client's failures after a successful sign-in (and every count whose
    /// window has passed).
    pub async fn succeeded(
        &self,
        store: &dyn kcf_store::Store,
        username: &str,
        client: &str,
    ) -> kcf_store::Result<()> {
        store
            .clear_sign_in_failures(username, client, Timestamp::now().minus(WINDOW))
            .await
    }
}

/// Who is signing in, for the throttle: the connection's address, or, for a connection from
/// this machine (a reverse proxy), the first `X-Forwarded-For` address it passes on.
pub fn client_of(headers: &HeaderMap, peer: Option<std::net::SocketAddr>) -> String {
    let forwarded = || {
        headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    match peer {
        Some(p) if p.ip().is_loopback() => forwarded().unwrap_or_else(|| p.ip().to_string()),
        Some(p) => p.ip().to_string(),
        None => forwarded().unwrap_or_else(|| "unknown".into()),
    }
}

/// The scheme the browser used: `https` behind a TLS-terminating proxy that says so
/// (`X-Forwarded-Proto` or `Forwarded: proto=https`), else `http`.
pub fn request_scheme(headers: &HeaderMap) -> &'static str {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let forwarded_proto = text("x-forwarded-proto")
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    let forwarded = text("forwarded").is_some_and(|v| {
        v.split([';', ','])
            .any(|part| part.trim().eq_ignore_ascii_case("proto=https"))
    });
    if forwarded_proto || forwarded {
        "https"
    } else {
        "http"
    }
}

/// Starts a session for `username`; the `Set-Cookie` value to send, `Secure` when the browser
/// came over HTTPS.
pub async fn start_session(
    state: &AppState,
    username: &str,
    scheme: &str,
) -> Result<String, ApiError> {
    let id = random_secret("");
    let expires = Timestamp(Timestamp::now().0 + SESSION_TTL.as_millis() as i64);
    state
        .engine
        .store
        .create_session(&hash_secret(&id), username, expires)
        .await?;
    let secure = if scheme == "https" { "; Secure" } else { "" };
    Ok(format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_TTL.as_secs()
    ))
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The session id the request carries.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

async fn session_user(state: &AppState, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(id) = session_cookie(headers) else {
        return Ok(None);
    };
    Ok(state
        .engine
        .store
        .session(&hash_secret(id))
        .await?
        .map(|s| s.username))
}

/// Stores the tokens given by flags or the config file (by hash, marked `config`), so they
/// are listed and revocable like the others and still accepted after a restart without
/// them. A token revoked before stays revoked: a warning says so.
pub async fn import_config_tokens(
    store: &dyn kcf_store::Store,
    tokens: &[kcf_domain::Secret],
) -> Result<(), kcf_store::StoreError> {
    for token in tokens.iter().filter(|t| !t.is_empty()) {
        let value = token.expose();
        // A short hint only: a token typed on a command line may itself be short.
        let shown = (value.chars().count() / 3).clamp(1, 8);
        let hint: String = value.chars().take(shown).collect();
        let stored = store
            .import_api_token(
                "given at start (--api-token or the config file)",
                &hash_secret(value),
                &hint,
                "config",
            )
            .await?;
        if stored.revoked_at.is_some() {
            tracing::warn!(
                hint = %stored.hint,
                "a token given at start was revoked in the workspace; it is not accepted"
            );
        }
    }
    Ok(())
}

/// `/api/v1`: a bearer token (configured or created; all stored by hash) or a workspace
/// session.
pub async fn api(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_owned);
    let principal = match bearer {
        Some(token) => {
            // Tokens from flags and the config file were stored at start (see
            // `import_config_tokens`), so they are listed, revocable and kept like the rest.
            if let Some(t) = state
                .engine
                .store
                .use_api_token(&hash_secret(&token))
                .await?
            {
                Principal::Token(t.name)
            } else {
                return Err(ApiError::unauthorized(
                    "the API token is not valid (unknown or revoked)",
                ));
            }
        }
        None => match session_user(&state, request.headers()).await? {
            Some(user) => Principal::User(user),
            None => {
                return Err(ApiError::unauthorized(
                    "send an API token as 'Authorization: Bearer TOKEN' (create one in the \
                     workspace under API tokens)",
                ));
            }
        },
    };
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

/// Workspace pages: a session, else to the sign-in page (htmx requests get a 401 and a
/// redirect header so the whole page goes there).
pub async fn ui(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    match session_user(&state, request.headers()).await {
        Ok(Some(user)) => {
            request.extensions_mut().insert(Principal::User(user));
            next.run(request).await
        }
        Ok(None) => {
            if request.headers().contains_key("hx-request") {
                (StatusCode::UNAUTHORIZED, [("hx-redirect", "/login")]).into_response()
            } else {
                let next_path = request
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "/".into());
                let target = format!("/login?next={}", urlencode(&next_path));
                Redirect::to(&target).into_response()
            }
        }
        Err(e) => e.into_response(),
    }
}

/// Refuses unsafe requests a browser marks as coming from another site, or whose `Origin`
/// is not this server. Notification ingress is exempt (it authenticates by its own secret
/// and is called by other sites by design).
pub async fn same_origin(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let path = request.uri().path();
    let ingress = path.starts_with("/push/") || path.starts_with("/webhooks/");
    if safe || ingress {
        return next.run(request).await;
    }
    if let Some(reason) = cross_site(request.headers()) {
        return ApiError::forbidden(reason).into_response();
    }
    next.run(request).await
}

fn cross_site(headers: &HeaderMap) -> Option<String> {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(site) = site
        && !matches!(site, "same-origin" | "none")
    {
        return Some(format!(
            "refused: a {site} request may not change anything here (Sec-Fetch-Site)"
        ));
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())?;
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok())?;
    // Scheme and host both: a page on http:// must not write to the https:// site.
    let here = format!("{}://{host}", request_scheme(headers));
    (!origin.trim_end_matches('/').eq_ignore_ascii_case(&here))
        .then(|| format!("refused: Origin {origin} is not this server ({here})"))
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The workspace's pages may load scripts, styles and images only from kcf itself (no inline
/// scripts: the pages' own behaviour is in `/assets/app.js`), may not be framed, and may post
/// forms only back to kcf.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the browser hardening headers to every response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
    ] {
        headers.insert(name, axum::http::HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cross_site_requests_are_named() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(cross_site(&h).is_none());
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(cross_site(&h).is_none());
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(cross_site(&h).unwrap().contains("evil.example"));
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(cross_site(&h).unwrap().contains("cross-site"));
    }

    async fn scratch_store() -> (std::sync::Arc<dyn kcf_store::Store>, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!(
            "kcf-throttle-{}-{}.db",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        let store = kcf_store::open(&kcf_store::StoreConfig::new(format!(
            "sqlite://{}",
            path.display()
        )))
        .await
        .unwrap();
        (store, path)
    }

    #[tokio::test]
    async fn throttle_locks_after_five_failures_and_outlives_the_process() {
        let (store, path) = scratch_store().await;
        let t = LoginThrottle;
        for _ in 0..5 {
            assert!(t.check(&*store, "admin", "10.0.0.1").await.unwrap().is_ok());
            t.failed(&*store, "admin", "10.0.0.1").await.unwrap();
        }
        assert!(
            t.check(&*store, "admin", "10.0.0.1")
                .await
                .unwrap()
                .unwrap_err()
                > 0
        );
        assert!(t.check(&*store, "other", "10.0.0.1").await.unwrap().is_ok());
        // Another client is not locked out by this one's guesses.
        assert!(t.check(&*store, "admin", "10.0.0.2").await.unwrap().is_ok());
        // The count is in the database: a new process (a new store) still refuses.
        drop(store);
        let again = kcf_store::open(&kcf_store::StoreConfig::new(format!(
            "sqlite://{}",
            path.display()
        )))
        .await
        .unwrap();
        assert!(
            t.check(&*again, "admin", "10.0.0.1")
                .await
                .unwrap()
                .is_err()
        );
        t.succeeded(&*again, "admin", "10.0.0.1").await.unwrap();
        assert!(t.check(&*again, "admin", "10.0.0.1").await.unwrap().is_ok());
        drop(again);
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn guesses_from_many_clients_lock_everyone_at_a_hundred() {
        let (store, path) = scratch_store().await;
        let t = LoginThrottle;
        for n in 0..100 {
            t.failed(&*store, "admin", &format!("10.0.{}.{}", n / 4, n % 4))
                .await
                .unwrap();
        }
        assert!(
            t.check(&*store, "admin", "10.9.9.9")
                .await
                .unwrap()
                .is_err()
        );
        drop(store);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn the_client_is_the_peer_or_what_a_local_proxy_forwards() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.7, 10.0.0.1".parse().unwrap());
        let local: std::net::SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: std::net::SocketAddr = "198.51.100.2:5000".parse().unwrap();
        assert_eq!(client_of(&h, Some(local)), "203.0.113.7");
        assert_eq!(
            client_of(&h, Some(remote)),
            "198.51.100.2",
            "not trusted from afar"
        );
        assert_eq!(client_of(&HeaderMap::new(), Some(local)), "127.0.0.1");
    }

    #[tokio::test]
    async fn passwords_hash_as_argon2id() {
        let h = hash_password("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h).await);
        assert!(!verify_password("wrong", &h).await);
    }
}
