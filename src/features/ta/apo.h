// APO with TA-Lib 0.6's default moving average (TA_APO, MA type SMA): SMA_fast - SMA_slow
// (periods swapped if given the wrong way round, as TA-Lib). Lookback slow - 1.
// The SMAs are RollingMean windows (deviation sums, re-anchored every period updates).
#pragma once

#include <utility>

#include "features/ta/common.h"

namespace bqx::features::ta {

class Apo {
 public:
  Apo() : Apo(12, 26) {}
  Apo(int fast, int slow) : fast_(fast < slow ? fast : slow), slow_(fast < slow ? slow : fast) {}
  static int lookback(int fast, int slow) { return (fast > slow ? fast : slow) - 1; }
  double update(double x) {
    fast_.push(x);
    slow_.push(x);
    return slow_.ready() ? fast_.mean() - slow_.mean() : kNull;
  }
  void save(StateWriter& out) const {
    fast_.save(out);
    slow_.save(out);
  }
  void load(StateReader& in) {
    fast_.load(in);
    slow_.load(in);
  }

  void prefetch() const {
    fast_.prefetch();
    slow_.prefetch();
  }

 private:
  RollingMean<false> fast_, slow_;
};

}  // namespace bqx::features::ta
