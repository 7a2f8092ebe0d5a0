// corr (FEATURES.md 2.4): catalogue, golden values, the currency-strength solver, a naive
// recompute-the-window reference for all 27 columns on random as-of grids (28 / 27 / 3 / 1
// pairs), snapshot/restore and the MarketEngine path on generated data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "engine/market_engine.h"
#include "features/cross/corr_kernel.h"
#include "features/cross/corr_strength.h"
#include "features/cross/cross_families.h"
#include "features/registry.h"
#include "market_frames.h"
#include "grid_reference.h"
#include "test_frames.h"

namespace bqx {
namespace {

using features::CrossContext;
using features::CrossKernel;
using features::GridRow;
using features::is_null;
using features::kNull;

constexpr int kC = features::kCorrColumns;
using Row = std::array<double, kC>;

Pair P(const char* name) { return parse_pair(name).value(); }
int S(const char* name) { return pair_index(P(name)); }

bool close_enough(double a, double b) {
  if (is_null(a) || is_null(b)) return is_null(a) && is_null(b);
  return std::fabs(a - b) <= 1e-12 + 1e-9 * std::fabs(b);
}
bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

int column(const std::string& name) {
  const auto def = features::make_corr_family();
  for (size_t i = 0; i < def.per_pair_columns.size(); ++i) {
    if (def.per_pair_columns[i].name == name) return static_cast<int>(i);
  }
  ADD_FAILURE() << "no column " << name;
  return 0;
}

// The as-of grid exactly as MarketEngine::step builds it (FEATURES.md 2, "Grid and as-of");
// CorrEngine.MatchesKernelOnDirectGrid proves the two agree.
using testing_frames::build_grid;

// Random frames: currency log-values random walks with a common factor (so correlations are
// far from 0), pair = base - quote + 0.3 bp noise; ~6 % missing minutes (as-of carries them:
// zero returns), occasional 9-minute gaps (the pair goes missing: NULL returns) and, for
// `pegged`, a pair whose price never changes.
std::vector<BarFrame> random_frames(const std::vector<Pair>& universe, int minutes, uint64_t seed,
                                    Pair pegged = Pair{Currency::EUR, Currency::EUR}) {
  uint64_t rng = seed * 7777 + 3;
  std::array<double, kCurrencyCount> v{};
  const std::array<double, kCurrencyCount> level = {0.08, 0.0, 0.24, -5.0, -0.41, -0.49, -0.31, 0.13};
  const std::array<double, kCurrencyCount> beta = {0.3, -1.0, 0.2, 0.5, 0.8, 0.9, 0.4, 0.1};
  std::vector<BarFrame> frames;
  for (Pair p : canonical_order(universe)) {
    BarFrame f;
    f.pair = p;
    frames.push_back(f);
  }
  std::vector<int> gap(frames.size(), 0);
  const EpochMinute t0 = make_epoch_minute(2024, 7, 1, 8, 0);
  for (int m = 0; m < minutes; ++m) {
    const double common = testing_frames::normal(rng);
    for (int c = 0; c < kCurrencyCount; ++c) v[c] += 1e-4 * (beta[c] * common + testing_frames::normal(rng));
    for (size_t i = 0; i < frames.size(); ++i) {
      const double u = testing_frames::uniform01(rng);
      const double noise = 0.3e-4 * testing_frames::normal(rng);
      if (gap[i] > 0) {
        --gap[i];
        continue;
      }
      if (u < 0.003) {
        gap[i] = 8;
        continue;
      }
      if (u < 0.06) continue;
      const Pair p = frames[i].pair;
      const int b = static_cast<int>(p.base), q = static_cast<int>(p.quote);
      const double c = p == pegged ? 1.1 : std::exp(level[b] - level[q] + v[b] - v[q] + noise);
      frames[i].push_back(Bar{t0 + m, c, c, c, c, 1.0, c, c});
    }
  }
  return frames;
}

std::unique_ptr<CrossKernel> make_kernel(const std::vector<BarFrame>& frames) {
  CrossContext ctx;
  for (const auto& f : frames) ctx.in_universe[pair_index(f.pair)] = true;
  return features::make_corr_family().make(ctx);
}

// ---------------------------------------------------------------------------------------
// Independent least-squares strengths: per connected component, pin the first currency at 0,
// solve the normal equations of the design matrix (one row per available pair) by Gaussian
// elimination with partial pivoting, then shift to zero sum.
std::array<double, kCurrencyCount> naive_strengths(const std::array<bool, kPairCount>& avail,
                                                   const std::array<double, kPairCount>& l) {
  std::array<double, kCurrencyCount> s;
  s.fill(kNull);
  std::array<int, kCurrencyCount> comp;
  comp.fill(-1);
  const auto& pairs = all_pairs();
  int ncomp = 0;
  for (int c = 0; c < kCurrencyCount; ++c) {
    bool has = false;
    for (int p = 0; p < kPairCount; ++p) {
      has |= avail[p] && (static_cast<int>(pairs[p].base) == c || static_cast<int>(pairs[p].quote) == c);
    }
    if (!has || comp[c] >= 0) continue;
    comp[c] = ncomp;
    for (bool grew = true; grew;) {
      grew = false;
      for (int p = 0; p < kPairCount; ++p) {
        if (!avail[p]) continue;
        const int b = static_cast<int>(pairs[p].base), q = static_cast<int>(pairs[p].quote);
        if (comp[b] == ncomp && comp[q] < 0) comp[q] = ncomp, grew = true;
        if (comp[q] == ncomp && comp[b] < 0) comp[b] = ncomp, grew = true;
      }
    }
    ++ncomp;
  }
  for (int k = 0; k < ncomp; ++k) {
    std::vector<int> mem;
    for (int c = 0; c < kCurrencyCount; ++c) {
      if (comp[c] == k) mem.push_back(c);
    }
    const size_t u = mem.size() - 1;  // unknowns: all but mem[0]
    std::vector<std::vector<double>> a(u, std::vector<double>(u + 1, 0.0));
    for (int p = 0; p < kPairCount; ++p) {
      if (!avail[p] || comp[static_cast<int>(pairs[p].base)] != k) continue;
      std::vector<double> row(u, 0.0);
      for (size_t i = 1; i < mem.size(); ++i) {
        if (mem[i] == static_cast<int>(pairs[p].base)) row[i - 1] = 1;
        if (mem[i] == static_cast<int>(pairs[p].quote)) row[i - 1] = -1;
      }
      for (size_t i = 0; i < u; ++i) {
        for (size_t j = 0; j < u; ++j) a[i][j] += row[i] * row[j];
        a[i][u] += row[i] * l[p];
      }
    }
    for (size_t c = 0; c < u; ++c) {
      size_t piv = c;
      for (size_t r = c + 1; r < u; ++r) {
        if (std::fabs(a[r][c]) > std::fabs(a[piv][c])) piv = r;
      }
      std::swap(a[c], a[piv]);
      for (size_t r = 0; r < u; ++r) {
        if (r == c) continue;
        const double f = a[r][c] / a[c][c];
        for (size_t j = c; j <= u; ++j) a[r][j] -= f * a[c][j];
      }
    }
    std::vector<double> x(mem.size(), 0.0);
    for (size_t i = 0; i < u; ++i) x[i + 1] = a[i][u] / a[i][i];
    double mean = 0;
    for (double v : x) mean += v;
    mean /= static_cast<double>(x.size());
    for (size_t i = 0; i < mem.size(); ++i) s[mem[i]] = x[i] - mean;
  }
  return s;
}

// Naive reference: keeps every series' whole history and recomputes each window.
class NaiveCorr {
 public:
  explicit NaiveCorr(std::array<bool, kPairCount> in) : in_(in) {}

  std::array<Row, kPairCount> step(const GridRow& g) {
    const auto& pairs = all_pairs();
    std::array<double, kPairCount> l{}, r{};
    std::array<bool, kPairCount> avail{};
    for (int p = 0; p < kPairCount; ++p) {
      avail[p] = in_[p] && g.available[p];
      l[p] = avail[p] ? g.log_index[p] : kNull;
      r[p] = (!rows_.empty() && avail[p] && !is_null(prev_l_[p])) ? l[p] - prev_l_[p] : kNull;
    }
    const auto s = naive_strengths(avail, l);
    std::array<double, kCurrencyCount> ds{};
    for (int c = 0; c < kCurrencyCount; ++c) {
      ds[c] = (!rows_.empty() && !is_null(s[c]) && !is_null(prev_s_[c])) ? s[c] - prev_s_[c] : kNull;
    }
    std::array<double, kPairCount> m{};
    for (int p = 0; p < kPairCount; ++p) {
      double sum = 0;
      int n = 0;
      for (int q = 0; q < kPairCount; ++q) {
        const int o = orientation(p, q);
        if (o == 0 || !in_[q] || is_null(r[q])) continue;
        sum += o * r[q];
        ++n;
      }
      m[p] = n ? sum / n : kNull;
    }
    R_.push_back(r);
    DS_.push_back(ds);
    M_.push_back(m);
    prev_l_ = l;
    prev_s_ = s;
    rows_.push_back(g.g);
    const size_t t = rows_.size() - 1;

    std::array<Row, kPairCount> out{};
    for (int p = 0; p < kPairCount; ++p) {
      Row& o = out[p];
      o.fill(kNull);
      if (!in_[p]) continue;
      auto rp = [&](size_t h) { return R_[h][p]; };
      std::vector<double> disp;
      for (size_t wi = 0; wi < 3; ++wi) {
        const int w = features::kCorrWindows[wi];
        for (int side = 0; side < 2; ++side) {
          std::vector<double> vals;
          for (int q = 0; q < kPairCount; ++q) {
            if (q == p || !in_[q] || orientation(p, q) == 0) continue;
            const Pair pp = pairs[p], qq = pairs[q];
            const Currency shared = side == 0 ? pp.base : pp.quote;
            if (qq.base != shared && qq.quote != shared) continue;
            const double c = corr(t, w, rp, [&](size_t h) { return R_[h][q]; });
            if (is_null(c)) continue;
            vals.push_back(orientation(p, q) * c);
          }
          if (!vals.empty()) {
            double sum = 0;
            for (double v : vals) sum += v;
            o[6 * wi + 3 * side + 0] = sum / static_cast<double>(vals.size());
            o[6 * wi + 3 * side + 1] = *std::min_element(vals.begin(), vals.end());
            o[6 * wi + 3 * side + 2] = *std::max_element(vals.begin(), vals.end());
          }
          if (w == 60) disp.insert(disp.end(), vals.begin(), vals.end());
        }
        double sum = 0;
        int n = 0;
        for (int q = 0; q < kPairCount; ++q) {
          if (q == p || !in_[q]) continue;
          const double c = corr(t, w, rp, [&](size_t h) { return R_[h][q]; });
          if (is_null(c)) continue;
          sum += std::fabs(c);
          ++n;
        }
        o[features::kCorrMarketOffset + wi] = n ? sum / n : kNull;
      }
      const int b = static_cast<int>(pairs[p].base), q = static_cast<int>(pairs[p].quote);
      for (size_t si = 0; si < 2; ++si) {
        const int w = features::kCorrStrengthWindows[si];
        o[features::kCorrStrengthOffset + si] = corr(t, w, rp, [&](size_t h) { return DS_[h][b]; });
        o[features::kCorrStrengthOffset + 2 + si] = corr(t, w, rp, [&](size_t h) { return -DS_[h][q]; });
      }
      o[features::kCorrLeadLagOffset] =
          corr(t, 240, rp, [&](size_t h) { return h == 0 ? kNull : M_[h - 1][p]; });
      if (disp.size() >= 2) {
        double mean = 0;
        for (double v : disp) mean += v;
        mean /= static_cast<double>(disp.size());
        double ss = 0;
        for (double v : disp) ss += (v - mean) * (v - mean);
        o[features::kCorrDispersionOffset] = std::sqrt(ss / static_cast<double>(disp.size()));
      }
    }
    return out;
  }

  // +1 / -1: q shares p's base (quote) currency on the same (other) side; 0: unrelated.
  static int orientation(int p, int q) {
    if (p == q) return 0;
    const Pair a = all_pairs()[p], b = all_pairs()[q];
    if (b.base == a.base || b.quote == a.base) return b.base == a.base ? 1 : -1;
    if (b.base == a.quote || b.quote == a.quote) return b.quote == a.quote ? 1 : -1;
    return 0;
  }

  // Pearson correlation over rows t-w+1..t where both are non-NULL (two-pass, centred).
  template <typename X, typename Y>
  static double corr(size_t t, int w, X x, Y y) {
    if (t < static_cast<size_t>(w)) return kNull;
    std::vector<double> xs, ys;
    for (size_t h = t + 1 - w; h <= t; ++h) {
      if (is_null(x(h)) || is_null(y(h))) continue;
      xs.push_back(x(h));
      ys.push_back(y(h));
    }
    if (xs.size() < static_cast<size_t>(w / 2) || xs.size() < 2) return kNull;
    double mx = 0, my = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      mx += xs[i];
      my += ys[i];
      sxx += xs[i] * xs[i];
      syy += ys[i] * ys[i];
    }
    mx /= static_cast<double>(xs.size());
    my /= static_cast<double>(ys.size());
    double cxx = 0, cyy = 0, cxy = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      cxx += (xs[i] - mx) * (xs[i] - mx);
      cyy += (ys[i] - my) * (ys[i] - my);
      cxy += (xs[i] - mx) * (ys[i] - my);
    }
    // The documented scale-aware zero-variance rule (constant or all-zero series).
    if (!(cxx > features::kCorrZeroVariance * sxx) || !(cyy > features::kCorrZeroVariance * syy)) return kNull;
    return std::clamp(cxy / std::sqrt(cxx * cyy), -1.0, 1.0);
  }

 private:
  std::array<bool, kPairCount> in_;
  std::vector<EpochMinute> rows_;
  std::vector<std::array<double, kPairCount>> R_, M_;
  std::vector<std::array<double, kCurrencyCount>> DS_;
  std::array<double, kPairCount> prev_l_{};
  std::array<double, kCurrencyCount> prev_s_{};
};

struct RefStats {
  size_t compared = 0;
  std::array<size_t, kC> non_null{};
};

RefStats compare_with_naive(const std::vector<BarFrame>& frames, size_t check_from = 0) {
  const auto grid = build_grid(frames);
  auto k = make_kernel(frames);
  NaiveCorr naive(grid.front().in_universe);
  RefStats st;
  size_t bad = 0;
  const auto def = features::make_corr_family();
  for (const auto& g : grid) {
    k->update(g);
    const auto want = naive.step(g);
    if (g.row < check_from) continue;
    for (int p = 0; p < kPairCount; ++p) {
      Row got{};
      k->write_pair(p, got.data());
      for (int c = 0; c < kC; ++c) {
        if (!close_enough(got[c], want[p][c]) && ++bad < 10) {
          ADD_FAILURE() << "row " << g.row << " " << pair_name(all_pairs()[p]) << " " << def.per_pair_columns[c].name
                        << ": " << got[c] << " vs " << want[p][c];
        }
        st.non_null[c] += !is_null(got[c]);
      }
      ++st.compared;
    }
  }
  EXPECT_EQ(bad, 0u);
  return st;
}

// ---------------------------------------------------------------------------------------

TEST(CorrCatalogue, TwentySevenColumnsInOrder) {
  const auto def = features::make_corr_family();
  EXPECT_TRUE(def.global_columns.empty());
  ASSERT_EQ(def.per_pair_columns.size(), 27u);
  std::vector<std::string> want;
  for (const char* w : {"60", "240", "1440"}) {
    for (const char* side : {"base", "quote"}) {
      for (const char* stat : {"mean", "min", "max"}) want.push_back(std::string("corr_") + side + "_" + stat + "_" + w);
    }
  }
  for (const char* w : {"60", "240", "1440"}) want.push_back(std::string("corr_market_") + w);
  for (const char* n : {"corr_base_strength_60", "corr_base_strength_240", "corr_quote_strength_60",
                        "corr_quote_strength_240", "corr_lead_lag_240", "corr_dispersion_60"}) {
    want.push_back(n);
  }
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& c = def.per_pair_columns[i];
    EXPECT_EQ(c.name, want[i]);
    EXPECT_EQ(c.family, "corr");
    EXPECT_EQ(c.source, "FEATURES.md 2.4");
    EXPECT_FALSE(c.formula.empty());
    EXPECT_FALSE(c.params.empty());
    EXPECT_FALSE(c.null_when.empty());
    EXPECT_EQ(c.unit, "correlation");
    EXPECT_FALSE(c.exact_lookback);
  }
  EXPECT_EQ(def.per_pair_columns[column("corr_base_mean_1440")].lookback, 1440);
  EXPECT_EQ(def.per_pair_columns[column("corr_lead_lag_240")].lookback, 240);
  EXPECT_EQ(def.per_pair_columns[column("corr_dispersion_60")].lookback, 60);
  int in_catalogue = 0;
  for (const auto& c : features::all_feature_columns()) in_catalogue += c.family == "corr";
  EXPECT_EQ(in_catalogue, 27);
}

// ---------------------------------------------------------------------------------------
// Currency strengths.

TEST(CorrStrength, GoldenSmallGraphs) {
  std::array<bool, kPairCount> avail{};
  std::array<double, kPairCount> l{};
  std::array<double, kCurrencyCount> s{};
  // A chain EUR-USD-JPY (EURUSD l1 = 0.03, USDJPY l2 = -0.012), no EURJPY: an exact fit,
  // s_USD = t, s_EUR = t + l1, s_JPY = t - l2, 3t + l1 - l2 = 0 -> t = (l2 - l1) / 3 = -0.014;
  // s_EUR = 0.016, s_JPY = -0.002.
  avail[S("EURUSD")] = avail[S("USDJPY")] = true;
  l[S("EURUSD")] = 0.03;
  l[S("USDJPY")] = -0.012;
  features::solve_currency_strengths(avail, l, s);
  EXPECT_NEAR(s[static_cast<int>(Currency::USD)], -0.014, 1e-15);
  EXPECT_NEAR(s[static_cast<int>(Currency::EUR)], 0.016, 1e-15);
  EXPECT_NEAR(s[static_cast<int>(Currency::JPY)], -0.002, 1e-15);
  EXPECT_TRUE(is_null(s[static_cast<int>(Currency::GBP)]));
  // Two separate components EURUSD / AUDNZD: each sums to 0 on its own: +-l/2.
  avail = {};
  avail[S("EURUSD")] = avail[S("AUDNZD")] = true;
  l[S("AUDNZD")] = 0.01;
  features::solve_currency_strengths(avail, l, s);
  EXPECT_NEAR(s[static_cast<int>(Currency::EUR)], 0.015, 1e-15);
  EXPECT_NEAR(s[static_cast<int>(Currency::USD)], -0.015, 1e-15);
  EXPECT_NEAR(s[static_cast<int>(Currency::AUD)], 0.005, 1e-15);
  EXPECT_NEAR(s[static_cast<int>(Currency::NZD)], -0.005, 1e-15);
  for (Currency c : {Currency::GBP, Currency::JPY, Currency::CAD, Currency::CHF}) {
    EXPECT_TRUE(is_null(s[static_cast<int>(c)]));
  }
}

TEST(CorrStrength, MatchesIndependentLeastSquaresAndClosedForm) {
  uint64_t rng = 99;
  std::array<double, kPairCount> l{};
  std::array<double, kCurrencyCount> s{};
  for (int trial = 0; trial < 300; ++trial) {
    std::array<bool, kPairCount> avail{};
    const double keep = trial < 20 ? 1.0 : testing_frames::uniform01(rng);
    for (int p = 0; p < kPairCount; ++p) {
      avail[p] = testing_frames::uniform01(rng) < keep;
      l[p] = 0.01 * testing_frames::normal(rng);
    }
    features::solve_currency_strengths(avail, l, s);
    const auto want = naive_strengths(avail, l);
    for (int c = 0; c < kCurrencyCount; ++c) {
      if (is_null(want[c])) {
        EXPECT_TRUE(is_null(s[c]));
      } else {
        EXPECT_NEAR(s[c], want[c], 1e-14) << trial << " " << c;
      }
    }
    if (trial < 20) {  // full universe: s_C = (1/8) sum_p dir(p, C) l_p, bit for bit
      for (int c = 0; c < kCurrencyCount; ++c) {
        double b = 0;
        for (int p = 0; p < kPairCount; ++p) b += features::direction(all_pairs()[p], static_cast<Currency>(c)) * l[p];
        EXPECT_EQ(s[c], b / 8.0);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Golden: EURUSD, USDJPY, EURJPY driven by one random walk x: l_EURUSD = x, l_USDJPY = -3x,
// l_EURJPY = -2x (consistent). For EURUSD:
//  * base (EUR) related: EURJPY, same side (o = +1), corr(dx, -2dx) = -1 -> base mean/min/max -1;
//  * quote (USD) related: USDJPY, USD on the other side (o = -1), corr(dx, -3dx) = -1 -> +1;
//  * market: mean(|-1|, |-1|) = 1; dispersion: population stdev of {-1, +1} = 1;
//  * strengths (complete triangle, s = b / 3): b_EUR = x - 2x, b_USD = -x - 3x, b_JPY = 3x + 2x:
//    s_EUR = -x/3, s_USD = -4x/3 (s_EUR - s_USD = x): corr(dx, ds_EUR) = -1,
//    corr(dx, -ds_USD) = corr(dx, 4dx/3) = +1.
// For USDJPY (base USD: EURUSD with USD as quote, o = -1, corr(-3dx, dx) = -1 -> +1; quote JPY:
// EURJPY, same side, corr(-3dx, -2dx) = +1).
TEST(CorrGolden, OneFactorTriangle) {
  const std::vector<Pair> uni = {P("EURUSD"), P("USDJPY"), P("EURJPY")};
  std::vector<BarFrame> frames(3);
  uint64_t rng = 17;
  double x = 0;
  const EpochMinute t0 = make_epoch_minute(2024, 7, 1, 0, 0);
  for (int i = 0; i < 3; ++i) frames[i].pair = canonical_order(uni)[i];
  for (int m = 0; m < 300; ++m) {
    x += 1e-4 * testing_frames::normal(rng);
    for (auto& f : frames) {
      const double c = f.pair == P("EURUSD") ? 1.1 * std::exp(x)
                       : f.pair == P("USDJPY") ? 150.0 * std::exp(-3 * x)
                                               : 165.0 * std::exp(-2 * x);
      f.push_back(Bar{t0 + m, c, c, c, c, 1, c, c});
    }
  }
  auto k = make_kernel(frames);
  const auto grid = build_grid(frames);
  Row eu{}, uj{};
  for (size_t i = 0; i < grid.size(); ++i) {
    k->update(grid[i]);
    k->write_pair(S("EURUSD"), eu.data());
    k->write_pair(S("USDJPY"), uj.data());
    if (i < 60) {
      for (double v : eu) EXPECT_TRUE(is_null(v)) << i;  // warm-up: no column before 60 rows
      continue;
    }
    const double e = 1e-12;
    for (const char* n : {"corr_base_mean_60", "corr_base_min_60", "corr_base_max_60"}) EXPECT_NEAR(eu[column(n)], -1, e);
    for (const char* n : {"corr_quote_mean_60", "corr_quote_min_60", "corr_quote_max_60"}) EXPECT_NEAR(eu[column(n)], 1, e);
    EXPECT_NEAR(eu[column("corr_market_60")], 1, e);
    EXPECT_NEAR(eu[column("corr_dispersion_60")], 1, e);
    EXPECT_NEAR(eu[column("corr_base_strength_60")], -1, e);
    EXPECT_NEAR(eu[column("corr_quote_strength_60")], 1, e);
    EXPECT_NEAR(uj[column("corr_base_mean_60")], 1, e);
    EXPECT_NEAR(uj[column("corr_quote_mean_60")], 1, e);
    EXPECT_NEAR(uj[column("corr_dispersion_60")], 0, e);
    if (i >= 240) {
      EXPECT_NEAR(eu[column("corr_base_max_240")], -1, e);
      EXPECT_NEAR(eu[column("corr_quote_strength_240")], 1, e);
      EXPECT_FALSE(is_null(eu[column("corr_lead_lag_240")]));
    } else {
      EXPECT_TRUE(is_null(eu[column("corr_base_max_240")]));
      EXPECT_TRUE(is_null(eu[column("corr_lead_lag_240")]));
    }
    EXPECT_TRUE(is_null(eu[column("corr_market_1440")]));
  }
}

// One pair: no related pair, no market; its two currencies form a component of 2, s = +-l/2, so
// ds_base = R/2 and -ds_quote = R/2: both strength correlations are exactly 1.
TEST(CorrGolden, OnePairUniverse) {
  const std::vector<Pair> uni = {P("GBPJPY")};
  const auto frames = random_frames(uni, 400, 3);
  auto k = make_kernel(frames);
  Row o{};
  size_t checked = 0;
  for (const auto& g : build_grid(frames)) {
    k->update(g);
    k->write_pair(S("GBPJPY"), o.data());
    for (int c = 0; c < kC; ++c) {
      const std::string name = features::make_corr_family().per_pair_columns[c].name;
      if (name.find("strength") != std::string::npos && !is_null(o[c])) {
        EXPECT_NEAR(o[c], 1.0, 1e-12) << name;
        ++checked;
      } else if (name.find("strength") == std::string::npos) {
        EXPECT_TRUE(is_null(o[c])) << name;
      }
    }
  }
  EXPECT_GT(checked, 300u);
}

// ---------------------------------------------------------------------------------------
// Naive reference on random grids.

TEST(CorrReference, RandomGrid28Pairs) {
  const std::vector<Pair> all(all_pairs().begin(), all_pairs().end());
  const auto st = compare_with_naive(random_frames(all, 1700, 1), 0);
  EXPECT_EQ(st.compared, 1700u * 28);
  for (int c = 0; c < kC; ++c) EXPECT_GT(st.non_null[c], 28u * 150) << c;  // every column exercised
}

// 27 pairs with a pegged (constant) EURCHF: its returns are all 0, so every correlation with
// it is NULL (no non-zero value), the others carry on.
TEST(CorrReference, RandomGrid27PairsWithAPeg) {
  std::vector<Pair> uni;
  for (Pair p : all_pairs()) {
    if (!(p == P("AUDNZD"))) uni.push_back(p);
  }
  const auto frames = random_frames(uni, 700, 2, P("EURCHF"));
  compare_with_naive(frames, 0);
  auto k = make_kernel(frames);
  Row o{};
  for (const auto& g : build_grid(frames)) {
    k->update(g);
    k->write_pair(S("EURCHF"), o.data());
    EXPECT_TRUE(is_null(o[column("corr_market_60")]));
    EXPECT_TRUE(is_null(o[column("corr_base_strength_60")]));
    k->write_pair(S("AUDNZD"), o.data());
    for (double v : o) EXPECT_TRUE(is_null(v));  // not in the universe
  }
}

// 3 pairs on 4 currencies (EURUSD, AUDUSD, USDCAD): no triangle, but all share USD.
TEST(CorrReference, ThreePairsAndOnePair) {
  const auto st = compare_with_naive(random_frames({P("EURUSD"), P("AUDUSD"), P("USDCAD")}, 600, 4), 0);
  EXPECT_GT(st.non_null[column("corr_quote_mean_240")], 100u);  // EURUSD/AUDUSD: USD quote
  EXPECT_EQ(st.non_null[column("corr_base_mean_60")] > 0, true);  // USDCAD's base USD
  compare_with_naive(random_frames({P("NZDCHF")}, 300, 5), 0);
}

// Every pair quotes every minute except for the given gaps; EURUSD jumps x1000 for one minute
// at `spike` (returns of +-6.9 among returns of ~1e-4).
struct Gap {
  Pair pair;
  int start, len;
};
std::vector<BarFrame> frames_with_gaps(const std::vector<Pair>& universe, int minutes, const std::vector<Gap>& gaps,
                                       int spike, uint64_t seed) {
  uint64_t rng = seed;
  std::array<double, kCurrencyCount> v{};
  std::vector<BarFrame> frames;
  for (Pair p : canonical_order(universe)) {
    BarFrame f;
    f.pair = p;
    frames.push_back(f);
  }
  const EpochMinute t0 = make_epoch_minute(2024, 7, 2, 0, 0);
  for (int m = 0; m < minutes; ++m) {
    const double common = testing_frames::normal(rng);
    for (int c = 0; c < kCurrencyCount; ++c) v[c] += 1e-4 * (0.5 * common * (c % 3 - 1) + testing_frames::normal(rng));
    for (auto& f : frames) {
      bool off = false;
      for (const Gap& g : gaps) off |= g.pair == f.pair && m >= g.start && m < g.start + g.len;
      if (off) continue;
      const double mult = f.pair == P("EURUSD") && m == spike ? 1000.0 : 1.0;
      const double c = mult * std::exp(v[static_cast<int>(f.pair.base)] - v[static_cast<int>(f.pair.quote)]);
      f.push_back(Bar{t0 + m, c, c, c, c, 1, c, c});
    }
  }
  return frames;
}

// Windows that keep exactly W/2 and W/2 - 1 jointly non-NULL rows: a GBPUSD gap of 34 minutes
// makes 30 returns NULL (5 minutes stale-but-available, 29 missing, then the first return
// after it), so some 60-row windows keep exactly 30 rows (non-NULL) and a 35-minute gap keeps
// 29 (NULL); the same for W = 240 with USDJPY gaps of 124 / 125 minutes. A x1000 spike of
// EURUSD (returns +-6.9 among ~1e-4) enters and leaves every window: the exact periodic
// recomputation of the sums removes what it leaves behind.
TEST(CorrReference, HalfWindowRuleAndSpike) {
  const std::vector<Pair> uni = {P("EURUSD"), P("GBPUSD"), P("EURGBP"), P("USDJPY")};
  const auto frames = frames_with_gaps(
      uni, 1700, {{P("GBPUSD"), 100, 34}, {P("GBPUSD"), 300, 35}, {P("USDJPY"), 500, 124}, {P("USDJPY"), 900, 125}},
      1250, 8);
  compare_with_naive(frames, 0);
  // The boundary is hit: right after the 34-minute gap GBPUSD/EURUSD has a non-NULL 60-row
  // correlation in some row whose window holds 30 NULL returns, after the 35-minute gap none.
  auto k = make_kernel(frames);
  Row o{};
  size_t after34 = 0, after35 = 0;
  for (const auto& g : build_grid(frames)) {
    k->update(g);
    k->write_pair(S("GBPUSD"), o.data());
    const int m = static_cast<int>(g.row);
    if (m >= 134 && m < 134 + 30) after34 += !is_null(o[column("corr_market_60")]);
    if (m >= 335 && m < 335 + 30) after35 += !is_null(o[column("corr_market_60")]);
  }
  EXPECT_GT(after34, 0u);
  EXPECT_EQ(after35, 0u);
}

// The state is a function of the window only: two kernels fed different histories of equal
// length and then the same 5 x 1440 + 100 rows produce bit-identical output at the end, because
// every accumulator has been recomputed exactly from identical windows (the periodic
// re-anchoring every 4 W rows; without it the rounding residues of the two histories would
// differ).
TEST(CorrSnapshot, HistoryIsForgottenBitForBit) {
  const std::vector<Pair> all(all_pairs().begin(), all_pairs().end());
  const auto h1 = build_grid(random_frames(all, 400, 11));
  const auto h2 = build_grid(random_frames(all, 400, 12));
  const auto common = build_grid(random_frames(all, 5 * 1440 + 100, 13));
  ASSERT_EQ(h1.size(), h2.size());
  auto a = make_kernel(random_frames(all, 1, 11));
  auto b = make_kernel(random_frames(all, 1, 11));
  for (size_t i = 0; i < h1.size(); ++i) {
    a->update(h1[i]);
    b->update(h2[i]);
  }
  size_t differ_early = 0, compared = 0;
  for (size_t i = 0; i < common.size(); ++i) {
    a->update(common[i]);
    b->update(common[i]);
    for (int p = 0; p < kPairCount; ++p) {
      Row x{}, y{};
      a->write_pair(p, x.data());
      b->write_pair(p, y.data());
      for (int c = 0; c < kC; ++c) {
        if (i < 100) differ_early += !same_bits(x[c], y[c]);
        if (i >= 5 * 1440) {
          ASSERT_TRUE(same_bits(x[c], y[c])) << i << " " << p << " " << c;
          ++compared;
        }
      }
    }
  }
  EXPECT_GT(differ_early, 1000u);  // the histories did leave different states
  EXPECT_EQ(compared, 100u * 28 * kC);
}

// ---------------------------------------------------------------------------------------

TEST(CorrSnapshot, RestoreContinuesBitIdentical) {
  const std::vector<Pair> all(all_pairs().begin(), all_pairs().end());
  const auto grid = build_grid(random_frames(all, 1800, 6));
  const auto frames_ctx = random_frames(all, 1, 6);
  auto whole = make_kernel(frames_ctx);
  std::vector<std::array<Row, kPairCount>> expect;
  for (const auto& g : grid) {
    whole->update(g);
    std::array<Row, kPairCount> o{};
    for (int p = 0; p < kPairCount; ++p) whole->write_pair(p, o[p].data());
    expect.push_back(o);
  }
  for (size_t cut : {size_t{1}, size_t{61}, size_t{700}, size_t{1441}, size_t{1700}}) {
    auto a = make_kernel(frames_ctx);
    for (size_t i = 0; i < cut; ++i) a->update(grid[i]);
    std::vector<uint8_t> bytes;
    features::StateWriter w(bytes);
    a->save(w);
    auto b = make_kernel(frames_ctx);
    features::StateReader r(bytes.data(), bytes.size());
    b->load(r);
    ASSERT_TRUE(r.ok() && r.at_end());
    for (size_t i = cut; i < grid.size(); ++i) {
      b->update(grid[i]);
      for (int p = 0; p < kPairCount; ++p) {
        Row o{};
        b->write_pair(p, o.data());
        for (int c = 0; c < kC; ++c) ASSERT_TRUE(same_bits(o[c], expect[i][p][c])) << cut << " " << i << " " << c;
      }
    }
  }
  std::vector<uint8_t> bytes;
  features::StateWriter w(bytes);
  whole->save(w);
  bytes.resize(bytes.size() - 8);
  features::StateReader r(bytes.data(), bytes.size());
  make_kernel(frames_ctx)->load(r);
  EXPECT_FALSE(r.ok() && r.at_end());
}

// ---------------------------------------------------------------------------------------
// Through MarketEngine on generated data (28 pairs, the first 2 days of 2024-07): the engine's
// corr columns equal the kernel driven by build_grid bit for bit, and on realistic data every
// column is populated after warm-up and not constant.
TEST(CorrEngine, MatchesKernelOnDirectGrid) {
  const auto frames = testing_frames::generated_market(2);
  std::vector<PairSetup> setup;
  for (const auto& f : frames) setup.push_back(PairSetup{f.pair, f.close.at(0)});
  auto engine = MarketEngine::create(setup);
  ASSERT_TRUE(engine.ok());
  const auto def = features::make_corr_family();
  std::vector<int> idx;
  for (const auto& c : def.per_pair_columns) {
    int at = -1;
    for (size_t i = 0; i < engine->columns().size(); ++i) {
      if (engine->columns()[i].name == c.name) at = static_cast<int>(i);
    }
    ASSERT_GE(at, 0) << c.name;
    idx.push_back(at);
  }
  std::vector<std::pair<Pair, EpochMinute>> keys;
  std::vector<Row> rows;
  ASSERT_TRUE(run_market(*engine, frames, [&](Pair pair, EpochMinute ts, const double* row) {
                keys.emplace_back(pair, ts);
                Row r{};
                for (int c = 0; c < kC; ++c) r[c] = row[idx[c]];
                rows.push_back(r);
                return Status::Ok();
              }).ok());

  const auto grid = build_grid(frames);
  auto k = make_kernel(frames);
  size_t at = 0;
  std::array<size_t, kC> non_null{};
  std::array<double, kC> lo, hi;
  lo.fill(1e300);
  hi.fill(-1e300);
  size_t late_rows = 0;
  for (const auto& g : grid) {
    k->update(g);
    for (int s = 0; s < kPairCount; ++s) {
      if (!g.has_bar[s]) continue;
      ASSERT_LT(at, keys.size());
      ASSERT_EQ(pair_index(keys[at].first), s);
      ASSERT_EQ(keys[at].second, g.g);
      Row want{};
      k->write_pair(s, want.data());
      for (int c = 0; c < kC; ++c) {
        const double w = std::isfinite(want[c]) ? want[c] : kNull;
        ASSERT_TRUE(same_bits(rows[at][c], w)) << def.per_pair_columns[c].name << " row " << g.row;
        if (g.row >= 1440 && !is_null(w)) {
          ++non_null[c];
          lo[c] = std::min(lo[c], w);
          hi[c] = std::max(hi[c], w);
        }
      }
      late_rows += g.row >= 1440;
      ++at;
    }
  }
  EXPECT_EQ(at, keys.size());
  for (int c = 0; c < kC; ++c) {
    const double share = static_cast<double>(non_null[c]) / static_cast<double>(late_rows);
    std::printf("[corr] %-26s non-NULL after warm-up %.3f  range [%.3f, %.3f]\n", def.per_pair_columns[c].name.c_str(),
                share, lo[c], hi[c]);
    EXPECT_GT(share, 0.5) << def.per_pair_columns[c].name;
    EXPECT_LT(lo[c], hi[c]) << def.per_pair_columns[c].name;
  }
}

}  // namespace
}  // namespace bqx
