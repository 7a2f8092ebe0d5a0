#include "store/feature_store.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "features/registry.h"
#include "pipeline/checksum.h"

namespace bqx::store {

namespace {
std::string create_value_table(const std::string& table, const std::vector<std::string>& columns) {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + table + " (pair VARCHAR NOT NULL, ts TIMESTAMP NOT NULL";
  for (const auto& c : columns) sql += ", \"" + c + "\" DOUBLE";
  return sql + ")";
}

// The stored table must have exactly the catalogue's columns in order: a store written by
// another catalogue version is not silently mixed with this one.
Status check_columns(Connection& con, const std::string& table, const std::vector<std::string>& expected) {
  auto t = con.query("SELECT column_name FROM information_schema.columns WHERE table_name = " + sql_quote(table) +
                     " ORDER BY ordinal_position");
  if (!t) return t.error();
  std::vector<std::string> have;
  for (const auto& row : t->rows) have.push_back(row[0].value_or(""));
  std::vector<std::string> want = {"pair", "ts"};
  want.insert(want.end(), expected.begin(), expected.end());
  if (have != want) {
    return make_error("table " + table + " in this store has " + std::to_string(have.size()) +
                      " columns but catalogue " + features::kCatalogueVersion + " needs " +
                      std::to_string(want.size()) +
                      " (store made by another version: compute into a new store, or DROP TABLE features, "
                      "labels, manifest, state and run `bqx run` again)");
  }
  return Status::Ok();
}
}  // namespace

Status ensure_feature_schema(Connection& con) {
  BQX_TRY(con.exec(create_value_table("features", feature_column_names())));
  BQX_TRY(con.exec(create_value_table("labels", label_column_names())));
  BQX_TRY(con.exec(
      "CREATE TABLE IF NOT EXISTS manifest (kind VARCHAR NOT NULL, pair VARCHAR NOT NULL, month VARCHAR NOT NULL, "
      "rows BIGINT NOT NULL, checksum VARCHAR NOT NULL, code_version VARCHAR NOT NULL, catalogue_version VARCHAR NOT NULL, "
      "universe VARCHAR NOT NULL, complete BOOLEAN NOT NULL, attempts INTEGER NOT NULL, compute_ms DOUBLE, "
      "write_ms DOUBLE, finished_at TIMESTAMP NOT NULL)"));
  BQX_TRY(con.exec(
      "CREATE TABLE IF NOT EXISTS state (month VARCHAR NOT NULL, universe VARCHAR NOT NULL, "
      "catalogue_version VARCHAR NOT NULL, bytes BLOB NOT NULL, created_at TIMESTAMP NOT NULL)"));
  BQX_TRY(check_columns(con, "features", feature_column_names()));
  BQX_TRY(check_columns(con, "labels", label_column_names()));
  return Status::Ok();
}

Result<std::string> stored_partition_checksum(Connection& con, const std::string& table, Pair pair, MonthId month,
                                              int64_t* rows) {
  const auto ts_literal = [](EpochMinute t) { return "TIMESTAMP '" + format_compact(t) + ":00'"; };
  const std::string sql = "SELECT * EXCLUDE (pair, ts), epoch(ts)::BIGINT // 60 AS bqx_ts_minutes FROM " + table +
                          " WHERE pair = " + sql_quote(pair_name(pair)) + " AND ts >= " +
                          ts_literal(month_start(month)) + " AND ts < " + ts_literal(month_start(month + 1)) +
                          " ORDER BY ts";
  duckdb_result result;
  if (duckdb_query(con.raw(), sql.c_str(), &result) != DuckDBSuccess) {
    std::string msg = duckdb_result_error(&result);
    duckdb_destroy_result(&result);
    return make_error("duckdb: " + msg);
  }
  const idx_t ncol = duckdb_column_count(&result);
  const size_t width = ncol - 1;
  pipeline::PartitionChecksum sum;
  int64_t count = 0;
  std::vector<double> row(width);
  for (;;) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(result);
    if (!chunk) break;
    const idx_t n = duckdb_data_chunk_get_size(chunk);
    std::vector<const double*> data(width);
    std::vector<uint64_t*> validity(width);
    for (size_t c = 0; c < width; ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
      data[c] = static_cast<const double*>(duckdb_vector_get_data(v));
      validity[c] = duckdb_vector_get_validity(v);
    }
    const auto* ts = static_cast<const int64_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, width)));
    for (idx_t i = 0; i < n; ++i) {
      for (size_t c = 0; c < width; ++c) {
        row[c] = (validity[c] && !duckdb_validity_row_is_valid(validity[c], i)) ? std::nan("") : data[c][i];
      }
      sum.add_row(pair, ts[i], row.data(), width);
      ++count;
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  duckdb_destroy_result(&result);
  if (rows) *rows = count;
  return sum.hex();
}

std::vector<std::string> feature_column_names() {
  std::vector<std::string> names;
  for (const auto& c : features::all_feature_columns()) names.push_back(c.name);
  return names;
}

std::vector<std::string> label_column_names() {
  std::vector<std::string> names;
  for (const auto& c : features::label_columns()) names.push_back(c.name);
  return names;
}

}  // namespace bqx::store
