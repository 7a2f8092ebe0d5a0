// Registry-driven properties (DESIGN.md, "Properties tested once for every registered
// feature"): every column of every registered family gets them automatically.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "engine/pair_engine.h"
#include "features/registry.h"
#include "test_frames.h"

namespace bqx {
namespace {

using features::is_null;

constexpr size_t kBars = 4000;

const BarFrame& frame() {
  static const BarFrame f = testing_frames::random_walk_frame(kBars, 1);
  return f;
}
double baseline() { return frame().close[0]; }

std::vector<double> batch() {
  static const std::vector<double> out = *compute_pair_features(frame(), baseline(), {});
  return out;
}

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

TEST(Properties, RegistryIsConsistent) {
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

TEST(Properties, StreamAndChunksEqualBatch) {
  auto engine = PairEngine::create(frame().pair, baseline());
  ASSERT_TRUE(engine.ok());
  const size_t w = engine->width();
  const auto& cols = engine->columns();
  // bar by bar
  {
    std::vector<double> stream(kBars * w);
    for (size_t i = 0; i < kBars; ++i) engine->step(frame().at(i), stream.data() + i * w);
    EXPECT_EQ(first_difference(batch(), stream, w, cols), "") << "stream";
  }
  for (size_t chunk : {1u, 7u, 64u, 1000u}) {
    auto e = PairEngine::create(frame().pair, baseline());
    std::vector<double> out;
    for (size_t b = 0; b < kBars; b += chunk) e->run(frame(), b, std::min(kBars, b + chunk), out);
    EXPECT_EQ(first_difference(batch(), out, w, cols), "") << "chunk " << chunk;
  }
}

TEST(Properties, SnapshotRestoreContinuesBitIdentically) {
  std::mt19937_64 rng(7);
  const auto expected = batch();
  for (int trial = 0; trial < 20; ++trial) {
    const size_t cut = 1 + rng() % (kBars - 1);
    auto first = PairEngine::create(frame().pair, baseline());
    std::vector<double> out;
    first->run(frame(), 0, cut, out);
    const auto bytes = first->snapshot();
    auto second = PairEngine::create(frame().pair, baseline());
    ASSERT_TRUE(second->restore(bytes).ok()) << "cut " << cut;
    second->run(frame(), cut, kBars, out);
    EXPECT_EQ(first_difference(expected, out, second->width(), second->columns()), "") << "cut " << cut;
  }
}

TEST(Properties, RestoreRejectsCorruptSnapshot) {
  auto engine = PairEngine::create(frame().pair, baseline());
  std::vector<double> out;
  engine->run(frame(), 0, 100, out);
  auto bytes = engine->snapshot();
  bytes.pop_back();
  auto fresh = PairEngine::create(frame().pair, baseline());
  EXPECT_FALSE(fresh->restore(bytes).ok());
}

TEST(Properties, FirstNonNullRowIsThePublishedLookback) {
  const auto out = batch();
  auto engine = PairEngine::create(frame().pair, baseline());
  const size_t w = engine->width();
  for (size_t c = 0; c < w; ++c) {
    const auto& col = engine->columns()[c];
    size_t first = kBars;
    for (size_t r = 0; r < kBars; ++r) {
      if (!is_null(out[r * w + c])) { first = r; break; }
    }
    ASSERT_LT(first, kBars) << col.name << " is always NULL";
    if (col.exact_lookback) {
      EXPECT_EQ(first, static_cast<size_t>(col.lookback)) << col.name;
    } else {
      EXPECT_GE(first, static_cast<size_t>(col.lookback)) << col.name;
    }
  }
}

TEST(Properties, Causality) {
  // Changing every bar after t must leave rows <= t bit-identical.
  std::mt19937_64 rng(11);
  const auto expected = batch();
  auto engine = PairEngine::create(frame().pair, baseline());
  const size_t w = engine->width();
  for (int trial = 0; trial < 20; ++trial) {
    const size_t t = rng() % kBars;
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
    auto out = compute_pair_features(changed, baseline(), {});
    ASSERT_TRUE(out.ok());
    ASSERT_GE(out->size(), (t + 1) * w);
    std::vector<double> prefix(out->begin(), out->begin() + static_cast<long>((t + 1) * w));
    std::vector<double> want(expected.begin(), expected.begin() + static_cast<long>((t + 1) * w));
    EXPECT_EQ(first_difference(want, prefix, w, engine->columns()), "") << "t " << t;
  }
}

TEST(Properties, FamilySubsetEqualsFullRun) {
  const auto full = batch();
  auto all = PairEngine::create(frame().pair, baseline());
  for (const auto& fam : features::per_pair_families()) {
    std::vector<features::ColumnInfo> cols;
    auto sub = compute_pair_features(frame(), baseline(), {fam.name}, &cols);
    ASSERT_TRUE(sub.ok()) << fam.name;
    ASSERT_EQ(cols.size(), fam.columns.size());
    const size_t off = static_cast<size_t>(
        std::find_if(all->columns().begin(), all->columns().end(), [&](auto& c) { return c.name == cols[0].name; }) -
        all->columns().begin());
    for (size_t r = 0; r < kBars; ++r) {
      for (size_t c = 0; c < cols.size(); ++c) {
        ASSERT_TRUE(same_bits((*sub)[r * cols.size() + c], full[r * all->width() + off + c])) << cols[c].name << " row " << r;
      }
    }
  }
  EXPECT_FALSE(PairEngine::create(frame().pair, baseline(), {"nope"}).ok());
}

}  // namespace
}  // namespace bqx
