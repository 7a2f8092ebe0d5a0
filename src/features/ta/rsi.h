// RSI and CMO with Wilder smoothing exactly as TA-Lib 0.6 (TA_RSI / TA_CMO, classic
// compatibility, unstable period 0). The first `period` price changes are summed (gains and
// losses separately) and divided by period at input `period`; afterwards
//   loss = loss * (period - 1); gain = gain * (period - 1);
//   (loss -= d if d < 0, else gain += d); loss /= period; gain /= period.
// RSI = 100 * (gain / (gain + loss)); CMO = 100 * ((gain - loss) / (gain + loss)).
// NULL when gain + loss == 0 exactly (no change since the start: TA-Lib prints 0 when
// |gain + loss| < 1e-14). Lookback period (TA_RSI_Lookback = TA_CMO_Lookback).
#pragma once

#include <array>

#include "features/ta/common.h"

namespace bqx::features::ta {

class RsiCmo {
 public:
  RsiCmo() : RsiCmo(14) {}
  explicit RsiCmo(int period) : period_(period) {}
  static int lookback(int period) { return period; }
  bool ready() const { return seen_ > period_; }

  void update(double x) {
    if (seen_ == 0) {
      prev_ = x;
      seen_ = 1;
      return;
    }
    const double d = x - prev_;
    prev_ = x;
    if (seen_ > period_) {
      loss_ *= (period_ - 1);
      gain_ *= (period_ - 1);
      if (d < 0) {
        loss_ -= d;
      } else {
        gain_ += d;
      }
      loss_ /= period_;
      gain_ /= period_;
      return;
    }
    if (d < 0) {
      loss_ -= d;
    } else {
      gain_ += d;
    }
    if (seen_ == period_) {
      loss_ /= period_;
      gain_ /= period_;
    }
    ++seen_;
  }
  double rsi() const {
    if (!ready()) return kNull;
    const double s = gain_ + loss_;
    return s != 0 ? 100.0 * (gain_ / s) : kNull;
  }
  double cmo() const {
    if (!ready()) return kNull;
    const double s = gain_ + loss_;
    return s != 0 ? 100.0 * ((gain_ - loss_) / s) : kNull;
  }

  void save(StateWriter& out) const {
    out.put(seen_);
    out.put(prev_);
    out.put(gain_);
    out.put(loss_);
  }
  void load(StateReader& in) {
    in.get(seen_);
    in.get(prev_);
    in.get(gain_);
    in.get(loss_);
  }

 private:
  int period_;
  int seen_ = 0;  // inputs consumed, saturating at period + 1
  double prev_ = 0, gain_ = 0, loss_ = 0;
};


// N (<= 4) RSI/CMO of the same series (periods p0..p{N-1}), each lane exactly RsiCmo's arithmetic
// and saved in RsiCmo's format (seen, prev, gain, loss per lane). During the seed windows
// the lanes run one by one (scalar); once every lane is past its seed, the Wilder step runs
// as eight SIMD lanes (gain 0..3, loss 0..3; lanes >= N idle) and the RSIs as four: per-lane IEEE
// mul/add/div, bit-identical to the scalar form, and the d < 0 branch (taken at random
// by price changes) becomes a lane mask.
template <size_t N>
class RsiCmoBank {
  static_assert(N >= 1 && N <= 4, "gain and loss lanes in one 8-lane register");

 public:
  explicit RsiCmoBank(const std::array<int, N>& periods) {
    for (size_t i = 0; i < 4; ++i) {  // idle lanes: a period of 2 (no 0 / 0)
      const int p = i < N ? periods[i] : 2;
      period_[i] = p;
    }
  }

  void update(double x) {
    if (steady_) {
      const double d = x - prev_;
      prev_ = x;
      wilder_step(d);
      return;
    }
    for (size_t i = 0; i < N; ++i) update_lane(i, x);
    prev_ = x;
    steady_ = true;
    for (size_t i = 0; i < N; ++i) steady_ = steady_ && seen_[i] > period_[i];
  }
  // update(x), then the N RSIs into rsi_out[0..N-1] and lane kCmoLane's CMO into *cmo_out.
  // In the steady state with AVX-512 the Wilder step and the outputs stay in registers (one
  // call; no scalar reloads of the lanes just stored).
  template <size_t kCmoLane>
  void update_outputs(double x, double* rsi_out, double* cmo_out) {
    static_assert(kCmoLane < N);
#if defined(BQX_NULL_NON_FINITE_AVX2)
    if (steady_ && cpu_has_avx512dq()) {
      const double d = x - prev_;
      prev_ = x;
      step_outputs_avx512<kCmoLane>(wilder_, period_.data(), d, rsi_out, cmo_out);
      return;
    }
#endif
    update(x);
    rsi_all(rsi_out);
    *cmo_out = cmo(kCmoLane);
  }
  // RSI of lane i (as RsiCmo::rsi).
  double rsi(size_t i) const {
    if (seen_[i] <= period_[i]) return kNull;
    const double g = wilder_[i], l = wilder_[4 + i];
    const double s = g + l;
    return s != 0 ? 100.0 * (g / s) : kNull;
  }
  // The N RSIs into out[0..N-1].
  void rsi_all(double* out) const {
#if defined(BQX_NULL_NON_FINITE_AVX2)
    if (N == 4 && steady_ && cpu_has_avx512dq()) {
      rsi4_avx(wilder_, out);
      return;
    }
#endif
    for (size_t i = 0; i < N; ++i) out[i] = rsi(i);
  }
  double cmo(size_t i) const {
    if (seen_[i] <= period_[i]) return kNull;
    const double g = wilder_[i], l = wilder_[4 + i];
    const double s = g + l;
    return s != 0 ? 100.0 * ((g - l) / s) : kNull;
  }

  void save(StateWriter& out) const {
    for (size_t i = 0; i < N; ++i) {
      out.put(seen_[i]);
      out.put(prev_);
      out.put(wilder_[i]);
      out.put(wilder_[4 + i]);
    }
  }
  void load(StateReader& in) {
    steady_ = true;
    for (size_t i = 0; i < N; ++i) {
      in.get(seen_[i]);
      in.get(prev_);
      in.get(wilder_[i]);
      in.get(wilder_[4 + i]);
      steady_ = steady_ && seen_[i] > period_[i];
    }
  }

 private:
  // RsiCmo::update for lane i (prev_ is shared: every lane starts on the same input).
  void update_lane(size_t i, double x) {
    double& gain = wilder_[i];
    double& loss = wilder_[4 + i];
    const int period = period_[i];
    if (seen_[i] == 0) {
      seen_[i] = 1;
      return;
    }
    const double d = x - prev_;
    if (seen_[i] > period) {
      loss *= (period - 1);
      gain *= (period - 1);
      if (d < 0) {
        loss -= d;
      } else {
        gain += d;
      }
      loss /= period;
      gain /= period;
      return;
    }
    if (d < 0) {
      loss -= d;
    } else {
      gain += d;
    }
    if (seen_[i] == period) {
      loss /= period;
      gain /= period;
    }
    ++seen_[i];
  }

  // All lanes past their seed: w = w * (p - 1); then loss -= d (d < 0) or gain += d; w /= p
  // (the idle lanes compute and are never read).
  void wilder_step(double d) {
#if defined(BQX_NULL_NON_FINITE_AVX2)
    if (cpu_has_avx512dq()) {
      wilder_step_avx512(wilder_, period_.data(), d);
      return;
    }
#endif
    for (size_t i = 0; i < 8; ++i) wilder_[i] *= static_cast<double>(period_[i % 4] - 1);
    if (d < 0) {
      for (size_t i = 4; i < 8; ++i) wilder_[i] -= d;
    } else {
      for (size_t i = 0; i < 4; ++i) wilder_[i] += d;
    }
    for (size_t i = 0; i < 8; ++i) wilder_[i] /= static_cast<double>(period_[i % 4]);
  }

#if defined(BQX_NULL_NON_FINITE_AVX2)
  // The per-lane factors p - 1 and p (gain lanes 0..3, loss lanes 4..7) from the four int
  // periods: small integers, exact as doubles (the values a table of them would hold),
  // without two constant cache lines per object.
  __attribute__((target("avx512f"))) static void lane_factors(const int* period, __m512d& keep, __m512d& divisor) {
    const __m256d p4 = _mm256_cvtepi32_pd(_mm_loadu_si128(reinterpret_cast<const __m128i*>(period)));
    divisor = _mm512_maskz_broadcast_f64x4(0xFF, p4);  // maskz: GCC 12 warns on the unmasked form
    keep = _mm512_sub_pd(divisor, _mm512_set1_pd(1.0));
  }
  __attribute__((target("avx512f"))) static void wilder_step_avx512(double* w, const int* period, double d) {
    __m512d keep, divisor;
    lane_factors(period, keep, divisor);
    __m512d v = _mm512_mul_pd(_mm512_load_pd(w), keep);
    const __m512d dv = _mm512_set1_pd(d);
    // loss - d on the loss lanes when d < 0, else gain + d on the gain lanes (the others kept).
    const __m512d minus = _mm512_mask_sub_pd(v, 0xF0, v, dv);
    const __m512d plus = _mm512_mask_add_pd(v, 0x0F, v, dv);
    const __mmask8 take_minus = d < 0 ? 0xFF : 0x00;
    v = _mm512_mask_blend_pd(take_minus, plus, minus);
    _mm512_store_pd(w, _mm512_div_pd(v, divisor));
  }
  // wilder_step_avx512, then per lane s = g + l, RSI = 100 * (g / s) and CMO = 100 * ((g - l) / s),
  // NULL where s == 0 (every lane ready): the operations of rsi() and cmo(), as lanes.
  template <size_t kCmoLane>
  __attribute__((target("avx512f"))) static void step_outputs_avx512(double* w, const int* period, double d,
                                                                     double* rsi_out, double* cmo_out) {
    __m512d keep, divisor;
    lane_factors(period, keep, divisor);
    __m512d v = _mm512_mul_pd(_mm512_load_pd(w), keep);
    const __m512d dv = _mm512_set1_pd(d);
    const __m512d minus = _mm512_mask_sub_pd(v, 0xF0, v, dv);
    const __m512d plus = _mm512_mask_add_pd(v, 0x0F, v, dv);
    const __mmask8 take_minus = d < 0 ? 0xFF : 0x00;
    v = _mm512_div_pd(_mm512_mask_blend_pd(take_minus, plus, minus), divisor);
    _mm512_store_pd(w, v);
    // maskz: GCC 12 warns on _mm512_extractf64x4_pd (and _mm512_castpd512_pd256, built on it).
    const __m256d g = _mm512_maskz_extractf64x4_pd(0xF, v, 0), l = _mm512_maskz_extractf64x4_pd(0xF, v, 1);
    const __m256d s = _mm256_add_pd(g, l);
    const __m256d null = _mm256_set1_pd(kNull);
    const __m256d zero = _mm256_cmp_pd(s, _mm256_setzero_pd(), _CMP_EQ_OQ);
    const __m256d rsi = _mm256_blendv_pd(_mm256_mul_pd(_mm256_set1_pd(100.0), _mm256_div_pd(g, s)), null, zero);
    const __m256d cmo =
        _mm256_blendv_pd(_mm256_mul_pd(_mm256_set1_pd(100.0), _mm256_div_pd(_mm256_sub_pd(g, l), s)), null, zero);
    if constexpr (N == 4) {
      _mm256_storeu_pd(rsi_out, rsi);
    } else {
      const __m256i lanes = _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(N)), _mm256_setr_epi64x(0, 1, 2, 3));
      _mm256_maskstore_pd(rsi_out, lanes, rsi);
    }
    _mm_store_sd(cmo_out, _mm256_castpd256_pd128(_mm256_permute4x64_pd(cmo, static_cast<int>(kCmoLane))));
  }
  // 100 * (g / (g + l)), NULL where g + l == 0 (every lane ready).
  __attribute__((target("avx2"))) static void rsi4_avx(const double* w, double* out) {
    const __m256d g = _mm256_load_pd(w), l = _mm256_load_pd(w + 4);
    const __m256d s = _mm256_add_pd(g, l);
    const __m256d r = _mm256_mul_pd(_mm256_set1_pd(100.0), _mm256_div_pd(g, s));
    const __m256d zero = _mm256_cmp_pd(s, _mm256_setzero_pd(), _CMP_EQ_OQ);
    _mm256_storeu_pd(out, _mm256_or_pd(_mm256_andnot_pd(zero, r), _mm256_and_pd(zero, _mm256_set1_pd(kNull))));
  }
#endif

  alignas(64) double wilder_[8] = {};  // gain of lanes 0..3, loss of lanes 0..3
  std::array<int, 4> period_{};
  std::array<int, 4> seen_{};  // inputs consumed per lane, saturating at period + 1
  double prev_ = 0;
  bool steady_ = false;
};

}  // namespace bqx::features::ta
