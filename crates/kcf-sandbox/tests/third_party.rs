//! Unmodified third-party clients against the emulators, only the base URL changed.
//! scripts/test.sh installs them into `target/pyclients` and points `KCF_TEST_PYTHON` there.

#![allow(clippy::unwrap_used)]

use std::{path::PathBuf, process::Command};

use kcf_sandbox::{Dataset, Faults, SeedSize, acumatica::AcumaticaConfig};

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
    let emulator = kcf_sandbox::start_acumatica(
        listener,
        AcumaticaConfig::default(),
        Faults::default(),
        &Dataset::generate(SeedSize::Small),
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
