// regdiag: diagnostics of the rolling quadratic regressions (FEATURES.md 1.3), both
// domains. Reads the reg_rate / reg_bqx columns of the same row (FamilyDef::inputs).
// Column order: rate domain (6 windows x 5 per-window columns in window order, then the
// 10 cross-window columns), then the same for the bqx domain.
#include <array>
#include <cfloat>
#include <cmath>
#include <string>

#include "features/families.h"
#include "features/reg_quadratic.h"

namespace bqx::features {
namespace {

constexpr std::array<int, 6> kWindows = {60, 90, 150, 240, 390, 630};
constexpr size_t kNW = kWindows.size();
constexpr int kPerWindow = 5;
constexpr int kCross = 10;
constexpr int kDomainColumns = static_cast<int>(kNW) * kPerWindow + kCross;  // 40
constexpr int kStdRows = 10;
constexpr int kAccelLag = 5;

// The reg columns each window needs, in this order.
constexpr std::array<const char*, 8> kInputs = {"quadratic_term", "linear_term", "prediction", "residual",
                                                "r2", "rmse", "slope_now", "vertex_offset"};
enum Input { kQuad, kLin, kPred, kResid, kR2, kRmse, kSlope, kVertex, kNumInputs };

std::string reg_column(const std::string& domain, int w, const char* name) {
  return "reg_" + domain + "_w" + std::to_string(w) + "_" + name;
}

double sgn(double v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); }

// The r2 of both domains' 6 windows: rate in lanes 0..5, bqx in lanes 6..11. One ring for
// both, so that the two domains' sums are independent vector chains in the same loop, and
// packed (10 rows of 96 bytes) because std10 reads the whole ring every bar.
using R2Row = std::array<double, 2 * kNW>;

// Sample stdev (ddof 1) of each window's last 10 r2 values, two-pass, oldest first; the six
// windows are accumulated side by side (SIMD lanes). NULL where any value is NULL (NaN
// propagates).
__attribute__((always_inline)) inline void sample_std10(const RegRing<R2Row>& r, R2Row& out) {
  const double n = static_cast<double>(r.size());
  R2Row s{}, m2{};
  r.for_each([&](const R2Row& v) __attribute__((always_inline)) {
    for (size_t i = 0; i < s.size(); ++i) s[i] += v[i];
  });
  for (size_t i = 0; i < s.size(); ++i) s[i] /= n;  // means
  r.for_each([&](const R2Row& v) __attribute__((always_inline)) {
    for (size_t i = 0; i < s.size(); ++i) m2[i] += (v[i] - s[i]) * (v[i] - s[i]);
  });
  for (size_t i = 0; i < s.size(); ++i) out[i] = std::sqrt(m2[i] / (n - 1));
}

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

// The lag-1 autocorrelations of the 6 windows' residuals side by side (SIMD lanes,
// structure-of-arrays): per lane exactly RollingLag1Autocorr::push / value
// (reg_quadratic.h), the same IEEE operations in the same order. Lanes whose residual is
// NULL on a bar keep their state (a select); lanes still filling run the arithmetic on
// state that the anchoring at the fill recomputes entirely.
class Lag1Lanes {
 public:
  using Lanes = RegLanes;
  static constexpr size_t kLanes = kRegLanes;

  Lag1Lanes() {
    for (size_t i = 0; i < kNW; ++i) values_[i] = RegRing<double>(static_cast<size_t>(kWindows[i]));
  }

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
      RegRing<double>& v = values_[i];
      was_full[i] = v.full();
      if (is_null(e[i])) continue;
      pushed_values[i] = 1.0;
      if (was_full[i]) {
        oldest[i] = v.front(0);
        second[i] = v.front(1);
        newest[i] = v.back();
      }
      v.push(e[i]);
    }
    alignas(64) Lanes a_raw, a1_raw, last_raw, pushed, due;
    set_reg_lanes(a_raw, oldest);
    set_reg_lanes(a1_raw, second);
    set_reg_lanes(last_raw, newest);
    set_reg_lanes(pushed, pushed_values);
    for (size_t l = 0; l < kLanes; ++l) {
      const double ref = ref_[l];
      const double a = a_raw[l] - ref, a1 = a1_raw[l] - ref;
      const double last = last_raw[l] - ref, n = e[l] - ref;
      const double s = s_[l] + (n - a);
      const double q = q_[l] + (n * n - a * a);
      const double p = p_[l] + (last * n - a * a1);
      const double peak = peak_[l] < q ? q : peak_[l];  // std::max(peak, q)
      const double since = since_[l] + 1.0;
      const bool take = pushed[l] != 0;
      s_[l] = take ? s : s_[l];
      q_[l] = take ? q : q_[l];
      p_[l] = take ? p : p_[l];
      peak_[l] = take ? peak : peak_[l];
      since_[l] = take ? since : since_[l];
      pushed_sum_[l] = take ? pushed_sum_[l] + e[l] : pushed_sum_[l];
      due[l] = ((since >= kWin.w[l]) | collapsed(peak, q - s * (s / kWin.w[l]), kWin.w[l], ref)) ? 1.0 : 0.0;
    }
    std::array<double, kNW> first_values{};
    for (size_t i = 0; i < kNW; ++i) {
      if (pushed_values[i] != 0 && (was_full[i] ? due[i] != 0 : values_[i].full())) {
        anchor(i, !was_full[i] || since_[i] >= kWin.w[i]);
      }
      if (values_[i].full()) first_values[i] = values_[i].front(0);
    }
    Pushed out;
    set_reg_lanes(out.first_raw, first_values);
    std::array<double, kNW> ready_values{};
    for (size_t i = 0; i < kNW; ++i) ready_values[i] = pushed_values[i] != 0 && values_[i].full() ? 1.0 : 0.0;
    set_reg_lanes(out.ready, ready_values);
    return out;
  }

  // RollingLag1Autocorr::value per lane after push(e): NULL while filling or where e[i]
  // is NULL; level as in RollingLag1Autocorr::value.
  __attribute__((always_inline)) inline void value(const Lanes& e, const Lanes& level, const Pushed& pushed,
                                                   Lanes& value) const {
    const Lanes& first_raw = pushed.first_raw;
    const Lanes& ready = pushed.ready;
    for (size_t l = 0; l < kLanes; ++l) {
      const double ref = ref_[l];
      const double first = first_raw[l] - ref, last = e[l] - ref;
      const double n = kWin.n[l], inv_n = kWin.inv_n[l];
      const double sx = s_[l] - last, sy = s_[l] - first;
      const double sxx = q_[l] - last * last, syy = q_[l] - first * first;
      const double vx = sxx - sx * (sx * inv_n), vy = syy - sy * (sy * inv_n);
      const double cov = p_[l] - sx * (sy * inv_n);
      const double floor = kWin.noise[l] * q_[l];
      const double tiny = kRegZeroRel * level[l];
      // | rather than ||: no branches, so the loop vectorises (the tests have no side effects).
      const bool degenerate =
          !(vx > floor) | !(vy > floor) | !(vx > tiny * tiny * n) | !(vy > tiny * tiny * n);
      const double r = cov / std::sqrt(vx * vy);
      const double clamped = r < -1.0 ? -1.0 : (1.0 < r ? 1.0 : r);  // std::clamp(r, -1, 1)
      value[l] = (ready[l] == 0) | degenerate ? kNull : clamped;
    }
  }

  __attribute__((always_inline)) inline void prefetch() const {
    prefetch_read(this, sizeof(*this));
    for (const auto& v : values_) v.prefetch();
  }
  void save(StateWriter& out) const {
    for (size_t i = 0; i < kNW; ++i) {
      values_[i].save(out);
      for (const Lanes* a : {&ref_, &s_, &q_, &p_, &peak_, &since_, &pushed_sum_}) out.put((*a)[i]);
    }
  }
  void load(StateReader& in) {
    for (size_t i = 0; i < kNW; ++i) {
      values_[i].load(in);
      for (Lanes* a : {&ref_, &s_, &q_, &p_, &peak_, &since_, &pushed_sum_}) in.get((*a)[i]);
    }
  }

 private:
  // dispersion_collapsed (reg_quadratic.h), branch-free for the lanes.
  __attribute__((always_inline)) static inline bool collapsed(double peak, double m2, double n, double ref) {
    const double ulp_floor = n * (64.0 * DBL_EPSILON * ref) * (64.0 * DBL_EPSILON * ref);
    return peak > kCollapse * (m2 < ulp_floor ? ulp_floor : m2);  // std::max(m2, ulp_floor)
  }

  // RollingLag1Autocorr::anchor for window i. regular: exactly W pushes since the last
  // anchoring (or the first fill), so pushed_sum_ is the first pass (oldest first).
  __attribute__((noinline)) void anchor(size_t i, bool regular) {
    const RegRing<double>& values = values_[i];
    since_[i] = 0;
    const double ref = anchor_mean(values, pushed_sum_[i], regular);
    double s1 = 0, q = 0, p = 0, prev = 0;
    bool first = true;
    values.for_each([&](double e) {
      const double d = e - ref;
      s1 += d;
      q += d * d;
      if (!first) p += prev * d;
      prev = d;
      first = false;
    });
    ref_[i] = ref;
    s_[i] = s1;
    q_[i] = q;
    p_[i] = p;
    peak_[i] = q;
  }

  alignas(64) Lanes ref_{}, s_{}, q_{}, p_{}, peak_{}, since_{}, pushed_sum_{};
  std::array<RegRing<double>, kNW> values_;
};

class DomainDiag {
 public:
  using Lanes = RegLanes;
  static constexpr size_t kLanes = kRegLanes;

  DomainDiag() = default;
  DomainDiag(const ColumnLayout& layout, const std::string& domain) {
    for (size_t i = 0; i < kNW; ++i) {
      for (int k = 0; k < kNumInputs; ++k) idx_[i][static_cast<size_t>(k)] = layout.index_of(reg_column(domain, kWindows[i], kInputs[static_cast<size_t>(k)]));
    }
    slope60_ = RegRing<double>(kAccelLag + 1);
  }

  // The reg columns this domain reads, per window and as lanes.
  struct Inputs {
    std::array<std::array<double, kNumInputs>, kNW> v;
    alignas(64) Lanes quad, lin, pred, resid, r2, rmse, level;
  };

  // The bar's work in phases, so that the caller can put the two domains' independent
  // (latency-bound) phases side by side: read, push_autocorr, autocorr value, finish.
  __attribute__((always_inline)) inline Inputs read(const double* row) const {
    Inputs in;
    auto& v = in.v;
    for (size_t i = 0; i < kNW; ++i) {
      for (size_t k = 0; k < kNumInputs; ++k) v[i][k] = row[idx_[i][k]];
    }
    // The per-window inputs as lanes.
    auto lanes_of = [&](Input k, Lanes& out) {
      set_reg_lanes<kNW>(out, {v[0][k], v[1][k], v[2][k], v[3][k], v[4][k], v[5][k]});
    };
    lanes_of(kQuad, in.quad);
    lanes_of(kLin, in.lin);
    lanes_of(kPred, in.pred);
    lanes_of(kResid, in.resid);
    lanes_of(kR2, in.r2);
    lanes_of(kRmse, in.rmse);
    for (size_t l = 0; l < kLanes; ++l) in.level[l] = std::fabs(in.pred[l]) + in.rmse[l];
    return in;
  }
  __attribute__((always_inline)) inline Lag1Lanes::Pushed push_autocorr(const Inputs& in) {
    return autocorr_.push(in.resid);
  }
  // resid_autocorr (NULL where the residual is NULL or the window is still filling)
  __attribute__((always_inline)) inline void autocorr(const Inputs& in, const Lag1Lanes::Pushed& pushed,
                                                      Lanes& out) const {
    autocorr_.value(in.resid, in.level, pushed, out);
  }

  // The 40 columns of the domain; r2std: r2_std10 of the 6 windows (lanes).
  __attribute__((always_inline)) inline void finish(const Inputs& in, const Lanes& r2std, const Lanes& autocorr,
                                                    double* out) {
    const auto& v = in.v;
    const Lanes &quad = in.quad, &lin = in.lin, &resid = in.resid, &r2 = in.r2, &rmse = in.rmse;
    auto all = [&](Input k) {
      for (size_t i = 0; i < kNW; ++i) {
        if (is_null(v[i][k])) return false;
      }
      return true;
    };
    const bool all_r2 = all(kR2);

    // Per-window columns, all windows at once.
    alignas(64) Lanes error_ratio, rank, term_ratio;
    for (size_t l = 0; l < kLanes; ++l) {
      // pred_error_ratio
      const double ratio = std::fabs(resid[l]) / rmse[l];
      error_ratio[l] = (is_null(resid[l]) || is_null(rmse[l]) || rmse[l] == 0) ? kNull : ratio;
      // r2_rank: competition ranking, 1 = highest, ties share the smaller rank number.
      double above = 0;
      for (size_t j = 0; j < kNW; ++j) above += r2[j] > r2[l] ? 1.0 : 0.0;
      rank[l] = all_r2 ? 1.0 + above : kNull;
      // term_ratio
      const double terms = quad[l] / (std::fabs(quad[l]) + std::fabs(lin[l]));
      term_ratio[l] = (is_null(quad[l]) || is_null(lin[l]) || (quad[l] == 0 && lin[l] == 0)) ? kNull : terms;
    }
    for (size_t i = 0; i < kNW; ++i) {
      double* o = out + i * kPerWindow;
      o[0] = error_ratio[i];
      o[1] = rank[i];
      o[2] = term_ratio[i];
      o[3] = r2std[i];
      o[4] = autocorr[i];
    }

    double* c = out + kNW * kPerWindow;
    const size_t last = kNW - 1;  // w630
    auto sign_agree = [&](Input k) {
      if (!all(k)) return kNull;
      int n = 0;
      for (size_t j = 1; j < kNW; ++j) n += sgn(v[j][k]) == sgn(v[0][k]) ? 1 : 0;
      return static_cast<double>(n);
    };
    c[0] = sign_agree(kQuad);
    c[1] = sign_agree(kLin);
    // slope_dispersion: population stdev (ddof 0) of the 6 slopes / mean |slope|.
    if (all(kSlope)) {
      double s = 0, sa = 0;
      for (size_t j = 0; j < kNW; ++j) {
        s += v[j][kSlope];
        sa += std::fabs(v[j][kSlope]);
      }
      const double mean = s / kNW, mean_abs = sa / kNW;
      double m2 = 0;
      for (size_t j = 0; j < kNW; ++j) {
        const double d = v[j][kSlope] - mean;
        m2 += d * d;
      }
      c[2] = mean_abs == 0 ? kNull : std::sqrt(m2 / kNW) / mean_abs;
    } else {
      c[2] = kNull;
    }
    // curvature_flip
    const double q60 = v[0][kQuad];
    c[3] = (is_null(q60) || is_null(prev_quad60_)) ? kNull : (sgn(q60) != sgn(prev_quad60_) ? 1.0 : 0.0);
    prev_quad60_ = q60;
    c[4] = v[0][kR2] - v[last][kR2];
    if (all_r2) {
      double s = 0;
      for (size_t j = 0; j < kNW; ++j) s += v[j][kR2];
      c[5] = s / kNW;
    } else {
      c[5] = kNull;
    }
    c[6] = (is_null(v[0][kRmse]) || is_null(v[last][kRmse]) || v[last][kRmse] == 0) ? kNull
                                                                                      : v[0][kRmse] / v[last][kRmse];
    c[7] = v[0][kPred] - v[last][kPred];
    slope60_.push(v[0][kSlope]);
    c[8] = slope60_.full() ? slope60_.back() - slope60_.front(0) : kNull;  // t minus t-5
    const double vx = v[0][kVertex];
    c[9] = is_null(vx) ? kNull : (std::fabs(vx) <= 5.0 ? 1.0 : 0.0);
  }

  __attribute__((always_inline)) inline void prefetch() const {
    prefetch_read(this, sizeof(*this));
    autocorr_.prefetch();
    slope60_.prefetch();
  }

  void save(StateWriter& out) const {
    autocorr_.save(out);
    slope60_.save(out);
    out.put(prev_quad60_);
  }
  void load(StateReader& in) {
    autocorr_.load(in);
    slope60_.load(in);
    in.get(prev_quad60_);
  }

 private:
  std::array<std::array<int, kNumInputs>, kNW> idx_{};
  Lag1Lanes autocorr_;
  RegRing<double> slope60_;
  double prev_quad60_ = kNull;
};

class RegDiagKernel final : public FamilyKernel {
 public:
  explicit RegDiagKernel(const KernelContext& ctx)
      : offset_(ctx.offset), rate_(*ctx.layout, "rate"), bqx_(*ctx.layout, "bqx"), r2_(kStdRows) {}
  void update(const BarInput&, double* row) override {
#if defined(__x86_64__)
    if (reg_cpu_has_avx512f()) return update_avx512(row);
#endif
    update_domains(row);
  }
  void prefetch() const override {
    rate_.prefetch();
    bqx_.prefetch();
    r2_.prefetch_all();  // std10 reads every row
  }
  void save(StateWriter& out) const override {
    rate_.save(out);
    bqx_.save(out);
    r2_.save(out);
  }
  void load(StateReader& in) override {
    rate_.load(in);
    bqx_.load(in);
    r2_.load(in);
  }

 private:
  // The two domains are independent: their phases are interleaved so that the
  // latency-bound chains (sums, divisions, square roots) of one overlap with the other's.
  __attribute__((always_inline)) inline void update_domains(double* row) {
    const DomainDiag::Inputs rate_in = rate_.read(row), bqx_in = bqx_.read(row);
    // The rings' pushes first: their loads are usually cache misses, which then overlap
    // with the r2 sums.
    const Lag1Lanes::Pushed rate_pushed = rate_.push_autocorr(rate_in), bqx_pushed = bqx_.push_autocorr(bqx_in);
    R2Row r2row, r2std;
    for (size_t i = 0; i < kNW; ++i) {
      r2row[i] = rate_in.r2[i];
      r2row[kNW + i] = bqx_in.r2[i];
    }
    r2_.push(r2row);
    if (r2_.full()) {
      sample_std10(r2_, r2std);
    } else {
      r2std.fill(kNull);
    }
    alignas(64) RegLanes rate_std{}, bqx_std{}, rate_ac, bqx_ac;
    for (size_t i = 0; i < kNW; ++i) {
      rate_std[i] = r2std[i];
      bqx_std[i] = r2std[kNW + i];
    }
    rate_.autocorr(rate_in, rate_pushed, rate_ac);
    bqx_.autocorr(bqx_in, bqx_pushed, bqx_ac);
    rate_.finish(rate_in, rate_std, rate_ac, row + offset_);
    bqx_.finish(bqx_in, bqx_std, bqx_ac, row + offset_ + kDomainColumns);
  }
#if defined(__x86_64__)
  // The same code compiled for AVX-512 (no FMA: only add/sub/mul/div/sqrt/compare/select).
  __attribute__((target("avx512f"))) void update_avx512(double* row) { update_domains(row); }
#endif

  int offset_;
  DomainDiag rate_, bqx_;
  RegRing<R2Row> r2_;  // both domains' r2 of the last 10 rows
};

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
