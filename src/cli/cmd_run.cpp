// `bqx run`: every feature and label of the ingested bars into the store, month by month,
// resumable (src/pipeline/pipeline.h explains the units of work).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "pipeline/pipeline.h"
#include "store/bar_store.h"
#include "store/feature_store.h"
#include "store/pipeline_store.h"

namespace bqx::cli {
namespace {

struct RunArgs {
  std::string db = "bqx.duckdb";
  int workers = 0;
  std::string pairs;
  std::string months;
  bool force = false;
  int max_staleness = features::kDefaultMaxStalenessMinutes;
  // DuckDB otherwise caches up to 80% of RAM and the process grows with the number of
  // months; with a limit the peak is bounded by one month (README "Performance").
  std::string memory_limit = "4GB";
};

// "2024-07", "2024-07,2024-09" or "2024-07..2024-12".
Result<std::vector<MonthId>> parse_months(const std::string& text) {
  std::vector<MonthId> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t dots = item.find("..");
    if (dots != std::string::npos) {
      BQX_ASSIGN_OR_RETURN(auto a, parse_month(item.substr(0, dots)));
      BQX_ASSIGN_OR_RETURN(auto b, parse_month(item.substr(dots + 2)));
      if (b < a) return make_error("--months: empty range (" + item + ")");
      for (MonthId m = a; m <= b; ++m) out.push_back(m);
    } else {
      BQX_ASSIGN_OR_RETURN(auto m, parse_month(item));
      out.push_back(m);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string human_duration(double seconds) {
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  } else {
    std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(seconds) / 60, static_cast<int>(seconds) % 60);
  }
  return buf;
}

// A one-line progress bar on a terminal; plain lines every 10 s otherwise (logs, CI).
class ProgressPrinter {
 public:
  ProgressPrinter() : tty_(isatty(fileno(stderr))) {}
  void operator()(const pipeline::Progress& p) {
    const auto now = std::chrono::steady_clock::now();
    const bool last = p.months_done == p.months_total;
    if (!last && now - last_print_ < std::chrono::milliseconds(tty_ ? 200 : 10000)) return;
    last_print_ = now;
    const double frac = p.bars_total ? static_cast<double>(p.bars_done) / static_cast<double>(p.bars_total) : 1.0;
    const double rate = p.seconds > 0 ? static_cast<double>(p.bars_done) / p.seconds : 0;
    const double eta = rate > 0 ? static_cast<double>(p.bars_total - p.bars_done) / rate : 0;
    char line[256];
    std::snprintf(line, sizeof line, "partitions %zu/%zu  month %s  %5.1f%%  %.0f bars/s  ETA %s", p.partitions_done,
                  p.partitions_total, format_month(p.month).c_str(), 100.0 * frac, rate, human_duration(eta).c_str());
    if (tty_) {
      const int width = 24;
      const int filled = static_cast<int>(frac * width);
      std::string bar(static_cast<size_t>(filled), '#');
      bar.resize(width, '.');
      std::fprintf(stderr, "\r\033[K[%s] %s", bar.c_str(), line);
      if (last) std::fprintf(stderr, "\n");
    } else {
      std::fprintf(stderr, "bqx run: %s\n", line);
    }
    std::fflush(stderr);
  }

 private:
  bool tty_;
  std::chrono::steady_clock::time_point last_print_{};
};

// Bytes of store per bar computed: 4.44 GB for the 865,978 bars of a generated 28-pair
// month (features + labels in DuckDB's compressed format, README "Performance"); used to
// refuse runs that cannot fit on the disk before they start.
constexpr double kStoreBytesPerBar = 5200;

int run_command(const RunArgs& a) {
  if (!std::filesystem::exists(a.db)) return fail(a.db + ": no such store (run `bqx ingest` first)");
  pipeline::RunOptions options;
  options.workers = a.workers;
  options.force = a.force;
  options.market.max_staleness_minutes = a.max_staleness;
  if (!a.pairs.empty() && a.pairs != "all") {
    auto pairs = parse_pair_list(a.pairs);
    if (!pairs) return fail("--pairs: " + pairs.error().message);
    options.pairs = *pairs;
  }
  if (!a.months.empty()) {
    auto months = parse_months(a.months);
    if (!months) return fail("--months: " + months.error().message);
    options.months = *months;
  }
  auto con = store::Connection::open(a.db);
  if (!con) return fail(con.error().message);
  if (!a.memory_limit.empty()) {
    if (auto st = con->exec("SET memory_limit = " + store::sql_quote(a.memory_limit)); !st) {
      return fail("--memory-limit: " + st.error().message);
    }
  }
  auto store = store::open_pipeline_store(*con);
  if (!store) return fail(a.db + ": " + store.error().message);

  // Disk: refuse a run that cannot fit, and say how much it needs (bars not yet computed).
  if (auto bars = con->query_int("SELECT (SELECT count(*) FROM bars) - (SELECT count(*) FROM features)"); bars) {
    std::error_code ec;
    const auto space = std::filesystem::space(std::filesystem::absolute(a.db).parent_path(), ec);
    const double need = static_cast<double>(*bars) * kStoreBytesPerBar;
    if (!ec && static_cast<double>(space.available) < need) {
      return fail(a.db + ": not enough free disk space: about " + std::to_string(static_cast<int64_t>(need / 1e9)) +
                  " GB may be needed for " + std::to_string(*bars) + " bars, " +
                  std::to_string(static_cast<int64_t>(static_cast<double>(space.available) / 1e9)) + " GB free");
    }
  }

  ProgressPrinter printer;
  options.on_progress = [&printer](const pipeline::Progress& p) { printer(p); };
  auto summary = pipeline::run(**store, options);
  if (!summary) return fail(a.db + ": " + summary.error().message);
  const auto& s = *summary;
  if (s.nothing_to_do()) {
    std::printf("bqx run: nothing to do: all %zu month(s) of %s are up to date (use --force to recompute)\n",
                s.months_total, a.db.c_str());
    return 0;
  }
  const double rate = s.seconds > 0 ? static_cast<double>(s.bars) / s.seconds : 0;
  std::printf("bqx run summary (%s)\n", a.db.c_str());
  std::printf("  universe            %s\n", s.universe.c_str());
  std::printf("  months              %zu computed, %zu already done\n", s.months_computed, s.months_skipped);
  std::printf("  partitions written  %zu (features + labels; %zu up to date, %zu earlier label partitions completed)\n",
              s.partitions_written, s.partitions_skipped, s.label_partitions_completed);
  std::printf("  rows written        %llu x %zu feature columns\n", static_cast<unsigned long long>(s.rows_written),
              store::feature_column_names().size());
  std::printf("  failed              %zu%s\n", s.partitions_failed, s.retries ? " (after retries)" : "");
  std::printf("  duration            %s (compute %.1f s, store %.1f s)\n", human_duration(s.seconds).c_str(),
              s.compute_seconds, s.write_seconds);
  std::printf("  throughput          %.0f bars/s\n", rate);
  if (!s.failure.empty()) return fail(s.failure + " (nothing of it was written; fix the cause and run `bqx run` again)");
  return 0;
}

}  // namespace

void register_run(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Compute every feature and label of the ingested bars into the store "
                                        "(resumable: run it again after an interruption)");
  cmd->add_option("--db", a->db, "DuckDB store file")->capture_default_str();
  cmd->add_option("--workers", a->workers, "Threads for the per-pair families (0 = all cores)")->capture_default_str();
  cmd->add_option("--pairs", a->pairs, "Universe: comma-separated pairs (default: every ingested pair)");
  cmd->add_option("--months", a->months, "Months to compute: 2024-07, 2024-07,2024-08 or 2024-07..2024-12 "
                                         "(default: every unfinished month)");
  cmd->add_flag("--force", a->force, "Recompute finished months too");
  cmd->add_option("--max-staleness", a->max_staleness,
                  "Minutes after which a pair's last bar no longer counts on the cross-pair grid")
      ->capture_default_str();
  cmd->add_option("--memory-limit", a->memory_limit,
                  "DuckDB's memory limit (a 28-pair month needs about 3GB)")
      ->capture_default_str();
  cmd->callback([a, exit_code] { *exit_code = run_command(*a); });
}

}  // namespace bqx::cli
