// Percentile ranks of the newest value in nested trailing windows (stats_rate / stats_bqx
// pctrank, FEATURES.md 1.6-1.7): "share of the W window values <= v_t" for every W of a
// family, from one linear pass over the newest max(W) values, or over only the blocks of
// them that straddle v_t (RankRing below).
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
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BQX_COUNT_LE_AVX2 1
#endif

#include "features/kernel.h"
#include "features/state_memory.h"

namespace bqx::features::stats {

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


// The snapshot of the rank rings below (RankRing, KeyedRankRing): the newest values in the
// format of the earlier mirrored ring of Capacity values: capacity, next slot, size, then
// Capacity slots (values oldest first from slot 0; unused slots 0). load rebuilds a ring
// by pushes, so a ring's derived data (block bounds, keys) is not part of the format.
template <size_t Capacity, class Ring>
void save_newest_values(const Ring& ring, StateWriter& out) {
  const size_t size = ring.size();
  out.put<uint64_t>(Capacity);
  out.put<uint64_t>(size == Capacity ? 0 : size);
  out.put<uint64_t>(size);
  for (size_t age = size; age-- > 0;) out.put(ring.back(age));
  for (size_t i = size; i < Capacity; ++i) out.put(0.0);
}
// Reads save_newest_values(): clear() empties the ring (also when the snapshot is invalid),
// then push(v) receives the values oldest first.
template <size_t Capacity, class Clear, class Push>
void load_newest_values(StateReader& in, Clear&& clear, Push&& push) {
  const auto cap = in.get<uint64_t>();
  const auto pos = in.get<uint64_t>();
  const auto size = in.get<uint64_t>();
  clear();
  if (!in.ok() || cap != Capacity || pos >= Capacity || size > Capacity) {
    in.fail();
    return;
  }
  std::vector<double> slots(Capacity);
  for (auto& s : slots) s = in.get<double>();
  for (size_t age = size; age-- > 0;) push(slots[(pos + Capacity - 1 - age) % Capacity]);
}

// Ring of the last `Capacity` values pushed (back(k): k pushes ago) that counts, for nested
// trailing windows, how many of their values are <= a given value (the pctrank columns).
//
// kBlockBounds: the ring also keeps the minimum and the maximum of every block of kBlock
// consecutive slots. Why: counting by a pass over all values reads the newest 1440 values
// (180 cache lines) per pair and bar, and in streaming use those lines are cold at every
// bar (28 pairs' state does not stay in the caches). A block whose maximum is <= v counts
// all its values in a window, one whose minimum is > v counts none, and only the blocks
// that straddle v are read. A price is a random walk: few blocks straddle its newest value
// (measured on the generated market: ~9 block parts per bar, of ~55). Not for a series
// without that memory (bqx_w15_return: ~33 straddle), where the bounds cost more lines and
// work than they save: there the ring is read in full (at most two runs: it wraps).
// The counts are exact integers either way, so every output is the same as with a full pass.
//
// Slots and blocks: value number p (in push order) is in slot p mod kSlots, and kSlots is
// a multiple of kBlock, so a block never wraps. A block's bounds are reset by the first
// push into it and then widened by each push, so they bound the values pushed into the
// block since; the block being filled also holds older values after those, but kSlots >=
// Capacity + kBlock - 1 makes them older than Capacity pushes, outside every window. NaN
// values are never counted (NaN <= v is false): a NaN pushed into a block makes both bounds
// NaN, both tests fail and the block is read. A NaN v counts 0 everywhere.
//
// The snapshot format is the one of the earlier mirrored ring of Capacity values (capacity,
// next slot, size, Capacity slots): load() rebuilds the slots and the bounds by pushes.
template <size_t Capacity, bool kBlockBounds>
class RankRing {
 public:
  static constexpr size_t kBlock = 32;
  static constexpr size_t kSlots = kBlockBounds ? (Capacity + 2 * kBlock - 2) / kBlock * kBlock : Capacity;
  static constexpr size_t kBlocks = kBlockBounds ? kSlots / kBlock : 0;
  // The bounds as 8-lane rows (kBoundRows rows of low bounds, as many of high bounds).
  static constexpr size_t kBoundRows = (kBlocks + 7) / 8;
  static_assert(Capacity >= 1 && kBlocks <= 64);
  static_assert(!kBlockBounds || (kSlots >= Capacity + kBlock - 1 && kSlots % kBlock == 0));

  // Unused bound lanes stay 0 (never read).
  RankRing() : data_(kSlots) {}

  size_t capacity() const { return Capacity; }
  size_t size() const { return size_; }
  void push(double v) {
    const size_t p = pos_;
    data_[p] = v;
    if constexpr (kBlockBounds) {
      float& low = low_[p / kBlock];
      float& high = high_[p / kBlock];
      const float below = float_below(v), above = float_above(v);  // NaN for a NaN v
      if (p % kBlock == 0) {
        low = below;
        high = above;
      } else {
        // NaN sticks: once a bound is NaN, x < NaN and x > NaN are false.
        if (below < low || v != v) low = below;
        if (above > high || v != v) high = above;
      }
    }
    pos_ = (p + 1 == kSlots) ? 0 : p + 1;
    if (size_ < Capacity) ++size_;
  }
  // The next push writes data_[pos_] (and the bounds of its block); the next count reads
  // the bounds and the blocks that straddle the new value, most likely those that
  // straddled the last one (the series moves little in a bar): fetched here, ahead of the
  // bar, their misses overlap with other work instead of waiting in the count.
  void prefetch() const {
    prefetch_read(this, sizeof(*this));
    prefetch_write(&data_[pos_], sizeof(double));
    if constexpr (kBlockBounds) {  // (the bounds are in this object: fetched above)
      for (uint64_t m = last_straddle_; m != 0; m &= m - 1) {
        prefetch_read(&data_[static_cast<size_t>(std::countr_zero(m)) * kBlock], kBlock * sizeof(double));
      }
    } else {
      // The full pass reads the ring oldest first (one ascending run, or two where it
      // wraps): fetch its start, the hardware prefetcher follows the run.
      const size_t oldest = (pos_ + 1 + kSlots - Capacity) % kSlots;
      prefetch_read(&data_[oldest], std::min<size_t>(kPassHead, kSlots - oldest) * sizeof(double));
    }
  }
  // back(0) = newest, back(k) = k pushes ago; k < size().
  double back(size_t k) const { return data_[pos_ > k ? pos_ - 1 - k : pos_ + kSlots - 1 - k]; }
  // The slot back(k) reads, for any k < kSlots (a value pushed k pushes ago, or an unused
  // slot: 0 or an older value, for callers that discard it).
  double back_slot(size_t k) const { return back(k); }
  // Fetches what back(k) will read after the next push (1 <= k <= Capacity).
  void prefetch_back_after_push(size_t k) const { prefetch_read(&data_[pos_ >= k ? pos_ - k : pos_ + kSlots - k], sizeof(double)); }

  // counts[i] = number of the newest windows[i] values that are <= v, for the first
  // `usable` windows (ascending lengths, each <= size()).
  template <size_t N>
  void count_le_nested(const std::array<int, N>& windows, size_t usable, double v, std::array<size_t, N>& counts) const {
    if (usable == 0) return;
    std::array<size_t, N> part{};  // part[i]: count over ages [windows[i-1], windows[i])
    if (v == v) {
      if constexpr (kBlockBounds) {
#if defined(BQX_COUNT_LE_AVX2)
        if (cpu_has_avx512()) {
          count_le_windows_avx512(windows, usable, v, counts);
          return;
        } else {
          count_by_blocks(windows, usable, v, part);
        }
#else
        count_by_blocks(windows, usable, v, part);
#endif
      } else {
        for_each_run(windows, usable, [&](size_t lo, size_t hi, size_t seg) { part[seg] += count_le(&data_[lo], hi - lo, v); });
      }
    }
    size_t cum = 0;
    for (size_t i = 0; i < usable; ++i) counts[i] = cum += part[i];
  }

  // The snapshot: save_newest_values() (the format of the earlier mirrored ring).
  void save(StateWriter& out) const { save_newest_values<Capacity>(*this, out); }
  void load(StateReader& in) {
    load_newest_values<Capacity>(in, [this] { pos_ = size_ = 0; }, [this](double v) { push(v); });
  }

 private:
  static constexpr size_t kPassHead = 64;  // values fetched ahead of a full pass

  // fn(lo, hi, seg) for the runs of slots [lo, hi) (no wrap) holding the ages
  // [windows[seg-1], windows[seg]) of each usable window segment (one or two runs each),
  // oldest segment first: the runs ascend through memory (except at the wrap), which the
  // hardware prefetcher follows.
  template <size_t N, class Fn>
  void for_each_run(const std::array<int, N>& windows, size_t usable, Fn&& fn) const {
    for (size_t i = usable; i-- > 0;) {
      const size_t w = static_cast<size_t>(windows[i]);
      const size_t prev = i > 0 ? static_cast<size_t>(windows[i - 1]) : 0;
      // Ages [prev, w) are slots [pos_ - w, pos_ - prev) modulo kSlots.
      const std::ptrdiff_t lo = static_cast<std::ptrdiff_t>(pos_) - static_cast<std::ptrdiff_t>(w);
      const std::ptrdiff_t hi = static_cast<std::ptrdiff_t>(pos_) - static_cast<std::ptrdiff_t>(prev);
      constexpr std::ptrdiff_t kS = static_cast<std::ptrdiff_t>(kSlots);
      if (hi <= 0) {
        fn(static_cast<size_t>(lo + kS), static_cast<size_t>(hi + kS), i);
      } else if (lo < 0) {
        fn(static_cast<size_t>(lo + kS), kSlots, i);
        fn(size_t{0}, static_cast<size_t>(hi), i);
      } else {
        fn(static_cast<size_t>(lo), static_cast<size_t>(hi), i);
      }
    }
  }

  struct Straddle {
    uint32_t first, len, seg;  // slots [first, first + len) of one block, in window segment seg
  };

  // Blocks whose bounds decide them are counted from two bit masks (bit b: block b has all
  // its values <= v / straddles v); the parts of straddling blocks are listed, fetched
  // together and then read. The portable path (the AVX-512 one: count_le_windows_avx512).
  template <size_t N>
  void count_by_blocks(const std::array<int, N>& windows, size_t usable, double v, std::array<size_t, N>& part) const {
    uint64_t all = 0, straddle = 0;
    block_masks(v, all, straddle);
    last_straddle_ = straddle & ((uint64_t{2} << (kBlocks - 1)) - 1);  // a hint for prefetch() (no effect on counts)
    // A run adds at most its interior blocks plus two edge parts: at most kBlocks + 2 N + 1
    // parts in all (one segment may wrap).
    Straddle parts[kBlocks + 2 * N + 2];
    size_t n = 0;
    auto edge = [&](size_t first, size_t len, size_t seg) {
      const uint64_t bit = uint64_t{1} << (first / kBlock);
      part[seg] += (all & bit) ? len : 0;
      parts[n] = Straddle{static_cast<uint32_t>(first), static_cast<uint32_t>(len), static_cast<uint32_t>(seg)};
      n += (straddle & bit) ? 1 : 0;
    };
    for_each_run(windows, usable, [&](size_t lo, size_t hi, size_t seg) {
      const size_t b_lo = lo / kBlock, b_hi = (hi - 1) / kBlock;
      if (b_lo == b_hi) {
        edge(lo, hi - lo, seg);
        return;
      }
      edge(lo, (b_lo + 1) * kBlock - lo, seg);
      edge(b_hi * kBlock, hi - b_hi * kBlock, seg);
      // Interior blocks b_lo < b < b_hi: whole.
      const uint64_t inner = (uint64_t{1} << b_hi) - (uint64_t{2} << b_lo);
      part[seg] += static_cast<size_t>(std::popcount(all & inner)) * kBlock;
      for (uint64_t m = straddle & inner; m != 0; m &= m - 1) {
        parts[n++] = Straddle{static_cast<uint32_t>(std::countr_zero(m) * kBlock), kBlock, static_cast<uint32_t>(seg)};
      }
    });
    for (size_t k = 0; k < n; ++k) prefetch_read(&data_[parts[k].first], parts[k].len * sizeof(double));
    count_parts(data_.data(), parts, n, v, part.data());
  }

#if defined(BQX_COUNT_LE_AVX2)
  // count_le_nested() from one 32-bit mask per block (bit j: slot 32 b + j holds a value
  // <= v): all ones where the block's bounds are <= v, none where its minimum is > v, the
  // compares of its 32 values where the bounds straddle v; with running counts per block,
  // each window's count is that of a slot range (its ages [0, W)) by two prefix lookups.
  // Why: the per-window runs with their edge parts (for_each_run, count_by_blocks) cost
  // more than the counting itself; here each straddling block is read once (not once per
  // window segment it lies in) and a window costs O(1). Slots a block's bounds do not
  // cover (the block being filled holds values older than Capacity pushes after pos_) and
  // slots never written lie outside every window's range: their bits are never summed.
  template <size_t N>
  __attribute__((target("avx512f,popcnt,bmi"))) void count_le_windows_avx512(const std::array<int, N>& windows, size_t usable,
                                                                            double v, std::array<size_t, N>& counts) const {
    static_assert(kBlock == 32 && kBlocks <= 64, "one 32-bit mask per block, one bit per block");
    constexpr uint64_t kAllBlocks = (uint64_t{2} << (kBlocks - 1)) - 1;
    uint64_t all = 0, straddle = 0;
    block_masks_avx512(v, all, straddle);
    all &= kAllBlocks;
    straddle &= kAllBlocks;
    last_straddle_ = straddle;  // a hint for prefetch() (no effect on counts)
    uint32_t le[kBlocks + 1];
    for (size_t b = 0; b < kBlocks; ++b) le[b] = 0u - static_cast<uint32_t>(all >> b & 1u);
    const __m512d vv = _mm512_set1_pd(v);
    for (uint64_t m = straddle; m != 0; m &= m - 1) {
      const size_t b = static_cast<size_t>(std::countr_zero(m));
      const double* block = data_.data() + b * kBlock;
      le[b] = static_cast<uint32_t>(_mm512_cmp_pd_mask(_mm512_loadu_pd(block), vv, _CMP_LE_OQ)) |
              static_cast<uint32_t>(_mm512_cmp_pd_mask(_mm512_loadu_pd(block + 8), vv, _CMP_LE_OQ)) << 8 |
              static_cast<uint32_t>(_mm512_cmp_pd_mask(_mm512_loadu_pd(block + 16), vv, _CMP_LE_OQ)) << 16 |
              static_cast<uint32_t>(_mm512_cmp_pd_mask(_mm512_loadu_pd(block + 24), vv, _CMP_LE_OQ)) << 24;
    }
    le[kBlocks] = 0;
    uint32_t before[kBlocks + 1];  // values <= v in the blocks before block b
    uint32_t running = 0;
    for (size_t b = 0; b < kBlocks; ++b) {
      before[b] = running;
      running += static_cast<uint32_t>(__builtin_popcount(le[b]));
    }
    before[kBlocks] = running;
    // Values <= v in slots [0, s), 0 <= s <= kSlots.
    auto prefix = [&](size_t s) -> size_t {
      const size_t b = s / kBlock;
      return before[b] + static_cast<size_t>(__builtin_popcount(le[b] & ((uint32_t{1} << (s % kBlock)) - 1u)));
    };
    const size_t head = prefix(pos_);  // slots [0, pos_): the newest values up to the wrap
    for (size_t i = 0; i < usable; ++i) {
      const size_t w = static_cast<size_t>(windows[i]);  // ages [0, w) = slots [pos_ - w, pos_) modulo kSlots
      counts[i] = pos_ >= w ? head - prefix(pos_ - w) : head + (running - prefix(pos_ + kSlots - w));
    }
  }
#endif

  // all / straddle bit b: block b's bounds are <= v / neither <= v nor > v (NaN bounds
  // straddle).
  // The float bounds are compared as doubles (exact conversion): high_[b] <= v implies every
  // value of the block is <= v, low_[b] > v that none is (float_below / float_above).
  void block_masks(double v, uint64_t& all, uint64_t& straddle) const {
    all = straddle = 0;
    for (size_t b = 0; b < kBlocks; ++b) {
      const bool high_le = static_cast<double>(high_[b]) <= v, low_gt = static_cast<double>(low_[b]) > v;
      all |= uint64_t{high_le} << b;
      straddle |= uint64_t{!high_le && !low_gt} << b;
    }
  }
  static void count_parts(const double* data, const Straddle* s, size_t n, double v, size_t* part) {
    for (size_t k = 0; k < n; ++k) part[s[k].seg] += count_le(data + s[k].first, s[k].len, v);
  }
#if defined(BQX_COUNT_LE_AVX2)
  // (the maskz conversions: GCC 12 trips -Wuninitialized on the plain ones)
  __attribute__((target("avx512f"))) void block_masks_avx512(double v, uint64_t& all, uint64_t& straddle) const {
    const __m512d vv = _mm512_set1_pd(v);
    all = straddle = 0;
    for (size_t r = 0; r < kBoundRows; ++r) {
      const __m512d high = _mm512_maskz_cvtps_pd(0xff, _mm256_load_ps(high_.data() + 8 * r));
      const __m512d low = _mm512_maskz_cvtps_pd(0xff, _mm256_load_ps(low_.data() + 8 * r));
      const __mmask8 high_le = _mm512_cmp_pd_mask(high, vv, _CMP_LE_OQ);
      const __mmask8 low_gt = _mm512_cmp_pd_mask(low, vv, _CMP_GT_OQ);
      all |= uint64_t{high_le} << (8 * r);
      straddle |= uint64_t{static_cast<__mmask8>(~(high_le | low_gt))} << (8 * r);
    }
  }
#endif

  // The float nearest below / above v (v itself when a float holds it exactly; NaN for
  // NaN, +-Inf for +-Inf): bounds that still bound v. Out of float range: +-Inf or +-FLT_MAX.
  // (The neighbour by the bit pattern, as std::nextafter does for these cases, without its
  // library call: f is finite or the infinity on the far side of v, never NaN here.)
  static float float_below(double v) {
    const float f = static_cast<float>(v);
    if (!(static_cast<double>(f) > v)) return f;
    if (f == 0.0f) return -std::numeric_limits<float>::denorm_min();
    const uint32_t bits = std::bit_cast<uint32_t>(f);
    return std::bit_cast<float>(f > 0.0f ? bits - 1u : bits + 1u);
  }
  static float float_above(double v) {
    const float f = static_cast<float>(v);
    if (!(static_cast<double>(f) < v)) return f;
    if (f == 0.0f) return std::numeric_limits<float>::denorm_min();
    const uint32_t bits = std::bit_cast<uint32_t>(f);
    return std::bit_cast<float>(f > 0.0f ? bits + 1u : bits - 1u);
  }

  StateVector<double> data_;
  size_t pos_ = 0;   // next slot to write
  size_t size_ = 0;  // values held (<= Capacity)
  mutable uint64_t last_straddle_ = 0;  // bit b: block b straddled the last counted value (a fetch hint)
  // Block b's minimum and maximum rounded outward to float. Why float: the bounds are read
  // at every count (all of them) and fetched at every bar: 6 cache lines instead of 12 for
  // 46 blocks. A rounded bound is looser (a block may straddle that did not), never wrong:
  // the counts stay exact. In this object, next to the fields a push reads.
  alignas(64) std::array<float, 8 * kBoundRows> low_{};
  alignas(64) std::array<float, 8 * kBoundRows> high_{};
};

// Ring of the last `Capacity` values pushed with the same interface as RankRing<Capacity,
// false>, for a series without memory (bqx_w15_return forgets in ~15 bars, so min/max block
// bounds straddle almost every value): next to each value it keeps a 16-bit key, a
// monotone (non-decreasing) quantisation of the value, and counts from the keys.
//
// Why: the full pass reads the newest 1440 values (180 cache lines, cold at every bar in
// streaming use); the keys of the same values are 45 lines. A value whose key is below
// key(v) is < v, one whose key is above is > v; only the values sharing v's key (a few:
// 65,533 keys over the range of the series) are read and compared. The counts are exact
// integers, so every output is the same as with the full pass.
//
// The key: x = (value - lo) * scale with finite lo and finite scale > 0; IEEE subtraction
// and multiplication are monotone, so x is non-decreasing in the value (+-Inf included:
// x = +-Inf); key = 0 below 1, 65534 from 65534 up, else trunc(x). NaN values get
// kNanKey, above every other key: never below a key(v) nor equal to it, so a NaN value is
// never counted (NaN <= v is false); a NaN v counts 0. Ties (v and -0/+0 alike) share a key
// and are compared exactly. lo and scale are fitted to the values held (rekey(): their
// range in the middle half of the keys) at the first pushes and when values keep leaving
// the keyed range or crowd into single keys; every key is then recomputed, so the keys in
// the ring always come from one lo/scale. Which lo/scale is used never changes a count.
//
// The snapshot format is RankRing's (capacity, next slot, size, Capacity slots): load()
// rebuilds the values and the keys by pushes.
template <size_t Capacity>
class KeyedRankRing {
 public:
  static_assert(Capacity >= 1);
  // The keys' array is at least the arena's minimum block (slots past Capacity are unused):
  // it then lies next to the family's other state arrays, on huge pages and within a
  // 32-bit offset of the kernel object (the families' prefetch hints), not on the heap.
  KeyedRankRing() : data_(Capacity), keys_(std::max(Capacity, StateArena::kMinArenaBytes / sizeof(uint16_t))) {}

  size_t capacity() const { return Capacity; }
  size_t size() const { return size_; }
  void push(double v) {
    const size_t p = pos_;
    data_[p] = v;
    const uint16_t k = key(v);
    keys_[p] = k;
    pos_ = (p + 1 == Capacity) ? 0 : p + 1;
    const bool grew = size_ < Capacity;
    size_ += grew ? 1 : 0;
    ++since_rekey_;
    saturated_ += (k == 0 || k == kTopKey) ? 1u : 0u;
    // Fitted to the first value, then to the first 16 and 128 (a young ring's range grows).
    const bool calibrate = grew && (size_ == 1 || size_ == 16 || size_ == 128);
    if (calibrate || (saturated_ > 16 && since_rekey_ >= 64) || (crowded_ && since_rekey_ >= Capacity)) rekey();
  }
  // The next push writes slot pos_; the next count reads the keys oldest first (one
  // ascending run, or two where the ring wraps): their start is fetched here, the hardware
  // prefetcher follows the run.
  void prefetch() const {
    prefetch_read(this, sizeof(*this));
    prefetch_write(&data_[pos_], sizeof(double));
    prefetch_write(&keys_[pos_], sizeof(uint16_t));
    const size_t oldest = (pos_ + 1) % Capacity;
    prefetch_read(&keys_[oldest], std::min<size_t>(kPassHead, Capacity - oldest) * sizeof(uint16_t));
  }
  // back(0) = newest, back(k) = k pushes ago; k < size().
  double back(size_t k) const { return data_[pos_ > k ? pos_ - 1 - k : pos_ + Capacity - 1 - k]; }
  void prefetch_back_after_push(size_t k) const {
    prefetch_read(&data_[pos_ >= k ? pos_ - k : pos_ + Capacity - k], sizeof(double));
  }
  // prefetch() without reading this object's fields: from data(), keys(), position() kept
  // elsewhere (a family's first cache line; see RingBlockWindows::prefetch_from for why).
  // keys() and data() change at load() (it rebuilds the ring).
  void prefetch_object() const { prefetch_read(this, sizeof(*this)); }
  static void prefetch_from(const double* data, const uint16_t* keys, size_t position) {
    prefetch_write(data + position, sizeof(double));
    prefetch_write(keys + position, sizeof(uint16_t));
    const size_t oldest = (position + 1) % Capacity;
    prefetch_read(keys + oldest, std::min<size_t>(kPassHead, Capacity - oldest) * sizeof(uint16_t));
  }
  const double* data() const { return data_.data(); }
  const uint16_t* keys() const { return keys_.data(); }
  size_t position() const { return pos_; }

  // The ways count_le_nested() can count (each gives the same exact integers; tests run every
  // one the CPU has against a brute-force count).
  enum class CountPath {
    kSlotRuns,     // per-window runs of slots (AVX-512BW compares where the CPU has them)
    kChunksAvx2,   // the whole ring in chunks of 32 keys, AVX2 compares (2 x 16 keys)
    kChunksAvx512  // the same chunks, one AVX-512BW compare each
  };
  static bool can_count_by(CountPath path) {
#if defined(BQX_COUNT_LE_AVX2)
    if (path == CountPath::kChunksAvx512) return Capacity % kChunk == 0 && cpu_has_avx512bw();
    if (path == CountPath::kChunksAvx2) return Capacity % kChunk == 0 && cpu_has_avx2() && cpu_has_bmi_popcnt();
#endif
    return path == CountPath::kSlotRuns;
  }
  static CountPath best_count_path() {
    static const CountPath best = can_count_by(CountPath::kChunksAvx512) ? CountPath::kChunksAvx512
                                  : can_count_by(CountPath::kChunksAvx2) ? CountPath::kChunksAvx2
                                                                         : CountPath::kSlotRuns;
    return best;
  }

  // counts[i] = number of the newest windows[i] values that are <= v, for the first
  // `usable` windows (ascending lengths, each <= size()).
  template <size_t N>
  void count_le_nested(const std::array<int, N>& windows, size_t usable, double v, std::array<size_t, N>& counts) const {
    count_le_nested_by(best_count_path(), windows, usable, v, counts);
  }
  // The same by a given path (one that can_count_by()).
  template <size_t N>
  void count_le_nested_by(CountPath path, const std::array<int, N>& windows, size_t usable, double v,
                          std::array<size_t, N>& counts) const {
    if (usable == 0) return;
    size_t ties = 0;  // values read (their key is key(v))
#if defined(BQX_COUNT_LE_AVX2)
    if constexpr (Capacity % kChunk == 0) {
      if (path != CountPath::kSlotRuns) {
        if (v == v) {
          ChunkBits chunks;
          ties = path == CountPath::kChunksAvx512 ? chunk_bits_avx512(key(v), v, chunks) : chunk_bits_avx2(key(v), v, chunks);
          window_counts_from_chunks(chunks, windows, usable, counts);
        } else {
          for (size_t i = 0; i < usable; ++i) counts[i] = 0;  // a NaN v counts 0
        }
        if (ties > kCrowded) crowded_ = true;  // a hint for push() (no effect on counts)
        return;
      }
    }
#endif
    std::array<size_t, N> part{};  // part[i]: count over ages [windows[i-1], windows[i])
    if (v == v) {
      const uint16_t kv = key(v);
      for (size_t i = usable; i-- > 0;) {  // oldest segment first: ascending through memory
        const size_t w = static_cast<size_t>(windows[i]);
        const size_t prev = i > 0 ? static_cast<size_t>(windows[i - 1]) : 0;
        // Ages [prev, w) are slots [pos_ - w, pos_ - prev) modulo Capacity.
        const std::ptrdiff_t lo = static_cast<std::ptrdiff_t>(pos_) - static_cast<std::ptrdiff_t>(w);
        const std::ptrdiff_t hi = static_cast<std::ptrdiff_t>(pos_) - static_cast<std::ptrdiff_t>(prev);
        constexpr std::ptrdiff_t kC = static_cast<std::ptrdiff_t>(Capacity);
        if (hi <= 0) {
          part[i] += count_run(static_cast<size_t>(lo + kC), static_cast<size_t>(hi + kC), kv, v, ties);
        } else if (lo < 0) {
          part[i] += count_run(static_cast<size_t>(lo + kC), Capacity, kv, v, ties);
          part[i] += count_run(0, static_cast<size_t>(hi), kv, v, ties);
        } else {
          part[i] += count_run(static_cast<size_t>(lo), static_cast<size_t>(hi), kv, v, ties);
        }
      }
    }
    if (ties > kCrowded) crowded_ = true;  // a hint for push() (no effect on counts)
    size_t cum = 0;
    for (size_t i = 0; i < usable; ++i) counts[i] = cum += part[i];
  }

  // RankRing's snapshot (save_newest_values); load() refits the keys by its pushes.
  void save(StateWriter& out) const { save_newest_values<Capacity>(*this, out); }
  void load(StateReader& in) {
    load_newest_values<Capacity>(in, [this] { *this = KeyedRankRing(); }, [this](double v) { push(v); });
  }

 private:
  static constexpr size_t kPassHead = 128;   // keys fetched ahead of a count
  static constexpr uint16_t kTopKey = 65534;  // values at or above the keyed range
  static constexpr uint16_t kNanKey = 65535;
  static constexpr size_t kCrowded = 48;  // values read by a count above which the keys are refitted

  uint16_t key(double v) const {
    if (v != v) return kNanKey;
    const double x = (v - lo_) * scale_;
    if (!(x >= 1.0)) return 0;
    if (!(x < static_cast<double>(kTopKey))) return kTopKey;
    return static_cast<uint16_t>(x);
  }
  // lo / scale from the finite values held: their range maps to keys ~16384..49152 (a
  // flat window: its value to ~32768); lo finite and scale finite and > 0 in every case.
  void rekey() {
    double mn = 0, mx = 0;
    bool any = false;
    for (size_t age = 0; age < size_; ++age) {
      const double x = back(age);
      if (!std::isfinite(x)) continue;
      if (!any || x < mn) mn = x;
      if (!any || x > mx) mx = x;
      any = true;
    }
    double span = mx - mn;
    if (!(span > 0)) span = mn != 0 ? std::fabs(mn) : 1.0;
    double scale = 32768.0 / span;
    double lo = mn - span / 2;
    if (!(std::isfinite(scale) && scale > 0)) scale = 1.0;
    if (!std::isfinite(lo)) lo = mn;
    lo_ = lo;
    scale_ = scale;
    for (size_t s = 0; s < Capacity; ++s) keys_[s] = key(data_[s]);
    since_rekey_ = 0;
    saturated_ = 0;
    crowded_ = false;
  }

  // Values in slots [lo, hi) <= v, where kv = key(v): the keys below kv, and the values
  // with key kv compared (counted in `ties`).
  size_t count_run(size_t lo, size_t hi, uint16_t kv, double v, size_t& ties) const {
#if defined(BQX_COUNT_LE_AVX2)
    if (cpu_has_avx512bw()) return count_run_avx512(keys_.data(), data_.data(), lo, hi, kv, v, ties);
#endif
    size_t c = 0;
    for (size_t s = lo; s < hi; ++s) c += keys_[s] < kv ? 1 : 0;
    for (size_t s = lo; s < hi; ++s) {
      if (keys_[s] == kv) {
        ++ties;
        c += data_[s] <= v ? 1 : 0;
      }
    }
    return c;
  }
#if defined(BQX_COUNT_LE_AVX2)
  static bool cpu_has_avx512bw() {
    static const bool has = cpu_has_avx512() && __builtin_cpu_supports("avx512bw");
    return has;
  }
  static bool cpu_has_bmi_popcnt() {
    static const bool has = __builtin_cpu_supports("bmi") && __builtin_cpu_supports("popcnt");
    return has;
  }
  static constexpr size_t kChunk = 32;  // keys per chunk (one AVX-512 compare, two AVX2 ones)

  // The chunk paths count over the whole ring at once: bit j of le[c] = slot 32 c + j holds a
  // value <= v (its key is below kv, or equal and the value compared), with running counts
  // per chunk; each window's count is then the count of a slot range (its ages [0, W)) by
  // two prefix lookups. Why: the per-window runs start and end mid-chunk (masked loads, a
  // loop per run); here every chunk is read once, aligned, and the windows cost O(1) each.
  // Slots outside the values held are compared too but lie outside every window's range
  // (counts are exact integers either way).
  struct ChunkBits {
    static constexpr size_t kChunks = Capacity / kChunk;
    uint32_t le[kChunks + 1];
    uint32_t before[kChunks + 1];  // values <= v in the chunks before chunk c
    uint32_t total = 0;            // values <= v in all slots
  };
  // Chunk c's bits from its key compares (below: keys < kv; equal: keys == kv, whose values
  // are compared one by one and counted in `ties`).
  static void add_chunk(ChunkBits& chunks, size_t c, uint32_t below, uint32_t equal, const double* data, double v,
                        size_t& ties) {
    for (; equal != 0; equal &= equal - 1) {
      const unsigned j = static_cast<unsigned>(std::countr_zero(equal));
      ++ties;
      below |= (data[c * kChunk + j] <= v ? 1u : 0u) << j;
    }
    chunks.le[c] = below;
    chunks.before[c] = chunks.total;
    chunks.total += static_cast<uint32_t>(std::popcount(below));
  }
  template <size_t N>
  void window_counts_from_chunks(ChunkBits& chunks, const std::array<int, N>& windows, size_t usable,
                                 std::array<size_t, N>& counts) const {
    chunks.le[ChunkBits::kChunks] = 0;
    chunks.before[ChunkBits::kChunks] = chunks.total;
    // Values <= v in slots [0, s), 0 <= s <= Capacity.
    auto prefix = [&](size_t s) -> size_t {
      const size_t c = s / kChunk;
      return chunks.before[c] + static_cast<size_t>(std::popcount(chunks.le[c] & ((uint32_t{1} << (s % kChunk)) - 1u)));
    };
    const size_t head = prefix(pos_);  // slots [0, pos_): the newest values up to the wrap
    for (size_t i = 0; i < usable; ++i) {
      const size_t w = static_cast<size_t>(windows[i]);  // ages [0, w) = slots [pos_ - w, pos_) modulo Capacity
      counts[i] = pos_ >= w ? head - prefix(pos_ - w) : head + (chunks.total - prefix(pos_ + Capacity - w));
    }
  }
  // Both fill every chunk and return the values read (key kv).
  __attribute__((target("avx512f,avx512bw,popcnt,bmi"))) size_t chunk_bits_avx512(uint16_t kv, double v,
                                                                                 ChunkBits& chunks) const {
    const __m512i kvv = _mm512_set1_epi16(static_cast<short>(kv));
    const uint16_t* keys = keys_.data();
    size_t ties = 0;
    for (size_t c = 0; c < ChunkBits::kChunks; ++c) {
      const __m512i k = _mm512_loadu_si512(keys + c * kChunk);
      add_chunk(chunks, c, _mm512_cmplt_epu16_mask(k, kvv), _mm512_cmpeq_epu16_mask(k, kvv), data_.data(), v, ties);
    }
    return ties;
  }
  // AVX2 has no unsigned 16-bit compare: keys and kv with their top bit flipped compare as
  // signed in the same order. The two halves' 16-bit compare results are narrowed to bytes
  // (packs: -1 stays -1) and put back in slot order (packs interleaves the 128-bit lanes),
  // so one byte mask gives the chunk's 32 bits.
  __attribute__((target("avx2,popcnt,bmi"))) size_t chunk_bits_avx2(uint16_t kv, double v, ChunkBits& chunks) const {
    const __m256i flip = _mm256_set1_epi16(static_cast<short>(0x8000));
    const __m256i kvv = _mm256_set1_epi16(static_cast<short>(kv));
    const __m256i kv_signed = _mm256_xor_si256(kvv, flip);
    const uint16_t* keys = keys_.data();
    auto bits = [](__m256i first16, __m256i next16) __attribute__((target("avx2"))) {
      return static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_permute4x64_epi64(_mm256_packs_epi16(first16, next16), 0xD8)));
    };
    size_t ties = 0;
    for (size_t c = 0; c < ChunkBits::kChunks; ++c) {
      const __m256i k0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(keys + c * kChunk));
      const __m256i k1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(keys + c * kChunk + 16));
      const uint32_t below = bits(_mm256_cmpgt_epi16(kv_signed, _mm256_xor_si256(k0, flip)),
                                  _mm256_cmpgt_epi16(kv_signed, _mm256_xor_si256(k1, flip)));
      const uint32_t equal = bits(_mm256_cmpeq_epi16(k0, kvv), _mm256_cmpeq_epi16(k1, kvv));
      add_chunk(chunks, c, below, equal, data_.data(), v, ties);
    }
    return ties;
  }

  // 32 keys per compare (masked at the run's end); the values of equal keys are compared
  // one by one.
  __attribute__((target("avx512f,avx512bw,popcnt,bmi"))) static size_t count_run_avx512(const uint16_t* keys, const double* data,
                                                                                   size_t lo, size_t hi, uint16_t kv, double v,
                                                                                   size_t& ties) {
    const __m512i kvv = _mm512_set1_epi16(static_cast<short>(kv));
    size_t c = 0;
    for (size_t s = lo; s < hi; s += 32) {
      const __mmask32 take = hi - s >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((uint32_t{1} << (hi - s)) - 1u);
      const __m512i k = _mm512_maskz_loadu_epi16(take, keys + s);
      c += static_cast<size_t>(__builtin_popcount(_mm512_mask_cmplt_epu16_mask(take, k, kvv)));
      for (uint32_t eq = _mm512_mask_cmpeq_epu16_mask(take, k, kvv); eq != 0; eq &= eq - 1) {
        ++ties;
        c += data[s + static_cast<size_t>(std::countr_zero(eq))] <= v ? 1 : 0;
      }
    }
    return c;
  }
#endif

  StateVector<double> data_;
  StateVector<uint16_t> keys_;  // keys_[s] = key(data_[s]) for the current lo_ / scale_
  size_t pos_ = 0;   // next slot to write
  size_t size_ = 0;  // values held (<= Capacity)
  double lo_ = 0, scale_ = 1;
  size_t since_rekey_ = 0;      // pushes since the keys were last fitted
  size_t saturated_ = 0;        // of those, values keyed 0 or kTopKey (outside the keyed range)
  mutable bool crowded_ = false;  // a count read more than kCrowded values
};

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
      : mask_(capacity_mask(windows)),
        entries_(mask_ + 1) {
    for (size_t i = 0; i < N; ++i) {
      if (windows[i] < 1 || windows[i] > 0xFFFF) throw std::length_error("NestedExtremes: windows too long for 16-bit lanes");
      window_lane_[i] = static_cast<uint16_t>(windows[i]);
    }
  }

  void push(double x) {
    const uint64_t idx = count_;
    // Drop dominated entries from the back (ties: the newest wins).
    uint64_t back = back_;
#if defined(BQX_COUNT_LE_AVX2)
    if (cpu_has_avx512()) back = drop_dominated_avx512(back, x);
#endif
    while (back > front_[N - 1]) {
      const double b = entries_[(back - 1) & mask_].value;
      if (kMax ? (b <= x) : (b >= x)) --back; else break;
    }
    const uint64_t newest = back;  // capacity > largest window: never overwrites a live entry
    entries_[newest & mask_] = Entry{x, idx};
    back_ = newest + 1;
    ++count_;
    // Each window's front: the new entry if its old front was dropped, then past the
    // entries that leave the window with this push (the newest entry never does). The
    // front entries are also kept here (front_value_ / front_idx_, copies): a window's
    // entry line is read only when its front moves past an old entry, not at every push
    // and value().
#if defined(BQX_COUNT_LE_AVX2)
    if (cpu_has_avx512()) {
      update_fronts_avx512(newest, x, idx);
      return;
    }
#endif
    for (size_t i = 0; i < N; ++i) {
      if (newest <= front_[i]) {
        front_[i] = newest;
        front_value_[i] = x;
        front_idx_[i] = idx;
      }
      advance_front(i, idx);
    }
  }
  // Extreme of the last min(count, W_i) values; count() > 0.
  double value(size_t i) const { return front_value_[i]; }
  uint64_t count() const { return count_; }

  // The next push reads the back (and the entries after a front that moves) and writes
  // after the back.
  void prefetch() const {
    prefetch_read(this, sizeof(*this));
    if (back_ > 0) prefetch_read(&entries_[(back_ - 1) & mask_], sizeof(Entry));
    prefetch_write(&entries_[back_ & mask_], sizeof(Entry));
  }
  // prefetch() without reading this object's fields: from entries() and back_slot() kept
  // elsewhere (a family's first cache line; see RingBlockWindows::prefetch_from for why).
  // `windows`: the constructor's.
  void prefetch_object() const { prefetch_read(this, sizeof(*this)); }
  static void prefetch_from(const void* entries, uint64_t back_slot, const std::array<int, N>& windows) {
    const uint64_t mask = capacity_mask(windows);
    const Entry* e = static_cast<const Entry*>(entries);
    prefetch_read(e + ((back_slot - 1) & mask), sizeof(Entry));
    prefetch_write(e + (back_slot & mask), sizeof(Entry));
  }
  const void* entries() const { return entries_.data(); }
  uint64_t back_slot() const { return back_ & mask_; }
  static constexpr uint64_t capacity_mask(const std::array<int, N>& windows) {
    return std::bit_ceil(static_cast<uint64_t>(windows[N - 1] > 0 ? windows[N - 1] : 1) + 1) - 1;
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
      for (size_t i = 0; i < N; ++i) front_[i] = front_idx_[i] = 0;
      for (size_t i = 0; i < N; ++i) front_value_[i] = 0.0;
      return;
    }
    for (uint64_t q = front_[N - 1]; q < back_; ++q) {
      entries_[q & mask_].value = in.get<double>();
      entries_[q & mask_].idx = in.get<uint64_t>();
    }
    for (size_t i = 0; i < N; ++i) {
      front_value_[i] = entries_[front_[i] & mask_].value;
      front_idx_[i] = entries_[front_[i] & mask_].idx;
    }
  }

 private:
  struct Entry {
    double value;
    uint64_t idx;  // push index
  };
#if defined(BQX_COUNT_LE_AVX2)
  // The dropping loop of push() on the newest 8 entries at a time: one compare, and the
  // count of consecutive dominated entries from the newest (bounded by the live entries),
  // instead of a branch per entry whose trip count (data-dependent) mispredicted. Where
  // the 8 entries wrap around the ring it stops, and push()'s scalar loop finishes (it also
  // checks the same rule, so the result is the same either way).
  __attribute__((target("avx512f"))) uint64_t drop_dominated_avx512(uint64_t back, double x) const {
    const uint64_t limit = front_[N - 1];
    const __m512d xv = _mm512_set1_pd(x);
    const __m512i values_of_entries = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);  // Entry::value of 8 entries
    static_assert(sizeof(Entry) == 2 * sizeof(double) && offsetof(Entry, value) == 0);
    while (back > limit && back >= 8) {
      const uint64_t first = (back - 8) & mask_;
      if (first + 7 != ((back - 1) & mask_)) break;  // wraps
      const double* p = &entries_[first].value;
      const __m512d values = _mm512_permutex2var_pd(_mm512_loadu_pd(p), values_of_entries, _mm512_loadu_pd(p + 8));
      // Bit 7 - j: entry back - 1 - j is dominated by x.
      const __mmask8 dominated = _mm512_cmp_pd_mask(values, xv, kMax ? _CMP_LE_OQ : _CMP_GE_OQ);
      const uint64_t drops = std::min<uint64_t>(static_cast<uint64_t>(std::countl_one(static_cast<uint8_t>(dominated))), back - limit);
      back -= drops;
      if (drops < 8) break;
    }
    return back;
  }
#endif
  // Moves window i's front past the entries that left the window at push `idx`.
  void advance_front(size_t i, uint64_t idx) {
    uint64_t f = front_[i];
    while (front_idx_[i] + window_lane_[i] <= idx) {
      const Entry& e = entries_[++f & mask_];
      front_value_[i] = e.value;
      front_idx_[i] = e.idx;
    }
    front_[i] = f;
  }
#if defined(BQX_COUNT_LE_AVX2)
  // The fronts' loop above as 8 lanes (lane i = window i): the "dropped" test and the
  // first expiry test of all windows in a few vector operations instead of a branchy scalar
  // step per window; only the rare windows whose front entry leaves the window walk the
  // deque (advance_front). Copies and integer compares only: same values as the scalar loop.
  __attribute__((target("avx512f"))) void update_fronts_avx512(uint64_t newest, double x, uint64_t idx) {
    constexpr __mmask8 kLanes = static_cast<__mmask8>((1u << N) - 1u);
    const __m512i newest_v = _mm512_set1_epi64(static_cast<long long>(newest));
    const __m512i idx_v = _mm512_set1_epi64(static_cast<long long>(idx));
    const __m512i front = _mm512_load_si512(front_.data());
    const __mmask8 dropped = _mm512_mask_cmple_epu64_mask(kLanes, newest_v, front);
    _mm512_store_si512(front_.data(), _mm512_mask_mov_epi64(front, dropped, newest_v));
    _mm512_store_pd(front_value_.data(), _mm512_mask_mov_pd(_mm512_load_pd(front_value_.data()), dropped, _mm512_set1_pd(x)));
    const __m512i front_idx = _mm512_mask_mov_epi64(_mm512_load_si512(front_idx_.data()), dropped, idx_v);
    _mm512_store_si512(front_idx_.data(), front_idx);
    // (the maskz form: GCC 12 trips -Wuninitialized on the plain one)
    const __m512i window = _mm512_maskz_cvtepu16_epi64(0xff, _mm_load_si128(reinterpret_cast<const __m128i*>(window_lane_.data())));
    const __mmask8 expired = _mm512_mask_cmple_epu64_mask(kLanes, _mm512_add_epi64(front_idx, window), idx_v);
    for (unsigned m = expired; m != 0; m &= m - 1) advance_front(static_cast<size_t>(std::countr_zero(m)), idx);
  }
#endif

  uint64_t mask_;  // capacity - 1 (capacity: a power of two > the largest window)
  StateVector<Entry> entries_;
  uint64_t back_ = 0;   // one past the newest entry (positions grow without bound)
  uint64_t count_ = 0;  // values pushed
  // W_i per window (lanes >= N: 0), 16 bits: with the fields above, one cache line (a push
  // touches this line and the three below: in streaming use each is a miss per pair).
  alignas(16) std::array<uint16_t, 8> window_lane_{};
  // Per window i (8 lanes, lanes >= N unused): the deque position of its front and a copy
  // of that entry (entries_[front_[i]]: same bits).
  alignas(64) std::array<uint64_t, 8> front_{};
  alignas(64) std::array<double, 8> front_value_{};
  alignas(64) std::array<uint64_t, 8> front_idx_{};
};

}  // namespace bqx::features::stats
