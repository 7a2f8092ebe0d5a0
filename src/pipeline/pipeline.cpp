#include "pipeline/pipeline.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "features/labels.h"
#include "features/registry.h"
#include "pipeline/checksum.h"

namespace bqx::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// A fixed set of worker threads running queued tasks (per-pair day blocks).
class ThreadPool {
 public:
  explicit ThreadPool(int threads) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    ready_.notify_all();
    for (auto& w : workers_) w.join();
  }
  void submit(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
};

constexpr EpochMinute kBlockMinutes = 1440;  // one UTC day of grid per parallel block
constexpr EpochMinute kLookaheadSearchMinutes = 45 * 1440;  // where the next 60 bars are looked for

// One day of the month: each pair's per-pair rows, computed on the pool.
struct DayBlock {
  EpochMinute from = 0, to = 0;
  std::vector<size_t> begin, end;          // per universe pair: frame rows of the block
  std::vector<std::vector<double>> rows;   // per universe pair: per-pair feature rows
  std::unique_ptr<std::latch> done;
  bool launched = false;
};

struct MonthPlan {
  MonthId month = 0;
  size_t index = 0;  // in the list of months with bars
};

class MonthComputer {
 public:
  MonthComputer(PipelineStore& store, MarketEngine& engine, ThreadPool& pool, const std::vector<PairSetup>& universe,
                const std::string& universe_text)
      : store_(store), engine_(engine), pool_(pool), universe_(universe), universe_text_(universe_text) {
    const auto columns = features::per_pair_columns();
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].name == "bqx_w60_return") bqx_column_ = i;
    }
  }

  // Computes `month` and commits it. `previous` is the month before it with bars (for
  // completing that month's labels) or nullopt.
  Status compute(MonthId month, std::optional<MonthId> previous, const std::map<std::pair<int, MonthId>, PartitionEntry>& labels_manifest,
                 int attempt, const RunOptions& options, RunSummary& summary, Progress& progress,
                 Clock::time_point run_start) {
    const auto t0 = Clock::now();
    const EpochMinute from = month_start(month), to = month_start(month + 1);
    const size_t n_pairs = universe_.size();
    std::vector<BarFrame> frames(n_pairs);
    for (size_t p = 0; p < n_pairs; ++p) {
      auto frame = store_.load_bars(universe_[p].pair, from, to);
      if (!frame) return frame.error();
      frames[p] = std::move(*frame);
    }
    // The first bars after the month, for the labels' look-ahead; read now because the
    // store's connection is busy with the month's inserts once the writer has begun.
    std::vector<std::vector<Bar>> lookahead(n_pairs);
    for (size_t p = 0; p < n_pairs; ++p) {
      if (frames[p].size() == 0) continue;
      auto next = store_.load_bars(universe_[p].pair, to, to + kLookaheadSearchMinutes);
      if (!next) return next.error();
      for (size_t i = 0; i < std::min(next->size(), features::kLabelLookahead); ++i) lookahead[p].push_back(next->at(i));
    }
    BQX_ASSIGN_OR_RETURN(auto writer, store_.begin_month(month));

    const size_t pair_width = engine_.per_pair_width();
    const size_t width = engine_.width();
    std::vector<PartitionChecksum> checksums(n_pairs);
    std::vector<int64_t> row_counts(n_pairs, 0);
    // Series for the labels: ts, close, bqx_w60_return of every row of the month.
    std::vector<std::vector<EpochMinute>> series_ts(n_pairs);
    std::vector<std::vector<double>> series_close(n_pairs), series_bqx(n_pairs);

    // Day blocks; block k+1's per-pair rows are computed on the pool while the driver
    // runs the cross-pair grid over block k.
    std::vector<DayBlock> blocks;
    for (EpochMinute d = from; d < to; d += kBlockMinutes) {
      DayBlock b;
      b.from = d;
      b.to = std::min(to, d + kBlockMinutes);
      b.begin.resize(n_pairs);
      b.end.resize(n_pairs);
      b.rows.resize(n_pairs);
      bool any = false;
      for (size_t p = 0; p < n_pairs; ++p) {
        const auto& ts = frames[p].ts;
        b.begin[p] = static_cast<size_t>(std::lower_bound(ts.begin(), ts.end(), b.from) - ts.begin());
        b.end[p] = static_cast<size_t>(std::lower_bound(ts.begin(), ts.end(), b.to) - ts.begin());
        any = any || b.end[p] > b.begin[p];
      }
      if (any) blocks.push_back(std::move(b));
    }
    auto launch = [&](DayBlock& b) {
      std::ptrdiff_t tasks = 0;
      for (size_t p = 0; p < n_pairs; ++p) tasks += b.end[p] > b.begin[p] ? 1 : 0;
      b.done = std::make_unique<std::latch>(tasks);
      b.launched = true;
      for (size_t p = 0; p < n_pairs; ++p) {
        if (b.end[p] == b.begin[p]) continue;
        pool_.submit([this, &b, &frames, p, pair_width] {
          PairEngine& pe = engine_.pair_engine(universe_[p].pair);
          const size_t n = b.end[p] - b.begin[p];
          b.rows[p].resize(n * pair_width);
          for (size_t i = 0; i < n; ++i) pe.step(frames[p].at(b.begin[p] + i), b.rows[p].data() + i * pair_width);
          b.done->count_down();
        });
      }
    };
    // Whatever happens below, no pool task may outlive the blocks it writes to.
    struct WaitForLaunched {
      std::vector<DayBlock>& blocks;
      ~WaitForLaunched() {
        for (auto& b : blocks) {
          if (b.launched) b.done->wait();
        }
      }
    } wait_guard{blocks};

    double write_ms = 0;
    std::vector<PairBar> minute;
    std::vector<const double*> minute_rows;
    RowBuffer rows;  // the engine writes every column: no zero-fill
    std::vector<Pair> row_pairs;
    std::vector<size_t> cursor(n_pairs);
    if (!blocks.empty()) launch(blocks[0]);
    for (size_t k = 0; k < blocks.size(); ++k) {
      DayBlock& b = blocks[k];
      b.done->wait();
      if (k + 1 < blocks.size()) launch(blocks[k + 1]);
      for (size_t p = 0; p < n_pairs; ++p) cursor[p] = b.begin[p];
      for (;;) {
        EpochMinute g = INT64_MAX;
        for (size_t p = 0; p < n_pairs; ++p) {
          if (cursor[p] < b.end[p]) g = std::min(g, frames[p].ts[cursor[p]]);
        }
        if (g == INT64_MAX) break;
        minute.clear();
        minute_rows.clear();
        for (size_t p = 0; p < n_pairs; ++p) {
          if (cursor[p] < b.end[p] && frames[p].ts[cursor[p]] == g) {
            minute.push_back(PairBar{universe_[p].pair, frames[p].at(cursor[p])});
            minute_rows.push_back(b.rows[p].data() + (cursor[p] - b.begin[p]) * pair_width);
            ++cursor[p];
          }
        }
        rows.clear();
        row_pairs.clear();
        BQX_TRY(engine_.step_with_pair_rows(g, minute, minute_rows, rows, row_pairs));
        const auto tw = Clock::now();
        BQX_TRY(writer->append_features(g, row_pairs, rows.data(), width));
        write_ms += ms_since(tw);
        for (size_t r = 0; r < row_pairs.size(); ++r) {
          const size_t p = slot_of(row_pairs[r]);
          const double* row = rows.data() + r * width;
          checksums[p].add_row(row_pairs[r], g, row, width);
          ++row_counts[p];
          series_ts[p].push_back(g);
          series_close[p].push_back(minute[r].bar.close);
          series_bqx[p].push_back(row[bqx_column_]);
        }
        progress.bars_done += row_pairs.size();
      }
      // Block k+2 is launched only after block k+1 is done: it reuses this block's row
      // buffers (fresh 300 MB a day would cost millions of page faults a month).
      if (k + 2 < blocks.size()) {
        blocks[k + 2].rows = std::move(b.rows);
      } else {
        b.rows.clear();
        b.rows.shrink_to_fit();
      }
      if (options.on_progress) {
        progress.seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
        options.on_progress(progress);
      }
    }

    // Labels of this month: the series plus the next 60 bars of each pair, computed by a
    // copy of the pair's engine so the month's end state is untouched.
    std::vector<PartitionEntry> entries;
    const size_t label_width = features::label_columns().size();
    std::vector<double> lookahead_row(pair_width);
    for (size_t p = 0; p < n_pairs; ++p) {
      if (row_counts[p] == 0) continue;
      const Pair pair = universe_[p].pair;
      const size_t ahead = lookahead[p].size();
      if (ahead > 0) {
        BQX_ASSIGN_OR_RETURN(auto copy, PairEngine::create(pair, universe_[p].baseline));
        BQX_TRY(copy.restore(engine_.pair_engine(pair).snapshot()));
        for (const Bar& bar : lookahead[p]) {
          copy.step(bar, lookahead_row.data());
          series_ts[p].push_back(bar.ts);
          series_close[p].push_back(bar.close);
          series_bqx[p].push_back(lookahead_row[bqx_column_]);
        }
      }
      const size_t n_rows = static_cast<size_t>(row_counts[p]);
      const auto labels = features::compute_labels_from_series(series_ts[p].data(), series_close[p].data(),
                                                              series_bqx[p].data(), series_ts[p].size(), n_rows);
      const auto tw = Clock::now();
      BQX_TRY(writer->replace_labels(pair, month, std::span(series_ts[p].data(), n_rows), labels.data(), label_width));
      write_ms += ms_since(tw);
      PartitionChecksum label_sum;
      for (size_t i = 0; i < n_rows; ++i) label_sum.add_row(pair, series_ts[p][i], labels.data() + i * label_width, label_width);

      PartitionEntry f;
      f.kind = "features";
      f.pair = pair;
      f.month = month;
      f.rows = row_counts[p];
      f.checksum = checksums[p].hex();
      f.catalogue_version = features::kCatalogueVersion;
      f.universe = universe_text_;
      f.attempts = attempt;
      PartitionEntry l = f;
      l.kind = "labels";
      l.checksum = label_sum.hex();
      l.complete = ahead == features::kLabelLookahead;
      entries.push_back(f);
      entries.push_back(l);

      // The previous month's labels were cut short when this month's bars were not yet
      // ingested: complete them now from its stored series and this month's first bars.
      if (previous) {
        auto it = labels_manifest.find({pair_index(pair), *previous});
        if (it != labels_manifest.end() && !it->second.complete) {
          std::vector<EpochMinute> ts;
          std::vector<double> close, bqx;
          BQX_TRY(store_.load_label_series(pair, *previous, ts, close, bqx));
          const size_t prev_rows = ts.size();
          const size_t head = std::min(n_rows, features::kLabelLookahead);
          ts.insert(ts.end(), series_ts[p].begin(), series_ts[p].begin() + static_cast<std::ptrdiff_t>(head));
          close.insert(close.end(), series_close[p].begin(), series_close[p].begin() + static_cast<std::ptrdiff_t>(head));
          bqx.insert(bqx.end(), series_bqx[p].begin(), series_bqx[p].begin() + static_cast<std::ptrdiff_t>(head));
          const auto prev_labels = features::compute_labels_from_series(ts.data(), close.data(), bqx.data(), ts.size(), prev_rows);
          BQX_TRY(writer->replace_labels(pair, *previous, std::span(ts.data(), prev_rows), prev_labels.data(), label_width));
          PartitionChecksum prev_sum;
          for (size_t i = 0; i < prev_rows; ++i) prev_sum.add_row(pair, ts[i], prev_labels.data() + i * label_width, label_width);
          PartitionEntry e = it->second;
          e.checksum = prev_sum.hex();
          e.complete = head == features::kLabelLookahead;
          entries.push_back(e);
          ++summary.label_partitions_completed;
        }
      }
    }
    const double compute_ms = ms_since(t0) - write_ms;
    for (auto& e : entries) {
      if (e.month == month) {
        e.compute_ms = compute_ms;
        e.write_ms = write_ms;
      }
    }
    if (options.before_commit) BQX_TRY(options.before_commit(month, attempt));
    const auto tc = Clock::now();
    BQX_TRY(writer->commit(entries, engine_.snapshot()));
    write_ms += ms_since(tc);
    summary.compute_seconds += compute_ms / 1000.0;
    summary.write_seconds += write_ms / 1000.0;
    for (size_t p = 0; p < n_pairs; ++p) {
      summary.rows_written += static_cast<uint64_t>(row_counts[p]);
      summary.partitions_written += row_counts[p] > 0 ? 2 : 0;
    }
    return Status::Ok();
  }

 private:
  size_t slot_of(Pair pair) const {
    for (size_t p = 0; p < universe_.size(); ++p) {
      if (universe_[p].pair == pair) return p;
    }
    return 0;
  }

  PipelineStore& store_;
  MarketEngine& engine_;
  ThreadPool& pool_;
  const std::vector<PairSetup>& universe_;
  const std::string& universe_text_;
  size_t bqx_column_ = 0;
};

}  // namespace

std::string universe_name(const std::vector<Pair>& pairs) {
  std::string text;
  for (const Pair p : pairs) text += (text.empty() ? "" : ",") + pair_name(p);
  return text;
}

Result<RunSummary> run(PipelineStore& store, const RunOptions& options) {
  const auto run_start = Clock::now();
  RunSummary summary;
  BQX_ASSIGN_OR_RETURN(auto ingested, store.pairs());
  if (ingested.empty()) return make_error("the store has no bars (run `bqx ingest` first)");
  // The universe, in canonical pair order.
  std::vector<PairSetup> universe;
  for (const auto& setup : ingested) {
    if (options.pairs.empty() || std::find(options.pairs.begin(), options.pairs.end(), setup.pair) != options.pairs.end()) {
      universe.push_back(setup);
    }
  }
  for (const Pair p : options.pairs) {
    if (std::none_of(universe.begin(), universe.end(), [&](const PairSetup& s) { return s.pair == p; })) {
      return make_error("pair " + pair_name(p) + " has no ingested bars");
    }
  }
  std::sort(universe.begin(), universe.end(),
            [](const PairSetup& a, const PairSetup& b) { return pair_index(a.pair) < pair_index(b.pair); });
  std::vector<Pair> universe_pairs;
  for (const auto& s : universe) universe_pairs.push_back(s.pair);
  summary.universe = universe_name(universe_pairs);

  // Months with bars for the universe, and the bars per (pair, month).
  BQX_ASSIGN_OR_RETURN(auto bar_months, store.bar_months());
  std::map<MonthId, std::map<int, int64_t>> bars_by_month;
  for (const auto& bm : bar_months) {
    if (std::find(universe_pairs.begin(), universe_pairs.end(), bm.pair) == universe_pairs.end()) continue;
    bars_by_month[bm.month][pair_index(bm.pair)] = bm.bars;
  }
  std::vector<MonthId> months;
  for (const auto& [m, _] : bars_by_month) months.push_back(m);
  for (const MonthId m : options.months) {
    if (!bars_by_month.count(m)) return make_error("month " + format_month(m) + " has no bars for the selected pairs");
  }

  BQX_ASSIGN_OR_RETURN(auto manifest, store.manifest());
  std::map<std::tuple<std::string, int, MonthId>, PartitionEntry> finished;
  std::map<std::pair<int, MonthId>, PartitionEntry> labels_manifest;
  for (const auto& e : manifest) {
    finished[{e.kind, pair_index(e.pair), e.month}] = e;
    if (e.kind == "labels") labels_manifest[{pair_index(e.pair), e.month}] = e;
  }
  auto month_done = [&](MonthId m) {
    for (const auto& [slot, bars] : bars_by_month[m]) {
      for (const char* kind : {"features", "labels"}) {
        auto it = finished.find({kind, slot, m});
        if (it == finished.end() || it->second.rows != bars || it->second.universe != summary.universe ||
            it->second.catalogue_version != features::kCatalogueVersion) {
          return false;
        }
      }
    }
    return true;
  };

  // Months to compute. Without --months: from the first unfinished month to the end (a
  // recomputed month changes the state every later month starts from).
  std::vector<size_t> todo;
  if (options.months.empty()) {
    size_t first = months.size();
    for (size_t i = 0; i < months.size(); ++i) {
      if (options.force || !month_done(months[i])) {
        first = i;
        break;
      }
    }
    for (size_t i = first; i < months.size(); ++i) todo.push_back(i);
  } else {
    std::set<MonthId> requested(options.months.begin(), options.months.end());
    for (size_t i = 0; i < months.size(); ++i) {
      if (requested.count(months[i]) && (options.force || !month_done(months[i]))) todo.push_back(i);
    }
  }
  summary.months_total = options.months.empty() ? months.size() : options.months.size();
  summary.months_skipped = summary.months_total - todo.size();
  for (const MonthId m : months) {
    if (std::find_if(todo.begin(), todo.end(), [&](size_t i) { return months[i] == m; }) == todo.end()) {
      summary.partitions_skipped += 2 * bars_by_month[m].size();
    }
  }
  if (todo.empty()) {
    summary.seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
    return summary;
  }

  Progress progress;
  progress.months_total = todo.size();
  for (const size_t i : todo) {
    for (const auto& [slot, bars] : bars_by_month[months[i]]) {
      progress.bars_total += static_cast<uint64_t>(bars);
      progress.partitions_total += 2;
    }
  }

  const int workers = options.workers > 0 ? options.workers : std::max(1u, std::thread::hardware_concurrency());
  ThreadPool pool(workers);
  BQX_ASSIGN_OR_RETURN(auto engine, MarketEngine::create(universe, options.market));
  MonthComputer computer(store, engine, pool, universe, summary.universe);

  std::optional<size_t> engine_at;  // index of the month the in-memory engine has finished
  for (const size_t i : todo) {
    const MonthId m = months[i];
    // The engine must hold the state at the end of the previous month with bars.
    auto prepare = [&]() -> Status {
      if (engine_at && *engine_at + 1 == i) return Status::Ok();
      BQX_ASSIGN_OR_RETURN(auto fresh, MarketEngine::create(universe, options.market));
      engine = std::move(fresh);
      if (i > 0) {
        BQX_ASSIGN_OR_RETURN(auto state, store.load_state(months[i - 1], summary.universe));
        if (state.empty()) {
          return make_error("month " + format_month(m) + " needs the state month " + format_month(months[i - 1]) +
                            " ended with, which is not in the store (compute " + format_month(months[i - 1]) +
                            " first: run without --months)");
        }
        BQX_TRY(engine.restore(state));
      }
      engine_at = i > 0 ? std::optional<size_t>(i - 1) : std::nullopt;
      return Status::Ok();
    };
    progress.month = m;
    const auto bars_before = progress.bars_done;
    Status status = Status::Ok();
    for (int attempt = 1; attempt <= std::max(1, options.max_attempts); ++attempt) {
      if (attempt > 1) {
        engine_at.reset();  // the failed attempt advanced the engine: start again from the store
        progress.bars_done = bars_before;
        ++summary.retries;
      }
      status = prepare();
      if (status) {
        status = computer.compute(m, i > 0 ? std::optional<MonthId>(months[i - 1]) : std::nullopt, labels_manifest,
                                  attempt, options, summary, progress, run_start);
      }
      if (status) break;
    }
    if (!status) {
      summary.failure = "month " + format_month(m) + ": " + status.error().message;
      summary.partitions_failed += 2 * bars_by_month[m].size();
      break;
    }
    engine_at = i;
    ++summary.months_computed;
    ++progress.months_done;
    progress.partitions_done += 2 * bars_by_month[m].size();
    summary.bars += progress.bars_done - bars_before;
    // This month's labels are now in the manifest as written (complete or not).
    for (const auto& [slot, bars] : bars_by_month[m]) {
      PartitionEntry e;
      e.kind = "labels";
      e.pair = all_pairs()[slot];
      e.month = m;
      e.rows = bars;
      e.catalogue_version = features::kCatalogueVersion;
      e.universe = summary.universe;
      labels_manifest[{slot, m}] = e;  // completeness no longer matters: the next month continues in memory
    }
    if (options.on_progress) {
      progress.seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
      options.on_progress(progress);
    }
  }
  summary.seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
  return summary;
}

}  // namespace bqx::pipeline
