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
#include <utility>

#include "features/families.h"
#include "features/rolling.h"

namespace bqx::features {
namespace {

// Timestamps of this pair's bars in (t - 60, t]: a monotonic queue of at most 60 entries
// (timestamps strictly increase, so at most 60 distinct minutes fit in the interval).
class RecentBars {
 public:
  static constexpr int64_t kSpan = 60;
  RecentBars() : ts_(kSpan) {}
  uint64_t push(EpochMinute t) {
    while (len_ > 0 && ts_[start_] <= t - kSpan) pop();
    if (len_ == ts_.size()) pop();  // defensive: only reachable with non-increasing ts
    ts_[wrap(start_ + len_)] = t;
    ++len_;
    return len_;
  }
  // The front (compared, maybe popped) and the slot the next push writes.
  void prefetch() const {
    prefetch_read(&ts_[start_], sizeof(EpochMinute));
    prefetch_write(&ts_[wrap(start_ + len_)], sizeof(EpochMinute));
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
  // i < 2 * size: wrap by compare (a 64-bit modulo is a division).
  uint64_t wrap(uint64_t i) const { return i >= ts_.size() ? i - ts_.size() : i; }
  void pop() {
    start_ = wrap(start_ + 1);
    --len_;
  }
  std::vector<EpochMinute> ts_;
  uint64_t start_ = 0, len_ = 0;
};

// ActivityKernel keeps it in its first cache line (after the vtable pointer, offset_, count_).
static_assert(sizeof(RecentBars) <= 40, "RecentBars in the kernel's first line");

constexpr std::array<int, 3> kVolWindows = {15, 60, 240};
constexpr int kRangeWindow = 60;
constexpr int kSpreadWindow = 60;

// The five z-score windows as lanes: volume over 15, 60 and 240 rows (one shared ring of
// volumes), bar range over 60 and spread over 60. Per lane exactly the arithmetic of a
// rolling z-score window: RollingMoments' shifted sums (a missing value enters as 0),
// a missing / non-zero count over the window and the run of equal non-missing values
// (flat window). Sharing one volume ring instead of three windows with a value ring and a
// flag ring each removes bookkeeping and cache lines, not operations on values.
constexpr size_t kZ = 5;      // lanes in use
constexpr size_t kLanes = 8;  // one AVX-512 register; lanes >= kZ idle
constexpr std::array<uint64_t, kZ> kLaneWindow = {15, 60, 240, kRangeWindow, kSpreadWindow};
// The window as a double (RollingMoments' n once full) and n - 1; idle lanes 2 and 1.
alignas(64) constexpr double kLaneN[kLanes] = {15, 60, 240, kRangeWindow, kSpreadWindow, 2, 2, 2};
alignas(64) constexpr double kLaneN1[kLanes] = {14, 59, 239, kRangeWindow - 1, kSpreadWindow - 1, 1, 1, 1};

class ActivityKernel final : public FamilyKernel {
 public:
  explicit ActivityKernel(const KernelContext& ctx) : offset_(ctx.offset) {}

  void update(const BarInput& bar, double* row) override {
    double* o = row + offset_;
    const double v = bar.volume;
    o[4] = static_cast<double>(recent_.push(bar.ts));
    const double r = (bar.high - bar.low) / bar.close;
    double s = kNull;
    if (!std::isnan(bar.bid) && !std::isnan(bar.ask)) {
      const double mid = (bar.ask + bar.bid) / 2;
      s = (bar.ask - bar.bid) / mid * 1e4;
      if (!std::isfinite(s)) s = kNull;
    }
    o[6] = s;
    alignas(64) double value[kLanes] = {v, v, v, r, s, 0, 0, 0};
    push(value);
    // The five z-scores (each window already holds its newest value) and the means.
    alignas(64) double z[kLanes], mean[kLanes];
#if defined(BQX_NULL_NON_FINITE_AVX2)
    if (cpu_has_avx512dq()) {
      z_scores_avx512(value, z, mean);
    } else {
      z_scores_default(value, z, mean);
    }
#else
    z_scores_default(value, z, mean);
#endif
    o[0] = z[0];
    o[1] = z[1];
    o[2] = z[2];
    o[5] = z[3];
    o[7] = z[4];
    // mean(v, 15) / mean(v, 240): NULL with a missing volume in the 240 window or an all-zero one.
    o[3] = (ready(2) && nonzero_[2] > 0) ? (ready(0) ? mean[0] : kNull) / mean[2] : kNull;
  }

  void prefetch() const override {
    prefetch_read(&count_, static_cast<size_t>(reinterpret_cast<const char*>(range_ring_.data()) -
                                               reinterpret_cast<const char*>(&count_)));
    // Each lane's evicted value, the newest value (run, re-anchoring) and the write slots.
    for (size_t l = 0; l < kZ; ++l) prefetch_read(slot(l, count_ - kLaneWindow[l]), sizeof(double));
    for (size_t l = 2; l < kZ; ++l) {
      prefetch_write(slot(l, count_), sizeof(double));
      prefetch_read(slot(l, count_ - 1), sizeof(double));
    }
    recent_.prefetch();
  }

  void save(StateWriter& out) const override {
    out.put(count_);
    for (size_t l = 0; l < kZ; ++l) {
      out.put(ref_[l]);
      out.put(s1_[l]);
      out.put(s2_[l]);
      out.put(since_[l]);
      out.put(moment_run_[l]);
      out.put(missing_[l]);
      out.put(nonzero_[l]);
      out.put(run_[l]);
      out.put(last_[l]);
    }
    out.put(vol_ring_);
    out.put(range_ring_);
    out.put(spread_ring_);
    recent_.save(out);
  }
  void load(StateReader& in) override {
    in.get(count_);
    for (size_t l = 0; l < kZ; ++l) {
      in.get(ref_[l]);
      in.get(s1_[l]);
      in.get(s2_[l]);
      in.get(since_[l]);
      in.get(moment_run_[l]);
      in.get(missing_[l]);
      in.get(nonzero_[l]);
      in.get(run_[l]);
      in.get(last_[l]);
    }
    in.get(vol_ring_);
    in.get(range_ring_);
    in.get(spread_ring_);
    recent_.load(in);
  }

 private:
  static constexpr size_t kVolRing = 256;  // >= 240, power of two
  static constexpr size_t kRing60 = 64;    // >= 60, power of two

  // The ring slot of push p of lane l's series (lanes 0..2 share the volume ring).
  const double* slot(size_t l, uint64_t p) const {
    if (l < 3) return &vol_ring_[p & (kVolRing - 1)];
    return l == 3 ? &range_ring_[p & (kRing60 - 1)] : &spread_ring_[p & (kRing60 - 1)];
  }
  double* slot(size_t l, uint64_t p) { return const_cast<double*>(std::as_const(*this).slot(l, p)); }
  // The value a missing entry contributes to the moments.
  static double moment_value(double raw) { return std::isfinite(raw) ? raw : 0.0; }
  // Full window without missing values.
  bool ready(size_t l) const { return count_ >= kLaneWindow[l] && missing_[l] == 0; }

  // One push per lane, the operations of the former per-window classes in their order:
  // flag ring (missing / non-zero counts), RollingMoments::push of (missing ? 0 : v), then
  // the run of equal non-missing values.
  void push(const double* value) {
    for (size_t l = 0; l < kZ; ++l) {
      const double x = value[l];
      const uint64_t w = kLaneWindow[l];
      const bool dropped = count_ >= w;
      const double old = dropped ? *slot(l, count_ - w) : 0.0;
      const bool missing = !std::isfinite(x);
      if (dropped) {
        const bool old_missing = !std::isfinite(old);
        missing_[l] -= old_missing ? 1 : 0;
        nonzero_[l] -= (!old_missing && old != 0) ? 1 : 0;
      }
      missing_[l] += missing ? 1 : 0;
      nonzero_[l] += (!missing && x != 0) ? 1 : 0;
      // RollingMoments::push(m)
      const double m = missing ? 0.0 : x;
      moment_run_[l] = (count_ > 0 && m == moment_value(*slot(l, count_ - 1))) ? moment_run_[l] + 1 : 1;
      if (count_ == 0) ref_[l] = m;
      const double d = m - ref_[l];
      s1_[l] += d;
      s2_[l] += d * d;
      if (dropped) {
        const double od = moment_value(old) - ref_[l];
        s1_[l] -= od;
        s2_[l] -= od * od;
      }
      if (missing) {
        run_[l] = 0;
      } else {
        run_[l] = (run_[l] > 0 && x == last_[l]) ? run_[l] + 1 : 1;
        last_[l] = x;
      }
    }
    for (size_t l = 2; l < kZ; ++l) *slot(l, count_) = value[l];  // lanes 0..2: one volume ring
    ++count_;
    for (size_t l = 0; l < kZ; ++l) {
      if (++since_[l] >= kLaneWindow[l]) reanchor(l);
    }
  }

  // RollingMoments::reanchor of lane l (after the push): newest to oldest around the newest.
  void reanchor(size_t l) {
    since_[l] = 0;
    const uint64_t size = count_ < kLaneWindow[l] ? count_ : kLaneWindow[l];
    const double ref = moment_value(*slot(l, count_ - 1));
    double s1 = 0, s2 = 0;
    for (uint64_t k = 0; k < size; ++k) {
      const double d = moment_value(*slot(l, count_ - 1 - k)) - ref;
      s1 += d;
      s2 += d * d;
    }
    ref_[l] = ref;
    s1_[l] = s1;
    s2_[l] = s2;
  }

  // Per lane: z = (v - mean) / sqrt(m2 / (n - 1)) when the window is full without missing
  // values, not flat and sd > 0, else NULL; mean = ref + s1 / n, m2 = s2 - s1 * s1 / n
  // clamped at 0 (0 when the moments' run covers the window). Lanes are independent and
  // each op is a correctly rounded IEEE op: the SIMD form is bit-identical to the scalar one.
  __attribute__((always_inline)) inline void z_scores_body(const double* value, double* z, double* mean) const {
    alignas(64) double candidate[kLanes] = {}, moment_flat[kLanes] = {};
    for (size_t l = 0; l < kZ; ++l) {
      candidate[l] = (ready(l) && run_[l] < kLaneWindow[l]) ? 1.0 : 0.0;
      moment_flat[l] = moment_run_[l] >= kLaneWindow[l] ? 1.0 : 0.0;
    }
    for (size_t l = 0; l < kLanes; ++l) {
      const double n = kLaneN[l];
      const double s1 = s1_[l], s2 = s2_[l];
      mean[l] = ref_[l] + s1 / n;
      const double v = s2 - s1 * s1 / n;
      const double m2 = moment_flat[l] != 0 ? 0.0 : (v > 0 ? v : 0.0);
      const double sd = std::sqrt(m2 / kLaneN1[l]);
      const double q = (value[l] - mean[l]) / sd;
      z[l] = (candidate[l] != 0 && sd > 0) ? q : kNull;
    }
  }
#if defined(BQX_NULL_NON_FINITE_AVX2)
  __attribute__((target("avx512f"))) void z_scores_avx512(const double* value, double* z, double* mean) const {
    z_scores_body(value, z, mean);
  }
#endif
  void z_scores_default(const double* value, double* z, double* mean) const { z_scores_body(value, z, mean); }

  // Hot scalars and lanes first (the engine prefetches the first line; prefetch() the rest).
  // The fields prefetch() reads to find the window lines share that first line (vtable
  // pointer, offset_, count_, recent_: 64 bytes), so it issues its prefetches without
  // waiting on a demand miss.
  int offset_;
  uint64_t count_ = 0;  // bars pushed
  RecentBars recent_;
  alignas(64) double ref_[kLanes] = {};
  alignas(64) double s1_[kLanes] = {};
  alignas(64) double s2_[kLanes] = {};
  std::array<uint64_t, kZ> since_{};       // pushes since the lane's re-anchoring
  std::array<uint64_t, kZ> moment_run_{};  // run of equal moment values (missing = 0)
  std::array<uint64_t, kZ> missing_{};     // missing values in the window
  std::array<uint64_t, kZ> nonzero_{};     // non-zero values in the window
  std::array<uint64_t, kZ> run_{};         // trailing count of equal non-missing values
  std::array<double, kZ> last_{};          // the last non-missing value
  std::array<double, kRing60> range_ring_{};   // raw values (missing as pushed: NaN / inf)
  std::array<double, kRing60> spread_ring_{};
  std::array<double, kVolRing> vol_ring_{};
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
