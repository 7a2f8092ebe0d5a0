// Per-family streaming cost with 28 pairs (where does one market minute go?): for each
// per-pair family, 28 PairEngines computing only that family (plus the families it
// reads) are warmed up on 2 days, then timed stepping one bar of every pair per minute,
// pair after pair with the window lines prefetched two pairs ahead, as MarketEngine's
// family-major loop does (so each pair's state is as cold as in the full
// engine only when the whole engine's state exceeds the caches; compare with
// market_bench's BM_StreamOneMinuteNPairs).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/market_engine.h"
#include "engine/pair_engine.h"
#include "features/registry.h"
#include "market_frames.h"

namespace {

const std::vector<bqx::BarFrame>& market() {
  static const std::vector<bqx::BarFrame> f = bqx::testing_frames::generated_market(6);
  return f;
}

void BM_FamilyStream(benchmark::State& state) {
  const auto& families = bqx::features::per_pair_families();
  const auto& fam = families[static_cast<size_t>(state.range(0))];
  const size_t n_pairs = static_cast<size_t>(state.range(1));
  state.SetLabel(fam.name);
  std::vector<bqx::PairEngine> engines;
  for (const auto& f : market()) {
    if (engines.size() == n_pairs) break;
    auto engine = bqx::PairEngine::create(f.pair, f.close[0], {fam.name});
    engines.push_back(std::move(*engine));
  }
  std::vector<double> row(2000);
  constexpr size_t kWarm = 3000;
  for (size_t i = 0; i < kWarm; ++i) {
    for (size_t p = 0; p < engines.size(); ++p) engines[p].step(market()[p].at(i), row.data());
  }
  size_t i = kWarm;
  double checksum = 0;
  for (auto _ : state) {
    // Two pairs ahead, as MarketEngine's family-major loop prefetches each kernel's window lines.
    for (size_t p = 0; p < std::min<size_t>(2, engines.size()); ++p) engines[p].prefetch();
    for (size_t p = 0; p < engines.size(); ++p) {
      const auto& f = market()[p];
      if (p + 2 < engines.size()) engines[p + 2].prefetch();
      engines[p].step(f.at(i % f.size()), row.data());
      checksum += std::isfinite(row[0]) ? row[0] : 0.0;
    }
    ++i;
  }
  state.counters["us_per_pair"] = benchmark::Counter(static_cast<double>(state.iterations() * n_pairs) * 1e-6,
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["checksum"] = checksum;
}
// Args: family index, number of pairs (2: the state stays in cache; 28: the full market).
BENCHMARK(BM_FamilyStream)->ArgsProduct({benchmark::CreateDenseRange(0, 11, 1), {2, 28}})
    ->Unit(benchmark::kMicrosecond)->Iterations(3000);

// The market part alone (as-of grid, cross-pair and second-order families, row assembly):
// the per-pair rows of each minute are computed outside the timed region and handed to
// step_with_pair_rows.
void BM_MarketPartOnly28Pairs(benchmark::State& state) {
  std::vector<bqx::PairSetup> universe;
  for (const auto& f : market()) universe.push_back(bqx::PairSetup{f.pair, f.close[0]});
  auto engine = bqx::MarketEngine::create(universe);
  constexpr size_t kWarm = 3000;
  const bqx::EpochMinute warm_end = market()[0].ts[kWarm];
  (void)bqx::run_market(*engine, market(), [](bqx::Pair, bqx::EpochMinute, const double*) { return bqx::Status::Ok(); },
                        INT64_MIN, warm_end);
  std::vector<size_t> pos(market().size());
  for (size_t f = 0; f < market().size(); ++f) {
    pos[f] = static_cast<size_t>(std::lower_bound(market()[f].ts.begin(), market()[f].ts.end(), warm_end) - market()[f].ts.begin());
  }
  const size_t pw = engine->per_pair_width();
  std::vector<double> pair_rows(market().size() * pw);
  std::vector<const double*> pair_row_ptrs(market().size());
  std::vector<bqx::PairBar> minute;
  // As in market_bench and the engine's callers: a std::vector's resize would zero-fill the
  // 28 rows (~243 KB) inside the timed region every minute, which the engine path does not.
  bqx::RowBuffer rows;
  std::vector<bqx::Pair> pairs;
  bqx::EpochMinute g = engine->last_minute();
  double checksum = 0;
  for (auto _ : state) {
    state.PauseTiming();
    ++g;
    minute.clear();
    for (size_t f = 0; f < market().size(); ++f) {
      bqx::Bar b = market()[f].at(pos[f] % market()[f].size());
      ++pos[f];
      b.ts = g;
      minute.push_back(bqx::PairBar{market()[f].pair, b});
      engine->pair_engine(market()[f].pair).step(b, pair_rows.data() + f * pw);
      pair_row_ptrs[f] = pair_rows.data() + f * pw;
    }
    rows.clear();
    pairs.clear();
    state.ResumeTiming();
    (void)engine->step_with_pair_rows(g, minute, pair_row_ptrs, rows, pairs);
    state.PauseTiming();
    checksum += std::isfinite(rows.back()) ? rows.back() : 0.0;
    state.ResumeTiming();
  }
  state.counters["us_per_minute"] = benchmark::Counter(static_cast<double>(state.iterations()) * 1e-6,
                                                       benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["checksum"] = checksum;
}
BENCHMARK(BM_MarketPartOnly28Pairs)->Unit(benchmark::kMicrosecond)->Iterations(3000);

// The timer overhead that market_bench's stream loop pays per minute (PauseTiming /
// ResumeTiming around the step), to subtract from its us_per_minute.
void BM_PauseResumeOverhead(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_PauseResumeOverhead)->Unit(benchmark::kMicrosecond)->Iterations(3000);

}  // namespace

BENCHMARK_MAIN();
