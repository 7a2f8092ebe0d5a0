// activity: tick volume, bar range and spread activity (FEATURES.md 1.10).
//
// Windows count rows (bars of the pair) and end at t inclusive. z-scores are
// (v_t - mean) / std with the sample stdev (ddof 1) over the W values; they are NULL
// while any value in the window is missing (NaN volume, NaN bid/ask) and for a flat
// window (all W values equal, detected exactly with a run-length counter, so a HistData
// feed whose volume is always 0 gives NULL rather than a rounding-noise z-score).
// Moments use RollingMoments (shifted sums, deterministic re-anchoring); a missing value
// enters the sums as 0 and is tracked by a flag ring, so the result stays NULL until the
// missing value has left the window.
#include <array>
#include <cmath>
#include <string>

#include "features/families.h"
#include "features/rolling.h"

namespace bqx::features {
namespace {

// Rolling z-score of the newest value over the last W values, with exact missing,
// non-zero and flatness bookkeeping. O(1) per push.
class ZWindow {
 public:
  explicit ZWindow(size_t window = 2) : window_(window), moments_(window), flags_(window) {}

  void push(double v) {
    const bool missing = !std::isfinite(v);
    const uint8_t f = missing ? kMissing : (v != 0 ? kNonZero : 0);
    uint8_t old = 0;
    if (flags_.push(f, &old)) {
      missing_ -= (old & kMissing) ? 1 : 0;
      nonzero_ -= (old & kNonZero) ? 1 : 0;
    }
    missing_ += (f & kMissing) ? 1 : 0;
    nonzero_ += (f & kNonZero) ? 1 : 0;
    moments_.push(missing ? 0.0 : v);
    if (missing) {
      run_ = 0;
    } else {
      run_ = (run_ > 0 && v == last_) ? run_ + 1 : 1;
      last_ = v;
    }
  }
  // Full window without missing values.
  bool ready() const { return flags_.full() && missing_ == 0; }
  bool flat() const { return run_ >= window_; }
  uint64_t nonzero() const { return nonzero_; }
  double mean() const { return ready() ? moments_.mean() : kNull; }
  // z(v) is defined unless the window is not ready or flat (or has sd 0, tested after).
  bool z_candidate() const { return ready() && !flat(); }
  const RollingMoments& moments() const { return moments_; }
  // z-score of v (the newest value) against the window.
  double z(double v) const {
    if (!ready() || flat()) return kNull;
    const double sd = std::sqrt(moments_.var_sample());
    if (!(sd > 0)) return kNull;
    return (v - moments_.mean()) / sd;
  }

  void prefetch() const {
    moments_.prefetch();
    flags_.prefetch();
  }

  void save(StateWriter& out) const {
    moments_.save(out);
    flags_.save(out);
    out.put(missing_);
    out.put(nonzero_);
    out.put(run_);
    out.put(last_);
  }
  void load(StateReader& in) {
    moments_.load(in);
    flags_.load(in);
    in.get(missing_);
    in.get(nonzero_);
    in.get(run_);
    in.get(last_);
  }

 private:
  static constexpr uint8_t kMissing = 1, kNonZero = 2;
  uint64_t window_;
  RollingMoments moments_;
  RingBuffer<uint8_t> flags_;
  uint64_t missing_ = 0, nonzero_ = 0;
  uint64_t run_ = 0;  // trailing count of equal non-missing values
  double last_ = 0;
};

// Timestamps of this pair's bars in (t - 60, t]: a monotonic queue of at most 60 entries
// (timestamps strictly increase, so at most 60 distinct minutes fit in the interval).
class RecentBars {
 public:
  static constexpr int64_t kSpan = 60;
  RecentBars() : ts_(kSpan) {}
  uint64_t push(EpochMinute t) {
    while (len_ > 0 && ts_[start_] <= t - kSpan) pop();
    if (len_ == ts_.size()) pop();  // defensive: only reachable with non-increasing ts
    ts_[(start_ + len_) % ts_.size()] = t;
    ++len_;
    return len_;
  }
  // The front (compared, maybe popped) and the slot the next push writes.
  void prefetch() const {
    prefetch_read(&ts_[start_], sizeof(EpochMinute));
    prefetch_write(&ts_[(start_ + len_) % ts_.size()], sizeof(EpochMinute));
  }
  void save(StateWriter& out) const {
    out.put_vector(ts_);
    out.put(start_);
    out.put(len_);
  }
  void load(StateReader& in) {
    in.get_vector(ts_);
    in.get(start_);
    in.get(len_);
    if (start_ >= ts_.size() || len_ > ts_.size()) in.fail();
  }

 private:
  void pop() {
    start_ = (start_ + 1) % ts_.size();
    --len_;
  }
  std::vector<EpochMinute> ts_;
  uint64_t start_ = 0, len_ = 0;
};

constexpr std::array<int, 3> kVolWindows = {15, 60, 240};
constexpr int kRangeWindow = 60;
constexpr int kSpreadWindow = 60;

class ActivityKernel final : public FamilyKernel {
 public:
  explicit ActivityKernel(const KernelContext& ctx)
      : offset_(ctx.offset), range_(kRangeWindow), spread_(kSpreadWindow) {
    for (size_t i = 0; i < kVolWindows.size(); ++i) vol_[i] = ZWindow(kVolWindows[i]);
  }

  void update(const BarInput& bar, double* row) override {
    double* o = row + offset_;
    const double v = bar.volume;
    for (size_t i = 0; i < kVolWindows.size(); ++i) vol_[i].push(v);
    // mean(v, 15) / mean(v, 240): NULL with a missing volume in the 240 window or an all-zero one.
    const ZWindow& v15 = vol_[0];
    const ZWindow& v240 = vol_[2];
    o[3] = (v240.ready() && v240.nonzero() > 0) ? v15.mean() / v240.mean() : kNull;
    o[4] = static_cast<double>(recent_.push(bar.ts));
    const double r = (bar.high - bar.low) / bar.close;
    range_.push(r);
    double s = kNull;
    if (!std::isnan(bar.bid) && !std::isnan(bar.ask)) {
      const double mid = (bar.ask + bar.bid) / 2;
      s = (bar.ask - bar.bid) / mid * 1e4;
      if (!std::isfinite(s)) s = kNull;
    }
    o[6] = s;
    spread_.push(s);
    // The five z-scores (each window already holds its newest value).
    const ZWindow* windows[5] = {&vol_[0], &vol_[1], &vol_[2], &range_, &spread_};
    const double values[5] = {v, v, v, r, s};
    double* outs[5] = {o + 0, o + 1, o + 2, o + 5, o + 7};
#if defined(BQX_NULL_NON_FINITE_AVX2)
    if (cpu_has_avx512dq()) {
      z_scores_avx512(windows, values, outs);
      return;
    }
#endif
    for (size_t i = 0; i < 5; ++i) *outs[i] = windows[i]->z(values[i]);
  }

#if defined(BQX_NULL_NON_FINITE_AVX2)
  // ZWindow::z for five windows as SIMD lanes (var = m2 / (n - 1), sd = sqrt(var),
  // (v - mean) / sd): per-lane IEEE ops, bit-identical to the scalar form; lanes built in
  // registers (no store-to-load forwarding of scalar stores into vector loads).
  __attribute__((target("avx512f"))) static void z_scores_avx512(const ZWindow* const* w, const double* value,
                                                                 double* const* out) {
    double mean[5], m2[5], n1[5];
    __mmask8 candidate = 0;
    for (size_t i = 0; i < 5; ++i) {
      const bool c = w[i]->z_candidate();
      candidate = static_cast<__mmask8>(candidate | (c ? 1u << i : 0u));
      const RollingMoments& m = w[i]->moments();
      mean[i] = c ? m.mean() : 0.0;
      m2[i] = c ? m.m2() : 0.0;
      n1[i] = c ? static_cast<double>(m.size() - 1) : 1.0;
    }
    const __m512d m2_v = _mm512_set_pd(0, 0, 0, m2[4], m2[3], m2[2], m2[1], m2[0]);
    const __m512d n1_v = _mm512_set_pd(1, 1, 1, n1[4], n1[3], n1[2], n1[1], n1[0]);
    const __m512d mean_v = _mm512_set_pd(0, 0, 0, mean[4], mean[3], mean[2], mean[1], mean[0]);
    const __m512d val_v = _mm512_set_pd(0, 0, 0, value[4], value[3], value[2], value[1], value[0]);
    const __m512d sd = _mm512_maskz_sqrt_pd(0xff, _mm512_div_pd(m2_v, n1_v));  // maskz: GCC 12 warns on _mm512_sqrt_pd
    const __mmask8 ok = _mm512_mask_cmp_pd_mask(candidate, sd, _mm512_setzero_pd(), _CMP_GT_OQ);
    const __m512d z = _mm512_mask_div_pd(_mm512_set1_pd(kNull), ok, _mm512_sub_pd(val_v, mean_v), sd);
    alignas(64) double z_out[8];
    _mm512_store_pd(z_out, z);
    for (size_t i = 0; i < 5; ++i) *out[i] = z_out[i];
  }
#endif

  void prefetch() const override {
    for (const auto& v : vol_) v.prefetch();
    recent_.prefetch();
    range_.prefetch();
    spread_.prefetch();
  }

  void save(StateWriter& out) const override {
    for (const auto& z : vol_) z.save(out);
    recent_.save(out);
    range_.save(out);
    spread_.save(out);
  }
  void load(StateReader& in) override {
    for (auto& z : vol_) z.load(in);
    recent_.load(in);
    range_.load(in);
    spread_.load(in);
  }

 private:
  int offset_;
  std::array<ZWindow, kVolWindows.size()> vol_;
  RecentBars recent_;
  ZWindow range_;
  ZWindow spread_;
};

}  // namespace

FamilyDef make_activity_family() {
  FamilyDef def;
  def.name = "activity";
  const std::string src = "FEATURES.md 1.10";
  const std::string no_vol =
      "volume missing (NaN) anywhere in the window, or the window is flat (all W volumes equal, e.g. the "
      "all-0 volume of HistData feeds): std = 0";
  for (int w : kVolWindows) {
    def.columns.push_back({"activity_vol_z_" + std::to_string(w), "activity", "W=" + std::to_string(w),
                           "(v_t - mean(v over the W rows ending at t)) / stdev(same, ddof 1); v = tick volume",
                           "z-score", w - 1, src, no_vol, true});
  }
  def.columns.push_back({"activity_vol_ratio_15_240", "activity", "short=15, long=240",
                         "mean(v over the 15 rows ending at t) / mean(v over the 240 rows ending at t)", "ratio", 239,
                         src, "volume missing (NaN) in the 240-row window, or mean over 240 rows = 0 (all zero)",
                         true});
  def.columns.push_back({"activity_bars_last_60min", "activity", "span=60 min",
                         "number of this pair's bars with ts in (t - 60 min, t] (counts the current bar; 1..60)",
                         "bars", 0, src, "", true});
  def.columns.push_back({"activity_range_z_60", "activity", "W=60",
                         "z-score of (high - low)/close (raw prices) over the 60 rows ending at t, stdev ddof 1",
                         "z-score", kRangeWindow - 1, src, "flat window (all 60 values equal): std = 0", true});
  def.columns.push_back({"activity_spread_bp", "activity", "",
                         "(ask - bid) / mid * 1e4, mid = (ask + bid)/2 (bid/ask closes)", "basis points", 0, src,
                         "bid or ask missing", true});
  def.columns.push_back({"activity_spread_z_60", "activity", "W=60",
                         "z-score of activity_spread_bp over the 60 rows ending at t, stdev ddof 1", "z-score",
                         kSpreadWindow - 1, src,
                         "bid/ask missing anywhere in the window, or flat window (std = 0)", true});
  def.make = [](const KernelContext& ctx) { return std::make_unique<ActivityKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
