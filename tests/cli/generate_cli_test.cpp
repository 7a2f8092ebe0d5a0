// `bqx generate` then `bqx ingest`: the whole synthetic month lands in the store.
#include <gtest/gtest.h>

#include "cli_runner.h"
#include "store/bar_store.h"

namespace bqx {
namespace {

using testing_cli::fresh_dir;
using testing_cli::run_bqx;

TEST(GenerateCli, TwentyEightPairsOneMonthIngest) {
  const auto dir = fresh_dir("generate_ingest");
  auto g = run_bqx("generate --out data --months 1 --start 2024-07 --seed 42", dir);
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "data" / "truth.json"));
  auto i = run_bqx("ingest -q --db t.duckdb data", dir);
  ASSERT_EQ(i.exit_code, 0) << i.err;
  auto con = store::Connection::open(dir / "t.duckdb");
  ASSERT_TRUE(con.ok());
  auto t = con->query("SELECT pair, count(*) FROM bars GROUP BY pair ORDER BY pair");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->rows.size(), 28u);
  for (const auto& row : t->rows) {
    const long n = std::stol(*row[1]);
    EXPECT_GE(n, 25000) << *row[0];
    EXPECT_LE(n, 33000) << *row[0];
  }
  // Weekends are empty: nothing between Friday 22:00 and Sunday 22:00 UTC.
  EXPECT_EQ(*con->query_int("SELECT count(*) FROM bars WHERE (isodow(ts) = 5 AND hour(ts) >= 22) OR isodow(ts) = 6 "
                            "OR (isodow(ts) = 7 AND hour(ts) < 22)"),
            0);
}

TEST(GenerateCli, SameSeedSameBytesAndBadArguments) {
  const auto dir = fresh_dir("generate_bytes");
  ASSERT_EQ(run_bqx("generate --out a --pairs EURUSD,USDJPY --seed 3", dir).exit_code, 0);
  ASSERT_EQ(run_bqx("generate --out b --pairs EURUSD,USDJPY --seed 3", dir).exit_code, 0);
  for (const char* f : {"DAT_ASCII_EURUSD_M1_202407.csv", "DAT_ASCII_USDJPY_M1_202407.csv", "truth.json"}) {
    EXPECT_EQ(testing_cli::slurp(dir / "a" / f), testing_cli::slurp(dir / "b" / f)) << f;
  }
  auto bad = run_bqx("generate --out c --pairs EURXXX", dir);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("unknown pair (EURXXX)"), std::string::npos) << bad.err;
  auto badm = run_bqx("generate --out c --start 2024-13", dir);
  EXPECT_NE(badm.exit_code, 0);
  EXPECT_NE(badm.err.find("invalid month"), std::string::npos) << badm.err;
}

}  // namespace
}  // namespace bqx
