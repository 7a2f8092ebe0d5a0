// derived: interactions and ratios of earlier features (FEATURES.md 3.2).
//
// FEATURES.md 3.2 names 33 derived_* columns (section 5's table says 36; see the report of
// this family). derived_pair_vs_implied_{15,60,240} need the grid history of the currency
// strengths and are computed by the cur cross kernel (cross/cur.cpp); this FamilyDef holds
// the other 30, in the order FEATURES.md 3.2 lists them:
//   derived_bqx_accel_{15_30,15_60,30_60,45_75}, derived_bqx_alignment,
//   derived_reg_slope_agree_{60,240}, derived_reg_r2_spread_{60_240,60_630,240_630},
//   derived_reg_pred_gap_{60_240,240_630}, derived_vol_ratio_{15_60,60_240,240_1440},
//   derived_rsi_adx, derived_bb_squeeze, derived_trend_strength,
//   derived_cur_mom_diff_{15,60,240,1440}, derived_bqx60_z_240, derived_macd_hist_slope,
//   derived_stoch_rsi_14, derived_vol_session_{tokyo,london,newyork},
//   derived_range_expansion, derived_bqx_stretch_75.
//
// A second-order family: MarketEngine runs it per pair over the full feature row
// (per-pair + cross-pair columns); KernelContext::pair selects the base and quote
// currency columns of derived_cur_mom_diff_n (cur_{base}_mom_n - cur_{quote}_mom_n).
//
// Inputs that are not (yet) registered. An input column absent from the registry is
// resolved to index -1 and read as NULL, so the columns using it are always NULL but the
// family still runs. FamilyDef::inputs lists only the registered inputs (MarketEngine::create
// rejects absent ones); the kernel resolves every input by name in KernelContext::layout, so
// a hand-made layout (tests) works the same way.
//
// Conventions (recorded per column in the catalogue):
//  * sign(v) is -1, 0 or +1 (sign(0) = 0); "same sign" compares these values, so two zeros
//    agree and a zero never agrees with a non-zero value.
//  * Any NULL input gives NULL; counts and flags (alignment, slope_agree) are NULL, not 0,
//    when an input is NULL.
//  * Ratios are NULL when the denominator is 0. The upstream families report flat windows
//    as exact zeros (stats ret_std, ATR, BBANDS width), so the test is exact, except for
//    bqx_w75_stdev (shifted O(1) sums, may leave rounding noise on a flat window), which uses
//    the scale-aware zero stdev <= 1e-12 * x_t.
//  * Windows over earlier rows (bqx60_z_240, stoch_rsi_14, macd_hist_slope, trend_strength)
//    count this pair's rows, t inclusive; a window holding a NULL gives NULL.
#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "features/cross/cross_families.h"
#include "features/registry.h"
#include "features/rolling.h"

namespace bqx::features {
namespace {

// Inputs read from the row (by name), in one enum so the kernel indexes an array.
enum In : int {
  kR15, kR30, kR45, kR60, kR75, kStd75,
  kSlopeRate60, kSlopeBqx60, kSlopeRate240, kSlopeBqx240,
  kR2_60, kR2_240, kR2_630,
  kPred60, kPred240, kPred630,
  kRetStd15, kRetStd60, kRetStd240, kRetStd1440,
  kRsi14, kAdx14, kBbw20, kBbw60, kEr60, kMacdHist,
  kTokyo, kLondon, kNewYork,
  kAtr14, kAtr60,
  kBqxR2_60, kParkinson60, kRsi7, kRsi28,
  kInputCount
};
constexpr std::array<const char*, kInputCount> kInputNames = {
    "bqx_w15_return", "bqx_w30_return", "bqx_w45_return", "bqx_w60_return", "bqx_w75_return", "bqx_w75_stdev",
    "reg_rate_w60_slope_now", "reg_bqx_w60_slope_now", "reg_rate_w240_slope_now", "reg_bqx_w240_slope_now",
    "reg_rate_w60_r2", "reg_rate_w240_r2", "reg_rate_w630_r2",
    "reg_rate_w60_prediction", "reg_rate_w240_prediction", "reg_rate_w630_prediction",
    "stats_rate_ret_std_15", "stats_rate_ret_std_60", "stats_rate_ret_std_240", "stats_rate_ret_std_1440",
    "ta_rate_rsi_14", "ta_rate_adx_14", "ta_rate_bbands_20_2_width", "ta_rate_bbands_60_2_width",
    "stats_rate_efficiency_ratio_60", "ta_rate_macd_12_26_9_hist",
    "time_session_tokyo", "time_session_london", "time_session_newyork",
    "ta_rate_atr_14", "ta_rate_atr_60",
    "reg_bqx_w60_r2", "stats_rate_parkinson_vol_60", "ta_rate_rsi_7", "ta_rate_rsi_28"};

constexpr std::array<int, 4> kMomRows = {15, 60, 240, 1440};
constexpr int kZWindow = 240;        // derived_bqx60_z_240
constexpr int kStochWindow = 14;     // derived_stoch_rsi_14
constexpr int kHistLag = 5;          // derived_macd_hist_slope
constexpr int kTrendLag = 60;        // derived_trend_strength
constexpr double kZeroRel = 1e-12;   // scale-aware zero (bqx_w75_stdev, bqx60_z_240 spread)
// FEATURES.md 3.2 names 33 columns (30 here + the 3 pair_vs_implied columns the cur kernel
// computes) while its count table says 36; the last 3 columns below are BQX's additions
// that complete the published count of 1,088 (documented in the catalogue).
constexpr int kColumnCount = 33;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}
std::string cur_mom_name(Currency c, int n) {
  return "cur_" + lower(currency_code(c)) + "_mom_" + std::to_string(n);
}

inline int sgn(double v) { return (v > 0) - (v < 0); }

// The kernel's whole state lives in the object, laid out by use: the family runs for every
// pair each minute and its cost is the cache lines it touches, not its arithmetic. The input
// indices and every scalar sit in the first lines, then one array per window; one push counter
// drives all the rings (slot = pushes % capacity). A minute touches the 4 hot lines, one slot
// line of x_past_, the 2 lines of rsi_ring_ and one (rarely two) of z_ring_; before, seven
// separately allocated rings and deques and a 10-line object made about 25.
//
// The windows keep the values and arithmetic of the rolling primitives they replace
// (RollingMoments, RollingMax / RollingMin, RingBuffer in rolling.h), so the bits are unchanged:
//  * z_*: RollingMoments over 240 rows (same shifted sums, same equal-run rule, same exact
//    recomputation every 240 pushes, newest to oldest);
//  * derived_bqx60_z_240 needed max(|max|, |min|) of the window, which is max |v| over it:
//    one running maximum of |v| (z_abs_max_), rescanned from z_ring_ only when it leaves the
//    window, replaces the two deques; and max != min is "the run of equal values is shorter
//    than the window" (z_equal_run_, as in RollingMoments::m2);
//  * the 14-row stoch RSI window is scanned oldest to newest, a tie taking the newer value
//    (>=, <=): the value RollingMax / RollingMin return (a dominated entry is dropped when an
//    equal newer one arrives), which decides the sign of a zero extreme.
class alignas(kCacheLine) DerivedKernel final : public FamilyKernel {
 public:
  explicit DerivedKernel(const KernelContext& ctx) : offset_(ctx.offset) {
    auto index = [&](const std::string& name) -> int16_t {
      const int i = ctx.layout ? ctx.layout->index_of(name) : -1;
      // int16 keeps the indices in the hot lines; a row that wide would need int32 here.
      if (i > std::numeric_limits<int16_t>::max()) throw std::length_error("derived: feature row too wide");
      return static_cast<int16_t>(i);
    };
    for (int i = 0; i < kInputCount; ++i) in_[i] = index(kInputNames[i]);
    const bool real_pair = ctx.pair.base != ctx.pair.quote;
    for (size_t k = 0; k < kMomRows.size(); ++k) {
      base_mom_[k] = real_pair ? index(cur_mom_name(ctx.pair.base, kMomRows[k])) : int16_t{-1};
      quote_mom_[k] = real_pair ? index(cur_mom_name(ctx.pair.quote, kMomRows[k])) : int16_t{-1};
    }
  }

  void update(const BarInput& bar, double* row) override {
    std::array<double, kInputCount> v;
    for (int i = 0; i < kInputCount; ++i) v[i] = in_[i] >= 0 ? row[in_[i]] : kNull;
    const double x = bar.xc;
    const uint64_t t = pushes_;  // rows before this one
    double* o = row + offset_;
    int k = 0;

    // derived_bqx_accel_*: per-bar mean return of the short window minus the long one's.
    o[k++] = v[kR15] / 15.0 - v[kR30] / 30.0;
    o[k++] = v[kR15] / 15.0 - v[kR60] / 60.0;
    o[k++] = v[kR30] / 30.0 - v[kR60] / 60.0;
    o[k++] = v[kR45] / 45.0 - v[kR75] / 75.0;

    // derived_bqx_alignment: windows 30/45/60/75 whose return sign equals w15's.
    if (any_null(v, {kR15, kR30, kR45, kR60, kR75})) {
      o[k++] = kNull;
    } else {
      const int s = sgn(v[kR15]);
      o[k++] = static_cast<double>((sgn(v[kR30]) == s) + (sgn(v[kR45]) == s) + (sgn(v[kR60]) == s) +
                                   (sgn(v[kR75]) == s));
    }

    // derived_reg_slope_agree_{60,240}
    o[k++] = agree(v[kSlopeRate60], v[kSlopeBqx60]);
    o[k++] = agree(v[kSlopeRate240], v[kSlopeBqx240]);

    // derived_reg_r2_spread_*
    o[k++] = v[kR2_60] - v[kR2_240];
    o[k++] = v[kR2_60] - v[kR2_630];
    o[k++] = v[kR2_240] - v[kR2_630];

    // derived_reg_pred_gap_*: rate-domain prediction difference over x_t.
    o[k++] = (v[kPred60] - v[kPred240]) / x;
    o[k++] = (v[kPred240] - v[kPred630]) / x;

    // derived_vol_ratio_*
    o[k++] = ratio(v[kRetStd15], v[kRetStd60]);
    o[k++] = ratio(v[kRetStd60], v[kRetStd240]);
    o[k++] = ratio(v[kRetStd240], v[kRetStd1440]);

    // derived_rsi_adx
    o[k++] = (v[kRsi14] - 50.0) * v[kAdx14] / 100.0;

    // derived_bb_squeeze
    o[k++] = ratio(v[kBbw20], v[kBbw60]);

    // derived_trend_strength = efficiency_ratio_60 * sign(x_t - x_{t-60}); x_{t-60} is in the
    // slot this row overwrites.
    double& x_then = x_past_[t % kTrendLag];
    if (t >= static_cast<uint64_t>(kTrendLag) && !is_null(v[kEr60])) {
      o[k++] = v[kEr60] * static_cast<double>(sgn(x - x_then));
    } else {
      o[k++] = kNull;
    }
    x_then = x;

    // derived_cur_mom_diff_n = cur_{base}_mom_n - cur_{quote}_mom_n.
    for (size_t m = 0; m < kMomRows.size(); ++m) {
      const double b = base_mom_[m] >= 0 ? row[base_mom_[m]] : kNull;
      const double q = quote_mom_[m] >= 0 ? row[quote_mom_[m]] : kNull;
      o[k++] = b - q;
    }

    // derived_bqx60_z_240: z-score of bqx_w60_return over the last 240 rows (t inclusive),
    // sample stdev; NULL while the window holds a NULL or is flat.
    {
      const double q = v[kR60];
      const bool ok = !is_null(q);
      const double pushed = ok ? q : 0.0;  // placeholder; the window is invalid while it is inside
      push_z(t, pushed);
      z_run_ = ok ? z_run_ + 1 : 0;
      double z = kNull;
      if (z_run_ >= static_cast<uint64_t>(kZWindow)) {  // then the window is full
        const ZMoments zm = z_moments();
        if (z_equal_run_ < static_cast<uint64_t>(kZWindow) && zm.sd_pop > kZeroRel * z_abs_max_) {
          z = (q - zm.mean) / zm.sd_sample;
        }
      }
      o[k++] = z;
    }

    // derived_macd_hist_slope = hist_t - hist_{t-5}; hist_{t-5} is in the slot this row overwrites.
    {
      const double h = v[kMacdHist];
      double& then = hist_past_[t % kHistLag];
      o[k++] = (t >= static_cast<uint64_t>(kHistLag) && !is_null(h) && !is_null(then)) ? h - then : kNull;
      then = h;
    }

    // derived_stoch_rsi_14 = (rsi_t - min) / (max - min) over the last 14 rows of rsi14.
    {
      const double r = v[kRsi14];
      const bool ok = !is_null(r);
      rsi_ring_[t % kStochWindow] = ok ? r : 0.0;
      rsi_run_ = ok ? rsi_run_ + 1 : 0;
      double s = kNull;
      if (rsi_run_ >= static_cast<uint64_t>(kStochWindow)) {  // then the ring holds the 14 rows
        size_t i = (t + 1) % kStochWindow;                     // the oldest
        double hi = rsi_ring_[i], lo = hi;
        for (int n = 1; n < kStochWindow; ++n) {
          i = i + 1 == kStochWindow ? 0 : i + 1;
          const double w = rsi_ring_[i];
          hi = w >= hi ? w : hi;  // ties: the newer value (see the class comment)
          lo = w <= lo ? w : lo;
        }
        if (hi != lo) s = (r - lo) / (hi - lo);
      }
      o[k++] = s;
    }

    // derived_vol_session_*: ret_std_60 * session flag (0 outside the session).
    o[k++] = v[kRetStd60] * v[kTokyo];
    o[k++] = v[kRetStd60] * v[kLondon];
    o[k++] = v[kRetStd60] * v[kNewYork];

    // derived_range_expansion = ATR14 / ATR60.
    o[k++] = ratio(v[kAtr14], v[kAtr60]);

    // derived_bqx_stretch_75 = bqx_w75_return / (75 * bqx_w75_stdev / x_t).
    {
      const double sd = v[kStd75];
      o[k++] = (!is_null(v[kR75]) && !is_null(sd) && sd > kZeroRel * x) ? v[kR75] / (75.0 * sd / x) : kNull;
    }
    // BQX additions (see kColumnCount).
    o[k++] = v[kR2_60] - v[kBqxR2_60];
    o[k++] = ratio(v[kParkinson60], v[kRetStd60]);
    o[k++] = v[kRsi7] - v[kRsi28];

    assert(k == kColumnCount);
    // NaN from arithmetic on a NULL is the NULL itself; normalise it (and any non-finite
    // value, which can only come from a non-finite input) to the canonical kNull.
    null_non_finite(o, kColumnCount);
    pushes_ = t + 1;
  }

  // The lines the next update touches: the hot lines, the slots it overwrites, the 14-row
  // RSI window and the newest z value (the equal-run test).
  void prefetch() const override {
    prefetch_read(this, hot_bytes());
    const uint64_t t = pushes_;
    prefetch_write(&x_past_[t % kTrendLag], sizeof(double));
    prefetch_write(rsi_ring_.data(), sizeof(rsi_ring_));
    prefetch_write(&z_ring_[t % kZWindow], sizeof(double));
    if (t > 0) prefetch_read(&z_ring_[(t - 1) % kZWindow], sizeof(double));
  }

  void save(StateWriter& out) const override {
    out.put<uint64_t>(pushes_);
    out.put<uint64_t>(z_run_);
    out.put<uint64_t>(rsi_run_);
    out.put<uint64_t>(z_equal_run_);
    out.put(z_ref_);
    out.put(z_s1_);
    out.put(z_s2_);
    out.put(x_past_);
    out.put(hist_past_);
    out.put(rsi_ring_);
    out.put(z_ring_);
  }
  void load(StateReader& in) override {
    pushes_ = in.get<uint64_t>();
    z_run_ = in.get<uint64_t>();
    rsi_run_ = in.get<uint64_t>();
    z_equal_run_ = in.get<uint64_t>();
    in.get(z_ref_);
    in.get(z_s1_);
    in.get(z_s2_);
    in.get(x_past_);
    in.get(hist_past_);
    in.get(rsi_ring_);
    in.get(z_ring_);
    // The running max |v| is a function of the window: found again (not saved).
    if (pushes_ > 0) rescan_z_abs_max(pushes_ - 1);
  }

 private:
  static bool any_null(const std::array<double, kInputCount>& v, std::initializer_list<int> which) {
    for (int i : which) {
      if (is_null(v[i])) return true;
    }
    return false;
  }
  static double agree(double a, double b) {
    if (is_null(a) || is_null(b)) return kNull;
    return sgn(a) == sgn(b) ? 1.0 : 0.0;
  }
  static double ratio(double num, double den) {
    if (is_null(num) || is_null(den) || den == 0.0) return kNull;
    return num / den;
  }
  size_t hot_bytes() const {
    return static_cast<size_t>(reinterpret_cast<const char*>(x_past_.data()) - reinterpret_cast<const char*>(this));
  }

  // RollingMoments::push over the last kZWindow values (push number t), plus the running max |v|.
  void push_z(uint64_t t, double x) {
    constexpr uint64_t w = kZWindow;
    z_equal_run_ = (t > 0 && x == z_ring_[(t - 1) % w]) ? z_equal_run_ + 1 : 1;
    const size_t slot = t % w;
    const double old = z_ring_[slot];
    z_ring_[slot] = x;
    if (t == 0) z_ref_ = x;
    const double d = x - z_ref_;
    z_s1_ += d;
    z_s2_ += d * d;
    if (t >= w) {  // the oldest value left the window
      const double od = old - z_ref_;
      z_s1_ -= od;
      z_s2_ -= od * od;
    }
    if ((t + 1) % w == 0) {  // exact recomputation every W pushes, newest to oldest
      z_ref_ = x;
      z_s1_ = 0;
      z_s2_ = 0;
      for (uint64_t k = 0; k < w; ++k) {
        const double dk = z_ring_[(t - k) % w] - z_ref_;
        z_s1_ += dk;
        z_s2_ += dk * dk;
      }
    }
    // max |v| over the window: a new value at least as large takes over (later expiry); when the
    // held one leaves the window the (full) window is scanned again.
    const double a = std::fabs(x);
    if (t == 0 || a >= z_abs_max_) {
      z_abs_max_ = a;
      z_abs_max_at_ = t;
    } else if (z_abs_max_at_ + w <= t) {
      rescan_z_abs_max(t);
    }
  }
  void rescan_z_abs_max(uint64_t t) {
    const uint64_t first = t + 1 >= static_cast<uint64_t>(kZWindow) ? t + 1 - kZWindow : 0;
    z_abs_max_ = -1.0;
    for (uint64_t i = first; i <= t; ++i) {
      const double a = std::fabs(z_ring_[i % kZWindow]);
      if (a >= z_abs_max_) {
        z_abs_max_ = a;
        z_abs_max_at_ = i;
      }
    }
  }
  // The full window's mean and population / sample standard deviations, from
  // RollingMoments::m2 (0 on an equal run):
  //   m2 = s2 - s1 * s1 / n,  mean = ref + s1 / n,  sd_pop = sqrt(m2 / n),  sd_sample = sqrt(m2 / (n - 1)).
  // The two divisions by n, then the two divisions of m2 and their square roots, run as
  // the two lanes of one SSE2 divide / square root: per-lane IEEE operations, so each value
  // has the bits of the scalar form, and the chain is two divides and one root shorter.
  struct ZMoments {
    double mean, sd_pop, sd_sample;
  };
  ZMoments z_moments() const {
    const double n = static_cast<double>(kZWindow);
#if defined(__SSE2__)
    // lanes {s1 * s1 / n, s1 / n}
    const __m128d by_n = _mm_div_pd(_mm_set_pd(z_s1_, z_s1_ * z_s1_), _mm_set1_pd(n));
    const double mean = z_ref_ + _mm_cvtsd_f64(_mm_unpackhi_pd(by_n, by_n));
    double m2 = z_equal_run_ >= static_cast<uint64_t>(kZWindow) ? 0.0 : z_s2_ - _mm_cvtsd_f64(by_n);
    m2 = m2 > 0 ? m2 : 0.0;
    // lanes {sqrt(m2 / n), sqrt(m2 / (n - 1))}
    const __m128d sd = _mm_sqrt_pd(_mm_div_pd(_mm_set1_pd(m2), _mm_set_pd(n - 1.0, n)));
    return {mean, _mm_cvtsd_f64(sd), _mm_cvtsd_f64(_mm_unpackhi_pd(sd, sd))};
#else
    double m2 = z_equal_run_ >= static_cast<uint64_t>(kZWindow) ? 0.0 : z_s2_ - z_s1_ * z_s1_ / n;
    m2 = m2 > 0 ? m2 : 0.0;
    return {z_ref_ + z_s1_ / n, std::sqrt(m2 / n), std::sqrt(m2 / (n - 1.0))};
#endif
  }

  // Hot lines: counters, sums and input indices.
  uint64_t pushes_ = 0;       // rows seen (push number of the next row)
  uint64_t z_run_ = 0;        // consecutive non-NULL bqx_w60_return rows up to t
  uint64_t rsi_run_ = 0;      // consecutive non-NULL rsi14 rows up to t
  uint64_t z_equal_run_ = 0;  // run of equal values ending at the newest z_ring_ value
  uint64_t z_abs_max_at_ = 0;
  double z_ref_ = 0, z_s1_ = 0, z_s2_ = 0;  // sums of (v - ref), (v - ref)^2 over the window
  double z_abs_max_ = 0;                    // max |v| over the window (pushed at z_abs_max_at_)
  int offset_;
  std::array<int16_t, kInputCount> in_{};
  std::array<int16_t, kMomRows.size()> base_mom_{};
  std::array<int16_t, kMomRows.size()> quote_mom_{};
  std::array<double, kHistLag> hist_past_{};  // macd hist_{t-1} .. hist_{t-5} (NULLs kept)
  // Windows.
  alignas(kCacheLine) std::array<double, kTrendLag> x_past_{};      // x_{t-1} .. x_{t-60}
  alignas(kCacheLine) std::array<double, kStochWindow> rsi_ring_{};  // rsi14 (0 for NULL), last 14 rows
  alignas(kCacheLine) std::array<double, kZWindow> z_ring_{};        // bqx_w60_return (0 for NULL), last 240
};

// ---------------------------------------------------------------------------------------
// Catalogue.

struct Upstream {
  const ColumnInfo* info = nullptr;
  bool cross = false;  // computed by a cross-pair family: its lookback counts grid rows
};
// The catalogue entry of an input among the families computed before the second-order
// ones. (Not all_feature_columns(): that calls second_order_families(), whose
// initialisation is what calls this factory.)
Upstream upstream_column(const std::string& name) {
  for (const auto& f : per_pair_families()) {
    for (const auto& c : f.columns) {
      if (c.name == name) return {&c, false};
    }
  }
  for (const auto& f : cross_families()) {
    for (const auto* cols : {&f.per_pair_columns, &f.global_columns}) {
      for (const auto& c : *cols) {
        if (c.name == name) return {&c, true};
      }
    }
  }
  return {};
}

struct Spec {
  std::string name;
  std::string params;
  std::string formula;
  std::string unit;
  std::string null_when;         // beyond "an input is NULL"
  std::vector<std::string> uses;  // input columns (for cur_mom_diff: the EUR/USD columns as representatives)
  int extra_rows = 0;             // rows of this family's own window beyond the inputs' lookback
};

std::vector<Spec> specs() {
  std::vector<Spec> s;
  const std::string sign_rule = "sign(v) in {-1, 0, +1}, sign(0) = 0";
  for (auto [a, b] : {std::pair{15, 30}, {15, 60}, {30, 60}, {45, 75}}) {
    const std::string sa = std::to_string(a), sb = std::to_string(b);
    s.push_back({"derived_bqx_accel_" + sa + "_" + sb, "short W=" + sa + ", long W=" + sb,
                 "bqx_w" + sa + "_return / " + sa + " - bqx_w" + sb + "_return / " + sb +
                     " (per-bar mean return of the short window minus that of the long one)",
                 "fraction per bar", "", {"bqx_w" + sa + "_return", "bqx_w" + sb + "_return"}, 0});
  }
  s.push_back({"derived_bqx_alignment", "windows 15 vs 30, 45, 60, 75",
               "number of W in {30, 45, 60, 75} with sign(bqx_wW_return) = sign(bqx_w15_return); " + sign_rule,
               "count (0..4)", "",
               {"bqx_w15_return", "bqx_w30_return", "bqx_w45_return", "bqx_w60_return", "bqx_w75_return"}, 0});
  for (int w : {60, 240}) {
    const std::string sw = std::to_string(w);
    s.push_back({"derived_reg_slope_agree_" + sw, "W=" + sw,
                 "1 if sign(reg_rate_w" + sw + "_slope_now) = sign(reg_bqx_w" + sw + "_slope_now), else 0; " +
                     sign_rule + " (two zeros agree; reg reports scale-aware zero slopes as exactly 0)",
                 "flag (0/1)", "",
                 {"reg_rate_w" + sw + "_slope_now", "reg_bqx_w" + sw + "_slope_now"}, 0});
  }
  for (auto [a, b] : {std::pair{60, 240}, {60, 630}, {240, 630}}) {
    const std::string sa = std::to_string(a), sb = std::to_string(b);
    s.push_back({"derived_reg_r2_spread_" + sa + "_" + sb, "W=" + sa + ", W=" + sb,
                 "reg_rate_w" + sa + "_r2 - reg_rate_w" + sb + "_r2", "r2 difference (-1..1)", "",
                 {"reg_rate_w" + sa + "_r2", "reg_rate_w" + sb + "_r2"}, 0});
  }
  for (auto [a, b] : {std::pair{60, 240}, {240, 630}}) {
    const std::string sa = std::to_string(a), sb = std::to_string(b);
    s.push_back({"derived_reg_pred_gap_" + sa + "_" + sb, "W=" + sa + ", W=" + sb,
                 "(reg_rate_w" + sa + "_prediction - reg_rate_w" + sb + "_prediction) / x_t, x_t = 100 * close_t / B_p",
                 "fraction", "", {"reg_rate_w" + sa + "_prediction", "reg_rate_w" + sb + "_prediction"}, 0});
  }
  for (auto [a, b] : {std::pair{15, 60}, {60, 240}, {240, 1440}}) {
    const std::string sa = std::to_string(a), sb = std::to_string(b);
    s.push_back({"derived_vol_ratio_" + sa + "_" + sb, "W=" + sa + ", W=" + sb,
                 "stats_rate_ret_std_" + sa + " / stats_rate_ret_std_" + sb, "ratio",
                 "stats_rate_ret_std_" + sb + " = 0 (flat return window)",
                 {"stats_rate_ret_std_" + sa, "stats_rate_ret_std_" + sb}, 0});
  }
  s.push_back({"derived_rsi_adx", "RSI 14, ADX 14", "(ta_rate_rsi_14 - 50) * ta_rate_adx_14 / 100", "-50..50",
               "", {"ta_rate_rsi_14", "ta_rate_adx_14"}, 0});
  s.push_back({"derived_bb_squeeze", "BBANDS(20,2) vs BBANDS(60,2)",
               "ta_rate_bbands_20_2_width / ta_rate_bbands_60_2_width", "ratio", "ta_rate_bbands_60_2_width = 0",
               {"ta_rate_bbands_20_2_width", "ta_rate_bbands_60_2_width"}, 0});
  s.push_back({"derived_trend_strength", "W=60",
               "stats_rate_efficiency_ratio_60 * sign(x_t - x_{t-60}) (x_{t-60}: this pair's row t-60); " + sign_rule,
               "fraction (-1..1)", "", {"stats_rate_efficiency_ratio_60"}, 0});
  for (int n : kMomRows) {
    const std::string sn = std::to_string(n);
    s.push_back({"derived_cur_mom_diff_" + sn, "n=" + sn + " grid rows",
                 "cur_{base}_mom_" + sn + " - cur_{quote}_mom_" + sn +
                     " (base and quote currency of this row's pair, e.g. cur_eur_mom_" + sn + " - cur_usd_mom_" + sn +
                     " for EURUSD)",
                 "log units", "", {cur_mom_name(Currency::EUR, n), cur_mom_name(Currency::USD, n)}, 0});
  }
  s.push_back({"derived_bqx60_z_240", "W=240 rows",
               "(v_t - mean(v)) / sample stdev (ddof 1) of v over this pair's rows t-239 .. t, v = bqx_w60_return",
               "z-score", "a value of the window is NULL, or the window is flat (all equal, or population stdev <= "
                          "1e-12 * max |v|)",
               {"bqx_w60_return"}, kZWindow - 1});
  s.push_back({"derived_macd_hist_slope", "lag=5 rows",
               "ta_rate_macd_12_26_9_hist_t - ta_rate_macd_12_26_9_hist_{t-5} (this pair's rows)", "index points",
               "hist_{t-5} is NULL", {"ta_rate_macd_12_26_9_hist"}, kHistLag});
  s.push_back({"derived_stoch_rsi_14", "W=14 rows",
               "(rsi_t - min) / (max - min), min/max of rsi = ta_rate_rsi_14 over this pair's rows t-13 .. t",
               "fraction (0..1)", "a value of the window is NULL, or max = min", {"ta_rate_rsi_14"},
               kStochWindow - 1});
  for (const char* session : {"tokyo", "london", "newyork"}) {
    const std::string ss = session;
    s.push_back({"derived_vol_session_" + ss, "session=" + ss,
                 "stats_rate_ret_std_60 * time_session_" + ss + " (0 outside the session)", "log return", "",
                 {"stats_rate_ret_std_60", "time_session_" + ss}, 0});
  }
  s.push_back({"derived_range_expansion", "ATR 14 vs ATR 60", "ta_rate_atr_14 / ta_rate_atr_60", "ratio",
               "ta_rate_atr_60 = 0", {"ta_rate_atr_14", "ta_rate_atr_60"}, 0});
  s.push_back({"derived_bqx_stretch_75", "W=75",
               "bqx_w75_return / (75 * bqx_w75_stdev / x_t) (= (mean(P_75) - x_t) / stdev(P_75))", "z-score",
               "bqx_w75_stdev <= 1e-12 * x_t (scale-aware zero: flat past window)",
               {"bqx_w75_return", "bqx_w75_stdev"}, 0});
  // BQX additions: FEATURES.md 3.2 lists 33 names against a count of 36.
  const std::string addition = " [BQX addition: completes the count of 36 that FEATURES.md 3.2 states but names only 33 for]";
  s.push_back({"derived_reg_r2_domain_gap_60", "W=60",
               "reg_rate_w60_r2 - reg_bqx_w60_r2 (how much better the quadratic fits price than momentum)" + addition,
               "r2 difference (-1..1)", "", {"reg_rate_w60_r2", "reg_bqx_w60_r2"}, 0});
  s.push_back({"derived_range_vol_ratio_60", "W=60",
               "stats_rate_parkinson_vol_60 / stats_rate_ret_std_60 (range-based over close-to-close volatility)" +
                   addition,
               "ratio", "stats_rate_ret_std_60 = 0", {"stats_rate_parkinson_vol_60", "stats_rate_ret_std_60"}, 0});
  s.push_back({"derived_rsi_spread_7_28", "RSI 7 vs RSI 28",
               "ta_rate_rsi_7 - ta_rate_rsi_28 (short- over long-horizon momentum balance)" + addition,
               "RSI points (-100..100)", "", {"ta_rate_rsi_7", "ta_rate_rsi_28"}, 0});
  return s;
}

}  // namespace

FamilyDef make_derived_family() {
  FamilyDef def;
  def.name = "derived";
  for (const char* name : kInputNames) {
    if (upstream_column(name).info != nullptr) def.inputs.emplace_back(name);
  }
  for (Currency c : all_currencies()) {
    for (int n : kMomRows) {
      const std::string name = cur_mom_name(c, n);
      if (upstream_column(name).info != nullptr) def.inputs.push_back(name);
    }
  }
  for (const Spec& s : specs()) {
    ColumnInfo c;
    c.name = s.name;
    c.family = "derived";
    c.params = s.params;
    c.formula = s.formula;
    c.unit = s.unit;
    c.source = "FEATURES.md 3.2";
    int lookback = 0;
    bool exact = true, grid_rows = false;
    std::string missing;
    for (const std::string& use : s.uses) {
      const Upstream up = upstream_column(use);
      if (up.info == nullptr) {
        missing += (missing.empty() ? "" : ", ") + use;
        exact = false;
        continue;
      }
      lookback = std::max(lookback, up.info->lookback);
      exact = exact && up.info->exact_lookback && !up.cross;
      grid_rows = grid_rows || up.cross;
    }
    c.lookback = lookback + s.extra_rows;
    c.exact_lookback = exact;
    if (grid_rows) c.formula += "; lookback counts grid rows (cross-pair inputs)";
    c.null_when = "an input is NULL (never 0-filled)";
    if (!s.null_when.empty()) c.null_when += "; " + s.null_when;
    if (!missing.empty()) c.null_when = "always NULL: input not registered in this build (" + missing + ")";
    // FEATURES.md 1.3 defines regdiag_rate_r2_spread_60_630 as the same difference.
    if (c.name == "derived_reg_r2_spread_60_630" && upstream_column("regdiag_rate_r2_spread_60_630").info != nullptr) {
      c.identical_to =
          "regdiag_rate_r2_spread_60_630: both are reg_rate_w60_r2 - reg_rate_w630_r2 by definition "
          "(FEATURES.md 1.3 and 3.2 name the same quantity)";
    }
    def.columns.push_back(std::move(c));
  }
  assert(def.columns.size() == static_cast<size_t>(kColumnCount));
  def.make = [](const KernelContext& ctx) { return std::make_unique<DerivedKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
