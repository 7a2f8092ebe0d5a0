// Time vocabulary: bars are stamped with their OPEN time as int64 epoch minutes UTC
// (FEATURES.md section 0, "Bars"). Calendar math uses Howard Hinnant's
// days_from_civil / civil_from_days algorithms (http://howardhinnant.github.io/date_algorithms.html).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace bqx {

using EpochMinute = int64_t;   // minutes since 1970-01-01T00:00Z
using MonthId = int32_t;       // year * 12 + (month - 1)

inline constexpr int64_t kMinutesPerDay = 1440;
inline constexpr int64_t kMinutesPerWeek = 7 * 1440;

struct CivilDate {
  int year;
  int month;  // 1..12
  int day;    // 1..31
};

struct CivilTime {
  CivilDate date;
  int hour;
  int minute;
};

int64_t days_from_civil(int year, int month, int day);
CivilDate civil_from_days(int64_t days);
EpochMinute make_epoch_minute(int year, int month, int day, int hour, int minute);
CivilTime to_civil(EpochMinute t);

// 0 = Monday .. 6 = Sunday (FEATURES.md time family convention).
int weekday(EpochMinute t);
int minute_of_day(EpochMinute t);

MonthId month_of(EpochMinute t);
MonthId make_month(int year, int month);
EpochMinute month_start(MonthId m);                   // first minute of the month (UTC)
std::string format_month(MonthId m);                  // "2024-07"
Result<MonthId> parse_month(std::string_view text);   // "2024-07"

std::string format_iso(EpochMinute t);                // "2023-06-01T05:00:00Z"
std::string format_compact(EpochMinute t);            // "2023-06-01 05:00"

// Parses "+HH:MM", "-05:00", "-0500", "UTC", "Z" into minutes east of UTC.
Result<int> parse_tz_offset(std::string_view text);

}  // namespace bqx
