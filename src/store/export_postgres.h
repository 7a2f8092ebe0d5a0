// `bqx export --postgres URL`: the store's features and labels in PostgreSQL (DESIGN.md "Stores").
//
// Schema bqx:
//   bqx.<family>(pair text, ts timestamp, <the family's columns double precision>,
//                PRIMARY KEY (pair, ts)) PARTITION BY RANGE (ts)   -- one table per feature family
//   bqx.labels(pair text, ts timestamp, <label columns>, PRIMARY KEY (pair, ts)) PARTITION BY RANGE (ts)
//   bqx.<table>_YYYY_MM  -- monthly partitions, created on demand
//   bqx.features         -- view joining every family table on (pair, ts), columns in catalogue order
//   bqx.export_manifest(pair, month, rows, label_rows, checksum, catalogue_version, exported_at)
//
// Data moves with binary COPY (PGCOPY, network byte order, NULL as length -1), so doubles
// round-trip bit for bit. Each (pair, month) partition is one transaction: delete its rows
// in every table, COPY features and labels, upsert export_manifest, commit. A partition whose
// export_manifest checksum equals the store's is skipped (unless forced), so an interrupted
// export resumes where it stopped and never leaves a partial partition behind.
#pragma once

#include <string>
#include <vector>

#include "store/duckdb_conn.h"
#include "store/export_common.h"

namespace bqx::store {

// One PostgreSQL table and the store columns it holds.
struct PostgresTable {
  std::string name;                  // "ta_rate", ..., "labels"
  std::string source;                // DuckDB table: "features" or "labels"
  std::vector<std::string> columns;  // value columns, catalogue order
};

// Every feature family table (catalogue order of first appearance), then labels.
std::vector<PostgresTable> postgres_tables();

// The URL with any password replaced by "***", for messages.
std::string redact_postgres_url(const std::string& url);

// A libpq message (newline-terminated, possibly several lines) as one line for
// `bqx: <url>: <message>` errors.
std::string libpq_message_line(const char* message);

// The export_manifest checksum of a (pair, month) partition: both manifest checksums
// ("-" for a kind the store does not have).
std::string postgres_partition_checksum(const std::string& features_checksum, const std::string& labels_checksum);

Result<ExportSummary> export_postgres(Connection& con, const std::string& url, const ExportSelection& selection,
                                      const ExportProgressFn& progress = {});

}  // namespace bqx::store
