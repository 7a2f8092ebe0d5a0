// Reading bar files: HistData Generic ASCII M1, generic CSV with a header, Parquet.
// One set of rules serves `bqx ingest` and `bqx features` (DESIGN.md, CLI contract):
// every problem is reported as "<file>:<line>: <what> (<value>)" and a file with errors
// yields an Error (nothing partial) unless skip_bad_rows quarantines the bad rows.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/bars.h"
#include "core/result.h"

namespace bqx {

enum class BarFormat { Auto, HistData, Csv, Parquet };
Result<BarFormat> parse_bar_format(std::string_view text);  // auto|histdata|csv|parquet

struct ReadOptions {
  BarFormat format = BarFormat::Auto;
  // Offset of the file's local time east of UTC, in minutes. HistData's convention is
  // fixed EST without daylight saving, i.e. -300; used when a time carries no zone.
  std::optional<int> tz_offset_minutes;
  std::optional<Pair> pair;          // overrides the pair derived from the file name
  bool skip_bad_rows = false;        // quarantine bad rows instead of failing the file
  std::filesystem::path reject_path; // where quarantined rows go (empty: <file>.rejects.csv next to the db/output)
};

struct ReadReport {
  size_t rows_read = 0;            // data rows seen in the file
  size_t duplicates_dropped = 0;   // identical duplicate timestamps dropped
  size_t rows_rejected = 0;        // rows quarantined with skip_bad_rows
  bool reordered = false;          // rows were out of order and got sorted
  std::vector<std::string> rejects;  // "<file>:<line>: <what> (<value>)" for each quarantined row
};

struct BarFile {
  std::filesystem::path path;
  BarFormat format = BarFormat::HistData;
  BarFrame bars;   // validated, sorted by ts, unique ts
  ReadReport report;
};

// Reads and validates one file.
Result<BarFile> read_bar_file(const std::filesystem::path& path, const ReadOptions& options);

// Expands directories (recursively, sorted, files ending .csv/.txt/.parquet, case-insensitive)
// and checks that plain paths exist.
Result<std::vector<std::filesystem::path>> expand_inputs(const std::vector<std::filesystem::path>& inputs);

// Pair from a file name: DAT_ASCII_EURUSD_M1_202306.csv, EURUSD_M1.csv, eurusd.parquet, ...
Result<Pair> pair_from_filename(const std::filesystem::path& path);

}  // namespace bqx
