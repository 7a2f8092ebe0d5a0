// Percentile ranks of the newest value in nested trailing windows (stats_rate / stats_bqx
// pctrank, FEATURES.md 1.6-1.7): "share of the W window values <= v_t" for every W of a
// family, from one linear pass over the newest max(W) values.
//
// Why a linear pass and not a sorted window: the families keep 7 windows up to W = 1440 for
// each of 28 pairs, so in streaming use a pair's state is cold in cache at every bar. A
// sorted window pays two binary searches per push, i.e. ~2 log2(W) dependent cache misses,
// plus a memmove; the pass below reads the newest 1440 values once, sequentially (hardware
// prefetch), with a vectorised compare-and-count, and serves all windows at once (the
// windows are nested: the count for W_i extends the count for W_{i-1}). Exact integer
// counts: the result does not depend on the method.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BQX_COUNT_LE_AVX2 1
#endif

#include "features/kernel.h"
#include "features/state_memory.h"

namespace bqx::features::stats {

// Ring of the last `capacity` values stored twice (data[i] == data[i + capacity]), so the
// newest n values are always one contiguous run, oldest first.
class MirrorRing {
 public:
  explicit MirrorRing(size_t capacity = 1) : cap_(capacity), data_(2 * capacity) {}
  size_t capacity() const { return cap_; }
  size_t size() const { return size_; }
  void push(double v) {
    data_[pos_] = v;
    data_[pos_ + cap_] = v;
    pos_ = (pos_ + 1 == cap_) ? 0 : pos_ + 1;
    if (size_ < cap_) ++size_;
    prefetch_write(&data_[pos_ + cap_], sizeof(double));  // the next push's second copy (cold)
  }
  // The next push writes data_[pos_] and data_[pos_ + cap_].
  void prefetch() const {
    prefetch_read(this, sizeof(*this));
    prefetch_write(&data_[pos_], sizeof(double));
    prefetch_write(&data_[pos_ + cap_], sizeof(double));
  }
  // One past the newest value: the newest n (<= size()) values are end() - n .. end() - 1.
  const double* end() const { return data_.data() + pos_ + cap_; }
  // back(0) = newest, back(k) = k pushes ago; k < size().
  double back(size_t k) const { return end()[-1 - static_cast<std::ptrdiff_t>(k)]; }

  // The snapshot holds one copy of the ring; load() rebuilds the mirror.
  void save(StateWriter& out) const {
    out.put<uint64_t>(cap_);
    out.put<uint64_t>(pos_);
    out.put<uint64_t>(size_);
    for (size_t i = 0; i < cap_; ++i) out.put(data_[i]);
  }
  void load(StateReader& in) {
    const auto cap = in.get<uint64_t>();
    pos_ = in.get<uint64_t>();
    size_ = in.get<uint64_t>();
    if (!in.ok() || cap != cap_ || pos_ >= cap_ || size_ > cap_) {
      in.fail();
      pos_ = size_ = 0;
      return;
    }
    for (size_t i = 0; i < cap_; ++i) data_[i + cap_] = data_[i] = in.get<double>();
  }

 private:
  size_t cap_;
  StateVector<double> data_;
  size_t pos_ = 0;   // next slot to write in the first copy
  size_t size_ = 0;  // values held (<= cap_)
};

#if defined(BQX_COUNT_LE_AVX2)
// AVX2 form of count_le / count_lt (4 lanes), used when the CPU has it (checked once at run
// time; the count is an exact integer, so the result does not depend on the path taken).
template <bool kStrict>
__attribute__((target("avx2"))) inline size_t count_below_avx2(const double* a, size_t n, double v) {
  constexpr int kPred = kStrict ? _CMP_LT_OQ : _CMP_LE_OQ;
  const __m256d vv = _mm256_set1_pd(v);
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_sub_epi64(acc0, _mm256_castpd_si256(_mm256_cmp_pd(_mm256_loadu_pd(a + i), vv, kPred)));
    acc1 = _mm256_sub_epi64(acc1, _mm256_castpd_si256(_mm256_cmp_pd(_mm256_loadu_pd(a + i + 4), vv, kPred)));
  }
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_add_epi64(acc0, acc1));
  size_t c = static_cast<size_t>(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
  for (; i < n; ++i) c += (kStrict ? a[i] < v : a[i] <= v) ? 1 : 0;
  return c;
}
inline bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
// AVX-512 form (8 lanes): a compare mask per 8 values, counted by a masked increment of
// per-lane counters (3 instructions per 8 values; a popcount of each mask needs a mask
// move, a zero extension, the popcount and an add on top of the compare).
template <bool kStrict>
__attribute__((target("avx512f,popcnt"))) inline size_t count_below_avx512(const double* a, size_t n, double v) {
  constexpr int kPred = kStrict ? _CMP_LT_OQ : _CMP_LE_OQ;
  const __m512d vv = _mm512_set1_pd(v);
  const __m512i one = _mm512_set1_epi64(1);
  __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm512_mask_add_epi64(acc0, _mm512_cmp_pd_mask(_mm512_loadu_pd(a + i), vv, kPred), acc0, one);
    acc1 = _mm512_mask_add_epi64(acc1, _mm512_cmp_pd_mask(_mm512_loadu_pd(a + i + 8), vv, kPred), acc1, one);
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_add_epi64(acc0, acc1));
  size_t c = 0;
  for (int l = 0; l < 8; ++l) c += static_cast<size_t>(lanes[l]);
  for (; i < n; ++i) c += (kStrict ? a[i] < v : a[i] <= v) ? 1 : 0;
  return c;
}
inline bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("popcnt");
  return has;
}
#endif

// Number of a[0..n) that are <= v (kStrict: < v). GCC 12 does not vectorise the scalar
// loop (compare + carry per element), so x86-64 uses SSE2 directly (AVX2 when available):
// a compare gives an all-ones lane (-1 as an integer) per hit, subtracted from
// independent accumulators.
template <bool kStrict>
inline size_t count_below(const double* a, size_t n, double v) {
#if defined(BQX_COUNT_LE_AVX2)
  if (n >= 64 && cpu_has_avx512()) return count_below_avx512<kStrict>(a, n, v);
  if (n >= 32 && cpu_has_avx2()) return count_below_avx2<kStrict>(a, n, v);
#endif
  size_t i = 0;
  size_t c = 0;
#if defined(__SSE2__)
  const __m128d vv = _mm_set1_pd(v);
  auto hits = [&](const double* p) {
    const __m128d x = _mm_loadu_pd(p);
    return _mm_castpd_si128(kStrict ? _mm_cmplt_pd(x, vv) : _mm_cmple_pd(x, vv));
  };
  __m128i acc0 = _mm_setzero_si128(), acc1 = _mm_setzero_si128();
  __m128i acc2 = _mm_setzero_si128(), acc3 = _mm_setzero_si128();
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm_sub_epi64(acc0, hits(a + i));
    acc1 = _mm_sub_epi64(acc1, hits(a + i + 2));
    acc2 = _mm_sub_epi64(acc2, hits(a + i + 4));
    acc3 = _mm_sub_epi64(acc3, hits(a + i + 6));
  }
  const __m128i acc = _mm_add_epi64(_mm_add_epi64(acc0, acc1), _mm_add_epi64(acc2, acc3));
  alignas(16) uint64_t lanes[2];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), acc);
  c = static_cast<size_t>(lanes[0] + lanes[1]);
#endif
  for (; i < n; ++i) c += (kStrict ? a[i] < v : a[i] <= v) ? 1 : 0;
  return c;
}
inline size_t count_le(const double* a, size_t n, double v) { return count_below<false>(a, n, v); }
inline size_t count_lt(const double* a, size_t n, double v) { return count_below<true>(a, n, v); }

// counts[i] = number of the newest windows[i] values ending at `end` that are <= v, for the
// first `usable` windows (ascending window lengths, each <= the values available).
template <size_t N>
void count_le_nested(const double* end, const std::array<int, N>& windows, size_t usable, double v,
                     std::array<size_t, N>& counts) {
  size_t cum = 0, prev = 0;
  for (size_t i = 0; i < usable; ++i) {
    const size_t w = static_cast<size_t>(windows[i]);
    cum += count_le(end - w, w - prev, v);
    counts[i] = cum;
    prev = w;
  }
}


// Sliding maximum (kMax) or minimum of the last W_i values for nested windows
// W_0 < W_1 < ... < W_{N-1}, from one monotonic deque for the largest window.
//
// Why one deque: the deque of window W (entries not dominated by a newer value, ties: the
// newest wins) is exactly the part of the largest window's deque with push index inside W,
// because whether a newer value dominates an entry does not depend on W. So each window
// only needs its own front (the first entry inside it); its extreme is that entry's value,
// the same value (same bits) as a separate RollingExtreme of length W gives. Per push this
// touches the back of one deque and N fronts (close together for small windows) instead
// of N deques and their N objects: fewer cache lines, which is what the streaming engine
// waits on with 28 pairs (the state of all pairs does not fit in the caches).
template <bool kMax, size_t N>
class NestedExtremes {
 public:
  explicit NestedExtremes(const std::array<int, N>& windows = {})
      : windows_(windows),
        mask_(std::bit_ceil(static_cast<uint64_t>(windows[N - 1] > 0 ? windows[N - 1] : 1) + 1) - 1),
        entries_(mask_ + 1) {}

  void push(double x) {
    const uint64_t idx = count_;
    // Drop dominated entries from the back (ties: the newest wins).
    uint64_t back = back_;
    while (back > front_[N - 1]) {
      const double b = entries_[(back - 1) & mask_].value;
      if (kMax ? (b <= x) : (b >= x)) --back; else break;
    }
    const uint64_t newest = back;  // capacity > largest window: never overwrites a live entry
    entries_[newest & mask_] = Entry{x, idx};
    back_ = newest + 1;
    ++count_;
    // Each window's front: the new entry if its old front was dropped, then past the
    // entries that leave the window with this push (the newest entry never does).
    for (size_t i = 0; i < N; ++i) {
      uint64_t f = std::min(front_[i], newest);
      const uint64_t w = static_cast<uint64_t>(windows_[i]);
      while (entries_[f & mask_].idx + w <= idx) ++f;
      front_[i] = f;
    }
  }
  // Extreme of the last min(count, W_i) values; count() > 0.
  double value(size_t i) const { return entries_[front_[i] & mask_].value; }
  uint64_t count() const { return count_; }

  // The next push reads the back and the fronts and writes after the back.
  void prefetch() const {
    prefetch_read(this, sizeof(*this));
    if (back_ > 0) prefetch_read(&entries_[(back_ - 1) & mask_], sizeof(Entry));
    prefetch_write(&entries_[back_ & mask_], sizeof(Entry));
    for (size_t i = 0; i < N; ++i) prefetch_read(&entries_[front_[i] & mask_], sizeof(Entry));
  }

  // Snapshot: push count, deque positions and the live entries (front of the largest
  // window to the back).
  void save(StateWriter& out) const {
    out.put<uint64_t>(N);
    out.put<uint64_t>(count_);
    out.put<uint64_t>(back_);
    for (size_t i = 0; i < N; ++i) out.put<uint64_t>(front_[i]);
    for (uint64_t q = front_[N - 1]; q < back_; ++q) {
      out.put(entries_[q & mask_].value);
      out.put<uint64_t>(entries_[q & mask_].idx);
    }
  }
  void load(StateReader& in) {
    bool valid = in.get<uint64_t>() == N;
    count_ = in.get<uint64_t>();
    back_ = in.get<uint64_t>();
    for (size_t i = 0; i < N; ++i) front_[i] = in.get<uint64_t>();
    // Fronts: larger windows first, all inside [front of the largest, back), at most
    // capacity - 1 live entries, and no entries before the first push.
    valid = valid && in.ok() && back_ - front_[N - 1] <= mask_ && (count_ > 0 || back_ == 0);
    for (size_t i = 0; valid && i < N; ++i) {
      valid = front_[i] <= back_ && (count_ == 0 || front_[i] < back_) && (i == 0 || front_[i - 1] >= front_[i]);
    }
    if (!valid) {
      in.fail();
      count_ = back_ = 0;
      front_.fill(0);
      return;
    }
    for (uint64_t q = front_[N - 1]; q < back_; ++q) {
      entries_[q & mask_].value = in.get<double>();
      entries_[q & mask_].idx = in.get<uint64_t>();
    }
  }

 private:
  struct Entry {
    double value;
    uint64_t idx;  // push index
  };
  std::array<int, N> windows_;
  uint64_t mask_;  // capacity - 1 (capacity: a power of two > the largest window)
  StateVector<Entry> entries_;
  uint64_t back_ = 0;   // one past the newest entry (positions grow without bound)
  uint64_t count_ = 0;  // values pushed
  std::array<uint64_t, N> front_{};
};

}  // namespace bqx::features::stats
