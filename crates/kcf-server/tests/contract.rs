//! The API contract, checked from outside: schemathesis (PyPI; `scripts/test.sh` installs it
//! with the third-party clients and points `KCF_TEST_PYTHON` at that venv) runs every check it
//! has (`--checks all`: no server error, status codes, content types and response bodies as
//! documented, schema-valid requests taken, schema-violating ones refused, credentials
//! enforced, deleted resources gone) against the document kcf serves, through its coverage,
//! fuzzing and stateful phases, on each backend. Zero failures. The two statuses added to
//! schemathesis's expectations, and why, are in `tests/contract/schemathesis.toml`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{path::PathBuf, process::Command};

use common::{Harness, Options, TOKEN};

both_backends!(schemathesis_finds_nothing_in_the_served_document);

/// The `schemathesis` command next to the test Python.
fn schemathesis() -> PathBuf {
    let python = std::env::var("KCF_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let python = PathBuf::from(python);
    match python.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("schemathesis"),
        _ => PathBuf::from("schemathesis"),
    }
}

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

async fn schemathesis_finds_nothing_in_the_served_document(backend: &str) {
    let h = Harness::with(
        backend,
        Options {
            second_store: Some(kcf_engine::registry::StoreKind::Shopify),
            ..Options::default()
        },
    )
    .await;
    let document = format!("{}/api/v1/openapi.json", h.url());
    let bin = schemathesis();
    let output = tokio::task::spawn_blocking({
        let bin = bin.clone();
        move || {
            Command::new(&bin)
                .arg("--config-file")
                .arg(repo("tests/contract/schemathesis.toml"))
                .arg("run")
                .arg(&document)
                .args(["-H", &format!("Authorization: Bearer {TOKEN}")])
                .args([
                    "--checks",
                    "all",
                    "--max-examples",
                    "30",
                    "--seed",
                    "20261207",
                ])
                .args(["--no-color", "--workers", "1"])
                .output()
        }
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| {
        panic!(
            "cannot run {}: {e}; run scripts/test.sh, which installs schemathesis with the \
             third-party clients (tests/clients/requirements.txt)",
            bin.display()
        )
    });
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    h.stop().await;
    assert!(
        output.status.success(),
        "schemathesis found failures on {backend}:\n{out}\n{err}"
    );
    // "Test cases:\n  2324 generated, 0 found ..., 44 skipped"
    let generated = out
        .lines()
        .filter_map(|l| l.trim().split_once(" generated,"))
        .map(|(n, _)| n.trim())
        .find(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("?")
        .to_owned();
    let operations = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tested: "))
        .unwrap_or("?")
        .to_owned();
    assert_ne!(generated, "?", "no test cases reported:\n{out}");
    common::report(
        &format!("{backend}::schemathesis_finds_nothing_in_the_served_document"),
        &format!(
            "schemathesis --checks all (coverage, fuzzing, stateful phases), 30 examples per \
             operation, seed 20261207: {generated} cases on {operations} operations, 0 failures"
        ),
    );
}
