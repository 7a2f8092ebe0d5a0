// MACD with TA-Lib 0.6 alignment (TA_INT_MACD). The slow EMA is seeded at input slow - 1
// with the SMA of inputs 0..slow-1; the fast EMA is seeded at the SAME input with the SMA
// of the last `fast` inputs (slow - fast .. slow - 1), so both start together (TA-Lib calls
// TA_INT_EMA for both from index slow - 1). macd = fast - slow; signal = EMA(signal) of
// the macd line seeded with the SMA of its first `signal` values; hist = macd - signal.
// All three are NULL until input (slow - 1) + (signal - 1) = TA_MACD_Lookback.
#pragma once

#include <utility>

#include "features/ta/ema.h"

namespace bqx::features::ta {

class Macd {
 public:
  struct Out {
    double macd = kNull, signal = kNull, hist = kNull;
  };
  Macd() : Macd(12, 26, 9) {}
  Macd(int fast, int slow, int signal) {
    if (slow < fast) std::swap(fast, slow);  // TA-Lib swaps a slow period shorter than the fast one
    fast_period_ = fast;
    slow_period_ = slow;
    fast_ = Ema(fast);
    slow_ = Ema(slow);
    signal_ = Ema(signal);
  }
  static int lookback(int fast, int slow, int signal) {
    return Ema::lookback(fast > slow ? fast : slow) + Ema::lookback(signal);
  }

  Out update(double x) {
    const double s = slow_.update(x);
    const double f = (seen_ >= slow_period_ - fast_period_) ? fast_.update(x) : kNull;
    if (seen_ < slow_period_) ++seen_;
    Out o;
    if (std::isnan(s)) return o;
    const double m = f - s;
    const double sig = signal_.update(m);
    if (std::isnan(sig)) return o;
    o.macd = m;
    o.signal = sig;
    o.hist = m - sig;
    return o;
  }

  void save(StateWriter& out) const {
    out.put(seen_);
    fast_.save(out);
    slow_.save(out);
    signal_.save(out);
  }
  void load(StateReader& in) {
    in.get(seen_);
    fast_.load(in);
    slow_.load(in);
    signal_.load(in);
  }

 private:
  int fast_period_ = 12, slow_period_ = 26;
  int seen_ = 0;  // inputs consumed, saturating at slow
  Ema fast_, slow_, signal_;
};

}  // namespace bqx::features::ta
