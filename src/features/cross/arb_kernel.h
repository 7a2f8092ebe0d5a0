// Triangular arbitrage (FEATURES.md 2.3): the triplet table, the kernel's parameters and a
// factory taking them, shared by arb.cpp, its tests and its benchmark.
//
// Triplets: every 3-currency set {A, B, C} (A < B < C in the currency order EUR USD GBP JPY
// AUD NZD CAD CHF) whose three pairs exist among the canonical 28 - all C(8,3) = 56 of them.
// eps_T = lp(A/B) + lp(B/C) + lp(C/A) on raw as-of closes, lp(X/Y) = ln(close_XY) if XY is
// canonical, else -ln(close_YX). Starting with one unit of A and trading A->B->C->A ("the
// forward cycle") returns exp(eps) units of A; the reverse cycle A->C->B->A returns exp(-eps).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "features/cross/cross_kernel.h"

namespace bqx::features {

inline constexpr int kArbTripletCount = 56;
inline constexpr int kArbPerPairColumns = 7;
inline constexpr int kArbZWindow = 60;  // grid rows of arb_eps_z_60

// Default parameters (recorded in the catalogue, ColumnInfo::params).
// Round-trip cost of the 3 trades as a fraction: 3 bp.
inline constexpr double kArbDefaultCost = 0.0003;
// Profit threshold in percent above which arb_opportunity = 1 (FEATURES.md default 0 %).
inline constexpr double kArbDefaultThresholdPct = 0.0;
// The trading columns (arb_max_profit, arb_opportunity, arb_direction, arb_profit_pct) only
// use "tradable" triplets: all three legs quoted at most this many minutes before g
// (0 = each leg has a bar at g). An as-of quote up to max_staleness (5) minutes old is not a
// price one can trade at: on the generated 28-pair month, triangles with a 1-5 minute old leg
// show |eps| up to ~23 bp (the legs moved meanwhile; 0.1 % of them exceed 6 bp), while
// triangles of same-minute quotes stay below ~1.8 bp, under the 3 bp cost. With age 0 and
// threshold 0 % arb_opportunity recovers the injected 5-20 bp mispricings with precision and
// recall 1.0 (seeds 42, 7, 1); trading on 5-minute-old legs instead gives precision < 0.1 at
// threshold 0 and no threshold reaches 0.95 for both (tests/features/arb_test.cpp,
// ArbGenerated.RecoversInjectedMispricings).
inline constexpr int kArbDefaultMaxQuoteAgeMinutes = 0;

struct ArbParams {
  double cost = kArbDefaultCost;                    // fraction, 0 <= cost < 1
  double threshold_pct = kArbDefaultThresholdPct;   // percent, finite, >= 0
  int max_quote_age_minutes = kArbDefaultMaxQuoteAgeMinutes;  // >= 0
};

struct ArbTriplet {
  std::array<Currency, 3> ccy;  // (A, B, C)
  std::array<int, 3> slot;      // canonical slot of the pair of legs A/B, B/C, C/A
  std::array<int, 3> sign;      // +1 if the leg is the canonical pair, -1 if its inverse
  std::string code;             // "eurusdgbp"
};

// The 56 triplets in column order (lexicographic in the currency order).
const std::array<ArbTriplet, kArbTripletCount>& arb_triplets();

// Validates the parameters ("arb: cost must be in [0, 1) (...)").
Status validate_arb_params(const ArbParams& params);

// A kernel with explicit parameters; make_arb_family() uses the defaults.
Result<std::unique_ptr<CrossKernel>> make_arb_kernel(const CrossContext& ctx, const ArbParams& params);

}  // namespace bqx::features
