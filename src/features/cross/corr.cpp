// corr: cross-pair correlation on the as-of grid (FEATURES.md 2.4); column order and the
// NULL policy in corr_kernel.h.
//
// Series (one value per grid row, NULL allowed):
//   R_p(g)   = l_p(g) - l_p(previous grid row); NULL if the pair is unavailable at either row.
//   ds_c(g)  = s_c(g) - s_c(previous grid row), s = currency strengths (corr_strength.h).
//   M_p(g)   = mean over the related pairs q (6 sharing p's base, 6 sharing its quote, in
//              the universe, R_q(g) non-NULL) of o_pq * R_q(g), o_pq = +1 if the shared
//              currency sits on the same side of both pairs, else -1; NULL if none.
// Columns for pair p:
//   corr_base_{mean,min,max}_W : over the base-sharing q, of o_pq * corr_W(R_p, R_q)
//   corr_quote_{mean,min,max}_W: the same over the quote-sharing q
//   corr_market_W              : mean over all other pairs q of |corr_W(R_p, R_q)|
//   corr_base_strength_W       : corr_W(R_p, ds_base);  corr_quote_strength_W = corr_W(R_p, -ds_quote)
//   corr_lead_lag_240          : corr_240(R_p(g), M_p(g-1))
//   corr_dispersion_60         : population stdev (ddof 0, numpy default) of the non-NULL
//                                related oriented correlations at W = 60 (base then quote);
//                                NULL with fewer than 2
// Means / min / max skip NULL correlations and are NULL when none is left.
//
// State: a ring of the last 1441 grid rows of the 64 series (28 R, 8 ds, 28 lagged M) and
// one co-moment accumulator (n, nonzero counts, sums of x, y, x^2, y^2, xy over the jointly
// non-NULL rows of the window) per correlation: 378 pair couples x 3 windows + 28 x 2 x 2
// strength + 28 lead-lag = 1274 (fixed shape; a pair outside the universe has NULL returns
// and its accumulators stay empty). Each grid row adds the new row and removes the row
// leaving the window, branch-free with 0/1 masks: O(1) per accumulator.
// Returns are centred near 0, so raw sums do not cancel catastrophically; to bound rounding
// drift each accumulator is recomputed exactly from the ring once every 4 W rows, staggered
// by accumulator index ((row + k) % 4W == 0) so the cost is spread evenly; the schedule
// depends only on the row count, so batch, stream and restored runs are bit-identical. A
// spike leaving the window (its square > 1e3 x the remaining sum of squares) triggers the
// exact recomputation of the accumulators it was part of at once (repair_cancellation).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "features/cross/corr_kernel.h"
#include "features/cross/corr_strength.h"
#include "features/cross/cross_families.h"

namespace bqx::features {
namespace {

constexpr int kSeriesR = 0;                               // 28
constexpr int kSeriesDs = kPairCount;                     // 8
constexpr int kSeriesMlag = kPairCount + kCurrencyCount;  // 28
constexpr int kSeries = kSeriesMlag + kPairCount;         // 64
constexpr int kRing = kCorrWindows.back() + 1;            // rows g-W .. g
// The series-major copy of the ring (see CorrKernel::series_) is written 8 rows at a time:
// a block of 8 rows is one cache line per series. Its length is kRing rounded up to whole
// blocks.
constexpr int kSeriesBlock = 8;
constexpr int kSeriesRing = (kRing + kSeriesBlock - 1) / kSeriesBlock * kSeriesBlock;
constexpr int kRelated = 6;
constexpr int kCouples = kPairCount * (kPairCount - 1) / 2;  // 378 unordered pairs p < q
constexpr int kStrengthAccs = static_cast<int>(kCorrStrengthWindows.size()) * kPairCount * 2;
constexpr int kOtherAccs = kStrengthAccs + kPairCount;       // + lead-lag
constexpr double kCancellation = 1e3;  // see repair_cancellation
constexpr uint64_t kReanchorPeriods = 4;  // exact recomputation every 4 W rows per accumulator

// Accumulator fields, stored as structure of arrays: field f of accumulator k at
// [f * count + k].
enum Field { kN = 0, kNzx, kNzy, kSx, kSy, kSxx, kSyy, kSxy, kFields };

// Fewest jointly non-NULL rows for a correlation over W rows.
double min_rows(int window) { return std::max(2.0, static_cast<double>(window / 2)); }

struct Related {
  int q = 0;
  double o = 0;  // orientation +1 / -1
};

// One grid row of the 64 series, split for branch-free accumulation: v = value or 0,
// vv = v * v, m = 1 if non-NULL else 0, nz = 1 if non-NULL and non-zero else 0.
struct Prepared {
  // No initialisers: every field is written by set() or clear() before use (zeroing the
  // four rows of each grid row showed in the profile).
  std::array<double, kSeries> v, vv, m, nz;
  // All 64 series of one grid row, branch-free (a NaN test per value mispredicted in the
  // profile): x == x is "not NULL", (x < 0) | (x > 0) is "not NULL and non-zero".
  void set_all(const double* x) {
    for (int s = 0; s < kSeries; ++s) {
      const bool ok = x[s] == x[s];
      v[s] = ok ? x[s] : 0.0;
      m[s] = ok ? 1.0 : 0.0;
      nz[s] = (x[s] < 0.0) | (x[s] > 0.0) ? 1.0 : 0.0;
    }
    for (int s = 0; s < kSeries; ++s) vv[s] = v[s] * v[s];
  }
  void clear() {
    v.fill(0.0);
    vv.fill(0.0);
    m.fill(0.0);
    nz.fill(0.0);
  }
};

// The spike test of couple k (x, y) after its row r - W (od) was removed: a value leaving the
// window is a spike (see CorrKernel::recompute_spikes).
inline bool couple_spike(const double* a, int count, int k, int x, int y, const Prepared& od) {
  return (od.vv[x] * od.m[y] > kCancellation * a[kSxx * count + k]) |
         (od.m[x] * od.vv[y] > kCancellation * a[kSyy * count + k]);
}

// All couples (p, q > p) of one window: adds row r (nw) and removes row r - W (od) from the
// sums; returns whether any couple has a spike leaving the window (couple_spike; the rare
// caller that gets true finds them again with couple_spike: no per-couple flag is stored).
// For fixed p the q-indexed operands are contiguous, so the inner loop is branch-free and
// vectorises; cloned for AVX-512 / AVX2 with runtime dispatch (SIMD across couples:
// per-lane IEEE ops, bit-identical). Rows p outside the universe are skipped (row_active[p]
// = 0): p's returns are always NULL, so every delta of its couples is +0 and no spike can
// leave (their sums stay +0, as adding +0 would leave them).
__attribute__((target_clones("avx512f", "avx2", "default"))) bool accumulate_couples(
    double* __restrict a, const Prepared& nw, const Prepared& od, const int* couple_start, const uint8_t* row_active) {
  uint64_t any_spike = 0;
  double* n = a + kN * kCouples;
  double* nzx = a + kNzx * kCouples;
  double* nzy = a + kNzy * kCouples;
  double* sx = a + kSx * kCouples;
  double* sy = a + kSy * kCouples;
  double* sxx = a + kSxx * kCouples;
  double* syy = a + kSyy * kCouples;
  double* sxy = a + kSxy * kCouples;
  for (int p = 0; p + 1 < kPairCount; ++p) {
    if (!row_active[p]) continue;
    const double xp = nw.v[p], xxp = nw.vv[p], mp = nw.m[p], zp = nw.nz[p];
    const double xo = od.v[p], xxo = od.vv[p], mo = od.m[p], zo = od.nz[p];
    const int len = kPairCount - 1 - p;
    const double* yv = nw.v.data() + p + 1;
    const double* yvv = nw.vv.data() + p + 1;
    const double* ym = nw.m.data() + p + 1;
    const double* yz = nw.nz.data() + p + 1;
    const double* ov = od.v.data() + p + 1;
    const double* ovv = od.vv.data() + p + 1;
    const double* om = od.m.data() + p + 1;
    const double* oz = od.nz.data() + p + 1;
    double* const n_p = n + couple_start[p];
    double* const nzx_p = nzx + couple_start[p];
    double* const nzy_p = nzy + couple_start[p];
    double* const sx_p = sx + couple_start[p];
    double* const sy_p = sy + couple_start[p];
    double* const sxx_p = sxx + couple_start[p];
    double* const syy_p = syy + couple_start[p];
    double* const sxy_p = sxy + couple_start[p];
    for (int j = 0; j < len; ++j) {
      n_p[j] += mp * ym[j] - mo * om[j];
      nzx_p[j] += zp * ym[j] - zo * om[j];
      nzy_p[j] += mp * yz[j] - mo * oz[j];
      sx_p[j] += xp * ym[j] - xo * om[j];
      sy_p[j] += mp * yv[j] - mo * ov[j];
      sxx_p[j] += xxp * ym[j] - xxo * om[j];
      syy_p[j] += mp * yvv[j] - mo * ovv[j];
      sxy_p[j] += xp * yv[j] - xo * ov[j];
      any_spike |= static_cast<uint64_t>((xxo * om[j] > kCancellation * sxx_p[j]) |
                                         (mo * ovv[j] > kCancellation * syy_p[j]));
    }
  }
  return any_spike != 0;
}

// accumulate_couples when every return series is non-NULL in both rows (the usual case: all
// 28 pairs quoting): every mask is 1.0, so x * m = x exactly and each n changes by
// 1 * 1 - 1 * 1 = +0 (left untouched: adding +0 to a count >= +0 keeps its bits). The same
// sums as the general form with the 1.0 factors dropped, without the n stream, and nzx only
// where p's own non-zero flag changed (otherwise its delta is +0 for every q).
__attribute__((target_clones("avx512f", "avx2", "default"))) bool accumulate_couples_present(
    double* __restrict a, const Prepared& nw, const Prepared& od, const int* couple_start) {
  uint64_t any_spike = 0;
  double* nzx = a + kNzx * kCouples;
  double* nzy = a + kNzy * kCouples;
  double* sx = a + kSx * kCouples;
  double* sy = a + kSy * kCouples;
  double* sxx = a + kSxx * kCouples;
  double* syy = a + kSyy * kCouples;
  double* sxy = a + kSxy * kCouples;
  for (int p = 0; p + 1 < kPairCount; ++p) {
    const double xp = nw.v[p], xxp = nw.vv[p], zp = nw.nz[p];
    const double xo = od.v[p], xxo = od.vv[p], zo = od.nz[p];
    const int len = kPairCount - 1 - p;
    const double* yv = nw.v.data() + p + 1;
    const double* yvv = nw.vv.data() + p + 1;
    const double* yz = nw.nz.data() + p + 1;
    const double* ov = od.v.data() + p + 1;
    const double* ovv = od.vv.data() + p + 1;
    const double* oz = od.nz.data() + p + 1;
    double* const nzy_p = nzy + couple_start[p];
    double* const sx_p = sx + couple_start[p];
    double* const sy_p = sy + couple_start[p];
    double* const sxx_p = sxx + couple_start[p];
    double* const syy_p = syy + couple_start[p];
    double* const sxy_p = sxy + couple_start[p];
    if (zp != zo) {
      double* const nzx_p = nzx + couple_start[p];
      for (int j = 0; j < len; ++j) nzx_p[j] += zp - zo;
    }
    for (int j = 0; j < len; ++j) {
      nzy_p[j] += yz[j] - oz[j];
      sx_p[j] += xp - xo;
      sy_p[j] += yv[j] - ov[j];
      sxx_p[j] += xxp - xxo;
      syy_p[j] += yvv[j] - ovv[j];
      sxy_p[j] += xp * yv[j] - xo * ov[j];
      any_spike |= static_cast<uint64_t>((xxo > kCancellation * sxx_p[j]) | (ovv[j] > kCancellation * syy_p[j]));
    }
  }
  return any_spike != 0;
}

#if defined(__x86_64__) && defined(__GNUC__)
// accumulate_couples_present with AVX-512 masked loads and stores: a couple row p has
// 27 - p couples (27 down to 1, 13.5 on average), so the compiled loop above runs most of
// them in its 4-wide and scalar tails; here every row is whole 8-lane steps, the last one
// masked. Per lane the same IEEE operations in the same order (mul, sub and add kept
// separate: no FMA), so the bits are unchanged.
__attribute__((target("avx512f"))) bool accumulate_couples_present_avx512(double* __restrict a, const Prepared& nw,
                                                                           const Prepared& od,
                                                                           const int* couple_start) {
  const __m512d cancellation = _mm512_set1_pd(kCancellation);
  __mmask8 any_spike = 0;
  for (int p = 0; p + 1 < kPairCount; ++p) {
    const int len = kPairCount - 1 - p;
    const __m512d xp = _mm512_set1_pd(nw.v[p]), xo = _mm512_set1_pd(od.v[p]);
    const __m512d dx = _mm512_set1_pd(nw.v[p] - od.v[p]);
    const __m512d dxx = _mm512_set1_pd(nw.vv[p] - od.vv[p]);
    const __m512d xxo = _mm512_set1_pd(od.vv[p]);
    const bool nzx_changes = nw.nz[p] != od.nz[p];
    const __m512d dz = _mm512_set1_pd(nw.nz[p] - od.nz[p]);
    double* const base = a + couple_start[p];
    for (int j = 0; j < len; j += 8) {
      const __mmask8 m = len - j >= 8 ? static_cast<__mmask8>(0xFF) : static_cast<__mmask8>((1u << (len - j)) - 1u);
      const int q = p + 1 + j;
      const __m512d yv = _mm512_maskz_loadu_pd(m, nw.v.data() + q);
      const __m512d yvv = _mm512_maskz_loadu_pd(m, nw.vv.data() + q);
      const __m512d yz = _mm512_maskz_loadu_pd(m, nw.nz.data() + q);
      const __m512d ov = _mm512_maskz_loadu_pd(m, od.v.data() + q);
      const __m512d ovv = _mm512_maskz_loadu_pd(m, od.vv.data() + q);
      const __m512d oz = _mm512_maskz_loadu_pd(m, od.nz.data() + q);
      double* const cell = base + j;
      if (nzx_changes) {
        double* const f = cell + kNzx * kCouples;
        _mm512_mask_storeu_pd(f, m, _mm512_add_pd(_mm512_maskz_loadu_pd(m, f), dz));
      }
      double* const f_nzy = cell + kNzy * kCouples;
      _mm512_mask_storeu_pd(f_nzy, m, _mm512_add_pd(_mm512_maskz_loadu_pd(m, f_nzy), _mm512_sub_pd(yz, oz)));
      double* const f_sx = cell + kSx * kCouples;
      _mm512_mask_storeu_pd(f_sx, m, _mm512_add_pd(_mm512_maskz_loadu_pd(m, f_sx), dx));
      double* const f_sy = cell + kSy * kCouples;
      _mm512_mask_storeu_pd(f_sy, m, _mm512_add_pd(_mm512_maskz_loadu_pd(m, f_sy), _mm512_sub_pd(yv, ov)));
      double* const f_sxx = cell + kSxx * kCouples;
      const __m512d sxx = _mm512_add_pd(_mm512_maskz_loadu_pd(m, f_sxx), dxx);
      _mm512_mask_storeu_pd(f_sxx, m, sxx);
      double* const f_syy = cell + kSyy * kCouples;
      const __m512d syy = _mm512_add_pd(_mm512_maskz_loadu_pd(m, f_syy), _mm512_sub_pd(yvv, ovv));
      _mm512_mask_storeu_pd(f_syy, m, syy);
      double* const f_sxy = cell + kSxy * kCouples;
      const __m512d dxy = _mm512_sub_pd(_mm512_mul_pd(xp, yv), _mm512_mul_pd(xo, ov));
      _mm512_mask_storeu_pd(f_sxy, m, _mm512_add_pd(_mm512_maskz_loadu_pd(m, f_sxy), dxy));
      any_spike |= _mm512_mask_cmp_pd_mask(m, xxo, _mm512_mul_pd(cancellation, sxx), _CMP_GT_OQ) |
                   _mm512_mask_cmp_pd_mask(m, ovv, _mm512_mul_pd(cancellation, syy), _CMP_GT_OQ);
    }
  }
  return any_spike != 0;
}

// The other accumulators (kOtherAccs, SoA sums in a, field stride kOtherAccs) as 8-lane
// blocks, using their fixed order (see the CorrKernel constructor): strength accumulators
// j = si * 56 + 2 p + side pair R_p with ds of p's base (side 0) or quote (side 1), so a
// block holds 4 pairs: R_p is loaded once and each value duplicated, and the ds values of
// the 8 currencies (one register) are permuted to the lanes' currencies (ds_lane[b]); then
// the 28 lead-lag accumulators (R_p with Mlag_p, contiguous, the last block 4 lanes). Per
// lane the operations of accumulate_one (mul, sub, add kept separate: no FMA), so the bits
// are unchanged. old_strength[si] is the row leaving strength window si, old_lead_lag the
// one leaving the lead-lag window. Returns whether any accumulator has a spike leaving.
struct Operands512 {
  __m512d v, vv, m, nz;
};
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline Operands512 load_operands(const Prepared& row, int first,
                                                                                           __mmask8 lanes) {
  return {_mm512_maskz_loadu_pd(lanes, row.v.data() + first), _mm512_maskz_loadu_pd(lanes, row.vv.data() + first),
          _mm512_maskz_loadu_pd(lanes, row.m.data() + first), _mm512_maskz_loadu_pd(lanes, row.nz.data() + first)};
}
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline Operands512 permute_operands(const Operands512& in,
                                                                                              __m512i index) {
  // The maskz form: GCC 12's plain _mm512_permutexvar_pd trips -Wuninitialized (its
  // _mm512_undefined_pd); all lanes are kept.
  const __mmask8 all = 0xFF;
  return {_mm512_maskz_permutexvar_pd(all, index, in.v), _mm512_maskz_permutexvar_pd(all, index, in.vv),
          _mm512_maskz_permutexvar_pd(all, index, in.m), _mm512_maskz_permutexvar_pd(all, index, in.nz)};
}
// a[field] += nw_a * nw_b - od_a * od_b on the lanes; returns the new sums.
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline __m512d update_field(
    double* a, int field, __mmask8 lanes, __m512d nw_a, __m512d nw_b, __m512d od_a, __m512d od_b) {
  double* f = a + field * kOtherAccs;
  const __m512d delta = _mm512_sub_pd(_mm512_mul_pd(nw_a, nw_b), _mm512_mul_pd(od_a, od_b));
  const __m512d sum = _mm512_add_pd(_mm512_maskz_loadu_pd(lanes, f), delta);
  _mm512_mask_storeu_pd(f, lanes, sum);
  return sum;
}
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline bool accumulate_block(
    double* a, __mmask8 lanes, const Operands512& nx, const Operands512& ny, const Operands512& ox,
    const Operands512& oy) {
  update_field(a, kN, lanes, nx.m, ny.m, ox.m, oy.m);
  update_field(a, kNzx, lanes, nx.nz, ny.m, ox.nz, oy.m);
  update_field(a, kNzy, lanes, nx.m, ny.nz, ox.m, oy.nz);
  update_field(a, kSx, lanes, nx.v, ny.m, ox.v, oy.m);
  update_field(a, kSy, lanes, nx.m, ny.v, ox.m, oy.v);
  const __m512d sxx = update_field(a, kSxx, lanes, nx.vv, ny.m, ox.vv, oy.m);
  const __m512d syy = update_field(a, kSyy, lanes, nx.m, ny.vv, ox.m, oy.vv);
  update_field(a, kSxy, lanes, nx.v, ny.v, ox.v, oy.v);
  const __m512d cancellation = _mm512_set1_pd(kCancellation);
  const __mmask8 spike =
      _mm512_mask_cmp_pd_mask(lanes, _mm512_mul_pd(ox.vv, oy.m), _mm512_mul_pd(cancellation, sxx), _CMP_GT_OQ) |
      _mm512_mask_cmp_pd_mask(lanes, _mm512_mul_pd(ox.m, oy.vv), _mm512_mul_pd(cancellation, syy), _CMP_GT_OQ);
  return spike != 0;
}
constexpr int kStrengthBlocks = kStrengthAccs / 8;
static_assert(kStrengthAccs % 8 == 0 && (2 * kPairCount) % 8 == 0, "strength blocks of 4 pairs");
__attribute__((target("avx512f"))) bool accumulate_others_avx512(
    double* __restrict a, const Prepared& nw, const std::array<const Prepared*, kCorrStrengthWindows.size()>& old_strength,
    const Prepared& old_lead_lag, const std::array<std::array<int64_t, 8>, kStrengthBlocks>& ds_lane) {
  const __m512i duplicate = _mm512_set_epi64(3, 3, 2, 2, 1, 1, 0, 0);
  const __mmask8 all = 0xFF;
  const Operands512 nds = load_operands(nw, kSeriesDs, all);
  bool any_spike = false;
  for (int b = 0; b < kStrengthBlocks; ++b) {
    const int si = b / (2 * kPairCount / 8);
    const int p0 = (b % (2 * kPairCount / 8)) * 4;
    const Prepared& od = *old_strength[si];
    const __m512i to_currency = _mm512_loadu_si512(ds_lane[b].data());
    const Operands512 nx = permute_operands(load_operands(nw, kSeriesR + p0, 0x0F), duplicate);
    const Operands512 ox = permute_operands(load_operands(od, kSeriesR + p0, 0x0F), duplicate);
    const Operands512 ny = permute_operands(nds, to_currency);
    const Operands512 oy = permute_operands(load_operands(od, kSeriesDs, all), to_currency);
    any_spike |= accumulate_block(a + 8 * b, all, nx, ny, ox, oy);
  }
  for (int p0 = 0; p0 < kPairCount; p0 += 8) {
    const __mmask8 lanes = kPairCount - p0 >= 8 ? all : static_cast<__mmask8>((1u << (kPairCount - p0)) - 1u);
    const Operands512 nx = load_operands(nw, kSeriesR + p0, lanes);
    const Operands512 ny = load_operands(nw, kSeriesMlag + p0, lanes);
    const Operands512 ox = load_operands(old_lead_lag, kSeriesR + p0, lanes);
    const Operands512 oy = load_operands(old_lead_lag, kSeriesMlag + p0, lanes);
    any_spike |= accumulate_block(a + kStrengthAccs + p0, lanes, nx, ny, ox, oy);
  }
  return any_spike;
}

bool cpu_has_avx512f() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}
#endif

// Pearson correlations of accumulators [0, count) from their sums, branch-free:
// (n Sxy - Sx Sy) / sqrt((n Sxx - Sx^2) (n Syy - Sy^2)), NULL when fewer than n_min[k] rows
// (max(2, W/2)), no non-zero value, or a centred sum of squares <= kCorrZeroVariance x the
// uncentred one; clamped to [-1, 1]. n_min[k] = +inf keeps accumulator k NULL (window not
// yet full). SIMD across accumulators (cloned for AVX-512 / AVX2 with runtime dispatch):
// every lane does the same IEEE operations as the scalar form, so the bits are identical.
// Accumulators [begin, end) of the count.
__attribute__((target_clones("avx512f", "avx2", "default"))) void pearson_correlations(
    const double* __restrict a, int count, int begin, int end, const double* __restrict n_min,
    double* __restrict out) {
  const double* nn = a + kN * count;
  const double* nzx = a + kNzx * count;
  const double* nzy = a + kNzy * count;
  const double* sx = a + kSx * count;
  const double* sy = a + kSy * count;
  const double* sxx = a + kSxx * count;
  const double* syy = a + kSyy * count;
  const double* sxy = a + kSxy * count;
  for (int k = begin; k < end; ++k) {
    const double n = nn[k];
    const double vx = n * sxx[k] - sx[k] * sx[k];
    const double vy = n * syy[k] - sy[k] * sy[k];
    // & (not &&): every condition is evaluated, so the loop has no branch and vectorises.
    const bool ok = (n >= n_min[k]) & (nzx[k] > 0.0) & (nzy[k] > 0.0) & (vx > kCorrZeroVariance * n * sxx[k]) &
                    (vy > kCorrZeroVariance * n * syy[k]);
    const double c = (n * sxy[k] - sx[k] * sy[k]) / std::sqrt(ok ? vx * vy : 1.0);
    out[k] = ok ? std::min(1.0, std::max(-1.0, c)) : kNull;
  }
}

// The per-pair columns are computed for all pairs at once, one lane per pair slot (SIMD
// across pairs): lane p walks its related pairs / other pairs in the same order as the
// scalar definition, skipping NULL correlations with selects instead of branches, so every
// lane performs the same IEEE operations in the same order and the bits are unchanged.
constexpr int kLanes = 32;                  // pair slots padded to a multiple of 8
constexpr int kRelatedSlots = 2 * kRelated;  // the base-sharing pairs, then the quote-sharing ones
constexpr int kNullCell = kCouples;          // index of an always-NULL cell after the couples

// Couple indices read by each lane: related pairs in ascending slot order (base side, then
// quote side) with their orientation. A lane with fewer related pairs (pair outside the
// universe) or a padding lane reads kNullCell.
struct LaneIndex {
  alignas(64) std::array<std::array<int32_t, kLanes>, kRelatedSlots> rel{};
  alignas(64) std::array<std::array<double, kLanes>, kRelatedSlots> rel_o{};
};

// One window's correlations as a dense symmetric matrix, row q, lane p: corr_W(R_p, R_q) for
// p != q both in the universe, else NULL (the diagonal, padding lanes, pairs outside the
// universe). The market column reads it with whole-vector loads, in the same ascending-q
// order per lane as the scalar definition (NULL cells are skipped), instead of 27 gathered
// loads per lane from the couple-ordered array.
using OtherMatrix = std::array<std::array<double, kLanes>, kPairCount>;

// For one window, from its correlations corr[0..kCouples] (corr[kNullCell] is NULL) and the
// same values as a dense matrix (others): the 6 related columns (base mean, min, max, quote
// mean, min, max) into related_out[0..6) x kLanes, the market column into market_out, and
// (when dispersion_out is not null) the population stdev of the related oriented
// correlations.
// 8 pair lanes as one GCC vector (an AVX-512 register, or 2 / 4 narrower ones in the
// AVX2 / default clones): the accumulators below stay in registers (as plain arrays indexed
// by lane, GCC kept them on the stack and chained masked stores through memory).
typedef double Lanes8 __attribute__((vector_size(64)));
typedef int64_t Mask8 __attribute__((vector_size(64)));
constexpr int kLaneBlock = 8;

// The helpers take and return 64-byte vectors, which has no stable ABI without AVX-512
// (-Wpsabi): they are internal and always inlined into the cloned function, so no call
// ever passes such a vector. (GCC reports it at the end of the file, so the pragma is not
// popped.)
#pragma GCC diagnostic ignored "-Wpsabi"
[[gnu::always_inline]] inline Lanes8 load8(const double* p) {
  Lanes8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store8(double* p, Lanes8 v) { std::memcpy(p, &v, sizeof v); }
[[gnu::always_inline]] inline Lanes8 splat8(double x) { return Lanes8{x, x, x, x, x, x, x, x}; }
[[gnu::always_inline]] inline Lanes8 abs8(Lanes8 v) {  // std::fabs per lane: clears the sign bit
  return reinterpret_cast<Lanes8>(reinterpret_cast<Mask8>(v) & std::numeric_limits<int64_t>::max());
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void pair_columns_lanes(
    const LaneIndex& ix, const double* __restrict corr, const OtherMatrix& others, double* __restrict related_out,
    double* __restrict market_out, double* __restrict dispersion_out) {
  const Lanes8 zero = splat8(0.0), one = splat8(1.0), null = splat8(kNull);
  for (int b = 0; b < kLanes; b += kLaneBlock) {
    // The base and the quote side advance together (two independent chains of selects and
    // additions; per side and lane the same operations in the same order).
    Lanes8 sum[2] = {zero, zero}, mn[2] = {zero, zero}, mx[2] = {zero, zero}, n[2] = {zero, zero};
    Lanes8 values[kRelatedSlots];
    for (int i = 0; i < kRelated; ++i) {
#pragma GCC unroll 2
      for (int side = 0; side < 2; ++side) {
        const int slot = side * kRelated + i;
        // One initializer (not eight lane stores): GCC builds it as a tree of inserts instead
        // of a chain of eight dependent masked broadcasts.
        const int32_t* r = &ix.rel[slot][b];
        const Lanes8 c = {corr[r[0]], corr[r[1]], corr[r[2]], corr[r[3]],
                          corr[r[4]], corr[r[5]], corr[r[6]], corr[r[7]]};
        static_assert(kLaneBlock == 8);
        const Mask8 ok = c == c;  // not NULL
        const Lanes8 v = load8(&ix.rel_o[slot][b]) * c;
        const Mask8 first = n[side] == zero;
        mn[side] = (ok & (first | (v < mn[side]))) ? v : mn[side];
        mx[side] = (ok & (first | (v > mx[side]))) ? v : mx[side];
        sum[side] = ok ? sum[side] + v : sum[side];
        n[side] = ok ? n[side] + one : n[side];
        values[slot] = v;  // NULL when c is
      }
    }
#pragma GCC unroll 2
    for (int side = 0; side < 2; ++side) {
      double* o = related_out + 3 * side * kLanes + b;
      const Mask8 any = n[side] > zero;
      store8(o, any ? sum[side] / n[side] : null);
      store8(o + kLanes, any ? mn[side] : null);
      store8(o + 2 * kLanes, any ? mx[side] : null);
    }
    if (dispersion_out == nullptr) continue;
    // The sum of the 12 related values, base side then quote side, NULLs skipped: the base
    // side's sum continued over the quote side's values (the same additions in the same
    // order); their count (exact small integers).
    Lanes8 dsum = sum[0];
    for (int i = 0; i < kRelated; ++i) {
      const Lanes8 v = values[kRelated + i];
      dsum = v == v ? dsum + v : dsum;
    }
    const Lanes8 nd = n[0] + n[1];
    const Lanes8 mean = dsum / nd;  // lanes with nd < 2 are NULL below
    Lanes8 ss = zero;
    for (int slot = 0; slot < kRelatedSlots; ++slot) {
      const Lanes8 v = values[slot];
      const Lanes8 d = v - mean;
      ss = v == v ? ss + d * d : ss;
    }
    const Lanes8 var = ss / nd;
    Lanes8 sd;
    for (int l = 0; l < kLaneBlock; ++l) sd[l] = std::sqrt(var[l]);
    store8(dispersion_out + b, nd >= splat8(2.0) ? sd : null);
  }
  // The market column: each lane's sum is a chain of dependent additions over q, so the 4
  // blocks of 8 lanes advance together (4 independent chains; per lane the same additions in
  // the same order).
  constexpr int kBlocks = kLanes / kLaneBlock;
  Lanes8 sum[kBlocks], n[kBlocks];
  for (int i = 0; i < kBlocks; ++i) sum[i] = n[i] = zero;
  for (int q = 0; q < kPairCount; ++q) {
#pragma GCC unroll 4
    for (int i = 0; i < kBlocks; ++i) {
      const Lanes8 c = load8(&others[q][i * kLaneBlock]);
      const Mask8 ok = c == c;
      sum[i] = ok ? sum[i] + abs8(c) : sum[i];
      n[i] = ok ? n[i] + one : n[i];
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < kBlocks; ++i) store8(market_out + i * kLaneBlock, n[i] > zero ? sum[i] / n[i] : null);
}

// by_pair[p][c] = columns[c][p] for c < n_columns (columns: n_columns rows of kLanes lanes;
// by_pair: kLanes rows of 32; its columns >= n_columns get 0), in 8 x 8 blocks transposed in
// registers (three rounds of two-input shuffles) instead of 27 x 28 strided scalar copies.
__attribute__((target_clones("avx512f", "avx2", "default"))) void transpose_columns(
    const double* __restrict columns, int n_columns, double* __restrict by_pair) {
  const Mask8 lo1 = {0, 8, 2, 10, 4, 12, 6, 14}, hi1 = {1, 9, 3, 11, 5, 13, 7, 15};
  const Mask8 lo2 = {0, 1, 8, 9, 4, 5, 12, 13}, hi2 = {2, 3, 10, 11, 6, 7, 14, 15};
  const Mask8 lo4 = {0, 1, 2, 3, 8, 9, 10, 11}, hi4 = {4, 5, 6, 7, 12, 13, 14, 15};
  constexpr int kByPairWidth = 32;
  for (int pb = 0; pb < kLanes; pb += kLaneBlock) {
    for (int cb = 0; cb < kByPairWidth; cb += kLaneBlock) {
      Lanes8 r[kLaneBlock], t[kLaneBlock], u[kLaneBlock];
      for (int i = 0; i < kLaneBlock; ++i) {
        r[i] = cb + i < n_columns ? load8(columns + (cb + i) * kLanes + pb) : splat8(0.0);
      }
      for (int i = 0; i < kLaneBlock; i += 2) {
        t[i] = __builtin_shuffle(r[i], r[i + 1], lo1);
        t[i + 1] = __builtin_shuffle(r[i], r[i + 1], hi1);
      }
      for (int i = 0; i < kLaneBlock; i += 4) {
        u[i] = __builtin_shuffle(t[i], t[i + 2], lo2);
        u[i + 1] = __builtin_shuffle(t[i + 1], t[i + 3], lo2);
        u[i + 2] = __builtin_shuffle(t[i], t[i + 2], hi2);
        u[i + 3] = __builtin_shuffle(t[i + 1], t[i + 3], hi2);
      }
      for (int i = 0; i < 4; ++i) {
        store8(by_pair + (pb + i) * kByPairWidth + cb, __builtin_shuffle(u[i], u[i + 4], lo4));
        store8(by_pair + (pb + i + 4) * kByPairWidth + cb, __builtin_shuffle(u[i], u[i + 4], hi4));
      }
    }
  }
}

class CorrKernel final : public CrossKernel {
 public:
  explicit CorrKernel(const CrossContext& ctx) : in_universe_(ctx.in_universe) {
    const auto& pairs = all_pairs();
    for (int p = 0; p < kPairCount; ++p) {
      const Pair pp = pairs[p];
      for (int q = 0; q < kPairCount; ++q) {
        if (q == p || !in_universe_[q]) continue;
        const Pair qq = pairs[q];
        if (direction(qq, pp.base) != 0) {
          // shared currency = p's base: same side iff it is q's base too
          base_rel_[p][base_n_[p]++] = Related{q, static_cast<double>(direction(qq, pp.base))};
        } else if (direction(qq, pp.quote) != 0) {
          quote_rel_[p][quote_n_[p]++] = Related{q, static_cast<double>(-direction(qq, pp.quote))};
        }
      }
    }
    int k = 0;
    for (int p = 0; p < kPairCount; ++p) {
      couple_[p][p] = -1;
      couple_start_[p] = k;
      for (int q = p + 1; q < kPairCount; ++q) {
        couple_[p][q] = couple_[q][p] = k;
        couple_x_[k] = p;
        couple_y_[k] = q;
        ++k;
      }
    }
    // The couple rows p of pairs in the universe, as runs of couple indices (one run, all
    // couples, for the full universe); the couples of the other rows are always NULL.
    int universe_size = 0;
    for (int p = 0; p < kPairCount; ++p) universe_size += in_universe_[p] ? 1 : 0;
    for (int p = 0; p + 1 < kPairCount; ++p) {
      row_active_[p] = in_universe_[p] && universe_size >= 2 ? 1 : 0;
      if (!row_active_[p]) continue;
      const int begin = couple_start_[p], end = couple_start_[p] + (kPairCount - 1 - p);
      if (!active_couple_runs_.empty() && active_couple_runs_.back().second == begin) {
        active_couple_runs_.back().second = end;
      } else {
        active_couple_runs_.emplace_back(begin, end);
      }
    }
    // Other accumulators: strength (per strength window, pair, base|quote), then lead-lag.
    for (size_t si = 0; si < kCorrStrengthWindows.size(); ++si) {
      for (int p = 0; p < kPairCount; ++p) {
        for (int side = 0; side < 2; ++side) {
          const int j = static_cast<int>(si) * kPairCount * 2 + p * 2 + side;
          other_x_[j] = kSeriesR + p;
          other_y_[j] = kSeriesDs + static_cast<int>(side == 0 ? pairs[p].base : pairs[p].quote);
          other_w_[j] = kCorrStrengthWindows[si];
        }
      }
    }
    for (int j = 0; j < kStrengthAccs; ++j) strength_ds_lane_[j / 8][j % 8] = other_y_[j] - kSeriesDs;
    for (int p = 0; p < kPairCount; ++p) {
      other_x_[kStrengthAccs + p] = kSeriesR + p;
      other_y_[kStrengthAccs + p] = kSeriesMlag + p;
      other_w_[kStrengthAccs + p] = kCorrLeadLagWindow;
    }
    // A couple with a pair outside the universe is always NULL (+inf rows needed); its sums stay
    // empty anyway, this makes it explicit (fill_other_matrix relies on it).
    for (size_t wi = 0; wi < kCorrWindows.size(); ++wi) {
      for (int c = 0; c < kCouples; ++c) {
        const bool both_in = in_universe_[couple_x_[c]] && in_universe_[couple_y_[c]];
        couple_n_min_[wi][c] = both_in ? min_rows(kCorrWindows[wi]) : std::numeric_limits<double>::infinity();
      }
    }
    for (auto& a : mat_) a.assign(static_cast<size_t>(kFields) * kCouples, 0.0);
    for (auto& c : mat_corr_) c.assign(kCouples + 1, kNull);  // + the NULL cell (kNullCell)
    other_.assign(static_cast<size_t>(kFields) * kOtherAccs, 0.0);
    other_corr_.assign(kOtherAccs, kNull);
    series_storage_.assign(static_cast<size_t>(kSeries) * kSeriesRing + kSeriesBlock, kNull);
    series_offset_ = (kCacheLine - reinterpret_cast<uintptr_t>(series_storage_.data()) % kCacheLine) % kCacheLine /
                     sizeof(double);
    ring_rows_.assign(static_cast<size_t>(kRing) * kSeries, kNull);
    prev_l_.fill(kNull);
    prev_s_.fill(kNull);
    prev_m_.fill(kNull);
    for (auto& row : out_) row.fill(kNull);
    transpose_out();
    for (auto& row : others_) row.fill(kNull);
    for (int p = 0; p < kLanes; ++p) {
      for (int slot = 0; slot < kRelatedSlots; ++slot) {
        lane_index_.rel[slot][p] = kNullCell;
        lane_index_.rel_o[slot][p] = 1.0;
      }
      if (p >= kPairCount) continue;
      for (int i = 0; i < base_n_[p]; ++i) {
        lane_index_.rel[i][p] = couple_[p][base_rel_[p][i].q];
        lane_index_.rel_o[i][p] = base_rel_[p][i].o;
      }
      for (int i = 0; i < quote_n_[p]; ++i) {
        lane_index_.rel[kRelated + i][p] = couple_[p][quote_rel_[p][i].q];
        lane_index_.rel_o[kRelated + i][p] = quote_rel_[p][i].o;
      }
    }
  }

  void update(const GridRow& grid) override {
    const uint64_t r = rows_;
    const size_t slot = static_cast<size_t>(r % kRing);
    // No prefetch() override: fetching these lines during the last per-pair family (measured:
    // all 96, or the 32 row-major ones) cost the per-pair side about what it saved here.
    fetch_cold_ring_lines();
    // 1. Series at g.
    std::array<double, kSeries> cur{};
    std::array<double, kPairCount> l{};
    std::array<bool, kPairCount> avail{};
    for (int p = 0; p < kPairCount; ++p) {
      avail[p] = in_universe_[p] && grid.available[p] && std::isfinite(grid.log_index[p]);
      l[p] = avail[p] ? grid.log_index[p] : kNull;
      cur[kSeriesR + p] = l[p] - prev_l_[p];  // NaN unless available at both rows
    }
    std::array<double, kCurrencyCount> s{};
    solve_currency_strengths(avail, l, s);
    for (int c = 0; c < kCurrencyCount; ++c) cur[kSeriesDs + c] = s[c] - prev_s_[c];
    for (int p = 0; p < kPairCount; ++p) {
      cur[kSeriesMlag + p] = prev_m_[p];
      prev_m_[p] = in_universe_[p] ? related_mean(p, cur.data()) : kNull;
    }
    prev_l_ = l;
    prev_s_ = s;
    std::copy(cur.begin(), cur.end(), ring_rows_.begin() + static_cast<std::ptrdiff_t>(slot * kSeries));
    if (r % kSeriesBlock == kSeriesBlock - 1) flush_series_block(r + 1 - kSeriesBlock);

    // 2. Accumulators: add row r, remove row r - W (masks make a NULL contribute 0).
    Prepared now;
    now.set_all(cur.data());
    std::array<Prepared, kCorrWindows.size()> old;
    for (size_t wi = 0; wi < kCorrWindows.size(); ++wi) {
      const uint64_t w = static_cast<uint64_t>(kCorrWindows[wi]);
      if (r < w) {
        old[wi].clear();
        continue;
      }
      const size_t oslot = static_cast<size_t>((r - w) % kRing);
      old[wi].set_all(&ring_rows_[oslot * kSeries]);
    }
    const bool now_present = returns_present(now);
    for (size_t wi = 0; wi < kCorrWindows.size(); ++wi) {
      const bool spike = now_present && returns_present(old[wi])
                             ? accumulate_present(mat_[wi].data(), now, old[wi])
                             : accumulate_couples(mat_[wi].data(), now, old[wi], couple_start_.data(), row_active_.data());
      if (spike) {
        recompute_spikes(mat_[wi].data(), old[wi], kCorrWindows[wi], r);
      }
    }
    // (Accumulators are independent: updating all, then recomputing the spiked ones, gives
    // the same sums as updating and checking them one by one.)
    bool check_spikes = true;
#if defined(__x86_64__) && defined(__GNUC__)
    if (cpu_has_avx512f()) {
      std::array<const Prepared*, kCorrStrengthWindows.size()> old_strength;
      for (size_t si = 0; si < kCorrStrengthWindows.size(); ++si) {
        old_strength[si] = &old[window_index(kCorrStrengthWindows[si])];
      }
      check_spikes = accumulate_others_avx512(other_.data(), now, old_strength, old[window_index(kCorrLeadLagWindow)],
                                              strength_ds_lane_);
    } else
#endif
    {
      for (int j = 0; j < kOtherAccs; ++j) {
        accumulate_one(other_.data(), kOtherAccs, j, other_x_[j], other_y_[j], now, old[window_index(other_w_[j])]);
      }
    }
    for (int j = 0; check_spikes && j < kOtherAccs; ++j) {
      const Prepared& o = old[window_index(other_w_[j])];
      const double* a = other_.data();
      if (o.vv[other_x_[j]] * o.m[other_y_[j]] > kCancellation * a[kSxx * kOtherAccs + j] ||
          o.m[other_x_[j]] * o.vv[other_y_[j]] > kCancellation * a[kSyy * kOtherAccs + j]) {
        recompute(other_.data(), kOtherAccs, j, other_x_[j], other_y_[j], other_w_[j], r);
      }
    }
    for_each_scheduled_recompute(*this, r, [&](double* accs, int count, int index, int x, int y, int w) {
      recompute(accs, count, index, x, y, w, r);
    });
    rows_ = r + 1;

    // 3. Correlations, then the per-pair columns.
    for (size_t wi = 0; wi < kCorrWindows.size(); ++wi) {
      const int w = kCorrWindows[wi];
      if (r >= static_cast<uint64_t>(w)) {
        for (const auto& [begin, end] : active_couple_runs_) {
          pearson_correlations(mat_[wi].data(), kCouples, begin, end, couple_n_min_[wi].data(), mat_corr_[wi].data());
        }
      }  // else: still all NULL from construction
    }
    // Before its window is full an accumulator's correlation is NULL (as from construction).
    std::array<double, kOtherAccs> other_n_min;
    for (int j = 0; j < kOtherAccs; ++j) {
      other_n_min[j] = r >= static_cast<uint64_t>(other_w_[j]) ? min_rows(other_w_[j])
                                                                 : std::numeric_limits<double>::infinity();
    }
    pearson_correlations(other_.data(), kOtherAccs, 0, kOtherAccs, other_n_min.data(), other_corr_.data());
    static_assert(kCorrWindows[0] == kCorrDispersionWindow);
    // (With fewer than 2 pairs in the universe every couple is NULL and so are these columns,
    // as they are from construction.)
    for (size_t wi = 0; wi < kCorrWindows.size() && active_couple_runs_.size() > 0; ++wi) {
      fill_other_matrix(mat_corr_[wi].data());
      pair_columns_lanes(lane_index_, mat_corr_[wi].data(), others_, out_[6 * wi].data(),
                         out_[kCorrMarketOffset + wi].data(), wi == 0 ? out_[kCorrDispersionOffset].data() : nullptr);
    }
    for (int p = 0; p < kPairCount; ++p) {
      for (size_t si = 0; si < kCorrStrengthWindows.size(); ++si) {
        const int j = static_cast<int>(si) * kPairCount * 2 + p * 2;
        out_[kCorrStrengthOffset + si][p] = other_corr_[j];
        out_[kCorrStrengthOffset + kCorrStrengthWindows.size() + si][p] = -other_corr_[j + 1];
      }
      out_[kCorrLeadLagOffset][p] = other_corr_[kStrengthAccs + p];
    }
    // A pair outside the universe keeps NULL columns.
    for (int p = 0; p < kPairCount; ++p) {
      if (in_universe_[p]) continue;
      for (auto& column : out_) column[p] = kNull;
    }
    transpose_out();
  }

  void write_global(double*) const override {}

  void write_pair(int pair_slot, double* out) const override {
    const double* values = by_pair_[static_cast<size_t>(pair_slot)].data();
    for (int c = 0; c < kCorrColumns; ++c) out[c] = values[c];
  }

  void save(StateWriter& out) const override {
    out.put<uint64_t>(rows_);
    out.put(prev_l_);
    out.put(prev_s_);
    out.put(prev_m_);
    // The ring in its series-major snapshot layout (kSeries x kRing, row t in slot t % kRing),
    // from ring_rows_, which holds every row of it.
    std::vector<double> ring(static_cast<size_t>(kSeries) * kRing);
    for (size_t t = 0; t < static_cast<size_t>(kRing); ++t) {
      for (size_t i = 0; i < static_cast<size_t>(kSeries); ++i) ring[i * kRing + t] = ring_rows_[t * kSeries + i];
    }
    out.put_vector(ring);
    for (const auto& a : mat_) out.put_vector(a);
    for (const auto& c : mat_corr_) out.put_vector(c);
    out.put_vector(other_);
    out.put_vector(other_corr_);
    out.put(out_);
  }
  void load(StateReader& in) override {
    rows_ = in.get<uint64_t>();
    in.get(prev_l_);
    in.get(prev_s_);
    in.get(prev_m_);
    std::vector<double> ring(static_cast<size_t>(kSeries) * kRing);
    in.get_vector(ring);  // (fails unless the size matches)
    if (!in.ok()) return;
    for (size_t t = 0; t < static_cast<size_t>(kRing); ++t) {
      for (size_t i = 0; i < static_cast<size_t>(kSeries); ++i) ring_rows_[t * kSeries + i] = ring[i * kRing + t];
    }
    // The series-major copy of the flushed rows a recomputation may read (the last kRing).
    const uint64_t flushed = rows_ / kSeriesBlock * kSeriesBlock;
    for (uint64_t t = rows_ > static_cast<uint64_t>(kRing) ? rows_ - kRing : 0; t < flushed; ++t) {
      const double* row = &ring_rows_[static_cast<size_t>(t % kRing) * kSeries];
      for (int i = 0; i < kSeries; ++i) series(i)[t % kSeriesRing] = row[i];
    }
    for (auto& a : mat_) in.get_vector(a);
    for (auto& c : mat_corr_) in.get_vector(c);
    in.get_vector(other_);
    in.get_vector(other_corr_);
    in.get(out_);
    transpose_out();
  }

 private:
  // The rows leaving the windows (last read W grid rows ago) and the ring slots the next
  // row writes (8 row-major lines, one series-major line per series) are cold: fetched at
  // the start of update(), while the series are computed.
  void fetch_cold_ring_lines() const {
    const uint64_t r = rows_;
    const size_t slot = static_cast<size_t>(r % kRing);
    for (int w : kCorrWindows) {
      if (r >= static_cast<uint64_t>(w)) {
        prefetch_read(&ring_rows_[static_cast<size_t>((r - static_cast<uint64_t>(w)) % kRing) * kSeries],
                      sizeof(double) * kSeries);
      }
    }
    prefetch_write(&ring_rows_[slot * kSeries], sizeof(double) * kSeries);
    if (r % kSeriesBlock == kSeriesBlock - 1) {  // this row completes a block: its 64 lines are written
      const size_t block = static_cast<size_t>((r + 1 - kSeriesBlock) % kSeriesRing);
      for (int i = 0; i < kSeries; ++i) prefetch_write(series(i) + block, kCacheLine);
    }
    // The series lines of this row's scheduled exact recomputations (the same schedule as in
    // update(); a function of the row count only): read W rows back, cold by now.
    for_each_scheduled_recompute(*this, r, [&](const double*, int, int, int x, int y, int w) {
      prefetch_recompute_series(x, y, w, r);
    });
  }
  // The series-major lines recompute(.., xs, ys, window, r) reads.
  void prefetch_recompute_series(int xs, int ys, int window, uint64_t r) const {
    const uint64_t w = static_cast<uint64_t>(window);
    const uint64_t first = r + 1 >= w ? r + 1 - w : 0;
    const uint64_t flushed = (r + 1) / kSeriesBlock * kSeriesBlock;
    const size_t len = static_cast<size_t>(std::max(first, flushed) - first);
    const size_t s0 = static_cast<size_t>(first % kSeriesRing);
    const size_t run1 = std::min(len, static_cast<size_t>(kSeriesRing) - s0);
    for (int s : {xs, ys}) {
      if (run1 > 0) prefetch_read(series(s) + s0, run1 * sizeof(double));
      if (len > run1) prefetch_read(series(s), (len - run1) * sizeof(double));
    }
  }

  double* series(int i) { return series_storage_.data() + series_offset_ + static_cast<size_t>(i) * kSeriesRing; }
  const double* series(int i) const {
    return series_storage_.data() + series_offset_ + static_cast<size_t>(i) * kSeriesRing;
  }

  // Rows first .. first + 7 (first a multiple of 8, so one aligned block per series) from
  // ring_rows_ into the series-major copy: one whole line per series every 8 rows, instead
  // of one scattered store (and one line) per series every row.
  void flush_series_block(uint64_t first) {
    const size_t block = static_cast<size_t>(first % kSeriesRing);
    for (int k = 0; k < kSeriesBlock; ++k) {
      const double* row = &ring_rows_[static_cast<size_t>((first + static_cast<uint64_t>(k)) % kRing) * kSeries];
      for (int i = 0; i < kSeries; ++i) series(i)[block + static_cast<size_t>(k)] = row[i];
    }
  }

  void transpose_out() { transpose_columns(out_[0].data(), kCorrColumns, by_pair_[0].data()); }

  static size_t window_index(int w) {
    for (size_t wi = 0; wi < kCorrWindows.size(); ++wi) {
      if (kCorrWindows[wi] == w) return wi;
    }
    return 0;
  }

  // others_ from one window's couple-ordered correlations (the diagonal and padding lanes
  // stay NULL from construction; a couple with a pair outside the universe is NULL in corr,
  // see couple_n_min_): row p beyond the diagonal is couple row p, the part below the
  // diagonal its transpose.
  void fill_other_matrix(const double* corr) {
    for (int p = 0; p + 1 < kPairCount; ++p) {
      const double* row = corr + couple_start_[p];  // couples (p, p + 1), (p, p + 2), ...
      // A plain loop: GCC turns a memcpy of this variable length into rep movsq (slow start).
      for (int q = p + 1; q < kPairCount; ++q) {
        const double c = row[q - p - 1];
        others_[p][q] = c;
        others_[q][p] = c;
      }
    }
  }

  double related_mean(int p, const double* cur) const {
    double sum = 0.0;
    int n = 0;
    for (int i = 0; i < base_n_[p]; ++i) {
      const double v = cur[kSeriesR + base_rel_[p][i].q];
      if (std::isnan(v)) continue;
      sum += base_rel_[p][i].o * v;
      ++n;
    }
    for (int i = 0; i < quote_n_[p]; ++i) {
      const double v = cur[kSeriesR + quote_rel_[p][i].q];
      if (std::isnan(v)) continue;
      sum += quote_rel_[p][i].o * v;
      ++n;
    }
    return n > 0 ? sum / n : kNull;
  }

  static void accumulate_one(double* a, int count, int k, int x, int y, const Prepared& nw, const Prepared& od) {
    a[kN * count + k] += nw.m[x] * nw.m[y] - od.m[x] * od.m[y];
    a[kNzx * count + k] += nw.nz[x] * nw.m[y] - od.nz[x] * od.m[y];
    a[kNzy * count + k] += nw.m[x] * nw.nz[y] - od.m[x] * od.nz[y];
    a[kSx * count + k] += nw.v[x] * nw.m[y] - od.v[x] * od.m[y];
    a[kSy * count + k] += nw.m[x] * nw.v[y] - od.m[x] * od.v[y];
    a[kSxx * count + k] += nw.vv[x] * nw.m[y] - od.vv[x] * od.m[y];
    a[kSyy * count + k] += nw.m[x] * nw.vv[y] - od.m[x] * od.vv[y];
    a[kSxy * count + k] += nw.v[x] * nw.v[y] - od.v[x] * od.v[y];
  }

  // A value leaving the window whose square exceeds kCancellation times what is left of the
  // sum of squares (a spike) leaves a rounding residue comparable to the remaining sums:
  // those accumulators (flagged by accumulate_couples) are recomputed exactly at once (a
  // data-dependent but deterministic rule, so batch and stream still agree).
  bool accumulate_present(double* a, const Prepared& nw, const Prepared& od) const {
#if defined(__x86_64__) && defined(__GNUC__)
    if (cpu_has_avx512f()) return accumulate_couples_present_avx512(a, nw, od, couple_start_.data());
#endif
    return accumulate_couples_present(a, nw, od, couple_start_.data());
  }

  // Every return series R_p is non-NULL in this prepared row.
  static bool returns_present(const Prepared& row) {
    double all = 1.0;
    for (int p = 0; p < kPairCount; ++p) all = std::min(all, row.m[kSeriesR + p]);
    return all == 1.0;
  }

  // Called only when accumulate_couples saw a spike (rare): the same test per couple, on the
  // same sums (no couple of this window was recomputed in between), finds them.
  void recompute_spikes(double* a, const Prepared& od, int window, uint64_t r) const {
    for (int k = 0; k < kCouples; ++k) {
      if (couple_spike(a, kCouples, k, couple_x_[k], couple_y_[k], od)) {
        recompute(a, kCouples, k, couple_x_[k], couple_y_[k], window, r);
      }
    }
  }

  // Exact sums over rows max(0, r - W + 1) .. r, oldest first: the rows of whole blocks from
  // the series-major copy (whose slots form at most two contiguous runs), then the newest rows
  // not yet flushed there (fewer than 8) from ring_rows_.
  void recompute(double* a, int count, int k, int xs, int ys, int window, uint64_t r) const {
    const uint64_t w = static_cast<uint64_t>(window);
    const uint64_t first = r + 1 >= w ? r + 1 - w : 0;
    const uint64_t flushed = (r + 1) / kSeriesBlock * kSeriesBlock;  // rows < flushed are in series()
    const uint64_t series_end = std::max(first, flushed);
    const size_t len = static_cast<size_t>(series_end - first);
    const size_t s0 = static_cast<size_t>(first % kSeriesRing);
    const size_t run1 = std::min(len, static_cast<size_t>(kSeriesRing) - s0);
    const double* xr = series(xs);
    const double* yr = series(ys);
    // The counts as integers: a sum of 1.0 and 0.0 terms is that integer exactly (< 2^53),
    // so only the five value sums take floating-point additions.
    double f[kFields] = {};
    int64_t n = 0, nzx = 0, nzy = 0;
    auto add = [&](const double* x, const double* y, size_t m) {
      for (size_t i = 0; i < m; ++i) {
        const bool ok = !std::isnan(x[i]) && !std::isnan(y[i]);
        const double xv = ok ? x[i] : 0.0, yv = ok ? y[i] : 0.0;
        n += ok ? 1 : 0;
        nzx += xv != 0.0 ? 1 : 0;
        nzy += yv != 0.0 ? 1 : 0;
        f[kSx] += xv;
        f[kSy] += yv;
        f[kSxx] += xv * xv;
        f[kSyy] += yv * yv;
        f[kSxy] += xv * yv;
      }
    };
    add(xr + s0, yr + s0, run1);
    add(xr, yr, len - run1);
    for (uint64_t t = series_end; t <= r; ++t) {
      const double* row = &ring_rows_[static_cast<size_t>(t % kRing) * kSeries];
      add(row + xs, row + ys, 1);
    }
    f[kN] = static_cast<double>(n);
    f[kNzx] = static_cast<double>(nzx);
    f[kNzy] = static_cast<double>(nzy);
    for (int i = 0; i < kFields; ++i) a[i * count + k] = f[i];
  }

  std::array<bool, kPairCount> in_universe_;
  std::array<std::array<Related, kRelated>, kPairCount> base_rel_{}, quote_rel_{};
  std::array<int, kPairCount> base_n_{}, quote_n_{};
  std::array<std::array<int, kPairCount>, kPairCount> couple_{};  // couple index of (p, q)
  std::array<int, kPairCount> couple_start_{};                    // index of (p, p + 1)
  std::array<uint8_t, kPairCount> row_active_{};                  // couple row p has pairs in the universe
  std::vector<std::pair<int, int>> active_couple_runs_;           // [begin, end) couple indices of those rows
  // The exact recomputations due at row r, staggered: accumulator k of window W when
  // (r + k) % (4 W) == 0. visit(accumulators, count, index, x, y, W) for each. A function of
  // the row count only: update() recomputes and prefetch() fetches the series lines of the
  // same accumulators. (Self: the kernel, const or not, so accumulators come as it is.)
  template <typename Self, typename Visit>
  static void for_each_scheduled_recompute(Self& self, uint64_t r, Visit&& visit) {
    for (size_t wi = 0; wi < kCorrWindows.size(); ++wi) {
      const uint64_t w = kReanchorPeriods * static_cast<uint64_t>(kCorrWindows[wi]);
      for (uint64_t k = (w - r % w) % w; k < static_cast<uint64_t>(kCouples); k += w) {
        visit(self.mat_[wi].data(), kCouples, static_cast<int>(k), self.couple_x_[k], self.couple_y_[k], kCorrWindows[wi]);
      }
    }
    // The other accumulators, (r + j) % (4 W_j) == 0: those of one window form contiguous
    // runs of j, so the due ones are stepped to without a division per j.
    for (int j0 = 0; j0 < kOtherAccs;) {
      int j1 = j0;
      while (j1 < kOtherAccs && self.other_w_[j1] == self.other_w_[j0]) ++j1;
      const uint64_t period = kReanchorPeriods * static_cast<uint64_t>(self.other_w_[j0]);
      const uint64_t first = static_cast<uint64_t>(j0) + (period - (r + static_cast<uint64_t>(j0)) % period) % period;
      for (uint64_t j = first; j < static_cast<uint64_t>(j1); j += period) {
        visit(self.other_.data(), kOtherAccs, static_cast<int>(j), self.other_x_[j], self.other_y_[j], self.other_w_[j]);
      }
      j0 = j1;
    }
  }

  std::array<int, kCouples> couple_x_{}, couple_y_{};
  // min_rows(W) for every couple of window W (constant: filled once, not per grid row).
  std::array<std::array<double, kCouples>, kCorrWindows.size()> couple_n_min_{};
  std::array<int, kOtherAccs> other_x_{}, other_y_{}, other_w_{};
  // Lane l of strength block b (accumulator 8 b + l): the currency of its ds series.
  std::array<std::array<int64_t, 8>, kStrengthAccs / 8> strength_ds_lane_{};
  // state
  std::array<std::vector<double>, kCorrWindows.size()> mat_;       // kFields x kCouples each
  std::array<std::vector<double>, kCorrWindows.size()> mat_corr_;  // kCouples each
  std::vector<double> other_;                                      // kFields x kOtherAccs
  std::vector<double> other_corr_;                                 // kOtherAccs
  // The rows of the ring series by series (kSeries x kSeriesRing, row t in slot t % kSeriesRing,
  // 64-byte aligned at series_offset_), for the exact recomputations over a window; filled
  // 8 rows at a time (flush_series_block), so rows newer than the last whole block are only in
  // ring_rows_. Not saved (rebuilt from ring_rows_).
  std::vector<double> series_storage_;
  size_t series_offset_ = 0;
  // The ring row by row (kRing x kSeries, row t in slot t % kRing; saved in the series-major
  // layout): the rows leaving the windows are read from here (3 x 8 cache lines per grid row
  // instead of 3 x 64 from series_, whose order serves the exact recomputations).
  std::vector<double> ring_rows_;
  uint64_t rows_ = 0;
  std::array<double, kPairCount> prev_l_{};
  std::array<double, kCurrencyCount> prev_s_{};
  std::array<double, kPairCount> prev_m_{};
  LaneIndex lane_index_;
  alignas(64) OtherMatrix others_;  // scratch of pair_columns_lanes (one window at a time)
  alignas(64) std::array<std::array<double, kLanes>, kCorrColumns> out_{};  // column x pair slot
  // The same values pair by pair (not saved): write_pair, called once per pair between the
  // second-order kernels of the pairs, reads 4 contiguous lines instead of 27 (one per column).
  // Rows of 32 (4 whole lines), one per lane (the padding lanes' rows are not read).
  static_assert(kCorrColumns <= 32);
  alignas(64) std::array<std::array<double, 32>, kLanes> by_pair_{};
};

}  // namespace

CrossFamilyDef make_corr_family() {
  CrossFamilyDef def;
  def.name = "corr";
  const std::string src = "FEATURES.md 2.4";
  const std::string policy =
      "; pairwise-complete over the last W grid rows (rows where both series are non-NULL), R_p(g) = l_p(g) - "
      "l_p(previous grid row)";
  const std::string corr_null =
      "grid row < W; fewer than W/2 jointly non-NULL rows in the window; a constant series over them";
  auto col = [&](const std::string& name, const std::string& params, const std::string& formula, const std::string& unit,
                 int lookback, const std::string& null_when) {
    return ColumnInfo{name, "corr", params, formula + policy, unit, lookback, src, null_when, false};
  };
  for (int w : kCorrWindows) {
    const std::string ws = std::to_string(w);
    const std::string par = "W=" + ws;
    for (const char* side : {"base", "quote"}) {
      const std::string s = side;
      const std::string rel = "the 6 pairs q sharing the pair's " + s +
                              " currency, each oriented so it sits on the same side (o = +1/-1)";
      const std::string nw = "no related pair has a non-NULL correlation (" + corr_null + ")";
      def.per_pair_columns.push_back(col("corr_" + s + "_mean_" + ws, par,
                                         "mean over " + rel + " of o * corr_W(R_p, R_q)", "correlation", w, nw));
      def.per_pair_columns.push_back(col("corr_" + s + "_min_" + ws, par,
                                         "min over " + rel + " of o * corr_W(R_p, R_q)", "correlation", w, nw));
      def.per_pair_columns.push_back(col("corr_" + s + "_max_" + ws, par,
                                         "max over " + rel + " of o * corr_W(R_p, R_q)", "correlation", w, nw));
    }
  }
  for (int w : kCorrWindows) {
    const std::string ws = std::to_string(w);
    def.per_pair_columns.push_back(col("corr_market_" + ws, "W=" + ws,
                                       "mean over all other pairs q in the universe of |corr_W(R_p, R_q)| (unoriented)",
                                       "correlation", w, "no other pair has a non-NULL correlation (" + corr_null + ")"));
  }
  const std::string ds =
      "ds_c(g) = s_c(g) - s_c(previous grid row), s = least-squares currency strengths of FEATURES.md 2.1 "
      "(sum 0 per connected set of currencies; closed form for the full universe)";
  for (const char* side : {"base", "quote"}) {
    const std::string s = side;
    for (int w : kCorrStrengthWindows) {
      const std::string ws = std::to_string(w);
      const std::string f = s == "base" ? "corr_W(R_p, ds_base); " + ds : "corr_W(R_p, -ds_quote) = -corr_W(R_p, ds_quote); " + ds;
      def.per_pair_columns.push_back(
          col("corr_" + s + "_strength_" + ws, "W=" + ws, f, "correlation", w, corr_null + "; the currency has no available pair"));
    }
  }
  def.per_pair_columns.push_back(col(
      "corr_lead_lag_240", "W=240",
      "corr_W(R_p(g), M_p(g-1)), M_p = mean over the 12 related pairs (6 sharing the base, 6 the quote, oriented) "
      "with a non-NULL return of o * R_q",
      "correlation", kCorrLeadLagWindow, corr_null));
  def.per_pair_columns.push_back(col(
      "corr_dispersion_60", "W=60",
      "population stdev (ddof 0) of the non-NULL oriented related correlations o * corr_60(R_p, R_q) over the 12 "
      "related pairs",
      "correlation", kCorrDispersionWindow, "fewer than 2 related correlations are non-NULL"));
  def.make = [](const CrossContext& ctx) -> std::unique_ptr<CrossKernel> { return std::make_unique<CorrKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
