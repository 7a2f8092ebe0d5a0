// Small deterministic bar frames for unit and property tests (independent of the
// market generator so kernel tests do not move when the generator is tuned).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/bars.h"

namespace bqx::testing_frames {

inline uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline double uniform01(uint64_t& s) { return static_cast<double>(splitmix64(s) >> 11) * 0x1.0p-53; }
inline double normal(uint64_t& s) {
  const double u1 = uniform01(s) + 1e-300, u2 = uniform01(s);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// n bars of a random walk around `level` starting 2024-07-01 00:00 UTC (a Monday);
// ~3% of minutes missing, occasional 30-minute gaps, tick volume and bid/ask present.
inline BarFrame random_walk_frame(size_t n, uint64_t seed, double level = 1.08, Pair pair = Pair{Currency::EUR, Currency::USD}) {
  BarFrame f;
  f.pair = pair;
  f.reserve(n);
  uint64_t s = seed * 7919 + 17;
  EpochMinute t = make_epoch_minute(2024, 7, 1, 0, 0);
  double price = level;
  const double pip = level > 20 ? 0.001 : 0.00001;
  while (f.size() < n) {
    t += 1;
    const double u = uniform01(s);
    if (u < 0.03) continue;               // missing minute
    if (u < 0.0315) { t += 30; continue; }  // a gap
    const double open = price;
    const double ret = 0.00012 * normal(s) / std::sqrt(10.0);
    price = std::round(price * std::exp(ret) / pip) * pip;
    const double close = price;
    const double hi = std::round(std::max(open, close) * (1 + std::fabs(0.00004 * normal(s))) / pip) * pip;
    const double lo = std::round(std::min(open, close) * (1 - std::fabs(0.00004 * normal(s))) / pip) * pip;
    const double volume = 1 + std::floor(50 * uniform01(s));
    const double spread = pip * (1 + std::floor(3 * uniform01(s)));
    f.push_back(Bar{t, open, std::max(hi, std::max(open, close)), std::min(lo, std::min(open, close)), close, volume,
                    close, close + spread});
  }
  return f;
}

}  // namespace bqx::testing_frames
