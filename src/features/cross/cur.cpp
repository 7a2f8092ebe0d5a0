// cur: currency strength on the as-of grid (FEATURES.md 2.1), plus the three
// derived_pair_vs_implied_{15,60,240} columns of 3.2, which need the grid history of the
// strengths and are filed under the `derived` family in the catalogue.
//
// Per grid row g (l_p = ln(close_p / B_p) of the available pairs):
//  * strengths s_C: least squares with sum 0 per connected component (cur_strength.h);
//    closed form when all 28 pairs are available, Laplacian solve otherwise;
//  * pair divergence d_p = l_p - (s_base - s_quote);
//  * grid returns R_p(g) = l_p(g) - l_p(g-1) (NULL unless available at both rows);
//  * triangle residuals eps_T from raw closes as in 2.3.
// Windows count grid rows; a window holding a NULL value gives NULL.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "features/cross/cross_families.h"
#include "features/cross/cur_rolling.h"
#include "features/cross/cur_strength.h"

namespace bqx::features {
namespace {

using cur::PairMask;
using cur::PairValues;
using cur::Strengths;

constexpr int K = kCurrencyCount;
constexpr std::array<int, 4> kMomRows = {15, 60, 240, 1440};
constexpr std::array<int, 2> kVolRows = {60, 240};
constexpr int kCorrRows = 60;
constexpr std::array<int, 3> kImpliedRows = {15, 60, 240};
constexpr int kPerCurrency = 1 + 4 + 2 + 1 + cur::kGroupCount;       // 11
constexpr int kPerPair = 8 + static_cast<int>(kImpliedRows.size());  // 8 cur + 3 derived
constexpr int kGlobal = K * kPerCurrency;                            // 88
constexpr int kMaxTriplets = 56;
constexpr int kRelated = 12;
// Strengths closer than this (log units, i.e. 1e-8 bp) count as tied in ranks and
// percentiles: far above the solver's rounding (~1e-17) and far below a price tick, so an
// exact tie (e.g. two pairs still at their baseline) is not ranked by rounding noise.
constexpr double kTieTolerance = 1e-12;

// Per-pair output slots.
enum PairCol {
  kBaseIndex,
  kQuoteIndex,
  kIndexDiff,
  kBasePct,
  kQuotePct,
  kDivergence,
  kRelatedCorr,
  kTriangular,
  kImplied0
};

struct Triplet {
  std::array<int, 3> slot{};     // pairs carrying lp(A/B), lp(B/C), lp(C/A)
  std::array<double, 3> sign{};  // +1 if the pair is quoted that way round, -1 if inverted
};

// NullableCorrelation::value (cur_rolling.h) of the 28 pair slots of PairCorrelations,
// branch-free (every lane computes the correlation, then selects it or NULL), so the loop
// vectorises: SIMD across pairs, cloned for AVX-512 / AVX2 with runtime dispatch. Each lane
// does the scalar form's IEEE operations in its order (the same divisions, square roots,
// product and clamp), so the bits are unchanged.
__attribute__((target_clones("avx512f", "avx2", "default"))) void related_correlation_values(
    bool full, const uint64_t* __restrict nulls, const uint64_t* __restrict run_x, const uint64_t* __restrict run_y,
    const double* __restrict sx, const double* __restrict sy, const double* __restrict sxx,
    const double* __restrict syy, const double* __restrict sxy, double* __restrict out) {
  const uint64_t w = static_cast<uint64_t>(kCorrRows);
  const double n = static_cast<double>(kCorrRows);
  for (int p = 0; p < kPairCount; ++p) {
    const double cxx = sxx[p] - sx[p] * sx[p] / n;
    const double cyy = syy[p] - sy[p] * sy[p] / n;
    const double cxy = sxy[p] - sx[p] * sy[p] / n;
    // & (not &&): every condition is evaluated, so the loop has no branch.
    const bool ok = full & (nulls[p] == 0) & (run_x[p] < w) & (run_y[p] < w) & (cxx > 0) & (cyy > 0);
    const double r = cxy / (std::sqrt(cxx) * std::sqrt(cyy));
    const double clamped = r > 1.0 ? 1.0 : (r < -1.0 ? -1.0 : r);
    out[p] = ok ? clamped : kNull;
  }
}

// cur_related_corr_60 of all pairs: NullableCorrelation (cur_rolling.h) per pair, with its
// state and arithmetic unchanged, in structure-of-arrays form: the 60-row rings of the 28
// pairs are rows of 32 slots (4 cache lines each), so a grid row touches 2 x 4 ring lines and
// the contiguous sums instead of 28 objects (~3 lines each) and 56 separate rings. Every pair
// in the universe is pushed on every grid row, so they share the push count and the
// recomputation counter; a pair outside the universe is never pushed (its state stays as
// constructed). Snapshot layout as NullableCorrelation::save, pair after pair.
class PairCorrelations {
 public:
  static constexpr uint64_t kW = static_cast<uint64_t>(kCorrRows);
  using Lanes = std::array<double, 32>;

  PairCorrelations() : x_(kW), y_(kW) {}
  uint64_t pushes() const { return pushes_; }

  // The row of push j (the next one): push_all(), then finish().
  // NullableCorrelation::push (cur_rolling.h) of x[p], y[p] for every pair p with pushed[p],
  // 4 pairs per GCC vector (SIMD across pairs; cloned for AVX-512 / AVX2 with runtime
  // dispatch): push's branches become per-lane selects and each lane does its IEEE operations
  // in the same order (the oldest row's deltas subtracted, then the new row's added), so the
  // bits are unchanged. A lane not pushed keeps its state.
  __attribute__((target_clones("avx512f", "avx2", "default"))) void push_all(uint64_t j, const double* xin,
                                                                             const double* yin, const bool* pushed) {
    typedef double V4 __attribute__((vector_size(32)));
    typedef int64_t M4 __attribute__((vector_size(32)));
    typedef uint64_t U4 __attribute__((vector_size(32)));
    static_assert(kPairCount % 4 == 0);
    const size_t slot = static_cast<size_t>(j % kW);
    double* xs = x_[slot].data();
    double* ys = y_[slot].data();
    const M4 leave = (M4{} + (j >= kW ? -1 : 0));  // the oldest row leaves
    const V4 null4 = {kNull, kNull, kNull, kNull};
    for (int p = 0; p < kPairCount; p += 4) {
      const M4 on = {pushed[p] ? -1 : 0, pushed[p + 1] ? -1 : 0, pushed[p + 2] ? -1 : 0, pushed[p + 3] ? -1 : 0};
      const M4 had_ref = {has_ref_[p] ? -1 : 0, has_ref_[p + 1] ? -1 : 0, has_ref_[p + 2] ? -1 : 0,
                          has_ref_[p + 3] ? -1 : 0};
      V4 xi, yi, ox, oy, rx, ry, sx, sy, sxx, syy, sxy, lx, ly;
      U4 nulls, run_x, run_y;
      std::memcpy(&xi, xin + p, sizeof xi);
      std::memcpy(&yi, yin + p, sizeof yi);
      std::memcpy(&ox, xs + p, sizeof ox);
      std::memcpy(&oy, ys + p, sizeof oy);
      std::memcpy(&rx, &rx_[p], sizeof rx);
      std::memcpy(&ry, &ry_[p], sizeof ry);
      std::memcpy(&sx, &sx_[p], sizeof sx);
      std::memcpy(&sy, &sy_[p], sizeof sy);
      std::memcpy(&sxx, &sxx_[p], sizeof sxx);
      std::memcpy(&syy, &syy_[p], sizeof syy);
      std::memcpy(&sxy, &sxy_[p], sizeof sxy);
      std::memcpy(&lx, &last_x_[p], sizeof lx);
      std::memcpy(&ly, &last_y_[p], sizeof ly);
      std::memcpy(&nulls, &nulls_[p], sizeof nulls);
      std::memcpy(&run_x, &run_x_[p], sizeof run_x);
      std::memcpy(&run_y, &run_y_[p], sizeof run_y);
      const M4 null_in = (xi != xi) | (yi != yi);  // is_null(x) || is_null(y)
      const V4 x = null_in ? null4 : xi;
      const V4 y = null_in ? null4 : yi;
      const M4 old_null = ox != ox;
      const M4 drop = on & leave & ~old_null;
      const M4 add = on & ~null_in;
      nulls = nulls - reinterpret_cast<U4>(on & leave & old_null & 1) + reinterpret_cast<U4>(on & null_in & 1);
      const V4 odx = ox - rx, ody = oy - ry;
      sx = drop ? sx - odx : sx;
      sy = drop ? sy - ody : sy;
      sxx = drop ? sxx - odx * odx : sxx;
      syy = drop ? syy - ody * ody : syy;
      sxy = drop ? sxy - odx * ody : sxy;
      const V4 new_xs = on ? x : ox;
      const V4 new_ys = on ? y : oy;
      const M4 set_ref = add & ~had_ref;
      rx = set_ref ? x : rx;
      ry = set_ref ? y : ry;
      const V4 dx = x - rx, dy = y - ry;
      sx = add ? sx + dx : sx;
      sy = add ? sy + dy : sy;
      sxx = add ? sxx + dx * dx : sxx;
      syy = add ? syy + dy * dy : syy;
      sxy = add ? sxy + dx * dy : sxy;
      const U4 one = U4{} + 1, zero = U4{};
      const U4 next_run_x = ((run_x > 0) & (x == lx)) ? run_x + 1 : one;
      const U4 next_run_y = ((run_y > 0) & (y == ly)) ? run_y + 1 : one;
      run_x = add ? next_run_x : (on ? zero : run_x);
      run_y = add ? next_run_y : (on ? zero : run_y);
      lx = add ? x : lx;
      ly = add ? y : ly;
      std::memcpy(xs + p, &new_xs, sizeof new_xs);
      std::memcpy(ys + p, &new_ys, sizeof new_ys);
      std::memcpy(&rx_[p], &rx, sizeof rx);
      std::memcpy(&ry_[p], &ry, sizeof ry);
      std::memcpy(&sx_[p], &sx, sizeof sx);
      std::memcpy(&sy_[p], &sy, sizeof sy);
      std::memcpy(&sxx_[p], &sxx, sizeof sxx);
      std::memcpy(&syy_[p], &syy, sizeof syy);
      std::memcpy(&sxy_[p], &sxy, sizeof sxy);
      std::memcpy(&last_x_[p], &lx, sizeof lx);
      std::memcpy(&last_y_[p], &ly, sizeof ly);
      std::memcpy(&nulls_[p], &nulls, sizeof nulls);
      std::memcpy(&run_x_[p], &run_x, sizeof run_x);
      std::memcpy(&run_y_[p], &run_y, sizeof run_y);
      for (int k = 0; k < 4; ++k) has_ref_[p + k] = static_cast<uint8_t>(has_ref_[p + k] | (set_ref[k] & 1));
    }
  }
  // After the pushes of row j: the exact recomputation every W pushes (as in NullableCorrelation::push).
  void finish(uint64_t j, const std::array<bool, kPairCount>& pushed) {
    pushes_ = j + 1;
    if (++since_ < kW) return;
    since_ = 0;
    for (int p = 0; p < kPairCount; ++p) {
      if (pushed[p]) reanchor(p);
    }
  }
  // NullableCorrelation::value of every pair slot into out[0..kPairCount) (a slot outside
  // the universe gets a value too; the caller ignores it).
  void values(double* out) const {
    related_correlation_values(pushes_ >= kW, nulls_.data(), run_x_.data(), run_y_.data(), sx_.data(), sy_.data(),
                               sxx_.data(), syy_.data(), sxy_.data(), out);
  }

  void save(StateWriter& out, const std::array<bool, kPairCount>& in_universe) const {
    for (int p = 0; p < kPairCount; ++p) {
      const uint64_t count = in_universe[p] ? pushes_ : 0;
      for (const auto* ring : {&x_, &y_}) {  // RingBuffer::save: slots, next slot, size, pushes
        out.put<uint64_t>(kW);
        for (uint64_t i = 0; i < kW; ++i) out.put(in_universe[p] ? (*ring)[i][p] : 0.0);
        out.put<uint64_t>(count % kW);
        out.put<uint64_t>(std::min(count, kW));
        out.put<uint64_t>(count);
      }
      for (double v : {rx_[p], ry_[p], sx_[p], sy_[p], sxx_[p], syy_[p], sxy_[p], last_x_[p], last_y_[p]}) out.put(v);
      for (uint64_t v : {nulls_[p], run_x_[p], run_y_[p], in_universe[p] ? since_ : uint64_t{0}}) out.put(v);
      out.put<uint8_t>(has_ref_[p]);
    }
  }
  void load(StateReader& in, const std::array<bool, kPairCount>& in_universe) {
    bool first = true;
    for (int p = 0; p < kPairCount; ++p) {
      uint64_t count = 0;
      for (auto* ring : {&x_, &y_}) {
        if (in.get<uint64_t>() != kW) in.fail();
        for (uint64_t i = 0; i < kW; ++i) (*ring)[i][p] = in.get<double>();
        const uint64_t head = in.get<uint64_t>();
        const uint64_t size = in.get<uint64_t>();
        count = in.get<uint64_t>();
        if (head != count % kW || size != std::min(count, kW)) in.fail();
      }
      for (double* v : {&rx_[p], &ry_[p], &sx_[p], &sy_[p], &sxx_[p], &syy_[p], &sxy_[p], &last_x_[p], &last_y_[p]}) {
        in.get(*v);
      }
      for (uint64_t* v : {&nulls_[p], &run_x_[p], &run_y_[p]}) in.get(*v);
      const uint64_t since = in.get<uint64_t>();
      has_ref_[p] = in.get<uint8_t>();
      if (!in_universe[p]) {
        if (count != 0) in.fail();
        continue;
      }
      if (first) {
        pushes_ = count;
        since_ = since;
        first = false;
      }
      if (count != pushes_ || since != since_ || nulls_[p] > std::min(count, kW)) in.fail();
    }
  }

 private:
  // NullableCorrelation::reanchor: the reference at the newest non-NULL row, then the sums
  // newest to oldest (the window is full: this runs every W pushes).
  void reanchor(int p) {
    const uint64_t size = std::min(pushes_, kW);
    const uint64_t newest = pushes_ - 1;
    for (uint64_t k = 0; k < size; ++k) {
      const size_t slot = static_cast<size_t>((newest - k) % kW);
      if (!is_null(x_[slot][p])) {
        rx_[p] = x_[slot][p];
        ry_[p] = y_[slot][p];
        has_ref_[p] = 1;
        break;
      }
    }
    sx_[p] = sy_[p] = sxx_[p] = syy_[p] = sxy_[p] = 0;
    for (uint64_t k = 0; k < size; ++k) {
      const size_t slot = static_cast<size_t>((newest - k) % kW);
      if (is_null(x_[slot][p])) continue;
      const double dx = x_[slot][p] - rx_[p], dy = y_[slot][p] - ry_[p];
      sx_[p] += dx;
      sy_[p] += dy;
      sxx_[p] += dx * dx;
      syy_[p] += dy * dy;
      sxy_[p] += dx * dy;
    }
  }

  StateVector<Lanes> x_, y_;  // push j of pair p in x_[j % W][p] (NULL rows: both NULL)
  uint64_t pushes_ = 0, since_ = 0;
  std::array<double, kPairCount> rx_{}, ry_{}, sx_{}, sy_{}, sxx_{}, syy_{}, sxy_{}, last_x_{}, last_y_{};
  std::array<uint64_t, kPairCount> nulls_{}, run_x_{}, run_y_{};
  std::array<uint8_t, kPairCount> has_ref_{};
};

class CurKernel final : public CrossKernel {
 public:
  explicit CurKernel(const CrossContext& ctx)
      : in_universe_(ctx.in_universe),
        strengths_(kMomRows.back() + 1),
        divergence_(kImpliedRows.back() + 1),
        vol_(kVolRows) {
    const cur::Topology& t = cur::topology();
    // Related pairs: the others sharing the base (oriented so the base is on the base side,
    // factor dir(r, base)) or sharing the quote (quote on the quote side, factor -dir(r, quote)).
    for (int p = 0; p < kPairCount; ++p) {
      related_n_[p] = 0;
      if (!in_universe_[p]) continue;
      for (int r = 0; r < kPairCount; ++r) {
        if (r == p || !in_universe_[r]) continue;
        const int db = cur::dir(r, t.base[p]), dq = cur::dir(r, t.quote[p]);
        if (db == 0 && dq == 0) continue;
        related_[p][related_n_[p]] = r;
        related_sign_[p][related_n_[p]] = db != 0 ? db : -dq;
        ++related_n_[p];
      }
    }
    // Triplets: every 3-currency set A < B < C (currency order) whose 3 pairs are in the
    // universe; lp(X/Y) = ln(close_XY) if XY is the quoted pair, else -ln(close_YX).
    std::array<std::array<std::array<int, K>, K>, K> index{};
    for (int a = 0; a < K; ++a) {
      for (int b = a + 1; b < K; ++b) {
        for (int c = b + 1; c < K; ++c) {
          index[a][b][c] = -1;
          const std::array<std::array<int, 2>, 3> legs = {{{a, b}, {b, c}, {c, a}}};
          bool ok = true;
          Triplet tr;
          for (int k = 0; k < 3; ++k) {
            const int s = t.slot[legs[k][0]][legs[k][1]];
            ok = ok && in_universe_[s];
            tr.slot[k] = s;
            tr.sign[k] = t.base[s] == legs[k][0] ? 1.0 : -1.0;
          }
          if (!ok) continue;
          index[a][b][c] = triplet_n_;
          triplets_[triplet_n_++] = tr;
        }
      }
    }
    // Each pair's triplets, by its third currency in currency order.
    for (int p = 0; p < kPairCount; ++p) {
      pair_triplet_n_[p] = 0;
      if (!in_universe_[p]) continue;
      for (int c = 0; c < K; ++c) {
        if (c == t.base[p] || c == t.quote[p]) continue;
        std::array<int, 3> m = {t.base[p], t.quote[p], c};
        for (int i = 0; i < 3; ++i) {
          for (int j = i + 1; j < 3; ++j) {
            if (m[j] < m[i]) std::swap(m[i], m[j]);
          }
        }
        const int idx = index[m[0]][m[1]][m[2]];
        if (idx >= 0) pair_triplet_[p][pair_triplet_n_[p]++] = idx;
      }
    }
    prev_l_.fill(kNull);
    for (auto& row : pair_out_) row.fill(kNull);
    global_out_.fill(kNull);
  }

  void update(const GridRow& grid) override {
    const cur::Topology& t = cur::topology();
    PairMask avail{};
    PairValues l, lnc;
    for (int p = 0; p < kPairCount; ++p) {
      avail[p] = in_universe_[p] && grid.available[p] && std::isfinite(grid.log_index[p]) &&
                 std::isfinite(grid.close[p]) && grid.close[p] > 0;
      l[p] = avail[p] ? grid.log_index[p] : kNull;
      // ln(close) from the grid (the engine's std::log of this same close: bit-identical).
      lnc[p] = avail[p] ? grid.log_close[p] : kNull;
    }
    const Strengths s = cur::solve_strengths(avail, l);
    strengths_.push(s);

    // ds(g) = s(g) - s(g-1) of the 8 currencies, into the cur_*_vol_W windows.
    Strengths ds;
    for (int c = 0; c < K; ++c) ds[c] = strengths_.size() > 1 ? s[c] - strengths_.back(1)[c] : kNull;
    vol_.push(ds);

    // Global, per currency.
    int n_avail = 0;
    for (int c = 0; c < K; ++c) n_avail += is_null(s[c]) ? 0 : 1;
    for (int c = 0; c < K; ++c) {
      double* o = global_out_.data() + c * kPerCurrency;
      o[0] = s[c];
      for (size_t i = 0; i < kMomRows.size(); ++i) {
        const size_t n = static_cast<size_t>(kMomRows[i]);
        o[1 + i] = strengths_.size() > n ? s[c] - strengths_.back(n)[c] : kNull;
      }
      for (size_t w = 0; w < kVolRows.size(); ++w) {
        o[5 + w] = vol_.ready(w, c) ? std::sqrt(vol_.m2(w, c) / static_cast<double>(kVolRows[w] - 1)) : kNull;
      }
      if (is_null(s[c])) {
        o[7] = kNull;
        pct_[c] = kNull;
      } else {
        int above = 0, below = 0;
        for (int d = 0; d < K; ++d) {
          if (is_null(s[d])) continue;
          above += s[d] > s[c] + kTieTolerance ? 1 : 0;
          below += s[d] < s[c] - kTieTolerance ? 1 : 0;
        }
        o[7] = 1.0 + above;
        pct_[c] = n_avail > 1 ? 100.0 * below / (n_avail - 1) : kNull;
      }
      for (int g = 0; g < cur::kGroupCount; ++g) o[8 + g] = cur::vs_group(s, c, g);
    }

    Strengths index;
    for (int c = 0; c < K; ++c) index[c] = 100.0 * std::exp(s[c]);

    // Per pair.
    PairValues ret, div;
    for (int p = 0; p < kPairCount; ++p) {
      ret[p] = l[p] - prev_l_[p];  // NaN unless available at g and g-1
      div[p] = avail[p] ? l[p] - (s[t.base[p]] - s[t.quote[p]]) : kNull;
    }
    divergence_.push(div);
    // 1e4 |eps_T| of each triplet once (each is in 3 pairs' means), and whether its three
    // pairs are available.
    std::array<double, kMaxTriplets> triplet_abs_bp;
    std::array<bool, kMaxTriplets> triplet_formable;
    for (int k = 0; k < triplet_n_; ++k) {
      const Triplet& tr = triplets_[k];
      triplet_formable[k] = avail[tr.slot[0]] && avail[tr.slot[1]] && avail[tr.slot[2]];
      const double eps = tr.sign[0] * lnc[tr.slot[0]] + tr.sign[1] * lnc[tr.slot[1]] + tr.sign[2] * lnc[tr.slot[2]];
      triplet_abs_bp[k] = 1e4 * std::fabs(eps);
    }
    const uint64_t corr_row = corr_.pushes();
    PairValues related_mean;
    related_mean.fill(kNull);
    for (int p = 0; p < kPairCount; ++p) {
      double* o = pair_out_[p].data();
      if (!in_universe_[p]) continue;  // stays NULL
      const double sb = s[t.base[p]], sq = s[t.quote[p]];
      o[kBaseIndex] = index[t.base[p]];
      o[kQuoteIndex] = index[t.quote[p]];
      o[kIndexDiff] = sb - sq;
      o[kBasePct] = pct_[t.base[p]];
      o[kQuotePct] = pct_[t.quote[p]];
      o[kDivergence] = div[p];
      // Mean oriented grid return of the related pairs that have one.
      double sum = 0;
      int n = 0;
      for (int k = 0; k < related_n_[p]; ++k) {
        const double r = ret[related_[p][k]];
        if (is_null(r)) continue;
        sum += related_sign_[p][k] * r;
        ++n;
      }
      related_mean[p] = n > 0 ? sum / n : kNull;
      // Mean |eps| (bp) over the pair's triplets whose three pairs are available.
      double abs_sum = 0;
      int m = 0;
      for (int k = 0; k < pair_triplet_n_[p]; ++k) {
        const int t = pair_triplet_[p][k];
        if (!triplet_formable[t]) continue;
        abs_sum += triplet_abs_bp[t];
        ++m;
      }
      o[kTriangular] = m > 0 ? abs_sum / m : kNull;
      for (size_t i = 0; i < kImpliedRows.size(); ++i) {
        const size_t n_rows = static_cast<size_t>(kImpliedRows[i]);
        o[kImplied0 + i] = divergence_.size() > n_rows ? div[p] - divergence_.back(n_rows)[p] : kNull;
      }
    }
    corr_.push_all(corr_row, ret.data(), related_mean.data(), in_universe_.data());
    corr_.finish(corr_row, in_universe_);
    std::array<double, kPairCount> related_corr;
    corr_.values(related_corr.data());
    for (int p = 0; p < kPairCount; ++p) {
      if (in_universe_[p]) pair_out_[p][kRelatedCorr] = related_corr[p];
    }
    prev_l_ = l;
  }

  void write_global(double* out) const override {
    for (int i = 0; i < kGlobal; ++i) out[i] = global_out_[i];
  }
  void write_pair(int pair_slot, double* out) const override {
    for (int i = 0; i < kPerPair; ++i) {
      out[i] = pair_slot >= 0 && pair_slot < kPairCount ? pair_out_[pair_slot][i] : kNull;
    }
  }

  void save(StateWriter& out) const override {
    out.put(in_universe_);
    strengths_.save(out);
    divergence_.save(out);
    for (int c = 0; c < K; ++c) {  // per currency, per window: NullableMoments::save
      for (size_t w = 0; w < kVolRows.size(); ++w) vol_.save(out, w, c);
    }
    corr_.save(out, in_universe_);
    out.put(prev_l_);
    out.put(pct_);
    out.put(pair_out_);
    out.put(global_out_);
  }
  void load(StateReader& in) override {
    if (in.get<std::array<bool, kPairCount>>() != in_universe_) in.fail();
    strengths_.load(in);
    divergence_.load(in);
    for (int c = 0; c < K; ++c) {
      for (size_t w = 0; w < kVolRows.size(); ++w) vol_.load(in, w, c);
    }
    corr_.load(in, in_universe_);
    in.get(prev_l_);
    in.get(pct_);
    in.get(pair_out_);
    in.get(global_out_);
  }

 private:
  std::array<bool, kPairCount> in_universe_;
  std::array<std::array<int, kRelated>, kPairCount> related_{};
  std::array<std::array<double, kRelated>, kPairCount> related_sign_{};
  std::array<int, kPairCount> related_n_{};
  std::array<Triplet, kMaxTriplets> triplets_{};
  int triplet_n_ = 0;
  std::array<std::array<int, K - 2>, kPairCount> pair_triplet_{};
  std::array<int, kPairCount> pair_triplet_n_{};

  RingBuffer<Strengths> strengths_;    // s(g), s(g-1), ... (1441 rows)
  RingBuffer<PairValues> divergence_;  // d_p(g), ... (241 rows)
  cur::CurrencyWindows<kVolRows.size()> vol_;  // ds of the 8 currencies, W = 60 and 240
  PairCorrelations corr_;  // cur_related_corr_60
  PairValues prev_l_{};
  Strengths pct_{};
  std::array<std::array<double, kPerPair>, kPairCount> pair_out_{};
  std::array<double, kGlobal> global_out_{};
};

}  // namespace

CrossFamilyDef make_cur_family() {
  CrossFamilyDef def;
  def.name = "cur";
  const std::string src = "FEATURES.md 2.1";
  auto add = [](std::vector<ColumnInfo>& cols, std::string name, std::string family, std::string params,
                std::string formula, std::string unit, int lookback, std::string source,
                std::string null_when) {
    cols.push_back(ColumnInfo{std::move(name), std::move(family), std::move(params), std::move(formula),
                              std::move(unit), lookback, std::move(source), std::move(null_when), false});
  };
  const std::string strength_def =
      "s_C = least-squares currency strengths: min sum_p (l_p - (s_base - s_quote))^2 over the available "
      "pairs, "
      "l_p = ln(close_p/B_p), sum s_C = 0 per connected set of currencies (all 28 pairs: s_C = (1/8) sum_p "
      "dir(p,C) l_p)";
  const std::string pct_def =
      "100 * (number of available currencies with a strictly lower strength) / (number of available "
      "currencies - 1); "
      "strengths within 1e-12 log units count as tied";
  auto& pp = def.per_pair_columns;
  add(pp, "cur_base_index", "cur", "", "100 * exp(s_base); " + strength_def, "index points", 0, src,
      "the base currency has no available pair");
  add(pp, "cur_quote_index", "cur", "", "100 * exp(s_quote)", "index points", 0, src,
      "the quote currency has no available pair");
  add(pp, "cur_index_diff", "cur", "", "s_base - s_quote", "log units", 0, src,
      "either currency has no available pair");
  add(pp, "cur_base_pct", "cur", "", "percentile of s_base among the available currencies: " + pct_def,
      "0..100", 0, src, "the base currency has no available pair");
  add(pp, "cur_quote_pct", "cur", "", "percentile of s_quote among the available currencies: " + pct_def,
      "0..100", 0, src, "the quote currency has no available pair");
  add(pp, "cur_pair_divergence", "cur", "",
      "l_pair - (s_base - s_quote) (0 when all triangles are consistent)", "log units", 0, src,
      "the pair is unavailable at g");
  add(pp, "cur_related_corr_60", "cur", "W=60 grid rows",
      "Pearson correlation over the last 60 grid rows of R_p with M_p, R_p(g) = l_p(g) - l_p(g-1) and M_p = "
      "mean "
      "over the related pairs r (sharing the base or the quote) with a grid return of o_r * R_r, o_r = "
      "dir(r, base) "
      "if r shares the base, -dir(r, quote) if it shares the quote (shared currency on the same side)",
      "-1..1", kCorrRows, src,
      "a row of the window lacks R_p or M_p (pair unavailable at g or g-1, or no related return), or either "
      "series "
      "is constant over the window");
  add(pp, "cur_triangular_consistency", "cur", "",
      "mean over the pair's triplets (3 currencies whose 3 pairs are available) of 1e4 * |eps_T|, "
      "eps_T = lp(A/B) + lp(B/C) + lp(C/A) with A < B < C in currency order, lp(X/Y) = ln(close_XY) if XY is "
      "quoted, else -ln(close_YX) (raw closes)",
      "bp", 0, src, "no triplet of the pair has all three pairs available");
  for (int n : kImpliedRows) {
    add(pp, "derived_pair_vs_implied_" + std::to_string(n), "derived",
        "n=" + std::to_string(n) + " grid rows",
        "(l_p(g) - l_p(g-n)) - ((s_base(g) - s_base(g-n)) - (s_quote(g) - s_quote(g-n))), computed as "
        "cur_pair_divergence(g) - cur_pair_divergence(g-n) (equal in exact arithmetic); computed by the cur "
        "kernel",
        "log units", n, "FEATURES.md 3.2", "the pair is unavailable at g or at g-n");
  }
  auto& gl = def.global_columns;
  for (int c = 0; c < K; ++c) {
    const std::string p = "cur_" + cur::lower_code(c) + "_";
    const std::string code(currency_code(static_cast<Currency>(c)));
    const std::string cnull = code + " has no available pair at g";
    add(gl, p + "strength", "cur", "currency=" + code, "s_" + code + "; " + strength_def, "log units", 0, src,
        cnull);
    for (int n : kMomRows) {
      add(gl, p + "mom_" + std::to_string(n), "cur",
          "currency=" + code + ", n=" + std::to_string(n) + " grid rows", "s(g) - s(g-n)", "log units", n,
          src, code + " has no available pair at g or at g-n");
    }
    for (int w : kVolRows) {
      add(gl, p + "vol_" + std::to_string(w), "cur",
          "currency=" + code + ", W=" + std::to_string(w) + " grid rows",
          "sample stdev (ddof 1) of ds(g) = s(g) - s(g-1) over the last W grid rows", "log units", w, src,
          "a ds value of the window is NULL (" + code + " without an available pair at some row)");
    }
    add(gl, p + "rank", "cur", "currency=" + code,
        "1 + number of available currencies with a strictly greater strength (1 = strongest; ties, strengths "
        "within 1e-12 log units, share the smaller rank)",
        "1..8", 0, src, cnull);
    for (int g = 0; g < cur::kGroupCount; ++g) {
      add(gl, p + cur::kGroupSuffix[g], "cur", "currency=" + code + ", group=" + cur::kGroupText[g],
          "s_" + code + " minus the mean strength of the other members of " + cur::kGroupText[g] +
              " that have an available pair",
          "log units", 0, src, cnull + " or no other group member has one");
    }
  }
  def.make = [](const CrossContext& ctx) { return std::make_unique<CurKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
