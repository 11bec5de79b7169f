//! Who may do what: workspace sign-in and sessions, API tokens, the cross-site check, sign-in
//! throttling, and credentials at rest. Each runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, Options, TOKEN};
use kcf_domain::{ConnectorId, Secret};
use reqwest::{Method, StatusCode, redirect::Policy};
use serde_json::json;

both_backends!(
    workspace_sign_in_sessions_and_throttle,
    api_tokens_are_created_used_and_revoked,
    configured_tokens_are_kept_and_revocable,
    cross_site_writes_are_refused,
    a_database_dump_holds_no_plaintext_credential,
    stored_credentials_never_follow_a_new_address,
    sign_in_stays_on_this_site_and_keeps_the_password_whole,
    behind_tls_the_cookie_is_secure_and_the_origin_scheme_counts,
    one_client_cannot_lock_the_admin_out,
);

fn opts() -> Options {
    Options {
        workers: false,
        ..Options::default()
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn workspace_sign_in_sessions_and_throttle(backend: &str) {
    let h = Harness::with(backend, opts()).await;
    kcf_server::auth::ensure_admin(&*h.db.store, Some("right-password"))
        .await
        .unwrap();
    let web = browser();
    // Every workspace page needs a session; the sign-in page remembers where we were going.
    let r = web
        .get(format!("{}/connectors/test/settings", h.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/login?next=/connectors/test/settings"
    );

    let login = |password: &'static str| {
        web.post(format!("{}/login", h.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("username=admin&password={password}&next=/"))
            .send()
    };
    let ok = login("right-password").await.unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let home = web
        .get(format!("{}/", h.url()))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    // No inline scripts, no framing, no sniffing; the server's time is reported.
    let csp = home.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(home.headers()["x-content-type-options"], "nosniff");
    assert!(
        home.headers()["server-timing"]
            .to_str()
            .unwrap()
            .starts_with("app;dur=")
    );
    let page = home.text().await.unwrap();
    assert!(page.contains("Recent failures"));
    assert!(
        !page.contains(" onclick=") && !page.contains(" onchange=") && !page.contains("<script>"),
        "inline script in the home page"
    );
    // The session also opens the API (the workspace's own scripts use it).
    let api = web
        .get(format!("{}/api/v1/connectors", h.url()))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    // Only a hash of the session id is stored.
    let id = session.split('=').nth(1).unwrap();
    assert!(h.db.store.session(id).await.unwrap().is_none());
    assert!(
        h.db.store
            .session(&kcf_server::auth::hash_secret(id))
            .await
            .unwrap()
            .is_some()
    );

    // Sign-out ends it on the server, not only in the browser.
    let out = web
        .post(format!("{}/logout", h.url()))
        .header("cookie", &session)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = web
        .get(format!("{}/", h.url()))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);

    // Wrong passwords: refused, then throttled, and then even the right one waits.
    for _ in 0..5 {
        assert_eq!(
            login("wrong").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = login("right-password").await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.text().await.unwrap().contains("try again in"));
    h.stop().await;
}

async fn api_tokens_are_created_used_and_revoked(backend: &str) {
    let h = Harness::with(backend, opts()).await;
    let (status, created) = h
        .api(Method::POST, "/tokens", Some(json!({ "name": "ci" })))
        .await;
    assert_eq!(status, 200, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("kcf_"));
    let call = |t: String| {
        h.http
            .get(format!("{}/api/v1/connectors", h.url()))
            .bearer_auth(t)
            .send()
    };
    assert_eq!(call(token.clone()).await.unwrap().status(), 200);
    let (_, list) = h.api(Method::GET, "/tokens", None).await;
    // The token the harness gave at start is listed too, marked as such.
    let given = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["created_by"] == "config")
        .unwrap_or_else(|| panic!("the configured token is listed: {list}"));
    assert!(given["revoked_at"].is_null(), "{given}");
    assert!(
        given["hint"].as_str().unwrap().len() < TOKEN.len() / 2,
        "the hint does not show the token: {given}"
    );
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ci")
        .unwrap();
    assert_eq!(listed["name"], "ci");
    assert!(listed["last_used_at"].is_i64(), "{listed}");
    assert!(
        listed.get("token").is_none(),
        "a listed token shows its value"
    );
    // Bad input says what is wrong.
    let (status, body) = h
        .api(Method::POST, "/tokens", Some(json!({ "name": "" })))
        .await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("name"));

    let id = created["id"].as_i64().unwrap();
    let (status, _) = h.api(Method::DELETE, &format!("/tokens/{id}"), None).await;
    assert_eq!(status, 200);
    let refused = call(token).await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.text().await.unwrap().contains("revoked"));
    let (status, _) = h.api(Method::DELETE, &format!("/tokens/{id}"), None).await;
    assert_eq!(status, 404);
    assert_eq!(call("kcf_guess".into()).await.unwrap().status(), 401);
    h.stop().await;
}

/// A token given at start (`--api-token`, the config file) is stored: a restart without the
/// flag still accepts it, and once revoked it stays refused even when given again.
async fn configured_tokens_are_kept_and_revocable(backend: &str) {
    let h = Harness::with(backend, opts()).await;
    let start_with = |tokens: Vec<Secret>| {
        let engine = h.engine.clone();
        async move {
            kcf_server::start(
                engine,
                Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()),
                kcf_server::AppConfig {
                    api: true,
                    worker: false,
                    api_tokens: tokens,
                    ..kcf_server::AppConfig::default()
                },
            )
            .await
            .unwrap()
        }
    };
    let call = |url: String| {
        h.http
            .get(format!("{url}/api/v1/connectors"))
            .bearer_auth(TOKEN)
            .send()
    };
    // Restarted without the flag: the token still works.
    let plain = start_with(Vec::new()).await;
    assert_eq!(call(plain.url().unwrap()).await.unwrap().status(), 200);
    // Revoked in the workspace (here through the API, with the token itself).
    let (_, list) = h.api(Method::GET, "/tokens", None).await;
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["created_by"] == "config")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, _) = h.api(Method::DELETE, &format!("/tokens/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(call(h.url()).await.unwrap().status(), 401);
    // Given again at the next start: still revoked.
    let again = start_with(vec![Secret::new(TOKEN)]).await;
    let refused = call(again.url().unwrap()).await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.text().await.unwrap().contains("revoked"));
    plain.shutdown().await;
    again.shutdown().await;
    h.stop().await;
}

async fn cross_site_writes_are_refused(backend: &str) {
    let h = Harness::with(backend, opts()).await;
    let post = |headers: &[(&'static str, &'static str)]| {
        let mut r = h
            .http
            .post(format!("{}/api/v1/tokens", h.url()))
            .bearer_auth(TOKEN)
            .json(&json!({ "name": "x" }));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send()
    };
    let cross = post(&[("sec-fetch-site", "cross-site")]).await.unwrap();
    assert_eq!(cross.status(), 403);
    assert!(cross.text().await.unwrap().contains("cross-site"));
    let foreign = post(&[("origin", "https://evil.example")]).await.unwrap();
    assert_eq!(foreign.status(), 403);
    // The same request from this origin (or from a script with no browser headers) is fine.
    assert_eq!(
        post(&[("sec-fetch-site", "same-origin")])
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(post(&[]).await.unwrap().status(), 200);
    // A workspace form posted from another site.
    let form = browser()
        .post(format!("{}/login", h.url()))
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=admin&password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 403);
    // Reads are not affected; notification ingress (called by other sites) is exempt.
    let read = h
        .http
        .get(format!("{}/api/v1/connectors", h.url()))
        .bearer_auth(TOKEN)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let push = h
        .http
        .post(format!("{}/push/acumatica/test", h.url()))
        .header("origin", "https://erp.example")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_ne!(push.status(), 403);
    h.stop().await;
}

async fn a_database_dump_holds_no_plaintext_credential(backend: &str) {
    let h = Harness::with(backend, opts()).await;
    const PASSWORD: &str = "Acu-Plain-Password-7731";
    const TOKEN_VALUE: &str = "bc-plain-access-token-5519";
    let mut spec = h
        .engine
        .runtime(&ConnectorId::parse("test").unwrap())
        .unwrap()
        .spec
        .clone();
    spec.id = ConnectorId::parse("secret-check").unwrap();
    spec.bigcommerce_mut().unwrap().access_token = Secret::new(TOKEN_VALUE);
    if let kcf_acumatica::AcumaticaAuth::Cookie { password, .. } = &mut spec.acumatica.auth {
        *password = Secret::new(PASSWORD);
    }
    h.engine.add_connector(spec).await.unwrap();
    // Also create a user and a token, whose secrets must not be stored in the clear either.
    kcf_server::auth::ensure_admin(&*h.db.store, Some("Admin-Plain-Password-1"))
        .await
        .unwrap();
    let (_, created) = h
        .api(Method::POST, "/tokens", Some(json!({ "name": "dump" })))
        .await;
    let api_token = created["token"].as_str().unwrap().to_owned();

    let dump: Vec<u8> = match backend {
        "sqlite" => {
            let path = h.db.config.url.trim_start_matches("sqlite://").to_owned();
            let mut bytes = std::fs::read(&path).unwrap();
            if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
                bytes.extend(wal);
            }
            bytes
        }
        _ => {
            let out = std::process::Command::new("pg_dump")
                .args(["--data-only", &h.db.config.url])
                .output()
                .expect("pg_dump (PostgreSQL's client tools) must be installed");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }
    };
    assert!(dump.len() > 1000, "the dump is too small to mean anything");
    let text = String::from_utf8_lossy(&dump);
    assert!(
        text.contains("secret-check"),
        "the dump does not hold the connector"
    );
    for secret in [
        PASSWORD,
        TOKEN_VALUE,
        "Admin-Plain-Password-1",
        api_token.as_str(),
    ] {
        assert!(
            !dump.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the database holds {secret} in the clear"
        );
    }
    h.stop().await;
}

/// A token holder who points a connector at a host of their own must not receive its stored
/// password or access token: a new address needs its secret entered again, for a test as for
/// a save, and nothing is sent there before.
async fn stored_credentials_never_follow_a_new_address(backend: &str) {
    let h = Harness::with(backend, opts()).await;
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let there = format!("http://{}", trap.local_addr().unwrap());
    for (path, method) in [
        ("/connectors/test/test", reqwest::Method::POST),
        ("/connectors/test/connection", reqwest::Method::PATCH),
    ] {
        for (field, secret) in [
            ("acumatica_url", "password"),
            ("bigcommerce_url", "access token"),
        ] {
            let (status, body) = h
                .api(method.clone(), path, Some(json!({ field: there })))
                .await;
            // Well-formed, but not for this connector as it stands: 422.
            assert_eq!(status, 422, "{path} {field}: {body}");
            let words = body["error"]["message"].as_str().unwrap_or_default();
            assert!(words.contains(secret), "{path} {field}: {body}");
        }
    }
    assert!(
        matches!(trap.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing reached the new address"
    );
    // The same address as before (written with a trailing slash) is no move.
    let same = format!(
        "{}/",
        h.engine.runtime(&h.id).unwrap().spec.acumatica.base_url
    );
    let (status, body) = h
        .api(
            reqwest::Method::POST,
            "/connectors/test/test",
            Some(json!({ "acumatica_url": same })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // With the secret entered again, the new address is tried (and found not to answer).
    let (status, body) = h
        .api(
            reqwest::Method::POST,
            "/connectors/test/test",
            Some(json!({ "bigcommerce_url": there, "access_token": "entered-again" })),
        )
        .await;
    assert_eq!((status, &body["ok"]), (200, &json!(false)), "{body}");
    h.stop().await;
}

/// After signing in, kcf sends the user only to a path of its own: `/%09/evil.example`
/// (browsers drop the tab and go to evil.example) and `/%0A/…` (no header value at all, once
/// a 500) both go home. A password is checked as typed, spaces included.
async fn sign_in_stays_on_this_site_and_keeps_the_password_whole(backend: &str) {
    let h = Harness::with(backend, opts()).await;
    kcf_server::auth::ensure_admin(&*h.db.store, Some(" spaced password "))
        .await
        .unwrap();
    let web = browser();
    let login = |password: &str, next: &str| {
        web.post(format!("{}/login", h.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("username=admin&password={password}&next={next}"))
            .send()
    };
    for next in [
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%5Cevil.example",
        "//evil.example",
    ] {
        let r = login("+spaced+password+", next).await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(r.headers()["location"], "/", "{next}");
    }
    let r = login("+spaced+password+", "/connectors/test/settings")
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/connectors/test/settings");
    // Trimmed, it is another password.
    let r = login("spaced+password", "/").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let page = web
        .get(format!("{}/login?next=/%09/evil.example", h.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("evil.example"),
        "the form does not carry it on"
    );
    h.stop().await;
}

/// Behind a proxy that terminates TLS (and says so), the session cookie is `Secure`, and a
/// write whose Origin is the same host over plain http is another site.
async fn behind_tls_the_cookie_is_secure_and_the_origin_scheme_counts(backend: &str) {
    let h = Harness::with(backend, opts()).await;
    kcf_server::auth::ensure_admin(&*h.db.store, Some("right-password"))
        .await
        .unwrap();
    let web = browser();
    let login = |proto: Option<&str>| {
        let mut r = web
            .post(format!("{}/login", h.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("username=admin&password=right-password&next=/");
        if let Some(p) = proto {
            r = r.header("x-forwarded-proto", p);
        }
        r.send()
    };
    let tls = login(Some("https")).await.unwrap();
    let cookie = tls.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let plain = login(None).await.unwrap();
    let cookie = plain.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(!cookie.contains("Secure"), "{cookie}");
    let host = h.url().trim_start_matches("http://").to_owned();
    let post = |origin: String, proto: &'static str| {
        h.http
            .post(format!("{}/api/v1/tokens", h.url()))
            .bearer_auth(TOKEN)
            .header("origin", origin)
            .header("x-forwarded-proto", proto)
            .json(&json!({ "name": "x" }))
            .send()
    };
    let downgraded = post(format!("http://{host}"), "https").await.unwrap();
    assert_eq!(downgraded.status(), 403);
    let same = post(format!("https://{host}"), "https").await.unwrap();
    assert_eq!(same.status(), 200);
    h.stop().await;
}

/// Five wrong guesses lock the user name for the client that made them, not for everyone: the
/// admin, signing in from elsewhere (here: another address a local proxy forwards), still can.
async fn one_client_cannot_lock_the_admin_out(backend: &str) {
    let h = Harness::with(backend, opts()).await;
    kcf_server::auth::ensure_admin(&*h.db.store, Some("right-password"))
        .await
        .unwrap();
    let web = browser();
    let login = |from: &'static str, password: &'static str| {
        web.post(format!("{}/login", h.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", from)
            .body(format!("username=admin&password={password}&next=/"))
            .send()
    };
    for _ in 0..5 {
        let r = login("203.0.113.66", "guess").await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = login("203.0.113.66", "right-password").await.unwrap();
    assert_eq!(
        locked.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the guesser waits"
    );
    let admin = login("198.51.100.10", "right-password").await.unwrap();
    assert_eq!(admin.status(), StatusCode::SEE_OTHER, "the admin does not");
    h.stop().await;
}
