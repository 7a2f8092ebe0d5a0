// reg_rate / reg_bqx (FEATURES.md 1.2) against a plain long-double least-squares
// reference that recomputes every window from scratch, plus identities, golden values
// derived by hand, NULL behaviour on flat stretches, and the O(1) primitive alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "engine/pair_engine.h"
#include "features/families.h"
#include "features/reg_quadratic.h"
#include "features/registry.h"
#include "test_frames.h"

namespace bqx {
namespace {

using features::is_null;
using LD = long double;

constexpr int kWindows[] = {60, 90, 150, 240, 390, 630};
const char* const kFit[] = {"quadratic_term", "linear_term", "constant_term", "prediction", "residual",
                            "r2",             "rmse",        "slope_now",     "vertex_offset"};
const char* const kCov[] = {"cov_quad_lin", "cov_quad_const", "cov_quad_resid",
                            "cov_lin_const", "cov_lin_resid", "cov_const_resid"};

// Engine output as named columns.
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

Table run(const BarFrame& frame, double baseline, const std::vector<std::string>& families) {
  std::vector<features::ColumnInfo> cols;
  auto out = compute_pair_features(frame, baseline, families, &cols);
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

// Frame whose rate index x equals the given values exactly (baseline 100 => x = close).
BarFrame frame_from_x(const std::vector<double>& x) {
  BarFrame f;
  f.pair = Pair{Currency::EUR, Currency::USD};
  EpochMinute t = make_epoch_minute(2024, 7, 1, 0, 0);
  for (double v : x) f.push_back(Bar{t++, v, v, v, v, 10, v, v});
  return f;
}

std::vector<double> rate_index(const BarFrame& f, double baseline) {
  std::vector<double> x(f.size());
  const double scale = 100.0 / baseline;  // the engine's exact expression
  for (size_t i = 0; i < f.size(); ++i) x[i] = f.close[i] * scale;
  return x;
}

// ---------------------------------------------------------------------------------
// Reference: least squares over the window recomputed from scratch in long double.
// Regressors 1, s, s^2 with s = k/(W-1) in [0,1] (well conditioned), y centred on its
// mean; 3x3 normal equations solved by Gaussian elimination with partial pivoting.
struct RefFit {
  LD quad, lin, cnst, pred, resid, r2, rmse, slope, vertex, sstot, ssres;
  bool r2_null;
};

RefFit reference_fit(const std::vector<double>& y, size_t t, int w) {
  const size_t n = static_cast<size_t>(w);
  const size_t t0 = t + 1 - n;
  LD mean = 0;
  for (size_t k = 0; k < n; ++k) mean += y[t0 + k];
  mean /= n;
  LD a[3][4] = {};
  for (size_t k = 0; k < n; ++k) {
    const LD s = static_cast<LD>(k) / (w - 1);
    const LD phi[3] = {1, s, s * s};
    const LD z = y[t0 + k] - mean;
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) a[i][j] += phi[i] * phi[j];
      a[i][3] += phi[i] * z;
    }
  }
  for (int col = 0; col < 3; ++col) {
    int piv = col;
    for (int r = col + 1; r < 3; ++r) {
      if (std::fabs(a[r][col]) > std::fabs(a[piv][col])) piv = r;
    }
    for (int j = 0; j < 4; ++j) std::swap(a[col][j], a[piv][j]);
    for (int r = 0; r < 3; ++r) {
      if (r == col) continue;
      const LD f = a[r][col] / a[col][col];
      for (int j = col; j < 4; ++j) a[r][j] -= f * a[col][j];
    }
  }
  const LD c0 = a[0][3] / a[0][0], c1 = a[1][3] / a[1][1], c2 = a[2][3] / a[2][2];
  RefFit r;
  const LD C = w - 1;
  r.quad = c2;            // a2 (W-1)^2 with a2 = c2/(W-1)^2
  r.lin = c1;             // a1 (W-1)
  r.cnst = mean + c0;     // a0
  r.pred = r.cnst + c1 + c2;
  r.resid = y[t] - r.pred;
  r.slope = (2 * c2 + c1) / C;
  r.vertex = -c1 * C / (2 * c2) - C;
  r.sstot = 0;
  r.ssres = 0;
  for (size_t k = 0; k < n; ++k) {
    const LD s = static_cast<LD>(k) / C;
    const LD e = y[t0 + k] - (r.cnst + c1 * s + c2 * s * s);
    const LD d = y[t0 + k] - mean;
    r.ssres += e * e;
    r.sstot += d * d;
  }
  r.r2_null = r.sstot == 0;
  r.r2 = r.r2_null ? 0 : 1 - r.ssres / r.sstot;
  r.rmse = std::sqrt(r.ssres / w);
  return r;
}

// Naive sample covariance (ddof 1), two-pass in long double.
LD naive_cov(const std::vector<double>& a, const std::vector<double>& b, size_t t, int w) {
  const size_t t0 = t + 1 - static_cast<size_t>(w);
  LD ma = 0, mb = 0;
  for (size_t k = t0; k <= t; ++k) {
    ma += a[k];
    mb += b[k];
  }
  ma /= w;
  mb /= w;
  LD s = 0;
  for (size_t k = t0; k <= t; ++k) s += (a[k] - ma) * (b[k] - mb);
  return s / (w - 1);
}

LD window_range(const std::vector<double>& y, size_t t, size_t len) {
  const size_t t0 = t + 1 >= len ? t + 1 - len : 0;
  LD lo = y[t0], hi = y[t0];
  for (size_t k = t0; k <= t; ++k) {
    lo = std::min<LD>(lo, y[k]);
    hi = std::max<LD>(hi, y[k]);
  }
  return hi - lo;
}

// Largest observed error, relative to a tolerance: |got - want| / (rel*|want| + abs).
struct ErrorStat {
  double worst = 0;
  std::string where;
  void add(double got, LD want, double rel, LD abs, const std::string& name, size_t row) {
    const LD tol = rel * std::fabs(want) + abs;
    const LD e = std::fabs(static_cast<LD>(got) - want);
    const double ratio = static_cast<double>(tol > 0 ? e / tol : (e > 0 ? INFINITY : 0));
    if (!(ratio <= worst)) {
      worst = std::isnan(ratio) ? INFINITY : ratio;
      char buf[160];
      std::snprintf(buf, sizeof buf, " row %zu got %.17g want %.17Lg (error/tolerance %.3g)", row, got, want, ratio);
      where = name + buf;
    }
  }
};

// Checks every reg column of one domain against the reference. y is the domain series
// (NaN where the domain has no value yet), lag its first non-NULL row.
void check_domain_against_reference(const Table& tab, const std::string& domain, const std::vector<double>& y,
                                    size_t lag) {
  const double rel = 1e-9;
  for (int w : kWindows) {
    const std::string p = "reg_" + domain + "_w" + std::to_string(w) + "_";
    const size_t lb = lag + static_cast<size_t>(w) - 1;
    std::map<std::string, ErrorStat> stats;
    for (size_t t = 0; t < tab.rows; ++t) {
      if (t < lb) {
        for (const char* c : kFit) ASSERT_TRUE(is_null(tab[p + c][t])) << p << c << " row " << t;
        continue;
      }
      const RefFit r = reference_fit(y, t, w);
      if (r.r2_null) {  // exactly flat window: exact values, checked elsewhere
        ASSERT_TRUE(is_null(tab[p + "r2"][t])) << p << " row " << t;
        continue;
      }
      // Scale of the window: level and dispersion of y. Near-zero values are compared
      // with an absolute tolerance of 1e-12 of that scale (1e-12 absolute at level ~1).
      const LD sd = std::sqrt(r.sstot / w);
      const LD scale = std::fabs(static_cast<LD>(y[t])) + sd;
      const LD abs = 1e-12L * scale;
      stats["quadratic_term"].add(tab[p + "quadratic_term"][t], r.quad, rel, abs, p, t);
      stats["linear_term"].add(tab[p + "linear_term"][t], r.lin, rel, abs, p, t);
      stats["constant_term"].add(tab[p + "constant_term"][t], r.cnst, rel, abs, p, t);
      stats["prediction"].add(tab[p + "prediction"][t], r.pred, rel, abs, p, t);
      stats["residual"].add(tab[p + "residual"][t], r.resid, rel, abs, p, t);
      stats["slope_now"].add(tab[p + "slope_now"][t], r.slope, rel, abs / (w - 1), p, t);
      stats["r2"].add(tab[p + "r2"][t], r.r2, rel, 1e-12L, p, t);
      stats["rmse"].add(tab[p + "rmse"][t], r.rmse, rel, 1e-12L * scale, p, t);
      const double vx = tab[p + "vertex_offset"][t];
      const LD vref = std::clamp<LD>(r.vertex, -10.0L * w, 10.0L * w);
      ASSERT_FALSE(is_null(vx)) << p << " row " << t;
      // The vertex -a1/(2 a2) amplifies the error of a2 by |a1/a2|: relative 1e-9 of the
      // unclipped value (which the reference also computes), absolute 1e-9 bars.
      stats["vertex_offset"].add(vx, vref, rel, 1e-9L + 1e-9L * std::fabs(r.vertex), p, t);
      // Identities (exact).
      const double q = tab[p + "quadratic_term"][t], l = tab[p + "linear_term"][t], c = tab[p + "constant_term"][t];
      ASSERT_EQ(tab[p + "prediction"][t], (q + l) + c) << p << " row " << t;
      ASSERT_EQ(tab[p + "residual"][t], y[t] - tab[p + "prediction"][t]) << p << " row " << t;
      ASSERT_GE(tab[p + "r2"][t], 0.0);
      ASSERT_LE(tab[p + "r2"][t], 1.0);
      ASSERT_GE(vx, -10.0 * w);
      ASSERT_LE(vx, 10.0 * w);
    }
    // Covariances against a naive two-pass covariance of the kernel's own term series.
    const size_t lbc = lag + 2 * static_cast<size_t>(w) - 2;
    const std::vector<double>* series[4] = {&tab[p + "quadratic_term"], &tab[p + "linear_term"],
                                            &tab[p + "constant_term"], &tab[p + "residual"]};
    for (size_t t = 0; t < tab.rows; ++t) {
      int pair = 0;
      for (int i = 0; i < 4; ++i) {
        for (int j = i + 1; j < 4; ++j, ++pair) {
          const double got = tab[p + kCov[pair]][t];
          if (t < lbc) {
            ASSERT_TRUE(is_null(got)) << p << kCov[pair] << " row " << t;
            continue;
          }
          const LD want = naive_cov(*series[i], *series[j], t, w);
          // Near zero: 1e-12 of sd_i * sd_j (i.e. 1e-12 in correlation units).
          const LD sdi = std::sqrt(naive_cov(*series[i], *series[i], t, w));
          const LD sdj = std::sqrt(naive_cov(*series[j], *series[j], t, w));
          stats[kCov[pair]].add(got, want, rel, 1e-12L * sdi * sdj, p, t);
        }
      }
    }
    for (const auto& [name, s] : stats) {
      EXPECT_LE(s.worst, 1.0) << name << ": " << s.where;
      if (std::getenv("REG_TEST_VERBOSE")) printf("%s%-16s worst/tol %.3g  %s\n", p.c_str(), name.c_str(), s.worst, s.where.c_str());
    }
  }
}

// The random-walk test series: 4,000 rows near 100 (rate) and its q (bqx).
struct Data {
  BarFrame frame;
  double baseline;
  Table tab;
  std::vector<double> x, q;
};
const Data& data() {
  static const Data d = [] {
    Data d;
    d.frame = testing_frames::random_walk_frame(4000, 3);
    d.baseline = d.frame.close[0];
    d.tab = run(d.frame, d.baseline, {"bqx", "reg_rate", "reg_bqx"});
    d.x = rate_index(d.frame, d.baseline);
    d.q = d.tab["bqx_w15_return"];
    return d;
  }();
  return d;
}

TEST(Reg, ColumnsAndLookbacks) {
  const auto rate = features::make_reg_rate_family();
  const auto bq = features::make_reg_bqx_family();
  ASSERT_EQ(rate.columns.size(), 90u);
  ASSERT_EQ(bq.columns.size(), 90u);
  size_t i = 0;
  for (int w : kWindows) {
    for (const char* c : kFit) {
      EXPECT_EQ(rate.columns[i].name, "reg_rate_w" + std::to_string(w) + "_" + c);
      EXPECT_EQ(bq.columns[i].name, "reg_bqx_w" + std::to_string(w) + "_" + c);
      EXPECT_EQ(rate.columns[i].lookback, w - 1);
      EXPECT_EQ(bq.columns[i].lookback, w - 1 + 15);
      ++i;
    }
    for (const char* c : kCov) {
      EXPECT_EQ(rate.columns[i].name, "reg_rate_w" + std::to_string(w) + "_" + c);
      EXPECT_EQ(bq.columns[i].name, "reg_bqx_w" + std::to_string(w) + "_" + c);
      EXPECT_EQ(rate.columns[i].lookback, 2 * w - 2);
      EXPECT_EQ(bq.columns[i].lookback, 2 * w - 2 + 15);
      ++i;
    }
  }
  EXPECT_EQ(bq.inputs, std::vector<std::string>{"bqx_w15_return"});
}

TEST(Reg, RateDomainMatchesLongDoubleReference) {
  check_domain_against_reference(data().tab, "rate", data().x, 0);
}

// A volatility collapse: random walk, 1,600 exactly flat rows, random walk again. The
// windows straddling the start of the flat stretch have a dispersion many orders of
// magnitude below the values that left them, the classic failure of subtract-on-evict
// sliding sums; the re-anchoring keeps them within the contract. Exactly flat windows
// (r2 NULL, vertex NULL) are checked in FlatWindowsGiveNullR2AndExactTerms.
TEST(Reg, VolatilityCollapseMatchesLongDoubleReference) {
  const BarFrame walk = testing_frames::random_walk_frame(2400, 9);
  std::vector<double> x;
  for (size_t i = 0; i < 1200; ++i) x.push_back(walk.close[i] * (100.0 / walk.close[0]));
  for (size_t i = 0; i < 1600; ++i) x.push_back(x.back());
  for (size_t i = 1200; i < 2400; ++i) x.push_back(walk.close[i] * (100.0 / walk.close[0]));
  const Table tab = run(frame_from_x(x), 100.0, {"reg_rate"});
  check_domain_against_reference(tab, "rate", x, 0);
}

TEST(Reg, BqxDomainMatchesLongDoubleReference) {
  const auto& q = data().q;
  for (size_t t = 0; t < 15; ++t) ASSERT_TRUE(is_null(q[t]));
  for (size_t t = 15; t < q.size(); ++t) ASSERT_FALSE(is_null(q[t]));
  check_domain_against_reference(data().tab, "bqx", q, 15);
}


// ---------------------------------------------------------------------------------
// Golden values.

// y_t = 100 + s*(2t^2 - 3t + 5), s = 2^-14 (every value exact in double; baseline 100
// makes x = close exactly). Over the window ending at t (t0 = t - W + 1, k = t - t0):
//   y_k = 100 + s*(2k^2 + (4 t0 - 3) k + 2 t0^2 - 3 t0 + 5)
// so a2 = 2s, a1 = s(4 t0 - 3), a0 = y_{t0}, the fit is exact (r2 = 1, rmse = 0) and
//   quadratic_term = 2s(W-1)^2, linear_term = s(4 t0 - 3)(W-1), constant_term = y_{t0},
//   prediction = y_t, slope_now = 2 a2 (W-1) + a1 = s(4t - 3),
//   vertex_offset = -a1/(2 a2) - (W-1) = 3/4 - t (the parabola's vertex is at t = 3/4).
TEST(Reg, GoldenExactQuadratic) {
  const double s = std::ldexp(1.0, -14);
  std::vector<double> y(1000);
  for (size_t t = 0; t < y.size(); ++t) {
    const double tt = static_cast<double>(t);
    y[t] = 100 + s * (2 * tt * tt - 3 * tt + 5);
  }
  const Table tab = run(frame_from_x(y), 100.0, {"reg_rate"});
  // Hand-computed at t = 100, W = 60 (t0 = 41):
  //   quad  = 2*59^2 s     = 6962 s  = 0.4249267578125
  //   lin   = 161*59 s     = 9499 s  = 0.57977294921875
  //   const = 100 + 3244 s           = 100.197998046875   (2*41^2 - 3*41 + 5 = 3244)
  //   pred  = 100 + 19705 s          = 101.20269775390625 (= quad + lin + const)
  //   slope = 397 s                  = 0.02423095703125
  //   vertex = 0.75 - 100            = -99.25
  EXPECT_NEAR(tab["reg_rate_w60_quadratic_term"][100], 0.4249267578125, 1e-12);
  EXPECT_NEAR(tab["reg_rate_w60_linear_term"][100], 0.57977294921875, 1e-12);
  EXPECT_NEAR(tab["reg_rate_w60_constant_term"][100], 100.197998046875, 1e-12);
  EXPECT_NEAR(tab["reg_rate_w60_prediction"][100], 101.20269775390625, 1e-12);
  EXPECT_NEAR(tab["reg_rate_w60_slope_now"][100], 0.02423095703125, 1e-14);
  EXPECT_NEAR(tab["reg_rate_w60_vertex_offset"][100], -99.25, 1e-9);
  EXPECT_EQ(tab["reg_rate_w60_r2"][100], 1.0);
  EXPECT_EQ(tab["reg_rate_w60_rmse"][100], 0.0);
  // t = 700, W = 60: 3/4 - 700 = -699.25 is clipped to -10W = -600; W = 630 is not.
  EXPECT_EQ(tab["reg_rate_w60_vertex_offset"][700], -600.0);
  EXPECT_NEAR(tab["reg_rate_w630_vertex_offset"][700], -699.25, 1e-9);
  for (int w : {60, 630}) {
    const std::string p = "reg_rate_w" + std::to_string(w) + "_";
    ErrorStat st;
    for (size_t t = static_cast<size_t>(w) - 1; t < y.size(); ++t) {
      const double t0 = static_cast<double>(t) - w + 1, tt = static_cast<double>(t), c = w - 1;
      // Tighter than the 1e-9 contract: observed errors are ~3e-12 relative (terms) and
      // ~3e-14 relative (levels) with values up to 220 and windows spanning 100 points.
      st.add(tab[p + "quadratic_term"][t], 2 * s * c * c, 1e-10, 0, p + "quadratic_term", t);
      st.add(tab[p + "linear_term"][t], s * (4 * t0 - 3) * c, 1e-10, 1e-12, p + "linear_term", t);
      st.add(tab[p + "constant_term"][t], y[t - static_cast<size_t>(w) + 1], 1e-12, 0, p + "constant_term", t);
      st.add(tab[p + "prediction"][t], y[t], 1e-12, 0, p + "prediction", t);
      st.add(tab[p + "residual"][t], 0, 0, 1e-12L * y[t], p + "residual", t);
      st.add(tab[p + "slope_now"][t], s * (4 * tt - 3), 1e-10, 0, p + "slope_now", t);
      st.add(tab[p + "vertex_offset"][t], std::clamp(0.75 - tt, -10.0 * w, 10.0 * w), 1e-10, 0, p + "vertex", t);
      EXPECT_EQ(tab[p + "r2"][t], 1.0) << p << t;
      EXPECT_EQ(tab[p + "rmse"][t], 0.0) << p << t;
    }
    EXPECT_LE(st.worst, 1.0) << "W=" << w << ": " << st.where;
  }
}

// A linear series y_t = 100 + t/1024: a2 = 0 exactly, so the quadratic term is reported
// as 0 (scale-aware zero) and the vertex is NULL; linear_term = (W-1)/1024, slope 1/1024,
// constant_term = y_{t-W+1}, r2 = 1, rmse = 0.
TEST(Reg, GoldenLinear) {
  std::vector<double> y(1400);
  for (size_t t = 0; t < y.size(); ++t) y[t] = 100 + static_cast<double>(t) / 1024;
  const Table tab = run(frame_from_x(y), 100.0, {"reg_rate"});
  for (int w : kWindows) {
    const std::string p = "reg_rate_w" + std::to_string(w) + "_";
    for (size_t t = static_cast<size_t>(w) - 1; t < y.size(); ++t) {
      ASSERT_EQ(tab[p + "quadratic_term"][t], 0.0) << p << t;
      ASSERT_TRUE(is_null(tab[p + "vertex_offset"][t])) << p << t;
      ASSERT_NEAR(tab[p + "linear_term"][t], (w - 1) / 1024.0, 1e-12) << p << t;
      ASSERT_NEAR(tab[p + "slope_now"][t], 1 / 1024.0, 1e-14) << p << t;
      ASSERT_NEAR(tab[p + "constant_term"][t], y[t - static_cast<size_t>(w) + 1], 1e-12) << p << t;
      ASSERT_EQ(tab[p + "r2"][t], 1.0) << p << t;
      ASSERT_EQ(tab[p + "rmse"][t], 0.0) << p << t;
    }
  }
}

// Flat stretches: 100 for 800 rows, then 101 (a jump, so the shift reference of the
// sums is off the new level) for 1400 rows. Once a window is exactly flat: r2 and
// vertex NULL, terms 0, constant = prediction = y, residual 0, rmse 0; the covariances
// stay defined (the term series are constant: covariance 0).
TEST(Reg, FlatWindowsGiveNullR2AndExactTerms) {
  std::vector<double> y(2200, 100.0);
  for (size_t t = 800; t < y.size(); ++t) y[t] = 101.0;
  const Table tab = run(frame_from_x(y), 100.0, {"reg_rate"});
  for (int w : kWindows) {
    const std::string p = "reg_rate_w" + std::to_string(w) + "_";
    for (size_t t = static_cast<size_t>(w) - 1; t < y.size(); ++t) {
      const bool flat = t < 800 || t >= 800 + static_cast<size_t>(w) - 1;
      if (!flat) {
        ASSERT_FALSE(is_null(tab[p + "r2"][t])) << p << t;
        continue;
      }
      ASSERT_TRUE(is_null(tab[p + "r2"][t])) << p << t;
      ASSERT_TRUE(is_null(tab[p + "vertex_offset"][t])) << p << t;
      ASSERT_EQ(tab[p + "quadratic_term"][t], 0.0) << p << t;
      ASSERT_EQ(tab[p + "linear_term"][t], 0.0) << p << t;
      ASSERT_EQ(tab[p + "constant_term"][t], y[t]) << p << t;
      ASSERT_EQ(tab[p + "prediction"][t], y[t]) << p << t;
      ASSERT_EQ(tab[p + "residual"][t], 0.0) << p << t;
      ASSERT_EQ(tab[p + "rmse"][t], 0.0) << p << t;
      ASSERT_EQ(tab[p + "slope_now"][t], 0.0) << p << t;
      if (t >= 2 * static_cast<size_t>(w) - 2 && (t < 800 || t >= 800 + 2 * static_cast<size_t>(w) - 2)) {
        for (const char* c : kCov) ASSERT_EQ(tab[p + c][t], 0.0) << p << c << " " << t;
      }
    }
  }
}

// The hard regime: a smooth curve (sine plus 1e-7 noise), where r2 is within ~1e-8 of 1
// for W = 60 and SSres is a tiny difference of large sums. Stated bound (see
// reg_quadratic.h): |SSres_hat - SSres| <= 16*W*eps*Q with Q = sum (y - ref)^2 over the
// window, ref inside the range of the last 2W-1 rows, so Q <= W*R^2 with R that range:
//   |rmse_hat^2 - rmse^2| <= 1e-9 * rmse^2 + 16*W*eps*R^2
//   |r2_hat - r2| <= 1e-12 + 16*W*eps*W*R^2/SStot
// All other columns keep the 1e-9 relative contract.
TEST(Reg, SmoothSeriesStaysWithinTheStatedBound) {
  uint64_t seed = 99;
  std::vector<double> y(3000);
  for (size_t t = 0; t < y.size(); ++t) {
    y[t] = 100 + 0.5 * std::sin(static_cast<double>(t) / 400.0) + 1e-9 * testing_frames::normal(seed);
  }
  const Table tab = run(frame_from_x(y), 100.0, {"reg_rate"});
  const double eps = DBL_EPSILON;
  double min_gap = 1;  // smallest 1 - r2 seen (to show the regime is exercised)
  for (int w : kWindows) {
    const std::string p = "reg_rate_w" + std::to_string(w) + "_";
    ErrorStat mse, r2, rmse_rel, rest;
    for (size_t t = static_cast<size_t>(w) - 1; t < y.size(); t += 3) {
      const RefFit r = reference_fit(y, t, w);
      const LD R = window_range(y, t, 2 * static_cast<size_t>(w) - 1);
      const double got_rmse = tab[p + "rmse"][t];
      mse.add(got_rmse * got_rmse, r.ssres / w, 1e-9, 16 * w * eps * R * R, p + "mse", t);
      r2.add(tab[p + "r2"][t], r.r2, 0, 1e-12L + 16 * w * eps * w * R * R / r.sstot, p + "r2", t);
      if (1 - r.r2 > 1e-2) rmse_rel.add(got_rmse, r.rmse, 1e-9, 0, p + "rmse(1-r2>1e-2)", t);
      min_gap = std::min<double>(min_gap, static_cast<double>(1 - r.r2));
      const LD abs = 1e-12L * (std::fabs(y[t]) + std::sqrt(r.sstot / w));
      rest.add(tab[p + "quadratic_term"][t], r.quad, 1e-9, abs, p + "quadratic_term", t);
      rest.add(tab[p + "linear_term"][t], r.lin, 1e-9, abs, p + "linear_term", t);
      rest.add(tab[p + "constant_term"][t], r.cnst, 1e-9, abs, p + "constant_term", t);
      rest.add(tab[p + "residual"][t], r.resid, 1e-9, abs, p + "residual", t);
      rest.add(tab[p + "slope_now"][t], r.slope, 1e-9, abs / (w - 1), p + "slope_now", t);
    }
    for (auto* st : {&mse, &r2, &rmse_rel, &rest}) {
      EXPECT_LE(st->worst, 1.0) << st->where;
      if (std::getenv("REG_TEST_VERBOSE")) printf("smooth %s worst/tol %.3g %s\n", p.c_str(), st->worst, st->where.c_str());
    }
  }
  EXPECT_LT(min_gap, 1e-7);
}

// The O(1) primitive alone over a long stream (many re-anchorings, prices drifting far
// from the first reference) stays within 1e-9 of the reference, and save/load resumes
// bit-identically.
TEST(Reg, PrimitiveHasNoDriftAndRestoresExactly) {
  uint64_t seed = 5;
  std::vector<double> y(30000);
  double level = 100;
  for (auto& v : y) {
    level += 0.01 * testing_frames::normal(seed) + 0.0005;  // drifts to ~115
    v = level;
  }
  for (int w : {60, 630}) {
    features::RollingQuadraticFit fit(w), other(w);
    ErrorStat st;
    std::vector<uint8_t> bytes;
    for (size_t t = 0; t < y.size(); ++t) {
      fit.push(y[t]);
      if (t == 12345) {
        features::StateWriter out(bytes);
        fit.save(out);
        features::StateReader in(bytes.data(), bytes.size());
        other.load(in);
        ASSERT_TRUE(in.ok() && in.at_end());
      }
      if (t > 12345) {
        other.push(y[t]);
        features::QuadColumns a, b;
        fit.evaluate(a);
        other.evaluate(b);
        ASSERT_EQ(std::memcmp(&a, &b, sizeof a), 0) << t;
      }
      if (t + 1 < static_cast<size_t>(w) || t % 97 != 0) continue;
      features::QuadColumns o;
      fit.evaluate(o);
      const RefFit r = reference_fit(y, t, w);
      const LD abs = 1e-12L * (std::fabs(y[t]) + std::sqrt(r.sstot / w));
      st.add(o.quadratic_term, r.quad, 1e-9, abs, "quadratic_term", t);
      st.add(o.linear_term, r.lin, 1e-9, abs, "linear_term", t);
      st.add(o.constant_term, r.cnst, 1e-9, abs, "constant_term", t);
      st.add(o.residual, r.resid, 1e-9, abs, "residual", t);
      st.add(o.r2, r.r2, 1e-9, 1e-12L, "r2", t);
      st.add(o.rmse, r.rmse, 1e-9, abs, "rmse", t);
    }
    EXPECT_LE(st.worst, 1.0) << "W=" << w << " " << st.where;
  }
}

// The collapse re-anchoring (reg_quadratic.h) keeps the cost O(1) amortised: on a long
// random walk (with the test frames' gaps) it essentially never fires beyond the regular
// schedule of one exact recomputation per W pushes, while a volatility collapse costs a
// handful of extra recomputations.
TEST(Reg, CollapseReanchoringIsRare) {
  const BarFrame f = testing_frames::random_walk_frame(200000, 4);
  for (int w : {60, 630}) {
    features::RollingQuadraticFit fit(w);
    for (size_t i = 0; i < f.size(); ++i) fit.push(f.close[i] * (100.0 / f.close[0]));
    const double regular = static_cast<double>(f.size() - static_cast<size_t>(w)) / w + 1;
    if (std::getenv("REG_TEST_VERBOSE")) printf("W=%d anchors %llu regular %.0f\n", w, static_cast<unsigned long long>(fit.anchors()), regular);
    EXPECT_LE(static_cast<double>(fit.anchors()), 1.01 * regular + 2) << w;
  }
  // Volatility collapse: walk then flat. The flat stretch triggers a few extra anchorings.
  for (int w : {60, 630}) {
    features::RollingQuadraticFit fit(w);
    for (size_t i = 0; i < 2000; ++i) fit.push(f.close[i] * (100.0 / f.close[0]));
    const uint64_t before = fit.anchors();
    for (size_t i = 0; i < 2000; ++i) fit.push(f.close[1999] * (100.0 / f.close[0]));
    const uint64_t regular = 2000 / static_cast<uint64_t>(w);
    if (std::getenv("REG_TEST_VERBOSE")) printf("W=%d collapse anchors %llu regular %llu\n", w, static_cast<unsigned long long>(fit.anchors() - before), static_cast<unsigned long long>(regular));
    EXPECT_LE(fit.anchors() - before, regular + 8) << w;
    EXPECT_GT(fit.anchors() - before, regular - 1) << w;
  }
}

// Hand example of the co-moment primitive: W = 3, a = 1,2,3,4 and b = 2,4,7,11.
// Last window a = 2,3,4 (mean 3), b = 4,7,11 (mean 22/3):
//   cov = ((-1)(4 - 22/3) + 0 + (1)(11 - 22/3)) / 2 = (10/3 + 11/3) / 2 = 3.5.
TEST(Reg, CoMomentsGolden) {
  features::RollingCoMoments<2> cm(3);
  const double a[] = {1, 2, 3, 4}, b[] = {2, 4, 7, 11};
  std::array<double, 1> c;
  for (int i = 0; i < 4; ++i) {
    cm.push({a[i], b[i]});
    if (i == 2) {
      cm.covariances(c);
      EXPECT_NEAR(c[0], 2.5, 1e-15);  // a = 1,2,3 (mean 2), b = 2,4,7 (mean 13/3): (7/3 + 8/3)/2
    }
  }
  cm.covariances(c);
  EXPECT_NEAR(c[0], 3.5, 1e-15);
}

}  // namespace
}  // namespace bqx
