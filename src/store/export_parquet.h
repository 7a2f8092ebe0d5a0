// `bqx export --parquet DIR`: the store's features and labels as hive-partitioned Parquet
// (DESIGN.md "Stores"):
//   DIR/features/pair=EURUSD/month=2024-07/part-0.parquet
//   DIR/labels/pair=EURUSD/month=2024-07/part-0.parquet
// Each file holds one manifest partition ordered by ts (columns pair, ts, then the catalogue
// columns), ZSTD-compressed, with key-value metadata naming what produced it:
//   bqx_catalogue_version, bqx_code_version, bqx_kind, bqx_pair, bqx_month, bqx_rows,
//   bqx_checksum (the manifest's partition checksum).
// A file is written under a temporary name and renamed into place, so an interrupted export
// never leaves a partial file under the final name. Re-export skips a file whose metadata
// already carries the partition's checksum and catalogue version (unless forced) and
// replaces any other file.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "store/duckdb_conn.h"
#include "store/export_common.h"

namespace bqx::store {

std::filesystem::path parquet_partition_path(const std::filesystem::path& dir, const std::string& kind,
                                             const std::string& pair, const std::string& month);

// The file's key-value metadata (keys and values as text); an error when the file is
// missing or not a readable Parquet file.
Result<std::map<std::string, std::string>> read_parquet_kv_metadata(Connection& con,
                                                                    const std::filesystem::path& file);

Result<ExportSummary> export_parquet(Connection& con, const std::filesystem::path& dir,
                                     const ExportSelection& selection, const ExportProgressFn& progress = {});

}  // namespace bqx::store
