//! Unmodified third-party clients against the emulators, only the base URL changed.
//! scripts/test.sh installs them into `target/pyclients` and points `KCF_TEST_PYTHON` there.

#![allow(clippy::unwrap_used)]

use std::{path::PathBuf, process::Command};

use kcf_sandbox::{
    Dataset, Faults, SeedSize, acumatica::AcumaticaConfig, bigcommerce::BigCommerceConfig,
};

fn python() -> String {
    std::env::var("KCF_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/clients")
        .join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn easy_acumatica_signs_in_lists_creates_updates_and_reads_back() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = kcf_sandbox::start(
        listener,
        kcf_sandbox::EmulatorConfig::Acumatica(AcumaticaConfig::default()),
        Faults::default(),
        &Dataset::generate(SeedSize::Small),
        kcf_sandbox::Transport::Http,
    )
    .await
    .unwrap();
    let url = emulator.url();
    let interpreter = python();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&interpreter)
            .arg(script("acumatica_easy.py"))
            .arg(url)
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| {
        panic!(
            "cannot run {}: {e}; run scripts/test.sh, which installs the clients",
            python()
        )
    });
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !err.contains("No module named 'easy_acumatica'"),
        "easy-acumatica is not installed for {}: run scripts/test.sh (or pip install -r tests/clients/requirements.txt)",
        python()
    );
    assert!(output.status.success(), "the client failed:\n{out}\n{err}");
    assert!(out.contains("read back: ok"), "{out}");
    let counters: serde_json::Value = reqwest::get(format!("{}/_sandbox/counters", emulator.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        counters["writes"]["StockItem/PYCLIENT-1"], 2,
        "one create and one update: {counters}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bigcommerce_py_signs_in_lists_creates_updates_and_reads_back() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = kcf_sandbox::start(
        listener,
        kcf_sandbox::EmulatorConfig::BigCommerce(BigCommerceConfig::default()),
        Faults::default(),
        &Dataset::generate(SeedSize::Small),
        kcf_sandbox::Transport::Https,
    )
    .await
    .unwrap();
    assert!(emulator.url().starts_with("https://"));
    let cert = std::env::temp_dir().join(format!("kcf-sandbox-ca-{}.pem", std::process::id()));
    std::fs::write(&cert, kcf_sandbox::tls::CERT_PEM).unwrap();
    let host = emulator.addr.to_string();
    let interpreter = python();
    let cert_path = cert.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&interpreter)
            .arg(script("bigcommerce_py.py"))
            .arg("1")
            .env("BC_API_ENDPOINT", host)
            .env("REQUESTS_CA_BUNDLE", cert_path)
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("cannot run {}: {e}", python()));
    let _ = std::fs::remove_file(cert);
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !err.contains("No module named 'bigcommerce'"),
        "the bigcommerce client is not installed for {}: run scripts/test.sh",
        python()
    );
    assert!(output.status.success(), "the client failed:\n{out}\n{err}");
    assert!(out.contains("read back: ok"), "{out}");
    // The ledger saw exactly one order created, over HTTPS.
    let ledger = emulator.control.ledger_snapshot();
    let creates = ledger
        .iter()
        .filter(|e| e.method == "POST" && e.route.ends_with("/v2/orders"))
        .count();
    assert_eq!(creates, 1, "one create");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_api_signs_in_pages_creates_updates_and_reads_back() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = kcf_sandbox::start(
        listener,
        kcf_sandbox::EmulatorConfig::Shopify(kcf_sandbox::shopify::ShopifyConfig::default()),
        Faults::default(),
        &Dataset::generate(SeedSize::Small),
        kcf_sandbox::Transport::Https,
    )
    .await
    .unwrap();
    assert!(emulator.url().starts_with("https://"));
    let cert =
        std::env::temp_dir().join(format!("kcf-sandbox-shopify-ca-{}.pem", std::process::id()));
    std::fs::write(&cert, kcf_sandbox::tls::CERT_PEM).unwrap();
    let port = emulator.addr.port().to_string();
    let interpreter = python();
    let cert_path = cert.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&interpreter)
            .arg(script("shopify_py.py"))
            .env("SHOPIFY_HOST", "127.0.0.1")
            .env("SHOPIFY_PORT", port)
            .env("SHOPIFY_TOKEN", "shpat_sandbox")
            .env("SSL_CERT_FILE", cert_path)
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("cannot run {}: {e}", python()));
    let _ = std::fs::remove_file(cert);
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !err.contains("No module named 'shopify'"),
        "the ShopifyAPI client is not installed for {}: run scripts/test.sh",
        python()
    );
    assert!(output.status.success(), "the client failed:\n{out}\n{err}");
    assert!(out.contains("read back: ok"), "{out}");
    // The ledger saw every call, over HTTPS, at the GraphQL endpoint.
    let ledger = emulator.control.ledger_snapshot();
    assert!(
        ledger.iter().all(|e| e.route.ends_with("/graphql.json")),
        "{ledger:?}"
    );
    assert!(ledger.len() >= 6, "{}", ledger.len());
}
