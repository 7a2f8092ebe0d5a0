// TRIX as TA-Lib 0.6 (TA_TRIX): three chained TA-Lib EMAs of period n (each seeded with the
// SMA of the first n values of its input), then TA_ROC(1) of the third:
// ((e3_t / e3_{t-1}) - 1.0) * 100.0, NULL when e3_{t-1} == 0. Lookback 3(n - 1) + 1.
#pragma once

#include "features/ta/ema.h"

namespace bqx::features::ta {

class Trix {
 public:
  Trix() : Trix(15) {}
  explicit Trix(int n) : e1_(n), e2_(n), e3_(n) {}
  static int lookback(int n) { return 3 * Ema::lookback(n) + 1; }

  double update(double x) {
    const double a = e1_.update(x);
    if (std::isnan(a)) return kNull;
    const double b = e2_.update(a);
    if (std::isnan(b)) return kNull;
    const double c = e3_.update(b);
    if (std::isnan(c)) return kNull;
    const double prev = prev_;
    const bool had = has_prev_;
    prev_ = c;
    has_prev_ = true;
    if (!had) return kNull;
    return prev != 0.0 ? ((c / prev) - 1.0) * 100.0 : kNull;
  }

  void save(StateWriter& out) const {
    e1_.save(out);
    e2_.save(out);
    e3_.save(out);
    out.put(prev_);
    out.put(has_prev_);
  }
  void load(StateReader& in) {
    e1_.load(in);
    e2_.load(in);
    e3_.load(in);
    in.get(prev_);
    in.get(has_prev_);
  }

 private:
  Ema e1_, e2_, e3_;
  double prev_ = 0;
  bool has_prev_ = false;
};

}  // namespace bqx::features::ta
