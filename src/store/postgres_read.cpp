#include "store/postgres_read.h"

#include <libpq-fe.h>

#include <utility>

#include "store/export_postgres.h"

namespace bqx::store {
namespace {

int32_t read_i32(const char* p) {
  uint32_t be;
  std::memcpy(&be, p, 4);
  return static_cast<int32_t>(__builtin_bswap32(be));
}

int16_t read_i16(const char* p) {
  uint16_t be;
  std::memcpy(&be, p, 2);
  return static_cast<int16_t>(__builtin_bswap16(be));
}

// Incremental PGCOPY binary parser: the stream is cut into messages at the server's
// choosing (one row per message in practice, the header rides with the first), so bytes
// are buffered until a whole row is available.
class CopyParser {
 public:
  // Consumes what it can of the buffered stream; sets *done at the trailer.
  Status feed(const char* data, size_t n, const PostgresReader::RowFn& on_row, bool* done) {
    buf_.append(data, n);
    size_t pos = 0;
    if (!header_seen_) {
      static const char kSignature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};
      if (buf_.size() < 19) return Status::Ok();
      if (std::memcmp(buf_.data(), kSignature, 11) != 0) return make_error("binary COPY: bad signature");
      const int32_t ext = read_i32(buf_.data() + 15);
      if (ext < 0) return make_error("binary COPY: bad header extension length");
      if (buf_.size() < 19 + static_cast<size_t>(ext)) return Status::Ok();
      pos = 19 + static_cast<size_t>(ext);
      header_seen_ = true;
    }
    while (!*done && pos + 2 <= buf_.size()) {
      const int16_t count = read_i16(buf_.data() + pos);
      if (count == -1) {  // trailer
        *done = true;
        pos += 2;
        break;
      }
      if (count < 0) return make_error("binary COPY: bad field count");
      fields_.resize(static_cast<size_t>(count));
      size_t p = pos + 2;
      bool complete = true;
      for (int16_t i = 0; i < count; ++i) {
        if (p + 4 > buf_.size()) {
          complete = false;
          break;
        }
        const int32_t len = read_i32(buf_.data() + p);
        p += 4;
        if (len > 0 && p + static_cast<size_t>(len) > buf_.size()) {
          complete = false;
          break;
        }
        fields_[static_cast<size_t>(i)] = CopyField{len >= 0 ? buf_.data() + p : nullptr, len};
        if (len > 0) p += static_cast<size_t>(len);
      }
      if (!complete) break;
      BQX_TRY(on_row(std::span<const CopyField>(fields_)));
      pos = p;
    }
    buf_.erase(0, pos);
    return Status::Ok();
  }
  bool empty() const { return buf_.empty(); }

 private:
  std::string buf_;
  std::vector<CopyField> fields_;
  bool header_seen_ = false;
};

}  // namespace

Result<PostgresReader> PostgresReader::connect(const std::string& url) {
  PostgresReader r;
  r.url_ = redact_postgres_url(url);
  r.conn_ = PQconnectdb(url.c_str());
  if (!r.conn_ || PQstatus(r.conn_) != CONNECTION_OK) {
    return r.fail(r.conn_ ? PQerrorMessage(r.conn_) : "out of memory");
  }
  return r;
}

PostgresReader::PostgresReader(PostgresReader&& o) noexcept
    : conn_(std::exchange(o.conn_, nullptr)), url_(std::move(o.url_)) {}

PostgresReader& PostgresReader::operator=(PostgresReader&& o) noexcept {
  if (this != &o) {
    if (conn_) PQfinish(conn_);
    conn_ = std::exchange(o.conn_, nullptr);
    url_ = std::move(o.url_);
  }
  return *this;
}

PostgresReader::~PostgresReader() {
  if (conn_) PQfinish(conn_);
}

Error PostgresReader::fail(const std::string& what) const { return make_error(url_ + ": " + libpq_message_line(what.c_str())); }

Result<std::vector<std::vector<std::optional<std::string>>>> PostgresReader::query(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    const char* msg = PQresultErrorMessage(r);
    Error e = fail(msg && *msg ? msg : PQerrorMessage(conn_));
    PQclear(r);
    return e;
  }
  std::vector<std::vector<std::optional<std::string>>> rows(static_cast<size_t>(PQntuples(r)));
  for (int i = 0; i < PQntuples(r); ++i) {
    for (int j = 0; j < PQnfields(r); ++j) {
      if (PQgetisnull(r, i, j)) rows[static_cast<size_t>(i)].emplace_back(std::nullopt);
      else rows[static_cast<size_t>(i)].emplace_back(std::string(PQgetvalue(r, i, j)));
    }
  }
  PQclear(r);
  return rows;
}

Status PostgresReader::copy_out(const std::string& select_sql, const RowFn& on_row) {
  PGresult* r = PQexec(conn_, ("COPY (" + select_sql + ") TO STDOUT (FORMAT binary)").c_str());
  const bool copy_out = PQresultStatus(r) == PGRES_COPY_OUT;
  const std::string start_error = copy_out ? "" : PQresultErrorMessage(r);
  PQclear(r);
  if (!copy_out) return fail(start_error.empty() ? PQerrorMessage(conn_) : start_error);

  CopyParser parser;
  bool done = false;
  Status status = Status::Ok();
  for (;;) {
    char* data = nullptr;
    const int n = PQgetCopyData(conn_, &data, 0);  // blocking: one whole message
    if (n == -1) break;                            // end of the copy
    if (n == -2) {
      status = fail(std::string("COPY: ") + PQerrorMessage(conn_));
      break;
    }
    // After a failing row the rest is drained (libpq has no way to cancel mid-stream
    // short of PQcancel, and the result must be collected either way).
    if (status) status = parser.feed(data, static_cast<size_t>(n), on_row, &done);
    PQfreemem(data);
  }
  while (PGresult* res = PQgetResult(conn_)) {
    if (PQresultStatus(res) != PGRES_COMMAND_OK && status) {
      const char* msg = PQresultErrorMessage(res);
      status = fail(std::string("COPY: ") + (msg && *msg ? msg : PQerrorMessage(conn_)));
    }
    PQclear(res);
  }
  if (status && (!done || !parser.empty())) status = fail("COPY: binary stream ended without its trailer");
  return status;
}

std::string PostgresReader::literal(const std::string& text) const {
  char* q = PQescapeLiteral(conn_, text.c_str(), text.size());
  std::string out = q ? q : "''";
  if (q) PQfreemem(q);
  return out;
}

}  // namespace bqx::store
