// bqx validate (issue 6): clean generated data passes every check; every defect the
// generator injects is found by the right check at the right place; a deliberately broken
// store (partition deleted, a feature set to Inf, a label shifted, an export edited) fails
// the matching check.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "core/time.h"
#include "store/duckdb_conn.h"
#include "validate/validate.h"

namespace bqx {
namespace {

using testing_cli::fresh_dir;
using testing_cli::run_bqx;
using testing_cli::slurp;
namespace fs = std::filesystem;

const validate::CheckResult* find_check(const validate::Report& r, const std::string& id) {
  for (const auto& c : r.checks) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

// Runs one CLI step of the fixture and stops the test on failure.
void step(const std::string& args, const fs::path& dir) {
  const auto r = run_bqx(args, dir);
  ASSERT_EQ(r.exit_code, 0) << "bqx " << args << "\n" << r.out << r.err;
}

// A computed store (generate, ingest, run) shared by the suite: 3 pairs x 1 month.
class ValidateStore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fresh_dir("validate_store"));
    step("generate --out data --pairs EURUSD,GBPUSD,EURGBP --start 2024-07 --months 1 --seed 7", *dir_);
    step("ingest --db clean.duckdb data", *dir_);
    step("run --db clean.duckdb", *dir_);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  // A copy of the clean store, changed by `sql`.
  static fs::path broken_copy(const std::string& name, const std::string& sql) {
    const fs::path db = *dir_ / (name + ".duckdb");
    fs::copy_file(*dir_ / "clean.duckdb", db, fs::copy_options::overwrite_existing);
    if (fs::exists(*dir_ / "clean.duckdb.wal")) {
      fs::copy_file(*dir_ / "clean.duckdb.wal", db.string() + ".wal", fs::copy_options::overwrite_existing);
    }
    auto con = store::Connection::open(db);
    EXPECT_TRUE(con.ok());
    if (con.ok()) {
      auto st = con->exec(sql);
      EXPECT_TRUE(st.ok()) << st.error().message;
    }
    return db;
  }
  static validate::Report validate_db(const fs::path& db, const fs::path& parquet = {}) {
    validate::Options o;
    o.db = db;
    o.parquet_dir = parquet;
    o.max_examples = 50;
    auto r = validate::run_validation(o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : validate::Report{};
  }
  static fs::path* dir_;
  // Each breaks a copy of the store and expects the matching check to fail.
  void deleted_partition();
  void inf_feature();
  void shifted_label();
  void changed_feature();
  void parquet_export();
};
fs::path* ValidateStore::dir_ = nullptr;

TEST_F(ValidateStore, CleanStorePassesEveryCheck) {
  validate::Options o;
  o.db = *dir_ / "clean.duckdb";
  o.report_dir = *dir_ / "report";
  auto r = validate::run_validation(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  for (const auto& c : r->checks) {
    EXPECT_TRUE(c.passed) << c.id << ": " << c.failed << " failed"
                          << (c.examples.empty() ? "" : ", e.g. " + c.examples[0].column + " " + c.examples[0].value);
  }
  EXPECT_TRUE(r->passed());
  // The feature checks really ran (not skipped) and looked at every cell.
  for (const char* id : {"completeness.features", "completeness.labels", "completeness.manifest", "nulls.warmup",
                         "nulls.unexplained", "ranges.finite", "ranges.bounds", "ranges.reg_identity", "ranges.labels",
                         "point_in_time.causality", "point_in_time.batch_stream", "bars.gaps", "bars.cross_rate"}) {
    const auto* c = find_check(*r, id);
    ASSERT_NE(c, nullptr) << id;
    EXPECT_FALSE(c->skipped) << id << ": " << c->skip_reason;
    EXPECT_GT(c->checked, 0) << id;
  }
  EXPECT_EQ(find_check(*r, "ranges.finite")->checked, r->feature_rows * static_cast<int64_t>(r->columns.size()));
  const auto json = nlohmann::json::parse(slurp(*dir_ / "report" / "report.json"));
  EXPECT_EQ(json["verdict"], "pass");
  EXPECT_EQ(json["feature_rows"].get<int64_t>(), r->bars);
  EXPECT_TRUE(fs::exists(*dir_ / "report" / "report.html"));
}

void ValidateStore::deleted_partition() {
  const auto db = broken_copy("deleted", "DELETE FROM features WHERE pair = 'GBPUSD'");
  const auto r = validate_db(db);
  const auto* c = find_check(r, "completeness.features");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->passed);
  ASSERT_FALSE(c->examples.empty());
  EXPECT_EQ(c->examples[0].pair, "GBPUSD");
  EXPECT_FALSE(find_check(r, "completeness.manifest")->passed);
  EXPECT_TRUE(find_check(r, "completeness.labels")->passed);
  EXPECT_FALSE(r.passed());
}

void ValidateStore::inf_feature() {
  const auto db = broken_copy("inf", "UPDATE features SET ta_rate_rsi_14 = 'inf'::DOUBLE WHERE pair = 'EURGBP' AND "
                                     "ts = TIMESTAMP '2024-07-10 12:00:00'");
  const auto r = validate_db(db);
  const auto* c = find_check(r, "ranges.finite");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->passed);
  ASSERT_EQ(c->failed, 1);
  EXPECT_EQ(c->examples[0].pair, "EURGBP");
  EXPECT_EQ(c->examples[0].column, "ta_rate_rsi_14");
  EXPECT_EQ(c->examples[0].ts, make_epoch_minute(2024, 7, 10, 12, 0));
  EXPECT_EQ(c->examples[0].value, "inf");
  EXPECT_TRUE(find_check(r, "completeness.features")->passed);
}

void ValidateStore::shifted_label() {
  // target_ret_15 of one row takes the value of the next row of the pair.
  const auto db = broken_copy(
      "shifted",
      "UPDATE labels SET target_ret_15 = (SELECT l2.target_ret_15 FROM labels l2 WHERE l2.pair = 'EURUSD' AND "
      "l2.ts > TIMESTAMP '2024-07-17 09:30:00' ORDER BY l2.ts LIMIT 1) WHERE pair = 'EURUSD' AND ts = "
      "(SELECT min(ts) FROM labels WHERE pair = 'EURUSD' AND ts >= TIMESTAMP '2024-07-17 09:30:00')");
  const auto r = validate_db(db);
  const auto* c = find_check(r, "ranges.labels");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->passed);
  ASSERT_EQ(c->failed, 1);
  EXPECT_EQ(c->examples[0].pair, "EURUSD");
  EXPECT_EQ(c->examples[0].column, "target_ret_15");
  EXPECT_GE(c->examples[0].ts, make_epoch_minute(2024, 7, 17, 9, 30));
}

void ValidateStore::changed_feature() {
  // A value no recomputation gives: causality / batch = stream replay the first day of the month.
  const auto db = broken_copy("changed", "UPDATE features SET bqx_w15_return = bqx_w15_return + 1e-9 WHERE "
                                         "ts < TIMESTAMP '2024-07-02 06:00:00'");
  validate::Options o;
  o.db = db;
  o.causality_samples = 50;
  auto r = validate::run_validation(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto* stream = find_check(*r, "point_in_time.batch_stream");
  const auto* causal = find_check(*r, "point_in_time.causality");
  EXPECT_FALSE(stream->passed);
  EXPECT_FALSE(causal->passed);
  ASSERT_FALSE(stream->examples.empty());
  EXPECT_EQ(stream->examples[0].column, "bqx_w15_return");
}

void ValidateStore::parquet_export() {
  const fs::path out = *dir_ / "parquet";
  fs::create_directories(out);
  {
    auto con = store::Connection::open(*dir_ / "clean.duckdb");
    ASSERT_TRUE(con.ok());
    for (const std::string table : {"features", "labels"}) {
      auto st = con->exec("COPY (SELECT *, strftime(ts, '%Y-%m') AS month FROM " + table + ") TO " +
                          store::sql_quote((out / table).string()) + " (FORMAT parquet, PARTITION_BY (pair, month))");
      ASSERT_TRUE(st.ok()) << st.error().message;
    }
  }
  auto r = validate_db(*dir_ / "clean.duckdb", out);
  EXPECT_TRUE(find_check(r, "cross_store.parquet_rows")->passed);
  EXPECT_TRUE(find_check(r, "cross_store.parquet_values")->passed);
  EXPECT_GT(find_check(r, "cross_store.parquet_values")->checked, 1000);
  // Rewrite one partition with one value changed in one column.
  {
    auto con = store::Connection::open(":memory:");
    ASSERT_TRUE(con.ok());
    const auto dir = out / "features" / "pair=EURUSD" / "month=2024-07";
    ASSERT_TRUE(fs::exists(dir));
    auto st = con->exec("CREATE TABLE p AS SELECT * FROM read_parquet(" + store::sql_quote((dir / "*.parquet").string()) +
                        "); UPDATE p SET cur_eur_strength = cur_eur_strength * 2 WHERE ts = (SELECT max(ts) FROM p)");
    ASSERT_TRUE(st.ok()) << st.error().message;
    fs::remove_all(dir);
    fs::create_directories(dir);
    st = con->exec("COPY p TO " + store::sql_quote((dir / "part-0.parquet").string()) + " (FORMAT parquet)");
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  r = validate_db(*dir_ / "clean.duckdb", out);
  EXPECT_TRUE(find_check(r, "cross_store.parquet_rows")->passed);
  const auto* values = find_check(r, "cross_store.parquet_values");
  EXPECT_FALSE(values->passed);
  ASSERT_EQ(values->failed, 1);
  EXPECT_EQ(values->examples[0].column, "cur_eur_strength");
}

// One test (one `bqx run` of the fixture) for every deliberate breakage.
TEST_F(ValidateStore, BrokenStoresFailTheMatchingCheck) {
  {
    SCOPED_TRACE("features of a pair deleted");
    deleted_partition();
  }
  {
    SCOPED_TRACE("one feature set to Inf");
    inf_feature();
  }
  {
    SCOPED_TRACE("one label shifted");
    shifted_label();
  }
  {
    SCOPED_TRACE("features changed by 1e-9");
    changed_feature();
  }
  {
    SCOPED_TRACE("Parquet export equal, then one value edited");
    parquet_export();
  }
}

// ---------------------------------------------------------------------------------------
// Bar checks on generated data, 28 pairs: clean passes; --defects: every injected defect is
// found by its check at its place (recall 100 %).

const std::map<std::string, std::string> kCheckForDefect = {
    {"spike", "bars.outliers"},          {"stale_run", "bars.stale"},  {"missing_stretch", "bars.gaps"},
    {"duplicate_stretch", "bars.ingest"}, {"ohlc_violation", "bars.ohlc"},
};

TEST(ValidateBars, CleanGeneratedMarketPassesBarChecks) {
  const auto dir = fresh_dir("validate_bars_clean");
  step("generate --out data --months 1 --start 2024-07 --seed 11", dir);
  step("ingest --db s.duckdb data", dir);
  validate::Options o;
  o.db = dir / "s.duckdb";
  auto r = validate::run_validation(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  for (const auto& c : r->checks) {
    EXPECT_TRUE(c.passed) << c.id << ": " << c.failed << " failed"
                          << (c.examples.empty() ? "" : ", e.g. " + c.examples[0].pair + " " + c.examples[0].detail);
    if (c.area == "bars") {
      EXPECT_FALSE(c.skipped) << c.id;
    }
  }
  EXPECT_EQ(r->pairs.size(), 28u);
  fs::remove_all(dir);
}

TEST(ValidateBars, EveryInjectedDefectFoundByItsCheckAtItsPlace) {
  const auto dir = fresh_dir("validate_bars_defects");
  step("generate --out data --months 2 --start 2024-07 --seed 11 --defects", dir);
  step("ingest --db s.duckdb --skip-bad-rows data", dir);
  const auto truth = nlohmann::json::parse(slurp(dir / "data" / "truth.json"));
  validate::Options o;
  o.db = dir / "s.duckdb";
  o.max_examples = 100000;
  auto r = validate::run_validation(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->passed());
  size_t found = 0, total = 0;
  std::map<std::string, int> kinds;
  for (const auto& d : truth["defects"]) {
    ++total;
    const std::string kind = d["kind"], pair = d["pair"];
    ++kinds[kind];
    const auto* c = find_check(*r, kCheckForDefect.at(kind));
    ASSERT_NE(c, nullptr) << kind;
    const auto iso = [](const std::string& s) {
      return make_epoch_minute(std::stoi(s.substr(0, 4)), std::stoi(s.substr(5, 2)), std::stoi(s.substr(8, 2)),
                               std::stoi(s.substr(11, 2)), std::stoi(s.substr(14, 2)));
    };
    const EpochMinute start = iso(d["start_utc"]), end = iso(d["end_utc"]);
    bool hit = false;
    for (const auto& f : c->examples) {
      if (f.pair.find(pair) == std::string::npos || f.ts == validate::kNoTime) continue;
      const EpochMinute fe = f.end == validate::kNoTime ? f.ts : f.end;
      hit = hit || (f.ts <= end && fe >= start);
    }
    found += hit ? 1 : 0;
    EXPECT_TRUE(hit) << kind << " " << pair << " " << d["start_utc"] << " not reported by " << c->id;
  }
  EXPECT_EQ(kinds.size(), kCheckForDefect.size());  // every kind was injected
  EXPECT_EQ(found, total);
  // And nothing else: each bar check reports as many events as were injected of its kind.
  for (const auto& [kind, id] : kCheckForDefect) {
    EXPECT_EQ(find_check(*r, id)->failed, kinds[kind]) << id;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bqx
