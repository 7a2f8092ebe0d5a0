#include "store/pipeline_store.h"

#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "features/registry.h"
#include "store/bar_store.h"
#include "store/feature_store.h"

namespace bqx::store {
namespace {

using pipeline::PartitionEntry;

std::string ts_literal(EpochMinute t) { return "TIMESTAMP '" + format_compact(t) + ":00'"; }

// SQL condition: `column` inside UTC month m.
std::string month_range(MonthId m, const std::string& column = "ts") {
  return column + " >= " + ts_literal(month_start(m)) + " AND " + column + " < " + ts_literal(month_start(m + 1));
}

// A raw query result, destroyed on scope exit.
struct RawResult {
  duckdb_result result{};
  bool open = false;
  ~RawResult() {
    if (open) duckdb_destroy_result(&result);
  }
};

Status raw_query(Connection& con, const std::string& sql, RawResult& out) {
  if (duckdb_query(con.raw(), sql.c_str(), &out.result) != DuckDBSuccess) {
    std::string msg = duckdb_result_error(&out.result) ? duckdb_result_error(&out.result) : "query failed";
    duckdb_destroy_result(&out.result);
    return make_error("duckdb: " + msg);
  }
  out.open = true;
  return Status::Ok();
}

class DuckMonthWriter final : public pipeline::MonthWriter {
 public:
  DuckMonthWriter(Connection& con, MonthId month) : con_(con), month_(month) {}
  ~DuckMonthWriter() override {
    stop_writer();
    if (!finished_) {
      features_.reset();
      labels_.reset();
      (void)con_.exec("ROLLBACK");
    }
  }

  Status begin() {
    BQX_TRY(con_.exec("BEGIN TRANSACTION"));
    const std::string month = sql_quote(format_month(month_));
    BQX_TRY(con_.exec("DELETE FROM features WHERE " + month_range(month_)));
    BQX_TRY(con_.exec("DELETE FROM labels WHERE " + month_range(month_)));
    BQX_TRY(con_.exec("DELETE FROM manifest WHERE month = " + month));
    BQX_TRY(con_.exec("DELETE FROM state WHERE month = " + month));
    std::vector<ChunkAppender::Kind> kinds = {ChunkAppender::Kind::Varchar, ChunkAppender::Kind::Timestamp};
    kinds.resize(2 + feature_column_names().size(), ChunkAppender::Kind::Double);
    BQX_ASSIGN_OR_RETURN(auto f, ChunkAppender::create(con_, "features", kinds));
    features_ = std::make_unique<ChunkAppender>(std::move(f));
    return Status::Ok();
  }

  // Rows are batched and handed to a writer thread that owns the DuckDB appender, so
  // DuckDB's append and compression overlap the computation of the next rows.
  Status append_features(EpochMinute ts, std::span<const Pair> pairs, const double* rows, size_t width) override {
    if (stop_) return make_error("feature rows after the month's labels");
    if (!batch_) batch_ = std::make_unique<Batch>();
    for (size_t r = 0; r < pairs.size(); ++r) {
      batch_->pairs.push_back(pairs[r]);
      batch_->ts.push_back(ts);
    }
    batch_->values.insert(batch_->values.end(), rows, rows + pairs.size() * width);
    batch_->width = width;
    if (batch_->pairs.size() >= kBatchRows) return push_batch();
    return Status::Ok();
  }

  Status replace_labels(Pair pair, MonthId month, std::span<const EpochMinute> ts, const double* rows,
                        size_t width) override {
    // Labels come after the month's feature rows: drain the writer thread so the
    // connection has a single user again.
    if (batch_ && !batch_->pairs.empty()) BQX_TRY(push_batch());
    stop_writer();
    if (!writer_status_) return writer_status_;
    if (month != month_) {
      // An earlier month's labels: its committed rows go (this month's were deleted in begin()).
      BQX_TRY(con_.exec("DELETE FROM labels WHERE pair = " + sql_quote(pair_name(pair)) + " AND " + month_range(month)));
    }
    if (!labels_) {
      std::vector<ChunkAppender::Kind> kinds = {ChunkAppender::Kind::Varchar, ChunkAppender::Kind::Timestamp};
      kinds.resize(2 + width, ChunkAppender::Kind::Double);
      BQX_ASSIGN_OR_RETURN(auto l, ChunkAppender::create(con_, "labels", kinds));
      labels_ = std::make_unique<ChunkAppender>(std::move(l));
    }
    for (size_t r = 0; r < ts.size(); ++r) {
      labels_->set_varchar(0, pair_name(pair));
      labels_->set_timestamp_minutes(1, ts[r]);
      labels_->set_doubles(2, rows + r * width, width);
      BQX_TRY(labels_->end_row());
    }
    return Status::Ok();
  }

  Status commit(const std::vector<PartitionEntry>& entries, const std::vector<uint8_t>& end_state) override {
    if (batch_ && !batch_->pairs.empty()) BQX_TRY(push_batch());
    stop_writer();
    if (!writer_status_) return writer_status_;
    BQX_TRY(features_->close());
    if (labels_) BQX_TRY(labels_->close());
    features_.reset();
    labels_.reset();
    std::string universe;
    for (const auto& e : entries) {
      universe = e.universe;
      BQX_TRY(con_.exec("DELETE FROM manifest WHERE kind = " + sql_quote(e.kind) + " AND pair = " +
                        sql_quote(pair_name(e.pair)) + " AND month = " + sql_quote(format_month(e.month))));
      BQX_TRY(con_.exec("INSERT INTO manifest VALUES (" + sql_quote(e.kind) + ", " + sql_quote(pair_name(e.pair)) + ", " +
                        sql_quote(format_month(e.month)) + ", " + std::to_string(e.rows) + ", " + sql_quote(e.checksum) +
                        ", " + sql_quote(kCodeVersion) + ", " + sql_quote(e.catalogue_version) + ", " +
                        sql_quote(e.universe) + ", " + (e.complete ? "true" : "false") + ", " +
                        std::to_string(e.attempts) + ", " + std::to_string(e.compute_ms) + ", " +
                        std::to_string(e.write_ms) + ", now()::TIMESTAMP)"));
    }
    BQX_TRY(insert_state(universe, end_state));
    BQX_TRY(con_.exec("COMMIT"));
    finished_ = true;
    return Status::Ok();
  }

 private:
  static constexpr size_t kBatchRows = 4096;
  static constexpr size_t kMaxQueuedBatches = 4;  // bounds memory: ~4 x 4096 rows x 1,088 doubles
  struct Batch {
    std::vector<Pair> pairs;
    std::vector<EpochMinute> ts;
    std::vector<double> values;
    size_t width = 0;
  };

  Status push_batch() {
    std::unique_lock lock(mutex_);
    if (!writer_.joinable() && !stop_) writer_ = std::thread([this] { write_loop(); });
    space_.wait(lock, [this] { return queue_.size() < kMaxQueuedBatches || !writer_status_; });
    if (!writer_status_) return writer_status_;
    queue_.push_back(std::move(batch_));
    lock.unlock();
    ready_.notify_one();
    return Status::Ok();
  }

  void write_loop() {
    for (;;) {
      std::unique_ptr<Batch> b;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        b = std::move(queue_.front());
        queue_.pop_front();
      }
      space_.notify_one();
      Status st = Status::Ok();
      for (size_t r = 0; r < b->pairs.size() && st; ++r) {
        features_->set_varchar(0, pair_name(b->pairs[r]));
        features_->set_timestamp_minutes(1, b->ts[r]);
        features_->set_doubles(2, b->values.data() + r * b->width, b->width);
        st = features_->end_row();
      }
      if (!st) {
        std::lock_guard lock(mutex_);
        writer_status_ = st;
        queue_.clear();
        space_.notify_all();
        return;
      }
    }
  }

  void stop_writer() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    ready_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  Status insert_state(const std::string& universe, const std::vector<uint8_t>& bytes) {
    duckdb_prepared_statement stmt = nullptr;
    const char* sql = "INSERT INTO state VALUES (?, ?, ?, ?, now()::TIMESTAMP)";
    if (duckdb_prepare(con_.raw(), sql, &stmt) != DuckDBSuccess) {
      std::string msg = duckdb_prepare_error(stmt);
      duckdb_destroy_prepare(&stmt);
      return make_error("duckdb: " + msg);
    }
    const std::string month = format_month(month_);
    duckdb_bind_varchar(stmt, 1, month.c_str());
    duckdb_bind_varchar(stmt, 2, universe.c_str());
    duckdb_bind_varchar(stmt, 3, features::kCatalogueVersion);
    duckdb_bind_blob(stmt, 4, bytes.data(), bytes.size());
    duckdb_result result;
    const bool ok = duckdb_execute_prepared(stmt, &result) == DuckDBSuccess;
    std::string msg = ok ? "" : duckdb_result_error(&result);
    duckdb_destroy_result(&result);
    duckdb_destroy_prepare(&stmt);
    if (!ok) return make_error("duckdb: saving the engine state: " + msg);
    return Status::Ok();
  }

  Connection& con_;
  MonthId month_;
  std::unique_ptr<ChunkAppender> features_, labels_;
  bool finished_ = false;
  std::unique_ptr<Batch> batch_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<std::unique_ptr<Batch>> queue_;
  std::thread writer_;
  bool stop_ = false;
  Status writer_status_ = Status::Ok();
};

class DuckPipelineStore final : public pipeline::PipelineStore {
 public:
  explicit DuckPipelineStore(Connection& con) : con_(con) {}

  Result<std::vector<PairSetup>> pairs() override {
    BQX_ASSIGN_OR_RETURN(auto infos, list_pairs(con_));
    std::vector<PairSetup> out;
    for (const auto& i : infos) out.push_back(PairSetup{i.pair, i.baseline});
    return out;
  }

  Result<std::vector<BarMonth>> bar_months() override {
    BQX_ASSIGN_OR_RETURN(auto t, con_.query("SELECT pair, strftime(ts, '%Y-%m') AS month, count(*) FROM bars "
                                            "GROUP BY ALL ORDER BY ALL"));
    std::vector<BarMonth> out;
    for (const auto& row : t.rows) {
      BQX_ASSIGN_OR_RETURN(auto pair, parse_pair(row[0].value_or("")));
      BQX_ASSIGN_OR_RETURN(auto month, parse_month(row[1].value_or("")));
      out.push_back(BarMonth{pair, month, std::stoll(row[2].value_or("0"))});
    }
    return out;
  }

  Result<BarFrame> load_bars(Pair pair, EpochMinute from, EpochMinute to) override {
    return store::load_bars(con_, pair, from, to);
  }

  Result<std::vector<PartitionEntry>> manifest() override {
    BQX_ASSIGN_OR_RETURN(auto t, con_.query("SELECT kind, pair, month, rows, checksum, catalogue_version, universe, "
                                            "complete, attempts FROM manifest"));
    std::vector<PartitionEntry> out;
    for (const auto& row : t.rows) {
      PartitionEntry e;
      e.kind = row[0].value_or("");
      BQX_ASSIGN_OR_RETURN(e.pair, parse_pair(row[1].value_or("")));
      BQX_ASSIGN_OR_RETURN(e.month, parse_month(row[2].value_or("")));
      e.rows = std::stoll(row[3].value_or("0"));
      e.checksum = row[4].value_or("");
      e.catalogue_version = row[5].value_or("");
      e.universe = row[6].value_or("");
      e.complete = row[7].value_or("false") == "true";
      e.attempts = std::stoi(row[8].value_or("1"));
      out.push_back(std::move(e));
    }
    return out;
  }

  Result<std::vector<uint8_t>> load_state(MonthId month, const std::string& universe) override {
    RawResult r;
    BQX_TRY(raw_query(con_, "SELECT bytes FROM state WHERE month = " + sql_quote(format_month(month)) +
                                " AND universe = " + sql_quote(universe) + " AND catalogue_version = " +
                                sql_quote(features::kCatalogueVersion),
                      r));
    std::vector<uint8_t> bytes;
    if (duckdb_row_count(&r.result) == 0) return bytes;
    duckdb_blob blob = duckdb_value_blob(&r.result, 0, 0);
    const auto* data = static_cast<const uint8_t*>(blob.data);
    bytes.assign(data, data + blob.size);
    duckdb_free(blob.data);
    return bytes;
  }

  Status load_label_series(Pair pair, MonthId month, std::vector<EpochMinute>& ts, std::vector<double>& close,
                           std::vector<double>& bqx) override {
    RawResult r;
    BQX_TRY(raw_query(con_,
                      "SELECT epoch(b.ts)::BIGINT // 60, b.close, f.bqx_w60_return FROM bars b JOIN features f "
                      "ON f.pair = b.pair AND f.ts = b.ts WHERE b.pair = " + sql_quote(pair_name(pair)) + " AND " +
                          month_range(month, "b.ts") + " ORDER BY b.ts",
                      r));
    const idx_t n = duckdb_row_count(&r.result);
    for (idx_t i = 0; i < n; ++i) {
      ts.push_back(duckdb_value_int64(&r.result, 0, i));
      close.push_back(duckdb_value_double(&r.result, 1, i));
      bqx.push_back(duckdb_value_is_null(&r.result, 2, i) ? std::nan("") : duckdb_value_double(&r.result, 2, i));
    }
    return Status::Ok();
  }

  Result<std::unique_ptr<pipeline::MonthWriter>> begin_month(MonthId month) override {
    auto w = std::make_unique<DuckMonthWriter>(con_, month);
    BQX_TRY(w->begin());
    return std::unique_ptr<pipeline::MonthWriter>(std::move(w));
  }

 private:
  Connection& con_;
};

}  // namespace

Result<std::unique_ptr<pipeline::PipelineStore>> open_pipeline_store(Connection& con) {
  BQX_TRY(ensure_schema(con));
  BQX_TRY(ensure_feature_schema(con));
  return std::unique_ptr<pipeline::PipelineStore>(std::make_unique<DuckPipelineStore>(con));
}

}  // namespace bqx::store
