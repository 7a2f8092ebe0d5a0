// `bqx validate` end to end: verdict line, exit status, report files, and the HTML page
// rendered by headless Chromium (Debian's chromium, installed by scripts/install-deps.sh):
// a screenshot that is not blank and a DOM with the verdict, the heatmap and the
// failed-check table.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace bqx {
namespace {

using testing_cli::fresh_dir;
using testing_cli::run_bqx;
using testing_cli::slurp;
namespace fs = std::filesystem;

// Runs headless Chromium with a fresh profile; returns its exit status.
int chromium(const std::string& args, const fs::path& dir) {
  const fs::path profile = dir / "chromium-profile";
  fs::remove_all(profile);
  const std::string cmd = "cd '" + dir.string() +
                          "' && timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run "
                          "--disable-background-networking --disable-component-update --disable-sync --user-data-dir='" +
                          profile.string() + "' " + args + " 2>'" + (dir / "chromium.err").string() + "'";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ValidateCli, CleanBarsPassAndSayWhereTheReportIs) {
  const auto dir = fresh_dir("validate_cli_clean");
  ASSERT_EQ(run_bqx("generate --out data --pairs EURUSD,USDJPY,EURJPY --start 2024-07 --months 1 --seed 3", dir).exit_code, 0);
  ASSERT_EQ(run_bqx("ingest --db s.duckdb data", dir).exit_code, 0);
  const auto r = run_bqx("validate --db s.duckdb --report rep", dir);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("PASS: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("report: rep/report.html"), std::string::npos) << r.out;
  const auto json = nlohmann::json::parse(slurp(dir / "rep" / "report.json"));
  EXPECT_EQ(json["verdict"], "pass");
  EXPECT_EQ(json["pairs"].size(), 3u);
  fs::remove_all(dir);
}

TEST(ValidateCli, UsageErrorsAreClear) {
  const auto dir = fresh_dir("validate_cli_errors");
  auto r = run_bqx("validate --db missing.duckdb --report rep", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.duckdb: no such store"), std::string::npos) << r.err;
  ASSERT_EQ(run_bqx("generate --out data --pairs EURUSD --start 2024-07 --months 1 --seed 3", dir).exit_code, 0);
  ASSERT_EQ(run_bqx("ingest --db s.duckdb data", dir).exit_code, 0);
  r = run_bqx("validate --db s.duckdb --report rep --months 2023-01", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no bars in month 2023-01"), std::string::npos) << r.err;
  r = run_bqx("validate --db s.duckdb --report rep --pairs GBPUSD", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("pair not in the store (GBPUSD)"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

TEST(ValidateCli, DefectsFailAndTheReportRendersInChromium) {
  const auto dir = fresh_dir("validate_cli_chromium");
  ASSERT_EQ(run_bqx("generate --out data --pairs EURUSD,GBPUSD,EURGBP --start 2024-07 --months 1 --seed 7 --defects", dir)
                .exit_code,
            0);
  ASSERT_EQ(run_bqx("ingest --db s.duckdb --skip-bad-rows data", dir).exit_code, 0);
  const auto r = run_bqx("validate --db s.duckdb --report rep", dir);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("FAIL: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("bars.gaps"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("report: rep/report.html"), std::string::npos) << r.out;

  const std::string html = slurp(dir / "rep" / "report.html");
  // Self-contained: nothing is fetched from anywhere.
  for (const char* external : {"http://", "https://", "<script", "<link", "@import", "url("}) {
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  }
  // The DOM as Chromium built it.
  ASSERT_EQ(chromium("--dump-dom file://" + (dir / "rep" / "report.html").string() + " >dom.html", dir), 0)
      << slurp(dir / "chromium.err");
  const std::string dom = slurp(dir / "dom.html");
  EXPECT_NE(dom.find("id=\"verdict\" class=\"verdict fail\""), std::string::npos);
  EXPECT_NE(dom.find(">FAIL<"), std::string::npos);
  EXPECT_NE(dom.find("id=\"coverage-heatmap\""), std::string::npos);
  EXPECT_NE(dom.find("id=\"failed-checks\""), std::string::npos);
  EXPECT_NE(dom.find("data-check=\"bars.gaps\""), std::string::npos);
  EXPECT_NE(dom.find("data-check=\"bars.ohlc\""), std::string::npos);
  EXPECT_NE(dom.find("id=\"gap-calendar\""), std::string::npos);
  // Screenshot: a rendered page compresses far worse than a blank one of the same size.
  ASSERT_EQ(chromium("--screenshot=page.png --window-size=1400,2000 file://" + (dir / "rep" / "report.html").string(), dir), 0)
      << slurp(dir / "chromium.err");
  ASSERT_EQ(chromium("--screenshot=blank.png --window-size=1400,2000 about:blank", dir), 0) << slurp(dir / "chromium.err");
  const auto page = fs::file_size(dir / "page.png"), blank = fs::file_size(dir / "blank.png");
  EXPECT_EQ(slurp(dir / "page.png").substr(1, 3), "PNG");
  EXPECT_GT(page, 10 * blank) << "page " << page << " bytes, blank " << blank << " bytes";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bqx
