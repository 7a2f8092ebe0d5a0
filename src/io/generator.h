// The synthetic market of DESIGN.md ("Synthetic market"): 8 latent currency log-value
// paths -> consistent pair prices, sessions, weekends, holidays, gaps, tick volume,
// bid/ask, rare triangular mispricings (truth file) and optional data defects.
// Output is HistData Generic ASCII M1 files (fixed UTC-05:00 timestamps), so real and
// synthetic files take the same ingest path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/bars.h"
#include "core/result.h"

namespace bqx {

struct GeneratorOptions {
  std::vector<Pair> pairs;     // empty: all 28
  MonthId start = make_month(2024, 7);
  int months = 1;
  uint64_t seed = 42;
  bool defects = false;
};

// One injected triangular mispricing: the listed pair's prices are shifted by
// shift_bp for minutes [start, end] (epoch minutes UTC, inclusive).
struct Mispricing {
  Pair pair;
  EpochMinute start;
  EpochMinute end;
  double shift_bp;
};

// One injected data defect (only with --defects). spike, stale_run and missing_stretch are
// applied to GeneratedMarket::frames (and so to the files); duplicate_stretch (each line of
// [start, end] written twice, consecutively) and ohlc_violation (even minute: high written one
// pip below low; odd minute: close written one pip above high) exist in the files only.
struct Defect {
  std::string kind;   // spike | stale_run | duplicate_stretch | missing_stretch | ohlc_violation
  Pair pair;
  EpochMinute start;
  EpochMinute end;
  std::string detail;
};

struct GeneratedMarket {
  std::vector<BarFrame> frames;         // one per pair, whole period, sorted
  std::vector<Mispricing> mispricings;
  std::vector<Defect> defects;
};

// HistData's file convention: fixed EST (UTC-05:00) all year, no daylight saving.
inline constexpr int kHistDataTzOffsetMinutes = -300;

// The UTC minutes [begin, end) a run covers. Months are HistData (EST) months, so every
// file is one whole month: begin = month_start(start) + 5 h, end = month_start(start +
// months) + 5 h (e.g. --start 2024-07 --months 1 covers 2024-07-01T05:00Z .. 2024-08-01T05:00Z
// and writes exactly the 202407 files, like a HistData download of that month).
struct GenerationPeriod {
  EpochMinute begin = 0;
  EpochMinute end = 0;
};
GenerationPeriod generation_period(const GeneratorOptions& options);

// Synthetic market hours: closed from Friday 22:00 to Sunday 22:00 UTC and on the UTC
// days Dec 25 and Jan 1; open every other minute.
bool synthetic_market_open(EpochMinute t);

// Pure, deterministic: the same options give the same market, bit for bit. Pairs are
// taken in canonical order without duplicates (non-canonical pairs are ignored); each
// pair's prices depend only on (seed, start, months, pair), not on the other pairs
// requested (defects, when enabled, are drawn for the requested set as a whole).
GeneratedMarket generate_market(const GeneratorOptions& options);

struct GenerateSummary {
  size_t files = 0;
  size_t bars = 0;
  std::vector<std::filesystem::path> written;
  size_t mispricings = 0;  // entries in truth.json
  size_t defects = 0;      // entries in truth.json
};

// Writes DIR/DAT_ASCII_<PAIR>_M1_<YYYYMM>.csv per pair and month, plus DIR/truth.json
// (mispricings and defects). Byte-identical for the same options.
// Lines: "YYYYMMDD HHMMSS;OPEN;HIGH;LOW;CLOSE;VOLUME\n", EST (UTC-05:00) bar open time, prices
// with 6 decimals (HistData style), integer tick volume, sorted by time; the file's month is
// the EST month. File-only defects (duplicate_stretch, ohlc_violation) listed in
// market.defects are applied while writing. Each file is written to a temporary name and
// renamed, so no half-written file is left behind.
// Summary: files = bar files written, bars = data lines written (duplicated lines included),
// written = every path written (bar files in path order, then truth.json).
Result<GenerateSummary> write_market(const GeneratedMarket& market, const GeneratorOptions& options,
                                     const std::filesystem::path& out_dir);

// Same files and summary as write_market(generate_market(options), options, out_dir), but
// generated and written one month at a time, so memory stays bounded by one month
// (a 12-month, 28-pair market held whole is ~0.7 GB of frames).
Result<GenerateSummary> generate_to_dir(const GeneratorOptions& options, const std::filesystem::path& out_dir);

}  // namespace bqx
