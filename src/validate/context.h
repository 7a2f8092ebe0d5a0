// Internal to src/validate: what every check area shares (the store, the selection, the
// bars loaded once), a streaming reader of wide query results, and small helpers.
#pragma once

#include <duckdb.h>

#include <string>
#include <vector>

#include "core/bars.h"
#include "store/duckdb_conn.h"
#include "validate/validate.h"

namespace bqx::validate {

// The bars of one selected pair: the selection's bars plus the count of the pair's bars
// before them in the store (row index = bars_before + position; the engine runs
// continuously from the pair's first bar).
struct PairBars {
  Pair pair{};
  double baseline = 0;
  BarFrame frame;           // bars inside the selected months, sorted
  int64_t bars_before = 0;  // bars of the pair in the store before frame.ts[0]
  int64_t bars_total = 0;   // bars of the pair in the whole store
};

struct Context {
  const Options* options = nullptr;
  store::Connection* con = nullptr;
  std::vector<Pair> pairs;          // selected, canonical order
  std::vector<MonthId> months;      // selected, sorted
  std::vector<PairBars> bars;       // one per selected pair
  EpochMinute from = 0, to = 0;     // [from, to): the selected months
  bool has_features = false;
  bool has_labels = false;
  bool has_manifest = false;
  bool has_state = false;

  // SQL predicate selecting the chosen pairs and months of a table with pair, ts columns.
  std::string where() const;
  const PairBars* find(Pair p) const;
};

CheckResult make_check(std::string id, std::string area, std::string title, std::string description,
                       Severity severity = Severity::Error);

std::string ts_literal(EpochMinute t);   // TIMESTAMP '2024-07-01 05:00:00'
std::string format_value(double v);      // shortest round-trip text, "NULL", "inf", "nan"
std::string quote_ident(const std::string& name);

// Streams a query result chunk by chunk (bounded memory for 1,000+ column tables).
class ChunkStream {
 public:
  static Result<ChunkStream> open(store::Connection& con, const std::string& sql);
  ChunkStream(ChunkStream&&) noexcept;
  ChunkStream& operator=(ChunkStream&&) = delete;
  ~ChunkStream();
  // Next chunk, nullptr at the end (then error() says whether it ended on a failure).
  duckdb_data_chunk next();
  const std::string& error() const { return error_; }

 private:
  ChunkStream() = default;
  duckdb_prepared_statement prepared_ = nullptr;
  duckdb_result result_{};
  bool has_result_ = false;
  duckdb_data_chunk chunk_ = nullptr;
  std::string error_;
};

// Check areas (each appends its CheckResults to the report).
Status run_completeness_checks(Context& ctx, Report& report);
Status run_bar_checks(Context& ctx, Report& report);
Status run_feature_checks(Context& ctx, Report& report);
Status run_label_checks(Context& ctx, Report& report);
Status run_point_in_time_checks(Context& ctx, Report& report);
Status run_cross_store_checks(Context& ctx, Report& report);

// Order-independent per-column checksum pieces: a row key from (pair, ts) and one value.
uint64_t row_key(const std::string& pair, EpochMinute ts);
uint64_t value_hash(uint64_t key, double v, bool is_null);

}  // namespace bqx::validate
