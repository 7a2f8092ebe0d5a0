// Deterministic random numbers for the synthetic market (io/generator.cpp).
// Everything here is our own code on top of std::log/std::sqrt/std::pow, so a seed gives
// the same numbers on every standard library (std::*_distribution is implementation-defined
// and must not be used by the generator).
//  - splitmix64 (Steele, Lea, Flood 2014) to derive independent stream seeds;
//  - xoshiro256** (Blackman, Vigna 2018) as the stream generator;
//  - normals by Marsaglia's polar method, Student-t by Bailey's polar method (1994),
//    Poisson by Knuth's multiplication method (small means only).
#pragma once

#include <cmath>
#include <cstdint>

namespace bqx::gen {

inline uint64_t splitmix64_next(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint64_t mix64(uint64_t z) {
  uint64_t state = z;
  return splitmix64_next(state);
}

// Seed of the stream (domain, a, b) of a run: independent streams per currency, per pair
// and per purpose, so a pair's numbers never depend on which other pairs are generated.
inline uint64_t stream_seed(uint64_t seed, uint64_t domain, uint64_t a, uint64_t b = 0) {
  uint64_t x = mix64(seed ^ 0x6A09E667F3BCC909ull);
  x = mix64(x ^ (domain * 0xBB67AE8584CAA73Bull));
  x = mix64(x ^ ((a + 1) * 0x3C6EF372FE94F82Bull));
  x = mix64(x ^ ((b + 1) * 0xA54FF53A5F1D36F1ull));
  return x;
}

class Rng {
 public:
  Rng() : Rng(0) {}
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (auto& w : s_) w = splitmix64_next(x);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // (0, 1): safe for log().
  double uniform_open() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  // Integer in [0, n), n >= 1 (bias < 2^-53 * n, irrelevant here).
  int64_t below(int64_t n) {
    const auto k = static_cast<int64_t>(uniform() * static_cast<double>(n));
    return k < n ? k : n - 1;
  }
  // Standard normal, Marsaglia polar method (keeps the second value for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, w;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      w = u * u + v * v;
    } while (w >= 1.0 || w == 0.0);
    const double f = std::sqrt(-2.0 * std::log(w) / w);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }
  // Student-t with nu > 2 degrees of freedom scaled to unit variance (Bailey's polar method).
  double student_t_unit(double nu) {
    double u, v, w;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      w = u * u + v * v;
    } while (w >= 1.0 || w == 0.0);
    const double t = u * std::sqrt(nu * (std::pow(w, -2.0 / nu) - 1.0) / w);
    return t * std::sqrt((nu - 2.0) / nu);
  }
  // Poisson(mean), Knuth's method; fine for the small means the generator uses.
  int poisson(double mean) {
    const double limit = std::exp(-mean);
    int k = 0;
    double p = uniform_open();
    while (p > limit) {
      ++k;
      p *= uniform_open();
    }
    return k;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace bqx::gen
