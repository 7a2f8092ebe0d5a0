// regdiag: diagnostics of the rolling quadratic regressions (FEATURES.md 1.3), both
// domains. Reads the reg_rate / reg_bqx columns of the same row (FamilyDef::inputs).
// In an engine's row (reg's columns at reg's own offsets, reg_layout_) the reg kernels
// compute all of regdiag's columns themselves (reg.cpp, RegWindowLanes::enable_diag: they
// already hold every window's last W residuals, and their columns are in L1 right after
// they wrote them), with the functions this kernel uses (reg_quadratic.h), and this
// kernel does nothing; in any other layout (e.g. a test's) it computes them here.
// Column order: rate domain (6 windows x 5 per-window columns in window order, then the
// 10 cross-window columns), then the same for the bqx domain.
#include <array>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstddef>
#include <new>
#include <string>

#include "features/families.h"
#include "features/reg_quadratic.h"

namespace bqx::features {
namespace {

constexpr std::array<int, 6> kWindows = {60, 90, 150, 240, 390, 630};
using namespace regdiag_columns;  // the per-domain columns, shared with reg (reg_quadratic.h)
static_assert(kWindows.size() == kNW);

// The reg columns each window needs, in this order.
constexpr std::array<const char*, 8> kInputs = {"quadratic_term", "linear_term", "prediction", "residual",
                                                "r2", "rmse", "slope_now", "vertex_offset"};

std::string reg_column(const std::string& domain, int w, const char* name) {
  return "reg_" + domain + "_w" + std::to_string(w) + "_" + name;
}


// The r2 of both domains' 6 windows: rate in lanes 0..5, bqx in lanes 6..11. One ring for
// both, so that the two domains' sums are independent vector chains in the same loop, and
// packed (10 rows of 96 bytes) because std10 reads the whole ring every bar.
using R2Row = std::array<double, 2 * kNW>;


// The windows' constants as lanes (lanes 6, 7 repeat window 0), one copy shared by every
// kernel: read-only, so it stays in cache while the kernels' own state is cold.
struct WindowConstants {
  alignas(64) RegLanes w, n, inv_n, noise;
};
WindowConstants make_window_constants() {
  WindowConstants k;
  for (size_t l = 0; l < kRegLanes; ++l) {
    const double W = kWindows[l < kNW ? l : 0];
    k.w[l] = W;
    k.n[l] = W - 1;
    k.inv_n[l] = 1.0 / k.n[l];
    k.noise[l] = 16.0 * W * DBL_EPSILON;
  }
  return k;
}
const WindowConstants kWin = make_window_constants();
const Lag1WindowLanes kLag1Windows{kWin.w, kWin.n, kWin.inv_n, kWin.noise};

// Where each window's residual ring starts in a domain's ring area, in values.
constexpr std::array<size_t, kNW + 1> kRingStart = [] {
  std::array<size_t, kNW + 1> start{};
  for (size_t i = 0; i < kNW; ++i) start[i + 1] = start[i] + static_cast<size_t>(kWindows[i]);
  return start;
}();

// The lag-1 autocorrelation sums of one domain's 6 windows (lanes; reg_quadratic.h).
using Lag1State = Lag1LaneSums;

// A domain's residual rings: values in the kernel's state block, heads and fill flags in
// the kernel object's first line (so that prefetch() finds every slot without a load). A
// ring fills from slot 0, so while it is not full its size is its head.
struct Lag1Rings {
  double* data;                  // window i's ring at data + kRingStart[i]
  std::array<uint16_t, kNW>* head;
  uint8_t* full;                 // bit i: window i's ring is full

  double* ring(size_t i) const { return data + kRingStart[i]; }
  bool is_full(size_t i) const { return (*full >> i) & 1u; }
  size_t capacity(size_t i) const { return static_cast<size_t>(kWindows[i]); }
  // RegRing::front(k) of a full ring.
  double front(size_t i, size_t k) const {
    size_t j = (*head)[i] + k;
    if (j >= capacity(i)) j -= capacity(i);
    return ring(i)[j];
  }
  double back(size_t i) const { return ring(i)[(*head)[i] == 0 ? capacity(i) - 1 : (*head)[i] - 1u]; }
  void push(size_t i, double v) const {
    uint16_t& h = (*head)[i];
    ring(i)[h] = v;
    if (++h == capacity(i)) {
      h = 0;
      *full = static_cast<uint8_t>(*full | (1u << i));
    }
  }
  RegRingView<double> view(size_t i) const { return {ring(i), capacity(i), (*head)[i]}; }
};

// The lag-1 autocorrelations of the 6 windows' residuals side by side (SIMD lanes,
// structure-of-arrays): per lane exactly RollingLag1Autocorr::push / value
// (reg_quadratic.h), the same IEEE operations in the same order. Lanes whose residual is
// NULL on a bar keep their state (a select); lanes still filling run the arithmetic on
// state that the anchoring at the fill recomputes entirely.
class Lag1Lanes {
 public:
  using Lanes = RegLanes;
  static constexpr size_t kLanes = kRegLanes;

  Lag1Lanes(Lag1State& state, const Lag1Rings& rings) : st_(state), rings_(rings) {}

  // What value() needs from push(): the oldest value after the push, and where the
  // autocorrelation is defined (pushed and full).
  struct Pushed {
    alignas(64) Lanes first_raw, ready;
  };

  // Pushes e[i] into window i where e[i] is not NULL (value() then gives the
  // autocorrelations; split so that both domains' pushes, then both domains' values,
  // run side by side).
  __attribute__((always_inline)) inline Pushed push(const Lanes& e) {
    std::array<double, kNW> oldest{}, second{}, newest{}, pushed_values{};
    std::array<bool, kNW> was_full;
    for (size_t i = 0; i < kNW; ++i) {
      was_full[i] = rings_.is_full(i);
      if (is_null(e[i])) continue;
      pushed_values[i] = 1.0;
      if (was_full[i]) {
        oldest[i] = rings_.front(i, 0);
        second[i] = rings_.front(i, 1);
        newest[i] = rings_.back(i);
      }
      rings_.push(i, e[i]);
    }
    alignas(64) Lanes a_raw, a1_raw, last_raw, pushed, due;
    set_reg_lanes(a_raw, oldest);
    set_reg_lanes(a1_raw, second);
    set_reg_lanes(last_raw, newest);
    set_reg_lanes(pushed, pushed_values);
    lag1_lanes_push(st_, a_raw, a1_raw, last_raw, e, pushed, kLag1Windows, due);
    std::array<double, kNW> first_values{};
    for (size_t i = 0; i < kNW; ++i) {
      if (pushed_values[i] != 0 && (was_full[i] ? due[i] != 0 : rings_.is_full(i))) {
        anchor(i);
      }
      if (rings_.is_full(i)) first_values[i] = rings_.front(i, 0);
    }
    Pushed out;
    set_reg_lanes(out.first_raw, first_values);
    std::array<double, kNW> ready_values{};
    for (size_t i = 0; i < kNW; ++i) ready_values[i] = pushed_values[i] != 0 && rings_.is_full(i) ? 1.0 : 0.0;
    set_reg_lanes(out.ready, ready_values);
    return out;
  }

  // RollingLag1Autocorr::value per lane after push(e): NULL while filling or where e[i]
  // is NULL; level as in RollingLag1Autocorr::value.
  __attribute__((always_inline)) inline void value(const Lanes& e, const Lanes& level, const Pushed& pushed,
                                                   Lanes& value) const {
    lag1_lanes_value(st_, pushed.first_raw, e, level, pushed.ready, kLag1Windows, value);
  }

 private:
  // RollingLag1Autocorr::anchor for window i (the ring is full).
  // VEX-encoded (the avx2 clone, as reg's anchor_fit): from the AVX-512 update with the
  // upper register halves dirty, legacy-SSE code was several times slower.
  __attribute__((noinline, target_clones("avx2", "default"))) void anchor(size_t i) {
    lag1_lanes_anchor(st_, i, rings_.view(i), [](double e) { return e; }, kWin.w[i]);
  }

  Lag1State& st_;
  Lag1Rings rings_;
};


// The kernel. Memory: the state of 28 pairs exceeds the caches, so a bar is paid in cache
// lines. All state lives in one block (RegStateBlock: huge pages); this object holds only
// what a bar needs to find its lines (block pointer, ring heads and fill state, the
// domains' first reg columns), 64 bytes with the vtable pointer, fetched by the engine one
// family ahead, so prefetch() issues every line's fetch without waiting for a load.
class alignas(64) RegDiagKernel final : public FamilyKernel {
 public:
  // With reg's layout there is no state (reg computes every column).
  explicit RegDiagKernel(const KernelContext& ctx)
      : block_(has_reg_layout(*ctx.layout) ? 0 : kBlockBytes), offset_(ctx.offset) {
    reg_layout_ = has_reg_layout(*ctx.layout);
    if (reg_layout_) return;
    for (DomainHistory& h : state().history) h.prev_quad60 = kNull;  // the block starts zeroed
    InputIndex* index = state().input_index.data();
    for (size_t d = 0; d < 2; ++d) {
      const std::string domain = d == 0 ? "rate" : "bqx";
      const int base = ctx.layout->index_of(reg_column(domain, kWindows[0], kInputs[0]));
      for (size_t i = 0; i < kNW; ++i) {
        for (size_t k = 0; k < kNumInputs; ++k) {
          const int at = ctx.layout->index_of(reg_column(domain, kWindows[i], kInputs[k]));
          index[d][i][k] = at;
        }
      }
      reg_base_[d] = base;
    }
  }
  void update(const BarInput&, double* row) override {
    if (reg_layout_) return;  // reg computed the columns (see the file comment)
#if defined(__x86_64__)
    if (reg_cpu_has_avx512f()) return update_avx512(row);
#endif
    update_domains(row);
  }
  // The lines the next update touches: the r2 ring (std10 reads every row), the
  // histories, the lag-1 sums (the input index after them is not fetched) and per
  // residual ring the slots read (oldest, second oldest, newest) and written (the
  // oldest's).
  void prefetch() const override {
    if (reg_layout_) return;
    prefetch_write(block_.data(), offsetof(State, input_index));
    for (size_t d = 0; d < 2; ++d) {
      const double* data = ring_data(d);
      for (size_t i = 0; i < kNW; ++i) {
        const size_t w = static_cast<size_t>(kWindows[i]), h = lag1_head_[d][i];
        const double* ring = data + kRingStart[i];
        // Size 1: one prefetch instruction per value (a value never straddles two lines).
        prefetch_write(&ring[h], 1);
        prefetch_read(&ring[h + 1 == w ? 0 : h + 1], 1);
        prefetch_read(&ring[h == 0 ? w - 1 : h - 1], 1);
        // The periodic re-anchoring (at the fill, then every W pushes, when the head wraps
        // to 0) reads the whole ring: fetch it a pair ahead (a collapse anchoring shifts
        // the phase; its own prefetch still covers it).
        if (h == w - 1) prefetch_read(ring, w * sizeof(double));
      }
    }
  }
  // The snapshot layout of the former per-domain objects and RegRing rings (unchanged);
  // nothing with reg's layout (the reg kernels save regdiag's state then).
  void save(StateWriter& out) const override {
    if (reg_layout_) return;
    const State& s = state();
    for (size_t d = 0; d < 2; ++d) {
      const Lag1Rings rings = lag1_rings(d);
      for (size_t i = 0; i < kNW; ++i) {
        const size_t w = static_cast<size_t>(kWindows[i]);
        put_ring(out, rings.ring(i), w, lag1_head_[d][i], rings.is_full(i) ? w : lag1_head_[d][i]);
        const Lag1State& l = s.lag1[d];
        for (const RegLanes* a : {&l.ref, &l.s, &l.q, &l.p, &l.peak, &l.since}) out.put((*a)[i]);
        out.put(0.0);  // former first-pass sum (see Lag1State)
      }
      put_ring(out, s.history[d].slope60.data(), s.history[d].slope60.size(), slope_head_[d], slope_size_[d]);
      out.put(s.history[d].prev_quad60);
    }
    put_ring(out, s.r2.data(), s.r2.size(), r2_head_, r2_size_);
  }
  void load(StateReader& in) override {
    if (reg_layout_) return;
    State& s = state();
    for (size_t d = 0; d < 2; ++d) {
      const Lag1Rings rings = lag1_rings(d);
      lag1_full_[d] = 0;
      for (size_t i = 0; i < kNW; ++i) {
        const size_t w = static_cast<size_t>(kWindows[i]);
        size_t head = 0;
        const size_t size = get_ring(in, rings.ring(i), w, head);
        lag1_head_[d][i] = static_cast<uint16_t>(head);
        if (size == w) lag1_full_[d] = static_cast<uint8_t>(lag1_full_[d] | (1u << i));
        Lag1State& l = s.lag1[d];
        for (RegLanes* a : {&l.ref, &l.s, &l.q, &l.p, &l.peak, &l.since}) in.get((*a)[i]);
        (void)in.get<double>();  // former first-pass sum
        l.pushed_sum[i] = sum_of_newest(rings, i, l.since[i], in);
      }
      size_t head = 0;
      slope_size_[d] = static_cast<uint8_t>(get_ring(in, s.history[d].slope60.data(), s.history[d].slope60.size(), head));
      slope_head_[d] = static_cast<uint8_t>(head);
      in.get(s.history[d].prev_quad60);
    }
    size_t head = 0;
    r2_size_ = static_cast<uint8_t>(get_ring(in, s.r2.data(), s.r2.size(), head));
    r2_head_ = static_cast<uint8_t>(head);
  }

 private:
  // The block: the lag-1 sums of both domains, the r2 ring, the histories, then the two
  // domains' residual rings.
  struct State {
    alignas(64) std::array<R2Row, kStdRows> r2;  // both domains' r2 of the last 10 rows
    alignas(64) std::array<DomainHistory, 2> history;
    std::array<Lag1State, 2> lag1;
    std::array<InputIndex, 2> input_index;  // not prefetched (small: stays in cache in a test)
  };
  static constexpr size_t kRingsOffset = (sizeof(State) + 63) / 64 * 64;
  static constexpr size_t kBlockBytes = kRingsOffset + 2 * kRingStart.back() * sizeof(double);

  // Lag1State::pushed_sum from a loaded ring: its newest `since` values summed in push
  // order (since = pushes since the last anchoring).
  static double sum_of_newest(const Lag1Rings& rings, size_t i, double since, StateReader& in) {
    const bool full = rings.is_full(i);
    const size_t size = full ? rings.capacity(i) : (*rings.head)[i];
    if (!(since >= 0 && since <= static_cast<double>(size))) {
      in.fail();
      return 0;
    }
    double sum = 0;
    for (size_t k = size - static_cast<size_t>(since); k < size; ++k) sum += full ? rings.front(i, k) : rings.ring(i)[k];
    return sum;
  }

  // Every input at reg's own offset from its domain's first reg column (as the
  // constructor's reg_layout_).
  static bool has_reg_layout(const ColumnLayout& layout) {
    for (const std::string domain : {"rate", "bqx"}) {
      const int base = layout.index_of(reg_column(domain, kWindows[0], kInputs[0]));
      for (size_t i = 0; i < kNW; ++i) {
        for (size_t k = 0; k < kNumInputs; ++k) {
          const int at = layout.index_of(reg_column(domain, kWindows[i], kInputs[k]));
          if (at != base + static_cast<int>(i * kRegColumnsPerWindow + kRegInputOffset[k])) return false;
        }
      }
    }
    return true;
  }

  State& state() const { return *std::launder(reinterpret_cast<State*>(block_.data())); }
  double* ring_data(size_t d) const {
    return reinterpret_cast<double*>(block_.data() + kRingsOffset) + d * kRingStart.back();
  }
  Lag1Rings lag1_rings(size_t d) const {
    return {ring_data(d), const_cast<std::array<uint16_t, kNW>*>(&lag1_head_[d]), const_cast<uint8_t*>(&lag1_full_[d])};
  }

  // The two domains are independent: their phases are interleaved so that the
  // latency-bound chains (sums, divisions, square roots) of one overlap with the other's.
  __attribute__((always_inline)) inline void update_domains(double* row) {
    State& s = state();
    const Inputs rate_in = read_inputs(row, reg_base_[0], &s.input_index[0]);
    const Inputs bqx_in = read_inputs(row, reg_base_[1], &s.input_index[1]);
    Lag1Lanes rate_lag1(s.lag1[0], lag1_rings(0)), bqx_lag1(s.lag1[1], lag1_rings(1));
    // The rings' pushes first: their loads are usually cache misses, which then overlap
    // with the r2 sums.
    const Lag1Lanes::Pushed rate_pushed = rate_lag1.push(rate_in.resid);
    const Lag1Lanes::Pushed bqx_pushed = bqx_lag1.push(bqx_in.resid);
    R2Row r2row, r2std;
    for (size_t i = 0; i < kNW; ++i) {
      r2row[i] = rate_in.r2[i];
      r2row[kNW + i] = bqx_in.r2[i];
    }
    s.r2[r2_head_] = r2row;
    r2_head_ = static_cast<uint8_t>(r2_head_ + 1 == kStdRows ? 0 : r2_head_ + 1);
    if (r2_size_ < kStdRows) ++r2_size_;
    if (r2_size_ == kStdRows) {
      sample_std10(RegRingView<R2Row>{s.r2.data(), kStdRows, r2_head_}, r2std);
    } else {
      r2std.fill(kNull);
    }
    alignas(64) RegLanes rate_std{}, bqx_std{}, rate_ac, bqx_ac;
    for (size_t i = 0; i < kNW; ++i) {
      rate_std[i] = r2std[i];
      bqx_std[i] = r2std[kNW + i];
    }
    rate_lag1.value(rate_in.resid, rate_in.level, rate_pushed, rate_ac);
    bqx_lag1.value(bqx_in.resid, bqx_in.level, bqx_pushed, bqx_ac);
    finish_domain(rate_in, rate_std, rate_ac, true, s.history[0], slope_head_[0], slope_size_[0], row + offset_);
    finish_domain(bqx_in, bqx_std, bqx_ac, true, s.history[1], slope_head_[1], slope_size_[1],
                  row + offset_ + kDomainColumns);
  }
#if defined(__x86_64__)
  // The same code compiled for AVX-512 (no FMA: only add/sub/mul/div/sqrt/compare/select).
  __attribute__((target("avx512f"))) void update_avx512(double* row) { update_domains(row); }
#endif

  // The hot header (with the vtable pointer: one cache line).
  RegStateBlock block_;
  int offset_;
  std::array<int, 2> reg_base_{};                     // first reg column of each domain
  std::array<std::array<uint16_t, kNW>, 2> lag1_head_{};  // residual ring heads
  std::array<uint8_t, 2> lag1_full_{};                // bit i: window i's residual ring is full
  std::array<uint8_t, 2> slope_head_{}, slope_size_{};
  uint8_t r2_head_ = 0, r2_size_ = 0;
  bool reg_layout_ = false;  // the inputs are at reg's own offsets: reg computes every column
};
static_assert(sizeof(RegDiagKernel) == 64, "one cache line: see the class comment");

}  // namespace

// FEATURES.md 1.3 lists the columns but not their order; the choice is recorded in every
// column's formula text.
constexpr const char* kOrderNote =
    " [column order: domain rate then bqx; per domain the 6 windows (60..630) x 5 per-window columns "
    "(pred_error_ratio, r2_rank, term_ratio, r2_std10, resid_autocorr), then the 10 cross-window columns]";

FamilyDef make_regdiag_family() {
  FamilyDef def;
  def.name = "regdiag";
  const std::string src = "FEATURES.md 1.3";
  for (const std::string d : {"rate", "bqx"}) {
    const int lag = d == "bqx" ? 15 : 0;
    const std::string reg = "reg_" + d + "_w";
    const std::string yu = d == "bqx" ? "q units (fraction)" : "index points";
    const std::string dom = "domain=" + d;
    const int lb630 = 629 + lag;
    auto add = [&](const std::string& name, const std::string& params, const std::string& formula,
                   const std::string& unit, int lookback, const std::string& null_when) {
      def.columns.push_back({"regdiag_" + d + "_" + name, "regdiag", params, formula + kOrderNote, unit, lookback, src,
                             null_when});
    };
    for (int w : kWindows) {
      const std::string ws = std::to_string(w);
      const std::string p = "w" + ws + "_";
      const std::string par = dom + ",W=" + ws;
      const std::string r = reg + ws + "_";
      add(p + "pred_error_ratio", par, "|" + r + "residual| / " + r + "rmse", "ratio", w - 1 + lag,
          r + "rmse = 0 (reg reports SSres below its rounding floor as exactly 0)");
      add(p + "r2_rank", par,
          "rank of " + r + "r2 among the 6 windows' r2 of the domain at bar t: 1 + number of windows with a "
          "strictly higher r2 (1 = highest; ties share the smaller rank number, i.e. competition ranking, "
          "scipy rankdata(-r2, method='min'))",
          "rank 1..6", lb630, "any of the 6 r2 of the domain is NULL at bar t");
      add(p + "term_ratio", par,
          r + "quadratic_term / (|" + r + "quadratic_term| + |" + r + "linear_term|)", "ratio (-1..1)", w - 1 + lag,
          "both terms are 0 (reg reports terms below 1e-12*(|y_t| + sd) as exactly 0, e.g. a flat window)");
      add(p + "r2_std10", par,
          "sample stdev (ddof 1) of " + r + "r2 over the last 10 rows (t-9..t), two-pass", "fraction", w + 8 + lag,
          "any of the 10 r2 values is NULL");
      add(p + "resid_autocorr", par,
          "lag-1 autocorrelation of " + r + "residual over the last W rows: Pearson correlation of the W-1 pairs "
          "(e_{i-1}, e_i) inside the window (numpy corrcoef(e[:-1], e[1:])[0,1], pandas Series.autocorr(1)), "
          "clamped into [-1,1]; O(1) shifted co-moments, re-anchored exactly every W rows (the residual is "
          "non-NULL on every row from its lookback on)",
          "correlation (-1..1)", 2 * w - 2 + lag,
          "either lagged residual series has variance <= 16*W*eps*sum((e-ref)^2) or stdev <= "
          "1e-12*(|prediction_t| + rmse_t) (scale-aware zero, e.g. an exact fit)");
    }
    const std::string r60 = reg + "60_", r630 = reg + "630_";
    add("quad_sign_agree", dom,
        "count of the other 5 windows (90..630) whose quadratic_term sign equals w60's (signs -1/0/+1; reg "
        "reports scale-aware zeros as exactly 0)",
        "count 0..5", lb630, "any of the 6 quadratic_term values is NULL");
    add("lin_sign_agree", dom,
        "count of the other 5 windows (90..630) whose linear_term sign equals w60's (signs -1/0/+1)", "count 0..5",
        lb630, "any of the 6 linear_term values is NULL");
    add("slope_dispersion", dom,
        "population stdev (ddof 0, numpy default) of the 6 slope_now values / mean of their absolute values",
        "ratio", lb630, "all 6 slope_now are 0 (scale-aware zero in reg) or any is NULL");
    add("curvature_flip", dom,
        "1 if sign(" + r60 + "quadratic_term) at t differs from its sign at t-1 (signs -1/0/+1), else 0", "flag 0/1",
        60 + lag, "either value is NULL");
    add("r2_spread_60_630", dom, r60 + "r2 - " + r630 + "r2", "fraction", lb630, "either r2 is NULL");
    add("r2_mean", dom, "mean of the 6 r2 of the domain (summed in window order)", "fraction", lb630,
        "any of the 6 r2 is NULL");
    add("rmse_ratio_60_630", dom, r60 + "rmse / " + r630 + "rmse", "ratio", lb630, r630 + "rmse = 0");
    add("pred_spread_60_630", dom, r60 + "prediction - " + r630 + "prediction", yu, lb630, "");
    add("slope_accel", dom, r60 + "slope_now(t) - " + r60 + "slope_now(t-5)", yu + " per bar", 64 + lag,
        "either value is NULL");
    add("vertex_near", dom, "1 if |" + r60 + "vertex_offset| <= 5 bars, else 0", "flag 0/1", 59 + lag,
        r60 + "vertex_offset is NULL (a2 = 0)");
  }
  for (const std::string d : {"rate", "bqx"}) {
    for (int w : kWindows) {
      for (const char* name : kInputs) def.inputs.push_back(reg_column(d, w, name));
    }
  }
  def.make = [](const KernelContext& ctx) -> std::unique_ptr<FamilyKernel> {
    return std::make_unique<RegDiagKernel>(ctx);
  };
  return def;
}

}  // namespace bqx::features
