// reg_rate and reg_bqx: rolling quadratic regression (FEATURES.md 1.2).
// y = x (rate index) or q = bqx_w15_return (bqx domain). For each W the fit
// y_k ~ a2 k^2 + a1 k + a0 over the W rows ending at t (k = W-1 is bar t) is kept by
// RollingQuadraticFit in O(1) per bar (reg_quadratic.h explains the algebra and the
// numerics); the six term covariances by RollingCoMoments<4>.
#include <array>
#include <string>

#include "features/families.h"
#include "features/reg_quadratic.h"

namespace bqx::features {
namespace {

constexpr std::array<int, 6> kWindows = {60, 90, 150, 240, 390, 630};
constexpr int kColumnsPerWindow = 15;
constexpr int kFitColumns = 9;
constexpr int kBqxLag = 15;  // first non-NULL q = bqx_w15_return is row 15

class RegKernel final : public FamilyKernel {
 public:
  // input < 0: rate domain (y = bar.xc); otherwise y = row[input].
  RegKernel(const KernelContext& ctx, int input) : offset_(ctx.offset), input_(input) {
    for (size_t i = 0; i < kWindows.size(); ++i) {
      fit_[i] = RollingQuadraticFit(kWindows[i]);
      cov_[i] = RollingCoMoments<4>(static_cast<size_t>(kWindows[i]));
    }
  }

  void update(const BarInput& bar, double* row) override {
    const double y = input_ < 0 ? bar.xc : row[input_];
    double* out = row + offset_;
    if (is_null(y)) {  // only before the first non-NULL q: the kernel waits for it
      for (size_t k = 0; k < kWindows.size() * kColumnsPerWindow; ++k) out[k] = kNull;
      return;
    }
    for (size_t i = 0; i < kWindows.size(); ++i) {
      double* o = out + i * kColumnsPerWindow;
      fit_[i].push(y);
      if (!fit_[i].ready()) {
        for (int k = 0; k < kColumnsPerWindow; ++k) o[k] = kNull;
        continue;
      }
      QuadColumns f;
      fit_[i].evaluate(f);
      o[0] = f.quadratic_term;
      o[1] = f.linear_term;
      o[2] = f.constant_term;
      o[3] = f.prediction;
      o[4] = f.residual;
      o[5] = f.r2;
      o[6] = f.rmse;
      o[7] = f.slope_now;
      o[8] = f.vertex_offset;
      cov_[i].push({f.quadratic_term, f.linear_term, f.constant_term, f.residual});
      if (cov_[i].full()) {
        std::array<double, 6> c;
        cov_[i].covariances(c);
        for (int k = 0; k < 6; ++k) o[kFitColumns + k] = c[static_cast<size_t>(k)];
      } else {
        for (int k = 0; k < 6; ++k) o[kFitColumns + k] = kNull;
      }
    }
  }

  void prefetch() const override {
    for (size_t i = 0; i < kWindows.size(); ++i) {
      fit_[i].prefetch();
      cov_[i].prefetch();
    }
  }

  void save(StateWriter& out) const override {
    for (size_t i = 0; i < kWindows.size(); ++i) {
      fit_[i].save(out);
      cov_[i].save(out);
    }
  }
  void load(StateReader& in) override {
    for (size_t i = 0; i < kWindows.size(); ++i) {
      fit_[i].load(in);
      cov_[i].load(in);
    }
  }

 private:
  int offset_;
  int input_;
  std::array<RollingQuadraticFit, kWindows.size()> fit_;
  std::array<RollingCoMoments<4>, kWindows.size()> cov_;
};

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
