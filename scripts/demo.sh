#!/usr/bin/env bash
# Sets up everything and runs the researcher workflow on a local moto EC2 emulator:
# launch python-ml -> save as a template with two copy regions -> launch from it.
# Touches nothing outside this checkout and a temporary PRISM_HOME.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup-moto.sh
cargo build --quiet --bin prism --bin prismd
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
work=$(mktemp -d)
MOTO_AMIS_PATH="$root/tests/fixtures/moto-amis.json" "$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
export PRISM_HOME="$work/prism" AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing \
  AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  NO_PROXY=127.0.0.1,localhost PRISM_FAST_POLL=1
unset AWS_PROFILE AWS_SESSION_TOKEN
# SSH opens only to allow_from (config file). Outside the emulator Prism would ask
# https://checkip.amazonaws.com for your address; here an example address keeps every call local.
export XDG_CONFIG_HOME="$work/config"
mkdir -p "$XDG_CONFIG_HOME/prism"
printf 'allow_from = "203.0.113.7/32"\n' >"$XDG_CONFIG_HOME/prism/config.toml"
prism="$root/target/debug/prism"
cleanup() { "$prism" daemon stop >/dev/null 2>&1 || true; kill "$moto_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
run() { echo; echo "\$ prism $*"; "$prism" "$@"; }
run templates
run launch python-ml my-research
run list
run save my-research my-env --description "Custom ML environment" --copy-to-regions us-west-2,eu-west-1 --yes
run templates
run launch my-env next-project --size L
run launch my-env west-project --region us-west-2
run list --region us-west-2
# A lab lead shares the saved template with a colleague's account (images in every region).
run template share my-env --account 111122223333 --yes
run operations
echo; echo "demo finished: launch -> save -> launch from the saved template worked on the local emulator"
