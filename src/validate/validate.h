// `bqx validate`: data and feature checks over the DuckDB store (issue 6), written as
// DIR/report.json and a self-contained DIR/report.html (inline SVG, no network).
//
// Areas (each check has an id, a severity, pass/fail, counts and the first examples):
//   completeness  - one feature row and one label row per bar, manifest, no duplicate (pair, ts)
//   nulls         - NULLs only inside a column's published lookback or under its documented
//                   condition (ColumnInfo.lookback / exact_lookback / null_when)
//   ranges        - bounded columns inside their unit's bounds, reg identities, sum of the 8
//                   currency strengths = 0, no Inf / NaN anywhere, labels = labels recomputed
//                   from the bars
//   bars          - gaps in open market hours, stale runs, return outliers, OHLC violations,
//                   cross-rate inconsistencies, duplicates and rows rejected at ingest
//   point_in_time - causality (rows recomputed from input truncated at the bar) and
//                   batch = stream (a window replayed step by step from the saved state)
//   cross_store   - Parquet export (and PostgreSQL when given) equal to the DuckDB store
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/currency.h"
#include "core/result.h"
#include "core/time.h"

namespace bqx::validate {

struct Thresholds {
  int gap_minutes = 45;            // a hole of more open-market minutes than this fails (generator: <= 17)
  int stale_minutes = 20;          // unchanged close for at least this long while other pairs move
  double outlier_z = 20.0;         // robust z of a log return (median/MAD of the pair's UTC day)
  double outlier_min_bp = 50.0;    // ... and larger than this (mispricings of 5-20 bp are market events)
  double cross_rate_bp = 50.0;     // |triangle eps| beyond this is a data error (mispricings are 5-20 bp)
  double bound_tolerance = 1e-9;   // relative slack on unit bounds (floating rounding)
  double strength_sum_tolerance = 1e-9;  // |sum of 8 strengths| <= tol * (1 + sum |s|)
};

struct Options {
  std::filesystem::path db = "bqx.duckdb";
  std::filesystem::path report_dir;       // empty: no files written
  std::vector<Pair> pairs;                // empty: every pair in the store
  std::vector<MonthId> months;            // empty: every month with bars
  std::filesystem::path parquet_dir;      // `bqx export --parquet` output to compare, optional
  std::string postgres_url;               // optional
  int causality_samples = 8;              // K random bars recomputed from truncated input
  int stream_window_minutes = 240;        // window replayed step by step from the saved state
  uint64_t seed = 1;                      // sample and window positions
  size_t max_examples = 20;               // examples kept per check (counts are always complete)
  bool point_in_time = true;              // run the replay checks (they need the engine)
  Thresholds thresholds;
};

// One offending item. ts = kNoTime when the item has no single time.
inline constexpr EpochMinute kNoTime = INT64_MIN;
struct Finding {
  std::string pair;
  EpochMinute ts = kNoTime;
  EpochMinute end = kNoTime;  // last minute of a stretch (inclusive), kNoTime for a point
  std::string column;
  std::string value;
  std::string detail;
};

enum class Severity { Error, Warning };

struct CheckResult {
  std::string id;           // e.g. "bars.gaps"
  std::string area;         // completeness | nulls | ranges | bars | point_in_time | cross_store
  std::string title;        // one line for people
  std::string description;  // what is checked and the rule
  Severity severity = Severity::Error;
  bool passed = true;
  bool skipped = false;
  std::string skip_reason;
  int64_t checked = 0;      // items examined
  int64_t failed = 0;       // items that broke the rule
  std::vector<Finding> examples;
  double seconds = 0.0;

  // Counts one failure and keeps it as an example while fewer than `cap` are kept.
  void fail(Finding finding, size_t cap) {
    ++failed;
    if (severity == Severity::Error) passed = false;
    if (examples.size() < cap) examples.push_back(std::move(finding));
  }
  void skip(std::string why) {
    skipped = true;
    skip_reason = std::move(why);
  }
};

// Pair x month coverage (heatmap).
struct CoverageCell {
  std::string pair;
  std::string month;
  int64_t bars = 0;
  EpochMinute first_bar = 0, last_bar = 0;  // of the selection
  int64_t feature_rows = 0;
  int64_t label_rows = 0;
  bool manifest_features = false;  // a features manifest entry exists with rows = stored rows
  bool manifest_labels = false;
  int64_t open_minutes = 0;        // minutes the market was open in the pair's span of that month
};

struct FamilyNulls {
  std::string family;
  int64_t cells = 0;        // rows x columns examined
  int64_t warmup = 0;       // NULL inside the published lookback
  int64_t conditional = 0;  // NULL past the lookback under the documented condition
  int64_t unexplained = 0;  // NULL past the lookback of a column that has no NULL condition
};

struct PartitionNulls {
  std::string pair;
  std::string month;
  int64_t cells = 0;
  int64_t nulls = 0;
};

// The 8 currency strengths over the period, one point per bucket (mean of the bucket).
struct StrengthSeries {
  std::vector<EpochMinute> ts;
  std::array<std::vector<double>, kCurrencyCount> values;  // NaN: no value in the bucket
  int bucket_minutes = 60;
};

// Distribution of the triangle eps (arb_*_eps_bp, every triangle, one value per grid minute).
struct EpsDistribution {
  std::vector<double> edges;      // bin edges in bp (size = counts.size() + 1)
  std::vector<int64_t> counts;
  int64_t values = 0;
  int64_t beyond = 0;             // |eps| beyond the last edge
  double abs_p99 = 0, abs_max = 0;
  struct Opportunity {
    std::string pair;
    EpochMinute ts = 0;
    double max_abs_eps_bp = 0;
    double profit_pct = 0;
  };
  std::vector<Opportunity> opportunities;  // rows with arb_opportunity = 1 (capped)
  int64_t opportunity_rows = 0;
};

struct Gap {
  std::string pair;
  EpochMinute start = 0;  // first missing minute
  EpochMinute end = 0;    // last missing minute (inclusive)
  int64_t open_minutes = 0;
};

struct ColumnStats {
  std::string name;
  std::string family;
  int64_t non_null = 0, nulls = 0, inf = 0, nan = 0, out_of_range = 0;
  double min = 0, max = 0;
  uint64_t checksum = 0;
};

struct Report {
  std::string db;
  std::string generated_at;
  std::vector<std::string> pairs;
  std::vector<std::string> months;
  int64_t bars = 0;
  EpochMinute first_bar = 0, last_bar = 0;  // of the selection
  int64_t feature_rows = 0;
  int64_t label_rows = 0;
  bool has_features = false;
  std::vector<CheckResult> checks;
  std::vector<CoverageCell> coverage;
  std::vector<FamilyNulls> family_nulls;
  std::vector<PartitionNulls> partition_nulls;
  StrengthSeries strengths;
  EpsDistribution eps;
  std::vector<Gap> gaps;          // every gap of at least kCalendarGapMinutes open minutes
  std::vector<ColumnStats> columns;
  std::map<std::string, double> seconds;  // per area and total
  std::vector<std::string> notes;

  bool passed() const {
    for (const auto& c : checks) {
      if (!c.passed) return false;
    }
    return true;
  }
  int failed_checks() const {
    int n = 0;
    for (const auto& c : checks) n += c.passed ? 0 : 1;
    return n;
  }
};

// Gaps shorter than this are single missing ticks; they are counted but not listed.
inline constexpr int kCalendarGapMinutes = 5;

// Runs every check. An Error only when the store cannot be read at all; failed checks
// are results, not errors.
Result<Report> run_validation(const Options& options);

Status write_report_json(const Report& report, const std::filesystem::path& path);
Status write_report_html(const Report& report, const std::filesystem::path& path);

// The JSON document (also used by tests).
std::string report_json_text(const Report& report);
std::string report_html_text(const Report& report);

}  // namespace bqx::validate
