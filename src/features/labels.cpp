// Labels (FEATURES.md section 4): the only look-ahead values, stored in their own table.
//
// Columns, in order:
//   target_bqx_w60        bqx_w60_return at row t+60 (the original system's BQX_{t+60})
//   target_ret_15/30/60   (close_{t+H} - close_t) / close_t, raw closes
//   target_dir_60         sign(target_ret_60) in {-1, 0, +1}
//   label_span_min_60     ts_{t+60} - ts_t in minutes (> 60 when the horizon straddles a gap/weekend)
//   label_available_at_60 ts_{t+60} + 1 (epoch minutes, as a double): when the row's last
//                         label (horizon 60, the longest) is known. The H=15/30 targets are
//                         known earlier (ts_{t+H} + 1) but the row is stamped with the latest.
// Horizons count rows of the pair. Every label is NULL where t+H is beyond the data.
//
// target_bqx_w60 repeats the bqx family's computation (bqx.cpp) exactly — same rate
// index x = close * (100 / B_p) as PairEngine::step, same RollingMoments(60) push
// sequence and re-anchoring schedule, same expression W * (mean - x) / x — so it is
// bit-identical to the engine's bqx_w60_return column shifted by 60 rows (a test
// enforces this). bqx_features cannot depend on bqx_engine, hence the repetition.
#include "features/labels.h"

#include <cmath>
#include <string>

#include "features/rolling.h"

namespace bqx::features {
namespace {

constexpr int kBqxWindow = 60;
constexpr int kH15 = 15, kH30 = 30, kH60 = 60;
constexpr size_t kLabelColumns = 7;

}  // namespace

std::vector<ColumnInfo> make_label_columns() {
  const std::string src = "FEATURES.md 4";
  std::vector<ColumnInfo> cols;
  cols.push_back({"target_bqx_w60", "label", "W=60, lookahead H=60 rows",
                  "bqx_w60_return at row t+60 = sum_{i=1..60}(x_{t+60-i} - x_{t+60}) / x_{t+60}", "fraction", 0, src,
                  "t+60 beyond the data", true});
  for (int h : {kH15, kH30, kH60}) {
    cols.push_back({"target_ret_" + std::to_string(h), "label", "lookahead H=" + std::to_string(h) + " rows",
                    "(close_{t+H} - close_t) / close_t, raw closes", "fraction", 0, src, "t+H beyond the data", true});
  }
  cols.push_back({"target_dir_60", "label", "lookahead H=60 rows", "sign(target_ret_60): -1, 0 or +1", "-1/0/+1", 0,
                  src, "t+60 beyond the data", true});
  cols.push_back({"label_span_min_60", "label", "lookahead H=60 rows",
                  "ts_{t+60} - ts_t (60 on gap-free data; larger across gaps and weekends)", "minutes", 0, src,
                  "t+60 beyond the data", true});
  cols.push_back({"label_available_at_60", "label", "lookahead H=60 rows",
                  "ts_{t+60} + 1 min: when the row's longest-horizon label is known (epoch minutes UTC)",
                  "epoch minutes", 0, src, "t+60 beyond the data", true});
  return cols;
}

std::vector<double> compute_labels(const BarFrame& frame, double baseline) {
  const size_t n = frame.size();
  if (n == 0) return {};

  // bqx_w60_return for every row, exactly as the bqx family computes it.
  std::vector<double> bqx(n, kNull);
  {
    const double scale = 100.0 / baseline;
    const double w = kBqxWindow;
    RollingMoments moments(kBqxWindow);
    for (size_t i = 0; i < n; ++i) {
      const double x = frame.close[i] * scale;
      if (moments.full()) {
        const double v = w * (moments.mean() - x) / x;
        bqx[i] = std::isfinite(v) ? v : kNull;
      }
      moments.push(x);
    }
  }

  return compute_labels_from_series(frame.ts.data(), frame.close.data(), bqx.data(), n, n);
}

std::vector<double> compute_labels_from_series(const EpochMinute* ts, const double* close,
                                               const double* bqx, size_t n, size_t rows) {
  std::vector<double> out(rows * kLabelColumns, kNull);
  for (size_t t = 0; t < rows && t < n; ++t) {
    double* o = out.data() + t * kLabelColumns;
    const double c = close[t];
    if (t + kH60 < n) o[0] = bqx[t + kH60];
    const size_t horizons[3] = {kH15, kH30, kH60};
    for (size_t k = 0; k < 3; ++k) {
      if (t + horizons[k] < n) {
        const double r = (close[t + horizons[k]] - c) / c;
        o[1 + k] = std::isfinite(r) ? r : kNull;
      }
    }
    if (t + kH60 < n) {
      const double r = o[3];
      o[4] = std::isnan(r) ? kNull : (r > 0 ? 1.0 : (r < 0 ? -1.0 : 0.0));
      o[5] = static_cast<double>(ts[t + kH60] - ts[t]);
      o[6] = static_cast<double>(ts[t + kH60] + 1);
    }
  }
  return out;
}

}  // namespace bqx::features
