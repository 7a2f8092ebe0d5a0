// The production path (DESIGN.md "Partitions, state and resumability"): `bqx run`.
//
// Work is cut into months. A month's unit of work computes, for every pair of the
// universe, the (pair, month) feature partition and label partition, starting from the
// engine state the previous month ended with, so results equal one continuous run.
// Inside a month, each pair's own families run in parallel on a thread pool (one task
// per pair and day block), while the cross-pair grid (cur, basket, arb, corr) and the
// second-order families (lag, derived) follow in time order on the driver thread;
// nothing depends on the worker count. A month's rows, manifest entries and end state
// are committed in one transaction by the store, so a killed run loses at most the
// month in flight and `bqx run` again resumes from the last committed month.
//
// The pipeline does not know DuckDB: it talks to a PipelineStore (implemented in
// src/store/pipeline_store.h), as the dependency order of DESIGN.md requires.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/bars.h"
#include "core/currency.h"
#include "core/result.h"
#include "core/time.h"
#include "engine/market_engine.h"

namespace bqx::pipeline {

// One manifest row: a finished partition.
struct PartitionEntry {
  std::string kind;  // "features" or "labels"
  Pair pair{};
  MonthId month = 0;
  int64_t rows = 0;
  std::string checksum;           // store::PartitionChecksum hex of the partition's rows
  std::string catalogue_version;  // features::kCatalogueVersion when computed
  std::string universe;           // comma-separated pairs of the run
  bool complete = true;           // labels: every row's look-ahead was inside the data
  int attempts = 1;
  double compute_ms = 0;
  double write_ms = 0;
};

// One month's atomic write. Destroying it without commit() discards everything it wrote.
class MonthWriter {
 public:
  virtual ~MonthWriter() = default;
  // The feature rows of one grid minute: rows row-major, `width` doubles each (NaN = NULL).
  virtual Status append_features(EpochMinute ts, std::span<const Pair> pairs, const double* rows, size_t width) = 0;
  // Replaces the label rows of (pair, month) (this month, or an earlier month whose
  // look-ahead was incomplete).
  virtual Status replace_labels(Pair pair, MonthId month, std::span<const EpochMinute> ts, const double* rows,
                                size_t width) = 0;
  // Publishes everything written, the manifest entries and the engine state at the end
  // of the month, atomically.
  virtual Status commit(const std::vector<PartitionEntry>& entries, const std::vector<uint8_t>& end_state) = 0;
};

class PipelineStore {
 public:
  virtual ~PipelineStore() = default;
  virtual Result<std::vector<PairSetup>> pairs() = 0;  // ingested pairs and their baselines B_p
  struct BarMonth {
    Pair pair{};
    MonthId month = 0;
    int64_t bars = 0;
  };
  virtual Result<std::vector<BarMonth>> bar_months() = 0;
  virtual Result<BarFrame> load_bars(Pair pair, EpochMinute from, EpochMinute to) = 0;
  virtual Result<std::vector<PartitionEntry>> manifest() = 0;
  // The engine state stored at the end of `month` for this universe; empty if none.
  virtual Result<std::vector<uint8_t>> load_state(MonthId month, const std::string& universe) = 0;
  // ts, close and the stored bqx_w60_return of a feature partition, in time order.
  virtual Status load_label_series(Pair pair, MonthId month, std::vector<EpochMinute>& ts, std::vector<double>& close,
                                   std::vector<double>& bqx_w60_return) = 0;
  // Starts the atomic write of `month`; its old feature/label rows, manifest entries and
  // state are replaced on commit.
  virtual Result<std::unique_ptr<MonthWriter>> begin_month(MonthId month) = 0;
};

struct Progress {
  size_t months_done = 0, months_total = 0;
  size_t partitions_done = 0, partitions_total = 0;
  uint64_t bars_done = 0, bars_total = 0;
  double seconds = 0;
  MonthId month = 0;  // month in flight
};

struct RunOptions {
  int workers = 0;              // threads for the per-pair families; 0 = all cores
  std::vector<Pair> pairs;      // universe; empty = every ingested pair
  std::vector<MonthId> months;  // empty = every month with bars
  bool force = false;           // recompute finished months too
  int max_attempts = 2;         // a failing month is retried once
  MarketOptions market;
  std::function<void(const Progress&)> on_progress;  // called from the driver thread
  // Test hook: called before each month's commit (used to inject failures).
  std::function<Status(MonthId month, int attempt)> before_commit;
};

struct RunSummary {
  std::string universe;
  size_t months_total = 0, months_computed = 0, months_skipped = 0;
  size_t partitions_written = 0, partitions_skipped = 0, partitions_failed = 0;
  size_t label_partitions_completed = 0;  // earlier months whose labels new bars completed
  uint64_t rows_written = 0, bars = 0;
  double seconds = 0, compute_seconds = 0, write_seconds = 0;
  int retries = 0;
  std::string failure;  // cause of the failed month, if any
  bool nothing_to_do() const { return months_computed == 0 && label_partitions_completed == 0 && failure.empty(); }
};

// Computes every unfinished month (all requested months with --force) into the store.
// Returns the summary; summary.failure is set (and the result still returned) when a
// month failed twice, in which case nothing of that month was written.
Result<RunSummary> run(PipelineStore& store, const RunOptions& options);

std::string universe_name(const std::vector<Pair>& pairs);

}  // namespace bqx::pipeline
