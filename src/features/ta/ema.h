// EMA with TA-Lib 0.6 seeding (TA_INT_EMA, default compatibility): NULL for the first
// period - 1 inputs; at input period - 1 the value is the SMA of the first `period` inputs
// (summed in order, then divided by period); afterwards e = ((x - e) * k) + e with
// k = 2 / (period + 1). Lookback period - 1 (TA_EMA_Lookback).
#pragma once

#include <array>

#include "features/ta/common.h"

namespace bqx::features::ta {

class Ema {
 public:
  Ema() : Ema(2) {}
  explicit Ema(int period) : period_(period), k_(per_to_k(period)) {}
  static int lookback(int period) { return period - 1; }
  bool ready() const { return seen_ >= period_; }
  double value() const { return ready() ? value_ : kNull; }
  void set_value(double v) { value_ = v; }

  double update(double x) {
    if (seen_ >= period_) {
      value_ = ((x - value_) * k_) + value_;
      return value_;
    }
    sum_ += x;
    if (++seen_ == period_) {
      value_ = sum_ / period_;
      return value_;
    }
    return kNull;
  }

  void save(StateWriter& out) const {
    out.put(seen_);
    out.put(sum_);
    out.put(value_);
  }
  void load(StateReader& in) {
    in.get(seen_);
    in.get(sum_);
    in.get(value_);
  }

 private:
  // The two ints side by side: 32 bytes instead of 40 (two 4-byte holes), so MACD's and
  // TRIX's three EMAs span fewer of the pair's cache lines. Layout only, same arithmetic.
  int period_;
  int seen_ = 0;  // inputs consumed, saturating at period
  double k_;
  double sum_ = 0, value_ = 0;
};


// N (<= 8) TA-Lib EMAs of the same series with their distances (x - EMA) / x, each lane
// exactly Ema's arithmetic and saved in Ema's format (seen, sum, value per lane). Until
// every lane is seeded the lanes run one by one (Ema::update); afterwards the recursion
// e = ((x - e) * k) + e and the distance run as SIMD lanes: per-lane IEEE ops,
// bit-identical to the scalar form.
template <size_t N>
class EmaDistBank {
  static_assert(N >= 1 && N <= 7, "one 8-lane register; the factors and the flag in one line");

 public:
  explicit EmaDistBank(const std::array<int, N>& periods) {
    for (size_t i = 0; i < N; ++i) {
      lanes_[i] = Ema(periods[i]);
      k_[i] = per_to_k(periods[i]);
    }
  }

  // Pushes x and writes dist[i] = (x - EMA_i) / x, NULL while EMA_i is.
  void update(double x, double* dist) {
    if (steady_) {
#if defined(BQX_NULL_NON_FINITE_AVX2)
      if (cpu_has_avx512dq()) {
        step_avx512(value_, k_, x, dist);
        return;
      }
#endif
      for (size_t i = 0; i < N; ++i) {
        value_[i] = ((x - value_[i]) * k_[i]) + value_[i];
        dist[i] = (x - value_[i]) / x;
      }
      return;
    }
    steady_ = true;
    for (size_t i = 0; i < N; ++i) {
      const double e = lanes_[i].update(x);
      dist[i] = std::isnan(e) ? kNull : (x - e) / x;
      steady_ = steady_ && lanes_[i].ready();
    }
    if (steady_) {
      for (size_t i = 0; i < N; ++i) value_[i] = lanes_[i].value();
    }
  }

  void save(StateWriter& out) const {
    for (size_t i = 0; i < N; ++i) lane(i).save(out);
  }
  // Where the warm-up state begins (an address, no load): the steady state never reads it.
  // Up to the end of the object.
  const void* cold_begin() const { return &lanes_; }
  void load(StateReader& in) {
    steady_ = true;
    for (size_t i = 0; i < N; ++i) {
      lanes_[i].load(in);
      steady_ = steady_ && lanes_[i].ready();
    }
    if (steady_) {
      for (size_t i = 0; i < N; ++i) value_[i] = lanes_[i].value();
    }
  }

 private:
  // Lane i as an Ema (in the steady state its value lives in value_[i]).
  Ema lane(size_t i) const {
    Ema e = lanes_[i];
    if (steady_) e.set_value(value_[i]);
    return e;
  }

#if defined(BQX_NULL_NON_FINITE_AVX2)
  __attribute__((target("avx512f"))) static void step_avx512(double* value, const double* k, double x,
                                                             double* dist) {
    const __m512d xv = _mm512_set1_pd(x);
    __m512d e = _mm512_load_pd(value);
    constexpr __mmask8 kLanes = static_cast<__mmask8>((1u << N) - 1);
    e = _mm512_add_pd(_mm512_mul_pd(_mm512_sub_pd(xv, e), _mm512_maskz_loadu_pd(kLanes, k)), e);
    _mm512_store_pd(value, e);
    _mm512_mask_storeu_pd(dist, kLanes, _mm512_maskz_div_pd(kLanes, _mm512_sub_pd(xv, e), xv));
  }
#endif

  alignas(64) double value_[8] = {};  // the EMAs once steady (lanes N..7 unused)
  // The N factors and the steady flag share one line (lanes N..7 of the register read 0
  // factors: idle lanes, never stored).
  alignas(64) double k_[N] = {};
  bool steady_ = false;
  std::array<Ema, N> lanes_;  // warm-up state (seen, seed sum)
};

}  // namespace bqx::features::ta
