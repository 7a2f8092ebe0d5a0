// The huge-page arena behind StateVector (src/features/state_memory.h): blocks are
// distinct, 64-byte aligned, keep their contents, and an emptied arena is reused.
#include "features/state_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <set>
#include <vector>

namespace bqx::features {
namespace {

TEST(StateMemory, LargeVectorsAreAlignedDistinctAndKeepTheirValues) {
  std::vector<StateVector<double>> vectors;
  std::set<const double*> starts;
  for (size_t i = 0; i < 200; ++i) {
    const size_t n = 512 + 97 * i;  // 4 KiB .. ~160 KiB: every one served by the arena (unless sanitized)
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
  // Small blocks come from operator new, with the arena's alignment all the same.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % StateArena::kAlign, 0u);
}

TEST(StateMemory, EmptiedArenaIsReused) {
  if (!StateArena::kEnabled) GTEST_SKIP() << "sanitizer build: every block comes from operator new";
  const double* first = nullptr;
  {
    StateVector<double> v(100000);
    first = v.data();
  }
  // Nothing else in this process holds arena blocks now, so the current chunk restarts.
  StateVector<double> w(100000);
  EXPECT_EQ(w.data(), first);
}

// Kernel objects (FamilyKernel and CrossKernel derive from ArenaPlaced) of any size come
// from the arena, keep an over-alignment up to the arena's, and go to operator new beyond it.
struct SmallObject : ArenaPlaced {
  virtual ~SmallObject() = default;
  int value = 7;
};
struct LineAlignedObject : SmallObject {
  alignas(64) double line[8] = {1, 2, 3, 4, 5, 6, 7, 8};
};
struct PageAlignedObject : SmallObject {
  alignas(4096) double page[4] = {};
};

TEST(StateMemory, ArenaPlacedObjectsLiveInTheArena) {
  std::unique_ptr<SmallObject> small = std::make_unique<SmallObject>();
  std::unique_ptr<SmallObject> line = std::make_unique<LineAlignedObject>();
  std::unique_ptr<SmallObject> page = std::make_unique<PageAlignedObject>();
#if defined(__linux__)
  // (A sanitizer build places nothing in the arena: ASan then checks every object.)
  EXPECT_EQ(StateArena::instance().owns(small.get()), StateArena::kEnabled);
  EXPECT_EQ(StateArena::instance().owns(line.get()), StateArena::kEnabled);
#endif
  EXPECT_FALSE(StateArena::instance().owns(page.get()));  // 4 KiB alignment: operator new
  EXPECT_EQ(reinterpret_cast<uintptr_t>(line.get()) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(page.get()) % 4096, 0u);
  EXPECT_EQ(static_cast<LineAlignedObject*>(line.get())->line[7], 8.0);
  EXPECT_EQ(small->value + line->value + page->value, 21);
  // Deleted through the base (virtual destructor): the arena takes its blocks back.
  small.reset();
  line.reset();
  page.reset();
  std::unique_ptr<SmallObject> again = std::make_unique<SmallObject>();
  EXPECT_EQ(again->value, 7);
}

}  // namespace
}  // namespace bqx::features
