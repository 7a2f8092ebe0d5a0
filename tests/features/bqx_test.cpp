// bqx family (FEATURES.md 1.1) against a plain numpy-style reference that recomputes
// every past window from scratch in long double, plus hand-computed golden values and
// flat-window behaviour.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "engine/pair_engine.h"
#include "features/families.h"
#include "test_frames.h"

namespace bqx {
namespace {

using features::is_null;
using LD = long double;

constexpr int kWindows[] = {15, 30, 45, 60, 75};

struct Table {
  size_t rows = 0;
  std::map<std::string, std::vector<double>> col;
  const std::vector<double>& operator[](const std::string& name) const {
    auto it = col.find(name);
    EXPECT_NE(it, col.end()) << name;
    static const std::vector<double> empty;
    return it == col.end() ? empty : it->second;
  }
};

Table run(const BarFrame& frame, double baseline) {
  std::vector<features::ColumnInfo> cols;
  auto out = compute_pair_features(frame, baseline, {"bqx"}, &cols);
  EXPECT_TRUE(out.ok());
  Table t;
  t.rows = frame.size();
  for (size_t c = 0; c < cols.size(); ++c) {
    auto& v = t.col[cols[c].name];
    v.resize(t.rows);
    for (size_t r = 0; r < t.rows; ++r) v[r] = (*out)[r * cols.size() + c];
  }
  return t;
}

BarFrame frame_from_x(const std::vector<double>& x) {
  BarFrame f;
  f.pair = Pair{Currency::EUR, Currency::USD};
  EpochMinute t = make_epoch_minute(2024, 7, 1, 0, 0);
  for (double v : x) f.push_back(Bar{t++, v, v, v, v, 10, v, v});
  return f;
}

// numpy-style reference over P = x[t-W .. t-1] (current bar excluded).
struct Ref {
  LD ret, endpoint, max, min, avg, stdev;
};
Ref reference(const std::vector<double>& x, size_t t, int w) {
  Ref r{};
  const size_t n = static_cast<size_t>(w);
  LD sum = 0, sumdiff = 0;
  r.max = r.min = x[t - n];
  for (size_t i = 1; i <= n; ++i) {
    sum += x[t - i];
    sumdiff += (static_cast<LD>(x[t - i]) - x[t]) / x[t];
    r.max = std::max<LD>(r.max, x[t - i]);
    r.min = std::min<LD>(r.min, x[t - i]);
  }
  r.ret = sumdiff;
  r.endpoint = (static_cast<LD>(x[t - n]) - x[t]) / x[t];
  r.avg = sum / n;
  LD m2 = 0;
  for (size_t i = 1; i <= n; ++i) m2 += (x[t - i] - r.avg) * (x[t - i] - r.avg);
  r.stdev = std::sqrt(m2 / (n - 1));
  return r;
}

struct Worst {
  double ratio = 0;
  std::string where;
  void add(double got, LD want, double rel, LD abs, const std::string& name, size_t row) {
    const LD tol = rel * std::fabs(want) + abs;
    const LD e = std::fabs(static_cast<LD>(got) - want);
    const double q = static_cast<double>(tol > 0 ? e / tol : (e > 0 ? INFINITY : 0));
    if (!(q <= ratio)) {
      ratio = std::isnan(q) ? INFINITY : q;
      char buf[160];
      std::snprintf(buf, sizeof buf, " row %zu got %.17g want %.17Lg", row, got, want);
      where = name + buf;
    }
  }
};

// All 32 columns against the reference: 1e-9 relative, or near zero 1e-12 absolute for
// fractions and 1e-12 * x_t for index-point columns.
void check_against_reference(const std::vector<double>& x, const Table& tab) {
  std::map<std::string, Worst> worst;
  for (int w : kWindows) {
    const std::string p = "bqx_w" + std::to_string(w) + "_";
    for (size_t t = 0; t < x.size(); ++t) {
      if (t < static_cast<size_t>(w)) {
        for (const char* c : {"return", "endpoint", "max", "min", "avg", "stdev"}) {
          ASSERT_TRUE(is_null(tab[p + c][t])) << p << c << " row " << t;
        }
        continue;
      }
      const Ref r = reference(x, t, w);
      worst[p + "return"].add(tab[p + "return"][t], r.ret, 1e-9, 1e-12L, p + "return", t);
      worst[p + "endpoint"].add(tab[p + "endpoint"][t], r.endpoint, 1e-9, 1e-12L, p + "endpoint", t);
      ASSERT_EQ(tab[p + "max"][t], static_cast<double>(r.max)) << p << t;
      ASSERT_EQ(tab[p + "min"][t], static_cast<double>(r.min)) << p << t;
      worst[p + "avg"].add(tab[p + "avg"][t], r.avg, 1e-9, 1e-12L * x[t], p + "avg", t);
      worst[p + "stdev"].add(tab[p + "stdev"][t], r.stdev, 1e-9, 1e-12L * x[t], p + "stdev", t);
      if (w == 75) {
        worst["agg_range"].add(tab["bqx_agg_range"][t], (r.max - r.min) / x[t], 1e-9, 1e-12L, "agg_range", t);
        worst["agg_volatility"].add(tab["bqx_agg_volatility"][t], r.stdev / x[t], 1e-9, 1e-12L, "agg_volatility", t);
      }
    }
  }
  for (size_t t = 0; t < 75; ++t) {
    ASSERT_TRUE(is_null(tab["bqx_agg_range"][t]));
    ASSERT_TRUE(is_null(tab["bqx_agg_volatility"][t]));
  }
  for (const auto& [name, wst] : worst) EXPECT_LE(wst.ratio, 1.0) << name << ": " << wst.where;
}

TEST(Bqx, ColumnOrder) {
  const auto def = features::make_bqx_family();
  ASSERT_EQ(def.columns.size(), 32u);
  size_t i = 0;
  for (int w : kWindows) {
    for (const char* c : {"return", "endpoint", "max", "min", "avg", "stdev"}) {
      EXPECT_EQ(def.columns[i].name, "bqx_w" + std::to_string(w) + "_" + c);
      EXPECT_EQ(def.columns[i].lookback, w);
      ++i;
    }
  }
  EXPECT_EQ(def.columns[30].name, "bqx_agg_range");
  EXPECT_EQ(def.columns[31].name, "bqx_agg_volatility");
}

TEST(Bqx, MatchesNaiveReferenceOnRandomWalk) {
  const BarFrame f = testing_frames::random_walk_frame(3000, 21);
  const double baseline = f.close[0];
  std::vector<double> x(f.size());
  for (size_t i = 0; i < f.size(); ++i) x[i] = f.close[i] * (100.0 / baseline);
  check_against_reference(x, run(f, baseline));
}

TEST(Bqx, MatchesNaiveReferenceOnJpyLevels) {
  const BarFrame f = testing_frames::random_walk_frame(2000, 22, 151.3, Pair{Currency::USD, Currency::JPY});
  const double baseline = f.close[0] * 0.97;  // index not starting at exactly 100
  std::vector<double> x(f.size());
  for (size_t i = 0; i < f.size(); ++i) x[i] = f.close[i] * (100.0 / baseline);
  check_against_reference(x, run(f, baseline));
}

// Hand-computed: x_t = 100 + t (baseline 100 => x = close), so x_20 = 120 and at
// t = 20, W = 15 the past window is P = x_5..x_19 = 105..119 (mean 112):
//   return   = sum_{i=1..15} (x_{20-i} - 120)/120 = 15*(112 - 120)/120 = -1
//   endpoint = (x_5 - 120)/120 = (105 - 120)/120 = -0.125
//   max 119, min 105, avg 112, stdev = sqrt(sum_{j=-7..7} j^2 / 14) = sqrt(280/14) = sqrt(20).
TEST(Bqx, GoldenLinearRamp) {
  std::vector<double> x(100);
  for (size_t t = 0; t < x.size(); ++t) x[t] = 100.0 + static_cast<double>(t);
  const Table tab = run(frame_from_x(x), 100.0);
  EXPECT_NEAR(tab["bqx_w15_return"][20], -1.0, 1e-15);
  EXPECT_NEAR(tab["bqx_w15_endpoint"][20], -0.125, 1e-15);
  EXPECT_EQ(tab["bqx_w15_max"][20], 119.0);
  EXPECT_EQ(tab["bqx_w15_min"][20], 105.0);
  EXPECT_NEAR(tab["bqx_w15_avg"][20], 112.0, 1e-13);
  EXPECT_NEAR(tab["bqx_w15_stdev"][20], std::sqrt(20.0), 1e-12);
  // t = 80, W = 75: P = 105..179, range 74, x_t = 180: agg_range = 74/180;
  // stdev of 75 consecutive integers = sqrt(75*76/12) = sqrt(475).
  EXPECT_NEAR(tab["bqx_agg_range"][80], 74.0 / 180.0, 1e-15);
  EXPECT_NEAR(tab["bqx_agg_volatility"][80], std::sqrt(475.0) / 180.0, 1e-14);
}

// Flat stretch after a move: once the past window is constant, return/endpoint are 0
// and max = min = the level.
std::vector<double> ramp_then_flat() {
  std::vector<double> x;
  for (int t = 0; t < 200; ++t) x.push_back(100.0 + 0.001 * t);  // ramp to 100.199
  for (int t = 0; t < 300; ++t) x.push_back(101.37);              // flat
  return x;
}

TEST(Bqx, FlatWindowAfterAMove) {
  const auto x = ramp_then_flat();
  const Table tab = run(frame_from_x(x), 100.0);
  for (int w : kWindows) {
    const std::string p = "bqx_w" + std::to_string(w) + "_";
    for (size_t t = 200 + static_cast<size_t>(w); t < x.size(); ++t) {
      ASSERT_EQ(tab[p + "max"][t], 101.37);
      ASSERT_EQ(tab[p + "min"][t], 101.37);
      ASSERT_NEAR(tab[p + "avg"][t], 101.37, 1e-12 * 101.37) << p << t;
      ASSERT_NEAR(tab[p + "return"][t], 0.0, 1e-12) << p << t;
      ASSERT_EQ(tab[p + "endpoint"][t], 0.0) << p << t;
    }
  }
  for (size_t t = 275; t < x.size(); ++t) ASSERT_EQ(tab["bqx_agg_range"][t], 0.0);
}

// DISABLED: documents a defect of RollingMoments (src/features/rolling.h), reported to
// the lead rather than fixed here. For a flat window whose level differs from the shift
// reference (the value at the last re-anchoring, up to W-1 rows old), m2() =
// s2 - s1^2/n is a rounding residue of about eps*n*(x - ref)^2 instead of 0, so
// bqx_w15_stdev at row 215 is 3.98e-9 (not 0; 39x the 1e-12*x_t near-zero tolerance)
// and stays so until the next re-anchoring. The same noise reaches
// bqx_agg_volatility. Enable once m2() has a scale-aware zero floor (e.g. m2 <=
// 16*W*eps*s2 -> 0) or the window is recognised as flat.
TEST(Bqx, FlatWindowStdevIsZero) {
  const auto x = ramp_then_flat();
  const Table tab = run(frame_from_x(x), 100.0);
  check_against_reference(x, tab);
  for (int w : kWindows) {
    const std::string p = "bqx_w" + std::to_string(w) + "_";
    for (size_t t = 200 + static_cast<size_t>(w); t < x.size(); ++t) {
      ASSERT_NEAR(tab[p + "stdev"][t], 0.0, 1e-12 * 101.37) << p << t;
    }
  }
  for (size_t t = 275; t < x.size(); ++t) ASSERT_NEAR(tab["bqx_agg_volatility"][t], 0.0, 1e-12);
}

}  // namespace
}  // namespace bqx
