// dist_rate: distribution shape of the rate series (FEATURES.md 1.8), 24 columns in this
// order (stat-group major, as the spec lists them; windows ascending inside a group):
//   dist_rate_p{5,25,50,75,95}_{15,60,240}   (p - x_t) / x_t, window-major      (15)
//   dist_rate_iqr_{15,60,240}                 (p75 - p25) / x_t                  (3)
//   dist_rate_mad_{15,60}                     median |x - median x| / x_t        (2)
//   dist_rate_entropy_{15,60}                 10-bin histogram entropy (bits)    (2)
//   dist_rate_jb_{60,240}                     Jarque-Bera statistic of r         (2)
// Price windows are the W values x_{t-W+1}..x_t (t inclusive, lookback W-1); the JB window
// is the W returns r_{t-W+1}..r_t, r_i = ln(close_i / close_{i-1}) (lookback W).
//
// Cost: one SortedWindow per price window (O(log W) + one memmove per bar); percentiles
// O(1); MAD by two-sorted-run selection on the sorted window, O(log W); histogram counts
// carried from bar to bar while min and max hold (else 9 searches, O(10 log W)), with the
// entropy terms tabulated at construction. JB from
// the row: S and K are stats_rate's ret_skew_W / ret_kurt_W (FamilyDef::inputs), which are
// skew_g1 / kurt_excess of the same W returns (same log1p returns, same block-window
// central moments and schedule, same formulas), so JB = W/6 (S^2 + K^2/4) has the bits a
// window of our own gave, without a second copy of those windows (2 x 3 x W moments).
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "features/families.h"
#include "features/stats_moments.h"
#include "features/stats_sorted_window.h"

namespace bqx::features {
namespace {

using stats::cat;

using stats::SortedWindow;

constexpr std::array<int, 3> kPctWindows = {15, 60, 240};  // percentiles and IQR
constexpr size_t kMadWindows = 2;                          // MAD, entropy: 15, 60 (= kPctWindows[0..1])
constexpr std::array<int, 2> kJbWindows = {60, 240};
constexpr std::array<double, 5> kPcts = {5, 25, 50, 75, 95};
constexpr std::array<const char*, 5> kPctNames = {"p5", "p25", "p50", "p75", "p95"};

constexpr size_t kPctCol = 0;
constexpr size_t kIqrCol = kPctCol + kPctWindows.size() * kPcts.size();  // 15
constexpr size_t kMadCol = kIqrCol + kPctWindows.size();                // 18
constexpr size_t kEntCol = kMadCol + kMadWindows;                       // 20
constexpr size_t kJbCol = kEntCol + kMadWindows;                        // 22
constexpr size_t kWidth = kJbCol + kJbWindows.size();                   // 24
static_assert(kWidth == 24, "FEATURES.md section 5: dist_rate has 24 columns");

// (c/W) log2(W/c) for every possible bin count c of the entropy windows: parameters only,
// the same for every pair, so one table per process. Why: a per-kernel copy is one more
// cold cache line per window and bar in streaming use (28 pairs' state exceeds the
// caches); the shared table stays hot. Same values (entropy_term), same bits.
const std::array<std::vector<double>, kMadWindows>& entropy_terms() {
  static const std::array<std::vector<double>, kMadWindows> tables = [] {
    std::array<std::vector<double>, kMadWindows> t;
    for (size_t i = 0; i < kMadWindows; ++i) {
      const size_t w = static_cast<size_t>(kPctWindows[i]);
      t[i].resize(w + 1);
      for (size_t c = 0; c <= w; ++c) t[i][c] = stats::entropy_term(c, w);
    }
    return t;
  }();
  return tables;
}

// The percentile positions of the full windows (n = W; stats::percentile_point): parameters,
// computed once per process (same operations as percentile_linear, so the same values).
using PercentilePoints = std::array<std::array<stats::PercentilePoint, kPcts.size()>, kPctWindows.size()>;
const PercentilePoints& percentile_points() {
  static const PercentilePoints points = [] {
    PercentilePoints p;
    for (size_t i = 0; i < kPctWindows.size(); ++i) {
      for (size_t k = 0; k < kPcts.size(); ++k) p[i][k] = stats::percentile_point(static_cast<size_t>(kPctWindows[i]), kPcts[k]);
    }
    return p;
  }();
  return points;
}

// The stats_rate columns JB reads (S = biased skewness g1, K = biased excess kurtosis of the
// same W returns).
std::string skew_column(int w) { return "stats_rate_ret_skew_" + std::to_string(w); }
std::string kurt_column(int w) { return "stats_rate_ret_kurt_" + std::to_string(w); }

class DistRateKernel final : public FamilyKernel {
 public:
  explicit DistRateKernel(const KernelContext& ctx) : offset_(ctx.offset) {
    for (size_t i = 0; i < kPctWindows.size(); ++i) sorted_[i] = SortedWindow(static_cast<size_t>(kPctWindows[i]));
    for (size_t i = 0; i < kJbWindows.size(); ++i) {
      skew_index_[i] = ctx.layout->index_of(skew_column(kJbWindows[i]));
      kurt_index_[i] = ctx.layout->index_of(kurt_column(kJbWindows[i]));
    }
    for (size_t i = 0; i < kMadWindows; ++i) entropy_terms_[i] = entropy_terms()[i].data();
  }

  void update(const BarInput& bar, double* row) override {
    const double x = bar.xc;
    double* o = row + offset_;
    if (sorted_.back().full()) {
      // The windows fill shortest first: all are full, before and after the push.
      double evicted[kMadWindows];
      for (size_t i = 0; i < kMadWindows; ++i) evicted[i] = sorted_[i].values().front();
      for (auto& s : sorted_) s.push(x);
      full_windows_outputs(x, evicted, o);
    } else {
      for (auto& s : sorted_) s.push(x);
      for (auto& h : histograms_) h.valid = false;
      warmup_outputs(x, o);
    }
    jb_outputs(row, o);
  }

  // Entropy of a full window (stats::entropy10_sorted's value) from bin counts carried from
  // the previous bar. Why: the edges e_k = k * step + lo, step = (hi - lo) / 10, depend only
  // on the window's min and max, which most bars leave unchanged; then the counts below each
  // edge change only by the evicted and the new value (two compares per edge) instead of nine
  // searches of the window, and the entropy only when a value changed bin. Otherwise the
  // edges and counts are rebuilt as entropy10_sorted builds them. The sum over the bins is
  // entropy10_sorted's (same table terms, same order): the same bits either way.
  struct Histogram {
    static constexpr int kBins = 10;
    double lo = 0, hi = 0, entropy = 0;
    double edges[kBins - 1] = {};
    size_t below[kBins - 1] = {};  // below[k - 1] = window values < e_k
    bool valid = false;            // derived state (not saved): rebuilt after load / warm-up
  };
  static double entropy_of(Histogram& hist, const double* a, size_t n, double added, double evicted,
                           const double* terms) {
    constexpr int kBins = Histogram::kBins;
    const double lo = a[0], hi = a[n - 1];
    if (!(hi > lo)) {
      hist.valid = false;
      return kNull;
    }
    if (hist.valid && lo == hist.lo && hi == hist.hi) {
      // Same min and max: same edges (nonzero step, so equal values give equal edges).
      size_t moved = 0;
      for (int k = 0; k < kBins - 1; ++k) {
        const size_t in = added < hist.edges[k] ? 1 : 0, out = evicted < hist.edges[k] ? 1 : 0;
        hist.below[k] = hist.below[k] + in - out;
        moved |= in ^ out;
      }
      if (moved == 0) return hist.entropy;
    } else {
      const double step = (hi - lo) / kBins;
      for (int k = 1; k < kBins; ++k) hist.edges[k - 1] = static_cast<double>(k) * step + lo;
#if defined(BQX_COUNT_LE_AVX2)
      if (n <= 64 && stats::cpu_has_avx512()) {
        stats::count_below_edges_avx512(a, n, hist.edges, hist.below);
      } else
#endif
      {
        for (int k = 1; k < kBins; ++k) hist.below[k - 1] = stats::lower_index(a, n, hist.edges[k - 1]);
      }
      hist.lo = lo;
      hist.hi = hi;
      hist.valid = true;
    }
    size_t below_prev = 0;  // values < e_0 = min: none
    double h = 0;
    for (int k = 1; k <= kBins; ++k) {
      const size_t below_k = k < kBins ? hist.below[k - 1] : n;  // e_10 = max: all
      h += terms[below_k - below_prev];
      below_prev = below_k;
    }
    hist.entropy = h;
    return h;
  }

  // Steady state: every column 0..19 is (numerator) / x with the numerators of the loop
  // below (percentile - x, p75 - p25, MAD), so the 20 divisions run as SIMD lanes (per-lane
  // IEEE division, bit-identical to the scalar divisions of warmup_outputs).
  void full_windows_outputs(double x, const double* evicted, double* o) {
    static_assert(kMadCol + kMadWindows == kEntCol && kEntCol == 20, "columns 0..19 divide by x");
    const auto& points = percentile_points();
    alignas(64) double num[24] = {};
    for (size_t i = 0; i < kPctWindows.size(); ++i) {
      const SortedWindow& s = sorted_[i];
      const size_t n = s.size();
      double pv[kPcts.size()];
      for (size_t k = 0; k < kPcts.size(); ++k) {
        pv[k] = stats::percentile_at(s.data(), n, points[i][k]);  // n == W (full)
        num[kPctCol + i * kPcts.size() + k] = pv[k] - x;
      }
      num[kIqrCol + i] = pv[3] - pv[1];
      if (i < kMadWindows) {
        num[kMadCol + i] = stats::mad_sorted(s.data(), n);
        o[kEntCol + i] = entropy_of(histograms_[i], s.data(), n, x, evicted[i], entropy_terms_[i]);
      }
    }
    divide_by(num, x, o, kEntCol);
  }

  static void divide_by(const double* num, double x, double* out, size_t count) {
#if defined(BQX_COUNT_LE_AVX2)
    if (stats::cpu_has_avx512()) {
      divide_by_avx512(num, x, out, count);
      return;
    }
#endif
    for (size_t j = 0; j < count; ++j) out[j] = num[j] / x;
  }
#if defined(BQX_COUNT_LE_AVX2)
  __attribute__((target("avx512f"))) static void divide_by_avx512(const double* num, double x, double* out,
                                                                  size_t count) {
    const __m512d xv = _mm512_set1_pd(x);
    for (size_t j = 0; j < count; j += 8) {
      const size_t left = count - j;
      const __mmask8 take = left >= 8 ? static_cast<__mmask8>(0xff) : static_cast<__mmask8>((1u << left) - 1u);
      _mm512_mask_storeu_pd(out + j, take, _mm512_maskz_div_pd(take, _mm512_load_pd(num + j), xv));
    }
  }
#endif

  void warmup_outputs(double x, double* o) const {
    const auto& points = percentile_points();
    for (size_t i = 0; i < kPctWindows.size(); ++i) {
      const SortedWindow& s = sorted_[i];
      double* pc = o + kPctCol + i * kPcts.size();
      if (!s.full()) {
        for (size_t k = 0; k < kPcts.size(); ++k) pc[k] = kNull;
        o[kIqrCol + i] = kNull;
        if (i < kMadWindows) o[kMadCol + i] = o[kEntCol + i] = kNull;
        continue;
      }
      const size_t n = s.size();
      double pv[kPcts.size()];
      for (size_t k = 0; k < kPcts.size(); ++k) {
        pv[k] = stats::percentile_at(s.data(), n, points[i][k]);  // n == W (full)
        pc[k] = (pv[k] - x) / x;
      }
      o[kIqrCol + i] = (pv[3] - pv[1]) / x;
      if (i < kMadWindows) {
        o[kMadCol + i] = stats::mad_sorted(s.data(), n) / x;
        o[kEntCol + i] = stats::entropy10_sorted(s.data(), n, entropy_terms_[i]);
      }
    }
  }

  // JB = n/6 (S^2 + K^2/4) with n = W (the count of a full window) and S, K read from
  // stats_rate's columns of this row: NULL (NaN) there while the window fills or when it is
  // flat, and NaN here then.
  void jb_outputs(const double* row, double* o) const {
    for (size_t i = 0; i < kJbWindows.size(); ++i) {
      const double s = row[skew_index_[i]], k = row[kurt_index_[i]];
      o[kJbCol + i] = static_cast<double>(kJbWindows[i]) / 6.0 * (s * s + k * k / 4.0);
    }
  }

  void prefetch() const override {
    // This object (the engine fetches its first line): the histograms are read and written at
    // every bar, and the windows' own fields locate their lines below.
    const char* self = reinterpret_cast<const char*>(this);
    prefetch_write(self + kCacheLine, sizeof(*this) - kCacheLine);
    for (const auto& s : sorted_) s.prefetch();
    // The percentile values of the long window (its prefetch() covers only the lines the
    // update shifts and searches).
    const auto& points = percentile_points();
    const SortedWindow& longest = sorted_.back();
    if (longest.full()) {
      for (const auto& q : points.back()) {
        longest.prefetch_rank(q.lo);
        if (!q.last) longest.prefetch_rank(q.lo + 1);
      }
    }
  }

  void save(StateWriter& out) const override {
    for (const auto& s : sorted_) s.save(out);
  }
  void load(StateReader& in) override {
    for (auto& s : sorted_) s.load(in);
    for (auto& h : histograms_) h.valid = false;
  }

 private:
  int offset_;
  std::array<SortedWindow, kPctWindows.size()> sorted_;
  std::array<const double*, kMadWindows> entropy_terms_;  // entropy_terms() of each window
  std::array<Histogram, kMadWindows> histograms_;          // of the entropy windows
  std::array<int, kJbWindows.size()> skew_index_{}, kurt_index_{};  // stats_rate columns in the row
};

}  // namespace

FamilyDef make_dist_rate_family() {
  FamilyDef def;
  def.name = "dist_rate";
  const std::string src = "FEATURES.md 1.8";
  const std::string fam = "dist_rate";
  auto add = [&](const std::string& name, const std::string& par, const std::string& formula, const std::string& unit,
                 int lookback, const std::string& null_when) {
    def.columns.push_back({"dist_rate_" + name, fam, par, formula, unit, lookback, src, null_when, true});
  };
  const std::string win = " over the W values x_{t-W+1}..x_t (t inclusive)";
  for (int w : kPctWindows) {
    for (size_t k = 0; k < kPcts.size(); ++k) {
      const std::string pn = kPctNames[k];
      add(pn + cat("_", std::to_string(w)), cat("W=", std::to_string(w), ", p=", pn.substr(1)),
          "(P - x_t) / x_t, P = numpy.percentile(window, " + pn.substr(1) +
              ") with linear interpolation (virtual index (W-1)*p/100)" + win,
          "fraction", w - 1, "");
    }
  }
  for (int w : kPctWindows) {
    add(cat("iqr_", std::to_string(w)), cat("W=", std::to_string(w)), "(P75 - P25) / x_t, numpy linear percentiles" + win,
        "fraction", w - 1, "");
  }
  for (size_t i = 0; i < kMadWindows; ++i) {
    const int w = kPctWindows[i];
    add(cat("mad_", std::to_string(w)), cat("W=", std::to_string(w)),
        "median(|x - median(x)|) / x_t (numpy.median: mean of the two middle values for even W)" + win, "fraction",
        w - 1, "");
  }
  for (size_t i = 0; i < kMadWindows; ++i) {
    const int w = kPctWindows[i];
    add(cat("entropy_", std::to_string(w)), cat("W=", std::to_string(w), ", bins=10"),
        "-sum p_k log2 p_k over the non-empty bins of numpy.histogram(window, bins=10) (equal width on [min, max], "
        "edges k*(max-min)/10 + min, bin k = [e_k, e_{k+1}), last bin closed), p_k = count_k / W" + win,
        "bits (0..log2 10)", w - 1, "flat window (max = min)");
  }
  for (int w : kJbWindows) {
    add(cat("jb_", std::to_string(w)), cat("W=", std::to_string(w)),
        "Jarque-Bera n/6 (S^2 + K^2/4), n = W, S = biased skewness g1, K = biased excess kurtosis of the W returns "
        "r_{t-W+1}..r_t, r_i = ln(close_i / close_{i-1})",
        "dimensionless", w, "flat return window (population std <= 1e-12*|mean|)");
  }
  for (int w : kJbWindows) {
    def.inputs.push_back(skew_column(w));
    def.inputs.push_back(kurt_column(w));
  }
  def.make = [](const KernelContext& ctx) { return std::make_unique<DistRateKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
