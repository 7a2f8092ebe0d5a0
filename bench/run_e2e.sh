#!/usr/bin/env bash
# End-to-end `bqx run` benchmark: generate MONTHS months of 28 pairs, ingest, then time
# `bqx run` (all 1,088 features + 7 labels into DuckDB) and optionally the Parquet export.
# Prints wall time, CPU time, peak RSS, bars/s, store size and a checksum of everything
# computed (the manifest's partition checksums, which cover every stored value bit for bit).
# Usage: bench/run_e2e.sh [BUILD_DIR] [MONTHS] [--export]
# Disk: ~5.2 kB of store per bar (~4.5 GB per month of 28 pairs), ~7 kB per bar of Parquet.
set -euo pipefail
BUILD=${1:-build}
MONTHS=${2:-1}
EXPORT=${3:-}
WORK=${BQX_BENCH_DIR:-/tmp/bqx_bench_run}
rm -rf "$WORK" && mkdir -p "$WORK"
"$BUILD/bqx" generate --out "$WORK/data" --months "$MONTHS" --start 2024-07 > /dev/null
"$BUILD/bqx" ingest --quiet --db "$WORK/bqx.duckdb" "$WORK/data"
/usr/bin/time -f "run: %e s wall, %U s user, %S s sys, peak RSS %M kB" \
  "$BUILD/bqx" run --db "$WORK/bqx.duckdb" 2> "$WORK/run.err" | grep -E "rows written|duration|throughput"
grep "^run:" "$WORK/run.err"
echo "store: $(du -h "$WORK/bqx.duckdb" | cut -f1)"
if [ "$EXPORT" = "--export" ]; then
  /usr/bin/time -f "export: %e s wall, %U s user, %S s sys, peak RSS %M kB" \
    "$BUILD/bqx" export -q --db "$WORK/bqx.duckdb" --parquet "$WORK/parquet" 2> "$WORK/export.err"
  grep "^export:" "$WORK/export.err"
  echo "parquet: $(du -sh "$WORK/parquet" | cut -f1)"
fi
# The checksum of the whole computation: one hash over every partition's checksum.
"$BUILD/bqx" status --db "$WORK/bqx.duckdb" | grep -A2 "^computed"
