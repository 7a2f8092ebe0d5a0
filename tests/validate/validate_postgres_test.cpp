// bqx validate --postgres (issue 6, check 6): a store exported with `bqx export --postgres`
// matches it; a value changed in one family table and a row deleted from another fail the
// cross-store check at the right (pair, month, column, ts). The test starts its own
// throwaway PostgreSQL (scripts/pg-test-server.sh on a private port), so it needs no CTest
// fixture and can run beside the store suites.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cstdlib>

#include "cli_runner.h"
#include "core/time.h"
#include "store/export_postgres.h"
#include "store/postgres_read.h"
#include "validate/validate.h"

namespace bqx {
namespace {

using testing_cli::fresh_dir;
using testing_cli::run_bqx;
namespace fs = std::filesystem;

constexpr const char* kPort = "54339";
const std::string kUrl = std::string("postgresql://postgres@127.0.0.1:") + kPort + "/postgres";

std::string server(const std::string& action, const fs::path& dir) {
  const std::string cmd = "BQX_PG_PORT=" + std::string(kPort) + " BQX_PG_DIR='" + (dir / "pg").string() + "' '" +
                          BQX_SOURCE_DIR + "/scripts/pg-test-server.sh' " + action + " >'" +
                          (dir / "pg.log").string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  return status == 0 ? "" : "pg-test-server.sh " + action + " failed: " + testing_cli::slurp(dir / "pg.log");
}

const validate::CheckResult* find_check(const validate::Report& r, const std::string& id) {
  for (const auto& c : r.checks) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

// The rows a PostgreSQL statement changed (it must end in RETURNING 1), -1 on error.
int64_t changed_rows(const std::string& sql) {
  PGconn* conn = PQconnectdb(kUrl.c_str());
  PGresult* r = PQexec(conn, sql.c_str());
  int64_t n = -1;
  if (PQresultStatus(r) == PGRES_TUPLES_OK) n = PQntuples(r);
  else ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(conn);
  return n;
}

// The family table holding a feature column.
std::string table_of(const std::string& column) {
  for (const auto& t : store::postgres_tables()) {
    for (const auto& c : t.columns) {
      if (c == column) return t.name;
    }
  }
  return "";
}

validate::Report validate_with_postgres(const fs::path& db) {
  validate::Options o;
  o.db = db;
  o.postgres_url = kUrl;
  o.max_examples = 50;
  auto r = validate::run_validation(o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : validate::Report{};
}

// One test: the store (generate, ingest, run) and the export are built once.
TEST(ValidatePostgres, ExportMatchesThenEditsAreLocated) {
  const fs::path dir = fresh_dir("validate_postgres");
  ASSERT_EQ(server("start", dir), "");
  struct Stop {
    fs::path dir;
    ~Stop() {
      server("stop", dir);
      fs::remove_all(dir);
    }
  } stop{dir};
  for (const std::string& args : std::vector<std::string>{
           "generate --out data --pairs EURUSD,GBPUSD,EURGBP --start 2024-07 --months 1 --seed 7",
        "ingest --db s.duckdb data", "run --db s.duckdb", "export -q --db s.duckdb --postgres '" + kUrl + "'"}) {
    const auto r = run_bqx(args, dir);
    ASSERT_EQ(r.exit_code, 0) << "bqx " << args << "\n" << r.out << r.err;
  }

  {
    SCOPED_TRACE("clean export");
    const auto r = validate_with_postgres(dir / "s.duckdb");
    for (const char* id : {"cross_store.postgres_rows", "cross_store.postgres_values"}) {
      const auto* c = find_check(r, id);
      ASSERT_NE(c, nullptr) << id;
      EXPECT_FALSE(c->skipped) << id << ": " << c->skip_reason;
      EXPECT_TRUE(c->passed) << id << ": " << c->failed << " failed"
                             << (c->examples.empty() ? "" : ", e.g. " + c->examples[0].detail);
    }
    // Every (pair, month) x table, and every column of every partition, was compared.
    const size_t tables = store::postgres_tables().size();
    const size_t partitions = r.pairs.size() * r.months.size();
    EXPECT_EQ(r.pairs.size(), 3u);
    EXPECT_EQ(find_check(r, "cross_store.postgres_rows")->checked, static_cast<int64_t>(1 + partitions * tables));
    size_t columns = 0;
    for (const auto& t : store::postgres_tables()) columns += t.columns.size();
    EXPECT_EQ(columns, 1088u + 7u);
    EXPECT_EQ(find_check(r, "cross_store.postgres_values")->checked, static_cast<int64_t>(partitions * columns));
    EXPECT_TRUE(r.passed());
  }

  // One value changed in the table of ta_rate_rsi_14, one row deleted from another family's table.
  const std::string value_table = table_of("ta_rate_rsi_14");
  ASSERT_FALSE(value_table.empty());
  std::string row_table;
  for (const auto& t : store::postgres_tables()) {
    if (t.source == "features" && t.name != value_table) row_table = t.name;
  }
  ASSERT_EQ(changed_rows("UPDATE bqx." + value_table +
                         " SET ta_rate_rsi_14 = 12345.5 WHERE pair = 'EURGBP' AND ts = '2024-07-10 12:00:00' "
                         "RETURNING 1"),
            1);
  ASSERT_EQ(changed_rows("DELETE FROM bqx." + row_table +
                         " WHERE pair = 'GBPUSD' AND ts = '2024-07-15 09:30:00' RETURNING 1"),
            1);
  {
    SCOPED_TRACE("edited export");
    const auto r = validate_with_postgres(dir / "s.duckdb");
    EXPECT_FALSE(r.passed());
    const auto* rows = find_check(r, "cross_store.postgres_rows");
    ASSERT_NE(rows, nullptr);
    EXPECT_FALSE(rows->passed);
    // The partition (one row fewer) and then the missing row itself.
    ASSERT_EQ(rows->failed, 2);
    EXPECT_EQ(rows->examples[0].pair, "GBPUSD");
    EXPECT_EQ(rows->examples[0].column, "bqx." + row_table);
    EXPECT_EQ(rows->examples[0].ts, month_start(make_month(2024, 7)));
    EXPECT_NE(rows->examples[0].detail.find("in the store,"), std::string::npos) << rows->examples[0].detail;
    EXPECT_EQ(rows->examples[1].pair, "GBPUSD");
    EXPECT_EQ(rows->examples[1].ts, make_epoch_minute(2024, 7, 15, 9, 30));
    EXPECT_EQ(rows->examples[1].value, "missing");

    const auto* values = find_check(r, "cross_store.postgres_values");
    ASSERT_NE(values, nullptr);
    EXPECT_FALSE(values->passed);
    ASSERT_EQ(values->failed, 2);  // the column of the partition, then the row
    EXPECT_EQ(values->examples[0].pair, "EURGBP");
    EXPECT_EQ(values->examples[0].column, "ta_rate_rsi_14");
    EXPECT_EQ(values->examples[0].ts, month_start(make_month(2024, 7)));
    EXPECT_EQ(values->examples[1].pair, "EURGBP");
    EXPECT_EQ(values->examples[1].column, "ta_rate_rsi_14");
    EXPECT_EQ(values->examples[1].ts, make_epoch_minute(2024, 7, 10, 12, 0));
    EXPECT_EQ(values->examples[1].value.rfind("12345.5", 0), 0u) << values->examples[1].value;
    // Every other check still passes: only the export was edited.
    for (const auto& c : r.checks) {
      if (c.id.rfind("cross_store.postgres", 0) != 0) {
        EXPECT_TRUE(c.passed) << c.id;
      }
    }
  }
  {
    SCOPED_TRACE("the CLI exits 1 and names the check");
    const auto r = run_bqx("validate --db s.duckdb --postgres '" + kUrl + "' --report rep", dir);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find("postgres"), std::string::npos) << r.out << r.err;
  }
}

TEST(ValidatePostgres, UnreachableServerFailsTheCheck) {
  const fs::path dir = fresh_dir("validate_postgres_down");
  const auto gen = run_bqx("generate --out data --pairs EURUSD --start 2024-07 --months 1 --seed 3", dir);
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  ASSERT_EQ(run_bqx("ingest --db s.duckdb data", dir).exit_code, 0);
  ASSERT_EQ(run_bqx("run --db s.duckdb", dir).exit_code, 0);
  validate::Options o;
  o.db = dir / "s.duckdb";
  o.postgres_url = "postgresql://postgres:secret@127.0.0.1:1/postgres";  // nothing listens on port 1
  auto r = validate::run_validation(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto* rows = find_check(*r, "cross_store.postgres_rows");
  ASSERT_NE(rows, nullptr);
  EXPECT_FALSE(rows->passed);
  ASSERT_FALSE(rows->examples.empty());
  EXPECT_NE(rows->examples[0].detail.find("127.0.0.1:1"), std::string::npos) << rows->examples[0].detail;
  EXPECT_EQ(rows->examples[0].detail.find("secret"), std::string::npos) << "password not redacted";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bqx
