// TA benchmark (DESIGN.md "Performance budgets": TA indicators at least as fast as TA-Lib C
// on the same arrays). Side by side on the same 1,000,000-bar rate-index arrays:
//   ours   = the streaming kernel (src/features/ta/) called bar by bar in a loop,
//            writing its outputs to arrays;
//   TA-Lib = one TA_XXX call over the whole array (test-only target talib_ref).
// Plus the whole ta_rate and ta_bqx families per bar through PairEngine.
// Every case prints a checksum (sum of finite outputs) so a fast wrong answer shows; after the
// Google Benchmark cases a table with ns/bar and the ratio ours / TA-Lib (best of 5) is printed.
#include <benchmark/benchmark.h>
#include <ta_libc.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "engine/pair_engine.h"
#include "features/ta/adx.h"
#include "features/ta/atr.h"
#include "features/ta/bbands.h"
#include "features/ta/cci.h"
#include "features/ta/ema.h"
#include "features/ta/macd.h"
#include "features/ta/rsi.h"
#include "features/ta/stoch.h"
#include "test_frames.h"

namespace {

using namespace bqx;
using namespace bqx::features;

constexpr size_t kBars = 1000000;

struct Data {
  BarFrame frame;
  double baseline = 0;
  std::vector<double> h, l, c;
  int n = 0;
};

const Data& data() {
  static const Data d = [] {
    Data x;
    x.frame = testing_frames::random_walk_frame(kBars, 42);
    x.baseline = x.frame.close[0];
    const double k = 100.0 / x.baseline;
    for (size_t i = 0; i < x.frame.size(); ++i) {
      x.h.push_back(x.frame.high[i] * k);
      x.l.push_back(x.frame.low[i] * k);
      x.c.push_back(x.frame.close[i] * k);
    }
    x.n = static_cast<int>(x.c.size());
    TA_Initialize();
    return x;
  }();
  return d;
}

double checksum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) {
    if (std::isfinite(x)) s += x;
  }
  return s;
}

// One indicator, both ways. Each function fills `out` (one or more outputs appended) and
// returns nothing; the harness times it and checksums `out`.
struct Case {
  std::string name;
  std::function<void(std::vector<double>&)> ours;
  std::function<void(std::vector<double>&)> talib;
};

std::vector<Case> cases() {
  std::vector<Case> v;
  v.push_back({"RSI 14",
               [](std::vector<double>& out) {
                 const Data& d = data();
                 out.resize(d.c.size());
                 ta::RsiCmo k(14);
                 for (size_t i = 0; i < d.c.size(); ++i) {
                   k.update(d.c[i]);
                   out[i] = k.rsi();
                 }
               },
               [](std::vector<double>& out) {
                 const Data& d = data();
                 out.resize(d.c.size());
                 int beg, nb;
                 TA_RSI(0, d.n - 1, d.c.data(), 14, &beg, &nb, out.data());
               }});
  v.push_back({"EMA 20",
               [](std::vector<double>& out) {
                 const Data& d = data();
                 out.resize(d.c.size());
                 ta::Ema k(20);
                 for (size_t i = 0; i < d.c.size(); ++i) out[i] = k.update(d.c[i]);
               },
               [](std::vector<double>& out) {
                 const Data& d = data();
                 out.resize(d.c.size());
                 int beg, nb;
                 TA_EMA(0, d.n - 1, d.c.data(), 20, &beg, &nb, out.data());
               }});
  v.push_back({"MACD 12,26,9",
               [](std::vector<double>& out) {
                 const Data& d = data();
                 const size_t n = d.c.size();
                 out.resize(3 * n);
                 ta::Macd k(12, 26, 9);
                 for (size_t i = 0; i < n; ++i) {
                   const auto r = k.update(d.c[i]);
                   out[i] = r.macd;
                   out[n + i] = r.signal;
                   out[2 * n + i] = r.hist;
                 }
               },
               [](std::vector<double>& out) {
                 const Data& d = data();
                 const size_t n = d.c.size();
                 out.resize(3 * n);
                 int beg, nb;
                 TA_MACD(0, d.n - 1, d.c.data(), 12, 26, 9, &beg, &nb, out.data(), out.data() + n, out.data() + 2 * n);
               }});
  v.push_back({"BBANDS 20,2",
               [](std::vector<double>& out) {
                 const Data& d = data();
                 const size_t n = d.c.size();
                 out.resize(3 * n);
                 ta::BBands k(20, 2.0, false);
                 for (size_t i = 0; i < n; ++i) {
                   const auto r = k.update(d.c[i]);
                   out[i] = r.upper;
                   out[n + i] = r.middle;
                   out[2 * n + i] = r.lower;
                 }
               },
               [](std::vector<double>& out) {
                 const Data& d = data();
                 const size_t n = d.c.size();
                 out.resize(3 * n);
                 int beg, nb;
                 TA_BBANDS(0, d.n - 1, d.c.data(), 20, 2.0, 2.0, TA_MAType_SMA, &beg, &nb, out.data(), out.data() + n,
                           out.data() + 2 * n);
               }});
  v.push_back({"ADX 14",
               [](std::vector<double>& out) {
                 const Data& d = data();
                 out.resize(d.c.size());
                 ta::Dmi k(14, false);  // ADX only, as TA_ADX (ADXR's ring off)
                 for (size_t i = 0; i < d.c.size(); ++i) out[i] = k.update(d.h[i], d.l[i], d.c[i]).adx;
               },
               [](std::vector<double>& out) {
                 const Data& d = data();
                 out.resize(d.c.size());
                 int beg, nb;
                 TA_ADX(0, d.n - 1, d.h.data(), d.l.data(), d.c.data(), 14, &beg, &nb, out.data());
               }});
  v.push_back({"CCI 20",
               [](std::vector<double>& out) {
                 const Data& d = data();
                 out.resize(d.c.size());
                 ta::Cci k(20);
                 for (size_t i = 0; i < d.c.size(); ++i) out[i] = k.update(d.h[i], d.l[i], d.c[i]);
               },
               [](std::vector<double>& out) {
                 const Data& d = data();
                 out.resize(d.c.size());
                 int beg, nb;
                 TA_CCI(0, d.n - 1, d.h.data(), d.l.data(), d.c.data(), 20, &beg, &nb, out.data());
               }});
  v.push_back({"STOCH 14,3,3",
               [](std::vector<double>& out) {
                 const Data& d = data();
                 const size_t n = d.c.size();
                 out.resize(2 * n);
                 ta::Stoch k(14, 3, 3);
                 for (size_t i = 0; i < n; ++i) {
                   const auto r = k.update(d.h[i], d.l[i], d.c[i]);
                   out[i] = r.slowk;
                   out[n + i] = r.slowd;
                 }
               },
               [](std::vector<double>& out) {
                 const Data& d = data();
                 const size_t n = d.c.size();
                 out.resize(2 * n);
                 int beg, nb;
                 TA_STOCH(0, d.n - 1, d.h.data(), d.l.data(), d.c.data(), 14, 3, TA_MAType_SMA, 3, TA_MAType_SMA, &beg,
                          &nb, out.data(), out.data() + n);
               }});
  v.push_back({"ATR 14",
               [](std::vector<double>& out) {
                 const Data& d = data();
                 out.resize(d.c.size());
                 ta::Atr k(14);
                 for (size_t i = 0; i < d.c.size(); ++i) out[i] = k.update(d.h[i], d.l[i], d.c[i]);
               },
               [](std::vector<double>& out) {
                 const Data& d = data();
                 out.resize(d.c.size());
                 int beg, nb;
                 TA_ATR(0, d.n - 1, d.h.data(), d.l.data(), d.c.data(), 14, &beg, &nb, out.data());
               }});
  return v;
}

// Output buffers are pre-sized and reused so that allocation is not timed; TA-Lib's outputs
// start at index 0 (outBegIdx shifted), ours at the row: the checksums of the two agree.
void run_case(benchmark::State& state, const std::function<void(std::vector<double>&)>& f) {
  std::vector<double> out;
  f(out);  // warm (and size the buffer)
  for (auto _ : state) {
    f(out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kBars));
  state.counters["ns_per_bar"] = benchmark::Counter(static_cast<double>(kBars), benchmark::Counter::kIsIterationInvariantRate |
                                                                                     benchmark::Counter::kInvert);
  state.counters["checksum"] = checksum(out);
}

void family(benchmark::State& state, const std::vector<std::string>& fams) {
  const Data& d = data();
  auto engine = PairEngine::create(d.frame.pair, d.baseline, fams);
  if (!engine.ok()) {
    state.SkipWithError("engine");
    return;
  }
  const size_t w = engine->width();
  std::vector<double> row(w), colsum(w);
  double sum = 0;
  for (auto _ : state) {
    auto e = PairEngine::create(d.frame.pair, d.baseline, fams);
    std::fill(colsum.begin(), colsum.end(), 0.0);
    for (size_t i = 0; i < d.frame.size(); ++i) {
      e->step(d.frame.at(i), row.data());
      // Per-column sums (independent chains, so the checksum costs little per bar).
      for (size_t k = 0; k < w; ++k) colsum[k] += std::isfinite(row[k]) ? row[k] : 0.0;
    }
    sum = 0;
    for (double v : colsum) sum += v;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kBars));
  state.counters["ns_per_bar"] = benchmark::Counter(static_cast<double>(kBars), benchmark::Counter::kIsIterationInvariantRate |
                                                                                     benchmark::Counter::kInvert);
  state.counters["checksum"] = sum;
  state.counters["columns"] = static_cast<double>(engine->width());
}

// Best of 9 interleaved runs (ours, TA-Lib, ours, ...) in thread CPU time, so that load from
// other processes on the machine hits both sides alike.
void side_by_side() {
  std::printf("\nTA kernels vs TA-Lib 0.6 C on the same %zu-bar arrays (best of 9 interleaved runs, thread CPU time)\n", kBars);
  std::printf("%-14s %12s %13s %8s   %-22s %-22s\n", "indicator", "ours ns/bar", "TA-Lib ns/bar", "ratio",
              "checksum ours", "checksum TA-Lib");
  // Thread CPU time: time spent descheduled (the machine may be shared) is not counted.
  auto cpu_ns = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
  };
  auto time_once = [&](const std::function<void(std::vector<double>&)>& f, std::vector<double>& out) {
    const double t0 = cpu_ns();
    f(out);
    return (cpu_ns() - t0) / static_cast<double>(kBars);
  };
  for (const auto& c : cases()) {
    std::vector<double> a, b;
    c.ours(a);
    c.talib(b);
    double to = 1e300, tt = 1e300;
    for (int rep = 0; rep < 9; ++rep) {
      to = std::min(to, time_once(c.ours, a));
      tt = std::min(tt, time_once(c.talib, b));
    }
    std::printf("%-14s %12.2f %13.2f %8.2f   %-22.10f %-22.10f\n", c.name.c_str(), to, tt, to / tt, checksum(a),
                checksum(b));
  }
}

}  // namespace

int main(int argc, char** argv) {
  // --no_table: skip the side-by-side table (e.g. to profile one benchmark case alone).
  bool table = true;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--no_table") {
      table = false;
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      break;
    }
  }
  for (const auto& c : cases()) {
    benchmark::RegisterBenchmark(("ours/" + c.name).c_str(), [f = c.ours](benchmark::State& s) { run_case(s, f); })
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("talib/" + c.name).c_str(), [f = c.talib](benchmark::State& s) { run_case(s, f); })
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("family/ta_rate (62 columns)", [](benchmark::State& s) { family(s, {"ta_rate"}); })
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("family/bqx (dependency of ta_bqx)", [](benchmark::State& s) { family(s, {"bqx"}); })
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("family/ta_bqx (22 columns, computes bqx too)",
                               [](benchmark::State& s) { family(s, {"ta_bqx"}); })
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  if (table) side_by_side();
  benchmark::Shutdown();
  return 0;
}
