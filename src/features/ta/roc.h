// ROC and MOM over a shared history of the last values (TA-Lib 0.6 TA_ROC, TA_MOM):
//   ROC(n) = ((x_t / x_{t-n}) - 1.0) * 100.0, NULL when x_{t-n} == 0 (TA-Lib prints 0);
//   MOM(n) = x_t - x_{t-n}.  Lookback n.
#pragma once

#include "features/ta/common.h"

namespace bqx::features::ta {

// The last `depth` + 1 values, for lags up to `depth`.
class LagHistory {
 public:
  LagHistory() : LagHistory(1) {}
  explicit LagHistory(int depth) : ring_(depth + 1) {}
  void push(double x) { ring_.push(x); }
  bool has_lag(int n) const { return ring_.pushes() > static_cast<uint64_t>(n); }
  double lag(int n) const { return ring_.back(static_cast<size_t>(n)); }
  double roc(int n) const {
    if (!has_lag(n)) return kNull;
    const double prev = lag(n);
    return prev != 0.0 ? ((ring_.back(0) / prev) - 1.0) * 100.0 : kNull;
  }
  double mom(int n) const { return has_lag(n) ? ring_.back(0) - lag(n) : kNull; }
  void save(StateWriter& out) const { ring_.save(out); }
  void load(StateReader& in) { ring_.load(in); }

  void prefetch() const { ring_.prefetch(); }

 private:
  Ring ring_;
};

}  // namespace bqx::features::ta
