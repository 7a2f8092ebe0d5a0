// Cross-pair arb (FEATURES.md 2.3) and corr (2.4) kernels: cost of one grid row of the
// 28-pair universe (update + the per-pair and global writes of every pair with a bar), on
// the as-of grid of a generated 28-pair week. Prints us per grid row and a checksum of all
// finite outputs. Budget: the whole streaming engine must do one minute of 28 pairs in
// < 100 us; corr's share should stay around 20-30 us.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "features/cross/cross_families.h"
#include "market_frames.h"

namespace {

using bqx::features::GridRow;

// The as-of grid as MarketEngine builds it (max staleness 5 minutes).
const std::vector<GridRow>& grid() {
  static const std::vector<GridRow> rows = [] {
    const auto frames = bqx::testing_frames::generated_market(7);
    std::array<double, bqx::kPairCount> baseline{}, last_close{};
    std::array<bqx::EpochMinute, bqx::kPairCount> last_ts{};
    std::array<bool, bqx::kPairCount> in{}, seen{};
    for (const auto& f : frames) {
      in[bqx::pair_index(f.pair)] = true;
      baseline[bqx::pair_index(f.pair)] = f.close.at(0);
    }
    std::vector<size_t> pos(frames.size(), 0);
    std::vector<GridRow> out;
    for (;;) {
      bqx::EpochMinute g = INT64_MAX;
      for (size_t f = 0; f < frames.size(); ++f) {
        if (pos[f] < frames[f].size()) g = std::min(g, frames[f].ts[pos[f]]);
      }
      if (g == INT64_MAX) break;
      GridRow row;
      row.g = g;
      row.row = out.size();
      row.in_universe = in;
      for (size_t f = 0; f < frames.size(); ++f) {
        if (pos[f] < frames[f].size() && frames[f].ts[pos[f]] == g) {
          const int s = bqx::pair_index(frames[f].pair);
          row.has_bar[s] = seen[s] = true;
          last_ts[s] = g;
          last_close[s] = frames[f].close[pos[f]];
          ++pos[f];
        }
      }
      for (int s = 0; s < bqx::kPairCount; ++s) {
        const bool fresh = in[s] && seen[s] && g - last_ts[s] <= 5;
        row.available[s] = fresh;
        row.close[s] = fresh ? last_close[s] : bqx::features::kNull;
        row.log_index[s] = fresh ? std::log(last_close[s] / baseline[s]) : bqx::features::kNull;
        row.log_close[s] = fresh ? std::log(last_close[s]) : bqx::features::kNull;
        row.reg_bqx_w60_prediction[s] = bqx::features::kNull;
      }
      out.push_back(row);
    }
    return out;
  }();
  return rows;
}

void run(benchmark::State& state, const bqx::features::CrossFamilyDef& def) {
  const auto& rows = grid();
  bqx::features::CrossContext ctx;
  ctx.in_universe = rows.front().in_universe;
  std::vector<double> out(def.per_pair_columns.size() + def.global_columns.size() + 1);
  double checksum = 0;
  for (auto _ : state) {
    auto kernel = def.make(ctx);
    checksum = 0;
    for (const auto& g : rows) {
      kernel->update(g);
      for (int s = 0; s < bqx::kPairCount; ++s) {
        if (!g.has_bar[s]) continue;
        kernel->write_pair(s, out.data());
        kernel->write_global(out.data() + def.per_pair_columns.size());
        for (size_t c = 0; c + 1 < out.size(); ++c) checksum += std::isfinite(out[c]) ? out[c] : 0.0;
      }
    }
    benchmark::DoNotOptimize(checksum);
  }
  state.counters["per_grid_row"] = benchmark::Counter(static_cast<double>(state.iterations() * rows.size()),
                                                      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["grid_rows"] = static_cast<double>(rows.size());
  state.counters["checksum"] = checksum;
}

void BM_ArbGridRow(benchmark::State& state) { run(state, bqx::features::make_arb_family()); }
void BM_CorrGridRow(benchmark::State& state) { run(state, bqx::features::make_corr_family()); }
BENCHMARK(BM_ArbGridRow)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_CorrGridRow)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
