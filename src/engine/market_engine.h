// The market engine: one minute of bars for any set of pairs in, the full feature rows
// (per-pair + cross-pair + second-order) for those bars out (DESIGN.md "engine",
// FEATURES.md sections 1-3). The batch path over a dataset is the same step in a loop
// over the merged timeline, so batch == stream by construction (and by test).
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "core/bars.h"
#include "core/result.h"
#include "engine/pair_engine.h"
#include "features/cross/cross_kernel.h"

namespace bqx {

struct MarketOptions {
  int max_staleness_minutes = features::kDefaultMaxStalenessMinutes;
};

struct PairSetup {
  Pair pair{};
  double baseline = 0;  // B_p
};

struct PairBar {
  Pair pair{};
  Bar bar{};
};

// Allocator whose value-initialising construct() leaves doubles uninitialised, so growing
// a RowBuffer does not zero-fill it: step() writes every column of every row it appends
// (a streaming minute of 28 pairs is 30,464 doubles; the zero-fill cost ~1 % of the step).
// Debug builds poison the new rows and check that none is left unwritten.
template <class T>
struct NoInitAllocator : std::allocator<T> {
  using std::allocator<T>::allocator;
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using RowBuffer = std::vector<double, NoInitAllocator<double>>;

class MarketEngine {
 public:
  static Result<MarketEngine> create(const std::vector<PairSetup>& universe, const MarketOptions& options = {});
  MarketEngine(MarketEngine&&) noexcept;
  MarketEngine& operator=(MarketEngine&&) noexcept;
  ~MarketEngine();

  size_t width() const { return columns_.size(); }
  const std::vector<features::ColumnInfo>& columns() const { return columns_; }
  EpochMinute last_minute() const { return last_g_; }
  uint64_t grid_rows() const { return grid_row_; }

  // One grid minute g (strictly increasing across calls). `bars` holds at most one bar per
  // pair, each with ts == g, pairs in the universe. Appends one row per bar to `rows`
  // (row-major, width() each) in canonical pair order, and the pairs to `row_pairs`.
  Status step(EpochMinute g, std::span<const PairBar> bars, std::vector<double>& rows, std::vector<Pair>& row_pairs);
  Status step(EpochMinute g, std::span<const PairBar> bars, RowBuffer& rows, std::vector<Pair>& row_pairs);

  // Two-phase stepping for parallel drivers (src/pipeline). A pair's own families do not
  // read the grid, so the driver may run pair_engine(p).step() for many minutes ahead and
  // on any thread, then call step_with_pair_rows() in time order with those rows
  // (pair_rows[i] = the per-pair row of bars[i], per_pair_width() doubles). The result is
  // bit-identical to step(), which does both phases for one minute.
  PairEngine& pair_engine(Pair pair);
  size_t per_pair_width() const;
  Status step_with_pair_rows(EpochMinute g, std::span<const PairBar> bars, std::span<const double* const> pair_rows,
                             std::vector<double>& rows, std::vector<Pair>& row_pairs);
  Status step_with_pair_rows(EpochMinute g, std::span<const PairBar> bars, std::span<const double* const> pair_rows,
                             RowBuffer& rows, std::vector<Pair>& row_pairs);

  std::vector<uint8_t> snapshot() const;
  Status restore(const std::vector<uint8_t>& bytes);

 private:
  MarketEngine();
  // Appends the rows of the minute to `rows` (resized here; on error, left as it was).
  template <class Rows>
  Status append_rows(EpochMinute g, std::span<const PairBar> bars, const double* const* pair_rows, Rows& rows,
                     std::vector<Pair>& row_pairs);
  // Writes one row per bar at `out` (room for bars.size() rows) after validating the minute.
  Status step_impl(EpochMinute g, std::span<const PairBar> bars, const double* const* pair_rows, double* out,
                   std::vector<Pair>& row_pairs);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<features::ColumnInfo> columns_;
  EpochMinute last_g_ = 0;
  uint64_t grid_row_ = 0;
};

// Called once per output row, in time order (then canonical pair order within a minute).
using RowCallback = std::function<Status(Pair pair, EpochMinute ts, const double* row)>;

// Replays frames (one per pair, sorted) through the engine, bars with from <= ts < to.
Status run_market(MarketEngine& engine, const std::vector<BarFrame>& frames, const RowCallback& on_row,
                  EpochMinute from = INT64_MIN, EpochMinute to = INT64_MAX);

}  // namespace bqx
