// The rolling means of one close series over several windows (ta_rate's SMA 10/50/100/200,
// BBANDS 20/60 and the ROC/MOM lags) from ONE ring of closes, the windows' shifted sums as
// SIMD lanes (structure of arrays). Per lane exactly RollingMean<true>'s arithmetic (push,
// re-anchoring every n pushes, flat-run detection, mean / deviation / population variance)
// and BBands' outputs; lanes are independent and every op is a correctly rounded IEEE op, so
// the SIMD form is bit-identical to one RollingMean per window. What goes away is one ring,
// one run counter and one push per window (seven rings of the same closes before).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "features/ta/common.h"

namespace bqx::features::ta {

// The lane windows are template parameters: the per-lane constants (n, n as a double,
// 1 / n) are then shared tables, not three cache lines of every pair's state.
template <std::array<int, 6> kWindows>
class CloseWindows {
 public:
  static constexpr size_t kLanes = 8;
  static constexpr size_t kRingCap = 256;  // > the largest window, power of two

  // Per-lane results of one update (the caller's stack: outputs are not state).
  struct Stats {
    alignas(64) double mean[kLanes];
    alignas(64) double dev[kLanes];
    alignas(64) double var[kLanes];
  };

  // Pushes x, then computes per lane: dev = x - mean (RollingMean::deviation), mean and
  // population variance (RollingMean::mean_var); valid for lanes with ready(l).
  void update(double x, Stats& out) {
    if (pushes_ == 0) last_ = x;
    const bool steady = pushes_ >= n_[kLargest];
    for (size_t l = 0; l < kLanes; ++l) {
      if (pushes_ == 0) ref_[l] = x;
    }
#if defined(BQX_NULL_NON_FINITE_AVX2)
    if (steady && cpu_has_avx512dq()) {
      step_avx512(x, out);
    } else {
      step_default(x, steady, out);
    }
#else
    step_default(x, steady, out);
#endif
  }

  bool ready(size_t l) const { return pushes_ >= n_[l]; }
  // ROC / MOM lags (LagHistory over the same closes): x_{t-k}, k < 256.
  bool has_lag(int k) const { return pushes_ > static_cast<uint64_t>(k); }
  double lag(int k) const { return ring_[(pushes_ - 1 - static_cast<uint64_t>(k)) & kRingMask]; }
  double roc(int k) const {
    if (!has_lag(k)) return kNull;
    const double prev = lag(k);
    return prev != 0.0 ? ((lag(0) / prev) - 1.0) * 100.0 : kNull;
  }
  double mom(int k) const { return has_lag(k) ? lag(0) - lag(k) : kNull; }

  void save(StateWriter& out) const {
    out.put(ring_);
    out.put(pushes_);
    out.put(run_);
    out.put(last_);
    for (size_t l = 0; l < kLanes; ++l) {
      out.put(ref_[l]);
      out.put(s1_[l]);
      out.put(s2_[l]);
      out.put(since_[l]);
    }
  }
  void load(StateReader& in) {
    in.get(ring_);
    in.get(pushes_);
    in.get(run_);
    in.get(last_);
    for (size_t l = 0; l < kLanes; ++l) {
      in.get(ref_[l]);
      in.get(s1_[l]);
      in.get(s2_[l]);
      in.get(since_[l]);
    }
  }
  void prefetch() const {
    prefetch_read(&pushes_, static_cast<size_t>(reinterpret_cast<const char*>(ring_.data()) -
                                                reinterpret_cast<const char*>(&pushes_)));
    for (size_t l = 0; l < kUsed; ++l) prefetch_read(&ring_[(pushes_ - n_[l]) & kRingMask], sizeof(double));
    prefetch_write(&ring_[pushes_ & kRingMask], sizeof(double));
    prefetch_read(&ring_[(pushes_ - 61) & kRingMask], sizeof(double));  // the ROC 60 lag
  }

 private:
  static constexpr uint64_t kRingMask = kRingCap - 1;
  // Lane windows; lanes 6 and 7 idle (a window never reached: no re-anchoring, never read).
  static constexpr std::array<uint64_t, kLanes> n_ = [] {
    std::array<uint64_t, kLanes> n{};
    for (size_t l = 0; l < kLanes; ++l) n[l] = l < kWindows.size() ? static_cast<uint64_t>(kWindows[l]) : uint64_t{1} << 40;
    return n;
  }();
  alignas(64) static constexpr std::array<double, kLanes> n_d_ = [] {
    std::array<double, kLanes> d{};
    for (size_t l = 0; l < kLanes; ++l) d[l] = static_cast<double>(n_[l]);
    return d;
  }();
  // RollingMean's inv_n_ = 1.0 / n (a correctly rounded division, at compile time as at run time).
  alignas(64) static constexpr std::array<double, kLanes> inv_n_ = [] {
    std::array<double, kLanes> d{};
    for (size_t l = 0; l < kLanes; ++l) d[l] = 1.0 / n_d_[l];
    return d;
  }();
  static constexpr size_t kUsed = 6;
  static constexpr size_t kLargest = 5;

  // RollingMean::push's sum update for lane l (old = the evicted value when full), then the
  // outputs. Shared by the scalar and SIMD forms.
  __attribute__((always_inline)) inline void lanes(double x, const double* old, const double* evict_mask) {
    for (size_t l = 0; l < kLanes; ++l) {
      const double d = x - ref_[l];
      const double o = old[l] - ref_[l];
      // evict: s += (d - o); else s += d (one add per sum on the loop-carried chain).
      const double s1 = evict_mask[l] != 0 ? s1_[l] + (d - o) : s1_[l] + d;
      const double s2 = evict_mask[l] != 0 ? s2_[l] + (d * d - o * o) : s2_[l] + d * d;
      s1_[l] = s1;
      s2_[l] = s2;
    }
  }

  // Steps shared by both forms after the sums: ring, run, re-anchoring, then outputs.
  __attribute__((always_inline)) inline void finish(double x, Stats& out) {
    ring_[pushes_ & kRingMask] = x;
    ++pushes_;
    run_ = (x == last_) ? run_ + 1 : 1;
    last_ = x;
    for (size_t l = 0; l < kLanes; ++l) {
      if (++since_[l] >= n_[l]) reanchor(l);
    }
    const double run = static_cast<double>(run_);  // exact (< 2^53)
    for (size_t l = 0; l < kLanes; ++l) {
      const bool flat = run >= n_d_[l];
      const double dm = s1_[l] * inv_n_[l];
      out.mean[l] = flat ? last_ : ref_[l] + dm;
      out.dev[l] = flat ? x - last_ : (x - ref_[l]) - dm;
      const double m2 = s2_[l] - s1_[l] * dm;
      out.var[l] = flat ? 0.0 : (m2 > 0 ? m2 * inv_n_[l] : 0.0);
    }
  }

  __attribute__((always_inline)) inline void step_body(double x, bool steady, Stats& out) {
    alignas(64) double old[kLanes], evict[kLanes];
    for (size_t l = 0; l < kLanes; ++l) {
      const bool e = steady || pushes_ >= n_[l];
      evict[l] = e ? 1.0 : 0.0;
      old[l] = e ? ring_[(pushes_ - n_[l]) & kRingMask] : 0.0;
    }
    lanes(x, old, evict);
    finish(x, out);
  }
#if defined(BQX_NULL_NON_FINITE_AVX2)
  __attribute__((target("avx512f"))) void step_avx512(double x, Stats& out) { step_body(x, true, out); }
#endif
  void step_default(double x, bool steady, Stats& out) { step_body(x, steady, out); }

  // RollingMean::reanchor: the window's n values, oldest to newest, around the newest.
  void reanchor(size_t l) {
    since_[l] = 0;
    const double ref = lag(0);
    double s1 = 0, s2 = 0;
    const uint64_t n = n_[l];
    for (uint64_t k = 0; k < n; ++k) {
      const double d = ring_[(pushes_ - n + k) & kRingMask] - ref;
      s1 += d;
      s2 += d * d;
    }
    ref_[l] = ref;
    s1_[l] = s1;
    s2_[l] = s2;
  }

  // Hot fields first (prefetch() fetches up to the ring).
  uint64_t pushes_ = 0;
  uint64_t run_ = 0;  // trailing run of equal closes (RollingMean's run_, the same for all lanes)
  double last_ = 0;
  alignas(64) double ref_[kLanes] = {};
  alignas(64) double s1_[kLanes] = {};
  alignas(64) double s2_[kLanes] = {};
  std::array<uint64_t, kLanes> since_{};
  std::array<double, kRingCap> ring_{};  // closes: push p in slot p & kRingMask
};

}  // namespace bqx::features::ta
