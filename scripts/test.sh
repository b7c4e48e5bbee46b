#!/usr/bin/env bash
# Runs the whole test suite as CI does: moto setup, format and lint checks, every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-moto.sh
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
log=$(mktemp)
# --nocapture shows the crash matrix's and the soak's figure lines in CI's output.
set +e
cargo test --workspace -- --nocapture 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
echo
grep -hE "crash points covered|^operations [0-9]+, succeeded" "$log" || true
# One closing line over every test binary (cargo's own last line is a doc-test summary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$status"
