// bqx export --postgres at the library level against the throwaway server the CTest fixture
// starts (scripts/pg-test-server.sh): schema, exact round trip, idempotence, resumption after
// a connection dropped mid-partition, and the unreachable-server error.
#include "store/export_postgres.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <future>
#include <thread>

#include "cli_runner.h"
#include "export_test_pg.h"

namespace bqx {
namespace {

using export_testing::column_list;
using export_testing::DuckRows;
using export_testing::expect_same_rows;
using export_testing::PgRows;

const std::vector<std::string> kPairs = {"EURGBP", "EURUSD", "GBPUSD"};
const std::vector<std::string> kMonths = {"2024-07", "2024-08"};
constexpr int64_t kRows = 2100;

struct PgConn {
  PGconn* conn = nullptr;
  PgConn() : conn(PQconnectdb(BQX_PG_TEST_URL)) {}
  ~PgConn() { PQfinish(conn); }
  bool ok() const { return PQstatus(conn) == CONNECTION_OK; }
  std::string exec(const std::string& sql) {  // "" or the error
    PGresult* r = PQexec(conn, sql.c_str());
    const auto st = PQresultStatus(r);
    std::string err = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? "" : PQresultErrorMessage(r);
    PQclear(r);
    return err;
  }
  int64_t count(const std::string& sql) {
    PGresult* r = PQexec(conn, sql.c_str());
    int64_t n = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) n = std::stoll(PQgetvalue(r, 0, 0));
    else ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
    PQclear(r);
    return n;
  }
};

class PostgresExport : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(admin_.ok()) << "the test PostgreSQL (" << BQX_PG_TEST_URL
                             << ") is not reachable: " << PQerrorMessage(admin_.conn);
    ASSERT_EQ(admin_.exec("SET client_min_messages = warning"), "");
    ASSERT_EQ(admin_.exec("DROP SCHEMA IF EXISTS bqx CASCADE"), "");
    dir_ = testing_cli::fresh_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto con = store::Connection::open(dir_ / "s.duckdb");
    ASSERT_TRUE(con.ok()) << con.error().message;
    con_ = std::make_unique<store::Connection>(std::move(*con));
    export_testing::make_synthetic_store(*con_, kPairs, kMonths, kRows);
  }
  void TearDown() override {
    con_.reset();
    std::filesystem::remove_all(dir_);
  }
  Result<store::ExportSummary> run(bool force = false, const store::ExportProgressFn& progress = {}) {
    return store::export_postgres(*con_, BQX_PG_TEST_URL, store::ExportSelection{{}, {}, force}, progress);
  }
  // Every table and the features view equal the store, bit for bit, NULL for NULL.
  void expect_equal_to_store() {
    for (const auto& t : store::postgres_tables()) {
      SCOPED_TRACE(t.name);
      EXPECT_EQ(admin_.count("SELECT count(*) FROM bqx." + store::sql_identifier(t.name)),
                *con_->query_int("SELECT count(*) FROM " + t.source));
      DuckRows want(*con_, "SELECT pair, ts, " + column_list(t.columns) + " FROM " + t.source + " ORDER BY pair, ts");
      PgRows have(admin_.conn, "SELECT pair, ts, " + column_list(t.columns) + " FROM bqx." +
                                   store::sql_identifier(t.name) + " ORDER BY pair, ts");
      EXPECT_EQ(expect_same_rows(want, have, t.columns).rows, 12 * kRows / 2);
    }
    const auto columns = store::feature_column_names();
    DuckRows want(*con_, "SELECT pair, ts, " + column_list(columns) + " FROM features ORDER BY pair, ts");
    PgRows have(admin_.conn, "SELECT * FROM bqx.features ORDER BY pair, ts");
    const auto cmp = expect_same_rows(want, have, columns);
    EXPECT_EQ(cmp.rows, 6 * kRows);
    EXPECT_GT(cmp.nulls, 0);
    EXPECT_GT(cmp.negative_zeros, 0);
    EXPECT_EQ(admin_.count("SELECT count(*) FROM bqx.export_manifest"), 6);
  }

  PgConn admin_;
  std::filesystem::path dir_;
  std::unique_ptr<store::Connection> con_;
};

TEST_F(PostgresExport, SchemaHasFamilyTablesMonthlyPartitionsAndView) {
  auto s = run();
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->exported, 6u);
  EXPECT_EQ(s->rows, 6 * kRows);
  const auto tables = store::postgres_tables();
  EXPECT_EQ(tables.back().name, "labels");
  size_t feature_columns = 0;
  for (const auto& t : tables) {
    if (t.source == "features") feature_columns += t.columns.size();
    // Partitioned by range of ts with one partition per exported month.
    EXPECT_EQ(admin_.count("SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'bqx' AND "
                           "p.partstrat = 'r' AND c.relname = '" + t.name + "'"),
              1)
        << t.name;
    EXPECT_EQ(admin_.count("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'bqx' AND c.relname = '" +
                           t.name + "'"),
              2)
        << t.name;
    EXPECT_EQ(admin_.count("SELECT count(*) FROM information_schema.table_constraints WHERE table_schema = 'bqx' AND "
                           "table_name = '" + t.name + "' AND constraint_type = 'PRIMARY KEY'"),
              1);
  }
  EXPECT_EQ(feature_columns, store::feature_column_names().size());
  // The view lists pair, ts and the catalogue in order.
  PGresult* r = PQexec(admin_.conn, "SELECT * FROM bqx.features LIMIT 0");
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  const auto names = store::feature_column_names();
  ASSERT_EQ(PQnfields(r), static_cast<int>(names.size() + 2));
  EXPECT_STREQ(PQfname(r, 0), "pair");
  EXPECT_STREQ(PQfname(r, 1), "ts");
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(PQfname(r, static_cast<int>(i + 2)), names[i]);
  PQclear(r);
}

TEST_F(PostgresExport, TablesAndViewEqualTheStoreBitForBit) {
  auto s = run();
  ASSERT_TRUE(s.ok()) << s.error().message;
  expect_equal_to_store();
}

TEST_F(PostgresExport, ReExportSkipsThenForceReplacesWithoutDuplicates) {
  ASSERT_TRUE(run().ok());
  auto again = run();
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->exported, 0u);
  EXPECT_EQ(again->skipped, 6u);
  // A recomputed partition (new checksum in the store's manifest) is exported again.
  ASSERT_TRUE(con_->exec("UPDATE manifest SET checksum = '0000000000000001' WHERE kind = 'labels' AND "
                         "pair = 'EURUSD' AND month = '2024-08'").ok());
  auto changed = run();
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_EQ(changed->exported, 1u);
  auto forced = run(true);
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  EXPECT_EQ(forced->exported, 6u);
  expect_equal_to_store();
}

// The connection dies in the middle of a partition's transaction (after its DELETEs and
// COPYs, while it waits for the export_manifest row lock this test holds): the export fails
// with the server's message, nothing of that partition is visible, and a re-run completes.
TEST_F(PostgresExport, ConnectionDroppedMidPartitionLeavesNothingPartialAndResumes) {
  // First export the July partitions only, so that the dropped partition has predecessors.
  ASSERT_TRUE(store::export_postgres(*con_, BQX_PG_TEST_URL, store::ExportSelection{{}, {"2024-07"}, false}).ok());
  PgConn blocker;
  ASSERT_TRUE(blocker.ok());
  ASSERT_EQ(blocker.exec("BEGIN"), "");
  ASSERT_EQ(blocker.exec("LOCK TABLE bqx.export_manifest IN EXCLUSIVE MODE"), "");
  auto result = std::async(std::launch::async, [&] { return run(); });
  // Wait until the exporter is blocked on the lock: its partition is then fully copied but
  // not committed.
  int pid = 0;
  for (int i = 0; i < 600 && pid == 0; ++i) {
    PGresult* r = PQexec(admin_.conn,
                         "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                         "query LIKE 'INSERT INTO bqx.export_manifest%'");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) pid = std::stoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (pid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(pid, 0) << "the export never reached its export_manifest upsert";
  // Rows of the in-flight partition exist inside its transaction only.
  EXPECT_EQ(admin_.count("SELECT count(*) FROM bqx.labels WHERE ts >= '2024-08-01'"), 0);
  EXPECT_EQ(admin_.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")"), "");
  ASSERT_EQ(blocker.exec("COMMIT"), "");
  auto failed = result.get();
  ASSERT_FALSE(failed.ok());
  const std::string& msg = failed.error().message;
  EXPECT_EQ(msg.rfind(BQX_PG_TEST_URL, 0), 0u) << msg;  // bqx: <url>: <libpq message>
  EXPECT_NE(msg.find("terminat"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2024-08"), std::string::npos) << msg;
  for (const auto& t : store::postgres_tables()) {
    EXPECT_EQ(admin_.count("SELECT count(*) FROM bqx." + store::sql_identifier(t.name) + " WHERE ts >= '2024-08-01'"), 0)
        << t.name;
    EXPECT_EQ(admin_.count("SELECT count(*) FROM bqx." + store::sql_identifier(t.name)), 3 * kRows) << t.name;
  }
  EXPECT_EQ(admin_.count("SELECT count(*) FROM bqx.export_manifest"), 3);
  auto resumed = run();
  ASSERT_TRUE(resumed.ok()) << resumed.error().message;
  EXPECT_EQ(resumed->skipped, 3u);
  EXPECT_EQ(resumed->exported, 3u);
  expect_equal_to_store();
}

// `bqx export --postgres` killed with SIGKILL mid-way (the server sees the connection vanish
// and rolls its open transaction back): every partition is either complete or absent, and
// the same command again completes the export with the exact data.
TEST_F(PostgresExport, CliKilledMidwayLeavesWholePartitionsAndReRunCompletes) {
  const std::string cmd = "cd '" + dir_.string() + "' && exec '" + std::string(BQX_BINARY) +
                          "' export --db s.duckdb --postgres '" + BQX_PG_TEST_URL + "' >run1.out 2>run1.err";
  con_.reset();  // the binary opens the store itself
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  bool seen = false;
  for (int i = 0; i < 6000 && !seen; ++i) {
    seen = testing_cli::slurp(dir_ / "run1.err").find("[2/6]") != std::string::npos;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(seen) << testing_cli::slurp(dir_ / "run1.err");
  ASSERT_TRUE(WIFSIGNALED(status)) << "the export finished before it could be killed";
  // Give the server a moment to notice the dead client and roll back.
  for (int i = 0; i < 100 && admin_.count("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY bqx.%' "
                                          "AND state <> 'idle'") > 0;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const int64_t done = admin_.count("SELECT count(*) FROM bqx.export_manifest");
  EXPECT_GE(done, 2);
  EXPECT_LT(done, 6);
  for (const auto& t : store::postgres_tables()) {
    // Whole partitions only: rows per (pair, month) are 0 or all of them, and exactly the
    // partitions export_manifest lists.
    EXPECT_EQ(admin_.count("SELECT count(*) FROM (SELECT pair, date_trunc('month', ts) FROM bqx." +
                           store::sql_identifier(t.name) + " GROUP BY 1, 2 HAVING count(*) <> " +
                           std::to_string(kRows) + ") x"),
              0)
        << t.name;
    EXPECT_EQ(admin_.count("SELECT count(*) FROM bqx." + store::sql_identifier(t.name)), done * kRows) << t.name;
  }
  auto rerun = testing_cli::run_bqx("export --db s.duckdb --postgres '" + std::string(BQX_PG_TEST_URL) + "'", dir_);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_NE(rerun.out.find("exported " + std::to_string(6 - done) + " of 6"), std::string::npos) << rerun.out;
  auto con = store::Connection::open(dir_ / "s.duckdb");
  ASSERT_TRUE(con.ok());
  con_ = std::make_unique<store::Connection>(std::move(*con));
  expect_equal_to_store();
}

TEST_F(PostgresExport, UnreachableServerFailsWithTheLibpqMessage) {
  // Port 1 on localhost: nothing listens there.
  auto s = store::export_postgres(*con_, "postgresql://bqx:secret@127.0.0.1:1/nowhere?connect_timeout=5",
                                  store::ExportSelection{});
  ASSERT_FALSE(s.ok());
  const std::string& msg = s.error().message;
  EXPECT_EQ(msg.rfind("postgresql://bqx:***@127.0.0.1:1/nowhere", 0), 0u) << msg;
  EXPECT_EQ(msg.find("secret"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Connection refused"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(PostgresUrl, RedactsPasswords) {
  EXPECT_EQ(store::redact_postgres_url("postgres://u:p%40ss@h:5/db"), "postgres://u:***@h:5/db");
  EXPECT_EQ(store::redact_postgres_url("postgres://u@h/db?password=x&sslmode=disable"),
            "postgres://u@h/db?password=***&sslmode=disable");
  EXPECT_EQ(store::redact_postgres_url("host=h password=x user=u"), "host=h password=*** user=u");
  EXPECT_EQ(store::redact_postgres_url("postgres://h:5432/db"), "postgres://h:5432/db");
}

}  // namespace
}  // namespace bqx
