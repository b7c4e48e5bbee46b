#!/usr/bin/env bash
# Installs the pinned moto EC2 emulator into the project-local virtualenv (.venv).
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail
MOTO_VERSION="5.2.5"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
py="${PYTHON:-python3}"
if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c "import moto,sys; sys.exit(0 if moto.__version__=='$MOTO_VERSION' else 1)" 2>/dev/null; then
  exit 0
fi
echo "setup-moto: installing moto[server]==$MOTO_VERSION into $venv" >&2
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
"$venv/bin/moto_server" --help >/dev/null
echo "setup-moto: ready ($venv/bin/moto_server)" >&2
