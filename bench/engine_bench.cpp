// Per-pair engine throughput: every registered per-pair family, one bar at a time,
// over a 1M-bar random walk. Prints ns/bar and a checksum of all finite outputs.
#include <benchmark/benchmark.h>

#include <cmath>

#include "engine/pair_engine.h"
#include "features/registry.h"
#include "test_frames.h"

namespace {

const bqx::BarFrame& frame() {
  static const bqx::BarFrame f = bqx::testing_frames::random_walk_frame(1000000, 5);
  return f;
}

void BM_PairEngineAllFamilies(benchmark::State& state) {
  const auto& f = frame();
  double checksum = 0;
  size_t width = 0;
  for (auto _ : state) {
    auto engine = bqx::PairEngine::create(f.pair, f.close[0]);
    width = engine->width();
    std::vector<double> row(width);
    checksum = 0;
    for (size_t i = 0; i < f.size(); ++i) {
      engine->step(f.at(i), row.data());
      for (double v : row) checksum += std::isfinite(v) ? v : 0.0;
    }
    benchmark::DoNotOptimize(checksum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * f.size()));
  state.counters["ns_per_bar"] = benchmark::Counter(static_cast<double>(state.iterations() * f.size()),
                                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["columns"] = static_cast<double>(width);
  state.counters["checksum"] = checksum;
}
BENCHMARK(BM_PairEngineAllFamilies)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_PairEngineFamily(benchmark::State& state) {
  const auto& families = bqx::features::per_pair_families();
  if (static_cast<size_t>(state.range(0)) >= families.size()) {
    state.SkipWithError("no such family");
    return;
  }
  const auto& fam = families[static_cast<size_t>(state.range(0))];
  state.SetLabel(fam.name);
  const auto& f = frame();
  double checksum = 0;
  for (auto _ : state) {
    auto engine = bqx::PairEngine::create(f.pair, f.close[0], {fam.name});
    std::vector<double> row(engine->width());
    checksum = 0;
    for (size_t i = 0; i < f.size(); ++i) {
      engine->step(f.at(i), row.data());
      for (double v : row) checksum += std::isfinite(v) ? v : 0.0;
    }
  }
  state.counters["ns_per_bar"] = benchmark::Counter(static_cast<double>(state.iterations() * f.size()),
                                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["checksum"] = checksum;
}
// Each family alone (with the families it depends on, e.g. reg_bqx needs bqx).
BENCHMARK(BM_PairEngineFamily)->DenseRange(0, 11)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
