// lag family (FEATURES.md 3.1): lag{L}_{feature} = feature at this pair's row t-L.
//
// - catalogue: 48 columns in order (L = 61, 120, 240, each with the 16 features), lookback
//   = input lookback + L, exact only for per-pair inputs, inputs registered and earlier;
// - the kernel driven directly on a hand-made layout (shuffled inputs, one input missing,
//   random values with NULLs) against the plain definition, bit for bit;
// - hand-computed golden values; save/load continues bit-identically;
// - MarketEngine on generated data (4 pairs with a triangle; a 1-pair universe): every lag
//   column equals the engine's own input column L rows earlier, bit for bit; first non-NULL
//   row == lookback for exact columns.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
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

constexpr std::array<int, 3> kLags = {61, 120, 240};
const std::vector<std::string> kFeatures = {
    "bqx_w15_return",          "bqx_w30_return",        "bqx_w60_return",          "bqx_w75_return",
    "reg_rate_w60_prediction", "reg_rate_w60_residual", "reg_rate_w240_r2",        "reg_bqx_w60_prediction",
    "reg_bqx_w60_residual",    "ta_rate_rsi_14",        "ta_rate_macd_12_26_9_hist", "ta_rate_adx_14",
    "stats_rate_ret_std_60",   "cur_index_diff",        "arb_max_abs_eps_bp",      "activity_vol_z_60"};
constexpr size_t kF = 16;
constexpr size_t kCols = 48;

const Pair kEURUSD{Currency::EUR, Currency::USD};
const Pair kGBPUSD{Currency::GBP, Currency::USD};
const Pair kEURGBP{Currency::EUR, Currency::GBP};
const Pair kUSDJPY{Currency::USD, Currency::JPY};

const features::FamilyDef& lag_def() {
  for (const auto& f : features::second_order_families()) {
    if (f.name == "lag") return f;
  }
  ADD_FAILURE() << "lag family not registered";
  static const features::FamilyDef none;
  return none;
}

bool bit_equal(double a, double b) {
  if (is_null(a) || is_null(b)) return is_null(a) && is_null(b);
  return std::memcmp(&a, &b, sizeof(double)) == 0;
}

// Direct kernel on a hand-made layout: fillers, the given inputs, then the 48 outputs.
struct Direct {
  features::ColumnLayout layout;
  int offset = 0;
  std::vector<int> input_at;  // per feature: index in the layout, -1 if absent
  std::unique_ptr<features::FamilyKernel> kernel;
  std::vector<double> row;

  explicit Direct(const std::vector<std::string>& inputs) {
    layout.add("filler_a");
    for (size_t i = 0; i < inputs.size(); ++i) {
      layout.add(inputs[i]);
      if (i % 4 == 1) layout.add("filler_" + std::to_string(i));
    }
    layout.add("filler_end");
    offset = static_cast<int>(layout.size());
    for (const auto& c : lag_def().columns) layout.add(c.name);
    layout.add("after");
    for (const auto& f : kFeatures) input_at.push_back(layout.index_of(f));
    kernel = lag_def().make(features::KernelContext{offset, &layout, kEURUSD});
    row.assign(layout.size(), kNull);
  }
  // values[f]: the 16 features at this row (written only where the layout has them).
  std::array<double, kCols> step(const std::array<double, kF>& values) {
    std::fill(row.begin(), row.end(), -555.0);
    for (size_t f = 0; f < kF; ++f) {
      if (input_at[f] >= 0) row[input_at[f]] = values[f];
    }
    kernel->update(features::BarInput{}, row.data());
    EXPECT_EQ(row.back(), -555.0);  // nothing written after the slice
    EXPECT_EQ(row[offset - 1], -555.0);
    std::array<double, kCols> out;
    for (size_t c = 0; c < kCols; ++c) out[c] = row[offset + c];
    return out;
  }
};

std::vector<std::array<double, kF>> random_inputs(size_t n, uint64_t seed) {
  uint64_t s = seed;
  std::vector<std::array<double, kF>> rows(n);
  for (size_t t = 0; t < n; ++t) {
    for (size_t f = 0; f < kF; ++f) {
      const double u = testing_frames::uniform01(s);
      rows[t][f] = u < 0.1 ? kNull : (u < 0.12 ? 0.0 : testing_frames::normal(s) * std::pow(10.0, static_cast<double>(f % 5) - 3));
    }
  }
  return rows;
}

TEST(Lag, CatalogueHas48ColumnsInOrder) {
  const auto& def = lag_def();
  ASSERT_EQ(def.columns.size(), kCols);
  const auto all = features::all_feature_columns();
  std::map<std::string, ColumnInfo> by_name;
  std::map<std::string, size_t> pos;
  for (size_t i = 0; i < all.size(); ++i) {
    by_name[all[i].name] = all[i];
    pos[all[i].name] = i;
  }
  const size_t first = pos.at(def.columns.front().name);
  for (size_t l = 0; l < kLags.size(); ++l) {
    for (size_t f = 0; f < kF; ++f) {
      const ColumnInfo& c = def.columns[l * kF + f];
      EXPECT_EQ(c.name, "lag" + std::to_string(kLags[l]) + "_" + kFeatures[f]);
      EXPECT_EQ(c.family, "lag");
      EXPECT_EQ(c.source, "FEATURES.md 3.1");
      EXPECT_FALSE(c.params.empty() || c.formula.empty() || c.unit.empty() || c.null_when.empty()) << c.name;
      EXPECT_EQ(pos.at(c.name), first + l * kF + f) << "not contiguous: " << c.name;
      ASSERT_TRUE(by_name.count(kFeatures[f])) << kFeatures[f] << " is not registered";
      const ColumnInfo& in = by_name.at(kFeatures[f]);
      EXPECT_EQ(c.lookback, in.lookback + kLags[l]) << c.name;
      EXPECT_EQ(c.unit, in.unit) << c.name;
      const bool cross = in.family == "cur" || in.family == "arb";
      EXPECT_EQ(c.exact_lookback, in.exact_lookback && !cross) << c.name;
    }
  }
  // Golden lookbacks: bqx_w15_return 15 + 61 = 76; reg_rate_w240_r2 239 + 240 = 479;
  // reg_bqx_w60_prediction (59 + 15) + 120 = 194; ta_rate_macd_12_26_9_hist 33 + 61 = 94.
  EXPECT_EQ(by_name.at("lag61_bqx_w15_return").lookback, 76);
  EXPECT_EQ(by_name.at("lag240_reg_rate_w240_r2").lookback, 479);
  EXPECT_EQ(by_name.at("lag120_reg_bqx_w60_prediction").lookback, 194);
  EXPECT_EQ(by_name.at("lag61_ta_rate_macd_12_26_9_hist").lookback, 94);
  // Inputs: exactly the 16 features (all registered), each computed before the family.
  std::set<std::string> inputs(def.inputs.begin(), def.inputs.end());
  EXPECT_EQ(inputs, std::set<std::string>(kFeatures.begin(), kFeatures.end()));
  for (const auto& in : def.inputs) EXPECT_LT(pos.at(in), first) << in;
}

TEST(Lag, DirectKernelIsTheValueLRowsEarlier) {
  // Inputs in reverse order, arb_max_abs_eps_bp absent from the layout (-> always NULL).
  std::vector<std::string> inputs(kFeatures.rbegin(), kFeatures.rend());
  inputs.erase(std::find(inputs.begin(), inputs.end(), "arb_max_abs_eps_bp"));
  Direct d(inputs);
  const size_t n = 700;
  const auto rows = random_inputs(n, 5);
  size_t mismatches = 0, non_null = 0;
  for (size_t t = 0; t < n; ++t) {
    const auto out = d.step(rows[t]);
    for (size_t l = 0; l < kLags.size(); ++l) {
      const size_t lag = static_cast<size_t>(kLags[l]);
      for (size_t f = 0; f < kF; ++f) {
        const bool absent = kFeatures[f] == "arb_max_abs_eps_bp";
        const double want = (t < lag || absent) ? kNull : rows[t - lag][f];
        const double got = out[l * kF + f];
        non_null += is_null(got) ? 0 : 1;
        if (!bit_equal(got, want) && ++mismatches <= 10) {
          ADD_FAILURE() << "row " << t << " lag" << lag << "_" << kFeatures[f] << ": " << got << " vs " << want;
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(non_null, 20000u);
}

TEST(Lag, GoldenValues) {
  // bqx_w15_return = t at row t (t = 0..300); ta_rate_rsi_14 = NULL at row 10, else 50 + t.
  Direct d(kFeatures);
  std::map<size_t, std::array<double, kCols>> at;
  for (size_t t = 0; t <= 300; ++t) {
    std::array<double, kF> v;
    v.fill(1.5);
    v[0] = static_cast<double>(t);
    v[9] = t == 10 ? kNull : 50.0 + static_cast<double>(t);
    at[t] = d.step(v);
  }
  // Column index: l * 16 + f; lag61 = l 0, lag120 = l 1, lag240 = l 2; bqx_w15 f 0, rsi f 9.
  EXPECT_TRUE(is_null(at[60][0]));        // row 60: no row -1
  EXPECT_EQ(at[61][0], 0.0);              // row 61: row 0's value 0 (a real 0, not NULL)
  EXPECT_EQ(at[100][0], 39.0);            // 100 - 61
  EXPECT_TRUE(is_null(at[119][16]));      // lag120 needs 120 earlier rows
  EXPECT_EQ(at[130][16], 10.0);           // 130 - 120
  EXPECT_TRUE(is_null(at[239][32]));
  EXPECT_EQ(at[240][32], 0.0);
  EXPECT_EQ(at[300][32], 60.0);           // 300 - 240
  EXPECT_TRUE(is_null(at[71][9]));        // rsi NULL at row 71 - 61 = 10 stays NULL
  EXPECT_EQ(at[72][9], 61.0);             // 50 + 11
  EXPECT_TRUE(is_null(at[130][16 + 9]));  // row 130 - 120 = 10
  EXPECT_TRUE(is_null(at[250][32 + 9]));  // row 250 - 240 = 10
  EXPECT_EQ(at[251][32 + 9], 61.0);
}

TEST(Lag, SaveLoadContinuesBitIdentically) {
  const size_t n = 900;
  const auto rows = random_inputs(n, 9);
  Direct whole(kFeatures);
  std::vector<std::array<double, kCols>> expect;
  for (size_t t = 0; t < n; ++t) expect.push_back(whole.step(rows[t]));
  for (size_t cut : {1u, 60u, 61u, 239u, 240u, 500u}) {
    Direct first(kFeatures);
    for (size_t t = 0; t < cut; ++t) first.step(rows[t]);
    std::vector<uint8_t> bytes;
    features::StateWriter w(bytes);
    first.kernel->save(w);
    Direct second(kFeatures);
    features::StateReader r(bytes.data(), bytes.size());
    second.kernel->load(r);
    ASSERT_TRUE(r.ok() && r.at_end());
    for (size_t t = cut; t < n; ++t) {
      const auto got = second.step(rows[t]);
      ASSERT_EQ(std::memcmp(got.data(), expect[t].data(), sizeof(got)), 0) << "cut " << cut << " row " << t;
    }
    bytes.pop_back();
    Direct third(kFeatures);
    features::StateReader bad(bytes.data(), bytes.size());
    third.kernel->load(bad);
    EXPECT_FALSE(bad.ok());
  }
}

TEST(Lag, NoLayoutMeansAllNull) {
  auto k = lag_def().make(features::KernelContext{0, nullptr, kEURUSD});
  std::vector<double> row(kCols, 1.0);
  for (int t = 0; t < 300; ++t) {
    k->update(features::BarInput{}, row.data());
    for (double v : row) ASSERT_TRUE(is_null(v));
  }
}

// MarketEngine run: per pair, the 16 inputs and the 48 outputs of every row.
struct PairRows {
  std::vector<std::array<double, kF>> in;
  std::vector<std::array<double, kCols>> out;
};

std::map<int, PairRows> run_engine(const std::vector<BarFrame>& frames) {
  std::vector<PairSetup> universe;
  for (const auto& f : frames) universe.push_back(PairSetup{f.pair, f.close[0]});
  auto e = MarketEngine::create(universe);
  EXPECT_TRUE(e.ok());
  if (!e.ok()) return {};
  std::vector<int> in_idx;
  for (const auto& f : kFeatures) {
    int idx = -1;
    for (size_t i = 0; i < e->columns().size(); ++i) {
      if (e->columns()[i].name == f) idx = static_cast<int>(i);
    }
    EXPECT_GE(idx, 0) << f;
    in_idx.push_back(idx);
  }
  int first = -1;
  for (size_t i = 0; i < e->columns().size(); ++i) {
    if (e->columns()[i].name == lag_def().columns.front().name) first = static_cast<int>(i);
  }
  EXPECT_GE(first, 0);
  std::map<int, PairRows> out;
  auto st = run_market(*e, frames, [&](Pair p, EpochMinute, const double* row) {
    PairRows& r = out[pair_index(p)];
    std::array<double, kF> in;
    for (size_t f = 0; f < kF; ++f) in[f] = in_idx[f] >= 0 ? row[in_idx[f]] : kNull;
    r.in.push_back(in);
    std::array<double, kCols> o;
    for (size_t c = 0; c < kCols; ++c) o[c] = row[first + c];
    r.out.push_back(o);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
  return out;
}

void check(const std::map<int, PairRows>& run) {
  const auto& cols = lag_def().columns;
  for (const auto& [slot, r] : run) {
    const std::string pair = pair_name(all_pairs()[slot]);
    size_t mismatches = 0;
    std::array<size_t, kCols> first_non_null;
    first_non_null.fill(r.out.size());
    for (size_t t = 0; t < r.out.size(); ++t) {
      for (size_t l = 0; l < kLags.size(); ++l) {
        const size_t lag = static_cast<size_t>(kLags[l]);
        for (size_t f = 0; f < kF; ++f) {
          const size_t c = l * kF + f;
          const double want = t < lag ? kNull : r.in[t - lag][f];
          if (!bit_equal(r.out[t][c], want) && ++mismatches <= 10) {
            ADD_FAILURE() << pair << " row " << t << " " << cols[c].name << ": " << r.out[t][c] << " vs " << want;
          }
          if (!is_null(r.out[t][c])) first_non_null[c] = std::min(first_non_null[c], t);
        }
      }
    }
    EXPECT_EQ(mismatches, 0u) << pair;
    for (size_t c = 0; c < kCols; ++c) {
      if (cols[c].exact_lookback) {
        EXPECT_EQ(first_non_null[c], static_cast<size_t>(cols[c].lookback)) << pair << " " << cols[c].name;
      }
    }
  }
}

TEST(Lag, EngineOnGeneratedMarketIsTheInputLRowsEarlier) {
  const auto frames = testing_frames::generated_market(2, {kEURUSD, kGBPUSD, kEURGBP, kUSDJPY});
  ASSERT_EQ(frames.size(), 4u);
  const auto run = run_engine(frames);
  ASSERT_EQ(run.size(), 4u);
  check(run);
  // The cross inputs are really there: EURUSD/GBPUSD/EURGBP form a triangle, so their lag of
  // arb_max_abs_eps_bp is computed; USDJPY has no triangle (NULL); cur_index_diff everywhere.
  for (const auto& [slot, r] : run) {
    size_t arb = 0, cur = 0;
    for (const auto& o : r.out) {
      arb += is_null(o[14]) ? 0 : 1;  // lag61_arb_max_abs_eps_bp
      cur += is_null(o[13]) ? 0 : 1;  // lag61_cur_index_diff
    }
    const bool triangle = all_pairs()[slot] != kUSDJPY;
    EXPECT_EQ(arb > 1000, triangle) << pair_name(all_pairs()[slot]) << " " << arb;
    EXPECT_GT(cur, 1000u) << pair_name(all_pairs()[slot]);
  }
}

TEST(Lag, EngineSubsetAndFullUniverses) {
  // 3 pairs, 4 currencies, no triangle (arb NULL); then all 28 pairs (one day each).
  const Pair kAUDUSD{Currency::AUD, Currency::USD}, kUSDCAD{Currency::USD, Currency::CAD};
  for (const std::vector<Pair>& pairs : {std::vector<Pair>{kEURUSD, kAUDUSD, kUSDCAD}, std::vector<Pair>{}}) {
    const auto frames = testing_frames::generated_market(1, pairs);
    const auto run = run_engine(frames);
    ASSERT_EQ(run.size(), frames.size());
    check(run);
    size_t arb = 0;
    for (const auto& [slot, r] : run) {
      for (const auto& o : r.out) arb += is_null(o[14]) ? 0 : 1;
    }
    EXPECT_EQ(arb > 0, pairs.empty());  // triangles only in the full universe
  }
}

TEST(Lag, EngineSinglePairUniverse) {
  const auto run = run_engine(testing_frames::generated_market(1, {kGBPUSD}));
  ASSERT_EQ(run.size(), 1u);
  check(run);
  for (const auto& o : run.begin()->second.out) EXPECT_TRUE(is_null(o[14]));  // no triangle: arb NULL
}

}  // namespace
}  // namespace bqx
