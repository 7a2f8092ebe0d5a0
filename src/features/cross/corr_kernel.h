// corr: cross-pair correlation on the as-of grid (FEATURES.md 2.4). Constants and the
// column order shared by corr.cpp, its tests and its benchmark.
//
// Column order (27 per pair):
//   for W in {60, 240, 1440}: corr_base_mean_W, corr_base_min_W, corr_base_max_W,
//                             corr_quote_mean_W, corr_quote_min_W, corr_quote_max_W   (18)
//   corr_market_60, corr_market_240, corr_market_1440                                   (3)
//   corr_base_strength_60, corr_base_strength_240,
//   corr_quote_strength_60, corr_quote_strength_240                                     (4)
//   corr_lead_lag_240                                                                   (1)
//   corr_dispersion_60                                                                  (1)
#pragma once

#include <array>

namespace bqx::features {

inline constexpr std::array<int, 3> kCorrWindows = {60, 240, 1440};
inline constexpr std::array<int, 2> kCorrStrengthWindows = {60, 240};
inline constexpr int kCorrLeadLagWindow = 240;
inline constexpr int kCorrDispersionWindow = 60;
inline constexpr int kCorrColumns = 27;

// A correlation over the last W grid rows (g-W+1 .. g) uses the rows where both series are
// non-NULL (pairwise complete). It is NULL before W grid rows of returns exist (grid row < W),
// when fewer than W/2 rows are jointly non-NULL, or when either series is constant over them
// (no non-zero value, or centred sum of squares <= kCorrZeroVariance * uncentred one).
inline constexpr double kCorrZeroVariance = 1e-10;

// Column offsets inside the 27.
inline constexpr int kCorrMarketOffset = 18;
inline constexpr int kCorrStrengthOffset = 21;
inline constexpr int kCorrLeadLagOffset = 25;
inline constexpr int kCorrDispersionOffset = 26;

}  // namespace bqx::features
