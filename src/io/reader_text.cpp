// Text bar files: HistData Generic ASCII M1 (no header, ';', "YYYYMMDD HHMMSS" in fixed
// UTC-05:00 by default) and generic CSV with a header (delimiter sniffed from the header
// among , ; TAB |; columns found by name, see map_columns in bar_reader.cpp).
//
// The whole file is in memory; lines are found with memchr, fields split by hand and
// numbers parsed with std::from_chars — no streams, no regex, no per-row allocation.
// Physical line numbers count every line (blank lines are skipped but counted; the CSV
// header is line 1). CRLF is accepted. A last line without a newline is fine if it is
// complete; if it has the wrong number of fields or a field that does not parse (cut
// mid-number) it is reported as "truncated last line".
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "io/reader_common.h"

namespace bqx::reader {

bool looks_like_histdata(std::string_view line) {
  if (line.size() < 16) return false;
  for (size_t i = 0; i < 15; ++i) {
    const char c = line[i];
    if (i == 8) {
      if (c != ' ') return false;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return line[15] == ';';
}

namespace {

struct Line {
  std::string_view text;  // without the line terminator (LF or CRLF)
  uint64_t number = 0;
  uint64_t offset = 0;
  bool has_newline = false;
};

class LineReader {
 public:
  explicit LineReader(std::string_view data) : data_(data) {}
  bool next(Line* out) {
    if (pos_ >= data_.size()) return false;
    const char* begin = data_.data() + pos_;
    const void* nl = std::memchr(begin, '\n', data_.size() - pos_);
    const size_t end = nl != nullptr ? static_cast<size_t>(static_cast<const char*>(nl) - data_.data()) : data_.size();
    std::string_view text = data_.substr(pos_, end - pos_);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    out->text = text;
    out->offset = pos_;
    out->has_newline = nl != nullptr;
    out->number = ++number_;
    pos_ = nl != nullptr ? end + 1 : data_.size();
    return true;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  uint64_t number_ = 0;
};

bool is_blank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

// Splits `line` on `delim` into `fields` (reused); returns the field count. A plain loop:
// fields are short, so this beats a memchr call per field.
size_t split(std::string_view line, char delim, std::vector<std::string_view>& fields) {
  fields.clear();
  const char* p = line.data();
  const char* const end = p + line.size();
  const char* start = p;
  for (; p != end; ++p) {
    if (*p == delim) {
      fields.emplace_back(start, static_cast<size_t>(p - start));
      start = p + 1;
    }
  }
  fields.emplace_back(start, static_cast<size_t>(end - start));
  return fields.size();
}

std::string_view clean(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = trim(s.substr(1, s.size() - 2));
  return s;
}

char sniff_delimiter(std::string_view header) {
  char best = ',';
  size_t best_count = 0;
  for (char d : {',', ';', '\t', '|'}) {
    size_t count = 0;
    for (char c : header) count += c == d ? 1 : 0;
    if (count > best_count) {
      best = d;
      best_count = count;
    }
  }
  return best;
}

struct Layout {
  char delim = ';';
  size_t columns = 6;
  ColumnMap map;
  bool histdata = true;
  int offset = kHistDataOffsetMinutes;
};

}  // namespace

Result<Parsed> read_text(const std::string& file, std::string_view data, BarFormat format,
                         const ReadOptions& options, const PairSource& pair_source) {
  BarCollector collector(file, options.skip_bad_rows);
  PairResolver pairs(pair_source);
  LineReader lines(data);
  Line line;
  Layout layout;
  std::vector<std::string_view> fields;
  fields.reserve(16);

  // Skip leading blank lines; a file with nothing else is empty.
  bool have_line = false;
  while (lines.next(&line)) {
    if (!is_blank(line.text)) {
      have_line = true;
      break;
    }
  }
  if (!have_line) return make_error(file + ": empty file");

  if (format == BarFormat::HistData) {
    layout.histdata = true;
    layout.delim = ';';
    layout.columns = 6;
    layout.map.time = 0;
    for (int f : {kOpen, kHigh, kLow, kClose, kVolume}) layout.map.value[f] = 1 + f;
    layout.offset = options.tz_offset_minutes.value_or(kHistDataOffsetMinutes);
  } else {
    layout.histdata = false;
    layout.delim = sniff_delimiter(line.text);
    layout.columns = split(line.text, layout.delim, fields);
    std::vector<std::string> names(fields.begin(), fields.end());
    std::string missing;
    if (!map_columns(names, &layout.map, &missing)) {
      return make_error(collector.message(line.number, "missing required column " + missing, line.text));
    }
    layout.offset = options.tz_offset_minutes.value_or(0);
    have_line = lines.next(&line);
  }
  if (layout.map.pair < 0) {
    auto p = pairs.pair();
    if (!p.ok()) return p.error();
  }

  const ColumnMap& map = layout.map;
  const size_t columns = layout.columns;
  collector.reserve(static_cast<size_t>(std::count(data.begin(), data.end(), '\n')) + 1);
  std::string joined;  // date + " " + time
  Row row;
  auto text_of = [&](int f) { return std::string(clean(fields[static_cast<size_t>(map.value[f])])); };

  Error fatal;
  // One data row: Added, Rejected (quarantined) or Fatal (`fatal` holds the error).
  enum class Outcome { Added, Rejected, Fatal };
  auto process = [&]() -> Outcome {
    const bool unterminated = !line.has_newline;
    // A bad row; `truncation_kind` marks problems that a cut-off last line explains.
    auto bad = [&](std::string_view what, std::string_view value, bool truncation_kind) -> Outcome {
      Status s = unterminated && truncation_kind
                     ? collector.reject(line.number, "truncated last line", line.text, std::string(line.text))
                     : collector.reject(line.number, what, value, std::string(line.text));
      if (s.ok()) return Outcome::Rejected;
      fatal = s.error();
      return Outcome::Fatal;
    };
    const size_t n = split(line.text, layout.delim, fields);
    if (n != columns) {
      return bad("wrong column count: expected " + std::to_string(columns) + ", got " + std::to_string(n), line.text,
                 true);
    }
    if (map.pair >= 0) {
      Status s = pairs.check_row(collector, line.number, fields[static_cast<size_t>(map.pair)]);
      if (!s.ok()) {
        fatal = s.error();
        return Outcome::Fatal;
      }
    }

    // Time.
    std::string_view time_text;
    TimeStatus ts_status;
    if (layout.histdata) {
      time_text = fields[0];
      ts_status = parse_histdata_time(time_text, layout.offset, &row.ts);
    } else {
      if (map.time2 >= 0) {
        joined.assign(clean(fields[static_cast<size_t>(map.time)]));
        joined.push_back(' ');
        joined.append(clean(fields[static_cast<size_t>(map.time2)]));
        time_text = joined;
      } else {
        time_text = clean(fields[static_cast<size_t>(map.time)]);
      }
      ts_status = parse_bar_time(time_text, layout.offset, &row.ts);
    }
    if (ts_status == TimeStatus::Unparseable) return bad("unparseable time", time_text, true);
    if (ts_status == TimeStatus::NotMinute) return bad("time not on a minute boundary", time_text, false);

    // Values: open, high, low, close required; volume, bid, ask optional (empty = NaN).
    for (int f = 0; f < kValueFieldCount; ++f) {
      const int c = map.value[f];
      const std::string_view v = c >= 0 ? clean(fields[static_cast<size_t>(c)]) : std::string_view();
      if (f > kClose && v.empty()) {
        row.v[f] = std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      const NumStatus st = parse_number(v, &row.v[f]);
      if (st == NumStatus::NonNumeric) return bad(std::string("non-numeric value in column ") + field_name(f), v, true);
      if (st == NumStatus::NonFinite) return bad(std::string("non-finite value in column ") + field_name(f), v, false);
    }
    if (auto problem = check_row_values(row, text_of)) return bad(problem->what, problem->value, false);

    row.line = line.number;
    row.raw_offset = line.offset;
    row.raw_length = static_cast<uint32_t>(line.text.size());
    collector.add(row);
    return Outcome::Added;
  };

  for (; have_line; have_line = lines.next(&line)) {
    if (is_blank(line.text)) continue;
    collector.count_row();
    if (process() == Outcome::Fatal) return fatal;
  }

  auto raw_text = [data](const Row& r) { return std::string(data.substr(r.raw_offset, r.raw_length)); };
  auto time_text = [data, &layout](const Row& r) {
    std::vector<std::string_view> f;
    std::string_view raw = data.substr(r.raw_offset, r.raw_length);
    split(raw, layout.delim, f);
    if (layout.map.time2 >= 0) {
      return std::string(clean(f[static_cast<size_t>(layout.map.time)])) + " " +
             std::string(clean(f[static_cast<size_t>(layout.map.time2)]));
    }
    return std::string(clean(f[static_cast<size_t>(layout.map.time)]));
  };
  return finish_file(collector, pairs, time_text, raw_text, options);
}

}  // namespace bqx::reader
