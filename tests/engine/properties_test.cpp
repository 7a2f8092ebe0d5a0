// Registry-driven properties (DESIGN.md, "Properties tested once for every registered
// feature"): every column of every registered family gets them automatically.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <set>

#include "engine/pair_engine.h"
#include "features/registry.h"
#include "io/bar_reader.h"
#include "io/generator.h"
#include "test_frames.h"

namespace bqx {
namespace {

using features::is_null;

// The datasets every property runs on: synthetic random walk (volume, bid/ask, gaps),
// the real HistData EURUSD month (volume always 0, real flat stretches), and three
// generated months of an illiquid cross (many gaps).
struct Dataset {
  BarFrame frame;
  bool complete;  // volume and bid/ask present, no flat windows: lookbacks must be exact
};

const Dataset& dataset(const std::string& name) {
  static std::map<std::string, Dataset> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  Dataset d;
  if (name == "random_walk") {
    d = Dataset{testing_frames::random_walk_frame(4000, 1), true};
  } else if (name == "real_eurusd") {
    auto f = read_bar_file(std::string(BQX_TEST_DATA_DIR) + "/real/DAT_ASCII_EURUSD_M1_202306.csv", {});
    EXPECT_TRUE(f.ok());
    d = Dataset{f->bars, false};
  } else {
    GeneratorOptions g;
    g.pairs = {Pair{Currency::NZD, Currency::CHF}};
    g.start = make_month(2024, 7);
    g.months = 3;
    g.seed = 7;
    d = Dataset{generate_market(g).frames.at(0), false};
  }
  return cache.emplace(name, std::move(d)).first->second;
}

class Properties : public ::testing::TestWithParam<std::string> {
 protected:
  const BarFrame& frame() const { return dataset(GetParam()).frame; }
  size_t bars() const { return frame().size(); }
  double baseline() const { return frame().close[0]; }
  const std::vector<double>& batch() const {
    static std::map<std::string, std::vector<double>> cache;
    auto it = cache.find(GetParam());
    if (it == cache.end()) it = cache.emplace(GetParam(), *compute_pair_features(frame(), baseline(), {})).first;
    return it->second;
  }
};

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// First differing (row, column) of two row-major matrices, or "" when byte-equal.
std::string first_difference(const std::vector<double>& a, const std::vector<double>& b, size_t width,
                             const std::vector<features::ColumnInfo>& cols) {
  if (a.size() != b.size()) return "sizes differ: " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (!same_bits(a[i], b[i])) {
      return "row " + std::to_string(i / width) + " column " + cols[i % width].name + ": " + std::to_string(a[i]) +
             " vs " + std::to_string(b[i]);
    }
  }
  return "";
}

TEST(Registry, IsConsistent) {
  const auto cols = features::per_pair_columns();
  ASSERT_FALSE(cols.empty());
  std::set<std::string> names;
  for (const auto& c : cols) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate column " << c.name;
    EXPECT_EQ(c.name.rfind(c.family + "_", 0) == 0 || c.family == "ms", true) << c.name << " not prefixed by family";
    EXPECT_FALSE(c.formula.empty()) << c.name;
    EXPECT_FALSE(c.unit.empty()) << c.name;
    EXPECT_FALSE(c.source.empty()) << c.name;
    EXPECT_GE(c.lookback, 0) << c.name;
  }
}

TEST_P(Properties, StreamAndChunksEqualBatch) {
  auto engine = PairEngine::create(frame().pair, baseline());
  ASSERT_TRUE(engine.ok());
  const size_t w = engine->width();
  const auto& cols = engine->columns();
  // bar by bar
  {
    std::vector<double> stream(bars() * w);
    ASSERT_GT(bars(), 1000u);
    for (size_t i = 0; i < bars(); ++i) engine->step(frame().at(i), stream.data() + i * w);
    EXPECT_EQ(first_difference(batch(), stream, w, cols), "") << "stream";
  }
  for (size_t chunk : {1u, 7u, 64u, 1000u}) {
    auto e = PairEngine::create(frame().pair, baseline());
    std::vector<double> out;
    for (size_t b = 0; b < bars(); b += chunk) e->run(frame(), b, std::min(bars(), b + chunk), out);
    EXPECT_EQ(first_difference(batch(), out, w, cols), "") << "chunk " << chunk;
  }
}

TEST_P(Properties, SnapshotRestoreContinuesBitIdentically) {
  // One pass takes snapshots at 20 random rows; each is restored into a fresh engine that
  // continues for up to 2,000 bars, which must equal the uninterrupted run byte for byte.
  std::mt19937_64 rng(7);
  std::vector<size_t> cuts;
  for (int i = 0; i < 20; ++i) cuts.push_back(1 + rng() % (bars() - 1));
  std::sort(cuts.begin(), cuts.end());
  const auto& expected = batch();
  auto first = PairEngine::create(frame().pair, baseline());
  const size_t w = first->width();
  std::vector<double> scratch;
  size_t at = 0;
  for (size_t cut : cuts) {
    first->run(frame(), at, cut, scratch);
    scratch.clear();
    at = cut;
    const auto bytes = first->snapshot();
    auto second = PairEngine::create(frame().pair, baseline());
    ASSERT_TRUE(second->restore(bytes).ok()) << "cut " << cut;
    const size_t end = std::min(bars(), cut + 2000);
    std::vector<double> out;
    second->run(frame(), cut, end, out);
    std::vector<double> want(expected.begin() + static_cast<long>(cut * w), expected.begin() + static_cast<long>(end * w));
    EXPECT_EQ(first_difference(want, out, w, second->columns()), "") << "cut " << cut;
  }
}

TEST_P(Properties, RestoreRejectsCorruptSnapshot) {
  auto engine = PairEngine::create(frame().pair, baseline());
  std::vector<double> out;
  engine->run(frame(), 0, 100, out);
  auto bytes = engine->snapshot();
  bytes.pop_back();
  auto fresh = PairEngine::create(frame().pair, baseline());
  EXPECT_FALSE(fresh->restore(bytes).ok());
}

TEST_P(Properties, FirstNonNullRowIsThePublishedLookback) {
  const auto& out = batch();
  auto engine = PairEngine::create(frame().pair, baseline());
  const size_t w = engine->width();
  for (size_t c = 0; c < w; ++c) {
    const auto& col = engine->columns()[c];
    size_t first = bars();
    for (size_t r = 0; r < bars(); ++r) {
      if (!is_null(out[r * w + c])) { first = r; break; }
    }
    if (!dataset(GetParam()).complete) {
      EXPECT_GE(first, static_cast<size_t>(col.lookback)) << col.name;
      continue;
    }
    ASSERT_LT(first, bars()) << col.name << " is always NULL";
    if (col.exact_lookback) {
      EXPECT_EQ(first, static_cast<size_t>(col.lookback)) << col.name;
    } else {
      EXPECT_GE(first, static_cast<size_t>(col.lookback)) << col.name;
    }
  }
}

TEST_P(Properties, Causality) {
  // Changing every bar after t must leave rows <= t bit-identical.
  std::mt19937_64 rng(11);
  const auto& expected = batch();
  auto engine = PairEngine::create(frame().pair, baseline());
  const size_t w = engine->width();
  for (int trial = 0; trial < 20; ++trial) {
    const size_t t = rng() % std::min<size_t>(bars(), 8000);
    BarFrame changed = frame();
    changed.ts.resize(t + 1);
    for (auto* col : {&changed.open, &changed.high, &changed.low, &changed.close, &changed.volume, &changed.bid, &changed.ask}) col->resize(t + 1);
    // Append a different future.
    const BarFrame future = testing_frames::random_walk_frame(300, 1000 + trial, frame().close[t] * 1.01);
    for (size_t i = 0; i < future.size(); ++i) {
      Bar b = future.at(i);
      b.ts = frame().ts[t] + 1 + static_cast<EpochMinute>(i) * 2;
      changed.push_back(b);
    }
    auto out = compute_pair_features(changed, baseline(), {});  // the prefix, then a different future
    ASSERT_TRUE(out.ok());
    ASSERT_GE(out->size(), (t + 1) * w);
    std::vector<double> prefix(out->begin(), out->begin() + static_cast<long>((t + 1) * w));
    std::vector<double> want(expected.begin(), expected.begin() + static_cast<long>((t + 1) * w));
    EXPECT_EQ(first_difference(want, prefix, w, engine->columns()), "") << "t " << t;
  }
}

TEST_P(Properties, FamilySubsetEqualsFullRun) {
  const auto& full = batch();
  auto all = PairEngine::create(frame().pair, baseline());
  for (const auto& fam : features::per_pair_families()) {
    std::vector<features::ColumnInfo> cols;
    auto sub = compute_pair_features(frame(), baseline(), {fam.name}, &cols);
    ASSERT_TRUE(sub.ok()) << fam.name;
    ASSERT_EQ(cols.size(), fam.columns.size());
    const size_t off = static_cast<size_t>(
        std::find_if(all->columns().begin(), all->columns().end(), [&](auto& c) { return c.name == cols[0].name; }) -
        all->columns().begin());
    for (size_t r = 0; r < bars(); ++r) {
      for (size_t c = 0; c < cols.size(); ++c) {
        ASSERT_TRUE(same_bits((*sub)[r * cols.size() + c], full[r * all->width() + off + c])) << cols[c].name << " row " << r;
      }
    }
  }
  EXPECT_FALSE(PairEngine::create(frame().pair, baseline(), {"nope"}).ok());
}

INSTANTIATE_TEST_SUITE_P(Datasets, Properties, ::testing::Values("random_walk", "real_eurusd", "generated_nzdchf_3m"));

}  // namespace
}  // namespace bqx
