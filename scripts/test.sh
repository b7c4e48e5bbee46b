#!/usr/bin/env bash
# Runs the whole test suite as CI does: moto setup, format and lint checks, every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-moto.sh
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# --nocapture shows the crash test's coverage line in CI's output.
cargo test --workspace -- --nocapture 2>&1 | tee /tmp/prism-test-$$.log
status=${PIPESTATUS[0]}
grep -hE "crash points covered|^operations [0-9]+, succeeded" /tmp/prism-test-$$.log || true
rm -f /tmp/prism-test-$$.log
exit "$status"
