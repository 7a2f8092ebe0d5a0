#include "core/time.h"

#include <gtest/gtest.h>

#include "core/currency.h"

namespace bqx {
namespace {

TEST(Time, CivilRoundTrip) {
  // 2023-06-01 00:00 EST (-05:00) = 05:00 UTC; epoch minutes computed by `date -u -d '2023-06-01 05:00' +%s`/60.
  const EpochMinute t = make_epoch_minute(2023, 6, 1, 5, 0);
  EXPECT_EQ(t, 1685595600 / 60);
  EXPECT_EQ(format_iso(t), "2023-06-01T05:00:00Z");
  EXPECT_EQ(format_month(month_of(t)), "2023-06");
  EXPECT_EQ(weekday(t), 3);  // 2023-06-01 was a Thursday
  for (int64_t days = -800000; days < 800000; days += 997) {
    const CivilDate d = civil_from_days(days);
    EXPECT_EQ(days_from_civil(d.year, d.month, d.day), days);
  }
}

TEST(Time, MonthParsing) {
  auto m = parse_month("2024-07");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(format_month(*m), "2024-07");
  EXPECT_EQ(month_start(*m), make_epoch_minute(2024, 7, 1, 0, 0));
  EXPECT_FALSE(parse_month("2024-13").ok());
  EXPECT_FALSE(parse_month("24-07").ok());
  EXPECT_EQ(parse_month("x").error().message, "invalid month, expected YYYY-MM (x)");
}

TEST(Time, TzOffsets) {
  EXPECT_EQ(*parse_tz_offset("-05:00"), -300);
  EXPECT_EQ(*parse_tz_offset("+0130"), 90);
  EXPECT_EQ(*parse_tz_offset("UTC"), 0);
  EXPECT_EQ(*parse_tz_offset("Z"), 0);
  EXPECT_FALSE(parse_tz_offset("5").ok());
}

TEST(Currency, PairsAreCanonical) {
  ASSERT_EQ(all_pairs().size(), 28u);
  EXPECT_EQ(pair_name(all_pairs()[0]), "AUDCAD");
  EXPECT_EQ(pair_name(all_pairs()[27]), "USDJPY");
  auto p = parse_pair("eurusd");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->base, Currency::EUR);
  EXPECT_EQ(p->quote, Currency::USD);
  EXPECT_FALSE(parse_pair("USDEUR").ok());
  EXPECT_EQ(parse_pair("XAUUSD").error().message, "unknown pair (XAUUSD)");
  // every currency appears in exactly 7 pairs
  for (Currency c : all_currencies()) {
    int n = 0;
    for (Pair q : all_pairs()) n += (q.base == c || q.quote == c);
    EXPECT_EQ(n, 7) << currency_code(c);
  }
  auto list = parse_pair_list("usdjpy, EURUSD,eurusd");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(pair_name((*list)[0]), "EURUSD");
  EXPECT_EQ(parse_pair_list("all")->size(), 28u);
}

}  // namespace
}  // namespace bqx
