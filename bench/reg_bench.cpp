// Rolling regression benchmarks (FEATURES.md 1.2 / 1.3, DESIGN.md "Rolling regression:
// cost independent of W"): each family alone through the PairEngine over 1,000,000
// bars, and the O(1) primitive at W = 60 and W = 630 separately (the w630/w60 cost
// ratio should be close to 1; goal < 1.5). Every case reports a checksum of what it
// computed (sum of the finite outputs) so a fast wrong answer shows.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "engine/pair_engine.h"
#include "features/reg_quadratic.h"
#include "test_frames.h"

namespace {

constexpr size_t kBars = 1000000;

const bqx::BarFrame& frame() {
  static const bqx::BarFrame f = bqx::testing_frames::random_walk_frame(kBars, 42);
  return f;
}

const std::vector<double>& rate_index() {
  static const std::vector<double> x = [] {
    std::vector<double> v(frame().size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = frame().close[i] * (100.0 / frame().close[0]);
    return v;
  }();
  return x;
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
    // Four partial sums (fixed order) keep the checksum off the critical path.
    double part[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < f.size(); ++i) {
      engine->step(f.at(i), row.data());
      for (size_t c = 0; c < width; ++c) part[c & 3] += row[c] == row[c] ? row[c] : 0.0;  // NULL = NaN skipped
    }
    volatile double sum = (part[0] + part[1]) + (part[2] + part[3]);  // volatile: kept
    checksum = sum;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * f.size()));
  state.counters["ns_per_bar"] = benchmark::Counter(static_cast<double>(state.iterations() * f.size()),
                                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["columns"] = static_cast<double>(width);
  state.counters["checksum"] = checksum;
}

void BM_RegRate(benchmark::State& state) { run_family(state, "reg_rate"); }
void BM_RegBqx(benchmark::State& state) { run_family(state, "reg_bqx"); }     // + bqx (dependency)
void BM_RegDiag(benchmark::State& state) { run_family(state, "regdiag"); }    // + bqx, reg_rate, reg_bqx
void BM_BqxOnly(benchmark::State& state) { run_family(state, "bqx"); }        // to subtract from BM_RegBqx
BENCHMARK(BM_RegRate)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_RegBqx)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_RegDiag)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_BqxOnly)->Unit(benchmark::kMillisecond)->Iterations(3);

// The primitive alone: push + evaluate per bar for one window.
double fit_pass(int w) {
  bqx::features::RollingQuadraticFit fit(w);
  bqx::features::QuadColumns o{};
  double checksum = 0;
  for (double y : rate_index()) {
    fit.push(y);
    if (fit.ready()) {
      fit.evaluate(o);
      checksum += o.quadratic_term + o.linear_term + o.residual + o.rmse + o.slope_now;
    }
  }
  return checksum;
}

// One complete reg window: fit + the six term covariances.
double window_pass(int w) {
  bqx::features::RollingQuadraticFit fit(w);
  bqx::features::RollingCoMoments<4> cov(static_cast<size_t>(w));
  bqx::features::QuadColumns o{};
  std::array<double, 6> c{};
  double checksum = 0;
  for (double y : rate_index()) {
    fit.push(y);
    if (!fit.ready()) continue;
    fit.evaluate(o);
    cov.push({o.quadratic_term, o.linear_term, o.constant_term, o.residual});
    if (cov.full()) {
      cov.covariances(c);
      checksum += c[0] + c[5];
    }
    checksum += o.quadratic_term + o.residual;
  }
  return checksum;
}

void BM_QuadFit(benchmark::State& state) {
  const int w = static_cast<int>(state.range(0));
  double checksum = 0;
  for (auto _ : state) {
    volatile double got = fit_pass(w);  // volatile: every pass is really computed
    checksum = got;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBars));
  state.counters["ns_per_bar"] = benchmark::Counter(static_cast<double>(state.iterations() * kBars),
                                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["checksum"] = checksum;
}
BENCHMARK(BM_QuadFit)->Arg(60)->Arg(630)->Unit(benchmark::kMillisecond);

void BM_RegWindow(benchmark::State& state) {
  const int w = static_cast<int>(state.range(0));
  double checksum = 0;
  for (auto _ : state) {
    volatile double got = window_pass(w);  // volatile: every pass is really computed
    checksum = got;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBars));
  state.counters["ns_per_bar"] = benchmark::Counter(static_cast<double>(state.iterations() * kBars),
                                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["checksum"] = checksum;
}
BENCHMARK(BM_RegWindow)->Arg(60)->Arg(630)->Unit(benchmark::kMillisecond);

// The w630 / w60 cost ratio measured back to back (best of 5 passes each, interleaved
// so frequency drift affects both alike).
template <double (*Pass)(int)>
void ratio(benchmark::State& state) {
  double best60 = 1e300, best630 = 1e300, checksum = 0;
  for (auto _ : state) {
    for (int rep = 0; rep < 5; ++rep) {
      for (int w : {60, 630}) {
        const auto t0 = std::chrono::steady_clock::now();
        volatile double got = Pass(w);  // volatile: every pass is really computed
        checksum += got;
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        double& best = w == 60 ? best60 : best630;
        best = std::min(best, s);
      }
    }
  }
  state.counters["ns_per_bar_w60"] = best60 * 1e9 / kBars;
  state.counters["ns_per_bar_w630"] = best630 * 1e9 / kBars;
  state.counters["ratio_w630_w60"] = best630 / best60;
  state.counters["checksum"] = checksum;
}
void BM_QuadFitRatio(benchmark::State& state) { ratio<fit_pass>(state); }
void BM_RegWindowRatio(benchmark::State& state) { ratio<window_pass>(state); }
BENCHMARK(BM_QuadFitRatio)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_RegWindowRatio)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
