#include "core/time.h"

#include <cstdio>

namespace bqx {

int64_t days_from_civil(int year, int month, int day) {
  // Hinnant, days_from_civil.
  const int64_t y = static_cast<int64_t>(year) - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t mp = (month + 9) % 12;
  const int64_t doy = (153 * mp + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilDate civil_from_days(int64_t z) {
  // Hinnant, civil_from_days.
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<int>(y + (m <= 2 ? 1 : 0)), static_cast<int>(m), static_cast<int>(d)};
}

namespace {
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }
}  // namespace

EpochMinute make_epoch_minute(int year, int month, int day, int hour, int minute) {
  return days_from_civil(year, month, day) * kMinutesPerDay + hour * 60 + minute;
}

CivilTime to_civil(EpochMinute t) {
  const int64_t days = floor_div(t, kMinutesPerDay);
  const int mod = static_cast<int>(t - days * kMinutesPerDay);
  return CivilTime{civil_from_days(days), mod / 60, mod % 60};
}

int weekday(EpochMinute t) {
  // 1970-01-01 was a Thursday (Monday = 0 -> Thursday = 3).
  const int64_t days = floor_div(t, kMinutesPerDay);
  return static_cast<int>(((days % 7) + 7 + 3) % 7);
}

int minute_of_day(EpochMinute t) {
  return static_cast<int>(t - floor_div(t, kMinutesPerDay) * kMinutesPerDay);
}

MonthId make_month(int year, int month) { return year * 12 + (month - 1); }

MonthId month_of(EpochMinute t) {
  const CivilDate d = to_civil(t).date;
  return make_month(d.year, d.month);
}

EpochMinute month_start(MonthId m) {
  const int year = static_cast<int>(floor_div(m, 12));
  const int month = static_cast<int>(m - year * 12) + 1;
  return make_epoch_minute(year, month, 1, 0, 0);
}

std::string format_month(MonthId m) {
  const int year = static_cast<int>(floor_div(m, 12));
  const int month = static_cast<int>(m - year * 12) + 1;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d", year, month);
  return buf;
}

Result<MonthId> parse_month(std::string_view text) {
  int year = 0, month = 0;
  if (text.size() == 7 && text[4] == '-') {
    for (int i : {0, 1, 2, 3}) {
      if (text[i] < '0' || text[i] > '9') return make_error("invalid month, expected YYYY-MM (" + std::string(text) + ")");
      year = year * 10 + (text[i] - '0');
    }
    for (int i : {5, 6}) {
      if (text[i] < '0' || text[i] > '9') return make_error("invalid month, expected YYYY-MM (" + std::string(text) + ")");
      month = month * 10 + (text[i] - '0');
    }
    if (month >= 1 && month <= 12) return make_month(year, month);
  }
  return make_error("invalid month, expected YYYY-MM (" + std::string(text) + ")");
}

std::string format_iso(EpochMinute t) {
  const CivilTime c = to_civil(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:00Z", c.date.year, c.date.month, c.date.day, c.hour,
                c.minute);
  return buf;
}

std::string format_compact(EpochMinute t) {
  const CivilTime c = to_civil(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d", c.date.year, c.date.month, c.date.day, c.hour,
                c.minute);
  return buf;
}

Result<int> parse_tz_offset(std::string_view text) {
  const std::string original(text);
  if (text == "Z" || text == "z" || text == "UTC" || text == "utc") return 0;
  if (text.size() >= 3 && (text.substr(0, 3) == "UTC" || text.substr(0, 3) == "utc")) text.remove_prefix(3);
  if (text.empty() || (text[0] != '+' && text[0] != '-')) {
    return make_error("invalid timezone offset, expected +HH:MM or -HH:MM (" + original + ")");
  }
  const int sign = text[0] == '-' ? -1 : 1;
  text.remove_prefix(1);
  std::string digits;
  for (char ch : text) {
    if (ch == ':') continue;
    if (ch < '0' || ch > '9') return make_error("invalid timezone offset, expected +HH:MM or -HH:MM (" + original + ")");
    digits.push_back(ch);
  }
  int hours = 0, minutes = 0;
  if (digits.size() == 2 || digits.size() == 1) {
    hours = std::stoi(digits);
  } else if (digits.size() == 4) {
    hours = std::stoi(digits.substr(0, 2));
    minutes = std::stoi(digits.substr(2, 2));
  } else {
    return make_error("invalid timezone offset, expected +HH:MM or -HH:MM (" + original + ")");
  }
  if (hours > 14 || minutes > 59) return make_error("timezone offset out of range (" + original + ")");
  return sign * (hours * 60 + minutes);
}

}  // namespace bqx
