// ATR and NATR exactly as TA-Lib 0.6 (TA_ATR / TA_NATR, unstable period 0): the true range
// TR_t = max(h - l, |c_{t-1} - h|, |c_{t-1} - l|) exists from bar 1; ATR at bar n is the
// mean of TR_1..TR_n (summed in order), then Wilder: atr = ((atr * (n - 1)) + TR) / n.
// NATR = (atr / close) * 100.0 (NULL when close == 0). Lookback n.
#pragma once

#include "features/ta/common.h"

namespace bqx::features::ta {

class Atr {
 public:
  Atr() : Atr(14) {}
  explicit Atr(int n) : n_(n) {}
  static int lookback(int n) { return n; }
  bool ready() const { return seen_ > n_; }

  double update(double h, double l, double c) {
    if (seen_ == 0) {
      prev_close_ = c;
      seen_ = 1;
      return kNull;
    }
    const double tr = true_range(h, l, prev_close_);
    prev_close_ = c;
    if (seen_ > n_) {
      atr_ *= n_ - 1;
      atr_ += tr;
      atr_ /= n_;
      return atr_;
    }
    sum_ += tr;
    if (seen_++ == n_) {
      atr_ = sum_ / n_;
      return atr_;
    }
    return kNull;
  }
  static double natr(double atr, double close) { return close != 0.0 ? (atr / close) * 100.0 : kNull; }

  void save(StateWriter& out) const {
    out.put(seen_);
    out.put(prev_close_);
    out.put(sum_);
    out.put(atr_);
  }
  void load(StateReader& in) {
    in.get(seen_);
    in.get(prev_close_);
    in.get(sum_);
    in.get(atr_);
  }

 private:
  int n_;
  int seen_ = 0;  // bars consumed, saturating at n + 1
  double prev_close_ = 0, sum_ = 0, atr_ = 0;
};

}  // namespace bqx::features::ta
