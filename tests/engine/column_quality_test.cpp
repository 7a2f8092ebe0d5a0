// Every catalogue column is non-constant and no two columns are identical on a generated
// 28-pair month (FEATURES.md section 5). Columns the catalogue marks `identical_to` are
// the only exemptions. Columns are compared by streaming per-column fingerprints
// (min/max of non-NULL values, NULL count, and a hash of the bit pattern in row order), so the month never has to sit in memory.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>

#include "engine/market_engine.h"
#include "features/registry.h"
#include "market_frames.h"

namespace bqx {
namespace {

struct Fingerprint {
  double min = INFINITY, max = -INFINITY;
  size_t nulls = 0;
  uint64_t hash = 1469598103934665603ull;
};

TEST(ColumnQuality, NonConstantAndUniqueOnAGeneratedMonth) {
  const auto frames = testing_frames::generated_market(31);
  std::vector<PairSetup> universe;
  for (const auto& f : frames) universe.push_back(PairSetup{f.pair, f.close[0]});
  auto engine = MarketEngine::create(universe);
  ASSERT_TRUE(engine.ok());
  const size_t w = engine->width();
  std::vector<Fingerprint> fp(w);
  size_t rows = 0;
  ASSERT_TRUE(run_market(*engine, frames, [&](Pair, EpochMinute, const double* row) {
                ++rows;
                for (size_t c = 0; c < w; ++c) {
                  const double v = row[c];
                  Fingerprint& f = fp[c];
                  uint64_t bits;
                  std::memcpy(&bits, &v, sizeof bits);
                  // splitmix64 finaliser per value: a plain word-wise FNV cannot tell v from -v
                  // when the sign flips on an even number of rows.
                  uint64_t z = f.hash ^ bits;
                  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
                  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
                  f.hash = (z ^ (z >> 31)) + 0x9E3779B97F4A7C15ull;
                  if (std::isnan(v)) {
                    ++f.nulls;
                  } else {
                    f.min = std::min(f.min, v);
                    f.max = std::max(f.max, v);
                  }
                }
                return Status::Ok();
              }).ok());
  ASSERT_GT(rows, 800000u);
  const auto& cols = engine->columns();
  std::map<uint64_t, size_t> by_hash;
  for (size_t c = 0; c < w; ++c) {
    EXPECT_LT(fp[c].nulls, rows) << cols[c].name << " is always NULL";
    EXPECT_LT(fp[c].min, fp[c].max) << cols[c].name << " is constant (" << fp[c].min << ")";
    auto [it, fresh] = by_hash.emplace(fp[c].hash, c);
    if (!fresh && cols[c].identical_to.empty() && cols[it->second].identical_to.empty()) {
      ADD_FAILURE() << cols[c].name << " is identical to " << cols[it->second].name;
    }
  }
}

}  // namespace
}  // namespace bqx
