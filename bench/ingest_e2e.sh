#!/usr/bin/env bash
# End-to-end ingest benchmark: generate MONTHS months of 28 pairs, ingest with `bqx ingest`,
# print wall time, bars/s and a checksum of the stored bars.
# Usage: bench/ingest_e2e.sh [BUILD_DIR] [MONTHS]
set -euo pipefail
BUILD=${1:-build}
MONTHS=${2:-12}
WORK=${BQX_BENCH_DIR:-/tmp/bqx_bench_ingest}
rm -rf "$WORK" && mkdir -p "$WORK"
"$BUILD/bqx" generate --out "$WORK/data" --months "$MONTHS" --start 2024-01
start=$(date +%s.%N)
"$BUILD/bqx" ingest --quiet --db "$WORK/bqx.duckdb" "$WORK/data"
end=$(date +%s.%N)
bars=$(find "$WORK/data" -name '*.csv' -exec cat {} + | wc -l)
awk -v b="$bars" -v s="$start" -v e="$end" -v m="$MONTHS" \
  'BEGIN { printf "ingest: 28 pairs x %d months, %d bars in %.1f s (%.0f bars/s)\n", m, b, e - s, b / (e - s) }'
echo "stored: $("$BUILD/bqx" status --db "$WORK/bqx.duckdb" | head -1)"
