// Benchmarks for the cur (FEATURES.md 2.1, + derived_pair_vs_implied_*), basket (2.2), corr
// (2.4) and arb (2.3) cross kernels: one grid row for 28 pairs = update + write_global + write_pair for every
// pair (the engine's work per minute when all 28 pairs have a bar). Two regimes: all 28
// pairs available (closed-form strengths) and ~3 % of pairs missing per row (Laplacian
// solve). Reports CPU ns per grid row ("ns_per_row") and a checksum of every finite output.
#include <benchmark/benchmark.h>

#include <cmath>
#include <ctime>
#include <vector>

#include "features/cross/cross_families.h"
#include "test_frames.h"

namespace {

using bqx::kPairCount;
using bqx::features::GridRow;

constexpr size_t kRows = 200'000;

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

std::vector<GridRow> make_rows(double missing) {
  std::vector<GridRow> rows(kRows);
  uint64_t seed = 2024;
  std::array<double, bqx::kCurrencyCount> u{};
  std::array<double, kPairCount> pred{};
  for (size_t r = 0; r < kRows; ++r) {
    for (double& v : u) v += 1e-4 * bqx::testing_frames::normal(seed);
    GridRow& g = rows[r];
    g.g = static_cast<bqx::EpochMinute>(r);
    g.row = r;
    for (int p = 0; p < kPairCount; ++p) {
      const auto pair = bqx::all_pairs()[p];
      g.in_universe[p] = true;
      g.available[p] = bqx::testing_frames::uniform01(seed) >= missing;
      g.has_bar[p] = g.available[p];
      const double l = u[static_cast<int>(pair.base)] - u[static_cast<int>(pair.quote)] +
                       2e-5 * bqx::testing_frames::normal(seed);
      pred[p] = 0.98 * pred[p] + 1e-4 * bqx::testing_frames::normal(seed);
      g.close[p] = g.available[p] ? std::exp(l) : bqx::features::kNull;
      g.log_index[p] = g.available[p] ? l : bqx::features::kNull;
      g.log_close[p] = g.available[p] ? std::log(g.close[p]) : bqx::features::kNull;
      g.reg_bqx_w60_prediction[p] = g.available[p] && r > 75 ? pred[p] : bqx::features::kNull;
    }
  }
  return rows;
}

const std::vector<GridRow>& rows_for(int regime) {
  static const std::vector<GridRow> full = make_rows(0.0);
  static const std::vector<GridRow> gappy = make_rows(0.03);
  return regime == 0 ? full : gappy;
}

void run(benchmark::State& state, bqx::features::CrossFamilyDef (*make)()) {
  const auto& rows = rows_for(static_cast<int>(state.range(0)));
  const auto def = make();
  std::vector<double> out(std::max(def.per_pair_columns.size(), def.global_columns.size()) + 1);
  double checksum = 0, seconds = 0;
  for (auto _ : state) {
    bqx::features::CrossContext ctx;
    ctx.in_universe.fill(true);
    auto k = def.make(ctx);
    checksum = 0;
    const double t0 = cpu_seconds();
    for (const auto& g : rows) {
      k->update(g);
      for (int p = 0; p < kPairCount; ++p) {
        k->write_pair(p, out.data());
        for (size_t i = 0; i < def.per_pair_columns.size(); ++i)
          checksum += std::isfinite(out[i]) ? out[i] : 0.0;
        k->write_global(out.data());
      }
      for (size_t i = 0; i < def.global_columns.size(); ++i) checksum += std::isfinite(out[i]) ? out[i] : 0.0;
    }
    seconds += cpu_seconds() - t0;
    benchmark::DoNotOptimize(checksum);
  }
  state.counters["ns_per_row"] = 1e9 * seconds / static_cast<double>(state.iterations() * rows.size());
  state.counters["checksum"] = checksum;
  state.SetLabel(state.range(0) == 0 ? "all 28 available (closed form)" : "3% missing (Laplacian solve)");
}

void BM_CurKernel(benchmark::State& state) { run(state, bqx::features::make_cur_family); }
// corr (2.4) and arb (2.3) through the same loop, for A/B timing of one kernel with less
// noise than the whole market part.
void BM_CorrKernel(benchmark::State& state) { run(state, bqx::features::make_corr_family); }
void BM_ArbKernel(benchmark::State& state) { run(state, bqx::features::make_arb_family); }
void BM_BasketKernel(benchmark::State& state) { run(state, bqx::features::make_basket_family); }

BENCHMARK(BM_CurKernel)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_BasketKernel)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_CorrKernel)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_ArbKernel)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
