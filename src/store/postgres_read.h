// Reading a PostgreSQL database back (for `bqx validate --postgres`): text rows of small
// metadata queries, and bulk rows streamed with binary COPY so doubles arrive bit for bit
// (PGCOPY format: https://www.postgresql.org/docs/15/sql-copy.html "Binary Format").
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

struct pg_conn;

namespace bqx::store {

// One field of a binary COPY row: `length` bytes at `data`, length -1 for NULL.
struct CopyField {
  const char* data = nullptr;
  int32_t length = -1;
  bool is_null() const { return length < 0; }
};

// Decoders of binary COPY fields (network byte order).
inline uint64_t copy_u64(const CopyField& f) {
  uint64_t be;
  std::memcpy(&be, f.data, 8);
  return __builtin_bswap64(be);
}
// A `timestamp` field as microseconds since 1970-01-01 (PostgreSQL counts from 2000-01-01).
inline int64_t copy_timestamp_micros(const CopyField& f) {
  return static_cast<int64_t>(copy_u64(f)) + 946684800LL * 1000000LL;
}

class PostgresReader {
 public:
  // Connects; errors name the URL with its password redacted.
  static Result<PostgresReader> connect(const std::string& url);
  PostgresReader(PostgresReader&&) noexcept;
  PostgresReader& operator=(PostgresReader&&) noexcept;
  ~PostgresReader();

  // Text rows of a query (small results only); NULL as nullopt.
  Result<std::vector<std::vector<std::optional<std::string>>>> query(const std::string& sql);
  // Runs COPY (select_sql) TO STDOUT (FORMAT binary) and hands each row to on_row, one
  // server message at a time (bounded memory). A failing on_row stops the copy.
  using RowFn = std::function<Status(std::span<const CopyField>)>;
  Status copy_out(const std::string& select_sql, const RowFn& on_row);
  // A SQL string literal escaped for this connection.
  std::string literal(const std::string& text) const;
  const std::string& url() const { return url_; }

 private:
  PostgresReader() = default;
  Error fail(const std::string& what) const;
  pg_conn* conn_ = nullptr;
  std::string url_;  // redacted
};

}  // namespace bqx::store
