// Cross-store consistency (issue 6, check 6): the Parquet export (hive layout
// DIR/{features,labels}/pair=X/month=YYYY-MM/*.parquet) holds the same rows and values as
// the DuckDB store. Both sides run the same aggregate query: per (pair, month) row counts
// and, per column, the count of non-NULL values and sum(hash(value)) as an exact HUGEINT.
// Integer hash sums are order-independent and bit-reproducible, unlike a parallel sum of
// doubles; a single flipped bit changes the column's sum.
//
// The PostgreSQL export (`bqx export --postgres`: one table per feature family plus labels
// in schema bqx) is compared the same way per (pair, month) partition and table, but the
// digests are computed here in C++ from rows streamed out of both stores in binary (DuckDB
// chunks, PostgreSQL binary COPY), so both sides hash the identical 64-bit patterns: rows,
// a key checksum of the (pair, ts) set, and per column the NULL count and the wrapping sum
// of value_hash(row_key(pair, ts), value). A partition that differs is then narrowed down
// to its first differing rows.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "features/registry.h"
#include "store/export_postgres.h"
#include "store/postgres_read.h"
#include "validate/context.h"

namespace bqx::validate {
namespace {

struct Digest {
  std::map<std::pair<std::string, std::string>, int64_t> rows;  // (pair, month) -> rows
  std::vector<std::string> columns;                             // per column: "count/hashsum"
};

Result<Digest> digest(Context& ctx, const std::string& source, const std::vector<std::string>& cols) {
  Digest d;
  BQX_ASSIGN_OR_RETURN(auto t, ctx.con->query("SELECT pair, strftime(ts, '%Y-%m'), count(*) FROM " + source + " WHERE " +
                                              ctx.where() + " GROUP BY ALL"));
  for (const auto& row : t.rows) d.rows[{row[0].value_or(""), row[1].value_or("")}] = std::stoll(row[2].value_or("0"));
  // One query, columns in slices so the statement stays a manageable size.
  constexpr size_t kSlice = 256;
  for (size_t b = 0; b < cols.size(); b += kSlice) {
    std::string sql = "SELECT ";
    for (size_t j = b; j < std::min(cols.size(), b + kSlice); ++j) {
      const std::string q = quote_ident(cols[j]);
      sql += (j == b ? "" : ", ") + fmt::format("count({0})::VARCHAR || '/' || coalesce(sum(hash({0})::HUGEINT), 0)::VARCHAR", q);
    }
    sql += " FROM " + source + " WHERE " + ctx.where();
    BQX_ASSIGN_OR_RETURN(auto r, ctx.con->query(sql));
    if (r.rows.empty()) return make_error("duckdb: empty digest of " + source);
    for (const auto& v : r.rows[0]) d.columns.push_back(v.value_or(""));
  }
  return d;
}

void compare(Context& ctx, const std::string& what, const Digest& store, const Digest& other,
             const std::vector<std::string>& cols, CheckResult& counts, CheckResult& values) {
  const size_t cap = ctx.options->max_examples;
  for (const auto& [key, n] : store.rows) {
    ++counts.checked;
    auto it = other.rows.find(key);
    const int64_t m = it == other.rows.end() ? 0 : it->second;
    if (m != n) {
      counts.fail(Finding{key.first, month_start(*parse_month(key.second)), kNoTime, what, std::to_string(m),
                          fmt::format("{} rows in the store, {} in the export", n, m)},
                  cap);
    }
  }
  for (const auto& [key, m] : other.rows) {
    if (!store.rows.count(key)) {
      counts.fail(Finding{key.first, month_start(*parse_month(key.second)), kNoTime, what, std::to_string(m),
                          "partition in the export but not in the store"},
                  cap);
    }
  }
  for (size_t j = 0; j < cols.size() && j < store.columns.size() && j < other.columns.size(); ++j) {
    ++values.checked;
    if (store.columns[j] != other.columns[j]) {
      values.fail(Finding{"", kNoTime, kNoTime, cols[j], other.columns[j],
                          what + ": store non-NULL count/hash sum " + store.columns[j]},
                  cap);
    }
  }
}


// ---- PostgreSQL ---------------------------------------------------------------------------

constexpr int64_t kMicrosPerMinute = 60'000'000;

using PartKey = std::pair<std::string, MonthId>;  // (pair, month)

// One partition of one table: rows, the (pair, ts) set, and per column NULLs and value sums.
struct PartDigest {
  int64_t rows = 0;
  uint64_t keys = 0;  // wrapping sum of the row keys: equal counts with different rows differ here
  std::vector<int64_t> nulls;
  std::vector<uint64_t> sums;
};

class DigestBuilder {
 public:
  DigestBuilder(const Context& ctx, size_t width) : width_(width), months_(ctx.months.begin(), ctx.months.end()) {}

  // The partition of a row, nullptr outside the selected months.
  PartDigest* row(const char* pair, size_t pair_len, int64_t ts_micros, uint64_t* key) {
    const int64_t minute = ts_micros >= 0 ? ts_micros / kMicrosPerMinute : -((-ts_micros - 1) / kMicrosPerMinute) - 1;
    const MonthId month = month_of(minute);
    if (!last_ || last_pair_.size() != pair_len || std::memcmp(last_pair_.data(), pair, pair_len) != 0 ||
        month != last_month_) {
      if (!months_.count(month)) return nullptr;
      last_pair_.assign(pair, pair_len);
      last_month_ = month;
      auto [it, fresh] = parts_.try_emplace(PartKey{last_pair_, month});
      if (fresh) {
        it->second.nulls.assign(width_, 0);
        it->second.sums.assign(width_, 0);
      }
      last_ = &it->second;
    }
    // Keyed by the exact microsecond, so a row moved by less than a minute still differs.
    *key = row_key(last_pair_, ts_micros);
    ++last_->rows;
    last_->keys += *key;
    return last_;
  }
  static void add(PartDigest& d, size_t col, uint64_t key, uint64_t bits, bool is_null) {
    double v;
    std::memcpy(&v, &bits, 8);
    d.sums[col] += value_hash(key, v, is_null);
    d.nulls[col] += is_null ? 1 : 0;
  }
  std::map<PartKey, PartDigest> take() { return std::move(parts_); }

 private:
  size_t width_;
  std::set<MonthId> months_;
  std::map<PartKey, PartDigest> parts_;
  PartDigest* last_ = nullptr;
  std::string last_pair_;
  MonthId last_month_ = 0;
};

std::string column_list(const std::vector<std::string>& cols) {
  std::string s;
  for (const auto& c : cols) s += ", " + quote_ident(c);
  return s;
}

// Digest of a DuckDB table's columns over the selection, streamed chunk by chunk.
Result<std::map<PartKey, PartDigest>> duckdb_digest(Context& ctx, const std::string& table,
                                                    const std::vector<std::string>& cols) {
  BQX_ASSIGN_OR_RETURN(auto stream, ChunkStream::open(*ctx.con, "SELECT pair, ts" + column_list(cols) + " FROM " +
                                                                      table + " WHERE " + ctx.where()));
  DigestBuilder b(ctx, cols.size());
  std::vector<PartDigest*> part;
  std::vector<uint64_t> key;
  while (duckdb_data_chunk chunk = stream.next()) {
    const idx_t n = duckdb_data_chunk_get_size(chunk);
    auto* pairs = static_cast<duckdb_string_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 0)));
    const auto* ts = static_cast<const int64_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 1)));
    part.assign(n, nullptr);
    key.assign(n, 0);
    for (idx_t i = 0; i < n; ++i) {
      part[i] = b.row(duckdb_string_t_data(&pairs[i]), duckdb_string_t_length(pairs[i]), ts[i], &key[i]);
    }
    for (size_t j = 0; j < cols.size(); ++j) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, j + 2);
      const auto* bits = static_cast<const uint64_t*>(duckdb_vector_get_data(v));
      uint64_t* valid = duckdb_vector_get_validity(v);
      for (idx_t i = 0; i < n; ++i) {
        if (!part[i]) continue;
        const bool is_null = valid && !duckdb_validity_row_is_valid(valid, i);
        DigestBuilder::add(*part[i], j, key[i], is_null ? 0 : bits[i], is_null);
      }
    }
  }
  if (!stream.error().empty()) return make_error(stream.error());
  return b.take();
}

// Digest of one PostgreSQL table over the selection, streamed with binary COPY.
Result<std::map<PartKey, PartDigest>> postgres_digest(Context& ctx, store::PostgresReader& pg, const std::string& table,
                                                      const std::vector<std::string>& cols) {
  DigestBuilder b(ctx, cols.size());
  const size_t width = cols.size();
  BQX_TRY(pg.copy_out("SELECT pair, ts" + column_list(cols) + " FROM bqx." + quote_ident(table) + " WHERE " +
                          ctx.where(),  // ts_literal and sql_quote are standard SQL: valid in PostgreSQL too
                      [&](std::span<const store::CopyField> f) -> Status {
                        if (f.size() != width + 2 || f[0].is_null() || f[1].length != 8) {
                          return make_error("bqx." + table + ": unexpected row shape in the binary COPY");
                        }
                        uint64_t key = 0;
                        PartDigest* d = b.row(f[0].data, static_cast<size_t>(f[0].length),
                                              store::copy_timestamp_micros(f[1]), &key);
                        if (!d) return Status::Ok();
                        for (size_t j = 0; j < width; ++j) {
                          const store::CopyField& v = f[j + 2];
                          if (!v.is_null() && v.length != 8) {
                            return make_error("bqx." + table + "." + cols[j] + ": not a double precision column");
                          }
                          DigestBuilder::add(*d, j, key, v.is_null() ? 0 : store::copy_u64(v), v.is_null());
                        }
                        return Status::Ok();
                      }));
  return b.take();
}

// One column (or none) of one partition, by ts: the value bits, nullopt for NULL.
using PartRows = std::map<int64_t, std::optional<uint64_t>>;

std::string partition_where(const std::string& pair, MonthId month) {
  return "pair = " + store::sql_quote(pair) + " AND ts >= " + ts_literal(month_start(month)) + " AND ts < " +
         ts_literal(month_start(month + 1));
}

Result<PartRows> duckdb_rows(Context& ctx, const std::string& table, const PartKey& part, const std::string& col) {
  BQX_ASSIGN_OR_RETURN(auto stream, ChunkStream::open(*ctx.con, "SELECT ts" + (col.empty() ? "" : ", " + quote_ident(col)) +
                                                                      " FROM " + table + " WHERE " +
                                                                      partition_where(part.first, part.second)));
  PartRows out;
  while (duckdb_data_chunk chunk = stream.next()) {
    const idx_t n = duckdb_data_chunk_get_size(chunk);
    const auto* ts = static_cast<const int64_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 0)));
    const uint64_t* bits = nullptr;
    uint64_t* valid = nullptr;
    if (!col.empty()) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, 1);
      bits = static_cast<const uint64_t*>(duckdb_vector_get_data(v));
      valid = duckdb_vector_get_validity(v);
    }
    for (idx_t i = 0; i < n; ++i) {
      const bool is_null = !bits || (valid && !duckdb_validity_row_is_valid(valid, i));
      out[ts[i]] = is_null ? std::nullopt : std::optional<uint64_t>(bits[i]);
    }
  }
  if (!stream.error().empty()) return make_error(stream.error());
  return out;
}

Result<PartRows> postgres_rows(store::PostgresReader& pg, const std::string& table, const PartKey& part,
                               const std::string& col) {
  PartRows out;
  BQX_TRY(pg.copy_out("SELECT ts" + (col.empty() ? "" : ", " + quote_ident(col)) + " FROM bqx." + quote_ident(table) +
                          " WHERE " + partition_where(part.first, part.second),
                      [&](std::span<const store::CopyField> f) -> Status {
                        if (f.empty() || f[0].length != 8) return make_error("bqx." + table + ": bad ts field");
                        std::optional<uint64_t> v;
                        if (f.size() > 1 && !f[1].is_null()) v = store::copy_u64(f[1]);
                        out[store::copy_timestamp_micros(f[0])] = v;
                        return Status::Ok();
                      }));
  return out;
}

std::string bits_text(const std::optional<uint64_t>& bits) {
  if (!bits) return "NULL";
  double v;
  std::memcpy(&v, &*bits, 8);
  return format_value(v) + fmt::format(" (0x{:016x})", *bits);
}

// Findings for the first rows where the partition differs: rows only on one side, or
// (for a column) a different value. Returns how many findings were added.
size_t locate(const PartRows& store_rows, const PartRows& pg_rows, const PartKey& part, const std::string& where,
              const std::string& column, CheckResult& check, size_t cap, size_t limit) {
  size_t found = 0;
  auto a = store_rows.begin();
  auto b = pg_rows.begin();
  auto add = [&](int64_t ts, std::string value, std::string detail) {
    check.fail(Finding{part.first, ts / kMicrosPerMinute, kNoTime, column, std::move(value),
                       where + ": " + std::move(detail)},
               cap);
    ++found;
  };
  while (found < limit && (a != store_rows.end() || b != pg_rows.end())) {
    if (b == pg_rows.end() || (a != store_rows.end() && a->first < b->first)) {
      add(a->first, "missing", "row in the store but not in PostgreSQL");
      ++a;
    } else if (a == store_rows.end() || b->first < a->first) {
      add(b->first, "extra", "row in PostgreSQL but not in the store");
      ++b;
    } else {
      if (a->second != b->second) {
        add(a->first, bits_text(b->second), "PostgreSQL has " + bits_text(b->second) + ", the store " + bits_text(a->second));
      }
      ++a;
      ++b;
    }
  }
  return found;
}

// How many differing partitions are narrowed down to rows (each costs two partition scans).
constexpr size_t kLocatedPartitions = 5;
constexpr size_t kFindingsPerPartition = 3;

Status compare_postgres(Context& ctx, CheckResult& rows, CheckResult& values) {
  const Options& o = *ctx.options;
  const size_t cap = o.max_examples;
  auto pg = store::PostgresReader::connect(o.postgres_url);
  if (!pg) {
    rows.fail(Finding{"", kNoTime, kNoTime, "", "unreachable", pg.error().message}, cap);
    values.skip("PostgreSQL unreachable");
    return Status::Ok();
  }
  // The view must offer every feature in catalogue order (what `bqx export` creates).
  auto view = pg->query(
      "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns "
      "WHERE table_schema = 'bqx' AND table_name = 'features'");
  if (!view) return view.error();
  std::string want = "pair,ts";
  for (const auto& c : features::all_feature_columns()) want += "," + c.name;
  const std::string have = view->empty() || !(*view)[0][0] ? "" : *(*view)[0][0];
  ++rows.checked;
  if (have != want) {
    rows.fail(Finding{"", kNoTime, kNoTime, "bqx.features", have.empty() ? "missing" : "different columns",
                      "the view bqx.features does not list pair, ts and the catalogue's columns in order"},
              cap);
  }

  std::vector<std::string> feature_cols, label_cols;
  for (const auto& c : features::all_feature_columns()) feature_cols.push_back(c.name);
  for (const auto& c : features::label_columns()) label_cols.push_back(c.name);
  std::map<std::string, size_t> feature_index;
  for (size_t j = 0; j < feature_cols.size(); ++j) feature_index[feature_cols[j]] = j;
  BQX_ASSIGN_OR_RETURN(auto store_features, duckdb_digest(ctx, "features", feature_cols));
  std::map<PartKey, PartDigest> store_labels;
  if (ctx.has_labels) {
    BQX_ASSIGN_OR_RETURN(store_labels, duckdb_digest(ctx, "labels", label_cols));
  }

  size_t located = 0;
  for (const auto& t : store::postgres_tables()) {
    const bool is_labels = t.source == "labels";
    const auto& mine = is_labels ? store_labels : store_features;
    auto theirs = postgres_digest(ctx, *pg, t.name, t.columns);
    const std::string where = "bqx." + t.name;
    if (!theirs) {
      rows.fail(Finding{"", kNoTime, kNoTime, where, "unreadable", theirs.error().message}, cap);
      continue;
    }
    std::set<PartKey> keys;
    for (const auto& [k, d] : mine) keys.insert(k);
    for (const auto& [k, d] : *theirs) keys.insert(k);
    static const PartDigest kEmpty;
    for (const auto& key : keys) {
      const auto mi = mine.find(key);
      const auto ti = theirs->find(key);
      const PartDigest& s = mi == mine.end() ? kEmpty : mi->second;
      const PartDigest& p = ti == theirs->end() ? kEmpty : ti->second;
      ++rows.checked;
      if (s.rows != p.rows || s.keys != p.keys) {
        const std::string detail =
            fmt::format("{} {} {}: {} rows in the store, {} in PostgreSQL{}", where, key.first,
                        format_month(key.second), s.rows, p.rows, s.rows == p.rows ? " (different timestamps)" : "");
        rows.fail(Finding{key.first, month_start(key.second), kNoTime, where, std::to_string(p.rows), detail}, cap);
        if (located < kLocatedPartitions) {
          ++located;
          auto a = duckdb_rows(ctx, t.source, key, "");
          auto b = postgres_rows(*pg, t.name, key, "");
          if (a && b) locate(*a, *b, key, where, where, rows, cap, kFindingsPerPartition);
        }
        continue;  // the value sums of a partition with other rows differ in every column
      }
      for (size_t j = 0; j < t.columns.size(); ++j) {
        const size_t sj = is_labels ? j : feature_index.at(t.columns[j]);
        ++values.checked;
        const int64_t sn = s.nulls.empty() ? 0 : s.nulls[sj];
        const uint64_t ss = s.sums.empty() ? 0 : s.sums[sj];
        if (sn == p.nulls[j] && ss == p.sums[j]) continue;
        const std::string detail = fmt::format(
            "{} {} {}: store {} NULLs, checksum {:016x}; PostgreSQL {} NULLs, checksum {:016x}", where, key.first,
            format_month(key.second), sn, ss, p.nulls[j], p.sums[j]);
        values.fail(Finding{key.first, month_start(key.second), kNoTime, t.columns[j], "checksum differs", detail}, cap);
        if (located < kLocatedPartitions) {
          ++located;
          auto a = duckdb_rows(ctx, t.source, key, t.columns[j]);
          auto b = postgres_rows(*pg, t.name, key, t.columns[j]);
          if (a && b) locate(*a, *b, key, where, t.columns[j], values, cap, kFindingsPerPartition);
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Status run_cross_store_checks(Context& ctx, Report& report) {
  const Options& o = *ctx.options;
  auto counts = make_check("cross_store.parquet_rows", "cross_store", "Parquet export has the store's rows",
                           "Row counts per (pair, month) of the Parquet export equal the store's, for features and labels.");
  auto values = make_check("cross_store.parquet_values", "cross_store", "Parquet export has the store's values",
                           "Per column, the non-NULL count and sum(hash(value)) of the export equal the store's.");
  auto pg_rows = make_check("cross_store.postgres_rows", "cross_store", "PostgreSQL export has the store's rows",
                            "Per (pair, month) and PostgreSQL table (each feature family, labels), the row count and "
                            "the set of timestamps equal the store's; the view bqx.features lists the catalogue.");
  auto pg_values = make_check("cross_store.postgres_values", "cross_store", "PostgreSQL export has the store's values",
                              "Per (pair, month) and column, the NULL count and the wrapping sum of a 64-bit hash of "
                              "(pair, ts, value bits) of the PostgreSQL export equal the store's.");
  if (o.parquet_dir.empty()) {
    counts.skip("no --parquet directory given");
    values.skip("no --parquet directory given");
  } else if (!ctx.has_features || report.feature_rows == 0) {
    counts.skip("no features in the store");
    values.skip("no features in the store");
  } else {
    for (const std::string table : {"features", "labels"}) {
      const auto dir = o.parquet_dir / table;
      if (!std::filesystem::exists(dir)) {
        counts.fail(Finding{"", kNoTime, kNoTime, table, "missing", dir.string() + " does not exist"}, o.max_examples);
        continue;
      }
      const std::string source = "read_parquet(" + store::sql_quote((dir / "*" / "*" / "*.parquet").string()) +
                                 ", hive_partitioning = true)";
      std::vector<std::string> cols = table == "features" ? std::vector<std::string>{} : std::vector<std::string>{};
      if (table == "features") {
        for (const auto& c : features::all_feature_columns()) cols.push_back(c.name);
      } else {
        for (const auto& c : features::label_columns()) cols.push_back(c.name);
      }
      BQX_ASSIGN_OR_RETURN(Digest mine, digest(ctx, table, cols));
      auto theirs = digest(ctx, source, cols);
      if (!theirs) {
        counts.fail(Finding{"", kNoTime, kNoTime, table, "unreadable", theirs.error().message}, o.max_examples);
        continue;
      }
      compare(ctx, table, mine, *theirs, cols, counts, values);
    }
  }
  if (o.postgres_url.empty()) {
    pg_rows.skip("no --postgres URL given");
    pg_values.skip("no --postgres URL given");
  } else if (!ctx.has_features || report.feature_rows == 0) {
    pg_rows.skip("no features in the store");
    pg_values.skip("no features in the store");
  } else {
    BQX_TRY(compare_postgres(ctx, pg_rows, pg_values));
  }
  report.checks.push_back(std::move(counts));
  report.checks.push_back(std::move(values));
  report.checks.push_back(std::move(pg_rows));
  report.checks.push_back(std::move(pg_values));
  return Status::Ok();
}

}  // namespace bqx::validate
