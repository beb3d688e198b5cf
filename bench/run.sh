#!/usr/bin/env bash
# The tenantc benchmark in one command: builds the release binary, then measures compile,
# recompile, --check and verify for N = 10, 100, 300, 1,000 and 10,000 synthetic tenants, with `cp -r`
# and `kubectl kustomize` of the produced tree as references. Prints a markdown table (also written
# to target/bench/report.md). Options go to bench/bench.py, e.g.:
#   bash bench/run.sh --sizes 10,100        # a subset of N
#   bash bench/run.sh --repeat 5 --kustomize-max 100
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "bench: python3 is needed" >&2; exit 2; }
command -v kubectl >/dev/null || echo "bench: kubectl not found; the kustomize references are skipped" >&2
cargo build --release --locked --quiet
exec python3 bench/bench.py "$@"
