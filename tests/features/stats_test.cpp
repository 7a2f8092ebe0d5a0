// stats_rate (FEATURES.md 1.6) and stats_bqx (1.7): every column against a naive
// recompute-the-window reference written out below with numpy/scipy definitions in long
// double; hand-computed golden values; flat-window NULL rules; bounds; and the shared
// primitives (stats_moments.h, stats_rank.h, stats_sorted_window.h) against brute force.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <limits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine/pair_engine.h"
#include "features/families.h"
#include "features/registry.h"
#include "features/stats_moments.h"
#include "features/stats_rank.h"
#include "features/stats_sorted_window.h"
#include "test_frames.h"

namespace bqx {
namespace {

using features::kNull;
using LD = long double;
const LD kNaNL = std::numeric_limits<LD>::quiet_NaN();

constexpr int kWindows[] = {15, 30, 60, 120, 240, 480, 1440};
const char* const kRateStats[] = {"ret_mean",      "ret_std",        "ret_skew",         "ret_kurt",
                                  "price_z",       "price_pctrank",  "dist_high",        "dist_low",
                                  "ret_autocorr1", "parkinson_vol",  "garman_klass_vol", "efficiency_ratio",
                                  "up_fraction"};
const char* const kBqxStats[] = {"mean", "std", "skew", "kurt", "z", "pctrank", "min", "max", "autocorr1"};

// ---------------------------------------------------------------------------------------
// Naive references (numpy / scipy definitions, two-pass, long double).

LD ref_mean(const std::vector<LD>& v) {
  LD s = 0;
  for (LD a : v) s += a;
  return s / static_cast<LD>(v.size());
}
// Population central moments m_k = mean((v - mean v)^k), k = 2..4 (two-pass).
struct RefMoments {
  LD mean = 0, m2 = 0, m3 = 0, m4 = 0;
};
RefMoments ref_moments(const std::vector<LD>& v) {
  RefMoments m;
  m.mean = ref_mean(v);
  for (LD a : v) {
    const LD d = a - m.mean, d2 = d * d;
    m.m2 += d2;
    m.m3 += d2 * d;
    m.m4 += d2 * d2;
  }
  const LD n = static_cast<LD>(v.size());
  m.m2 /= n;
  m.m3 /= n;
  m.m4 /= n;
  return m;
}
LD ref_central(const std::vector<LD>& v, int k) {
  const RefMoments m = ref_moments(v);
  return k == 2 ? m.m2 : k == 3 ? m.m3 : m.m4;
}
// numpy.std(ddof=1).
LD ref_std1(const std::vector<LD>& v) {
  const LD n = static_cast<LD>(v.size());
  return std::sqrt(ref_moments(v).m2 * n / (n - 1));
}
// scipy.stats.skew(bias=True): m3 / m2^1.5; NULL when m2 == 0.
LD ref_skew(const std::vector<LD>& v) {
  const RefMoments m = ref_moments(v);
  if (m.m2 == 0) return kNaNL;
  return m.m3 / (m.m2 * std::sqrt(m.m2));
}
// scipy.stats.kurtosis(fisher=True, bias=True): m4 / m2^2 - 3; NULL when m2 == 0.
LD ref_kurt(const std::vector<LD>& v) {
  const RefMoments m = ref_moments(v);
  if (m.m2 == 0) return kNaNL;
  return m.m4 / (m.m2 * m.m2) - 3;
}
// pandas Series.autocorr(1) = numpy.corrcoef(v[:-1], v[1:])[0, 1]; NULL when a leg is flat.
LD ref_autocorr1(const std::vector<LD>& v) {
  std::vector<LD> a(v.begin(), v.end() - 1), b(v.begin() + 1, v.end());
  const LD ma = ref_mean(a), mb = ref_mean(b);
  LD saa = 0, sbb = 0, sab = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
    sab += (a[i] - ma) * (b[i] - mb);
  }
  if (saa == 0 || sbb == 0) return kNaNL;
  return sab / std::sqrt(saa * sbb);
}
LD ref_pctrank(const std::vector<LD>& v, LD x) {
  size_t c = 0;
  for (LD a : v) c += a <= x ? 1 : 0;
  return static_cast<LD>(c) / static_cast<LD>(v.size());
}

// Collects comparisons; reports the first few failures with their row and column.
class Checker {
 public:
  void check(double got, LD want, double abs_tol, const std::string& what, size_t row) {
    ++compared_;
    if (std::isnan(static_cast<double>(want))) {
      ++nulls_;
      if (!std::isnan(got)) fail(what, row, got, want);
      return;
    }
    ++values_;
    const LD tol = 1e-9L * std::fabs(want) + abs_tol;
    if (std::isnan(got) || std::fabs(static_cast<LD>(got) - want) > tol) fail(what, row, got, want);
  }
  size_t failures() const { return failures_; }
  size_t values() const { return values_; }
  size_t nulls() const { return nulls_; }

 private:
  void fail(const std::string& what, size_t row, double got, LD want) {
    if (++failures_ <= 10) {
      ADD_FAILURE() << what << " row " << row << ": got " << got << " want " << static_cast<double>(want);
    }
  }
  size_t compared_ = 0, values_ = 0, nulls_ = 0, failures_ = 0;
};

// One engine run over a frame.
struct EngineRun {
  std::vector<double> out;
  std::vector<features::ColumnInfo> cols;
  size_t width = 0;
  std::map<std::string, size_t> index;
  double at(size_t row, const std::string& name) const { return out[row * width + index.at(name)]; }
};

EngineRun run_engine(const BarFrame& f, double baseline, const std::vector<std::string>& families) {
  EngineRun r;
  auto e = PairEngine::create(f.pair, baseline, families);
  EXPECT_TRUE(e.ok());
  e->run(f, 0, f.size(), r.out);
  r.cols = e->columns();
  r.width = e->width();
  for (size_t c = 0; c < r.cols.size(); ++c) r.index[r.cols[c].name] = c;
  return r;
}

std::string rate_name(const char* stat, int w) { return std::string("stats_rate_") + stat + "_" + std::to_string(w); }
std::string bqx_name(const char* stat, int w) { return std::string("stats_bqx_") + stat + "_" + std::to_string(w); }

// Absolute tolerance near zero: quantities on the scale of a return (~1e-4) get 1e-15,
// dimensionless O(1) ones 1e-12.
double rate_abs_tol(int k) {
  switch (k) {
    case 0: case 1: case 6: case 7: case 9: case 10: return 1e-15;
    default: return 1e-12;
  }
}

// The 13 stats_rate values at row t for window W, written out from FEATURES.md 1.6.
std::vector<LD> rate_reference(const BarFrame& f, double baseline, size_t t, int wi) {
  const size_t w = static_cast<size_t>(wi);
  const double scale = 100.0 / baseline;  // x exactly as the engine scales it
  auto x = [&](size_t i) { return static_cast<LD>(f.close[i] * scale); };
  auto r = [&](size_t i) { return std::log(static_cast<LD>(f.close[i]) / static_cast<LD>(f.close[i - 1])); };
  std::vector<LD> out(13, kNaNL);
  if (t + 1 >= w) {  // bar window t-W+1..t
    std::vector<LD> xs;
    LD pk = 0, gk = 0, hi = -1, lo = 1e300L;
    for (size_t i = t + 1 - w; i <= t; ++i) {
      xs.push_back(x(i));
      const LD lhl = std::log(static_cast<LD>(f.high[i]) / static_cast<LD>(f.low[i]));
      const LD lco = std::log(static_cast<LD>(f.close[i]) / static_cast<LD>(f.open[i]));
      pk += lhl * lhl;
      gk += 0.5L * lhl * lhl - (2 * std::log(2.0L) - 1) * lco * lco;
      hi = std::max<LD>(hi, f.high[i]);
      lo = std::min<LD>(lo, f.low[i]);
    }
    const LD n = static_cast<LD>(w);
    const LD sd = ref_std1(xs);
    out[4] = sd == 0 ? kNaNL : (x(t) - ref_mean(xs)) / sd;
    out[5] = ref_pctrank(xs, x(t));
    out[6] = (hi - f.close[t]) / static_cast<LD>(f.close[t]);
    out[7] = (static_cast<LD>(f.close[t]) - lo) / static_cast<LD>(f.close[t]);
    out[9] = std::sqrt(pk / (4 * std::log(2.0L) * n));
    out[10] = gk < 0 ? kNaNL : std::sqrt(gk / n);
  }
  if (t >= w) {  // return window r_{t-W+1}..r_t, efficiency x_{t-W}..x_t
    std::vector<LD> rs;
    LD sum_adx = 0;
    size_t up = 0;
    for (size_t i = t + 1 - w; i <= t; ++i) {
      rs.push_back(r(i));
      sum_adx += std::fabs(x(i) - x(i - 1));
      up += r(i) > 0 ? 1 : 0;
    }
    const RefMoments m = ref_moments(rs);
    const LD n = static_cast<LD>(w);
    out[0] = m.mean;
    out[1] = std::sqrt(m.m2 * n / (n - 1));                                  // ddof 1
    out[2] = m.m2 == 0 ? kNaNL : m.m3 / (m.m2 * std::sqrt(m.m2));            // g1
    out[3] = m.m2 == 0 ? kNaNL : m.m4 / (m.m2 * m.m2) - 3;                   // excess
    out[8] = ref_autocorr1(rs);
    out[11] = sum_adx == 0 ? kNaNL : std::fabs(x(t) - x(t - w)) / sum_adx;
    out[12] = static_cast<LD>(up) / static_cast<LD>(w);
  }
  return out;
}

void check_rate_against_reference(const BarFrame& f, double baseline, size_t min_values) {
  const EngineRun run = run_engine(f, baseline, {"stats_rate"});
  ASSERT_EQ(run.width, 91u);
  Checker ck;
  for (size_t t = 0; t < f.size(); ++t) {
    for (int w : kWindows) {
      const auto want = rate_reference(f, baseline, t, w);
      for (int k = 0; k < 13; ++k) {
        const std::string name = rate_name(kRateStats[k], w);
        ck.check(run.at(t, name), want[k], rate_abs_tol(k), name, t);
      }
    }
  }
  EXPECT_EQ(ck.failures(), 0u);
  EXPECT_GE(ck.values(), min_values);  // the comparison really compared numbers
}

// Random walk with two flat stretches: [1000, 2600) bars with o = h = l = c (everything
// flat, long enough to flatten even the 1440 windows), and [3000, 3100) where the close is
// constant but the bar still has a range (flat returns, non-zero Parkinson).
BarFrame frame_with_flat_stretches(size_t n, uint64_t seed) {
  BarFrame f = testing_frames::random_walk_frame(n, seed);
  const double c0 = f.close[999];
  for (size_t i = 1000; i < 2600; ++i) f.open[i] = f.high[i] = f.low[i] = f.close[i] = c0;
  const double c1 = f.close[2999];
  for (size_t i = 3000; i < 3100; ++i) {
    f.open[i] = f.close[i] = c1;
    f.high[i] = c1 + 0.00002;
    f.low[i] = c1 - 0.00001;
  }
  return f;
}

// ---------------------------------------------------------------------------------------
// Catalogue shape.

TEST(StatsRate, ColumnsNamesOrderAndLookbacks) {
  const auto def = features::make_stats_rate_family();
  ASSERT_EQ(def.columns.size(), 91u);  // FEATURES.md section 5
  size_t i = 0;
  for (int w : kWindows) {
    for (int k = 0; k < 13; ++k, ++i) {
      const auto& c = def.columns[i];
      EXPECT_EQ(c.name, rate_name(kRateStats[k], w));
      EXPECT_EQ(c.family, "stats_rate");
      const bool price = k == 4 || k == 5 || k == 6 || k == 7 || k == 9 || k == 10;
      EXPECT_EQ(c.lookback, price ? w - 1 : w) << c.name;
      EXPECT_TRUE(c.exact_lookback);
    }
  }
  // Names other families rely on (FEATURES.md 3.1, 3.2).
  std::vector<std::string> names;
  for (const auto& c : def.columns) names.push_back(c.name);
  for (const char* n : {"stats_rate_ret_std_60", "stats_rate_ret_std_15", "stats_rate_ret_std_240",
                        "stats_rate_ret_std_1440", "stats_rate_efficiency_ratio_60"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
}

TEST(StatsBqx, ColumnsNamesOrderAndLookbacks) {
  const auto def = features::make_stats_bqx_family();
  ASSERT_EQ(def.columns.size(), 63u);
  ASSERT_EQ(def.inputs, std::vector<std::string>{"bqx_w15_return"});
  size_t i = 0;
  for (int w : kWindows) {
    for (int k = 0; k < 9; ++k, ++i) {
      EXPECT_EQ(def.columns[i].name, bqx_name(kBqxStats[k], w));
      EXPECT_EQ(def.columns[i].lookback, w - 1 + 15) << def.columns[i].name;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Naive reference, every column, every row.

TEST(StatsRate, MatchesNaiveReferenceEurusd) {
  const BarFrame f = testing_frames::random_walk_frame(4000, 3);
  check_rate_against_reference(f, f.close[0], 4000 * 91 / 2);
}

TEST(StatsRate, MatchesNaiveReferenceUsdjpyLevel) {
  const BarFrame f = testing_frames::random_walk_frame(3500, 5, 150.0, Pair{Currency::USD, Currency::JPY});
  check_rate_against_reference(f, 149.0, 3500 * 91 / 3);
}

TEST(StatsRate, MatchesNaiveReferenceWithFlatStretches) {
  const BarFrame f = frame_with_flat_stretches(4200, 9);
  check_rate_against_reference(f, f.close[0], 4200 * 91 / 3);
}

TEST(StatsRate, FlatWindowsGiveDocumentedNulls) {
  const BarFrame f = frame_with_flat_stretches(4200, 9);
  const EngineRun run = run_engine(f, f.close[0], {"stats_rate"});
  const size_t t = 2599;  // bars 1000..2599 flat: every window (W <= 1440 returns) is flat
  for (int w : kWindows) {
    auto v = [&](const char* s) { return run.at(t, rate_name(s, w)); };
    EXPECT_EQ(v("ret_mean"), 0.0) << w;
    EXPECT_EQ(v("ret_std"), 0.0) << w;  // defined: a flat window has zero dispersion
    EXPECT_TRUE(std::isnan(v("ret_skew"))) << w;
    EXPECT_TRUE(std::isnan(v("ret_kurt"))) << w;
    EXPECT_TRUE(std::isnan(v("price_z"))) << w;
    EXPECT_EQ(v("price_pctrank"), 1.0) << w;
    EXPECT_EQ(v("dist_high"), 0.0) << w;
    EXPECT_EQ(v("dist_low"), 0.0) << w;
    EXPECT_TRUE(std::isnan(v("ret_autocorr1"))) << w;
    EXPECT_EQ(v("parkinson_vol"), 0.0) << w;
    EXPECT_EQ(v("garman_klass_vol"), 0.0) << w;
    EXPECT_TRUE(std::isnan(v("efficiency_ratio"))) << w;
    EXPECT_EQ(v("up_fraction"), 0.0) << w;
  }
  // Constant close but a bar range (rows 3000..3099): the 15..60 return windows ending at
  // 3099 are flat, yet Parkinson is exactly the per-bar value (every bar has the same
  // range): sqrt(ln(h/l)^2 / (4 ln 2)).
  const double c1 = f.close[2999];
  const double lhl = std::log((c1 + 0.00002) / (c1 - 0.00001));
  for (int w : {15, 30, 60}) {
    EXPECT_TRUE(std::isnan(run.at(3099, rate_name("ret_skew", w))));
    EXPECT_EQ(run.at(3099, rate_name("ret_std", w)), 0.0);
    EXPECT_NEAR(run.at(3099, rate_name("parkinson_vol", w)), std::sqrt(lhl * lhl / (4 * std::log(2.0))), 1e-15);
    EXPECT_NEAR(run.at(3099, rate_name("garman_klass_vol", w)), std::sqrt(0.5 * lhl * lhl), 1e-15);
  }
}

TEST(StatsRate, BoundsAndIdentities) {
  const BarFrame f = testing_frames::random_walk_frame(4000, 21);
  const EngineRun run = run_engine(f, f.close[0], {"stats_rate"});
  size_t checked = 0;
  for (size_t t = 1440; t < f.size(); ++t) {
    for (int w : kWindows) {
      auto v = [&](const char* s) { return run.at(t, rate_name(s, w)); };
      EXPECT_GT(v("price_pctrank"), 0.0);
      EXPECT_LE(v("price_pctrank"), 1.0);
      EXPECT_GE(v("up_fraction"), 0.0);
      EXPECT_LE(v("up_fraction"), 1.0);
      EXPECT_GE(v("efficiency_ratio"), 0.0);
      EXPECT_LE(v("efficiency_ratio"), 1.0 + 1e-12);
      EXPECT_GE(std::fabs(v("ret_autocorr1")), 0.0);
      EXPECT_LE(std::fabs(v("ret_autocorr1")), 1.0 + 1e-12);
      EXPECT_GE(v("ret_kurt"), -2.0 - 1e-12);  // m4 >= m2^2
      EXPECT_GE(v("dist_high"), 0.0);
      EXPECT_GE(v("dist_low"), 0.0);
      EXPECT_GE(v("ret_std"), 0.0);
      EXPECT_GE(v("parkinson_vol"), 0.0);
      // Garman-Klass terms are >= 0 for consistent OHLC (|ln h/l| >= |ln c/o|), so never NULL here.
      EXPECT_FALSE(std::isnan(v("garman_klass_vol")));
      ++checked;
    }
  }
  EXPECT_EQ(checked, (f.size() - 1440) * 7);
}

// ---------------------------------------------------------------------------------------
// Golden values (hand-derived; the numbers were also checked with numpy 1.24 / scipy 1.10).

BarFrame frame_from_closes(const std::vector<double>& closes) {
  BarFrame f;
  f.pair = Pair{Currency::EUR, Currency::USD};
  EpochMinute t = make_epoch_minute(2024, 7, 1, 0, 0);
  for (double c : closes) f.push_back(Bar{t++, c, c, c, c, 1.0, c, c});
  return f;
}

TEST(StatsRate, GoldenRamp) {
  // closes 1, 2, ..., 16 with baseline 1: x = 100 * close exactly; rows 0..15.
  std::vector<double> closes;
  for (int k = 1; k <= 16; ++k) closes.push_back(k);
  const EngineRun run = run_engine(frame_from_closes(closes), 1.0, {"stats_rate"});
  // Row 14 (x = 100..1500): first row of the W=15 price stats. mean 800, std (ddof 1)
  // = 100 sqrt(sum_{k=1..15} (k-8)^2 / 14) = 100 sqrt(280/14) = 100 sqrt(20);
  // z = 700 / (100 sqrt 20) = 7/sqrt(20) = 1.5652475842498528. x_t is the max: pctrank 1.
  EXPECT_NEAR(run.at(14, "stats_rate_price_z_15"), 1.5652475842498528, 1e-14);
  EXPECT_EQ(run.at(14, "stats_rate_price_pctrank_15"), 1.0);
  EXPECT_TRUE(std::isnan(run.at(14, "stats_rate_ret_mean_15")));  // only 14 returns yet
  EXPECT_TRUE(std::isnan(run.at(13, "stats_rate_price_z_15")));
  // Row 15: returns r_1..r_15 = ln(k/(k-1)) telescope: mean = ln(16)/15 = 0.18483924814931874.
  EXPECT_NEAR(run.at(15, "stats_rate_ret_mean_15"), 0.18483924814931874, 1e-15);
  // Monotone path: |x_15 - x_0| = 1500 = sum |dx| -> efficiency 1; every return > 0.
  EXPECT_NEAR(run.at(15, "stats_rate_efficiency_ratio_15"), 1.0, 1e-15);
  EXPECT_EQ(run.at(15, "stats_rate_up_fraction_15"), 1.0);
  // o = h = l = c: no range, Parkinson and Garman-Klass exactly 0; close is the high and low.
  EXPECT_EQ(run.at(15, "stats_rate_parkinson_vol_15"), 0.0);
  EXPECT_EQ(run.at(15, "stats_rate_garman_klass_vol_15"), 0.0);
  EXPECT_NEAR(run.at(15, "stats_rate_dist_low_15"), (16.0 - 2.0) / 16.0, 1e-15);
  EXPECT_EQ(run.at(15, "stats_rate_dist_high_15"), 0.0);
}

TEST(StatsRate, GoldenSingleJump) {
  // closes: 1 at rows 0..14, 2 at row 15. At row 15 the 15 returns are 14 zeros and ln 2:
  // a scaled Bernoulli(p = 1/15) sample. Skewness and kurtosis are scale-free:
  //   g1 = (1 - 2p) / sqrt(p(1-p)) = (13/15) / (sqrt(14)/15) = 13/sqrt(14) = 3.474396144861517
  //   excess = (1 - 6p(1-p)) / (p(1-p)) = (225 - 84)/14 = 141/14 = 10.071428571428571
  //   mean = ln2/15 = 0.046209812037329684, std (ddof 1) = ln2 sqrt(p(1-p) 15/14) = ln2/sqrt(15)
  //   = 0.1789698324519529; up_fraction = 1/15; autocorr: the lagged leg r_1..r_14 is flat -> NULL.
  std::vector<double> closes(15, 1.0);
  closes.push_back(2.0);
  const EngineRun run = run_engine(frame_from_closes(closes), 1.0, {"stats_rate"});
  EXPECT_NEAR(run.at(15, "stats_rate_ret_skew_15"), 3.474396144861517, 1e-13);
  EXPECT_NEAR(run.at(15, "stats_rate_ret_kurt_15"), 10.071428571428571, 1e-12);
  EXPECT_NEAR(run.at(15, "stats_rate_ret_mean_15"), 0.046209812037329684, 1e-16);
  EXPECT_NEAR(run.at(15, "stats_rate_ret_std_15"), 0.1789698324519529, 1e-15);
  EXPECT_NEAR(run.at(15, "stats_rate_up_fraction_15"), 1.0 / 15.0, 1e-16);
  EXPECT_TRUE(std::isnan(run.at(15, "stats_rate_ret_autocorr1_15")));
  // |x_15 - x_0| = 100 = sum |dx|.
  EXPECT_NEAR(run.at(15, "stats_rate_efficiency_ratio_15"), 1.0, 1e-15);
  // Row 14: flat price window -> z NULL, pctrank 1.
  EXPECT_TRUE(std::isnan(run.at(14, "stats_rate_price_z_15")));
  EXPECT_EQ(run.at(14, "stats_rate_price_pctrank_15"), 1.0);
}

TEST(StatsRate, GoldenAlternating) {
  // closes alternate 1, 2, 1, 2, ...: r = -+ln2 alternately, every consecutive pair is
  // (+ln2, -ln2) or (-ln2, +ln2): autocorr1 = -1. W = 15 is odd, so |x_t - x_{t-15}| = 100
  // while sum |dx| = 15 * 100: efficiency 1/15. At a row with close 2 (x_t = 200 = max):
  // pctrank 1, and 8 of the last 15 returns are +ln2.
  std::vector<double> closes;
  for (int k = 0; k < 40; ++k) closes.push_back(k % 2 == 0 ? 1.0 : 2.0);
  const EngineRun run = run_engine(frame_from_closes(closes), 1.0, {"stats_rate"});
  const size_t t = 31;  // close 2
  EXPECT_NEAR(run.at(t, "stats_rate_ret_autocorr1_15"), -1.0, 1e-14);
  EXPECT_NEAR(run.at(t, "stats_rate_ret_autocorr1_30"), -1.0, 1e-14);
  EXPECT_NEAR(run.at(t, "stats_rate_efficiency_ratio_15"), 1.0 / 15.0, 1e-15);
  EXPECT_EQ(run.at(t, "stats_rate_price_pctrank_15"), 1.0);
  EXPECT_NEAR(run.at(t, "stats_rate_up_fraction_15"), 8.0 / 15.0, 1e-16);
  EXPECT_NEAR(run.at(t, "stats_rate_ret_mean_15"), std::log(2.0) / 15.0, 1e-15);
  // Row 30 (close 1, x_t = min): 8 of the 15 window prices are 100 -> pctrank 8/15.
  EXPECT_NEAR(run.at(30, "stats_rate_price_pctrank_15"), 8.0 / 15.0, 1e-16);
  // Even W = 30: x_t = x_{t-30}: efficiency 0 (defined, sum |dx| > 0).
  EXPECT_EQ(run.at(t, "stats_rate_efficiency_ratio_30"), 0.0);
}

TEST(StatsRate, GoldenParkinsonGarmanKlass) {
  // Every bar: open = close = 1.5, high = 2, low = 1. ln(h/l) = ln 2, ln(c/o) = 0.
  // Parkinson = sqrt(W ln2^2 / (4 ln2 W)) = sqrt(ln2 / 4) = 0.41627730557884884.
  // Garman-Klass = sqrt(0.5 ln2^2) = ln2/sqrt(2) = 0.49012907173427356.
  // dist_high = (2 - 1.5)/1.5 = 1/3, dist_low = (1.5 - 1)/1.5 = 1/3.
  BarFrame f;
  f.pair = Pair{Currency::EUR, Currency::USD};
  for (int k = 0; k < 20; ++k) f.push_back(Bar{make_epoch_minute(2024, 7, 1, 0, k), 1.5, 2.0, 1.0, 1.5, 1.0, 1.5, 1.5});
  const EngineRun run = run_engine(f, 1.5, {"stats_rate"});
  EXPECT_NEAR(run.at(14, "stats_rate_parkinson_vol_15"), 0.41627730557884884, 1e-15);
  EXPECT_NEAR(run.at(14, "stats_rate_garman_klass_vol_15"), 0.49012907173427356, 1e-15);
  EXPECT_NEAR(run.at(19, "stats_rate_dist_high_15"), 1.0 / 3.0, 1e-15);
  EXPECT_NEAR(run.at(19, "stats_rate_dist_low_15"), 1.0 / 3.0, 1e-15);
  EXPECT_TRUE(std::isnan(run.at(13, "stats_rate_parkinson_vol_15")));
}

// ---------------------------------------------------------------------------------------
// stats_bqx against the reference, on q read from the engine's bqx column.

std::vector<LD> bqx_reference(const std::vector<double>& q, size_t t, int wi) {
  const size_t w = static_cast<size_t>(wi);
  std::vector<LD> out(9, kNaNL);
  if (t + 1 < w) return out;
  std::vector<LD> v;
  for (size_t i = t + 1 - w; i <= t; ++i) {
    if (std::isnan(q[i])) return out;
    v.push_back(q[i]);
  }
  const LD sd = ref_std1(v);
  out[0] = ref_mean(v);
  out[1] = sd;
  out[2] = ref_skew(v);
  out[3] = ref_kurt(v);
  out[4] = sd == 0 ? kNaNL : (static_cast<LD>(q[t]) - ref_mean(v)) / sd;
  out[5] = ref_pctrank(v, q[t]);
  out[6] = *std::min_element(v.begin(), v.end());
  out[7] = *std::max_element(v.begin(), v.end());
  out[8] = ref_autocorr1(v);
  return out;
}

void check_bqx_against_reference(const BarFrame& f, double baseline) {
  const EngineRun run = run_engine(f, baseline, {"bqx", "stats_bqx"});
  ASSERT_EQ(run.width, 32u + 63u);
  std::vector<double> q(f.size());
  for (size_t t = 0; t < f.size(); ++t) q[t] = run.at(t, "bqx_w15_return");
  for (size_t t = 0; t < 15; ++t) ASSERT_TRUE(std::isnan(q[t]));
  ASSERT_FALSE(std::isnan(q[15]));
  Checker ck;
  for (size_t t = 0; t < f.size(); ++t) {
    for (int w : kWindows) {
      const auto want = bqx_reference(q, t, w);
      for (int k = 0; k < 9; ++k) {
        const std::string name = bqx_name(kBqxStats[k], w);
        // q ~ 1e-3: location/scale statistics get 1e-15 absolute near zero.
        const double abs_tol = (k == 0 || k == 1 || k == 6 || k == 7) ? 1e-15 : 1e-12;
        ck.check(run.at(t, name), want[k], abs_tol, name, t);
      }
    }
  }
  EXPECT_EQ(ck.failures(), 0u);
  EXPECT_GE(ck.values(), f.size() * 63 / 3);
}

TEST(StatsBqx, MatchesNaiveReference) {
  const BarFrame f = testing_frames::random_walk_frame(4000, 4);
  check_bqx_against_reference(f, f.close[0]);
}

TEST(StatsBqx, MatchesNaiveReferenceWithFlatStretches) {
  const BarFrame f = frame_with_flat_stretches(4200, 13);
  check_bqx_against_reference(f, f.close[0]);
}

// Drives the stats_bqx kernel directly with chosen q values (row slot 0 = bqx_w15_return).
struct BqxHarness {
  features::FamilyDef def = features::make_stats_bqx_family();
  features::ColumnLayout layout;
  std::unique_ptr<features::FamilyKernel> kernel;
  std::vector<double> row;
  BqxHarness() {
    layout.add("bqx_w15_return");
    for (const auto& c : def.columns) layout.add(c.name);
    kernel = def.make(features::KernelContext{1, &layout});
    row.assign(layout.size(), 0.0);
  }
  void push(double q) {
    std::fill(row.begin(), row.end(), 12345.0);  // stale garbage: every column must be written
    row[0] = q;
    kernel->update(features::BarInput{}, row.data());
  }
  double get(const std::string& name) const { return row[static_cast<size_t>(layout.index_of(name))]; }
};

TEST(StatsBqx, GoldenRampAndNullRows) {
  // q NULL for rows 0..14 (as bqx_w15_return), then q = 1, 2, ..., 15 at rows 15..29.
  // At row 29 (W = 15, lookback 14 + 15 = 29): mean 8, std (ddof 1) sqrt(280/14) = sqrt(20),
  // skew 0 (symmetric), excess kurtosis of the discrete uniform on 15 points
  // -6(n^2+1)/(5(n^2-1)) = -6*226/(5*224) = -1.2107142857142857, z = 7/sqrt(20),
  // pctrank 1, min 1, max 15, autocorr1 of a ramp = corr(1..14, 2..15) = 1.
  BqxHarness h;
  for (int t = 0; t < 15; ++t) {
    h.push(kNull);
    for (const auto& c : h.def.columns) EXPECT_TRUE(std::isnan(h.get(c.name))) << c.name << " row " << t;
  }
  for (int k = 1; k <= 14; ++k) h.push(k);
  EXPECT_TRUE(std::isnan(h.get("stats_bqx_mean_15")));  // row 28: 14 values
  h.push(15);
  EXPECT_NEAR(h.get("stats_bqx_mean_15"), 8.0, 1e-15);
  EXPECT_NEAR(h.get("stats_bqx_std_15"), std::sqrt(20.0), 1e-14);
  EXPECT_NEAR(h.get("stats_bqx_skew_15"), 0.0, 1e-14);
  EXPECT_NEAR(h.get("stats_bqx_kurt_15"), -1.2107142857142857, 1e-14);
  EXPECT_NEAR(h.get("stats_bqx_z_15"), 1.5652475842498528, 1e-14);
  EXPECT_EQ(h.get("stats_bqx_pctrank_15"), 1.0);
  EXPECT_EQ(h.get("stats_bqx_min_15"), 1.0);
  EXPECT_EQ(h.get("stats_bqx_max_15"), 15.0);
  EXPECT_NEAR(h.get("stats_bqx_autocorr1_15"), 1.0, 1e-14);
  EXPECT_TRUE(std::isnan(h.get("stats_bqx_mean_30")));
}

TEST(StatsBqx, ConstantQGivesDocumentedNulls) {
  for (double c : {0.0, 0.00123, -3.5e-4}) {
    BqxHarness h;
    for (int t = 0; t < 15; ++t) h.push(kNull);
    for (int t = 0; t < 3000; ++t) h.push(c);
    for (int w : kWindows) {
      EXPECT_EQ(h.get(bqx_name("mean", w)), c);
      EXPECT_EQ(h.get(bqx_name("std", w)), 0.0);
      EXPECT_TRUE(std::isnan(h.get(bqx_name("skew", w))));
      EXPECT_TRUE(std::isnan(h.get(bqx_name("kurt", w))));
      EXPECT_TRUE(std::isnan(h.get(bqx_name("z", w))));
      EXPECT_EQ(h.get(bqx_name("pctrank", w)), 1.0);
      EXPECT_EQ(h.get(bqx_name("min", w)), c);
      EXPECT_EQ(h.get(bqx_name("max", w)), c);
      EXPECT_TRUE(std::isnan(h.get(bqx_name("autocorr1", w))));
    }
  }
}

TEST(StatsBqx, BoundsAndIdentities) {
  const BarFrame f = testing_frames::random_walk_frame(3000, 8);
  const EngineRun run = run_engine(f, f.close[0], {"bqx", "stats_bqx"});
  for (size_t t = 1454; t < f.size(); ++t) {
    for (int w : kWindows) {
      auto v = [&](const char* s) { return run.at(t, bqx_name(s, w)); };
      EXPECT_LE(v("min"), v("mean") + 1e-18);
      EXPECT_LE(v("mean"), v("max") + 1e-18);
      const double q = run.at(t, "bqx_w15_return");
      EXPECT_LE(v("min"), q);
      EXPECT_GE(v("max"), q);
      EXPECT_GT(v("pctrank"), 0.0);
      EXPECT_LE(v("pctrank"), 1.0);
      EXPECT_LE(std::fabs(v("autocorr1")), 1.0 + 1e-12);
      EXPECT_GE(v("kurt"), -2.0 - 1e-12);
      // z identity: q_t = mean + z * std.
      EXPECT_NEAR(v("mean") + v("z") * v("std"), q, 1e-12 * std::fabs(q) + 1e-17);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Primitives against brute force.

TEST(StatsPrimitives, MomentsGolden) {
  // {1, 2, 3, 4, 10}: mean 4, deviations -3 -2 -1 0 6: M2 = 50, M3 = -27-8-1+216 = 180,
  // M4 = 81+16+1+1296 = 1394. g1 = (180/5)/(10^1.5) = 1.1384199576606167,
  // excess = (1394/5)/100 - 3 = -0.212.
  features::stats::Moments4 m;
  for (double v : {1.0, 2.0, 3.0, 4.0, 10.0}) features::stats::append(m, v);
  EXPECT_DOUBLE_EQ(m.mean(), 4.0);
  EXPECT_NEAR(m.m2, 50.0, 1e-13);
  EXPECT_NEAR(m.m3, 180.0, 1e-12);
  EXPECT_NEAR(m.m4, 1394.0, 1e-11);
  EXPECT_NEAR(features::stats::skew_g1(m), 1.1384199576606167, 1e-14);
  EXPECT_NEAR(features::stats::kurt_excess(m), -0.212, 1e-14);
  // Merging two halves in either grouping gives the same moments.
  features::stats::Moments4 a, b;
  for (double v : {1.0, 2.0}) a = features::stats::merge(a, features::stats::single4(v));
  for (double v : {3.0, 4.0, 10.0}) b = features::stats::merge(b, features::stats::single4(v));
  const auto ab = features::stats::merge(a, b);
  EXPECT_NEAR(ab.m3, 180.0, 1e-12);
  EXPECT_NEAR(ab.m4, 1394.0, 1e-11);
  // Built right to left with prepend (as the suffix blocks are).
  features::stats::Moments4 c;
  for (double v : {10.0, 4.0, 3.0, 2.0, 1.0}) c = features::stats::prepend(v, c);
  EXPECT_EQ(c.anchor, 1.0);
  EXPECT_NEAR(c.mean(), 4.0, 1e-15);
  EXPECT_NEAR(c.m2, 50.0, 1e-13);
  EXPECT_NEAR(c.m3, 180.0, 1e-12);
  EXPECT_NEAR(c.m4, 1394.0, 1e-11);
}

TEST(StatsPrimitives, BlockWindowMatchesBruteForceAndRestores) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (size_t w : {1u, 2u, 3u, 7u, 16u, 50u}) {
    features::stats::BlockWindow<features::stats::Moments4Op> bw(w);
    std::vector<double> hist;
    // Level shift + tiny noise stresses cancellation: values 1e3 + 1e-4 * N(0,1).
    for (int i = 0; i < 400; ++i) {
      const double v = (i % 97 < 40) ? 1e3 + 1e-4 * nd(rng) : 5.0 * nd(rng);
      bw.push(v);
      hist.push_back(v);
      const size_t n = std::min(hist.size(), w);
      std::vector<LD> win(hist.end() - static_cast<long>(n), hist.end());
      const auto m = bw.value();
      ASSERT_EQ(m.n, static_cast<double>(n));
      const LD want_mean = ref_mean(win), want_m2 = ref_central(win, 2) * static_cast<LD>(n);
      EXPECT_NEAR(m.mean(), static_cast<double>(want_mean), 1e-12 * std::fabs(static_cast<double>(want_mean)) + 1e-15);
      EXPECT_NEAR(m.m2, static_cast<double>(want_m2), 1e-9 * static_cast<double>(want_m2) + 1e-18) << w << " " << i;
      if (n >= 3 && want_m2 > 1e-20L) {
        const LD sk = ref_skew(win), ku = ref_kurt(win);
        EXPECT_NEAR(features::stats::skew_g1(m), static_cast<double>(sk), 1e-9 * std::fabs(static_cast<double>(sk)) + 1e-9);
        EXPECT_NEAR(features::stats::kurt_excess(m), static_cast<double>(ku), 1e-9 * std::fabs(static_cast<double>(ku)) + 1e-9);
      }
    }
    // Save mid-block, restore into a fresh window, continue: bit-identical.
    std::vector<uint8_t> bytes;
    features::StateWriter out(bytes);
    bw.save(out);
    features::stats::BlockWindow<features::stats::Moments4Op> restored(w);
    features::StateReader in(bytes.data(), bytes.size());
    restored.load(in);
    ASSERT_TRUE(in.ok() && in.at_end());
    for (int i = 0; i < 3 * static_cast<int>(w) + 5; ++i) {
      const double v = nd(rng);
      bw.push(v);
      restored.push(v);
      const auto x = bw.value(), y = restored.value();
      ASSERT_EQ(std::memcmp(&x, &y, sizeof x), 0);
    }
  }
}

TEST(StatsPrimitives, FlatBlockWindowIsExactlyZero) {
  // After a volatile stretch, W identical values give M2 == 0 exactly (no subtraction residue).
  features::stats::BlockWindow<features::stats::Moments4Op> bw(13);
  std::mt19937_64 rng(1);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (int i = 0; i < 100; ++i) bw.push(100 + nd(rng));
  for (int i = 0; i < 13; ++i) bw.push(101.37);
  for (int i = 0; i < 40; ++i) {
    const auto m = bw.value();
    EXPECT_EQ(m.m2, 0.0);
    EXPECT_EQ(m.m3, 0.0);
    EXPECT_EQ(m.m4, 0.0);
    EXPECT_EQ(m.mean(), 101.37);
    bw.push(101.37);
  }
}

TEST(StatsPrimitives, CoMomentsMatchBruteForce) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> nd(0.0, 1.0);
  const size_t w = 21;
  features::stats::BlockWindow<features::stats::CoMomentsOp> bw(w);
  std::vector<double> a, b;
  for (int i = 0; i < 300; ++i) {
    const double u = nd(rng), v = 0.3 * u + nd(rng);
    bw.push({u, v});
    a.push_back(u);
    b.push_back(v);
    if (a.size() < w) continue;
    LD ma = 0, mb = 0;
    for (size_t k = a.size() - w; k < a.size(); ++k) ma += a[k], mb += b[k];
    ma /= w, mb /= w;
    LD saa = 0, sbb = 0, sab = 0;
    for (size_t k = a.size() - w; k < a.size(); ++k) {
      saa += (a[k] - ma) * (a[k] - ma);
      sbb += (b[k] - mb) * (b[k] - mb);
      sab += (a[k] - ma) * (b[k] - mb);
    }
    const double want = static_cast<double>(sab / std::sqrt(saa * sbb));
    EXPECT_NEAR(features::stats::pearson(bw.value()), want, 1e-12);
  }
}

// The lane appends that grow the families' window heads (stats_moments.h: the generic-vector
// forms, and the AVX-512 forms where the CPU has them) against the scalar appends, bit for
// bit, lane by lane: heads that start empty, grow over mixed scales, restart (a rolled
// window's head), and lanes outside the mask left as they are.
TEST(StatsPrimitives, LaneAppendsAreTheScalarAppendsBitForBit) {
  using features::stats::CoMoments;
  using features::stats::HeadLanes;
  using features::stats::Moments2;
  using features::stats::Moments4;
  struct Heads {
    HeadLanes<Moments4> m4;
    HeadLanes<Moments2> m2;
    HeadLanes<CoMoments> co;
    double sum[8] = {};
  };
  auto same = [](const auto& a, const auto& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; };
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 1.0);
  for (int path = 0; path < 2; ++path) {
#if defined(BQX_STATS_AVX512)
    if (path == 1 && !features::stats::cpu_has_avx512()) continue;
#else
    if (path == 1) continue;
#endif
    Heads lanes, scalar;
    int checked = 0;
    for (int step = 0; step < 4000; ++step) {
      const double scale = std::pow(10.0, static_cast<double>(step / 500) - 4.0);
      const double v = 1.0 + scale * noise(rng), w = -2.0 + scale * noise(rng), x = scale * noise(rng);
      const unsigned mask = step % 7 == 3 ? 0x7Fu & static_cast<unsigned>(rng()) : 0x7Fu;  // lane 7 never
      if (step % 211 == 0) {  // restart some heads, as a roll does
        const size_t lane = rng() % 7;
        for (Heads* h : {&lanes, &scalar}) {
          h->m4.reset(lane);
          h->m2.reset(lane);
          h->co.reset(lane);
        }
      }
      if (path == 0) {
        features::stats::portable::append_moments4_lanes(lanes.m4.f, v, mask);
        features::stats::portable::append_moments2_lanes(lanes.m2.f, w, mask);
        features::stats::portable::append_comoments_lanes(lanes.co.f, v, w, mask);
        features::stats::portable::add_lanes(lanes.sum, x, mask);
      } else {
#if defined(BQX_STATS_AVX512)
        features::stats::append_moments4_lanes(lanes.m4.f, v, static_cast<__mmask8>(mask));
        features::stats::append_moments2_lanes(lanes.m2.f, w, static_cast<__mmask8>(mask));
        features::stats::append_comoments_lanes(lanes.co.f, v, w, static_cast<__mmask8>(mask));
        features::stats::add_lanes(lanes.sum, x, static_cast<__mmask8>(mask));
#endif
      }
      for (size_t lane = 0; lane < 8; ++lane) {
        if (!(mask >> lane & 1u)) continue;
        Moments4 a = scalar.m4.get(lane);
        features::stats::append(a, v);
        scalar.m4.set(lane, a);
        Moments2 b = scalar.m2.get(lane);
        features::stats::append(b, w);
        scalar.m2.set(lane, b);
        CoMoments c = scalar.co.get(lane);
        features::stats::append(c, v, w);
        scalar.co.set(lane, c);
        scalar.sum[lane] += x;
      }
      ASSERT_TRUE(same(lanes.m4.f, scalar.m4.f)) << "path " << path << " step " << step;
      ASSERT_TRUE(same(lanes.m2.f, scalar.m2.f)) << "path " << path << " step " << step;
      ASSERT_TRUE(same(lanes.co.f, scalar.co.f)) << "path " << path << " step " << step;
      ASSERT_TRUE(same(lanes.sum, scalar.sum)) << "path " << path << " step " << step;
      ++checked;
    }
    EXPECT_EQ(checked, 4000);
    EXPECT_GT(scalar.m4.get(0).n, 1.0);  // the heads did grow
  }
}

TEST(StatsPrimitives, SortedWindowMatchesSort) {
  std::mt19937_64 rng(17);
  for (size_t w : {1u, 2u, 5u, 33u}) {
    features::stats::SortedWindow sw(w);
    std::vector<double> hist;
    for (int i = 0; i < 500; ++i) {
      // Few distinct values (many ties) including both signed zeros.
      const int k = static_cast<int>(rng() % 9) - 4;
      const double v = k == 0 ? ((rng() & 1) ? 0.0 : -0.0) : k * 0.25;
      const size_t le = sw.push(v);
      hist.push_back(v);
      const size_t n = std::min(hist.size(), w);
      std::vector<double> win(hist.end() - static_cast<long>(n), hist.end());
      std::sort(win.begin(), win.end());
      ASSERT_EQ(le, static_cast<size_t>(std::upper_bound(win.begin(), win.end(), v) - win.begin()));
      ASSERT_EQ(sw.size(), n);
      for (size_t j = 0; j < n; ++j) ASSERT_EQ(sw.at(j), win[j]) << "w " << w << " i " << i << " j " << j;
      const double probe = (static_cast<int>(rng() % 11) - 5) * 0.25;
      EXPECT_EQ(sw.count_le(probe), static_cast<size_t>(std::upper_bound(win.begin(), win.end(), probe) - win.begin()));
      EXPECT_EQ(sw.count_lt(probe), static_cast<size_t>(std::lower_bound(win.begin(), win.end(), probe) - win.begin()));
    }
  }
}


// RankRing (stats_rank.h): the counts (by block bounds, and by full runs) against a brute-force count of the
// newest W values, on random walks (few blocks straddle), flat stretches, heavy ties with
// both signed zeros, NaN values (alone and in runs) and infinities, with NaN and other probe
// values, across many wraps of the ring, and after a snapshot round trip.
template <class Ring, size_t Capacity, size_t N>
void check_rank_ring_of(const std::array<int, N>& windows, uint64_t seed, size_t regimes = 5) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0.0, 1e-4);
  Ring ring;
  std::vector<double> hist;
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  double walk = 1.1;
  double revert = 0;  // a fast-reverting series like bqx_w15_return (AR(1), memory ~15 pushes)
  const size_t pushes = 3 * (Capacity + 64) + 500;
  auto brute = [&](size_t w, double v) {
    size_t c = 0;
    for (size_t k = hist.size() - w; k < hist.size(); ++k) c += hist[k] <= v ? 1 : 0;
    return c;
  };
  for (size_t t = 0; t < pushes; ++t) {
    // Regimes of a few hundred pushes each: walk, flat, ties, NaNs, infinities.
    const size_t regime = (t / 173 + seed) % regimes;
    double x = 0;
    if (regime == 0) {
      x = walk += step(rng);
    } else if (regime == 1) {
      x = walk;  // flat: exact ties with the walk's level
    } else if (regime == 2) {
      const int k = static_cast<int>(rng() % 7) - 3;
      x = k == 0 ? ((rng() & 1) ? 0.0 : -0.0) : walk + k * 1e-4;
    } else if (regime == 3) {
      x = (rng() % 5 == 0 || (t / 11) % 3 == 0) ? nan : (walk += step(rng));
    } else if (regime == 4) {
      x = rng() % 9 == 0 ? ((rng() & 1) ? inf : -inf) : (walk += step(rng));
    } else if (regime == 5) {
      x = revert = 0.93 * revert + step(rng);
    } else if (regime == 6) {  // a jump in scale (the keyed range must follow), with rare outliers
      x = revert = 0.93 * revert + 1e3 * step(rng) + (rng() % 50 == 0 ? 1e6 * step(rng) : 0.0);
    } else {  // tiny values, with ties on a coarse grid
      x = static_cast<double>(static_cast<int>(rng() % 9) - 4) * 1e-300 * (rng() % 2 ? 1.0 : 1e-8);
    }
    ring.push(x);
    hist.push_back(x);
    ASSERT_EQ(ring.size(), std::min(hist.size(), Capacity));
    ASSERT_TRUE(std::memcmp(&x, &hist.back(), sizeof(x)) == 0);
    size_t usable = 0;
    while (usable < N && hist.size() >= static_cast<size_t>(windows[usable]) &&
           static_cast<size_t>(windows[usable]) <= Capacity) {
      ++usable;
    }
    const double old = hist[hist.size() - 1 - rng() % std::min(hist.size(), Capacity)];
    for (double v : {x, old, walk, nan, inf, -inf, 0.0, -0.0}) {
      std::array<size_t, N> got{};
      ring.count_le_nested(windows, usable, v, got);
      for (size_t i = 0; i < usable; ++i) {
        ASSERT_EQ(got[i], brute(static_cast<size_t>(windows[i]), v)) << "t " << t << " W " << windows[i] << " v " << v;
      }
      if constexpr (requires { typename Ring::CountPath; }) {  // KeyedRankRing: every path this CPU has
        using Path = typename Ring::CountPath;
        for (Path path : {Path::kSlotRuns, Path::kChunksAvx2, Path::kChunksAvx512}) {
          if (!Ring::can_count_by(path)) continue;
          got = {};
          ring.count_le_nested_by(path, windows, usable, v, got);
          for (size_t i = 0; i < usable; ++i) {
            ASSERT_EQ(got[i], brute(static_cast<size_t>(windows[i]), v))
                << "path " << static_cast<int>(path) << " t " << t << " W " << windows[i] << " v " << v;
          }
        }
      }
    }
    for (size_t k = 0; k < ring.size(); k += 37) {
      const double a = ring.back(k), b = hist[hist.size() - 1 - k];
      ASSERT_TRUE(std::memcmp(&a, &b, sizeof(a)) == 0) << "back " << k;
    }
    if (t % 997 == 500) {  // snapshot round trip: same values, same counts afterwards
      std::vector<uint8_t> bytes;
      features::StateWriter out(bytes);
      ring.save(out);
      Ring restored;
      features::StateReader in(bytes.data(), bytes.size());
      restored.load(in);
      ASSERT_TRUE(in.ok());
      ring = restored;
    }
  }
}

template <size_t Capacity, bool kBlockBounds, size_t N>
void check_rank_ring(const std::array<int, N>& windows, uint64_t seed) {
  check_rank_ring_of<features::stats::RankRing<Capacity, kBlockBounds>, Capacity>(windows, seed);
}

// KeyedRankRing (stats_bqx): the same checks, plus fast-reverting series, jumps in scale and
// tiny values (the keys are refitted as the range moves).
TEST(StatsPrimitives, KeyedRankRingCountsMatchBruteForce) {
  using Keyed = features::stats::KeyedRankRing<1440>;
  // The chunk paths need Capacity % 32 == 0 (1440 = 45 x 32; 100 and 16 take the slot runs).
  std::printf("KeyedRankRing<1440> paths on this CPU: slot runs, AVX2 chunks %s, AVX-512 chunks %s\n",
              Keyed::can_count_by(Keyed::CountPath::kChunksAvx2) ? "yes" : "no",
              Keyed::can_count_by(Keyed::CountPath::kChunksAvx512) ? "yes" : "no");
  for (uint64_t seed = 0; seed < 8; ++seed) {
    check_rank_ring_of<features::stats::KeyedRankRing<1440>, 1440>(std::array<int, 7>{15, 30, 60, 120, 240, 480, 1440}, seed, 8);
    check_rank_ring_of<features::stats::KeyedRankRing<100>, 100>(std::array<int, 6>{1, 7, 32, 33, 64, 100}, seed + 29, 8);
    check_rank_ring_of<features::stats::KeyedRankRing<16>, 16>(std::array<int, 3>{1, 5, 16}, seed + 41, 8);
  }
}

TEST(StatsPrimitives, RankRingCountsMatchBruteForce) {
  for (uint64_t seed = 0; seed < 5; ++seed) {
    check_rank_ring<1441, true>(std::array<int, 7>{15, 30, 60, 120, 240, 480, 1440}, seed);
    check_rank_ring<1440, true>(std::array<int, 7>{15, 30, 60, 120, 240, 480, 1440}, seed + 7);
    check_rank_ring<100, true>(std::array<int, 6>{1, 7, 32, 33, 64, 100}, seed + 13);
    check_rank_ring<1440, false>(std::array<int, 7>{15, 30, 60, 120, 240, 480, 1440}, seed + 21);
    check_rank_ring<100, false>(std::array<int, 6>{1, 7, 32, 33, 64, 100}, seed + 29);
  }
}

}  // namespace
}  // namespace bqx
