// Internal pieces shared by the bar readers (bar_reader.cpp, reader_text.cpp,
// reader_parquet.cpp). Not part of the public io API: include only from src/io and tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bars.h"
#include "core/currency.h"
#include "core/result.h"
#include "core/time.h"
#include "io/bar_reader.h"

namespace bqx::reader {

// HistData's documented convention: fixed EST without daylight saving (UTC-05:00).
inline constexpr int kHistDataOffsetMinutes = -300;

// ---------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------

enum class TimeStatus { Ok, Unparseable, NotMinute };

// Parses one bar time (see the format list in reader_time.cpp). A time that carries no
// zone is local time at `offset_minutes` east of UTC: utc = local - offset.
TimeStatus parse_bar_time(std::string_view text, int offset_minutes, EpochMinute* out);

// Fast path for HistData's "YYYYMMDD HHMMSS" (exactly 15 characters).
TimeStatus parse_histdata_time(std::string_view text, int offset_minutes, EpochMinute* out);

// Epoch seconds (UTC) to epoch minutes; NotMinute unless a multiple of 60.
TimeStatus epoch_seconds_to_minute(int64_t seconds, EpochMinute* out);

enum class NumStatus { Ok, NonNumeric, NonFinite };

// Whole-string decimal number via std::from_chars (a leading '+' is accepted).
NumStatus parse_number(std::string_view text, double* out);

// Trims ASCII spaces and tabs (and a CR) on both sides.
std::string_view trim(std::string_view s);
std::string lower(std::string_view s);

// Shortest round-trip text of a double (for messages about values that had no raw text).
std::string format_double(double v);

// ---------------------------------------------------------------------------------------
// Rows, validation and the collector that turns rows into a BarFrame
// ---------------------------------------------------------------------------------------

enum Field : int { kOpen = 0, kHigh, kLow, kClose, kVolume, kBid, kAsk, kValueFieldCount };
const char* field_name(int field);  // "open", "high", ...

struct Row {
  EpochMinute ts = 0;
  double v[kValueFieldCount];  // open, high, low, close, volume, bid, ask (NaN: absent optional)
  uint64_t line = 0;           // 1-based physical line (text) or row number (parquet)
  uint64_t raw_offset = 0;     // text sources: the raw line inside the file buffer
  uint32_t raw_length = 0;
};

struct Problem {
  std::string what;
  std::string value;
};

// Semantic checks of a row whose values all parsed and are finite (optional values may be
// NaN = absent): positive prices, non-negative volume, high >= low, open/close in [low, high].
// `text_of(field)` returns the raw text of a field for the message.
template <class TextOf>
std::optional<Problem> check_row_values(const Row& r, TextOf&& text_of) {
  for (int f : {kOpen, kHigh, kLow, kClose}) {
    if (!(r.v[f] > 0.0)) return Problem{std::string("non-positive price in column ") + field_name(f), text_of(f)};
  }
  if (!std::isnan(r.v[kVolume]) && r.v[kVolume] < 0.0) return Problem{"negative volume", text_of(kVolume)};
  for (int f : {kBid, kAsk}) {
    if (!std::isnan(r.v[f]) && !(r.v[f] > 0.0)) {
      return Problem{std::string("non-positive price in column ") + field_name(f), text_of(f)};
    }
  }
  if (r.v[kHigh] < r.v[kLow]) return Problem{"high < low", text_of(kHigh) + " < " + text_of(kLow)};
  for (int f : {kOpen, kClose}) {
    if (r.v[f] < r.v[kLow] || r.v[f] > r.v[kHigh]) {
      return Problem{std::string(field_name(f)) + " outside [low, high]",
                     text_of(f) + " not in [" + text_of(kLow) + ", " + text_of(kHigh) + "]"};
    }
  }
  return std::nullopt;
}

// Collects validated rows, quarantines bad rows (skip_bad_rows) or fails on the first one,
// then sorts, drops identical duplicates and rejects conflicting duplicates.
class BarCollector {
 public:
  BarCollector(std::string file, bool skip_bad_rows) : file_(std::move(file)), skip_(skip_bad_rows) {}

  const std::string& file() const { return file_; }
  bool skipping() const { return skip_; }

  // "<file>:<line>: <what> (<value>)"
  std::string message(uint64_t line, std::string_view what, std::string_view value) const;

  // A bad row: an Error when bad rows are fatal, otherwise recorded and OK.
  Status reject(uint64_t line, std::string_view what, std::string_view value, std::string raw);

  void count_row() { ++report_.rows_read; }
  void reserve(size_t n) {
    frame_.reserve(n);
    meta_.reserve(n);
  }
  // Rows go straight into the frame's columns; finish() only reorders when it must.
  void add(const Row& row) {
    if (!frame_.ts.empty()) {
      if (row.ts < frame_.ts.back()) {
        report_.reordered = true;
      } else if (row.ts == frame_.ts.back()) {
        equal_neighbours_ = true;
      }
    }
    frame_.push_back(Bar{row.ts, row.v[kOpen], row.v[kHigh], row.v[kLow], row.v[kClose], row.v[kVolume],
                         row.v[kBid], row.v[kAsk]});
    meta_.push_back(Meta{row.line, row.raw_offset, row.raw_length});
  }

  // Sorts (stable: among equal timestamps the earliest line comes first) and de-duplicates.
  // time_text / raw_text render a row's time and whole raw line for messages.
  Result<BarFrame> finish(Pair pair, const std::function<std::string(const Row&)>& time_text,
                          const std::function<std::string(const Row&)>& raw_text);

  // Writes "line<TAB>message<TAB>raw" for every quarantined row (only if there are any).
  Status write_rejects(const std::filesystem::path& path) const;

  ReadReport& report() { return report_; }

 private:
  struct Reject {
    uint64_t line;
    std::string message;
    std::string raw;
  };
  struct Meta {
    uint64_t line;
    uint64_t raw_offset;
    uint32_t raw_length;
  };
  Row row_at(size_t i) const;

  std::string file_;
  bool skip_;
  BarFrame frame_;
  std::vector<Meta> meta_;
  bool equal_neighbours_ = false;
  std::vector<Reject> rejects_;
  ReadReport report_;
};

// ---------------------------------------------------------------------------------------
// Format readers. `pair` is the pair from the options or the file name (if known);
// `pair_error` is the error to give when neither that nor a pair column settles it.
// ---------------------------------------------------------------------------------------

struct Parsed {
  BarFrame bars;
  ReadReport report;
};

struct PairSource {
  std::optional<Pair> pair;
  Error error;  // used when `pair` is empty and the file has no pair/symbol column
};

// The file's pair: from the options / file name, or else from an optional pair/symbol
// column (letters only, so "EUR/USD" works), which must then agree on every row.
class PairResolver {
 public:
  explicit PairResolver(const PairSource& source) : pair_(source.pair), error_(source.error) {}
  // The pair, or the file-name error if it is still unknown.
  Result<Pair> pair() const;
  // Checks one row's pair/symbol value. Unknown or different pairs are fatal (structural).
  Status check_row(const BarCollector& collector, uint64_t line, std::string_view text);

 private:
  std::optional<Pair> pair_;
  Error error_;
  std::string last_ok_;  // last raw value that matched, to skip re-parsing
};

// Shared tail of every reader: sort/dedupe, write the rejects file, refuse an empty result.
Result<Parsed> finish_file(BarCollector& collector, const PairResolver& pair,
                           const std::function<std::string(const Row&)>& time_text,
                           const std::function<std::string(const Row&)>& raw_text, const ReadOptions& options);

bool looks_like_histdata(std::string_view first_line);

// Text formats: `data` is the whole file (BOM already stripped).
Result<Parsed> read_text(const std::string& file, std::string_view data, BarFormat format,
                         const ReadOptions& options, const PairSource& pair);

Result<Parsed> read_parquet(const std::string& file, const std::filesystem::path& path,
                            const ReadOptions& options, const PairSource& pair);

// Resolves the column roles of a header (shared by CSV and Parquet).
struct ColumnMap {
  int time = -1;   // single time column, or the date column of a date + time pair
  int time2 = -1;  // the time column of a date + time pair
  int value[kValueFieldCount] = {-1, -1, -1, -1, -1, -1, -1};
  int pair = -1;
};
// `names` are the raw header names. On a missing required column returns its name in
// *missing and false.
bool map_columns(const std::vector<std::string>& names, ColumnMap* map, std::string* missing);

}  // namespace bqx::reader
