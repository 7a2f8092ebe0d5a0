// Benchmarks for the time, activity and ms families (FEATURES.md 1.9-1.11) and the
// labels (section 4): each family alone through PairEngine over 1,000,000 bars.
// Reports CPU ns/bar (counter "ns_per_bar", thread CPU time of the stepping loop incl. checksum) and a checksum of every finite output value,
// so a fast wrong answer shows.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>

#include "engine/pair_engine.h"
#include "features/labels.h"
#include "test_frames.h"

namespace {

constexpr size_t kBars = 1'000'000;

// Thread CPU seconds: the machine is shared, so wall time would include other jobs.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

const bqx::BarFrame& frame() {
  static const bqx::BarFrame f = bqx::testing_frames::random_walk_frame(kBars, 2024);
  return f;
}

void run_family(benchmark::State& state, const std::string& family) {
  const auto& f = frame();
  double checksum = 0;
  uint64_t finite = 0;
  double seconds = 0;
  for (auto _ : state) {
    auto engine = bqx::PairEngine::create(f.pair, f.close[0], {family});
    if (!engine.ok()) {
      state.SkipWithError(engine.error().message.c_str());
      return;
    }
    std::vector<double> row(engine->width());
    checksum = 0;
    finite = 0;
    const double t0 = cpu_seconds();
    for (size_t i = 0; i < f.size(); ++i) {
      engine->step(f.at(i), row.data());
      for (double v : row) {
        if (std::isfinite(v)) {
          checksum += v;
          ++finite;
        }
      }
    }
    seconds += cpu_seconds() - t0;
    benchmark::DoNotOptimize(checksum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * f.size()));
  state.counters["ns_per_bar"] = 1e9 * seconds / static_cast<double>(state.iterations() * f.size());
  state.counters["checksum"] = checksum;
  state.counters["finite_values"] = static_cast<double>(finite);
  std::printf("# %s: checksum %.17g over %llu finite values\n", family.c_str(), checksum,
              static_cast<unsigned long long>(finite));
}

void BM_Time(benchmark::State& state) { run_family(state, "time"); }
void BM_Activity(benchmark::State& state) { run_family(state, "activity"); }
void BM_Ms(benchmark::State& state) { run_family(state, "ms"); }

void BM_Labels(benchmark::State& state) {
  const auto& f = frame();
  double checksum = 0;
  double seconds = 0;
  for (auto _ : state) {
    const double t0 = cpu_seconds();
    const auto labels = bqx::features::compute_labels(f, f.close[0]);
    seconds += cpu_seconds() - t0;
    checksum = 0;
    for (double v : labels) {
      if (std::isfinite(v)) checksum += v;
    }
    benchmark::DoNotOptimize(checksum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * f.size()));
  state.counters["ns_per_bar"] = 1e9 * seconds / static_cast<double>(state.iterations() * f.size());
  state.counters["checksum"] = checksum;
  std::printf("# labels: checksum %.17g\n", checksum);
}

BENCHMARK(BM_Time)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Activity)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Ms)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Labels)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
