// Cross-pair kernels (FEATURES.md section 2) run on the as-of grid: the sorted union of
// all pairs' bar times. At grid time g a pair's value is its last bar with ts <= g if that
// bar is at most max_staleness minutes old; otherwise the pair is missing at g. Windows
// count grid rows. A cross kernel follows the per-pair kernel contract (parameters fixed
// at construction, O(1)-ish update without allocation, save/load of the whole state).
//
// Output columns are of two kinds:
//  - global columns (e.g. cur_eur_strength, arb_eurusdgbp_eps_bp): one value per grid row,
//    written identically on every pair's row at g;
//  - per-pair columns (e.g. cur_base_index, arb_max_profit): a value per (grid row, pair).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "core/currency.h"
#include "features/kernel.h"

namespace bqx::features {

inline constexpr int kDefaultMaxStalenessMinutes = 5;

// Pairs are addressed by their canonical slot 0..27 (pair_index); slots outside the
// universe are never present.
struct GridRow {
  EpochMinute g = 0;
  uint64_t row = 0;                          // grid row number (0-based)
  std::array<bool, kPairCount> in_universe{};  // pair is part of this run's universe
  std::array<bool, kPairCount> available{};    // as-of bar exists and is fresh
  std::array<bool, kPairCount> has_bar{};      // the pair has a bar exactly at g
  std::array<double, kPairCount> close{};      // as-of raw close (NaN if unavailable)
  std::array<double, kPairCount> log_index{};  // l_p = ln(close_p / B_p) (NaN if unavailable)
  std::array<double, kPairCount> log_close{};  // ln(close_p), std::log (NaN if unavailable)
  // as-of per-pair features the cross families read (NaN if unavailable)
  std::array<double, kPairCount> reg_bqx_w60_prediction{};
};

class CrossKernel : public ArenaPlaced {  // objects in the huge-page state arena
 public:
  virtual ~CrossKernel() = default;
  // Consumes one grid row (updates the state).
  virtual void update(const GridRow& grid) = 0;
  // Writes this family's global columns for the current grid row (global_width values).
  virtual void write_global(double* out) const = 0;
  // Writes this family's per-pair columns for `pair_slot` at the current grid row.
  virtual void write_pair(int pair_slot, double* out) const = 0;
  virtual void save(StateWriter& out) const = 0;
  virtual void load(StateReader& in) = 0;
};

struct CrossContext {
  std::array<bool, kPairCount> in_universe{};
  int max_staleness_minutes = kDefaultMaxStalenessMinutes;
};

// A cross-pair family. Its catalogue columns are per_pair_columns then global_columns,
// in that order, in the feature row.
struct CrossFamilyDef {
  std::string name;
  std::vector<ColumnInfo> per_pair_columns;
  std::vector<ColumnInfo> global_columns;
  std::function<std::unique_ptr<CrossKernel>(const CrossContext&)> make;
};

// Signed orientation of a pair relative to a currency: +1 if c is the base, -1 if the
// quote, 0 if the pair does not contain c.
inline int direction(Pair p, Currency c) { return p.base == c ? 1 : (p.quote == c ? -1 : 0); }

}  // namespace bqx::features
