// dist_rate (FEATURES.md 1.8): every column against a naive recompute-the-window reference
// (numpy.percentile 'linear', numpy.median, numpy.histogram(bins=10), scipy skew/kurtosis
// written out, long double), hand-computed golden values, flat-window NULLs, identities,
// and the order-statistic helpers of stats_sorted_window.h against brute force.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine/pair_engine.h"
#include "features/families.h"
#include "features/stats_sorted_window.h"
#include "test_frames.h"

namespace bqx {
namespace {

using features::kNull;
using LD = long double;
const LD kNaNL = std::numeric_limits<LD>::quiet_NaN();

constexpr int kPctWindows[] = {15, 60, 240};
constexpr int kPcts[] = {5, 25, 50, 75, 95};

// Expected catalogue order (documented in dist_rate.cpp).
std::vector<std::string> expected_names() {
  std::vector<std::string> n;
  for (int w : kPctWindows)
    for (int p : kPcts) n.push_back("dist_rate_p" + std::to_string(p) + "_" + std::to_string(w));
  for (int w : kPctWindows) n.push_back("dist_rate_iqr_" + std::to_string(w));
  for (int w : {15, 60}) n.push_back("dist_rate_mad_" + std::to_string(w));
  for (int w : {15, 60}) n.push_back("dist_rate_entropy_" + std::to_string(w));
  for (int w : {60, 240}) n.push_back("dist_rate_jb_" + std::to_string(w));
  return n;
}

// ---------------------------------------------------------------------------------------
// Naive references.

// numpy.percentile(v, p) (method='linear'): sort, virtual index g = (n-1) p/100,
// a[floor g] + (a[floor g + 1] - a[floor g]) * frac(g).
LD ref_percentile(std::vector<LD> v, int p) {
  std::sort(v.begin(), v.end());
  const LD g = static_cast<LD>(v.size() - 1) * p / 100.0L;
  const size_t lo = static_cast<size_t>(std::floor(g));
  if (lo + 1 >= v.size()) return v.back();
  return v[lo] + (v[lo + 1] - v[lo]) * (g - static_cast<LD>(lo));
}
// numpy.median.
LD ref_median(std::vector<LD> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
// numpy.median(numpy.abs(v - numpy.median(v))).
LD ref_mad(const std::vector<LD>& v) {
  const LD m = ref_median(v);
  std::vector<LD> d;
  for (LD a : v) d.push_back(std::fabs(a - m));
  return ref_median(d);
}
// Entropy (bits) of numpy.histogram(v, bins=10): edges = numpy.linspace(min, max, 11) in
// double (k * step + min, last edge = max); value -> largest k with edge_k <= value,
// clamped to bin 9 (the last bin is closed). Flat window -> NULL.
LD ref_entropy10(const std::vector<double>& v) {
  const double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
  if (lo == hi) return kNaNL;
  double edges[11];
  const double step = (hi - lo) / 10;
  for (int k = 0; k < 10; ++k) edges[k] = k * step + lo;
  edges[10] = hi;
  int counts[10] = {};
  for (double a : v) {
    int b = 0;
    for (int k = 0; k < 10; ++k) {
      if (edges[k] <= a) b = k;
    }
    ++counts[b];
  }
  LD h = 0;
  for (int c : counts) {
    if (c == 0) continue;
    const LD p = static_cast<LD>(c) / static_cast<LD>(v.size());
    h -= p * std::log2(p);
  }
  return h;
}
// Jarque-Bera n/6 (S^2 + K^2/4) with biased skewness and excess kurtosis (scipy.stats.jarque_bera).
LD ref_jb(const std::vector<LD>& r) {
  const LD n = static_cast<LD>(r.size());
  LD mean = 0;
  for (LD a : r) mean += a;
  mean /= n;
  LD m2 = 0, m3 = 0, m4 = 0;
  for (LD a : r) {
    const LD d = a - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= n, m3 /= n, m4 /= n;
  if (m2 == 0) return kNaNL;
  const LD s = m3 / (m2 * std::sqrt(m2)), k = m4 / (m2 * m2) - 3;
  return n / 6 * (s * s + k * k / 4);
}

// The 24 reference values at row t, in catalogue order.
std::vector<LD> dist_reference(const BarFrame& f, double baseline, size_t t) {
  const double scale = 100.0 / baseline;
  auto x = [&](size_t i) { return f.close[i] * scale; };
  std::vector<LD> out;
  const LD xt = x(t);
  std::vector<LD> p25(3, kNaNL), p75(3, kNaNL);
  for (size_t wi = 0; wi < 3; ++wi) {
    const size_t w = static_cast<size_t>(kPctWindows[wi]);
    std::vector<LD> v;
    if (t + 1 >= w) {
      for (size_t i = t + 1 - w; i <= t; ++i) v.push_back(x(i));
    }
    for (int p : kPcts) {
      if (v.empty()) {
        out.push_back(kNaNL);
        continue;
      }
      const LD pv = ref_percentile(v, p);
      if (p == 25) p25[wi] = pv;
      if (p == 75) p75[wi] = pv;
      out.push_back((pv - xt) / xt);
    }
  }
  for (size_t wi = 0; wi < 3; ++wi) out.push_back((p75[wi] - p25[wi]) / xt);  // NaN propagates
  for (int w : {15, 60}) {
    if (t + 1 < static_cast<size_t>(w)) {
      out.push_back(kNaNL);
      continue;
    }
    std::vector<LD> v;
    for (size_t i = t + 1 - static_cast<size_t>(w); i <= t; ++i) v.push_back(x(i));
    out.push_back(ref_mad(v) / xt);
  }
  for (int w : {15, 60}) {
    if (t + 1 < static_cast<size_t>(w)) {
      out.push_back(kNaNL);
      continue;
    }
    std::vector<double> v;
    for (size_t i = t + 1 - static_cast<size_t>(w); i <= t; ++i) v.push_back(x(i));
    out.push_back(ref_entropy10(v));
  }
  for (int w : {60, 240}) {
    if (t < static_cast<size_t>(w)) {
      out.push_back(kNaNL);
      continue;
    }
    std::vector<LD> r;
    for (size_t i = t + 1 - static_cast<size_t>(w); i <= t; ++i) {
      r.push_back(std::log(static_cast<LD>(f.close[i]) / static_cast<LD>(f.close[i - 1])));
    }
    out.push_back(ref_jb(r));
  }
  return out;
}

struct EngineRun {
  std::vector<double> out;
  size_t width = 0;
  std::map<std::string, size_t> index;
  double at(size_t row, const std::string& name) const { return out[row * width + index.at(name)]; }
};

EngineRun run_dist(const BarFrame& f, double baseline) {
  EngineRun r;
  auto e = PairEngine::create(f.pair, baseline, {"dist_rate"});
  EXPECT_TRUE(e.ok());
  e->run(f, 0, f.size(), r.out);
  r.width = e->width();
  for (size_t c = 0; c < e->columns().size(); ++c) r.index[e->columns()[c].name] = c;
  return r;
}

void check_against_reference(const BarFrame& f, double baseline) {
  const EngineRun run = run_dist(f, baseline);
  ASSERT_EQ(run.width, 24u);
  const auto names = expected_names();
  size_t failures = 0, values = 0;
  for (size_t t = 0; t < f.size(); ++t) {
    const auto want = dist_reference(f, baseline, t);
    ASSERT_EQ(want.size(), 24u);
    for (size_t c = 0; c < 24; ++c) {
      const double got = run.out[t * run.width + c];
      const LD w = want[c];
      bool ok;
      if (std::isnan(static_cast<double>(w))) {
        ok = std::isnan(got);
      } else {
        ++values;
        // Percentile / IQR / MAD columns are fractions ~1e-4: 1e-15 absolute near zero;
        // entropy and JB are O(1)..O(1e3): 1e-12 absolute.
        const double abs_tol = c < 20 ? 1e-15 : 1e-12;
        ok = !std::isnan(got) && std::fabs(static_cast<LD>(got) - w) <= 1e-9L * std::fabs(w) + abs_tol;
      }
      if (!ok && ++failures <= 10) {
        ADD_FAILURE() << names[c] << " row " << t << ": got " << got << " want " << static_cast<double>(w);
      }
    }
  }
  EXPECT_EQ(failures, 0u);
  EXPECT_GE(values, f.size() * 24 * 9 / 10);
}

// Random walk with an everything-flat stretch [1000, 1300) (longer than 240 bars).
BarFrame frame_with_flat_stretch(size_t n, uint64_t seed) {
  BarFrame f = testing_frames::random_walk_frame(n, seed);
  const double c0 = f.close[999];
  for (size_t i = 1000; i < 1300; ++i) f.open[i] = f.high[i] = f.low[i] = f.close[i] = c0;
  return f;
}

// ---------------------------------------------------------------------------------------

TEST(DistRate, ColumnsNamesOrderAndLookbacks) {
  const auto def = features::make_dist_rate_family();
  ASSERT_EQ(def.columns.size(), 24u);  // FEATURES.md section 5
  const auto names = expected_names();
  for (size_t c = 0; c < 24; ++c) {
    EXPECT_EQ(def.columns[c].name, names[c]);
    const bool jb = c >= 22;
    const int w = std::stoi(names[c].substr(names[c].rfind('_') + 1));
    EXPECT_EQ(def.columns[c].lookback, jb ? w : w - 1) << names[c];
    EXPECT_FALSE(def.columns[c].formula.empty());
  }
}

TEST(DistRate, MatchesNaiveReferenceEurusd) {
  const BarFrame f = testing_frames::random_walk_frame(3000, 2);
  check_against_reference(f, f.close[0]);
}

TEST(DistRate, MatchesNaiveReferenceUsdjpyLevel) {
  // Coarser relative tick (0.001 on 150): many ties and bin-edge hits.
  const BarFrame f = testing_frames::random_walk_frame(2000, 6, 150.0, Pair{Currency::USD, Currency::JPY});
  check_against_reference(f, 151.0);
}

TEST(DistRate, MatchesNaiveReferenceWithFlatStretch) {
  const BarFrame f = frame_with_flat_stretch(2000, 12);
  check_against_reference(f, f.close[0]);
}

TEST(DistRate, FlatWindowGivesDocumentedNulls) {
  const BarFrame f = frame_with_flat_stretch(2000, 12);
  const EngineRun run = run_dist(f, f.close[0]);
  const size_t t = 1299;  // rows 1000..1299 flat (300 >= 241 bars)
  for (int w : kPctWindows) {
    for (int p : kPcts) EXPECT_EQ(run.at(t, "dist_rate_p" + std::to_string(p) + "_" + std::to_string(w)), 0.0);
    EXPECT_EQ(run.at(t, "dist_rate_iqr_" + std::to_string(w)), 0.0);
  }
  for (int w : {15, 60}) {
    EXPECT_EQ(run.at(t, "dist_rate_mad_" + std::to_string(w)), 0.0);
    EXPECT_TRUE(std::isnan(run.at(t, "dist_rate_entropy_" + std::to_string(w))));
  }
  for (int w : {60, 240}) EXPECT_TRUE(std::isnan(run.at(t, "dist_rate_jb_" + std::to_string(w))));
  // One bar after the stretch ends the windows are no longer flat.
  EXPECT_FALSE(std::isnan(run.at(1300, "dist_rate_entropy_15")));
}

TEST(DistRate, BoundsAndIdentities) {
  const BarFrame f = testing_frames::random_walk_frame(2000, 30);
  const EngineRun run = run_dist(f, f.close[0]);
  for (size_t t = 240; t < f.size(); ++t) {
    for (int w : kPctWindows) {
      const std::string s = "_" + std::to_string(w);
      double prev = -1e300;
      for (int p : kPcts) {
        const double v = run.at(t, "dist_rate_p" + std::to_string(p) + s);
        EXPECT_GE(v, prev);
        prev = v;
      }
      // iqr = p75 - p25 (both relative to x_t).
      EXPECT_NEAR(run.at(t, "dist_rate_iqr" + s), run.at(t, "dist_rate_p75" + s) - run.at(t, "dist_rate_p25" + s),
                  1e-15);
      EXPECT_GE(run.at(t, "dist_rate_iqr" + s), 0.0);
    }
    for (int w : {15, 60}) {
      const std::string s = "_" + std::to_string(w);
      EXPECT_GE(run.at(t, "dist_rate_mad" + s), 0.0);
      // MAD <= max |x - median| <= range; and entropy within [0, log2 10].
      EXPECT_LE(run.at(t, "dist_rate_mad" + s), run.at(t, "dist_rate_p95" + s) - run.at(t, "dist_rate_p5" + s) + 1e-3);
      EXPECT_GE(run.at(t, "dist_rate_entropy" + s), 0.0);
      EXPECT_LE(run.at(t, "dist_rate_entropy" + s), std::log2(10.0) + 1e-12);
    }
    EXPECT_GE(run.at(t, "dist_rate_jb_60"), 0.0);
    EXPECT_GE(run.at(t, "dist_rate_jb_240"), 0.0);
  }
}

// ---------------------------------------------------------------------------------------
// Golden values, driving the kernel directly with chosen x (= xc) and close.

// dist_rate reads stats_rate's ret_skew / ret_kurt columns (JB): the stats_rate kernel runs
// first in the same row, as in the engine.
struct DistHarness {
  features::FamilyDef stats_def = features::make_stats_rate_family();
  features::FamilyDef def = features::make_dist_rate_family();
  features::ColumnLayout layout;
  std::unique_ptr<features::FamilyKernel> stats_kernel, kernel;
  std::vector<double> row;
  size_t dist_offset = 0;
  DistHarness() {
    for (const auto& c : stats_def.columns) layout.add(c.name);
    dist_offset = layout.size();
    for (const auto& c : def.columns) layout.add(c.name);
    stats_kernel = stats_def.make(features::KernelContext{0, &layout});
    kernel = def.make(features::KernelContext{static_cast<int>(dist_offset), &layout});
    row.assign(layout.size(), 0.0);
  }
  void push(double x) {
    std::fill(row.begin(), row.end(), 12345.0);  // every column must be written
    features::BarInput in;
    in.open = in.high = in.low = in.close = x;
    in.xo = in.xh = in.xl = in.xc = x;
    stats_kernel->update(in, row.data());
    kernel->update(in, row.data());
  }
  double get(const std::string& name) const { return row[static_cast<size_t>(layout.index_of(name))]; }
};

TEST(DistRate, GoldenRamp) {
  // Window x = 101, 102, ..., 115 (x_t = 115), W = 15. numpy linear percentiles:
  //   p5:  g = 14*0.05 = 0.7  -> 101 + 0.7 = 101.7     -> (101.7 - 115)/115 = -0.11565217391304346
  //   p25: g = 3.5            -> 104.5                 -> -0.09130434782608696
  //   p50: g = 7              -> 108                   -> -0.06086956521739131
  //   p75: g = 10.5           -> 111.5                 -> -0.030434782608695653
  //   p95: g = 13.3           -> 114.3                 -> -0.0060869565217391555
  //   iqr = 7/115 = 0.06086956521739131
  //   MAD: median 108, |x - 108| = 7,6,..,1,0,1,..,7, sorted 0,1,1,2,2,3,3,4,... -> 8th = 4;
  //        4/115 = 0.034782608695652174
  //   entropy: edges 101 + 1.4k; counts [2 1 2 1 1 2 1 2 1 2] (numpy 1.24) ->
  //        H = log2 15 - (5 * 2 log2 2)/15 = log2(15) - 2/3 = 3.240223928941852
  DistHarness h;
  for (int k = 101; k <= 115; ++k) h.push(k);
  EXPECT_NEAR(h.get("dist_rate_p5_15"), -0.11565217391304346, 1e-15);
  EXPECT_NEAR(h.get("dist_rate_p25_15"), -0.09130434782608696, 1e-15);
  EXPECT_NEAR(h.get("dist_rate_p50_15"), -0.06086956521739131, 1e-15);
  EXPECT_NEAR(h.get("dist_rate_p75_15"), -0.030434782608695653, 1e-15);
  EXPECT_NEAR(h.get("dist_rate_p95_15"), -0.0060869565217391555, 1e-15);
  EXPECT_NEAR(h.get("dist_rate_iqr_15"), 0.06086956521739131, 1e-15);
  EXPECT_NEAR(h.get("dist_rate_mad_15"), 0.034782608695652174, 1e-15);
  EXPECT_NEAR(h.get("dist_rate_entropy_15"), 3.240223928941852, 1e-14);
  EXPECT_TRUE(std::isnan(h.get("dist_rate_p5_60")));
  EXPECT_TRUE(std::isnan(h.get("dist_rate_jb_60")));
}

TEST(DistRate, GoldenEntropyDesignedWindow) {
  // 15 values on [100, 110]: step = 1 and every edge 100 + k is exact, no value on an edge
  // except min (bin 0) and max (closed last bin):
  //   bin0 [100,101): 100, 100.25, 100.5, 100.75 (4); bins 1-4: 101.5..104.5 (1 each);
  //   bin5 [105,106): 105.25, 105.5 (2); bins 6-8: 106.5..108.5 (1 each); bin9: 109.5, 110 (2).
  // H = log2 15 - (4 log2 4 + 2 log2 2 + 2 log2 2)/15 = log2 15 - 12/15 = 3.106890595608519.
  DistHarness h;
  for (double v : {100.0, 110.0, 100.5, 101.5, 102.5, 103.5, 104.5, 105.5, 106.5, 107.5, 108.5, 109.5, 100.25,
                   100.75, 105.25}) {
    h.push(v);
  }
  EXPECT_NEAR(h.get("dist_rate_entropy_15"), 3.106890595608519, 1e-14);
  // Sorted: 100 100.25 100.5 100.75 101.5 102.5 103.5 104.5 105.25 105.5 ... 110: median
  // (8th) = 104.5. |x - 104.5| sorted: 0 .75 1 1 2 2 3 3 3.75 4 4 4.25 4.5 5 5.5 -> 8th = 3.
  // x_t = 105.25: MAD/x_t = 3/105.25, p50 -> (104.5 - 105.25)/105.25 = -0.75/105.25.
  EXPECT_NEAR(h.get("dist_rate_mad_15"), 3.0 / 105.25, 1e-16);
  EXPECT_NEAR(h.get("dist_rate_p50_15"), -0.75 / 105.25, 1e-16);
}

TEST(DistRate, GoldenJarqueBera) {
  // closes 1 (rows 0..59) then 2 (row 60): the 60 returns are 59 zeros and ln 2, a scaled
  // Bernoulli(p = 1/60): S^2 = (1-2p)^2/(p(1-p)) = 3364/59, K = (1-6p(1-p))/(p(1-p)) = 3246/59;
  // JB = 60/6 (3364/59 + (3246/59)^2/4) = 8137.3312266590065 (scipy 1.10 jarque_bera agrees).
  DistHarness h;
  for (int k = 0; k < 60; ++k) {
    h.push(1.0);
    EXPECT_TRUE(std::isnan(h.get("dist_rate_jb_60"))) << k;  // warm-up, then a flat window
  }
  h.push(2.0);
  EXPECT_NEAR(h.get("dist_rate_jb_60"), 8137.3312266590065, 1e-9);
  EXPECT_TRUE(std::isnan(h.get("dist_rate_jb_240")));
}

// ---------------------------------------------------------------------------------------
// Helpers against brute force on random windows with ties.

TEST(DistPrimitives, PercentileMadEntropyMatchReference) {
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 3000; ++trial) {
    const size_t n = 1 + rng() % 64;
    std::vector<double> v(n);
    const bool ties = trial % 2 == 0;
    for (auto& a : v) a = ties ? 100.0 + static_cast<double>(rng() % 7) * 0.001 : 100.0 + static_cast<double>(rng() % 100000) * 1e-7;
    std::vector<double> s = v;
    std::sort(s.begin(), s.end());
    std::vector<LD> lv(v.begin(), v.end());
    for (double p : {0.0, 5.0, 25.0, 50.0, 75.0, 95.0, 100.0}) {
      const LD want = ref_percentile(lv, static_cast<int>(p));
      EXPECT_NEAR(features::stats::percentile_linear(s.data(), n, p), static_cast<double>(want), 1e-13);
    }
    EXPECT_NEAR(features::stats::median_sorted(s.data(), n), static_cast<double>(ref_median(lv)), 1e-13);
    EXPECT_NEAR(features::stats::mad_sorted(s.data(), n), static_cast<double>(ref_mad(lv)), 1e-13) << n;
    const LD he = ref_entropy10(v);
    const double got = features::stats::entropy10_sorted(s.data(), n);
    if (std::isnan(static_cast<double>(he))) {
      EXPECT_TRUE(std::isnan(got));
    } else {
      EXPECT_NEAR(got, static_cast<double>(he), 1e-13);
    }
  }
}


// The binary-search form of mad_sorted before the counted selection (kept here as the
// bit-exact reference: the counted form must pick the same element, not just a close value).
double mad_sorted_binary_search(const double* a, size_t n) {
  const double m = features::stats::median_sorted(a, n);
  const size_t s = features::stats::lower_index(a, n, m);
  const size_t nl = s, nr = n - s;
  auto L = [&](size_t i) { return m - a[s - 1 - i]; };
  auto R = [&](size_t j) { return a[s + j] - m; };
  const size_t k = (n % 2 == 1) ? n / 2 : n / 2 - 1;
  size_t lo = k + 1 > nr ? k + 1 - nr : 0, hi = std::min(k + 1, nl);
  while (lo < hi) {
    const size_t i = (lo + hi) / 2;
    if (L(i) < R(k - i)) {
      lo = i + 1;
    } else {
      hi = i;
    }
  }
  const size_t i = lo, j = k + 1 - lo;
  const double kth = i == 0 ? R(j - 1) : j == 0 ? L(i - 1) : std::max(L(i - 1), R(j - 1));
  if (n % 2 == 1) return kth;
  const double next = i >= nl ? R(j) : j >= nr ? L(i) : std::min(L(i), R(j));
  return (kth + next) / 2.0;
}

TEST(DistPrimitives, MadBitIdenticalToBinarySearchForm) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 20000; ++trial) {
    const size_t n = 1 + rng() % 300;
    std::vector<double> s(n);
    const int mode = trial % 3;
    for (auto& a : s) {
      a = mode == 0   ? 100.0 + static_cast<double>(rng() % 5) * 0.001
          : mode == 1 ? 1.1 + static_cast<double>(rng() % 100000) * 1e-7
                      : std::ldexp(static_cast<double>(rng() % 1000), -static_cast<int>(rng() % 4));
    }
    std::sort(s.begin(), s.end());
    const double want = mad_sorted_binary_search(s.data(), n), got = features::stats::mad_sorted(s.data(), n);
    ASSERT_EQ(std::memcmp(&want, &got, sizeof(double)), 0) << n << " " << want << " " << got;
  }
}


// Long windows search ranks around hints (the previous ranks): results as a full sort, with
// random-walk values (hints right), jumps and ties (hints wrong), and across save/load
// (hints dropped).
TEST(DistPrimitives, LongSortedWindowMatchesSortAcrossRestore) {
  std::mt19937_64 rng(23);
  for (size_t w : {65u, 100u, 240u}) {
    features::stats::SortedWindow sw(w);
    std::vector<double> hist;
    double x = 1.0;
    for (int i = 0; i < 3000; ++i) {
      const int kind = static_cast<int>(rng() % 20);
      if (kind == 0) {
        x += (static_cast<double>(rng() % 2001) - 1000.0) * 1e-3;  // jump
      } else if (kind < 4) {
        x = x;  // repeat: ties
      } else {
        x += (static_cast<double>(rng() % 21) - 10.0) * 1e-5;
      }
      const double v = (kind == 1 && i % 7 == 0) ? 0.0 : x;
      const size_t le = sw.push(v);
      hist.push_back(v);
      const size_t n = std::min(hist.size(), w);
      std::vector<double> win(hist.end() - static_cast<long>(n), hist.end());
      std::sort(win.begin(), win.end());
      ASSERT_EQ(le, static_cast<size_t>(std::upper_bound(win.begin(), win.end(), v) - win.begin()));
      for (size_t j = 0; j < n; ++j) ASSERT_EQ(sw.at(j), win[j]) << "w " << w << " i " << i << " j " << j;
      if (i % 997 == 500) {
        std::vector<uint8_t> bytes;
        features::StateWriter out(bytes);
        sw.save(out);
        features::stats::SortedWindow restored(w);
        features::StateReader in(bytes.data(), bytes.size());
        restored.load(in);
        ASSERT_TRUE(in.ok() && in.at_end());
        sw = restored;
      }
    }
  }
}


#if defined(BQX_COUNT_LE_AVX2)
// The blocked edge counts are the integers of 9 binary searches (edges on values, between
// values, beyond both ends; ties).
TEST(DistPrimitives, EdgeCountsMatchBinarySearch) {
  if (!features::stats::cpu_has_avx512()) GTEST_SKIP() << "no AVX-512";
  std::mt19937_64 rng(31);
  for (int trial = 0; trial < 20000; ++trial) {
    const size_t n = 1 + rng() % 64;
    std::vector<double> s(n);
    for (auto& a : s) a = static_cast<double>(rng() % (trial % 2 == 0 ? 6 : 1000));
    std::sort(s.begin(), s.end());
    double edges[9];
    for (auto& e : edges) e = static_cast<double>(static_cast<int64_t>(rng() % 1100) - 50) * (trial % 2 == 0 ? 0.006 : 1.0);
    std::sort(edges, edges + 9);
    size_t below[9];
    features::stats::count_below_edges_avx512(s.data(), n, edges, below);
    for (size_t k = 0; k < 9; ++k) ASSERT_EQ(below[k], features::stats::lower_index(s.data(), n, edges[k])) << n << " " << k;
  }
}
#endif

}  // namespace
}  // namespace bqx
