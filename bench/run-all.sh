#!/usr/bin/env bash
# Runs every benchmark of bench/ (Google Benchmark programs, then the end-to-end ingest run).
# Usage: bench/run-all.sh [BUILD_DIR]
set -euo pipefail
BUILD=${1:-build}
for b in ingest_bench engine_bench ta_bench reg_bench stats_bench misc_bench market_bench; do
  if [ -x "$BUILD/bench/$b" ]; then
    echo "== $b"
    "$BUILD/bench/$b" --benchmark_counters_tabular=true
  fi
done
echo "== ingest end-to-end (28 pairs x 12 months)"
"$(dirname "$0")/ingest_e2e.sh" "$BUILD" 12
