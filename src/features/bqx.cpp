// bqx: backward momentum over the past W bars, current bar excluded (FEATURES.md 1.1).
// P = x_{t-W} .. x_{t-1}; all values are NULL until W previous bars exist (lookback W).
#include <array>
#include <cmath>
#include <string>

#include "features/families.h"
#include "features/rolling.h"

namespace bqx::features {
namespace {

constexpr std::array<int, 5> kWindows = {15, 30, 45, 60, 75};
constexpr int kAggWindow = 75;
constexpr int kColumnsPerWindow = 6;

class BqxKernel final : public FamilyKernel {
 public:
  explicit BqxKernel(const KernelContext& ctx) : offset_(ctx.offset) {
    for (size_t i = 0; i < kWindows.size(); ++i) {
      moments_[i] = RollingMoments(kWindows[i]);
      max_[i] = RollingMax(kWindows[i]);
      min_[i] = RollingMin(kWindows[i]);
    }
  }

  void update(const BarInput& bar, double* row) override {
    const double x = bar.xc;
    double* out = row + offset_;
#if defined(BQX_NULL_NON_FINITE_AVX2)
    if (moments_[0].full() && moments_[kWindows.size() - 1].full() && cpu_has_avx512dq()) {
      write_full_avx512(x, out);
    } else {
      write_scalar(x, out);
    }
#else
    write_scalar(x, out);
#endif
    // The current bar joins the past window only after its own row is written.
    for (size_t i = 0; i < kWindows.size(); ++i) {
      moments_[i].push(x);
      max_[i].push(x);
      min_[i].push(x);
    }
  }

  void prefetch() const override {
    for (const auto& m : moments_) m.prefetch();
    for (const auto& m : max_) m.prefetch();
    for (const auto& m : min_) m.prefetch();
  }

  void save(StateWriter& out) const override {
    for (size_t i = 0; i < kWindows.size(); ++i) {
      moments_[i].save(out);
      max_[i].save(out);
      min_[i].save(out);
    }
  }
  void load(StateReader& in) override {
    for (size_t i = 0; i < kWindows.size(); ++i) {
      moments_[i].load(in);
      max_[i].load(in);
      min_[i].load(in);
    }
  }

 private:
  void write_scalar(double x, double* out) const {
    for (size_t i = 0; i < kWindows.size(); ++i) {
      const double w = kWindows[i];
      double* o = out + i * kColumnsPerWindow;
      if (moments_[i].full()) {
        const double mean = moments_[i].mean();
        // sum_{i=1..W}(x_{t-i} - x_t) = W * (mean(P) - x_t): avoids summing levels near 100.
        o[0] = w * (mean - x) / x;
        o[1] = (moments_[i].values().front(0) - x) / x;
        o[2] = max_[i].value();
        o[3] = min_[i].value();
        o[4] = mean;
        o[5] = std::sqrt(moments_[i].var_sample());
      } else {
        for (int k = 0; k < kColumnsPerWindow; ++k) o[k] = kNull;
      }
    }
    double* agg = out + kWindows.size() * kColumnsPerWindow;
    const size_t a = kWindows.size() - 1;  // the 75-bar window
    if (moments_[a].full()) {
      agg[0] = (max_[a].value() - min_[a].value()) / x;
      agg[1] = std::sqrt(moments_[a].var_sample()) / x;
    } else {
      agg[0] = agg[1] = kNull;
    }
  }

#if defined(BQX_NULL_NON_FINITE_AVX2)
  // write_scalar with every window full: the per-window divisions (var = m2 / (W - 1),
  // W * (mean - x) / x, (front - x) / x) and square roots as SIMD lanes (one
  // per window): per-lane IEEE ops, bit-identical to the scalar form. The lanes are built
  // in registers (no store-to-load forwarding of scalar stores into vector loads).
  __attribute__((target("avx512f"))) void write_full_avx512(double x, double* out) const {
    static_assert(kWindows.size() == 5, "five lanes");
    double mean[5], m2[5], front[5];
    for (size_t i = 0; i < 5; ++i) {
      mean[i] = moments_[i].mean();
      m2[i] = moments_[i].m2();
      front[i] = moments_[i].values().front(0);
    }
    const __m512d xv = _mm512_set1_pd(x);
    const __m512d w = _mm512_set_pd(1, 1, 1, kWindows[4], kWindows[3], kWindows[2], kWindows[1], kWindows[0]);
    const __m512d w1 = _mm512_set_pd(1, 1, 1, kWindows[4] - 1, kWindows[3] - 1, kWindows[2] - 1, kWindows[1] - 1,
                                     kWindows[0] - 1);
    const __m512d mean_v = _mm512_set_pd(0, 0, 0, mean[4], mean[3], mean[2], mean[1], mean[0]);
    const __m512d m2_v = _mm512_set_pd(0, 0, 0, m2[4], m2[3], m2[2], m2[1], m2[0]);
    const double range = max_[4].value() - min_[4].value();
    const __m512d front_v = _mm512_set_pd(0, 0, 0, front[4], front[3], front[2], front[1], front[0]);
    const __m512d sd = _mm512_maskz_sqrt_pd(0xff, _mm512_div_pd(m2_v, w1));  // maskz: GCC 12 warns on _mm512_sqrt_pd
    const __m512d ret = _mm512_div_pd(_mm512_mul_pd(w, _mm512_sub_pd(mean_v, xv)), xv);
    alignas(64) double sd_out[8], ret_out[8], end_out[8];
    _mm512_store_pd(sd_out, sd);
    _mm512_store_pd(ret_out, ret);
    _mm512_store_pd(end_out, _mm512_div_pd(_mm512_sub_pd(front_v, xv), xv));
    for (size_t i = 0; i < 5; ++i) {
      double* o = out + i * kColumnsPerWindow;
      o[0] = ret_out[i];
      o[1] = end_out[i];
      o[2] = max_[i].value();
      o[3] = min_[i].value();
      o[4] = mean[i];
      o[5] = sd_out[i];
    }
    double* agg = out + kWindows.size() * kColumnsPerWindow;
    agg[0] = range / x;
    agg[1] = sd_out[4] / x;
  }
#endif

  int offset_;
  std::array<RollingMoments, kWindows.size()> moments_;
  std::array<RollingMax, kWindows.size()> max_;
  std::array<RollingMin, kWindows.size()> min_;
};

}  // namespace

FamilyDef make_bqx_family() {
  FamilyDef def;
  def.name = "bqx";
  const std::string src = "FEATURES.md 1.1";
  for (int w : kWindows) {
    const std::string p = "bqx_w" + std::to_string(w) + "_";
    const std::string par = "W=" + std::to_string(w);
    def.columns.push_back({p + "return", "bqx", par, "sum_{i=1..W} (x_{t-i} - x_t) / x_t (positive = price fell)",
                           "fraction", w, src});
    def.columns.push_back({p + "endpoint", "bqx", par, "(x_{t-W} - x_t) / x_t", "fraction", w, src});
    def.columns.push_back({p + "max", "bqx", par, "max(x_{t-W} .. x_{t-1})", "index points", w, src});
    def.columns.push_back({p + "min", "bqx", par, "min(x_{t-W} .. x_{t-1})", "index points", w, src});
    def.columns.push_back({p + "avg", "bqx", par, "mean(x_{t-W} .. x_{t-1})", "index points", w, src});
    def.columns.push_back({p + "stdev", "bqx", par, "sample stdev (ddof 1) of x_{t-W} .. x_{t-1}", "index points", w, src});
  }
  def.columns.push_back({"bqx_agg_range", "bqx", "W=75", "(max(P_75) - min(P_75)) / x_t", "fraction", kAggWindow, src});
  def.columns.push_back({"bqx_agg_volatility", "bqx", "W=75", "stdev(P_75) / x_t", "fraction", kAggWindow, src});
  def.make = [](const KernelContext& ctx) { return std::make_unique<BqxKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
