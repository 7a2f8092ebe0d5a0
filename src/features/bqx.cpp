// bqx: backward momentum over the past W bars, current bar excluded (FEATURES.md 1.1).
// P = x_{t-W} .. x_{t-1}; all values are NULL until W previous bars exist (lookback W).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cmath>
#include <string>

#include "features/families.h"

namespace bqx::features {
namespace {

constexpr std::array<int, 5> kWindows = {15, 30, 45, 60, 75};
constexpr int kAggWindow = 75;
constexpr int kColumnsPerWindow = 6;
constexpr size_t kLanes = 8;  // one AVX-512 register; lanes >= 5 idle
// Per lane: the window W as a double (RollingMoments' n = size() once full) and W - 1
// (var_sample's divisor); idle lanes get 2 and 1 (no 0 / 0).
alignas(64) constexpr double kLaneW[kLanes] = {15, 30, 45, 60, 75, 2, 2, 2};
alignas(64) constexpr double kLaneW1[kLanes] = {14, 29, 44, 59, 74, 1, 1, 1};

// The five windows hold the same closes and are nested (15 within 30 ... within 75), so the
// kernel keeps ONE ring of the last 75 closes, ONE max and ONE min monotonic deque over 75
// with a front pointer per window, and the five windows' shifted sums as SIMD lanes
// (structure of arrays). Every value is computed by the same IEEE operations in the same
// order as RollingMoments / RollingMax / RollingMin per window (bit-identical); what goes
// away is the per-window bookkeeping: 5 rings and 10 deques (10 unpredictable pop loops
// per bar, 15 arrays touched) become 1 ring and 2 deques.

// Sliding maximum (kMax) or minimum over each of the nested windows kWindows (same values):
// one monotonic deque over the largest window (ties keep the newest, as RollingExtreme),
// and per window the deque position of its oldest live entry. The entries of the deque
// that lie in window W are exactly RollingExtreme(W)'s deque, so the extreme is the same.
template <bool kMax>
class NestedExtremes {
 public:
  static constexpr size_t kCap = 128;  // > largest window + 1, power of two (mask, no modulo)
  static_assert(kCap > static_cast<size_t>(kAggWindow) + 1);

  void push(double x) {
    // Drop dominated entries from the back (ties: the newest wins).
    while (tail_ > start_[kLargest]) {
      const double b = entries_[(tail_ - 1) & kMask].value;
      if (kMax ? (b <= x) : (b >= x)) --tail_; else break;
    }
    const uint64_t pos = tail_++;
    entries_[pos & kMask] = Entry{x, count_};
    ++count_;
    // Each window's oldest live entry: the new entry when its old one was dropped, else it
    // expires (at most one value leaves a window per push) when it is now W pushes old.
    for (size_t i = 0; i < kWindows.size(); ++i) {
      uint64_t s = start_[i];
      if (s > pos) {
        s = pos;
      } else if (entries_[s & kMask].idx + static_cast<uint64_t>(kWindows[i]) < count_) {
        ++s;
      }
      start_[i] = s;
    }
  }
  // Extreme of the last kWindows[i] pushes (of all pushes while fewer).
  double value(size_t i) const { return entries_[start_[i] & kMask].value; }

  void prefetch() const {
    prefetch_read(this, offsetof(NestedExtremes, entries_));
    for (size_t i = 0; i < kWindows.size(); ++i) prefetch_read(&entries_[start_[i] & kMask], sizeof(Entry));
    prefetch_write(&entries_[(tail_ - 1) & kMask], 2 * sizeof(Entry));
  }
  void save(StateWriter& out) const {
    out.put(entries_);
    out.put(start_);
    out.put(tail_);
    out.put(count_);
  }
  void load(StateReader& in) {
    in.get(entries_);
    in.get(start_);
    in.get(tail_);
    in.get(count_);
    for (size_t i = 0; i < kWindows.size(); ++i) {
      if (start_[i] > tail_ || tail_ - start_[kLargest] > kCap) in.fail();
    }
  }

 private:
  static constexpr uint64_t kMask = kCap - 1;
  static constexpr size_t kLargest = kWindows.size() - 1;
  struct Entry {
    double value;
    uint64_t idx;  // push index
  };
  // The positions first (read every push), then the entries (one or two lines per end).
  std::array<uint64_t, kWindows.size()> start_{};
  uint64_t tail_ = 0;  // one past the back
  uint64_t count_ = 0;
  std::array<Entry, kCap> entries_{};  // deque position p lives in entries_[p & kMask]
};

class BqxKernel final : public FamilyKernel {
 public:
  explicit BqxKernel(const KernelContext& ctx) : offset_(ctx.offset) {}

  void update(const BarInput& bar, double* row) override {
    const double x = bar.xc;
    double* out = row + offset_;
    // Every window full: outputs and the shifted-sum update as SIMD lanes.
    if (count_ >= static_cast<uint64_t>(kAggWindow)) {
#if defined(BQX_NULL_NON_FINITE_AVX2)
      if (cpu_has_avx512dq()) {
        step_full_avx512(x, out);
      } else {
        step_full_default(x, out);
      }
#else
      step_full_default(x, out);
#endif
    } else {
      step_warmup(x, out);
    }
    // The current bar joins the past windows only after its own row is written.
    max_.push(x);
    min_.push(x);
    run_ = (count_ > 0 && x == back(0)) ? run_ + 1 : 1;
    ring_[count_ & kRingMask] = x;
    ++count_;
    for (size_t i = 0; i < kWindows.size(); ++i) {
      if (++since_[i] >= static_cast<uint64_t>(kWindows[i])) reanchor(i);
    }
  }

  void prefetch() const override {
    prefetch_read(&count_, static_cast<size_t>(reinterpret_cast<const char*>(ring_.data()) -
                                              reinterpret_cast<const char*>(&count_)));
    // The oldest value of each window (read now, evicted by this push) and the write slot.
    for (size_t i = 0; i < kWindows.size(); ++i) {
      prefetch_read(&ring_[(count_ - static_cast<uint64_t>(kWindows[i])) & kRingMask], sizeof(double));
    }
    prefetch_write(&ring_[count_ & kRingMask], sizeof(double));
    prefetch_read(&ring_[(count_ - 1) & kRingMask], sizeof(double));
    max_.prefetch();
    min_.prefetch();
  }

  void save(StateWriter& out) const override {
    out.put(ring_);
    out.put(count_);
    out.put(run_);
    out.put(since_);
    for (size_t i = 0; i < kWindows.size(); ++i) {
      out.put(ref_[i]);
      out.put(s1_[i]);
      out.put(s2_[i]);
    }
    max_.save(out);
    min_.save(out);
  }
  void load(StateReader& in) override {
    in.get(ring_);
    in.get(count_);
    in.get(run_);
    in.get(since_);
    for (size_t i = 0; i < kWindows.size(); ++i) {
      in.get(ref_[i]);
      in.get(s1_[i]);
      in.get(s2_[i]);
    }
    max_.load(in);
    min_.load(in);
  }

 private:
  static constexpr size_t kRingCap = 128;  // >= the largest window, power of two
  static constexpr uint64_t kRingMask = kRingCap - 1;

  // back(0) = the newest close, back(k) = k pushes ago (k < min(count, 128)).
  double back(uint64_t k) const { return ring_[(count_ - 1 - k) & kRingMask]; }
  // Window i's oldest value (x_{t-W}) before this bar's push: the value the push evicts.
  double front(size_t i) const { return ring_[(count_ - static_cast<uint64_t>(kWindows[i])) & kRingMask]; }

  // RollingMoments::reanchor of window i (after the push): sums recomputed from the window,
  // newest to oldest, around the newest value.
  void reanchor(size_t i) {
    since_[i] = 0;
    const double ref = back(0);
    const uint64_t w = static_cast<uint64_t>(kWindows[i]);
    const uint64_t size = count_ < w ? count_ : w;
    double s1 = 0, s2 = 0;
    for (uint64_t k = 0; k < size; ++k) {
      const double d = back(k) - ref;
      s1 += d;
      s2 += d * d;
    }
    ref_[i] = ref;
    s1_[i] = s1;
    s2_[i] = s2;
  }

  // Some window not full yet: window by window, RollingMoments' scalar arithmetic.
  void step_warmup(double x, double* out) {
    for (size_t i = 0; i < kWindows.size(); ++i) {
      const uint64_t w = static_cast<uint64_t>(kWindows[i]);
      const bool full = count_ >= w;
      double* o = out + i * kColumnsPerWindow;
      double old = 0;
      if (full) {
        const double n = static_cast<double>(w);
        const double mean = ref_[i] + s1_[i] / n;
        double m2 = 0.0;
        if (run_ < w) {
          const double v = s2_[i] - s1_[i] * s1_[i] / n;
          m2 = v > 0 ? v : 0.0;
        }
        old = front(i);
        // sum_{i=1..W}(x_{t-i} - x_t) = W * (mean(P) - x_t): avoids summing levels near 100.
        o[0] = n * (mean - x) / x;
        o[1] = (old - x) / x;
        o[2] = max_.value(i);
        o[3] = min_.value(i);
        o[4] = mean;
        o[5] = std::sqrt(m2 / static_cast<double>(w - 1));
      } else {
        for (int k = 0; k < kColumnsPerWindow; ++k) o[k] = kNull;
      }
      // RollingMoments::push (the ring itself is written by update).
      if (count_ == 0) ref_[i] = x;
      const double d = x - ref_[i];
      s1_[i] += d;
      s2_[i] += d * d;
      if (full) {
        const double od = old - ref_[i];
        s1_[i] -= od;
        s2_[i] -= od * od;
      }
    }
    double* agg = out + kWindows.size() * kColumnsPerWindow;
    agg[0] = agg[1] = kNull;  // the 75-bar window is not full before the steady path
  }

  // Every window full. Per lane (window) exactly step_warmup's operations: mean, m2 (0 on a
  // flat window, clamped at 0), sd = sqrt(m2 / (W - 1)), W * (mean - x) / x, (front - x) / x,
  // then s1 += d, s2 += d*d, s1 -= o, s2 -= o*o. Lanes are independent and every op is a
  // correctly rounded IEEE op, so the SIMD form is bit-identical to the scalar one.
  __attribute__((always_inline)) inline void step_full_body(double x, double* out) {
    alignas(64) double front_v[kLanes] = {};
    for (size_t i = 0; i < kWindows.size(); ++i) front_v[i] = front(i);
    const double run = static_cast<double>(run_);  // exact (< 2^53)
    alignas(64) double mean[kLanes], sd[kLanes], ret[kLanes], end[kLanes];
    for (size_t l = 0; l < kLanes; ++l) {
      const double n = kLaneW[l];
      const double s1 = s1_[l], s2 = s2_[l], ref = ref_[l];
      mean[l] = ref + s1 / n;
      const double v = s2 - s1 * s1 / n;
      const double m2 = run >= n ? 0.0 : (v > 0 ? v : 0.0);
      sd[l] = std::sqrt(m2 / kLaneW1[l]);
      ret[l] = n * (mean[l] - x) / x;
      end[l] = (front_v[l] - x) / x;
      const double d = x - ref;
      const double o = front_v[l] - ref;
      s1_[l] = (s1 + d) - o;
      s2_[l] = (s2 + d * d) - o * o;
    }
    for (size_t i = 0; i < kWindows.size(); ++i) {
      double* o = out + i * kColumnsPerWindow;
      o[0] = ret[i];
      o[1] = end[i];
      o[2] = max_.value(i);
      o[3] = min_.value(i);
      o[4] = mean[i];
      o[5] = sd[i];
    }
    const size_t a = kWindows.size() - 1;  // the 75-bar window
    double* agg = out + kWindows.size() * kColumnsPerWindow;
    agg[0] = (max_.value(a) - min_.value(a)) / x;
    agg[1] = sd[a] / x;
  }
#if defined(BQX_NULL_NON_FINITE_AVX2)
  __attribute__((target("avx512f"))) void step_full_avx512(double x, double* out) { step_full_body(x, out); }
#endif
  void step_full_default(double x, double* out) { step_full_body(x, out); }

  // Hot scalars and the lanes first (the engine prefetches the first line; prefetch() the rest).
  int offset_;
  uint64_t count_ = 0;  // closes pushed
  uint64_t run_ = 0;    // trailing run of equal closes (a window inside it is flat)
  std::array<uint64_t, kWindows.size()> since_{};  // pushes since each window's re-anchoring
  // Shifted sums per window (RollingMoments' ref, s1, s2) as lanes.
  alignas(64) double ref_[kLanes] = {};
  alignas(64) double s1_[kLanes] = {};
  alignas(64) double s2_[kLanes] = {};
  std::array<double, kRingCap> ring_{};  // the last closes: slot of push p is p & kRingMask
  NestedExtremes<true> max_;
  NestedExtremes<false> min_;
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
