#include "store/feature_store.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "features/registry.h"

namespace bqx::store {

void PartitionChecksum::add_row(Pair pair, EpochMinute ts, const double* values, size_t width) {
  auto mix = [this](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      h_ ^= p[i];
      h_ *= 0x100000001b3ull;  // FNV-1a 64-bit prime
    }
  };
  const std::string name = pair_name(pair);
  mix(name.data(), name.size());
  mix(&ts, sizeof ts);
  for (size_t i = 0; i < width; ++i) {
    uint64_t bits;
    const double v = values[i];
    if (std::isnan(v)) {
      bits = 0x7ff8000000000000ull;  // every NULL hashes alike, whatever NaN payload carried it
    } else {
      std::memcpy(&bits, &v, sizeof bits);
    }
    mix(&bits, sizeof bits);
  }
}

std::string PartitionChecksum::hex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h_));
  return buf;
}

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
                      std::to_string(want.size()) + " (store made by another version: recompute with `bqx run --force`)");
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
