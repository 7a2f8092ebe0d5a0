#!/usr/bin/env bash
# Time to validate a store versus time to compute it (issue 6 acceptance):
# generate N pairs x M months, ingest, `bqx run` (timed), `bqx validate` (timed).
# Usage: bench/validate_bench.sh [BUILD_DIR=build] [MONTHS=1]
set -euo pipefail
build=${1:-build}
months=${2:-1}
bqx=$(cd "$build" && pwd)/bqx
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bqx" generate --out data --months "$months" --start 2024-07 --seed 42 >/dev/null
"$bqx" ingest --db s.duckdb data >/dev/null
t0=$(date +%s.%N)
"$bqx" run --db s.duckdb >/dev/null
t1=$(date +%s.%N)
"$bqx" validate --db s.duckdb --report report || true
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v m="$months" \
  'BEGIN { printf "28 pairs x %d month(s): bqx run %.1f s, bqx validate %.1f s (%.0f%% of the compute time)\n", m, b - a, c - b, 100 * (c - b) / (b - a) }'
