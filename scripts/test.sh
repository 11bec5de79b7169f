#!/usr/bin/env bash
# The whole test suite, from a fresh clone: checks the toolchain, starts PostgreSQL if it is
# installed but stopped, then runs formatting, lints, the dependency check and every test.
# Store tests run once on SQLite and once on PostgreSQL (127.0.0.1:5432, user postgres, or
# KCF_TEST_POSTGRES_URL); each test gets a fresh database that is dropped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup" >&2; exit 1; }
if command -v rustup >/dev/null; then rustup component add rustfmt clippy >/dev/null 2>&1 || true; fi

postgres_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
step "PostgreSQL on 127.0.0.1:5432"
if [ -z "${KCF_TEST_POSTGRES_URL:-}" ] && ! postgres_up; then
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
        for version in $(ls /etc/postgresql); do
            pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        done
        for _ in $(seq 1 30); do postgres_up && break; sleep 1; done
    fi
fi
if [ -n "${KCF_TEST_POSTGRES_URL:-}" ] || postgres_up; then
    echo "reachable"
else
    echo "NOT reachable: the PostgreSQL half of the suite will fail with a message saying so" >&2
fi

mkdir -p target
step "third-party API clients (tests/clients/requirements.txt) into target/pyclients"
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip; }
if [ ! -x target/pyclients/bin/python ] || ! cmp -s tests/clients/requirements.txt target/pyclients/requirements.txt; then
    rm -rf target/pyclients
    python3 -m venv target/pyclients
    target/pyclients/bin/pip install -q -r tests/clients/requirements.txt
    cp tests/clients/requirements.txt target/pyclients/requirements.txt
fi
export KCF_TEST_PYTHON="$PWD/target/pyclients/bin/python"
echo "ok"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "one version of each dependency (allowed exceptions: .ci/allowed-duplicates)"
dupes=$(cargo tree --workspace -d -e normal,build --depth 0 --prefix none --format '{p}' \
    | grep -v '^$' | awk '{print $1}' | sort -u)
unexpected=$(comm -23 <(echo "$dupes") <(grep -vE '^\s*(#|$)' .ci/allowed-duplicates | awk '{print $1}' | sort -u) || true)
if [ -n "$unexpected" ]; then
    echo "duplicate versions of: $unexpected" >&2
    cargo tree --workspace -d -e normal,build >&2
    exit 1
fi
echo "ok"

step "cargo test (unit, contract on SQLite and PostgreSQL, CLI)"
# Tests that prove reliability (crashes, faults, hostile input) write their figures here; the
# run turns them into docs/RELIABILITY.md's summary table.
export KCF_TEST_RELIABILITY_DIR="$PWD/target/reliability"
rm -rf "$KCF_TEST_RELIABILITY_DIR" && mkdir -p "$KCF_TEST_RELIABILITY_DIR"
set +e
# A hung test must not hold CI past its limit.
timeout 3000 cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.txt
status=${PIPESTATUS[0]}
set -e

step "browser tests: playwright-core driving Debian's chromium (screenshots in target/screenshots)"
# Only what is missing: a machine's own Node.js (from another source than Debian's) must not be
# replaced, and Debian's npm package conflicts with it.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
browser=0
: > target/browser-output.txt
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing from Debian: ${missing[*]}"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
        echo "browser tests: could not install ${missing[*]} with apt-get" | tee target/browser-output.txt
        browser=1
    fi
fi
if [ "$browser" -eq 0 ]; then
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) || browser=1
fi
if [ "$browser" -eq 0 ]; then
    cargo build -p kcf --locked -q && BROWSER_TEST_BIN="$PWD/target/debug/kcf" timeout 600 node tests/browser/workspace.mjs \
        | tee target/browser-output.txt || browser=1
fi
[ "$status" -eq 0 ] && status=$browser

step "reliability report: docs/RELIABILITY.md's summary, from this run"
bash scripts/reliability-summary.sh target/test-output.txt "$KCF_TEST_RELIABILITY_DIR" docs/RELIABILITY.md || true

sqlite=$(grep -cE '^test ([a-z]+_)?sqlite::.* \.\.\. ok$' target/test-output.txt || true)
postgres=$(grep -cE '^test ([a-z]+_)?postgres::.* \.\.\. ok$' target/test-output.txt || true)
passed=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed' target/test-output.txt | awk '{s+=$4} END {print s+0}')
failed=$(grep -oE '[0-9]+ failed' target/test-output.txt | awk '{s+=$1} END {print s+0}')
echo
echo "tests run on both backends (store contract and server): ${sqlite} passed on SQLite, ${postgres} passed on PostgreSQL"
echo "tests: ${passed} passed, ${failed} failed"
grep -E '^browser tests:' target/browser-output.txt || echo "browser tests: did not run"
exit "$status"
