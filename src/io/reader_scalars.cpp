// Scalar parsing for the bar readers: times, numbers, small string helpers.
//
// Accepted bar time formats (generic CSV and VARCHAR Parquet columns; HistData uses the
// third one only):
//   1. ISO 8601: YYYY-MM-DD('T'|'t'|' ')HH:MM[:SS[.fff...]][zone]
//        e.g. 2023-06-01T05:00:00Z, 2023-06-01 05:00:00+02:00, 2023-06-01T05:00
//   2. MetaTrader: YYYY.MM.DD HH:MM[:SS[.fff]]  (also YYYY/MM/DD, same rules as ISO)
//   3. YYYYMMDD HHMMSS (HistData)
//   4. Epoch seconds (UTC): an unsigned integer of 9 to 11 digits.
// zone = optional spaces, then Z | UTC | GMT | (+|-)HH[[:]MM].
// Seconds and any fractional seconds must be zero (M1 bars are stamped on the minute);
// otherwise the time is "not on a minute boundary". A time without zone is local time at
// the reader's offset (utc = local - offset); the caller decides the default offset
// (HistData: -05:00, generic CSV/Parquet: UTC, both overridden by ReadOptions).
#include <charconv>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <string>

#include "io/reader_common.h"

namespace bqx::reader {

namespace {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// n digits at s[pos..pos+n) -> value; false if any is not a digit or out of bounds.
inline bool digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (!is_digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

inline bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

inline int days_in_month(int y, int m) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Validates a civil local time and converts it to UTC epoch minutes.
inline TimeStatus finish_civil(int y, int mo, int d, int h, int mi, int sec, bool fraction_nonzero,
                               int offset_minutes, EpochMinute* out) {
  if (y < 1900 || y > 2999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
      sec > 59) {
    return TimeStatus::Unparseable;
  }
  if (sec != 0 || fraction_nonzero) return TimeStatus::NotMinute;
  // Cache the day number: consecutive rows almost always share a date.
  thread_local int cached_key = -1;
  thread_local int64_t cached_days = 0;
  const int key = (y * 100 + mo) * 100 + d;
  if (key != cached_key) {
    cached_days = days_from_civil(y, mo, d);
    cached_key = key;
  }
  *out = cached_days * kMinutesPerDay + h * 60 + mi - offset_minutes;
  return TimeStatus::Ok;
}

// Parses an optional zone suffix; true on success (an empty suffix leaves *offset alone).
bool parse_zone(std::string_view z, int* offset) {
  while (!z.empty() && z.front() == ' ') z.remove_prefix(1);
  if (z.empty()) return true;
  if (z == "Z" || z == "z" || z == "UTC" || z == "utc" || z == "GMT" || z == "gmt") {
    *offset = 0;
    return true;
  }
  if (z[0] != '+' && z[0] != '-') return false;
  const int sign = z[0] == '-' ? -1 : 1;
  z.remove_prefix(1);
  int hh = 0, mm = 0;
  if (z.size() == 2) {
    if (!digits(z, 0, 2, &hh)) return false;
  } else if (z.size() == 4) {
    if (!digits(z, 0, 2, &hh) || !digits(z, 2, 2, &mm)) return false;
  } else if (z.size() == 5 && z[2] == ':') {
    if (!digits(z, 0, 2, &hh) || !digits(z, 3, 2, &mm)) return false;
  } else {
    return false;
  }
  if (hh > 14 || mm > 59) return false;
  *offset = sign * (hh * 60 + mm);
  return true;
}

}  // namespace

TimeStatus epoch_seconds_to_minute(int64_t seconds, EpochMinute* out) {
  if (seconds % 60 != 0) return TimeStatus::NotMinute;
  *out = seconds / 60;
  return TimeStatus::Ok;
}

TimeStatus parse_histdata_time(std::string_view s, int offset_minutes, EpochMinute* out) {
  int y, mo, d, h, mi, sec;
  if (s.size() != 15 || s[8] != ' ' || !digits(s, 0, 4, &y) || !digits(s, 4, 2, &mo) || !digits(s, 6, 2, &d) ||
      !digits(s, 9, 2, &h) || !digits(s, 11, 2, &mi) || !digits(s, 13, 2, &sec)) {
    return TimeStatus::Unparseable;
  }
  return finish_civil(y, mo, d, h, mi, sec, false, offset_minutes, out);
}

TimeStatus parse_bar_time(std::string_view s, int offset_minutes, EpochMinute* out) {
  if (s.empty()) return TimeStatus::Unparseable;
  // 4. Epoch seconds.
  if (is_digit(s[0]) && s.size() >= 9 && s.size() <= 11) {
    bool all = true;
    for (char c : s) all = all && is_digit(c);
    if (all) {
      int64_t secs = 0;
      std::from_chars(s.data(), s.data() + s.size(), secs);
      return epoch_seconds_to_minute(secs, out);
    }
  }
  // 3. HistData.
  if (s.size() == 15 && s[8] == ' ') return parse_histdata_time(s, offset_minutes, out);
  // 1./2. ISO 8601 and MetaTrader.
  int y, mo, d, h, mi, sec = 0;
  if (s.size() < 16 || !digits(s, 0, 4, &y)) return TimeStatus::Unparseable;
  const char sep = s[4];
  if ((sep != '-' && sep != '.' && sep != '/') || s[7] != sep || !digits(s, 5, 2, &mo) || !digits(s, 8, 2, &d)) {
    return TimeStatus::Unparseable;
  }
  const char t = s[10];
  if (t != 'T' && t != 't' && t != ' ') return TimeStatus::Unparseable;
  if (!digits(s, 11, 2, &h) || s[13] != ':' || !digits(s, 14, 2, &mi)) return TimeStatus::Unparseable;
  size_t pos = 16;
  bool fraction_nonzero = false;
  if (pos < s.size() && s[pos] == ':') {
    if (!digits(s, pos + 1, 2, &sec)) return TimeStatus::Unparseable;
    pos += 3;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      const size_t start = pos;
      while (pos < s.size() && is_digit(s[pos])) {
        fraction_nonzero = fraction_nonzero || s[pos] != '0';
        ++pos;
      }
      if (pos == start) return TimeStatus::Unparseable;
    }
  }
  int offset = offset_minutes;
  if (!parse_zone(s.substr(pos), &offset)) return TimeStatus::Unparseable;
  return finish_civil(y, mo, d, h, mi, sec, fraction_nonzero, offset, out);
}

namespace {
// Exact powers of ten (all representable in a double).
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// Clinger's fast path for plain decimals ("-123.4567"): with at most 15 significant digits
// the mantissa m is exact, 10^k (k <= 22) is exact, and IEEE division is correctly
// rounded, so m / 10^k is the correctly rounded value — bit-identical to std::from_chars.
// Returns false (caller falls back to from_chars) for anything else.
inline bool fast_decimal(std::string_view s, double* out) {
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && s[i] == '-') {
    negative = true;
    ++i;
  }
  uint64_t mantissa = 0;
  int digits_seen = 0;
  int fraction_digits = 0;
  bool any_digit = false;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    mantissa = mantissa * 10 + static_cast<uint64_t>(s[i] - '0');
    if (mantissa != 0) ++digits_seen;
    any_digit = true;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      mantissa = mantissa * 10 + static_cast<uint64_t>(s[i] - '0');
      if (mantissa != 0) ++digits_seen;
      ++fraction_digits;
      any_digit = true;
    }
  }
  if (i != s.size() || !any_digit || digits_seen > 15 || fraction_digits > 22) return false;
  const double v = static_cast<double>(mantissa) / kPow10[fraction_digits];
  *out = negative ? -v : v;
  return true;
}
}  // namespace

NumStatus parse_number(std::string_view s, double* out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return NumStatus::NonNumeric;
  if (fast_decimal(s, out)) return NumStatus::Ok;
  double v = 0.0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ptr != s.data() + s.size()) return NumStatus::NonNumeric;
  if (ec == std::errc::result_out_of_range) return NumStatus::NonFinite;
  if (ec != std::errc()) return NumStatus::NonNumeric;
  if (!std::isfinite(v)) return NumStatus::NonFinite;
  *out = v;
  return NumStatus::Ok;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string format_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "?";
  return std::string(buf, ptr);
}

const char* field_name(int field) {
  static constexpr const char* kNames[kValueFieldCount] = {"open", "high", "low", "close", "volume", "bid", "ask"};
  return field >= 0 && field < kValueFieldCount ? kNames[field] : "?";
}

}  // namespace bqx::reader
