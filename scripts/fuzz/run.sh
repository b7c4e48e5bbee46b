#!/usr/bin/env bash
# The fuzzing session proper; started by scripts/fuzz-api.sh (which installs what it needs and,
# with --netns, runs this in a network namespace holding only loopback). Writes to $FUZZ_OUT.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="${FUZZ_OUT:?run scripts/fuzz-api.sh}"
max_examples="${FUZZ_MAX_EXAMPLES:-50}"
seed="${FUZZ_SEED:-1}"
workers="${FUZZ_WORKERS:-2}"
if [ "${1:-}" = "--netns" ]; then
  ip link set lo up 2>/dev/null || python3 - <<'EOF'
import fcntl, socket, struct
# SIOCGIFFLAGS / SIOCSIFFLAGS: bring lo up without iproute2.
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
ifr = struct.pack("16sH", b"lo", 0)
flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, ifr))[1]
fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 1))
EOF
fi

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOTO_AMIS_PATH="$root/tests/fixtures/moto-amis.json" "$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" \
  >"$out/moto.log" 2>&1 &
moto_pid=$!
export PRISM_HOME="$work/prism" AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing \
  AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  NO_PROXY=127.0.0.1,localhost PRISM_FAST_POLL=1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy
prism="$root/target/debug/prism"
st="$root/.venv/bin/schemathesis"
cleanup() {
  "$prism" daemon stop >/dev/null 2>&1 || true
  kill "$moto_pid" 2>/dev/null || true
  wait "$moto_pid" 2>/dev/null || true
  [ -f "$PRISM_HOME/state/prismd.log" ] && cp "$PRISM_HOME/state/prismd.log" "$out/prismd.log"
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null || { echo "fuzz-api: moto did not start" >&2; exit 2; }

t0=$(date +%s)
# Any prism command starts the daemon; a launch also gives the fuzzer a workstation to act on.
"$prism" launch python-ml fuzz-ws >"$out/setup.log" 2>&1 || { cat "$out/setup.log" >&2; exit 2; }
addr=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["addr"])' "$PRISM_HOME/state/daemon.json")
token=$(cat "$PRISM_HOME/state/token")
case "$addr" in 127.0.0.1:*) ;; *) echo "fuzz-api: daemon address $addr is not 127.0.0.1" >&2; exit 2 ;; esac
pid_before=$(curl -sf -H "x-prism-token: $token" "http://$addr/v1/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
curl -sf -H "x-prism-token: $token" "http://$addr/v1/openapi.json" >"$out/openapi.json"
python3 scripts/fuzz/patch_spec.py "$out/openapi.json" "$out/openapi-corrected.json" "$out/spec-notes.txt" >&2

# POST /v1/daemon/shutdown is left out: it would end the run (the daemon stops as documented).
common=(-H "x-prism-token: $token" --exclude-path /v1/daemon/shutdown --max-examples "$max_examples"
  --checks all --continue-on-failure --seed "$seed" --workers "$workers" --request-timeout 10
  --generation-database none --no-color --report json,ndjson,junit)
echo "fuzz-api: pass 1 — the document as served (http://$addr/v1/openapi.json)" >&2
t1=$(date +%s)
# From the scratch directory, so hypothesis' and schemathesis' local state stays out of the checkout.
(cd "$work" && "$st" run "http://$addr/v1/openapi.json" "${common[@]}" --report-dir "$out/1-as-served" \
  >"$out/1-as-served.txt" 2>&1) || true
t2=$(date +%s)
echo "fuzz-api: pass 2 — the document with its known mismatches corrected (scripts/fuzz/patch_spec.py)" >&2
(cd "$work" && "$st" run "$out/openapi-corrected.json" --url "http://$addr" "${common[@]}" \
  --report-dir "$out/2-corrected" >"$out/2-corrected.txt" 2>&1) || true
t3=$(date +%s)
echo "fuzz-api: edge probes" >&2
python3 scripts/fuzz/probes.py "$addr" "$token" "$work" "$PRISM_HOME/templates" "$out/probes.json" >&2 || true
t4=$(date +%s)

{
  health=$(curl -s -m 5 -H "x-prism-token: $token" "http://$addr/v1/health" || true)
  pid_after=$(printf '%s' "$health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null || echo none)
  if [ "$pid_after" = "$pid_before" ]; then
    echo "ok   daemon alive after the run, same pid ($pid_before)"
  else
    echo "FAIL daemon pid before $pid_before, after $pid_after (crashed or restarted)"
  fi
  panics=$(grep -c -i "panicked" "$PRISM_HOME/state/prismd.log" 2>/dev/null || true)
  if [ "${panics:-0}" = 0 ]; then echo "ok   no panic in prismd.log"; else echo "FAIL $panics panic line(s) in prismd.log"; fi
  echo "time: setup $((t1 - t0)) s, pass 1 $((t2 - t1)) s, pass 2 $((t3 - t2)) s, probes $((t4 - t3)) s"
} >"$out/daemon-check.txt"

echo
echo "== findings about the OpenAPI document (scripts/fuzz/patch_spec.py) =="
cat "$out/spec-notes.txt"
echo
status=0
python3 scripts/fuzz/summarize.py "$out" || status=1
echo
echo "reports: $out (summary.txt, summary.json, */json-*.json, */junit-*.xml, */ndjson-*.ndjson, probes.json)"
exit "$status"
