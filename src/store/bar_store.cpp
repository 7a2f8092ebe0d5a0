#include "store/bar_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace bqx::store {
namespace {

constexpr const char* kBarColumns = "pair, ts, open, high, low, close, volume, bid, ask";

Status ensure_meta(Connection& con) {
  auto v = con.query("SELECT value FROM meta WHERE key = 'schema_version'");
  if (!v) return v.error();
  if (v->rows.empty()) {
    return con.exec(fmt::format("INSERT INTO meta VALUES ('schema_version', '{}')", kSchemaVersion));
  }
  if (v->rows[0][0].value_or("") != std::to_string(kSchemaVersion)) {
    return make_error(con.path().string() + ": store schema version " + v->rows[0][0].value_or("?") +
                      " is not supported by this bqx (expects " + std::to_string(kSchemaVersion) + ")");
  }
  return Status::Ok();
}

// Rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& con) : con_(con) {}
  Status begin() { return con_.exec("BEGIN TRANSACTION"); }
  Status commit() {
    done_ = true;
    return con_.exec("COMMIT");
  }
  ~Transaction() {
    if (!done_) (void)con_.exec("ROLLBACK");
  }

 private:
  Connection& con_;
  bool done_ = false;
};

std::string ts_literal(EpochMinute t) { return "TIMESTAMP '" + format_compact(t) + ":00'"; }

// A double literal that parses back to the same bits.
std::string format_exact(double v) { return fmt::format("{:.17g}::DOUBLE", v); }

Status append_frame(Connection& con, const std::string& table, const std::string& pair, const BarFrame& f) {
  using K = ChunkAppender::Kind;
  auto app = ChunkAppender::create(con, table, {K::Varchar, K::Timestamp, K::Double, K::Double, K::Double, K::Double,
                                                K::Double, K::Double, K::Double});
  if (!app) return app.error();
  for (size_t i = 0; i < f.size(); ++i) {
    app->set_varchar(0, pair);
    app->set_timestamp_minutes(1, f.ts[i]);
    app->set_double(2, f.open[i]);
    app->set_double(3, f.high[i]);
    app->set_double(4, f.low[i]);
    app->set_double(5, f.close[i]);
    app->set_double(6, f.volume[i]);
    app->set_double(7, f.bid[i]);
    app->set_double(8, f.ask[i]);
    BQX_TRY(app->end_row());
  }
  return app->close();
}

}  // namespace

Status ensure_schema(Connection& con) {
  BQX_TRY(con.exec(R"(
    CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value VARCHAR);
    CREATE TABLE IF NOT EXISTS pairs(
      pair VARCHAR PRIMARY KEY, base VARCHAR NOT NULL, quote VARCHAR NOT NULL,
      baseline DOUBLE NOT NULL, baseline_ts TIMESTAMP NOT NULL);
    CREATE TABLE IF NOT EXISTS bars(
      pair VARCHAR NOT NULL, ts TIMESTAMP NOT NULL,
      open DOUBLE NOT NULL, high DOUBLE NOT NULL, low DOUBLE NOT NULL, close DOUBLE NOT NULL,
      volume DOUBLE, bid DOUBLE, ask DOUBLE);
    CREATE TABLE IF NOT EXISTS ingest_log(
      file VARCHAR NOT NULL, pair VARCHAR NOT NULL, ingested_at TIMESTAMP NOT NULL,
      rows_in_file BIGINT, inserted BIGINT, replaced BIGINT, unchanged BIGINT,
      duplicates_dropped BIGINT, rejected BIGINT);
  )"));
  return ensure_meta(con);
}

Result<IngestResult> ingest_bars(Connection& con, const BarFile& file) {
  const BarFrame& f = file.bars;
  IngestResult r;
  r.pair = f.pair;
  r.rows_in_file = file.report.rows_read;
  r.duplicates_dropped = file.report.duplicates_dropped;
  r.rejected = file.report.rows_rejected;
  r.reordered = file.report.reordered;
  if (f.empty()) return r;
  r.first = f.ts.front();
  r.last = f.ts.back();
  const std::string pair = pair_name(f.pair);

  // Only this pair's bars in the file's time range can collide.
  const std::string range = fmt::format("b.pair = {} AND b.ts BETWEEN {} AND {}", sql_quote(pair),
                                        ts_literal(r.first), ts_literal(r.last));
  Transaction tx(con);
  BQX_TRY(tx.begin());
  auto overlapping = con.query_int("SELECT count(*) FROM bars b WHERE " + range);
  if (!overlapping) return overlapping.error();
  // New data (the common case) is appended straight into bars; overlapping data goes
  // through a staging table so that identical bars are kept and changed ones replaced.
  const bool direct = *overlapping == 0;
  if (!direct) {
    BQX_TRY(con.exec(
        "CREATE TEMP TABLE IF NOT EXISTS staging_bars AS SELECT * FROM bars LIMIT 0; DELETE FROM staging_bars;"));
  }
  BQX_TRY(append_frame(con, direct ? "bars" : "staging_bars", pair, f));
  if (direct) {
    r.inserted = f.size();
  } else {
    auto existing = con.query_int(
        "SELECT count(*) FROM bars b JOIN staging_bars s ON b.pair = s.pair AND b.ts = s.ts WHERE " + range);
    if (!existing) return existing.error();
    auto changed = con.query_int(
        "SELECT count(*) FROM bars b JOIN staging_bars s ON b.pair = s.pair AND b.ts = s.ts WHERE " + range +
        " AND (b.open IS DISTINCT FROM s.open OR b.high IS DISTINCT FROM s.high OR b.low IS DISTINCT FROM s.low"
        " OR b.close IS DISTINCT FROM s.close OR b.volume IS DISTINCT FROM s.volume"
        " OR b.bid IS DISTINCT FROM s.bid OR b.ask IS DISTINCT FROM s.ask)");
    if (!changed) return changed.error();
    r.replaced = static_cast<size_t>(*changed);
    r.unchanged = static_cast<size_t>(*existing - *changed);
    r.inserted = f.size() - static_cast<size_t>(*existing);
    if (*changed > 0) {
      BQX_TRY(con.exec("DELETE FROM bars b USING staging_bars s WHERE b.pair = s.pair AND b.ts = s.ts AND " + range));
      BQX_TRY(con.exec(std::string("INSERT INTO bars SELECT ") + kBarColumns + " FROM staging_bars ORDER BY ts"));
    } else if (r.inserted > 0) {
      BQX_TRY(con.exec(std::string("INSERT INTO bars SELECT ") + kBarColumns +
                       " FROM staging_bars s WHERE NOT EXISTS (SELECT 1 FROM bars b WHERE b.pair = s.pair AND "
                       "b.ts = s.ts AND " + range + ") ORDER BY ts"));
    }
    BQX_TRY(con.exec("DELETE FROM staging_bars"));
  }
  // B_p is fixed when the pair first appears: the close of its first bar then.
  BQX_TRY(con.exec(fmt::format(
      "INSERT INTO pairs VALUES ({}, {}, {}, {}, {}) ON CONFLICT DO NOTHING", sql_quote(pair),
      sql_quote(currency_code(f.pair.base)), sql_quote(currency_code(f.pair.quote)), format_exact(f.close[0]),
      ts_literal(f.ts[0]))));
  BQX_TRY(con.exec(fmt::format("INSERT INTO ingest_log VALUES ({}, {}, now()::TIMESTAMP, {}, {}, {}, {}, {}, {})",
                               sql_quote(file.path.string()), sql_quote(pair), r.rows_in_file, r.inserted,
                               r.replaced, r.unchanged, r.duplicates_dropped, r.rejected)));
  BQX_TRY(tx.commit());
  return r;
}

Result<std::vector<PairInfo>> list_pairs(Connection& con) {
  auto t = con.query("SELECT pair, baseline, epoch(baseline_ts)::BIGINT // 60 FROM pairs");
  if (!t) return t.error();
  std::vector<PairInfo> out;
  for (const auto& row : t->rows) {
    auto p = parse_pair(row[0].value_or(""));
    if (!p) return p.error();
    out.push_back(PairInfo{*p, std::stod(*row[1]), std::stoll(*row[2])});
  }
  std::sort(out.begin(), out.end(), [](const PairInfo& a, const PairInfo& b) { return a.pair < b.pair; });
  return out;
}

Result<BarFrame> load_bars(Connection& con, Pair pair, std::optional<EpochMinute> from,
                           std::optional<EpochMinute> to) {
  std::string sql = "SELECT epoch(ts)::BIGINT // 60, open, high, low, close, volume, bid, ask FROM bars WHERE pair = " +
                    sql_quote(pair_name(pair));
  if (from) sql += " AND ts >= " + ts_literal(*from);
  if (to) sql += " AND ts < " + ts_literal(*to);
  sql += " ORDER BY ts";
  duckdb_result result;
  if (duckdb_query(con.raw(), sql.c_str(), &result) != DuckDBSuccess) {
    std::string msg = duckdb_result_error(&result);
    duckdb_destroy_result(&result);
    return make_error("duckdb: " + msg);
  }
  BarFrame f;
  f.pair = pair;
  f.reserve(duckdb_row_count(&result));
  for (;;) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(result);
    if (!chunk) break;
    const idx_t n = duckdb_data_chunk_get_size(chunk);
    const auto* ts = static_cast<const int64_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 0)));
    std::array<const double*, 7> cols{};
    std::array<uint64_t*, 7> valid{};
    for (idx_t c = 0; c < 7; ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c + 1);
      cols[c] = static_cast<const double*>(duckdb_vector_get_data(v));
      valid[c] = duckdb_vector_get_validity(v);
    }
    auto get = [&](idx_t c, idx_t i) {
      return (valid[c] && !duckdb_validity_row_is_valid(valid[c], i)) ? std::nan("") : cols[c][i];
    };
    for (idx_t i = 0; i < n; ++i) {
      f.push_back(Bar{ts[i], get(0, i), get(1, i), get(2, i), get(3, i), get(4, i), get(5, i), get(6, i)});
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  duckdb_destroy_result(&result);
  return f;
}

Result<std::vector<MonthCount>> month_counts(Connection& con) {
  // A gap is a break of more than one minute between consecutive bars of a pair that
  // does not span the weekly close (Friday 22:00 - Sunday 22:00 UTC): the market is
  // open at the minute after the earlier bar.
  auto t = con.query(R"(
    WITH b AS (
      SELECT pair, ts, epoch(ts)::BIGINT // 60 AS m,
             (epoch(ts)::BIGINT // 60) - (epoch(lag(ts) OVER (PARTITION BY pair ORDER BY ts))::BIGINT // 60) AS step,
             lag(ts) OVER (PARTITION BY pair ORDER BY ts) AS prev
      FROM bars),
    g AS (
      SELECT *, step > 1 AND NOT (
          -- the hole contains the weekly close: the previous bar is on/after Fri 22:00 or the
          -- hole spans a Saturday
          (isodow(prev + INTERVAL 1 MINUTE) = 5 AND hour(prev + INTERVAL 1 MINUTE) >= 22) OR
          isodow(prev + INTERVAL 1 MINUTE) = 6 OR
          (isodow(prev + INTERVAL 1 MINUTE) = 7 AND hour(prev + INTERVAL 1 MINUTE) < 22) OR
          step >= 2880) AS is_gap
      FROM b)
    SELECT pair, strftime(ts, '%Y-%m') AS month, count(*) AS bars,
           min(m) AS first, max(m) AS last,
           count(*) FILTER (WHERE is_gap) AS gaps,
           coalesce(max(step - 1) FILTER (WHERE is_gap), 0) AS longest
    FROM g GROUP BY pair, month ORDER BY pair, month)");
  if (!t) return t.error();
  std::vector<MonthCount> out;
  for (const auto& row : t->rows) {
    MonthCount m;
    auto p = parse_pair(row[0].value_or(""));
    if (!p) return p.error();
    m.pair = *p;
    auto month = parse_month(row[1].value_or(""));
    if (!month) return month.error();
    m.month = *month;
    m.bars = std::stoll(*row[2]);
    m.first = std::stoll(*row[3]);
    m.last = std::stoll(*row[4]);
    m.gaps = std::stoll(*row[5]);
    m.longest_gap = std::stoll(*row[6]);
    out.push_back(m);
  }
  std::sort(out.begin(), out.end(), [](const MonthCount& a, const MonthCount& b) {
    return a.pair < b.pair || (a.pair == b.pair && a.month < b.month);
  });
  return out;
}

}  // namespace bqx::store
