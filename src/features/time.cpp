// time: calendar features in UTC, no daylight saving (FEATURES.md 1.9).
//
// All columns are pure functions of the bar's own ts (lookback 0) except
// time_gap_minutes, which needs the previous bar of the pair (lookback 1).
//
// Conventions (recorded in the catalogue):
// - weekday: Monday = 0 .. Sunday = 6 (core/time.h), minute_of_day in 0..1439.
// - session windows are half-open [start, end) in UTC minutes of the day:
//   Tokyo [00:00, 09:00), London [07:00, 16:00), New York [12:00, 21:00),
//   London/New York overlap [12:00, 16:00).
// - week open  = the last Sunday 22:00 UTC at or before t
//   (so Sunday 22:00 itself gives 0, Sunday 21:59 gives 10079);
//   week close = the next Friday 22:00 UTC at or after t
//   (so Friday 22:00 itself gives 0 and Friday 22:01 gives 10079, the following Friday).
//   During the trading week since_open + to_close = 7200 (5 days). Bars inside the
//   weekend closure (Friday 22:00 - Sunday 22:00, normally absent) are not special-cased:
//   they count from the previous Sunday open and toward the next Friday close, so both
//   values exceed 7200 there. No holiday calendar is applied.
#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "features/families.h"

namespace bqx::features {
namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr int64_t kSundayOpen = 6 * kMinutesPerDay + 22 * 60;   // minutes after Monday 00:00
constexpr int64_t kFridayClose = 4 * kMinutesPerDay + 22 * 60;  // minutes after Monday 00:00

struct Session {
  const char* name;
  int start;  // minute of day, inclusive
  int end;    // minute of day, exclusive
};
constexpr std::array<Session, 4> kSessions = {{
    {"tokyo", 0, 9 * 60},
    {"london", 7 * 60, 16 * 60},
    {"newyork", 12 * 60, 21 * 60},
    {"overlap_ldn_ny", 12 * 60, 16 * 60},
}};

constexpr int kColumns = 11;
constexpr int64_t kEpochAfterMonday = 3 * kMinutesPerDay;  // epoch minute 0 = Thursday 00:00

// sin/cos of the day and week angles for every minute of the week, computed once per process
// with exactly the expressions of the former per-bar code (so the same bits): a bar then
// reads one entry instead of calling sincos twice, and in streaming every pair of a minute
// reads the same entry.
struct AngleTable {
  std::vector<double> day_sin, day_cos;    // by minute of day
  std::vector<double> week_sin, week_cos;  // by minute of week (weekday * 1440 + minute of day)
  AngleTable()
      : day_sin(kMinutesPerDay), day_cos(kMinutesPerDay), week_sin(kMinutesPerWeek), week_cos(kMinutesPerWeek) {
    for (int wd = 0; wd < 7; ++wd) {
      for (int mod = 0; mod < kMinutesPerDay; ++mod) {
        const double day_angle = kTwoPi * static_cast<double>(mod) / 1440.0;
        const double week_angle = kTwoPi * (static_cast<double>(wd) + static_cast<double>(mod) / 1440.0) / 7.0;
        const size_t w = static_cast<size_t>(wd) * kMinutesPerDay + static_cast<size_t>(mod);
        if (wd == 0) {
          day_sin[static_cast<size_t>(mod)] = std::sin(day_angle);
          day_cos[static_cast<size_t>(mod)] = std::cos(day_angle);
        }
        week_sin[w] = std::sin(week_angle);
        week_cos[w] = std::cos(week_angle);
      }
    }
  }
};
const AngleTable& angle_table() {
  static const AngleTable table;
  return table;
}

class TimeKernel final : public FamilyKernel {
 public:
  explicit TimeKernel(const KernelContext& ctx) : offset_(ctx.offset), angles_(angle_table()) {}

  void update(const BarInput& bar, double* row) override {
    double* o = row + offset_;
    // Minutes since Monday 00:00 in one floor modulo (1970-01-01 00:00, epoch minute 0, was a
    // Thursday: 3 days after a Monday), then weekday and minute of day from it: the same
    // integers as weekday() and minute_of_day() without two out-of-line calls.
    int64_t in_week = (bar.ts + kEpochAfterMonday) % kMinutesPerWeek;
    if (in_week < 0) in_week += kMinutesPerWeek;
    const int mod = static_cast<int>(in_week % kMinutesPerDay);
    const int wd = static_cast<int>(in_week / kMinutesPerDay);
    const size_t day_minute = static_cast<size_t>(mod);
    const size_t week_minute = static_cast<size_t>(wd) * kMinutesPerDay + day_minute;
    o[0] = angles_.day_sin[day_minute];
    o[1] = angles_.day_cos[day_minute];
    o[2] = angles_.week_sin[week_minute];
    o[3] = angles_.week_cos[week_minute];
    for (size_t s = 0; s < kSessions.size(); ++s) {
      o[4 + s] = (mod >= kSessions[s].start && mod < kSessions[s].end) ? 1.0 : 0.0;
    }
    o[8] = static_cast<double>((in_week - kSundayOpen + 2 * kMinutesPerWeek) % kMinutesPerWeek);
    o[9] = static_cast<double>((kFridayClose - in_week + kMinutesPerWeek) % kMinutesPerWeek);
    o[10] = has_prev_ ? static_cast<double>(bar.ts - prev_ts_) : kNull;
    has_prev_ = 1;
    prev_ts_ = bar.ts;
  }

  void save(StateWriter& out) const override {
    out.put(has_prev_);
    out.put(prev_ts_);
  }
  void load(StateReader& in) override {
    in.get(has_prev_);
    in.get(prev_ts_);
    if (has_prev_ > 1) in.fail();
  }

 private:
  int offset_;
  const AngleTable& angles_;
  uint64_t has_prev_ = 0;
  int64_t prev_ts_ = 0;
};

}  // namespace

FamilyDef make_time_family() {
  FamilyDef def;
  def.name = "time";
  const std::string src = "FEATURES.md 1.9";
  auto add = [&](const std::string& name, const std::string& params, const std::string& formula,
                 const std::string& unit, int lookback = 0, const std::string& null_when = "") {
    def.columns.push_back({"time_" + name, "time", params, formula, unit, lookback, src, null_when, true});
  };
  add("minute_sin", "UTC", "sin(2*pi*minute_of_day/1440), minute_of_day in 0..1439 (UTC, no DST)", "-1..1");
  add("minute_cos", "UTC", "cos(2*pi*minute_of_day/1440), minute_of_day in 0..1439 (UTC, no DST)", "-1..1");
  add("dow_sin", "UTC; Monday=0",
      "sin(2*pi*(weekday + minute_of_day/1440)/7), weekday Monday=0..Sunday=6 (UTC)", "-1..1");
  add("dow_cos", "UTC; Monday=0",
      "cos(2*pi*(weekday + minute_of_day/1440)/7), weekday Monday=0..Sunday=6 (UTC)", "-1..1");
  for (const auto& s : kSessions) {
    char window[64];
    std::snprintf(window, sizeof window, "[%02d:%02d, %02d:%02d) UTC", s.start / 60, s.start % 60, s.end / 60,
                  s.end % 60);
    add(std::string("session_") + s.name, window,
        std::string("1 if the bar's UTC time of day is in ") + window + " (half-open), else 0", "0/1 flag");
  }
  add("minutes_since_week_open", "open=Sunday 22:00 UTC",
      "ts - (last Sunday 22:00 UTC at or before ts); 0 at Sunday 22:00; weekend-closure bars are not "
      "special-cased (they count from the previous Sunday open, > 7200)",
      "minutes");
  add("minutes_to_week_close", "close=Friday 22:00 UTC",
      "(next Friday 22:00 UTC at or after ts) - ts; 0 at Friday 22:00, 10079 at Friday 22:01 (next week's close); "
      "weekend-closure bars count toward the next Friday close",
      "minutes");
  add("gap_minutes", "", "ts_t - ts_{t-1} (this pair's previous bar; 1 when no minute is missing)", "minutes", 1,
      "first bar of the pair");
  static_assert(4 + kSessions.size() + 3 == kColumns);
  def.make = [](const KernelContext& ctx) { return std::make_unique<TimeKernel>(ctx); };
  return def;
}

}  // namespace bqx::features
