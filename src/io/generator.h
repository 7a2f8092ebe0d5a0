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

// One injected data defect (only with --defects).
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

// Pure, deterministic: the same options give the same market, bit for bit.
GeneratedMarket generate_market(const GeneratorOptions& options);

struct GenerateSummary {
  size_t files = 0;
  size_t bars = 0;
  std::vector<std::filesystem::path> written;
};

// Writes DIR/DAT_ASCII_<PAIR>_M1_<YYYYMM>.csv per pair and month, plus DIR/truth.json
// (mispricings and defects). Byte-identical for the same options.
Result<GenerateSummary> write_market(const GeneratedMarket& market, const GeneratorOptions& options,
                                     const std::filesystem::path& out_dir);

}  // namespace bqx
