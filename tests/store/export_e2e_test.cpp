// End to end on a real store: bqx generate (3 pairs x 2 months), ingest, run, then export to
// Parquet and PostgreSQL and compare both with the DuckDB tables: row counts, NULL counts,
// SQL IS DISTINCT FROM over every column (Parquet) and every value's bits (both).
#include <gtest/gtest.h>

#include "cli_runner.h"
#include "export_test_pg.h"
#include "store/export_postgres.h"

namespace bqx {
namespace {

using export_testing::column_list;
using export_testing::DuckRows;
using export_testing::expect_same_rows;
using export_testing::PgRows;

const std::vector<std::string> kPairs = {"EURGBP", "EURUSD", "GBPUSD"};
const std::vector<std::string> kMonths = {"2024-07", "2024-08"};

class ExportEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(testing_cli::fresh_dir("export_e2e"));
    auto gen = testing_cli::run_bqx(
        "generate --out data --pairs EURUSD,GBPUSD,EURGBP --start 2024-07 --months 2 --seed 7", *dir_);
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    auto ingest = testing_cli::run_bqx("ingest -q --db s.duckdb data", *dir_);
    ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
    auto run = testing_cli::run_bqx("run --db s.duckdb", *dir_);
    ASSERT_EQ(run.exit_code, 0) << run.err;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static store::Connection open_store() {
    auto con = store::Connection::open(*dir_ / "s.duckdb");
    EXPECT_TRUE(con.ok());
    return std::move(*con);
  }
  // "pair = ... AND ts in month" for DuckDB and PostgreSQL alike.
  static std::string partition(const std::string& pair, const std::string& month) {
    auto b = store::month_bounds(month);
    return "pair = '" + pair + "' AND ts >= '" + b->begin + "' AND ts < '" + b->end + "'";
  }
  static std::filesystem::path* dir_;
};
std::filesystem::path* ExportEndToEnd::dir_ = nullptr;

// One test for both targets: CTest runs each test in its own process, and building the
// store (generate, ingest, run) is the expensive part.
TEST_F(ExportEndToEnd, ParquetAndPostgresEqualTheStoreExactly) {
  {
    SCOPED_TRACE("parquet");
    auto first = testing_cli::run_bqx("export -q --db s.duckdb --parquet pq", *dir_);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_NE(first.out.find("exported 12 of 12"), std::string::npos) << first.out;
    int64_t feature_rows = 0;
    {  // the store stays open only while comparing: `bqx export` below needs its lock
      auto con = open_store();
      feature_rows = *con.query_int("SELECT count(*) FROM features");
      for (const std::string kind : {"features", "labels"}) {
        SCOPED_TRACE(kind);
        const auto columns = kind == "features" ? store::feature_column_names() : store::label_column_names();
        const std::string files =
            "read_parquet('" + (*dir_ / "pq" / kind).string() + "/*/*/*.parquet', hive_partitioning = false)";
        std::string counts = "count(*)", distinct = "a.pair IS NULL OR b.pair IS NULL";
        for (const auto& c : columns) {
          const auto q = store::sql_identifier(c);
          counts += ", count(" + q + ")";
          distinct += " OR a." + q + " IS DISTINCT FROM b." + q;
        }
        auto want = con.query("SELECT " + counts + " FROM " + kind);
        auto have = con.query("SELECT " + counts + " FROM " + files);
        ASSERT_TRUE(want.ok() && have.ok());
        EXPECT_GT(std::stoll(*want->rows[0][0]), 180000);
        EXPECT_EQ(want->rows, have->rows) << "row or NULL counts differ";
        EXPECT_EQ(*con.query_int("SELECT count(*) FROM " + kind + " a FULL OUTER JOIN " + files +
                                 " b ON a.pair = b.pair AND a.ts = b.ts WHERE " + distinct),
                  0);
        auto reader = store::Connection::open("");
        ASSERT_TRUE(reader.ok());
        for (const auto& pair : kPairs) {
          for (const auto& month : kMonths) {
            const std::string where = " WHERE " + partition(pair, month) + " ORDER BY ts";
            DuckRows a(con, "SELECT pair, ts, " + column_list(columns) + " FROM " + kind + where);
            DuckRows b(*reader, "SELECT pair, ts, " + column_list(columns) + " FROM " + files + where);
            EXPECT_GT(expect_same_rows(a, b, columns).rows, 29000) << pair << " " << month;
          }
        }
      }
    }
    auto again = testing_cli::run_bqx("export -q --db s.duckdb --parquet pq", *dir_);
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.out.find("exported 0 of 12"), std::string::npos) << again.out;
    auto reader = store::Connection::open("");
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ(*reader->query_int("SELECT count(*) FROM read_parquet('" + (*dir_ / "pq").string() +
                                 "/features/*/*/*.parquet', hive_partitioning = false)"),
              feature_rows);
  }
  {
    SCOPED_TRACE("postgres");
    PGconn* pg = PQconnectdb(BQX_PG_TEST_URL);
    ASSERT_EQ(PQstatus(pg), CONNECTION_OK) << "the test PostgreSQL is not reachable: " << PQerrorMessage(pg);
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    PQclear(PQexec(pg, "DROP SCHEMA IF EXISTS bqx CASCADE"));
    const std::string url = BQX_PG_TEST_URL;
    auto first = testing_cli::run_bqx("export -q --db s.duckdb --postgres '" + url + "'", *dir_);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_NE(first.out.find("exported 6 of 6"), std::string::npos) << first.out;
    auto count = [&](const std::string& sql) {
      PGresult* r = PQexec(pg, sql.c_str());
      const int64_t n = PQresultStatus(r) == PGRES_TUPLES_OK ? std::stoll(PQgetvalue(r, 0, 0)) : -1;
      PQclear(r);
      return n;
    };
    int64_t feature_rows = 0;
    {  // the store stays open only while comparing: `bqx export` below needs its lock
      auto con = open_store();
      feature_rows = *con.query_int("SELECT count(*) FROM features");
      // Every family table and labels, bit for bit. (The bqx.features view over them is
      // compared on the synthetic store in export_postgres_test: joining 18 unanalysed
      // tables per partition is too slow for this data size.)
      for (const auto& t : store::postgres_tables()) {
        SCOPED_TRACE(t.name);
        EXPECT_EQ(count("SELECT count(*) FROM bqx." + store::sql_identifier(t.name)),
                  *con.query_int("SELECT count(*) FROM " + t.source));
        int64_t nulls = 0;
        for (const auto& pair : kPairs) {
          for (const auto& month : kMonths) {
            const std::string where = " WHERE " + partition(pair, month) + " ORDER BY ts";
            DuckRows a(con, "SELECT pair, ts, " + column_list(t.columns) + " FROM " + t.source + where);
            PgRows b(pg, "SELECT pair, ts, " + column_list(t.columns) + " FROM bqx." +
                             store::sql_identifier(t.name) + where);
            const auto cmp = expect_same_rows(a, b, t.columns);
            EXPECT_GT(cmp.rows, 29000) << pair << " " << month;
            nulls += cmp.nulls;
          }
        }
        if (t.name == "labels" || t.name == "lag") {
          EXPECT_GT(nulls, 0);  // warm-up/horizon NULLs stay NULL
        }
      }
    }
    auto again = testing_cli::run_bqx("export -q --db s.duckdb --postgres '" + url + "'", *dir_);
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.out.find("exported 0 of 6"), std::string::npos) << again.out;
    EXPECT_EQ(count("SELECT count(*) FROM bqx.labels"), feature_rows);
    PQfinish(pg);
  }
}

}  // namespace
}  // namespace bqx
