// ms family (FEATURES.md 1.11): at every bar t the naive reference rebuilds the bucket
// series from scratch (completed buckets + the forming bucket of bars up to t) and runs
// plain array implementations of RSI / ROC / NATR / BBANDS %b / rv / ret / ADX over it;
// the kernel (committed states + peek) must agree to 1e-9. Plus golden values on a
// hand-computable ramp, flat-series NULL rules and bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "engine/pair_engine.h"
#include "test_frames.h"

#if __has_include(<ta_libc.h>)
#include <ta_libc.h>
#define BQX_HAVE_TALIB 1
#endif

namespace bqx {
namespace {

using features::is_null;
using features::kNull;

constexpr int64_t kScales[3] = {5, 15, 60};
const char* kSuffix[7] = {"rsi_14", "roc_12", "natr_14", "bb20_pctb", "rv_12", "ret_12", "adx_14"};

struct Rows {
  std::vector<double> values;
  std::map<std::string, size_t> col;
  size_t width = 0;
  double at(size_t row, const std::string& name) const { return values[row * width + col.at(name)]; }
};

Rows run_ms(const BarFrame& frame, double baseline) {
  std::vector<features::ColumnInfo> cols;
  auto out = compute_pair_features(frame, baseline, {"ms"}, &cols);
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

// ---- naive reference -------------------------------------------------------------

struct Bucket {
  double o, h, l, c;
};

// The bucket series at row t, rebuilt from scratch: buckets of m minutes over bars 0..t
// in the rate domain (x = price * 100 / B, as PairEngine computes it).
std::vector<Bucket> buckets_at(const BarFrame& f, double baseline, size_t t, int64_t m) {
  const double scale = 100.0 / baseline;
  std::vector<Bucket> out;
  int64_t current = 0;
  for (size_t i = 0; i <= t; ++i) {
    const int64_t b = static_cast<int64_t>(std::floor(static_cast<double>(f.ts[i]) / static_cast<double>(m))) * m;
    const double o = f.open[i] * scale, h = f.high[i] * scale, l = f.low[i] * scale, c = f.close[i] * scale;
    if (out.empty() || b != current) {
      out.push_back({o, h, l, c});
      current = b;
    } else {
      out.back().h = std::max(out.back().h, h);
      out.back().l = std::min(out.back().l, l);
      out.back().c = c;
    }
  }
  return out;
}

double ref_rsi(const std::vector<Bucket>& s) {
  const size_t n = s.size(), p = 14;
  if (n < p + 1) return kNull;
  double ag = 0, al = 0;
  for (size_t j = 1; j <= p; ++j) {
    const double d = s[j].c - s[j - 1].c;
    if (d > 0) ag += d; else al += -d;
  }
  ag /= p;
  al /= p;
  for (size_t j = p + 1; j < n; ++j) {
    const double d = s[j].c - s[j - 1].c;
    ag = (ag * (p - 1) + (d > 0 ? d : 0.0)) / p;
    al = (al * (p - 1) + (d < 0 ? -d : 0.0)) / p;
  }
  return ag + al == 0 ? kNull : 100.0 * ag / (ag + al);
}

double ref_roc(const std::vector<Bucket>& s) {
  const size_t n = s.size();
  return n < 13 ? kNull : (s[n - 1].c / s[n - 13].c - 1.0) * 100.0;
}
double ref_ret(const std::vector<Bucket>& s) {
  const size_t n = s.size();
  return n < 13 ? kNull : std::log(s[n - 1].c / s[n - 13].c);
}

double tr_at(const std::vector<Bucket>& s, size_t j) {
  return std::max({s[j].h - s[j].l, std::fabs(s[j].h - s[j - 1].c), std::fabs(s[j].l - s[j - 1].c)});
}

double ref_natr(const std::vector<Bucket>& s) {
  const size_t n = s.size(), p = 14;
  if (n < p + 1) return kNull;
  double atr = 0;
  for (size_t j = 1; j <= p; ++j) atr += tr_at(s, j);
  atr /= p;
  for (size_t j = p + 1; j < n; ++j) atr = (atr * (p - 1) + tr_at(s, j)) / p;
  return atr / s[n - 1].c * 100.0;
}

double ref_bb_pctb(const std::vector<Bucket>& s) {
  const size_t n = s.size(), p = 20;
  if (n < p) return kNull;
  long double mean = 0;
  for (size_t j = n - p; j < n; ++j) mean += s[j].c;
  mean /= p;
  long double ss = 0;
  for (size_t j = n - p; j < n; ++j) ss += (s[j].c - mean) * (s[j].c - mean);
  const long double sd = std::sqrt(ss / p);
  if (sd == 0) return kNull;
  const long double lower = mean - 2 * sd, upper = mean + 2 * sd;
  return static_cast<double>((s[n - 1].c - lower) / (upper - lower));
}

double ref_rv(const std::vector<Bucket>& s) {
  const size_t n = s.size(), k = 12;
  if (n < k + 1) return kNull;
  std::vector<long double> r;
  for (size_t j = n - k; j < n; ++j) r.push_back(std::log(s[j].c / s[j - 1].c));
  long double mean = 0;
  for (auto v : r) mean += v;
  mean /= k;
  long double ss = 0;
  for (auto v : r) ss += (v - mean) * (v - mean);
  return static_cast<double>(std::sqrt(ss / (k - 1)));
}

// ADX(14): +DM/-DM/TR per bucket, Wilder sums seeded over buckets 1..13 (TA-Lib),
// DX averaged over buckets 14..27, then Wilder-smoothed. NULL when the last DX is undefined.
double ref_adx(const std::vector<Bucket>& s) {
  const size_t n = s.size(), p = 14;
  if (n < 2 * p) return kNull;
  double spdm = 0, smdm = 0, str = 0, sum_dx = 0, adx = 0;
  bool last_defined = false;
  for (size_t j = 1; j < n; ++j) {
    const double up = s[j].h - s[j - 1].h, down = s[j - 1].l - s[j].l;
    const double pdm = (up > 0 && up > down) ? up : 0.0;
    const double mdm = (down > 0 && down > up) ? down : 0.0;
    if (j < p) {
      spdm += pdm;
      smdm += mdm;
      str += tr_at(s, j);
      continue;
    }
    spdm = spdm - spdm / p + pdm;
    smdm = smdm - smdm / p + mdm;
    str = str - str / p + tr_at(s, j);
    double dx = 0;
    last_defined = false;
    if (str != 0) {
      const double pdi = 100.0 * spdm / str, mdi = 100.0 * smdm / str;
      if (pdi + mdi != 0) {
        dx = 100.0 * std::fabs(mdi - pdi) / (pdi + mdi);
        last_defined = true;
      }
    }
    if (j < 2 * p - 1) {
      sum_dx += dx;
    } else if (j == 2 * p - 1) {
      adx = (sum_dx + dx) / p;
    } else if (last_defined) {
      adx = (adx * (p - 1) + dx) / p;
    }
  }
  return last_defined ? adx : kNull;
}

void check_against_reference(const BarFrame& f, double baseline, size_t stride = 1) {
  const Rows r = run_ms(f, baseline);
  size_t defined[3][7] = {};
  for (size_t t = 0; t < f.size(); t += stride) {
    for (int k = 0; k < 3; ++k) {
      const int64_t m = kScales[k];
      const auto s = buckets_at(f, baseline, t, m);
      const double want[7] = {ref_rsi(s), ref_roc(s), ref_natr(s), ref_bb_pctb(s), ref_rv(s), ref_ret(s), ref_adx(s)};
      for (int c = 0; c < 7; ++c) {
        const std::string name = "ms" + std::to_string(m) + "_" + kSuffix[c];
        const double got = r.at(t, name);
        ASSERT_TRUE(close_enough(got, want[c])) << name << " row " << t << ": got " << got << " want " << want[c];
        defined[k][c] += is_null(got) ? 0 : 1;
      }
    }
  }
  for (int k = 0; k < 3; ++k) {
    for (int c = 0; c < 7; ++c) EXPECT_GT(defined[k][c], 0u) << kScales[k] << " " << kSuffix[c] << " never defined";
  }
}

// ---- tests -------------------------------------------------------------------------

TEST(MsFamily, ColumnsInSpecOrder) {
  auto engine = PairEngine::create(Pair{Currency::EUR, Currency::USD}, 1.0, {"ms"});
  ASSERT_TRUE(engine.ok());
  ASSERT_EQ(engine->width(), 21u);
  const int lookback[7] = {14, 12, 14, 19, 12, 12, 27};
  size_t i = 0;
  for (int64_t m : kScales) {
    for (int c = 0; c < 7; ++c, ++i) {
      const auto& col = engine->columns()[i];
      EXPECT_EQ(col.name, "ms" + std::to_string(m) + "_" + kSuffix[c]);
      EXPECT_EQ(col.family, "ms");
      EXPECT_EQ(col.lookback, lookback[c]) << col.name;
      EXPECT_FALSE(col.exact_lookback) << col.name;
    }
  }
}

TEST(MsFamily, MatchesRebuiltBucketReferenceOnRandomWalk) {
  const BarFrame f = testing_frames::random_walk_frame(4000, 31);
  check_against_reference(f, f.close[0]);
}

TEST(MsFamily, MatchesReferenceOnYenLevelsWithSparseBars) {
  // A USDJPY-like level and a sparse feed (one bar every 1..9 minutes), so buckets hold
  // 0..n bars and long gaps skip whole buckets.
  BarFrame base = testing_frames::random_walk_frame(2500, 32, 150.0, Pair{Currency::USD, Currency::JPY});
  BarFrame f;
  f.pair = base.pair;
  uint64_t s = 99;
  EpochMinute t = base.ts[0];
  for (size_t i = 0; i < base.size(); ++i) {
    Bar b = base.at(i);
    b.ts = t;
    f.push_back(b);
    t += 1 + static_cast<EpochMinute>(testing_frames::splitmix64(s) % 9);
  }
  check_against_reference(f, 149.3);
}

TEST(MsFamily, GoldenValuesOnARamp) {
  // One bar every 5 minutes from 2024-07-01 00:00 UTC (aligned to 5/15/60-minute buckets),
  // close_k = 100 + k, high = close + 0.5, low = close - 0.5, open = close - 1.
  // Baseline 100 makes the rate index equal to the price (scale 100/100 = 1).
  BarFrame f;
  f.pair = Pair{Currency::EUR, Currency::USD};
  const EpochMinute t0 = make_epoch_minute(2024, 7, 1, 0, 0);
  for (int k = 0; k < 400; ++k) {
    const double c = 100 + k;
    f.push_back(Bar{t0 + 5 * k, c - 1, c + 0.5, c - 0.5, c, 1, c, c});
  }
  const Rows r = run_ms(f, 100.0);
  // m = 5: one bar per bucket, so bucket j = bar j and the row lookbacks are attained exactly.
  const int lookback[7] = {14, 12, 14, 19, 12, 12, 27};
  for (int c = 0; c < 7; ++c) {
    const std::string name = std::string("ms5_") + kSuffix[c];
    EXPECT_TRUE(is_null(r.at(lookback[c] - 1, name))) << name;
    EXPECT_FALSE(is_null(r.at(lookback[c], name))) << name;
  }
  // ROC at bar 12: (112/100 - 1)*100 = 12; ret = ln(1.12).
  EXPECT_NEAR(r.at(12, "ms5_roc_12"), 12.0, 1e-12);
  EXPECT_NEAR(r.at(12, "ms5_ret_12"), std::log(1.12), 1e-15);
  // Only gains: RSI = 100.
  EXPECT_EQ(r.at(14, "ms5_rsi_14"), 100.0);
  EXPECT_EQ(r.at(300, "ms5_rsi_14"), 100.0);
  // TR = max(h-l = 1, |h - c_prev| = 1.5, |l - c_prev| = 0.5) = 1.5, so ATR = 1.5 and
  // NATR at bar 14 = 1.5/114*100.
  EXPECT_NEAR(r.at(14, "ms5_natr_14"), 1.5 / 114.0 * 100.0, 1e-12);
  // +DM = 1, -DM = 0 on every bucket: -DI = 0, DX = 100, ADX = 100 from bucket 27.
  EXPECT_NEAR(r.at(27, "ms5_adx_14"), 100.0, 1e-12);
  EXPECT_NEAR(r.at(200, "ms5_adx_14"), 100.0, 1e-12);
  // BB(20) at bar 19: closes 100..119, mean 109.5, population sd = sqrt((20^2-1)/12);
  // %b = 0.5 + (119 - 109.5)/(4 sd) = 0.911880...
  EXPECT_NEAR(r.at(19, "ms5_bb20_pctb"), 0.5 + 9.5 / (4 * std::sqrt(399.0 / 12.0)), 1e-12);
  // m = 15: bucket j holds bars 3j..3j+2. Bucket 12 starts at bar 36, whose forming
  // bucket (one bar, close 136) is compared with bucket 0's close (bar 2 = 102): peek.
  EXPECT_TRUE(is_null(r.at(35, "ms15_roc_12")));
  EXPECT_NEAR(r.at(36, "ms15_roc_12"), (136.0 / 102.0 - 1.0) * 100.0, 1e-12);
  EXPECT_NEAR(r.at(37, "ms15_roc_12"), (137.0 / 102.0 - 1.0) * 100.0, 1e-12);
  EXPECT_NEAR(r.at(38, "ms15_roc_12"), (138.0 / 102.0 - 1.0) * 100.0, 1e-12);
  EXPECT_NEAR(r.at(39, "ms15_roc_12"), (139.0 / 105.0 - 1.0) * 100.0, 1e-12);  // bucket 13 vs bucket 1 (bar 5)
  // NATR at m=15, first value (bar 42 opens bucket 14, which holds one bar): completed
  // bucket j >= 1 spans bars 3j..3j+2, h = 100+3j+2.5, l = 100+3j-0.5, previous close
  // c_{3j-1} = 100+3j-1, so TR = max(3, 3.5, 0.5) = 3.5; the forming bucket 14 has
  // h = 142.5, l = 141.5, previous close 141 (bar 41) -> TR = max(1, 1.5, 0.5) = 1.5.
  // ATR = (13*3.5 + 1.5)/14; NATR = ATR/142*100.
  EXPECT_TRUE(is_null(r.at(41, "ms15_natr_14")));
  EXPECT_NEAR(r.at(42, "ms15_natr_14"), (13 * 3.5 + 1.5) / 14.0 / 142.0 * 100.0, 1e-12);
  check_against_reference(f, 100.0);
}

TEST(MsFamily, FlatSeries) {
  BarFrame f;
  f.pair = Pair{Currency::EUR, Currency::USD};
  const EpochMinute t0 = make_epoch_minute(2024, 7, 1, 0, 0);
  for (int k = 0; k < 2400; ++k) f.push_back(Bar{t0 + k, 1.1, 1.1, 1.1, 1.1, 1, 1.1, 1.1});
  const Rows r = run_ms(f, 1.1);
  for (size_t t = 0; t < f.size(); ++t) {
    for (int64_t m : kScales) {
      const std::string p = "ms" + std::to_string(m) + "_";
      EXPECT_TRUE(is_null(r.at(t, p + "rsi_14")));      // gain + loss = 0
      EXPECT_TRUE(is_null(r.at(t, p + "bb20_pctb")));   // upper = lower
      EXPECT_TRUE(is_null(r.at(t, p + "adx_14")));      // TR = 0
    }
  }
  const size_t last = f.size() - 1;
  for (int64_t m : kScales) {
    const std::string p = "ms" + std::to_string(m) + "_";
    EXPECT_EQ(r.at(last, p + "natr_14"), 0.0);
    EXPECT_EQ(r.at(last, p + "roc_12"), 0.0);
    EXPECT_EQ(r.at(last, p + "ret_12"), 0.0);
    EXPECT_EQ(r.at(last, p + "rv_12"), 0.0);
  }
  // A flat stretch inside a moving series: BB %b becomes NULL once 20 equal bucket closes
  // are in the window and the reference agrees throughout.
  BarFrame g = testing_frames::random_walk_frame(3000, 33);
  for (size_t i = 1000; i < 1400; ++i) g.open[i] = g.high[i] = g.low[i] = g.close[i] = 1.0812;
  const Rows rg = run_ms(g, g.close[0]);
  EXPECT_TRUE(is_null(rg.at(1399, "ms5_bb20_pctb")));
  EXPECT_EQ(rg.at(1399, "ms5_rv_12"), 0.0);
  check_against_reference(g, g.close[0], 3);
}

TEST(MsFamily, Bounds) {
  const BarFrame f = testing_frames::random_walk_frame(4000, 34);
  const Rows r = run_ms(f, f.close[0]);
  for (size_t t = 0; t < f.size(); ++t) {
    for (int64_t m : kScales) {
      const std::string p = "ms" + std::to_string(m) + "_";
      for (const char* c : {"rsi_14", "adx_14"}) {
        const double v = r.at(t, p + c);
        if (!is_null(v)) {
          EXPECT_GE(v, 0.0);
          EXPECT_LE(v, 100.0);
        }
      }
      const double natr = r.at(t, p + "natr_14"), rv = r.at(t, p + "rv_12");
      if (!is_null(natr)) {
        EXPECT_GT(natr, 0.0);
      }
      if (!is_null(rv)) {
        EXPECT_GE(rv, 0.0);
      }
      // ROC and ret describe the same ratio: ret = ln(1 + roc/100).
      const double roc = r.at(t, p + "roc_12"), ret = r.at(t, p + "ret_12");
      if (!is_null(roc)) {
        EXPECT_NEAR(ret, std::log1p(roc / 100.0), 1e-12);
      }
    }
  }
}

#ifdef BQX_HAVE_TALIB
// Cross-check against TA-Lib 0.6 itself (test-only talib_ref) run over the rebuilt bucket
// series: RSI, ROC, NATR and ADX bit for bit (the states follow TA-Lib's operation order);
// BBANDS %b to 1e-6 because TA-Lib's variance is E[x^2] - E[x]^2 on index levels near 100
// (observed differences up to ~2e-8; ours is the shifted/Welford form, checked to 1e-9
// against the long-double reference above).
double talib_last(TA_RetCode rc, int nb, const std::vector<double>& out) {
  return (rc == TA_SUCCESS && nb > 0) ? out[static_cast<size_t>(nb - 1)] : kNull;
}

TEST(MsFamily, AgreesWithTaLib) {
  TA_Initialize();
  const BarFrame f = testing_frames::random_walk_frame(4000, 35);
  const double baseline = f.close[0];
  const Rows r = run_ms(f, baseline);
  size_t compared = 0;
  for (size_t t = 0; t < f.size(); t += 7) {
    for (int64_t m : kScales) {
      const auto s = buckets_at(f, baseline, t, m);
      const int n = static_cast<int>(s.size());
      std::vector<double> o(s.size()), h(s.size()), l(s.size()), c(s.size());
      for (size_t j = 0; j < s.size(); ++j) {
        o[j] = s[j].o;
        h[j] = s[j].h;
        l[j] = s[j].l;
        c[j] = s[j].c;
      }
      std::vector<double> out(s.size()), up(s.size()), mid(s.size()), lo(s.size());
      int beg = 0, nb = 0;
      const std::string p = "ms" + std::to_string(m) + "_";
      auto check = [&](const std::string& name, double want, double tol) {
        const double got = r.at(t, p + name);
        if (is_null(want)) {
          EXPECT_TRUE(is_null(got)) << p + name << " row " << t;
          return;
        }
        ASSERT_FALSE(is_null(got)) << p + name << " row " << t;
        EXPECT_NEAR(got, want, tol * std::max(1.0, std::fabs(want))) << p + name << " row " << t;
        ++compared;
      };
      // (Call TA-Lib first, then read nb: argument evaluation order is unspecified.)
      TA_RetCode rc0 = TA_RSI(0, n - 1, c.data(), 14, &beg, &nb, out.data());
      check("rsi_14", talib_last(rc0, nb, out), 0.0);
      rc0 = TA_ROC(0, n - 1, c.data(), 12, &beg, &nb, out.data());
      check("roc_12", talib_last(rc0, nb, out), 0.0);
      rc0 = TA_NATR(0, n - 1, h.data(), l.data(), c.data(), 14, &beg, &nb, out.data());
      check("natr_14", talib_last(rc0, nb, out), 0.0);
      rc0 = TA_ADX(0, n - 1, h.data(), l.data(), c.data(), 14, &beg, &nb, out.data());
      check("adx_14", talib_last(rc0, nb, out), 0.0);
      const TA_RetCode rc =
          TA_BBANDS(0, n - 1, c.data(), 20, 2.0, 2.0, TA_MAType_SMA, &beg, &nb, up.data(), mid.data(), lo.data());
      double pctb = kNull;
      if (rc == TA_SUCCESS && nb > 0) {
        const size_t k = static_cast<size_t>(nb - 1);
        pctb = (c.back() - lo[k]) / (up[k] - lo[k]);
      }
      check("bb20_pctb", pctb, 1e-6);
    }
  }
  EXPECT_GT(compared, 5000u);  // 572 sampled rows x 3 scales x 5 functions, minus warm-up
}
#endif

}  // namespace
}  // namespace bqx
