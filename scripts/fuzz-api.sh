#!/usr/bin/env bash
# Fuzzes prismd's HTTP API with schemathesis against a local moto EC2 emulator, plus edge probes.
# See docs/FUZZING.md. Only 127.0.0.1 traffic: when it can (root, util-linux unshare), the run
# happens in a new network namespace that has nothing but loopback.
#
#   bash scripts/fuzz-api.sh                 # ~2-3 min; reports in target/fuzz-api/
#   FUZZ_MAX_EXAMPLES=200 FUZZ_SEED=7 bash scripts/fuzz-api.sh
#
# Env: FUZZ_MAX_EXAMPLES (50), FUZZ_SEED (1), FUZZ_WORKERS (2), FUZZ_OUT (target/fuzz-api),
#      FUZZ_STRICT=1 (spec-conformance failures also fail the exit code), FUZZ_NO_NETNS=1.
# Exit: 0 no server error, crash, hang or failed probe; 1 otherwise; 2 set-up failed.
set -euo pipefail
SCHEMATHESIS_VERSION="4.32.5"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/setup-moto.sh
if ! .venv/bin/python -c "import schemathesis.cli, importlib.metadata as m, sys; sys.exit(0 if m.version('schemathesis') == '$SCHEMATHESIS_VERSION' else 1)" 2>/dev/null; then
  echo "fuzz-api: installing schemathesis==$SCHEMATHESIS_VERSION into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi
if [ ! -x target/debug/prism ] || [ ! -x target/debug/prismd ]; then
  cargo build --quiet -p prism-cli
fi

out="${FUZZ_OUT:-$root/target/fuzz-api}"
rm -rf "$out"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
export FUZZ_OUT="$out"

if [ "${FUZZ_NO_NETNS:-0}" != "1" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null \
  && unshare --net true 2>/dev/null; then
  echo "fuzz-api: running in a network namespace with loopback only" >&2
  exec unshare --net bash "$root/scripts/fuzz/run.sh" --netns
fi
echo "fuzz-api: no network namespace (FUZZ_NO_NETNS=1, not root, or no unshare); traffic stays on 127.0.0.1 by configuration" >&2
exec bash "$root/scripts/fuzz/run.sh"
