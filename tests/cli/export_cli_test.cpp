// End-to-end tests of `bqx export` through the binary: options and errors, progress and
// summary, Parquet export that is killed with SIGKILL and resumed, unreachable PostgreSQL.
// (PostgreSQL loads run against a live server in tests/store/export_postgres_test.cpp.)
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "cli_runner.h"
#include "store/export_parquet.h"
#include "store/export_test_support.h"

namespace bqx {
namespace {

using testing_cli::run_bqx;
using testing_cli::slurp;

class ExportCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_cli::fresh_dir(std::string("export_cli_") +
                                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void make_store(int64_t rows_per_partition) {
    auto con = store::Connection::open(dir_ / "s.duckdb");
    ASSERT_TRUE(con.ok()) << con.error().message;
    export_testing::make_synthetic_store(*con, {"EURGBP", "EURUSD", "GBPUSD"}, {"2024-07", "2024-08"},
                                         rows_per_partition);
  }
  // The Parquet tree read back equals the store's tables (counts, every value, NULLs).
  void expect_parquet_equals_store() {
    auto con = store::Connection::open(dir_ / "s.duckdb");
    ASSERT_TRUE(con.ok());
    for (const std::string kind : {"features", "labels"}) {
      const auto columns = kind == "features" ? store::feature_column_names() : store::label_column_names();
      const std::string files =
          "read_parquet('" + (dir_ / "pq" / kind).string() + "/*/*/*.parquet', hive_partitioning = false)";
      EXPECT_EQ(*con->query_int("SELECT count(*) FROM " + files), *con->query_int("SELECT count(*) FROM " + kind));
      std::string distinct = "a.pair IS NULL OR b.pair IS NULL";
      for (const auto& c : columns) {
        distinct += " OR a." + store::sql_identifier(c) + " IS DISTINCT FROM b." + store::sql_identifier(c);
      }
      EXPECT_EQ(*con->query_int("SELECT count(*) FROM " + kind + " a FULL OUTER JOIN " + files +
                                " b ON a.pair = b.pair AND a.ts = b.ts WHERE " + distinct),
                0)
          << kind;
    }
  }
  std::filesystem::path dir_;
};

TEST_F(ExportCli, HelpAndArgumentErrors) {
  auto help = run_bqx("export --help", dir_);
  EXPECT_EQ(help.exit_code, 0);
  for (const char* word : {"--parquet", "--postgres", "--pairs", "--months", "--force", "pair=EURUSD/month=2024-07"}) {
    EXPECT_NE(help.out.find(word), std::string::npos) << word;
  }
  make_store(10);
  auto none = run_bqx("export --db s.duckdb", dir_);
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("bqx: give exactly one target"), std::string::npos) << none.err;
  auto both = run_bqx("export --db s.duckdb --parquet pq --postgres postgresql://127.0.0.1:1/x", dir_);
  EXPECT_NE(both.exit_code, 0);
  auto missing = run_bqx("export --db nope.duckdb --parquet pq", dir_);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("bqx: nope.duckdb: no such store"), std::string::npos) << missing.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "nope.duckdb"));
  auto bad_pair = run_bqx("export --db s.duckdb --parquet pq --pairs EURXYZ", dir_);
  EXPECT_NE(bad_pair.exit_code, 0);
  EXPECT_NE(bad_pair.err.find("EURXYZ"), std::string::npos) << bad_pair.err;
  auto bad_month = run_bqx("export --db s.duckdb --parquet pq --months 2024-7", dir_);
  EXPECT_NE(bad_month.exit_code, 0);
  EXPECT_NE(bad_month.err.find("2024-7"), std::string::npos) << bad_month.err;
}

TEST_F(ExportCli, ParquetProgressSummaryAndIdempotentReRun) {
  make_store(300);
  auto first = run_bqx("export --db s.duckdb --parquet pq", dir_);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("[1/12] features EURGBP 2024-07: exported ("), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("rows/s"), std::string::npos) << first.err;
  EXPECT_NE(first.out.find("exported 12 of 12 partition(s) to pq (0 already up to date, skipped): 1800 feature rows"),
            std::string::npos)
      << first.out;
  for (const char* unit : {" MB, ", " s, ", " rows/s"}) EXPECT_NE(first.out.find(unit), std::string::npos) << unit;
  expect_parquet_equals_store();
  auto again = run_bqx("export --db s.duckdb --parquet pq", dir_);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("exported 0 of 12 partition(s) to pq (12 already up to date, skipped): 0 feature rows"),
            std::string::npos)
      << again.out;
  auto forced = run_bqx("export --db s.duckdb --parquet pq --force --pairs EURUSD --months 2024-08", dir_);
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.out.find("exported 2 of 2 partition(s)"), std::string::npos) << forced.out;
  expect_parquet_equals_store();
}

// SIGKILL in the middle of an export, then the same command again: the result equals an
// uninterrupted export and no temporary file is left.
TEST_F(ExportCli, ParquetKilledMidwayThenReRunGivesTheSameResult) {
  make_store(4000);
  const std::string cmd = "cd '" + dir_.string() + "' && exec '" + std::string(BQX_BINARY) +
                          "' export --db s.duckdb --parquet pq >run1.out 2>run1.err";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill after the fourth partition (labels EURUSD 2024-07) is reported, while the fifth
  // (features GBPUSD 2024-07, the slow kind) is being written.
  bool seen = false;
  for (int i = 0; i < 3000 && !seen; ++i) {
    seen = slurp(dir_ / "run1.err").find("[4/12]") != std::string::npos;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(seen) << "the export never reported its fourth partition: " << slurp(dir_ / "run1.err");
  ASSERT_TRUE(WIFSIGNALED(status)) << "the export finished before it could be killed";
  auto rerun = run_bqx("export --db s.duckdb --parquet pq", dir_);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_NE(rerun.out.find("exported 8 of 12"), std::string::npos) << rerun.out;  // 4 were done
  expect_parquet_equals_store();
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ / "pq")) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

TEST_F(ExportCli, UnreachablePostgresFailsClearly) {
  make_store(10);
  auto r = run_bqx("export --db s.duckdb --postgres 'postgresql://bqx:secret@127.0.0.1:1/nowhere'", dir_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.err.rfind("bqx: postgresql://bqx:***@127.0.0.1:1/nowhere: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("Connection refused"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("secret"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace bqx
