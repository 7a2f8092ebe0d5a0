// Thin RAII layer over DuckDB's C API (the only DuckDB interface we use).
// Extension autoinstall/autoload are off: the engine never touches the network.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include <duckdb.h>

namespace bqx::store {

// A fully materialised small query result (for metadata queries, not bulk data).
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  size_t column(std::string_view name) const;  // index or columns.size()
};

class Connection {
 public:
  // path "" or ":memory:" opens an in-memory database.
  static Result<Connection> open(const std::filesystem::path& path, int threads = 0);
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  Status exec(const std::string& sql);
  Result<Table> query(const std::string& sql);
  Result<int64_t> query_int(const std::string& sql);  // first column of the first row
  duckdb_connection raw() const { return con_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  Connection() = default;
  duckdb_database db_ = nullptr;
  duckdb_connection con_ = nullptr;
  std::filesystem::path path_;
};

// Appends columnar data in chunks of duckdb_vector_size() rows via data chunks
// (DESIGN.md "Scale notes": never one value at a time).
class ChunkAppender {
 public:
  enum class Kind { Varchar, Timestamp, BigInt, Double };
  static Result<ChunkAppender> create(Connection& con, const std::string& table, std::vector<Kind> kinds);
  ChunkAppender(ChunkAppender&&) noexcept;
  ChunkAppender& operator=(ChunkAppender&&) noexcept;
  ~ChunkAppender();

  // Column setters for the current row of the current chunk.
  void set_varchar(size_t col, std::string_view value);
  void set_timestamp_minutes(size_t col, int64_t epoch_minutes);
  void set_bigint(size_t col, int64_t value);
  void set_double(size_t col, double value);  // NaN -> NULL
  // Columns first_col .. first_col+n-1 of the current row from a row of doubles (NaN -> NULL).
  void set_doubles(size_t first_col, const double* values, size_t n);
  void set_null(size_t col);
  // Finishes the current row; flushes a full chunk.
  Status end_row();
  Status close();  // flushes the last chunk and closes the appender

 private:
  ChunkAppender() = default;
  Status flush_chunk();
  duckdb_appender appender_ = nullptr;
  duckdb_data_chunk chunk_ = nullptr;
  std::vector<Kind> kinds_;
  std::vector<void*> data_;
  size_t row_ = 0;
  size_t capacity_ = 0;
  std::string table_;
};

// SQL string literal with quotes escaped.
std::string sql_quote(std::string_view text);

}  // namespace bqx::store
