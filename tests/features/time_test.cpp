// time family (FEATURES.md 1.9): golden calendar values, session edges, a brute-force
// reference for the week open/close distances, and gap_minutes.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "engine/pair_engine.h"
#include "test_frames.h"

namespace bqx {
namespace {

using features::is_null;

struct TimeRows {
  std::vector<double> values;
  std::map<std::string, size_t> col;
  size_t width = 0;
  double at(size_t row, const std::string& name) const { return values[row * width + col.at(name)]; }
};

TimeRows run_time(const BarFrame& frame) {
  std::vector<features::ColumnInfo> cols;
  auto out = compute_pair_features(frame, frame.close[0], {"time"}, &cols);
  EXPECT_TRUE(out.ok());
  TimeRows r;
  r.values = *out;
  r.width = cols.size();
  for (size_t i = 0; i < cols.size(); ++i) r.col[cols[i].name] = i;
  return r;
}

BarFrame frame_at(const std::vector<EpochMinute>& stamps) {
  BarFrame f;
  f.pair = Pair{Currency::EUR, Currency::USD};
  for (EpochMinute t : stamps) f.push_back(Bar{t, 1.1, 1.1, 1.1, 1.1, 1, 1.1, 1.1001});
  return f;
}

TEST(TimeFamily, ColumnsInSpecOrder) {
  auto engine = PairEngine::create(Pair{Currency::EUR, Currency::USD}, 1.0, {"time"});
  ASSERT_TRUE(engine.ok());
  const std::vector<std::string> want = {
      "time_minute_sin",     "time_minute_cos",         "time_dow_sin",         "time_dow_cos",
      "time_session_tokyo",  "time_session_london",     "time_session_newyork", "time_session_overlap_ldn_ny",
      "time_minutes_since_week_open", "time_minutes_to_week_close", "time_gap_minutes"};
  ASSERT_EQ(engine->width(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(engine->columns()[i].name, want[i]);
    EXPECT_EQ(engine->columns()[i].family, "time");
    EXPECT_EQ(engine->columns()[i].lookback, want[i] == "time_gap_minutes" ? 1 : 0);
  }
}

TEST(TimeFamily, GoldenValues) {
  const EpochMinute mon = make_epoch_minute(2024, 7, 1, 0, 0);  // Monday 2024-07-01 00:00 UTC
  const std::vector<EpochMinute> stamps = {
      mon,                                           // 0: Monday 00:00
      make_epoch_minute(2024, 7, 1, 6, 0),           // 1: Monday 06:00
      make_epoch_minute(2024, 7, 4, 12, 0),          // 2: Thursday 12:00
      make_epoch_minute(2024, 7, 5, 21, 59),         // 3: Friday 21:59
      make_epoch_minute(2024, 7, 5, 22, 0),          // 4: Friday 22:00
      make_epoch_minute(2024, 7, 6, 12, 0),          // 5: Saturday 12:00 (weekend closure)
      make_epoch_minute(2024, 7, 7, 21, 59),         // 6: Sunday 21:59
      make_epoch_minute(2024, 7, 7, 22, 0),          // 7: Sunday 22:00
  };
  const auto r = run_time(frame_at(stamps));
  const double pi = 3.141592653589793;
  // Monday 00:00: minute angle 0, week angle 2*pi*(0 + 0)/7 = 0.
  EXPECT_EQ(r.at(0, "time_minute_sin"), 0.0);
  EXPECT_EQ(r.at(0, "time_minute_cos"), 1.0);
  EXPECT_EQ(r.at(0, "time_dow_sin"), 0.0);
  EXPECT_EQ(r.at(0, "time_dow_cos"), 1.0);
  // Since Sunday 2024-06-30 22:00: 2 h = 120; to Friday 2024-07-05 22:00: 4 d 22 h = 7080.
  EXPECT_EQ(r.at(0, "time_minutes_since_week_open"), 120.0);
  EXPECT_EQ(r.at(0, "time_minutes_to_week_close"), 7080.0);
  EXPECT_EQ(r.at(0, "time_session_tokyo"), 1.0);
  EXPECT_EQ(r.at(0, "time_session_london"), 0.0);
  EXPECT_TRUE(is_null(r.at(0, "time_gap_minutes")));
  // Monday 06:00: minute angle 2*pi*360/1440 = pi/2 -> sin 1, cos 0.
  EXPECT_NEAR(r.at(1, "time_minute_sin"), 1.0, 1e-15);
  EXPECT_NEAR(r.at(1, "time_minute_cos"), 0.0, 1e-15);
  EXPECT_EQ(r.at(1, "time_gap_minutes"), 360.0);
  // Thursday 12:00: weekday 3 + 0.5 day = 3.5 -> week angle 2*pi*3.5/7 = pi.
  EXPECT_NEAR(r.at(2, "time_dow_sin"), 0.0, 1e-15);
  EXPECT_NEAR(r.at(2, "time_dow_cos"), -1.0, 1e-15);
  EXPECT_NEAR(r.at(2, "time_minute_cos"), -1.0, 1e-15);  // 12:00 -> pi
  EXPECT_EQ(r.at(2, "time_session_newyork"), 1.0);
  EXPECT_EQ(r.at(2, "time_session_overlap_ldn_ny"), 1.0);
  // Thursday 12:00: since open 3 d 14 h = 5160; to close 1 d 10 h = 2040.
  EXPECT_EQ(r.at(2, "time_minutes_since_week_open"), 5160.0);
  EXPECT_EQ(r.at(2, "time_minutes_to_week_close"), 2040.0);
  // Friday 21:59: 1 minute to the close, 7199 since the open.
  EXPECT_EQ(r.at(3, "time_minutes_to_week_close"), 1.0);
  EXPECT_EQ(r.at(3, "time_minutes_since_week_open"), 7199.0);
  // Friday 22:00: the close itself is "at or after t" -> 0.
  EXPECT_EQ(r.at(4, "time_minutes_to_week_close"), 0.0);
  EXPECT_EQ(r.at(4, "time_minutes_since_week_open"), 7200.0);
  // Saturday 12:00 (weekend bar, not special-cased): since Sunday 06-30 22:00 = 5 d 14 h = 8040;
  // to Friday 07-12 22:00 = 6 d 10 h = 9240 (sum = 1 week + 5 days).
  EXPECT_EQ(r.at(5, "time_minutes_since_week_open"), 8040.0);
  EXPECT_EQ(r.at(5, "time_minutes_to_week_close"), 9240.0);
  // Sunday 21:59: one minute before the open -> 10079 since the previous one; 5 d + 1 min to close.
  EXPECT_EQ(r.at(6, "time_minutes_since_week_open"), 10079.0);
  EXPECT_EQ(r.at(6, "time_minutes_to_week_close"), 7201.0);
  // Sunday 22:00: the open itself -> 0; to close exactly 5 days.
  EXPECT_EQ(r.at(7, "time_minutes_since_week_open"), 0.0);
  EXPECT_EQ(r.at(7, "time_minutes_to_week_close"), 7200.0);
  EXPECT_EQ(r.at(7, "time_gap_minutes"), 1.0);
  // Sunday 22:00 = weekday 6 + 22/24 -> week angle 2*pi*(6 + 0.916666...)/7.
  EXPECT_NEAR(r.at(7, "time_dow_sin"), std::sin(2 * pi * (6 + 1320.0 / 1440.0) / 7), 1e-15);
}

TEST(TimeFamily, SessionEdgesAreHalfOpen) {
  const EpochMinute day = make_epoch_minute(2024, 7, 2, 0, 0);
  struct Case {
    int hh, mm;
    double tokyo, london, ny, overlap;
  };
  const std::vector<Case> cases = {
      {0, 0, 1, 0, 0, 0},   {6, 59, 1, 0, 0, 0},  {7, 0, 1, 1, 0, 0},   {8, 59, 1, 1, 0, 0},
      {9, 0, 0, 1, 0, 0},   {11, 59, 0, 1, 0, 0}, {12, 0, 0, 1, 1, 1},  {15, 59, 0, 1, 1, 1},
      {16, 0, 0, 0, 1, 0},  {20, 59, 0, 0, 1, 0}, {21, 0, 0, 0, 0, 0},  {23, 59, 0, 0, 0, 0},
  };
  std::vector<EpochMinute> stamps;
  for (const auto& c : cases) stamps.push_back(day + c.hh * 60 + c.mm);
  const auto r = run_time(frame_at(stamps));
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(std::to_string(cases[i].hh) + ":" + std::to_string(cases[i].mm));
    EXPECT_EQ(r.at(i, "time_session_tokyo"), cases[i].tokyo);
    EXPECT_EQ(r.at(i, "time_session_london"), cases[i].london);
    EXPECT_EQ(r.at(i, "time_session_newyork"), cases[i].ny);
    EXPECT_EQ(r.at(i, "time_session_overlap_ldn_ny"), cases[i].overlap);
  }
}

// Naive weekday from the civil date: 1970-01-05 was a Monday.
int naive_weekday(EpochMinute t) {
  const CivilTime c = to_civil(t);
  const int64_t days = days_from_civil(c.date.year, c.date.month, c.date.day);
  return static_cast<int>(((days - 4) % 7 + 7) % 7);
}
bool is_sunday_2200(EpochMinute t) {
  const CivilTime c = to_civil(t);
  return c.hour == 22 && c.minute == 0 && naive_weekday(t) == 6;
}
bool is_friday_2200(EpochMinute t) {
  const CivilTime c = to_civil(t);
  return c.hour == 22 && c.minute == 0 && naive_weekday(t) == 4;
}

void check_against_reference(const BarFrame& frame, size_t stride) {
  const auto r = run_time(frame);
  const double two_pi = 6.283185307179586;
  for (size_t i = 0; i < frame.size(); i += stride) {
    const EpochMinute t = frame.ts[i];
    const CivilTime c = to_civil(t);
    const int mod = c.hour * 60 + c.minute;
    const int wd = naive_weekday(t);
    SCOPED_TRACE(format_iso(t));
    EXPECT_NEAR(r.at(i, "time_minute_sin"), std::sin(two_pi * mod / 1440.0), 1e-12);
    EXPECT_NEAR(r.at(i, "time_minute_cos"), std::cos(two_pi * mod / 1440.0), 1e-12);
    EXPECT_NEAR(r.at(i, "time_dow_sin"), std::sin(two_pi * (wd + mod / 1440.0) / 7.0), 1e-12);
    EXPECT_NEAR(r.at(i, "time_dow_cos"), std::cos(two_pi * (wd + mod / 1440.0) / 7.0), 1e-12);
    EXPECT_EQ(r.at(i, "time_session_tokyo"), (c.hour < 9) ? 1.0 : 0.0);
    EXPECT_EQ(r.at(i, "time_session_london"), (c.hour >= 7 && c.hour < 16) ? 1.0 : 0.0);
    EXPECT_EQ(r.at(i, "time_session_newyork"), (c.hour >= 12 && c.hour < 21) ? 1.0 : 0.0);
    EXPECT_EQ(r.at(i, "time_session_overlap_ldn_ny"), (c.hour >= 12 && c.hour < 16) ? 1.0 : 0.0);
    // Brute force: walk minute by minute to the previous Sunday 22:00 / next Friday 22:00.
    int64_t back = 0;
    while (!is_sunday_2200(t - back)) ++back;
    int64_t fwd = 0;
    while (!is_friday_2200(t + fwd)) ++fwd;
    EXPECT_EQ(r.at(i, "time_minutes_since_week_open"), static_cast<double>(back));
    EXPECT_EQ(r.at(i, "time_minutes_to_week_close"), static_cast<double>(fwd));
    if (i == 0) {
      EXPECT_TRUE(is_null(r.at(i, "time_gap_minutes")));
    } else {
      EXPECT_EQ(r.at(i, "time_gap_minutes"), static_cast<double>(frame.ts[i] - frame.ts[i - 1]));
    }
  }
  // Every value except the first gap is defined.
  for (size_t i = 0; i < frame.size(); ++i) {
    for (size_t c = 0; c < r.width; ++c) {
      if (i == 0 && c == r.col.at("time_gap_minutes")) continue;
      ASSERT_FALSE(is_null(r.values[i * r.width + c])) << "row " << i << " col " << c;
    }
  }
}

TEST(TimeFamily, MatchesNaiveReferenceOnRandomWalk) {
  check_against_reference(testing_frames::random_walk_frame(4000, 3), 1);
}

TEST(TimeFamily, MatchesNaiveReferenceOverManyWeeks) {
  // Sparse bars every 37 minutes over ~1 year, crossing weekends and month/year ends.
  BarFrame f;
  f.pair = Pair{Currency::EUR, Currency::USD};
  for (EpochMinute t = make_epoch_minute(2023, 12, 20, 3, 17); f.size() < 14000; t += 37) {
    f.push_back(Bar{t, 1.1, 1.1, 1.1, 1.1, 1, 1.1, 1.1001});
  }
  check_against_reference(f, 7);
}

TEST(TimeFamily, TradingWeekIdentity) {
  // During the trading week since_open + to_close = 5 days.
  const auto f = testing_frames::random_walk_frame(4000, 5);
  const auto r = run_time(f);
  for (size_t i = 0; i < f.size(); ++i) {
    const double s = r.at(i, "time_minutes_since_week_open"), c = r.at(i, "time_minutes_to_week_close");
    if (s <= 7200) {
      EXPECT_EQ(s + c, 7200.0) << i;
    }
    EXPECT_GE(r.at(i, "time_dow_sin"), -1.0);
    EXPECT_LE(r.at(i, "time_dow_sin"), 1.0);
  }
}

}  // namespace
}  // namespace bqx
