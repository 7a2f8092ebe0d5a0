// The huge-page arena behind StateVector (src/features/state_memory.h): blocks are
// distinct, 64-byte aligned, keep their contents, and an emptied arena is reused.
#include "features/state_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

namespace bqx::features {
namespace {

TEST(StateMemory, LargeVectorsAreAlignedDistinctAndKeepTheirValues) {
  std::vector<StateVector<double>> vectors;
  std::set<const double*> starts;
  for (size_t i = 0; i < 200; ++i) {
    const size_t n = 512 + 97 * i;  // 4 KiB .. ~160 KiB: every one served by the arena
    vectors.emplace_back(n);
    for (size_t j = 0; j < n; ++j) vectors.back()[j] = static_cast<double>(i * 1000003 + j);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(vectors.back().data()) % StateArena::kAlign, 0u);
    starts.insert(vectors.back().data());
  }
  EXPECT_EQ(starts.size(), vectors.size());
  for (size_t i = 0; i < vectors.size(); ++i) {
    for (size_t j = 0; j < vectors[i].size(); ++j) ASSERT_EQ(vectors[i][j], static_cast<double>(i * 1000003 + j));
  }
}

TEST(StateMemory, SmallVectorsSwapAndCopyLikeStdVector) {
  StateVector<double> a(10, 1.0), b(5000, 2.0);
  a.swap(b);
  EXPECT_EQ(a.size(), 5000u);
  EXPECT_EQ(b.size(), 10u);
  EXPECT_EQ(a[4999], 2.0);
  StateVector<double> c = a;  // copy of an arena vector
  c[0] = 3.0;
  EXPECT_EQ(a[0], 2.0);
  EXPECT_EQ(c[4999], 2.0);
}

TEST(StateMemory, EmptiedArenaIsReused) {
  const double* first = nullptr;
  {
    StateVector<double> v(100000);
    first = v.data();
  }
  // Nothing else in this process holds arena blocks now, so the current chunk restarts.
  StateVector<double> w(100000);
  EXPECT_EQ(w.data(), first);
}

}  // namespace
}  // namespace bqx::features
