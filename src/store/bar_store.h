// Bars and pairs in the DuckDB store. Tables (documented in the README):
//   pairs(pair, base, quote, baseline, baseline_ts)   -- B_p, fixed at the pair's first ingest
//   bars(pair, ts, open, high, low, close, volume, bid, ask)   -- ts = bar open time, UTC
//   ingest_log(file, pair, ingested_at, rows_in_file, inserted, replaced, unchanged,
//              duplicates_dropped, rejected)
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/bars.h"
#include "core/result.h"
#include "io/bar_reader.h"
#include "store/duckdb_conn.h"

namespace bqx::store {

inline constexpr int kSchemaVersion = 1;

Status ensure_schema(Connection& con);

struct IngestResult {
  Pair pair{};
  size_t rows_in_file = 0;
  size_t inserted = 0;    // new (pair, ts)
  size_t replaced = 0;    // existing (pair, ts) whose values changed
  size_t unchanged = 0;   // already stored with identical values
  size_t duplicates_dropped = 0;
  size_t rejected = 0;
  bool reordered = false;
  EpochMinute first = 0, last = 0;
};

// Stores one validated file in a single transaction: either every bar lands (new bars
// inserted, changed bars replaced, identical bars left alone) or the store is unchanged.
Result<IngestResult> ingest_bars(Connection& con, const BarFile& file);

struct PairInfo {
  Pair pair{};
  double baseline = 0;
  EpochMinute baseline_ts = 0;
};
Result<std::vector<PairInfo>> list_pairs(Connection& con);

// All bars of a pair with from <= ts < to (defaults: everything), sorted by ts.
Result<BarFrame> load_bars(Connection& con, Pair pair, std::optional<EpochMinute> from = std::nullopt,
                           std::optional<EpochMinute> to = std::nullopt);

struct MonthCount {
  Pair pair{};
  MonthId month = 0;
  int64_t bars = 0;
  EpochMinute first = 0, last = 0;
  int64_t gaps = 0;            // breaks of > 1 minute inside open market hours
  int64_t longest_gap = 0;     // minutes, inside open market hours
};
Result<std::vector<MonthCount>> month_counts(Connection& con);

}  // namespace bqx::store
