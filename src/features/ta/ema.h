// EMA with TA-Lib 0.6 seeding (TA_INT_EMA, default compatibility): NULL for the first
// period - 1 inputs; at input period - 1 the value is the SMA of the first `period` inputs
// (summed in order, then divided by period); afterwards e = ((x - e) * k) + e with
// k = 2 / (period + 1). Lookback period - 1 (TA_EMA_Lookback).
#pragma once

#include "features/ta/common.h"

namespace bqx::features::ta {

class Ema {
 public:
  Ema() : Ema(2) {}
  explicit Ema(int period) : period_(period), k_(per_to_k(period)) {}
  static int lookback(int period) { return period - 1; }
  bool ready() const { return seen_ >= period_; }
  double value() const { return ready() ? value_ : kNull; }

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
  int period_;
  double k_;
  int seen_ = 0;  // inputs consumed, saturating at period
  double sum_ = 0, value_ = 0;
};

}  // namespace bqx::features::ta
