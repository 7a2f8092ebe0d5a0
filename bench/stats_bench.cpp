// Rolling statistics benchmarks (FEATURES.md 1.6 stats_rate, 1.7 stats_bqx, 1.8 dist_rate):
// each family alone through the PairEngine over 1,000,000 bars (stats_bqx also computes its
// dependency bqx; BM_StatsBqxDepOnly measures that part alone), plus the two primitives at
// W = 1440. Every case reports a checksum (sum of the finite outputs) so a fast wrong answer
// shows, and ns_per_bar.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "engine/pair_engine.h"
#include "features/stats_moments.h"
#include "features/stats_sorted_window.h"
#include "market_frames.h"
#include "test_frames.h"

namespace {

constexpr size_t kBars = 1000000;

const bqx::BarFrame& frame() {
  static const bqx::BarFrame f = bqx::testing_frames::random_walk_frame(kBars, 42);
  return f;
}

void set_counters(benchmark::State& state, double checksum, size_t width) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBars));
  state.counters["ns_per_bar"] = benchmark::Counter(static_cast<double>(state.iterations() * kBars),
                                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["columns"] = static_cast<double>(width);
  state.counters["checksum"] = checksum;
}

// One family (plus whatever it depends on, not output) over all bars, bar by bar.
void run_family(benchmark::State& state, const char* family) {
  const auto& f = frame();
  double checksum = 0;
  size_t width = 0;
  for (auto _ : state) {
    auto engine = bqx::PairEngine::create(f.pair, f.close[0], {family});
    if (!engine) {
      state.SkipWithError(engine.error().message.c_str());
      return;
    }
    width = engine->width();
    std::vector<double> row(width);
    checksum = 0;
    for (size_t i = 0; i < f.size(); ++i) {
      engine->step(f.at(i), row.data());
      for (double v : row) {
        if (std::isfinite(v)) checksum += v;
      }
    }
    benchmark::DoNotOptimize(checksum);
  }
  set_counters(state, checksum, width);
}

void BM_StatsRate(benchmark::State& state) { run_family(state, "stats_rate"); }
void BM_StatsBqx(benchmark::State& state) { run_family(state, "stats_bqx"); }  // + bqx (dependency)
void BM_StatsBqxDepOnly(benchmark::State& state) { run_family(state, "bqx"); }  // subtract from BM_StatsBqx
void BM_DistRate(benchmark::State& state) { run_family(state, "dist_rate"); }
BENCHMARK(BM_StatsRate)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_StatsBqx)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_StatsBqxDepOnly)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_DistRate)->Unit(benchmark::kMillisecond)->Iterations(2);

const std::vector<double>& rate_index() {
  static const std::vector<double> x = [] {
    std::vector<double> v(frame().size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = frame().close[i] * (100.0 / frame().close[0]);
    return v;
  }();
  return x;
}

// Primitives alone at W = 1440: sorted window push + rank, and 4th-order moments push + value.
void BM_SortedWindow1440(benchmark::State& state) {
  double checksum = 0;
  for (auto _ : state) {
    bqx::features::stats::SortedWindow sw(1440);
    checksum = 0;
    for (double x : rate_index()) {
      sw.push(x);
      checksum += static_cast<double>(sw.count_le(x));
    }
    benchmark::DoNotOptimize(checksum);
  }
  set_counters(state, checksum, 1);
}
BENCHMARK(BM_SortedWindow1440)->Unit(benchmark::kMillisecond)->Iterations(2);

void BM_Moments4Window1440(benchmark::State& state) {
  double checksum = 0;
  for (auto _ : state) {
    bqx::features::stats::BlockWindow<bqx::features::stats::Moments4Op> bw(1440);
    checksum = 0;
    for (double x : rate_index()) {
      bw.push(x);
      const auto m = bw.value();
      const double k = m.m4 / (m.m2 * m.m2);
      if (std::isfinite(k)) checksum += k;
    }
    benchmark::DoNotOptimize(checksum);
  }
  set_counters(state, checksum, 1);
}
BENCHMARK(BM_Moments4Window1440)->Unit(benchmark::kMillisecond)->Iterations(2);

// The three stats families (and bqx, their dependency) streaming one minute of 28 pairs,
// pair after pair with the next pair's state prefetched as the market engine does
// (market_engine.cpp). Isolates these families' streaming cost from the rest of the market.
void BM_StatsFamiliesStream28(benchmark::State& state) {
  static const std::vector<bqx::BarFrame> market = bqx::testing_frames::generated_market(6);
  std::vector<bqx::PairEngine> engines;
  for (const auto& f : market) {
    if (engines.size() == 28) break;
    auto engine = bqx::PairEngine::create(f.pair, f.close[0], {"stats_rate", "stats_bqx", "dist_rate"});
    if (!engine) {
      state.SkipWithError(engine.error().message.c_str());
      return;
    }
    engines.push_back(std::move(*engine));
  }
  std::vector<double> row(engines.front().width());
  size_t minute = 0;
  auto step_minute = [&] {
    for (size_t p = 0; p < engines.size(); ++p) {
      if (p + 1 < engines.size()) engines[p + 1].prefetch();
      const auto& f = market[p];
      engines[p].step(f.at(minute % f.size()), row.data());
    }
    ++minute;
  };
  for (size_t i = 0; i < 3000; ++i) step_minute();  // all windows full
  for (auto _ : state) step_minute();
  benchmark::DoNotOptimize(row.data());
}
BENCHMARK(BM_StatsFamiliesStream28)->Unit(benchmark::kMicrosecond)->Iterations(6000);

}  // namespace

BENCHMARK_MAIN();
