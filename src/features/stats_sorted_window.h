// Order statistics over the last W values (FEATURES.md 1.6-1.8): a sorted copy of the
// window kept next to a ring buffer of the values in arrival order.
//
// Cost per push (documented exception to O(log W), allowed by the kernel contract): the
// ranks of the evicted and the new value by sequential vectorised counting over the sorted
// values (O(W) compares, but no dependent cache misses: with 28 pairs the window is cold
// at every bar, and a binary search pays one miss per probe), plus one memmove of the
// elements lying between the two ranks (the evicted slot is reused, so there is one shift,
// not a delete and an insert). Queries are O(log W) (rank) or O(1) (k-th value, min, max).
// Used by dist_rate for W <= 240. No allocation after construction.
// NaN must never be pushed (callers skip NULL inputs).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "features/kernel.h"
#include "features/rolling.h"
#include "features/stats_rank.h"

namespace bqx::features::stats {

// Branch-free binary searches (the comparison feeds a conditional move, not a branch: the
// probes of a rolling window are unpredictable). Same results as std::lower_bound /
// std::upper_bound on a[0..n).
inline size_t lower_index(const double* a, size_t n, double v) {  // first i with a[i] >= v
  if (n == 0) return 0;
  const double* base = a;
  while (n > 1) {
    const size_t half = n / 2;
    base += (base[half] < v) ? half : 0;
    n -= half;
  }
  return static_cast<size_t>(base - a) + (*base < v ? 1 : 0);
}
inline size_t upper_index(const double* a, size_t n, double v) {  // first i with a[i] > v
  if (n == 0) return 0;
  const double* base = a;
  while (n > 1) {
    const size_t half = n / 2;
    base += (base[half] <= v) ? half : 0;
    n -= half;
  }
  return static_cast<size_t>(base - a) + (*base <= v ? 1 : 0);
}

// lower_index / upper_index when the answer is expected near `hint`: first checked against
// the window [hint - r, hint + r) of a (two reads), then searched in it; else over all of a.
// The same results as the plain searches (a[lo - 1] < v <= a[hi] bounds the answer to
// [lo, hi]), with probes on the few lines around the hint instead of across the array.
//
// Inside the neighbourhood (at most 64 values with r = 32) the index is a count: on sorted
// values without NaN, lower_index = the number of values < v and upper_index = the number
// <= v. With AVX-512 that is 8 independent compares and popcounts instead of a chain of 6
// dependent probes; the same integers either way.
#if defined(BQX_COUNT_LE_AVX2)
template <bool kStrict>
__attribute__((target("avx512f,popcnt"))) inline size_t count_below_short_avx512(const double* a, size_t n,
                                                                               double v) {
  const __m512d vv = _mm512_set1_pd(v);
  size_t c = 0;
  for (size_t t = 0; t < n; t += 8) {
    const size_t left = n - t;
    const __mmask8 take = left >= 8 ? static_cast<__mmask8>(0xff) : static_cast<__mmask8>((1u << left) - 1u);
    const __m512d x = _mm512_maskz_loadu_pd(take, a + t);
    c += static_cast<size_t>(
        __builtin_popcount(_mm512_mask_cmp_pd_mask(take, x, vv, kStrict ? _CMP_LT_OQ : _CMP_LE_OQ)));
  }
  return c;
}
#endif
inline size_t lower_index_short(const double* a, size_t n, double v) {
#if defined(BQX_COUNT_LE_AVX2)
  if (cpu_has_avx512()) return count_below_short_avx512<true>(a, n, v);
#endif
  return lower_index(a, n, v);
}
inline size_t upper_index_short(const double* a, size_t n, double v) {
#if defined(BQX_COUNT_LE_AVX2)
  if (cpu_has_avx512()) return count_below_short_avx512<false>(a, n, v);
#endif
  return upper_index(a, n, v);
}
inline size_t lower_index_near(const double* a, size_t n, double v, size_t hint, size_t r) {
  const size_t lo = hint > r ? hint - r : 0, hi = std::min(n, hint + r);
  if ((lo == 0 || a[lo - 1] < v) && (hi == n || a[hi] >= v)) return lo + lower_index_short(a + lo, hi - lo, v);
  return lower_index(a, n, v);
}
inline size_t upper_index_near(const double* a, size_t n, double v, size_t hint, size_t r) {
  const size_t lo = hint > r ? hint - r : 0, hi = std::min(n, hint + r);
  if ((lo == 0 || a[lo - 1] <= v) && (hi == n || a[hi] > v)) return lo + upper_index_short(a + lo, hi - lo, v);
  return upper_index(a, n, v);
}

// memmove of n doubles between overlapping ranges, inline for the short shifts of a push
// (a library call per push otherwise). Every load comes before every store, so either
// direction of overlap is safe; the values are copied, not computed.
#if defined(BQX_COUNT_LE_AVX2)
__attribute__((target("avx512f"))) inline void move_values_short_avx512(double* dst, const double* src, size_t n) {
  auto mask = [](size_t k) {
    return k >= 8 ? static_cast<__mmask8>(0xff) : static_cast<__mmask8>((1u << k) - 1u);
  };
  if (n <= 8) {
    const __mmask8 m0 = mask(n);
    const __m512d x0 = _mm512_maskz_loadu_pd(m0, src);
    _mm512_mask_storeu_pd(dst, m0, x0);
    return;
  }
  if (n <= 16) {  // two chunks; the second overlaps the first (n - 8 .. n)
    const __m512d x0 = _mm512_loadu_pd(src), x1 = _mm512_loadu_pd(src + n - 8);
    _mm512_storeu_pd(dst, x0);
    _mm512_storeu_pd(dst + n - 8, x1);
    return;
  }
  if (n <= 32) {  // the first 16 values and the last 16 (overlapping when n < 32)
    const __m512d x0 = _mm512_loadu_pd(src), x1 = _mm512_loadu_pd(src + 8), x2 = _mm512_loadu_pd(src + n - 16),
                  x3 = _mm512_loadu_pd(src + n - 8);
    _mm512_storeu_pd(dst, x0);
    _mm512_storeu_pd(dst + 8, x1);
    _mm512_storeu_pd(dst + n - 16, x2);
    _mm512_storeu_pd(dst + n - 8, x3);
    return;
  }
  // 32 < n <= 64: the first 32 values and the last 32.
  const __m512d x0 = _mm512_loadu_pd(src), x1 = _mm512_loadu_pd(src + 8), x2 = _mm512_loadu_pd(src + 16),
                x3 = _mm512_loadu_pd(src + 24), x4 = _mm512_loadu_pd(src + n - 32),
                x5 = _mm512_loadu_pd(src + n - 24), x6 = _mm512_loadu_pd(src + n - 16),
                x7 = _mm512_loadu_pd(src + n - 8);
  _mm512_storeu_pd(dst, x0);
  _mm512_storeu_pd(dst + 8, x1);
  _mm512_storeu_pd(dst + 16, x2);
  _mm512_storeu_pd(dst + 24, x3);
  _mm512_storeu_pd(dst + n - 32, x4);
  _mm512_storeu_pd(dst + n - 24, x5);
  _mm512_storeu_pd(dst + n - 16, x6);
  _mm512_storeu_pd(dst + n - 8, x7);
}
#endif
inline void move_values(double* dst, const double* src, size_t n) {
#if defined(BQX_COUNT_LE_AVX2)
  if (n <= 64 && cpu_has_avx512()) {
    move_values_short_avx512(dst, src, n);
    return;
  }
#endif
  std::memmove(dst, src, n * sizeof(double));
}

#if defined(BQX_COUNT_LE_AVX2)
// *lt = count_lt(a, n, lt_value) and *le = count_le(a, n, le_value) from one pass over a
// (a replace needs both on the same sorted array: one read of it instead of two). Exact
// integer counts, so the same results as the two calls.
__attribute__((target("avx512f"))) inline void count_lt_le_avx512(const double* a, size_t n, double lt_value,
                                                                 double le_value, size_t* lt, size_t* le) {
  const __m512d lt_v = _mm512_set1_pd(lt_value), le_v = _mm512_set1_pd(le_value);
  const __m512i one = _mm512_set1_epi64(1);
  __m512i acc_lt = _mm512_setzero_si512(), acc_le = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m512d x = _mm512_loadu_pd(a + i);
    acc_lt = _mm512_mask_add_epi64(acc_lt, _mm512_cmp_pd_mask(x, lt_v, _CMP_LT_OQ), acc_lt, one);
    acc_le = _mm512_mask_add_epi64(acc_le, _mm512_cmp_pd_mask(x, le_v, _CMP_LE_OQ), acc_le, one);
  }
  if (i < n) {
    const __mmask8 take = static_cast<__mmask8>((1u << (n - i)) - 1u);
    const __m512d x = _mm512_maskz_loadu_pd(take, a + i);
    acc_lt = _mm512_mask_add_epi64(acc_lt, _mm512_mask_cmp_pd_mask(take, x, lt_v, _CMP_LT_OQ), acc_lt, one);
    acc_le = _mm512_mask_add_epi64(acc_le, _mm512_mask_cmp_pd_mask(take, x, le_v, _CMP_LE_OQ), acc_le, one);
  }
  alignas(64) uint64_t lanes_lt[8], lanes_le[8];
  _mm512_store_si512(lanes_lt, acc_lt);
  _mm512_store_si512(lanes_le, acc_le);
  size_t c_lt = 0, c_le = 0;
  for (int l = 0; l < 8; ++l) {
    c_lt += static_cast<size_t>(lanes_lt[l]);
    c_le += static_cast<size_t>(lanes_le[l]);
  }
  *lt = c_lt;
  *le = c_le;
}
#endif

class SortedWindow {
 public:
  explicit SortedWindow(size_t window = 1) : ring_(window), sorted_(window) {}

  size_t window() const { return ring_.capacity(); }
  size_t size() const { return ring_.size(); }
  bool full() const { return ring_.full(); }
  const RingBuffer<double>& values() const { return ring_; }

  // Pushes v (evicting the oldest value once full) and returns count_le(v) for the new
  // window, which the insertion position gives for free.
  size_t push(double v) {
    double old = 0;
    if (ring_.push(v, &old)) return replace(old, v);
    return insert(v);
  }

  // Sorted values: at(0) = min, at(size() - 1) = max.
  double at(size_t i) const { return sorted_[i]; }
  const double* data() const { return sorted_.data(); }
  double min() const { return sorted_[0]; }
  double max() const { return sorted_[ring_.size() - 1]; }
  // Number of window values <= v / < v.
  size_t count_le(double v) const { return upper_index(sorted_.data(), ring_.size(), v); }
  size_t count_lt(double v) const { return lower_index(sorted_.data(), ring_.size(), v); }

  // The next push reads/writes the ring slot and counts over the whole sorted array.
  // A long window with rank hints fetches only the values between the evicted value's rank
  // and the neighbourhood of the previous insertion (the shift and both searches stay in
  // there, unless the new value jumped far), and the slot after the evicted one (read for
  // the next rank hint). The caller fetches the ranks it reads (prefetch_rank).
  void prefetch() const {
    prefetch_read(this, sizeof(*this));
    ring_.prefetch();
    const size_t n = ring_.size();
    if (old_rank_valid_) {
      const size_t lo = std::min(old_rank_ > 0 ? old_rank_ - 1 : 0, new_rank_ > kNearRadius ? new_rank_ - kNearRadius : 0);
      const size_t hi = std::min(n, std::max(old_rank_ + 1, new_rank_ + kNearRadius + 1));
      prefetch_read(sorted_.data() + lo, (hi - lo) * sizeof(double));
      if (n > 1) prefetch_read(&ring_.front(1), sizeof(double));
      return;
    }
    prefetch_read(sorted_.data(), n * sizeof(double));
  }
  // Fetches the line of the k-th smallest value (k < window()).
  void prefetch_rank(size_t k) const { prefetch_read(sorted_.data() + k, sizeof(double)); }

  void save(StateWriter& out) const {
    ring_.save(out);
    out.put_vector(sorted_);
  }
  void load(StateReader& in) {
    ring_.load(in);
    in.get_vector(sorted_);
    old_rank_valid_ = false;  // hints are rebuilt by the next replace
  }

 private:
  // Both return the number of values <= v after the update (v is placed after its equals).
  size_t insert(double v) {
    // ring_ already holds v: the sorted part has size() - 1 elements.
    const size_t m = ring_.size() - 1;
    double* a = sorted_.data();
    const size_t p = stats::count_le(a, m, v);  // = upper_index(a, m, v)
    move_values(a + p + 1, a + p, m - p);
    a[p] = v;
    return p + 1;
  }

  size_t replace(double old, double v) {
    const size_t count_le_v = replace_sorted(old, v);
    if (ring_.size() > kLinearCountMax) {
      // For the next push: where v went (a count_le of it, so v sits at count_le_v - 1) and
      // the rank of the value it will evict (the oldest now; the value before it in time
      // was just evicted, so it is searched near that one's rank).
      const double* a = sorted_.data();
      new_rank_ = count_le_v;
      old_rank_ = lower_index_near(a, ring_.size(), ring_.front(0), last_old_rank_, kNearRadius);
      old_rank_valid_ = true;
    }
    return count_le_v;
  }

  size_t replace_sorted(double old, double v) {
    double* a = sorted_.data();
    const size_t m = ring_.size();
    // Any slot equal to `old` can be reused: the first one, i = lower_index(a, m, old) =
    // count_lt(a, m, old). p = count_le(a, m, v), the number of values <= v: the values
    // before i are < old, those from i on are >= old.
    size_t i = 0, p = 0;
    if (m > kLinearCountMax) {
      // Long window (W = 240: 30 lines): no counting pass over the whole array. The rank of
      // `old` was found at the end of the previous push (same array, same value: the same
      // count_lt); the new value lies near the previous one in a price series, so its rank
      // is searched around the previous insertion first (the same count_le either way).
      i = old_rank_valid_ ? old_rank_ : lower_index(a, m, old);
      last_old_rank_ = i;
      p = upper_index_near(a, m, v, new_rank_, kNearRadius);
    } else
#if defined(BQX_COUNT_LE_AVX2)
    if (cpu_has_avx512()) {
      count_lt_le_avx512(a, m, old, v, &i, &p);
    } else
#endif
    {
      i = stats::count_lt(a, m, old);
      p = stats::count_le(a, m, v);
    }
    if (v > old) {
      // First element > v after i is at p; shift (i, p) left by one and put v at p - 1.
      move_values(a + i, a + i + 1, p - i - 1);
      a[p - 1] = v;
      return p;
    }
    if (v < old) {
      // First element > v is at p <= i; shift [p, i) right by one and put v at p.
      move_values(a + p + 1, a + p, i - p);
      a[p] = v;
      return p + 1;
    }
    a[i] = v;  // equal value (keeps the sign of a zero consistent with the ring)
    return p;
  }

  // Up to this many values the ranks come from one vectorised counting pass (at most 8
  // vectors); longer windows use binary searches.
  static constexpr size_t kLinearCountMax = 64;
  // Half-width (values) of the neighbourhood searched first around a rank hint.
  static constexpr size_t kNearRadius = 32;

  RingBuffer<double> ring_;
  StateVector<double> sorted_;  // first size() entries valid, ascending
  // Rank hints of long windows (derived, not saved; results never depend on them):
  // old_rank_ = count_lt(front value) of the current array when old_rank_valid_.
  size_t old_rank_ = 0, last_old_rank_ = 0, new_rank_ = 0;
  bool old_rank_valid_ = false;
};

// numpy.percentile(a, p) with the default 'linear' method on sorted values a[0..n-1]:
// virtual index g = (n - 1) * p / 100, lerp between a[floor(g)] and a[floor(g) + 1]
// using numpy's _lerp (a + d*t for t < 0.5, b - d*(1 - t) otherwise).
// The position part depends only on (n, p): PercentilePoint holds it, so a window of fixed
// size computes it once (percentile_linear = percentile_at(percentile_point), the same
// operations either way).
struct PercentilePoint {
  size_t lo = 0;     // floor(g)
  double t = 0;      // g - floor(g)
  bool last = true;  // lo >= n - 1: the maximum
};
inline PercentilePoint percentile_point(size_t n, double p) {
  const double g = (static_cast<double>(n) - 1.0) * (p / 100.0);
  const double lo_f = std::floor(g);
  const size_t lo = static_cast<size_t>(lo_f);
  if (lo >= n - 1) return PercentilePoint{lo, 0.0, true};
  return PercentilePoint{lo, g - lo_f, false};
}
inline double percentile_at(const double* a, size_t n, const PercentilePoint& q) {
  if (q.last) return a[n - 1];
  const double t = q.t;
  const double x0 = a[q.lo], x1 = a[q.lo + 1];
  const double d = x1 - x0;
  return t >= 0.5 ? x1 - d * (1.0 - t) : x0 + d * t;
}
inline double percentile_linear(const double* a, size_t n, double p) {
  return percentile_at(a, n, percentile_point(n, p));
}

// numpy.median of sorted values: middle value, or the mean of the two middle values.
inline double median_sorted(const double* a, size_t n) {
  return (n % 2 == 1) ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2.0;
}

// Median absolute deviation median(|a_i - median(a)|) of sorted values, exact. The
// deviations left of the median, L_i = m - a[s-1-i], and right of it, R_j = a[s+j] - m
// (s = first index with a[s] >= m), are two ascending runs; the k-th smallest deviation of
// their union is found by the classic two-array selection: i = how many of the k+1
// smallest come from L is the first i in [lo, hi) with L(i) >= R(k - i).
//
// L(i) is non-decreasing and R(k - i) non-increasing in i (the subtractions are rounded
// monotonically), so "L(i) < R(k - i)" holds on a prefix of [lo, hi): its length, counted
// over all candidates at once (independent compares, SIMD), is what a binary search over
// the predicate finds with a chain of dependent loads. Same predicate values, same i.
// With j = s - 1 - i the two operands are forward runs: L = m - a[j], R = a[j + k + 1] - m.
inline size_t count_mad_prefix_scalar(const double* left, const double* right, size_t len, double m) {
  size_t c = 0;
  for (size_t t = 0; t < len; ++t) c += (m - left[t]) < (right[t] - m) ? 1 : 0;
  return c;
}
#if defined(BQX_COUNT_LE_AVX2)
__attribute__((target("avx512f,popcnt"))) inline size_t count_mad_prefix_avx512(const double* left,
                                                                               const double* right, size_t len,
                                                                               double m) {
  const __m512d mv = _mm512_set1_pd(m);
  size_t c = 0;
  for (size_t t = 0; t < len; t += 8) {
    const size_t left_n = len - t;
    const __mmask8 take = left_n >= 8 ? static_cast<__mmask8>(0xff) : static_cast<__mmask8>((1u << left_n) - 1u);
    const __m512d l = _mm512_sub_pd(mv, _mm512_maskz_loadu_pd(take, left + t));
    const __m512d r = _mm512_sub_pd(_mm512_maskz_loadu_pd(take, right + t), mv);
    c += static_cast<size_t>(__builtin_popcount(_mm512_mask_cmp_pd_mask(take, l, r, _CMP_LT_OQ)));
  }
  return c;
}
#endif

inline double mad_sorted(const double* a, size_t n) {
  const double m = median_sorted(a, n);
  // s = lower_index(a, n, m) = count_lt(a, n, m): a counting pass for short windows (no
  // chain of dependent probes).
  const size_t s = n <= 64 ? stats::count_lt(a, n, m) : lower_index(a, n, m);
  const size_t nl = s, nr = n - s;
  auto L = [&](size_t i) { return m - a[s - 1 - i]; };
  auto R = [&](size_t j) { return a[s + j] - m; };
  const size_t k = (n % 2 == 1) ? n / 2 : n / 2 - 1;  // (lower) middle rank, 0-based
  // i = how many of the k+1 smallest deviations come from L, in [lo, hi].
  size_t lo = k + 1 > nr ? k + 1 - nr : 0;
  const size_t hi = std::min(k + 1, nl);
  if (lo < hi) {
    const double* left = a + (s - hi);  // a[j], j = s - 1 - i for i = hi - 1 .. lo
    const double* right = left + (k + 1);
    const size_t len = hi - lo;
#if defined(BQX_COUNT_LE_AVX2)
    if (cpu_has_avx512()) {
      lo += count_mad_prefix_avx512(left, right, len, m);
    } else
#endif
    {
      lo += count_mad_prefix_scalar(left, right, len, m);
    }
  }
  const size_t i = lo, j = k + 1 - lo;
  double kth;
  if (i == 0) {
    kth = R(j - 1);
  } else if (j == 0) {
    kth = L(i - 1);
  } else {
    kth = std::max(L(i - 1), R(j - 1));
  }
  if (n % 2 == 1) return kth;
  // Even n: the next rank is the smaller of the next candidates of each run.
  double next;
  if (i >= nl) {
    next = R(j);
  } else if (j >= nr) {
    next = L(i);
  } else {
    next = std::min(L(i), R(j));
  }
  return (kth + next) / 2.0;
}

// Shannon entropy (bits) of numpy.histogram(a, bins=10) of sorted values: edges
// e_k = k * step + min (step = (max - min) / 10, numpy.linspace), e_10 = max; bin k holds
// e_k <= v < e_{k+1}, the last bin is closed. Bin counts come from 9 binary searches.
// NULL for a flat window (max == min). `terms` (optional) holds the precomputed
// entropy_term(c, n) for c = 0..n, so no logarithm is evaluated per bar.
inline double entropy_term(size_t c, size_t n) {
  if (c == 0) return 0.0;
  const double cc = static_cast<double>(c), nn = static_cast<double>(n);
  return (cc / nn) * std::log2(nn / cc);
}

#if defined(BQX_COUNT_LE_AVX2)
// below[k] = number of a[0..n) < edges[k] for the 9 inner edges, n <= 64, by blocks: with
// f = the number of 8-value chunks whose first value is < e, the chunks after f - 1 hold no
// value < e (sorted) and the chunks before it only values < e, so count_lt(e) =
// 8 (f - 1) + (values < e in chunk f - 1). One compare of the chunk firsts and one of one
// chunk per edge (the 9 edges are independent), instead of a compare of every chunk per
// edge. The same integers as 9 lower_index() calls.
__attribute__((target("avx512f,popcnt"))) inline void count_below_edges_avx512(const double* a, size_t n,
                                                                             const double* edges, size_t* below) {
  const size_t chunks = (n + 7) / 8;
  const __mmask8 chunk_valid = static_cast<__mmask8>((1u << chunks) - 1u);
  const __m512i chunk_starts = _mm512_set_epi64(56, 48, 40, 32, 24, 16, 8, 0);
  const __m512d firsts = _mm512_mask_i64gather_pd(_mm512_setzero_pd(), chunk_valid, chunk_starts, a, 8);
  for (size_t k = 0; k < 9; ++k) {
    const __m512d e = _mm512_set1_pd(edges[k]);
    const size_t f = static_cast<size_t>(__builtin_popcount(_mm512_mask_cmp_pd_mask(chunk_valid, firsts, e, _CMP_LT_OQ)));
    if (f == 0) {
      below[k] = 0;
      continue;
    }
    const size_t base = 8 * (f - 1);
    const size_t left = n - base;
    const __mmask8 valid = left >= 8 ? static_cast<__mmask8>(0xff) : static_cast<__mmask8>((1u << left) - 1u);
    const __m512d values = _mm512_maskz_loadu_pd(valid, a + base);
    below[k] = base + static_cast<size_t>(__builtin_popcount(_mm512_mask_cmp_pd_mask(valid, values, e, _CMP_LT_OQ)));
  }
}
#endif

inline double entropy10_sorted(const double* a, size_t n, const double* terms = nullptr) {
  const double lo = a[0], hi = a[n - 1];
  if (!(hi > lo)) return kNull;
  constexpr int kBins = 10;
  const double step = (hi - lo) / kBins;
  double edges[kBins - 1];
  for (int k = 1; k < kBins; ++k) edges[k - 1] = static_cast<double>(k) * step + lo;
  size_t below[kBins];  // below[k - 1] = values < e_k; e_10 = max: all
  below[kBins - 1] = n;
#if defined(BQX_COUNT_LE_AVX2)
  if (n <= 64 && cpu_has_avx512()) {
    count_below_edges_avx512(a, n, edges, below);
  } else
#endif
  {
    for (int k = 1; k < kBins; ++k) below[k - 1] = lower_index(a, n, edges[k - 1]);
  }
  size_t below_prev = 0;  // values < e_0 = min: none
  double h = 0;
  for (int k = 1; k <= kBins; ++k) {
    const size_t c = below[k - 1] - below_prev;
    below_prev = below[k - 1];
    h += terms ? terms[c] : entropy_term(c, n);
  }
  return h;
}

}  // namespace bqx::features::stats
