// ms: multi-scale indicators on time buckets of m minutes (FEATURES.md 1.11).
//
// For m in {5, 15, 60}: bucket = floor(ts/m)*m (UTC epoch minutes). The bucket series at
// bar t is the completed buckets of this pair followed by the forming bucket, which
// aggregates this pair's bars in [bucket start, t] (first open, max high, min low, last
// close), in the rate domain (xo, xh, xl, xc). Each indicator is the value TA-Lib-style
// code would give at the last element of that series.
//
// Implementation ("peek"): per scale we keep indicator states committed over completed
// buckets only. At every bar the small fixed-size states are copied onto the stack and
// fed the forming bucket; the copy produces the outputs and is discarded. When a bar
// opens a new bucket the previous (now complete) bucket is committed first. Window
// statistics (Bollinger %b, realised volatility) combine committed rolling moments with
// the forming value in O(1) (Welford/Chan one-value update). Nothing allocates after
// construction, and the output depends only on the bars, so batch == stream.
//
// Lookbacks: the first output needs L buckets (TA-Lib lookback + 1); each bucket holds
// at least one bar, so the row lookback is the lower bound L - 1 (exact_lookback = false).
#include <array>
#include <cmath>
#include <cstdint>
#include <string>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "features/families.h"
#include "features/ms_ta.h"
#include "features/rolling.h"

namespace bqx::features {
namespace {

using ms::AdxState;
using ms::AtrState;
using ms::Ohlc;
using ms::RsiState;

constexpr std::array<int64_t, 3> kScales = {5, 15, 60};
constexpr int kRsi = 14, kRoc = 12, kNatr = 14, kBb = 20, kRv = 12, kRet = 12, kAdx = 14;
constexpr double kBbDev = 2.0;
constexpr int kColumnsPerScale = 7;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

// The inputs of the long chains of a peek (BBANDS %b and realised volatility: a division, a
// square root and another division after the committed moments; the RSI and ATR Wilder
// steps and their divisions), one lane per scale, so that MsKernel runs them for the three
// scales together (MomentOutputs::finish).
struct MomentLanes {
  static constexpr size_t kLanes = 4;  // one 256-bit register; lane 3 idle
  alignas(32) double bb_close[kLanes] = {}, bb_mean[kLanes] = {}, bb_m2[kLanes] = {};
  alignas(32) double ret[kLanes] = {}, ret_mean[kLanes] = {}, ret_m2[kLanes] = {};
  // RSI and NATR once seeded (the Wilder step of the forming bucket; before: scalar).
  alignas(32) double rsi_gain[kLanes] = {}, rsi_loss[kLanes] = {}, rsi_change[kLanes] = {};
  alignas(32) double atr[kLanes] = {}, atr_tr[kLanes] = {}, atr_close[kLanes] = {};
  bool rsi_active[kLanes] = {}, atr_active[kLanes] = {};
  bool bb_active[kLanes] = {};  // %b defined unless the window is flat (upper = lower)
  bool rv_active[kLanes] = {};  // else rv is NULL or 0 (rv_zero)
  bool rv_zero[kLanes] = {};
};

class Scale {
 public:
  explicit Scale(int64_t minutes = 5)
      : minutes_(minutes), closes_(kRoc), bb_(kBb - 1), rets_(kRv - 1) {}

  void update(const BarInput& bar, double* o, MomentLanes& lanes, size_t lane) {
    last_ts_ = bar.ts;
    const int64_t bucket = floor_div(bar.ts, minutes_) * minutes_;
    if (has_forming_ && bucket == bucket_) {
      if (bar.xh > forming_.high) forming_.high = bar.xh;
      if (bar.xl < forming_.low) forming_.low = bar.xl;
      forming_.close = bar.xc;
    } else {
      if (has_forming_) commit(forming_);
      has_forming_ = 1;
      bucket_ = bucket;
      forming_ = Ohlc{bar.xo, bar.xh, bar.xl, bar.xc};
    }
    peek(o, lanes, lane);
  }

  // Every bar's peek reads the close ring; the moment windows are written only when a
  // bucket completes, i.e. when the next bar (expected one minute on) opens a new bucket.
  // On the other bars their objects and ring slots are not touched: not fetched.
  void prefetch() const {
    // The fields every peek reads and writes, up to the moment windows (addresses, no load).
    const char* self = reinterpret_cast<const char*>(this);
    prefetch_write(self, static_cast<size_t>(reinterpret_cast<const char*>(&bb_) - self));
    closes_.prefetch();
    if (!has_forming_ || last_ts_ + 1 >= bucket_ + minutes_) {
      bb_.prefetch();
      rets_.prefetch();
    }
  }

  void save(StateWriter& out) const {
    out.put(has_forming_);
    out.put(bucket_);
    out.put(forming_);
    out.put(committed_);
    out.put(rsi_);
    out.put(atr_);
    out.put(adx_);
    closes_.save(out);
    bb_.save(out);
    out.put(close_run_);
    rets_.save(out);
    out.put(ret_run_);
    out.put(last_ret_);
  }
  void load(StateReader& in) {
    in.get(has_forming_);
    in.get(bucket_);
    in.get(forming_);
    in.get(committed_);
    in.get(rsi_);
    in.get(atr_);
    in.get(adx_);
    closes_.load(in);
    bb_.load(in);
    in.get(close_run_);
    rets_.load(in);
    in.get(ret_run_);
    in.get(last_ret_);
    refresh_committed();
    forming_ret_valid_ = false;
  }

 private:
  // A completed bucket joins the committed states.
  void commit(const Ohlc& b) {
    rsi_.add(b.close);
    atr_.add(b);
    adx_.add(b);
    if (committed_ > 0) {
      const double prev = closes_.back(0);
      // The last peek computed this very log return (same close, same previous close).
      const double r = forming_ret_valid_ ? forming_ret_ : std::log(b.close / prev);
      ret_run_ = (committed_ > 1 && r == last_ret_) ? ret_run_ + 1 : 1;
      last_ret_ = r;
      rets_.push(r);
      close_run_ = (b.close == prev) ? close_run_ + 1 : 1;
    } else {
      close_run_ = 1;
    }
    closes_.push(b.close);
    bb_.push(b.close);
    ++committed_;
    forming_ret_valid_ = false;
    refresh_committed();
  }

  // The parts of every peek that read committed state only, computed once per commit
  // (the same function calls and operations as in the peek, so the same values).
  void refresh_committed() {
    bb_mean_ = bb_.mean();
    bb_m2_ = bb_.m2();
    ret_mean_ = rets_.mean();
    ret_m2_ = rets_.m2();
    adx_decay_ = adx_.decay();
  }

  // Outputs for the series (committed buckets, forming bucket), committing nothing; the
  // arithmetic of %b (o[3]) and rv (o[4]) is left to MomentLanes::finish (their inputs go
  // into lane `lane`).
  void peek(double* o, MomentLanes& lanes, size_t lane) {
    const double c = forming_.close;
    // Seeded RSI (add takes its Wilder branch): in the lanes; else RsiState::add on a copy.
    lanes.rsi_active[lane] = rsi_.n > kRsi;
    if (lanes.rsi_active[lane]) {
      lanes.rsi_gain[lane] = rsi_.gain;
      lanes.rsi_loss[lane] = rsi_.loss;
      lanes.rsi_change[lane] = c - rsi_.prev;
    } else {
      RsiState<kRsi> rsi = rsi_;
      rsi.add(c);
      o[0] = rsi.value();
    }

    // ROC / ret: close 12 buckets before the forming one = closes_.back(11).
    if (committed_ >= static_cast<uint64_t>(kRoc)) {
      const double prev = closes_.back(kRoc - 1);
      o[1] = prev != 0 ? ((c / prev) - 1.0) * 100.0 : kNull;
      o[5] = std::log(c / prev);
    } else {
      o[1] = o[5] = kNull;
    }

    // Seeded ATR (add takes its Wilder branch): in the lanes; else AtrState::add on a copy.
    lanes.atr_active[lane] = atr_.n > kNatr;
    if (lanes.atr_active[lane]) {
      lanes.atr[lane] = atr_.atr;
      lanes.atr_tr[lane] = ms::true_range(forming_.high, forming_.low, atr_.prev_close);
      lanes.atr_close[lane] = c;
    } else {
      AtrState<kNatr> atr = atr_;
      atr.add(forming_);
      o[2] = atr.natr(c);
    }

    // BBANDS(20, 2, 2, SMA), population stdev: the 19 committed closes plus the forming one
    // (a flat window of 20 equal closes: NULL).
    lanes.bb_active[lane] = false;
    if (committed_ >= static_cast<uint64_t>(kBb - 1)) {
      const uint64_t run = (c == closes_.back(0)) ? close_run_ + 1 : 1;
      if (run < static_cast<uint64_t>(kBb)) {
        lanes.bb_active[lane] = true;
        lanes.bb_close[lane] = c;
        lanes.bb_mean[lane] = bb_mean_;
        lanes.bb_m2[lane] = bb_m2_;
      }
    }

    // Realised volatility: sample stdev of the last 12 bucket log returns (11 committed
    // plus the forming bucket's return); exactly 0 when all 12 are equal.
    lanes.rv_active[lane] = lanes.rv_zero[lane] = false;
    if (committed_ >= static_cast<uint64_t>(kRv)) {
      const double r = std::log(c / closes_.back(0));
      forming_ret_ = r;
      forming_ret_valid_ = true;
      const uint64_t run = (r == last_ret_) ? ret_run_ + 1 : 1;
      if (run >= static_cast<uint64_t>(kRv)) {
        lanes.rv_zero[lane] = true;
      } else {
        lanes.rv_active[lane] = true;
        lanes.ret[lane] = r;
        lanes.ret_mean[lane] = ret_mean_;
        lanes.ret_m2[lane] = ret_m2_;
      }
    }

    o[6] = adx_.peek(forming_, adx_decay_);
  }

  int64_t minutes_;
  uint64_t has_forming_ = 0;
  int64_t bucket_ = 0;
  Ohlc forming_;
  uint64_t committed_ = 0;  // completed buckets
  RsiState<kRsi> rsi_;
  AtrState<kNatr> atr_;
  AdxState<kAdx> adx_;
  RingBuffer<double> closes_;  // last 12 committed closes
  uint64_t close_run_ = 0;     // trailing run of equal committed closes
  uint64_t ret_run_ = 0;       // trailing run of equal committed log returns
  double last_ret_ = 0;
  // Derived from the committed state (refresh_committed; not saved).
  double bb_mean_ = 0, bb_m2_ = 0, ret_mean_ = 0, ret_m2_ = 0;
  AdxState<kAdx>::Decay adx_decay_;
  double forming_ret_ = 0;  // log return of the forming bucket, as the last peek computed it
  bool forming_ret_valid_ = false;
  // Timestamp of the last bar (a prefetch hint only: not saved, no effect on values).
  int64_t last_ts_ = INT64_MIN / 2;
  // Last: read and written only when a bucket completes (the fields every peek reads stay
  // on fewer lines).
  RollingMoments bb_;    // last 19 committed closes
  RollingMoments rets_;  // last 11 committed log returns
};

// %b and rv of every scale from its lane: per lane the scalar formulas below (Welford / Chan
// one-value update of the committed moments), as SIMD lanes where the CPU has AVX: per-lane
// IEEE add/sub/mul/div/sqrt, bit-identical to the scalar form. Why: these are the longest
// dependency chains of a peek (two divisions, a square root and a division); three scales'
// chains as one is a third of the long-latency work.
struct MomentOutputs {
  static constexpr double kBbN = kBb, kRvN = kRv;
  // RsiState::add's Wilder branch and value(), AtrState::add's Wilder branch and natr().
  static void scalar_rsi_atr(const MomentLanes& in, size_t l, double& rsi, double& natr) {
    double gain = in.rsi_gain[l], loss = in.rsi_loss[l];
    const double d = in.rsi_change[l];
    loss *= (kRsi - 1);
    gain *= (kRsi - 1);
    if (d < 0) loss -= d; else gain += d;
    loss /= kRsi;
    gain /= kRsi;
    const double s = gain + loss;
    rsi = s != 0 ? 100.0 * (gain / s) : kNull;
    double atr = in.atr[l];
    atr *= kNatr - 1;
    atr += in.atr_tr[l];
    atr /= kNatr;
    natr = in.atr_close[l] == 0 ? kNull : (atr / in.atr_close[l]) * 100.0;
  }
  static void scalar_lane(const MomentLanes& in, size_t l, double& pctb, double& rv) {
    const double delta = in.bb_close[l] - in.bb_mean[l];
    const double mean = in.bb_mean[l] + delta / kBbN;
    const double m2 = in.bb_m2[l] + delta * (in.bb_close[l] - mean);
    const double sd = std::sqrt(m2 / kBbN);
    const double upper = mean + kBbDev * sd;
    const double lower = mean - kBbDev * sd;
    pctb = upper - lower != 0 ? (in.bb_close[l] - lower) / (upper - lower) : kNull;
    const double rdelta = in.ret[l] - in.ret_mean[l];
    const double rmean = in.ret_mean[l] + rdelta / kRvN;
    const double rm2 = in.ret_m2[l] + rdelta * (in.ret[l] - rmean);
    rv = std::sqrt(rm2 / (kRvN - 1));
  }
  // o + l * kColumnsPerScale: the columns of scale l.
  static void finish(const MomentLanes& in, double* o) {
    alignas(32) double pctb[MomentLanes::kLanes], rv[MomentLanes::kLanes];
    alignas(32) double rsi[MomentLanes::kLanes], natr[MomentLanes::kLanes];
#if defined(__AVX__)
    {
      const __m256d hundred = _mm256_set1_pd(100.0), zero = _mm256_setzero_pd(), null = _mm256_set1_pd(kNull);
      const __m256d rsi_keep = _mm256_set1_pd(kRsi - 1), rsi_p = _mm256_set1_pd(kRsi);
      const __m256d d = _mm256_load_pd(in.rsi_change);
      const __m256d falls = _mm256_cmp_pd(d, zero, _CMP_LT_OQ);
      const __m256d loss_kept = _mm256_mul_pd(_mm256_load_pd(in.rsi_loss), rsi_keep);
      const __m256d gain_kept = _mm256_mul_pd(_mm256_load_pd(in.rsi_gain), rsi_keep);
      // d < 0: loss -= d; else gain += d.
      const __m256d loss = _mm256_div_pd(_mm256_blendv_pd(loss_kept, _mm256_sub_pd(loss_kept, d), falls), rsi_p);
      const __m256d gain = _mm256_div_pd(_mm256_blendv_pd(_mm256_add_pd(gain_kept, d), gain_kept, falls), rsi_p);
      const __m256d sum = _mm256_add_pd(gain, loss);
      const __m256d flat = _mm256_cmp_pd(sum, zero, _CMP_EQ_OQ);
      _mm256_store_pd(rsi, _mm256_blendv_pd(_mm256_mul_pd(hundred, _mm256_div_pd(gain, sum)), null, flat));
      const __m256d atr_keep = _mm256_set1_pd(kNatr - 1), atr_p = _mm256_set1_pd(kNatr);
      const __m256d atr = _mm256_div_pd(
          _mm256_add_pd(_mm256_mul_pd(_mm256_load_pd(in.atr), atr_keep), _mm256_load_pd(in.atr_tr)), atr_p);
      const __m256d close = _mm256_load_pd(in.atr_close);
      const __m256d no_close = _mm256_cmp_pd(close, zero, _CMP_EQ_OQ);
      _mm256_store_pd(natr, _mm256_blendv_pd(_mm256_mul_pd(_mm256_div_pd(atr, close), hundred), null, no_close));
    }
    const __m256d bb_n = _mm256_set1_pd(kBbN), rv_n = _mm256_set1_pd(kRvN), rv_n1 = _mm256_set1_pd(kRvN - 1);
    const __m256d dev = _mm256_set1_pd(kBbDev), null = _mm256_set1_pd(kNull);
    const __m256d c = _mm256_load_pd(in.bb_close), bm = _mm256_load_pd(in.bb_mean);
    const __m256d delta = _mm256_sub_pd(c, bm);
    const __m256d mean = _mm256_add_pd(bm, _mm256_div_pd(delta, bb_n));
    const __m256d m2 = _mm256_add_pd(_mm256_load_pd(in.bb_m2), _mm256_mul_pd(delta, _mm256_sub_pd(c, mean)));
    const __m256d sd = _mm256_sqrt_pd(_mm256_div_pd(m2, bb_n));
    const __m256d upper = _mm256_add_pd(mean, _mm256_mul_pd(dev, sd));
    const __m256d lower = _mm256_sub_pd(mean, _mm256_mul_pd(dev, sd));
    const __m256d range = _mm256_sub_pd(upper, lower);
    const __m256d flat = _mm256_cmp_pd(range, _mm256_setzero_pd(), _CMP_EQ_OQ);
    _mm256_store_pd(pctb, _mm256_blendv_pd(_mm256_div_pd(_mm256_sub_pd(c, lower), range), null, flat));
    const __m256d r = _mm256_load_pd(in.ret), rm = _mm256_load_pd(in.ret_mean);
    const __m256d rdelta = _mm256_sub_pd(r, rm);
    const __m256d rmean = _mm256_add_pd(rm, _mm256_div_pd(rdelta, rv_n));
    const __m256d rm2 = _mm256_add_pd(_mm256_load_pd(in.ret_m2), _mm256_mul_pd(rdelta, _mm256_sub_pd(r, rmean)));
    _mm256_store_pd(rv, _mm256_sqrt_pd(_mm256_div_pd(rm2, rv_n1)));
#else
    for (size_t l = 0; l < kScales.size(); ++l) {
      scalar_lane(in, l, pctb[l], rv[l]);
      scalar_rsi_atr(in, l, rsi[l], natr[l]);
    }
#endif
    for (size_t l = 0; l < kScales.size(); ++l) {
      double* out = o + l * kColumnsPerScale;
      if (in.rsi_active[l]) out[0] = rsi[l];
      if (in.atr_active[l]) out[2] = natr[l];
      out[3] = in.bb_active[l] ? pctb[l] : kNull;
      out[4] = in.rv_active[l] ? rv[l] : (in.rv_zero[l] ? 0.0 : kNull);
    }
  }
};

class MsKernel final : public FamilyKernel {
 public:
  explicit MsKernel(const KernelContext& ctx) : offset_(ctx.offset) {
    for (size_t i = 0; i < kScales.size(); ++i) scales_[i] = Scale(kScales[i]);
  }
  void update(const BarInput& bar, double* row) override {
    double* out = row + offset_;
    MomentLanes lanes;
    for (size_t i = 0; i < kScales.size(); ++i) scales_[i].update(bar, out + i * kColumnsPerScale, lanes, i);
    MomentOutputs::finish(lanes, out);
  }
  void prefetch() const override {
    for (const auto& s : scales_) s.prefetch();
  }
  void save(StateWriter& out) const override {
    for (const auto& s : scales_) s.save(out);
  }
  void load(StateReader& in) override {
    for (auto& s : scales_) s.load(in);
  }

 private:
  int offset_;
  std::array<Scale, kScales.size()> scales_;
};

}  // namespace

FamilyDef make_ms_family() {
  FamilyDef def;
  def.name = "ms";
  const std::string bucket_text =
      " on m-minute buckets (bucket = floor(ts/m)*m UTC; completed buckets plus the forming bucket = this "
      "pair's bars in [bucket start, t]: first open, max high, min low, last close; rate domain)";
  for (int64_t m : kScales) {
    const std::string p = "ms" + std::to_string(m) + "_";
    const std::string par = "m=" + std::to_string(m) + " min, ";
    const std::string src = "FEATURES.md 1.11";
    const std::string note = bucket_text + "; lookback is a lower bound in rows (buckets needed - 1)";
    def.columns.push_back({p + "rsi_14", "ms", par + "period=14",
                           "Wilder RSI(14) of bucket closes, TA-Lib 0.6 semantics" + note, "0..100", kRsi,
                           src + "; TA-Lib 0.6 RSI", "gain + loss = 0 (flat series)", false});
    def.columns.push_back({p + "roc_12", "ms", par + "period=12",
                           "(c_k / c_{k-12} - 1) * 100, c = bucket close, k = forming bucket" + note, "percent",
                           kRoc, src + "; TA-Lib 0.6 ROC", "", false});
    def.columns.push_back({p + "natr_14", "ms", par + "period=14",
                           "ATR(14) / c_k * 100, Wilder ATR seeded by the mean of the first 14 true ranges" + note,
                           "percent", kNatr, src + "; TA-Lib 0.6 NATR", "", false});
    def.columns.push_back({p + "bb20_pctb", "ms", par + "period=20, nbdev=2, SMA",
                           "(c_k - lower)/(upper - lower), BBANDS(20,2,2,SMA) over the last 20 bucket closes, "
                           "population stdev" + note,
                           "fraction", kBb - 1, src + "; TA-Lib 0.6 BBANDS",
                           "upper = lower (all 20 closes equal)", false});
    def.columns.push_back({p + "rv_12", "ms", par + "returns=12",
                           "sample stdev (ddof 1) of the last 12 bucket log returns ln(c_j/c_{j-1})" + note,
                           "log return", kRv, src, "", false});
    def.columns.push_back({p + "ret_12", "ms", par + "period=12", "ln(c_k / c_{k-12})" + note, "log return", kRet,
                           src, "", false});
    def.columns.push_back({p + "adx_14", "ms", par + "period=14",
                           "ADX(14), TA-Lib 0.6 loop (DM/TR seeded over buckets 1..13, Wilder smoothing, "
                           "ADX = mean DX over buckets 14..27 then Wilder)" + note,
                           "0..100", 2 * kAdx - 1, src + "; TA-Lib 0.6 ADX",
                           "DX undefined at the forming bucket: smoothed TR = 0 or +DI + -DI = 0 (flat series)",
                           false});
  }
  def.make = [](const KernelContext& ctx) { return std::make_unique<MsKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
