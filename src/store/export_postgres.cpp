#include "store/export_postgres.h"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>

#include "features/registry.h"
#include "store/feature_store.h"

namespace bqx::store {

std::vector<PostgresTable> postgres_tables() {
  std::vector<PostgresTable> tables;
  for (const auto& c : features::all_feature_columns()) {
    auto it = std::find_if(tables.begin(), tables.end(), [&](const PostgresTable& t) { return t.name == c.family; });
    if (it == tables.end()) {
      tables.push_back(PostgresTable{c.family, "features", {}});
      it = tables.end() - 1;
    }
    it->columns.push_back(c.name);
  }
  PostgresTable labels{"labels", "labels", {}};
  for (const auto& c : features::label_columns()) labels.columns.push_back(c.name);
  tables.push_back(std::move(labels));
  return tables;
}

std::string redact_postgres_url(const std::string& url) {
  std::string out = url;
  // URI form: scheme://user:password@host...
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const size_t at = out.find('@', scheme + 3);
    const size_t colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // Keyword form and URI parameters: password=secret
  for (size_t pos = out.find("password="); pos != std::string::npos; pos = out.find("password=", pos + 1)) {
    const size_t begin = pos + 9;
    size_t end = out.find_first_of(" &", begin);
    if (end == std::string::npos) end = out.size();
    out.replace(begin, end - begin, "***");
  }
  return out;
}

std::string postgres_partition_checksum(const std::string& features_checksum, const std::string& labels_checksum) {
  return "features:" + (features_checksum.empty() ? "-" : features_checksum) +
         " labels:" + (labels_checksum.empty() ? "-" : labels_checksum);
}

namespace {

// PostgreSQL's binary timestamp counts microseconds from 2000-01-01, DuckDB's from 1970-01-01.
constexpr int64_t kPostgresEpochOffsetMicros = 946684800LL * 1000000LL;

class PgConnection {
 public:
  explicit PgConnection(std::string redacted) : url_(std::move(redacted)) {}
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection() {
    if (conn_) PQfinish(conn_);
  }

  Status connect(const std::string& url) {
    conn_ = PQconnectdb(url.c_str());
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) return fail(conn_ ? PQerrorMessage(conn_) : "out of memory");
    return Status::Ok();
  }

  Error fail(const std::string& message) const { return make_error(url_ + ": " + libpq_message_line(message.c_str())); }
  Error fail_conn(const std::string& context) const {
    return make_error(url_ + ": " + context + libpq_message_line(PQerrorMessage(conn_)));
  }

  // Runs one or more statements that return no rows.
  Status exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const ExecStatusType st = PQresultStatus(r);
    Status out = Status::Ok();
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      const char* msg = PQresultErrorMessage(r);
      out = fail(msg && *msg ? msg : PQerrorMessage(conn_));
    }
    PQclear(r);
    return out;
  }

  // Text rows of a query.
  Result<std::vector<std::vector<std::string>>> query(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      const char* msg = PQresultErrorMessage(r);
      Error e = fail(msg && *msg ? msg : PQerrorMessage(conn_));
      PQclear(r);
      return e;
    }
    std::vector<std::vector<std::string>> rows(static_cast<size_t>(PQntuples(r)));
    for (int i = 0; i < PQntuples(r); ++i) {
      for (int j = 0; j < PQnfields(r); ++j) rows[i].emplace_back(PQgetvalue(r, i, j));
    }
    PQclear(r);
    return rows;
  }

  std::string literal(const std::string& text) {
    char* q = PQescapeLiteral(conn_, text.c_str(), text.size());
    std::string out = q ? q : "''";
    if (q) PQfreemem(q);
    return out;
  }

  PGconn* raw() const { return conn_; }
  bool alive() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

 private:
  PGconn* conn_ = nullptr;
  std::string url_;
};

// Writes PGCOPY binary fields (network byte order) into a caller-sized buffer.
class CopyWriter {
 public:
  explicit CopyWriter(char* out) : out_(out) {}
  char* position() const { return out_; }

  void header() {
    static const char kSignature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};
    bytes(kSignature, sizeof kSignature);
    u32(0);  // flags: no OIDs
    u32(0);  // header extension length
  }
  void trailer() { u16(0xFFFF); }  // field count -1 ends the data

  void u16(uint16_t v) {
    v = __builtin_bswap16(v);
    std::memcpy(out_, &v, 2);
    out_ += 2;
  }
  void u32(uint32_t v) {
    v = __builtin_bswap32(v);
    std::memcpy(out_, &v, 4);
    out_ += 4;
  }
  void u64(uint64_t v) {
    v = __builtin_bswap64(v);
    std::memcpy(out_, &v, 8);
    out_ += 8;
  }
  void bytes(const char* p, size_t n) {
    std::memcpy(out_, p, n);
    out_ += n;
  }

 private:
  char* out_;
};

struct PgPartition {
  std::string pair, month;
  const ManifestPartition* features = nullptr;
  const ManifestPartition* labels = nullptr;
  std::string checksum() const {
    return postgres_partition_checksum(features ? features->checksum : "", labels ? labels->checksum : "");
  }
};

std::string create_table_sql(const PostgresTable& t) {
  std::string sql = "CREATE TABLE IF NOT EXISTS bqx." + sql_identifier(t.name) + " (pair text NOT NULL, ts timestamp NOT NULL";
  for (const auto& c : t.columns) sql += ", " + sql_identifier(c) + " double precision";
  return sql + ", PRIMARY KEY (pair, ts)) PARTITION BY RANGE (ts);\n";
}

std::string create_view_sql(const std::vector<PostgresTable>& tables) {
  std::string select = "CREATE OR REPLACE VIEW bqx.features AS SELECT t0.pair, t0.ts";
  for (const auto& c : features::all_feature_columns()) {
    for (size_t i = 0; i < tables.size(); ++i) {
      if (tables[i].name == c.family) select += ", t" + std::to_string(i) + "." + sql_identifier(c.name);
    }
  }
  std::string from = " FROM bqx." + sql_identifier(tables[0].name) + " t0";
  for (size_t i = 1; i < tables.size(); ++i) {
    if (tables[i].source != "features") continue;
    const std::string alias = "t" + std::to_string(i);
    from += " JOIN bqx." + sql_identifier(tables[i].name) + " " + alias + " ON " + alias + ".pair = t0.pair AND " +
            alias + ".ts = t0.ts";
  }
  return select + from + ";\n";
}

// Creates schema, tables and view; refuses tables made by another catalogue.
Status ensure_postgres_schema(PgConnection& pg, const std::vector<PostgresTable>& tables) {
  for (const auto& t : tables) {
    if (t.name == "features" || t.name == "export_manifest") {
      return make_error("feature family '" + t.name + "' collides with a table name of the bqx schema");
    }
    if (t.name.size() + 8 > 63) return make_error("feature family name too long for PostgreSQL: " + t.name);
    for (const auto& c : t.columns) {
      if (c.size() > 63) return make_error("column name longer than PostgreSQL's 63 bytes: " + c);
    }
  }
  auto existing = pg.query(
      "SELECT table_name, string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns "
      "WHERE table_schema = 'bqx' GROUP BY table_name");
  if (!existing) return existing.error();
  std::map<std::string, std::string> have;
  for (const auto& row : *existing) have[row[0]] = row[1];
  for (const auto& t : tables) {
    auto it = have.find(t.name);
    if (it == have.end()) continue;
    std::string want = "pair,ts";
    for (const auto& c : t.columns) want += "," + c;
    if (it->second != want) {
      return pg.fail("table bqx." + t.name + " was made by another catalogue than " + features::kCatalogueVersion +
                     " (drop schema bqx or export to another database)");
    }
  }
  std::string sql = "BEGIN;\nCREATE SCHEMA IF NOT EXISTS bqx;\n";
  for (const auto& t : tables) sql += create_table_sql(t);
  sql +=
      "CREATE TABLE IF NOT EXISTS bqx.export_manifest (pair text NOT NULL, month text NOT NULL, rows bigint NOT NULL, "
      "label_rows bigint NOT NULL, checksum text NOT NULL, catalogue_version text NOT NULL, "
      "code_version text NOT NULL, exported_at timestamptz NOT NULL, PRIMARY KEY (pair, month));\n";
  sql += create_view_sql(tables);
  sql += "COMMIT;";
  return pg.exec(sql);
}

// The monthly partition of every table for `month`, if missing.
Status ensure_month_partitions(PgConnection& pg, const std::vector<PostgresTable>& tables, const std::string& month,
                               const MonthBounds& bounds) {
  std::string suffix = month;
  std::replace(suffix.begin(), suffix.end(), '-', '_');
  std::string sql = "BEGIN;\n";
  for (const auto& t : tables) {
    sql += "CREATE TABLE IF NOT EXISTS bqx." + sql_identifier(t.name + "_" + suffix) + " PARTITION OF bqx." +
           sql_identifier(t.name) + " FOR VALUES FROM ('" + bounds.begin + "') TO ('" + bounds.end + "');\n";
  }
  sql += "COMMIT;";
  return pg.exec(sql);
}

// Streams one table's rows of a partition from DuckDB into PostgreSQL with binary COPY.
Status copy_table(Connection& duck, PgConnection& pg, const PostgresTable& t, const PgPartition& part,
                  const MonthBounds& bounds, int64_t expected_rows, uint64_t* bytes) {
  std::string cols;
  for (const auto& c : t.columns) cols += ", " + sql_identifier(c);
  auto reader = ChunkReader::open(duck, "SELECT ts" + cols + " FROM " + t.source + " WHERE pair = " +
                                            sql_quote(part.pair) + " AND ts >= TIMESTAMP " + sql_quote(bounds.begin) +
                                            " AND ts < TIMESTAMP " + sql_quote(bounds.end) + " ORDER BY ts");
  if (!reader) return reader.error();
  if (reader->column_count() != t.columns.size() + 1) return make_error("duckdb: unexpected column count for " + t.name);

  PGresult* r = PQexec(pg.raw(), ("COPY bqx." + sql_identifier(t.name) + " (pair, ts" + cols +
                                  ") FROM STDIN (FORMAT binary)").c_str());
  const bool copy_in = PQresultStatus(r) == PGRES_COPY_IN;
  const std::string start_error = copy_in ? "" : PQresultErrorMessage(r);
  PQclear(r);
  if (!copy_in) return pg.fail(start_error.empty() ? PQerrorMessage(pg.raw()) : start_error);

  const size_t width = t.columns.size();
  const uint16_t fields = static_cast<uint16_t>(width + 2);
  const uint32_t pair_len = static_cast<uint32_t>(part.pair.size());
  // Worst case (no NULL) of one chunk plus header and trailer: allocated once per table.
  const size_t row_max = 2 + 4 + pair_len + 12 + 12 * width;
  std::vector<char> buf(row_max * duckdb_vector_size() + 64);
  std::vector<const double*> values(width);
  std::vector<uint64_t*> validity(width);
  int64_t rows = 0;
  bool first = true;
  Status status = Status::Ok();
  auto send = [&](const char* end) {
    const size_t n = static_cast<size_t>(end - buf.data());
    if (PQputCopyData(pg.raw(), buf.data(), static_cast<int>(n)) != 1) {
      status = pg.fail_conn("COPY bqx." + t.name + ": ");
      return false;
    }
    *bytes += n;
    return true;
  };
  while (duckdb_data_chunk chunk = reader->next()) {
    CopyWriter w(buf.data());
    if (first) w.header();
    first = false;
    const idx_t n = duckdb_data_chunk_get_size(chunk);
    const auto* ts = static_cast<const duckdb_timestamp*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 0)));
    for (size_t c = 0; c < width; ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c + 1);
      values[c] = static_cast<const double*>(duckdb_vector_get_data(v));
      validity[c] = duckdb_vector_get_validity(v);  // nullptr: no NULL in this vector
    }
    for (idx_t row = 0; row < n; ++row) {
      w.u16(fields);
      w.u32(pair_len);
      w.bytes(part.pair.data(), pair_len);
      w.u32(8);
      w.u64(static_cast<uint64_t>(ts[row].micros - kPostgresEpochOffsetMicros));
      for (size_t c = 0; c < width; ++c) {
        if (validity[c] && !duckdb_validity_row_is_valid(validity[c], row)) {
          w.u32(0xFFFFFFFFu);  // length -1: NULL
          continue;
        }
        uint64_t bits;  // the double's exact bit pattern
        std::memcpy(&bits, &values[c][row], 8);
        w.u32(8);
        w.u64(bits);
      }
    }
    rows += static_cast<int64_t>(n);
    if (!send(w.position())) break;
  }
  if (status && !reader->error().empty()) status = make_error(reader->error());
  if (status) {
    CopyWriter w(buf.data());
    if (first) w.header();
    w.trailer();
    send(w.position());
  }
  // End the COPY either way: a failure message aborts it on the server side.
  if (PQputCopyEnd(pg.raw(), status ? nullptr : "bqx export aborted") != 1 && status) {
    status = pg.fail_conn("COPY bqx." + t.name + ": ");
  }
  while (PGresult* res = PQgetResult(pg.raw())) {
    if (PQresultStatus(res) != PGRES_COMMAND_OK && status) {
      const char* msg = PQresultErrorMessage(res);
      status = pg.fail("COPY bqx." + t.name + ": " + std::string(msg && *msg ? msg : PQerrorMessage(pg.raw())));
    } else if (status) {
      const char* copied = PQcmdTuples(res);
      if (copied && *copied && std::stoll(copied) != rows) {
        status = pg.fail("COPY bqx." + t.name + ": server stored " + copied + " rows of " + std::to_string(rows));
      }
    }
    PQclear(res);
    if (!pg.alive()) break;
  }
  if (status && rows != expected_rows) {
    status = make_error(t.source + " " + part.pair + " " + part.month + ": the store holds " + std::to_string(rows) +
                        " rows but its manifest says " + std::to_string(expected_rows) +
                        " (store damaged or written concurrently: recompute with `bqx run --force`)");
  }
  return status;
}

// One partition in one transaction; on failure the transaction is rolled back.
Status export_partition(Connection& duck, PgConnection& pg, const std::vector<PostgresTable>& tables,
                        const PgPartition& part, const MonthBounds& bounds, uint64_t* bytes) {
  std::string sql = "BEGIN;\n";
  for (const auto& t : tables) {
    sql += "DELETE FROM bqx." + sql_identifier(t.name) + " WHERE pair = " + pg.literal(part.pair) + " AND ts >= '" +
           bounds.begin + "' AND ts < '" + bounds.end + "';\n";
  }
  BQX_TRY(pg.exec(sql));
  Status status = Status::Ok();
  for (const auto& t : tables) {
    const ManifestPartition* m = t.source == "features" ? part.features : part.labels;
    if (!m) continue;  // the store has no rows of this kind for the partition
    status = copy_table(duck, pg, t, part, bounds, m->rows, bytes);
    if (!status) break;
  }
  if (status) {
    status = pg.exec(
        "INSERT INTO bqx.export_manifest (pair, month, rows, label_rows, checksum, catalogue_version, code_version, "
        "exported_at) VALUES (" +
        pg.literal(part.pair) + ", " + pg.literal(part.month) + ", " +
        std::to_string(part.features ? part.features->rows : 0) + ", " +
        std::to_string(part.labels ? part.labels->rows : 0) + ", " + pg.literal(part.checksum()) + ", " +
        pg.literal(features::kCatalogueVersion) + ", " + pg.literal(kCodeVersion) +
        ", now()) ON CONFLICT (pair, month) DO UPDATE SET rows = EXCLUDED.rows, label_rows = EXCLUDED.label_rows, "
        "checksum = EXCLUDED.checksum, catalogue_version = EXCLUDED.catalogue_version, "
        "code_version = EXCLUDED.code_version, exported_at = EXCLUDED.exported_at");
  }
  if (status) status = pg.exec("COMMIT");
  if (!status) {
    // Nothing of this partition survives: the server rolls back explicitly here, or by
    // itself when the connection is gone.
    if (pg.alive()) (void)pg.exec("ROLLBACK");
    return make_error(status.error().message + " (" + part.pair + " " + part.month +
                      ": transaction rolled back; run the export again to resume)");
  }
  return Status::Ok();
}

}  // namespace

Result<ExportSummary> export_postgres(Connection& con, const std::string& url, const ExportSelection& selection,
                                      const ExportProgressFn& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  auto manifest = list_manifest_partitions(con, selection);
  if (!manifest) return manifest.error();
  BQX_TRY(ensure_feature_schema(con));  // refuses a store made by another catalogue

  std::vector<PgPartition> parts;
  for (const auto& m : *manifest) {  // ordered by month, pair, kind
    if (parts.empty() || parts.back().pair != m.pair || parts.back().month != m.month) {
      parts.push_back(PgPartition{m.pair, m.month});
    }
    (m.kind == "features" ? parts.back().features : parts.back().labels) = &m;
  }

  PgConnection pg(redact_postgres_url(url));
  BQX_TRY(pg.connect(url));
  BQX_TRY(pg.exec("SET client_min_messages = warning"));
  // Two exports into one database take turns instead of interleaving partitions.
  BQX_TRY(pg.exec("SELECT pg_advisory_lock(hashtext('bqx export'))"));
  const std::vector<PostgresTable> tables = postgres_tables();
  BQX_TRY(ensure_postgres_schema(pg, tables));

  std::map<std::pair<std::string, std::string>, std::string> exported;
  auto rows = pg.query("SELECT pair, month, checksum FROM bqx.export_manifest WHERE catalogue_version = " +
                       pg.literal(features::kCatalogueVersion));
  if (!rows) return rows.error();
  for (const auto& r : *rows) exported[{r[0], r[1]}] = r[2];

  ExportSummary summary;
  ExportProgress pr;
  pr.total = parts.size();
  std::set<std::string> months_ready;
  for (const auto& part : parts) {
    auto it = exported.find({part.pair, part.month});
    const bool skip = !selection.force && it != exported.end() && it->second == part.checksum();
    if (skip) {
      ++summary.skipped;
    } else {
      auto bounds = month_bounds(part.month);
      if (!bounds) return bounds.error();
      if (months_ready.insert(part.month).second) BQX_TRY(ensure_month_partitions(pg, tables, part.month, *bounds));
      uint64_t bytes = 0;
      BQX_TRY(export_partition(con, pg, tables, part, *bounds, &bytes));
      ++summary.exported;
      summary.rows += part.features ? part.features->rows : 0;
      summary.bytes += bytes;
    }
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (progress) {
      ++pr.done;
      pr.what = part.pair + " " + part.month;
      pr.skipped = skip;
      pr.rows = summary.rows;
      pr.bytes = summary.bytes;
      pr.seconds = summary.seconds;
      progress(pr);
    }
  }
  // Planner statistics for the new rows: without them PostgreSQL plans the bqx.features
  // view's join of the family tables as nested index lookups (minutes for one month).
  if (summary.exported > 0) {
    for (const auto& t : tables) BQX_TRY(pg.exec("ANALYZE bqx." + sql_identifier(t.name)));
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

std::string libpq_message_line(const char* message) {
  std::string out;
  bool space = false;
  for (const char* p = message ? message : ""; *p; ++p) {
    if (*p == '\n' || *p == '\t' || *p == '\r' || *p == ' ') {
      space = !out.empty();
    } else {
      if (space) out.push_back(' ');
      space = false;
      out.push_back(*p);
    }
  }
  return out.empty() ? "unknown libpq error" : out;
}


}  // namespace bqx::store
