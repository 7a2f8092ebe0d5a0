// Feature, label, manifest and state tables of the DuckDB store (DESIGN.md "Stores",
// "Partitions, state and resumability"). Written by `bqx run`, read by `bqx export`
// and `bqx validate`. Documented for users in the README ("Querying the store").
//
//   features(pair VARCHAR, ts TIMESTAMP, <every catalogue feature column DOUBLE, catalogue order>)
//   labels(pair VARCHAR, ts TIMESTAMP, <every label column DOUBLE>)
//   manifest(kind VARCHAR,            -- 'features' or 'labels'
//            pair VARCHAR, month VARCHAR,   -- partition: pair x UTC calendar month 'YYYY-MM'
//            rows BIGINT,
//            checksum VARCHAR,         -- 16 hex digits, see pipeline::PartitionChecksum
//            code_version VARCHAR, catalogue_version VARCHAR, universe VARCHAR,
//            complete BOOLEAN,          -- labels: every label's horizon was inside the data
//            attempts INTEGER, compute_ms DOUBLE, write_ms DOUBLE, finished_at TIMESTAMP)
//   state(month VARCHAR,              -- the month this snapshot ENDS (engine state after it)
//         universe VARCHAR, catalogue_version VARCHAR, bytes BLOB, created_at TIMESTAMP)
//
// NULL is NULL (never 0, never NaN). A month's features rows, labels rows, manifest
// entries and end state are committed in one transaction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/currency.h"
#include "core/result.h"
#include "core/time.h"
#include "pipeline/checksum.h"
#include "store/duckdb_conn.h"

namespace bqx::store {

inline constexpr const char* kCodeVersion = "bqx-0.1.0";

// Creates the features, labels, manifest and state tables if they are missing. Fails
// when an existing features table was made with another catalogue (column list differs).
Status ensure_feature_schema(Connection& con);

using pipeline::PartitionChecksum;  // see src/pipeline/checksum.h

// Recomputes a stored partition's checksum from the table rows themselves (ordered by
// ts): equal to the manifest's checksum when the rows on disk are the rows computed.
// table: "features" or "labels".
Result<std::string> stored_partition_checksum(Connection& con, const std::string& table, Pair pair, MonthId month,
                                              int64_t* rows = nullptr);

// A run-time description of the feature/label columns for SQL generation.
std::vector<std::string> feature_column_names();
std::vector<std::string> label_column_names();

}  // namespace bqx::store
