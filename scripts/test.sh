#!/usr/bin/env bash
# Runs the whole test suite as CI does: moto setup, format and lint checks, every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# crates/cli/tests/connect.rs runs a real OpenSSH server and client (it fails without them).
if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client
fi
bash scripts/setup-moto.sh
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
log=$(mktemp)
# --no-fail-fast: every test binary runs even when one fails, so one failure never hides
# another. --nocapture shows the crash matrix's and the soak's figure lines in CI's output.
set +e
cargo test --workspace --no-fail-fast -- --nocapture 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
echo
grep -hE "crash points covered|^operations [0-9]+, succeeded|saga helpers cover" "$log" || true
# One closing line over every test binary (cargo's own last line is a doc-test summary).
# A binary whose tests failed is followed by cargo's "error: test failed, to rerun pass"
# line; one that crashed (signal, abort) prints that line with no "test result:" line of its
# own, and one that failed to build an "error: could not compile" line: each counts here.
awk '/^ +Running / { result = 0 }
     /^test result:/ { result = 1; for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     /^error: test failed, to rerun pass/ { bad += 1; if (!result) crashed += 1 }
     /^error: could not compile/ { unbuilt += 1 }
     END { printf "tests: %d passed, %d failed, %d skipped; test binaries failed: %d (of which crashed: %d), failed to build: %d\n", p, f, s, bad, crashed, unbuilt }' "$log"
rm -f "$log"
exit "$status"
