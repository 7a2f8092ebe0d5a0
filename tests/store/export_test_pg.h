// PostgreSQL row source for the export tests (see export_test_support.h).
#pragma once

#include <libpq-fe.h>

#include "export_test_support.h"

namespace bqx::export_testing {

// Rows of a PostgreSQL query (pair, ts, double precision...) fetched in binary through a cursor.
class PgRows final : public RowSource {
 public:
  PgRows(PGconn* conn, const std::string& sql) : conn_(conn) {
    exec("BEGIN");
    if (error_.empty()) exec("DECLARE bqx_cmp BINARY NO SCROLL CURSOR FOR " + sql);
  }
  ~PgRows() override {
    if (conn_) PQclear(PQexec(conn_, "ROLLBACK"));
  }
  bool next(std::vector<Row>& rows) override {
    rows.clear();
    if (!error_.empty() || done_) return false;
    PGresult* r = PQexec(conn_, "FETCH 2000 FROM bqx_cmp");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      error_ = PQresultErrorMessage(r);
      PQclear(r);
      return false;
    }
    const int n = PQntuples(r);
    const int width = PQnfields(r) - 2;
    rows.resize(static_cast<size_t>(n));
    constexpr int64_t kPgEpoch = 946684800LL * 1000000LL;
    for (int i = 0; i < n; ++i) {
      Row& row = rows[static_cast<size_t>(i)];
      row.pair.assign(PQgetvalue(r, i, 0), static_cast<size_t>(PQgetlength(r, i, 0)));
      uint64_t be;
      std::memcpy(&be, PQgetvalue(r, i, 1), 8);
      row.ts_micros = static_cast<int64_t>(__builtin_bswap64(be)) + kPgEpoch;
      row.bits.assign(static_cast<size_t>(width), 0);
      row.null.assign(static_cast<size_t>(width), false);
      for (int c = 0; c < width; ++c) {
        if (PQgetisnull(r, i, c + 2)) {
          row.null[static_cast<size_t>(c)] = true;
        } else {
          std::memcpy(&be, PQgetvalue(r, i, c + 2), 8);
          row.bits[static_cast<size_t>(c)] = __builtin_bswap64(be);
        }
      }
    }
    PQclear(r);
    if (n == 0) done_ = true;
    return n > 0;
  }
  std::string error() const override { return error_; }

 private:
  void exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error_ = PQresultErrorMessage(r);
    PQclear(r);
  }
  PGconn* conn_;
  std::string error_;
  bool done_ = false;
};

}  // namespace bqx::export_testing
