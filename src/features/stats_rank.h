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

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "features/kernel.h"

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
  std::vector<double> data_;
  size_t pos_ = 0;   // next slot to write in the first copy
  size_t size_ = 0;  // values held (<= cap_)
};

// Number of a[0..n) that are <= v. GCC 12 does not vectorise the scalar loop (compare +
// carry per element), so x86-64 uses SSE2 directly: cmplepd gives an all-ones lane (-1 as
// an integer) per hit, subtracted from four independent accumulators.
inline size_t count_le(const double* a, size_t n, double v) {
  size_t i = 0;
  size_t c = 0;
#if defined(__SSE2__)
  const __m128d vv = _mm_set1_pd(v);
  __m128i acc0 = _mm_setzero_si128(), acc1 = _mm_setzero_si128();
  __m128i acc2 = _mm_setzero_si128(), acc3 = _mm_setzero_si128();
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm_sub_epi64(acc0, _mm_castpd_si128(_mm_cmple_pd(_mm_loadu_pd(a + i), vv)));
    acc1 = _mm_sub_epi64(acc1, _mm_castpd_si128(_mm_cmple_pd(_mm_loadu_pd(a + i + 2), vv)));
    acc2 = _mm_sub_epi64(acc2, _mm_castpd_si128(_mm_cmple_pd(_mm_loadu_pd(a + i + 4), vv)));
    acc3 = _mm_sub_epi64(acc3, _mm_castpd_si128(_mm_cmple_pd(_mm_loadu_pd(a + i + 6), vv)));
  }
  const __m128i acc = _mm_add_epi64(_mm_add_epi64(acc0, acc1), _mm_add_epi64(acc2, acc3));
  alignas(16) uint64_t lanes[2];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), acc);
  c = static_cast<size_t>(lanes[0] + lanes[1]);
#endif
  for (; i < n; ++i) c += (a[i] <= v) ? 1 : 0;
  return c;
}

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

}  // namespace bqx::features::stats
