// Cross-store consistency (issue 6, check 6): the Parquet export (hive layout
// DIR/{features,labels}/pair=X/month=YYYY-MM/*.parquet) holds the same rows and values as
// the DuckDB store. Both sides run the same aggregate query: per (pair, month) row counts
// and, per column, the count of non-NULL values and sum(hash(value)) as an exact HUGEINT.
// Integer hash sums are order-independent and bit-reproducible, unlike a parallel sum of
// doubles; a single flipped bit changes the column's sum.
#include <fmt/format.h>

#include <map>

#include "features/registry.h"
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

}  // namespace

Status run_cross_store_checks(Context& ctx, Report& report) {
  const Options& o = *ctx.options;
  auto counts = make_check("cross_store.parquet_rows", "cross_store", "Parquet export has the store's rows",
                           "Row counts per (pair, month) of the Parquet export equal the store's, for features and labels.");
  auto values = make_check("cross_store.parquet_values", "cross_store", "Parquet export has the store's values",
                           "Per column, the non-NULL count and sum(hash(value)) of the export equal the store's.");
  auto pg = make_check("cross_store.postgres", "cross_store", "PostgreSQL export matches",
                       "Row counts and per-column checksums of the PostgreSQL export equal the store's.");
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
    pg.skip("no --postgres URL given");
  } else {
    pg.skip("PostgreSQL comparison is not implemented in this build (compare with the Parquet export)");
  }
  report.checks.push_back(std::move(counts));
  report.checks.push_back(std::move(values));
  report.checks.push_back(std::move(pg));
  return Status::Ok();
}

}  // namespace bqx::validate
