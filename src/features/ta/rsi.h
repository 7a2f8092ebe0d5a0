// RSI and CMO with Wilder smoothing exactly as TA-Lib 0.6 (TA_RSI / TA_CMO, classic
// compatibility, unstable period 0). The first `period` price changes are summed (gains and
// losses separately) and divided by period at input `period`; afterwards
//   loss = loss * (period - 1); gain = gain * (period - 1);
//   (loss -= d if d < 0, else gain += d); loss /= period; gain /= period.
// RSI = 100 * (gain / (gain + loss)); CMO = 100 * ((gain - loss) / (gain + loss)).
// NULL when gain + loss == 0 exactly (no change since the start: TA-Lib prints 0 when
// |gain + loss| < 1e-14). Lookback period (TA_RSI_Lookback = TA_CMO_Lookback).
#pragma once

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

}  // namespace bqx::features::ta
