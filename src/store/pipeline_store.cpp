#include "store/pipeline_store.h"

#include <cmath>
#include <algorithm>
#include <atomic>
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

// One batch of a month's feature rows, in the engine's row-major layout.
struct FeatureBatch {
  std::vector<Pair> pairs;
  std::vector<EpochMinute> ts;
  std::vector<double> values;  // pairs.size() rows x width
  size_t width = 0;
};

// Bounded hand-over of feature batches from the pipeline (producer) to DuckDB's worker
// threads (consumers, inside the table function below).
class FeatureBatchQueue {
 public:
  // Waits for space; fails with the consumer's error once the INSERT has failed.
  Status push(std::unique_ptr<FeatureBatch> batch) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [this] { return queue_.size() < kMaxQueuedBatches || !status_; });
    if (!status_) return status_;
    queue_.push_back(std::move(batch));
    lock.unlock();
    ready_.notify_one();
    return Status::Ok();
  }
  // No more batches: consumers drain the queue, then see the end.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }
  // The consumer failed: pending and future pushes return `st`.
  void fail(const Status& st) {
    {
      std::lock_guard lock(mutex_);
      status_ = st;
      queue_.clear();
      closed_ = true;
    }
    space_.notify_all();
    ready_.notify_all();
  }
  // A used batch comes back for reuse, its buffers kept: a month passes ~7 GB of rows
  // through here, and fresh buffers would cost millions of page faults.
  void recycle(std::unique_ptr<FeatureBatch> batch) {
    batch->pairs.clear();
    batch->ts.clear();
    batch->values.clear();
    std::lock_guard lock(mutex_);
    if (spare_.size() < kMaxSpareBatches) spare_.push_back(std::move(batch));
  }
  // An empty batch, reusing a recycled one when there is one.
  std::unique_ptr<FeatureBatch> fresh() {
    std::lock_guard lock(mutex_);
    if (spare_.empty()) return std::make_unique<FeatureBatch>();
    auto batch = std::move(spare_.back());
    spare_.pop_back();
    return batch;
  }
  // Next batch, or nullptr at the end.
  std::unique_ptr<FeatureBatch> pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return nullptr;
    auto batch = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    space_.notify_one();
    return batch;
  }

 private:
  // Bounds memory: 4 batches of 4,096 rows x 1,088 doubles (~140 MB) wait at most.
  static constexpr size_t kMaxQueuedBatches = 4;
  static constexpr size_t kMaxSpareBatches = 8;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<std::unique_ptr<FeatureBatch>> queue_;
  std::vector<std::unique_ptr<FeatureBatch>> spare_;
  bool closed_ = false;
  Status status_ = Status::Ok();
};

// The table function `bqx_feature_rows_N()` streams the current month's feature rows
// into `INSERT INTO features SELECT * FROM bqx_feature_rows_N()`. Why not the appender:
// an appender is fed by one thread, and DuckDB's per-value work (zone-map statistics,
// compression analysis and ALP compression of 1,088 columns) is ~85 % of `bqx run`.
// A table function lets DuckDB run the insert on all its threads, each with its own
// row groups (requires preserve_insertion_order = false; rows are read back ORDER BY ts,
// and partition checksums are computed on ordered rows, so physical order never shows).
struct FeatureRowsSlot {
  std::atomic<FeatureBatchQueue*> queue{nullptr};  // the month being written
};

struct FeatureRowsLocal {
  std::unique_ptr<FeatureBatch> batch;
  size_t next = 0;
};

void feature_rows_bind(duckdb_bind_info info) {
  auto* slot = static_cast<FeatureRowsSlot*>(duckdb_bind_get_extra_info(info));
  FeatureBatchQueue* queue = slot->queue.load();
  if (!queue) {
    duckdb_bind_set_error(info, "bqx: the feature row stream is only readable while bqx run writes a month");
    return;
  }
  duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
  duckdb_logical_type timestamp = duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP);
  duckdb_logical_type dbl = duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE);
  duckdb_bind_add_result_column(info, "pair", varchar);
  duckdb_bind_add_result_column(info, "ts", timestamp);
  for (const auto& name : feature_column_names()) duckdb_bind_add_result_column(info, name.c_str(), dbl);
  duckdb_destroy_logical_type(&varchar);
  duckdb_destroy_logical_type(&timestamp);
  duckdb_destroy_logical_type(&dbl);
  duckdb_bind_set_bind_data(info, queue, nullptr);
}

void feature_rows_init(duckdb_init_info info) {
  // Every DuckDB worker thread may pull batches (DuckDB caps this at its `threads`).
  duckdb_init_set_max_threads(info, 64);
}

void feature_rows_local_init(duckdb_init_info info) {
  duckdb_init_set_init_data(info, new FeatureRowsLocal(),
                            [](void* p) { delete static_cast<FeatureRowsLocal*>(p); });
}

void feature_rows_function(duckdb_function_info info, duckdb_data_chunk out) {
  auto* queue = static_cast<FeatureBatchQueue*>(duckdb_function_get_bind_data(info));
  auto* local = static_cast<FeatureRowsLocal*>(duckdb_function_get_local_init_data(info));
  if (!local->batch || local->next == local->batch->pairs.size()) {
    if (local->batch) queue->recycle(std::move(local->batch));
    local->batch = queue->pop();
    local->next = 0;
    if (!local->batch) {
      duckdb_data_chunk_set_size(out, 0);
      return;
    }
  }
  const FeatureBatch& b = *local->batch;
  const size_t first = local->next;
  const size_t n = std::min<size_t>(duckdb_vector_size(), b.pairs.size() - first);
  duckdb_vector pair_vector = duckdb_data_chunk_get_vector(out, 0);
  auto* ts = static_cast<int64_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, 1)));
  for (size_t r = 0; r < n; ++r) {
    const std::string name = pair_name(b.pairs[first + r]);
    duckdb_vector_assign_string_element_len(pair_vector, r, name.data(), name.size());
    ts[r] = b.ts[first + r] * 60 * 1000000;  // TIMESTAMP is microseconds
  }
  // Column by column: each output vector is written sequentially while the source rows
  // (8.7 kB apart) stay in cache across neighbouring columns.
  for (size_t c = 0; c < b.width; ++c) {
    duckdb_vector v = duckdb_data_chunk_get_vector(out, 2 + c);
    auto* dst = static_cast<double*>(duckdb_vector_get_data(v));
    const double* src = b.values.data() + first * b.width + c;
    uint64_t* validity = nullptr;
    for (size_t r = 0; r < n; ++r) {
      const double value = src[r * b.width];
      if (std::isnan(value)) {  // NULL is NULL
        if (!validity) {
          duckdb_vector_ensure_validity_writable(v);
          validity = duckdb_vector_get_validity(v);
        }
        duckdb_validity_set_row_invalid(validity, r);
      } else {
        dst[r] = value;
      }
    }
  }
  local->next = first + n;
  duckdb_data_chunk_set_size(out, n);
}

// Registers the table function on `con` under a name of its own; returns its slot.
Result<std::pair<std::string, FeatureRowsSlot*>> register_feature_rows(Connection& con) {
  static std::atomic<int> counter{0};
  const std::string name = "bqx_feature_rows_" + std::to_string(counter.fetch_add(1));
  auto* slot = new FeatureRowsSlot();
  duckdb_table_function fn = duckdb_create_table_function();
  duckdb_table_function_set_name(fn, name.c_str());
  duckdb_table_function_set_extra_info(fn, slot, [](void* p) { delete static_cast<FeatureRowsSlot*>(p); });
  duckdb_table_function_set_bind(fn, feature_rows_bind);
  duckdb_table_function_set_init(fn, feature_rows_init);
  duckdb_table_function_set_local_init(fn, feature_rows_local_init);
  duckdb_table_function_set_function(fn, feature_rows_function);
  const bool ok = duckdb_register_table_function(con.raw(), fn) == DuckDBSuccess;
  duckdb_destroy_table_function(&fn);
  if (!ok) return make_error("duckdb: cannot register the table function " + name);
  return std::pair{name, slot};
}

class DuckMonthWriter final : public pipeline::MonthWriter {
 public:
  DuckMonthWriter(Connection& con, MonthId month, const std::string& rows_function, FeatureRowsSlot* slot)
      : con_(con), month_(month), rows_function_(rows_function), slot_(slot) {}
  ~DuckMonthWriter() override {
    stop_writer();
    slot_->queue.store(nullptr);
    if (!finished_) {
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
    slot_->queue.store(&queue_);
    return Status::Ok();
  }

  // Rows are batched and handed to DuckDB's threads through the queue, so DuckDB's
  // insert and compression overlap the computation of the next rows.
  Status append_features(EpochMinute ts, std::span<const Pair> pairs, const double* rows, size_t width) override {
    if (stopped_) return make_error("feature rows after the month's labels");
    if (!batch_) {
      batch_ = queue_.fresh();
      batch_->values.reserve((kBatchRows + pairs.size()) * width);
    }
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
    // Labels come after the month's feature rows: finish the INSERT so the connection
    // has a single user again.
    BQX_TRY(finish_features());
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
    BQX_TRY(finish_features());
    if (labels_) BQX_TRY(labels_->close());
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

  Status push_batch() {
    if (!writer_.joinable()) {
      writer_ = std::thread([this] {
        RawResult result;
        Status st = raw_query(con_, "INSERT INTO features SELECT * FROM " + rows_function_ + "()", result);
        if (!st) queue_.fail(st);
        writer_status_ = st;
      });
    }
    return queue_.push(std::move(batch_));
  }

  // Sends the last batch, ends the stream and waits for the INSERT.
  Status finish_features() {
    if (stopped_) return writer_status_;
    if (batch_ && !batch_->pairs.empty()) {
      if (Status st = push_batch(); !st) {
        stop_writer();
        return st;
      }
    }
    stop_writer();
    return writer_status_;
  }

  void stop_writer() {
    stopped_ = true;
    queue_.close();
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
  std::string rows_function_;
  FeatureRowsSlot* slot_;
  std::unique_ptr<ChunkAppender> labels_;
  bool finished_ = false;
  std::unique_ptr<FeatureBatch> batch_;
  FeatureBatchQueue queue_;
  std::thread writer_;
  bool stopped_ = false;
  Status writer_status_ = Status::Ok();  // written by writer_, read after join()
};

class DuckPipelineStore final : public pipeline::PipelineStore {
 public:
  DuckPipelineStore(Connection& con, std::string rows_function, FeatureRowsSlot* slot)
      : con_(con), rows_function_(std::move(rows_function)), slot_(slot) {}

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
    auto w = std::make_unique<DuckMonthWriter>(con_, month, rows_function_, slot_);
    BQX_TRY(w->begin());
    return std::unique_ptr<pipeline::MonthWriter>(std::move(w));
  }

 private:
  Connection& con_;
  std::string rows_function_;
  FeatureRowsSlot* slot_;  // owned by DuckDB (the function's extra info)
};

}  // namespace

Result<std::unique_ptr<pipeline::PipelineStore>> open_pipeline_store(Connection& con) {
  BQX_TRY(ensure_schema(con));
  BQX_TRY(ensure_feature_schema(con));
  // The parallel INSERT of feature rows needs DuckDB free to interleave its threads' row
  // groups (see FeatureRowsSlot).
  BQX_TRY(con.exec("SET preserve_insertion_order = false"));
  BQX_ASSIGN_OR_RETURN(auto fn, register_feature_rows(con));
  return std::unique_ptr<pipeline::PipelineStore>(std::make_unique<DuckPipelineStore>(con, fn.first, fn.second));
}

}  // namespace bqx::store
