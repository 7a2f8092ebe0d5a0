// Sliding-window moments for the stats families (FEATURES.md 1.6-1.8).
//
// Numerics. Window statistics are built from *mergeable central-moment aggregates*
// (Chan, Golub & LeVeque 1979 for M2 and co-moments; Pebay 2008, "Formulas for robust,
// one-pass parallel computation of covariances and arbitrary-order statistical moments",
// for M3/M4). An aggregate holds n, the mean and the central sums M_k = sum (v - mean)^k;
// two aggregates merge exactly in real arithmetic and stably in floating point (no raw
// power sums, no sum of squares of price levels, no subtraction of evicted values).
//
// Sliding. BlockWindow<Op> keeps the last W values with the "two-block" (suffix/prefix)
// scheme: time is cut into blocks of W pushes. For the block that is being filled it keeps
// a running prefix aggregate (`head`); when the block is full it becomes the previous
// block and the suffix aggregates suffix[j] = agg(v_j .. v_{W-1}) of its values are built
// once, right to left (O(W) every W pushes: amortised O(1)). The window after k pushes into
// the current block is merge(suffix[k], head): the last W - k values of the previous block
// and the k values of the current one. Nothing is ever subtracted, so a window that has
// become exactly flat gives exactly M2 = 0 (and a window of zeros gives a sum of exactly
// 0); the schedule depends only on the push count, so batch, stream and restored runs are
// bit-identical. Snapshots store the W window values (not the suffix aggregates); load()
// rebuilds the suffix array with the same deterministic loop.
#pragma once

#include <algorithm>
#include <array>
#include <string>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "features/kernel.h"
#include "features/state_memory.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BQX_STATS_AVX512 1
#endif

namespace bqx::features::stats {

// String concatenation for catalogue text, shared by the stats/dist families.
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::string s;
  (s.append(parts), ...);
  return s;
}


// ---------------------------------------------------------------------------------------
// Mergeable aggregates.
//
// Anchoring. Each aggregate stores its mean as anchor + off, where the anchor is one of its
// own values (a singleton's anchor is the value itself; a merge keeps the left operand's
// anchor, i.e. the oldest value). The differences of means that drive every merge are
// formed as (anchor_b - anchor_a) + (off_b - off_a): the first term is exact (Sterbenz)
// for values of one sign within a factor 2, the second is small. So the precision of the
// moments and of deviations v - mean is set by the spread of the window, not by its level:
// prices near 100 with a spread of 1e-3 keep ~1e-16 relative precision in x_t - mean, and an
// exactly constant window gives d == 0, hence M2 == M3 == M4 == 0 exactly.

// n, mean (anchor + off) and central sums M2..M4 of a set of values.
struct Moments4 {
  double n = 0, anchor = 0, off = 0, m2 = 0, m3 = 0, m4 = 0;
  double mean() const { return anchor + off; }
  // v - mean, computed as (v - anchor) - off.
  double deviation(double v) const { return (v - anchor) - off; }
};

inline Moments4 single4(double v) { return Moments4{1.0, v, 0.0, 0.0, 0.0, 0.0}; }

// Pebay (2008) eq. 1.1-1.4: a then b (the order is fixed, so results are deterministic).
inline Moments4 merge(const Moments4& a, const Moments4& b) {
  if (a.n == 0) return b;
  if (b.n == 0) return a;
  const double na = a.n, nb = b.n, n = na + nb;
  const double d = (b.anchor - a.anchor) + (b.off - a.off);
  const double dn = d / n;
  const double dn2 = dn * dn;
  const double t = d * dn * na * nb;  // d^2 na nb / n
  Moments4 r;
  r.n = n;
  r.anchor = a.anchor;
  r.off = a.off + dn * nb;
  r.m2 = a.m2 + b.m2 + t;
  r.m3 = a.m3 + b.m3 + t * dn * (na - nb) + 3.0 * dn * (na * b.m2 - nb * a.m2);
  r.m4 = a.m4 + b.m4 + t * dn2 * (na * na - na * nb + nb * nb) + 6.0 * dn2 * (na * na * b.m2 + nb * nb * a.m2) +
         4.0 * dn * (na * b.m3 - nb * a.m3);
  return r;
}

// merge(a, single4(v)) and merge(single4(v), b) with the zero terms of the singleton
// dropped (the one-pass update; used to grow the head block and to build suffixes).
inline void append(Moments4& a, double v) {
  if (a.n == 0) {
    a = single4(v);
    return;
  }
  const double na = a.n, n = na + 1.0;
  const double d = (v - a.anchor) - a.off;
  const double dn = d / n;
  const double dn2 = dn * dn;
  const double t = d * dn * na;
  a.m4 += t * dn2 * (na * na - na + 1.0) + 6.0 * dn2 * a.m2 - 4.0 * dn * a.m3;
  a.m3 += t * dn * (na - 1.0) - 3.0 * dn * a.m2;
  a.m2 += t;
  a.off += dn;
  a.n = n;
}
inline Moments4 prepend(double v, const Moments4& b) {
  if (b.n == 0) return single4(v);
  const double nb = b.n, n = 1.0 + nb;
  const double d = (b.anchor - v) + b.off;
  const double dn = d / n;
  const double dn2 = dn * dn;
  const double t = d * dn * nb;
  Moments4 r;
  r.n = n;
  r.anchor = v;
  r.off = dn * nb;
  r.m2 = b.m2 + t;
  r.m3 = b.m3 + t * dn * (1.0 - nb) + 3.0 * dn * b.m2;
  r.m4 = b.m4 + t * dn2 * (1.0 - nb + nb * nb) + 6.0 * dn2 * b.m2 + 4.0 * dn * b.m3;
  return r;
}

// n, mean (anchor + off) and M2 (Chan et al.).
struct Moments2 {
  double n = 0, anchor = 0, off = 0, m2 = 0;
  double mean() const { return anchor + off; }
  double deviation(double v) const { return (v - anchor) - off; }
};

inline Moments2 single2(double v) { return Moments2{1.0, v, 0.0, 0.0}; }

inline Moments2 merge(const Moments2& a, const Moments2& b) {
  if (a.n == 0) return b;
  if (b.n == 0) return a;
  const double na = a.n, nb = b.n, n = na + nb;
  const double d = (b.anchor - a.anchor) + (b.off - a.off);
  const double dn = d / n;
  return Moments2{n, a.anchor, a.off + dn * nb, a.m2 + b.m2 + d * dn * na * nb};
}

inline void append(Moments2& a, double v) {
  if (a.n == 0) {
    a = single2(v);
    return;
  }
  const double na = a.n, n = na + 1.0;
  const double d = (v - a.anchor) - a.off;
  const double dn = d / n;
  a.m2 += d * dn * na;
  a.off += dn;
  a.n = n;
}
inline Moments2 prepend(double v, const Moments2& b) {
  if (b.n == 0) return single2(v);
  const double nb = b.n, n = 1.0 + nb;
  const double d = (b.anchor - v) + b.off;
  const double dn = d / n;
  return Moments2{n, v, dn * nb, b.m2 + d * dn * nb};
}

// Bivariate: n, anchored means, M2 of each leg and the co-moment
// C = sum (a - mean_a)(b - mean_b).
struct CoMoments {
  double n = 0, anchor_a = 0, anchor_b = 0, off_a = 0, off_b = 0, m2a = 0, m2b = 0, cab = 0;
  double mean_a() const { return anchor_a + off_a; }
  double mean_b() const { return anchor_b + off_b; }
};

inline CoMoments single_pair(double a, double b) { return CoMoments{1.0, a, b, 0.0, 0.0, 0.0, 0.0, 0.0}; }

inline CoMoments merge(const CoMoments& x, const CoMoments& y) {
  if (x.n == 0) return y;
  if (y.n == 0) return x;
  const double nx = x.n, ny = y.n, n = nx + ny;
  const double da = (y.anchor_a - x.anchor_a) + (y.off_a - x.off_a);
  const double db = (y.anchor_b - x.anchor_b) + (y.off_b - x.off_b);
  const double f = nx * ny / n;
  return CoMoments{n,
                   x.anchor_a,
                   x.anchor_b,
                   x.off_a + da / n * ny,
                   x.off_b + db / n * ny,
                   x.m2a + y.m2a + da * da * f,
                   x.m2b + y.m2b + db * db * f,
                   x.cab + y.cab + da * db * f};
}

inline void append(CoMoments& x, double a, double b) {
  if (x.n == 0) {
    x = single_pair(a, b);
    return;
  }
  const double nx = x.n, n = nx + 1.0;
  const double da = (a - x.anchor_a) - x.off_a, db = (b - x.anchor_b) - x.off_b;
  const double f = nx / n;
  x.off_a += da / n;
  x.off_b += db / n;
  x.m2a += da * da * f;
  x.m2b += db * db * f;
  x.cab += da * db * f;
  x.n = n;
}
// ny / (1 + ny) for the counts ny = 0 .. kCountRatios - 1, computed once with the same IEEE
// operations (n = 1.0 + ny; ny / n): the same bits as the division in prepend().
inline constexpr size_t kCountRatios = 1536;
inline const double* count_ratios() {
  static const auto table = [] {
    std::array<double, kCountRatios> t{};
    for (size_t k = 0; k < kCountRatios; ++k) {
      const double ny = static_cast<double>(k), n = 1.0 + ny;
      t[k] = ny / n;
    }
    return t;
  }();
  return table.data();
}

// Why the shape below: the suffix rebuilds of the pair windows are chains of this prepend
// (RingBlockWindows::roll), and three scalar divisions per step made them wait on the
// divider. f = ny / n depends only on the count (a table for the usual counts), and
// da / n, db / n are one 2-lane division (per-lane IEEE, the same bits as two scalar ones).
inline CoMoments prepend(double a, double b, const CoMoments& y) {
  if (y.n == 0) return single_pair(a, b);
  typedef double Pair2 __attribute__((vector_size(16)));
  const double ny = y.n, n = 1.0 + ny;
  const double da = (y.anchor_a - a) + y.off_a, db = (y.anchor_b - b) + y.off_b;
  const double f = ny < static_cast<double>(kCountRatios) ? count_ratios()[static_cast<size_t>(ny)] : ny / n;
  const Pair2 d_over_n = Pair2{da, db} / n;  // {da / n, db / n}
  return CoMoments{n, a, b, d_over_n[0] * ny, d_over_n[1] * ny, y.m2a + da * da * f, y.m2b + db * db * f,
                   y.cab + da * db * f};
}

// ---------------------------------------------------------------------------------------
// Statistics from aggregates, with the NULL rules shared by the stats families.

// Relative scale of "flat": a window whose population standard deviation is at most
// kFlatRel * |mean| is treated as constant (scale-aware zero test, DESIGN.md). An exactly
// constant window has M2 == 0 exactly with these aggregates.
inline constexpr double kFlatRel = 1e-12;

inline bool degenerate(double n, double mean, double m2) {
  if (!(m2 > 0)) return true;
  return std::sqrt(m2 / n) <= kFlatRel * std::fabs(mean);
}

// Sample standard deviation (ddof 1); n >= 2.
inline double std_sample(double n, double m2) { return std::sqrt((m2 > 0 ? m2 : 0.0) / (n - 1.0)); }

// Biased skewness g1 = m3 / m2^1.5 with m_k = M_k / n (scipy.stats.skew, bias=True).
inline double skew_g1(const Moments4& m) {
  if (degenerate(m.n, m.mean(), m.m2)) return kNull;
  const double v = m.m2 / m.n;
  return (m.m3 / m.n) / (v * std::sqrt(v));
}

// Biased excess kurtosis m4 / m2^2 - 3 (scipy.stats.kurtosis, fisher=True, bias=True).
inline double kurt_excess(const Moments4& m) {
  if (degenerate(m.n, m.mean(), m.m2)) return kNull;
  const double v = m.m2 / m.n;
  return (m.m4 / m.n) / (v * v) - 3.0;
}

// Pearson correlation of the two legs; NULL when either leg is flat.
inline double pearson(const CoMoments& c) {
  if (degenerate(c.n, c.mean_a(), c.m2a) || degenerate(c.n, c.mean_b(), c.m2b)) return kNull;
  return c.cab / std::sqrt(c.m2a * c.m2b);
}

#if defined(BQX_STATS_AVX512)
// The statistics above on 8 independent windows at once (AVX-512 lanes, used by the
// families' output formulas when the CPU has AVX-512). Each is the scalar function with
// the same IEEE operations in the same order per lane (correctly rounded per lane, so
// bit-identical); a scalar branch becomes a per-lane mask.
// Square root per lane (the maskz form: GCC 12's _mm512_sqrt_pd trips -Wuninitialized).
__attribute__((target("avx512f"))) inline __m512d sqrt_lanes(__m512d v) { return _mm512_maskz_sqrt_pd(0xff, v); }
// std::fabs per lane: clears the sign bit (GCC 12's _mm512_abs_pd trips -Wuninitialized).
__attribute__((target("avx512f"))) inline __m512d abs_lanes(__m512d v) {
  return _mm512_castsi512_pd(_mm512_and_epi64(_mm512_castpd_si512(v), _mm512_set1_epi64(0x7fffffffffffffffLL)));
}
// stats::degenerate per lane.
__attribute__((target("avx512f"))) inline __mmask8 degenerate_lanes(__m512d n, __m512d mean, __m512d m2) {
  const __mmask8 positive = _mm512_cmp_pd_mask(m2, _mm512_setzero_pd(), _CMP_GT_OQ);
  const __m512d sd = sqrt_lanes(_mm512_div_pd(m2, n));
  const __m512d bound = _mm512_mul_pd(_mm512_set1_pd(kFlatRel), abs_lanes(mean));
  return static_cast<__mmask8>(~positive | _mm512_cmp_pd_mask(sd, bound, _CMP_LE_OQ));
}
// ~degenerate_lanes(n, mean, m2) where it matters (lanes of `care`; the other lanes' bits
// are unspecified), mostly without its division and square root.
// Why: the output formulas are bound by the divider; 4 of these tests per bar in stats_rate
// (3 in stats_bqx) cost a division and a square root each, and a window of real data is
// far from flat. Sufficient test: with b = kFlatRel |mean| (the same product as in
// degenerate_lanes), bb = fl(b b) and t = 8 fl(n bb) all normal and finite, m2 > t gives
// m2 / n > 8 b^2 (1 - u)^2 (u = 2^-53), so fl(m2 / n) > 7 b^2 and fl(sqrt(fl(m2 / n))) >
// b: not degenerate, exactly as the full test decides. Only when a lane of `care` fails the
// sufficient test (a flat, young or tiny window) is the full test run, for all lanes.
__attribute__((target("avx512f"))) inline __mmask8 sharp_lanes(__m512d n, __m512d mean, __m512d m2, __mmask8 care) {
  const __m512d bound = _mm512_mul_pd(_mm512_set1_pd(kFlatRel), abs_lanes(mean));
  const __m512d bound_sq = _mm512_mul_pd(bound, bound);
  const __m512d t = _mm512_mul_pd(_mm512_mul_pd(n, bound_sq), _mm512_set1_pd(8.0));
  const __m512d normal_min = _mm512_set1_pd(16.0 * std::numeric_limits<double>::min());
  const __mmask8 sound = static_cast<__mmask8>(
      _mm512_cmp_pd_mask(bound_sq, _mm512_set1_pd(std::numeric_limits<double>::min()), _CMP_GE_OQ) &
      _mm512_cmp_pd_mask(t, normal_min, _CMP_GE_OQ) &
      _mm512_cmp_pd_mask(t, _mm512_set1_pd(std::numeric_limits<double>::max()), _CMP_LE_OQ));
  const __mmask8 clearly_sharp = static_cast<__mmask8>(sound & _mm512_cmp_pd_mask(m2, t, _CMP_GT_OQ));
  if ((care & ~clearly_sharp) == 0) return clearly_sharp;
  return static_cast<__mmask8>(~degenerate_lanes(n, mean, m2));
}
// stats::std_sample per lane.
__attribute__((target("avx512f"))) inline __m512d std_sample_lanes(__m512d n, __m512d m2) {
  const __mmask8 positive = _mm512_cmp_pd_mask(m2, _mm512_setzero_pd(), _CMP_GT_OQ);
  const __m512d clamped = _mm512_mask_blend_pd(positive, _mm512_setzero_pd(), m2);
  return sqrt_lanes(_mm512_div_pd(clamped, _mm512_sub_pd(n, _mm512_set1_pd(1.0))));
}

// 8x8 transpose in registers: columns[f] lane l = r[l] lane f.
__attribute__((target("avx512f"))) inline void transpose_8x8(const __m512d* r, __m512d* columns) {
  __m512d t[8];
  for (int p = 0; p < 4; ++p) {
    t[2 * p] = _mm512_maskz_unpacklo_pd(0xff, r[2 * p], r[2 * p + 1]);      // r0_0 r1_0 r0_2 r1_2 ...
    t[2 * p + 1] = _mm512_maskz_unpackhi_pd(0xff, r[2 * p], r[2 * p + 1]);  // r0_1 r1_1 r0_3 r1_3 ...
  }
  const __m512i low_halves = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
  const __m512i high_halves = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
  __m512d u[8];
  for (int h = 0; h < 2; ++h) {  // rows 0-3, rows 4-7
    u[4 * h + 0] = _mm512_permutex2var_pd(t[4 * h + 0], low_halves, t[4 * h + 2]);   // fields 0, 4
    u[4 * h + 2] = _mm512_permutex2var_pd(t[4 * h + 0], high_halves, t[4 * h + 2]);  // fields 2, 6
    u[4 * h + 1] = _mm512_permutex2var_pd(t[4 * h + 1], low_halves, t[4 * h + 3]);   // fields 1, 5
    u[4 * h + 3] = _mm512_permutex2var_pd(t[4 * h + 1], high_halves, t[4 * h + 3]);  // fields 3, 7
  }
  const __m512i first = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
  const __m512i second = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
  for (int f = 0; f < 4; ++f) {
    columns[f] = _mm512_permutex2var_pd(u[f], first, u[4 + f]);
    columns[f + 4] = _mm512_permutex2var_pd(u[f], second, u[4 + f]);
  }
}
// Transpose of 8 aggregates of up to 8 doubles each (row l = lane l's aggregate, read with
// one vector load) into 8 vectors of one field each: 24 shuffles instead of 64 scalar
// copies. `rows[l]` points at lane l's aggregate; `fields` = its number of doubles.
__attribute__((target("avx512f"))) inline void transpose_lanes(const void* const* rows, unsigned fields,
                                                               __m512d* columns) {
  const __mmask8 take = static_cast<__mmask8>((1u << fields) - 1u);
  __m512d r[8];
  for (int l = 0; l < 8; ++l) r[l] = _mm512_maskz_loadu_pd(take, rows[l]);
  transpose_8x8(r, columns);
}

// The families' outputs are computed column-major (col[c][lane], lane = window) and stored
// window-major (out[window * cols + c]): up to 8 columns at a time are transposed in
// registers and stored as one (masked) row per window, instead of one scalar store per
// value. Data movement only. `first` and `count` (<= 8) select the columns.
__attribute__((target("avx512f"))) inline void store_window_rows(const double (*col)[8], size_t first, size_t count,
                                                                 size_t windows, size_t cols, double* out) {
  __m512d c[8], rows[8];
  for (size_t k = 0; k < 8; ++k) c[k] = k < count ? _mm512_load_pd(col[first + k]) : _mm512_setzero_pd();
  transpose_8x8(c, rows);
  const __mmask8 take = static_cast<__mmask8>((1u << count) - 1u);
  for (size_t i = 0; i < windows; ++i) _mm512_mask_storeu_pd(out + i * cols + first, take, rows[i]);
}

// take_b ? b : take_a ? a : r per lane (the early returns of the scalar merges).
__attribute__((target("avx512f"))) inline __m512d pick_lanes(__mmask8 take_b, __mmask8 take_a, __m512d r, __m512d a,
                                                             __m512d b) {
  return _mm512_mask_blend_pd(take_b, _mm512_mask_blend_pd(take_a, r, a), b);
}

// Aggregates as lanes (field order of the scalar structs).
struct Moments4Lanes {
  __m512d n, anchor, off, m2, m3, m4;
};
struct Moments2Lanes {
  __m512d n, anchor, off, m2;
};
struct CoMomentsLanes {
  __m512d n, anchor_a, anchor_b, off_a, off_b, m2a, m2b, cab;
};

// merge(a, b) per lane (scalar merge() above, term by term; a.n == 0 gives b, else b.n == 0
// gives a).
__attribute__((target("avx512f"))) inline Moments4Lanes merge_lanes(const Moments4Lanes& a, const Moments4Lanes& b) {
  const __m512d zero = _mm512_setzero_pd();
  const __mmask8 take_b = _mm512_cmp_pd_mask(a.n, zero, _CMP_EQ_OQ);
  const __mmask8 take_a = static_cast<__mmask8>(_mm512_cmp_pd_mask(b.n, zero, _CMP_EQ_OQ) & ~take_b);
  const __m512d na = a.n, nb = b.n, n = _mm512_add_pd(na, nb);
  const __m512d d = _mm512_add_pd(_mm512_sub_pd(b.anchor, a.anchor), _mm512_sub_pd(b.off, a.off));
  const __m512d dn = _mm512_div_pd(d, n);
  const __m512d dn2 = _mm512_mul_pd(dn, dn);
  const __m512d t = _mm512_mul_pd(_mm512_mul_pd(_mm512_mul_pd(d, dn), na), nb);  // d^2 na nb / n
  Moments4Lanes r;
  r.n = n;
  r.anchor = a.anchor;
  r.off = _mm512_add_pd(a.off, _mm512_mul_pd(dn, nb));
  r.m2 = _mm512_add_pd(_mm512_add_pd(a.m2, b.m2), t);
  // m3 = a.m3 + b.m3 + t * dn * (na - nb) + 3.0 * dn * (na * b.m2 - nb * a.m2)
  r.m3 = _mm512_add_pd(
      _mm512_add_pd(_mm512_add_pd(a.m3, b.m3), _mm512_mul_pd(_mm512_mul_pd(t, dn), _mm512_sub_pd(na, nb))),
      _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(3.0), dn), _mm512_sub_pd(_mm512_mul_pd(na, b.m2), _mm512_mul_pd(nb, a.m2))));
  // m4 = a.m4 + b.m4 + t * dn2 * (na * na - na * nb + nb * nb)
  //      + 6.0 * dn2 * (na * na * b.m2 + nb * nb * a.m2) + 4.0 * dn * (na * b.m3 - nb * a.m3)
  const __m512d x4 = _mm512_mul_pd(
      _mm512_mul_pd(t, dn2),
      _mm512_add_pd(_mm512_sub_pd(_mm512_mul_pd(na, na), _mm512_mul_pd(na, nb)), _mm512_mul_pd(nb, nb)));
  const __m512d y4 = _mm512_mul_pd(
      _mm512_mul_pd(_mm512_set1_pd(6.0), dn2),
      _mm512_add_pd(_mm512_mul_pd(_mm512_mul_pd(na, na), b.m2), _mm512_mul_pd(_mm512_mul_pd(nb, nb), a.m2)));
  const __m512d z4 = _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(4.0), dn),
                                   _mm512_sub_pd(_mm512_mul_pd(na, b.m3), _mm512_mul_pd(nb, a.m3)));
  r.m4 = _mm512_add_pd(_mm512_add_pd(_mm512_add_pd(_mm512_add_pd(a.m4, b.m4), x4), y4), z4);
  r.n = pick_lanes(take_b, take_a, r.n, a.n, b.n);
  r.anchor = pick_lanes(take_b, take_a, r.anchor, a.anchor, b.anchor);
  r.off = pick_lanes(take_b, take_a, r.off, a.off, b.off);
  r.m2 = pick_lanes(take_b, take_a, r.m2, a.m2, b.m2);
  r.m3 = pick_lanes(take_b, take_a, r.m3, a.m3, b.m3);
  r.m4 = pick_lanes(take_b, take_a, r.m4, a.m4, b.m4);
  return r;
}
__attribute__((target("avx512f"))) inline Moments2Lanes merge_lanes(const Moments2Lanes& a, const Moments2Lanes& b) {
  const __m512d zero = _mm512_setzero_pd();
  const __mmask8 take_b = _mm512_cmp_pd_mask(a.n, zero, _CMP_EQ_OQ);
  const __mmask8 take_a = static_cast<__mmask8>(_mm512_cmp_pd_mask(b.n, zero, _CMP_EQ_OQ) & ~take_b);
  const __m512d na = a.n, nb = b.n, n = _mm512_add_pd(na, nb);
  const __m512d d = _mm512_add_pd(_mm512_sub_pd(b.anchor, a.anchor), _mm512_sub_pd(b.off, a.off));
  const __m512d dn = _mm512_div_pd(d, n);
  Moments2Lanes r;
  r.n = n;
  r.anchor = a.anchor;
  r.off = _mm512_add_pd(a.off, _mm512_mul_pd(dn, nb));
  r.m2 = _mm512_add_pd(_mm512_add_pd(a.m2, b.m2), _mm512_mul_pd(_mm512_mul_pd(_mm512_mul_pd(d, dn), na), nb));
  r.n = pick_lanes(take_b, take_a, r.n, a.n, b.n);
  r.anchor = pick_lanes(take_b, take_a, r.anchor, a.anchor, b.anchor);
  r.off = pick_lanes(take_b, take_a, r.off, a.off, b.off);
  r.m2 = pick_lanes(take_b, take_a, r.m2, a.m2, b.m2);
  return r;
}
__attribute__((target("avx512f"))) inline CoMomentsLanes merge_lanes(const CoMomentsLanes& x, const CoMomentsLanes& y) {
  const __m512d zero = _mm512_setzero_pd();
  const __mmask8 take_y = _mm512_cmp_pd_mask(x.n, zero, _CMP_EQ_OQ);
  const __mmask8 take_x = static_cast<__mmask8>(_mm512_cmp_pd_mask(y.n, zero, _CMP_EQ_OQ) & ~take_y);
  const __m512d nx = x.n, ny = y.n, n = _mm512_add_pd(nx, ny);
  const __m512d da = _mm512_add_pd(_mm512_sub_pd(y.anchor_a, x.anchor_a), _mm512_sub_pd(y.off_a, x.off_a));
  const __m512d db = _mm512_add_pd(_mm512_sub_pd(y.anchor_b, x.anchor_b), _mm512_sub_pd(y.off_b, x.off_b));
  const __m512d f = _mm512_div_pd(_mm512_mul_pd(nx, ny), n);
  CoMomentsLanes r;
  r.n = n;
  r.anchor_a = x.anchor_a;
  r.anchor_b = x.anchor_b;
  r.off_a = _mm512_add_pd(x.off_a, _mm512_mul_pd(_mm512_div_pd(da, n), ny));
  r.off_b = _mm512_add_pd(x.off_b, _mm512_mul_pd(_mm512_div_pd(db, n), ny));
  r.m2a = _mm512_add_pd(_mm512_add_pd(x.m2a, y.m2a), _mm512_mul_pd(_mm512_mul_pd(da, da), f));
  r.m2b = _mm512_add_pd(_mm512_add_pd(x.m2b, y.m2b), _mm512_mul_pd(_mm512_mul_pd(db, db), f));
  r.cab = _mm512_add_pd(_mm512_add_pd(x.cab, y.cab), _mm512_mul_pd(_mm512_mul_pd(da, db), f));
  r.n = pick_lanes(take_y, take_x, r.n, x.n, y.n);
  r.anchor_a = pick_lanes(take_y, take_x, r.anchor_a, x.anchor_a, y.anchor_a);
  r.anchor_b = pick_lanes(take_y, take_x, r.anchor_b, x.anchor_b, y.anchor_b);
  r.off_a = pick_lanes(take_y, take_x, r.off_a, x.off_a, y.off_a);
  r.off_b = pick_lanes(take_y, take_x, r.off_b, x.off_b, y.off_b);
  r.m2a = pick_lanes(take_y, take_x, r.m2a, x.m2a, y.m2a);
  r.m2b = pick_lanes(take_y, take_x, r.m2b, x.m2b, y.m2b);
  r.cab = pick_lanes(take_y, take_x, r.cab, x.cab, y.cab);
  return r;
}

// col = valid ? v : NULL per lane.
__attribute__((target("avx512f"))) inline void put_column(double* col, __m512d null, __mmask8 valid, __m512d v) {
  _mm512_store_pd(col, _mm512_mask_blend_pd(valid, null, v));
}

// append(a, v) of the scalar aggregates above on the lanes `lanes` of field-major heads
// (f[field][lane], HeadLanes below; other lanes unchanged). Term by term the scalar
// append: the same IEEE operations in the same order per lane, so bit-identical; its
// n == 0 branch (the head starts with the singleton) is a per-lane blend.
__attribute__((target("avx512f"))) inline void append_moments4_lanes(double (*f)[8], double value, __mmask8 lanes) {
  const __m512d one = _mm512_set1_pd(1.0), v = _mm512_set1_pd(value), zero = _mm512_setzero_pd();
  const __m512d na = _mm512_load_pd(f[0]), anchor = _mm512_load_pd(f[1]), off = _mm512_load_pd(f[2]);
  const __m512d m2 = _mm512_load_pd(f[3]), m3 = _mm512_load_pd(f[4]), m4 = _mm512_load_pd(f[5]);
  const __mmask8 empty = _mm512_cmp_pd_mask(na, zero, _CMP_EQ_OQ);
  const __mmask8 grow = static_cast<__mmask8>(lanes & ~empty), start = static_cast<__mmask8>(lanes & empty);
  const __m512d n = _mm512_add_pd(na, one);
  const __m512d d = _mm512_sub_pd(_mm512_sub_pd(v, anchor), off);
  const __m512d dn = _mm512_div_pd(d, n);
  const __m512d dn2 = _mm512_mul_pd(dn, dn);
  const __m512d t = _mm512_mul_pd(_mm512_mul_pd(d, dn), na);
  // m4 += t * dn2 * (na * na - na + 1.0) + 6.0 * dn2 * m2 - 4.0 * dn * m3
  const __m512d m4_new = _mm512_add_pd(
      m4, _mm512_sub_pd(
              _mm512_add_pd(_mm512_mul_pd(_mm512_mul_pd(t, dn2), _mm512_add_pd(_mm512_sub_pd(_mm512_mul_pd(na, na), na), one)),
                            _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(6.0), dn2), m2)),
              _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(4.0), dn), m3)));
  // m3 += t * dn * (na - 1.0) - 3.0 * dn * m2
  const __m512d m3_new = _mm512_add_pd(m3, _mm512_sub_pd(_mm512_mul_pd(_mm512_mul_pd(t, dn), _mm512_sub_pd(na, one)),
                                                        _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(3.0), dn), m2)));
  // grow: the update; start: single4(v) = {1, v, 0, 0, 0, 0}.
  _mm512_store_pd(f[0], _mm512_mask_blend_pd(start, _mm512_mask_blend_pd(grow, na, n), one));
  _mm512_store_pd(f[1], _mm512_mask_blend_pd(start, anchor, v));
  _mm512_store_pd(f[2], _mm512_mask_blend_pd(start, _mm512_mask_blend_pd(grow, off, _mm512_add_pd(off, dn)), zero));
  _mm512_store_pd(f[3], _mm512_mask_blend_pd(start, _mm512_mask_blend_pd(grow, m2, _mm512_add_pd(m2, t)), zero));
  _mm512_store_pd(f[4], _mm512_mask_blend_pd(start, _mm512_mask_blend_pd(grow, m3, m3_new), zero));
  _mm512_store_pd(f[5], _mm512_mask_blend_pd(start, _mm512_mask_blend_pd(grow, m4, m4_new), zero));
}
__attribute__((target("avx512f"))) inline void append_moments2_lanes(double (*f)[8], double value, __mmask8 lanes) {
  const __m512d one = _mm512_set1_pd(1.0), v = _mm512_set1_pd(value), zero = _mm512_setzero_pd();
  const __m512d na = _mm512_load_pd(f[0]), anchor = _mm512_load_pd(f[1]), off = _mm512_load_pd(f[2]);
  const __m512d m2 = _mm512_load_pd(f[3]);
  const __mmask8 empty = _mm512_cmp_pd_mask(na, zero, _CMP_EQ_OQ);
  const __mmask8 grow = static_cast<__mmask8>(lanes & ~empty), start = static_cast<__mmask8>(lanes & empty);
  const __m512d n = _mm512_add_pd(na, one);
  const __m512d d = _mm512_sub_pd(_mm512_sub_pd(v, anchor), off);
  const __m512d dn = _mm512_div_pd(d, n);
  // m2 += d * dn * na; off += dn; start: single2(v) = {1, v, 0, 0}.
  _mm512_store_pd(f[0], _mm512_mask_blend_pd(start, _mm512_mask_blend_pd(grow, na, n), one));
  _mm512_store_pd(f[1], _mm512_mask_blend_pd(start, anchor, v));
  _mm512_store_pd(f[2], _mm512_mask_blend_pd(start, _mm512_mask_blend_pd(grow, off, _mm512_add_pd(off, dn)), zero));
  _mm512_store_pd(f[3], _mm512_mask_blend_pd(
                            start, _mm512_mask_blend_pd(grow, m2, _mm512_add_pd(m2, _mm512_mul_pd(_mm512_mul_pd(d, dn), na))),
                            zero));
}
__attribute__((target("avx512f"))) inline void append_comoments_lanes(double (*f)[8], double a, double b, __mmask8 lanes) {
  const __m512d one = _mm512_set1_pd(1.0), va = _mm512_set1_pd(a), vb = _mm512_set1_pd(b), zero = _mm512_setzero_pd();
  const __m512d nx = _mm512_load_pd(f[0]), anchor_a = _mm512_load_pd(f[1]), anchor_b = _mm512_load_pd(f[2]);
  const __m512d off_a = _mm512_load_pd(f[3]), off_b = _mm512_load_pd(f[4]);
  const __m512d m2a = _mm512_load_pd(f[5]), m2b = _mm512_load_pd(f[6]), cab = _mm512_load_pd(f[7]);
  const __mmask8 empty = _mm512_cmp_pd_mask(nx, zero, _CMP_EQ_OQ);
  const __mmask8 grow = static_cast<__mmask8>(lanes & ~empty), start = static_cast<__mmask8>(lanes & empty);
  const __m512d n = _mm512_add_pd(nx, one);
  const __m512d da = _mm512_sub_pd(_mm512_sub_pd(va, anchor_a), off_a);
  const __m512d db = _mm512_sub_pd(_mm512_sub_pd(vb, anchor_b), off_b);
  const __m512d g = _mm512_div_pd(nx, n);  // f = nx / n of the scalar form
  // off_a += da / n; off_b += db / n; m2a += da * da * f; m2b += db * db * f; cab += da * db * f;
  // start: single_pair(a, b) = {1, a, b, 0, 0, 0, 0, 0}.
  _mm512_store_pd(f[0], _mm512_mask_blend_pd(start, _mm512_mask_blend_pd(grow, nx, n), one));
  _mm512_store_pd(f[1], _mm512_mask_blend_pd(start, anchor_a, va));
  _mm512_store_pd(f[2], _mm512_mask_blend_pd(start, anchor_b, vb));
  _mm512_store_pd(f[3], _mm512_mask_blend_pd(
                            start, _mm512_mask_blend_pd(grow, off_a, _mm512_add_pd(off_a, _mm512_div_pd(da, n))), zero));
  _mm512_store_pd(f[4], _mm512_mask_blend_pd(
                            start, _mm512_mask_blend_pd(grow, off_b, _mm512_add_pd(off_b, _mm512_div_pd(db, n))), zero));
  _mm512_store_pd(f[5], _mm512_mask_blend_pd(
                            start, _mm512_mask_blend_pd(grow, m2a, _mm512_add_pd(m2a, _mm512_mul_pd(_mm512_mul_pd(da, da), g))),
                            zero));
  _mm512_store_pd(f[6], _mm512_mask_blend_pd(
                            start, _mm512_mask_blend_pd(grow, m2b, _mm512_add_pd(m2b, _mm512_mul_pd(_mm512_mul_pd(db, db), g))),
                            zero));
  _mm512_store_pd(f[7], _mm512_mask_blend_pd(
                            start, _mm512_mask_blend_pd(grow, cab, _mm512_add_pd(cab, _mm512_mul_pd(_mm512_mul_pd(da, db), g))),
                            zero));
}
// f[field] += value on `lanes` (the plain sums of the families' aggregates).
__attribute__((target("avx512f"))) inline void add_lanes(double* field, double value, __mmask8 lanes) {
  const __m512d x = _mm512_load_pd(field);
  _mm512_store_pd(field, _mm512_mask_blend_pd(lanes, x, _mm512_add_pd(x, _mm512_set1_pd(value))));
}

#endif

// The lane appends above (append_moments4_lanes ...) for any CPU, written with GCC's generic
// vectors of 8 doubles: two AVX2 operations per line on x86-64-v3, scalar code elsewhere.
// Line by line the same IEEE operations in the same order as the scalar append (and as the
// AVX-512 forms), so bit-identical (-ffp-contract=off: no fused multiply-add); the scalar
// append's n == 0 branch is a per-lane select. Lanes outside `lanes` keep their bits.
// Why: without AVX-512 the families grew each window's head by a scalar append through a
// transposed copy of its aggregate (HeadLanes::get / set), ~13 % of the streaming step.
namespace portable {
// Four lanes at a time (one AVX2 register; GCC splits wider generic vectors poorly): each
// function runs on the low half of the 8 lanes, then on the high half (h = 4).
using Lanes = double __attribute__((vector_size(4 * sizeof(double))));
using LaneMask = int64_t __attribute__((vector_size(4 * sizeof(int64_t))));
// By reference only: a 32-byte vector passed by value has no fixed ABI without AVX.
inline void load(Lanes& v, const double* p) { std::memcpy(&v, p, sizeof v); }
inline void store(double* p, const Lanes& v) { std::memcpy(p, &v, sizeof v); }
// Lanes h .. h + 3 of the 8-lane mask.
inline void lane_mask(LaneMask& m, unsigned lanes, int h) {
  const LaneMask bit = {1, 2, 4, 8};
  m = ((LaneMask{} + static_cast<int64_t>(lanes >> h)) & bit) != 0;
}

// What every append shares, on lanes h .. h + 3: which lanes grow (count > 0) and which
// start (count == 0: the head becomes the singleton), the new count n = count + 1, and per
// value its stores. fresh: the singleton's field (v for an anchor, 0 for a sum).
struct AppendStep {
  LaneMask grow, start;
  Lanes count, one, n;
  AppendStep(const double* counts, unsigned lanes, int h) {
    load(count, counts + h);
    LaneMask on;
    lane_mask(on, lanes, h);
    const Lanes zero{};
    const LaneMask empty = count == zero;
    grow = on & ~empty;
    start = on & empty;
    one = zero + 1.0;
    n = count + one;
  }
  void store_count(double* p) const { store(p, start ? one : (grow ? n : count)); }
  void store_field(double* p, const Lanes& fresh, const Lanes& grown, const Lanes& old) const {
    store(p, start ? fresh : (grow ? grown : old));
  }
};

inline void append_moments4_lanes(double (*f)[8], double value, unsigned lanes) {
  for (int h = 0; h < 8; h += 4) {
    Lanes na, anchor, off, m2, m3, m4;
    load(na, f[0] + h), load(anchor, f[1] + h), load(off, f[2] + h);
    load(m2, f[3] + h), load(m3, f[4] + h), load(m4, f[5] + h);
    const AppendStep s(f[0], lanes, h);
    s.store_count(f[0] + h);
    const Lanes zero{}, v = zero + value, one = s.one, n = s.n;
    const Lanes d = (v - anchor) - off;
    const Lanes dn = d / n;
    const Lanes dn2 = dn * dn;
    const Lanes t = d * dn * na;
    // single4(v) = {1, v, 0, 0, 0, 0}
    s.store_field(f[1] + h, v, anchor, anchor);
    s.store_field(f[2] + h, zero, off + dn, off);
    s.store_field(f[3] + h, zero, m2 + t, m2);
    s.store_field(f[4] + h, zero, m3 + (t * dn * (na - one) - 3.0 * dn * m2), m3);
    s.store_field(f[5] + h, zero, m4 + (t * dn2 * (na * na - na + one) + 6.0 * dn2 * m2 - 4.0 * dn * m3), m4);
  }
}
inline void append_moments2_lanes(double (*f)[8], double value, unsigned lanes) {
  for (int h = 0; h < 8; h += 4) {
    Lanes na, anchor, off, m2;
    load(na, f[0] + h), load(anchor, f[1] + h), load(off, f[2] + h), load(m2, f[3] + h);
    const AppendStep s(f[0], lanes, h);
    s.store_count(f[0] + h);
    const Lanes zero{}, v = zero + value;
    const Lanes d = (v - anchor) - off;
    const Lanes dn = d / s.n;
    // single2(v) = {1, v, 0, 0}
    s.store_field(f[1] + h, v, anchor, anchor);
    s.store_field(f[2] + h, zero, off + dn, off);
    s.store_field(f[3] + h, zero, m2 + d * dn * na, m2);
  }
}
inline void append_comoments_lanes(double (*f)[8], double a, double b, unsigned lanes) {
  for (int h = 0; h < 8; h += 4) {
    Lanes nx, anchor_a, anchor_b, off_a, off_b, m2a, m2b, cab;
    load(nx, f[0] + h), load(anchor_a, f[1] + h), load(anchor_b, f[2] + h), load(off_a, f[3] + h);
    load(off_b, f[4] + h), load(m2a, f[5] + h), load(m2b, f[6] + h), load(cab, f[7] + h);
    const AppendStep s(f[0], lanes, h);
    s.store_count(f[0] + h);
    const Lanes zero{}, va = zero + a, vb = zero + b, n = s.n;
    const Lanes da = (va - anchor_a) - off_a, db = (vb - anchor_b) - off_b;
    const Lanes g = nx / n;  // f = nx / n of the scalar form
    // single_pair(a, b) = {1, a, b, 0, 0, 0, 0, 0}
    s.store_field(f[1] + h, va, anchor_a, anchor_a);
    s.store_field(f[2] + h, vb, anchor_b, anchor_b);
    s.store_field(f[3] + h, zero, off_a + da / n, off_a);
    s.store_field(f[4] + h, zero, off_b + db / n, off_b);
    s.store_field(f[5] + h, zero, m2a + da * da * g, m2a);
    s.store_field(f[6] + h, zero, m2b + db * db * g, m2b);
    s.store_field(f[7] + h, zero, cab + da * db * g, cab);
  }
}
// f[field] += value on `lanes` (the plain sums of the families' aggregates).
inline void add_lanes(double* field, double value, unsigned lanes) {
  for (int h = 0; h < 8; h += 4) {
    Lanes x;
    load(x, field + h);
    LaneMask on;
    lane_mask(on, lanes, h);
    store(field + h, on ? x + value : x);
  }
}
}  // namespace portable

// ---------------------------------------------------------------------------------------
// Sliding window over a mergeable aggregate.
//
// Op provides: `using Value` and `using Agg` (both trivially copyable), `static Agg
// merge(const Agg&, const Agg&)` (associative in real arithmetic; Agg{} is the identity),
// and the single-value forms `static void append(Agg&, const Value&)` (= merge(agg,
// {v})) and `static Agg prepend(const Value&, const Agg&)` (= merge({v}, agg)).
// Layout: the fields every push reads or writes (the counts, the head aggregate and the
// data pointers of cur_ and suffix_) come first and the object starts on a cache line, so
// a push touches two lines of the object, not three (in streaming use with 28 pairs the
// state is cold at every bar: lines touched are the cost). prev_ is read only at a roll.
template <class Op>
class alignas(64) BlockWindow {
 public:
  using Value = typename Op::Value;
  using Agg = typename Op::Agg;

  explicit BlockWindow(size_t window = 1) : w_(window), cur_(window), suffix_(window), prev_(window) {}

  size_t window() const { return w_; }
  uint64_t count() const { return count_; }
  bool full() const { return count_ >= w_; }

  // True when the next push starts a new block (and so rolls: rebuilds the suffixes).
  bool rolls_next() const { return k_ == w_; }

  // Rolls windows whose next push would roll (rolls_next()), with their suffix chains
  // interleaved. Why: a suffix rebuild is a chain of dependent prepends (each one waits
  // for the previous: latency-bound, the core mostly idle); nested windows (15 | 30 | ...)
  // roll on the same push, and two independent chains advanced in one loop overlap in the
  // core. Bits: every chain runs the same prepends in the same order as roll() does; only
  // the order of independent operations across chains changes. Chain A is the longest
  // window, chain B the others one after another (with nested windows their total is at
  // most the longest, so the pair takes about the time of the longest chain alone).
  static void roll_together(BlockWindow* const* windows, size_t count) {
    if (count == 0) return;
    size_t longest = 0;
    for (size_t i = 0; i < count; ++i) {
      windows[i]->start_block();
      if (windows[i]->w_ > windows[longest]->w_) longest = i;
    }
    SuffixChain a(windows[longest]);
    size_t next_b = 0;
    auto next_chain_b = [&]() -> BlockWindow* {
      if (next_b == longest) ++next_b;
      return next_b < count ? windows[next_b++] : nullptr;
    };
    SuffixChain b(next_chain_b());
    while (!a.done() || !b.done()) {
      if (!a.done()) a.step();
      if (!b.done()) {
        b.step();
        if (b.done()) b = SuffixChain(next_chain_b());
      }
    }
  }

  void push(const Value& v) {
    if (k_ == w_) roll();
    cur_[k_] = v;
    ++k_;
    Op::append(head_, v);
    ++count_;
    // The next push writes cur_[k_] and its value() reads suffix_[k_ + 1] (this push's
    // value() reads suffix_[k_], already fetched by the previous push).
    if (k_ + 1 < w_) {
      prefetch_write(&cur_[k_ + 1], sizeof(Value));
      prefetch_read(&suffix_[k_ + 1], sizeof(Agg));
    }
  }

  // The next push writes cur_[k_] and its value() reads suffix_[k_ + 1] (nothing useful to
  // fetch when that push rolls the blocks: the roll streams through whole arrays).
  void prefetch() const {
    prefetch_read(this, sizeof(*this));
    if (k_ < w_) prefetch_write(&cur_[k_], sizeof(Value));
    if (k_ + 1 < w_) prefetch_read(&suffix_[k_ + 1], sizeof(Agg));
  }

  // The two parts value() merges: left() (null when the head alone is the window) and head().
  const Agg* left() const { return (k_ < w_ && have_prev_) ? &suffix_[k_] : nullptr; }
  const Agg& head() const { return head_; }

  // Aggregate of the last min(count, W) values (oldest merged first).
  Agg value() const {
    if (k_ < w_ && have_prev_) return Op::merge(suffix_[k_], head_);
    return head_;
  }

  // The snapshot holds only the values still in the window: cur_[0, k) and, once a
  // previous block exists, prev_[k, W) (suffix_[j] for j >= k depends only on those, and
  // prev_[0, k) is overwritten before it is read again).
  void save(StateWriter& out) const {
    out.put<uint64_t>(w_);
    out.put<uint64_t>(k_);
    out.put<uint8_t>(have_prev_ ? 1 : 0);
    out.put<uint64_t>(count_);
    out.put(head_);
    for (size_t j = 0; j < k_; ++j) out.put(cur_[j]);
    if (have_prev_) {
      for (size_t j = k_; j < w_; ++j) out.put(prev_[j]);
    }
  }
  void load(StateReader& in) {
    const auto w = in.get<uint64_t>();
    k_ = in.get<uint64_t>();
    have_prev_ = in.get<uint8_t>() != 0;
    count_ = in.get<uint64_t>();
    in.get(head_);
    if (!in.ok() || w != w_ || k_ > w_ || (k_ == 0 && count_ > 0)) {
      in.fail();
      k_ = 0;
      return;
    }
    for (size_t j = 0; j < k_; ++j) in.get(cur_[j]);
    for (size_t j = 0; j < k_; ++j) prev_[j] = Value{};
    if (have_prev_) {
      for (size_t j = k_; j < w_; ++j) in.get(prev_[j]);
      build_suffix();
    }
  }

 private:
  void roll() {
    start_block();
    build_suffix();
  }
  // The full block becomes the previous one (its suffixes still to be built).
  void start_block() {
    cur_.swap(prev_);  // no allocation: both have capacity W
    have_prev_ = true;
    k_ = 0;
    head_ = Agg{};
  }
  void build_suffix() {
    Agg acc{};
    for (size_t j = w_; j-- > 0;) {
      acc = Op::prepend(prev_[j], acc);
      suffix_[j] = acc;
    }
  }
  // build_suffix() of one window, one prepend per step() (see roll_together); an empty
  // chain (no window) is done at once.
  class SuffixChain {
   public:
    explicit SuffixChain(BlockWindow* w)
        : values_(w ? w->prev_.data() : nullptr), suffix_(w ? w->suffix_.data() : nullptr), j_(w ? w->w_ : 0) {}
    bool done() const { return j_ == 0; }
    void step() {
      --j_;
      acc_ = Op::prepend(values_[j_], acc_);
      suffix_[j_] = acc_;
    }

   private:
    const Value* values_;
    Agg* suffix_;
    size_t j_;
    Agg acc_{};
  };

  size_t w_;
  size_t k_ = 0;
  uint64_t count_ = 0;
  bool have_prev_ = false;
  Agg head_{};
  StateVector<Value> cur_;    // values of the block being filled (first k_ valid)
  StateVector<Agg> suffix_;   // suffix_[j] = aggregate of prev_[j .. W-1]
  StateVector<Value> prev_;   // values of the previous (complete) block
};

// The last `capacity` values pushed, read by age (back(0) = newest): the value history a
// family's windows share (RingBlockWindow).
template <class T>
class HistoryRing {
 public:
  explicit HistoryRing(size_t capacity = 1) : cap_(capacity), data_(capacity) {}
  size_t size() const { return size_; }
  void push(const T& v) {
    data_[pos_] = v;
    pos_ = (pos_ + 1 == cap_) ? 0 : pos_ + 1;
    if (size_ < cap_) ++size_;
  }
  // The value pushed `age` pushes ago; age < size().
  const T& back(size_t age) const { return data_[pos_ > age ? pos_ - 1 - age : pos_ + cap_ - 1 - age]; }
  // The next push writes data_[pos_].
  void prefetch() const {
    prefetch_read(this, sizeof(*this));
    prefetch_write(&data_[pos_], sizeof(T));
  }
  void save(StateWriter& out) const {
    out.put<uint64_t>(cap_);
    out.put<uint64_t>(size_);
    for (size_t age = size_; age-- > 0;) out.put(back(age));  // oldest first
  }
  void load(StateReader& in) {
    const auto cap = in.get<uint64_t>();
    const auto size = in.get<uint64_t>();
    pos_ = size_ = 0;
    if (!in.ok() || cap != cap_ || size > cap_) {
      in.fail();
      return;
    }
    for (size_t i = 0; i < size; ++i) push(in.get<T>());
  }

 private:
  size_t cap_;
  StateVector<T> data_;
  size_t pos_ = 0;   // next slot to write
  size_t size_ = 0;  // values held (<= cap_)
};

// The head aggregates of up to 8 windows, field-major: f[field][lane] (lane = window).
// Why: the families grow all their windows' heads with the same value at every bar; stored
// as lanes, one vector append serves all of them (append_*_lanes above) and the output
// formulas read them as vectors without a transpose. Agg{} (the empty head) is all zeros.
template <class Agg>
struct HeadLanes {
  static constexpr size_t kFields = sizeof(Agg) / sizeof(double);
  static_assert(sizeof(Agg) == kFields * sizeof(double), "an aggregate is a row of doubles");
  alignas(64) double f[kFields][8] = {};

  Agg get(size_t lane) const {
    double row[kFields];
    for (size_t k = 0; k < kFields; ++k) row[k] = f[k][lane];
    Agg a;
    std::memcpy(&a, row, sizeof(a));
    return a;
  }
  void set(size_t lane, const Agg& a) {
    double row[kFields];
    std::memcpy(row, &a, sizeof(a));
    for (size_t k = 0; k < kFields; ++k) f[k][lane] = row[k];
  }
  void reset(size_t lane) {
    for (size_t k = 0; k < kFields; ++k) f[k][lane] = 0.0;
  }
  void prefetch() const { prefetch_read(f, sizeof(f)); }
  void save(StateWriter& out) const {
    for (size_t k = 0; k < kFields; ++k) {
      for (size_t l = 0; l < 8; ++l) out.put(f[k][l]);
    }
  }
  void load(StateReader& in) {
    for (size_t k = 0; k < kFields; ++k) {
      for (size_t l = 0; l < 8; ++l) f[k][l] = in.get<double>();
    }
  }
};

// BlockWindow without its own copy of the values and without its head (same aggregates,
// same schedule, same bits), for the N nested windows of one aggregate kind of a family at
// once: the values of a block are read from the family's shared history at the roll, and
// the head (the aggregate of the current block) of window i is lane i of the family's
// HeadLanes, grown by the family (reset to Agg{} when the window rolls).
// Why: the 7 windows x 3 aggregates of stats_rate (2 of stats_bqx) all stored the same
// values (or pairs of neighbours) in their own cur/prev arrays: 21 value writes per bar
// into as many cold cache lines, and twice the values' memory per window. Here a push only
// updates the heads; the family pushes each value once into a ring. And the windows of a
// kind are pushed together, so their counters (and the suffix arrays' base) share one
// cache line instead of one object line per window: in streaming use every line is cold
// at each bar.
//
// Contract: the windows whose next push starts a new block (bit i of rolls_next()) must be
// rolled by roll() before that push, with `source(age)` = the value pushed `age` pushes
// ago (age 0: the last one, i.e. the last value of the full block); the caller resets
// their heads then. A push is advance() here plus the heads' append.
template <class Op, size_t N>
class alignas(64) RingBlockWindows {
 public:
  using Value = typename Op::Value;
  using Agg = typename Op::Agg;
  static_assert(N >= 1 && N <= 8);

  // Ascending window lengths.
  explicit RingBlockWindows(const std::array<int, N>& windows) {
    size_t offset = 0;
    for (size_t i = 0; i < N; ++i) {
      // The counters are 16-bit (one cache line for all windows): W and the offsets fit.
      if (windows[i] < 1 || offset + static_cast<size_t>(windows[i]) > 0xFFFF) {
        throw std::length_error("RingBlockWindows: windows too long for 16-bit counters");
      }
      w_[i] = static_cast<uint16_t>(windows[i]);
      offset_[i] = static_cast<uint16_t>(offset);
      offset += static_cast<size_t>(windows[i]);
    }
    suffix_storage_.resize(offset);
    suffix_ = suffix_storage_.data();
  }
  RingBlockWindows(const RingBlockWindows&) = delete;
  RingBlockWindows& operator=(const RingBlockWindows&) = delete;

  uint64_t count() const { return count_; }
  bool full(size_t i) const { return count_ >= w_[i]; }
  // Bit i: window i's next push starts a new block (roll() first).
  unsigned rolls_next() const {
    unsigned due = 0;
    for (size_t i = 0; i < N; ++i) due |= (k_[i] == w_[i] ? 1u : 0u) << i;
    return due;
  }

  void advance() {
    ++count_;
    for (size_t i = 0; i < N; ++i) {
      const size_t k = ++k_[i];
      // This push's value() reads suffix(i)[k]; the next one reads suffix(i)[k + 1].
      if (k + 1 < w_[i]) prefetch_read(&suffix(i)[k + 1], sizeof(Agg));
    }
  }
  void prefetch() const {
    prefetch_read(this, kHotBytes);
    for (size_t i = 0; i < N; ++i) {
      if (k_[i] + 1u < w_[i]) prefetch_read(&suffix(i)[k_[i] + 1u], sizeof(Agg));
    }
  }
  // prefetch() without reading this object's fields: from the push count and the suffix
  // arrays' base (suffix_base()), which a family keeps in its object's first cache line.
  // Why: in streaming use this object's line is cold when the engine calls the family's
  // prefetch(); loading k_ from it there stalls until it arrives (a demand miss per pair
  // and family). A window's k after `count` pushes follows from the count alone (the
  // schedule: a block of W pushes, rolled before the push that would overfill it), so the
  // same suffix entries are fetched. `windows`: the constructor's (a constant: the offsets
  // and the remainders fold).
  void prefetch_hot() const { prefetch_read(this, kHotBytes); }
  static void prefetch_from(const Agg* suffix_base, uint64_t count, const std::array<int, N>& windows) {
    size_t offset = 0;
    for (size_t i = 0; i < N; ++i) {
      const uint64_t w = static_cast<uint64_t>(windows[i]);
      const uint64_t k = count == 0 ? 0 : (count - 1) % w + 1;
      if (k + 1 < w) prefetch_read(suffix_base + offset + k + 1, sizeof(Agg));
      offset += static_cast<size_t>(w);
    }
  }
  const Agg* suffix_base() const { return suffix_; }

  // Bit i: window i is full (lanes >= N: 0).
  unsigned full_mask() const {
    unsigned mask = 0;
    for (size_t i = 0; i < N; ++i) mask |= (count_ >= w_[i] ? 1u : 0u) << i;
    return mask;
  }
  // left(i) of the 8 lanes as rows for transpose_lanes (`empty` where a window has no left
  // part, and for lanes >= N); returns bit i = window i has one. Selects, not branches: in
  // the families' per-bar output setup the per-window branches cost more than the reads.
  unsigned left_rows(const void* (&rows)[8], const Agg* empty) const {
    unsigned has = 0;
    for (size_t i = 0; i < 8; ++i) {
      const bool l = i < N && k_[i] < w_[i] && (have_prev_ >> i & 1u);
      rows[i] = l ? static_cast<const void*>(suffix_ + offset_[i] + k_[i]) : static_cast<const void*>(empty);
      has |= (l ? 1u : 0u) << i;
    }
    return has;
  }

  // The part of window i before its head (null when the head alone is the window): the
  // window's aggregate is merge(*left(i), head), or the head.
  const Agg* left(size_t i) const { return (k_[i] < w_[i] && (have_prev_ >> i & 1u)) ? &suffix(i)[k_[i]] : nullptr; }
  Agg value(size_t i, const Agg& head) const {
    const Agg* l = left(i);
    return l ? Op::merge(*l, head) : head;
  }

  // Rolls the windows of `due` (bits of rolls_next()): each full block becomes the
  // previous one and its suffixes suffix[j] = agg(v_j .. v_{W-1}) are rebuilt right to
  // left, as BlockWindow::roll does. Only the longest due window's chain is computed: the
  // block of every due window is the last W_i values pushed, so a shorter window's chain
  // runs the same prepends on the same values in the same order as the last W_i steps of
  // the longest chain: suffix_i[j] == suffix_longest[j + W_longest - W_i], bit for bit.
  // Why: nested windows (15 | 30 | ...) roll on the same push, and their chains were about
  // half of all the prepends (each a division); a copy of the tail replaces them.
  template <class Source>
  void roll(unsigned due, const Source& source) {
    if (due == 0) return;
    size_t longest = N;
    for (size_t i = 0; i < N; ++i) {
      if (!(due >> i & 1u)) continue;
      k_[i] = 0;
      if (longest == N || w_[i] > w_[longest]) longest = i;
    }
    have_prev_ = static_cast<uint8_t>(have_prev_ | due);
    SuffixChain<Source> chain(this, longest, 0, source);
    while (!chain.done()) chain.step();
    const Agg* built = suffix(longest);
    const size_t built_len = w_[longest];
    for (size_t i = 0; i < N; ++i) {
      if (!(due >> i & 1u) || i == longest) continue;
      std::copy(built + (built_len - w_[i]), built + built_len, suffix(i));
    }
  }

  // The snapshot holds each window's counters (the family saves the heads), in the format
  // of a single window's save so that a family can keep its window-major order; load()
  // rebuilds the suffixes still in use (suffix_[j], j >= k: from the previous block's
  // values v_j, pushed k + W - 1 - j <= W - 1 pushes ago) from the shared history, which
  // must be loaded first and serve `history_size` ages (load_counters() of every window,
  // then load_suffixes()).
  void save_counters(size_t i, StateWriter& out) const {
    out.put<uint64_t>(w_[i]);
    out.put<uint64_t>(k_[i]);
    out.put<uint8_t>(have_prev_ >> i & 1u);
    out.put<uint64_t>(count_);
  }
  void load_counters(size_t i, StateReader& in) {
    const auto w = in.get<uint64_t>();
    const auto k = in.get<uint64_t>();
    const bool have_prev = in.get<uint8_t>() != 0;
    const auto count = in.get<uint64_t>();
    // Windows pushed together share their push count.
    if (!in.ok() || w != w_[i] || k > w_[i] || (k == 0 && count > 0) || (i > 0 && count != count_)) {
      in.fail();
      clear();
      return;
    }
    k_[i] = static_cast<uint16_t>(k);
    have_prev_ = static_cast<uint8_t>((have_prev_ & ~(1u << i)) | (have_prev ? 1u << i : 0u));
    count_ = count;
  }
  template <class Source>
  void load_suffixes(StateReader& in, const Source& source, size_t history_size) {
    if (!in.ok()) {
      clear();
      return;
    }
    for (size_t i = 0; i < N; ++i) {
      if (!(have_prev_ >> i & 1u)) continue;
      if (w_[i] > history_size) {
        in.fail();
        clear();
        return;
      }
      SuffixChain<Source> chain(this, i, k_[i], source);
      while (chain.remaining() > k_[i]) chain.step();
    }
  }

 private:
  Agg* suffix(size_t i) { return suffix_ + offset_[i]; }
  const Agg* suffix(size_t i) const { return suffix_ + offset_[i]; }
  void clear() {
    count_ = 0;
    k_ = {};
    have_prev_ = 0;
  }

  // The suffix chain of window i, one prepend per step(): suffix(i)[j] for j = W-1 down,
  // value v_j = source(age0 + W - 1 - j); i == N (no window): done at once.
  template <class Source>
  class SuffixChain {
   public:
    SuffixChain(RingBlockWindows* ws, size_t i, size_t age0, const Source& source)
        : source_(&source), suffix_(i < N ? ws->suffix(i) : nullptr), j_(i < N ? ws->w_[i] : 0), age_(age0) {}
    bool done() const { return j_ == 0; }
    size_t remaining() const { return j_; }
    void step() {
      --j_;
      acc_ = Op::prepend((*source_)(age_), acc_);
      ++age_;
      suffix_[j_] = acc_;
    }

   private:
    const Source* source_;
    Agg* suffix_;
    size_t j_;
    size_t age_;
    Agg acc_{};
  };

  // Everything a push reads, in one cache line (kHotBytes).
  Agg* suffix_ = nullptr;          // suffix(i) = suffix_ + offset_[i], W_i entries
  uint64_t count_ = 0;             // pushes (the same for every window)
  std::array<uint16_t, N> k_{};    // values in window i's current block
  std::array<uint16_t, N> w_{};    // window lengths
  std::array<uint16_t, N> offset_{};
  uint8_t have_prev_ = 0;          // bit i: window i has a previous block
  static constexpr size_t kHotBytes = 2 * sizeof(uint64_t) + 3 * N * sizeof(uint16_t) + 1;
  StateVector<Agg> suffix_storage_;  // the N suffix arrays, one after another
};

// Ready-made ops.
struct Moments4Op {
  using Value = double;
  using Agg = Moments4;
  static Agg merge(const Agg& a, const Agg& b) { return stats::merge(a, b); }
  static void append(Agg& a, double v) { stats::append(a, v); }
  static Agg prepend(double v, const Agg& b) { return stats::prepend(v, b); }
};

struct Moments2Op {
  using Value = double;
  using Agg = Moments2;
  static Agg merge(const Agg& a, const Agg& b) { return stats::merge(a, b); }
  static void append(Agg& a, double v) { stats::append(a, v); }
  static Agg prepend(double v, const Agg& b) { return stats::prepend(v, b); }
};

struct PairValue {
  double a = 0, b = 0;
};

struct CoMomentsOp {
  using Value = PairValue;
  using Agg = CoMoments;
  static Agg merge(const Agg& a, const Agg& b) { return stats::merge(a, b); }
  static void append(Agg& x, const PairValue& v) { stats::append(x, v.a, v.b); }
  static Agg prepend(const PairValue& v, const Agg& y) { return stats::prepend(v.a, v.b, y); }
};

}  // namespace bqx::features::stats
