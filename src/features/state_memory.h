// Memory for large kernel state arrays, backed by transparent huge pages where the OS
// offers them.
//
// Why: in streaming use one market minute touches a few lines in each of thousands of
// window arrays spread over ~40 MB (28 pairs). With 4 KiB pages nearly every one of those
// touches is also a TLB miss, and a software prefetch whose page is not in the TLB does
// not help. Packing the arrays into 2 MiB pages (madvise MADV_HUGEPAGE) removes most of
// those misses (measured: ~15-20% of the streaming step). Placement only: no effect on any
// value.
//
// StateAllocator<T> is a stateless std::allocator replacement: requests of at least
// kMinArenaBytes come from a process-wide arena of 2 MiB-aligned chunks (bump allocation,
// 64-byte aligned; a chunk is unmapped when all its blocks are freed), smaller ones and
// every request when mmap fails go to operator new. Thread-safe (engines may be created on
// several threads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace bqx::features {

class StateArena {
 public:
  static constexpr size_t kMinArenaBytes = 4096;
  static constexpr size_t kChunkBytes = size_t{32} << 20;  // 16 huge pages
  static constexpr size_t kHugePage = size_t{2} << 20;
  static constexpr size_t kAlign = 64;
  // AddressSanitizer cannot see inside the arena (no redzones between bump-allocated
  // blocks, no use-after-free poisoning): a sanitizer build sends every request to operator
  // new, so ASan checks each state array and kernel object on its own.
#if defined(__SANITIZE_ADDRESS__)
  static constexpr bool kEnabled = false;
#else
  static constexpr bool kEnabled = true;
#endif

  static StateArena& instance() {
    static StateArena* arena = new StateArena();  // never destroyed: outlives static engines
    return *arena;
  }

  // nullptr when the request should go to operator new instead.
  void* allocate(size_t bytes) {
    if (bytes < kMinArenaBytes) return nullptr;
    return allocate_any(bytes);
  }

  // As allocate(), for blocks of any size: kernel objects (a few hundred bytes to a few
  // KiB each, ~500 per 28-pair engine, each read at every bar) share the huge pages too.
  void* allocate_any(size_t bytes) {
#if defined(__linux__)
    if (!kEnabled || bytes > kChunkBytes / 4) return nullptr;
    bytes = (bytes + kAlign - 1) / kAlign * kAlign;
    std::lock_guard<std::mutex> lock(mutex_);
    if (current_ == nullptr || current_->used + bytes > kChunkBytes) {
      current_ = new_chunk();
      if (current_ == nullptr) return nullptr;
    }
    void* p = current_->base + current_->used;
    current_->used += bytes;
    ++current_->live;
    return p;
#else
    (void)bytes;
    return nullptr;
#endif
  }

  // True when p lies in one of the arena's chunks.
  bool owns(const void* p) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Chunk* c : chunks_) {
      if (static_cast<const char*>(p) >= c->base && static_cast<const char*>(p) < c->base + kChunkBytes) return true;
    }
    return false;
  }

  // True when p came from the arena (and has been released).
  bool deallocate(void* p) {
#if defined(__linux__)
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < chunks_.size(); ++i) {
      Chunk* c = chunks_[i];
      if (static_cast<char*>(p) < c->base || static_cast<char*>(p) >= c->base + kChunkBytes) continue;
      if (--c->live == 0) {
        if (c == current_) {
          c->used = 0;  // empty again: reuse from the start
        } else {
          munmap(c->mapping, c->mapping_bytes);
          delete c;
          chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
      return true;
    }
#else
    (void)p;
#endif
    return false;
  }

 private:
  struct Chunk {
    void* mapping = nullptr;
    size_t mapping_bytes = 0;
    char* base = nullptr;  // 2 MiB aligned
    size_t used = 0;
    size_t live = 0;
  };

#if defined(__linux__)
  Chunk* new_chunk() {
    // Over-map by one huge page so that a 2 MiB-aligned chunk fits inside.
    const size_t bytes = kChunkBytes + kHugePage;
    void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    const uintptr_t aligned = (reinterpret_cast<uintptr_t>(m) + kHugePage - 1) / kHugePage * kHugePage;
    char* base = reinterpret_cast<char*>(aligned);
#if defined(MADV_HUGEPAGE)
    (void)madvise(base, kChunkBytes, MADV_HUGEPAGE);  // a hint: ignored where THP is off
#endif
    auto* c = new Chunk{m, bytes, base, 0, 0};
    chunks_.push_back(c);
    return c;
  }
#endif

  std::mutex mutex_;
  std::vector<Chunk*> chunks_;
  Chunk* current_ = nullptr;
};

template <typename T>
struct StateAllocator {
  using value_type = T;
  StateAllocator() noexcept = default;
  template <typename U>
  StateAllocator(const StateAllocator<U>&) noexcept {}

  // Blocks from operator new get the arena's 64-byte alignment too, so that no kernel's
  // aligned access depends on where its array came from (a small array, no mmap, or a
  // sanitizer build).
  T* allocate(size_t n) {
    if (void* p = StateArena::instance().allocate(n * sizeof(T))) return static_cast<T*>(p);
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{StateArena::kAlign}));
  }
  void deallocate(T* p, size_t) noexcept {
    if (!StateArena::instance().deallocate(p)) ::operator delete(p, std::align_val_t{StateArena::kAlign});
  }
  template <typename U>
  bool operator==(const StateAllocator<U>&) const noexcept { return true; }
};

// Class-level operator new/delete for the kernel base classes (FamilyKernel, CrossKernel):
// every kernel object of an engine is placed in the arena, next to its state arrays.
// Measured (glibc.malloc.hugetlb=1 as a stand-in for putting all engine memory on huge
// pages): ~4 us of a ~120 us 28-pair streaming step, spent on TLB misses of the object's
// first line that each bar's virtual call loads. Placement only: no effect on any value.
struct ArenaPlaced {
  static void* operator new(size_t bytes) { return place(bytes, alignof(std::max_align_t)); }
  static void* operator new(size_t bytes, std::align_val_t align) { return place(bytes, static_cast<size_t>(align)); }
  static void operator delete(void* p) noexcept { release(p, alignof(std::max_align_t)); }
  static void operator delete(void* p, std::align_val_t align) noexcept { release(p, static_cast<size_t>(align)); }

 private:
  static void* place(size_t bytes, size_t align) {
    if (align <= StateArena::kAlign) {
      if (void* p = StateArena::instance().allocate_any(bytes)) return p;
    }
    return ::operator new(bytes, std::align_val_t{align});
  }
  static void release(void* p, size_t align) noexcept {
    if (p != nullptr && !StateArena::instance().deallocate(p)) ::operator delete(p, std::align_val_t{align});
  }
};

template <typename T>
using StateVector = std::vector<T, StateAllocator<T>>;

}  // namespace bqx::features
