// reg_rate and reg_bqx: rolling quadratic regression (FEATURES.md 1.2).
// y = x (rate index) or q = bqx_w15_return (bqx domain). For each W the fit
// y_k ~ a2 k^2 + a1 k + a0 over the W rows ending at t (k = W-1 is bar t) is kept in
// O(1) per bar with the arithmetic of RollingQuadraticFit (reg_quadratic.h explains the
// algebra and the numerics), the six term covariances with that of RollingCoMoments<4>;
// RegWindowLanes runs both for the 6 windows at once as SIMD lanes.
#include <algorithm>
#include <array>
#include <cstdint>
#include <new>
#include <string>

#include "features/families.h"
#include "features/reg_quadratic.h"

namespace bqx::features {
namespace {

constexpr std::array<int, 6> kWindows = {60, 90, 150, 240, 390, 630};
constexpr int kColumnsPerWindow = 15;
constexpr int kFitColumns = 9;
constexpr int kBqxLag = 15;  // first non-NULL q = bqx_w15_return is row 15
static_assert(kWindows.size() == regdiag_columns::kNW);

// The windows' constants as lanes (lanes 6, 7 repeat window 0), one copy shared by every
// kernel: read-only, so it stays in cache while the kernels' own state is cold.
struct WindowConstants {
  alignas(64) RegLanes w, c, wc, inv_w, inv_nv, inv_nw, noise, lim, inv_n1, noise2;
};
WindowConstants make_window_constants() {
  WindowConstants k;
  for (size_t l = 0; l < kRegLanes; ++l) {
    const double W = kWindows[l < kWindows.size() ? l : 0];
    k.w[l] = W;
    k.c[l] = W - 1;
    k.wc[l] = 2.0 * (W - 1) * (W - 2);
    k.inv_w[l] = 1.0 / W;
    k.inv_nv[l] = 3.0 / (W * (W * W - 1));
    k.inv_nw[l] = 5.0 / (4.0 * W * (W * W - 1) * (W * W - 4));
    k.noise[l] = 16.0 * W * DBL_EPSILON;
    k.lim[l] = 10.0 * W;
    k.inv_n1[l] = 1.0 / (W - 1.0);
    k.noise2[l] = (16.0 * W * DBL_EPSILON) * (16.0 * W * DBL_EPSILON);
  }
  return k;
}
const WindowConstants kWin = make_window_constants();

// Where each window's ring starts in the state block, in values (prefix sums of the windows).
constexpr std::array<size_t, kWindows.size() + 1> kRingStart = [] {
  std::array<size_t, kWindows.size() + 1> start{};
  for (size_t i = 0; i < kWindows.size(); ++i) start[i + 1] = start[i] + static_cast<size_t>(kWindows[i]);
  return start;
}();

// The 6 windows of one domain side by side, structure-of-arrays: lane i of every array is
// window i (lanes 6 and 7 pad to 8 = one AVX-512 register or two AVX2 / four SSE2
// registers; they carry window 0's constants and are never read). The per-bar arithmetic
// is exactly RollingQuadraticFit::push / evaluate and RollingCoMoments<4>::push /
// covariances (reg_quadratic.h; the same IEEE operations in the same order per lane, so
// SIMD across windows is bit-identical to the scalar classes, which reg_test checks the
// family against). Only the rare exact re-anchorings run per window.
//
// Windows still filling run the same lane arithmetic on state that is meaningless until
// the ring fills; the anchoring at that point recomputes every sum from the ring, so
// nothing of it survives (as in the scalar classes, where the sums start at the anchor).
//
// Memory: the state of 28 pairs exceeds the caches, so a bar is paid in cache lines. The
// lane state and all 12 rings live in one block (RegStateBlock: huge pages); this object
// holds only what a bar needs to find its lines (block pointer, ring heads, push count),
// 48 bytes that share the kernel object's first line with its vtable pointer (which the
// engine fetches a whole family ahead), so prefetch() issues every line's fetch without
// waiting for a load. Every ring gets its values in lockstep: the value ring of window i
// holds min(pushed, W) values, its term-row ring min(max(pushed - W + 1, 0), W) rows.
class RegWindowLanes {
 public:
  static constexpr size_t kNW = kWindows.size();
  static constexpr size_t kLanes = kRegLanes;
  static constexpr size_t kSeries = 4;  // quad, lin, const, resid
  static constexpr size_t kPairs = kSeries * (kSeries - 1) / 2;
  using Lanes = RegLanes;
  using TermRow = std::array<double, kSeries>;
  // The term pairs in RollingCoMoments order: (0,1), (0,2), (0,3), (1,2), (1,3), (2,3).
  static constexpr std::array<size_t, kPairs> kPairFirst = {0, 0, 0, 1, 1, 2};
  static constexpr std::array<size_t, kPairs> kPairSecond = {1, 2, 3, 2, 3, 3};
  // pushed_ saturates here: every ring is full from then on (the longest window's term
  // rows fill at push 2*630 - 1), and every test on pushed_ compares with at most this.
  static constexpr uint32_t kAllFull = 2 * static_cast<uint32_t>(kWindows.back()) - 1;

  RegWindowLanes() : block_(kBlockBytes) {}

  // regdiag's 40 columns of this domain are computed here when the row has them (then the
  // regdiag kernel computes nothing; column: the domain's first regdiag column relative
  // to out). resid_autocorr (the lag-1 autocorrelation of each window's residual over its
  // last W rows): this kernel already holds every window's last W residuals (the term-row
  // rings) and its residuals as lanes, so no residual rings of their own; the arithmetic
  // is regdiag's (reg_quadratic.h, lag1_lanes_*), and both push exactly the non-NULL
  // residuals (the residual is reported, and finite, from the bar the window's fit is
  // ready on). The other columns: regdiag's own functions (reg_quadratic.h,
  // regdiag_columns) on this domain's reg columns read back from the row just written
  // (in L1, where regdiag's reads of them missed), and its r2 and slope histories here.
  void enable_diag(int column) { diag_column_ = column; }
  bool diag() const { return diag_column_ >= 0; }
  // A bar with y NULL (before the first non-NULL q): regdiag's columns from the NULL reg
  // columns (out holds them), as regdiag computes them.
  void null_diag(double* out) {
    alignas(64) Lanes autocorr;
    autocorr.fill(kNull);
    diag_step(out, autocorr);
  }

  // One bar of y (not NULL) for all windows; writes the 15 columns of each window.
  void step(double y, double* out, size_t columns_per_window) {
#if defined(__x86_64__)
    if (reg_cpu_has_avx512f()) return step_avx512(y, out, columns_per_window);
#endif
    step_lanes(y, out, columns_per_window);
  }

  // The lines the next step touches: the lane state, and in each ring the slot it
  // overwrites (the evicted value / row is read from the same slot).
  __attribute__((always_inline)) inline void prefetch() const {
    // With diag(): regdiag's lag-1 sums (last in LaneState), then its histories (DiagState).
    prefetch_write(block_.data(), diag() ? sizeof(LaneState) + sizeof(DiagState) : sizeof(LaneState) - kLag1StateBytes);
    for (size_t i = 0; i < kNW; ++i) {
      // Size 1: a slot never straddles two lines (8- and 32-byte aligned), so one
      // prefetch instruction each rather than the helper's first-and-last pair.
      prefetch_write(&values_of(i)[value_head_[i]], 1);
      prefetch_write(&rows_of(i)[row_head_[i]], 1);
      // lag1_step reads the next slot too (in the same line every other bar).
      if (diag() && (row_head_[i] & 1u) != 0) prefetch_read(&rows_of(i)[row_head_[i] + 1u == static_cast<unsigned>(kWindows[i]) ? 0 : row_head_[i] + 1u], 1);
      // The periodic re-anchorings (at the fill, then every W pushes: since counts from
      // the anchoring, which happens when the head wraps to 0) read the whole ring: fetch
      // it a pair ahead rather than inside the anchoring. A collapse anchoring shifts the
      // phase and is then not predicted (the anchoring's own prefetch still covers it).
      const size_t last_slot = static_cast<size_t>(kWindows[i]) - 1;
      if (value_head_[i] == last_slot) prefetch_read(values_of(i), (last_slot + 1) * sizeof(double));
      if (row_head_[i] == last_slot) prefetch_read(rows_of(i), (last_slot + 1) * sizeof(TermRow));
    }
  }

  // The snapshot layout of the former per-window RegRing objects (unchanged).
  void save(StateWriter& out) const {
    const LaneState& s = lanes();
    out.put(prev_y_);
    out.put<uint64_t>(run_);
    for (size_t i = 0; i < kNW; ++i) {
      const size_t w = static_cast<size_t>(kWindows[i]);
      put_ring(out, values_of(i), w, value_head_[i], value_count(i, pushed_));
      for (const Lanes* a : {&s.ref, &s.u0, &s.u1, &s.v2, &s.q, &s.peak, &s.since}) out.put((*a)[i]);
      out.put(0.0);  // former first-pass sum (see LaneState)
      put_ring(out, rows_of(i), w, row_head_[i], row_count(i, pushed_));
      for (size_t k = 0; k < kSeries; ++k) {
        for (const auto* a : {&s.cref, &s.cs, &s.csq, &s.cpeak}) out.put((*a)[k][i]);
        out.put(0.0);  // former first-pass sum
      }
      for (size_t p = 0; p < kPairs; ++p) out.put(s.csxy[p][i]);
      out.put(s.csince[i]);
    }
    if (diag()) {
      // regdiag's lag-1 sums (the residuals are the term rows' last series).
      for (size_t i = 0; i < kNW; ++i) {
        const Lag1LaneSums& l = s.lag1;
        for (const Lanes* a : {&l.ref, &l.s, &l.q, &l.p, &l.peak, &l.since}) out.put((*a)[i]);
      }
      // regdiag's histories of this domain (as regdiag keeps them without reg's layout).
      const DiagState& d = diag_state();
      put_ring(out, d.history.slope60.data(), d.history.slope60.size(), d.slope_head, d.slope_size);
      out.put(d.history.prev_quad60);
      put_ring(out, d.r2.data(), d.r2.size(), d.r2_head, d.r2_size);
    }
  }
  void load(StateReader& in) {
    LaneState& s = lanes();
    in.get(prev_y_);
    const uint64_t run = in.get<uint64_t>();
    run_ = static_cast<uint16_t>(run < UINT16_MAX ? run : UINT16_MAX);
    std::array<size_t, kNW> value_sizes{}, row_sizes{};
    for (size_t i = 0; i < kNW; ++i) {
      const size_t w = static_cast<size_t>(kWindows[i]);
      value_sizes[i] = get_ring(in, values_of(i), w, value_head_[i]);
      for (Lanes* a : {&s.ref, &s.u0, &s.u1, &s.v2, &s.q, &s.peak, &s.since}) in.get((*a)[i]);
      (void)in.get<double>();  // former first-pass sum
      row_sizes[i] = get_ring(in, rows_of(i), w, row_head_[i]);
      for (size_t k = 0; k < kSeries; ++k) {
        for (auto* a : {&s.cref, &s.cs, &s.csq, &s.cpeak}) in.get((*a)[k][i]);
        (void)in.get<double>();  // former first-pass sum
      }
      for (size_t p = 0; p < kPairs; ++p) in.get(s.csxy[p][i]);
      in.get(s.csince[i]);
    }
    if (diag()) {
      for (size_t i = 0; i < kNW; ++i) {
        Lag1LaneSums& l = s.lag1;
        for (Lanes* a : {&l.ref, &l.s, &l.q, &l.p, &l.peak, &l.since}) in.get((*a)[i]);
      }
      DiagState& d = diag_state();
      size_t head = 0;
      d.slope_size = static_cast<uint8_t>(get_ring(in, d.history.slope60.data(), d.history.slope60.size(), head));
      d.slope_head = static_cast<uint8_t>(head);
      in.get(d.history.prev_quad60);
      d.r2_size = static_cast<uint8_t>(get_ring(in, d.r2.data(), d.r2.size(), head));
      d.r2_head = static_cast<uint8_t>(head);
    }
    // The push count from the longest window's rings; every ring must agree with it.
    const size_t longest = kNW - 1, w_max = static_cast<size_t>(kWindows[longest]);
    const size_t pushed = value_sizes[longest] < w_max ? value_sizes[longest] : w_max - 1 + row_sizes[longest];
    pushed_ = static_cast<uint16_t>(pushed < kAllFull ? pushed : kAllFull);
    for (size_t i = 0; i < kNW; ++i) {
      if (value_sizes[i] != value_count(i, pushed_) || row_sizes[i] != row_count(i, pushed_)) in.fail();
    }
    if (!in.ok()) return;
    // The running sums (LaneState::ysum, csum): the newest `since` values / rows in push order.
    for (size_t i = 0; i < kNW; ++i) {
      const size_t w = static_cast<size_t>(kWindows[i]);
      const size_t values = value_sizes[i], rows = row_sizes[i];
      if (!(s.since[i] >= 0 && s.since[i] <= static_cast<double>(values))) return in.fail();
      const size_t value_start = values == w ? value_head_[i] : 0;
      double ysum = 0;
      for (size_t k = values - static_cast<size_t>(s.since[i]); k < values; ++k) ysum += values_of(i)[(value_start + k) % w];
      s.ysum[i] = ysum;
      TermRow csum{};
      if (rows == w) {
        if (!(s.csince[i] >= 0 && s.csince[i] <= static_cast<double>(w))) return in.fail();
        for (size_t k = w - static_cast<size_t>(s.csince[i]); k < w; ++k) {
          const TermRow& r = rows_of(i)[(row_head_[i] + k) % w];
          for (size_t j = 0; j < kSeries; ++j) csum[j] += r[j];
        }
      }
      for (size_t j = 0; j < kSeries; ++j) s.csum[j][i] = csum[j];
      if (diag()) {
        // pushed_sum: the newest `since` residuals in push order; lprev: the newest residual.
        const size_t row_start = rows == w ? row_head_[i] : 0;
        const double since = s.lag1.since[i];
        if (!(since >= 0 && since <= static_cast<double>(rows))) return in.fail();
        double lsum = 0;
        for (size_t k = rows - static_cast<size_t>(since); k < rows; ++k) lsum += rows_of(i)[(row_start + k) % w][kSeries - 1];
        s.lag1.pushed_sum[i] = lsum;
        s.lprev[i] = rows == 0 ? 0.0 : rows_of(i)[(row_start + rows - 1) % w][kSeries - 1];
      }
    }
  }

 private:
  // Fit sums (RollingQuadraticFit) and term co-moments (RollingCoMoments<4>), first in the
  // block; then the value rings, then the term-row rings.
  struct LaneState {
    alignas(64) Lanes ref, u0, u1, v2, q, peak, since;
    alignas(64) std::array<Lanes, kSeries> cref, cs, csq, cpeak;
    alignas(64) std::array<Lanes, kPairs> csxy;
    alignas(64) Lanes csince;
    // The values (term rows) pushed since the last anchoring, summed in push order: when
    // exactly W pushes have passed (since = W: the periodic anchorings, and the fit's fill)
    // they are the ring, oldest first, so this is bit for bit the anchoring's first pass,
    // which then needs no pass over the ring (an add per bar in the lanes against W
    // latency-bound adds). csum is meaningful once the rows ring is full (every step then
    // pushes a row); it is only read at since = W. The snapshot keeps a 0 in their former
    // place and load() recomputes them from the rings.
    alignas(64) Lanes ysum;
    alignas(64) std::array<Lanes, kSeries> csum;
    // regdiag's lag-1 autocorrelation sums of the residual series (when enable_diag),
    // and the residual last pushed (the ring's newest before a push: a lane load rather
    // than six slot loads).
    Lag1LaneSums lag1;  // last with lprev: see prefetch()
    alignas(64) Lanes lprev;
  };
  static constexpr size_t kLag1StateBytes = sizeof(Lag1LaneSums) + sizeof(Lanes);
  // regdiag's histories of this domain (with diag()), after the lane state: the w60 slope
  // ring, the previous w60 quadratic term and the rings' positions in one line, then the
  // r2 of the last 10 rows (regdiag_columns::sample_std10 reads them all every bar).
  using R2Row = std::array<double, kNW>;
  struct DiagState {
    alignas(64) regdiag_columns::DomainHistory history;
    uint8_t slope_head, slope_size, r2_head, r2_size;
    alignas(64) std::array<R2Row, regdiag_columns::kStdRows> r2;
  };
  static_assert(offsetof(DiagState, r2) == 64, "the histories and positions: one line");
  static constexpr size_t kDiagOffset = sizeof(LaneState);
  static constexpr size_t kValuesOffset = kDiagOffset + sizeof(DiagState);
  static constexpr size_t kRowsOffset = kValuesOffset + kRingStart.back() * sizeof(double);
  static constexpr size_t kBlockBytes = kRowsOffset + kRingStart.back() * sizeof(TermRow);
  static_assert(kValuesOffset % 64 == 0 && kRowsOffset % 64 == 0);

  LaneState& lanes() const { return *std::launder(reinterpret_cast<LaneState*>(block_.data())); }
  DiagState& diag_state() const { return *std::launder(reinterpret_cast<DiagState*>(block_.data() + kDiagOffset)); }
  double* values_of(size_t i) const {
    return reinterpret_cast<double*>(block_.data() + kValuesOffset) + kRingStart[i];
  }
  TermRow* rows_of(size_t i) const { return reinterpret_cast<TermRow*>(block_.data() + kRowsOffset) + kRingStart[i]; }
  // Values in window i's ring / term rows in its co-moment ring after `pushed` pushes.
  static size_t value_count(size_t i, uint32_t pushed) {
    const size_t w = static_cast<size_t>(kWindows[i]);
    return pushed < w ? pushed : w;
  }
  static size_t row_count(size_t i, uint32_t pushed) {
    const size_t w = static_cast<size_t>(kWindows[i]);
    return pushed < w ? 0 : std::min<size_t>(pushed - w + 1, w);
  }
  static bool values_full(size_t i, uint32_t pushed) { return pushed >= static_cast<uint32_t>(kWindows[i]); }
  static bool rows_full(size_t i, uint32_t pushed) { return pushed >= 2 * static_cast<uint32_t>(kWindows[i]) - 1; }
  static void advance(uint16_t& head, size_t i) {
    if (++head == kWindows[i]) head = 0;
  }

#if defined(__x86_64__)
  // The same code compiled for AVX-512 (no FMA: only add/sub/mul/div/sqrt/compare/blend).
  __attribute__((target("avx512f"))) void step_avx512(double y, double* out, size_t columns_per_window) {
    step_lanes(y, out, columns_per_window);
  }
#endif

  __attribute__((always_inline)) inline void step_lanes(double y, double* out, size_t columns_per_window) {
    LaneState& s = lanes();
    const uint32_t before = pushed_, after = before < kAllFull ? before + 1 : kAllFull;
    pushed_ = static_cast<uint16_t>(after);
    // Run length of equal values (the same for every window: they all see the same y).
    run_ = static_cast<uint16_t>(y == prev_y_ ? (run_ < UINT16_MAX ? run_ + 1 : run_) : 1);
    prev_y_ = y;

    // Fit: evict, slide, re-anchor where due (RollingQuadraticFit::push).
    std::array<double, kNW> evicted_values;
    for (size_t i = 0; i < kNW; ++i) {
      double& slot = values_of(i)[value_head_[i]];
      evicted_values[i] = values_full(i, before) ? slot : 0.0;
      slot = y;
      advance(value_head_[i], i);
    }
    alignas(64) Lanes evicted, due;
    set_reg_lanes(evicted, evicted_values);
    slide_fit(s, y, evicted, due);
    for (size_t i = 0; i < kNW; ++i) {
      const bool was_full = values_full(i, before);
      if (was_full ? due[i] != 0 : values_full(i, after)) anchor_fit(i);
    }

    // Fit columns (RollingQuadraticFit::evaluate).
    alignas(64) std::array<Lanes, 9> f;
    evaluate(s, y, f);

    // Term co-moments of the windows whose fit is ready (RollingCoMoments<4>::push): each
    // pushed row evicts the row in its slot (T{} while the ring fills).
    std::array<double, kNW> pushed_values{};
    std::array<Quad, kNW> evicted_rows;
    for (size_t i = 0; i < kNW; ++i) {
      TermRow& slot = rows_of(i)[row_head_[i]];
      Quad evicted = {};
      if (rows_full(i, before)) __builtin_memcpy(&evicted, slot.data(), sizeof evicted);
      evicted_rows[i] = evicted;
      if (!values_full(i, after)) continue;
      pushed_values[i] = 1.0;
      slot = {f[kQuad][i], f[kLin][i], f[kConst][i], f[kResid][i]};
      advance(row_head_[i], i);
    }
    alignas(64) std::array<Lanes, kSeries> old;
    transpose_rows(evicted_rows, old);
    slide_cov(s, f, old, due);
    for (size_t i = 0; i < kNW; ++i) {
      const bool cov_was_full = rows_full(i, before);
      if (pushed_values[i] != 0 && (cov_was_full ? due[i] != 0 : rows_full(i, after))) {
        anchor_cov(i);
      }
    }
    alignas(64) std::array<Lanes, kPairs> cov;
    covariances(s, cov);
    alignas(64) Lanes autocorr;
    if (diag()) lag1_step(s, f, old[3], before, after, autocorr);

    for (size_t i = 0; i < kNW; ++i) {
      double* o = out + i * columns_per_window;
      if (!values_full(i, after)) {
        for (size_t k = 0; k < columns_per_window; ++k) o[k] = kNull;
        continue;
      }
      for (size_t k = 0; k < f.size(); ++k) o[k] = f[k][i];
      const bool cov_ready = rows_full(i, after);
      for (size_t p = 0; p < kPairs; ++p) o[f.size() + p] = cov_ready ? cov[p][i] : kNull;
    }
    if (diag()) diag_step(out, autocorr);
  }

  // regdiag's columns of this domain (see enable_diag) from the reg columns just written
  // to out, as regdiag's update computes them; autocorr: the resid_autocorr lanes.
  __attribute__((always_inline)) inline void diag_step(double* out, const Lanes& autocorr) {
    namespace rd = regdiag_columns;
    static_assert(kColumnsPerWindow == static_cast<int>(rd::kRegColumnsPerWindow));
    DiagState& d = diag_state();
    const rd::Inputs in = rd::read_inputs(out, 0, nullptr);
    R2Row r2row, r2std;
    for (size_t i = 0; i < kNW; ++i) r2row[i] = in.r2[i];
    d.r2[d.r2_head] = r2row;
    d.r2_head = static_cast<uint8_t>(d.r2_head + 1 == rd::kStdRows ? 0 : d.r2_head + 1);
    if (d.r2_size < rd::kStdRows) ++d.r2_size;
    if (d.r2_size == rd::kStdRows) {
      rd::sample_std10(RegRingView<R2Row>{d.r2.data(), rd::kStdRows, d.r2_head}, r2std);
    } else {
      r2std.fill(kNull);
    }
    alignas(64) Lanes std_lanes{};
    for (size_t i = 0; i < kNW; ++i) std_lanes[i] = r2std[i];
    rd::finish_domain(in, std_lanes, autocorr, true, d.history, d.slope_head, d.slope_size, out + diag_column_);
  }

  // old[k] lane i = rows[i][k] (lanes 6, 7 = 0), in registers: the 6 x 4 transpose as
  // shuffles of 8-wide vectors (element moves only, no arithmetic).
  typedef double Quad __attribute__((vector_size(sizeof(TermRow))));
  typedef double Oct __attribute__((vector_size(sizeof(Lanes))));
  __attribute__((always_inline)) static inline void transpose_rows(const std::array<Quad, kNW>& rows,
                                                                   std::array<Lanes, kSeries>& old) {
    const Oct zero = {};
    const Oct r01 = __builtin_shufflevector(rows[0], rows[1], 0, 1, 2, 3, 4, 5, 6, 7);
    const Oct r23 = __builtin_shufflevector(rows[2], rows[3], 0, 1, 2, 3, 4, 5, 6, 7);
    const Oct r45 = __builtin_shufflevector(rows[4], rows[5], 0, 1, 2, 3, 4, 5, 6, 7);
    // Series k: lanes 0..3 from r01 / r23, then lanes 4, 5 from r45, then the zeros.
#define BQX_REG_SERIES(k)                                                                                      \
  __builtin_shufflevector(                                                                                     \
      __builtin_shufflevector(__builtin_shufflevector(r01, r23, k, 4 + k, 8 + k, 12 + k, 0, 0, 0, 0), r45, 0, \
                              1, 2, 3, 8 + k, 12 + k, 0, 0),                                                  \
      zero, 0, 1, 2, 3, 4, 5, 8, 8)
    const Oct k0 = BQX_REG_SERIES(0), k1 = BQX_REG_SERIES(1), k2 = BQX_REG_SERIES(2), k3 = BQX_REG_SERIES(3);
#undef BQX_REG_SERIES
    __builtin_memcpy(old[0].data(), &k0, sizeof k0);
    __builtin_memcpy(old[1].data(), &k1, sizeof k1);
    __builtin_memcpy(old[2].data(), &k2, sizeof k2);
    __builtin_memcpy(old[3].data(), &k3, sizeof k3);
  }

  // Output order of the fit columns (QuadColumns).
  enum Fit { kQuad, kLin, kConst, kPred, kResid, kR2, kRmse, kSlope, kVertex };

  // RollingQuadraticFit::push after the eviction, per lane; due = re-anchor now.
  __attribute__((always_inline)) static inline void slide_fit(LaneState& s, double y, const Lanes& evicted,
                                                              Lanes& due) {
    for (size_t l = 0; l < kLanes; ++l) {
      const double ad = evicted[l] - s.ref[l], nd = y - s.ref[l];
      const double k0 = s.u0[l] - ad;
      const double k1 = s.u1[l] + kWin.c[l] * ad;
      const double k2 = s.v2[l] - kWin.wc[l] * ad;
      const double kq = s.q[l] - ad * ad;
      const double u0 = k0 + nd;
      s.u0[l] = u0;
      s.u1[l] = (k1 - 2.0 * k0) + kWin.c[l] * nd;
      s.v2[l] = ((k2 - 12.0 * k1) + 12.0 * k0) + kWin.wc[l] * nd;
      const double q = kq + nd * nd;
      s.q[l] = q;
      const double peak = s.peak[l] < q ? q : s.peak[l];  // std::max(peak, q)
      s.peak[l] = peak;
      s.since[l] += 1.0;
      s.ysum[l] += y;
      const bool collapsed = dispersion_collapsed_lane(peak, q - u0 * (u0 * kWin.inv_w[l]), kWin.w[l], s.ref[l]);
      due[l] = ((s.since[l] >= kWin.w[l]) | collapsed) ? 1.0 : 0.0;
    }
  }

  // RollingQuadraticFit::evaluate per lane (y_t = y); the flat-window case is a blend.
  __attribute__((always_inline)) inline void evaluate(const LaneState& s, double y, std::array<Lanes, 9>& f) const {
    const double run = static_cast<double>(run_);
    for (size_t l = 0; l < kLanes; ++l) {
      const double c = kWin.c[l];
      const double b0 = s.u0[l] * kWin.inv_w[l], b1 = s.u1[l] * kWin.inv_nv[l], b2 = s.v2[l] * kWin.inv_nw[l];
      const double floor = kWin.noise[l] * s.q[l];
      const double sstot = s.q[l] - s.u0[l] * b0;
      const double explained = s.u1[l] * b1 + s.v2[l] * b2;
      const double ssres_raw = sstot - explained;
      const bool sstot_zero = !(sstot > floor);
      const double ssres = !(ssres_raw > floor) ? 0.0 : ssres_raw;
      const double ratio = explained / sstot;
      const double r2_clamped = ratio < 0.0 ? 0.0 : (1.0 < ratio ? 1.0 : ratio);  // std::clamp(ratio, 0, 1)
      double r2 = sstot_zero ? kNull : (ssres == 0 ? 1.0 : r2_clamped);
      double rmse = std::sqrt(ssres * kWin.inv_w[l]);
      const double sstot_pos = sstot < 0.0 ? 0.0 : sstot;  // std::max(sstot, 0.0)
      const double zero = kRegZeroRel * (std::fabs(y) + std::sqrt(sstot_pos * kWin.inv_w[l]));
      double quad = 12.0 * c * c * b2;
      double lin = c * (2.0 * b1 - 12.0 * c * b2);
      double slope = 2.0 * b1 + 12.0 * c * b2;
      quad = std::fabs(quad) <= zero ? 0.0 : quad;
      lin = std::fabs(lin) <= zero ? 0.0 : lin;
      slope = std::fabs(slope) * c <= zero ? 0.0 : slope;
      double constant = s.ref[l] + ((b0 - c * b1) + kWin.wc[l] * b2);
      const double v = -b1 / (12.0 * b2) - 0.5 * c;
      const double lim = kWin.lim[l];
      double vertex = quad == 0 ? kNull : (v < -lim ? -lim : (lim < v ? lim : v));  // std::clamp(v, -lim, lim)
      if (run >= kWin.w[l]) {  // exactly flat window
        quad = 0;
        lin = 0;
        constant = y;
        r2 = kNull;
        rmse = 0;
        slope = 0;
        vertex = kNull;
      }
      const double prediction = (quad + lin) + constant;
      f[kQuad][l] = quad;
      f[kLin][l] = lin;
      f[kConst][l] = constant;
      f[kPred][l] = prediction;
      f[kResid][l] = y - prediction;
      f[kR2][l] = r2;
      f[kRmse][l] = rmse;
      f[kSlope][l] = slope;
      f[kVertex][l] = vertex;
    }
  }

  // RollingCoMoments<4>::push after the eviction, per lane; due = re-anchor now. The
  // series and pairs are compile-time indices (one function call each, inlined) so that
  // every lane loop is vectorised on its own.
  __attribute__((always_inline)) static inline void slide_cov(LaneState& s, const std::array<Lanes, 9>& f,
                                                              const std::array<Lanes, kSeries>& old,
                                                              Lanes& due) {
    alignas(64) std::array<Lanes, kSeries> dn, dold;
    slide_series<0>(s, f[kQuad], old, dn, dold);
    slide_series<1>(s, f[kLin], old, dn, dold);
    slide_series<2>(s, f[kConst], old, dn, dold);
    slide_series<3>(s, f[kResid], old, dn, dold);
    slide_pair<0>(s, dn, dold);
    slide_pair<1>(s, dn, dold);
    slide_pair<2>(s, dn, dold);
    slide_pair<3>(s, dn, dold);
    slide_pair<4>(s, dn, dold);
    slide_pair<5>(s, dn, dold);
    // One flag array per series, each written whole and combined at the end: a flag
    // array updated in place compiled to masked stores, and the next series' load of it
    // waited for them (masked stores do not forward to loads).
    alignas(64) std::array<Lanes, kSeries> series_flags;
    series_collapsed<0>(s, series_flags[0]);
    series_collapsed<1>(s, series_flags[1]);
    series_collapsed<2>(s, series_flags[2]);
    series_collapsed<3>(s, series_flags[3]);
    // csince through a whole-array temporary too (in place, this loop was scalar code).
    alignas(64) Lanes since;
    for (size_t l = 0; l < kLanes; ++l) {
      since[l] = s.csince[l] + 1.0;
      const bool any_collapsed = (series_flags[0][l] != 0) | (series_flags[1][l] != 0) | (series_flags[2][l] != 0) |
                                 (series_flags[3][l] != 0);
      due[l] = (since[l] >= kWin.w[l]) | any_collapsed ? 1.0 : 0.0;
    }
    s.csince = since;
  }
  template <size_t k>
  __attribute__((always_inline)) static inline void slide_series(LaneState& s, const Lanes& x,
                                                                 const std::array<Lanes, kSeries>& old,
                                                                 std::array<Lanes, kSeries>& dn,
                                                                 std::array<Lanes, kSeries>& dold) {
    for (size_t l = 0; l < kLanes; ++l) {
      dn[k][l] = x[l] - s.cref[k][l];
      dold[k][l] = old[k][l] - s.cref[k][l];
      s.cs[k][l] += dn[k][l] - dold[k][l];
      s.csq[k][l] += dn[k][l] * dn[k][l] - dold[k][l] * dold[k][l];
      s.csum[k][l] += x[l];
    }
  }
  template <size_t p>
  __attribute__((always_inline)) static inline void slide_pair(LaneState& s, const std::array<Lanes, kSeries>& dn,
                                                               const std::array<Lanes, kSeries>& dold) {
    constexpr size_t i = kPairFirst[p], j = kPairSecond[p];
    for (size_t l = 0; l < kLanes; ++l) s.csxy[p][l] += dn[i][l] * dn[j][l] - dold[i][l] * dold[j][l];
  }
  // flags[l] = 1 where series k of window l collapsed (dispersion_collapsed), else 0.
  // The peaks go to a whole-array temporary, then to the state: updated in place, GCC
  // compiled this loop to scalar code (32 lanes a bar one at a time).
  template <size_t k>
  __attribute__((always_inline)) static inline void series_collapsed(LaneState& s, Lanes& flags) {
    alignas(64) Lanes peaks;
    for (size_t l = 0; l < kLanes; ++l) {
      const double sq = s.csq[k][l], sum = s.cs[k][l];
      const double peak = s.cpeak[k][l] < sq ? sq : s.cpeak[k][l];  // std::max(peak, sq)
      peaks[l] = peak;
      flags[l] = dispersion_collapsed_lane(peak, sq - sum * (sum * kWin.inv_w[l]), kWin.w[l], s.cref[k][l]) ? 1.0 : 0.0;
    }
    s.cpeak[k] = peaks;
  }

  // RollingCoMoments<4>::covariances per lane.
  __attribute__((always_inline)) static inline void covariances(const LaneState& s, std::array<Lanes, kPairs>& out) {
    covariance<0>(s, out);
    covariance<1>(s, out);
    covariance<2>(s, out);
    covariance<3>(s, out);
    covariance<4>(s, out);
    covariance<5>(s, out);
  }
  template <size_t p>
  __attribute__((always_inline)) static inline void covariance(const LaneState& s, std::array<Lanes, kPairs>& out) {
    constexpr size_t i = kPairFirst[p], j = kPairSecond[p];
    for (size_t l = 0; l < kLanes; ++l) {
      const double m = s.csxy[p][l] - s.cs[i][l] * (s.cs[j][l] * kWin.inv_w[l]);
      out[p][l] = m * m <= kWin.noise2[l] * (s.csq[i][l] * s.csq[j][l]) ? 0.0 : m * kWin.inv_n1[l];
    }
  }

  // regdiag's Lag1Lanes::push then ::value on this bar's residuals (see enable_diag): the
  // same lane arithmetic, with the ring values read from the term-row rings (the row
  // just pushed is the newest; `evicted` holds the evicted rows' residuals, 0 where the
  // ring was not full).
  __attribute__((always_inline)) inline void lag1_step(LaneState& s, const std::array<Lanes, 9>& f,
                                                       const Lanes& evicted, uint32_t before, uint32_t after,
                                                       Lanes& autocorr) {
    // After the push the slot at the head is the oldest residual (the second oldest before
    // the push when the ring was full).
    std::array<double, kNW> head_values{}, taken_values{}, was_full_values{}, ready_values{};
    for (size_t i = 0; i < kNW; ++i) {
      taken_values[i] = values_full(i, after) ? 1.0 : 0.0;
      was_full_values[i] = rows_full(i, before) ? 1.0 : 0.0;
      ready_values[i] = rows_full(i, after) ? 1.0 : 0.0;
      if (rows_full(i, after)) head_values[i] = rows_of(i)[row_head_[i]][kSeries - 1];
    }
    alignas(64) Lanes head_raw, taken, was_full, ready, due;
    set_reg_lanes(head_raw, head_values);
    set_reg_lanes(taken, taken_values);
    set_reg_lanes(was_full, was_full_values);
    set_reg_lanes(ready, ready_values);
    const Lanes& e = f[kResid];
    // The ring's second oldest and newest residuals before the push (0 while it filled),
    // and the level (as regdiag's). head_raw, 0 until the ring is full, is the oldest after
    // the push.
    alignas(64) Lanes second, newest, level, new_prev;
    for (size_t l = 0; l < kLanes; ++l) {
      const bool full = was_full[l] != 0;
      second[l] = full ? head_raw[l] : 0.0;
      newest[l] = full ? s.lprev[l] : 0.0;
      level[l] = std::fabs(f[kPred][l]) + f[kRmse][l];
      new_prev[l] = taken[l] != 0 ? e[l] : s.lprev[l];
    }
    const Lag1WindowLanes win{kWin.w, kWin.c, kWin.inv_n1, kWin.noise};
    lag1_lanes_push(s.lag1, evicted, second, newest, e, taken, win, due);
    s.lprev = new_prev;
    for (size_t i = 0; i < kNW; ++i) {
      if (taken_values[i] != 0 && (was_full_values[i] != 0 ? due[i] != 0 : ready_values[i] != 0)) anchor_lag1(i);
    }
    // Lag1Lanes::value: NULL until the ring is full.
    lag1_lanes_value(s.lag1, head_raw, e, level, ready, win, autocorr);
  }

  // regdiag's Lag1Lanes::anchor for window i (the ring is full): the residuals are the
  // term rows' last series.
  __attribute__((noinline, target_clones("avx2", "default"))) void anchor_lag1(size_t i) {
    const RegRingView<TermRow> rows{rows_of(i), static_cast<size_t>(kWindows[i]), row_head_[i]};
    lag1_lanes_anchor(lanes().lag1, i, rows, [](const TermRow& r) { return r[kSeries - 1]; }, kWin.w[i]);
  }

  // RollingQuadraticFit::anchor for window i (rare: every W bars or on a collapse; the
  // ring is full).
  // VEX-encoded (the avx2 clone; scalar IEEE operations as in the default one): called from
  // the AVX-512 step with the upper register halves dirty, the legacy-SSE encoding ran at
  // ~40 cycles per value (a third of the step), the VEX one at a few.
  __attribute__((noinline, target_clones("avx2", "default"))) void anchor_fit(size_t i) {
    LaneState& s = lanes();
    const RegRingView<double> values{values_of(i), static_cast<size_t>(kWindows[i]), value_head_[i]};
    values.prefetch_all();
    double sum = 0;
    if (s.since[i] == kWin.w[i]) {
      sum = s.ysum[i];  // the ring's values, summed oldest first (see LaneState)
    } else {
      values.for_each([&](double y) { sum += y; });
    }
    s.since[i] = 0;
    s.ysum[i] = 0;
    const double ref = sum / static_cast<double>(values.size());
    double u0 = 0, u1 = 0, v2 = 0, q = 0;
    const double wm = kWin.w[i] * kWin.w[i] - 1.0;
    double v = -kWin.c[i];  // v_k = 2k - C, exact integers
    values.for_each([&](double y) {
      const double d = y - ref;
      const double w = 3.0 * v * v - wm;
      u0 += d;
      u1 += v * d;
      v2 += w * d;
      q += d * d;
      v += 2.0;
    });
    s.ref[i] = ref;
    s.u0[i] = u0;
    s.u1[i] = u1;
    s.v2[i] = v2;
    s.q[i] = q;
    s.peak[i] = q;
  }

  // RollingCoMoments<4>::anchor for window i (the ring is full); local accumulators, same
  // order.
  __attribute__((noinline, target_clones("avx2", "default"))) void anchor_cov(size_t i) {
    LaneState& s = lanes();
    const RegRingView<TermRow> rows{rows_of(i), static_cast<size_t>(kWindows[i]), row_head_[i]};
    rows.prefetch_all();
    // Both passes in 4-wide vectors, one accumulator per lane with the scalar loop's
    // operations in the same order (bit-identical): lanes = the 4 series, and the 6
    // pairs as {(0,1), (0,2), (0,3), (1,2)} and {(1,3), (2,3), unused, unused}. (GCC's own
    // vectorisation of the scalar loop stalled on store forwarding.)
    Quad sum4 = {};
    if (s.csince[i] == kWin.w[i]) {
      sum4 = Quad{s.csum[0][i], s.csum[1][i], s.csum[2][i], s.csum[3][i]};  // see LaneState
    } else {
      rows.for_each([&](const TermRow& r) {
        Quad x;
        __builtin_memcpy(&x, r.data(), sizeof x);
        sum4 += x;
      });
    }
    s.csince[i] = 0;
    for (size_t k = 0; k < kSeries; ++k) s.csum[k][i] = 0;
    TermRow ref;
    for (size_t k = 0; k < kSeries; ++k) ref[k] = sum4[k] / static_cast<double>(rows.size());
    Quad ref4, s4 = {}, sq4 = {}, sxy_a = {}, sxy_b = {};
    __builtin_memcpy(&ref4, ref.data(), sizeof ref4);
    rows.for_each([&](const TermRow& r) {
      Quad x;
      __builtin_memcpy(&x, r.data(), sizeof x);
      const Quad d = x - ref4;
      s4 += d;
      sq4 += d * d;
      sxy_a += __builtin_shufflevector(d, d, 0, 0, 0, 1) * __builtin_shufflevector(d, d, 1, 2, 3, 2);
      sxy_b += __builtin_shufflevector(d, d, 1, 2, 1, 2) * __builtin_shufflevector(d, d, 3, 3, 3, 3);
    });
    for (size_t k = 0; k < kSeries; ++k) {
      s.cref[k][i] = ref[k];
      s.cs[k][i] = s4[k];
      s.csq[k][i] = sq4[k];
      s.cpeak[k][i] = sq4[k];
    }
    for (size_t p = 0; p < 4; ++p) s.csxy[p][i] = sxy_a[p];
    s.csxy[4][i] = sxy_b[0];
    s.csxy[5][i] = sxy_b[1];
  }

  // The hot header (48 bytes; see the class comment).
  RegStateBlock block_;
  std::array<uint16_t, kNW> value_head_{}, row_head_{};
  uint16_t pushed_ = 0;  // non-NULL bars so far, saturating at kAllFull
  uint16_t run_ = 0;     // run length of equal values (saturating; compared with W only)
  // Where the domain's first regdiag column is, relative to out; -1: regdiag's columns
  // are not computed here (see enable_diag).
  int32_t diag_column_ = -1;
  double prev_y_ = kNull;
};

// alignas(64): the vtable pointer, the lanes' header and the fields update() reads share
// one cache line (64 bytes), fetched by the engine one family ahead.
class alignas(64) RegKernel final : public FamilyKernel {
 public:
  // input < 0: rate domain (y = bar.xc); otherwise y = row[input].
  RegKernel(const KernelContext& ctx, int input) : offset_(ctx.offset), input_(input) {
    // regdiag's columns of this domain, when the row has all of them at their places
    // (see RegWindowLanes::enable_diag).
    namespace rd = regdiag_columns;
    const std::string prefix = std::string("regdiag_") + (input < 0 ? "rate" : "bqx") + "_";
    const auto at = [&](const std::string& name) { return ctx.layout == nullptr ? -1 : ctx.layout->index_of(prefix + name); };
    const int first = at("w" + std::to_string(kWindows[0]) + "_" + rd::kPerWindowNames[0]);
    bool found = first > ctx.offset;
    for (size_t i = 0; i < kWindows.size(); ++i) {
      for (int k = 0; k < rd::kPerWindow; ++k) {
        found = found && at("w" + std::to_string(kWindows[i]) + "_" + rd::kPerWindowNames[static_cast<size_t>(k)]) ==
                             first + static_cast<int>(i) * rd::kPerWindow + k;
      }
    }
    for (int k = 0; k < rd::kCross; ++k) {
      found = found && at(rd::kCrossNames[static_cast<size_t>(k)]) == first + static_cast<int>(kWindows.size()) * rd::kPerWindow + k;
    }
    if (found) windows_.enable_diag(first - ctx.offset);
  }

  void update(const BarInput& bar, double* row) override {
    const double y = input_ < 0 ? bar.xc : row[input_];
    double* out = row + offset_;
    if (is_null(y)) {  // only before the first non-NULL q: the kernel waits for it
      for (size_t k = 0; k < kWindows.size() * kColumnsPerWindow; ++k) out[k] = kNull;
      if (windows_.diag()) windows_.null_diag(out);
      return;
    }
    windows_.step(y, out, kColumnsPerWindow);
  }

  void prefetch() const override { windows_.prefetch(); }
  void save(StateWriter& out) const override { windows_.save(out); }
  void load(StateReader& in) override { windows_.load(in); }

 private:
  RegWindowLanes windows_;
  int offset_;
  int input_;
};
static_assert(sizeof(RegKernel) == 64, "one cache line: see RegWindowLanes");

FamilyDef make_reg_family(const std::string& domain) {
  const bool bqx = domain == "bqx";
  const std::string fam = "reg_" + domain;
  const int lag = bqx ? kBqxLag : 0;
  const std::string y = bqx ? "q (= bqx_w15_return)" : "x (rate index)";
  const std::string yu = bqx ? "q units (fraction)" : "index points";
  const std::string src = "FEATURES.md 1.2";
  const std::string fit = "least-squares fit y_k ~ a2*k^2 + a1*k + a0 of y = " + y +
                          " over the W rows ending at t inclusive, k = 0..W-1 (k = W-1 is bar t)";
  const std::string zero_note =
      "; reported as exactly 0 when |value| <= 1e-12*(|y_t| + population sd of the window) "
      "(scale-aware zero, below the rounding floor of the O(1) sums)";
  const std::string skip = bqx ? "; the bqx-domain kernel starts at the first non-NULL q" : "";
  FamilyDef def;
  def.name = fam;
  if (bqx) def.inputs = {"bqx_w15_return"};
  for (int w : kWindows) {
    const std::string p = fam + "_w" + std::to_string(w) + "_";
    const std::string par = "W=" + std::to_string(w);
    const int lb = w - 1 + lag;
    const int lbc = 2 * w - 2 + lag;
    auto add = [&](const std::string& suffix, const std::string& formula, const std::string& unit, int lookback,
                   const std::string& null_when) {
      def.columns.push_back({p + suffix, fam, par, formula + skip, unit, lookback, src, null_when});
    };
    add("quadratic_term", "a2*(W-1)^2 of the " + fit + zero_note, yu, lb, "");
    add("linear_term", "a1*(W-1) of the " + fit + zero_note, yu, lb, "");
    add("constant_term", "a0 of the " + fit + " (fitted value at the oldest row); flat window: y_t", yu, lb, "");
    add("prediction", "quadratic_term + linear_term + constant_term, summed in that order as doubles "
                      "(the fit at bar t; identity holds exactly)", yu, lb, "");
    add("residual", "y_t - prediction", yu, lb, "");
    add("r2", "1 - SSres/SStot of the " + fit + ", computed as explained/SStot and clamped into [0,1]; "
              "1 when SSres is below its rounding floor 16*W*eps*sum((y-ref)^2)", "fraction (0..1)", lb,
        "SStot = 0: window exactly flat, or SStot <= 16*W*eps*sum((y-ref)^2) (ref = window mean at the last "
        "re-anchoring)");
    add("rmse", "sqrt(SSres/W); SSres below its rounding floor 16*W*eps*sum((y-ref)^2) is reported as 0", yu, lb, "");
    add("slope_now", "2*a2*(W-1) + a1 (slope of the fit at bar t, per bar); reported as exactly 0 when "
                     "|slope|*(W-1) <= 1e-12*(|y_t| + population sd of the window) (scale-aware zero)",
        yu + " per bar", lb, "");
    add("vertex_offset", "-a1/(2*a2) - (W-1) (bars from bar t to the vertex of the parabola), clipped to [-10W, 10W]",
        "bars", lb, "a2 = 0, i.e. quadratic_term reported as 0 (scale-aware; includes a flat window)");
    const std::array<std::pair<const char*, const char*>, 6> pairs = {{{"quad", "lin"},
                                                                      {"quad", "const"},
                                                                      {"quad", "resid"},
                                                                      {"lin", "const"},
                                                                      {"lin", "resid"},
                                                                      {"const", "resid"}}};
    const std::string cu = bqx ? "q units^2" : "index points^2";
    for (const auto& [a, b] : pairs) {
      add(std::string("cov_") + a + "_" + b,
          std::string("sample covariance (ddof 1) of the ") + a + " and " + b +
              " series over the last W rows (quad = quadratic_term, lin = linear_term, const = constant_term, "
              "resid = residual), from shifted co-moments re-anchored exactly every W rows; a co-moment at or "
              "below its rounding floor 16*W*eps*sqrt(Qa*Qb) (Q = shifted sum of squares) is reported as exactly "
              "0; NULL until W term rows exist",
          cu, lbc, "");
    }
  }
  def.make = [bqx](const KernelContext& ctx) -> std::unique_ptr<FamilyKernel> {
    return std::make_unique<RegKernel>(ctx, bqx ? ctx.layout->index_of("bqx_w15_return") : -1);
  };
  return def;
}

}  // namespace

FamilyDef make_reg_rate_family() { return make_reg_family("rate"); }
FamilyDef make_reg_bqx_family() { return make_reg_family("bqx"); }

}  // namespace bqx::features
