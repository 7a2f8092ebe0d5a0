#include "store/duckdb_conn.h"

#include <cmath>
#include <cstring>

namespace bqx::store {

size_t Table::column(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return i;
  }
  return columns.size();
}

std::string sql_quote(std::string_view text) {
  std::string out = "'";
  for (char ch : text) {
    if (ch == '\'') out += "''";
    else out.push_back(ch);
  }
  out.push_back('\'');
  return out;
}

Result<Connection> Connection::open(const std::filesystem::path& path, int threads) {
  Connection c;
  c.path_ = path;
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) != DuckDBSuccess) return make_error("duckdb: cannot create config");
  duckdb_set_config(config, "autoinstall_known_extensions", "false");
  duckdb_set_config(config, "autoload_known_extensions", "false");
  if (threads > 0) duckdb_set_config(config, "threads", std::to_string(threads).c_str());
  char* err = nullptr;
  const std::string p = path.empty() ? std::string() : path.string();
  const bool memory = p.empty() || p == ":memory:";
  const duckdb_state st = duckdb_open_ext(memory ? nullptr : p.c_str(), &c.db_, config, &err);
  duckdb_destroy_config(&config);
  if (st != DuckDBSuccess) {
    std::string msg = err ? err : "unknown error";
    if (err) duckdb_free(err);
    return make_error(p + ": cannot open database: " + msg);
  }
  if (duckdb_connect(c.db_, &c.con_) != DuckDBSuccess) return make_error(p + ": cannot connect to database");
  return c;
}

Connection::Connection(Connection&& o) noexcept : db_(o.db_), con_(o.con_), path_(std::move(o.path_)) {
  o.db_ = nullptr;
  o.con_ = nullptr;
}
Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    if (con_) duckdb_disconnect(&con_);
    if (db_) duckdb_close(&db_);
    db_ = o.db_;
    con_ = o.con_;
    path_ = std::move(o.path_);
    o.db_ = nullptr;
    o.con_ = nullptr;
  }
  return *this;
}
Connection::~Connection() {
  if (con_) duckdb_disconnect(&con_);
  if (db_) duckdb_close(&db_);
}

Status Connection::exec(const std::string& sql) {
  duckdb_result result;
  const duckdb_state st = duckdb_query(con_, sql.c_str(), &result);
  if (st != DuckDBSuccess) {
    std::string msg = duckdb_result_error(&result) ? duckdb_result_error(&result) : "query failed";
    duckdb_destroy_result(&result);
    return make_error("duckdb: " + msg);
  }
  duckdb_destroy_result(&result);
  return Status::Ok();
}

Result<Table> Connection::query(const std::string& sql) {
  duckdb_result result;
  if (duckdb_query(con_, sql.c_str(), &result) != DuckDBSuccess) {
    std::string msg = duckdb_result_error(&result) ? duckdb_result_error(&result) : "query failed";
    duckdb_destroy_result(&result);
    return make_error("duckdb: " + msg);
  }
  Table t;
  const idx_t ncol = duckdb_column_count(&result);
  for (idx_t c = 0; c < ncol; ++c) t.columns.emplace_back(duckdb_column_name(&result, c));
  const idx_t nrow = duckdb_row_count(&result);
  t.rows.reserve(nrow);
  for (idx_t r = 0; r < nrow; ++r) {
    std::vector<std::optional<std::string>> row;
    row.reserve(ncol);
    for (idx_t c = 0; c < ncol; ++c) {
      if (duckdb_value_is_null(&result, c, r)) {
        row.emplace_back(std::nullopt);
      } else {
        char* v = duckdb_value_varchar(&result, c, r);
        row.emplace_back(std::string(v ? v : ""));
        if (v) duckdb_free(v);
      }
    }
    t.rows.push_back(std::move(row));
  }
  duckdb_destroy_result(&result);
  return t;
}

Result<int64_t> Connection::query_int(const std::string& sql) {
  auto t = query(sql);
  if (!t) return t.error();
  if (t->rows.empty() || t->rows[0].empty() || !t->rows[0][0]) return make_error("duckdb: no value for: " + sql);
  return std::stoll(*t->rows[0][0]);
}

// ---------------------------------------------------------------------------

Result<ChunkAppender> ChunkAppender::create(Connection& con, const std::string& table, std::vector<Kind> kinds) {
  ChunkAppender a;
  a.table_ = table;
  if (duckdb_appender_create(con.raw(), nullptr, table.c_str(), &a.appender_) != DuckDBSuccess) {
    std::string msg = a.appender_ ? duckdb_appender_error(a.appender_) : "cannot create appender";
    return make_error("duckdb: appender for " + table + ": " + msg);
  }
  a.kinds_ = std::move(kinds);
  std::vector<duckdb_logical_type> types;
  for (Kind k : a.kinds_) {
    duckdb_type t = DUCKDB_TYPE_DOUBLE;
    switch (k) {
      case Kind::Varchar: t = DUCKDB_TYPE_VARCHAR; break;
      case Kind::Timestamp: t = DUCKDB_TYPE_TIMESTAMP; break;
      case Kind::BigInt: t = DUCKDB_TYPE_BIGINT; break;
      case Kind::Double: t = DUCKDB_TYPE_DOUBLE; break;
    }
    types.push_back(duckdb_create_logical_type(t));
  }
  a.chunk_ = duckdb_create_data_chunk(types.data(), types.size());
  for (auto& t : types) duckdb_destroy_logical_type(&t);
  a.capacity_ = duckdb_vector_size();
  for (size_t c = 0; c < a.kinds_.size(); ++c) {
    duckdb_vector v = duckdb_data_chunk_get_vector(a.chunk_, c);
    duckdb_vector_ensure_validity_writable(v);
    a.data_.push_back(duckdb_vector_get_data(v));
  }
  return a;
}

ChunkAppender::ChunkAppender(ChunkAppender&& o) noexcept
    : appender_(o.appender_), chunk_(o.chunk_), kinds_(std::move(o.kinds_)), data_(std::move(o.data_)),
      row_(o.row_), capacity_(o.capacity_), table_(std::move(o.table_)) {
  o.appender_ = nullptr;
  o.chunk_ = nullptr;
}
ChunkAppender& ChunkAppender::operator=(ChunkAppender&& o) noexcept {
  if (this != &o) {
    this->~ChunkAppender();
    new (this) ChunkAppender(std::move(o));
  }
  return *this;
}
ChunkAppender::~ChunkAppender() {
  if (chunk_) duckdb_destroy_data_chunk(&chunk_);
  if (appender_) duckdb_appender_destroy(&appender_);
}

void ChunkAppender::set_varchar(size_t col, std::string_view value) {
  duckdb_vector v = duckdb_data_chunk_get_vector(chunk_, col);
  duckdb_vector_assign_string_element_len(v, row_, value.data(), value.size());
}
void ChunkAppender::set_timestamp_minutes(size_t col, int64_t epoch_minutes) {
  static_cast<int64_t*>(data_[col])[row_] = epoch_minutes * 60 * 1000000;
}
void ChunkAppender::set_bigint(size_t col, int64_t value) { static_cast<int64_t*>(data_[col])[row_] = value; }
void ChunkAppender::set_double(size_t col, double value) {
  if (std::isnan(value)) {
    set_null(col);
    return;
  }
  static_cast<double*>(data_[col])[row_] = value;
}
void ChunkAppender::set_doubles(size_t first_col, const double* values, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(values[i])) {
      set_null(first_col + i);
    } else {
      static_cast<double*>(data_[first_col + i])[row_] = values[i];
    }
  }
}

void ChunkAppender::set_null(size_t col) {
  duckdb_vector v = duckdb_data_chunk_get_vector(chunk_, col);
  duckdb_validity_set_row_invalid(duckdb_vector_get_validity(v), row_);
}

Status ChunkAppender::end_row() {
  ++row_;
  if (row_ == capacity_) return flush_chunk();
  return Status::Ok();
}

Status ChunkAppender::flush_chunk() {
  if (row_ == 0) return Status::Ok();
  duckdb_data_chunk_set_size(chunk_, row_);
  if (duckdb_append_data_chunk(appender_, chunk_) != DuckDBSuccess) {
    return make_error("duckdb: append to " + table_ + ": " + duckdb_appender_error(appender_));
  }
  duckdb_data_chunk_reset(chunk_);
  for (size_t c = 0; c < kinds_.size(); ++c) {
    duckdb_vector v = duckdb_data_chunk_get_vector(chunk_, c);
    duckdb_vector_ensure_validity_writable(v);
    data_[c] = duckdb_vector_get_data(v);
  }
  row_ = 0;
  return Status::Ok();
}

Status ChunkAppender::close() {
  BQX_TRY(flush_chunk());
  if (duckdb_appender_close(appender_) != DuckDBSuccess) {
    return make_error("duckdb: closing appender for " + table_ + ": " + duckdb_appender_error(appender_));
  }
  return Status::Ok();
}

}  // namespace bqx::store
