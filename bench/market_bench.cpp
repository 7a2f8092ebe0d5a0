// Full engine (all per-pair, cross-pair and second-order families):
//  - BM_StreamOneMinute28Pairs: one new minute of 28 pairs through MarketEngine::step
//    (goal < 100 us per minute on one core);
//  - BM_BatchMonth28Pairs: a generated month of 28 pairs replayed by run_market (bars/s).
// Both print a checksum of every finite output value.
#include <benchmark/benchmark.h>

#include <cmath>

#include "engine/market_engine.h"
#include "market_frames.h"

namespace {

const std::vector<bqx::BarFrame>& month() {
  static const std::vector<bqx::BarFrame> f = bqx::testing_frames::generated_market(31);
  return f;
}

std::vector<bqx::PairSetup> universe() {
  std::vector<bqx::PairSetup> u;
  for (const auto& f : month()) u.push_back(bqx::PairSetup{f.pair, f.close[0]});
  return u;
}

void BM_StreamOneMinute28Pairs(benchmark::State& state) {
  // Warm the engine up on the first 10 days, then time minute-by-minute steps in which
  // all 28 pairs have a bar (a full minute is the worst case).
  auto engine = bqx::MarketEngine::create(universe());
  const bqx::EpochMinute start = bqx::month_start(bqx::make_month(2024, 7));
  const bqx::EpochMinute warm_end = start + 10 * bqx::kMinutesPerDay;
  (void)bqx::run_market(*engine, month(), [](bqx::Pair, bqx::EpochMinute, const double*) { return bqx::Status::Ok(); },
                        INT64_MIN, warm_end);
  std::vector<double> rows;
  std::vector<bqx::Pair> pairs;
  std::vector<bqx::PairBar> minute;
  std::vector<size_t> pos(month().size());
  for (size_t f = 0; f < month().size(); ++f) {
    pos[f] = static_cast<size_t>(std::lower_bound(month()[f].ts.begin(), month()[f].ts.end(), warm_end) - month()[f].ts.begin());
  }
  // Synthesize full minutes from each pair's next bars, re-stamped consecutively.
  bqx::EpochMinute g = engine->last_minute();
  double checksum = 0;
  size_t minutes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    ++g;
    minute.clear();
    for (size_t f = 0; f < month().size(); ++f) {
      bqx::Bar b = month()[f].at(pos[f] % month()[f].size());
      ++pos[f];
      b.ts = g;
      minute.push_back(bqx::PairBar{month()[f].pair, b});
    }
    rows.clear();
    pairs.clear();
    state.ResumeTiming();
    (void)engine->step(g, minute, rows, pairs);
    state.PauseTiming();
    ++minutes;
    for (double v : rows) checksum += std::isfinite(v) ? v * 1e-6 : 0.0;
    state.ResumeTiming();
  }
  state.counters["us_per_minute"] = benchmark::Counter(static_cast<double>(minutes) * 1e-6,
                                                       benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["columns"] = static_cast<double>(engine->width());
  state.counters["checksum"] = checksum;
}
BENCHMARK(BM_StreamOneMinute28Pairs)->Unit(benchmark::kMicrosecond)->Iterations(3000);

void BM_BatchMonth28Pairs(benchmark::State& state) {
  size_t bars = 0;
  double checksum = 0;
  for (auto _ : state) {
    auto engine = bqx::MarketEngine::create(universe());
    const size_t w = engine->width();
    checksum = 0;
    (void)bqx::run_market(*engine, month(), [&](bqx::Pair, bqx::EpochMinute, const double* row) {
      ++bars;
      for (size_t c = 0; c < w; ++c) checksum += std::isfinite(row[c]) ? row[c] * 1e-6 : 0.0;
      return bqx::Status::Ok();
    });
  }
  state.counters["bars_per_s"] = benchmark::Counter(static_cast<double>(bars), benchmark::Counter::kIsRate);
  state.counters["checksum"] = checksum;
}
BENCHMARK(BM_BatchMonth28Pairs)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
