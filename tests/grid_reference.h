// The as-of grid rebuilt independently of MarketEngine (FEATURES.md 2, "Grid and as-of"),
// for driving cross-pair kernels directly in tests; the engine tests prove the two agree.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/bars.h"
#include "features/cross/cross_kernel.h"

namespace bqx::testing_frames {

using features::GridRow;
using features::kNull;

inline std::vector<GridRow> build_grid(const std::vector<BarFrame>& frames, int staleness = 5) {
  std::array<bool, kPairCount> in{};
  std::array<double, kPairCount> baseline{}, last_close{};
  std::array<EpochMinute, kPairCount> last_ts{};
  std::array<bool, kPairCount> seen{};
  for (const auto& f : frames) {
    in[pair_index(f.pair)] = true;
    baseline[pair_index(f.pair)] = f.close.at(0);
  }
  std::vector<size_t> pos(frames.size(), 0);
  std::vector<GridRow> rows;
  for (;;) {
    EpochMinute g = INT64_MAX;
    for (size_t f = 0; f < frames.size(); ++f) {
      if (pos[f] < frames[f].size()) g = std::min(g, frames[f].ts[pos[f]]);
    }
    if (g == INT64_MAX) break;
    GridRow row;
    row.g = g;
    row.row = rows.size();
    row.in_universe = in;
    for (size_t f = 0; f < frames.size(); ++f) {
      if (pos[f] < frames[f].size() && frames[f].ts[pos[f]] == g) {
        const int s = pair_index(frames[f].pair);
        row.has_bar[s] = true;
        seen[s] = true;
        last_ts[s] = g;
        last_close[s] = frames[f].close[pos[f]];
        ++pos[f];
      }
    }
    for (int s = 0; s < kPairCount; ++s) {
      const bool fresh = in[s] && seen[s] && g - last_ts[s] <= staleness;
      row.available[s] = fresh;
      row.close[s] = fresh ? last_close[s] : kNull;
      row.log_index[s] = fresh ? std::log(last_close[s] / baseline[s]) : kNull;
      row.log_close[s] = fresh ? std::log(last_close[s]) : kNull;
      row.reg_bqx_w60_prediction[s] = kNull;
    }
    rows.push_back(row);
  }
  return rows;
}

// A copy of `row` with log_close as the engine fills it (std::log of the as-of close where
// available), for tests that set close by hand.
inline GridRow with_log_close(GridRow row) {
  for (int s = 0; s < kPairCount; ++s) row.log_close[s] = row.available[s] ? std::log(row.close[s]) : kNull;
  return row;
}

}  // namespace bqx::testing_frames
