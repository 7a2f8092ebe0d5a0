// basket family (FEATURES.md 2.2): every one of the 224 global columns against a plain
// recompute-the-window reference on hand-built grid rows (several universes, NULLs,
// warm-up) and through the MarketEngine on generated data (the as-of predictions rebuilt
// from the engine's own per-pair rows), plus hand-computed golden values, the flat-window
// and NULL-window rules, and save/load.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
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

using features::GridRow;
using features::is_null;
using features::kNull;
constexpr int K = kCurrencyCount;
constexpr int P = kPairCount;
constexpr int kWidth = 224;
constexpr int kPerCurrency = 28;
constexpr int kWindows[] = {60, 90, 150, 240, 390, 630};
using Mask = std::array<bool, P>;
using PV = std::array<double, P>;
using CV = std::array<double, K>;

int slot(const char* name) { return pair_index(parse_pair(name).value()); }
int base_of(int p) { return static_cast<int>(all_pairs()[p].base); }
int quote_of(int p) { return static_cast<int>(all_pairs()[p].quote); }
Mask mask_of(const std::vector<std::string>& names) {
  Mask m{};
  for (const auto& n : names) m[slot(n.c_str())] = true;
  return m;
}
Mask all_mask() {
  Mask m;
  m.fill(true);
  return m;
}
bool close_enough(double got, double want, double rel = 1e-9, double abs = 1e-12) {
  if (is_null(want) || is_null(got)) return is_null(want) && is_null(got);
  return std::fabs(got - want) <= abs + rel * std::fabs(want);
}
// Column offsets inside a currency's 28 columns.
int col_index(int c) { return c * kPerCurrency; }
int col_window(int c, int wi, int k) { return c * kPerCurrency + 1 + 4 * wi + k; }  // k: mom accel momz vol
int col_vs(int c, int g) { return c * kPerCurrency + 25 + g; }

struct Input {
  Mask avail{};
  PV pred{};
};

class NaiveBasket {
 public:
  explicit NaiveBasket(const Mask& uni) : uni_(uni) {}
  std::vector<double> out;

  void step(const Input& in) {
    CV v;
    for (int c = 0; c < K; ++c) {
      double sum = 0;
      int n = 0;
      for (int p = 0; p < P; ++p) {
        if (!uni_[p] || !in.avail[p] || is_null(in.pred[p])) continue;
        if (base_of(p) == c) sum += in.pred[p], ++n;
        if (quote_of(p) == c) sum -= in.pred[p], ++n;
      }
      v[c] = n ? sum / n : kNull;
    }
    hist_.push_back(v);
    const size_t g = hist_.size() - 1;
    out.assign(kWidth, kNull);
    for (int c = 0; c < K; ++c) {
      out[col_index(c)] = v[c];
      for (int wi = 0; wi < 6; ++wi) {
        const int w = kWindows[wi];
        if (g + 1 < static_cast<size_t>(w)) continue;
        std::vector<double> x;
        for (size_t r = g + 1 - w; r <= g; ++r) x.push_back(hist_[r][c]);
        bool any_null = false;
        for (double a : x) any_null = any_null || is_null(a);
        if (any_null) continue;
        const double first = x.front(), last = x.back(), mid = hist_[g - w / 2][c];
        double mean = 0;
        for (double a : x) mean += a;
        mean /= w;
        double ss = 0;
        for (double a : x) ss += (a - mean) * (a - mean);
        bool flat = true;
        for (double a : x) flat = flat && a == x[0];
        if (flat) ss = 0;
        out[col_window(c, wi, 0)] = last - first;
        out[col_window(c, wi, 1)] = (last - mid) - (mid - first);
        out[col_window(c, wi, 2)] = ss > 0 ? (last - first) / std::sqrt(ss / (w - 1)) : kNull;
        out[col_window(c, wi, 3)] = std::sqrt(ss / w);
      }
      const std::vector<std::vector<int>> groups = {
          {int(Currency::USD), int(Currency::EUR), int(Currency::JPY), int(Currency::GBP)},
          {int(Currency::CHF), int(Currency::JPY)},
          {int(Currency::AUD), int(Currency::NZD), int(Currency::CAD)}};
      for (int gi = 0; gi < 3; ++gi) {
        if (is_null(v[c])) continue;
        std::vector<int> others;
        for (int d : groups[gi]) {
          if (d != c && !is_null(v[d])) others.push_back(d);
        }
        std::sort(others.begin(), others.end());
        if (others.empty()) continue;
        double sum = 0;
        for (int d : others) sum += v[d];
        out[col_vs(c, gi)] = v[c] - sum / static_cast<double>(others.size());
      }
    }
  }

 private:
  Mask uni_;
  std::vector<CV> hist_;
};

struct Kernel {
  std::unique_ptr<features::CrossKernel> k;
  std::vector<double> out = std::vector<double>(kWidth);
  explicit Kernel(const Mask& uni) {
    features::CrossContext ctx;
    ctx.in_universe = uni;
    k = features::make_basket_family().make(ctx);
  }
  void step(const GridRow& row) {
    k->update(row);
    k->write_global(out.data());
  }
};

GridRow grid_row(const Mask& uni, const Input& in, uint64_t row) {
  GridRow g;
  g.g = 1000000 + static_cast<EpochMinute>(row);
  g.row = row;
  g.in_universe = uni;
  for (int p = 0; p < P; ++p) {
    const bool a = uni[p] && in.avail[p];
    g.available[p] = a;
    g.has_bar[p] = a;
    g.close[p] = a ? 1.0 : kNull;
    g.log_index[p] = a ? 0.0 : kNull;
    g.log_close[p] = a ? std::log(g.close[p]) : kNull;
    g.reg_bqx_w60_prediction[p] = a ? in.pred[p] : kNull;
  }
  return g;
}

std::string column_name(int i) { return features::make_basket_family().global_columns[i].name; }

TEST(Basket, CatalogueEntries) {
  const auto def = features::make_basket_family();
  EXPECT_TRUE(def.per_pair_columns.empty());
  ASSERT_EQ(def.global_columns.size(), 224u);
  EXPECT_EQ(def.global_columns[col_index(0)].name, "basket_eur_index");
  EXPECT_EQ(def.global_columns[col_window(0, 0, 0)].name, "basket_eur_mom_60");
  EXPECT_EQ(def.global_columns[col_window(0, 0, 1)].name, "basket_eur_accel_60");
  EXPECT_EQ(def.global_columns[col_window(0, 0, 2)].name, "basket_eur_momz_60");
  EXPECT_EQ(def.global_columns[col_window(0, 0, 3)].name, "basket_eur_vol_60");
  EXPECT_EQ(def.global_columns[col_window(1, 5, 3)].name, "basket_usd_vol_630");
  EXPECT_EQ(def.global_columns[col_vs(7, 0)].name, "basket_chf_vs_major");
  EXPECT_EQ(def.global_columns[col_vs(7, 2)].name, "basket_chf_vs_commodity");
  std::set<std::string> names;
  for (const auto& c : def.global_columns) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_EQ(c.family, "basket");
    EXPECT_FALSE(c.formula.empty() || c.unit.empty() || c.source.empty() || c.null_when.empty()) << c.name;
    EXPECT_FALSE(c.exact_lookback);
  }
  // Lookbacks: the basket index needs reg_bqx_w60_prediction (its per-pair lookback, a lower
  // bound in grid rows); window W adds W - 1 rows.
  int pred_lookback = 74;
  if (const auto* f = features::find_family("reg_bqx")) {
    for (const auto& c : f->columns) {
      if (c.name == "reg_bqx_w60_prediction") pred_lookback = c.lookback;
    }
  }
  EXPECT_EQ(def.global_columns[col_index(3)].lookback, pred_lookback);
  EXPECT_EQ(def.global_columns[col_window(3, 5, 0)].lookback, pred_lookback + 629);
  int in_row = 0;
  for (const auto& c : features::all_feature_columns()) in_row += c.family == "basket" ? 1 : 0;
  EXPECT_EQ(in_row, 224);
}

TEST(Basket, GoldenQuadraticWindowOnOnePair) {
  // Universe EURUSD with prediction g^2 * 1e-6 at grid row g: v_EUR = g^2 e-6, v_USD = -v_EUR.
  // At g = 59 the 60-row window is k^2 e-6, k = 0..59:
  //  mom   = (59^2 - 0) e-6 = 3.481e-3
  //  accel = ((59^2 - 29^2) - (29^2 - 0)) e-6 = (2640 - 841) e-6 = 1.799e-3   (mid = 60/2 = 30 rows back)
  //  mean k^2 = 59*60*119/6/60 = 1170.1667, mean k^4 = (59*60*119*10619/30)/60 = 2485199.9667,
  //  population variance = 2485199.9667 - 1170.1667^2 = 1115909.94 -> vol = 1.0563663847779749e-3;
  //  sample stdev = vol * sqrt(60/59) = 1.0652810270847155e-3 -> momz = 3.481e-3 / that.
  Mask uni = mask_of({"EURUSD"});
  Kernel k(uni);
  Input in;
  in.avail[slot("EURUSD")] = true;
  const int eur = 0, usd = 1;
  for (int g = 0; g < 60; ++g) {
    in.pred[slot("EURUSD")] = g * g * 1e-6;
    k.step(grid_row(uni, in, g));
    if (g < 59) {
      ASSERT_TRUE(is_null(k.out[col_window(eur, 0, 0)])) << g;
    }
  }
  EXPECT_NEAR(k.out[col_index(eur)], 3.481e-3, 1e-18);
  EXPECT_NEAR(k.out[col_index(usd)], -3.481e-3, 1e-18);
  EXPECT_NEAR(k.out[col_window(eur, 0, 0)], 3.481e-3, 1e-17);
  EXPECT_NEAR(k.out[col_window(eur, 0, 1)], 1.799e-3, 1e-17);
  EXPECT_NEAR(k.out[col_window(eur, 0, 3)], 1.0563663847779749e-3, 1e-15);
  EXPECT_NEAR(k.out[col_window(eur, 0, 2)], 3.481e-3 / 1.0652810270847155e-3, 1e-11);
  EXPECT_NEAR(k.out[col_window(usd, 0, 0)], -3.481e-3, 1e-17);
  EXPECT_NEAR(k.out[col_window(usd, 0, 2)], -3.481e-3 / 1.0652810270847155e-3, 1e-11);
  EXPECT_TRUE(is_null(k.out[col_window(eur, 1, 0)]));  // W = 90 not yet full
  // vs_major(EUR) = v_EUR - v_USD (the only other major with a basket) = 2 * 3.481e-3.
  EXPECT_NEAR(k.out[col_vs(eur, 0)], 2 * 3.481e-3, 1e-17);
  EXPECT_TRUE(is_null(k.out[col_vs(eur, 1)]));  // no safe haven has a basket
}

TEST(Basket, GoldenIndexAndGroups) {
  // EURUSD 0.001, USDJPY 0.002, AUDUSD -0.0005, USDCHF 0.0004:
  // v_EUR = 0.001, v_USD = (-0.001 + 0.002 + 0.0005 + 0.0004)/4 = 0.000475, v_JPY = -0.002,
  // v_AUD = -0.0005, v_CHF = -0.0004, others NULL.
  // vs_major(EUR) = 0.001 - (0.000475 - 0.002)/2 = 0.0017625 (GBP has none);
  // vs_safe_haven(JPY) = -0.002 - (-0.0004) = -0.0016; vs_commodity(EUR) = 0.001 + 0.0005
  // = 0.0015; vs_commodity(AUD) NULL (NZD, CAD have none).
  Mask uni = mask_of({"EURUSD", "USDJPY", "AUDUSD", "USDCHF", "GBPUSD"});
  Kernel k(uni);
  Input in;
  for (const char* n : {"EURUSD", "USDJPY", "AUDUSD", "USDCHF", "GBPUSD"}) in.avail[slot(n)] = true;
  in.pred[slot("EURUSD")] = 0.001;
  in.pred[slot("USDJPY")] = 0.002;
  in.pred[slot("AUDUSD")] = -0.0005;
  in.pred[slot("USDCHF")] = 0.0004;
  in.pred[slot("GBPUSD")] = kNull;  // available but not warmed up: not part of any basket
  k.step(grid_row(uni, in, 0));
  const int eur = 0, usd = 1, gbp = 2, jpy = 3, aud = 4, chf = 7;
  EXPECT_NEAR(k.out[col_index(usd)], 0.000475, 1e-18);
  EXPECT_NEAR(k.out[col_index(jpy)], -0.002, 1e-18);
  EXPECT_NEAR(k.out[col_index(chf)], -0.0004, 1e-18);
  EXPECT_TRUE(is_null(k.out[col_index(gbp)]));
  EXPECT_NEAR(k.out[col_vs(eur, 0)], 0.0017625, 1e-18);
  EXPECT_NEAR(k.out[col_vs(jpy, 1)], -0.0016, 1e-18);
  EXPECT_NEAR(k.out[col_vs(eur, 2)], 0.0015, 1e-18);
  EXPECT_TRUE(is_null(k.out[col_vs(aud, 2)]));
  EXPECT_TRUE(is_null(k.out[col_vs(gbp, 0)]));
}

TEST(Basket, FlatWindowsAndNullWindows) {
  Mask uni = mask_of({"EURUSD", "GBPUSD"});
  Kernel k(uni);
  Input in;
  in.avail[slot("EURUSD")] = in.avail[slot("GBPUSD")] = true;
  const int eur = 0, usd = 1;
  uint64_t seed = 3;
  // Rows 0..699 moving, 700..1399 flat, row 1400 EURUSD unavailable, then moving.
  for (int g = 0; g < 2200; ++g) {
    in.avail[slot("EURUSD")] = g != 1400;
    if (g < 700 || g > 1400) {
      in.pred[slot("EURUSD")] = 0.002 + 1e-3 * testing_frames::normal(seed);
      in.pred[slot("GBPUSD")] = -0.001 + 1e-3 * testing_frames::normal(seed);
    }
    k.step(grid_row(uni, in, g));
    for (int wi = 0; wi < 6; ++wi) {
      const int w = kWindows[wi];
      const double vol = k.out[col_window(eur, wi, 3)], momz = k.out[col_window(eur, wi, 2)];
      const double mom = k.out[col_window(eur, wi, 0)];
      if (g - w + 1 >= 699 && g < 1400) {  // rows 699.. hold the same predictions
        // A constant window: spread exactly 0 (not rounding residue), momz NULL.
        ASSERT_EQ(vol, 0.0) << w << " " << g;
        ASSERT_EQ(mom, 0.0);
        ASSERT_EQ(k.out[col_window(eur, wi, 1)], 0.0);
        ASSERT_TRUE(is_null(momz));
      } else if (g >= 1400 && g < 1400 + w) {
        // The NULL v_EUR of row 1400 is in the window: all four NULL (v_USD has GBPUSD).
        ASSERT_TRUE(is_null(vol) && is_null(momz) && is_null(mom) && is_null(k.out[col_window(eur, wi, 1)]))
            << w << " " << g;
        ASSERT_FALSE(is_null(k.out[col_window(usd, wi, 3)]));
      } else if (g >= w - 1) {
        ASSERT_GT(vol, 0.0) << w << " " << g;
        ASSERT_FALSE(is_null(momz));
      } else {
        ASSERT_TRUE(is_null(vol));
      }
    }
  }
}

// Random predictions with warm-up NaNs, dropouts and currency blackouts on several
// universes: all 224 columns on every row equal the plain reference.
TEST(Basket, EveryColumnMatchesNaiveReference) {
  Mask m27 = all_mask();
  m27[slot("GBPNZD")] = false;
  const std::vector<std::pair<std::string, Mask>> universes = {
      {"28", all_mask()},
      {"27", m27},
      {"tree", mask_of({"EURUSD", "AUDUSD", "USDCAD"})},
      {"one", mask_of({"USDJPY"})}};
  for (const auto& [name, uni] : universes) {
    Kernel k(uni);
    NaiveBasket ref(uni);
    uint64_t seed = 9;
    PV level{};
    std::array<int, P> warm{}, out_left{};
    std::array<int, K> blackout{};
    for (int p = 0; p < P; ++p) warm[p] = 60 + static_cast<int>(60 * testing_frames::uniform01(seed));
    std::vector<size_t> non_null(kWidth, 0);
    int mismatches = 0;
    const int rows = 1500;
    for (int g = 0; g < rows; ++g) {
      for (int c = 0; c < K; ++c) {
        if (blackout[c] > 0) {
          --blackout[c];
        } else if (testing_frames::uniform01(seed) < 0.0008) {
          blackout[c] = 1 + static_cast<int>(20 * testing_frames::uniform01(seed));
        }
      }
      Input in;
      for (int p = 0; p < P; ++p) {
        if (out_left[p] > 0) {
          --out_left[p];
        } else if (testing_frames::uniform01(seed) < 0.002) {
          out_left[p] = 1 + static_cast<int>(8 * testing_frames::uniform01(seed));
        }
        level[p] = 0.97 * level[p] + 2e-4 * testing_frames::normal(seed);
        in.avail[p] = out_left[p] == 0 && blackout[base_of(p)] == 0 && blackout[quote_of(p)] == 0;
        in.pred[p] = g < warm[p] ? kNull : level[p] + 1e-3;
      }
      k.step(grid_row(uni, in, g));
      ref.step(in);
      for (int i = 0; i < kWidth; ++i) {
        if (!close_enough(k.out[i], ref.out[i]) && ++mismatches <= 10) {
          ADD_FAILURE() << name << " row " << g << " " << column_name(i) << " got " << k.out[i] << " want "
                        << ref.out[i];
        }
        non_null[i] += is_null(ref.out[i]) ? 0 : 1;
      }
    }
    EXPECT_EQ(mismatches, 0) << name;
    if (name == "28") {
      for (int i = 0; i < kWidth; ++i) {
        EXPECT_GT(non_null[i], 0u) << column_name(i);
        EXPECT_LT(non_null[i], static_cast<size_t>(rows)) << column_name(i);
      }
    }
  }
}

TEST(Basket, SaveLoadContinuesBitIdentically) {
  Mask uni = all_mask();
  uni[slot("AUDNZD")] = false;
  std::vector<GridRow> rows;
  uint64_t seed = 19;
  PV level{};
  for (int g = 0; g < 1500; ++g) {
    Input in;
    for (int p = 0; p < P; ++p) {
      level[p] = 0.95 * level[p] + 3e-4 * testing_frames::normal(seed);
      in.avail[p] = testing_frames::uniform01(seed) > 0.003;
      in.pred[p] = g < 70 ? kNull : level[p];
    }
    rows.push_back(grid_row(uni, in, g));
  }
  Kernel full(uni);
  std::vector<std::vector<double>> expected;
  for (const auto& r : rows) {
    full.step(r);
    expected.push_back(full.out);
  }
  for (size_t cut : {1u, 100u, 629u, 631u, 1000u, 1499u}) {
    Kernel a(uni);
    for (size_t i = 0; i < cut; ++i) a.step(rows[i]);
    std::vector<uint8_t> bytes;
    features::StateWriter w(bytes);
    a.k->save(w);
    Kernel b(uni);
    features::StateReader rd(bytes.data(), bytes.size());
    b.k->load(rd);
    ASSERT_TRUE(rd.ok() && rd.at_end());
    b.k->write_global(b.out.data());
    ASSERT_EQ(std::memcmp(b.out.data(), expected[cut - 1].data(), kWidth * sizeof(double)), 0);
    for (size_t i = cut; i < rows.size(); ++i) {
      b.step(rows[i]);
      ASSERT_EQ(std::memcmp(b.out.data(), expected[i].data(), kWidth * sizeof(double)), 0) << cut << " " << i;
    }
    Kernel c(uni);
    features::StateReader half(bytes.data(), bytes.size() / 2);
    c.k->load(half);
    EXPECT_FALSE(half.ok());
  }
}

// Through the engine on generated 28-pair data (2 days, ~2,900 grid rows). The reference
// rebuilds the as-of grid: at g a pair's prediction is the reg_bqx_w60_prediction of its
// own row at its last bar ts <= g, if g - ts <= 5.
void check_engine(const std::vector<BarFrame>& frames, bool require_coverage) {
  std::vector<PairSetup> setup;
  Mask uni{};
  for (const auto& f : frames) {
    setup.push_back(PairSetup{f.pair, f.close[0]});
    uni[pair_index(f.pair)] = true;
  }
  auto e = MarketEngine::create(setup);
  ASSERT_TRUE(e.ok());
  features::ColumnLayout layout;
  for (const auto& c : e->columns()) layout.add(c.name);
  const auto def = features::make_basket_family();
  std::vector<int> cols;
  for (const auto& c : def.global_columns) cols.push_back(layout.index_of(c.name));
  const int pred_col = layout.index_of("reg_bqx_w60_prediction");
  ASSERT_GE(pred_col, 0);
  for (int c : cols) ASSERT_GE(c, 0);

  struct Pending {
    int p;
    std::vector<double> values;
  };
  std::vector<Pending> minute;
  EpochMinute current = INT64_MIN;
  std::array<EpochMinute, P> last_ts{};
  std::array<double, P> last_pred{};
  std::array<bool, P> seen{};
  NaiveBasket ref(uni);
  int mismatches = 0;
  size_t rows = 0;
  std::vector<size_t> non_null(kWidth, 0);
  std::vector<uint64_t> hash(kWidth, 1469598103934665603ull);
  std::vector<double> lo(kWidth, INFINITY), hi(kWidth, -INFINITY);
  auto flush = [&] {
    if (minute.empty()) return;
    for (const auto& m : minute) {
      seen[m.p] = true;
      last_ts[m.p] = current;
      last_pred[m.p] = m.values[kWidth];
    }
    Input in;
    for (int p = 0; p < P; ++p) {
      in.avail[p] = uni[p] && seen[p] && current - last_ts[p] <= features::kDefaultMaxStalenessMinutes;
      in.pred[p] = in.avail[p] ? last_pred[p] : kNull;
    }
    ref.step(in);
    for (const auto& m : minute) {
      for (int i = 0; i < kWidth; ++i) {
        if (!close_enough(m.values[i], ref.out[i]) && ++mismatches <= 10) {
          ADD_FAILURE() << format_iso(current) << " " << pair_name(all_pairs()[m.p]) << " " << column_name(i)
                        << " got " << m.values[i] << " want " << ref.out[i];
        }
        non_null[i] += is_null(ref.out[i]) ? 0 : 1;
        const double v = m.values[i];
        uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        hash[i] = (hash[i] ^ bits) * 1099511628211ull;
        if (!is_null(v)) lo[i] = std::min(lo[i], v), hi[i] = std::max(hi[i], v);
      }
    }
    minute.clear();
  };
  ASSERT_TRUE(run_market(*e, frames, [&](Pair pair, EpochMinute ts, const double* row) {
                if (ts != current) {
                  flush();
                  current = ts;
                }
                Pending m{pair_index(pair), {}};
                for (int c : cols) m.values.push_back(row[c]);
                m.values.push_back(row[pred_col]);
                minute.push_back(std::move(m));
                ++rows;
                return Status::Ok();
              }).ok());
  flush();
  EXPECT_EQ(mismatches, 0);
  size_t bars = 0;
  for (const auto& f : frames) bars += f.size();
  EXPECT_EQ(rows, bars);
  if (require_coverage) {
    for (int i = 0; i < kWidth; ++i) EXPECT_GT(non_null[i], rows / 2) << column_name(i);
    // No constant or duplicated column (FEATURES.md section 5).
    for (int i = 0; i < kWidth; ++i) {
      EXPECT_LT(lo[i], hi[i]) << "constant " << column_name(i);
      for (int j = 0; j < i; ++j)
        EXPECT_NE(hash[i], hash[j]) << "duplicate " << column_name(i) << " " << column_name(j);
    }
  }
}

TEST(BasketEngine, GeneratedAllPairsMatchReference) {
  check_engine(testing_frames::generated_market(2), true);
}

TEST(BasketEngine, GeneratedSubsetsMatchReference) {
  const auto frames = testing_frames::generated_market(1);
  for (const std::vector<std::string>& names : {std::vector<std::string>{"EURUSD"},
                                                {"EURUSD", "AUDUSD", "USDCAD"},
                                                {"EURUSD", "GBPUSD", "EURGBP", "USDJPY"}}) {
    std::vector<BarFrame> subset;
    for (const auto& f : frames) {
      if (std::find(names.begin(), names.end(), pair_name(f.pair)) != names.end()) subset.push_back(f);
    }
    check_engine(subset, false);
  }
}

}  // namespace
}  // namespace bqx
