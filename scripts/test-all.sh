#!/usr/bin/env bash
# Run every check letterbox has: formatting, clippy, unit + integration + interop tests.
# Interop tests need Debian's dovecot-core/dovecot-imapd (see .ci/run); with CI set they fail
# instead of skipping when Dovecot is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check =="
cargo fmt --all -- --check
echo "== cargo clippy =="
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test =="
cargo test --workspace 2>&1 | tee target/test-output.txt
grep -q "test result: ok" target/test-output.txt || { echo "FATAL: no test ran" >&2; exit 1; }
echo "== Pigeonhole conformance suite (PIGEONHOLE_TESTS, default ../shared/pigeonhole-tests) =="
scripts/sieve-conformance.sh
