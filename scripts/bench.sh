#!/usr/bin/env bash
# Builds release binaries (in target/bench, apart from the dev build) and runs the benchmarks
# against a local moto server. Prints Markdown for BENCHMARKS.md. Takes ~15 min cold.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-moto.sh
CARGO_TARGET_DIR=target/bench cargo build --release --quiet -p prism-cli
exec .venv/bin/python scripts/bench/bench.py --bin target/bench/release "$@"
