// What `bqx export` shares between its Parquet and PostgreSQL targets: the partitions to
// export (read from the store's manifest), their UTC month bounds, progress reporting, and
// a streaming reader of wide DuckDB results in data chunks (DESIGN.md "Scale notes":
// bulk data moves in vectors, never one value at a time through strings).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/duckdb_conn.h"

namespace bqx::store {

// Which partitions to export. Empty lists mean "all in the manifest".
struct ExportSelection {
  std::vector<std::string> pairs;   // canonical names, e.g. "EURUSD"
  std::vector<std::string> months;  // "YYYY-MM"
  bool force = false;               // re-export partitions that are already up to date
};

// Parses the CLI's "--pairs all|EURUSD,GBPUSD" and "--months 2024-07,2024-08" into a
// selection; errors name the bad element.
Result<ExportSelection> parse_export_selection(const std::string& pairs, const std::string& months, bool force);

// One manifest entry: a (kind, pair, month) partition as `bqx run` committed it.
struct ManifestPartition {
  std::string kind;  // "features" or "labels"
  std::string pair;
  std::string month;  // "YYYY-MM", UTC calendar month
  int64_t rows = 0;
  std::string checksum;
};

// The manifest's partitions (the latest entry of each), filtered by the selection, ordered
// by month, pair, kind. Fails when the store has no manifest (nothing was computed).
Result<std::vector<ManifestPartition>> list_manifest_partitions(Connection& con, const ExportSelection& selection);

// SQL timestamp literals bounding a "YYYY-MM" month: [begin, end).
struct MonthBounds {
  std::string begin;  // "2024-07-01 00:00:00"
  std::string end;    // "2024-08-01 00:00:00"
};
Result<MonthBounds> month_bounds(const std::string& month);

// Reported after each partition (exported or skipped).
struct ExportProgress {
  size_t done = 0;
  size_t total = 0;
  std::string what;  // e.g. "features EURUSD 2024-07"
  bool skipped = false;
  int64_t rows = 0;     // feature rows written so far
  uint64_t bytes = 0;   // bytes written so far
  double seconds = 0;   // since the export started
};
using ExportProgressFn = std::function<void(const ExportProgress&)>;

struct ExportSummary {
  size_t exported = 0;  // partitions written
  size_t skipped = 0;   // partitions already up to date
  int64_t rows = 0;     // feature rows written (their label rows are not counted again)
  uint64_t bytes = 0;   // bytes written (Parquet file sizes / COPY payload)
  double seconds = 0;
};

// A query result read chunk by chunk (up to duckdb_vector_size() rows each) through the
// streaming C API, so a partition never needs to be materialised as a whole.
class ChunkReader {
 public:
  static Result<ChunkReader> open(Connection& con, const std::string& sql);
  ChunkReader(ChunkReader&&) noexcept;
  ChunkReader& operator=(ChunkReader&&) noexcept;
  ~ChunkReader();

  size_t column_count() const { return columns_; }
  // The next chunk, or nullptr at the end; the chunk stays valid until the next call.
  // Check error() after the end: a failed fetch also returns nullptr.
  duckdb_data_chunk next();
  const std::string& error() const { return error_; }

 private:
  ChunkReader() = default;
  void release();
  duckdb_prepared_statement prepared_ = nullptr;
  duckdb_result result_{};
  bool has_result_ = false;
  duckdb_data_chunk chunk_ = nullptr;
  size_t columns_ = 0;
  std::string error_;
};

// Quotes an SQL identifier ("name" with embedded quotes doubled); valid in DuckDB and PostgreSQL.
std::string sql_identifier(const std::string& name);

}  // namespace bqx::store
