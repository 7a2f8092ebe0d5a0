// bqx export --parquet at the library level: layout, metadata, exact round trip, idempotence.
#include "store/export_parquet.h"

#include <gtest/gtest.h>

#include <fstream>

#include "cli_runner.h"
#include "export_test_support.h"

namespace bqx {
namespace {

using export_testing::column_list;
using export_testing::DuckRows;
using export_testing::expect_same_rows;

const std::vector<std::string> kPairs = {"EURGBP", "EURUSD", "GBPUSD"};
const std::vector<std::string> kMonths = {"2024-07", "2024-08"};

class ParquetExport : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_cli::fresh_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto con = store::Connection::open(dir_ / "s.duckdb");
    ASSERT_TRUE(con.ok()) << con.error().message;
    con_ = std::make_unique<store::Connection>(std::move(*con));
    export_testing::make_synthetic_store(*con_, kPairs, kMonths, 2100);  // > one DuckDB chunk per partition
    out_ = dir_ / "parquet";
  }
  void TearDown() override {
    con_.reset();
    std::filesystem::remove_all(dir_);
  }
  store::ExportSummary run(bool force = false, std::vector<std::string> pairs = {},
                           std::vector<std::string> months = {}) {
    store::ExportSelection sel{std::move(pairs), std::move(months), force};
    auto s = store::export_parquet(*con_, out_, sel);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? *s : store::ExportSummary{};
  }
  std::filesystem::path file(const std::string& kind, const std::string& pair, const std::string& month) {
    return store::parquet_partition_path(out_, kind, pair, month);
  }

  std::filesystem::path dir_, out_;
  std::unique_ptr<store::Connection> con_;
};

TEST_F(ParquetExport, WritesHiveLayoutWithMetadata) {
  const auto s = run();
  EXPECT_EQ(s.exported, 12u);  // 3 pairs x 2 months x {features, labels}
  EXPECT_EQ(s.skipped, 0u);
  EXPECT_EQ(s.rows, 6 * 2100);  // feature rows
  for (const auto& kind : {"features", "labels"}) {
    for (const auto& pair : kPairs) {
      for (const auto& month : kMonths) {
        const auto f = file(kind, pair, month);
        EXPECT_EQ(f.string(), (out_ / kind / ("pair=" + pair) / ("month=" + month) / "part-0.parquet").string());
        auto kv = store::read_parquet_kv_metadata(*con_, f);
        ASSERT_TRUE(kv.ok()) << kv.error().message;
        EXPECT_EQ((*kv)["bqx_catalogue_version"], features::kCatalogueVersion);
        EXPECT_EQ((*kv)["bqx_code_version"], store::kCodeVersion);
        auto checksum = con_->query("SELECT checksum FROM manifest WHERE kind = '" + std::string(kind) +
                                    "' AND pair = '" + pair + "' AND month = '" + month + "'");
        ASSERT_TRUE(checksum.ok());
        EXPECT_EQ((*kv)["bqx_checksum"], *checksum->rows.at(0).at(0));
        EXPECT_EQ((*kv)["bqx_rows"], "2100");
        EXPECT_FALSE(std::filesystem::exists(f.string() + ".tmp"));
      }
    }
  }
  auto codec = con_->query("SELECT DISTINCT compression FROM parquet_metadata('" +
                           file("features", "EURUSD", "2024-07").string() + "')");
  ASSERT_TRUE(codec.ok());
  ASSERT_EQ(codec->rows.size(), 1u);
  EXPECT_EQ(*codec->rows[0][0], "ZSTD");
}

// Read back through DuckDB, the files equal the tables: counts, NULL counts per column, SQL
// IS DISTINCT FROM over every column, and (since SQL calls -0.0 equal to 0.0) the bits.
TEST_F(ParquetExport, ReadBackEqualsTheStoreExactly) {
  run();
  for (const std::string kind : {"features", "labels"}) {
    const auto columns = kind == "features" ? store::feature_column_names() : store::label_column_names();
    const std::string files = "read_parquet('" + (out_ / kind).string() + "/*/*/*.parquet', hive_partitioning = false)";
    EXPECT_EQ(*con_->query_int("SELECT count(*) FROM " + files), *con_->query_int("SELECT count(*) FROM " + kind));
    std::string counts = "count(*)", distinct = "a.pair IS NULL OR b.pair IS NULL";
    for (const auto& c : columns) {
      const auto q = store::sql_identifier(c);
      counts += ", count(" + q + ")";
      distinct += " OR a." + q + " IS DISTINCT FROM b." + q;
    }
    auto want = con_->query("SELECT " + counts + " FROM " + kind);
    auto have = con_->query("SELECT " + counts + " FROM " + files);
    ASSERT_TRUE(want.ok() && have.ok());
    EXPECT_EQ(want->rows, have->rows) << "NULL counts differ";
    EXPECT_EQ(*con_->query_int("SELECT count(*) FROM " + kind + " a FULL OUTER JOIN " + files +
                               " b ON a.pair = b.pair AND a.ts = b.ts WHERE " + distinct),
              0);
    // The bits: the store against an independent DuckDB reading only the files.
    auto reader = store::Connection::open("");
    ASSERT_TRUE(reader.ok());
    DuckRows expected(*con_, "SELECT pair, ts, " + column_list(columns) + " FROM " + kind + " ORDER BY pair, ts");
    DuckRows actual(*reader, "SELECT pair, ts, " + column_list(columns) + " FROM " + files + " ORDER BY pair, ts");
    const auto cmp = expect_same_rows(expected, actual, columns);
    EXPECT_EQ(cmp.rows, 6 * 2100);
    EXPECT_GT(cmp.nulls, 0);
    EXPECT_GT(cmp.negative_zeros, 0);
  }
}

TEST_F(ParquetExport, ReExportSkipsUpToDateFilesAndForceRewrites) {
  run();
  const auto f = file("features", "GBPUSD", "2024-08");
  const auto before = std::filesystem::last_write_time(f);
  const auto again = run();
  EXPECT_EQ(again.exported, 0u);
  EXPECT_EQ(again.skipped, 12u);
  EXPECT_EQ(again.rows, 0);
  EXPECT_EQ(std::filesystem::last_write_time(f), before);
  const auto forced = run(true);
  EXPECT_EQ(forced.exported, 12u);
  EXPECT_EQ(*con_->query_int("SELECT count(*) FROM read_parquet('" + (out_ / "features").string() +
                             "/*/*/*.parquet', hive_partitioning = false)"),
            6 * 2100);
}

// A truncated file (as left by a crash of something else), a file of another partition's
// checksum and a leftover temporary file are replaced; nothing else is touched.
TEST_F(ParquetExport, ReplacesStaleAndPartialFiles) {
  run();
  const auto truncated = file("features", "EURUSD", "2024-07");
  std::filesystem::resize_file(truncated, std::filesystem::file_size(truncated) / 2);
  EXPECT_FALSE(store::read_parquet_kv_metadata(*con_, truncated).ok());
  ASSERT_TRUE(con_->exec("UPDATE manifest SET checksum = '0123456789abcdef' WHERE kind = 'labels' AND "
                         "pair = 'EURGBP' AND month = '2024-08'").ok());
  testing_cli::write_file(file("labels", "GBPUSD", "2024-07").string() + ".tmp", "half a file");
  const auto s = run();
  EXPECT_EQ(s.exported, 2u);
  EXPECT_EQ(s.skipped, 10u);
  auto kv = store::read_parquet_kv_metadata(*con_, truncated);
  ASSERT_TRUE(kv.ok()) << kv.error().message;
  EXPECT_EQ(*con_->query_int("SELECT count(*) FROM read_parquet('" + truncated.string() + "')"), 2100);
  auto kv2 = store::read_parquet_kv_metadata(*con_, file("labels", "EURGBP", "2024-08"));
  ASSERT_TRUE(kv2.ok());
  EXPECT_EQ((*kv2)["bqx_checksum"], "0123456789abcdef");
}

TEST_F(ParquetExport, SelectionLimitsPartitions) {
  const auto s = run(false, {"EURUSD"}, {"2024-08"});
  EXPECT_EQ(s.exported, 2u);
  EXPECT_TRUE(std::filesystem::exists(file("features", "EURUSD", "2024-08")));
  EXPECT_TRUE(std::filesystem::exists(file("labels", "EURUSD", "2024-08")));
  EXPECT_FALSE(std::filesystem::exists(file("features", "EURUSD", "2024-07")));
  EXPECT_FALSE(std::filesystem::exists(file("features", "GBPUSD", "2024-08")));
}

// The store holding other rows than its manifest says is an error, and no file appears.
TEST_F(ParquetExport, RowCountMismatchWithManifestFailsWithoutWriting) {
  ASSERT_TRUE(con_->exec("DELETE FROM features WHERE pair = 'EURGBP' AND ts = TIMESTAMP '2024-07-01 00:00:00'").ok());
  auto s = store::export_parquet(*con_, out_, store::ExportSelection{{"EURGBP"}, {"2024-07"}, false});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("2099"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("2100"), std::string::npos) << s.error().message;
  EXPECT_FALSE(std::filesystem::exists(file("features", "EURGBP", "2024-07")));
  EXPECT_FALSE(std::filesystem::exists(file("features", "EURGBP", "2024-07").string() + ".tmp"));
}

TEST(ExportSelection, ParsesAndRejects) {
  auto s = store::parse_export_selection("gbpusd,EURUSD", "2024-08,2024-07,2024-08", true);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->pairs, (std::vector<std::string>{"EURUSD", "GBPUSD"}));
  EXPECT_EQ(s->months, (std::vector<std::string>{"2024-07", "2024-08"}));
  EXPECT_TRUE(s->force);
  auto bad_pair = store::parse_export_selection("EURXYZ", "", false);
  ASSERT_FALSE(bad_pair.ok());
  EXPECT_NE(bad_pair.error().message.find("EURXYZ"), std::string::npos);
  auto bad_month = store::parse_export_selection("", "2024-13", false);
  ASSERT_FALSE(bad_month.ok());
  EXPECT_NE(bad_month.error().message.find("2024-13"), std::string::npos);
  auto b = store::month_bounds("2024-12");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->begin, "2024-12-01 00:00:00");
  EXPECT_EQ(b->end, "2025-01-01 00:00:00");
}

}  // namespace
}  // namespace bqx
