// Rolling mean / sample variance / extremes over the last W grid rows of a series that may
// be NULL on some rows (used by arb_eps_z_60). NULL rows are skipped: the statistics are
// over the non-NULL values among the last W pushes.
//
// Numerics: sums of (x - ref) with a reference value, recomputed exactly from the window
// (reference moved to the window mean) every W pushes - a schedule that depends only on
// the push count (and immediately when a spike leaves the window), so batch, stream and
// restored runs are bit-identical. A flat window is
// detected exactly, not by comparing a rounded variance with 0: the window's non-NULL values
// are the last count() non-NULL values pushed, so they are all equal exactly when the run of
// equal non-NULL values ending at the newest one is at least count() long (one counter
// instead of a rolling max and min: the same answer as max == min over the window).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "core/currency.h"
#include "features/kernel.h"
#include "features/rolling.h"

namespace bqx::features {

class NullableWindowStats {
 public:
  // A value leaving the window with (x - ref)^2 above this multiple of the remaining sum of
  // squares leaves a rounding residue comparable to it: the sums are then recomputed at once.
  static constexpr double kCancellation = 1e3;

  explicit NullableWindowStats(size_t window = 2) : window_(window), values_(window) {}

  void push(double x) {
    double old = kNull;
    const bool dropped = values_.push(x, &old);
    bool spike_left = false;
    if (dropped && !is_null(old)) {
      --count_;
      const double o = old - ref_;
      s1_ -= o;
      s2_ -= o * o;
      spike_left = o * o > kCancellation * s2_;
    }
    if (count_ == 0) s1_ = s2_ = 0.0;  // nothing left: drop any rounding residue
    if (!is_null(x)) {
      if (count_ == 0) ref_ = x;
      ++count_;
      const double d = x - ref_;
      s1_ += d;
      s2_ += d * d;
      equal_run_ = (equal_run_ > 0 && x == last_) ? equal_run_ + 1 : 1;
      last_ = x;
    }
    if (++since_anchor_ >= window_ || (spike_left && count_ > 0)) reanchor();
  }

  uint64_t pushes() const { return values_.pushes(); }
  size_t count() const { return count_; }  // non-NULL values in the window
  double mean() const { return ref_ + s1_ / static_cast<double>(count_); }
  // Sample variance (ddof 1) of the non-NULL values; 0 exactly when they are all equal.
  double var_sample() const {
    if (count_ < 2) return kNull;
    if (equal_run_ >= count_) return 0.0;  // all equal (see the header)
    const double n = static_cast<double>(count_);
    const double m2 = s2_ - s1_ * s1_ / n;
    return (m2 > 0 ? m2 : 0.0) / (n - 1.0);
  }

  void save(StateWriter& out) const {
    values_.save(out);
    out.put<uint64_t>(equal_run_);
    out.put(last_);
    out.put<uint64_t>(count_);
    out.put(ref_);
    out.put(s1_);
    out.put(s2_);
    out.put<uint64_t>(since_anchor_);
  }
  void load(StateReader& in) {
    values_.load(in);
    equal_run_ = in.get<uint64_t>();
    in.get(last_);
    count_ = in.get<uint64_t>();
    in.get(ref_);
    in.get(s1_);
    in.get(s2_);
    since_anchor_ = in.get<uint64_t>();
    if (count_ > window_) in.fail();
  }

 private:
  // Reference = the mean of the window's non-NULL values (not the newest value, which may be a
  // spike), then the shifted sums from scratch, oldest to newest.
  void reanchor() {
    since_anchor_ = 0;
    if (count_ > 0) {
      double sum = 0.0;
      for (size_t k = 0; k < values_.size(); ++k) {
        if (!is_null(values_.front(k))) sum += values_.front(k);
      }
      ref_ = sum / static_cast<double>(count_);
    }
    s1_ = s2_ = 0.0;
    for (size_t k = 0; k < values_.size(); ++k) {
      const double v = values_.front(k);
      if (is_null(v)) continue;
      const double d = v - ref_;
      s1_ += d;
      s2_ += d * d;
    }
  }

  size_t window_;
  RingBuffer<double> values_;
  uint64_t equal_run_ = 0;  // run of equal non-NULL values ending at the newest one
  double last_ = 0;         // the newest non-NULL value
  size_t count_ = 0;
  double ref_ = 0, s1_ = 0, s2_ = 0;
  uint64_t since_anchor_ = 0;
};

// NullableWindowStats of all 28 pairs (arb_eps_z_60), with its state and arithmetic per pair
// unchanged, in structure-of-arrays form: the rings are rows of 32 slots (push j of pair p in
// ring_[j % W][p]; 4 cache lines a row), so a grid row touches one ring row and the
// contiguous sums instead of 28 objects and 28 rings. Every pair in the universe is pushed on
// every grid row (a pair outside it never is: its state stays as constructed), so they share
// the push count; the recomputation counter is per pair (a spike resets it).
// Snapshot layout as NullableWindowStats::save, pair by pair (the caller skips pairs).
class PairWindowStats {
 public:
  static constexpr double kCancellation = NullableWindowStats::kCancellation;
  using Lanes = std::array<double, 32>;

  explicit PairWindowStats(size_t window) : window_(window), ring_(window) {}

  // Push number j (the same for every pair pushed on this row) of pair p.
  void push(int p, uint64_t j, double x) {
    double& cell = ring_[slot(j)][p];
    const bool dropped = j >= window_;
    const double old = dropped ? cell : kNull;
    cell = x;
    pushes_ = j + 1;
    bool spike_left = false;
    if (dropped && !is_null(old)) {
      --count_[p];
      const double o = old - ref_[p];
      s1_[p] -= o;
      s2_[p] -= o * o;
      spike_left = o * o > kCancellation * s2_[p];
    }
    if (count_[p] == 0) s1_[p] = s2_[p] = 0.0;  // nothing left: drop any rounding residue
    if (!is_null(x)) {
      if (count_[p] == 0) ref_[p] = x;
      ++count_[p];
      const double d = x - ref_[p];
      s1_[p] += d;
      s2_[p] += d * d;
      equal_run_[p] = (equal_run_[p] > 0 && x == last_[p]) ? equal_run_[p] + 1 : 1;
      last_[p] = x;
    }
    if (++since_anchor_[p] >= window_ || (spike_left && count_[p] > 0)) reanchor(p);
  }

  uint64_t pushes() const { return pushes_; }
  uint64_t count(int p) const { return count_[p]; }
  double mean(int p) const { return ref_[p] + s1_[p] / static_cast<double>(count_[p]); }
  // NullableWindowStats::var_sample.
  double var_sample(int p) const {
    if (count_[p] < 2) return kNull;
    if (equal_run_[p] >= count_[p]) return 0.0;
    const double n = static_cast<double>(count_[p]);
    const double m2 = s2_[p] - s1_[p] * s1_[p] / n;
    return (m2 > 0 ? m2 : 0.0) / (n - 1.0);
  }

  // z[p] = (x[p] - mean(p)) / sqrt(var_sample(p)) for the pairs with want[p], after this
  // row's pushes; NULL (kNull) when fewer than min_count values are in the window or the
  // variance is not > 0 (var_sample's cases: all equal, or m2 <= 0). Other pairs' z is left
  // as it is. The divisions and square roots of the 28 pairs run as 8-lane AVX-512
  // operations where available (SIMD across pairs: per-lane IEEE ops, bit-identical to
  // z_score_one below).
  void z_scores(const std::array<bool, kPairCount>& want, const std::array<double, kPairCount>& x, uint64_t min_count,
                std::array<double, kPairCount>& z) const {
#if defined(__x86_64__) && defined(__GNUC__)
    if (cpu_has_avx512f()) {
      z_scores_avx512(want, x, min_count, z);
      return;
    }
#endif
    for (int p = 0; p < kPairCount; ++p) {
      if (want[p]) z[p] = z_score_one(p, x[p], min_count);
    }
  }
  // The scalar form: var_sample, then the z-score.
  double z_score_one(int p, double x, uint64_t min_count) const {
    if (count_[p] < min_count) return kNull;
    const double var = var_sample(p);
    if (is_null(var) || !(var > 0)) return kNull;
    return (x - mean(p)) / std::sqrt(var);
  }

  // NullableWindowStats::save of pair p: the ring (RingBuffer::save), then the counters and sums.
  void save(StateWriter& out, int p) const {
    out.put<uint64_t>(window_);
    for (size_t i = 0; i < window_; ++i) out.put(ring_[i][p]);
    out.put<uint64_t>(pushes_ % window_);
    out.put<uint64_t>(std::min<uint64_t>(pushes_, window_));
    out.put<uint64_t>(pushes_);
    out.put<uint64_t>(equal_run_[p]);
    out.put(last_[p]);
    out.put<uint64_t>(count_[p]);
    out.put(ref_[p]);
    out.put(s1_[p]);
    out.put(s2_[p]);
    out.put<uint64_t>(since_anchor_[p]);
  }
  // The inverse; `first` for the first pair loaded (it sets the shared push count).
  void load(StateReader& in, int p, bool first) {
    if (in.get<uint64_t>() != window_) in.fail();
    for (size_t i = 0; i < window_; ++i) ring_[i][p] = in.get<double>();
    const uint64_t head = in.get<uint64_t>();
    const uint64_t size = in.get<uint64_t>();
    const uint64_t count = in.get<uint64_t>();
    if (first) pushes_ = count;
    if (count != pushes_ || head != count % window_ || size != std::min<uint64_t>(count, window_)) in.fail();
    equal_run_[p] = in.get<uint64_t>();
    in.get(last_[p]);
    count_[p] = in.get<uint64_t>();
    in.get(ref_[p]);
    in.get(s1_[p]);
    in.get(s2_[p]);
    since_anchor_[p] = in.get<uint64_t>();
    if (count_[p] > window_) in.fail();
  }

 private:
  size_t slot(uint64_t j) const { return static_cast<size_t>(j % window_); }

#if defined(__x86_64__) && defined(__GNUC__)
  static bool cpu_has_avx512f() {
    static const bool has = __builtin_cpu_supports("avx512f");
    return has;
  }
  // z_score_one of 8 pairs at a time. Per lane, with n = count: m2 = s2 - s1 * s1 / n,
  // var = (m2 > 0 ? m2 : 0) / (n - 1), z = (x - (ref + s1 / n)) / sqrt(var), NULL unless
  // count >= max(min_count, 2), equal_run < count and var > 0: the operations of var_sample,
  // mean and z_score_one in the same order.
  __attribute__((target("avx512f"))) void z_scores_avx512(const std::array<bool, kPairCount>& want,
                                                          const std::array<double, kPairCount>& x,
                                                          uint64_t min_count, std::array<double, kPairCount>& z) const {
    alignas(64) std::array<double, 32> n{}, xs{}, out{};
    uint32_t ok_bits = 0;
    for (int p = 0; p < kPairCount; ++p) {
      n[p] = static_cast<double>(count_[p]);
      xs[p] = x[p];
      const bool ok = want[p] && count_[p] >= min_count && count_[p] >= 2 && equal_run_[p] < count_[p];
      ok_bits |= static_cast<uint32_t>(ok) << p;
    }
    const __mmask8 all = 0xFF;
    for (int p0 = 0; p0 < kPairCount; p0 += 8) {
      const __mmask8 lanes = kPairCount - p0 >= 8 ? all : static_cast<__mmask8>((1u << (kPairCount - p0)) - 1u);
      const __mmask8 ok = lanes & static_cast<__mmask8>(ok_bits >> p0);
      const __m512d nn = _mm512_maskz_loadu_pd(lanes, n.data() + p0);
      const __m512d s1 = _mm512_maskz_loadu_pd(lanes, s1_.data() + p0);
      const __m512d s2 = _mm512_maskz_loadu_pd(lanes, s2_.data() + p0);
      const __m512d ref = _mm512_maskz_loadu_pd(lanes, ref_.data() + p0);
      const __m512d xv = _mm512_maskz_loadu_pd(lanes, xs.data() + p0);
      // Lanes not ok divide by 1 (their result is replaced by NULL).
      const __m512d safe_n = _mm512_mask_mov_pd(_mm512_set1_pd(2.0), ok, nn);
      const __m512d m2 = _mm512_sub_pd(s2, _mm512_div_pd(_mm512_mul_pd(s1, s1), safe_n));
      const __m512d m2_clamped = _mm512_mask_mov_pd(_mm512_setzero_pd(), _mm512_cmp_pd_mask(m2, _mm512_setzero_pd(),
                                                                                             _CMP_GT_OQ), m2);
      const __m512d var = _mm512_div_pd(m2_clamped, _mm512_sub_pd(safe_n, _mm512_set1_pd(1.0)));
      const __mmask8 valid = ok & _mm512_cmp_pd_mask(var, _mm512_setzero_pd(), _CMP_GT_OQ);
      const __m512d mean = _mm512_add_pd(ref, _mm512_div_pd(s1, safe_n));
      // (maskz sqrt with every lane: GCC 12's plain form trips -Wuninitialized)
      const __m512d zv = _mm512_div_pd(_mm512_sub_pd(xv, mean), _mm512_maskz_sqrt_pd(all, var));
      _mm512_store_pd(out.data() + p0, _mm512_mask_mov_pd(_mm512_set1_pd(kNull), valid, zv));
    }
    for (int p = 0; p < kPairCount; ++p) {
      if (want[p]) z[p] = out[p];
    }
  }
#endif

  // NullableWindowStats::reanchor over the window ending at the newest push: reference = the
  // mean of the non-NULL values, then the shifted sums, oldest to newest.
  void reanchor(int p) {
    since_anchor_[p] = 0;
    const uint64_t size = std::min<uint64_t>(pushes_, window_);
    const uint64_t oldest = pushes_ - size;
    if (count_[p] > 0) {
      double sum = 0.0;
      for (uint64_t j = oldest; j < pushes_; ++j) {
        const double v = ring_[slot(j)][p];
        if (!is_null(v)) sum += v;
      }
      ref_[p] = sum / static_cast<double>(count_[p]);
    }
    s1_[p] = s2_[p] = 0.0;
    for (uint64_t j = oldest; j < pushes_; ++j) {
      const double v = ring_[slot(j)][p];
      if (is_null(v)) continue;
      const double d = v - ref_[p];
      s1_[p] += d;
      s2_[p] += d * d;
    }
  }

  size_t window_;
  StateVector<Lanes> ring_;
  uint64_t pushes_ = 0;
  std::array<uint64_t, kPairCount> equal_run_{}, count_{}, since_anchor_{};
  std::array<double, kPairCount> last_{}, ref_{}, s1_{}, s2_{};
};

}  // namespace bqx::features
