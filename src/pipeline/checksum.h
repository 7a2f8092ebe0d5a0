// Partition checksums recorded in the manifest (and in exported Parquet metadata).
#pragma once

#include <cstdint>
#include <string>

#include "core/currency.h"
#include "core/time.h"

namespace bqx::pipeline {

// Order-dependent 64-bit checksum of partition rows: FNV-1a's xor-multiply over 64-bit
// words — each row's pair (canonical index + 1), ts (int64 epoch minutes) and the bit
// pattern of every value, NULL hashed as one canonical quiet NaN. Same rows in the same order -> same checksum, on any machine.
class PartitionChecksum {
 public:
  void add_row(Pair pair, EpochMinute ts, const double* values, size_t width);
  uint64_t value() const { return h_; }
  std::string hex() const;

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;  // FNV-1a 64-bit offset basis
};

}  // namespace bqx::pipeline
