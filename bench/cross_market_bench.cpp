// The market part alone without timer pauses (for profiling it with perf): the per-pair
// rows of kDistinct minutes are computed once after the warm-up and handed, cycling, to
// MarketEngine::step_with_pair_rows while the bars keep advancing. The timed loop is then
// only the as-of grid, the cross-pair kernels, the second-order kernels and the row
// assembly (family_stream_bench's BM_MarketPartOnly28Pairs measures the same part with
// PauseTiming around the per-pair steps, which perturbs the caches and adds timer cost).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/market_engine.h"
#include "engine/pair_engine.h"
#include "market_frames.h"

namespace {

const std::vector<bqx::BarFrame>& market() {
  static const std::vector<bqx::BarFrame> f = bqx::testing_frames::generated_market(6);
  return f;
}

void BM_CrossPartOnly28Pairs(benchmark::State& state) {
  std::vector<bqx::PairSetup> universe;
  for (const auto& f : market()) universe.push_back(bqx::PairSetup{f.pair, f.close[0]});
  auto engine = bqx::MarketEngine::create(universe);
  constexpr size_t kWarm = 3000;
  constexpr size_t kDistinct = 64;  // distinct per-pair rows, cycled
  const bqx::EpochMinute warm_end = market()[0].ts[kWarm];
  (void)bqx::run_market(*engine, market(), [](bqx::Pair, bqx::EpochMinute, const double*) { return bqx::Status::Ok(); },
                        INT64_MIN, warm_end);
  std::vector<size_t> pos(market().size());
  for (size_t f = 0; f < market().size(); ++f) {
    pos[f] = static_cast<size_t>(std::lower_bound(market()[f].ts.begin(), market()[f].ts.end(), warm_end) - market()[f].ts.begin());
  }
  const size_t pw = engine->per_pair_width();
  const size_t n = market().size();
  std::vector<double> pair_rows(kDistinct * n * pw);
  for (size_t d = 0; d < kDistinct; ++d) {
    for (size_t f = 0; f < n; ++f) {
      const bqx::Bar b = market()[f].at((pos[f] + d) % market()[f].size());
      engine->pair_engine(market()[f].pair).step(b, pair_rows.data() + (d * n + f) * pw);
    }
  }
  std::vector<const double*> pair_row_ptrs(n);
  std::vector<bqx::PairBar> minute(n);
  std::vector<double> rows;
  std::vector<bqx::Pair> pairs;
  bqx::EpochMinute g = engine->last_minute();
  double checksum = 0;
  size_t step = 0;
  for (auto _ : state) {
    ++g;
    const size_t d = step % kDistinct;
    for (size_t f = 0; f < n; ++f) {
      bqx::Bar b = market()[f].at(pos[f] % market()[f].size());
      ++pos[f];
      b.ts = g;
      minute[f] = bqx::PairBar{market()[f].pair, b};
      pair_row_ptrs[f] = pair_rows.data() + (d * n + f) * pw;
    }
    rows.clear();
    pairs.clear();
    (void)engine->step_with_pair_rows(g, minute, pair_row_ptrs, rows, pairs);
    checksum += std::isfinite(rows.back()) ? rows.back() : 0.0;
    ++step;
  }
  state.counters["us_per_minute"] = benchmark::Counter(static_cast<double>(state.iterations()) * 1e-6,
                                                       benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["checksum"] = checksum;
}
BENCHMARK(BM_CrossPartOnly28Pairs)->Unit(benchmark::kMicrosecond)->Iterations(5000);
// For perf record: long enough that the warm-up is a small part of the profile.
BENCHMARK(BM_CrossPartOnly28Pairs)->Name("BM_CrossPartOnly28Pairs_long")->Unit(benchmark::kMicrosecond)->Iterations(100000);

}  // namespace

BENCHMARK_MAIN();
