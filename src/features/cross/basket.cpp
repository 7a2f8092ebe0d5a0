// basket: BQX currency baskets on the as-of grid (FEATURES.md 2.2), 224 global columns.
//
// v_c(g) = mean over c's pairs that are available at g with a non-NULL as-of
// reg_bqx_w60_prediction of dir(p,c) * reg_bqx_w60_prediction_p (pairs in canonical
// order); NULL if there is none. For W in {60,90,150,240,390,630}, over the last W grid rows
// v_{g-W+1} .. v_g (a window holding a NULL v gives NULL in all four columns):
//   mom   = v_g - v_{g-W+1}
//   accel = (v_g - v_mid) - (v_mid - v_{g-W+1}),  v_mid = v_{g - floor(W/2)}
//   momz  = mom / sample stdev (ddof 1) of the window; NULL if that stdev is 0
//   vol   = population stdev of the window
// and vs_major / vs_safe_haven / vs_commodity on v as in 2.1.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "features/cross/cross_families.h"
#include "features/cross/cur_common.h"
#include "features/cross/cur_rolling.h"
#include "features/registry.h"

namespace bqx::features {
namespace {

constexpr int K = kCurrencyCount;
constexpr std::array<int, 6> kWindows = {60, 90, 150, 240, 390, 630};
constexpr int kPerWindow = 4;
constexpr int kPerCurrency = 1 + kPerWindow * static_cast<int>(kWindows.size()) + cur::kGroupCount;  // 28
constexpr int kGlobal = K * kPerCurrency;                                                            // 224
constexpr int kDefaultPredictionLookback = 74;  // reg_bqx_w60_prediction: 59 + 15 pair rows

// For the 8 currencies of one window (m2 = the centred sums of squares, mom = the momenta):
// sd_ratio = mom / sqrt(m2 / (W - 1)), NULL where that stdev is not > 0, and
// vol = sqrt(m2 / W). Two square roots and three divisions per currency are what this part
// of the kernel waits on: on AVX-512 they run as 8-lane operations (SIMD across currencies:
// per-lane IEEE ops, bit-identical to the scalar form below).
void window_ratios_scalar(const std::array<double, K>& m2, const std::array<double, K>& mom, double wd,
                          std::array<double, K>& sd_ratio, std::array<double, K>& vol) {
  for (int c = 0; c < K; ++c) {
    const double sd_sample = std::sqrt(m2[c] / (wd - 1.0));
    sd_ratio[c] = sd_sample > 0 ? mom[c] / sd_sample : kNull;
    vol[c] = std::sqrt(m2[c] / wd);
  }
}
#if defined(__x86_64__) && defined(__GNUC__)
static_assert(K == 8, "one AVX-512 register of currencies");
__attribute__((target("avx512f"))) void window_ratios_avx512(const std::array<double, K>& m2,
                                                              const std::array<double, K>& mom, double wd,
                                                              std::array<double, K>& sd_ratio,
                                                              std::array<double, K>& vol) {
  // (The maskz forms with every lane kept: GCC 12's plain sqrt trips -Wuninitialized.)
  const __mmask8 all = 0xFF;
  const __m512d m = _mm512_loadu_pd(m2.data());
  const __m512d sd_sample = _mm512_maskz_sqrt_pd(all, _mm512_div_pd(m, _mm512_set1_pd(wd - 1.0)));
  const __mmask8 positive = _mm512_cmp_pd_mask(sd_sample, _mm512_setzero_pd(), _CMP_GT_OQ);
  _mm512_storeu_pd(sd_ratio.data(),
                   _mm512_mask_div_pd(_mm512_set1_pd(kNull), positive, _mm512_loadu_pd(mom.data()), sd_sample));
  _mm512_storeu_pd(vol.data(), _mm512_maskz_sqrt_pd(all, _mm512_div_pd(m, _mm512_set1_pd(wd))));
}
bool basket_cpu_has_avx512f() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}
#endif
void window_ratios(const std::array<double, K>& m2, const std::array<double, K>& mom, double wd,
                   std::array<double, K>& sd_ratio, std::array<double, K>& vol) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (basket_cpu_has_avx512f()) {
    window_ratios_avx512(m2, mom, wd, sd_ratio, vol);
    return;
  }
#endif
  window_ratios_scalar(m2, mom, wd, sd_ratio, vol);
}

// The six windows of a currency slide over the same series v_c: cur::CurrencyWindows keeps
// them on one ring (about 19 lines a grid row instead of ~240 for 48 NullableMoments), with
// NullableMoments' arithmetic and snapshot layout.
class BasketKernel final : public CrossKernel {
 public:
  explicit BasketKernel(const CrossContext& ctx) : in_universe_(ctx.in_universe), windows_(kWindows) {
    out_.fill(kNull);
  }

  void update(const GridRow& grid) override {
    // The rows this grid row reads W and W / 2 rows back (cold): first, the misses overlap.
    for (int w : kWindows) {
      const uint64_t width = static_cast<uint64_t>(w);
      windows_.prefetch_back_after_push(width);      // leaving the window (push)
      windows_.prefetch_back_after_push(width - 1);  // v_{g-W+1}
      windows_.prefetch_back_after_push(width / 2);  // v_mid
    }
    const cur::Topology& t = cur::topology();
    std::array<double, K> sum{};
    std::array<int, K> n{};
    for (int p = 0; p < kPairCount; ++p) {
      const double pred = grid.reg_bqx_w60_prediction[p];
      if (!in_universe_[p] || !grid.available[p] || !std::isfinite(pred)) continue;
      sum[t.base[p]] += pred;
      ++n[t.base[p]];
      sum[t.quote[p]] -= pred;
      ++n[t.quote[p]];
    }
    std::array<double, K> v;
    for (int c = 0; c < K; ++c) v[c] = n[c] > 0 ? sum[c] / n[c] : kNull;
    windows_.push(v);
    for (size_t w = 0; w < kWindows.size(); ++w) {
      const uint64_t width = static_cast<uint64_t>(kWindows[w]);
      const bool full = windows_.pushes() >= width;
      const auto* first = full ? &windows_.back(width - 1) : nullptr;
      const auto* mid = full ? &windows_.back(width / 2) : nullptr;
      // The square roots and divisions of the 8 currencies at once (window_ratios); a currency
      // whose window is not ready computes on a placeholder and gets NULL below.
      const double wd = static_cast<double>(kWindows[w]);
      std::array<bool, K> ready;
      std::array<double, K> m2, mom, sd_ratio, vol;
      for (int c = 0; c < K; ++c) {
        ready[c] = windows_.ready(w, c);
        m2[c] = ready[c] ? windows_.m2(w, c) : 0.0;
        mom[c] = ready[c] ? v[c] - (*first)[c] : 0.0;
      }
      window_ratios(m2, mom, wd, sd_ratio, vol);
      for (int c = 0; c < K; ++c) {
        double* ow = out_.data() + c * kPerCurrency + 1 + kPerWindow * w;
        if (!ready[c]) {
          for (int k = 0; k < kPerWindow; ++k) ow[k] = kNull;
          continue;
        }
        const double f = (*first)[c], last = v[c], md = (*mid)[c];
        ow[0] = last - f;
        ow[1] = (last - md) - (md - f);
        ow[2] = sd_ratio[c];
        ow[3] = vol[c];
      }
    }
    for (int c = 0; c < K; ++c) {
      double* o = out_.data() + c * kPerCurrency;
      o[0] = v[c];
      for (int g = 0; g < cur::kGroupCount; ++g)
        o[1 + kPerWindow * kWindows.size() + g] = cur::vs_group(v, c, g);
    }
  }

  void write_global(double* out) const override {
    for (int i = 0; i < kGlobal; ++i) out[i] = out_[i];
  }
  void write_pair(int, double*) const override {}

  // Per currency, per window: NullableMoments::save (the layout before the shared ring).
  void save(StateWriter& out) const override {
    out.put(in_universe_);
    for (int c = 0; c < K; ++c) {
      for (size_t w = 0; w < kWindows.size(); ++w) windows_.save(out, w, c);
    }
    out.put(out_);
  }
  void load(StateReader& in) override {
    if (in.get<std::array<bool, kPairCount>>() != in_universe_) in.fail();
    for (int c = 0; c < K; ++c) {
      for (size_t w = 0; w < kWindows.size(); ++w) windows_.load(in, w, c);
    }
    in.get(out_);
  }

 private:
  std::array<bool, kPairCount> in_universe_;
  cur::CurrencyWindows<kWindows.size()> windows_;
  std::array<double, kGlobal> out_{};
};

// Grid rows before reg_bqx_w60_prediction can exist (a pair's row count never exceeds the
// grid's, so its per-pair lookback is a lower bound in grid rows).
int prediction_lookback() {
  if (const FamilyDef* f = find_family("reg_bqx")) {
    for (const auto& c : f->columns) {
      if (c.name == "reg_bqx_w60_prediction") return c.lookback;
    }
  }
  return kDefaultPredictionLookback;
}

}  // namespace

CrossFamilyDef make_basket_family() {
  CrossFamilyDef def;
  def.name = "basket";
  const std::string src = "FEATURES.md 2.2";
  const int base_lookback = prediction_lookback();
  auto add = [&](std::string name, std::string params, std::string formula, std::string unit, int lookback,
                 std::string null_when) {
    def.global_columns.push_back(ColumnInfo{std::move(name), "basket", std::move(params), std::move(formula),
                                            std::move(unit), lookback, src, std::move(null_when), false});
  };
  const std::string index_def =
      "v_c = mean over c's pairs available at g with a non-NULL as-of reg_bqx_w60_prediction of "
      "dir(p,c) * reg_bqx_w60_prediction_p (dir = +1 if c is the base, -1 if the quote)";
  for (int c = 0; c < K; ++c) {
    const std::string code(currency_code(static_cast<Currency>(c)));
    const std::string p = "basket_" + cur::lower_code(c) + "_";
    const std::string cnull = "no pair of " + code + " is available with a reg_bqx_w60_prediction at g";
    add(p + "index", "currency=" + code, index_def, "bqx units", base_lookback, cnull);
    for (int w : kWindows) {
      const std::string ws = std::to_string(w);
      const std::string par = "currency=" + code + ", W=" + ws + " grid rows";
      const std::string wnull = "the W-row window holds a NULL basket index";
      const int lb = base_lookback + w - 1;
      add(p + "mom_" + ws, par, "v_g - v_{g-W+1}", "bqx units", lb, wnull);
      add(p + "accel_" + ws, par,
          "(v_g - v_mid) - (v_mid - v_{g-W+1}), v_mid = v_{g-" + std::to_string(w / 2) +
              "} (W/2 rows back, integer division)",
          "bqx units", lb, wnull);
      add(p + "momz_" + ws, par, "(v_g - v_{g-W+1}) / sample stdev (ddof 1) of v_{g-W+1} .. v_g", "z", lb,
          wnull + ", or the window is constant (stdev 0)");
      add(p + "vol_" + ws, par, "population stdev (ddof 0) of v_{g-W+1} .. v_g", "bqx units", lb, wnull);
    }
    for (int g = 0; g < cur::kGroupCount; ++g) {
      add(p + cur::kGroupSuffix[g], "currency=" + code + ", group=" + cur::kGroupText[g],
          "v_" + code + " minus the mean basket index of the other members of " + cur::kGroupText[g] +
              " that have one",
          "bqx units", base_lookback, cnull + " or no other group member has an index");
    }
  }
  def.make = [](const CrossContext& ctx) { return std::make_unique<BasketKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
