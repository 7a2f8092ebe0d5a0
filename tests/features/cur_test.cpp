// cur family (FEATURES.md 2.1) and derived_pair_vs_implied_* (3.2), computed by the cur
// cross kernel: the strength solver (closed form vs Laplacian solve, sum zero, normal
// equations, subset universes), hand-computed golden values, and every column against a
// plain recompute-the-window reference, both on hand-built grid rows and through the
// MarketEngine on generated data (as-of grid rebuilt independently from the bar frames).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/market_engine.h"
#include "features/cross/cross_families.h"
#include "features/cross/cur_strength.h"
#include "features/registry.h"
#include "io/generator.h"
#include "test_frames.h"

namespace bqx {
namespace {

using features::GridRow;
using features::is_null;
using features::kNull;
constexpr int K = kCurrencyCount;
constexpr int P = kPairCount;
using Mask = std::array<bool, P>;
using PV = std::array<double, P>;
using CV = std::array<double, K>;

int slot(const char* name) { return pair_index(parse_pair(name).value()); }
int base_of(int p) { return static_cast<int>(all_pairs()[p].base); }
int quote_of(int p) { return static_cast<int>(all_pairs()[p].quote); }
int pair_of(int a, int b) {
  for (int p = 0; p < P; ++p) {
    if ((base_of(p) == a && quote_of(p) == b) || (base_of(p) == b && quote_of(p) == a)) return p;
  }
  return -1;
}
Mask mask_of(const std::vector<std::string>& names) {
  Mask m{};
  for (const auto& n : names) m[slot(n.c_str())] = true;
  return m;
}
Mask all_mask() {
  Mask m;
  m.fill(true);
  return m;
}

bool close_enough(double got, double want, double rel = 1e-9, double abs = 1e-12) {
  if (is_null(want) || is_null(got)) return is_null(want) && is_null(got);
  return std::fabs(got - want) <= abs + rel * std::fabs(want);
}

// ---------------------------------------------------------------------------------------
// Independent reference solver: pin the smallest currency of each component to 0, solve
// the reduced normal equations by Gauss-Jordan elimination with partial pivoting, then
// subtract the component mean.
CV naive_strengths(const Mask& avail, const PV& l) {
  std::array<int, K> comp;
  for (int c = 0; c < K; ++c) {
    comp[c] = -1;
    for (int p = 0; p < P; ++p) {
      if (avail[p] && (base_of(p) == c || quote_of(p) == c)) comp[c] = c;
    }
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (int p = 0; p < P; ++p) {
      if (!avail[p]) continue;
      const int m = std::min(comp[base_of(p)], comp[quote_of(p)]);
      for (int c : {base_of(p), quote_of(p)}) {
        if (comp[c] != m) {
          comp[c] = m;
          changed = true;
        }
      }
    }
  }
  CV s;
  s.fill(kNull);
  for (int root = 0; root < K; ++root) {
    if (comp[root] != root) continue;
    std::vector<int> unknowns;  // members other than the pinned root
    for (int c = root + 1; c < K; ++c) {
      if (comp[c] == root) unknowns.push_back(c);
    }
    const size_t n = unknowns.size();
    std::vector<std::vector<double>> a(n, std::vector<double>(n + 1, 0.0));
    for (size_t i = 0; i < n; ++i) {
      const int ci = unknowns[i];
      // d/ds_ci of sum (l_p - s_b + s_q)^2 = 0  ->  sum_p dir(p,ci) (s_b - s_q) = sum_p dir(p,ci) l_p
      for (int p = 0; p < P; ++p) {
        if (!avail[p]) continue;
        const double d = base_of(p) == ci ? 1.0 : (quote_of(p) == ci ? -1.0 : 0.0);
        if (d == 0) continue;
        a[i][n] += d * l[p];
        for (size_t j = 0; j < n; ++j) {
          if (unknowns[j] == base_of(p)) a[i][j] += d;
          if (unknowns[j] == quote_of(p)) a[i][j] -= d;
        }
      }
    }
    for (size_t col = 0; col < n; ++col) {
      size_t piv = col;
      for (size_t r = col + 1; r < n; ++r) {
        if (std::fabs(a[r][col]) > std::fabs(a[piv][col])) piv = r;
      }
      std::swap(a[col], a[piv]);
      for (size_t r = 0; r < n; ++r) {
        if (r == col) continue;
        const double f = a[r][col] / a[col][col];
        for (size_t j = col; j <= n; ++j) a[r][j] -= f * a[col][j];
      }
    }
    std::vector<int> members = {root};
    std::vector<double> x = {0.0};
    for (size_t i = 0; i < n; ++i) {
      members.push_back(unknowns[i]);
      x.push_back(a[i][n] / a[i][i]);
    }
    double mean = 0;
    for (double v : x) mean += v;
    mean /= static_cast<double>(x.size());
    for (size_t i = 0; i < members.size(); ++i) s[members[i]] = x[i] - mean;
  }
  return s;
}

// ---------------------------------------------------------------------------------------
// Plain reference of every cur output, recomputing each window from the stored history.
struct RefInput {
  Mask avail{};
  PV l{}, close{};
};

class NaiveCur {
 public:
  explicit NaiveCur(const Mask& universe) : uni_(universe) {}

  // Expected outputs at this grid row: 88 global, 11 per pair.
  std::vector<double> global;
  std::array<std::vector<double>, P> pair;
  CV s{};

  void step(const RefInput& in) {
    Mask avail{};
    PV l;
    for (int p = 0; p < P; ++p) {
      avail[p] = uni_[p] && in.avail[p];
      l[p] = avail[p] ? in.l[p] : kNull;
    }
    s = naive_strengths(avail, l);
    const size_t g = s_.size();
    s_.push_back(s);
    l_.push_back(l);
    PV ret, mrel, div;
    for (int p = 0; p < P; ++p) {
      ret[p] = g > 0 && avail[p] && !is_null(l_[g - 1][p]) ? l[p] - l_[g - 1][p] : kNull;
      div[p] = avail[p] ? l[p] - (s[base_of(p)] - s[quote_of(p)]) : kNull;
    }
    for (int p = 0; p < P; ++p) {
      double sum = 0;
      int n = 0;
      for (int r = 0; r < P; ++r) {
        if (r == p || !uni_[r] || is_null(ret[r])) continue;
        double o = 0;
        if (base_of(r) == base_of(p) || quote_of(r) == base_of(p)) {
          o = base_of(r) == base_of(p) ? 1.0 : -1.0;  // the pair's base on the base side
        } else if (base_of(r) == quote_of(p) || quote_of(r) == quote_of(p)) {
          o = quote_of(r) == quote_of(p) ? 1.0 : -1.0;  // the pair's quote on the quote side
        } else {
          continue;
        }
        sum += o * ret[r];
        ++n;
      }
      mrel[p] = n > 0 ? sum / n : kNull;
    }
    ret_.push_back(ret);
    mrel_.push_back(mrel);
    div_.push_back(div);

    global.assign(K * 11, kNull);
    int n_avail = 0;
    for (int c = 0; c < K; ++c) n_avail += is_null(s[c]) ? 0 : 1;
    for (int c = 0; c < K; ++c) {
      double* o = global.data() + c * 11;
      o[0] = s[c];
      const int moms[] = {15, 60, 240, 1440};
      for (int i = 0; i < 4; ++i)
        o[1 + i] = g >= static_cast<size_t>(moms[i]) ? s[c] - s_[g - moms[i]][c] : kNull;
      const int vols[] = {60, 240};
      for (int i = 0; i < 2; ++i) {
        const int w = vols[i];
        o[5 + i] = kNull;
        if (g < static_cast<size_t>(w)) continue;
        std::vector<double> ds;
        for (size_t r = g + 1 - w; r <= g; ++r) ds.push_back(s_[r][c] - s_[r - 1][c]);
        bool ok = true;
        for (double v : ds) ok = ok && !is_null(v);
        if (!ok) continue;
        double mean = 0;
        for (double v : ds) mean += v;
        mean /= w;
        double ss = 0;
        for (double v : ds) ss += (v - mean) * (v - mean);
        o[5 + i] = std::sqrt(ss / (w - 1));
      }
      if (!is_null(s[c])) {
        int rank = 1;
        for (int d = 0; d < K; ++d)
          rank += (!is_null(s[d]) && s[d] - s[c] > 1e-12) ? 1 : 0;  // ties within 1e-12
        o[7] = rank;
      }
      const std::vector<std::vector<int>> groups = {
          {int(Currency::USD), int(Currency::EUR), int(Currency::JPY), int(Currency::GBP)},
          {int(Currency::CHF), int(Currency::JPY)},
          {int(Currency::AUD), int(Currency::NZD), int(Currency::CAD)}};
      for (int gi = 0; gi < 3; ++gi) {
        o[8 + gi] = kNull;
        if (is_null(s[c])) continue;
        std::vector<int> others;
        for (int d : groups[gi]) {
          if (d != c && !is_null(s[d])) others.push_back(d);
        }
        std::sort(others.begin(), others.end());
        if (others.empty()) continue;
        double sum = 0;
        for (int d : others) sum += s[d];
        o[8 + gi] = s[c] - sum / static_cast<double>(others.size());
      }
    }
    auto pct = [&](int c) {
      if (is_null(s[c]) || n_avail < 2) return kNull;
      int below = 0;
      for (int d = 0; d < K; ++d) below += (!is_null(s[d]) && s[c] - s[d] > 1e-12) ? 1 : 0;
      return 100.0 * below / (n_avail - 1);
    };
    for (int p = 0; p < P; ++p) {
      auto& o = pair[p];
      o.assign(11, kNull);
      if (!uni_[p]) continue;
      const int b = base_of(p), q = quote_of(p);
      o[0] = 100.0 * std::exp(s[b]);
      o[1] = 100.0 * std::exp(s[q]);
      o[2] = s[b] - s[q];
      o[3] = pct(b);
      o[4] = pct(q);
      o[5] = div[p];
      if (g >= 60) {
        std::vector<double> x, y;
        for (size_t r = g - 59; r <= g; ++r) {
          if (is_null(ret_[r][p]) || is_null(mrel_[r][p])) break;
          x.push_back(ret_[r][p]);
          y.push_back(mrel_[r][p]);
        }
        if (x.size() == 60) {
          double mx = 0, my = 0;
          for (int i = 0; i < 60; ++i) mx += x[i], my += y[i];
          mx /= 60;
          my /= 60;
          double sxx = 0, syy = 0, sxy = 0;
          for (int i = 0; i < 60; ++i) {
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
            sxy += (x[i] - mx) * (y[i] - my);
          }
          bool flat_x = true, flat_y = true;
          for (int i = 1; i < 60; ++i) flat_x = flat_x && x[i] == x[0], flat_y = flat_y && y[i] == y[0];
          if (!flat_x && !flat_y && sxx > 0 && syy > 0) o[6] = sxy / std::sqrt(sxx * syy);
        }
      }
      // triangular consistency from raw closes
      double sum = 0;
      int n = 0;
      for (int c = 0; c < K; ++c) {
        if (c == b || c == q) continue;
        std::array<int, 3> t = {b, q, c};
        std::sort(t.begin(), t.end());
        const int legs[3][2] = {{t[0], t[1]}, {t[1], t[2]}, {t[2], t[0]}};
        double eps = 0;
        bool ok = true;
        for (const auto& leg : legs) {
          const int s_ = pair_of(leg[0], leg[1]);
          if (!avail[s_]) {
            ok = false;
            break;
          }
          const double lp = std::log(in.close[s_]);
          eps += base_of(s_) == leg[0] ? lp : -lp;
        }
        if (!ok) continue;
        sum += 1e4 * std::fabs(eps);
        ++n;
      }
      if (n > 0) o[7] = sum / n;
      const int ns[] = {15, 60, 240};
      for (int i = 0; i < 3; ++i) {
        if (g < static_cast<size_t>(ns[i])) continue;
        const size_t h = g - ns[i];
        const double pair_ret = l[p] - l_[h][p];
        const double implied = (s[b] - s_[h][b]) - (s[q] - s_[h][q]);
        o[8 + i] = pair_ret - implied;
      }
    }
  }

 private:
  Mask uni_;
  std::vector<CV> s_;
  std::vector<PV> l_, ret_, mrel_, div_;
};

// ---------------------------------------------------------------------------------------
// Kernel helpers.
struct Kernel {
  std::unique_ptr<features::CrossKernel> k;
  Mask uni;
  std::vector<double> global = std::vector<double>(88);
  std::array<std::vector<double>, P> pair;
  explicit Kernel(const Mask& universe) : uni(universe) {
    features::CrossContext ctx;
    ctx.in_universe = universe;
    k = features::make_cur_family().make(ctx);
    for (auto& v : pair) v.assign(11, 0.0);
  }
  void step(const GridRow& row) {
    k->update(row);
    k->write_global(global.data());
    for (int p = 0; p < P; ++p) k->write_pair(p, pair[p].data());
  }
};

GridRow grid_row(const Mask& uni, const RefInput& in, uint64_t row) {
  GridRow g;
  g.g = 1000000 + static_cast<EpochMinute>(row);
  g.row = row;
  g.in_universe = uni;
  for (int p = 0; p < P; ++p) {
    const bool a = uni[p] && in.avail[p];
    g.available[p] = a;
    g.has_bar[p] = a;
    g.close[p] = a ? in.close[p] : kNull;
    g.log_index[p] = a ? in.l[p] : kNull;
    g.log_close[p] = a ? std::log(in.close[p]) : kNull;
    g.reg_bqx_w60_prediction[p] = kNull;
  }
  return g;
}

// Consistent prices: close_p = exp(u_base - u_quote) exactly up to rounding.
RefInput consistent_input(const CV& u, const PV& baseline) {
  RefInput in;
  for (int p = 0; p < P; ++p) {
    in.avail[p] = true;
    in.close[p] = std::exp(u[base_of(p)] - u[quote_of(p)]);
    in.l[p] = std::log(in.close[p] / baseline[p]);
  }
  return in;
}

// ---------------------------------------------------------------------------------------
TEST(CurSolver, GeneralSolveEqualsClosedFormOnFullUniverse) {
  uint64_t seed = 11;
  for (int trial = 0; trial < 500; ++trial) {
    PV l;
    for (double& v : l) v = 0.05 * testing_frames::normal(seed);
    const auto closed = features::cur::strengths_closed_form(l);
    const auto general = features::cur::strengths_laplacian(all_mask(), l);
    bool used_closed = false;
    const auto chosen = features::cur::solve_strengths(all_mask(), l, &used_closed);
    EXPECT_TRUE(used_closed);
    for (int c = 0; c < K; ++c) {
      ASSERT_NEAR(general[c], closed[c], 1e-12) << trial << " " << c;
      EXPECT_EQ(chosen[c], closed[c]);
      // The closed form itself: s_C = (1/8) sum_{p contains C} dir(p,C) l_p.
      double b = 0;
      for (int p = 0; p < P; ++p) b += base_of(p) == c ? l[p] : (quote_of(p) == c ? -l[p] : 0.0);
      ASSERT_NEAR(closed[c], b / 8, 1e-15);
    }
  }
}

TEST(CurSolver, SumZeroNormalEquationsAndReferenceOnRandomSubsets) {
  uint64_t seed = 12;
  int multi_component = 0, with_null = 0;
  for (double share : {0.05, 0.1, 0.2, 0.5, 0.9, 0.97}) {
    for (int trial = 0; trial < 300; ++trial) {
      Mask avail{};
      PV l;
      for (int p = 0; p < P; ++p) {
        avail[p] = testing_frames::uniform01(seed) < share;
        l[p] = 0.03 * testing_frames::normal(seed);
      }
      std::array<int, K> comp{};
      bool used_closed = true;
      const auto s = features::cur::solve_strengths(avail, l, &used_closed);
      const auto s_general = features::cur::strengths_laplacian(avail, l, &comp);
      bool all = true;
      for (bool a : avail) all = all && a;
      EXPECT_EQ(used_closed, all);
      const auto ref = naive_strengths(avail, l);
      std::set<int> roots;
      for (int c = 0; c < K; ++c) {
        bool has_pair = false;
        for (int p = 0; p < P; ++p)
          has_pair = has_pair || (avail[p] && (base_of(p) == c || quote_of(p) == c));
        EXPECT_EQ(is_null(s[c]), !has_pair);
        EXPECT_EQ(comp[c] < 0, !has_pair);
        if (!has_pair) {
          ++with_null;
          continue;
        }
        roots.insert(comp[c]);
        EXPECT_NEAR(s[c], ref[c], 1e-12);
        EXPECT_NEAR(s[c], s_general[c], 1e-12);
        // Normal equation of currency c: sum_p dir(p,c) (l_p - (s_b - s_q)) = 0.
        double grad = 0;
        for (int p = 0; p < P; ++p) {
          if (!avail[p]) continue;
          const double d = base_of(p) == c ? 1.0 : (quote_of(p) == c ? -1.0 : 0.0);
          grad += d * (l[p] - (s[base_of(p)] - s[quote_of(p)]));
        }
        EXPECT_NEAR(grad, 0.0, 1e-12);
      }
      multi_component += roots.size() > 1 ? 1 : 0;
      for (int r : roots) {
        double sum = 0;
        for (int c = 0; c < K; ++c) sum += comp[c] == r ? s[c] : 0.0;
        EXPECT_NEAR(sum, 0.0, 1e-12) << "component of " << r;
      }
    }
  }
  EXPECT_GT(multi_component, 50);  // the test really covers several components
  EXPECT_GT(with_null, 50);
}

TEST(CurSolver, GoldenTriangleOnePairAndTree) {
  // Triangle EURUSD = a, GBPUSD = b, EURGBP = c (3 currencies, complete graph K3): the
  // closed form of K_k is s_C = (1/k) sum dir l, so s_EUR = (a + c)/3, s_USD = -(a + b)/3,
  // s_GBP = (b - c)/3. With a = 0.003, b = 0.001, c = 0.0014: s_EUR = 0.0044/3,
  // s_USD = -0.004/3, s_GBP = -0.0004/3; divergence of EURUSD = a - (s_EUR - s_USD)
  // = 0.003 - 0.0084/3 = 0.0002, of GBPUSD = 0.001 - 0.0036/3 = -0.0002, of EURGBP
  // = 0.0014 - 0.0048/3 = -0.0002 (each one third of a - b - c = 0.0006).
  Mask m = mask_of({"EURUSD", "GBPUSD", "EURGBP"});
  PV l{};
  l[slot("EURUSD")] = 0.003;
  l[slot("GBPUSD")] = 0.001;
  l[slot("EURGBP")] = 0.0014;
  auto s = features::cur::solve_strengths(m, l);
  EXPECT_NEAR(s[int(Currency::EUR)], 0.0044 / 3, 1e-17);
  EXPECT_NEAR(s[int(Currency::USD)], -0.004 / 3, 1e-17);
  EXPECT_NEAR(s[int(Currency::GBP)], -0.0004 / 3, 1e-17);
  for (int c : {3, 4, 5, 6, 7}) EXPECT_TRUE(is_null(s[c]));

  // One pair: s_base - s_quote = l and s_base + s_quote = 0 -> +-l/2 exactly.
  Mask one = mask_of({"USDJPY"});
  PV l1{};
  l1[slot("USDJPY")] = 0.0123;
  s = features::cur::solve_strengths(one, l1);
  EXPECT_NEAR(s[int(Currency::USD)], 0.0123 / 2, 1e-18);
  EXPECT_NEAR(s[int(Currency::JPY)], -0.0123 / 2, 1e-18);
  for (int c : {0, 2, 4, 5, 6, 7}) EXPECT_TRUE(is_null(s[c]));

  // Tree EURUSD = l1, AUDUSD = l2, USDCAD = l3 (4 currencies, 3 pairs, exact fit):
  // s_EUR = s_USD + l1, s_AUD = s_USD + l2, s_CAD = s_USD - l3 and the sum is 0, so
  // s_USD = (l3 - l1 - l2)/4. l = (0.004, -0.002, 0.006): s_USD = 0.004/4 = 0.001,
  // s_EUR = 0.005, s_AUD = -0.001, s_CAD = -0.005.
  Mask tree = mask_of({"EURUSD", "AUDUSD", "USDCAD"});
  PV lt{};
  lt[slot("EURUSD")] = 0.004;
  lt[slot("AUDUSD")] = -0.002;
  lt[slot("USDCAD")] = 0.006;
  s = features::cur::solve_strengths(tree, lt);
  EXPECT_NEAR(s[int(Currency::USD)], 0.001, 1e-17);
  EXPECT_NEAR(s[int(Currency::EUR)], 0.005, 1e-17);
  EXPECT_NEAR(s[int(Currency::AUD)], -0.001, 1e-17);
  EXPECT_NEAR(s[int(Currency::CAD)], -0.005, 1e-17);
}

TEST(CurKernel, CatalogueEntries) {
  const auto def = features::make_cur_family();
  ASSERT_EQ(def.per_pair_columns.size(), 11u);
  ASSERT_EQ(def.global_columns.size(), 88u);
  const std::vector<std::string> pp = {"cur_base_index",
                                       "cur_quote_index",
                                       "cur_index_diff",
                                       "cur_base_pct",
                                       "cur_quote_pct",
                                       "cur_pair_divergence",
                                       "cur_related_corr_60",
                                       "cur_triangular_consistency",
                                       "derived_pair_vs_implied_15",
                                       "derived_pair_vs_implied_60",
                                       "derived_pair_vs_implied_240"};
  for (size_t i = 0; i < pp.size(); ++i) {
    EXPECT_EQ(def.per_pair_columns[i].name, pp[i]);
    EXPECT_EQ(def.per_pair_columns[i].family, i < 8 ? "cur" : "derived");
  }
  EXPECT_EQ(def.global_columns[0].name, "cur_eur_strength");
  EXPECT_EQ(def.global_columns[1].name, "cur_eur_mom_15");
  EXPECT_EQ(def.global_columns[10].name, "cur_eur_vs_commodity");
  EXPECT_EQ(def.global_columns[87].name, "cur_chf_vs_commodity");
  EXPECT_EQ(def.global_columns[11 + 7].name, "cur_usd_rank");
  std::set<std::string> names;
  for (const auto* cols : {&def.per_pair_columns, &def.global_columns}) {
    for (const auto& c : *cols) {
      EXPECT_TRUE(names.insert(c.name).second) << c.name;
      EXPECT_FALSE(c.formula.empty()) << c.name;
      EXPECT_FALSE(c.unit.empty()) << c.name;
      EXPECT_FALSE(c.source.empty()) << c.name;
      EXPECT_FALSE(c.null_when.empty()) << c.name;
      EXPECT_FALSE(c.exact_lookback) << c.name;
    }
  }
  EXPECT_EQ(def.global_columns[4].lookback, 1440);
  EXPECT_EQ(def.global_columns[6].lookback, 240);
  EXPECT_EQ(def.per_pair_columns[6].lookback, 60);
  EXPECT_EQ(def.per_pair_columns[10].lookback, 240);
  // The full row files the three derived columns under `derived`, the rest under `cur`.
  int cur_cols = 0;
  for (const auto& c : features::all_feature_columns()) {
    if (c.family == "cur") ++cur_cols;
  }
  EXPECT_EQ(cur_cols, 96);
}

// Consistent markets on 1, 3 (tree), 27 and 28 pairs. (a) Random baselines: strengths equal
// the reference solver, currencies outside the universe are NULL, ranks lie in 1..n, and
// triangle residuals from the raw closes exp(u_b - u_q) vanish (NULL on a tree).
// (b) Baselines B_p = close_p(u0) themselves consistent: l_p = du_b - du_q exactly, so
// s_C = du_C - mean(du over the universe's currencies) and every divergence is 0.
TEST(CurKernel, ConsistentMarketsOnSubsetUniverses) {
  for (int ui = 0; ui < 4; ++ui) {
    Mask uni{};
    if (ui == 0) uni = mask_of({"EURUSD"});
    if (ui == 1) uni = mask_of({"EURUSD", "AUDUSD", "USDCAD"});
    if (ui >= 2) uni = all_mask();
    if (ui == 2) uni[slot("NZDCAD")] = false;
    std::set<int> present;
    for (int p = 0; p < P; ++p) {
      if (uni[p]) present.insert(base_of(p)), present.insert(quote_of(p));
    }
    Kernel k(uni);
    uint64_t seed = 21 + ui;
    CV u{};
    PV baseline;
    for (int p = 0; p < P; ++p) baseline[p] = std::exp(0.01 * testing_frames::normal(seed));
    for (int row = 0; row < 300; ++row) {
      for (double& v : u) v += 1e-3 * testing_frames::normal(seed);
      RefInput in = consistent_input(u, baseline);
      k.step(grid_row(uni, in, row));
      PV lvals;
      for (int p = 0; p < P; ++p) lvals[p] = uni[p] ? in.l[p] : kNull;
      const CV ref = naive_strengths(uni, lvals);
      for (int c = 0; c < K; ++c) {
        const double got = k.global[c * 11];
        if (!present.count(c)) {
          ASSERT_TRUE(is_null(got)) << ui << " " << c;
          ASSERT_TRUE(is_null(k.global[c * 11 + 7]));
        } else {
          ASSERT_NEAR(got, ref[c], 1e-14) << ui << " " << c;
          ASSERT_GE(k.global[c * 11 + 7], 1.0);
          ASSERT_LE(k.global[c * 11 + 7], static_cast<double>(present.size()));
        }
      }
      for (int p = 0; p < P; ++p) {
        if (!uni[p]) {
          for (double v : k.pair[p]) ASSERT_TRUE(is_null(v));
        } else if (ui <= 1) {
          ASSERT_TRUE(is_null(k.pair[p][7])) << "no triplet in a tree";
        } else {
          ASSERT_LT(k.pair[p][7], 1e-9);  // bp
        }
      }
    }
    Kernel k2(uni);
    seed = 31 + ui;
    CV u0{};
    for (double& v : u0) v = 0.2 * testing_frames::normal(seed);
    PV b2;
    for (int p = 0; p < P; ++p) b2[p] = std::exp(u0[base_of(p)] - u0[quote_of(p)]);
    CV uu = u0;
    for (int row = 0; row < 50; ++row) {
      for (double& v : uu) v += 1e-3 * testing_frames::normal(seed);
      k2.step(grid_row(uni, consistent_input(uu, b2), row));
      double mean = 0;
      for (int c : present) mean += uu[c] - u0[c];
      mean /= static_cast<double>(present.size());
      for (int c : present) ASSERT_NEAR(k2.global[c * 11], (uu[c] - u0[c]) - mean, 1e-14) << ui << " " << c;
      for (int p = 0; p < P; ++p) {
        if (!uni[p]) continue;
        ASSERT_LT(std::fabs(k2.pair[p][5]), 1e-15) << ui << " " << pair_name(all_pairs()[p]);
      }
    }
  }
}

// Random markets with random availability (pairs dropping out, whole currencies blacked
// out), on several universes: every output on every row equals the plain reference.
TEST(CurKernel, EveryColumnMatchesNaiveReference) {
  struct U {
    std::string name;
    Mask mask;
  };
  Mask m27 = all_mask();
  m27[slot("NZDCAD")] = false;
  const std::vector<U> universes = {{"28", all_mask()},
                                    {"27", m27},
                                    {"tree", mask_of({"EURUSD", "AUDUSD", "USDCAD"})},
                                    {"one", mask_of({"EURUSD"})},
                                    {"triangle", mask_of({"EURUSD", "GBPUSD", "EURGBP"})},
                                    {"two components", mask_of({"EURUSD", "AUDJPY", "AUDNZD"})}};
  for (const auto& u : universes) {
    Kernel k(u.mask);
    NaiveCur ref(u.mask);
    uint64_t seed = 41;
    CV lv{}, cur{};
    for (double& v : lv) v = 0.3 * testing_frames::normal(seed);
    std::array<int, P> out_left{};
    std::array<int, K> blackout{};
    std::array<size_t, 11> pair_non_null{};
    std::array<size_t, 11> global_non_null{};
    int closed_rows = 0, solver_rows = 0, mismatches = 0;
    const int rows = 1700;
    for (int row = 0; row < rows; ++row) {
      for (double& v : cur) v += 1.2e-4 * testing_frames::normal(seed);
      for (int c = 0; c < K; ++c) {
        if (blackout[c] > 0) {
          --blackout[c];
        } else if (testing_frames::uniform01(seed) < 0.0015) {
          blackout[c] = 1 + static_cast<int>(30 * testing_frames::uniform01(seed));
        }
      }
      RefInput in;
      bool all = true;
      for (int p = 0; p < P; ++p) {
        if (out_left[p] > 0) {
          --out_left[p];
        } else if (testing_frames::uniform01(seed) < 0.002) {
          out_left[p] = 1 + static_cast<int>(12 * testing_frames::uniform01(seed));
        }
        const int b = base_of(p), q = quote_of(p);
        in.avail[p] = u.mask[p] && out_left[p] == 0 && blackout[b] == 0 && blackout[q] == 0;
        const double level = lv[b] - lv[q];
        const double noise = 0.4e-4 * testing_frames::normal(seed);
        in.close[p] = std::exp(level + cur[b] - cur[q] + noise);
        in.l[p] = std::log(in.close[p] / std::exp(level));
        all = all && in.avail[p];
      }
      (all ? closed_rows : solver_rows) += 1;
      k.step(grid_row(u.mask, in, row));
      ref.step(in);
      for (int i = 0; i < 88; ++i) {
        if (!close_enough(k.global[i], ref.global[i]) && ++mismatches <= 10) {
          ADD_FAILURE() << u.name << " row " << row << " global "
                        << features::make_cur_family().global_columns[i].name << " got " << k.global[i]
                        << " want " << ref.global[i];
        }
        global_non_null[i % 11] += is_null(ref.global[i]) ? 0 : 1;
      }
      for (int p = 0; p < P; ++p) {
        for (int i = 0; i < 11; ++i) {
          if (!close_enough(k.pair[p][i], ref.pair[p][i]) && ++mismatches <= 10) {
            ADD_FAILURE() << u.name << " row " << row << " " << pair_name(all_pairs()[p]) << " "
                          << features::make_cur_family().per_pair_columns[i].name << " got " << k.pair[p][i]
                          << " want " << ref.pair[p][i];
          }
          if (u.mask[p]) pair_non_null[i] += is_null(ref.pair[p][i]) ? 0 : 1;
        }
      }
    }
    EXPECT_EQ(mismatches, 0) << u.name;
    // The reference exercises the interesting paths (the test can fail).
    for (int i = 0; i < 11 && (u.name == "28" || u.name == "27"); ++i) {
      EXPECT_GT(global_non_null[i], 0u) << u.name << " global kind " << i;
      EXPECT_LT(global_non_null[i], static_cast<size_t>(rows) * 8) << u.name << " global kind " << i;
      EXPECT_GT(pair_non_null[i], 0u) << u.name << " pair column " << i;
    }
    if (u.name == "tree" || u.name == "one" || u.name == "two components") {
      EXPECT_EQ(pair_non_null[7], 0u);  // no triplet can be formed
    }
    if (u.name == "28") {
      EXPECT_GT(closed_rows, 100);
      EXPECT_GT(solver_rows, 100);
    }
  }
}

TEST(CurKernel, RelatedCorrelationOrientation) {
  // Only USD moves (u_USD random walk, the other currencies fixed, l_p = u_b - u_q).
  // EURUSD returns R = -du. Related pairs sharing its quote USD, oriented with USD on the
  // quote side (GBPUSD as is, USDJPY times -1, ...), all return -du; the 6 sharing EUR
  // return 0; so M = (6 * -du + 6 * 0) / 12 = -du/2 and the correlation is 1 (a wrong
  // orientation would mix +du and -du and break it). Likewise for every USD pair. Pairs
  // without USD never move: R is constantly 0 and the correlation is NULL.
  Mask uni = all_mask();
  Kernel k(uni);
  uint64_t seed = 5;
  CV u{};
  PV baseline;
  baseline.fill(1.0);
  for (int row = 0; row < 200; ++row) {
    u[int(Currency::USD)] += 1e-4 * testing_frames::normal(seed);
    k.step(grid_row(uni, consistent_input(u, baseline), row));
    for (int p = 0; p < P; ++p) {
      const bool has_usd = base_of(p) == int(Currency::USD) || quote_of(p) == int(Currency::USD);
      const double c = k.pair[p][6];
      if (row < 60) {
        ASSERT_TRUE(is_null(c)) << "warm-up: 60 returns need 61 rows";
      } else if (has_usd) {
        ASSERT_NEAR(c, 1.0, 1e-12) << pair_name(all_pairs()[p]) << " row " << row;
      } else {
        ASSERT_TRUE(is_null(c)) << pair_name(all_pairs()[p]);
      }
    }
  }
}

TEST(CurKernel, GoldenRowTriangle) {
  // Triangle EURUSD 1.08, GBPUSD 1.27, EURGBP 0.85, baselines 1.08, 1.27, 0.85 * e^-0.0006.
  // Triplet (EUR, USD, GBP) in currency order: eps = ln 1.08 - ln 1.27 - ln 0.85
  // = ln(1.08 / 1.0795) = ln(1.000463177396943) = 4.630701634034e-4 -> 4.630701634034 bp,
  // the triangular consistency of each of the three pairs.
  // l = (0, 0, 0.0006): s_EUR = 0.0006/3, s_USD = 0, s_GBP = -0.0006/3 (K3 closed form),
  // so cur_index_diff(EURGBP) = 0.0004, divergence(EURGBP) = 0.0006 - 0.0004 = 0.0002,
  // divergence(EURUSD) = 0 - 0.0002 = -0.0002, divergence(GBPUSD) = 0 - (-0.0002) = 0.0002.
  // Ranks EUR 1, USD 2, GBP 3; pct EUR 100, USD 50, GBP 0; index EUR 100 e^0.0002.
  // vs_major(EUR) = s_EUR - mean(s_USD, s_GBP) (JPY unavailable) = 0.0002 + 0.0001 = 0.0003.
  Mask uni = mask_of({"EURUSD", "GBPUSD", "EURGBP"});
  Kernel k(uni);
  RefInput in;
  const int eu = slot("EURUSD"), gu = slot("GBPUSD"), eg = slot("EURGBP");
  in.avail[eu] = in.avail[gu] = in.avail[eg] = true;
  in.close[eu] = 1.08;
  in.close[gu] = 1.27;
  in.close[eg] = 0.85;
  in.l[eu] = 0;
  in.l[gu] = 0;
  in.l[eg] = 0.0006;
  k.step(grid_row(uni, in, 0));
  for (int p : {eu, gu, eg}) EXPECT_NEAR(k.pair[p][7], 4.630701634034118, 1e-9);
  EXPECT_NEAR(k.pair[eg][2], 0.0004, 1e-18);
  EXPECT_NEAR(k.pair[eg][5], 0.0002, 1e-18);
  EXPECT_NEAR(k.pair[eu][5], -0.0002, 1e-18);
  EXPECT_NEAR(k.pair[gu][5], 0.0002, 1e-18);
  EXPECT_NEAR(k.pair[eu][0], 100 * std::exp(0.0002), 1e-13);
  EXPECT_EQ(k.global[0 * 11 + 7], 1.0);
  EXPECT_EQ(k.global[1 * 11 + 7], 2.0);
  EXPECT_EQ(k.global[2 * 11 + 7], 3.0);
  EXPECT_EQ(k.pair[eu][3], 100.0);
  EXPECT_EQ(k.pair[eu][4], 50.0);
  EXPECT_EQ(k.pair[gu][3], 0.0);
  EXPECT_NEAR(k.global[0 * 11 + 8], 0.0003, 1e-18);
  EXPECT_TRUE(is_null(k.global[0 * 11 + 9]));  // EUR vs {CHF, JPY}: none available
  EXPECT_TRUE(is_null(k.global[3 * 11 + 0]));  // JPY has no pair
  EXPECT_TRUE(is_null(k.global[0 * 11 + 1]));  // mom_15 needs 15 earlier rows
}

TEST(CurKernel, TiesShareTheSmallerRank) {
  // Tree EURUSD, AUDUSD, USDCAD at their baselines (l = 0): all four strengths are 0 in
  // exact arithmetic (the solver may leave ~1e-19 of rounding): every rank is 1 and every
  // percentile 0. Then l_EURUSD = l_AUDUSD = 0.001, l_USDCAD = 0: s_USD = (0 - 0.002)/4
  // = -0.0005, s_EUR = s_AUD = 0.0005 (tied, rank 1, pct 100 * 2/3), s_CAD = -0.0005
  // (tied with USD: rank 3, pct 0).
  Mask uni = mask_of({"EURUSD", "AUDUSD", "USDCAD"});
  Kernel k(uni);
  RefInput in;
  for (const char* n : {"EURUSD", "AUDUSD", "USDCAD"}) {
    in.avail[slot(n)] = true;
    in.close[slot(n)] = 1.0;
    in.l[slot(n)] = 0.0;
  }
  k.step(grid_row(uni, in, 0));
  for (int c : {0, 1, 4, 6}) EXPECT_EQ(k.global[c * 11 + 7], 1.0) << c;
  for (const char* n : {"EURUSD", "AUDUSD", "USDCAD"}) {
    EXPECT_EQ(k.pair[slot(n)][3], 0.0);
    EXPECT_EQ(k.pair[slot(n)][4], 0.0);
  }
  in.l[slot("EURUSD")] = in.l[slot("AUDUSD")] = 0.001;
  k.step(grid_row(uni, in, 1));
  const int eur = 0, usd = 1, aud = 4, cad = 6;
  EXPECT_NEAR(k.global[usd * 11], -0.0005, 1e-18);
  EXPECT_EQ(k.global[eur * 11 + 7], 1.0);
  EXPECT_EQ(k.global[aud * 11 + 7], 1.0);
  EXPECT_EQ(k.global[usd * 11 + 7], 3.0);
  EXPECT_EQ(k.global[cad * 11 + 7], 3.0);
  EXPECT_EQ(k.pair[slot("EURUSD")][3], 100.0 * 2 / 3);
  EXPECT_EQ(k.pair[slot("EURUSD")][4], 0.0);
  EXPECT_EQ(k.pair[slot("USDCAD")][4], 0.0);
}

TEST(CurKernel, SaveLoadContinuesBitIdentically) {
  Mask uni = all_mask();
  uni[slot("CADCHF")] = false;
  auto make_rows = [&] {
    std::vector<GridRow> rows;
    uint64_t seed = 77;
    CV u{};
    for (int row = 0; row < 1600; ++row) {
      for (double& v : u) v += 1e-4 * testing_frames::normal(seed);
      RefInput in;
      for (int p = 0; p < P; ++p) {
        in.avail[p] = testing_frames::uniform01(seed) > 0.01;
        in.close[p] = std::exp(u[base_of(p)] - u[quote_of(p)] + 3e-5 * testing_frames::normal(seed));
        in.l[p] = std::log(in.close[p]);
      }
      rows.push_back(grid_row(uni, in, row));
    }
    return rows;
  };
  const auto rows = make_rows();
  Kernel full(uni);
  std::vector<std::vector<double>> expected;
  for (const auto& r : rows) {
    full.step(r);
    std::vector<double> all = full.global;
    for (const auto& v : full.pair) all.insert(all.end(), v.begin(), v.end());
    expected.push_back(all);
  }
  for (size_t cut : {1u, 59u, 61u, 300u, 1441u, 1500u}) {
    Kernel a(uni);
    for (size_t i = 0; i < cut; ++i) a.step(rows[i]);
    std::vector<uint8_t> bytes;
    features::StateWriter w(bytes);
    a.k->save(w);
    Kernel b(uni);
    features::StateReader rd(bytes.data(), bytes.size());
    b.k->load(rd);
    ASSERT_TRUE(rd.ok() && rd.at_end());
    // The restored kernel writes the same current row without an update...
    std::vector<double> g(88);
    b.k->write_global(g.data());
    ASSERT_EQ(std::memcmp(g.data(), expected[cut - 1].data(), 88 * sizeof(double)), 0);
    // ...and continues bit-identically.
    for (size_t i = cut; i < rows.size(); ++i) {
      b.step(rows[i]);
      std::vector<double> all = b.global;
      for (const auto& v : b.pair) all.insert(all.end(), v.begin(), v.end());
      ASSERT_EQ(std::memcmp(all.data(), expected[i].data(), all.size() * sizeof(double)), 0)
          << cut << " " << i;
    }
    // Truncated state is rejected; a different universe is rejected.
    Kernel c(uni);
    features::StateReader half(bytes.data(), bytes.size() / 2);
    c.k->load(half);
    EXPECT_FALSE(half.ok());
    Kernel d(all_mask());
    features::StateReader other(bytes.data(), bytes.size());
    d.k->load(other);
    EXPECT_FALSE(other.ok());
  }
}

// ---------------------------------------------------------------------------------------
// Through the MarketEngine.

struct EngineColumns {
  std::vector<int> pair_cols;    // 11 per-pair outputs
  std::vector<int> global_cols;  // 88
};

EngineColumns engine_columns(const MarketEngine& e) {
  features::ColumnLayout layout;
  for (const auto& c : e.columns()) layout.add(c.name);
  const auto def = features::make_cur_family();
  EngineColumns out;
  for (const auto& c : def.per_pair_columns) out.pair_cols.push_back(layout.index_of(c.name));
  for (const auto& c : def.global_columns) out.global_cols.push_back(layout.index_of(c.name));
  for (int i : out.pair_cols) EXPECT_GE(i, 0);
  for (int i : out.global_cols) EXPECT_GE(i, 0);
  return out;
}

// Naive as-of grid from the frames: at g a pair's value is its last bar with ts <= g if at
// most `staleness` minutes old.
class NaiveGrid {
 public:
  NaiveGrid(const std::vector<BarFrame>& frames, int staleness)
      : frames_(frames), staleness_(staleness), pos_(frames.size()) {
    for (const auto& f : frames) baseline_.push_back(f.close[0]);
  }
  RefInput at(EpochMinute g) {
    RefInput in;
    for (size_t f = 0; f < frames_.size(); ++f) {
      while (pos_[f] < frames_[f].size() && frames_[f].ts[pos_[f]] <= g) ++pos_[f];
      const int p = pair_index(frames_[f].pair);
      if (pos_[f] == 0) continue;
      const size_t i = pos_[f] - 1;
      if (g - frames_[f].ts[i] > staleness_) continue;
      in.avail[p] = true;
      in.close[p] = frames_[f].close[i];
      in.l[p] = std::log(frames_[f].close[i] / baseline_[f]);
    }
    return in;
  }
  // ts of the as-of bar of frame f at the last at() call (valid if available).
  EpochMinute asof_ts(size_t f) const { return pos_[f] == 0 ? INT64_MIN : frames_[f].ts[pos_[f] - 1]; }

 private:
  const std::vector<BarFrame>& frames_;
  int staleness_;
  std::vector<size_t> pos_;
  std::vector<double> baseline_;
};

std::vector<PairSetup> universe_of(const std::vector<BarFrame>& frames) {
  std::vector<PairSetup> u;
  for (const auto& f : frames) u.push_back(PairSetup{f.pair, f.close[0]});
  return u;
}

GeneratedMarket generated(int days, std::vector<Pair> pairs = {}) {
  GeneratorOptions o;
  o.pairs = std::move(pairs);
  auto m = generate_market(o);
  const EpochMinute end = month_start(o.start) + days * kMinutesPerDay;
  for (auto& f : m.frames) {
    size_t n = 0;
    while (n < f.size() && f.ts[n] < end) ++n;
    f.ts.resize(n);
    for (auto* col : {&f.open, &f.high, &f.low, &f.close, &f.volume, &f.bid, &f.ask}) col->resize(n);
  }
  return m;
}

// Runs the engine over the frames and compares each row's cur/derived columns with the
// reference computed on an independently built as-of grid. on_minute sees each grid minute.
struct EngineCheck {
  int mismatches = 0;
  size_t rows = 0, grid_rows = 0, solver_rows = 0;
  std::vector<std::array<double, 11>> seen_non_null;
};

template <typename OnRow>
EngineCheck check_engine(const std::vector<BarFrame>& frames, int staleness, OnRow on_row) {
  MarketOptions opt;
  opt.max_staleness_minutes = staleness;
  auto e = MarketEngine::create(universe_of(frames), opt);
  EXPECT_TRUE(e.ok());
  const EngineColumns cols = engine_columns(*e);
  Mask uni{};
  for (const auto& f : frames) uni[pair_index(f.pair)] = true;
  NaiveGrid grid(frames, staleness);
  NaiveCur ref(uni);
  EngineCheck out;
  EpochMinute current = INT64_MIN;
  RefInput in;
  const auto def = features::make_cur_family();
  auto status = run_market(*e, frames, [&](Pair pair, EpochMinute ts, const double* row) {
    if (ts != current) {
      current = ts;
      in = grid.at(ts);
      ref.step(in);
      ++out.grid_rows;
      int n = 0;
      for (int p = 0; p < P; ++p) n += in.avail[p] ? 1 : 0;
      out.solver_rows += n < P ? 1 : 0;
    }
    ++out.rows;
    const int p = pair_index(pair);
    for (int i = 0; i < 11; ++i) {
      const double got = row[cols.pair_cols[i]], want = ref.pair[p][i];
      if (!close_enough(got, want) && ++out.mismatches <= 10) {
        ADD_FAILURE() << format_iso(ts) << " " << pair_name(pair) << " " << def.per_pair_columns[i].name
                      << " got " << got << " want " << want;
      }
    }
    for (int i = 0; i < 88; ++i) {
      const double got = row[cols.global_cols[i]], want = ref.global[i];
      if (!close_enough(got, want) && ++out.mismatches <= 10) {
        ADD_FAILURE() << format_iso(ts) << " " << pair_name(pair) << " " << def.global_columns[i].name
                      << " got " << got << " want " << want;
      }
    }
    on_row(pair, ts, row, cols, in);
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok());
  return out;
}

TEST(CurEngine, GeneratedAllPairsMatchReferenceAndDivergenceIsNoise) {
  // 28 pairs, the first 2 days of 2024-07 (~2,900 grid rows: mom_1440 is exercised).
  const GeneratedMarket market = generated(2);
  const auto& frames = market.frames;
  // Rows whose as-of data could carry an injected mispricing are excluded from the
  // divergence statistics (the as-of bar of some pair lies in a mispricing interval).
  auto mispriced = [&](EpochMinute g) {
    for (const auto& m : market.mispricings) {
      if (g >= m.start && g <= m.end + 5) return true;
    }
    return false;
  };
  std::map<EpochMinute, int> bars_at;
  for (const auto& f : frames) {
    for (EpochMinute t : f.ts) ++bars_at[t];
  }
  double max_all = 0, max_fresh = 0, ss_all = 0, ss_fresh = 0;
  size_t n_all = 0, n_fresh = 0;
  std::array<size_t, 11> non_null{};
  // Per column: a hash of its whole value sequence and its range, to find constant or
  // duplicated columns (FEATURES.md section 5).
  std::vector<uint64_t> hash(99, 1469598103934665603ull);
  std::vector<double> lo(99, INFINITY), hi(99, -INFINITY);
  const auto check = check_engine(
      frames, features::kDefaultMaxStalenessMinutes,
      [&](Pair pair, EpochMinute ts, const double* row, const EngineColumns& cols, const RefInput&) {
        for (int i = 0; i < 11; ++i) non_null[i] += is_null(row[cols.pair_cols[i]]) ? 0 : 1;
        for (int i = 0; i < 99; ++i) {
          const double v = row[i < 11 ? cols.pair_cols[i] : cols.global_cols[i - 11]];
          uint64_t bits;
          std::memcpy(&bits, &v, sizeof bits);
          hash[i] = (hash[i] ^ bits) * 1099511628211ull;
          if (!is_null(v)) lo[i] = std::min(lo[i], v), hi[i] = std::max(hi[i], v);
        }
        if (mispriced(ts)) return;
        (void)pair;
        const double d = row[cols.pair_cols[5]];
        ASSERT_FALSE(is_null(d));
        max_all = std::max(max_all, std::fabs(d));
        ss_all += d * d;
        ++n_all;
        if (bars_at[ts] == P) {  // every pair has a bar exactly at g: no staleness
          max_fresh = std::max(max_fresh, std::fabs(d));
          ss_fresh += d * d;
          ++n_fresh;
        }
      });
  EXPECT_EQ(check.mismatches, 0);
  size_t bars = 0;
  for (const auto& f : frames) bars += f.size();
  EXPECT_EQ(check.rows, bars);
  EXPECT_GT(check.grid_rows, 2000u);
  EXPECT_GT(check.solver_rows, 10u) << "gaps > 5 minutes make pairs unavailable (solver path)";
  for (int i = 0; i < 11; ++i) {
    EXPECT_GT(non_null[i], bars / 4) << i;
    std::printf("%-28s non-NULL %.4f\n", features::make_cur_family().per_pair_columns[i].name.c_str(),
                static_cast<double>(non_null[i]) / bars);
  }
  for (int i = 0; i < 99; ++i) {
    EXPECT_LT(lo[i], hi[i]) << "constant column " << i;
    for (int j = 0; j < i; ++j) EXPECT_NE(hash[i], hash[j]) << "duplicate columns " << i << " " << j;
  }
  const double rms_all = std::sqrt(ss_all / n_all), rms_fresh = std::sqrt(ss_fresh / n_fresh);
  std::printf("divergence: all rows n=%zu max %.3g rms %.3g; fresh rows n=%zu max %.3g rms %.3g\n", n_all,
              max_all, rms_all, n_fresh, max_fresh, rms_fresh);
  ASSERT_GT(n_fresh, 1000u);
  // Expected size: div_p = -(1/8) sum of the pair's 6 triangle residuals. With 0.2 bp
  // i.i.d. noise per quote (the pair's own noise enters all 6 triangles, the 12 other legs
  // once each) its sd is 0.2 bp * sqrt(6^2 + 12) / 8 = 0.173 bp, plus the same again as a
  // constant from the baselines B_p (first closes, equally noisy): ~0.245 bp = 2.45e-5.
  // Measured (seed 42, 2 days): fresh rows rms 2.55e-5, max 8.7e-5; all rows (as-of quotes
  // up to 5 minutes old add the latent move) rms 2.9e-5, max 2.25e-4.
  EXPECT_LT(rms_fresh, 3.5e-5);
  EXPECT_LT(max_fresh, 1.5e-4);  // 6 sd
  EXPECT_LT(rms_all, 5e-5);
  EXPECT_LT(max_all, 5e-4);
}

TEST(CurEngine, SubsetUniversesMatchReference) {
  const GeneratedMarket market = generated(1);
  const std::vector<std::vector<std::string>> universes = {
      {"EURUSD"}, {"EURUSD", "AUDUSD", "USDCAD"}, {"EURUSD", "GBPUSD", "EURGBP", "USDJPY"}};
  for (const auto& names : universes) {
    std::vector<BarFrame> subset;
    for (const auto& f : market.frames) {
      if (std::find(names.begin(), names.end(), pair_name(f.pair)) != names.end()) subset.push_back(f);
    }
    ASSERT_EQ(subset.size(), names.size());
    const auto check = check_engine(
        subset, 5, [](Pair, EpochMinute, const double*, const EngineColumns&, const RefInput&) {});
    EXPECT_EQ(check.mismatches, 0) << names.size();
  }
  // 27 pairs (all but NZDCAD): always the Laplacian path.
  std::vector<BarFrame> f27;
  for (const auto& f : market.frames) {
    if (pair_name(f.pair) != "NZDCAD") f27.push_back(f);
  }
  const auto check =
      check_engine(f27, 5, [](Pair, EpochMinute, const double*, const EngineColumns&, const RefInput&) {});
  EXPECT_EQ(check.mismatches, 0);
  EXPECT_EQ(check.solver_rows, check.grid_rows);
}

TEST(CurEngine, StalePairBecomesUnavailableAfterFiveMinutes) {
  // EURUSD and GBPUSD trade every minute, EURGBP only at minutes 0..9 and from 20 on.
  // Its as-of bar (minute 9) is used up to minute 14 (5 minutes old) and dropped at 15..19:
  // the universe then is the tree {EURUSD, GBPUSD}, fitted exactly (divergence 0) with
  // s_USD = -(a + b)/3, s_EUR = (2a - b)/3, s_GBP = (2b - a)/3 (a = l_EURUSD, b = l_GBPUSD).
  const EpochMinute t0 = make_epoch_minute(2024, 7, 1, 0, 0);
  std::vector<BarFrame> frames(3);
  frames[0].pair = parse_pair("EURGBP").value();
  frames[1].pair = parse_pair("EURUSD").value();
  frames[2].pair = parse_pair("GBPUSD").value();
  for (int m = 0; m < 30; ++m) {
    const double eu = 1.08 * std::exp(1e-4 * m), gu = 1.27 * std::exp(-0.5e-4 * m);
    const double eg = eu / gu * std::exp(m > 0 ? 2e-4 : 0.0);  // 2 bp off the baseline row
    auto bar = [&](double c) { return Bar{t0 + m, c, c, c, c, 10, c, c}; };
    if (m < 10 || m >= 20) frames[0].push_back(bar(eg));
    frames[1].push_back(bar(eu));
    frames[2].push_back(bar(gu));
  }
  auto e = MarketEngine::create(universe_of(frames));
  ASSERT_TRUE(e.ok());
  const EngineColumns cols = engine_columns(*e);
  const int eur = 0, usd = 1, gbp = 2;
  int checked = 0;
  ASSERT_TRUE(run_market(*e, frames, [&](Pair pair, EpochMinute ts, const double* row) {
                const int m = static_cast<int>(ts - t0);
                if (pair_name(pair) != "EURUSD") return Status::Ok();
                const double div = row[cols.pair_cols[5]];
                const double tri = row[cols.pair_cols[7]];
                if (m == 0) {
                  EXPECT_LT(std::fabs(div), 1e-15);
                } else if (m <= 14) {
                  EXPECT_GT(std::fabs(div), 1e-5) << m;  // triangle with the (stale) EURGBP
                  EXPECT_FALSE(is_null(tri)) << m;
                } else if (m < 20) {
                  EXPECT_LT(std::fabs(div), 1e-16) << m;
                  EXPECT_TRUE(is_null(tri)) << m;
                  const double a = std::log(std::exp(1e-4 * m)), b = std::log(std::exp(-0.5e-4 * m));
                  EXPECT_NEAR(row[cols.global_cols[usd * 11]], -(a + b) / 3, 1e-15) << m;
                  EXPECT_NEAR(row[cols.global_cols[eur * 11]], (2 * a - b) / 3, 1e-15) << m;
                  EXPECT_NEAR(row[cols.global_cols[gbp * 11]], (2 * b - a) / 3, 1e-15) << m;
                  ++checked;
                } else {
                  EXPECT_GT(std::fabs(div), 1e-5) << m;
                }
                return Status::Ok();
              }).ok());
  EXPECT_EQ(checked, 5);
}

}  // namespace
}  // namespace bqx
