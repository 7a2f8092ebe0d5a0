// CCI exactly as TA-Lib 0.6 (TA_CCI): typical price tp = (h + l + c) / 3 in a circular
// buffer of n slots (slot i % n, as TA-Lib's CIRCBUF); mean = (sum of slots 0..n-1, in slot
// order) / n, bit for bit TA-Lib's; mean deviation = sum |slot - mean| / n computed exactly
// over the window (O(n) per bar, as TA-Lib), its terms added in four interleaved partial
// sums (slot j into sum j mod 4, then (s0 + s1) + (s2 + s3)): a fixed order, so deterministic,
// with 4x shorter dependency chains than TA-Lib's loop (it differs from TA-Lib's sum only
// by rounding, ~1e-16 relative). CCI = (tp - mean) / (0.015 * (sum|.| / n)).
// The numerator is kept bit-identical to TA-Lib on purpose: when tp ~ mean it is rounding
// noise (~1e-14 at index level 100) that the 1/(0.015 * meandev) factor amplifies to ~1e-10.
// NULL when the window is flat (all n typical prices equal, detected exactly by the run of
// equal values; TA-Lib prints 0, or a rounding artefact). Lookback n - 1 (TA_CCI_Lookback).
// The slot-order sum uses the running prefix P[j] = (..((0 + v0) + v1) ..) + v[j-1] of the
// write slot: a push into slot p leaves P[0..p] unchanged, so P[p+1] = P[p] + v[p] and only
// v[p+1..n-1] are re-added (n - p adds on the serial chain instead of n; the same additions
// in the same order, bit-identical). Only P[p] is kept: the next push writes slot p + 1.
#pragma once

#include <array>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "features/ta/common.h"

namespace bqx::features::ta {

class Cci {
 public:
  Cci() : Cci(14) {}
  explicit Cci(int n) : n_(n), ring_(n) {}
  static int lookback(int n) { return n - 1; }

  double update(double h, double l, double c) {
    const double tp = (h + l + c) / 3;
    double sum;
    if (!push(tp, sum)) return kNull;
    const double avg = sum / n_;
    const double dev = abs_deviation_sum(avg);
    if (dev == 0.0) return kNull;
    return (tp - avg) / (0.015 * (dev / n_));
  }
  int period() const { return n_; }
  // Pushes the typical price; false when CCI is NULL (window not full or flat), else
  // `sum` = the slot-order sum of the window (the mean before the division by n).
  bool push(double tp, double& sum) {
    run_ = (ring_.pushes() > 0 && tp == last_) ? run_ + 1 : 1;
    last_ = tp;
    const size_t written = ring_.pos();
    const size_t n = static_cast<size_t>(n_);
    // P[written + 1] = P[written] + tp; the slot after the last one starts again at P[0] = 0.
    const double after_written = head_prefix_ + tp;
    head_prefix_ = written + 1 == n ? 0.0 : after_written;
    ring_.push(tp);
    if (!ring_.full() || run_ >= n) return false;
    const double* v = ring_.data();
    double s = after_written;
    for (size_t j = written + 1; j < n; ++j) s += v[j];
    sum = s;
    return true;
  }
  // sum |slot - avg| in the fixed four-partial-sum order (after a successful push).
  double abs_deviation_sum(double avg) const {
    const size_t n = static_cast<size_t>(n_);
    const double* v = ring_.data();
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
#if defined(__SSE2__)
    // The four partial sums as SIMD lanes (s0 s1 | s2 s3): per-lane IEEE subtract, |.| (sign
    // bit cleared) and add in the same order, bit-identical to the scalar loop below.
    {
      const __m128d avg2 = _mm_set1_pd(avg);
      const __m128d abs_mask = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffffLL));
      __m128d s01 = _mm_setzero_pd(), s23 = _mm_setzero_pd();
      for (; j + 4 <= n; j += 4) {
        s01 = _mm_add_pd(s01, _mm_and_pd(abs_mask, _mm_sub_pd(_mm_loadu_pd(v + j), avg2)));
        s23 = _mm_add_pd(s23, _mm_and_pd(abs_mask, _mm_sub_pd(_mm_loadu_pd(v + j + 2), avg2)));
      }
      alignas(16) double lanes[4];
      _mm_store_pd(lanes, s01);
      _mm_store_pd(lanes + 2, s23);
      s0 = lanes[0];
      s1 = lanes[1];
      s2 = lanes[2];
      s3 = lanes[3];
    }
#else
    for (; j + 4 <= n; j += 4) {
      s0 += std::fabs(v[j] - avg);
      s1 += std::fabs(v[j + 1] - avg);
      s2 += std::fabs(v[j + 2] - avg);
      s3 += std::fabs(v[j + 3] - avg);
    }
#endif
    if (j < n) s0 += std::fabs(v[j] - avg);
    if (j + 1 < n) s1 += std::fabs(v[j + 1] - avg);
    if (j + 2 < n) s2 += std::fabs(v[j + 2] - avg);
    return (s0 + s1) + (s2 + s3);
  }

  void save(StateWriter& out) const {
    ring_.save(out);
    out.put(last_);
    out.put(run_);
  }
  void load(StateReader& in) {
    ring_.load(in);
    in.get(last_);
    in.get(run_);
    // P[pos] = the slot-order sum of slots 0..pos-1 (derived from the ring).
    head_prefix_ = 0.0;
    for (size_t j = 0; j < ring_.pos(); ++j) head_prefix_ += ring_.data()[j];
  }

  void prefetch() const { ring_.prefetch(); }

 private:
  int n_;
  Ring ring_;
  double head_prefix_ = 0.0;  // P[pos]: the slot-order sum of the slots before the write slot
  double last_ = 0;
  uint64_t run_ = 0;
};


// N (<= 8) CCIs of the same bars: the typical price computed once and each stage run for
// all N before the next (their serial chains overlap); the same operations as Cci::update.
template <size_t N>
class CciBank {
  static_assert(N >= 1 && N <= 8, "one 8-lane register");

 public:
  explicit CciBank(const std::array<int, N>& periods) {
    for (size_t i = 0; i < N; ++i) {
      lanes_[i] = Cci(periods[i]);
      period_[i] = static_cast<double>(periods[i]);
    }
  }
  void update(double h, double l, double c, double* out) {
    const double tp = (h + l + c) / 3;
    double sum[N], avg[N];
    bool ok[N];
    for (size_t i = 0; i < N; ++i) ok[i] = lanes_[i].push(tp, sum[i]);
    for (size_t i = 0; i < N; ++i) avg[i] = sum[i] / period_[i];
    for (size_t i = 0; i < N; ++i) {
      const double dev = ok[i] ? lanes_[i].abs_deviation_sum(avg[i]) : 0.0;
      out[i] = dev != 0.0 ? (tp - avg[i]) / (0.015 * (dev / period_[i])) : kNull;
    }
  }
  void save(StateWriter& out) const {
    for (const auto& k : lanes_) k.save(out);
  }
  void load(StateReader& in) {
    for (auto& k : lanes_) k.load(in);
  }
  void prefetch() const {
    for (const auto& k : lanes_) k.prefetch();
  }

 private:
  std::array<Cci, N> lanes_;
  double period_[N] = {};
};

}  // namespace bqx::features::ta
