// Labels (FEATURES.md section 4): target_bqx_w60 is bit-identical to the engine's
// bqx_w60_return 60 rows later; the return/direction/span/available_at columns match a
// naive reference; everything is NULL past the end of the data.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "engine/pair_engine.h"
#include "features/labels.h"
#include "features/registry.h"
#include "test_frames.h"

namespace bqx {
namespace {

using features::is_null;

constexpr size_t kWidth = 7;
enum { kBqx = 0, kRet15, kRet30, kRet60, kDir60, kSpan60, kAvail60 };

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(Labels, ColumnsInOrder) {
  const auto cols = features::make_label_columns();
  const std::vector<std::string> want = {"target_bqx_w60", "target_ret_15",     "target_ret_30",
                                         "target_ret_60",  "target_dir_60",     "label_span_min_60",
                                         "label_available_at_60"};
  ASSERT_EQ(cols.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(cols[i].name, want[i]);
    EXPECT_EQ(cols[i].family, "label");
    EXPECT_EQ(cols[i].lookback, 0);
    EXPECT_FALSE(cols[i].formula.empty());
    EXPECT_FALSE(cols[i].unit.empty());
    EXPECT_NE(cols[i].params.find("lookahead"), std::string::npos) << cols[i].name;
  }
  EXPECT_EQ(features::label_columns().size(), want.size());  // registered
}

void check_frame(const BarFrame& f, double baseline) {
  const size_t n = f.size();
  const auto labels = features::compute_labels(f, baseline);
  ASSERT_EQ(labels.size(), n * kWidth);

  std::vector<features::ColumnInfo> cols;
  auto bqx = compute_pair_features(f, baseline, {"bqx"}, &cols);
  ASSERT_TRUE(bqx.ok());
  size_t w60 = cols.size();
  for (size_t c = 0; c < cols.size(); ++c) {
    if (cols[c].name == "bqx_w60_return") w60 = c;
  }
  ASSERT_LT(w60, cols.size());

  size_t defined = 0;
  for (size_t t = 0; t < n; ++t) {
    const double* o = labels.data() + t * kWidth;
    SCOPED_TRACE("row " + std::to_string(t));
    // target_bqx_w60: the engine's column 60 rows later, bit for bit.
    if (t + 60 < n) {
      ASSERT_TRUE(same_bits(o[kBqx], (*bqx)[(t + 60) * cols.size() + w60]))
          << o[kBqx] << " vs " << (*bqx)[(t + 60) * cols.size() + w60];
      ASSERT_FALSE(is_null(o[kBqx]));
      ++defined;
    } else {
      ASSERT_TRUE(is_null(o[kBqx]));
    }
    const size_t horizons[3] = {15, 30, 60};
    for (size_t k = 0; k < 3; ++k) {
      const size_t h = horizons[k];
      if (t + h < n) {
        const long double want = (static_cast<long double>(f.close[t + h]) - f.close[t]) / f.close[t];
        ASSERT_NEAR(o[kRet15 + k], static_cast<double>(want), 1e-9 * std::fabs(static_cast<double>(want)) + 1e-15);
      } else {
        ASSERT_TRUE(is_null(o[kRet15 + k])) << "h " << h;
      }
    }
    if (t + 60 < n) {
      const double d = f.close[t + 60] > f.close[t] ? 1.0 : (f.close[t + 60] < f.close[t] ? -1.0 : 0.0);
      ASSERT_EQ(o[kDir60], d);
      ASSERT_EQ(o[kSpan60], static_cast<double>(f.ts[t + 60] - f.ts[t]));
      ASSERT_GE(o[kSpan60], 60.0);
      ASSERT_EQ(o[kAvail60], static_cast<double>(f.ts[t + 60] + 1));
    } else {
      ASSERT_TRUE(is_null(o[kDir60]));
      ASSERT_TRUE(is_null(o[kSpan60]));
      ASSERT_TRUE(is_null(o[kAvail60]));
    }
  }
  EXPECT_EQ(defined, n > 60 ? n - 60 : 0);
}

TEST(Labels, MatchEngineAndNaiveReference) {
  const BarFrame f = testing_frames::random_walk_frame(5000, 41);
  check_frame(f, f.close[0]);
  check_frame(f, 1.0731);  // a baseline other than the first close
  const BarFrame jpy = testing_frames::random_walk_frame(3000, 42, 151.2, Pair{Currency::USD, Currency::JPY});
  check_frame(jpy, 150.0);
}

TEST(Labels, ShortAndEmptyFrames) {
  BarFrame empty;
  EXPECT_TRUE(features::compute_labels(empty, 1.0).empty());
  const BarFrame f = testing_frames::random_walk_frame(40, 43);
  const auto labels = features::compute_labels(f, f.close[0]);
  ASSERT_EQ(labels.size(), 40 * kWidth);
  for (size_t t = 0; t < 40; ++t) {
    EXPECT_TRUE(is_null(labels[t * kWidth + kBqx]));
    EXPECT_TRUE(is_null(labels[t * kWidth + kRet60]));
    EXPECT_EQ(is_null(labels[t * kWidth + kRet15]), t + 15 >= 40);
    EXPECT_EQ(is_null(labels[t * kWidth + kRet30]), t + 30 >= 40);
  }
  check_frame(f, f.close[0]);
  check_frame(testing_frames::random_walk_frame(61, 44), 1.08);  // exactly one defined row
}

TEST(Labels, GoldenValues) {
  // 200 bars one minute apart except a 1000-minute gap after row 100; close_i = 1 + i/1000.
  BarFrame f;
  f.pair = Pair{Currency::EUR, Currency::USD};
  EpochMinute ts = make_epoch_minute(2024, 7, 1, 0, 0);
  for (int i = 0; i < 200; ++i) {
    const double c = 1.0 + i / 1000.0;
    f.push_back(Bar{ts, c, c, c, c, 1, c, c});
    ts += (i == 100) ? 1001 : 1;
  }
  const auto l = features::compute_labels(f, 1.0);
  // Row 0: close 1.0 -> close_15 = 1.015, close_60 = 1.06.
  EXPECT_NEAR(l[0 * kWidth + kRet15], 0.015, 1e-15);
  EXPECT_NEAR(l[0 * kWidth + kRet60], 0.06, 1e-15);
  EXPECT_EQ(l[0 * kWidth + kDir60], 1.0);
  EXPECT_EQ(l[0 * kWidth + kSpan60], 60.0);
  EXPECT_EQ(l[0 * kWidth + kAvail60], static_cast<double>(f.ts[0] + 61));
  // Row 0's bqx label is bqx_w60_return at row 60: x_i = 100 + i/10 (baseline 1), past
  // window x_0..x_59 has mean 102.95, so 60 * (102.95 - 106) / 106 = -1.7264150943...
  EXPECT_NEAR(l[0 * kWidth + kBqx], 60.0 * (102.95 - 106.0) / 106.0, 1e-12);
  // Row 50: t+60 = 110 lies after the gap: span = 60 + 1000 minutes.
  EXPECT_EQ(l[50 * kWidth + kSpan60], 1060.0);
  EXPECT_EQ(l[40 * kWidth + kSpan60], 60.0);  // 40 -> 100 ends right before the gap
  EXPECT_EQ(l[41 * kWidth + kSpan60], 1060.0);
  // Row 139 is the last with a 60-row label; row 140 has none; ret_15 exists up to row 184.
  EXPECT_FALSE(is_null(l[139 * kWidth + kBqx]));
  EXPECT_TRUE(is_null(l[140 * kWidth + kBqx]));
  EXPECT_FALSE(is_null(l[184 * kWidth + kRet15]));
  EXPECT_TRUE(is_null(l[185 * kWidth + kRet15]));
  // A falling and a flat pair of closes give -1 and 0.
  BarFrame g = f;
  g.close[60] = 0.5;
  g.close[61] = g.close[1];
  const auto lg = features::compute_labels(g, 1.0);
  EXPECT_EQ(lg[0 * kWidth + kDir60], -1.0);
  EXPECT_EQ(lg[1 * kWidth + kDir60], 0.0);
  EXPECT_EQ(lg[1 * kWidth + kRet60], 0.0);
}

}  // namespace
}  // namespace bqx
