// Stochastics and Williams %R from the highest high / lowest low of the last n bars,
// with TA-Lib 0.6's arithmetic (TA_STOCH, TA_STOCHF, TA_WILLR):
//   fast %K = (close - lowest) / ((highest - lowest) / 100.0)
//   %R      = (highest - close) / ((highest - lowest) / (-100.0))
// NULL when highest == lowest (flat window; TA-Lib prints 0). %D stages are SMAs of
// the previous stage; a NULL input makes every SMA window containing it NULL.
// Lookbacks (TA-Lib outBegIdx): %R n - 1; STOCHF fast %K and fast %D both n - 1 + (k - 1)
// (TA-Lib outputs fast %K from where fast %D starts); STOCH slow %K and slow %D both
// n - 1 + (k - 1) + (d - 1) (slow %K from where slow %D starts).
#pragma once

#include "features/ta/common.h"

namespace bqx::features::ta {

inline double stoch_fastk(double close, double highest, double lowest) {
  const double diff = (highest - lowest) / 100.0;
  return diff != 0.0 ? (close - lowest) / diff : kNull;
}

inline double willr_value(double close, double highest, double lowest) {
  const double diff = (highest - lowest) / (-100.0);
  return diff != 0.0 ? (highest - close) / diff : kNull;
}

// Williams %R over n bars.
class Willr {
 public:
  Willr() : Willr(14) {}
  explicit Willr(int n) : hl_(n) {}
  static int lookback(int n) { return n - 1; }
  double update(double h, double l, double c) {
    hl_.push(h, l);
    return hl_.ready() ? willr_value(c, hl_.highest(), hl_.lowest()) : kNull;
  }
  const HighLow& window() const { return hl_; }
  void save(StateWriter& out) const { hl_.save(out); }
  void load(StateReader& in) { hl_.load(in); }

  void prefetch() const { hl_.prefetch(); }

 private:
  HighLow hl_;
};

// One fast %K stream with its SMA stages: STOCHF(n, d) = (fastk, fastd) and
// STOCH(n, k, d) = (slowk = SMA_k(fastk), slowd = SMA_d(slowk)). With k = d (the
// catalogue's 3, 3) STOCH's slow %K equals STOCHF's fast %D after warm-up, so one SMA serves
// both. The same window also yields %R over n: willr(close) after update (WILLR(n)).
class Stoch {
 public:
  // fastk as TA_STOCHF outputs it (NULL until fast %D starts).
  struct Out {
    double fastk = kNull, fastd = kNull, slowk = kNull, slowd = kNull;
  };
  Stoch() : Stoch(14, 3, 3) {}
  // fastk_period n, fastd/slowk period k (SMA), slowd period d (SMA).
  Stoch(int n, int k, int d) : hl_(n), k_sma_(k), d_sma_(d) {}
  static int lookback_fastk(int n) { return n - 1; }
  static int lookback_fastd(int n, int k) { return n - 1 + k - 1; }
  static int lookback_slow(int n, int k, int d) { return n - 1 + k - 1 + d - 1; }

  Out update(double h, double l, double c) {
    hl_.push(h, l);
    Out o;
    if (!hl_.ready()) return o;
    const double fastk = stoch_fastk(c, hl_.highest(), hl_.lowest());
    o.fastd = k_sma_.push(fastk);
    if (!k_sma_.ready()) return o;
    o.fastk = fastk;  // TA_STOCHF outputs fast %K from where fast %D starts
    o.slowd = d_sma_.push(o.fastd);
    if (d_sma_.ready()) o.slowk = o.fastd;
    return o;
  }
  // Williams %R over the same n-bar window (valid from bar n - 1), for the close just pushed.
  double willr(double c) const { return hl_.ready() ? willr_value(c, hl_.highest(), hl_.lowest()) : kNull; }

  void save(StateWriter& out) const {
    hl_.save(out);
    k_sma_.save(out);
    d_sma_.save(out);
  }
  void load(StateReader& in) {
    hl_.load(in);
    k_sma_.load(in);
    d_sma_.load(in);
  }

  void prefetch() const {
    hl_.prefetch();
    k_sma_.prefetch();
    d_sma_.prefetch();
  }

 private:
  HighLow hl_;
  NullableMean k_sma_, d_sma_;
};

}  // namespace bqx::features::ta
