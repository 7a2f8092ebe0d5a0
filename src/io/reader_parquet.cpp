// Parquet bar files, read through DuckDB's C API in a private in-memory database with
// extension auto-install/auto-load disabled (read_parquet is built in).
//
// Columns follow the CSV naming rules (map_columns). The time column may be:
//   TIMESTAMP / TIMESTAMP_S/MS/NS / DATE   naive: local time at tz_offset (default UTC)
//   TIMESTAMP WITH TIME ZONE               absolute instant
//   integer                                epoch seconds (9-11 digits, like CSV)
//   VARCHAR                                parsed like a CSV time
// (a date + time column pair is cast to text and joined). Numeric value columns are
// cast to DOUBLE in SQL; VARCHAR value columns are parsed like CSV fields. NULL prices are
// errors ("missing value"), NULL optional values are NaN. "Line" numbers are 1-based row
// numbers; messages quote values as DuckDB/shortest-double text, and a rejected row's raw
// line is its selected values joined with commas.
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "duckdb.h"
#include "io/reader_common.h"

namespace bqx::reader {

namespace {

class Duck {
 public:
  ~Duck() {
    if (con_ != nullptr) duckdb_disconnect(&con_);
    if (db_ != nullptr) duckdb_close(&db_);
  }
  Status open() {
    duckdb_config config = nullptr;
    if (duckdb_create_config(&config) != DuckDBSuccess) {
      duckdb_destroy_config(&config);
      return make_error("cannot create a DuckDB config");
    }
    duckdb_set_config(config, "autoinstall_known_extensions", "false");
    duckdb_set_config(config, "autoload_known_extensions", "false");
    char* err = nullptr;
    const duckdb_state st = duckdb_open_ext(":memory:", &db_, config, &err);
    duckdb_destroy_config(&config);
    if (st != DuckDBSuccess) {
      std::string m = err != nullptr ? err : "unknown error";
      if (err != nullptr) duckdb_free(err);
      db_ = nullptr;
      return make_error("cannot open DuckDB (" + m + ")");
    }
    if (duckdb_connect(db_, &con_) != DuckDBSuccess) {
      con_ = nullptr;
      return make_error("cannot connect to DuckDB");
    }
    return Status::Ok();
  }
  duckdb_connection con() const { return con_; }

 private:
  duckdb_database db_ = nullptr;
  duckdb_connection con_ = nullptr;
};

class QueryResult {
 public:
  QueryResult() { std::memset(&r_, 0, sizeof r_); }
  ~QueryResult() { duckdb_destroy_result(&r_); }
  QueryResult(const QueryResult&) = delete;
  QueryResult& operator=(const QueryResult&) = delete;
  // Runs `sql`; on failure returns DuckDB's message.
  bool run(duckdb_connection con, const std::string& sql, std::string* error) {
    if (duckdb_query(con, sql.c_str(), &r_) == DuckDBSuccess) return true;
    const char* e = duckdb_result_error(&r_);
    *error = e != nullptr ? e : "unknown error";
    // Keep the first line of DuckDB's message (the rest is a SQL caret diagram).
    const size_t nl = error->find('\n');
    if (nl != std::string::npos) error->resize(nl);
    return false;
  }
  duckdb_result* get() { return &r_; }

 private:
  duckdb_result r_;
};

class Chunk {
 public:
  explicit Chunk(duckdb_data_chunk c) : c_(c) {}
  ~Chunk() {
    if (c_ != nullptr) duckdb_destroy_data_chunk(&c_);
  }
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;
  duckdb_data_chunk get() const { return c_; }

 private:
  duckdb_data_chunk c_;
};

std::string sql_string(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string sql_ident(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

bool is_integer_type(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT: case DUCKDB_TYPE_INTEGER: case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT: case DUCKDB_TYPE_USMALLINT: case DUCKDB_TYPE_UINTEGER: case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT: case DUCKDB_TYPE_UHUGEINT:
      return true;
    default:
      return false;
  }
}

bool is_numeric_type(duckdb_type t) {
  return is_integer_type(t) || t == DUCKDB_TYPE_FLOAT || t == DUCKDB_TYPE_DOUBLE || t == DUCKDB_TYPE_DECIMAL;
}

bool is_naive_timestamp(duckdb_type t) {
  return t == DUCKDB_TYPE_TIMESTAMP || t == DUCKDB_TYPE_TIMESTAMP_S || t == DUCKDB_TYPE_TIMESTAMP_MS ||
         t == DUCKDB_TYPE_TIMESTAMP_NS || t == DUCKDB_TYPE_DATE;
}

// How a selected column arrives.
enum class Kind { Double, BigInt, Text };
enum class TimeKind { NaiveMicros, UtcMicros, EpochSeconds, Text };

struct Selected {
  std::string expr;
  Kind kind;
  std::string name;  // for messages
};

// Accessors over one chunk's vectors.
struct Column {
  Kind kind = Kind::Double;
  void* data = nullptr;
  uint64_t* validity = nullptr;
  bool valid(idx_t i) const { return validity == nullptr || duckdb_validity_row_is_valid(validity, i); }
  double as_double(idx_t i) const { return static_cast<double*>(data)[i]; }
  int64_t as_int(idx_t i) const { return static_cast<int64_t*>(data)[i]; }
  std::string_view as_text(idx_t i) const {
    auto* s = &static_cast<duckdb_string_t*>(data)[i];
    return std::string_view(duckdb_string_t_data(s), duckdb_string_t_length(*s));
  }
};

std::string format_micros(int64_t us) {
  const int64_t minutes = us >= 0 ? us / 60000000 : -((-us + 59999999) / 60000000);
  const int64_t rem = us - minutes * 60000000;
  std::string out = format_compact(minutes);
  char buf[32];
  std::snprintf(buf, sizeof buf, ":%02lld", static_cast<long long>(rem / 1000000));
  out += buf;
  if (rem % 1000000 != 0) {
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(rem % 1000000));
    out += buf;
  }
  return out;
}

}  // namespace

Result<Parsed> read_parquet(const std::string& file, const std::filesystem::path& path, const ReadOptions& options,
                            const PairSource& pair_source) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return make_error(file + ": cannot open file (No such file or directory)");
  if (std::filesystem::is_directory(path, ec)) return make_error(file + ": is a directory");
  if (std::filesystem::file_size(path, ec) == 0 && !ec) return make_error(file + ": empty file");

  Duck duck;
  if (Status s = duck.open(); !s.ok()) return make_error(file + ": " + s.error().message);
  const std::string source = "read_parquet(" + sql_string(path.string()) + ")";

  // Schema.
  std::vector<std::string> names;
  std::vector<duckdb_type> types;
  {
    QueryResult schema;
    std::string err;
    if (!schema.run(duck.con(), "SELECT * FROM " + source + " LIMIT 0", &err)) {
      return make_error(file + ": cannot read Parquet (" + err + ")");
    }
    const idx_t n = duckdb_column_count(schema.get());
    for (idx_t i = 0; i < n; ++i) {
      names.emplace_back(duckdb_column_name(schema.get(), i));
      types.push_back(duckdb_column_type(schema.get(), i));
    }
  }
  ColumnMap map;
  std::string missing;
  if (!map_columns(names, &map, &missing)) {
    std::string header;
    for (size_t i = 0; i < names.size(); ++i) header.append(i ? "," : "").append(names[i]);
    return make_error(file + ": missing required column " + missing + " (" + header + ")");
  }
  PairResolver pairs(pair_source);
  if (map.pair < 0) {
    auto p = pairs.pair();
    if (!p.ok()) return p.error();
  }

  // Select list: time, 7 values, optional pair.
  const int offset = options.tz_offset_minutes.value_or(0);
  std::vector<Selected> select;
  TimeKind time_kind = TimeKind::Text;
  {
    const auto tc = static_cast<size_t>(map.time);
    const std::string id = sql_ident(names[tc]);
    if (map.time2 >= 0) {
      time_kind = TimeKind::Text;
      select.push_back({"CAST(" + id + " AS VARCHAR) || ' ' || CAST(" +
                            sql_ident(names[static_cast<size_t>(map.time2)]) + " AS VARCHAR)",
                        Kind::Text, "time"});
    } else if (is_naive_timestamp(types[tc]) || types[tc] == DUCKDB_TYPE_TIMESTAMP_TZ) {
      time_kind = types[tc] == DUCKDB_TYPE_TIMESTAMP_TZ ? TimeKind::UtcMicros : TimeKind::NaiveMicros;
      select.push_back({"epoch_us(" + id + ")", Kind::BigInt, "time"});
    } else if (is_integer_type(types[tc])) {
      time_kind = TimeKind::EpochSeconds;
      select.push_back({"TRY_CAST(" + id + " AS BIGINT)", Kind::BigInt, "time"});
    } else if (types[tc] == DUCKDB_TYPE_VARCHAR) {
      time_kind = TimeKind::Text;
      select.push_back({"CAST(" + id + " AS VARCHAR)", Kind::Text, "time"});
    } else {
      return make_error(file + ": unsupported type for the time column (" + names[tc] + ")");
    }
  }
  for (int f = 0; f < kValueFieldCount; ++f) {
    const int c = map.value[f];
    if (c < 0) {
      select.push_back({"CAST(NULL AS DOUBLE)", Kind::Double, field_name(f)});
      continue;
    }
    const auto cc = static_cast<size_t>(c);
    if (is_numeric_type(types[cc])) {
      select.push_back({"CAST(" + sql_ident(names[cc]) + " AS DOUBLE)", Kind::Double, field_name(f)});
    } else if (types[cc] == DUCKDB_TYPE_VARCHAR) {
      select.push_back({sql_ident(names[cc]), Kind::Text, field_name(f)});
    } else {
      return make_error(file + ": unsupported type for column " + field_name(f) + " (" + names[cc] + ")");
    }
  }
  if (map.pair >= 0) {
    select.push_back({"CAST(" + sql_ident(names[static_cast<size_t>(map.pair)]) + " AS VARCHAR)", Kind::Text, "pair"});
  }
  std::string sql = "SELECT ";
  for (size_t i = 0; i < select.size(); ++i) sql.append(i ? ", " : "").append(select[i].expr);
  sql += " FROM " + source;

  QueryResult result;
  std::string err;
  if (!result.run(duck.con(), sql, &err)) return make_error(file + ": cannot read Parquet (" + err + ")");

  BarCollector collector(file, options.skip_bad_rows);
  std::vector<Column> cols(select.size());
  uint64_t row_number = 0;
  Row row;
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

  while (true) {
    Chunk chunk(duckdb_fetch_chunk(*result.get()));
    if (chunk.get() == nullptr) break;
    const idx_t size = duckdb_data_chunk_get_size(chunk.get());
    if (size == 0) break;
    for (size_t c = 0; c < select.size(); ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk.get(), c);
      cols[c].kind = select[c].kind;
      cols[c].data = duckdb_vector_get_data(v);
      cols[c].validity = duckdb_vector_get_validity(v);
    }
    for (idx_t i = 0; i < size; ++i) {
      ++row_number;
      collector.count_row();
      auto text_at = [&](size_t c) -> std::string {
        const Column& col = cols[c];
        if (!col.valid(i)) return "NULL";
        if (c == 0 && (time_kind == TimeKind::NaiveMicros || time_kind == TimeKind::UtcMicros)) {
          return format_micros(col.as_int(i)) + (time_kind == TimeKind::UtcMicros ? "Z" : "");
        }
        switch (col.kind) {
          case Kind::Double: return format_double(col.as_double(i));
          case Kind::BigInt: return std::to_string(col.as_int(i));
          case Kind::Text: return std::string(col.as_text(i));
        }
        return "";
      };
      auto raw_line = [&]() {
        std::string raw;
        for (size_t c = 0; c < select.size(); ++c) {
          if (c >= 1 && c <= kValueFieldCount && map.value[c - 1] < 0) continue;
          if (!raw.empty()) raw += ",";
          raw += text_at(c);
        }
        return raw;
      };
      auto bad = [&](std::string_view what, const std::string& value) -> Status {
        return collector.reject(row_number, what, value, raw_line());
      };

      if (map.pair >= 0) {
        const Column& pc = cols.back();
        BQX_TRY(pairs.check_row(collector, row_number, pc.valid(i) ? pc.as_text(i) : std::string_view("NULL")));
      }

      // Time.
      const Column& tcol = cols[0];
      TimeStatus ts_status = TimeStatus::Unparseable;
      if (tcol.valid(i)) {
        switch (time_kind) {
          case TimeKind::NaiveMicros:
          case TimeKind::UtcMicros: {
            const int64_t us = tcol.as_int(i);
            if (us % 60000000 != 0) {
              ts_status = TimeStatus::NotMinute;
            } else {
              row.ts = us / 60000000 - (time_kind == TimeKind::NaiveMicros ? offset : 0);
              ts_status = TimeStatus::Ok;
            }
            break;
          }
          case TimeKind::EpochSeconds: {
            const int64_t s = tcol.as_int(i);
            ts_status = s >= 100000000 && s <= 99999999999 ? epoch_seconds_to_minute(s, &row.ts)
                                                           : TimeStatus::Unparseable;
            break;
          }
          case TimeKind::Text:
            ts_status = parse_bar_time(trim(tcol.as_text(i)), offset, &row.ts);
            break;
        }
      }
      if (ts_status != TimeStatus::Ok) {
        BQX_TRY(bad(ts_status == TimeStatus::NotMinute ? "time not on a minute boundary" : "unparseable time",
                    text_at(0)));
        continue;
      }

      // Values.
      bool ok = true;
      for (int f = 0; f < kValueFieldCount && ok; ++f) {
        const auto c = static_cast<size_t>(f + 1);
        const Column& col = cols[c];
        if (!col.valid(i)) {
          row.v[f] = kNaN;
          if (f <= kClose) {
            BQX_TRY(bad(std::string("missing value in column ") + field_name(f), "NULL"));
            ok = false;
          }
          continue;
        }
        if (col.kind == Kind::Double) {
          row.v[f] = col.as_double(i);
          if (!std::isfinite(row.v[f])) {
            BQX_TRY(bad(std::string("non-finite value in column ") + field_name(f), text_at(c)));
            ok = false;
          }
          continue;
        }
        const std::string_view text = trim(col.as_text(i));
        if (f > kClose && text.empty()) {
          row.v[f] = kNaN;
          continue;
        }
        const NumStatus st = parse_number(text, &row.v[f]);
        if (st != NumStatus::Ok) {
          BQX_TRY(bad(std::string(st == NumStatus::NonNumeric ? "non-numeric" : "non-finite") + " value in column " +
                          field_name(f),
                      std::string(text)));
          ok = false;
        }
      }
      if (!ok) continue;
      auto text_of = [&](int f) { return text_at(static_cast<size_t>(f + 1)); };
      if (auto problem = check_row_values(row, text_of)) {
        BQX_TRY(bad(problem->what, problem->value));
        continue;
      }
      row.line = row_number;
      collector.add(row);
    }
  }

  auto time_text = [](const Row& r) { return format_iso(r.ts); };
  auto raw_text = [&map](const Row& r) {
    std::string raw = format_iso(r.ts);
    for (int f = 0; f < kValueFieldCount; ++f) {
      if (map.value[f] >= 0) raw.append(",").append(format_double(r.v[f]));
    }
    return raw;
  };
  return finish_file(collector, pairs, time_text, raw_text, options);
}

}  // namespace bqx::reader
