// Bollinger Bands with TA-Lib 0.6's definition (TA_BBANDS, MA type SMA, nbdevup = nbdevdn):
// middle = SMA_n(x); sd = population standard deviation of the same n values;
// upper = middle + sd * nbdev; lower = middle - sd * nbdev. Catalogue extras:
// pctb = (x - lower) / (upper - lower)  (NULL when upper == lower, i.e. a flat window),
// width = (upper - lower) / middle, or / |middle| for the bqx domain (NULL when middle == 0).
// Lookback n - 1. Numerics: TA-Lib subtracts mean^2 from a running sum of squared raw levels
// (sum x^2 over the whole series), which at index level ~100 leaves it ~1e-7..1e-6 relative
// error in sd; here the window moments are deviations from a re-anchored reference
// (RollingMean<true>), so sd is accurate and a flat window gives sd exactly 0.
#pragma once

#include "features/ta/common.h"

namespace bqx::features::ta {

class BBands {
 public:
  struct Out {
    double upper = kNull, middle = kNull, lower = kNull, pctb = kNull, width = kNull;
  };
  BBands() : BBands(20, 2.0, false) {}
  BBands(int n, double nbdev, bool abs_middle) : nbdev_(nbdev), abs_middle_(abs_middle), mom_(n) {}
  static int lookback(int n) { return n - 1; }

  Out update(double x) {
    mom_.push(x);
    Out o;
    if (!mom_.ready()) return o;
    double middle, var;
    mom_.mean_var(middle, var);
    const double sd = std::sqrt(var);
    const double t = sd * nbdev_;
    o.middle = middle;
    o.upper = middle + t;
    o.lower = middle - t;
    const double range = o.upper - o.lower;
    o.pctb = range != 0.0 ? (x - o.lower) / range : kNull;
    const double denom = abs_middle_ ? std::fabs(middle) : middle;
    o.width = denom != 0.0 ? range / denom : kNull;
    return o;
  }
  // The SMA of the same window (shared with sma_dist_n).
  const RollingMean<true>& moments() const { return mom_; }

  void save(StateWriter& out) const { mom_.save(out); }
  void load(StateReader& in) { mom_.load(in); }

  void prefetch() const { mom_.prefetch(); }

 private:
  double nbdev_;
  bool abs_middle_;
  RollingMean<true> mom_;
};

}  // namespace bqx::features::ta
