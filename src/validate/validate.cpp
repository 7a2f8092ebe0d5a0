// Orchestration of `bqx validate`: opens the store, resolves the selection, loads the
// selected bars once, runs every check area and times each.
#include "validate/validate.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>

#include "store/bar_store.h"
#include "validate/context.h"

namespace bqx::validate {

std::string ts_literal(EpochMinute t) {
  const CivilTime c = to_civil(t);
  return fmt::format("TIMESTAMP '{:04d}-{:02d}-{:02d} {:02d}:{:02d}:00'", c.date.year, c.date.month, c.date.day, c.hour,
                     c.minute);
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string quote_ident(const std::string& name) {
  std::string out = "\"";
  for (char ch : name) {
    if (ch == '"') out += "\"\"";
    else out.push_back(ch);
  }
  return out + "\"";
}

CheckResult make_check(std::string id, std::string area, std::string title, std::string description,
                       Severity severity) {
  CheckResult c;
  c.id = std::move(id);
  c.area = std::move(area);
  c.title = std::move(title);
  c.description = std::move(description);
  c.severity = severity;
  return c;
}

std::string Context::where() const {
  std::string in;
  for (Pair p : pairs) in += (in.empty() ? "" : ", ") + store::sql_quote(pair_name(p));
  return "pair IN (" + in + ") AND ts >= " + ts_literal(from) + " AND ts < " + ts_literal(to);
}

const PairBars* Context::find(Pair p) const {
  for (const auto& b : bars) {
    if (b.pair == p) return &b;
  }
  return nullptr;
}

// splitmix64 finaliser (Steele, Lea, Flood 2014): a cheap, well-mixed 64-bit hash.
static uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t row_key(const std::string& pair, EpochMinute ts) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over the pair name, then mixed with ts
  for (char ch : pair) h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001b3ull;
  return mix64(h ^ mix64(static_cast<uint64_t>(ts)));
}

uint64_t value_hash(uint64_t key, double v, bool is_null) {
  uint64_t bits = 0x7ff8dead0000beefull;  // NULL: one canonical pattern no double produces here
  if (!is_null) std::memcpy(&bits, &v, sizeof bits);
  // One finaliser per cell: the key is already mixed, the odd multiplier spreads the bits.
  return mix64(key ^ (bits * 0x9e3779b97f4a7c15ull));
}

// ---------------------------------------------------------------------------------------

Result<ChunkStream> ChunkStream::open(store::Connection& con, const std::string& sql) {
  ChunkStream s;
  if (duckdb_prepare(con.raw(), sql.c_str(), &s.prepared_) != DuckDBSuccess) {
    const char* e = duckdb_prepare_error(s.prepared_);
    return make_error(std::string("duckdb: ") + (e ? e : "cannot prepare query"));
  }
  duckdb_pending_result pending = nullptr;
  // A streaming result hands out chunks as the scan produces them: the wide features table
  // is never materialised.
  if (duckdb_pending_prepared_streaming(s.prepared_, &pending) != DuckDBSuccess) {
    std::string msg = pending && duckdb_pending_error(pending) ? duckdb_pending_error(pending) : "cannot start query";
    duckdb_destroy_pending(&pending);
    return make_error("duckdb: " + msg);
  }
  const duckdb_state st = duckdb_execute_pending(pending, &s.result_);
  duckdb_destroy_pending(&pending);
  s.has_result_ = true;
  if (st != DuckDBSuccess) {
    const char* e = duckdb_result_error(&s.result_);
    return make_error(std::string("duckdb: ") + (e ? e : "query failed"));
  }
  return s;
}

ChunkStream::ChunkStream(ChunkStream&& o) noexcept
    : prepared_(o.prepared_), result_(o.result_), has_result_(o.has_result_), chunk_(o.chunk_),
      error_(std::move(o.error_)) {
  o.prepared_ = nullptr;
  o.has_result_ = false;
  o.chunk_ = nullptr;
}

ChunkStream::~ChunkStream() {
  if (chunk_) duckdb_destroy_data_chunk(&chunk_);
  if (has_result_) duckdb_destroy_result(&result_);
  if (prepared_) duckdb_destroy_prepare(&prepared_);
}

duckdb_data_chunk ChunkStream::next() {
  if (chunk_) duckdb_destroy_data_chunk(&chunk_);
  if (!has_result_) return nullptr;
  chunk_ = duckdb_fetch_chunk(result_);
  if (!chunk_) {
    const char* e = duckdb_result_error(&result_);
    if (e && *e) error_ = std::string("duckdb: ") + e;
  }
  return chunk_;
}

// ---------------------------------------------------------------------------------------

namespace {

Result<bool> table_exists(store::Connection& con, const std::string& name) {
  auto n = con.query_int("SELECT count(*) FROM information_schema.tables WHERE table_name = " + store::sql_quote(name));
  if (!n) return n.error();
  return *n > 0;
}

std::string now_iso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status resolve_selection(Context& ctx, Report& report) {
  store::Connection& con = *ctx.con;
  BQX_ASSIGN_OR_RETURN(const bool has_bars, table_exists(con, "bars"));
  if (!has_bars) return make_error(con.path().string() + ": no bars table (run `bqx ingest` first)");
  BQX_ASSIGN_OR_RETURN(auto infos, store::list_pairs(con));
  std::vector<Pair> stored;
  for (const auto& i : infos) stored.push_back(i.pair);
  stored = canonical_order(stored);
  if (ctx.options->pairs.empty()) {
    ctx.pairs = stored;
  } else {
    for (Pair p : canonical_order(ctx.options->pairs)) {
      if (std::find(stored.begin(), stored.end(), p) == stored.end()) {
        return make_error(con.path().string() + ": pair not in the store (" + pair_name(p) + ")");
      }
      ctx.pairs.push_back(p);
    }
  }
  if (ctx.pairs.empty()) return make_error(con.path().string() + ": the store has no bars");

  BQX_ASSIGN_OR_RETURN(auto month_table,
                       con.query("SELECT DISTINCT strftime(ts, '%Y-%m') AS m FROM bars ORDER BY m"));
  std::vector<MonthId> stored_months;
  for (const auto& row : month_table.rows) {
    auto m = parse_month(row[0].value_or(""));
    if (m) stored_months.push_back(*m);
  }
  if (ctx.options->months.empty()) {
    ctx.months = stored_months;
  } else {
    for (MonthId m : ctx.options->months) {
      if (std::find(stored_months.begin(), stored_months.end(), m) == stored_months.end()) {
        return make_error(con.path().string() + ": no bars in month " + format_month(m));
      }
      ctx.months.push_back(m);
    }
    std::sort(ctx.months.begin(), ctx.months.end());
    ctx.months.erase(std::unique(ctx.months.begin(), ctx.months.end()), ctx.months.end());
  }
  if (ctx.months.empty()) return make_error(con.path().string() + ": the store has no bars");
  // The selection is the contiguous span from the first to the last chosen month.
  ctx.from = month_start(ctx.months.front());
  ctx.to = month_start(ctx.months.back() + 1);
  ctx.months.clear();
  for (MonthId m = month_of(ctx.from); m < month_of(ctx.to); ++m) {
    if (std::find(stored_months.begin(), stored_months.end(), m) != stored_months.end()) ctx.months.push_back(m);
  }
  for (Pair p : ctx.pairs) report.pairs.push_back(pair_name(p));
  for (MonthId m : ctx.months) report.months.push_back(format_month(m));

  for (Pair p : ctx.pairs) {
    PairBars pb;
    pb.pair = p;
    for (const auto& i : infos) {
      if (i.pair == p) pb.baseline = i.baseline;
    }
    BQX_ASSIGN_OR_RETURN(pb.frame, store::load_bars(con, p, ctx.from, ctx.to));
    const std::string q = store::sql_quote(pair_name(p));
    BQX_ASSIGN_OR_RETURN(pb.bars_before,
                         con.query_int("SELECT count(*) FROM bars WHERE pair = " + q + " AND ts < " + ts_literal(ctx.from)));
    BQX_ASSIGN_OR_RETURN(pb.bars_total, con.query_int("SELECT count(*) FROM bars WHERE pair = " + q));
    if (!pb.frame.empty()) {
      report.first_bar = report.bars == 0 ? pb.frame.ts.front() : std::min(report.first_bar, pb.frame.ts.front());
      report.last_bar = report.bars == 0 ? pb.frame.ts.back() : std::max(report.last_bar, pb.frame.ts.back());
    }
    report.bars += static_cast<int64_t>(pb.frame.size());
    ctx.bars.push_back(std::move(pb));
  }
  BQX_ASSIGN_OR_RETURN(ctx.has_features, table_exists(con, "features"));
  BQX_ASSIGN_OR_RETURN(ctx.has_labels, table_exists(con, "labels"));
  BQX_ASSIGN_OR_RETURN(ctx.has_manifest, table_exists(con, "manifest"));
  BQX_ASSIGN_OR_RETURN(ctx.has_state, table_exists(con, "state"));
  if (ctx.has_features) {
    BQX_ASSIGN_OR_RETURN(report.feature_rows, con.query_int("SELECT count(*) FROM features WHERE " + ctx.where()));
  }
  if (ctx.has_labels) {
    BQX_ASSIGN_OR_RETURN(report.label_rows, con.query_int("SELECT count(*) FROM labels WHERE " + ctx.where()));
  }
  report.has_features = ctx.has_features && report.feature_rows > 0;
  return Status::Ok();
}

}  // namespace

Result<Report> run_validation(const Options& options) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!std::filesystem::exists(options.db)) return make_error(options.db.string() + ": no such store");
  BQX_ASSIGN_OR_RETURN(auto con, store::Connection::open(options.db));
  Report report;
  report.db = options.db.string();
  report.generated_at = now_iso();
  Context ctx;
  ctx.options = &options;
  ctx.con = &con;
  BQX_TRY(resolve_selection(ctx, report));
  report.seconds["load"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  using Area = Status (*)(Context&, Report&);
  const std::pair<const char*, Area> areas[] = {
      {"completeness", run_completeness_checks}, {"bars", run_bar_checks},
      {"features", run_feature_checks},          {"labels", run_label_checks},
      {"point_in_time", run_point_in_time_checks}, {"cross_store", run_cross_store_checks},
  };
  for (const auto& [name, fn] : areas) {
    const auto a0 = std::chrono::steady_clock::now();
    BQX_TRY(fn(ctx, report));
    report.seconds[name] = std::chrono::duration<double>(std::chrono::steady_clock::now() - a0).count();
  }
  report.seconds["total"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!options.report_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.report_dir, ec);
    if (ec) return make_error(options.report_dir.string() + ": cannot create report directory (" + ec.message() + ")");
    BQX_TRY(write_report_json(report, options.report_dir / "report.json"));
    BQX_TRY(write_report_html(report, options.report_dir / "report.html"));
  }
  return report;
}

}  // namespace bqx::validate
