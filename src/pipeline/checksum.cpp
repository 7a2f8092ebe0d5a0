#include "pipeline/checksum.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace bqx::pipeline {

void PartitionChecksum::add_row(Pair pair, EpochMinute ts, const double* values, size_t width) {
  // FNV-1a's xor-multiply step applied to whole 64-bit words (one multiply per value, not
  // eight): the checksum must keep up with ~1 billion values per month.
  constexpr uint64_t kPrime = 0x100000001b3ull;  // FNV-1a 64-bit prime
  h_ = (h_ ^ static_cast<uint64_t>(pair_index(pair) + 1)) * kPrime;
  h_ = (h_ ^ static_cast<uint64_t>(ts)) * kPrime;
  for (size_t i = 0; i < width; ++i) {
    uint64_t bits;
    const double v = values[i];
    if (std::isnan(v)) {
      bits = 0x7ff8000000000000ull;  // every NULL hashes alike, whatever NaN payload carried it
    } else {
      std::memcpy(&bits, &v, sizeof bits);
    }
    h_ = (h_ ^ bits) * kPrime;
  }
}

std::string PartitionChecksum::hex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h_));
  return buf;
}

}  // namespace bqx::pipeline
