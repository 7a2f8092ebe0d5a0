// Point in time (issue 6, check 5).
//
// One replay of a randomly chosen month of the selection through MarketEngine, starting
// from the engine state the store saved at the end of the month before (state table) or
// from a fresh engine for the store's first month. Only bars up to the end of the replayed
// span are loaded, and the engine is fed one minute at a time, so when it emits the row of
// bar t it has seen no bar after t:
//  * causality: K random bars of the span, recomputed from input truncated at the bar, equal
//    the stored rows bit for bit (a stored value that used later bars cannot match);
//  * batch = stream: a window of the span is replayed with MarketEngine::step minute by
//    minute and every row equals the stored row bit for bit.
// The span starts at the month's start (where the saved state is) and ends within its
// first day, so the replay costs about a day of the market, not the month.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <sstream>

#include "engine/market_engine.h"
#include "store/bar_store.h"
#include "validate/context.h"

namespace bqx::validate {
namespace {

Result<std::vector<uint8_t>> load_state_bytes(Context& ctx, MonthId month, std::string* universe) {
  BQX_ASSIGN_OR_RETURN(auto s, ChunkStream::open(*ctx.con, "SELECT bytes, universe FROM state WHERE month = " +
                                                               store::sql_quote(format_month(month)) +
                                                               " ORDER BY created_at DESC LIMIT 1"));
  std::vector<uint8_t> out;
  while (duckdb_data_chunk chunk = s.next()) {
    if (duckdb_data_chunk_get_size(chunk) == 0) continue;
    auto* blobs = static_cast<duckdb_string_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 0)));
    auto* texts = static_cast<duckdb_string_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 1)));
    const char* p = duckdb_string_t_data(&blobs[0]);
    out.assign(reinterpret_cast<const uint8_t*>(p), reinterpret_cast<const uint8_t*>(p) + duckdb_string_t_length(blobs[0]));
    universe->assign(duckdb_string_t_data(&texts[0]), duckdb_string_t_length(texts[0]));
    break;
  }
  if (!s.error().empty()) return make_error(s.error());
  return out;
}

struct StoredRows {
  std::map<std::pair<std::string, EpochMinute>, std::vector<double>> rows;  // NaN = NULL
};

Status load_stored(Context& ctx, const std::string& predicate, size_t width, StoredRows& out) {
  BQX_ASSIGN_OR_RETURN(auto s, ChunkStream::open(*ctx.con, "SELECT * EXCLUDE (pair, ts), pair, epoch(ts)::BIGINT // 60 "
                                                               "FROM features WHERE " + predicate));
  while (duckdb_data_chunk chunk = s.next()) {
    const idx_t n = duckdb_data_chunk_get_size(chunk);
    auto* pairs = static_cast<duckdb_string_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, width)));
    const auto* ts = static_cast<const int64_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, width + 1)));
    std::vector<std::vector<double>> block(n, std::vector<double>(width));
    for (size_t j = 0; j < width; ++j) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, j);
      const auto* d = static_cast<const double*>(duckdb_vector_get_data(v));
      uint64_t* val = duckdb_vector_get_validity(v);
      for (idx_t i = 0; i < n; ++i) {
        block[i][j] = (val && !duckdb_validity_row_is_valid(val, i)) ? std::nan("") : d[i];
      }
    }
    for (idx_t i = 0; i < n; ++i) {
      out.rows[{std::string(duckdb_string_t_data(&pairs[i]), duckdb_string_t_length(pairs[i])), ts[i]}] =
          std::move(block[i]);
    }
  }
  if (!s.error().empty()) return make_error(s.error());
  return Status::Ok();
}

// Compares one recomputed row with the stored one; returns the number of differing cells.
int64_t compare_row(const std::vector<features::ColumnInfo>& cols, const std::string& pair, EpochMinute ts,
                    const double* got, const std::vector<double>& stored, CheckResult& c, size_t cap) {
  int64_t bad = 0;
  for (size_t j = 0; j < cols.size(); ++j) {
    const bool a_null = std::isnan(got[j]), b_null = std::isnan(stored[j]);
    const bool same = a_null == b_null && (a_null || std::memcmp(&got[j], &stored[j], sizeof(double)) == 0);
    if (same) continue;
    ++bad;
    c.fail(Finding{pair, ts, kNoTime, cols[j].name, b_null ? "NULL" : format_value(stored[j]),
                   "recomputed: " + (a_null ? std::string("NULL") : format_value(got[j]))},
           cap);
  }
  return bad;
}

}  // namespace

Status run_point_in_time_checks(Context& ctx, Report& report) {
  const Options& o = *ctx.options;
  auto causality = make_check("point_in_time.causality", "point_in_time", "Causal: rows recomputed from truncated input",
                              fmt::format("{} random bars recomputed by the engine from bars up to the bar only (state "
                                          "saved at the end of the previous month) equal the stored rows bit for bit.",
                                          o.causality_samples));
  auto stream_check = make_check("point_in_time.batch_stream", "point_in_time", "Batch = stream",
                                 fmt::format("A {}-minute window replayed minute by minute through MarketEngine::step "
                                             "from the saved state equals the stored rows bit for bit.",
                                             o.stream_window_minutes));
  const auto finish = [&](const std::string& why) {
    if (!why.empty()) {
      causality.skip(why);
      stream_check.skip(why);
    }
    report.checks.push_back(std::move(causality));
    report.checks.push_back(std::move(stream_check));
    return Status::Ok();
  };
  if (!o.point_in_time) return finish("disabled (--no-replay)");
  if (!ctx.has_features || report.feature_rows == 0) return finish("no features in the store (run `bqx run`)");

  std::mt19937_64 rng(o.seed);
  const MonthId month = ctx.months[static_cast<size_t>(rng() % ctx.months.size())];
  const EpochMinute m0 = month_start(month);
  BQX_ASSIGN_OR_RETURN(const int64_t earlier, ctx.con->query_int("SELECT count(*) FROM bars WHERE ts < " + ts_literal(m0)));
  std::string universe_text;
  std::vector<uint8_t> state;
  if (earlier > 0) {
    if (!ctx.has_state) return finish("no state table: cannot start a replay inside the store");
    BQX_ASSIGN_OR_RETURN(state, load_state_bytes(ctx, month - 1, &universe_text));
    if (state.empty()) return finish("no engine state saved for " + format_month(month - 1));
  } else if (ctx.has_manifest) {
    BQX_ASSIGN_OR_RETURN(auto t, ctx.con->query("SELECT universe FROM manifest WHERE month = " +
                                                store::sql_quote(format_month(month)) + " LIMIT 1"));
    if (!t.rows.empty()) universe_text = t.rows[0][0].value_or("");
  }
  // Universe: the pairs the run computed together (cross-pair features need all of them).
  BQX_ASSIGN_OR_RETURN(auto infos, store::list_pairs(*ctx.con));
  std::vector<PairSetup> universe;
  {
    std::stringstream ss(universe_text);
    std::string name;
    while (std::getline(ss, name, ',')) {
      auto p = parse_pair(name);
      if (!p) continue;
      for (const auto& i : infos) {
        if (i.pair == *p) universe.push_back(PairSetup{i.pair, i.baseline});
      }
    }
    if (universe.empty()) {
      for (const auto& i : infos) universe.push_back(PairSetup{i.pair, i.baseline});
    }
    std::sort(universe.begin(), universe.end(), [](const PairSetup& a, const PairSetup& b) { return a.pair < b.pair; });
  }
  BQX_ASSIGN_OR_RETURN(MarketEngine engine, MarketEngine::create(universe));
  if (!state.empty()) {
    if (auto st = engine.restore(state); !st) return finish("saved state does not restore: " + st.error().message);
  }
  // Span: month start .. window end; the window starts somewhere in the month's first day.
  const EpochMinute window_start = m0 + static_cast<EpochMinute>(rng() % static_cast<uint64_t>(kMinutesPerDay));
  const EpochMinute window_end = std::min(window_start + o.stream_window_minutes, month_start(month + 1));
  std::vector<BarFrame> frames;
  std::vector<std::pair<std::string, EpochMinute>> candidates;
  for (const auto& u : universe) {
    BQX_ASSIGN_OR_RETURN(BarFrame f, store::load_bars(*ctx.con, u.pair, m0, window_end));
    if (ctx.find(u.pair)) {
      for (EpochMinute t : f.ts) candidates.emplace_back(pair_name(u.pair), t);
    }
    frames.push_back(std::move(f));
  }
  if (candidates.empty()) return finish("no bars of the selection in the replayed span");
  std::shuffle(candidates.begin(), candidates.end(), rng);
  candidates.resize(std::min<size_t>(candidates.size(), static_cast<size_t>(std::max(0, o.causality_samples))));
  std::sort(candidates.begin(), candidates.end());

  std::string sample_sql;
  for (const auto& [p, t] : candidates) {
    sample_sql += " OR (pair = " + store::sql_quote(p) + " AND ts = " + ts_literal(t) + ")";
  }
  StoredRows stored;
  BQX_TRY(load_stored(ctx, "(" + ctx.where() + ") AND ((ts >= " + ts_literal(window_start) + " AND ts < " +
                               ts_literal(window_end) + ")" + sample_sql + ")",
                      engine.width(), stored));
  const auto& cols = engine.columns();
  const auto is_sample = [&](const std::string& p, EpochMinute t) {
    return std::binary_search(candidates.begin(), candidates.end(), std::make_pair(p, t));
  };
  const auto on_row = [&](Pair pair, EpochMinute ts, const double* row, bool in_window) {
    const std::string name = pair_name(pair);
    const bool sample = is_sample(name, ts);
    if (!sample && !in_window) return;
    auto it = stored.rows.find({name, ts});
    if (sample) ++causality.checked;
    if (in_window) ++stream_check.checked;
    if (it == stored.rows.end()) {
      if (!ctx.find(pair)) return;  // not selected: not compared
      Finding f{name, ts, kNoTime, "", "missing", "no stored row for a bar the engine computed"};
      if (sample) causality.fail(f, o.max_examples);
      if (in_window) stream_check.fail(f, o.max_examples);
      return;
    }
    if (sample) compare_row(cols, name, ts, row, it->second, causality, o.max_examples);
    if (in_window) compare_row(cols, name, ts, row, it->second, stream_check, o.max_examples);
  };
  // Up to the window: the batch loop (run_market steps the same engine minute by minute).
  BQX_TRY(run_market(engine, frames,
                     [&](Pair p, EpochMinute t, const double* row) {
                       on_row(p, t, row, false);
                       return Status::Ok();
                     },
                     m0, window_start));
  // The window: explicit streaming, one MarketEngine::step per minute.
  std::vector<size_t> pos(frames.size());
  for (size_t f = 0; f < frames.size(); ++f) {
    pos[f] = static_cast<size_t>(std::lower_bound(frames[f].ts.begin(), frames[f].ts.end(), window_start) -
                                 frames[f].ts.begin());
  }
  std::vector<PairBar> minute;
  RowBuffer rows;
  std::vector<Pair> row_pairs;
  for (EpochMinute g = window_start; g < window_end; ++g) {
    minute.clear();
    for (size_t f = 0; f < frames.size(); ++f) {
      if (pos[f] < frames[f].size() && frames[f].ts[pos[f]] == g) minute.push_back(PairBar{frames[f].pair, frames[f].at(pos[f]++)});
    }
    if (minute.empty()) continue;
    rows.clear();
    row_pairs.clear();
    BQX_TRY(engine.step(g, minute, rows, row_pairs));
    for (size_t r = 0; r < row_pairs.size(); ++r) on_row(row_pairs[r], g, rows.data() + r * engine.width(), true);
  }
  report.notes.push_back(fmt::format("replay: {} from {}, window {} .. {}, {} causality samples", format_month(month),
                                     state.empty() ? "a fresh engine" : "the state saved at the end of " + format_month(month - 1),
                                     format_compact(window_start), format_compact(window_end), candidates.size()));
  return finish("");
}

}  // namespace bqx::validate
