#include "store/export_common.h"

#include <algorithm>

#include "core/currency.h"
#include "core/time.h"

namespace bqx::store {

Result<ExportSelection> parse_export_selection(const std::string& pairs, const std::string& months, bool force) {
  ExportSelection s;
  s.force = force;
  if (!pairs.empty()) {
    auto list = parse_pair_list(pairs);
    if (!list) return make_error("--pairs: " + list.error().message);
    for (Pair p : canonical_order(*list)) s.pairs.push_back(pair_name(p));
  }
  size_t start = 0;
  while (start < months.size()) {
    size_t comma = months.find(',', start);
    if (comma == std::string::npos) comma = months.size();
    const std::string item = months.substr(start, comma - start);
    auto m = parse_month(item);
    if (!m) return make_error("--months: " + m.error().message);
    s.months.push_back(format_month(*m));
    start = comma + 1;
  }
  std::sort(s.months.begin(), s.months.end());
  s.months.erase(std::unique(s.months.begin(), s.months.end()), s.months.end());
  return s;
}

namespace {
std::string in_list(const std::vector<std::string>& values) {
  std::string sql;
  for (const auto& v : values) sql += (sql.empty() ? "" : ", ") + sql_quote(v);
  return "(" + sql + ")";
}
}  // namespace

Result<std::vector<ManifestPartition>> list_manifest_partitions(Connection& con, const ExportSelection& selection) {
  auto has = con.query_int("SELECT count(*) FROM information_schema.tables WHERE table_name = 'manifest'");
  if (!has) return has.error();
  if (*has == 0) {
    return make_error(con.path().string() + ": no manifest table: nothing has been computed yet (run `bqx run` first)");
  }
  std::string where = "kind IN ('features', 'labels')";
  if (!selection.pairs.empty()) where += " AND pair IN " + in_list(selection.pairs);
  if (!selection.months.empty()) where += " AND month IN " + in_list(selection.months);
  // A partition recomputed by `bqx run --force` may leave an older entry behind: the newest wins.
  auto t = con.query(
      "SELECT kind, pair, month, rows, checksum FROM manifest WHERE " + where +
      " QUALIFY row_number() OVER (PARTITION BY kind, pair, month ORDER BY finished_at DESC) = 1"
      " ORDER BY month, pair, kind");
  if (!t) return t.error();
  std::vector<ManifestPartition> out;
  out.reserve(t->rows.size());
  for (const auto& row : t->rows) {
    ManifestPartition p;
    p.kind = row[0].value_or("");
    p.pair = row[1].value_or("");
    p.month = row[2].value_or("");
    p.rows = std::stoll(row[3].value_or("0"));
    p.checksum = row[4].value_or("");
    out.push_back(std::move(p));
  }
  return out;
}

Result<MonthBounds> month_bounds(const std::string& month) {
  auto m = parse_month(month);
  if (!m) return m.error();
  return MonthBounds{format_month(*m) + "-01 00:00:00", format_month(*m + 1) + "-01 00:00:00"};
}

// ---------------------------------------------------------------------------

Result<ChunkReader> ChunkReader::open(Connection& con, const std::string& sql) {
  ChunkReader r;
  auto error = [&](const char* what) {
    std::string msg = what;
    if (r.prepared_ && duckdb_prepare_error(r.prepared_)) msg = duckdb_prepare_error(r.prepared_);
    return make_error("duckdb: " + msg);
  };
  if (duckdb_prepare(con.raw(), sql.c_str(), &r.prepared_) != DuckDBSuccess) return error("cannot prepare query");
  duckdb_pending_result pending = nullptr;
  // The streaming result hands out chunks as the scan produces them (bounded memory); the
  // default materialised result would hold the whole partition.
  if (duckdb_pending_prepared_streaming(r.prepared_, &pending) != DuckDBSuccess) {
    std::string msg = pending && duckdb_pending_error(pending) ? duckdb_pending_error(pending) : "cannot start query";
    duckdb_destroy_pending(&pending);
    return make_error("duckdb: " + msg);
  }
  const duckdb_state st = duckdb_execute_pending(pending, &r.result_);
  duckdb_destroy_pending(&pending);
  r.has_result_ = true;
  if (st != DuckDBSuccess) {
    std::string msg = duckdb_result_error(&r.result_) ? duckdb_result_error(&r.result_) : "query failed";
    return make_error("duckdb: " + msg);
  }
  r.columns_ = duckdb_column_count(&r.result_);
  return r;
}

ChunkReader::ChunkReader(ChunkReader&& o) noexcept
    : prepared_(o.prepared_), result_(o.result_), has_result_(o.has_result_), chunk_(o.chunk_),
      columns_(o.columns_), error_(std::move(o.error_)) {
  o.prepared_ = nullptr;
  o.has_result_ = false;
  o.chunk_ = nullptr;
}

ChunkReader& ChunkReader::operator=(ChunkReader&& o) noexcept {
  if (this != &o) {
    release();
    prepared_ = o.prepared_;
    result_ = o.result_;
    has_result_ = o.has_result_;
    chunk_ = o.chunk_;
    columns_ = o.columns_;
    error_ = std::move(o.error_);
    o.prepared_ = nullptr;
    o.has_result_ = false;
    o.chunk_ = nullptr;
  }
  return *this;
}

ChunkReader::~ChunkReader() { release(); }

void ChunkReader::release() {
  if (chunk_) duckdb_destroy_data_chunk(&chunk_);
  if (has_result_) duckdb_destroy_result(&result_);
  has_result_ = false;
  if (prepared_) duckdb_destroy_prepare(&prepared_);
}

duckdb_data_chunk ChunkReader::next() {
  if (chunk_) duckdb_destroy_data_chunk(&chunk_);
  if (!has_result_) return nullptr;
  chunk_ = duckdb_fetch_chunk(result_);
  if (!chunk_) {
    const char* err = duckdb_result_error(&result_);
    if (err && *err) error_ = std::string("duckdb: ") + err;
  }
  return chunk_;
}

std::string sql_identifier(const std::string& name) {
  std::string out = "\"";
  for (char ch : name) {
    if (ch == '"') out += "\"\"";
    else out.push_back(ch);
  }
  return out + "\"";
}

}  // namespace bqx::store
