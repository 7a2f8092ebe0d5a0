// Writers for store-free feature output (`bqx features --out FILE.csv|FILE.parquet`).
// Output goes to a temporary file that is renamed into place by finish(), so a failed
// or interrupted run never leaves a half-written file under the requested name.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/currency.h"
#include "core/result.h"
#include "core/time.h"

namespace bqx::store {

class FeatureSink {
 public:
  virtual ~FeatureSink() = default;
  // One row: pair, ts (bar open time, UTC) and the value columns (NaN = NULL).
  virtual Status write(Pair pair, EpochMinute ts, const double* values) = 0;
  // Publishes the file under its final name.
  virtual Status finish() = 0;
};

// Chooses CSV or Parquet by the extension of `out` (.csv / .parquet).
// CSV: header `pair,ts,<columns>`, ts as ISO 8601 UTC, doubles with round-trip
// precision (%.17g), NULL as an empty field. Parquet: pair VARCHAR, ts TIMESTAMP,
// DOUBLE columns, ZSTD, written through DuckDB; `metadata` becomes key-value file metadata.
Result<std::unique_ptr<FeatureSink>> open_feature_sink(
    const std::filesystem::path& out, const std::vector<std::string>& columns,
    const std::vector<std::pair<std::string, std::string>>& metadata = {});

// Formats a double exactly like printf("%.17g") (round-trip precision).
size_t format_double(double v, char* buf);

}  // namespace bqx::store
