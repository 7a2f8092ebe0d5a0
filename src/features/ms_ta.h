// Small TA-Lib 0.6-semantics indicator states for the multi-scale family (ms.cpp).
//
// Each state is a fixed-size, trivially copyable struct of 8-byte fields (no padding,
// no heap), fed one bucket at a time. ms.cpp keeps the states committed over completed
// buckets and, at every bar, copies them onto the stack and feeds the forming bucket to
// the copy ("peek"), so copying never allocates and the committed state never sees a
// bucket twice.
//
// Semantics follow the TA-Lib 0.6 C sources run over the whole bucket series with
// unstable period 0, with one deliberate change: TA-Lib's TA_IS_ZERO (|v| < 1e-8, an
// absolute threshold) is replaced by an exact zero test (scale-aware, DESIGN.md), and a
// zero denominator gives NULL instead of TA-Lib's magic 0.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "features/kernel.h"

namespace bqx::features::ms {

struct Ohlc {
  double open = 0, high = 0, low = 0, close = 0;
};

// TA-Lib TRUE_RANGE: max(h - l, |h - yc|, |l - yc|), evaluated in TA-Lib's order.
inline double true_range(double high, double low, double prev_close) {
  double out = high - low;
  const double a = std::fabs(high - prev_close);
  if (a > out) out = a;
  const double b = std::fabs(low - prev_close);
  if (b > out) out = b;
  return out;
}

// TA_RSI: Wilder averages of gains/losses, seeded by the plain mean of the first
// `P` differences; first value at series index P.
template <int P>
struct RsiState {
  int64_t n = 0;  // closes seen
  double prev = 0;
  double gain = 0, loss = 0;  // sums while seeding (n <= P), then Wilder averages

  void add(double close) {
    if (n > 0) {
      const double d = close - prev;
      if (n <= P) {
        if (d < 0) loss -= d; else gain += d;
        if (n == P) {
          loss /= P;
          gain /= P;
        }
      } else {
        loss *= (P - 1);
        gain *= (P - 1);
        if (d < 0) loss -= d; else gain += d;
        loss /= P;
        gain /= P;
      }
    }
    prev = close;
    ++n;
  }
  // RSI after the last add; NULL before P differences or when gain + loss = 0 (flat).
  double value() const {
    if (n <= P) return kNull;
    const double s = gain + loss;
    return s != 0 ? 100.0 * (gain / s) : kNull;
  }
};

// TA_ATR / TA_NATR: Wilder ATR seeded by the SMA of the first P true ranges
// (TR_1 .. TR_P); first value at series index P.
template <int P>
struct AtrState {
  int64_t n = 0;  // buckets seen
  double prev_close = 0;
  double atr = 0;  // sum of TRs while seeding, then the ATR

  void add(const Ohlc& b) {
    if (n > 0) {
      const double tr = true_range(b.high, b.low, prev_close);
      if (n <= P) {
        atr += tr;
        if (n == P) atr /= P;
      } else {
        atr *= P - 1;
        atr += tr;
        atr /= P;
      }
    }
    prev_close = b.close;
    ++n;
  }
  // NATR = ATR / close * 100 for the close of the last bucket; NULL before P true ranges
  // or for a zero close.
  double natr(double close) const {
    if (n <= P || close == 0) return kNull;
    return (atr / close) * 100.0;
  }
};

// TA_ADX, following the TA-Lib loop exactly: buckets 1..P-1 accumulate +DM, -DM and
// TR (P-1 values); buckets P..2P-1 apply Wilder smoothing (x -= x/P, += new) and sum
// DX; at bucket 2P-1 ADX = sumDX / P; afterwards ADX = (ADX*(P-1) + DX) / P. A DX whose
// denominator is 0 (smoothed TR = 0 or +DI + -DI = 0) is skipped, as in TA-Lib, and
// the output at that bucket is NULL (flat series: direction undefined).
template <int P>
struct AdxState {
  int64_t n = 0;  // buckets seen
  double prev_high = 0, prev_low = 0, prev_close = 0;
  double plus_dm = 0, minus_dm = 0, tr = 0;
  double sum_dx = 0, adx = 0;
  int64_t dx_defined = 0;  // whether the DX of the last bucket was defined

  void add(const Ohlc& b) {
    if (n == 0) {
      prev_high = b.high;
      prev_low = b.low;
      prev_close = b.close;
      n = 1;
      return;
    }
    const double diff_p = b.high - prev_high;
    prev_high = b.high;
    const double diff_m = prev_low - b.low;
    prev_low = b.low;
    const bool smoothing = n >= P;
    if (smoothing) {
      minus_dm -= minus_dm / P;
      plus_dm -= plus_dm / P;
    }
    if (diff_m > 0 && diff_p < diff_m) {
      minus_dm += diff_m;
    } else if (diff_p > 0 && diff_p > diff_m) {
      plus_dm += diff_p;
    }
    const double range = true_range(prev_high, prev_low, prev_close);
    if (smoothing) {
      tr = tr - (tr / P) + range;
    } else {
      tr += range;
    }
    prev_close = b.close;
    if (smoothing) {
      dx_defined = 0;
      double dx = 0;
      if (tr != 0) {
        const double minus_di = 100.0 * (minus_dm / tr);
        const double plus_di = 100.0 * (plus_dm / tr);
        const double s = minus_di + plus_di;
        if (s != 0) {
          dx = 100.0 * (std::fabs(minus_di - plus_di) / s);
          dx_defined = 1;
        }
      }
      if (n < 2 * P - 1) {
        if (dx_defined) sum_dx += dx;
      } else if (n == 2 * P - 1) {
        if (dx_defined) sum_dx += dx;
        adx = sum_dx / P;
      } else if (dx_defined) {
        adx = ((adx * (P - 1)) + dx) / P;
      }
    }
    ++n;
  }
  double value() const { return (n >= 2 * P && dx_defined) ? adx : kNull; }

  // The first half of the smoothing step of the next add (state only, no bucket):
  // x - x / P for the DMs and TR, ADX * (P - 1).
  struct Decay {
    double minus_dm = 0, plus_dm = 0, tr = 0, adx_keep = 0;
  };
  Decay decay() const { return {minus_dm - minus_dm / P, plus_dm - plus_dm / P, tr - (tr / P), adx * (P - 1)}; }

  // value() after add(b) on a copy, without changing this state. Once the ADX is seeded
  // (n >= 2P) the add takes its last branch, written out here with the decay computed at
  // the last commit: the same operations in the same order as add.
  double peek(const Ohlc& b, const Decay& d) const {
    if (n < 2 * P) {
      AdxState copy = *this;
      copy.add(b);
      return copy.value();
    }
    const double diff_p = b.high - prev_high;
    const double diff_m = prev_low - b.low;
    double minus = d.minus_dm, plus = d.plus_dm;
    if (diff_m > 0 && diff_p < diff_m) {
      minus += diff_m;
    } else if (diff_p > 0 && diff_p > diff_m) {
      plus += diff_p;
    }
    const double range = true_range(b.high, b.low, prev_close);
    const double tr_new = d.tr + range;
    if (tr_new == 0) return kNull;
    const double minus_di = 100.0 * (minus / tr_new);
    const double plus_di = 100.0 * (plus / tr_new);
    const double s = minus_di + plus_di;
    if (s == 0) return kNull;
    const double dx = 100.0 * (std::fabs(minus_di - plus_di) / s);
    return (d.adx_keep + dx) / P;
  }
};

static_assert(std::is_trivially_copyable_v<RsiState<14>> && sizeof(RsiState<14>) == 4 * 8);
static_assert(std::is_trivially_copyable_v<AtrState<14>> && sizeof(AtrState<14>) == 3 * 8);
static_assert(std::is_trivially_copyable_v<AdxState<14>> && sizeof(AdxState<14>) == 10 * 8);
static_assert(std::is_trivially_copyable_v<Ohlc> && sizeof(Ohlc) == 4 * 8);

}  // namespace bqx::features::ms
