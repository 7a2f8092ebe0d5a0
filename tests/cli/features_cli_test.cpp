// End-to-end tests of `bqx features` and `bqx catalog` through the real binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "features/registry.h"
#include "store/duckdb_conn.h"

namespace bqx {
namespace {

using testing_cli::fresh_dir;
using testing_cli::run_bqx;
using testing_cli::slurp;

const std::string kReal = std::string(BQX_TEST_DATA_DIR) + "/real/DAT_ASCII_EURUSD_M1_202306.csv";

size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

TEST(FeaturesCli, RealFileBatchEqualsStreamByteForByte) {
  const auto dir = fresh_dir("features_real");
  auto batch = run_bqx("features --in '" + kReal + "' --out f.csv", dir);
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  auto stream = run_bqx("features --in '" + kReal + "' --out s.csv --mode stream", dir);
  ASSERT_EQ(stream.exit_code, 0) << stream.err;
  const std::string a = slurp(dir / "f.csv"), b = slurp(dir / "s.csv");
  EXPECT_EQ(count_lines(a), 16752u + 1);  // header + one row per bar
  EXPECT_TRUE(a == b) << "stream output differs from batch output";
  // header: pair, ts, then the catalogue columns in order
  const std::string header = a.substr(0, a.find('\n'));
  std::string expected = "pair,ts";
  for (const auto& c : features::all_feature_columns()) expected += "," + c.name;
  EXPECT_TRUE(header == expected) << "header differs from the catalogue order";
  EXPECT_EQ(a.substr(a.find('\n') + 1, 28), "EURUSD,2023-06-01T05:00:00Z,");
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_NE(e.path().filename().string().rfind(".f.csv.tmp", 0), 0u) << "temporary file left behind";
  }
}

TEST(FeaturesCli, LabelsAndParquet) {
  const auto dir = fresh_dir("features_parquet");
  auto r = run_bqx("features --in '" + kReal + "' --out f.parquet --labels", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto csv = run_bqx("features --in '" + kReal + "' --out f.csv --labels", dir);
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  auto con = store::Connection::open("");
  ASSERT_TRUE(con.ok());
  const std::string pq = (dir / "f.parquet").string();
  EXPECT_EQ(*con->query_int("SELECT count(*) FROM read_parquet('" + pq + "')"), 16752);
  // Same values as the CSV (CSV doubles are round-trip exact), NULLs included.
  const std::string cs = (dir / "f.csv").string();
  const auto first = features::all_feature_columns().front().name;
  EXPECT_EQ(*con->query_int("SELECT count(*) FROM read_parquet('" + pq + "') p JOIN read_csv('" + cs +
                            "', all_varchar=true) c ON p.ts = c.ts::TIMESTAMPTZ::TIMESTAMP WHERE p." + first +
                            " IS NOT DISTINCT FROM TRY_CAST(NULLIF(c." + first + ", '') AS DOUBLE)"),
            16752);
  auto meta = con->query("SELECT value FROM parquet_kv_metadata('" + pq + "') WHERE key = 'bqx_catalogue_version'");
  ASSERT_TRUE(meta.ok()) << meta.error().message;
  ASSERT_EQ(meta->rows.size(), 1u);
  EXPECT_EQ(meta->rows[0][0].value_or(""), features::kCatalogueVersion);
}

TEST(FeaturesCli, FamiliesSubsetAndErrors) {
  const auto dir = fresh_dir("features_errors");
  auto r = run_bqx("features --in '" + kReal + "' --out f.csv --families bqx", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string a = slurp(dir / "f.csv");
  EXPECT_EQ(a.substr(0, a.find(',', 8)), "pair,ts,bqx_w15_return");
  auto bad = run_bqx("features --in '" + kReal + "' --out g.csv --families nope", dir);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("unknown feature family (nope)"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "g.csv"));
  testing_cli::write_file(dir / "EURUSD_bad.csv", "20230601 000000;1.1;1.0;1.2;1.1;0\n");
  auto badfile = run_bqx("features --in EURUSD_bad.csv --out h.csv", dir);
  EXPECT_NE(badfile.exit_code, 0);
  EXPECT_NE(badfile.err.find("bqx: EURUSD_bad.csv:1: high < low"), std::string::npos) << badfile.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "h.csv"));
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_NE(e.path().filename().string()[0], '.') << "temporary file left behind: " << e.path();
  }
}

TEST(FeaturesCli, CatalogJsonMatchesRegistry) {
  const auto dir = fresh_dir("catalog");
  auto r = run_bqx("catalog --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["feature_count"].get<size_t>(), features::all_feature_columns().size());
  auto md = run_bqx("catalog", dir);
  EXPECT_EQ(md.exit_code, 0);
  EXPECT_EQ(md.out.rfind("# BQX feature catalogue", 0), 0u);
}

}  // namespace
}  // namespace bqx
