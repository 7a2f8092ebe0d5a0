// `bqx validate`: every data and feature check over the store; writes DIR/report.json and
// DIR/report.html, prints a short verdict, exits 1 when any check fails.
#include <cstdio>
#include <sstream>

#include "cli/commands.h"
#include "validate/validate.h"

namespace bqx::cli {
namespace {

struct ValidateArgs {
  std::string db = "bqx.duckdb";
  std::string report = "report";
  std::string pairs;
  std::string months;
  std::string parquet;
  std::string postgres;
  int samples = 8;
  int window = 240;
  uint64_t seed = 1;
  size_t examples = 20;
  bool no_replay = false;
  validate::Thresholds thresholds;
};

// "2024-07", "2024-07,2024-09" or "2024-07..2024-12".
Result<std::vector<MonthId>> parse_month_list(const std::string& text) {
  std::vector<MonthId> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto dots = item.find("..");
    if (dots != std::string::npos) {
      BQX_ASSIGN_OR_RETURN(auto a, parse_month(item.substr(0, dots)));
      BQX_ASSIGN_OR_RETURN(auto b, parse_month(item.substr(dots + 2)));
      if (b < a) return make_error("empty month range (" + item + ")");
      for (MonthId m = a; m <= b; ++m) out.push_back(m);
    } else {
      BQX_ASSIGN_OR_RETURN(auto m, parse_month(item));
      out.push_back(m);
    }
  }
  return out;
}

int run_validate(const ValidateArgs& a) {
  validate::Options o;
  o.db = a.db;
  o.report_dir = a.report;
  if (!a.pairs.empty() && a.pairs != "all") {
    auto pairs = parse_pair_list(a.pairs);
    if (!pairs) return fail("--pairs: " + pairs.error().message);
    o.pairs = *pairs;
  }
  if (!a.months.empty()) {
    auto months = parse_month_list(a.months);
    if (!months) return fail("--months: " + months.error().message);
    o.months = *months;
  }
  o.parquet_dir = a.parquet;
  o.postgres_url = a.postgres;
  o.causality_samples = a.samples;
  o.stream_window_minutes = a.window;
  o.seed = a.seed;
  o.max_examples = a.examples;
  o.point_in_time = !a.no_replay;
  o.thresholds = a.thresholds;
  auto report = validate::run_validation(o);
  if (!report) return fail(report.error().message);
  const auto& r = *report;
  int run = 0, skipped = 0;
  for (const auto& c : r.checks) (c.skipped ? skipped : run) += 1;
  const double secs = r.seconds.count("total") ? r.seconds.at("total") : 0.0;
  if (r.passed()) {
    std::printf("PASS: %d checks passed (%d not applicable) on %zu pairs x %zu months, %lld bars, %lld feature rows in %.1f s\n",
                run, skipped, r.pairs.size(), r.months.size(), static_cast<long long>(r.bars),
                static_cast<long long>(r.feature_rows), secs);
  } else {
    std::printf("FAIL: %d of %d checks failed on %zu pairs x %zu months in %.1f s\n", r.failed_checks(), run,
                r.pairs.size(), r.months.size(), secs);
    for (const auto& c : r.checks) {
      if (c.passed) continue;
      std::printf("  %-28s %lld of %lld failed", c.id.c_str(), static_cast<long long>(c.failed),
                  static_cast<long long>(c.checked));
      if (!c.examples.empty()) {
        const auto& f = c.examples.front();
        std::printf("  e.g. %s %s %s %s", f.pair.c_str(), f.ts == validate::kNoTime ? "" : format_compact(f.ts).c_str(),
                    f.column.c_str(), f.value.c_str());
      }
      std::printf("\n");
    }
  }
  std::printf("report: %s\n", (std::filesystem::path(a.report) / "report.html").string().c_str());
  return r.passed() ? 0 : 1;
}

}  // namespace

void register_validate(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<ValidateArgs>();
  auto* cmd = app.add_subcommand("validate", "Check bars, features and labels; write report.json and report.html");
  cmd->add_option("--db", a->db, "DuckDB store file")->capture_default_str();
  cmd->add_option("--report", a->report, "Directory for report.json and report.html")->capture_default_str();
  cmd->add_option("--pairs", a->pairs, "Pairs to check (comma separated, default: every pair in the store)");
  cmd->add_option("--months", a->months, "Months to check: 2024-07, 2024-07,2024-08 or 2024-07..2024-12 (default: all)");
  cmd->add_option("--parquet", a->parquet, "Parquet export directory (bqx export --parquet) to compare with the store");
  cmd->add_option("--postgres", a->postgres, "PostgreSQL URL of an export to compare with the store");
  cmd->add_option("--samples", a->samples, "Bars recomputed from truncated input (causality)")->capture_default_str();
  cmd->add_option("--window", a->window, "Minutes replayed step by step (batch = stream)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed for the sampled bars and window")->capture_default_str();
  cmd->add_option("--examples", a->examples, "Examples kept per check")->capture_default_str();
  cmd->add_flag("--no-replay", a->no_replay, "Skip the point-in-time replay checks");
  cmd->add_option("--gap-minutes", a->thresholds.gap_minutes, "Longest allowed gap in open market hours")->capture_default_str();
  cmd->add_option("--stale-minutes", a->thresholds.stale_minutes, "Longest allowed unchanged close")->capture_default_str();
  cmd->add_option("--outlier-z", a->thresholds.outlier_z, "Robust z of a return outlier")->capture_default_str();
  cmd->add_option("--cross-rate-bp", a->thresholds.cross_rate_bp, "Largest allowed triangle eps")->capture_default_str();
  cmd->callback([a, exit_code] { *exit_code = run_validate(*a); });
}

}  // namespace bqx::cli
