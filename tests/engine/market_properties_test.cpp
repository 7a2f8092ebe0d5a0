// Registry-driven properties of the full engine (every one of the catalogue's columns,
// per-pair, cross-pair and second-order) on generated 28-pair data: batch == stream ==
// chunked, snapshot/restore, causality, the fixed column set.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <random>

#include "engine/market_engine.h"
#include "engine/pair_engine.h"
#include "features/registry.h"
#include "market_frames.h"

namespace bqx {
namespace {

struct Output {
  std::vector<uint64_t> row_hash;  // FNV-1a over the row's bytes
  std::vector<Pair> pairs;
  std::vector<EpochMinute> ts;
};

uint64_t fnv(const double* row, size_t n) {
  uint64_t h = 1469598103934665603ull;
  const auto* p = reinterpret_cast<const unsigned char*>(row);
  for (size_t i = 0; i < n * sizeof(double); ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

const std::vector<BarFrame>& frames() {
  static const std::vector<BarFrame> f = testing_frames::generated_market(3);
  return f;
}

std::vector<PairSetup> universe(const std::vector<BarFrame>& fs) {
  std::vector<PairSetup> u;
  for (const auto& f : fs) u.push_back(PairSetup{f.pair, f.close[0]});
  return u;
}

RowCallback collect(Output& out, size_t width) {
  return [&out, width](Pair p, EpochMinute ts, const double* row) {
    out.row_hash.push_back(fnv(row, width));
    out.pairs.push_back(p);
    out.ts.push_back(ts);
    return Status::Ok();
  };
}

const Output& batch() {
  static const Output out = [] {
    Output o;
    auto e = MarketEngine::create(universe(frames()));
    EXPECT_TRUE(e.ok());
    EXPECT_TRUE(run_market(*e, frames(), collect(o, e->width())).ok());
    return o;
  }();
  return out;
}

size_t total_bars() {
  size_t n = 0;
  for (const auto& f : frames()) n += f.size();
  return n;
}

std::string first_difference(const Output& a, const Output& b, size_t offset = 0) {
  for (size_t i = 0; i < b.row_hash.size(); ++i) {
    if (offset + i >= a.row_hash.size()) return "extra row " + std::to_string(i);
    if (a.row_hash[offset + i] != b.row_hash[i] || !(a.pairs[offset + i] == b.pairs[i]) || a.ts[offset + i] != b.ts[i]) {
      return "row " + std::to_string(offset + i) + " (" + pair_name(b.pairs[i]) + " " + format_iso(b.ts[i]) + ")";
    }
  }
  return "";
}

TEST(MarketProperties, OneRowPerInputBarWithTheFullColumnSet) {
  EXPECT_EQ(batch().row_hash.size(), total_bars());
  auto e = MarketEngine::create(universe(frames()));
  EXPECT_EQ(e->width(), features::all_feature_columns().size());
  std::set<std::string> names;
  for (const auto& c : e->columns()) EXPECT_TRUE(names.insert(c.name).second) << "duplicate column " << c.name;
}

TEST(MarketProperties, ChunkedRunsEqualBatch) {
  const EpochMinute start = month_start(make_month(2024, 7));
  for (EpochMinute chunk : {1, 7, 64, 1000}) {
    auto e = MarketEngine::create(universe(frames()));
    Output o;
    for (EpochMinute from = start; from < start + 3 * kMinutesPerDay; from += chunk) {
      ASSERT_TRUE(run_market(*e, frames(), collect(o, e->width()), from, from + chunk).ok());
    }
    EXPECT_EQ(o.row_hash.size(), batch().row_hash.size()) << "chunk " << chunk;
    EXPECT_EQ(first_difference(batch(), o), "") << "chunk " << chunk << " minutes";
  }
}

TEST(MarketProperties, SnapshotRestoreContinuesBitIdentically) {
  std::mt19937_64 rng(3);
  const EpochMinute start = month_start(make_month(2024, 7));
  std::vector<EpochMinute> cuts;
  for (int i = 0; i < 20; ++i) cuts.push_back(start + static_cast<EpochMinute>(rng() % (3 * kMinutesPerDay)));
  std::sort(cuts.begin(), cuts.end());
  auto first = MarketEngine::create(universe(frames()));
  Output before;
  EpochMinute at = INT64_MIN;
  for (EpochMinute cut : cuts) {
    ASSERT_TRUE(run_market(*first, frames(), collect(before, first->width()), at, cut).ok());
    at = cut;
    const auto bytes = first->snapshot();
    auto second = MarketEngine::create(universe(frames()));
    ASSERT_TRUE(second->restore(bytes).ok()) << format_iso(cut);
    Output after;
    ASSERT_TRUE(run_market(*second, frames(), collect(after, second->width()), cut, cut + 240).ok());
    EXPECT_EQ(first_difference(batch(), after, before.row_hash.size()), "") << "cut " << format_iso(cut);
  }
  auto bad = first->snapshot();
  bad.resize(bad.size() / 2);
  auto fresh = MarketEngine::create(universe(frames()));
  EXPECT_FALSE(fresh->restore(bad).ok());
  // State written by a build with another state format (the magic's last byte) is refused
  // with a message naming both formats, not misread as corrupt.
  auto older = first->snapshot();
  ASSERT_EQ(older[7], '5');
  older[7] = '4';
  const Status st = fresh->restore(older);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("state format 4, this build reads format 5"), std::string::npos)
      << st.error().message;
}

TEST(MarketProperties, Causality) {
  // Replace every bar after minute t by a different future: rows at or before t unchanged.
  std::mt19937_64 rng(5);
  const EpochMinute start = month_start(make_month(2024, 7));
  for (int trial = 0; trial < 8; ++trial) {
    const EpochMinute t = start + static_cast<EpochMinute>(rng() % (2 * kMinutesPerDay));
    std::vector<BarFrame> changed = frames();
    for (auto& f : changed) {
      size_t n = 0;
      while (n < f.size() && f.ts[n] <= t) ++n;
      for (size_t i = n; i < f.size(); ++i) {
        f.close[i] *= 1.003;
        f.high[i] = std::max(f.high[i] * 1.003, std::max(f.open[i], f.close[i]));
        f.low[i] = std::min(f.low[i], std::min(f.open[i], f.close[i]));
      }
    }
    auto e = MarketEngine::create(universe(changed));
    Output o;
    ASSERT_TRUE(run_market(*e, changed, collect(o, e->width()), INT64_MIN, t + 1).ok());
    EXPECT_EQ(first_difference(batch(), o), "") << "t " << format_iso(t);
  }
}

TEST(MarketProperties, SubsetUniversesRun) {
  const std::vector<std::vector<std::string>> universes = {
      {"EURUSD"}, {"EURUSD", "AUDUSD", "USDCAD"}, {"EURUSD", "GBPUSD", "EURGBP"}};
  for (const auto& names : universes) {
    std::vector<BarFrame> subset;
    for (const auto& f : frames()) {
      if (std::find(names.begin(), names.end(), pair_name(f.pair)) != names.end()) subset.push_back(f);
    }
    ASSERT_EQ(subset.size(), names.size());
    auto e = MarketEngine::create(universe(subset));
    ASSERT_TRUE(e.ok());
    Output o;
    ASSERT_TRUE(run_market(*e, subset, collect(o, e->width())).ok());
    size_t n = 0;
    for (const auto& f : subset) n += f.size();
    EXPECT_EQ(o.row_hash.size(), n);
  }
  // 27 pairs: every pair but one.
  std::vector<BarFrame> most(frames().begin() + 1, frames().end());
  auto e = MarketEngine::create(universe(most));
  Output o;
  ASSERT_TRUE(run_market(*e, most, collect(o, e->width())).ok());
  EXPECT_EQ(o.row_hash.size(), total_bars() - frames()[0].size());
}

// Columns a later family reads (bqx's, reg's, stats_rate's) are NULL-mapped after the
// families ran, and only when mapping changes one (an Inf, or a NaN without kNull's bits):
// prices that drive them to Inf (a denormal close: returns overflow) must come out as the
// pair engine gives them, which maps every column at the end of its step.
TEST(MarketProperties, NonFiniteValuesOfColumnsLaterFamiliesReadAreMappedAsThePairEngineMapsThem) {
  std::vector<BarFrame> subset;
  for (const auto& f : frames()) {
    const std::string name = pair_name(f.pair);
    if (name != "EURUSD" && name != "GBPUSD" && name != "EURGBP") continue;
    BarFrame cut;
    for (size_t i = 0; i < std::min<size_t>(f.size(), 2400); ++i) {
      Bar b = f.at(i);
      if (name == "EURUSD" && (i == 1500 || i == 1501 || i == 1900)) {
        b.open = b.high = b.low = b.close = (i == 1900 ? 1e300 : 1e-310);  // returns overflow either way
      }
      cut.pair = f.pair;
      cut.push_back(b);
    }
    subset.push_back(cut);
  }
  ASSERT_EQ(subset.size(), 3u);
  const BarFrame& eurusd = *std::find_if(subset.begin(), subset.end(), [](const BarFrame& f) { return pair_name(f.pair) == "EURUSD"; });
  auto market = MarketEngine::create(universe(subset));
  ASSERT_TRUE(market.ok());
  const size_t width = market->width();
  auto single = PairEngine::create(eurusd.pair, eurusd.close[0]);
  ASSERT_TRUE(single.ok());
  const size_t per_pair = single->width();
  ASSERT_LT(per_pair, width);
  std::vector<std::vector<double>> market_rows;
  ASSERT_TRUE(run_market(*market, subset, [&](Pair p, EpochMinute, const double* row) {
                if (p == eurusd.pair) market_rows.emplace_back(row, row + width);
                return Status::Ok();
              }).ok());
  ASSERT_EQ(market_rows.size(), eurusd.size());
  const uint64_t null_bits = std::bit_cast<uint64_t>(features::kNull);
  size_t nulls_after_injection = 0;
  std::vector<double> expected(per_pair);
  for (size_t i = 0; i < eurusd.size(); ++i) {
    single->step(eurusd.at(i), expected.data());
    ASSERT_EQ(std::memcmp(expected.data(), market_rows[i].data(), per_pair * sizeof(double)), 0)
        << "bar " << i << ": the per-pair part differs from PairEngine::step";
    for (size_t c = 0; c < width; ++c) {
      const double v = market_rows[i][c];
      ASSERT_TRUE(std::isfinite(v) || std::bit_cast<uint64_t>(v) == null_bits) << "bar " << i << " column " << c << " = " << v;
      if (i == 1500 && std::isnan(v)) ++nulls_after_injection;
    }
  }
  EXPECT_GT(nulls_after_injection, 100u);  // the injected prices did reach many columns
}

TEST(MarketProperties, RejectsBadInput) {
  auto e = MarketEngine::create(universe(frames()));
  std::vector<double> rows;
  std::vector<Pair> pairs;
  const Bar b = frames()[0].at(0);
  std::vector<PairBar> minute = {PairBar{frames()[0].pair, b}};
  ASSERT_TRUE(e->step(b.ts, minute, rows, pairs).ok());
  EXPECT_FALSE(e->step(b.ts, minute, rows, pairs).ok());  // time must increase
  EXPECT_FALSE(MarketEngine::create({}).ok());
}

}  // namespace
}  // namespace bqx
