// Golden tests of the ta_bqx family (FEATURES.md 1.5) against the TA-Lib 0.6 C library:
// TA-Lib is run once over the q series the engine produces (q = bqx_w15_return from its
// first non-NULL row, high = low = close = q) and every one of the 22 columns is compared
// row by row to 1e-9 relative (1e-12 absolute near zero). Our first non-NULL row must be
// TA-Lib's outBegIdx + 15, and our NULLs must sit where TA-Lib's denominator is 0.
#include <gtest/gtest.h>
#include <ta_libc.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "engine/pair_engine.h"
#include "features/registry.h"
#include "test_frames.h"

namespace bqx {
namespace {

using Series = std::vector<double>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr size_t kQStart = 15;  // first non-NULL row of bqx_w15_return

bool close_enough(double ours, double ref) {
  const double d = std::fabs(ours - ref);
  return d <= 1e-12 || d <= 1e-9 * std::max(std::fabs(ours), std::fabs(ref));
}

struct Ref {
  Series value;  // indexed like q (row - 15)
  int beg = 0;   // TA-Lib outBegIdx on q
  std::function<bool(size_t)> undefined = [](size_t) { return false; };
};

Series place(int beg, int nb, const Series& buf, size_t n) {
  Series out(n, kNaN);
  for (int k = 0; k < nb; ++k) out[static_cast<size_t>(beg + k)] = buf[static_cast<size_t>(k)];
  return out;
}

bool flat(const Series& x, size_t r, int n) {
  if (r + 1 < static_cast<size_t>(n)) return false;
  for (size_t i = r + 1 - static_cast<size_t>(n); i < r; ++i) {
    if (x[i] != x[r]) return false;
  }
  return true;
}

std::map<std::string, Ref> build_refs(const Series& q) {
  std::map<std::string, Ref> refs;
  const size_t n = q.size();
  const int end = static_cast<int>(n) - 1;
  const double* x = q.data();
  Series b1(n), b2(n), b3(n);
  int beg = 0, nb = 0;
  std::vector<bool> no_change(n, true);
  for (size_t r = 1; r < n; ++r) no_change[r] = no_change[r - 1] && q[r] == q[r - 1];
  auto rsi_undef = [no_change](size_t r) { return static_cast<bool>(no_change[r]); };
  for (int p : {14, 21}) {
    TA_RSI(0, end, x, p, &beg, &nb, b1.data());
    refs["rsi_" + std::to_string(p)] = {place(beg, nb, b1, n), beg, rsi_undef};
  }
  TA_CMO(0, end, x, 14, &beg, &nb, b1.data());
  refs["cmo_14"] = {place(beg, nb, b1, n), beg, rsi_undef};
  TA_MACD(0, end, x, 12, 26, 9, &beg, &nb, b1.data(), b2.data(), b3.data());
  refs["macd_12_26_9"] = {place(beg, nb, b1, n), beg};
  refs["macd_12_26_9_signal"] = {place(beg, nb, b2, n), beg};
  refs["macd_12_26_9_hist"] = {place(beg, nb, b3, n), beg};
  Series tp(n);
  for (size_t i = 0; i < n; ++i) tp[i] = (q[i] + q[i] + q[i]) / 3;
  TA_CCI(0, end, x, x, x, 20, &beg, &nb, b1.data());
  refs["cci_20"] = {place(beg, nb, b1, n), beg, [tp](size_t r) { return flat(tp, r, 20); }};
  auto flat14 = [q](size_t r) { return flat(q, r, 14); };
  auto flat14_any3 = [flat14](size_t r) { return flat14(r) || (r >= 1 && flat14(r - 1)) || (r >= 2 && flat14(r - 2)); };
  TA_WILLR(0, end, x, x, x, 14, &beg, &nb, b1.data());
  refs["willr_14"] = {place(beg, nb, b1, n), beg, flat14};
  for (int p : {5, 12, 30}) {
    TA_MOM(0, end, x, p, &beg, &nb, b1.data());
    refs["mom_" + std::to_string(p)] = {place(beg, nb, b1, n), beg};
  }
  TA_STOCHF(0, end, x, x, x, 14, 3, TA_MAType_SMA, &beg, &nb, b1.data(), b2.data());
  refs["stochf_14_3_fastk"] = {place(beg, nb, b1, n), beg, flat14};
  refs["stochf_14_3_fastd"] = {place(beg, nb, b2, n), beg, flat14_any3};
  TA_BBANDS(0, end, x, 20, 2.0, 2.0, TA_MAType_SMA, &beg, &nb, b1.data(), b2.data(), b3.data());
  const Series up = place(beg, nb, b1, n), mid = place(beg, nb, b2, n), lo = place(beg, nb, b3, n);
  refs["bbands_20_2_upper"] = {up, beg};
  refs["bbands_20_2_middle"] = {mid, beg};
  refs["bbands_20_2_lower"] = {lo, beg};
  Series pctb(n, kNaN), width(n, kNaN);
  for (size_t r = static_cast<size_t>(beg); r < n; ++r) {
    if (up[r] != lo[r]) pctb[r] = (q[r] - lo[r]) / (up[r] - lo[r]);
    if (mid[r] != 0) width[r] = (up[r] - lo[r]) / std::fabs(mid[r]);
  }
  refs["bbands_20_2_pctb"] = {pctb, beg, [q](size_t r) { return flat(q, r, 20); }};
  refs["bbands_20_2_width"] = {width, beg, [q](size_t r) {
                                 long double s = 0;
                                 for (size_t i = r - 19; i <= r; ++i) s += q[i];
                                 return s == 0;
                               }};
  for (int p : {10, 50, 200}) {
    TA_EMA(0, end, x, p, &beg, &nb, b1.data());
    Series e = place(beg, nb, b1, n);
    for (size_t i = 0; i < n; ++i) e[i] = q[i] - e[i];
    refs["ema_gap_" + std::to_string(p)] = {e, beg};
  }
  TA_APO(0, end, x, 12, 26, TA_MAType_SMA, &beg, &nb, b1.data());
  refs["apo_12_26"] = {place(beg, nb, b1, n), beg};
  return refs;
}

struct EngineRun {
  std::vector<features::ColumnInfo> cols;  // ta_bqx columns
  std::vector<double> ta;                  // rows x 22
  Series q;                                // q from row 15 on
};

EngineRun run_engine(const BarFrame& f) {
  EngineRun out;
  std::vector<features::ColumnInfo> cols;
  auto res = compute_pair_features(f, f.close[0], {"bqx", "ta_bqx"}, &cols);
  EXPECT_TRUE(res.ok());
  const size_t w = cols.size();
  size_t qk = w, first = w;
  for (size_t k = 0; k < w; ++k) {
    if (cols[k].name == "bqx_w15_return") qk = k;
    if (first == w && cols[k].family == "ta_bqx") first = k;
  }
  EXPECT_LT(qk, w);
  EXPECT_LT(first, w);
  out.cols.assign(cols.begin() + static_cast<long>(first), cols.end());
  const size_t tw = out.cols.size();
  for (size_t r = 0; r < f.size(); ++r) {
    for (size_t k = 0; k < tw; ++k) out.ta.push_back((*res)[r * w + first + k]);
    if (r >= kQStart) out.q.push_back((*res)[r * w + qk]);
  }
  return out;
}

void run_golden(const BarFrame& f, bool exact_start, bool print) {
  const EngineRun run = run_engine(f);
  const size_t w = run.cols.size();
  ASSERT_EQ(w, 22u);
  for (double v : run.q) ASSERT_FALSE(std::isnan(v));
  TA_Initialize();
  const auto refs = build_refs(run.q);
  ASSERT_EQ(refs.size(), 22u);
  for (size_t k = 0; k < w; ++k) {
    const auto& col = run.cols[k];
    auto it = refs.find(col.name.substr(std::string("ta_bqx_").size()));
    ASSERT_NE(it, refs.end()) << col.name;
    const Ref& ref = it->second;
    EXPECT_EQ(col.lookback, ref.beg + static_cast<int>(kQStart)) << col.name;
    size_t first = f.size(), compared = 0, nulls = 0;
    double max_abs = 0;
    for (size_t r = 0; r < f.size(); ++r) {
      const double v = run.ta[r * w + k];
      if (first == f.size() && !std::isnan(v)) first = r;
      if (r < static_cast<size_t>(col.lookback)) {
        EXPECT_TRUE(std::isnan(v)) << col.name << " row " << r;
        continue;
      }
      const size_t i = r - kQStart;  // index into q / TA-Lib output
      if (std::isnan(v)) {
        ++nulls;
        EXPECT_TRUE(ref.undefined(i)) << col.name << ": NULL at row " << r << ", TA-Lib " << ref.value[i];
        continue;
      }
      ++compared;
      max_abs = std::max(max_abs, std::fabs(v - ref.value[i]));
      if (!close_enough(v, ref.value[i])) {
        ADD_FAILURE() << col.name << " row " << r << ": ours " << v << " TA-Lib " << ref.value[i];
        break;
      }
    }
    if (exact_start) {
      EXPECT_EQ(first, static_cast<size_t>(col.lookback)) << col.name;
    }
    EXPECT_GT(compared, f.size() / 2) << col.name;
    if (print) std::printf("  %-28s compared %6zu  NULL %4zu  max |diff| %.3g\n", col.name.c_str(), compared, nulls, max_abs);
  }
}

TEST(TaBqxGolden, MatchesTaLibOnTheEnginesQSeries) {
  run_golden(testing_frames::random_walk_frame(8000, 3), true, true);
}

TEST(TaBqxGolden, MatchesTaLibOnAnotherLevel) {
  run_golden(testing_frames::random_walk_frame(4000, 12, 151.7, Pair{Currency::USD, Currency::JPY}), true, false);
}

TEST(TaBqxGolden, FlatStretchGivesNullOnlyWhereTaLibDividesByZero) {
  BarFrame f = testing_frames::random_walk_frame(3000, 5);
  for (size_t i = 1000; i < 1100; ++i) f.open[i] = f.high[i] = f.low[i] = f.close[i] = f.close[999];
  run_golden(f, true, false);
  // q is 0 over the flat stretch once its 15-bar window is flat, so the windowed
  // oscillators of q go NULL there (a test that cannot fail is a defect).
  const EngineRun run = run_engine(f);
  auto at = [&](const std::string& name, size_t r) {
    for (size_t k = 0; k < run.cols.size(); ++k) {
      if (run.cols[k].name == name) return run.ta[r * run.cols.size() + k];
    }
    ADD_FAILURE() << name;
    return 0.0;
  };
  size_t zero_q = 0;
  for (size_t r = 1015; r < 1100; ++r) zero_q += run.q[r - kQStart] == 0.0 ? 1 : 0;
  if (zero_q == 85) {
    EXPECT_TRUE(std::isnan(at("ta_bqx_willr_14", 1090)));
    EXPECT_TRUE(std::isnan(at("ta_bqx_stochf_14_3_fastk", 1090)));
    EXPECT_TRUE(std::isnan(at("ta_bqx_cci_20", 1090)));
    EXPECT_TRUE(std::isnan(at("ta_bqx_bbands_20_2_pctb", 1090)));
    EXPECT_TRUE(std::isnan(at("ta_bqx_bbands_20_2_width", 1090)));  // middle = 0
  } else {
    std::printf("  note: bqx_w15_return is not exactly 0 on a flat 15-bar window (%zu of 85 rows)\n", zero_q);
  }
  EXPECT_FALSE(std::isnan(at("ta_bqx_rsi_14", 1090)));  // Wilder sums decay, never 0
}

TEST(TaBqx, NullQLeavesEveryColumnNullAndStateUntouched) {
  // Rows 0..14 have q NULL: all 22 columns are NULL there, and the first kernel input is row 15
  // (so e.g. MOM 5 first appears at row 20 and equals q_20 - q_15).
  const BarFrame f = testing_frames::random_walk_frame(300, 2);
  const EngineRun run = run_engine(f);
  const size_t w = run.cols.size();
  for (size_t r = 0; r < kQStart; ++r) {
    for (size_t k = 0; k < w; ++k) EXPECT_TRUE(std::isnan(run.ta[r * w + k])) << run.cols[k].name << " " << r;
  }
  size_t mom5 = 0;
  while (run.cols[mom5].name != "ta_bqx_mom_5") ++mom5;
  EXPECT_TRUE(std::isnan(run.ta[19 * w + mom5]));
  EXPECT_EQ(run.ta[20 * w + mom5], run.q[5] - run.q[0]);
}

TEST(TaBqx, BoundedOscillatorsStayInBounds) {
  const EngineRun run = run_engine(testing_frames::random_walk_frame(6000, 17));
  const size_t w = run.cols.size();
  size_t checked = 0;
  for (size_t k = 0; k < w; ++k) {
    const std::string& u = run.cols[k].unit;
    double lo, hi;
    if (u == "0..100") {
      lo = 0, hi = 100;
    } else if (u == "-100..0") {
      lo = -100, hi = 0;
    } else if (u == "-100..100") {
      lo = -100, hi = 100;
    } else {
      continue;
    }
    for (size_t r = 0; r < run.ta.size() / w; ++r) {
      const double v = run.ta[r * w + k];
      if (std::isnan(v)) continue;
      EXPECT_GE(v, lo - 1e-9) << run.cols[k].name;
      EXPECT_LE(v, hi + 1e-9) << run.cols[k].name;
      ++checked;
    }
  }
  EXPECT_GT(checked, 6u * 5000u);  // RSI x2, WILLR, STOCHF x2, CMO
}

TEST(TaBqx, CatalogueHas22ColumnsInSpecOrder) {
  const auto* fam = features::find_family("ta_bqx");
  ASSERT_NE(fam, nullptr);
  const std::vector<std::string> want = {
      "rsi_14", "rsi_21", "macd_12_26_9", "macd_12_26_9_signal", "macd_12_26_9_hist", "cci_20", "willr_14",
      "mom_5", "mom_12", "mom_30", "stochf_14_3_fastk", "stochf_14_3_fastd", "bbands_20_2_upper",
      "bbands_20_2_middle", "bbands_20_2_lower", "bbands_20_2_pctb", "bbands_20_2_width", "ema_gap_10",
      "ema_gap_50", "ema_gap_200", "cmo_14", "apo_12_26"};
  ASSERT_EQ(fam->columns.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(fam->columns[i].name, "ta_bqx_" + want[i]);
  ASSERT_EQ(fam->inputs.size(), 1u);
  EXPECT_EQ(fam->inputs[0], "bqx_w15_return");
}

}  // namespace
}  // namespace bqx
