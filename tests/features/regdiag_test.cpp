// regdiag (FEATURES.md 1.3) against a naive recomputation from the reg columns the
// engine produced (numpy-style definitions, long double), golden values fed through the
// kernel directly, and NULL behaviour on flat stretches.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/pair_engine.h"
#include "features/families.h"
#include "features/reg_quadratic.h"
#include "test_frames.h"

namespace bqx {
namespace {

using features::is_null;
using features::kNull;
using LD = long double;

constexpr int kW[] = {60, 90, 150, 240, 390, 630};
const char* const kPerWindow[] = {"pred_error_ratio", "r2_rank", "term_ratio", "r2_std10", "resid_autocorr"};
const char* const kCross[] = {"quad_sign_agree",  "lin_sign_agree", "slope_dispersion",  "curvature_flip",
                              "r2_spread_60_630", "r2_mean",        "rmse_ratio_60_630", "pred_spread_60_630",
                              "slope_accel",      "vertex_near"};

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
  Table t;
  t.rows = frame.size();
  for (const char* fam : {"reg_rate", "reg_bqx", "regdiag"}) {
    std::vector<features::ColumnInfo> cols;
    auto out = compute_pair_features(frame, baseline, {fam}, &cols);
    EXPECT_TRUE(out.ok());
    for (size_t c = 0; c < cols.size(); ++c) {
      auto& v = t.col[cols[c].name];
      v.resize(t.rows);
      for (size_t r = 0; r < t.rows; ++r) v[r] = (*out)[r * cols.size() + c];
    }
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

double sgn(double v) { return v > 0 ? 1 : (v < 0 ? -1 : 0); }

// ---------------------------------------------------------------------------------
// Naive reference, one row at a time, straight from the definitions.
struct Naive {
  const Table& tab;
  std::string d;
  const std::vector<double>& reg(int w, const char* name) const {
    return tab["reg_" + d + "_w" + std::to_string(w) + "_" + name];
  }

  double pred_error_ratio(int w, size_t t) const {
    const double e = reg(w, "residual")[t], s = reg(w, "rmse")[t];
    if (is_null(e) || is_null(s) || s == 0) return kNull;
    return std::fabs(e) / s;
  }
  double r2_rank(int w, size_t t) const {
    std::vector<double> all;
    for (int v : kW) {
      if (is_null(reg(v, "r2")[t])) return kNull;
      all.push_back(reg(v, "r2")[t]);
    }
    // scipy.stats.rankdata(-r2, method='min'): position of the first equal value in the
    // descending order, plus one.
    std::sort(all.begin(), all.end(), [](double a, double b) { return a > b; });
    const double mine = reg(w, "r2")[t];
    return static_cast<double>(std::find(all.begin(), all.end(), mine) - all.begin()) + 1;
  }
  double term_ratio(int w, size_t t) const {
    const double q = reg(w, "quadratic_term")[t], l = reg(w, "linear_term")[t];
    if (is_null(q) || is_null(l) || (q == 0 && l == 0)) return kNull;
    return q / (std::fabs(q) + std::fabs(l));
  }
  LD r2_std10(int w, size_t t) const {
    if (t < 9) return kNull;
    LD s = 0;
    for (size_t k = t - 9; k <= t; ++k) {
      if (is_null(reg(w, "r2")[k])) return kNull;
      s += reg(w, "r2")[k];
    }
    const LD m = s / 10;
    LD m2 = 0;
    for (size_t k = t - 9; k <= t; ++k) m2 += (reg(w, "r2")[k] - m) * (reg(w, "r2")[k] - m);
    return std::sqrt(m2 / 9);
  }
  // np.corrcoef(e[:-1], e[1:])[0, 1] over the last W residuals.
  LD resid_autocorr(int w, size_t t) const {
    const auto& e = reg(w, "residual");
    const size_t n = static_cast<size_t>(w);
    if (t + 1 < n) return kNull;
    const size_t t0 = t + 1 - n;
    for (size_t k = t0; k <= t; ++k) {
      if (is_null(e[k])) return kNull;
    }
    LD mx = 0, my = 0;
    for (size_t k = t0 + 1; k <= t; ++k) {
      mx += e[k - 1];
      my += e[k];
    }
    mx /= (n - 1);
    my /= (n - 1);
    LD sxy = 0, sxx = 0, syy = 0;
    for (size_t k = t0 + 1; k <= t; ++k) {
      sxy += (e[k - 1] - mx) * (e[k] - my);
      sxx += (e[k - 1] - mx) * (e[k - 1] - mx);
      syy += (e[k] - my) * (e[k] - my);
    }
    if (sxx == 0 || syy == 0) return kNull;
    return sxy / std::sqrt(sxx * syy);
  }
  double sign_agree(const char* name, size_t t) const {
    for (int v : kW) {
      if (is_null(reg(v, name)[t])) return kNull;
    }
    int n = 0;
    for (int v : {90, 150, 240, 390, 630}) n += sgn(reg(v, name)[t]) == sgn(reg(60, name)[t]);
    return n;
  }
  LD slope_dispersion(size_t t) const {
    LD s = 0, sa = 0;
    for (int v : kW) {
      const double x = reg(v, "slope_now")[t];
      if (is_null(x)) return kNull;
      s += x;
      sa += std::fabs(x);
    }
    if (sa == 0) return kNull;
    const LD m = s / 6;
    LD m2 = 0;
    for (int v : kW) m2 += (reg(v, "slope_now")[t] - m) * (reg(v, "slope_now")[t] - m);
    return std::sqrt(m2 / 6) / (sa / 6);  // np.std (ddof 0) / mean |slope|
  }
  double curvature_flip(size_t t) const {
    if (t == 0) return kNull;
    const double a = reg(60, "quadratic_term")[t], b = reg(60, "quadratic_term")[t - 1];
    if (is_null(a) || is_null(b)) return kNull;
    return sgn(a) != sgn(b) ? 1 : 0;
  }
  LD r2_mean(size_t t) const {
    LD s = 0;
    for (int v : kW) {
      if (is_null(reg(v, "r2")[t])) return kNull;
      s += reg(v, "r2")[t];
    }
    return s / 6;
  }
  double rmse_ratio(size_t t) const {
    const double a = reg(60, "rmse")[t], b = reg(630, "rmse")[t];
    if (is_null(a) || is_null(b) || b == 0) return kNull;
    return a / b;
  }
  double slope_accel(size_t t) const {
    if (t < 5) return kNull;
    return reg(60, "slope_now")[t] - reg(60, "slope_now")[t - 5];
  }
  double vertex_near(size_t t) const {
    const double v = reg(60, "vertex_offset")[t];
    if (is_null(v)) return kNull;
    return std::fabs(v) <= 5 ? 1 : 0;
  }
};

// Compares every regdiag column with the naive values: NULL exactly where the naive value
// is NULL, otherwise 1e-9 relative or 1e-12 absolute (all regdiag columns are ratios,
// counts, correlations or r2 statistics of order 1, except pred_spread and slope_accel,
// which are exact differences of reg outputs and must match bit for bit).
int compare_with_naive(const Table& tab, const std::string& d) {
  const Naive nv{tab, d};
  int non_null = 0;
  auto check = [&](const std::string& name, size_t t, LD want) {
    const double got = tab["regdiag_" + d + "_" + name][t];
    if (std::isnan(static_cast<double>(want))) {
      EXPECT_TRUE(is_null(got)) << name << " row " << t << " got " << got;
      return !is_null(got);
    }
    EXPECT_FALSE(is_null(got)) << name << " row " << t << " want " << static_cast<double>(want);
    const LD tol = 1e-9L * std::fabs(want) + 1e-12L;
    EXPECT_LE(std::fabs(got - want), tol) << name << " row " << t << " got " << got << " want "
                                          << static_cast<double>(want);
    ++non_null;
    return std::fabs(got - want) > tol;
  };
  int failures = 0;
  for (size_t t = 0; t < tab.rows && failures < 10; ++t) {
    for (int w : kW) {
      const std::string p = "w" + std::to_string(w) + "_";
      failures += check(p + "pred_error_ratio", t, nv.pred_error_ratio(w, t));
      failures += check(p + "r2_rank", t, nv.r2_rank(w, t));
      failures += check(p + "term_ratio", t, nv.term_ratio(w, t));
      failures += check(p + "r2_std10", t, nv.r2_std10(w, t));
      failures += check(p + "resid_autocorr", t, nv.resid_autocorr(w, t));
    }
    failures += check("quad_sign_agree", t, nv.sign_agree("quadratic_term", t));
    failures += check("lin_sign_agree", t, nv.sign_agree("linear_term", t));
    failures += check("slope_dispersion", t, nv.slope_dispersion(t));
    failures += check("curvature_flip", t, nv.curvature_flip(t));
    failures += check("r2_spread_60_630", t, static_cast<LD>(nv.reg(60, "r2")[t]) - nv.reg(630, "r2")[t]);
    failures += check("r2_mean", t, nv.r2_mean(t));
    failures += check("rmse_ratio_60_630", t, nv.rmse_ratio(t));
    const double ps = nv.reg(60, "prediction")[t] - nv.reg(630, "prediction")[t];
    const double sa = nv.slope_accel(t);
    const double got_ps = tab["regdiag_" + d + "_pred_spread_60_630"][t];
    const double got_sa = tab["regdiag_" + d + "_slope_accel"][t];
    EXPECT_TRUE((is_null(ps) && is_null(got_ps)) || ps == got_ps) << "pred_spread row " << t;
    EXPECT_TRUE((is_null(sa) && is_null(got_sa)) || sa == got_sa) << "slope_accel row " << t;
    failures += check("vertex_near", t, nv.vertex_near(t));
  }
  EXPECT_EQ(failures, 0);
  return non_null;
}

TEST(RegDiag, ColumnsOrderAndLookbacks) {
  const auto def = features::make_regdiag_family();
  ASSERT_EQ(def.columns.size(), 80u);
  size_t i = 0;
  for (const std::string d : {"rate", "bqx"}) {
    const int o = d == "bqx" ? 15 : 0;
    for (int w : kW) {
      const int lbs[] = {w - 1 + o, 629 + o, w - 1 + o, w + 8 + o, 2 * w - 2 + o};
      for (int k = 0; k < 5; ++k, ++i) {
        EXPECT_EQ(def.columns[i].name, "regdiag_" + d + "_w" + std::to_string(w) + "_" + kPerWindow[k]);
        EXPECT_EQ(def.columns[i].lookback, lbs[k]) << def.columns[i].name;
      }
    }
    const int lbc[] = {629, 629, 629, 60, 629, 629, 629, 629, 64, 59};
    for (int k = 0; k < 10; ++k, ++i) {
      EXPECT_EQ(def.columns[i].name, "regdiag_" + d + "_" + kCross[k]);
      EXPECT_EQ(def.columns[i].lookback, lbc[k] + o) << def.columns[i].name;
    }
  }
}

TEST(RegDiag, MatchesNaiveOnRandomWalk) {
  const BarFrame f = testing_frames::random_walk_frame(3000, 8);
  const Table tab = run(f, f.close[0]);
  EXPECT_GT(compare_with_naive(tab, "rate"), 90000);
  EXPECT_GT(compare_with_naive(tab, "bqx"), 90000);
}

// Random walk, then 1,600 flat rows, then a walk again: inside the flat stretch every
// window becomes exactly flat in both domains (q is exactly 0 there), so r2 is NULL
// (=> r2_rank, r2_std10, r2_mean, r2_spread NULL), rmse is 0 (=> pred_error_ratio,
// rmse_ratio NULL), both terms are 0 (=> term_ratio NULL), slopes are 0 (=>
// slope_dispersion NULL), the vertex is NULL (=> vertex_near NULL) and the residuals are
// 0 (=> resid_autocorr NULL); the sign counts are 5 (all signs 0).
TEST(RegDiag, FlatStretchNullsAndMatchesNaive) {
  const BarFrame walk = testing_frames::random_walk_frame(2400, 9);
  std::vector<double> x;
  for (size_t i = 0; i < 1200; ++i) x.push_back(walk.close[i] * (100.0 / walk.close[0]));
  for (size_t i = 0; i < 1600; ++i) x.push_back(x.back());
  for (size_t i = 1200; i < 2400; ++i) x.push_back(walk.close[i] * (100.0 / walk.close[0]));
  const Table tab = run(frame_from_x(x), 100.0);
  compare_with_naive(tab, "rate");
  compare_with_naive(tab, "bqx");
  const size_t t = 1200 + 1599;  // end of the flat stretch: all windows flat in both domains
  for (const std::string d : {"rate", "bqx"}) {
    for (int w : kW) {
      for (const char* c : kPerWindow) {
        EXPECT_TRUE(is_null(tab["regdiag_" + d + "_w" + std::to_string(w) + "_" + c][t])) << d << w << c;
      }
    }
    const std::string p = "regdiag_" + d + "_";
    EXPECT_EQ(tab[p + "quad_sign_agree"][t], 5.0);
    EXPECT_EQ(tab[p + "lin_sign_agree"][t], 5.0);
    EXPECT_TRUE(is_null(tab[p + "slope_dispersion"][t]));
    EXPECT_EQ(tab[p + "curvature_flip"][t], 0.0);
    EXPECT_TRUE(is_null(tab[p + "r2_spread_60_630"][t]));
    EXPECT_TRUE(is_null(tab[p + "r2_mean"][t]));
    EXPECT_TRUE(is_null(tab[p + "rmse_ratio_60_630"][t]));
    EXPECT_EQ(tab[p + "pred_spread_60_630"][t], 0.0);
    EXPECT_EQ(tab[p + "slope_accel"][t], 0.0);
    EXPECT_TRUE(is_null(tab[p + "vertex_near"][t]));
  }
}

// ---------------------------------------------------------------------------------
// Golden values: the regdiag kernel fed synthetic reg rows directly.
class Harness {
 public:
  Harness() : def_(features::make_regdiag_family()) {
    for (const auto& in : def_.inputs) layout_.add(in);
    offset_ = static_cast<int>(layout_.size());
    for (const auto& c : def_.columns) layout_.add(c.name);
    kernel_ = def_.make(features::KernelContext{offset_, &layout_});
    row_.assign(layout_.size(), kNull);
  }
  // Sets reg_rate_w{W}_{name} for the six windows.
  void set(const char* name, const std::array<double, 6>& v) {
    for (size_t i = 0; i < 6; ++i) row_[idx("reg_rate_w" + std::to_string(kW[i]) + "_" + name)] = v[i];
  }
  void step() { kernel_->update(features::BarInput{}, row_.data()); }
  double get(const std::string& name) { return row_[idx("regdiag_rate_" + name)]; }

 private:
  size_t idx(const std::string& name) const {
    const int i = layout_.index_of(name);
    EXPECT_GE(i, 0) << name;
    return static_cast<size_t>(i);
  }
  features::FamilyDef def_;
  features::ColumnLayout layout_;
  int offset_;
  std::unique_ptr<features::FamilyKernel> kernel_;
  std::vector<double> row_;
};

TEST(RegDiag, GoldenCrossWindow) {
  Harness h;
  h.set("r2", {0.5, 0.7, 0.7, 0.1, 0.5, 0.9});
  h.set("quadratic_term", {1, -2, 3, 0, 5, -1});
  h.set("linear_term", {-1, -1, -1, -1, -1, -1});
  h.set("slope_now", {1, 2, 3, 4, 5, 6});
  h.set("residual", {-0.3, 0, 0, 0, 0, 0});
  h.set("rmse", {0.2, 1, 1, 1, 1, 0.4});
  h.set("prediction", {100.5, 100, 100, 100, 100, 100.25});
  h.set("vertex_offset", {5, 1, 1, 1, 1, 1});
  h.step();
  // r2 = .5 .7 .7 .1 .5 .9 -> descending .9 .7 .7 .5 .5 .1 -> competition ranks 4 2 2 6 4 1.
  const double ranks[] = {4, 2, 2, 6, 4, 1};
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(h.get("w" + std::to_string(kW[i]) + "_r2_rank"), ranks[i]);
  EXPECT_NEAR(h.get("r2_mean"), 3.4 / 6, 1e-15);
  EXPECT_NEAR(h.get("r2_spread_60_630"), -0.4, 1e-15);
  // quad signs + - + 0 + -: others equal to w60's + are w150 and w390 -> 2. lin: all -1 -> 5.
  EXPECT_EQ(h.get("quad_sign_agree"), 2.0);
  EXPECT_EQ(h.get("lin_sign_agree"), 5.0);
  // slopes 1..6: mean 3.5, population variance 35/12, mean |slope| 3.5.
  EXPECT_NEAR(h.get("slope_dispersion"), std::sqrt(35.0 / 12.0) / 3.5, 1e-15);
  EXPECT_TRUE(is_null(h.get("curvature_flip")));  // no previous row
  EXPECT_NEAR(h.get("w60_pred_error_ratio"), 1.5, 1e-15);  // |-0.3| / 0.2
  EXPECT_NEAR(h.get("w60_term_ratio"), 0.5, 1e-15);         // 1 / (1 + 1)
  EXPECT_NEAR(h.get("w90_term_ratio"), -2.0 / 3.0, 1e-15);  // -2 / (2 + 1)
  EXPECT_NEAR(h.get("rmse_ratio_60_630"), 0.5, 1e-15);      // 0.2 / 0.4
  EXPECT_NEAR(h.get("pred_spread_60_630"), 0.25, 1e-15);    // 100.5 - 100.25
  EXPECT_EQ(h.get("vertex_near"), 1.0);                      // |5| <= 5
  EXPECT_TRUE(is_null(h.get("w60_r2_std10")));               // 1 row of r2 so far
  EXPECT_TRUE(is_null(h.get("slope_accel")));

  // Row 2: w60 curvature turns negative -> flip; rmse w630 = 0 -> ratio NULL; both w60
  // terms 0 -> term_ratio NULL; a NULL r2 -> every rank and the mean NULL.
  h.set("quadratic_term", {-2, -2, 3, 0, 5, -1});
  h.set("rmse", {0, 1, 1, 1, 1, 0});
  h.set("vertex_offset", {5.0000001, 1, 1, 1, 1, 1});
  h.set("r2", {0.5, kNull, 0.7, 0.1, 0.5, 0.9});
  h.step();
  EXPECT_EQ(h.get("curvature_flip"), 1.0);
  EXPECT_TRUE(is_null(h.get("rmse_ratio_60_630")));
  EXPECT_TRUE(is_null(h.get("w60_pred_error_ratio")));  // rmse 0
  EXPECT_EQ(h.get("quad_sign_agree"), 2.0);              // - - + 0 + -: w90, w630
  EXPECT_EQ(h.get("vertex_near"), 0.0);
  for (int w : kW) EXPECT_TRUE(is_null(h.get("w" + std::to_string(w) + "_r2_rank")));
  EXPECT_TRUE(is_null(h.get("r2_mean")));
  EXPECT_NEAR(h.get("r2_spread_60_630"), -0.4, 1e-15);  // w60 and w630 are defined
  h.set("quadratic_term", {0, -2, 3, 0, 5, -1});
  h.set("linear_term", {0, -1, -1, -1, -1, -1});
  h.set("vertex_offset", {kNull, 1, 1, 1, 1, 1});
  h.step();
  EXPECT_TRUE(is_null(h.get("w60_term_ratio")));
  EXPECT_EQ(h.get("curvature_flip"), 1.0);  // sign -1 -> 0
  EXPECT_TRUE(is_null(h.get("vertex_near")));
  EXPECT_EQ(h.get("quad_sign_agree"), 1.0);  // only w240 is 0
}

TEST(RegDiag, GoldenR2Std10AndSlopeAccel) {
  Harness h;
  for (int k = 1; k <= 12; ++k) {
    h.set("r2", {0.1 * k, 0.5, 0.5, 0.5, 0.5, 0.5});
    h.set("slope_now", {static_cast<double>(k * k), 1, 1, 1, 1, 1});
    h.step();
    if (k < 10) {
      EXPECT_TRUE(is_null(h.get("w60_r2_std10"))) << k;
    }
    if (k < 6) {
      EXPECT_TRUE(is_null(h.get("slope_accel"))) << k;
    }
  }
  // Last 10 w60 r2: 0.3..1.2 = 0.1*(3..12); sample variance of 10 consecutive integers
  // = 10*11/12 = 55/6, so std = 0.1*sqrt(55/6). Other windows are constant: std 0.
  EXPECT_NEAR(h.get("w60_r2_std10"), 0.1 * std::sqrt(55.0 / 6.0), 1e-14);
  EXPECT_EQ(h.get("w90_r2_std10"), 0.0);
  // slope 12^2 - 7^2 = 95.
  EXPECT_EQ(h.get("slope_accel"), 95.0);
}

// Lag-1 autocorrelation primitive, W = 4.
//   e = 1,3,2,5: x = 1,3,2 (mean 2), y = 3,2,5 (mean 10/3); dx = -1,1,0,
//     dy = -1/3,-4/3,5/3; sxy = 1/3 - 4/3 = -1, sxx = 2, syy = 42/9 -> r = -1/sqrt(28/3).
//   then 4 enters: window 3,2,5,4: x = 3,2,5 (10/3), y = 2,5,4 (11/3); dx = -1/3,-4/3,5/3,
//     dy = -5/3,4/3,1/3; sxy = (5 - 16 + 5)/9 = -2/3, sxx = syy = 42/9 -> r = -1/7.
TEST(RegDiag, GoldenLag1Autocorr) {
  features::RollingLag1Autocorr ac(4);
  for (double e : {1.0, 3.0, 2.0, 5.0}) ac.push(e);
  EXPECT_NEAR(ac.value(5.0), -1.0 / std::sqrt(28.0 / 3.0), 1e-15);
  ac.push(4.0);
  EXPECT_NEAR(ac.value(5.0), -1.0 / 7.0, 1e-15);
  // A constant window has no autocorrelation: NULL.
  for (int k = 0; k < 4; ++k) ac.push(2.5);
  EXPECT_TRUE(is_null(ac.value(5.0)));
  // Perfectly trending residuals: corr(1,2,3 ; 2,3,4) = 1.
  for (double e : {1.0, 2.0, 3.0, 4.0}) ac.push(e);
  EXPECT_NEAR(ac.value(5.0), 1.0, 1e-15);
}

}  // namespace
}  // namespace bqx
