//! Signing in and out over real HTTP: cookie sessions, the license's user limit, signing in
//! again after a session ends, and OAuth.

#![allow(clippy::unwrap_used)]

mod common;

use kcf_acumatica::{AcumaticaAuth, AcumaticaClient, AcumaticaConfig, Error};
use kcf_domain::Secret;
use kcf_sandbox::{SeedSize, acumatica::AcumaticaConfig as Sandbox};

#[tokio::test]
async fn signs_in_lazily_and_out_cleanly() {
    let (erp, client) = common::erp().await;
    assert_eq!(
        common::control(&erp, "/_sandbox/sessions").await["sessions"],
        0
    );
    client.logout().await.unwrap();
    assert_eq!(
        common::requests_to(&erp, "/entity/auth/logout").await,
        0,
        "no-op when signed out"
    );
    assert!(client.stock_item("SKU-000001").await.unwrap().is_some());
    assert_eq!(
        common::control(&erp, "/_sandbox/sessions").await["sessions"],
        1
    );
    client.login().await.unwrap();
    assert_eq!(
        common::requests_to(&erp, "/entity/auth/login").await,
        1,
        "already signed in"
    );
    client.test_connection().await.unwrap();
    client.logout().await.unwrap();
    assert_eq!(
        common::control(&erp, "/_sandbox/sessions").await["sessions"],
        0
    );
    assert!(
        client.stock_item("SKU-000001").await.unwrap().is_some(),
        "signs in again"
    );
}

#[tokio::test]
async fn logout_frees_the_only_license_slot() {
    let erp = common::start(
        Sandbox {
            max_sessions: 1,
            ..Sandbox::default()
        },
        SeedSize::Small,
    )
    .await;
    let first = AcumaticaClient::new(AcumaticaConfig::sandbox(erp.url())).unwrap();
    let second = AcumaticaClient::new(AcumaticaConfig::sandbox(erp.url())).unwrap();
    first.login().await.unwrap();
    let refused = second.login().await.unwrap_err();
    assert!(matches!(refused, Error::Throttled { .. }), "{refused:?}");
    assert!(refused.is_retriable());
    assert!(refused.to_string().contains("API Login Limit"), "{refused}");
    first.logout().await.unwrap();
    first.login().await.unwrap();
    first.logout().await.unwrap();
    second.login().await.unwrap();
    second.logout().await.unwrap();
}

#[tokio::test]
async fn wrong_credentials_are_fatal_and_say_so() {
    let (erp, _) = common::erp().await;
    let mut config = AcumaticaConfig::sandbox(erp.url());
    config.auth = AcumaticaAuth::Cookie {
        username: "admin".into(),
        password: Secret::new("wrong"),
        tenant: "Company".into(),
        branch: None,
    };
    let client = AcumaticaClient::new(config).unwrap();
    let e = client.stock_item("SKU-000001").await.unwrap_err();
    assert!(matches!(e, Error::Unauthorized(_)), "{e:?}");
    assert!(!e.is_retriable());
    assert_eq!(
        e.to_string(),
        "Acumatica refused the sign-in: Invalid credentials. Please try again."
    );
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_for_many_requests() {
    let (erp, client) = common::erp().await;
    client.login().await.unwrap();
    common::expire_sessions(&erp).await;
    assert!(
        client.stock_item("SKU-000002").await.unwrap().is_some(),
        "recovers from a 401"
    );
    assert_eq!(common::requests_to(&erp, "/entity/auth/login").await, 2);

    common::expire_sessions(&erp).await;
    let mut tasks = Vec::new();
    for n in 1..=12 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client.stock_item(&format!("SKU-{n:06}")).await
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().unwrap().is_some());
    }
    assert_eq!(
        common::requests_to(&erp, "/entity/auth/login").await,
        3,
        "twelve requests meeting 401 together sign in once"
    );
}

#[tokio::test]
async fn a_session_lost_again_after_each_sign_in_is_worth_retrying_later() {
    // Sessions end before the next request arrives (no idle time allowed, and every request
    // is held 5 ms): the sign-in works, the request after it is refused each time.
    let erp = common::start(
        Sandbox {
            session_idle: std::time::Duration::ZERO,
            ..Sandbox::default()
        },
        SeedSize::Small,
    )
    .await;
    common::set_faults(&erp, serde_json::json!({ "latency_ms": 5 })).await;
    let client = AcumaticaClient::new(AcumaticaConfig::sandbox(erp.url())).unwrap();
    let e = client.stock_item("SKU-000001").await.unwrap_err();
    assert!(matches!(e, Error::SessionLost(_)), "{e:?}");
    assert!(e.is_retriable(), "not the settings' fault: {e}");
    assert!(
        e.to_string()
            .starts_with("Acumatica kept ending the session right after signing in"),
        "{e}"
    );
    assert_eq!(
        common::requests_to(&erp, "/entity/auth/login").await,
        4,
        "the first sign-in and three more, then it gives up"
    );
}

#[tokio::test]
async fn oauth_password_grant_and_renewal() {
    let (erp, _) = common::erp().await;
    let oauth = |secret: &str| {
        let mut config = AcumaticaConfig::sandbox(erp.url());
        config.auth = AcumaticaAuth::OAuth {
            client_id: "sandbox-client".into(),
            client_secret: Secret::new(secret),
            username: "admin".into(),
            password: Secret::new("sandbox"),
        };
        AcumaticaClient::new(config).unwrap()
    };
    let client = oauth("sandbox");
    let item = client.stock_item("SKU-000005").await.unwrap().unwrap();
    assert_eq!(item.inventory_id, "SKU-000005");
    assert_eq!(
        common::requests_to(&erp, "/identity/connect/token").await,
        1
    );
    assert_eq!(
        common::control(&erp, "/_sandbox/sessions").await["sessions"],
        0,
        "no cookie session"
    );
    common::expire_sessions(&erp).await;
    assert!(
        client.stock_item("SKU-000005").await.unwrap().is_some(),
        "a new token after 401"
    );
    assert_eq!(
        common::requests_to(&erp, "/identity/connect/token").await,
        2
    );
    let shown = format!("{client:?}");
    assert!(
        shown.contains("***") && !shown.contains("\"sandbox\""),
        "secrets stay hidden: {shown}"
    );
    client.logout().await.unwrap();

    let e = oauth("wrong").login().await.unwrap_err();
    assert!(
        matches!(e, Error::Unauthorized(_)) && !e.is_retriable(),
        "{e:?}"
    );
    assert!(e.to_string().contains("invalid_client"), "{e}");
}

#[tokio::test]
async fn test_connection_checks_the_endpoint() {
    let (erp, client) = common::erp().await;
    client.test_connection().await.unwrap();
    let mut config = AcumaticaConfig::sandbox(erp.url());
    config.endpoint = "Default/99.999.001".into();
    let e = AcumaticaClient::new(config)
        .unwrap()
        .test_connection()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    assert!(e.to_string().contains("serves Default/24.200.001"), "{e}");
}

/// A keeper in memory, as kcf's database keeps it between processes.
#[derive(Debug, Default)]
struct Kept(std::sync::Mutex<Option<String>>);

#[async_trait::async_trait]
impl kcf_acumatica::SessionKeeper for Kept {
    async fn load(&self) -> Option<String> {
        self.0.lock().unwrap().clone()
    }
    async fn save(&self, session: Option<String>) {
        *self.0.lock().unwrap() = session;
    }
}

#[tokio::test]
async fn a_kept_session_is_resumed_instead_of_signing_in_again() {
    let erp = common::start(
        Sandbox {
            max_sessions: 1,
            ..Sandbox::default()
        },
        SeedSize::Small,
    )
    .await;
    let kept = std::sync::Arc::new(Kept::default());
    // A process signs in, then dies without signing out.
    let first = AcumaticaClient::new(AcumaticaConfig::sandbox(erp.url())).unwrap();
    first.keep_session_in(kept.clone());
    assert!(first.stock_item("SKU-000001").await.unwrap().is_some());
    drop(first);
    assert!(kept.0.lock().unwrap().is_some(), "the session was kept");
    // Its successors resume it: the one licensed slot is enough for all of them.
    for _ in 0..5 {
        let next = AcumaticaClient::new(AcumaticaConfig::sandbox(erp.url())).unwrap();
        next.keep_session_in(kept.clone());
        assert!(next.stock_item("SKU-000002").await.unwrap().is_some());
    }
    assert_eq!(common::requests_to(&erp, "/entity/auth/login").await, 1);
    assert_eq!(
        common::control(&erp, "/_sandbox/sessions").await["sessions"],
        1
    );
    // When the kept session has ended (a timeout, an administrator), the next one signs in
    // once and keeps the new session.
    common::raw()
        .delete(format!("{}/_sandbox/sessions", erp.url()))
        .send()
        .await
        .unwrap();
    let after = AcumaticaClient::new(AcumaticaConfig::sandbox(erp.url())).unwrap();
    after.keep_session_in(kept.clone());
    assert!(after.stock_item("SKU-000003").await.unwrap().is_some());
    assert_eq!(common::requests_to(&erp, "/entity/auth/login").await, 2);
    let again = AcumaticaClient::new(AcumaticaConfig::sandbox(erp.url())).unwrap();
    again.keep_session_in(kept.clone());
    assert!(again.stock_item("SKU-000004").await.unwrap().is_some());
    assert_eq!(common::requests_to(&erp, "/entity/auth/login").await, 2);
    // Signing out forgets it.
    again.logout().await.unwrap();
    assert!(kept.0.lock().unwrap().is_none());
}
