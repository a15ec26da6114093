#!/usr/bin/env bash
# Runs Pigeonhole 0.5.19's conformance suite against letterbox's Sieve engine, the way CI does.
#
# The suite lives at $PIGEONHOLE_TESTS (default: ../shared/pigeonhole-tests next to the repo
# root); a missing suite is an error, not a skip. Every file Pigeonhole's own `make test` runs
# normally (all but tests/deprecated/, tests/failures/ and the extprograms plugin: 125 files,
# listed from the suite's INVENTORY.md) is run in its own process, from the suite root, with
# `letterbox sieve-testsuite FILE`. The suite is never written to; logs and the summary go to
# $SIEVE_CONFORMANCE_OUT (default: a new temporary directory).
#
# Exit status: 0 when every file listed in sieve-conformance/expectations.txt passed; 1 when
# one of them failed; 2 when the suite or the binary is missing.
set -u -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
suite=${PIGEONHOLE_TESTS:-$root/../shared/pigeonhole-tests}
expectations=$root/sieve-conformance/expectations.txt
out=${SIEVE_CONFORMANCE_OUT:-$(mktemp -d -t sieve-conformance.XXXXXX)}
per_file_timeout=${SIEVE_CONFORMANCE_TIMEOUT:-120}

if [ ! -d "$suite/tests" ] || [ ! -f "$suite/INVENTORY.md" ]; then
    echo "sieve-conformance: Pigeonhole test suite not found at $suite (set PIGEONHOLE_TESTS)" >&2
    exit 2
fi
suite=$(cd "$suite" && pwd)
mkdir -p "$out/logs"

(cd "$root" && cargo build -p letterbox) || { echo "sieve-conformance: build failed" >&2; exit 2; }
target=${CARGO_TARGET_DIR:-$root/target}
bin=$target/debug/letterbox
[ -x "$bin" ] || { echo "sieve-conformance: $bin not found" >&2; exit 2; }

# The files `make test` runs normally: rows of INVENTORY.md's per-file table with mode "normal",
# outside deprecated/.
files=$(awk -F'|' '/^\| [^ ]+\.svtest \|/ {
            f = $2; m = $6; gsub(/ /, "", f); gsub(/ /, "", m);
            if (m == "normal" && f !~ /^deprecated\//) print "tests/" f }' "$suite/INVENTORY.md")
total=$(printf '%s\n' "$files" | grep -c .)
if [ "$total" -eq 0 ]; then
    echo "sieve-conformance: no test files found in $suite/INVENTORY.md" >&2
    exit 2
fi

summary=$out/summary.txt
: > "$summary"
passed=0
failed=0
for f in $files; do
    log=$out/logs/$(printf '%s' "$f" | tr '/' '_').log
    (cd "$suite" && timeout "$per_file_timeout" "$bin" sieve-testsuite "$f") > "$log" 2>&1
    status=$?
    if [ "$status" -eq 0 ]; then
        verdict="PASS $f"
        passed=$((passed + 1))
    else
        reason=$(grep -E '^FAIL ' "$log" | tail -n 1 | sed -E 's/^FAIL [^ ]+ ?//')
        [ "$status" -eq 124 ] && reason="(timeout after ${per_file_timeout}s)"
        [ -z "$reason" ] && reason="(exit status $status)"
        verdict="FAIL $f $reason"
        failed=$((failed + 1))
    fi
    echo "$verdict" | tee -a "$summary"
done

rate=$(awk -v p="$passed" -v t="$total" 'BEGIN { printf "%.1f", 100 * p / t }')
{
    echo "conformance files: $passed passed, $failed not passing (known, see expectations)"
    echo "pass rate: $rate % of $total files"
} | tee -a "$summary"

# Files expected to pass (one path per line, '#' comments) must pass.
regressions=0
if [ -f "$expectations" ]; then
    while IFS= read -r line; do
        line=${line%%#*}
        line=$(printf '%s' "$line" | tr -d '[:space:]')
        [ -z "$line" ] && continue
        if ! grep -qxF "PASS $line" "$summary"; then
            echo "REGRESSION: $line is listed in sieve-conformance/expectations.txt but did not pass" | tee -a "$summary" >&2
            regressions=$((regressions + 1))
        fi
    done < "$expectations"
else
    echo "sieve-conformance: $expectations is missing" >&2
    exit 2
fi
echo "summary: $summary (logs in $out/logs)"
[ "$regressions" -eq 0 ] || exit 1
exit 0
