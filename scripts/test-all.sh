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
log=$(mktemp -t letterbox-tests.XXXXXX)
cargo test --workspace 2>&1 | tee "$log"
grep -q "test result: ok. [1-9]" "$log" || { echo "FATAL: no test ran" >&2; exit 1; }
echo "== Pigeonhole conformance suite (PIGEONHOLE_TESTS, default ../shared/pigeonhole-tests) =="
scripts/sieve-conformance.sh
# Last line: the cargo test totals (the conformance gate above already failed the run if a
# listed suite file regressed).
grep "test result:" "$log" | awk '{p += $4; f += $6} END {print "tests: " p " passed, " f " failed"}'
