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

#include "features/ta/common.h"

namespace bqx::features::ta {

class Dmi {
 public:
  struct Out {
    double plus_di = kNull, minus_di = kNull, adx = kNull, adxr = kNull;
  };
  Dmi() : Dmi(14) {}
  // with_adxr: keep the ring of past ADX values that ADXR needs (skipped when not wanted).
  explicit Dmi(int n, bool with_adxr = true) : n_(n), with_adxr_(with_adxr), adx_hist_(with_adxr ? n : 1) {}
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

  void prefetch() const { adx_hist_.prefetch(); }

 private:
  int n_;
  bool with_adxr_;
  int64_t bar_ = 0;  // bars consumed, saturating at 2n
  double prev_high_ = 0, prev_low_ = 0, prev_close_ = 0;
  double plus_dm_ = 0, minus_dm_ = 0, tr_ = 0, sum_dx_ = 0, adx_ = 0;
  Ring adx_hist_;
};

}  // namespace bqx::features::ta
