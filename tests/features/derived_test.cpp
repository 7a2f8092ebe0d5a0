// derived family (FEATURES.md 3.2, the 30 columns of derived.cpp; the 3
// derived_pair_vs_implied_* columns are computed and tested by the cur kernel).
//
// - the kernel driven directly on a hand-made row layout (inputs in a shuffled order,
//   filler columns, random values with NULL stretches, exact zeros, flat windows) against a
//   naive recompute-the-window reference written plainly below (long double two-pass);
// - hand-computed golden values;
// - NULL propagation: each input NULL at a row -> every column using it NULL at that row,
//   the others unchanged;
// - missing inputs resolve to NULL; save/load continues bit-identically;
// - MarketEngine on generated data (4 pairs with a triangle, and a 1-pair universe):
//   every column against the naive reference over the engine's own input columns, first
//   non-NULL row == published lookback, non-constant.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "engine/market_engine.h"
#include "features/cross/cross_families.h"
#include "features/registry.h"
#include "market_frames.h"
#include "test_frames.h"

namespace bqx {
namespace {

using features::ColumnInfo;
using features::is_null;
using features::kNull;
using LD = long double;

const Pair kEURUSD{Currency::EUR, Currency::USD};
const Pair kGBPUSD{Currency::GBP, Currency::USD};
const Pair kEURGBP{Currency::EUR, Currency::GBP};
const Pair kUSDJPY{Currency::USD, Currency::JPY};

// The 30 columns in FEATURES.md 3.2 order (pair_vs_implied left out), with the inputs each
// one reads at the current row (cur_{base}/cur_{quote} stand for the pair's currencies) and
// the rows its own window adds to the inputs' lookback.
struct Expect {
  const char* name;
  std::vector<std::string> inputs;
  int extra;
};
const std::vector<Expect>& expected() {
  static const std::vector<Expect> e = {
      {"derived_bqx_accel_15_30", {"bqx_w15_return", "bqx_w30_return"}, 0},
      {"derived_bqx_accel_15_60", {"bqx_w15_return", "bqx_w60_return"}, 0},
      {"derived_bqx_accel_30_60", {"bqx_w30_return", "bqx_w60_return"}, 0},
      {"derived_bqx_accel_45_75", {"bqx_w45_return", "bqx_w75_return"}, 0},
      {"derived_bqx_alignment",
       {"bqx_w15_return", "bqx_w30_return", "bqx_w45_return", "bqx_w60_return", "bqx_w75_return"}, 0},
      {"derived_reg_slope_agree_60", {"reg_rate_w60_slope_now", "reg_bqx_w60_slope_now"}, 0},
      {"derived_reg_slope_agree_240", {"reg_rate_w240_slope_now", "reg_bqx_w240_slope_now"}, 0},
      {"derived_reg_r2_spread_60_240", {"reg_rate_w60_r2", "reg_rate_w240_r2"}, 0},
      {"derived_reg_r2_spread_60_630", {"reg_rate_w60_r2", "reg_rate_w630_r2"}, 0},
      {"derived_reg_r2_spread_240_630", {"reg_rate_w240_r2", "reg_rate_w630_r2"}, 0},
      {"derived_reg_pred_gap_60_240", {"reg_rate_w60_prediction", "reg_rate_w240_prediction"}, 0},
      {"derived_reg_pred_gap_240_630", {"reg_rate_w240_prediction", "reg_rate_w630_prediction"}, 0},
      {"derived_vol_ratio_15_60", {"stats_rate_ret_std_15", "stats_rate_ret_std_60"}, 0},
      {"derived_vol_ratio_60_240", {"stats_rate_ret_std_60", "stats_rate_ret_std_240"}, 0},
      {"derived_vol_ratio_240_1440", {"stats_rate_ret_std_240", "stats_rate_ret_std_1440"}, 0},
      {"derived_rsi_adx", {"ta_rate_rsi_14", "ta_rate_adx_14"}, 0},
      {"derived_bb_squeeze", {"ta_rate_bbands_20_2_width", "ta_rate_bbands_60_2_width"}, 0},
      {"derived_trend_strength", {"stats_rate_efficiency_ratio_60"}, 0},  // and x_{t-60}: lookback 60 either way
      {"derived_cur_mom_diff_15", {"cur_{base}_mom_15", "cur_{quote}_mom_15"}, 0},
      {"derived_cur_mom_diff_60", {"cur_{base}_mom_60", "cur_{quote}_mom_60"}, 0},
      {"derived_cur_mom_diff_240", {"cur_{base}_mom_240", "cur_{quote}_mom_240"}, 0},
      {"derived_cur_mom_diff_1440", {"cur_{base}_mom_1440", "cur_{quote}_mom_1440"}, 0},
      {"derived_bqx60_z_240", {"bqx_w60_return"}, 239},
      {"derived_macd_hist_slope", {"ta_rate_macd_12_26_9_hist"}, 5},
      {"derived_stoch_rsi_14", {"ta_rate_rsi_14"}, 13},
      {"derived_vol_session_tokyo", {"stats_rate_ret_std_60", "time_session_tokyo"}, 0},
      {"derived_vol_session_london", {"stats_rate_ret_std_60", "time_session_london"}, 0},
      {"derived_vol_session_newyork", {"stats_rate_ret_std_60", "time_session_newyork"}, 0},
      {"derived_range_expansion", {"ta_rate_atr_14", "ta_rate_atr_60"}, 0},
      {"derived_bqx_stretch_75", {"bqx_w75_return", "bqx_w75_stdev"}, 0},
      {"derived_reg_r2_domain_gap_60", {"reg_rate_w60_r2", "reg_bqx_w60_r2"}, 0},
      {"derived_range_vol_ratio_60", {"stats_rate_parkinson_vol_60", "stats_rate_ret_std_60"}, 0},
      {"derived_rsi_spread_7_28", {"ta_rate_rsi_7", "ta_rate_rsi_28"}, 0},
  };
  return e;
}
constexpr size_t kCols = 33;

size_t col_of(const std::string& name) {
  for (size_t c = 0; c < expected().size(); ++c) {
    if (name == expected()[c].name) return c;
  }
  ADD_FAILURE() << "no column " << name;
  return 0;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}
std::string concrete(const std::string& input, Pair pair) {
  const std::string b = "cur_{base}_", q = "cur_{quote}_";
  if (input.rfind(b, 0) == 0) return "cur_" + lower(currency_code(pair.base)) + "_" + input.substr(b.size());
  if (input.rfind(q, 0) == 0) return "cur_" + lower(currency_code(pair.quote)) + "_" + input.substr(q.size());
  return input;
}

// Every input name the family can read (cur moms of all 8 currencies).
std::vector<std::string> all_inputs() {
  std::set<std::string> s;
  for (const auto& e : expected()) {
    for (const auto& in : e.inputs) {
      if (in.rfind("cur_{", 0) != 0) s.insert(in);
    }
  }
  std::vector<std::string> out(s.begin(), s.end());
  for (Currency c : all_currencies()) {
    for (int n : {15, 60, 240, 1440}) out.push_back("cur_" + lower(currency_code(c)) + "_mom_" + std::to_string(n));
  }
  return out;
}

const features::FamilyDef& derived_def() {
  for (const auto& f : features::second_order_families()) {
    if (f.name == "derived") return f;
  }
  ADD_FAILURE() << "derived family not registered";
  static const features::FamilyDef none;
  return none;
}

bool same(double got, double want) {
  if (is_null(got) || is_null(want)) return is_null(got) && is_null(want);
  return std::fabs(got - want) <= 1e-9 * std::max(std::fabs(got), std::fabs(want)) + 1e-12;
}

// ---------------------------------------------------------------------------------------
// Naive reference: column values at row t from the full input history.

struct Series {
  std::map<std::string, std::vector<double>> col;  // input columns by name
  std::vector<double> x;                           // x_t = 100 * close_t / B_p
  double at(const std::string& name, size_t t) const {
    auto it = col.find(name);
    return it == col.end() ? kNull : it->second[t];
  }
};

int sgn(double v) { return v > 0 ? 1 : (v < 0 ? -1 : 0); }
bool nul(double v) { return std::isnan(v); }
double ratio(double a, double b) { return (nul(a) || nul(b) || b == 0) ? kNull : a / b; }

std::array<double, kCols> naive(const Series& s, size_t t, Pair pair) {
  auto v = [&](const std::string& n) { return s.at(n, t); };
  std::array<double, kCols> o;
  o.fill(kNull);
  size_t k = 0;
  auto put = [&](double value) { o[k++] = nul(value) ? kNull : value; };
  // accel
  const double r15 = v("bqx_w15_return"), r30 = v("bqx_w30_return"), r45 = v("bqx_w45_return"),
               r60 = v("bqx_w60_return"), r75 = v("bqx_w75_return");
  put((nul(r15) || nul(r30)) ? kNull : r15 / 15 - r30 / 30);
  put((nul(r15) || nul(r60)) ? kNull : r15 / 15 - r60 / 60);
  put((nul(r30) || nul(r60)) ? kNull : r30 / 30 - r60 / 60);
  put((nul(r45) || nul(r75)) ? kNull : r45 / 45 - r75 / 75);
  // alignment
  if (nul(r15) || nul(r30) || nul(r45) || nul(r60) || nul(r75)) {
    put(kNull);
  } else {
    int n = 0;
    for (double r : {r30, r45, r60, r75}) n += sgn(r) == sgn(r15) ? 1 : 0;
    put(n);
  }
  // slope agree
  for (const char* w : {"60", "240"}) {
    const double a = v(std::string("reg_rate_w") + w + "_slope_now"), b = v(std::string("reg_bqx_w") + w + "_slope_now");
    put((nul(a) || nul(b)) ? kNull : (sgn(a) == sgn(b) ? 1.0 : 0.0));
  }
  // r2 spreads
  const double r2_60 = v("reg_rate_w60_r2"), r2_240 = v("reg_rate_w240_r2"), r2_630 = v("reg_rate_w630_r2");
  put(r2_60 - r2_240);
  put(r2_60 - r2_630);
  put(r2_240 - r2_630);
  // prediction gaps
  const double x = s.x[t];
  put((v("reg_rate_w60_prediction") - v("reg_rate_w240_prediction")) / x);
  put((v("reg_rate_w240_prediction") - v("reg_rate_w630_prediction")) / x);
  // vol ratios
  put(ratio(v("stats_rate_ret_std_15"), v("stats_rate_ret_std_60")));
  put(ratio(v("stats_rate_ret_std_60"), v("stats_rate_ret_std_240")));
  put(ratio(v("stats_rate_ret_std_240"), v("stats_rate_ret_std_1440")));
  // rsi_adx, bb squeeze
  put((v("ta_rate_rsi_14") - 50) * v("ta_rate_adx_14") / 100);
  put(ratio(v("ta_rate_bbands_20_2_width"), v("ta_rate_bbands_60_2_width")));
  // trend strength
  const double er = v("stats_rate_efficiency_ratio_60");
  put((t < 60 || nul(er)) ? kNull : er * sgn(x - s.x[t - 60]));
  // cur mom diff
  for (const char* n : {"15", "60", "240", "1440"}) {
    put(v(concrete(std::string("cur_{base}_mom_") + n, pair)) - v(concrete(std::string("cur_{quote}_mom_") + n, pair)));
  }
  // bqx60 z over 240 rows
  {
    double z = kNull;
    if (t >= 239) {
      const auto& q = s.col.at("bqx_w60_return");
      bool bad = false, flat = true;
      for (size_t i = t - 239; i <= t; ++i) {
        if (nul(q[i])) bad = true;
        if (q[i] != q[t]) flat = false;
      }
      if (!bad && !flat) {
        LD mean = 0;
        for (size_t i = t - 239; i <= t; ++i) mean += q[i];
        mean /= 240;
        LD ss = 0;
        for (size_t i = t - 239; i <= t; ++i) ss += (q[i] - mean) * (q[i] - mean);
        z = static_cast<double>((q[t] - mean) / std::sqrt(ss / 239));
      }
    }
    put(z);
  }
  // macd hist slope
  {
    const auto& h = s.col.at("ta_rate_macd_12_26_9_hist");
    put(t < 5 ? kNull : h[t] - h[t - 5]);
  }
  // stoch rsi
  {
    double st = kNull;
    if (t >= 13) {
      const auto& r = s.col.at("ta_rate_rsi_14");
      double lo = INFINITY, hi = -INFINITY;
      bool bad = false;
      for (size_t i = t - 13; i <= t; ++i) {
        if (nul(r[i])) bad = true;
        lo = std::min(lo, r[i]);
        hi = std::max(hi, r[i]);
      }
      if (!bad && hi != lo) st = (r[t] - lo) / (hi - lo);
    }
    put(st);
  }
  // sessions
  for (const char* sess : {"tokyo", "london", "newyork"}) put(v("stats_rate_ret_std_60") * v(std::string("time_session_") + sess));
  put(ratio(v("ta_rate_atr_14"), v("ta_rate_atr_60")));
  // stretch
  {
    const double sd = v("bqx_w75_stdev");
    put((nul(r75) || nul(sd) || sd <= 1e-12 * x) ? kNull : r75 / (75 * sd / x));
  }
  // BQX additions
  put(v("reg_rate_w60_r2") - v("reg_bqx_w60_r2"));
  put(ratio(v("stats_rate_parkinson_vol_60"), v("stats_rate_ret_std_60")));
  put(v("ta_rate_rsi_7") - v("ta_rate_rsi_28"));
  EXPECT_EQ(k, kCols);
  return o;
}

// ---------------------------------------------------------------------------------------
// Direct kernel driver on a hand-made layout.

struct Direct {
  features::ColumnLayout layout;
  int offset = 0;
  std::map<std::string, int> index;
  std::unique_ptr<features::FamilyKernel> kernel;
  std::vector<double> row;

  // inputs: the input names present in the layout (any order); fillers before and between.
  Direct(const std::vector<std::string>& inputs, Pair pair) {
    int filler = 0;
    for (const auto& n : inputs) {
      if (filler % 3 == 0) layout.add("filler_" + std::to_string(filler));
      ++filler;
      layout.add(n);
    }
    layout.add("filler_end");
    offset = static_cast<int>(layout.size());
    for (const auto& c : derived_def().columns) layout.add(c.name);
    layout.add("after_the_family");
    for (size_t i = 0; i < layout.size(); ++i) index[layout.names()[i]] = static_cast<int>(i);
    kernel = derived_def().make(features::KernelContext{offset, &layout, pair});
    row.assign(layout.size(), kNull);
  }
  // Writes the inputs of row t of s, runs the kernel, returns the 30 outputs.
  std::array<double, kCols> step(const Series& s, size_t t) {
    for (size_t i = 0; i < layout.size(); ++i) row[i] = -777.0;  // garbage: outputs must be overwritten
    for (const auto& [name, v] : s.col) {
      auto it = index.find(name);
      if (it != index.end()) row[it->second] = v[t];
    }
    features::BarInput bar;
    bar.xc = s.x[t];
    bar.close = s.x[t] / 100;
    kernel->update(bar, row.data());
    std::array<double, kCols> out;
    for (size_t c = 0; c < kCols; ++c) out[c] = row[offset + c];
    EXPECT_EQ(row[index.at("after_the_family")], -777.0);  // nothing written outside the slice
    EXPECT_EQ(row[index.at("filler_end")], -777.0);
    return out;
  }
};

// Random input history with NULL stretches, exact zeros, flat windows and zero denominators.
Series random_series(size_t n, uint64_t seed) {
  using testing_frames::normal;
  using testing_frames::uniform01;
  uint64_t s = seed;
  Series out;
  for (const auto& name : all_inputs()) out.col[name].assign(n, kNull);
  out.x.assign(n, 0);
  long walk = 0;
  for (size_t t = 0; t < n; ++t) {
    const double u = uniform01(s);
    walk += u < 0.3 ? -1 : (u < 0.7 ? 0 : 1);  // coarse grid: x_t == x_{t-60} happens
    out.x[t] = 100.0 + 0.01 * static_cast<double>(walk);
    auto maybe = [&](double value, double p_null, double p_zero) {
      const double w = uniform01(s);
      if (w < p_null) return kNull;
      if (w < p_null + p_zero) return 0.0;
      return value;
    };
    for (const char* w : {"15", "30", "45", "75"}) {
      out.col[std::string("bqx_w") + w + "_return"][t] = maybe(0.002 * normal(s), 0.02, 0.03);
    }
    // bqx_w60_return: NULL only in stretches (else the 240-row window is never complete),
    // flat from row 1000 to 1260.
    double q = 0.002 * normal(s);
    if (t < 60 || (t >= 700 && t < 710) || t == 1400) q = kNull;
    if (t >= 1000 && t <= 1260) q = 0.0015;
    if (t % 97 == 0 && !nul(q) && !(t >= 1000 && t <= 1260)) q = 0.0;
    out.col["bqx_w60_return"][t] = q;
    out.col["bqx_w75_stdev"][t] = maybe(0.02 + 0.01 * uniform01(s), 0.02, 0.03);
    for (const char* d : {"rate", "bqx"}) {
      for (const char* w : {"60", "240"}) {
        out.col[std::string("reg_") + d + "_w" + w + "_slope_now"][t] = maybe(1e-4 * normal(s), 0.02, 0.05);
      }
    }
    for (const char* w : {"60", "240", "630"}) {
      out.col[std::string("reg_rate_w") + w + "_r2"][t] = maybe(uniform01(s), 0.02, 0.0);
      out.col[std::string("reg_rate_w") + w + "_prediction"][t] = maybe(out.x[t] + 0.05 * normal(s), 0.02, 0.0);
    }
    for (const char* w : {"15", "60", "240", "1440"}) {
      out.col[std::string("stats_rate_ret_std_") + w][t] = maybe(1e-4 * (0.5 + uniform01(s)), 0.02, 0.03);
    }
    // rsi: NULL at warm-up and row 400, flat 500..520.
    double rsi = 100 * uniform01(s);
    if (t < 14 || t == 400) rsi = kNull;
    if (t >= 500 && t <= 520) rsi = 37.5;
    out.col["ta_rate_rsi_14"][t] = rsi;
    out.col["reg_bqx_w60_r2"][t] = maybe(uniform01(s), 0.02, 0.0);
    out.col["stats_rate_parkinson_vol_60"][t] = maybe(1e-4 * uniform01(s), 0.02, 0.0);
    out.col["ta_rate_rsi_7"][t] = maybe(100 * uniform01(s), 0.02, 0.0);
    out.col["ta_rate_rsi_28"][t] = maybe(100 * uniform01(s), 0.02, 0.0);
    out.col["ta_rate_adx_14"][t] = maybe(60 * uniform01(s), 0.02, 0.0);
    out.col["ta_rate_bbands_20_2_width"][t] = maybe(1e-3 * uniform01(s), 0.02, 0.02);
    out.col["ta_rate_bbands_60_2_width"][t] = maybe(1e-3 * uniform01(s), 0.02, 0.03);
    out.col["stats_rate_efficiency_ratio_60"][t] = maybe(uniform01(s), 0.02, 0.01);
    double hist = 0.01 * normal(s);
    if (t < 33 || t == 600) hist = kNull;
    out.col["ta_rate_macd_12_26_9_hist"][t] = hist;
    for (const char* sess : {"tokyo", "london", "newyork"}) {
      out.col[std::string("time_session_") + sess][t] = uniform01(s) < 0.5 ? 1.0 : 0.0;
    }
    out.col["ta_rate_atr_14"][t] = maybe(0.01 * uniform01(s), 0.02, 0.02);
    out.col["ta_rate_atr_60"][t] = maybe(0.01 * uniform01(s), 0.02, 0.03);
    for (Currency c : all_currencies()) {
      for (int m : {15, 60, 240, 1440}) {
        out.col["cur_" + lower(currency_code(c)) + "_mom_" + std::to_string(m)][t] = maybe(1e-3 * normal(s), 0.03, 0.0);
      }
    }
  }
  return out;
}

std::string describe(size_t t, size_t c, double got, double want) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "row %zu %s: got %.17g want %.17g", t, expected()[c].name, got, want);
  return buf;
}

// ---------------------------------------------------------------------------------------

TEST(Derived, CatalogueHasTheSpecColumnsInOrder) {
  const auto& def = derived_def();
  ASSERT_EQ(def.columns.size(), kCols);
  const auto all = features::all_feature_columns();
  std::map<std::string, ColumnInfo> by_name;
  for (const auto& c : all) by_name[c.name] = c;
  for (size_t i = 0; i < kCols; ++i) {
    const ColumnInfo& c = def.columns[i];
    EXPECT_EQ(c.name, expected()[i].name);
    EXPECT_EQ(c.family, "derived");
    EXPECT_EQ(c.source, "FEATURES.md 3.2");
    EXPECT_FALSE(c.params.empty()) << c.name;
    EXPECT_FALSE(c.formula.empty()) << c.name;
    EXPECT_FALSE(c.unit.empty()) << c.name;
    EXPECT_FALSE(c.null_when.empty()) << c.name;
    // lookback = max over the inputs (as registered) + the family's own window rows.
    int lb = 0;
    bool exact = true;
    for (const auto& in : expected()[i].inputs) {
      const std::string name = concrete(in, kEURUSD);
      auto it = by_name.find(name);
      ASSERT_NE(it, by_name.end()) << name;
      lb = std::max(lb, it->second.lookback);
      const bool cross = it->second.family == "cur";
      exact = exact && it->second.exact_lookback && !cross;
    }
    EXPECT_EQ(c.lookback, lb + expected()[i].extra) << c.name;
    EXPECT_EQ(c.exact_lookback, exact) << c.name;
  }
  // Golden lookbacks (inputs' catalogue lookbacks at the time of writing): bqx_w75 75;
  // reg_bqx_w240 239 + 15 = 254; reg_rate_w630 629; stats ret_std_1440 1440;
  // bqx_w60_return 60 + 239 = 299; macd hist 33 + 5 = 38; rsi14 14 + 13 = 27.
  std::map<std::string, int> golden = {{"derived_bqx_alignment", 75},        {"derived_reg_slope_agree_240", 254},
                                       {"derived_reg_r2_spread_60_630", 629}, {"derived_vol_ratio_240_1440", 1440},
                                       {"derived_bqx60_z_240", 299},          {"derived_macd_hist_slope", 38},
                                       {"derived_stoch_rsi_14", 27},          {"derived_trend_strength", 60}};
  for (const auto& c : def.columns) {
    if (golden.count(c.name)) {
      EXPECT_EQ(c.lookback, golden[c.name]) << c.name;
    }
  }
  // Only derived_reg_r2_spread_60_630 duplicates another column by definition (regdiag 1.3).
  for (const auto& c : def.columns) {
    if (c.name == "derived_reg_r2_spread_60_630") {
      EXPECT_EQ(c.identical_to.rfind("regdiag_rate_r2_spread_60_630:", 0), 0u) << c.identical_to;
    } else {
      EXPECT_TRUE(c.identical_to.empty()) << c.name;
    }
  }
  // The catalogue holds the 30 plus the cur kernel's 3 derived_pair_vs_implied_*.
  size_t in_family = 0;
  for (const auto& c : all) in_family += c.family == "derived" ? 1 : 0;
  EXPECT_EQ(in_family, kCols + 3);
}

TEST(Derived, InputsAreRegisteredAndComputedEarlier) {
  const auto& def = derived_def();
  const auto all = features::all_feature_columns();
  std::map<std::string, size_t> pos;
  for (size_t i = 0; i < all.size(); ++i) pos[all[i].name] = i;
  const size_t first = pos.at(def.columns.front().name);
  std::set<std::string> inputs(def.inputs.begin(), def.inputs.end());
  EXPECT_EQ(inputs.size(), def.inputs.size()) << "duplicate input";
  for (const auto& in : def.inputs) {
    ASSERT_TRUE(pos.count(in)) << in;
    EXPECT_LT(pos.at(in), first) << in;
  }
  // Every input the family can read is listed when the registry has it.
  for (const auto& in : all_inputs()) EXPECT_EQ(inputs.count(in), pos.count(in)) << in;
  // Contiguous slice: the engine writes offset .. offset + 29.
  for (size_t i = 0; i < kCols; ++i) EXPECT_EQ(pos.at(def.columns[i].name), first + i);
}

TEST(Derived, DirectKernelMatchesNaiveReference) {
  for (Pair pair : {kEURUSD, kUSDJPY}) {
    const size_t n = 1600;
    const Series s = random_series(n, pair == kEURUSD ? 7 : 8);
    std::vector<std::string> inputs = all_inputs();
    // Shuffle deterministically so that layout order is unrelated to the family's order.
    uint64_t st = 99;
    for (size_t i = inputs.size(); i > 1; --i) std::swap(inputs[i - 1], inputs[testing_frames::splitmix64(st) % i]);
    Direct d(inputs, pair);
    size_t mismatches = 0, non_null = 0;
    std::array<size_t, kCols> nn{};
    for (size_t t = 0; t < n; ++t) {
      const auto got = d.step(s, t);
      const auto want = naive(s, t, pair);
      for (size_t c = 0; c < kCols; ++c) {
        if (!is_null(got[c])) {
          ++non_null;
          ++nn[c];
        }
        if (!same(got[c], want[c]) && ++mismatches <= 10) ADD_FAILURE() << pair_name(pair) << " " << describe(t, c, got[c], want[c]);
      }
    }
    EXPECT_EQ(mismatches, 0u);
    for (size_t c = 0; c < kCols; ++c) EXPECT_GT(nn[c], 100u) << expected()[c].name << " almost never computed";
    // The edge cases the series was built for are reached, and give what the spec says.
    Direct again(inputs, pair);
    size_t z_flat = 0, stoch_flat = 0, trend_zero = 0, agree_zeros = 0, zero_den = 0, z_ok = 0;
    for (size_t t = 0; t < n; ++t) {
      const auto got = again.step(s, t);
      if (t >= 1239 && t <= 1260) {  // bqx_w60_return == 0.0015 on rows 1000..1260
        EXPECT_TRUE(is_null(got[col_of("derived_bqx60_z_240")])) << t;
        ++z_flat;
      }
      if (t >= 513 && t <= 520) {  // rsi == 37.5 on rows 500..520
        EXPECT_TRUE(is_null(got[col_of("derived_stoch_rsi_14")])) << t;
        ++stoch_flat;
      }
      if (t >= 60 && s.x[t] == s.x[t - 60] && !is_null(s.at("stats_rate_efficiency_ratio_60", t))) {
        EXPECT_EQ(got[col_of("derived_trend_strength")], 0.0) << t;
        ++trend_zero;
      }
      if (s.at("reg_rate_w60_slope_now", t) == 0 && s.at("reg_bqx_w60_slope_now", t) == 0) {
        EXPECT_EQ(got[col_of("derived_reg_slope_agree_60")], 1.0) << t;
        ++agree_zeros;
      }
      if (s.at("stats_rate_ret_std_60", t) == 0 && !is_null(s.at("stats_rate_ret_std_15", t))) {
        EXPECT_TRUE(is_null(got[col_of("derived_vol_ratio_15_60")])) << t;
        ++zero_den;
      }
      z_ok += is_null(got[col_of("derived_bqx60_z_240")]) ? 0 : 1;
    }
    EXPECT_EQ(z_flat, 22u);
    EXPECT_EQ(stoch_flat, 8u);
    EXPECT_GT(trend_zero, 5u);
    EXPECT_GT(agree_zeros, 0u);
    EXPECT_GT(zero_den, 5u);
    EXPECT_GT(z_ok, 500u);
  }
}

TEST(Derived, GoldenValues) {
  // One pair (GBPUSD), hand-built rows. Every value below is derived by hand beside it.
  Series s;
  const size_t n = 300;
  for (const auto& name : all_inputs()) s.col[name].assign(n, kNull);
  s.x.assign(n, 100.0);
  // bqx_w60_return = t for t = 0..239, then 1000 at t = 240.
  for (size_t t = 0; t < n; ++t) s.col["bqx_w60_return"][t] = t < 240 ? static_cast<double>(t) : 1000.0;
  // rsi14 = 40 + t for t = 0..13, then 10 at t = 14.
  for (size_t t = 0; t < 15; ++t) s.col["ta_rate_rsi_14"][t] = t < 14 ? 40.0 + static_cast<double>(t) : 10.0;
  // macd hist = 0.5 * t.
  for (size_t t = 0; t < n; ++t) s.col["ta_rate_macd_12_26_9_hist"][t] = 0.5 * static_cast<double>(t);
  // x rises by 0.01 per row until 120, then falls by 0.02 per row.
  for (size_t t = 1; t < n; ++t) s.x[t] = s.x[t - 1] + (t <= 120 ? 0.01 : -0.02);
  const size_t g = 239;  // the row carrying the one-row golden inputs
  auto set = [&](const std::string& name, double v) { s.col[name][g] = v; };
  set("bqx_w15_return", 0.003);
  set("bqx_w30_return", 0.0045);
  set("bqx_w45_return", -0.0009);
  set("bqx_w75_return", 0.006);
  set("bqx_w75_stdev", 0.04);
  set("reg_rate_w60_slope_now", 2e-4);
  set("reg_bqx_w60_slope_now", -1e-5);
  set("reg_rate_w240_slope_now", 0.0);
  set("reg_bqx_w240_slope_now", 0.0);
  set("reg_rate_w60_r2", 0.9);
  set("reg_rate_w240_r2", 0.25);
  set("reg_rate_w630_r2", 0.5);
  set("reg_rate_w60_prediction", 100.05);
  set("reg_rate_w240_prediction", 100.01);
  set("reg_rate_w630_prediction", 99.97);
  set("stats_rate_ret_std_15", 3e-4);
  set("stats_rate_ret_std_60", 2e-4);
  set("stats_rate_ret_std_240", 0.0);
  set("stats_rate_ret_std_1440", 1e-4);
  set("ta_rate_adx_14", 40.0);
  s.col["ta_rate_rsi_14"][g] = 70.0;
  set("ta_rate_bbands_20_2_width", 0.003);
  set("ta_rate_bbands_60_2_width", 0.004);
  set("stats_rate_efficiency_ratio_60", 0.25);
  set("time_session_tokyo", 0.0);
  set("time_session_london", 1.0);
  set("time_session_newyork", 1.0);
  set("ta_rate_atr_14", 0.03);
  set("ta_rate_atr_60", 0.02);
  set("cur_gbp_mom_15", 0.002);
  set("cur_usd_mom_15", -0.001);
  set("cur_eur_mom_15", 0.5);  // not GBPUSD's: must not be read
  set("cur_gbp_mom_60", 0.001);
  set("cur_usd_mom_60", 0.001);
  set("cur_gbp_mom_1440", -0.004);
  // cur_*_mom_240 left NULL.
  Direct d(all_inputs(), kGBPUSD);
  std::array<double, kCols> at_g{}, at_14{}, at_240{};
  for (size_t t = 0; t <= 240; ++t) {
    const auto out = d.step(s, t);
    if (t == 14) at_14 = out;
    if (t == g) at_g = out;
    if (t == 240) at_240 = out;
  }
  const double x = s.x[g];  // 100 + 120*0.01 - 119*0.02 = 98.82
  ASSERT_NEAR(x, 98.82, 1e-9);
  std::map<std::string, double> want = {
      {"derived_bqx_accel_15_30", 0.003 / 15 - 0.0045 / 30},  // 2e-4 - 1.5e-4 = 5e-5
      {"derived_bqx_accel_15_60", 0.003 / 15 - 239.0 / 60},   // bqx_w60_return(239) = 239
      {"derived_bqx_accel_30_60", 0.0045 / 30 - 239.0 / 60},
      {"derived_bqx_accel_45_75", -0.0009 / 45 - 0.006 / 75},  // -2e-5 - 8e-5 = -1e-4
      // w15 > 0: w30 > 0 yes, w45 < 0 no, w60 = 239 > 0 yes, w75 > 0 yes -> 3
      {"derived_bqx_alignment", 3.0},
      {"derived_reg_slope_agree_60", 0.0},   // + vs -
      {"derived_reg_slope_agree_240", 1.0},  // 0 and 0: sign(0) = sign(0)
      {"derived_reg_r2_spread_60_240", 0.65},
      {"derived_reg_r2_spread_60_630", 0.4},
      {"derived_reg_r2_spread_240_630", -0.25},
      {"derived_reg_pred_gap_60_240", 0.04 / 98.82},   // (100.05 - 100.01) / x
      {"derived_reg_pred_gap_240_630", 0.04 / 98.82},  // (100.01 - 99.97) / x
      {"derived_vol_ratio_15_60", 1.5},
      {"derived_vol_ratio_60_240", kNull},  // denominator ret_std_240 = 0
      {"derived_vol_ratio_240_1440", 0.0},  // 0 / 1e-4: a real 0
      {"derived_rsi_adx", 8.0},             // (70 - 50) * 40 / 100
      {"derived_bb_squeeze", 0.75},
      // x_239 = 98.82 < x_179 = 100 + 1.2 - 59*0.02 = 100.02: sign -1 -> -0.25
      {"derived_trend_strength", -0.25},
      {"derived_cur_mom_diff_15", 0.003},  // gbp 0.002 - usd (-0.001)
      {"derived_cur_mom_diff_60", 0.0},    // equal momenta: a real 0
      {"derived_cur_mom_diff_240", kNull},
      {"derived_cur_mom_diff_1440", kNull},  // cur_usd_mom_1440 NULL
      // v = 0..239: mean 119.5, sample var = 240*241/12 = 4820, z = 119.5 / sqrt(4820)
      {"derived_bqx60_z_240", 119.5 / std::sqrt(4820.0)},
      {"derived_macd_hist_slope", 2.5},  // 0.5 * 239 - 0.5 * 234
      {"derived_stoch_rsi_14", kNull},   // rsi NULL at rows 15..238
      {"derived_vol_session_tokyo", 0.0},
      {"derived_vol_session_london", 2e-4},
      {"derived_vol_session_newyork", 2e-4},
      {"derived_range_expansion", 1.5},
      // 0.006 / (75 * 0.04 / 98.82) = 0.006 * 98.82 / 3 = 0.19764
      {"derived_bqx_stretch_75", 0.19764},
      // The BQX additions' second inputs are not set in this fixture: NULL, never 0
      // (their values are checked against the naive reference above).
      {"derived_reg_r2_domain_gap_60", kNull},
      {"derived_range_vol_ratio_60", kNull},
      {"derived_rsi_spread_7_28", kNull},
  };
  for (size_t c = 0; c < kCols; ++c) {
    const double w = want.at(expected()[c].name);
    EXPECT_TRUE(same(at_g[c], w)) << describe(g, c, at_g[c], w);
  }
  EXPECT_NEAR(119.5 / std::sqrt(4820.0), 1.7212517157, 1e-9);
  // Row 14: the window rows 1..14 hold rsi 41..53 and 10: min 10, max 53 -> (10 - 10) / 43 = 0.
  EXPECT_EQ(at_14[col_of("derived_stoch_rsi_14")], 0.0);
  // Row 240: window 1..239, 1000: mean = (sum 1..239 + 1000)/240 = (28680 + 1000)/240 = 123.666..,
  // z = (1000 - mean) / sd, checked against the plain two-pass formula.
  {
    LD mean = 0, ss = 0;
    for (int i = 1; i <= 240; ++i) mean += (i < 240 ? i : 1000);
    mean /= 240;
    for (int i = 1; i <= 240; ++i) ss += ((i < 240 ? i : 1000) - mean) * ((i < 240 ? i : 1000) - mean);
    const double z = static_cast<double>((1000 - mean) / std::sqrt(ss / 239));
    EXPECT_TRUE(same(at_240[col_of("derived_bqx60_z_240")], z)) << at_240[col_of("derived_bqx60_z_240")] << " vs " << z;
    EXPECT_NEAR(z, 9.8058795, 1e-6);  // (1000 - 123.667) / sqrt(sum of squared deviations / 239) = 876.33 / 89.37
    EXPECT_NEAR(static_cast<double>(mean), 29680.0 / 240, 1e-12);
  }
  // Row 13 through a fresh kernel: the first full rsi window 40..53 -> (53 - 40)/(53 - 40) = 1.
  Direct d13(all_inputs(), kGBPUSD);
  std::array<double, kCols> at_13{};
  for (size_t t = 0; t <= 13; ++t) at_13 = d13.step(s, t);
  EXPECT_EQ(at_13[col_of("derived_stoch_rsi_14")], 1.0);
  EXPECT_TRUE(is_null(at_13[col_of("derived_bqx60_z_240")]));  // only 14 of 240 rows
}

TEST(Derived, NullInputGivesNullOnlyWhereUsed) {
  // A warm kernel on all-valid inputs (no zeros), then one row with input k NULL, for every k:
  // the columns reading k are NULL, all others equal the all-valid row's values.
  const size_t n = 400;
  Series s = random_series(n, 3);
  for (auto& [name, v] : s.col) {
    for (size_t t = 0; t < n; ++t) {
      if (nul(v[t]) || v[t] == 0) v[t] = name.rfind("time_session", 0) == 0 ? 1.0 : 0.5 + 1e-3 * static_cast<double>(t % 7);
    }
  }
  for (size_t t = 0; t < n; ++t) s.x[t] = 100 + 0.01 * static_cast<double>(t);  // x_t != x_{t-60}
  // Distinct rsi / bqx60 values so that no window is flat.
  for (size_t t = 0; t < n; ++t) {
    s.col["ta_rate_rsi_14"][t] = 30 + 0.1 * static_cast<double>(t % 50);
    s.col["bqx_w60_return"][t] = 1e-3 * static_cast<double>(t % 41);
  }
  Direct warm(all_inputs(), kEURUSD);
  for (size_t t = 0; t + 1 < n; ++t) warm.step(s, t);
  std::vector<uint8_t> state;
  features::StateWriter w(state);
  warm.kernel->save(w);
  auto run_last = [&](const Series& series) {
    Direct d(all_inputs(), kEURUSD);
    features::StateReader r(state.data(), state.size());
    d.kernel->load(r);
    EXPECT_TRUE(r.ok() && r.at_end());
    return d.step(series, n - 1);
  };
  const auto base = run_last(s);
  for (size_t c = 0; c < kCols; ++c) ASSERT_FALSE(is_null(base[c])) << expected()[c].name;
  for (const auto& input : all_inputs()) {
    Series mod = s;
    mod.col[input][n - 1] = kNull;
    const auto got = run_last(mod);
    for (size_t c = 0; c < kCols; ++c) {
      bool uses = false;
      for (const auto& in : expected()[c].inputs) uses = uses || concrete(in, kEURUSD) == input;
      if (uses) {
        EXPECT_TRUE(is_null(got[c])) << input << " NULL -> " << expected()[c].name << " = " << got[c];
      } else {
        EXPECT_EQ(std::memcmp(&got[c], &base[c], sizeof(double)), 0) << input << " changed " << expected()[c].name;
      }
    }
  }
}

TEST(Derived, MissingInputsReadAsNull) {
  // A layout without cur, rsi and the bqx windows: those columns are always NULL, the others
  // are computed, nothing crashes. Also a layout with no inputs at all and no layout.
  const size_t n = 800;
  const Series s = random_series(n, 5);
  std::vector<std::string> inputs;
  for (const auto& in : all_inputs()) {
    if (in.rfind("cur_", 0) == 0 || in == "ta_rate_rsi_14" || in.rfind("bqx_w", 0) == 0) continue;
    inputs.push_back(in);
  }
  Direct d(inputs, kEURUSD);
  Series partial = s;
  for (auto& [name, v] : partial.col) {  // a missing input is read as NULL
    if (std::find(inputs.begin(), inputs.end(), name) == inputs.end()) v.assign(v.size(), kNull);
  }
  std::array<size_t, kCols> nn{};
  for (size_t t = 0; t < n; ++t) {
    const auto got = d.step(s, t);  // the layout has no slot for the missing inputs
    const auto want = naive(partial, t, kEURUSD);
    for (size_t c = 0; c < kCols; ++c) {
      EXPECT_TRUE(same(got[c], want[c])) << describe(t, c, got[c], want[c]);
      nn[c] += is_null(got[c]) ? 0 : 1;
    }
  }
  for (size_t c = 0; c < kCols; ++c) {
    bool missing = false;
    for (const auto& in : expected()[c].inputs) {
      const std::string name = concrete(in, kEURUSD);
      missing = missing || std::find(inputs.begin(), inputs.end(), name) == inputs.end();
    }
    if (missing) {
      EXPECT_EQ(nn[c], 0u) << expected()[c].name;
    } else {
      EXPECT_GT(nn[c], 0u) << expected()[c].name;
    }
  }
  // No inputs at all, and no layout.
  Direct empty({}, kEURUSD);
  for (size_t t = 0; t < 100; ++t) {
    for (double v : empty.step(s, t)) EXPECT_TRUE(is_null(v));
  }
  std::vector<double> row(kCols, -1.0);
  auto k = derived_def().make(features::KernelContext{0, nullptr, kEURUSD});
  features::BarInput bar;
  bar.xc = 100;
  for (int t = 0; t < 100; ++t) k->update(bar, row.data());
  for (double v : row) EXPECT_TRUE(is_null(v));
}

TEST(Derived, SaveLoadContinuesBitIdentically) {
  const size_t n = 1500;
  const Series s = random_series(n, 11);
  Direct whole(all_inputs(), kEURUSD);
  std::vector<std::array<double, kCols>> expect;
  for (size_t t = 0; t < n; ++t) expect.push_back(whole.step(s, t));
  for (size_t cut : {1u, 59u, 240u, 777u, 1300u}) {
    Direct first(all_inputs(), kEURUSD);
    for (size_t t = 0; t < cut; ++t) first.step(s, t);
    std::vector<uint8_t> bytes;
    features::StateWriter w(bytes);
    first.kernel->save(w);
    Direct second(all_inputs(), kEURUSD);
    features::StateReader r(bytes.data(), bytes.size());
    second.kernel->load(r);
    ASSERT_TRUE(r.ok() && r.at_end());
    for (size_t t = cut; t < n; ++t) {
      const auto got = second.step(s, t);
      ASSERT_EQ(std::memcmp(got.data(), expect[t].data(), sizeof(got)), 0) << "cut " << cut << " row " << t;
    }
    // A truncated state is rejected.
    bytes.resize(bytes.size() - 3);
    Direct third(all_inputs(), kEURUSD);
    features::StateReader bad(bytes.data(), bytes.size());
    third.kernel->load(bad);
    EXPECT_FALSE(bad.ok());
  }
}

// ---------------------------------------------------------------------------------------
// MarketEngine on generated data.

struct EngineRun {
  std::map<int, Series> by_pair;                         // pair slot -> inputs + x
  std::map<int, std::vector<std::array<double, kCols>>> out;  // pair slot -> outputs
};

EngineRun run_engine(const std::vector<BarFrame>& frames) {
  std::vector<PairSetup> universe;
  std::map<int, double> scale;
  for (const auto& f : frames) {
    universe.push_back(PairSetup{f.pair, f.close[0]});
    scale[pair_index(f.pair)] = 100.0 / f.close[0];
  }
  auto e = MarketEngine::create(universe);
  EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
  if (!e.ok()) return {};
  std::map<std::string, int> idx;
  for (size_t i = 0; i < e->columns().size(); ++i) idx[e->columns()[i].name] = static_cast<int>(i);
  const int first = idx.at(expected()[0].name);
  for (size_t c = 0; c < kCols; ++c) EXPECT_EQ(idx.at(expected()[c].name), first + static_cast<int>(c));
  std::map<std::pair<int, EpochMinute>, double> close;
  for (const auto& f : frames) {
    for (size_t i = 0; i < f.size(); ++i) close[{pair_index(f.pair), f.ts[i]}] = f.close[i];
  }
  EngineRun run;
  const auto inputs = all_inputs();
  auto st = run_market(*e, frames, [&](Pair p, EpochMinute ts, const double* row) {
    const int slot = pair_index(p);
    Series& s = run.by_pair[slot];
    for (const auto& in : inputs) {
      auto it = idx.find(in);
      s.col[in].push_back(it == idx.end() ? kNull : row[it->second]);
    }
    s.x.push_back(close.at({slot, ts}) * scale.at(slot));
    std::array<double, kCols> o;
    for (size_t c = 0; c < kCols; ++c) o[c] = row[first + c];
    run.out[slot].push_back(o);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
  return run;
}

void check_engine_run(const EngineRun& run, bool check_lookback) {
  const auto& cols = derived_def().columns;
  for (const auto& [slot, s] : run.by_pair) {
    const Pair pair = all_pairs()[slot];
    const auto& out = run.out.at(slot);
    size_t mismatches = 0;
    std::array<size_t, kCols> first_non_null;
    first_non_null.fill(out.size());
    std::array<std::set<double>, kCols> distinct;
    for (size_t t = 0; t < out.size(); ++t) {
      const auto want = naive(s, t, pair);
      for (size_t c = 0; c < kCols; ++c) {
        if (!same(out[t][c], want[c]) && ++mismatches <= 10) {
          ADD_FAILURE() << pair_name(pair) << " " << describe(t, c, out[t][c], want[c]);
        }
        if (!is_null(out[t][c])) {
          first_non_null[c] = std::min(first_non_null[c], t);
          if (distinct[c].size() < 3) distinct[c].insert(out[t][c]);
        }
      }
    }
    EXPECT_EQ(mismatches, 0u) << pair_name(pair);
    for (size_t c = 0; c < kCols; ++c) {
      if (!check_lookback) continue;  // short runs: some windows (1440 rows) never fill
      EXPECT_LT(first_non_null[c], out.size()) << pair_name(pair) << " " << cols[c].name << " always NULL";
      EXPECT_GE(distinct[c].size(), 2u) << pair_name(pair) << " " << cols[c].name << " constant";
      if (cols[c].exact_lookback) {
        EXPECT_EQ(first_non_null[c], static_cast<size_t>(cols[c].lookback)) << pair_name(pair) << " " << cols[c].name;
      }
    }
  }
}

TEST(Derived, EngineOnGeneratedMarketMatchesNaive) {
  const auto frames = testing_frames::generated_market(3, {kEURUSD, kGBPUSD, kEURGBP, kUSDJPY});
  ASSERT_EQ(frames.size(), 4u);
  for (const auto& f : frames) ASSERT_GT(f.size(), 2000u);
  const EngineRun run = run_engine(frames);
  ASSERT_EQ(run.by_pair.size(), 4u);
  check_engine_run(run, true);
  // derived_cur_mom_diff picks the row's own pair: EURGBP = eur - gbp, USDJPY = usd - jpy.
  const auto& ej = run.by_pair.at(pair_index(kEURGBP));
  const auto& ej_out = run.out.at(pair_index(kEURGBP));
  size_t checked = 0;
  for (size_t t = 0; t < ej_out.size(); ++t) {
    const double want = ej.at("cur_eur_mom_60", t) - ej.at("cur_gbp_mom_60", t);
    if (is_null(want)) continue;
    EXPECT_EQ(ej_out[t][col_of("derived_cur_mom_diff_60")], want);
    ++checked;
  }
  EXPECT_GT(checked, 1000u);
}

TEST(Derived, EngineSubsetAndFullUniverses) {
  // 3 pairs, 4 currencies, no triangle; then all 28 pairs (one day each).
  const Pair kAUDUSD{Currency::AUD, Currency::USD}, kUSDCAD{Currency::USD, Currency::CAD};
  for (const std::vector<Pair>& pairs : {std::vector<Pair>{kEURUSD, kAUDUSD, kUSDCAD}, std::vector<Pair>{}}) {
    const auto frames = testing_frames::generated_market(1, pairs);
    const EngineRun run = run_engine(frames);
    ASSERT_EQ(run.by_pair.size(), frames.size());
    check_engine_run(run, false);
    for (const auto& [slot, out] : run.out) {
      size_t mom = 0;
      for (const auto& o : out) mom += is_null(o[col_of("derived_cur_mom_diff_60")]) ? 0 : 1;
      EXPECT_GT(mom, 500u) << pair_name(all_pairs()[slot]);
    }
  }
}

TEST(Derived, EngineSinglePairUniverse) {
  const auto frames = testing_frames::generated_market(2, {kUSDJPY});
  ASSERT_EQ(frames.size(), 1u);
  const EngineRun run = run_engine(frames);
  ASSERT_EQ(run.by_pair.size(), 1u);
  check_engine_run(run, true);
}

}  // namespace
}  // namespace bqx
