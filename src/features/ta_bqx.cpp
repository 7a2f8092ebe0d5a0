// ta_bqx: TA-Lib 0.6 indicators on the bqx series q = bqx_w15_return with
// high = low = close = q (FEATURES.md 1.5), 22 columns. The kernels are the same streaming
// kernels as ta_rate (src/features/ta/); they start at the first non-NULL q (row 15), so
// every lookback is TA-Lib's lookback + 15. A NULL q (only the first 15 rows) leaves every
// kernel untouched and every column NULL.
#include <array>
#include <cmath>
#include <memory>
#include <string>

#include "features/families.h"
#include "features/ta/apo.h"
#include "features/ta/bbands.h"
#include "features/ta/cci.h"
#include "features/ta/ema.h"
#include "features/ta/macd.h"
#include "features/ta/roc.h"
#include "features/ta/rsi.h"
#include "features/ta/stoch.h"

namespace bqx::features {
namespace {

constexpr const char* kInput = "bqx_w15_return";
constexpr int kQLookback = 15;  // first non-NULL row of q
constexpr std::array<int, 3> kMom = {5, 12, 30};
constexpr std::array<int, 3> kEma = {10, 50, 200};
constexpr int kWidth = 22;

class TaBqxKernel final : public FamilyKernel {
 public:
  explicit TaBqxKernel(const KernelContext& ctx)
      : offset_(ctx.offset),
        q_index_(ctx.layout->index_of(kInput)),
        rsi_(std::array<int, 2>{14, 21}),
        macd_(12, 26, 9),
        cci_(20),
        stoch_(14, 3, 3),
        lags_(30),
        bb_(20, 2.0, true),
        apo_(12, 26) {
    for (size_t i = 0; i < kEma.size(); ++i) ema_[i] = ta::Ema(kEma[i]);
  }

  void update(const BarInput&, double* row) override {
    double* o = row + offset_;
    const double q = row[q_index_];
    if (std::isnan(q)) {
      for (int i = 0; i < kWidth; ++i) o[i] = kNull;
      return;
    }
    rsi_.update_outputs<0>(q, o, o + 20);  // RSI 14, RSI 21; CMO 14
    const auto m = macd_.update(q);
    o[2] = m.macd;
    o[3] = m.signal;
    o[4] = m.hist;
    o[5] = cci_.update(q, q, q);
    const auto st = stoch_.update(q, q, q);
    o[6] = stoch_.willr(q);
    lags_.push(q);
    for (size_t i = 0; i < kMom.size(); ++i) o[7 + i] = lags_.mom(kMom[i]);
    o[10] = st.fastk;
    o[11] = st.fastd;
    const auto b = bb_.update(q);
    o[12] = b.upper;
    o[13] = b.middle;
    o[14] = b.lower;
    o[15] = b.pctb;
    o[16] = b.width;
    for (size_t i = 0; i < kEma.size(); ++i) {
      const double e = ema_[i].update(q);
      o[17 + i] = std::isnan(e) ? kNull : q - e;
    }
    o[21] = apo_.update(q);
  }

  // The indicators' own state in this object (the engine fetches only its first line; every
  // update with a defined q reads and writes nearly all of it: addresses from `this`, no
  // load), then the window arrays of the indicators that keep any (see TaRateKernel::prefetch).
  void prefetch() const override {
    const char* self = reinterpret_cast<const char*>(this);
    prefetch_write(self + kCacheLine, sizeof(*this) - kCacheLine);
    cci_.prefetch();
    stoch_.prefetch();
    lags_.prefetch();
    bb_.prefetch();
    apo_.prefetch();
  }

  void save(StateWriter& out) const override {
    rsi_.save(out);  // RSI 14 then RSI 21, each in RsiCmo's format
    macd_.save(out);
    cci_.save(out);
    stoch_.save(out);
    lags_.save(out);
    bb_.save(out);
    for (const auto& e : ema_) e.save(out);
    apo_.save(out);
  }
  void load(StateReader& in) override {
    rsi_.load(in);
    macd_.load(in);
    cci_.load(in);
    stoch_.load(in);
    lags_.load(in);
    bb_.load(in);
    for (auto& e : ema_) e.load(in);
    apo_.load(in);
  }

 private:
  int offset_;
  int q_index_;
  ta::RsiCmoBank<2> rsi_;  // RSI 14 and 21 as SIMD lanes
  ta::Macd macd_;
  ta::Cci cci_;
  ta::Stoch stoch_;  // STOCHF(14,3) and WILLR 14 from one 14-bar window
  ta::LagHistory lags_;
  ta::BBands bb_;
  std::array<ta::Ema, kEma.size()> ema_;
  ta::Apo apo_;
};

}  // namespace

FamilyDef make_ta_bqx_family() {
  FamilyDef def;
  def.name = "ta_bqx";
  def.inputs = {kInput};
  const std::string tl = "TA-Lib 0.6 ";
  const std::string dom = " on q = bqx_w15_return (high = low = close = q)";
  auto add = [&](const std::string& suffix, const std::string& params, const std::string& formula,
                 const std::string& unit, int talib_lookback, const std::string& source,
                 const std::string& null_when = "") {
    ColumnInfo c;
    c.name = "ta_bqx_" + suffix;
    c.family = "ta_bqx";
    c.params = params;
    c.formula = formula + dom;
    c.unit = unit;
    c.lookback = talib_lookback + kQLookback;
    c.source = source;
    c.null_when = null_when;
    def.columns.push_back(std::move(c));
  };
  auto p = [](int n) { return "period=" + std::to_string(n); };
  const std::string no_change = "G + L = 0 (q unchanged since its first value; TA-Lib prints 0)";
  add("rsi_14", p(14), "TA_RSI(q, 14): 100*G/(G+L), Wilder averages seeded by the mean of the first 14 changes",
      "0..100", ta::RsiCmo::lookback(14), tl + "RSI", no_change);
  add("rsi_21", p(21), "TA_RSI(q, 21): 100*G/(G+L), Wilder averages seeded by the mean of the first 21 changes",
      "0..100", ta::RsiCmo::lookback(21), tl + "RSI", no_change);
  const std::string mpar = "fast=12,slow=26,signal=9";
  const int mlb = ta::Macd::lookback(12, 26, 9);
  add("macd_12_26_9", mpar, "TA_MACD line: EMA_12(q) - EMA_26(q), both TA-Lib EMAs starting at q's 26th value",
      "fraction (q units)", mlb, tl + "MACD");
  add("macd_12_26_9_signal", mpar, "TA_MACD signal: TA-Lib EMA_9 of the MACD line", "fraction (q units)", mlb,
      tl + "MACD");
  add("macd_12_26_9_hist", mpar, "TA_MACD hist: macd - signal", "fraction (q units)", mlb, tl + "MACD");
  add("cci_20", p(20),
      "TA_CCI: (tp - mean_20(tp)) / (0.015 * mean_20(|tp - mean_20(tp)|)), tp = (q+q+q)/3, exact mean deviation",
      "dimensionless", ta::Cci::lookback(20), tl + "CCI", "flat window (all 20 values equal; TA-Lib prints 0)");
  add("willr_14", p(14), "TA_WILLR: (max_14(q) - q) / ((max_14(q) - min_14(q)) / -100)", "-100..0",
      ta::Willr::lookback(14), tl + "WILLR", "flat window (max = min; TA-Lib prints 0)");
  for (int n : kMom) {
    add("mom_" + std::to_string(n), p(n), "TA_MOM: q_t - q_{t-" + std::to_string(n) + "}", "fraction (q units)", n,
        tl + "MOM");
  }
  const std::string flat = "flat 14-value window (max = min; TA-Lib prints 0)";
  add("stochf_14_3_fastk", "fastk=14,fastd=3 SMA",
      "TA_STOCHF fast %K: (q - min_14(q)) / ((max_14(q) - min_14(q)) / 100); output from where fast %D starts", "0..100",
      ta::Stoch::lookback_fastd(14, 3), tl + "STOCHF", flat);
  add("stochf_14_3_fastd", "fastk=14,fastd=3 SMA", "TA_STOCHF fast %D: SMA_3 of fast %K", "0..100",
      ta::Stoch::lookback_fastd(14, 3), tl + "STOCHF", "a " + flat + " among the 3 averaged");
  const std::string bpar = "period=20,nbdevup=2,nbdevdn=2,matype=SMA";
  const int blb = ta::BBands::lookback(20);
  const std::string sd = "sd = population stdev of the last 20 q (deviation sums)";
  add("bbands_20_2_upper", bpar, "TA_BBANDS upper: SMA_20(q) + 2*sd; " + sd, "fraction (q units)", blb, tl + "BBANDS");
  add("bbands_20_2_middle", bpar, "TA_BBANDS middle: SMA_20(q)", "fraction (q units)", blb, tl + "BBANDS");
  add("bbands_20_2_lower", bpar, "TA_BBANDS lower: SMA_20(q) - 2*sd; " + sd, "fraction (q units)", blb, tl + "BBANDS");
  add("bbands_20_2_pctb", bpar, "(q - lower) / (upper - lower)", "fraction", blb, "FEATURES.md 1.5 on " + tl + "BBANDS",
      "flat window (upper = lower)");
  add("bbands_20_2_width", bpar, "(upper - lower) / |middle|", "ratio", blb, "FEATURES.md 1.5 on " + tl + "BBANDS",
      "middle = 0");
  for (int n : kEma) {
    add("ema_gap_" + std::to_string(n), p(n),
        "q - EMA_" + std::to_string(n) + "(q), TA-Lib EMA seeded by the SMA of the first " + std::to_string(n) + " q",
        "fraction (q units)", ta::Ema::lookback(n), "FEATURES.md 1.5 on " + tl + "EMA");
  }
  add("cmo_14", p(14), "TA_CMO: 100*(G - L)/(G + L) with RSI_14's Wilder averages", "-100..100",
      ta::RsiCmo::lookback(14), tl + "CMO", no_change);
  add("apo_12_26", "fast=12,slow=26,matype=SMA", "TA_APO with TA-Lib's default MA (SMA): SMA_12(q) - SMA_26(q)",
      "fraction (q units)", ta::Apo::lookback(12, 26), tl + "APO");
  def.make = [](const KernelContext& ctx) { return std::make_unique<TaBqxKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
