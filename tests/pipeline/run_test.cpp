// `bqx run` end to end: equal to `bqx features` bit for bit, independent of the worker
// count, resumable after kill -9 at random moments, incremental, retried on failure.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "cli_runner.h"
#include "features/registry.h"
#include "pipeline/pipeline.h"
#include "store/feature_store.h"
#include "store/pipeline_store.h"

namespace bqx {
namespace {

namespace fs = std::filesystem;
using testing_cli::fresh_dir;
using testing_cli::run_bqx;

// 3 pairs forming one triangle (EURUSD, GBPUSD, EURGBP), two months, the first
// kRowsPerFile minutes of each generated file: small enough to kill and resume often.
constexpr int kRowsPerFile = 5000;

// Every test runs in its own process (gtest_discover_tests), so the generated data and
// the reference run are made once per build of bqx and shared through a cache directory
// guarded by an exclusive file lock.
fs::path cache_dir() {
  std::error_code ec;
  const auto stamp = fs::last_write_time(BQX_BINARY, ec).time_since_epoch().count();
  return fs::temp_directory_path() / ("bqx_test_pipeline_cache_" + std::to_string(stamp));
}

struct CacheLock {
  int fd;
  CacheLock() {
    fs::create_directories(cache_dir());
    fd = ::open((cache_dir() / "lock").c_str(), O_CREAT | O_RDWR, 0644);
    flock(fd, LOCK_EX);
  }
  ~CacheLock() {
    flock(fd, LOCK_UN);
    ::close(fd);
  }
};

fs::path data_dir() {
  static const fs::path dir = [] {
    CacheLock lock;
    const fs::path d = cache_dir() / "data";
    if (fs::exists(d / "ready")) return d;
    fs::remove_all(d);
    fs::create_directories(d);
    const auto r = run_bqx("generate --out gen --pairs EURUSD,GBPUSD,EURGBP --start 2024-07 --months 2 --seed 7", d);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    fs::create_directories(d / "month1");
    fs::create_directories(d / "month2");
    for (const auto& entry : fs::directory_iterator(d / "gen")) {
      if (entry.path().extension() != ".csv") continue;
      const std::string name = entry.path().filename().string();
      std::ifstream in(entry.path());
      const fs::path out_dir = d / (name.find("202407") != std::string::npos ? "month1" : "month2");
      std::ofstream out(out_dir / name);
      std::string line;
      for (int i = 0; i < kRowsPerFile && std::getline(in, line); ++i) out << line << '\n';
    }
    std::ofstream(d / "ready") << "ok\n";
    return d;
  }();
  return dir;
}

std::string ingest_all() {
  return "ingest --db store.duckdb '" + (data_dir() / "month1").string() + "' '" + (data_dir() / "month2").string() + "'";
}

fs::path make_store(const std::string& name) {
  const fs::path dir = fresh_dir(name);
  const auto r = run_bqx(ingest_all(), dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir;
}

// Removes a test's directory (stores are hundreds of MB) when the test ends.
struct RemoveOnExit {
  fs::path dir;
  ~RemoveOnExit() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

using Manifest = std::map<std::string, std::string>;  // "kind pair month" -> "rows checksum complete"

Manifest read_manifest(const fs::path& db) {
  auto con = store::Connection::open(db);
  EXPECT_TRUE(con) << con.error().message;
  auto t = con->query("SELECT kind, pair, month, rows, checksum, complete FROM manifest ORDER BY ALL");
  EXPECT_TRUE(t) << t.error().message;
  Manifest m;
  for (const auto& row : t->rows) {
    m[*row[0] + " " + *row[1] + " " + *row[2]] = *row[3] + " " + *row[4] + " " + *row[5];
  }
  return m;
}

// Every manifest entry matches the rows actually stored, and no (pair, ts) repeats.
void expect_store_consistent(const fs::path& db) {
  auto con = store::Connection::open(db);
  ASSERT_TRUE(con) << con.error().message;
  for (const char* table : {"features", "labels"}) {
    auto dups = con->query_int(std::string("SELECT count(*) - count(DISTINCT (pair, ts)) FROM ") + table);
    ASSERT_TRUE(dups) << dups.error().message;
    EXPECT_EQ(*dups, 0) << table << " has duplicate (pair, ts)";
    auto missing = con->query_int(std::string("SELECT count(*) FROM bars b ANTI JOIN ") + table +
                                  " t ON t.pair = b.pair AND t.ts = b.ts");
    ASSERT_TRUE(missing) << missing.error().message;
    EXPECT_EQ(*missing, 0) << "bars without a " << table << " row";
  }
  auto t = con->query("SELECT kind, pair, month, rows, checksum FROM manifest");
  ASSERT_TRUE(t);
  ASSERT_FALSE(t->rows.empty());
  for (const auto& row : t->rows) {
    const auto pair = parse_pair(*row[1]);
    const auto month = parse_month(*row[2]);
    ASSERT_TRUE(pair && month);
    int64_t rows = 0;
    auto sum = store::stored_partition_checksum(*con, *row[0], *pair, *month, &rows);
    ASSERT_TRUE(sum) << sum.error().message;
    EXPECT_EQ(*sum, *row[4]) << *row[0] << " " << *row[1] << " " << *row[2];
    EXPECT_EQ(std::to_string(rows), *row[3]) << *row[0] << " " << *row[1] << " " << *row[2];
  }
}

// The uninterrupted reference run, computed once per build (see cache_dir()).
const Manifest& reference() {
  static const Manifest m = [] {
    data_dir();
    CacheLock lock;
    const fs::path saved = cache_dir() / "reference_manifest.txt";
    Manifest result;
    if (fs::exists(saved)) {
      std::ifstream in(saved);
      std::string key, value;
      while (std::getline(in, key) && std::getline(in, value)) result[key] = value;
      return result;
    }
    const fs::path dir = make_store("pipeline_reference");
    RemoveOnExit cleanup{dir};
    const auto r = run_bqx("run --db store.duckdb --workers 2", dir);
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
    expect_store_consistent(dir / "store.duckdb");
    result = read_manifest(dir / "store.duckdb");
    std::ofstream out(saved);
    for (const auto& [key, value] : result) out << key << '\n' << value << '\n';
    return result;
  }();
  return m;
}

TEST(PipelineRun, ManifestCoversEveryPartitionAndMatchesStoredRows) {
  const Manifest& m = reference();
  // 3 pairs x 2 months x (features, labels).
  EXPECT_EQ(m.size(), 12u);
  for (const auto& [key, value] : m) EXPECT_NE(value.find(' '), std::string::npos) << key;
  // The last month's labels run past the data; every other label partition is complete.
  EXPECT_EQ(m.at("labels EURUSD 2024-07").substr(m.at("labels EURUSD 2024-07").rfind(' ') + 1), "true");
  EXPECT_EQ(m.at("labels EURUSD 2024-08").substr(m.at("labels EURUSD 2024-08").rfind(' ') + 1), "false");
}

TEST(PipelineRun, EqualsFeaturesCommandBitForBit) {
  const fs::path dir = make_store("pipeline_vs_features");
  RemoveOnExit cleanup{dir};
  auto r = run_bqx("run --db store.duckdb", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_bqx("features --labels --out f.parquet --in '" + (data_dir() / "month1").string() + "' '" +
                  (data_dir() / "month2").string() + "'",
              dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto con = store::Connection::open(dir / "store.duckdb");
  ASSERT_TRUE(con);
  std::string label_list;
  for (const auto& c : store::label_column_names()) label_list += (label_list.empty() ? "" : ", ") + c;
  const std::string parquet = "read_parquet(" + store::sql_quote((dir / "f.parquet").string()) + ")";
  ASSERT_TRUE(con->exec("CREATE TEMP VIEW cli_features AS SELECT * EXCLUDE (" + label_list + ") FROM " + parquet));
  ASSERT_TRUE(con->exec("CREATE TEMP VIEW cli_labels AS SELECT pair, ts, " + label_list + " FROM " + parquet));
  auto rows = con->query_int("SELECT count(*) FROM " + parquet);
  auto stored = con->query_int("SELECT count(*) FROM features");
  ASSERT_TRUE(rows && stored);
  EXPECT_EQ(*rows, *stored);
  // Bit-exact: the checksum of the CLI's rows per partition equals the pipeline's manifest.
  const Manifest m = read_manifest(dir / "store.duckdb");
  ASSERT_EQ(m.size(), 12u);
  for (const auto& [key, value] : m) {
    std::istringstream k(key);
    std::string kind, pair, month;
    k >> kind >> pair >> month;
    int64_t n = 0;
    auto sum = store::stored_partition_checksum(*con, kind == "features" ? "cli_features" : "cli_labels",
                                                *parse_pair(pair), *parse_month(month), &n);
    ASSERT_TRUE(sum) << sum.error().message;
    EXPECT_EQ(std::to_string(n) + " " + *sum, value.substr(0, value.rfind(' '))) << key;
  }
}

TEST(PipelineRun, WorkerCountDoesNotChangeResults) {
  const fs::path dir = make_store("pipeline_one_worker");
  RemoveOnExit cleanup{dir};
  const auto r = run_bqx("run --db store.duckdb --workers 1", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_manifest(dir / "store.duckdb"), reference());
}

TEST(PipelineRun, RerunOfFinishedJobDoesNothing) {
  const fs::path dir = make_store("pipeline_rerun");
  RemoveOnExit cleanup{dir};
  ASSERT_EQ(run_bqx("run --db store.duckdb", dir).exit_code, 0);
  const auto r = run_bqx("run --db store.duckdb", dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("nothing to do"), std::string::npos) << r.out;
  const auto forced = run_bqx("run --db store.duckdb --force --months 2024-08", dir);
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.out.find("1 computed"), std::string::npos) << forced.out;
  EXPECT_EQ(read_manifest(dir / "store.duckdb"), reference());
  expect_store_consistent(dir / "store.duckdb");
}

TEST(PipelineRun, ResumesAfterKillNineAtRandomMoments) {
  const fs::path dir = make_store("pipeline_kill");
  RemoveOnExit cleanup{dir};
  const fs::path db = dir / "store.duckdb";
  std::mt19937 rng(20261128);  // fixed: the moments are reproducible
  std::uniform_int_distribution<int> delay_ms(50, 4000);
  int killed = 0;
  for (int attempt = 0; attempt < 10; ++attempt) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (chdir(dir.c_str()) != 0) _exit(127);
      const int null_fd = ::open("/dev/null", O_WRONLY);
      dup2(null_fd, 1);
      dup2(null_fd, 2);
      execl(BQX_BINARY, BQX_BINARY, "run", "--db", "store.duckdb", static_cast<char*>(nullptr));
      _exit(127);
    }
    const int delay = delay_ms(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    killed += ::kill(pid, SIGKILL) == 0 ? 1 : 0;
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status)) {
      ASSERT_EQ(WEXITSTATUS(status), 0) << "run finished by itself with an error";
    }
  }
  EXPECT_GT(killed, 0);
  const auto r = run_bqx("run --db store.duckdb", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_manifest(db), reference());
  expect_store_consistent(db);
}

TEST(PipelineRun, NewMonthExtendsTheStoreIncrementally) {
  const fs::path dir = fresh_dir("pipeline_incremental");
  RemoveOnExit cleanup{dir};
  auto r = run_bqx("ingest --db store.duckdb '" + (data_dir() / "month1").string() + "'", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_bqx("run --db store.duckdb", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Manifest partial = read_manifest(dir / "store.duckdb");
  EXPECT_EQ(partial.at("labels EURUSD 2024-07").substr(partial.at("labels EURUSD 2024-07").rfind(' ') + 1), "false");
  r = run_bqx("ingest --db store.duckdb '" + (data_dir() / "month2").string() + "'", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_bqx("run --db store.duckdb", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 computed, 1 already done"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 earlier label partitions completed"), std::string::npos) << r.out;
  EXPECT_EQ(read_manifest(dir / "store.duckdb"), reference());
  expect_store_consistent(dir / "store.duckdb");
}

TEST(PipelineRun, FailingMonthIsRetriedThenReportedWithNothingWritten) {
  const fs::path dir = make_store("pipeline_failure");
  RemoveOnExit cleanup{dir};
  {
  auto con = store::Connection::open(dir / "store.duckdb");
  ASSERT_TRUE(con);
  auto store = store::open_pipeline_store(*con);
  ASSERT_TRUE(store) << store.error().message;
  const MonthId august = *parse_month("2024-08");

  // Fails once: the retry succeeds.
  pipeline::RunOptions options;
  options.before_commit = [&](MonthId month, int attempt) -> Status {
    if (month == august && attempt == 1) return make_error("injected failure");
    return Status::Ok();
  };
  auto summary = pipeline::run(**store, options);
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_TRUE(summary->failure.empty()) << summary->failure;
  EXPECT_EQ(summary->retries, 1);

  // Fails every time: reported with its cause, nothing of the month written.
  options.force = true;
  options.months = {august};
  options.before_commit = [&](MonthId month, int) -> Status {
    if (month == august) return make_error("disk on fire");
    return Status::Ok();
  };
  summary = pipeline::run(**store, options);
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_NE(summary->failure.find("2024-08: disk on fire"), std::string::npos) << summary->failure;
  EXPECT_EQ(summary->partitions_failed, 6u);
  }
  // The failed forced recompute rolled back: the earlier result is intact.
  EXPECT_EQ(read_manifest(dir / "store.duckdb"), reference());
  expect_store_consistent(dir / "store.duckdb");
}

}  // namespace
}  // namespace bqx
