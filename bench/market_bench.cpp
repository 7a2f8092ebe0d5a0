// Full engine (all per-pair, cross-pair and second-order families):
//  - BM_StreamOneMinute28Pairs: one new minute of 28 pairs through MarketEngine::step
//    (goal < 100 us per minute on one core);
//  - BM_BatchMonth28Pairs: a generated month of 28 pairs replayed by run_market (bars/s);
//  - BM_MemoryLatency: this machine's load latency by working-set size, to read the
//    streaming figure against (the step streams ~1.5 MB of state per minute: it is bound by
//    the latency of the first level that holds that, L3 where L3 works, else DRAM).
// Both print a checksum of every finite output value.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>

#include "engine/market_engine.h"
#include "market_frames.h"

namespace {

const std::vector<bqx::BarFrame>& month() {
  static const std::vector<bqx::BarFrame> f = bqx::testing_frames::generated_market(31);
  return f;
}

// FNV-1a over the bit patterns of every output value: unlike the checksum, it changes
// when any value changes in the last bit (optimisations must keep it fixed).
void hash_values(uint64_t& h, const double* v, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint64_t bits;
    std::memcpy(&bits, v + i, sizeof bits);
    h = (h ^ bits) * 0x100000001b3ull;
  }
}

std::vector<bqx::PairSetup> universe(size_t n_pairs = SIZE_MAX) {
  std::vector<bqx::PairSetup> u;
  for (const auto& f : month()) {
    if (u.size() < n_pairs) u.push_back(bqx::PairSetup{f.pair, f.close[0]});
  }
  return u;
}

// Warms the engine of the first n_pairs pairs up on the first 10 days, then times
// minute-by-minute steps in which all of them have a bar (a full minute is the worst case).
void stream_minutes(benchmark::State& state, size_t n_pairs) {
  const std::vector<bqx::BarFrame> frames(month().begin(), month().begin() + static_cast<std::ptrdiff_t>(n_pairs));
  auto engine = bqx::MarketEngine::create(universe(n_pairs));
  const bqx::EpochMinute start = bqx::month_start(bqx::make_month(2024, 7));
  const bqx::EpochMinute warm_end = start + 10 * bqx::kMinutesPerDay;
  (void)bqx::run_market(*engine, frames, [](bqx::Pair, bqx::EpochMinute, const double*) { return bqx::Status::Ok(); },
                        INT64_MIN, warm_end);
  bqx::RowBuffer rows;  // grows without zero-fill (the engine writes every column)
  std::vector<bqx::Pair> pairs;
  std::vector<bqx::PairBar> minute;
  std::vector<size_t> pos(frames.size());
  for (size_t f = 0; f < frames.size(); ++f) {
    pos[f] = static_cast<size_t>(std::lower_bound(frames[f].ts.begin(), frames[f].ts.end(), warm_end) - frames[f].ts.begin());
  }
  // Synthesize full minutes from each pair's next bars, re-stamped consecutively.
  bqx::EpochMinute g = engine->last_minute();
  double checksum = 0;
  uint64_t bits_hash = 0xcbf29ce484222325ull;
  size_t minutes = 0;
  std::vector<double> step_us;  // each step's wall time: percentiles resist other load on the machine
  step_us.reserve(state.max_iterations);
  auto next_minute = [&] {
    ++g;
    minute.clear();
    for (size_t f = 0; f < frames.size(); ++f) {
      bqx::Bar b = frames[f].at(pos[f] % frames[f].size());
      ++pos[f];
      b.ts = g;
      minute.push_back(bqx::PairBar{frames[f].pair, b});
    }
    rows.clear();
    pairs.clear();
  };
  // One timed window per iteration (the step alone): the untimed work (checking the rows,
  // building the next minute) sits between PauseTiming and ResumeTiming at the end of the
  // iteration, so the timer's own clock reads enter each iteration once, not twice.
  next_minute();
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    (void)engine->step(g, minute, rows, pairs);
    const auto t1 = std::chrono::steady_clock::now();
    state.PauseTiming();
    step_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    ++minutes;
    for (double v : rows) checksum += std::isfinite(v) ? v * 1e-6 : 0.0;
    hash_values(bits_hash, rows.data(), rows.size());
    next_minute();
    state.ResumeTiming();
  }
  std::fprintf(stderr, "BM_Stream %zu pairs bits_hash=%016llx\n", n_pairs, static_cast<unsigned long long>(bits_hash));
  state.counters["us_per_minute"] = benchmark::Counter(static_cast<double>(minutes) * 1e-6,
                                                       benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["us_per_pair"] = benchmark::Counter(static_cast<double>(minutes * n_pairs) * 1e-6,
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  std::sort(step_us.begin(), step_us.end());
  if (!step_us.empty()) {
    state.counters["p10_us"] = step_us[step_us.size() / 10];
    state.counters["p50_us"] = step_us[step_us.size() / 2];
    state.counters["p90_us"] = step_us[step_us.size() * 9 / 10];
    state.counters["p99_us"] = step_us[step_us.size() * 99 / 100];
    double total_us = 0;
    for (double us : step_us) total_us += us;
    state.counters["mean_us"] = total_us / static_cast<double>(step_us.size());  // the step alone, by its own clock
  }
  state.counters["columns"] = static_cast<double>(engine->width());
  state.counters["checksum"] = checksum;
}

void BM_StreamOneMinute28Pairs(benchmark::State& state) { stream_minutes(state, month().size()); }
BENCHMARK(BM_StreamOneMinute28Pairs)->Unit(benchmark::kMicrosecond)->Iterations(3000);
// The same with 40,000 minutes, for profiling: the 10-day batch warm-up (~3 s) would
// otherwise dominate a profile of the 3,000 timed minutes (~0.75 s).
BENCHMARK(BM_StreamOneMinute28Pairs)->Name("BM_StreamProfile28Pairs")->Unit(benchmark::kMicrosecond)->Iterations(40000);

// The same for the first N pairs: per-pair cost against the size of the engine state
// (whether it fits in the caches).
void BM_StreamOneMinuteNPairs(benchmark::State& state) { stream_minutes(state, static_cast<size_t>(state.range(0))); }
BENCHMARK(BM_StreamOneMinuteNPairs)->Arg(1)->Arg(4)->Unit(benchmark::kMicrosecond)->Iterations(3000);

void BM_BatchMonth28Pairs(benchmark::State& state) {
  size_t bars = 0;
  double checksum = 0;
  uint64_t bits_hash = 0;
  for (auto _ : state) {
    auto engine = bqx::MarketEngine::create(universe());
    const size_t w = engine->width();
    checksum = 0;
    bits_hash = 0xcbf29ce484222325ull;
    (void)bqx::run_market(*engine, month(), [&](bqx::Pair, bqx::EpochMinute, const double* row) {
      ++bars;
      for (size_t c = 0; c < w; ++c) checksum += std::isfinite(row[c]) ? row[c] * 1e-6 : 0.0;
      hash_values(bits_hash, row, w);
      return bqx::Status::Ok();
    });
  }
  std::fprintf(stderr, "BM_BatchMonth28Pairs bits_hash=%016llx\n", static_cast<unsigned long long>(bits_hash));
  state.counters["bars_per_s"] = benchmark::Counter(static_cast<double>(bars), benchmark::Counter::kIsRate);
  state.counters["checksum"] = checksum;
}
BENCHMARK(BM_BatchMonth28Pairs)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

// A dependent pointer chase over a random cyclic permutation of cache lines (one load per
// line; random order defeats the hardware prefetchers): ns per load at a working set of
// state.range(0) KiB. On the machines the README reports, 4 MiB shows whether L3 serves
// (~10-20 ns) or every L2 miss goes to DRAM (~150-200 ns); 64 MiB with 16 chains, what a
// DRAM line costs when 16 are in flight.
void BM_MemoryLatency(benchmark::State& state) {
  const size_t lines = static_cast<size_t>(state.range(0)) * 1024 / 64;
  // Independent chains walked in step (their loads overlap): with more than one, ns per
  // load is the cost of a line when that many are in flight (the best a software prefetch
  // can do is bounded by it).
  const size_t chains = static_cast<size_t>(state.range(1));
  struct alignas(64) Line {
    size_t next;
    char pad[56];
  };
  std::vector<Line> ring(lines);
  std::vector<size_t> order(lines);
  std::iota(order.begin(), order.end(), size_t{0});
  std::shuffle(order.begin() + 1, order.end(), std::mt19937_64(42));
  for (size_t i = 0; i < lines; ++i) ring[order[i]].next = order[(i + 1) % lines];
  std::vector<size_t> at(chains);
  for (size_t c = 0; c < chains; ++c) at[c] = order[c * (lines / chains)];  // far apart on the ring
  size_t warm = 0;
  for (size_t i = 0; i < lines; ++i) warm = ring[warm].next;  // warm: every line once
  benchmark::DoNotOptimize(warm);
  const size_t steps = ((1 << 16) + 1) / chains | 1;  // odd: the checksum moves
  for (auto _ : state) {
    for (size_t i = 0; i < steps; ++i) {
      for (size_t c = 0; c < chains; ++c) at[c] = ring[at[c]].next;
    }
    benchmark::DoNotOptimize(at.data());
  }
  state.counters["ns_per_load"] = benchmark::Counter(static_cast<double>(state.iterations() * steps * chains) * 1e-9,
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["checksum"] = static_cast<double>(std::accumulate(at.begin(), at.end(), size_t{0}));
}
// KiB, chains.
BENCHMARK(BM_MemoryLatency)
    ->Args({256, 1})
    ->Args({4096, 1})
    ->Args({65536, 1})
    ->Args({65536, 16})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
