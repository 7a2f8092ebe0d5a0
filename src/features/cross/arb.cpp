// arb: triangular arbitrage on the as-of grid (FEATURES.md 2.3). See arb_kernel.h for the
// triplet convention.
//
// Global (56): arb_{a}{b}{c}_eps_bp = 1e4 * eps_T, NULL unless all three pairs of the
// triplet are in the universe and available (fresh) at g.
// Per pair (7). A triplet T of the pair is "formable" at g when its 3 pairs are available
// (as-of, fresh within max_staleness) and "tradable" when, in addition, each leg's last bar
// is at most max_quote_age minutes old (default 0: all three legs quoted at g; see
// arb_kernel.h for why stale as-of quotes are not traded). With cost c and threshold h:
//   profit(T, +) = (exp(+eps_T) * (1 - c) - 1) * 100   (forward cycle A->B->C->A)
//   profit(T, -) = (exp(-eps_T) * (1 - c) - 1) * 100   (reverse cycle)
//   best = max over the tradable T and both directions = the profit at the tradable triplet
//          with the largest |eps| (the first in column order on ties), direction sign(eps)
//   arb_max_profit = max(0, best); arb_opportunity = best > h ? 1 : 0
//   arb_direction  = +1 if the best cycle BUYS the pair (pays its quote currency for its
//                    base: the pair is cheap against the crosses), -1 if it SELLS the pair;
//                    0 when there is no opportunity. With s = the sign of ln(close_pair) in
//                    eps_T (+1 if the leg is the pair itself), the forward cycle sells the
//                    pair when s = +1, so direction = -s * sign(eps_T).
//                    A pair quoted 10 bp too high gets -1 (sell it).
//   arb_profit_pct = best if opportunity else 0
//   (these four are NULL when the pair has no tradable triplet at g)
//   arb_max_abs_eps_bp, arb_mean_abs_eps_bp = max / mean of |1e4 eps_T| over the formable T
//   arb_eps_z_60 = (m_g - mean) / sample stdev of m = arb_max_abs_eps_bp over the last 60 grid
//                  rows (including g), over its non-NULL values; NULL before 60 rows, when
//                  fewer than 30 of them are non-NULL, or when they are all equal.
// All 7 are NULL when the pair has no formable triplet at g.
#include <array>
#include <cmath>
#include <cstdint>
#include <string>

#include "features/cross/arb_kernel.h"
#include "features/cross/arb_window.h"
#include "features/cross/cross_families.h"

namespace bqx::features {
namespace {

constexpr int kTripletsPerPair = 6;  // a pair XY is in {X, Y, Z} for the 6 other currencies Z

std::array<ArbTriplet, kArbTripletCount> build_triplets() {
  std::array<ArbTriplet, kArbTripletCount> out{};
  int n = 0;
  auto leg = [](Currency x, Currency y, int& slot, int& sign) {
    slot = pair_index(Pair{x, y});
    sign = 1;
    if (slot < 0) {
      slot = pair_index(Pair{y, x});
      sign = -1;
    }
  };
  for (int a = 0; a < kCurrencyCount; ++a) {
    for (int b = a + 1; b < kCurrencyCount; ++b) {
      for (int c = b + 1; c < kCurrencyCount; ++c) {
        ArbTriplet& t = out[n++];
        t.ccy = {static_cast<Currency>(a), static_cast<Currency>(b), static_cast<Currency>(c)};
        leg(t.ccy[0], t.ccy[1], t.slot[0], t.sign[0]);
        leg(t.ccy[1], t.ccy[2], t.slot[1], t.sign[1]);
        leg(t.ccy[2], t.ccy[0], t.slot[2], t.sign[2]);
        for (Currency ccy : t.ccy) {
          for (char ch : currency_code(ccy)) t.code.push_back(static_cast<char>(ch - 'A' + 'a'));
        }
      }
    }
  }
  return out;
}

std::string fmt_double(double v) {
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string params_text(const ArbParams& p) {
  return "cost=" + fmt_double(p.cost * 1e4) + "bp round trip, threshold=" + fmt_double(p.threshold_pct) +
         "%, max_quote_age=" + std::to_string(p.max_quote_age_minutes) + "min";
}

class ArbKernel final : public CrossKernel {
 public:
  ArbKernel(const CrossContext& ctx, const ArbParams& params)
      : in_universe_(ctx.in_universe),
        keep_(1.0 - params.cost),
        threshold_(params.threshold_pct),
        max_age_(params.max_quote_age_minutes),
        z_(kArbZWindow) {
    const auto& triplets = arb_triplets();
    for (int t = 0; t < kArbTripletCount; ++t) {
      const ArbTriplet& tr = triplets[t];
      for (int k = 0; k < 3; ++k) {
        legs_[t].slot[k] = static_cast<int8_t>(tr.slot[k]);
        legs_[t].sign[k] = static_cast<int8_t>(tr.sign[k]);
      }
      const bool formable = in_universe_[tr.slot[0]] && in_universe_[tr.slot[1]] && in_universe_[tr.slot[2]];
      if (!formable) continue;
      for (int k = 0; k < 3; ++k) {
        const int p = tr.slot[k];
        member_[p][member_count_[p]] = Member{t, tr.sign[k]};
        ++member_count_[p];
      }
    }
    eps_.fill(kNull);
    for (auto& row : out_) row.fill(kNull);
    last_bar_.fill(0);
  }

  void update(const GridRow& grid) override {
    std::array<double, kPairCount> lc{};
    std::array<bool, kPairCount> tradable{};
    for (int p = 0; p < kPairCount; ++p) {
      if (grid.has_bar[p]) {
        seen_[p] = true;
        last_bar_[p] = grid.g;
      }
      const bool ok = in_universe_[p] && grid.available[p] && grid.close[p] > 0;
      // ok implies available, where the engine set log_close = std::log(close): bit-identical.
      lc[p] = ok ? grid.log_close[p] : kNull;
      tradable[p] = ok && seen_[p] && grid.g - last_bar_[p] <= max_age_;
    }
    // The legs from the compact table (6 lines; the ArbTriplet records, with their names, are
    // 63), and whether all three legs are tradable, once per triplet instead of per member.
    std::array<bool, kArbTripletCount> triplet_tradable;
    for (int t = 0; t < kArbTripletCount; ++t) {
      const TripletLegs& tr = legs_[t];
      // NaN propagates: NULL when any leg is unavailable.
      eps_[t] = tr.sign[0] * lc[tr.slot[0]] + tr.sign[1] * lc[tr.slot[1]] + tr.sign[2] * lc[tr.slot[2]];
      triplet_tradable[t] = tradable[tr.slot[0]] && tradable[tr.slot[1]] && tradable[tr.slot[2]];
    }
    const uint64_t z_row = z_.pushes();  // every pair of the universe pushes this row
    // arb_eps_z_60 of the pairs with a formable triplet, after all the pushes (z_scores).
    std::array<bool, kPairCount> want_z{};
    std::array<double, kPairCount> z_input{};
    for (int p = 0; p < kPairCount; ++p) {
      if (!in_universe_[p]) continue;
      double* o = out_[p].data();
      int n = 0;
      int best_t = -1, best_sign = 0;
      double best_abs = -1.0, sum_abs_bp = 0.0, max_abs_bp = 0.0;
      for (int k = 0; k < member_count_[p]; ++k) {
        const Member& m = member_[p][k];
        const double e = eps_[m.triplet];
        if (is_null(e)) continue;
        const double a_bp = std::fabs(1e4 * e);
        ++n;
        sum_abs_bp += a_bp;
        if (a_bp > max_abs_bp) max_abs_bp = a_bp;
        if (triplet_tradable[m.triplet] && std::fabs(e) > best_abs) {
          best_abs = std::fabs(e);
          best_t = m.triplet;
          best_sign = m.sign;
        }
      }
      if (n == 0) {
        for (int c = 0; c < kArbPerPairColumns; ++c) o[c] = kNull;
        z_.push(p, z_row, kNull);
        continue;
      }
      if (best_t < 0) {
        for (int c = 0; c < 4; ++c) o[c] = kNull;
      } else {
        const double best = (std::exp(best_abs) * keep_ - 1.0) * 100.0;
        const bool opportunity = best > threshold_;
        const int dir = opportunity ? (eps_[best_t] > 0 ? -best_sign : best_sign) : 0;
        o[0] = best > 0 ? best : 0.0;
        o[1] = opportunity ? 1.0 : 0.0;
        o[2] = static_cast<double>(dir);
        o[3] = opportunity ? best : 0.0;
      }
      o[4] = max_abs_bp;
      o[5] = sum_abs_bp / static_cast<double>(n);
      z_.push(p, z_row, max_abs_bp);
      want_z[p] = true;
      z_input[p] = max_abs_bp;
    }
    if (z_.pushes() >= static_cast<uint64_t>(kArbZWindow)) {
      std::array<double, kPairCount> z;
      z_.z_scores(want_z, z_input, static_cast<uint64_t>(kArbZWindow / 2), z);
      for (int p = 0; p < kPairCount; ++p) {
        if (want_z[p]) out_[p][6] = z[p];
      }
    } else {
      for (int p = 0; p < kPairCount; ++p) {
        if (want_z[p]) out_[p][6] = kNull;
      }
    }
    ++rows_;
  }

  void write_global(double* out) const override {
    for (int t = 0; t < kArbTripletCount; ++t) out[t] = is_null(eps_[t]) ? kNull : 1e4 * eps_[t];
  }

  void write_pair(int pair_slot, double* out) const override {
    for (int c = 0; c < kArbPerPairColumns; ++c) out[c] = out_[pair_slot][c];
  }

  void save(StateWriter& out) const override {
    out.put<uint64_t>(rows_);
    out.put(seen_);
    out.put(last_bar_);
    out.put(eps_);
    out.put(out_);
    for (int p = 0; p < kPairCount; ++p) {
      if (in_universe_[p]) z_.save(out, p);
    }
  }
  void load(StateReader& in) override {
    rows_ = in.get<uint64_t>();
    in.get(seen_);
    in.get(last_bar_);
    in.get(eps_);
    in.get(out_);
    bool first_z = true;
    for (int p = 0; p < kPairCount; ++p) {
      if (in_universe_[p]) z_.load(in, p, first_z);
      first_z = first_z && !in_universe_[p];
    }
  }

 private:
  struct Member {
    int triplet = 0;
    int sign = 0;  // sign of ln(close_pair) in eps_T
  };
  struct TripletLegs {  // ArbTriplet::slot and ::sign
    std::array<int8_t, 3> slot;
    std::array<int8_t, 3> sign;
  };

  std::array<bool, kPairCount> in_universe_;
  std::array<TripletLegs, kArbTripletCount> legs_{};
  double keep_;       // 1 - cost
  double threshold_;  // percent
  int max_age_;       // minutes
  std::array<bool, kPairCount> seen_{};
  std::array<EpochMinute, kPairCount> last_bar_{};
  std::array<std::array<Member, kTripletsPerPair>, kPairCount> member_{};
  std::array<int, kPairCount> member_count_{};
  PairWindowStats z_;  // arb_max_abs_eps_bp of each pair, last 60 grid rows
  uint64_t rows_ = 0;
  std::array<double, kArbTripletCount> eps_{};
  std::array<std::array<double, kArbPerPairColumns>, kPairCount> out_{};
};

}  // namespace

const std::array<ArbTriplet, kArbTripletCount>& arb_triplets() {
  static const std::array<ArbTriplet, kArbTripletCount> triplets = build_triplets();
  return triplets;
}

Status validate_arb_params(const ArbParams& params) {
  if (!(params.cost >= 0.0 && params.cost < 1.0)) {
    return make_error("arb: cost must be in [0, 1) as a fraction (" + std::to_string(params.cost) + ")");
  }
  if (!(params.threshold_pct >= 0.0 && std::isfinite(params.threshold_pct))) {
    return make_error("arb: threshold must be a finite percentage >= 0 (" + std::to_string(params.threshold_pct) + ")");
  }
  if (params.max_quote_age_minutes < 0) {
    return make_error("arb: max_quote_age must be >= 0 minutes (" + std::to_string(params.max_quote_age_minutes) + ")");
  }
  return Status::Ok();
}

Result<std::unique_ptr<CrossKernel>> make_arb_kernel(const CrossContext& ctx, const ArbParams& params) {
  if (auto st = validate_arb_params(params); !st) return st.error();
  return std::unique_ptr<CrossKernel>(std::make_unique<ArbKernel>(ctx, params));
}

CrossFamilyDef make_arb_family() {
  CrossFamilyDef def;
  def.name = "arb";
  const std::string src = "FEATURES.md 2.3";
  const ArbParams defaults;
  const std::string par = params_text(defaults);
  const std::string no_triplet = "the pair has no triplet whose 3 pairs are all available at g";
  const std::string no_tradable =
      "the pair has no tradable triplet at g (3 pairs available and each quoted at most max_quote_age minutes before "
      "g)";
  auto col = [&](const std::string& name, const std::string& formula, const std::string& unit, int lookback,
                 const std::string& null_when) {
    return ColumnInfo{name, "arb", par, formula, unit, lookback, src, null_when, false};
  };
  def.per_pair_columns = {
      col("arb_max_profit",
          "max(0, best), best = max over the pair's tradable triplets T and both cycle directions of "
          "(exp(+-eps_T) * (1 - cost) - 1) * 100; tradable T: all 3 legs quoted at most max_quote_age minutes before g",
          "percent", 0, no_tradable),
      col("arb_opportunity", "1 if best > threshold else 0", "0/1", 0, no_tradable),
      col("arb_direction",
          "+1 if the best cycle buys the pair (pays its quote for its base), -1 if it sells the pair "
          "(= -s * sign(eps_T*), s = sign of ln(close_pair) in eps_T* of the tradable triplet T* with the largest |eps|); "
          "0 without opportunity",
          "-1/0/+1", 0, no_tradable),
      col("arb_profit_pct", "best if arb_opportunity = 1 else 0", "percent", 0, no_tradable),
      col("arb_max_abs_eps_bp", "max over the pair's formable triplets of |1e4 * eps_T|", "bp", 0, no_triplet),
      col("arb_mean_abs_eps_bp", "mean over the pair's formable triplets of |1e4 * eps_T|", "bp", 0, no_triplet),
      col("arb_eps_z_60",
          "(m_g - mean(m)) / sample stdev(m), m = arb_max_abs_eps_bp over the last 60 grid rows incl. g "
          "(non-NULL values only)",
          "z", kArbZWindow - 1,
          no_triplet + "; fewer than 30 non-NULL values among the last 60 grid rows; all of them equal"),
  };
  // Equal by definition on the defaults (FEATURES.md section 5 exempts such columns when the
  // catalogue says why).
  if (defaults.threshold_pct == 0.0) {
    def.per_pair_columns[3].identical_to =
        "arb_max_profit: with threshold 0 % (the default) both are max(0, best) (best > 0 is the opportunity)";
  }
  def.per_pair_columns[5].identical_to =
      "cur_triangular_consistency: the same definition (mean |eps| in bp over the pair's formable triplets, "
      "FEATURES.md 2.1 and 2.3)";
  for (const ArbTriplet& t : arb_triplets()) {
    const std::string a = std::string(currency_code(t.ccy[0]));
    const std::string b = std::string(currency_code(t.ccy[1]));
    const std::string c = std::string(currency_code(t.ccy[2]));
    def.global_columns.push_back(col(
        "arb_" + t.code + "_eps_bp",
        "1e4 * (lp(" + a + "/" + b + ") + lp(" + b + "/" + c + ") + lp(" + c + "/" + a +
            ")), lp(X/Y) = ln(close_XY) if XY is canonical else -ln(close_YX); raw as-of closes",
        "bp", 0, "any of the triplet's 3 pairs is not in the universe or not available (stale/missing) at g"));
  }
  def.make = [](const CrossContext& ctx) -> std::unique_ptr<CrossKernel> {
    return std::make_unique<ArbKernel>(ctx, ArbParams{});
  };
  return def;
}

}  // namespace bqx::features
