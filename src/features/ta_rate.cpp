// ta_rate: TA-Lib 0.6 indicators on the scaled OHLC of the rate domain (FEATURES.md 1.4),
// 62 columns. Each indicator is a streaming kernel from src/features/ta/ held as a plain
// member (no per-indicator virtual call); values match TA-Lib run over the same full series
// (tests/features/ta_rate_test.cpp runs the TA-Lib C functions side by side). Undefined
// values are NULL, never TA-Lib's 0 / 50 placeholders (documented per column).
#include <array>
#include <cmath>
#include <memory>
#include <string>

#include "features/families.h"
#include "features/ta/adx.h"
#include "features/ta/aroon.h"
#include "features/ta/atr.h"
#include "features/ta/bbands.h"
#include "features/ta/cci.h"
#include "features/ta/close_windows.h"
#include "features/ta/ema.h"
#include "features/ta/macd.h"
#include "features/ta/mfi.h"
#include "features/ta/roc.h"
#include "features/ta/rsi.h"
#include "features/ta/stoch.h"
#include "features/ta/trix.h"
#include "features/ta/ultosc.h"

namespace bqx::features {
namespace {

constexpr std::array<int, 4> kRsi = {7, 14, 21, 28};
constexpr std::array<int, 3> kCci = {14, 20, 50};
constexpr std::array<int, 2> kWillrExtra = {28, 60};  // WILLR 14 comes from the STOCH window
constexpr std::array<int, 4> kRoc = {5, 12, 30, 60};
constexpr std::array<int, 2> kDmi = {14, 28};
constexpr std::array<int, 2> kAtr = {14, 60};
constexpr std::array<int, 5> kMa = {10, 20, 50, 100, 200};
// The windows of the closes (one ring, lanes): SMA 10/50/100/200 and BBANDS 20/60 (SMA 20 is
// BBANDS(20)'s middle); the lane of each kMa window and of each BBANDS.
constexpr std::array<int, 6> kCloseWindows = {10, 20, 50, 60, 100, 200};
constexpr std::array<size_t, 5> kMaLane = {0, 1, 2, 4, 5};
constexpr std::array<size_t, 2> kBbLane = {1, 3};
constexpr int kMom = 10;

class TaRateKernel final : public FamilyKernel {
 public:
  explicit TaRateKernel(const KernelContext& ctx)
      : offset_(ctx.offset),
        rsi_(kRsi),
        macd_a_(12, 26, 9),
        macd_b_(5, 35, 5),
        stoch_(14, 3, 3),
        cci_(kCci),
        mfi_(14),
        trix_(15),
        ult_(7, 14, 28),
        aroon_(25),
        dmi_(kDmi[0], true, kDmi[1]),  // ADXR 14 only
        ema_(kMa) {
    for (size_t i = 0; i < kWillrExtra.size(); ++i) willr_[i] = ta::Willr(kWillrExtra[i]);
    for (size_t i = 0; i < kAtr.size(); ++i) atr_[i] = ta::Atr(kAtr[i]);
  }

  void update(const BarInput& bar, double* row) override {
    const double h = bar.xh, l = bar.xl, c = bar.xc;
    double* o = row + offset_;
    // RSI {7,14,21,28} (CMO 14 shares RSI 14's Wilder sums).
    rsi_.update_outputs<1>(c, o, o + 61);  // CMO 14 (lane 1) is the last column
    o += kRsi.size();
    // MACD(12,26,9), MACD(5,35,5)
    for (ta::Macd* m : {&macd_a_, &macd_b_}) {
      const auto r = m->update(c);
      o[0] = r.macd;
      o[1] = r.signal;
      o[2] = r.hist;
      o += 3;
    }
    // STOCH(14,3,3) slowk/slowd, STOCHF(14,3) fastk/fastd (one %K window), WILLR 14.
    const auto st = stoch_.update(h, l, c);
    o[0] = st.slowk;
    o[1] = st.slowd;
    o[2] = st.fastk;
    o[3] = st.fastd;
    o += 4;
    // CCI {14,20,50}
    cci_.update(h, l, c, o);
    o += kCci.size();
    // WILLR {14,28,60}
    o[0] = stoch_.willr(c);
    for (size_t i = 0; i < kWillrExtra.size(); ++i) o[1 + i] = willr_[i].update(h, l, c);
    o += 1 + kWillrExtra.size();
    // ROC {5,12,30,60}
    CloseWindowsType::Stats windows;
    closes_.update(c, windows);
    for (size_t i = 0; i < kRoc.size(); ++i) o[i] = closes_.roc(kRoc[i]);
    o += kRoc.size();
    // MFI 14
    *o++ = mfi_.update(h, l, c, bar.volume);
    // ADX {14,28}, PLUS_DI {14,28}, MINUS_DI {14,28}, ADXR 14
    const std::array<ta::Dmi::Out, kDmi.size()> dm = dmi_.update(h, l, c);
    o[0] = dm[0].adx;
    o[1] = dm[1].adx;
    o[2] = dm[0].plus_di;
    o[3] = dm[1].plus_di;
    o[4] = dm[0].minus_di;
    o[5] = dm[1].minus_di;
    o[6] = dm[0].adxr;
    o += 7;
    // ATR {14,60}, NATR 14
    const double atr14 = atr_[0].update(h, l, c);
    o[0] = atr14;
    o[1] = atr_[1].update(h, l, c);
    o[2] = std::isnan(atr14) ? kNull : ta::Atr::natr(atr14, c);
    o += 3;
    // BBANDS(20,2,2,SMA), BBANDS(60,2,2,SMA): upper, middle, lower, pctb, width (BBands::update
    // on the lane's mean and population variance)
    for (size_t lane : kBbLane) {
      if (closes_.ready(lane)) {
        const double middle = windows.mean[lane];
        const double t = std::sqrt(windows.var[lane]) * 2.0;
        const double upper = middle + t, lower = middle - t;
        const double range = upper - lower;
        o[0] = upper;
        o[1] = middle;
        o[2] = lower;
        o[3] = range != 0.0 ? (c - lower) / range : kNull;
        o[4] = middle != 0.0 ? range / middle : kNull;
      } else {
        o[0] = o[1] = o[2] = o[3] = o[4] = kNull;
      }
      o += 5;
    }
    // ema_dist_n = (x - EMA_n) / x
    ema_.update(c, o);
    o += kMa.size();
    // sma_dist_n = (x - SMA_n) / x, x - SMA from the window's deviation sums
    for (size_t i = 0; i < kMa.size(); ++i) {
      const size_t lane = kMaLane[i];
      o[i] = closes_.ready(lane) ? windows.dev[lane] / c : kNull;
    }
    o += kMa.size();
    // TRIX 15, ULTOSC(7,14,28), AROON 25 up/down, AROONOSC 25, MOM 10 (CMO 14 written with the RSIs)
    o[0] = trix_.update(c);
    o[1] = ult_.update(h, l, c);
    const auto ar = aroon_.update(h, l);
    o[2] = ar.up;
    o[3] = ar.down;
    o[4] = ar.osc;
    o[5] = closes_.mom(kMom);
  }

  // The indicators' own state in this object (the engine fetches only its first line; every
  // bar reads and writes the ~34 lines before and after the close ring, except the warm-up
  // state of the DMI and EMA banks: not fetched), then the window arrays of the indicators
  // that keep any.
  void prefetch() const override {
    const char* self = reinterpret_cast<const char*>(this);
    const char* ring_begin = reinterpret_cast<const char*>(&closes_);  // its prefetch() covers its own header
    const char* after_ring = reinterpret_cast<const char*>(&mfi_);
    const char* dmi_cold = static_cast<const char*>(dmi_.cold_begin());
    const char* ema_begin = reinterpret_cast<const char*>(&ema_);
    const char* ema_cold = static_cast<const char*>(ema_.cold_begin());
    prefetch_write(self + kCacheLine, static_cast<size_t>(ring_begin - self) - kCacheLine);
    prefetch_write(after_ring, static_cast<size_t>(dmi_cold - after_ring));
    prefetch_write(ema_begin, static_cast<size_t>(ema_cold - ema_begin));
    stoch_.prefetch();
    cci_.prefetch();
    for (const auto& k : willr_) k.prefetch();
    closes_.prefetch();
    mfi_.prefetch();
    dmi_.prefetch();
    ult_.prefetch();
    aroon_.prefetch();
  }

  void save(StateWriter& out) const override {
    rsi_.save(out);
    macd_a_.save(out);
    macd_b_.save(out);
    stoch_.save(out);
    cci_.save(out);
    for (const auto& k : willr_) k.save(out);
    closes_.save(out);
    mfi_.save(out);
    dmi_.save(out);
    for (const auto& k : atr_) k.save(out);
    ema_.save(out);
    trix_.save(out);
    ult_.save(out);
    aroon_.save(out);
  }
  void load(StateReader& in) override {
    rsi_.load(in);
    macd_a_.load(in);
    macd_b_.load(in);
    stoch_.load(in);
    cci_.load(in);
    for (auto& k : willr_) k.load(in);
    closes_.load(in);
    mfi_.load(in);
    dmi_.load(in);
    for (auto& k : atr_) k.load(in);
    ema_.load(in);
    trix_.load(in);
    ult_.load(in);
    aroon_.load(in);
  }

 private:
  int offset_;
  ta::RsiCmoBank<kRsi.size()> rsi_;  // the four RSIs as SIMD lanes
  ta::Macd macd_a_, macd_b_;
  ta::Stoch stoch_;
  ta::CciBank<kCci.size()> cci_;  // the three CCIs stage by stage, divisions as SIMD lanes
  std::array<ta::Willr, kWillrExtra.size()> willr_;
  using CloseWindowsType = ta::CloseWindows<kCloseWindows>;
  CloseWindowsType closes_;  // ROC/MOM lags, SMA 10/50/100/200, BBANDS 20/60: one ring, SIMD lanes
  ta::Mfi mfi_;
  std::array<ta::Atr, kAtr.size()> atr_;
  ta::Trix trix_;
  ta::UltOsc ult_;
  ta::Aroon aroon_;
  // Last, each with its warm-up state at its end (not fetched, see prefetch()).
  ta::Dmi2 dmi_;  // the two DMIs as SIMD lanes
  ta::EmaDistBank<kMa.size()> ema_;  // the five EMAs as SIMD lanes
};

struct ColumnAdder {
  FamilyDef& def;
  void operator()(const std::string& suffix, const std::string& params, const std::string& formula,
                  const std::string& unit, int lookback, const std::string& source,
                  const std::string& null_when = "") {
    ColumnInfo c;
    c.name = "ta_rate_" + suffix;
    c.family = "ta_rate";
    c.params = params;
    c.formula = formula;
    c.unit = unit;
    c.lookback = lookback;
    c.source = source;
    c.null_when = null_when;
    c.exact_lookback = true;
    def.columns.push_back(std::move(c));
  }
};

std::string p(int n) { return "period=" + std::to_string(n); }
std::string s(int n) { return std::to_string(n); }

}  // namespace

FamilyDef make_ta_rate_family() {
  FamilyDef def;
  def.name = "ta_rate";
  ColumnAdder add{def};
  const std::string tl = "TA-Lib 0.6 ";
  for (int n : kRsi) {
    add("rsi_" + s(n), p(n),
        "TA_RSI(x, " + s(n) + "): 100*G/(G+L), Wilder averages of gains/losses seeded by the mean of the first " +
            s(n) + " changes, then A = (A*(n-1) + change)/n",
        "0..100", n, tl + "RSI", "G + L = 0 (no close change since the first bar; TA-Lib prints 0)");
  }
  for (auto [f, sl, sg] : {std::array<int, 3>{12, 26, 9}, std::array<int, 3>{5, 35, 5}}) {
    const std::string nm = "macd_" + s(f) + "_" + s(sl) + "_" + s(sg);
    const std::string par = "fast=" + s(f) + ",slow=" + s(sl) + ",signal=" + s(sg);
    const int lb = ta::Macd::lookback(f, sl, sg);
    const std::string align = "; fast and slow TA-Lib EMAs both start at bar slow-1 (fast seeded by the mean of the last " +
                              s(f) + " closes there, slow by the first " + s(sl) + ")";
    add(nm, par, "TA_MACD(x) line: EMA_" + s(f) + "(x) - EMA_" + s(sl) + "(x)" + align, "index points", lb, tl + "MACD");
    add(nm + "_signal", par, "TA_MACD signal: TA-Lib EMA_" + s(sg) + " of the MACD line", "index points", lb,
        tl + "MACD");
    add(nm + "_hist", par, "TA_MACD hist: macd - signal", "index points", lb, tl + "MACD");
  }
  const std::string flat_k = "flat 14-bar window (highest high = lowest low; TA-Lib prints 0)";
  add("stoch_14_3_3_slowk", "fastk=14,slowk=3 SMA,slowd=3 SMA",
      "TA_STOCH slow %K: SMA_3 of fast %K = (x - LL14)/((HH14 - LL14)/100); output from where slow %D starts",
      "0..100", ta::Stoch::lookback_slow(14, 3, 3), tl + "STOCH",
      "a " + flat_k + " among the 3 averaged");
  add("stoch_14_3_3_slowd", "fastk=14,slowk=3 SMA,slowd=3 SMA", "TA_STOCH slow %D: SMA_3 of slow %K", "0..100",
      ta::Stoch::lookback_slow(14, 3, 3), tl + "STOCH", "a " + flat_k + " among the 5 involved");
  add("stochf_14_3_fastk", "fastk=14,fastd=3 SMA", "TA_STOCHF fast %K: (x - LL14) / ((HH14 - LL14) / 100); output from where fast %D starts",
      "0..100", ta::Stoch::lookback_fastd(14, 3), tl + "STOCHF", flat_k);
  add("stochf_14_3_fastd", "fastk=14,fastd=3 SMA", "TA_STOCHF fast %D: SMA_3 of fast %K", "0..100",
      ta::Stoch::lookback_fastd(14, 3), tl + "STOCHF", "a " + flat_k + " among the 3 averaged");
  for (int n : kCci) {
    add("cci_" + s(n), p(n),
        "TA_CCI: (tp - mean_n(tp)) / (0.015 * mean_n(|tp - mean_n(tp)|)), tp = (xh + xl + xc)/3, exact mean "
        "deviation over the window",
        "dimensionless", ta::Cci::lookback(n), tl + "CCI",
        "flat window (all typical prices equal: mean deviation 0; TA-Lib prints 0)");
  }
  for (int n : {14, 28, 60}) {
    add("willr_" + s(n), p(n), "TA_WILLR: (HH_n - x) / ((HH_n - LL_n) / -100)", "-100..0", ta::Willr::lookback(n),
        tl + "WILLR", "flat window (HH = LL; TA-Lib prints 0)");
  }
  for (int n : kRoc) {
    add("roc_" + s(n), p(n), "TA_ROC: ((x_t / x_{t-" + s(n) + ") - 1) * 100", "percent", n, tl + "ROC");
  }
  add("mfi_14", p(14),
      "TA_MFI: 100 * P / (P + N) over the last 14 money flows tp*volume, tp = (xh+xl+xc)/3.0, positive when tp rose, "
      "negative when it fell, none when unchanged",
      "0..100", ta::Mfi::lookback(14), tl + "MFI",
      "volume unknown (NaN) on a bar of the window, or P + N = 0 (volume all 0, e.g. HistData, or tp unchanged); "
      "TA-Lib prints 0 when P + N < 1");
  const std::string dmi_null = "smoothed true range 0 (no range since the first bar; TA-Lib prints 0)";
  const std::string dx_null =
      "DX undefined on the row (+DI + -DI = 0 or TR = 0: only before the series' first directional move); the "
      "Wilder recursion skips such rows as TA-Lib does";
  for (int n : kDmi) {
    add("adx_" + s(n), p(n),
        "TA_ADX: DX = 100*|+DI - -DI|/(+DI + -DI); ADX seeded by the mean of the first " + s(n) +
            " DX, then (ADX*(n-1) + DX)/n",
        "0..100", ta::Dmi::lookback_adx(n), tl + "ADX", dx_null);
  }
  for (int n : kDmi) {
    add("plus_di_" + s(n), p(n), "TA_PLUS_DI: 100 * Wilder(+DM) / Wilder(TR)", "0..100", ta::Dmi::lookback_di(n),
        tl + "PLUS_DI", dmi_null);
  }
  for (int n : kDmi) {
    add("minus_di_" + s(n), p(n), "TA_MINUS_DI: 100 * Wilder(-DM) / Wilder(TR)", "0..100", ta::Dmi::lookback_di(n),
        tl + "MINUS_DI", dmi_null);
  }
  add("adxr_14", p(14), "TA_ADXR: (ADX_t + ADX_{t-13}) / 2", "0..100", ta::Dmi::lookback_adxr(14), tl + "ADXR",
      "either ADX NULL");
  for (int n : kAtr) {
    add("atr_" + s(n), p(n),
        "TA_ATR: mean of the first " + s(n) + " true ranges, then Wilder (ATR*(n-1) + TR)/n; TR = max(xh-xl, "
        "|xc_{t-1}-xh|, |xc_{t-1}-xl|)",
        "index points", ta::Atr::lookback(n), tl + "ATR");
  }
  add("natr_14", p(14), "TA_NATR: ATR_14 / x * 100", "percent", ta::Atr::lookback(14), tl + "NATR");
  for (int n : {20, 60}) {
    const std::string nm = "bbands_" + s(n) + "_2";
    const std::string par = "period=" + s(n) + ",nbdevup=2,nbdevdn=2,matype=SMA";
    const int lb = ta::BBands::lookback(n);
    const std::string sd = "sd = population stdev of the last " + s(n) + " x (deviation sums, not TA-Lib's raw sum x^2)";
    add(nm + "_upper", par, "TA_BBANDS upper: SMA_" + s(n) + "(x) + 2*sd; " + sd, "index points", lb, tl + "BBANDS");
    add(nm + "_middle", par, "TA_BBANDS middle: SMA_" + s(n) + "(x)", "index points", lb, tl + "BBANDS");
    add(nm + "_lower", par, "TA_BBANDS lower: SMA_" + s(n) + "(x) - 2*sd; " + sd, "index points", lb, tl + "BBANDS");
    add(nm + "_pctb", par, "(x - lower) / (upper - lower)", "fraction", lb, "FEATURES.md 1.4 on " + tl + "BBANDS",
        "flat window (upper = lower)");
    add(nm + "_width", par, "(upper - lower) / middle", "fraction", lb, "FEATURES.md 1.4 on " + tl + "BBANDS",
        "middle = 0");
  }
  for (int n : kMa) {
    add("ema_dist_" + s(n), p(n), "(x - EMA_" + s(n) + "(x)) / x, TA-Lib EMA (seeded by the SMA of the first " + s(n) + ")",
        "fraction", ta::Ema::lookback(n), "FEATURES.md 1.4 on " + tl + "EMA");
  }
  for (int n : kMa) {
    add("sma_dist_" + s(n), p(n), "(x - SMA_" + s(n) + "(x)) / x", "fraction", n - 1, "FEATURES.md 1.4 on " + tl + "SMA");
  }
  add("trix_15", p(15), "TA_TRIX: 1-bar ROC (percent) of EMA_15(EMA_15(EMA_15(x))), TA-Lib EMAs", "percent",
      ta::Trix::lookback(15), tl + "TRIX", "previous triple EMA = 0 (never for prices)");
  add("ultosc_7_14_28", "period1=7,period2=14,period3=28",
      "TA_ULTOSC: 100 * (4*A7/B7 + 2*A14/B14 + A28/B28) / 7, A = sum(xc - min(xl, xc_{t-1})), B = sum(true range)",
      "0..100", ta::UltOsc::lookback(7, 14, 28), tl + "ULTOSC",
      "a window with zero true range (TA-Lib drops that term)");
  add("aroon_25_up", p(25), "TA_AROON up: 4 * (25 - bars since the highest xh of the last 26 bars), latest on ties",
      "0..100", ta::Aroon::lookback(25), tl + "AROON");
  add("aroon_25_down", p(25), "TA_AROON down: 4 * (25 - bars since the lowest xl of the last 26 bars), latest on ties",
      "0..100", ta::Aroon::lookback(25), tl + "AROON");
  add("aroonosc_25", p(25), "TA_AROONOSC: 4 * (index of highest xh - index of lowest xl) over the last 26 bars",
      "-100..100", ta::Aroon::lookback(25), tl + "AROONOSC");
  add("mom_10", p(10), "TA_MOM: x_t - x_{t-10}", "index points", kMom, tl + "MOM");
  add("cmo_14", p(14), "TA_CMO: 100*(G - L)/(G + L) with RSI_14's Wilder averages", "-100..100", 14, tl + "CMO",
      "G + L = 0 (no close change since the first bar; TA-Lib prints 0)");
  def.make = [](const KernelContext& ctx) { return std::make_unique<TaRateKernel>(ctx); };
  // FEATURES.md asks for both STOCH(14,3,3) and STOCHF(14,3): TA-Lib's slow %K is the SMA_3 of
  // fast %K, which is exactly fast %D, so the two columns agree wherever both are defined.
  for (auto& c : def.columns) {
    if (c.name == "ta_rate_stoch_14_3_3_slowk") {
      c.identical_to = "ta_rate_stochf_14_3_fastd: TA-Lib slow %K = SMA_3(fast %K) = fast %D (from row 17 on)";
    }
  }
  return def;
}

}  // namespace bqx::features
