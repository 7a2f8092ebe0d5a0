// Unit tests of the bar readers' scalar parsing (io/reader_common.h, internal).
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>

#include "io/reader_common.h"

namespace bqx::reader {
namespace {

uint64_t bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

TEST(ReaderScalars, ParseNumberMatchesFromCharsBitForBit) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 200000; ++i) {
    const int digits = 1 + static_cast<int>(rng() % 19);
    std::string s;
    if (rng() % 5 == 0) s.push_back('-');
    for (int d = 0; d < digits; ++d) s.push_back(static_cast<char>('0' + rng() % 10));
    const size_t dot = rng() % (s.size() + 1);
    if (rng() % 4 != 0 && dot > (s[0] == '-' ? 1u : 0u)) s.insert(dot, ".");
    double expected = 0.0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), expected);
    ASSERT_EQ(ec, std::errc()) << s;
    ASSERT_EQ(ptr, s.data() + s.size()) << s;
    double got = -1.0;
    ASSERT_EQ(parse_number(s, &got), NumStatus::Ok) << s;
    ASSERT_EQ(bits(got), bits(expected)) << s;
  }
  for (const char* s : {"1.0687", "1.06871", "0.1", "0.3", "149.999", "1.", ".5", "-0", "-0.0", "00001.000",
                        "123456789012345678", "1e5", "1.5E-3", "0.000000000000000000000000001", "9007199254740993"}) {
    double expected = 0.0;
    std::from_chars(s, s + std::strlen(s), expected);
    double got = -1.0;
    ASSERT_EQ(parse_number(s, &got), NumStatus::Ok) << s;
    EXPECT_EQ(bits(got), bits(expected)) << s;
  }
}

TEST(ReaderScalars, ParseNumberRejects) {
  double v = 0.0;
  EXPECT_EQ(parse_number("", &v), NumStatus::NonNumeric);
  EXPECT_EQ(parse_number(".", &v), NumStatus::NonNumeric);
  EXPECT_EQ(parse_number("-", &v), NumStatus::NonNumeric);
  EXPECT_EQ(parse_number("1.2.3", &v), NumStatus::NonNumeric);
  EXPECT_EQ(parse_number("1,5", &v), NumStatus::NonNumeric);
  EXPECT_EQ(parse_number("0x10", &v), NumStatus::NonNumeric);
  EXPECT_EQ(parse_number("1.5e", &v), NumStatus::NonNumeric);
  EXPECT_EQ(parse_number("abc", &v), NumStatus::NonNumeric);
  EXPECT_EQ(parse_number("nan", &v), NumStatus::NonFinite);
  EXPECT_EQ(parse_number("-inf", &v), NumStatus::NonFinite);
  EXPECT_EQ(parse_number("Infinity", &v), NumStatus::NonFinite);
  EXPECT_EQ(parse_number("1e400", &v), NumStatus::NonFinite);
  EXPECT_EQ(parse_number("+1.25", &v), NumStatus::Ok);
  EXPECT_EQ(v, 1.25);
}

TEST(ReaderScalars, BarTimes) {
  const EpochMinute t = make_epoch_minute(2023, 6, 1, 5, 0);
  EpochMinute out = 0;
  EXPECT_EQ(parse_histdata_time("20230601 000000", -300, &out), TimeStatus::Ok);
  EXPECT_EQ(out, t);
  EXPECT_EQ(parse_histdata_time("20230601 000001", -300, &out), TimeStatus::NotMinute);
  EXPECT_EQ(parse_histdata_time("20230229 000000", 0, &out), TimeStatus::Unparseable);
  EXPECT_EQ(parse_histdata_time("20240229 000000", 0, &out), TimeStatus::Ok);
  EXPECT_EQ(parse_histdata_time("20230601 240000", 0, &out), TimeStatus::Unparseable);
  EXPECT_EQ(parse_histdata_time("20230601 006000", 0, &out), TimeStatus::Unparseable);
  EXPECT_EQ(parse_histdata_time("20230601 000060", 0, &out), TimeStatus::Unparseable);
  EXPECT_EQ(parse_histdata_time("2023060 0000000", 0, &out), TimeStatus::Unparseable);

  EXPECT_EQ(parse_bar_time("2023-06-01T05:00:00Z", 600, &out), TimeStatus::Ok);
  EXPECT_EQ(out, t);
  EXPECT_EQ(parse_bar_time("2023-06-01T10:30:00+05:30", 0, &out), TimeStatus::Ok);
  EXPECT_EQ(out, t);
  EXPECT_EQ(parse_bar_time("2023-06-01T00:00:00-0500", 0, &out), TimeStatus::Ok);
  EXPECT_EQ(out, t);
  EXPECT_EQ(parse_bar_time("2023-06-01 00:00", -300, &out), TimeStatus::Ok);
  EXPECT_EQ(out, t);
  EXPECT_EQ(parse_bar_time("1685595600", 999, &out), TimeStatus::Ok);  // epoch: zone-free
  EXPECT_EQ(out, t);
  EXPECT_EQ(parse_bar_time("2023-06-01T05:00:00,000Z", 0, &out), TimeStatus::Ok);
  EXPECT_EQ(parse_bar_time("2023-06-01T05:00:00.0001Z", 0, &out), TimeStatus::NotMinute);
  EXPECT_EQ(parse_bar_time("2023-06-01T05:00:00.Z", 0, &out), TimeStatus::Unparseable);
  EXPECT_EQ(parse_bar_time("2023-06-01T05:00:00+15:00", 0, &out), TimeStatus::Unparseable);
  EXPECT_EQ(parse_bar_time("2023-06-01T05:00:00 junk", 0, &out), TimeStatus::Unparseable);
  EXPECT_EQ(parse_bar_time("2023-06-01", 0, &out), TimeStatus::Unparseable);
  EXPECT_EQ(parse_bar_time("2023-06.01 05:00", 0, &out), TimeStatus::Unparseable);
  EXPECT_EQ(parse_bar_time("2023-6-1 05:00", 0, &out), TimeStatus::Unparseable);
  EXPECT_EQ(parse_bar_time("123456789012", 0, &out), TimeStatus::Unparseable);  // 12 digits
  EXPECT_EQ(parse_bar_time("", 0, &out), TimeStatus::Unparseable);
}

}  // namespace
}  // namespace bqx::reader
