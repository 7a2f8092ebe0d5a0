// End-to-end tests of `bqx ingest` / `bqx status` through the real binary and a real
// DuckDB file: counts, idempotence, and "bad input never corrupts the store".
#include <gtest/gtest.h>

#include "cli_runner.h"
#include "store/bar_store.h"

namespace bqx {
namespace {

using testing_cli::fresh_dir;
using testing_cli::run_bqx;
using testing_cli::write_file;

const std::string kReal = std::string(BQX_TEST_DATA_DIR) + "/real/DAT_ASCII_EURUSD_M1_202306.csv";

// Order-independent fingerprint of everything stored (bars, pairs, log).
std::string fingerprint(const std::filesystem::path& db) {
  auto con = store::Connection::open(db);
  EXPECT_TRUE(con.ok());
  auto t = con->query(
      "SELECT (SELECT count(*) FROM bars), (SELECT coalesce(bit_xor(hash(pair, ts, open, high, low, close, volume, "
      "bid, ask)), 0) FROM bars), (SELECT count(*) FROM pairs), (SELECT coalesce(bit_xor(hash(pair, baseline, "
      "baseline_ts)), 0) FROM pairs), (SELECT count(*) FROM ingest_log)");
  EXPECT_TRUE(t.ok());
  std::string s;
  for (const auto& v : t->rows[0]) s += v.value_or("NULL") + "|";
  return s;
}

TEST(IngestCli, RealEurusdFile) {
  const auto dir = fresh_dir("ingest_real");
  auto r = run_bqx("ingest --db t.duckdb '" + kReal + "'", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("16752 bars (16752 new"), std::string::npos) << r.out;
  {
    auto con = store::Connection::open(dir / "t.duckdb");
    ASSERT_TRUE(con.ok());
    EXPECT_EQ(*con->query_int("SELECT count(*) FROM bars WHERE pair = 'EURUSD'"), 16752);
    auto first = con->query("SELECT strftime(min(ts), '%Y-%m-%d %H:%M') FROM bars");
    EXPECT_EQ(first->rows[0][0].value_or(""), "2023-06-01 05:00");
    auto base = con->query("SELECT baseline FROM pairs WHERE pair = 'EURUSD'");
    EXPECT_EQ(base->rows[0][0].value_or(""), "1.06853");  // close of 20230601 000000 (EST) in the file
  }

  auto s = run_bqx("status --db t.duckdb", dir);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find("1 pair(s), 16752 bars, 2023-06-01 05:00"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("EURUSD  2023-06     16752  2023-06-01 05:00"), std::string::npos) << s.out;
}

TEST(IngestCli, ReingestIsIdempotent) {
  const auto dir = fresh_dir("ingest_idem");
  ASSERT_EQ(run_bqx("ingest --db t.duckdb '" + kReal + "'", dir).exit_code, 0);
  auto con = store::Connection::open(dir / "t.duckdb");
  const std::string before = [&] {
    auto t = con->query("SELECT count(*), bit_xor(hash(pair, ts, open, high, low, close, volume)) FROM bars");
    return t->rows[0][0].value_or("") + "|" + t->rows[0][1].value_or("");
  }();
  con = store::Connection::open("");  // release the file
  auto r = run_bqx("ingest --db t.duckdb '" + kReal + "'", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(0 new, 0 replaced, 16752 unchanged)"), std::string::npos) << r.out;
  con = store::Connection::open(dir / "t.duckdb");
  auto t = con->query("SELECT count(*), bit_xor(hash(pair, ts, open, high, low, close, volume)) FROM bars");
  EXPECT_EQ(t->rows[0][0].value_or("") + "|" + t->rows[0][1].value_or(""), before);
}

// Each malformed file is rejected with file and line, and the store is bit-for-bit as before.
TEST(IngestCli, BadFilesLeaveTheStoreUnchanged) {
  const auto dir = fresh_dir("ingest_bad");
  ASSERT_EQ(run_bqx("ingest --db t.duckdb '" + kReal + "'", dir).exit_code, 0);
  const std::string before = fingerprint(dir / "t.duckdb");
  std::string good;
  for (int i = 0; i < 200; ++i) {
    char line[96];
    std::snprintf(line, sizeof line, "20230703 %02d%02d00;1.090000;1.090100;1.089900;1.090050;0\n", i / 60, i % 60);
    good += line;
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"columns", good + "20230703 035000;1.09;1.0901;1.0899\n"},
      {"nonnumeric", good + "20230703 035000;1.09;abc;1.0899;1.09;0\n"},
      {"nonfinite", good + "20230703 035000;1.09;inf;1.0899;1.09;0\n"},
      {"nonpositive", good + "20230703 035000;0;1.0901;1.0899;1.09;0\n"},
      {"highlow", good + "20230703 035000;1.09;1.0890;1.0899;1.09;0\n"},
      {"closeoutside", good + "20230703 035000;1.09;1.0901;1.0899;1.0950;0\n"},
      {"badtime", good + "20230743 035000;1.09;1.0901;1.0899;1.09;0\n"},
      {"dupdiff", good + "20230703 000000;1.09;1.0901;1.0899;1.0900;0\n"},
      {"truncated", good + "20230703 035000;1.09;1.0901;1.08"},
  };
  for (const auto& [name, content] : cases) {
    const std::string file = "DAT_ASCII_EURUSD_M1_" + name + ".csv";
    write_file(dir / file, content);
    auto r = run_bqx("ingest --db t.duckdb " + file, dir);
    EXPECT_NE(r.exit_code, 0) << name;
    EXPECT_NE(r.err.find("bqx: " + file + ":"), std::string::npos) << name << ": " << r.err;
    if (name != "empty") {
      EXPECT_NE(r.err.find(":201: "), std::string::npos) << name << ": " << r.err;
    }
    EXPECT_EQ(fingerprint(dir / "t.duckdb"), before) << name;
  }
  // Unknown pair from the file name.
  write_file(dir / "XAUUSD_M1.csv", good);
  auto r = run_bqx("ingest --db t.duckdb XAUUSD_M1.csv", dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("XAUUSD_M1.csv"), std::string::npos) << r.err;
  EXPECT_EQ(fingerprint(dir / "t.duckdb"), before);
}

TEST(IngestCli, SkipBadRowsQuarantinesAndIngestsTheRest) {
  const auto dir = fresh_dir("ingest_skip");
  std::string content;
  for (int i = 0; i < 10; ++i) {
    char line[96];
    std::snprintf(line, sizeof line, "20230703 00%02d00;1.090000;1.090100;1.089900;1.090050;0\n", i);
    content += line;
  }
  content += "20230703 001000;1.09;1.0890;1.0899;1.09;0\n";  // high < low
  content += "20230703 001100;1.090000;1.090100;1.089900;1.090050;0\n";
  write_file(dir / "EURUSD_M1.csv", content);
  auto r = run_bqx("ingest --db t.duckdb --skip-bad-rows EURUSD_M1.csv", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("11 bars"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 rows rejected"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("EURUSD_M1.csv:11:"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "t.duckdb.rejects" / "EURUSD_M1.csv.rejects.tsv"));
}

TEST(IngestCli, HelpOnEveryCommand) {
  const auto dir = fresh_dir("help");
  for (const std::string cmd : {"", "generate ", "ingest ", "status "}) {
    auto r = run_bqx(cmd + "--help", dir);
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd << r.out;
  }
  auto r = run_bqx("ingest --db t.duckdb does_not_exist.csv", dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("does_not_exist.csv"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace bqx
