// Shared by the export tests: a synthetic feature store (every catalogue column, awkward
// doubles, NULLs, rows on both month edges, a manifest with real partition checksums) and
// bit-exact row stream comparison between DuckDB, Parquet (read by DuckDB) and PostgreSQL
// (the PostgreSQL source is in export_test_pg.h: only the store tests link libpq).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/currency.h"
#include "core/time.h"
#include "features/registry.h"
#include "store/export_common.h"
#include "store/feature_store.h"

namespace bqx::export_testing {

// One row as exchanged by every store: pair, ts (microseconds since 1970) and each value as
// its exact bit pattern with a NULL flag.
struct Row {
  std::string pair;
  int64_t ts_micros = 0;
  std::vector<uint64_t> bits;
  std::vector<bool> null;
};

// A source of rows in (pair, ts) order, a block at a time.
class RowSource {
 public:
  virtual ~RowSource() = default;
  // Fills `rows` with the next block; false at the end (or on error, see error()).
  virtual bool next(std::vector<Row>& rows) = 0;
  virtual std::string error() const { return {}; }
};

// Rows of a DuckDB query whose columns are pair VARCHAR, ts TIMESTAMP, then DOUBLEs.
class DuckRows final : public RowSource {
 public:
  DuckRows(store::Connection& con, const std::string& sql) {
    auto r = store::ChunkReader::open(con, sql);
    if (r) reader_ = std::make_unique<store::ChunkReader>(std::move(*r));
    else error_ = r.error().message;
  }
  bool next(std::vector<Row>& rows) override {
    rows.clear();
    if (!reader_) return false;
    duckdb_data_chunk chunk = reader_->next();
    if (!chunk) {
      error_ = reader_->error();
      return false;
    }
    const idx_t n = duckdb_data_chunk_get_size(chunk);
    const size_t width = reader_->column_count() - 2;
    duckdb_vector pv = duckdb_data_chunk_get_vector(chunk, 0);
    const auto* pairs = static_cast<duckdb_string_t*>(duckdb_vector_get_data(pv));
    const auto* ts = static_cast<duckdb_timestamp*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 1)));
    rows.resize(n);
    for (idx_t r = 0; r < n; ++r) {
      duckdb_string_t s = pairs[r];
      rows[r].pair.assign(duckdb_string_t_data(&s), duckdb_string_t_length(s));
      rows[r].ts_micros = ts[r].micros;
      rows[r].bits.assign(width, 0);
      rows[r].null.assign(width, false);
    }
    for (size_t c = 0; c < width; ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c + 2);
      const auto* d = static_cast<const double*>(duckdb_vector_get_data(v));
      uint64_t* valid = duckdb_vector_get_validity(v);
      for (idx_t r = 0; r < n; ++r) {
        if (valid && !duckdb_validity_row_is_valid(valid, r)) {
          rows[r].null[c] = true;
        } else {
          std::memcpy(&rows[r].bits[c], &d[r], 8);
        }
      }
    }
    return true;
  }
  std::string error() const override { return error_; }

 private:
  std::unique_ptr<store::ChunkReader> reader_;
  std::string error_;
};

struct Comparison {
  int64_t rows = 0;
  int64_t nulls = 0;
  int64_t negative_zeros = 0;  // values SQL would call equal to 0.0: only bits tell them apart
};

// Walks both sources in lockstep and fails the test at the first difference (pair, ts,
// NULL flag or bit pattern of any value); returns what it compared.
inline Comparison expect_same_rows(RowSource& expected, RowSource& actual, const std::vector<std::string>& columns) {
  Comparison out;
  std::vector<Row> a, b;
  size_t ia = 0, ib = 0;
  bool more_a = true, more_b = true;
  for (;;) {
    if (ia == a.size() && more_a) {
      more_a = expected.next(a);
      ia = 0;
    }
    if (ib == b.size() && more_b) {
      more_b = actual.next(b);
      ib = 0;
    }
    const bool has_a = ia < a.size(), has_b = ib < b.size();
    if (!has_a || !has_b) {
      EXPECT_EQ(expected.error(), "");
      EXPECT_EQ(actual.error(), "");
      EXPECT_EQ(has_a, has_b) << "row counts differ after " << out.rows << " rows";
      return out;
    }
    const Row& x = a[ia++];
    const Row& y = b[ib++];
    if (x.pair != y.pair || x.ts_micros != y.ts_micros || x.bits.size() != y.bits.size()) {
      ADD_FAILURE() << "row " << out.rows << ": (" << x.pair << ", " << x.ts_micros << ", " << x.bits.size()
                    << " values) vs (" << y.pair << ", " << y.ts_micros << ", " << y.bits.size() << " values)";
      return out;
    }
    for (size_t c = 0; c < x.bits.size(); ++c) {
      if (x.null[c] != y.null[c] || x.bits[c] != y.bits[c]) {
        ADD_FAILURE() << x.pair << " " << x.ts_micros << " column " << (c < columns.size() ? columns[c] : "?")
                      << ": expected " << (x.null[c] ? "NULL" : std::to_string(x.bits[c])) << ", got "
                      << (y.null[c] ? "NULL" : std::to_string(y.bits[c]));
        return out;
      }
      out.nulls += x.null[c] ? 1 : 0;
      out.negative_zeros += !x.null[c] && x.bits[c] == 0x8000000000000000ull ? 1 : 0;
    }
    ++out.rows;
  }
}

// Comma-separated quoted column list for SQL.
inline std::string column_list(const std::vector<std::string>& columns) {
  std::string s;
  for (const auto& c : columns) s += (s.empty() ? "" : ", ") + store::sql_identifier(c);
  return s;
}

// A value that exercises the encoders: NULL, signed zeros, subnormals, infinities,
// extremes, and random bit patterns (never NaN: the store keeps NULL as NULL).
inline double awkward_value(std::mt19937_64& rng) {
  switch (rng() % 16) {
    case 0: case 1: return std::nan("");  // NULL when appended
    case 2: return -0.0;
    case 3: return 0.0;
    case 4: return std::numeric_limits<double>::denorm_min() * static_cast<double>(rng() % 1000 + 1);
    case 5: return (rng() & 1) ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
    case 6: return (rng() & 1) ? std::numeric_limits<double>::max() : std::numeric_limits<double>::lowest();
    default: {
      for (;;) {
        const uint64_t bits = rng();
        double v;
        std::memcpy(&v, &bits, 8);
        if (!std::isnan(v)) return v;
      }
    }
  }
}

struct SyntheticStore {
  std::vector<std::string> pairs;
  std::vector<std::string> months;
  int64_t rows_per_partition = 0;
};

// Fills `con` with features and labels for every (pair, month): the first row at the
// month's first minute, the last at its last minute, the rest spread between, ordered by
// ts, with a manifest entry (real checksum) per kind and partition. Column `null_column`
// of the features is NULL in every row (an all-NULL column).
inline SyntheticStore make_synthetic_store(store::Connection& con, const std::vector<std::string>& pairs,
                                           const std::vector<std::string>& months, int64_t rows_per_partition,
                                           uint64_t seed = 42) {
  SyntheticStore s{pairs, months, rows_per_partition};
  EXPECT_TRUE(store::ensure_feature_schema(con).ok());
  std::mt19937_64 rng(seed);
  const size_t nf = features::all_feature_columns().size(), nl = features::label_columns().size();
  for (const char* kind : {"features", "labels"}) {
    const size_t width = std::string(kind) == "features" ? nf : nl;
    std::vector<store::ChunkAppender::Kind> kinds = {store::ChunkAppender::Kind::Varchar,
                                                     store::ChunkAppender::Kind::Timestamp};
    kinds.insert(kinds.end(), width, store::ChunkAppender::Kind::Double);
    auto app = store::ChunkAppender::create(con, kind, kinds);
    EXPECT_TRUE(app.ok()) << app.error().message;
    std::vector<std::string> manifest;
    for (const auto& month : months) {
      const MonthId m = *parse_month(month);
      const EpochMinute first = month_start(m), last = month_start(m + 1) - 1;
      for (const auto& name : pairs) {
        const Pair pair = *parse_pair(name);
        store::PartitionChecksum checksum;
        std::vector<double> values(width);
        for (int64_t i = 0; i < rows_per_partition; ++i) {
          const EpochMinute ts = i == rows_per_partition - 1 ? last : first + i * ((last - first) / rows_per_partition);
          for (size_t c = 0; c < width; ++c) values[c] = c == 5 && width == nf ? std::nan("") : awkward_value(rng);
          app->set_varchar(0, name);
          app->set_timestamp_minutes(1, ts);
          for (size_t c = 0; c < width; ++c) app->set_double(c + 2, values[c]);
          EXPECT_TRUE(app->end_row().ok());
          checksum.add_row(pair, ts, values.data(), width);
        }
        manifest.push_back("(" + store::sql_quote(kind) + ", " + store::sql_quote(name) + ", " +
                           store::sql_quote(month) + ", " + std::to_string(rows_per_partition) + ", " +
                           store::sql_quote(checksum.hex()) + ", " + store::sql_quote(store::kCodeVersion) + ", " +
                           store::sql_quote(features::kCatalogueVersion) +
                           ", 'test', true, 1, 0, 0, TIMESTAMP '2025-01-01 00:00:00')");
      }
    }
    EXPECT_TRUE(app->close().ok());
    for (const auto& values : manifest) EXPECT_TRUE(con.exec("INSERT INTO manifest VALUES " + values).ok());
  }
  return s;
}

}  // namespace bqx::export_testing
