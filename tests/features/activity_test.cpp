// activity family (FEATURES.md 1.10): naive recompute-the-window references for every
// column (long double two-pass moments), NULL behaviour for missing volume / bid/ask and
// flat windows, and hand-computed golden values.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <string>

#include "engine/pair_engine.h"
#include "test_frames.h"

namespace bqx {
namespace {

using features::is_null;
using features::kNull;

struct Rows {
  std::vector<double> values;
  std::map<std::string, size_t> col;
  size_t width = 0;
  double at(size_t row, const std::string& name) const { return values[row * width + col.at(name)]; }
};

Rows run_activity(const BarFrame& frame) {
  std::vector<features::ColumnInfo> cols;
  auto out = compute_pair_features(frame, frame.close[0], {"activity"}, &cols);
  EXPECT_TRUE(out.ok());
  Rows r;
  r.values = *out;
  r.width = cols.size();
  for (size_t i = 0; i < cols.size(); ++i) r.col[cols[i].name] = i;
  return r;
}

bool close_enough(double got, double want) {
  if (is_null(got) || is_null(want)) return is_null(got) && is_null(want);
  return std::fabs(got - want) <= 1e-9 * std::max(std::fabs(got), std::fabs(want)) + 1e-12;
}

// z-score of s[t] over s[t-W+1 .. t]; NULL when incomplete, any NaN, or all values equal.
double naive_z(const std::vector<double>& s, size_t t, size_t w) {
  if (t + 1 < w) return kNull;
  bool flat = true;
  for (size_t i = t + 1 - w; i <= t; ++i) {
    if (std::isnan(s[i])) return kNull;
    if (s[i] != s[t]) flat = false;
  }
  if (flat) return kNull;
  long double mean = 0;
  for (size_t i = t + 1 - w; i <= t; ++i) mean += s[i];
  mean /= w;
  long double ss = 0;
  for (size_t i = t + 1 - w; i <= t; ++i) ss += (s[i] - mean) * (s[i] - mean);
  const long double sd = std::sqrt(ss / (w - 1));
  return static_cast<double>((s[t] - mean) / sd);
}

double naive_mean(const std::vector<double>& s, size_t t, size_t w) {
  long double m = 0;
  for (size_t i = t + 1 - w; i <= t; ++i) m += s[i];
  return static_cast<double>(m / w);
}

double naive_ratio(const std::vector<double>& v, size_t t) {
  if (t + 1 < 240) return kNull;
  bool any_nonzero = false;
  for (size_t i = t + 1 - 240; i <= t; ++i) {
    if (std::isnan(v[i])) return kNull;
    if (v[i] != 0) any_nonzero = true;
  }
  if (!any_nonzero) return kNull;
  return naive_mean(v, t, 15) / naive_mean(v, t, 240);
}

double naive_spread(const BarFrame& f, size_t i) {
  if (std::isnan(f.bid[i]) || std::isnan(f.ask[i])) return kNull;
  const long double mid = (static_cast<long double>(f.ask[i]) + f.bid[i]) / 2;
  return static_cast<double>((f.ask[i] - static_cast<long double>(f.bid[i])) / mid * 1e4L);
}

void check_against_reference(const BarFrame& f) {
  const Rows r = run_activity(f);
  const size_t n = f.size();
  std::vector<double> range(n), spread(n);
  for (size_t i = 0; i < n; ++i) {
    range[i] = static_cast<double>((static_cast<long double>(f.high[i]) - f.low[i]) / f.close[i]);
    spread[i] = naive_spread(f, i);
  }
  size_t defined[8] = {};
  for (size_t t = 0; t < n; ++t) {
    SCOPED_TRACE("row " + std::to_string(t));
    const double want[8] = {
        naive_z(f.volume, t, 15),
        naive_z(f.volume, t, 60),
        naive_z(f.volume, t, 240),
        naive_ratio(f.volume, t),
        [&] {
          double c = 0;
          for (size_t i = 0; i <= t; ++i) c += (f.ts[i] > f.ts[t] - 60) ? 1 : 0;
          return c;
        }(),
        naive_z(range, t, 60),
        spread[t],
        naive_z(spread, t, 60),
    };
    const char* names[8] = {"activity_vol_z_15",       "activity_vol_z_60",   "activity_vol_z_240",
                            "activity_vol_ratio_15_240", "activity_bars_last_60min", "activity_range_z_60",
                            "activity_spread_bp",      "activity_spread_z_60"};
    for (int c = 0; c < 8; ++c) {
      const double got = r.at(t, names[c]);
      ASSERT_TRUE(close_enough(got, want[c])) << names[c] << ": got " << got << " want " << want[c];
      defined[c] += is_null(got) ? 0 : 1;
    }
  }
  for (int c = 0; c < 8; ++c) EXPECT_GT(defined[c], 0u) << "column " << c << " never defined";
}

TEST(ActivityFamily, ColumnsInSpecOrder) {
  auto engine = PairEngine::create(Pair{Currency::EUR, Currency::USD}, 1.0, {"activity"});
  ASSERT_TRUE(engine.ok());
  const std::vector<std::string> want = {"activity_vol_z_15",        "activity_vol_z_60",  "activity_vol_z_240",
                                         "activity_vol_ratio_15_240", "activity_bars_last_60min",
                                         "activity_range_z_60",      "activity_spread_bp", "activity_spread_z_60"};
  const std::vector<int> lookback = {14, 59, 239, 239, 0, 59, 0, 59};
  ASSERT_EQ(engine->width(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(engine->columns()[i].name, want[i]);
    EXPECT_EQ(engine->columns()[i].lookback, lookback[i]) << want[i];
    EXPECT_TRUE(engine->columns()[i].exact_lookback);
  }
}

TEST(ActivityFamily, MatchesNaiveReferenceOnRandomWalk) { check_against_reference(testing_frames::random_walk_frame(3000, 21)); }

TEST(ActivityFamily, MatchesNaiveReferenceWithMissingAndFlatStretches) {
  BarFrame f = testing_frames::random_walk_frame(3000, 22);
  // Missing volume at a few rows; missing bid/ask at others; one-sided bid/ask.
  for (size_t i : {300u, 301u, 1200u}) f.volume[i] = kNull;
  for (size_t i : {500u, 1500u}) f.bid[i] = kNull;
  f.ask[1700] = kNull;
  // A constant-volume stretch (flat windows for 15 and 60), a long all-zero stretch
  // (HistData-like: vol_z and the ratio NULL), a flat-range stretch and a flat spread.
  for (size_t i = 600; i < 700; ++i) f.volume[i] = 7;
  for (size_t i = 2000; i < 2300; ++i) f.volume[i] = 0;
  for (size_t i = 900; i < 980; ++i) {
    f.open[i] = f.close[i] = 1.08;
    f.high[i] = 1.0801;
    f.low[i] = 1.0799;
    f.bid[i] = 1.08;
    f.ask[i] = 1.08015;
  }
  check_against_reference(f);
  const Rows r = run_activity(f);
  // Spot checks of the NULL rules.
  EXPECT_TRUE(is_null(r.at(300, "activity_vol_z_15")));
  EXPECT_TRUE(is_null(r.at(314, "activity_vol_z_15")));   // NaN at 301 still in the window
  EXPECT_FALSE(is_null(r.at(316, "activity_vol_z_15")));  // window 302..316 clean
  EXPECT_TRUE(is_null(r.at(699, "activity_vol_z_60")));   // 60 sevens
  EXPECT_TRUE(is_null(r.at(2299, "activity_vol_ratio_15_240")));  // 240 zeros
  EXPECT_TRUE(is_null(r.at(2299, "activity_vol_z_240")));
  EXPECT_FALSE(is_null(r.at(2200, "activity_vol_ratio_15_240")));  // window still has non-zero volume
  EXPECT_EQ(r.at(2200, "activity_vol_ratio_15_240"), 0.0);          // mean 15 = 0 is a defined 0 ratio
  EXPECT_TRUE(is_null(r.at(979, "activity_range_z_60")));
  EXPECT_TRUE(is_null(r.at(979, "activity_spread_z_60")));
  EXPECT_TRUE(is_null(r.at(1700, "activity_spread_bp")));
  EXPECT_TRUE(is_null(r.at(1759, "activity_spread_z_60")));
  EXPECT_FALSE(is_null(r.at(1760, "activity_spread_z_60")));
}

TEST(ActivityFamily, HistDataZeroVolumeIsNull) {
  BarFrame f = testing_frames::random_walk_frame(600, 23);
  for (auto& v : f.volume) v = 0;
  const Rows r = run_activity(f);
  for (size_t t = 0; t < f.size(); ++t) {
    EXPECT_TRUE(is_null(r.at(t, "activity_vol_z_15")));
    EXPECT_TRUE(is_null(r.at(t, "activity_vol_z_60")));
    EXPECT_TRUE(is_null(r.at(t, "activity_vol_z_240")));
    EXPECT_TRUE(is_null(r.at(t, "activity_vol_ratio_15_240")));
  }
}

TEST(ActivityFamily, NoVolumeNoBidAskIsNull) {
  BarFrame f = testing_frames::random_walk_frame(400, 24);
  for (size_t i = 0; i < f.size(); ++i) f.volume[i] = f.bid[i] = f.ask[i] = kNull;
  const Rows r = run_activity(f);
  for (size_t t = 0; t < f.size(); ++t) {
    for (const char* c : {"activity_vol_z_15", "activity_vol_z_60", "activity_vol_z_240", "activity_vol_ratio_15_240",
                          "activity_spread_bp", "activity_spread_z_60"}) {
      EXPECT_TRUE(is_null(r.at(t, c))) << c << " row " << t;
    }
    EXPECT_FALSE(is_null(r.at(t, "activity_bars_last_60min")));
  }
  EXPECT_FALSE(is_null(r.at(59, "activity_range_z_60")));
}

TEST(ActivityFamily, GoldenValues) {
  BarFrame f;
  f.pair = Pair{Currency::EUR, Currency::USD};
  const EpochMinute t0 = make_epoch_minute(2024, 7, 1, 0, 0);
  // Volumes 1..15 at consecutive minutes; the 15-row window at row 14 has mean 8 and
  // sum of squared deviations 2*(1+4+...+49) = 280, so std = sqrt(280/14) = sqrt(20) and
  // z = (15 - 8)/sqrt(20) = 1.565247584249852...
  for (int i = 0; i < 15; ++i) f.push_back(Bar{t0 + i, 1.0, 1.0002, 0.9999, 1.0, double(i + 1), 1.0, 1.0002});
  // Rows 15.. at t0+30, t0+59, t0+60, t0+74, t0+200 test bars_last_60min's (t-60, t] window.
  for (EpochMinute dt : {30, 59, 60, 74, 200}) f.push_back(Bar{t0 + dt, 1.0, 1.0002, 0.9999, 1.0, 5, 1.0, 1.0002});
  const Rows r = run_activity(f);
  EXPECT_TRUE(is_null(r.at(13, "activity_vol_z_15")));
  EXPECT_NEAR(r.at(14, "activity_vol_z_15"), 7.0 / std::sqrt(20.0), 1e-14);
  // spread: ask - bid = 0.0002, mid = 1.0001 -> 0.0002/1.0001*1e4 = 1.99980001999800...
  EXPECT_NEAR(r.at(0, "activity_spread_bp"), 2.0 / 1.0001, 1e-12);
  // bars_last_60min: row 0 -> 1; row 14 (t0+14) -> 15; row 15 (t0+30) -> 16; row 16 (t0+59) -> 17;
  // row 17 (t0+60): t0 leaves (t0, t0+60] -> 17; row 18 (t0+74): t0..t0+14 all left -> 4
  // (t0+30, t0+59, t0+60, t0+74); row 19 (t0+200) -> 1.
  const double want[] = {1, 15, 16, 17, 17, 4, 1};
  const size_t rows[] = {0, 14, 15, 16, 17, 18, 19};
  for (size_t k = 0; k < 7; ++k) EXPECT_EQ(r.at(rows[k], "activity_bars_last_60min"), want[k]) << rows[k];
}

}  // namespace
}  // namespace bqx
