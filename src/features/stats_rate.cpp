// stats_rate: rolling statistics of the rate series (FEATURES.md 1.6), 13 columns for each
// W in {15, 30, 60, 120, 240, 480, 1440} (91), window-major, named stats_rate_<stat>_<W>.
//
// r_t = ln(close_t / close_{t-1}) (raw closes; the same ratio as x_t / x_{t-1}), evaluated
// as log1p((close_t - close_{t-1}) / close_{t-1}); r_0 is NULL. Every window ends at bar t
// inclusive and counts rows:
//  - return statistics (ret_mean, ret_std, ret_skew, ret_kurt, ret_autocorr1,
//    up_fraction) use the W returns r_{t-W+1} .. r_t: lookback W;
//  - price/bar statistics (price_z, price_pctrank, dist_high, dist_low, parkinson_vol,
//    garman_klass_vol) use the W bars t-W+1 .. t: lookback W-1;
//  - efficiency_ratio uses x_{t-W} .. x_t (W differences): lookback W.
// ret_autocorr1 is the Pearson correlation of the W-1 consecutive pairs (r_{i-1}, r_i)
// inside the return window (pandas Series.autocorr(lag=1) on the window).
//
// Implementation: three RingBlockWindows aggregates per window (stats_moments.h; their
// values live once in two shared histories, bar_values_ and ret_values_): bars
// (moments of x, sum of Parkinson and Garman-Klass terms), returns (central moments to
// order 4, sum |dx|, count of r > 0) and return pairs (co-moments); max(high) / min(low)
// of all windows from one monotonic deque each (NestedExtremes, stats_rank.h). One shared
// ring of the last 1441 x values gives x_{t-W} and the ranks of x_t in all windows by one
// counting pass over the blocks of the ring whose min/max bounds straddle x_t (RankRing,
// stats_rank.h explains why this beats a sorted window per W). All O(1) amortised per bar
// except that pass (O(max W) compares at worst, vectorised).
#include <array>
#include <cmath>
#include <numbers>
#include <string>

#include "features/families.h"
#include "features/stats_moments.h"
#include "features/stats_rank.h"

namespace bqx::features {
namespace {

using stats::cat;


constexpr std::array<int, 7> kWindows = {15, 30, 60, 120, 240, 480, 1440};
constexpr int kMaxWindow = 1440;
constexpr int kCols = 13;
constexpr double kLn2 = std::numbers::ln2;
constexpr double kGkC = 2.0 * std::numbers::ln2 - 1.0;

// ln(a/b) as log1p((a - b)/b): a - b is exact for nearby prices, so a one-pip return keeps
// ~1e-16 relative precision (ln(a/b) would round the ratio to 1e-16 absolute, ~1e-12 relative).
inline double log_ratio(double a, double b) { return std::log1p((a - b) / b); }

// Per bar: x, Parkinson term ln(h/l)^2, Garman-Klass term.
struct BarValue {
  double x = 0, pk = 0, gk = 0;
};
struct BarAgg {
  stats::Moments2 mx;
  double pk = 0, gk = 0;
};
struct BarOp {
  using Value = BarValue;
  using Agg = BarAgg;
  static Agg merge(const Agg& a, const Agg& b) { return BarAgg{stats::merge(a.mx, b.mx), a.pk + b.pk, a.gk + b.gk}; }
  static void append(Agg& a, const Value& v) {
    stats::append(a.mx, v.x);
    a.pk += v.pk;
    a.gk += v.gk;
  }
  static Agg prepend(const Value& v, const Agg& b) { return BarAgg{stats::prepend(v.x, b.mx), v.pk + b.pk, v.gk + b.gk}; }
};

// Per return: r, |x_t - x_{t-1}|, [r > 0].
struct RetValue {
  double r = 0, adx = 0, up = 0;
};
struct RetAgg {
  stats::Moments4 m;
  double adx = 0, up = 0;
};
struct RetOp {
  using Value = RetValue;
  using Agg = RetAgg;
  static Agg merge(const Agg& a, const Agg& b) { return RetAgg{stats::merge(a.m, b.m), a.adx + b.adx, a.up + b.up}; }
  static void append(Agg& a, const Value& v) {
    stats::append(a.m, v.r);
    a.adx += v.adx;
    a.up += v.up;
  }
  static Agg prepend(const Value& v, const Agg& b) { return RetAgg{stats::prepend(v.r, b.m), v.adx + b.adx, v.up + b.up}; }
};

#if defined(BQX_COUNT_LE_AVX2)
// The output formulas of the 7 windows as 8 SIMD lanes (lane i = window i, lane 7 unused).
// Why: they hold ~24 divisions and ~12 square roots per window, independent across
// windows; one zmm division does 8 of them for the price of ~2 scalar ones. Bits: every
// lane runs the scalar formula of update() with the same IEEE operations in the same
// order (correctly rounded per lane), and each scalar branch is a per-lane blend of the
// two computed results; this path is taken only when the CPU has AVX-512 (checked once).
struct OutputLanes {
  // The two parts of each window's aggregates, merged here as lanes: the left parts
  // (RingBlockWindows::left(); a window without one, and lane 7, point at kEmpty*) and
  // the heads (HeadLanes fields, already one vector per field).
  const void* ret_left[8];
  const double (*ret_head)[8];
  const void* pair_left[8];
  const double (*pair_head)[8];
  const void* bar_left[8];
  const double (*bar_head)[8];
  unsigned ret_has_left = 0, pair_has_left = 0, bar_has_left = 0;  // bit i: window i
  double x_back[8], high[8], low[8], le[8];  // x_{t-W}, max high, min low, rank count
  unsigned rets_full = 0, bars_full = 0;     // bit i: window i is full
};
const RetAgg kEmptyRet{};
const stats::CoMoments kEmptyPair{};
const BarAgg kEmptyBar{};
static_assert(sizeof(RetAgg) == 8 * sizeof(double) && sizeof(stats::CoMoments) == 8 * sizeof(double) &&
                  sizeof(BarAgg) == 6 * sizeof(double),
              "aggregates are read as rows of doubles (stats::transpose_lanes)");

// value() of the 7 windows: merge(left, head) where there is a left part, else the head.
// The extra sums are left + head only where there is a left part (value() returns the head
// itself otherwise; a sum with 0 could turn -0 into +0).
__attribute__((target("avx512f"))) inline __m512d sum_lanes(__mmask8 has_left, __m512d left, __m512d head) {
  return _mm512_mask_blend_pd(has_left, head, _mm512_add_pd(left, head));
}

// The 13 columns of the 7 windows (update() has the scalar form of each line).
__attribute__((target("avx512f"))) void outputs_avx512(const OutputLanes& in, double x_t, double close_t, double* out) {
  const __m512d null = _mm512_set1_pd(kNull), x = _mm512_set1_pd(x_t), close = _mm512_set1_pd(close_t);
  alignas(64) double col[kCols][8];
  {
    __m512d left[8], head[8];
    stats::transpose_lanes(in.ret_left, 8, left);
    for (int k = 0; k < 8; ++k) head[k] = _mm512_load_pd(in.ret_head[k]);
    const __mmask8 has_left = static_cast<__mmask8>(in.ret_has_left);
    const stats::Moments4Lanes m = stats::merge_lanes(stats::Moments4Lanes{left[0], left[1], left[2], left[3], left[4], left[5]},
                                                      stats::Moments4Lanes{head[0], head[1], head[2], head[3], head[4], head[5]});
    const __m512d r_n = _mm512_mask_blend_pd(has_left, head[0], m.n), r_anchor = _mm512_mask_blend_pd(has_left, head[1], m.anchor);
    const __m512d r_off = _mm512_mask_blend_pd(has_left, head[2], m.off), r_m2 = _mm512_mask_blend_pd(has_left, head[3], m.m2);
    const __m512d r_m3 = _mm512_mask_blend_pd(has_left, head[4], m.m3), r_m4 = _mm512_mask_blend_pd(has_left, head[5], m.m4);
    const __m512d r_adx = sum_lanes(has_left, left[6], head[6]), r_up = sum_lanes(has_left, left[7], head[7]);
    __m512d pl[8], ph[8];
    stats::transpose_lanes(in.pair_left, 8, pl);
    for (int k = 0; k < 8; ++k) ph[k] = _mm512_load_pd(in.pair_head[k]);
    const __mmask8 pair_has_left = static_cast<__mmask8>(in.pair_has_left);
    const stats::CoMomentsLanes pm = stats::merge_lanes(stats::CoMomentsLanes{pl[0], pl[1], pl[2], pl[3], pl[4], pl[5], pl[6], pl[7]},
                                                        stats::CoMomentsLanes{ph[0], ph[1], ph[2], ph[3], ph[4], ph[5], ph[6], ph[7]});
    const __m512d p_n = _mm512_mask_blend_pd(pair_has_left, ph[0], pm.n);
    const __m512d p_anchor_a = _mm512_mask_blend_pd(pair_has_left, ph[1], pm.anchor_a);
    const __m512d p_anchor_b = _mm512_mask_blend_pd(pair_has_left, ph[2], pm.anchor_b);
    const __m512d p_off_a = _mm512_mask_blend_pd(pair_has_left, ph[3], pm.off_a);
    const __m512d p_off_b = _mm512_mask_blend_pd(pair_has_left, ph[4], pm.off_b);
    const __m512d p_m2a = _mm512_mask_blend_pd(pair_has_left, ph[5], pm.m2a);
    const __m512d p_m2b = _mm512_mask_blend_pd(pair_has_left, ph[6], pm.m2b);
    const __m512d p_cab = _mm512_mask_blend_pd(pair_has_left, ph[7], pm.cab);

    const __mmask8 full = static_cast<__mmask8>(in.rets_full);
    const __m512d n = r_n, m2 = r_m2;
    const __m512d mean = _mm512_add_pd(r_anchor, r_off);
    const __mmask8 sharp = stats::sharp_lanes(n, mean, m2, full);
    const __m512d v = _mm512_div_pd(m2, n);
    stats::put_column(col[0], null, full, mean);
    stats::put_column(col[1], null, full, stats::std_sample_lanes(n, m2));
    stats::put_column(col[2], null, full & sharp, _mm512_div_pd(_mm512_div_pd(r_m3, n), _mm512_mul_pd(v, stats::sqrt_lanes(v))));
    stats::put_column(col[3], null, full & sharp,
        _mm512_sub_pd(_mm512_div_pd(_mm512_div_pd(r_m4, n), _mm512_mul_pd(v, v)), _mm512_set1_pd(3.0)));
    const __m512d pn = p_n, m2a = p_m2a, m2b = p_m2b;
    const __mmask8 legs_sharp = static_cast<__mmask8>(stats::sharp_lanes(pn, _mm512_add_pd(p_anchor_a, p_off_a), m2a, full) &
                                                      stats::sharp_lanes(pn, _mm512_add_pd(p_anchor_b, p_off_b), m2b, full));
    stats::put_column(col[8], null, full & legs_sharp, _mm512_div_pd(p_cab, stats::sqrt_lanes(_mm512_mul_pd(m2a, m2b))));
    const __m512d adx = r_adx;
    const __mmask8 moved = _mm512_cmp_pd_mask(adx, _mm512_setzero_pd(), _CMP_GT_OQ);
    stats::put_column(col[11], null, full & moved, _mm512_div_pd(stats::abs_lanes(_mm512_sub_pd(x, _mm512_loadu_pd(in.x_back))), adx));
    stats::put_column(col[12], null, full, _mm512_div_pd(r_up, n));
  }
  {
    __m512d left[8], head[8];
    stats::transpose_lanes(in.bar_left, 6, left);
    for (int k = 0; k < 6; ++k) head[k] = _mm512_load_pd(in.bar_head[k]);
    const __mmask8 has_left = static_cast<__mmask8>(in.bar_has_left);
    const stats::Moments2Lanes mx = stats::merge_lanes(stats::Moments2Lanes{left[0], left[1], left[2], left[3]},
                                                       stats::Moments2Lanes{head[0], head[1], head[2], head[3]});
    const __m512d b_pk = sum_lanes(has_left, left[4], head[4]), b_gk = sum_lanes(has_left, left[5], head[5]);
    const __mmask8 full = static_cast<__mmask8>(in.bars_full);
    const __m512d n = _mm512_mask_blend_pd(has_left, head[0], mx.n), m2 = _mm512_mask_blend_pd(has_left, head[3], mx.m2);
    const __m512d anchor = _mm512_mask_blend_pd(has_left, head[1], mx.anchor), off = _mm512_mask_blend_pd(has_left, head[2], mx.off);
    const __mmask8 sharp = stats::sharp_lanes(n, _mm512_add_pd(anchor, off), m2, full);
    const __m512d deviation = _mm512_sub_pd(_mm512_sub_pd(x, anchor), off);
    stats::put_column(col[4], null, full & sharp, _mm512_div_pd(deviation, stats::std_sample_lanes(n, m2)));
    stats::put_column(col[5], null, full, _mm512_div_pd(_mm512_loadu_pd(in.le), n));
    stats::put_column(col[6], null, full, _mm512_div_pd(_mm512_sub_pd(_mm512_loadu_pd(in.high), close), close));
    stats::put_column(col[7], null, full, _mm512_div_pd(_mm512_sub_pd(close, _mm512_loadu_pd(in.low)), close));
    stats::put_column(col[9], null, full, stats::sqrt_lanes(_mm512_div_pd(b_pk, _mm512_mul_pd(_mm512_set1_pd(4.0 * kLn2), n))));
    const __m512d gk = _mm512_div_pd(b_gk, n);
    const __mmask8 gk_ok = _mm512_cmp_pd_mask(gk, _mm512_setzero_pd(), _CMP_GE_OQ);
    stats::put_column(col[10], null, full & gk_ok, stats::sqrt_lanes(gk));
  }
  stats::store_window_rows(col, 0, 8, kWindows.size(), kCols, out);
  stats::store_window_rows(col, 8, kCols - 8, kWindows.size(), kCols, out);
}
#endif

// The return pairs (r_{i-1}, r_i) of a return window of W returns: W - 1.
constexpr std::array<int, kWindows.size()> pair_windows() {
  std::array<int, kWindows.size()> w{};
  for (size_t i = 0; i < kWindows.size(); ++i) w[i] = kWindows[i] - 1;
  return w;
}

class StatsRateKernel final : public FamilyKernel {
 public:
  explicit StatsRateKernel(const KernelContext& ctx)
      : offset_(ctx.offset), bars_(kWindows), rets_(kWindows), pairs_(pair_windows()), high_(kWindows), low_(kWindows),
        bar_values_(kMaxWindow), ret_values_(kMaxWindow) {}

  void update(const BarInput& bar, double* row) override {
    const double x = bar.xc;
    const double lhl = log_ratio(bar.high, bar.low);
    const double lco = log_ratio(bar.close, bar.open);
    const BarValue bv{x, lhl * lhl, 0.5 * lhl * lhl - kGkC * lco * lco};
    const bool have_ret = xs_.size() > 0;
    RetValue rv;
    if (have_ret) {
      rv.r = log_ratio(bar.close, prev_close_);
      rv.adx = std::fabs(x - xs_.back(0));
      rv.up = rv.r > 0 ? 1.0 : 0.0;
    }
    const bool have_pair = have_ret && rets_seen_ > 0;
    const stats::PairValue pv{prev_r_, rv.r};
    xs_.push(x);  // from here on xs_.back(0) = x_t, back(W) = x_{t-W}

    // Ranks of x_t in every bar window that is full (lookback W-1: at least W bars).
    size_t full_windows = 0;
    while (full_windows < kWindows.size() && xs_.size() >= static_cast<size_t>(kWindows[full_windows])) ++full_windows;
    std::array<size_t, kWindows.size()> le{};  // count of window x values <= x_t
    xs_.count_le_nested(kWindows, full_windows, x, le);
    high_.push(bar.high);
    low_.push(bar.low);

    double* out = row + offset_;
    roll_due_windows(have_ret, have_pair);
    grow_heads(bv, have_ret, rv, have_pair, pv);
    bars_.advance();
    if (have_ret) rets_.advance();
    if (have_pair) pairs_.advance();
#if defined(BQX_COUNT_LE_AVX2)
    if (stats::cpu_has_avx512()) {
      OutputLanes in;
      in.ret_head = ret_heads_.f;
      in.pair_head = pair_heads_.f;
      in.bar_head = bar_heads_.f;
      in.rets_full = rets_.full_mask();
      in.bars_full = bars_.full_mask();
      in.ret_has_left = rets_.left_rows(in.ret_left, &kEmptyRet);
      in.pair_has_left = pairs_.left_rows(in.pair_left, &kEmptyPair);
      in.bar_has_left = bars_.left_rows(in.bar_left, &kEmptyBar);
      // Lanes of windows that are not full are never output (NULL): read without a branch
      // (x_{t-W} from a ring slot that may still be unwritten, the extremes of a young window).
      for (size_t i = 0; i < kWindows.size(); ++i) {
        in.x_back[i] = xs_.back_slot(static_cast<size_t>(kWindows[i]));
        in.high[i] = high_.value(i);
        in.low[i] = low_.value(i);
        in.le[i] = static_cast<double>(le[i]);
      }
      in.x_back[7] = in.high[7] = in.low[7] = in.le[7] = 0.0;
      outputs_avx512(in, x, bar.close, out);
      finish_bar(bv, have_ret, rv, bar.close);
      return;
    }
#endif
    for (size_t i = 0; i < kWindows.size(); ++i) {
      const size_t w = static_cast<size_t>(kWindows[i]);

      double* o = out + i * kCols;
      // Return statistics (lookback W).
      if (rets_.full(i)) {
        const RetAgg ra = rets_.value(i, ret_heads_.get(i));
        const double n = ra.m.n;
        o[0] = ra.m.mean();
        o[1] = stats::std_sample(n, ra.m.m2);
        o[2] = stats::skew_g1(ra.m);
        o[3] = stats::kurt_excess(ra.m);
        o[8] = stats::pearson(pairs_.value(i, pair_heads_.get(i)));
        // efficiency_ratio = |x_t - x_{t-W}| / sum |dx|.
        o[11] = ra.adx > 0 ? std::fabs(x - xs_.back(w)) / ra.adx : kNull;
        o[12] = ra.up / n;
      } else {
        o[0] = o[1] = o[2] = o[3] = o[8] = o[11] = o[12] = kNull;
      }
      // Bar statistics (lookback W-1).
      if (bars_.full(i)) {
        const BarAgg ba = bars_.value(i, bar_heads_.get(i));
        const double n = ba.mx.n;
        o[4] = stats::degenerate(n, ba.mx.mean(), ba.mx.m2) ? kNull : ba.mx.deviation(x) / stats::std_sample(n, ba.mx.m2);
        o[5] = static_cast<double>(le[i]) / n;
        o[6] = (high_.value(i) - bar.close) / bar.close;
        o[7] = (bar.close - low_.value(i)) / bar.close;
        o[9] = std::sqrt(ba.pk / (4.0 * kLn2 * n));
        const double gk = ba.gk / n;
        o[10] = gk >= 0 ? std::sqrt(gk) : kNull;
      } else {
        o[4] = o[5] = o[6] = o[7] = o[9] = o[10] = kNull;
      }
    }
    finish_bar(bv, have_ret, rv, bar.close);
  }
  // The windows that roll on this bar's push, rolled together per aggregate kind (their
  // suffix chains interleave: RingBlockWindows::roll); the pushes then do not roll. Their
  // heads restart empty.
  void roll_due_windows(bool have_ret, bool have_pair) {
    const unsigned bars_due = bars_.rolls_next();
    const unsigned rets_due = have_ret ? rets_.rolls_next() : 0u;
    const unsigned pairs_due = have_pair ? pairs_.rolls_next() : 0u;
    for (size_t i = 0; i < kWindows.size(); ++i) {
      if (bars_due >> i & 1u) bar_heads_.reset(i);
      if (rets_due >> i & 1u) ret_heads_.reset(i);
      if (pairs_due >> i & 1u) pair_heads_.reset(i);
    }
    bars_.roll(bars_due, BarSource{&bar_values_});
    rets_.roll(rets_due, RetSource{&ret_values_});
    pairs_.roll(pairs_due, PairSource{&ret_values_});
  }
  // Each window's push appends the bar's values to its head (the windows' other part,
  // advance(), is in update()). SIMD across windows: the same value into 7 heads, per-lane
  // IEEE operations, bit-identical to the scalar appends (AVX-512, else generic vectors).
  void grow_heads(const BarValue& bv, bool have_ret, const RetValue& rv, bool have_pair, const stats::PairValue& pv) {
#if defined(BQX_COUNT_LE_AVX2)
    if (stats::cpu_has_avx512()) {
      grow_heads_avx512(bv, have_ret, rv, have_pair, pv);
      return;
    }
#endif
    constexpr unsigned kAllWindows = (1u << kWindows.size()) - 1u;
    // BarOp::append: moments of x, then the two sums.
    stats::portable::append_moments2_lanes(bar_heads_.f, bv.x, kAllWindows);
    stats::portable::add_lanes(bar_heads_.f[4], bv.pk, kAllWindows);
    stats::portable::add_lanes(bar_heads_.f[5], bv.gk, kAllWindows);
    if (have_ret) {  // RetOp::append
      stats::portable::append_moments4_lanes(ret_heads_.f, rv.r, kAllWindows);
      stats::portable::add_lanes(ret_heads_.f[6], rv.adx, kAllWindows);
      stats::portable::add_lanes(ret_heads_.f[7], rv.up, kAllWindows);
    }
    if (have_pair) stats::portable::append_comoments_lanes(pair_heads_.f, pv.a, pv.b, kAllWindows);
  }
#if defined(BQX_COUNT_LE_AVX2)
  __attribute__((target("avx512f"))) void grow_heads_avx512(const BarValue& bv, bool have_ret, const RetValue& rv,
                                                            bool have_pair, const stats::PairValue& pv) {
    constexpr __mmask8 kAllWindows = (1u << kWindows.size()) - 1u;
    // BarOp::append: moments of x, then the two sums.
    stats::append_moments2_lanes(bar_heads_.f, bv.x, kAllWindows);
    stats::add_lanes(bar_heads_.f[4], bv.pk, kAllWindows);
    stats::add_lanes(bar_heads_.f[5], bv.gk, kAllWindows);
    if (have_ret) {  // RetOp::append
      stats::append_moments4_lanes(ret_heads_.f, rv.r, kAllWindows);
      stats::add_lanes(ret_heads_.f[6], rv.adx, kAllWindows);
      stats::add_lanes(ret_heads_.f[7], rv.up, kAllWindows);
    }
    if (have_pair) stats::append_comoments_lanes(pair_heads_.f, pv.a, pv.b, kAllWindows);
  }
#endif

  // The value histories the windows roll from (pushed after the windows: at the next
  // roll, age 0 is the last value of the full block).
  void finish_bar(const BarValue& bv, bool have_ret, const RetValue& rv, double close) {
    bar_values_.push(bv);
    if (have_ret) {
      ret_values_.push(rv);
      prev_r_ = rv.r;
      ++rets_seen_;
    }
    prev_close_ = close;
  }
  // Sources of the windows' values by age (RingBlockWindows::roll / load_suffixes).
  struct BarSource {
    const stats::HistoryRing<BarValue>* h;
    const BarValue& operator()(size_t age) const { return h->back(age); }
  };
  struct RetSource {
    const stats::HistoryRing<RetValue>* h;
    const RetValue& operator()(size_t age) const { return h->back(age); }
  };
  // The pair pushed `age` pushes ago is (r_{i-1}, r_i) with r_i the return pushed `age`
  // pushes ago.
  struct PairSource {
    const stats::HistoryRing<RetValue>* h;
    stats::PairValue operator()(size_t age) const { return stats::PairValue{h->back(age + 1).r, h->back(age).r}; }
  };

  void prefetch() const override {
    bars_.prefetch();
    rets_.prefetch();
    pairs_.prefetch();
    high_.prefetch();
    low_.prefetch();
    xs_.prefetch();
    // The x_{t-W} of the efficiency ratios: one line each, far apart in the ring.
    for (int w : kWindows) xs_.prefetch_back_after_push(static_cast<size_t>(w));
    bar_values_.prefetch();
    ret_values_.prefetch();
    bar_heads_.prefetch();
    ret_heads_.prefetch();
    pair_heads_.prefetch();
  }

  // The histories come first: the windows rebuild their suffixes from them at load().
  void save(StateWriter& out) const override {
    bar_values_.save(out);
    ret_values_.save(out);
    bar_heads_.save(out);
    ret_heads_.save(out);
    pair_heads_.save(out);
    for (size_t i = 0; i < kWindows.size(); ++i) {  // window-major, as one object per window saved
      bars_.save_counters(i, out);
      rets_.save_counters(i, out);
      pairs_.save_counters(i, out);
    }
    high_.save(out);
    low_.save(out);
    xs_.save(out);
    out.put(prev_close_);
    out.put(prev_r_);
    out.put<uint64_t>(rets_seen_);
  }
  void load(StateReader& in) override {
    bar_values_.load(in);
    ret_values_.load(in);
    bar_heads_.load(in);
    ret_heads_.load(in);
    pair_heads_.load(in);
    const size_t rets = ret_values_.size();
    for (size_t i = 0; i < kWindows.size(); ++i) {
      bars_.load_counters(i, in);
      rets_.load_counters(i, in);
      pairs_.load_counters(i, in);
    }
    bars_.load_suffixes(in, BarSource{&bar_values_}, bar_values_.size());
    rets_.load_suffixes(in, RetSource{&ret_values_}, rets);
    pairs_.load_suffixes(in, PairSource{&ret_values_}, rets > 0 ? rets - 1 : 0);
    high_.load(in);
    low_.load(in);
    xs_.load(in);
    in.get(prev_close_);
    in.get(prev_r_);
    rets_seen_ = in.get<uint64_t>();
  }

 private:
  int offset_;
  // The bar, return and return-pair windows (RingBlockWindows: counters of all 7 in one line).
  stats::RingBlockWindows<BarOp, kWindows.size()> bars_;
  stats::RingBlockWindows<RetOp, kWindows.size()> rets_;
  stats::RingBlockWindows<stats::CoMomentsOp, kWindows.size()> pairs_;
  stats::NestedExtremes<true, kWindows.size()> high_;  // max(high) over each bar window
  stats::NestedExtremes<false, kWindows.size()> low_;  // min(low) over each bar window
  stats::RankRing<kMaxWindow + 1, true> xs_;  // the last 1441 x values (x_t = back(0) once pushed)
  stats::HistoryRing<BarValue> bar_values_;  // the last 1440 bar values (the bar windows' values)
  stats::HistoryRing<RetValue> ret_values_;  // the last 1440 return values (return and pair windows)
  stats::HeadLanes<BarAgg> bar_heads_;             // lane i: head of bar window i
  stats::HeadLanes<RetAgg> ret_heads_;             // lane i: head of return window i
  stats::HeadLanes<stats::CoMoments> pair_heads_;  // lane i: head of pair window i
  double prev_close_ = 0;
  double prev_r_ = 0;
  uint64_t rets_seen_ = 0;
};

}  // namespace

FamilyDef make_stats_rate_family() {
  FamilyDef def;
  def.name = "stats_rate";
  const std::string src = "FEATURES.md 1.6";
  const std::string fam = "stats_rate";
  const std::string rdef = "r_i = ln(close_i / close_{i-1}); return window r_{t-W+1}..r_t (W returns)";
  const std::string bdef = "bar window t-W+1..t (W bars, t inclusive)";
  const std::string flat = "window flat: population std <= 1e-12*|mean| (exactly constant window)";
  for (int w : kWindows) {
    const std::string p = "stats_rate_";
    const std::string s = cat("_", std::to_string(w));
    const std::string par = cat("W=", std::to_string(w));
    auto add = [&](const std::string& stat, const std::string& formula, const std::string& unit, int lookback,
                   const std::string& null_when) {
      def.columns.push_back({p + stat + s, fam, par, formula, unit, lookback, src, null_when, true});
    };
    add("ret_mean", "mean of r over the return window; " + rdef, "log return", w, "");
    add("ret_std", "sample stdev (ddof 1) of r over the return window; " + rdef, "log return", w, "");
    add("ret_skew", "biased skewness g1 = m3 / m2^1.5 (m_k = mean (r - mean r)^k, scipy.stats.skew bias=True) of r; " + rdef,
        "dimensionless", w, flat);
    add("ret_kurt",
        "biased excess kurtosis m4 / m2^2 - 3 (scipy.stats.kurtosis fisher=True bias=True) of r; " + rdef,
        "dimensionless", w, flat);
    add("price_z", "(x_t - mean x) / std x over the bar window, std ddof 1; " + bdef, "z-score", w - 1, flat);
    add("price_pctrank", "share of the W window x values <= x_t; " + bdef, "fraction (0..1]", w - 1, "");
    add("dist_high", "(max high - close_t) / close_t, max over the bar window; " + bdef, "fraction", w - 1, "");
    add("dist_low", "(close_t - min low) / close_t, min over the bar window; " + bdef, "fraction", w - 1, "");
    add("ret_autocorr1",
        "lag-1 autocorrelation of r: Pearson correlation of the W-1 pairs (r_{i-1}, r_i) inside the return window "
        "(pandas Series.autocorr(1) of the window); " + rdef,
        "correlation (-1..1)", w, "either leg flat (population std <= 1e-12*|mean|)");
    add("parkinson_vol", "sqrt(sum ln(high/low)^2 / (4 ln2 W)) over the bar window; " + bdef, "log return", w - 1, "");
    add("garman_klass_vol",
        "sqrt(mean(0.5 ln(high/low)^2 - (2 ln2 - 1) ln(close/open)^2)) over the bar window; " + bdef, "log return",
        w - 1, "mean term < 0 (only possible with inconsistent OHLC)");
    add("efficiency_ratio", "|x_t - x_{t-W}| / sum_{i=t-W+1..t} |x_i - x_{i-1}|", "fraction (0..1)", w,
        "sum |dx| = 0 (flat window)");
    add("up_fraction", "share of r > 0 over the return window; " + rdef, "fraction (0..1)", w, "");
  }
  def.make = [](const KernelContext& ctx) { return std::make_unique<StatsRateKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
