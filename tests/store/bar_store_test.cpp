// Integration tests of the bars part of the DuckDB store against a real DuckDB.
#include "store/bar_store.h"

#include <gtest/gtest.h>

#include <cmath>

#include "cli_runner.h"
#include "test_frames.h"

namespace bqx {
namespace {

BarFile make_file(const BarFrame& frame, const std::string& name) {
  BarFile f;
  f.path = name;
  f.bars = frame;
  f.report.rows_read = frame.size();
  return f;
}

TEST(BarStore, RoundTripsBarsWithNulls) {
  auto con = store::Connection::open("");
  ASSERT_TRUE(con.ok());
  ASSERT_TRUE(store::ensure_schema(*con).ok());
  BarFrame frame = testing_frames::random_walk_frame(5000, 3);  // > 2 DuckDB chunks
  for (size_t i = 0; i < frame.size(); i += 7) frame.volume[i] = std::nan("");
  for (size_t i = 0; i < frame.size(); i += 11) frame.bid[i] = frame.ask[i] = std::nan("");
  auto r = store::ingest_bars(*con, make_file(frame, "a.csv"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->inserted, frame.size());
  auto back = store::load_bars(*con, frame.pair);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), frame.size());
  for (size_t i = 0; i < frame.size(); ++i) {
    ASSERT_EQ(back->ts[i], frame.ts[i]);
    ASSERT_EQ(back->close[i], frame.close[i]);
    ASSERT_EQ(std::isnan(back->volume[i]), std::isnan(frame.volume[i])) << i;
    if (!std::isnan(frame.volume[i])) {
      ASSERT_EQ(back->volume[i], frame.volume[i]);
    }
    ASSERT_EQ(std::isnan(back->ask[i]), std::isnan(frame.ask[i])) << i;
  }
  auto pairs = store::list_pairs(*con);
  ASSERT_EQ(pairs->size(), 1u);
  EXPECT_EQ((*pairs)[0].baseline, frame.close[0]);
  EXPECT_EQ((*pairs)[0].baseline_ts, frame.ts[0]);
}

TEST(BarStore, ChangedBarsReplaceAndBaselineStaysFixed) {
  auto con = store::Connection::open("");
  ASSERT_TRUE(store::ensure_schema(*con).ok());
  BarFrame frame = testing_frames::random_walk_frame(1000, 4);
  ASSERT_TRUE(store::ingest_bars(*con, make_file(frame, "a.csv")).ok());
  BarFrame changed = frame;
  changed.close[10] = changed.high[10];
  // Earlier bars arriving later must not move the baseline B_p.
  BarFrame earlier;
  earlier.pair = frame.pair;
  earlier.push_back(Bar{frame.ts[0] - 100, 1.5, 1.5, 1.5, 1.5, 1, 1.5, 1.5});
  auto r = store::ingest_bars(*con, make_file(changed, "b.csv"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replaced, 1u);
  EXPECT_EQ(r->unchanged, 999u);
  EXPECT_EQ(r->inserted, 0u);
  ASSERT_TRUE(store::ingest_bars(*con, make_file(earlier, "c.csv")).ok());
  EXPECT_EQ(*con->query_int("SELECT count(*) FROM bars"), 1001);
  EXPECT_EQ((*store::list_pairs(*con))[0].baseline, frame.close[0]);
  auto back = store::load_bars(*con, frame.pair, frame.ts[10], frame.ts[10] + 1);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ(back->close[0], changed.close[10]);
}

TEST(BarStore, MonthCountsAndGaps) {
  auto con = store::Connection::open("");
  ASSERT_TRUE(store::ensure_schema(*con).ok());
  BarFrame f;
  f.pair = Pair{Currency::GBP, Currency::USD};
  // Friday 2024-07-05 21:50..21:59, then Sunday 22:00.. : the weekend is not a gap.
  for (int m = 50; m < 60; ++m) f.push_back(Bar{make_epoch_minute(2024, 7, 5, 21, m), 1, 1, 1, 1, 1, 1, 1});
  for (int m = 0; m < 10; ++m) f.push_back(Bar{make_epoch_minute(2024, 7, 7, 22, m), 1, 1, 1, 1, 1, 1, 1});
  // a 5-minute hole on Monday is a gap of 5 missing minutes
  f.push_back(Bar{make_epoch_minute(2024, 7, 7, 22, 15), 1, 1, 1, 1, 1, 1, 1});
  ASSERT_TRUE(store::ingest_bars(*con, make_file(f, "g.csv")).ok());
  auto m = store::month_counts(*con);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].bars, 21);
  EXPECT_EQ((*m)[0].gaps, 1);
  EXPECT_EQ((*m)[0].longest_gap, 5);
}

TEST(BarStore, RejectsForeignSchemaVersion) {
  auto con = store::Connection::open("");
  ASSERT_TRUE(store::ensure_schema(*con).ok());
  ASSERT_TRUE(con->exec("UPDATE meta SET value = '999' WHERE key = 'schema_version'").ok());
  auto st = store::ensure_schema(*con);
  EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace bqx
