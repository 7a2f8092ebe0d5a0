// "Undefined is NULL, never Inf" (FEATURES.md section 0): null_non_finite (src/features/kernel.h)
// replaces every NaN (any sign or payload, quiet or signalling) and +-Inf by the canonical kNull
// and leaves every finite value (including -0, subnormals and the largest doubles) bit for bit.
// Each SIMD path (AVX-512, AVX, SSE2) must agree with the scalar rule at every offset and length.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "features/kernel.h"

namespace bqx::features {
namespace {

uint64_t bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
double from_bits(uint64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

std::vector<double> special_values() {
  using L = std::numeric_limits<double>;
  return {0.0,
          -0.0,
          1.0,
          -2.5,
          L::denorm_min(),
          -L::denorm_min(),
          L::min(),
          L::max(),
          L::lowest(),
          L::infinity(),
          -L::infinity(),
          L::quiet_NaN(),
          -L::quiet_NaN(),
          L::signaling_NaN(),
          from_bits(0x7FF0000000000123ull),  // signalling NaN with a payload
          from_bits(0xFFF8000000000456ull),  // negative quiet NaN with a payload
          123.456,
          -1e-300};
}

std::vector<uint64_t> expected_bits(const std::vector<double>& in) {
  std::vector<uint64_t> out;
  for (double v : in) out.push_back(bits(std::isfinite(v) ? v : kNull));
  return out;
}

TEST(NullMapping, EveryLengthAndOffsetMatchesTheScalarRule) {
  const std::vector<double> specials = special_values();
  size_t non_finite_seen = 0;
  for (size_t n = 0; n <= 70; ++n) {
    for (size_t offset = 0; offset < 8; ++offset) {
      std::vector<double> buf(offset + n + 1, 7.0);
      for (size_t i = 0; i < n; ++i) buf[offset + i] = specials[(i * 7 + n + offset) % specials.size()];
      const std::vector<double> in(buf.begin() + static_cast<std::ptrdiff_t>(offset),
                                   buf.begin() + static_cast<std::ptrdiff_t>(offset + n));
      null_non_finite(buf.data() + offset, n);
      const std::vector<uint64_t> want = expected_bits(in);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(bits(buf[offset + i]), want[i]) << "n=" << n << " offset=" << offset << " i=" << i;
        non_finite_seen += std::isfinite(in[i]) ? 0 : 1;
      }
      EXPECT_EQ(buf[offset + n], 7.0) << "wrote past the end (n=" << n << ")";
      for (size_t i = 0; i < offset; ++i) EXPECT_EQ(buf[i], 7.0) << "wrote before the start";
    }
  }
  EXPECT_GT(non_finite_seen, 1000u);
}

TEST(NullMapping, AllFiniteRowIsUntouchedAndAllNonFiniteRowIsAllNull) {
  std::vector<double> row(1088);
  for (size_t i = 0; i < row.size(); ++i) row[i] = std::ldexp(static_cast<double>(i) - 500.0, static_cast<int>(i % 40) - 20);
  const std::vector<double> copy = row;
  null_non_finite(row.data(), row.size());
  for (size_t i = 0; i < row.size(); ++i) ASSERT_EQ(bits(row[i]), bits(copy[i]));
  std::vector<double> bad(1088, std::numeric_limits<double>::infinity());
  for (size_t i = 0; i < bad.size(); i += 3) bad[i] = -std::numeric_limits<double>::quiet_NaN();
  null_non_finite(bad.data(), bad.size());
  for (double v : bad) ASSERT_EQ(bits(v), bits(kNull));
}

#if defined(BQX_NULL_NON_FINITE_AVX2)
// The dispatcher takes the widest path the CPU has; the narrower ones are checked directly.
TEST(NullMapping, EachSimdPathAgreesWithTheScalarRule) {
  const std::vector<double> specials = special_values();
  std::vector<double> in;
  for (size_t i = 0; i < 203; ++i) in.push_back(specials[(i * 5) % specials.size()]);
  const std::vector<uint64_t> want = expected_bits(in);
  auto check = [&](size_t (*path)(double*, size_t), const char* name) {
    std::vector<double> v = in;
    const size_t done = path(v.data(), v.size());
    ASSERT_LE(done, v.size());
    ASSERT_GT(done, v.size() - 8) << name;
    for (size_t i = 0; i < done; ++i) ASSERT_EQ(bits(v[i]), want[i]) << name << " i=" << i;
  };
  if (cpu_has_avx512dq()) check(&null_non_finite_avx512, "avx512");
  if (cpu_has_avx()) check(&null_non_finite_avx, "avx");
  if (!cpu_has_avx()) GTEST_SKIP() << "no AVX on this CPU";
}
#endif

}  // namespace
}  // namespace bqx::features
