// Directional movement (TA-Lib 0.6 TA_PLUS_DI, TA_MINUS_DI, TA_ADX, TA_ADXR; unstable
// period 0), one kernel per period n, reproducing TA-Lib's recursion operation by operation:
//   diffP = h - h_prev, diffM = l_prev - l;  -DM = diffM if diffM > 0 and diffP < diffM,
//   else +DM = diffP if diffP > 0 and diffP > diffM.  TR as TA_TRANGE.
//   Bars 1..n-1: plain sums of +DM, -DM, TR.  From bar n on, Wilder:
//   dm -= dm / n (then += today's DM); tr = tr - tr / n + TR.
//   +DI = 100 * (+DM / TR), -DI = 100 * (-DM / TR)                  (from bar n)
//   DX  = 100 * (|-DI - +DI| / (-DI + +DI))
//   ADX at bar 2n-1 = (sum of DX over bars n..2n-1) / n; then
//   ADX = ((ADX * (n - 1)) + DX) / n                                   (lookback 2n - 1)
//   ADXR = (ADX_t + ADX_{t-(n-1)}) / 2.0                               (lookback 3n - 2)
// NULL rules (exact zero tests; TA-Lib uses |v| < 1e-14 and prints 0 or holds): +DI/-DI
// NULL when the smoothed TR is 0; DX is undefined when TR is 0 or +DI + -DI is 0, which can
// only happen before the series' first directional move (the Wilder sums never return to 0).
// On such a row ADX is NULL and, as in TA-Lib, the ADX recursion skips it (an undefined DX
// inside the seed window adds nothing to the seed sum). ADXR is NULL when either ADX is.
#pragma once

#include <array>

#include "features/ta/common.h"

namespace bqx::features::ta {

class Dmi {
 public:
  struct Out {
    double plus_di = kNull, minus_di = kNull, adx = kNull, adxr = kNull;
  };
  Dmi() : Dmi(14) {}
  // with_adxr: keep the ring of past ADX values that ADXR needs (skipped when not wanted).
  explicit Dmi(int n, bool with_adxr = true) : adx_hist_(with_adxr ? n : 1), n_(n), with_adxr_(with_adxr) {}
  static int lookback_di(int n) { return n; }
  static int lookback_adx(int n) { return 2 * n - 1; }
  static int lookback_adxr(int n) { return 3 * n - 2; }

  Out update(double h, double l, double c) {
    Out o;
    if (bar_ == 0) {
      prev_high_ = h;
      prev_low_ = l;
      prev_close_ = c;
      bar_ = 1;
      return o;
    }
    const double diff_p = h - prev_high_;
    const double diff_m = prev_low_ - l;
    prev_high_ = h;
    prev_low_ = l;
    const double tr = true_range(h, l, prev_close_);
    prev_close_ = c;
    const int64_t n = n_;
    if (bar_ < n) {  // bars 1 .. n-1: plain sums
      if (diff_m > 0 && diff_p < diff_m) {
        minus_dm_ += diff_m;
      } else if (diff_p > 0 && diff_p > diff_m) {
        plus_dm_ += diff_p;
      }
      tr_ += tr;
      ++bar_;
      return o;
    }
    minus_dm_ -= minus_dm_ / n_;
    plus_dm_ -= plus_dm_ / n_;
    if (diff_m > 0 && diff_p < diff_m) {
      minus_dm_ += diff_m;
    } else if (diff_p > 0 && diff_p > diff_m) {
      plus_dm_ += diff_p;
    }
    tr_ = tr_ - (tr_ / n_) + tr;
    double dx = 0.0;
    bool dx_ok = false;
    if (tr_ != 0.0) {
      o.minus_di = 100.0 * (minus_dm_ / tr_);
      o.plus_di = 100.0 * (plus_dm_ / tr_);
      const double s = o.minus_di + o.plus_di;
      if (s != 0.0) {
        dx = 100.0 * (std::fabs(o.minus_di - o.plus_di) / s);
        dx_ok = true;
      }
    }
    if (bar_ < 2 * n - 1) {  // bars n .. 2n-2: accumulate the seed
      if (dx_ok) sum_dx_ += dx;
      ++bar_;
      return o;
    }
    if (bar_ == 2 * n - 1) {
      if (dx_ok) sum_dx_ += dx;
      adx_ = sum_dx_ / n_;
      ++bar_;
    } else if (dx_ok) {
      adx_ = ((adx_ * (n_ - 1)) + dx) / n_;
    }
    o.adx = dx_ok ? adx_ : kNull;
    if (!with_adxr_) return o;
    // ADXR: ADX of this bar and of n - 1 bars earlier (ring of the last n ADX outputs).
    adx_hist_.push(o.adx);
    if (adx_hist_.full()) {
      const double earlier = adx_hist_.next_out();  // pushed n - 1 pushes ago
      o.adxr = (o.adx + earlier) / 2.0;             // NaN propagates
    }
    return o;
  }

  void save(StateWriter& out) const {
    out.put(bar_);
    out.put(prev_high_);
    out.put(prev_low_);
    out.put(prev_close_);
    out.put(plus_dm_);
    out.put(minus_dm_);
    out.put(tr_);
    out.put(sum_dx_);
    out.put(adx_);
    adx_hist_.save(out);
  }
  void load(StateReader& in) {
    in.get(bar_);
    in.get(prev_high_);
    in.get(prev_low_);
    in.get(prev_close_);
    in.get(plus_dm_);
    in.get(minus_dm_);
    in.get(tr_);
    in.get(sum_dx_);
    in.get(adx_);
    adx_hist_.load(in);
  }

  // ADXR writes the push slot, then reads next_out() (the slot after it).
  void prefetch() const { adx_hist_.prefetch_slot_and_next(); }

 private:
  friend class Dmi2;
  // The ADXR ring first: Dmi2's steady state reads only it of its lane 0 (the rest of the
  // lanes, the warm-up state, can then stay out of the lines it fetches).
  Ring adx_hist_;
  int n_;
  bool with_adxr_;
  int64_t bar_ = 0;  // bars consumed, saturating at 2n
  double prev_high_ = 0, prev_low_ = 0, prev_close_ = 0;
  double plus_dm_ = 0, minus_dm_ = 0, tr_ = 0, sum_dx_ = 0, adx_ = 0;
};


// Two Dmi of the same bars (periods n0, n1; ADXR from lane 0 if it keeps one), each lane
// exactly Dmi's arithmetic and saved in Dmi's format. Until both lanes are past the ADX
// seed they run one by one (Dmi::update); afterwards the Wilder recursions, DIs, DX and ADX
// run as two SSE2 lanes: per-lane IEEE ops, bit-identical to the scalar form, with half
// the divisions and one shared directional-movement branch.
class Dmi2 {
 public:
  Dmi2(int n0, bool adxr0, int n1) : adxr_{adxr0, false}, lanes_{Dmi(n0, adxr0), Dmi(n1, false)} {}

  std::array<Dmi::Out, 2> update(double h, double l, double c) {
#if defined(__SSE2__)
    if (steady_) return steady_update(h, l, c);
#endif
    std::array<Dmi::Out, 2> o = {lanes_[0].update(h, l, c), lanes_[1].update(h, l, c)};
#if defined(__SSE2__)
    steady_ = lanes_[0].bar_ == 2 * static_cast<int64_t>(lanes_[0].n_) &&
              lanes_[1].bar_ == 2 * static_cast<int64_t>(lanes_[1].n_);
    if (steady_) to_lanes();
#endif
    return o;
  }

  void save(StateWriter& out) const {
    for (size_t i = 0; i < 2; ++i) lane(i).save(out);
  }
  void load(StateReader& in) {
    for (auto& d : lanes_) d.load(in);
#if defined(__SSE2__)
    steady_ = lanes_[0].bar_ == 2 * static_cast<int64_t>(lanes_[0].n_) &&
              lanes_[1].bar_ == 2 * static_cast<int64_t>(lanes_[1].n_);
    if (steady_) to_lanes();
#endif
  }
  void prefetch() const { lanes_[0].prefetch(); }
  // Where the state that the steady state never touches begins (an address, no load): the
  // lanes after lane 0's ADXR ring. Up to the end of the object.
  const void* cold_begin() const { return &lanes_[0].adx_hist_ + 1; }

 private:
  // Lane i as a Dmi (in the steady state its sums live in the lane arrays).
  Dmi lane(size_t i) const {
    Dmi d = lanes_[i];
    if (steady_) {
      d.prev_high_ = prev_high_;
      d.prev_low_ = prev_low_;
      d.prev_close_ = prev_close_;
      d.plus_dm_ = plus_dm_[i];
      d.minus_dm_ = minus_dm_[i];
      d.tr_ = tr_[i];
      d.adx_ = adx_[i];
    }
    return d;
  }
  void to_lanes() {
    prev_high_ = lanes_[0].prev_high_;
    prev_low_ = lanes_[0].prev_low_;
    prev_close_ = lanes_[0].prev_close_;
    for (size_t i = 0; i < 2; ++i) {
      plus_dm_[i] = lanes_[i].plus_dm_;
      minus_dm_[i] = lanes_[i].minus_dm_;
      tr_[i] = lanes_[i].tr_;
      adx_[i] = lanes_[i].adx_;
      n_[i] = static_cast<double>(lanes_[i].n_);
      n_minus_1_[i] = static_cast<double>(lanes_[i].n_ - 1);
    }
  }

#if defined(__SSE2__)
  // Dmi::update from bar 2n on, both lanes at once.
  std::array<Dmi::Out, 2> steady_update(double h, double l, double c) {
    const double diff_p = h - prev_high_;
    const double diff_m = prev_low_ - l;
    prev_high_ = h;
    prev_low_ = l;
    const double tr = true_range(h, l, prev_close_);
    prev_close_ = c;
    const __m128d n = _mm_load_pd(n_);
    __m128d minus_dm = _mm_load_pd(minus_dm_), plus_dm = _mm_load_pd(plus_dm_);
    minus_dm = _mm_sub_pd(minus_dm, _mm_div_pd(minus_dm, n));
    plus_dm = _mm_sub_pd(plus_dm, _mm_div_pd(plus_dm, n));
    if (diff_m > 0 && diff_p < diff_m) {
      minus_dm = _mm_add_pd(minus_dm, _mm_set1_pd(diff_m));
    } else if (diff_p > 0 && diff_p > diff_m) {
      plus_dm = _mm_add_pd(plus_dm, _mm_set1_pd(diff_p));
    }
    __m128d trs = _mm_load_pd(tr_);
    trs = _mm_add_pd(_mm_sub_pd(trs, _mm_div_pd(trs, n)), _mm_set1_pd(tr));
    _mm_store_pd(minus_dm_, minus_dm);
    _mm_store_pd(plus_dm_, plus_dm);
    _mm_store_pd(tr_, trs);
    const __m128d zero = _mm_setzero_pd(), hundred = _mm_set1_pd(100.0), null = _mm_set1_pd(kNull);
    const __m128d tr_ok = _mm_cmpneq_pd(trs, zero);
    const __m128d minus_di = _mm_mul_pd(hundred, _mm_div_pd(minus_dm, trs));
    const __m128d plus_di = _mm_mul_pd(hundred, _mm_div_pd(plus_dm, trs));
    const __m128d s = _mm_add_pd(minus_di, plus_di);
    const __m128d abs_mask = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffffLL));
    const __m128d dx = _mm_mul_pd(hundred, _mm_div_pd(_mm_and_pd(abs_mask, _mm_sub_pd(minus_di, plus_di)), s));
    const __m128d dx_ok = _mm_and_pd(tr_ok, _mm_cmpneq_pd(s, zero));
    __m128d adx = _mm_load_pd(adx_);
    const __m128d next = _mm_div_pd(_mm_add_pd(_mm_mul_pd(adx, _mm_load_pd(n_minus_1_)), dx), n);
    adx = _mm_or_pd(_mm_and_pd(dx_ok, next), _mm_andnot_pd(dx_ok, adx));
    _mm_store_pd(adx_, adx);
    alignas(16) double out_minus[2], out_plus[2], out_adx[2];
    _mm_store_pd(out_minus, _mm_or_pd(_mm_and_pd(tr_ok, minus_di), _mm_andnot_pd(tr_ok, null)));
    _mm_store_pd(out_plus, _mm_or_pd(_mm_and_pd(tr_ok, plus_di), _mm_andnot_pd(tr_ok, null)));
    _mm_store_pd(out_adx, _mm_or_pd(_mm_and_pd(dx_ok, adx), _mm_andnot_pd(dx_ok, null)));
    std::array<Dmi::Out, 2> o;
    for (size_t i = 0; i < 2; ++i) {
      o[i].plus_di = out_plus[i];
      o[i].minus_di = out_minus[i];
      o[i].adx = out_adx[i];
    }
    for (size_t i = 0; i < 2; ++i) {  // ADXR as Dmi::update
      if (!adxr_[i]) continue;
      Ring& hist = lanes_[i].adx_hist_;
      hist.push(o[i].adx);
      if (hist.full()) o[i].adxr = (o[i].adx + hist.next_out()) / 2.0;
    }
    return o;
  }
#endif

  // The steady state first, then the lanes: of those the steady state reads only lane 0's
  // ADXR ring (its first member); the rest is warm-up state (cold_begin()).
  alignas(16) double plus_dm_[2] = {}, minus_dm_[2] = {}, tr_[2] = {}, adx_[2] = {};
  alignas(16) double n_[2] = {}, n_minus_1_[2] = {};
  double prev_high_ = 0, prev_low_ = 0, prev_close_ = 0;
  bool steady_ = false;
  bool adxr_[2] = {};  // lane i keeps an ADXR ring (Dmi::with_adxr_)
  std::array<Dmi, 2> lanes_;  // warm-up state and the ADXR rings
};

}  // namespace bqx::features::ta
