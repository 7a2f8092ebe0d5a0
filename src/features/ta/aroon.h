// AROON and AROONOSC as TA-Lib 0.6 (TA_AROON, TA_AROONOSC) over the last n + 1 bars:
// up = (100/n) * (n - bars since the highest high), down likewise with the lowest low,
// ties resolved to the most recent bar (TA-Lib's >= / <=); osc = (100/n) * (iHigh - iLow).
// Never NULL after the lookback n (a flat window gives up = down = 100, osc = 0: TA-Lib's
// tie rule, not a zero denominator).
#pragma once

#include "features/ta/common.h"

namespace bqx::features::ta {

class Aroon {
 public:
  struct Out {
    double up = kNull, down = kNull, osc = kNull;
  };
  Aroon() : Aroon(25) {}
  explicit Aroon(int n) : n_(n), factor_(100.0 / static_cast<double>(n)), hi_(n + 1), lo_(n + 1) {}
  static int lookback(int n) { return n; }

  Out update(double h, double l) {
    hi_.push(h);
    lo_.push(l);
    Out o;
    if (!hi_.full()) return o;
    const int64_t today = static_cast<int64_t>(hi_.count()) - 1;
    const int64_t ih = static_cast<int64_t>(hi_.index());
    const int64_t il = static_cast<int64_t>(lo_.index());
    o.up = factor_ * static_cast<double>(n_ - (today - ih));
    o.down = factor_ * static_cast<double>(n_ - (today - il));
    o.osc = factor_ * static_cast<double>(ih - il);
    return o;
  }

  void save(StateWriter& out) const {
    hi_.save(out);
    lo_.save(out);
  }
  void load(StateReader& in) {
    hi_.load(in);
    lo_.load(in);
  }

  void prefetch() const {
    hi_.prefetch();
    lo_.prefetch();
  }

 private:
  int64_t n_;
  double factor_;
  MonoDeque<true> hi_;
  MonoDeque<false> lo_;
};

}  // namespace bqx::features::ta
