// regdiag: diagnostics of the rolling quadratic regressions (FEATURES.md 1.3), both
// domains. Reads the reg_rate / reg_bqx columns of the same row (FamilyDef::inputs).
// Column order: rate domain (6 windows x 5 per-window columns in window order, then the
// 10 cross-window columns), then the same for the bqx domain.
#include <array>
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

using R2Row = std::array<double, kNW>;

// Sample stdev (ddof 1) of each window's last 10 r2 values, two-pass, oldest first; the six
// windows are accumulated side by side. NULL where any value is NULL (NaN propagates).
void sample_std10(const RegRing<R2Row>& r, R2Row& out) {
  const double n = static_cast<double>(r.size());
  R2Row s{}, m2{};
  r.for_each([&](const R2Row& v) {
    for (size_t i = 0; i < kNW; ++i) s[i] += v[i];
  });
  for (size_t i = 0; i < kNW; ++i) s[i] /= n;  // means
  r.for_each([&](const R2Row& v) {
    for (size_t i = 0; i < kNW; ++i) m2[i] += (v[i] - s[i]) * (v[i] - s[i]);
  });
  for (size_t i = 0; i < kNW; ++i) out[i] = std::sqrt(m2[i] / (n - 1));
}

class DomainDiag {
 public:
  DomainDiag() = default;
  DomainDiag(const ColumnLayout& layout, const std::string& domain) {
    for (size_t i = 0; i < kNW; ++i) {
      for (int k = 0; k < kNumInputs; ++k) idx_[i][static_cast<size_t>(k)] = layout.index_of(reg_column(domain, kWindows[i], kInputs[static_cast<size_t>(k)]));
      ac_[i] = RollingLag1Autocorr(static_cast<size_t>(kWindows[i]));
    }
    slope60_ = RegRing<double>(kAccelLag + 1);
    r2_ = RegRing<R2Row>(kStdRows);
  }

  void update(const double* row, double* out) {
    std::array<std::array<double, kNumInputs>, kNW> v;
    for (size_t i = 0; i < kNW; ++i) {
      for (size_t k = 0; k < kNumInputs; ++k) v[i][k] = row[idx_[i][k]];
    }
    auto all = [&](Input in) {
      for (size_t i = 0; i < kNW; ++i) {
        if (is_null(v[i][in])) return false;
      }
      return true;
    };
    const bool all_r2 = all(kR2);
    R2Row r2row, r2std;
    for (size_t i = 0; i < kNW; ++i) r2row[i] = v[i][kR2];
    r2_.push(r2row);
    if (r2_.full()) {
      sample_std10(r2_, r2std);
    } else {
      r2std.fill(kNull);
    }
    for (size_t i = 0; i < kNW; ++i) {
      const auto& x = v[i];
      double* o = out + i * kPerWindow;
      // pred_error_ratio
      o[0] = (is_null(x[kResid]) || is_null(x[kRmse]) || x[kRmse] == 0) ? kNull : std::fabs(x[kResid]) / x[kRmse];
      // r2_rank: competition ranking, 1 = highest, ties share the smaller rank number.
      if (all_r2) {
        int above = 0;
        for (size_t j = 0; j < kNW; ++j) above += v[j][kR2] > x[kR2] ? 1 : 0;
        o[1] = 1.0 + above;
      } else {
        o[1] = kNull;
      }
      // term_ratio
      if (is_null(x[kQuad]) || is_null(x[kLin]) || (x[kQuad] == 0 && x[kLin] == 0)) {
        o[2] = kNull;
      } else {
        o[2] = x[kQuad] / (std::fabs(x[kQuad]) + std::fabs(x[kLin]));
      }
      // r2_std10
      o[3] = r2std[i];
      // resid_autocorr
      if (is_null(x[kResid])) {
        o[4] = kNull;
      } else {
        ac_[i].push(x[kResid]);
        o[4] = ac_[i].full() ? ac_[i].value(std::fabs(x[kPred]) + x[kRmse]) : kNull;
      }
    }

    double* c = out + kNW * kPerWindow;
    const size_t last = kNW - 1;  // w630
    auto sign_agree = [&](Input in) {
      if (!all(in)) return kNull;
      int n = 0;
      for (size_t j = 1; j < kNW; ++j) n += sgn(v[j][in]) == sgn(v[0][in]) ? 1 : 0;
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

  void prefetch() const {
    prefetch_read(this, sizeof(*this));
    r2_.prefetch();
    for (const auto& a : ac_) a.prefetch();
    slope60_.prefetch();
  }

  void save(StateWriter& out) const {
    for (size_t i = 0; i < kNW; ++i) {
      ac_[i].save(out);
    }
    r2_.save(out);
    slope60_.save(out);
    out.put(prev_quad60_);
  }
  void load(StateReader& in) {
    for (size_t i = 0; i < kNW; ++i) {
      ac_[i].load(in);
    }
    r2_.load(in);
    slope60_.load(in);
    in.get(prev_quad60_);
  }

 private:
  std::array<std::array<int, kNumInputs>, kNW> idx_{};
  RegRing<R2Row> r2_;
  std::array<RollingLag1Autocorr, kNW> ac_;
  RegRing<double> slope60_;
  double prev_quad60_ = kNull;
};

class RegDiagKernel final : public FamilyKernel {
 public:
  explicit RegDiagKernel(const KernelContext& ctx)
      : offset_(ctx.offset), rate_(*ctx.layout, "rate"), bqx_(*ctx.layout, "bqx") {}
  void update(const BarInput&, double* row) override {
    rate_.update(row, row + offset_);
    bqx_.update(row, row + offset_ + kDomainColumns);
  }
  void prefetch() const override {
    rate_.prefetch();
    bqx_.prefetch();
  }
  void save(StateWriter& out) const override {
    rate_.save(out);
    bqx_.save(out);
  }
  void load(StateReader& in) override {
    rate_.load(in);
    bqx_.load(in);
  }

 private:
  int offset_;
  DomainDiag rate_, bqx_;
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
