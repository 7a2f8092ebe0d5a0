#include "io/bar_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/currency.h"
#include "core/time.h"
#include "duckdb.h"

namespace bqx {
namespace {

namespace fs = std::filesystem;

const fs::path kRealFile = fs::path(BQX_TEST_DATA_DIR) / "real" / "DAT_ASCII_EURUSD_M1_202306.csv";
const EpochMinute k0500 = make_epoch_minute(2023, 6, 1, 5, 0);

// A unique scratch directory per test, removed afterwards.
class BarReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("bqx_bar_reader_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(counter++) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path write(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary);
    out << content;
    return p;
  }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Reads `content` written as `name` and expects the exact error `<path><suffix>`.
  void expect_error(const std::string& name, const std::string& content, const std::string& suffix,
                    ReadOptions options = {}) {
    const fs::path p = write(name, content);
    auto r = read_bar_file(p, options);
    ASSERT_FALSE(r.ok()) << "expected an error for " << name;
    EXPECT_EQ(r.error().message, p.string() + suffix);
  }

  BarFile read_ok(const fs::path& p, ReadOptions options = {}) {
    auto r = read_bar_file(p, options);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok()) return BarFile{};
    return std::move(r).value();
  }

  // Runs DuckDB SQL (used to write Parquet fixtures).
  static void duck_exec(const std::string& sql) {
    duckdb_database db;
    duckdb_connection con;
    ASSERT_EQ(duckdb_open(nullptr, &db), DuckDBSuccess);
    ASSERT_EQ(duckdb_connect(db, &con), DuckDBSuccess);
    duckdb_result res;
    const duckdb_state st = duckdb_query(con, sql.c_str(), &res);
    const std::string err = st == DuckDBSuccess ? "" : duckdb_result_error(&res);
    duckdb_destroy_result(&res);
    duckdb_disconnect(&con);
    duckdb_close(&db);
    ASSERT_EQ(st, DuckDBSuccess) << err << "\n" << sql;
  }

  fs::path dir_;
};

const std::string kLine1 = "20230601 000000;1.068700;1.068710;1.068530;1.068530;0";
const std::string kHistTail =
    "20230601 000100;1.068530;1.068590;1.068490;1.068500;0\n"
    "20230601 000200;1.068500;1.068560;1.068460;1.068560;0\n";
const std::string kHist = kLine1 + "\n" + kHistTail;

// ---------------------------------------------------------------------------------------
// Real file
// ---------------------------------------------------------------------------------------

TEST_F(BarReaderTest, RealHistDataFile) {
  const BarFile f = read_ok(kRealFile);
  EXPECT_EQ(f.format, BarFormat::HistData);
  EXPECT_EQ(f.path, kRealFile);
  EXPECT_EQ(f.bars.pair, *parse_pair("EURUSD"));
  ASSERT_EQ(f.bars.size(), 16752u);
  EXPECT_EQ(f.report.rows_read, 16752u);
  EXPECT_EQ(f.report.duplicates_dropped, 0u);
  EXPECT_EQ(f.report.rows_rejected, 0u);
  EXPECT_FALSE(f.report.reordered);
  EXPECT_TRUE(f.report.rejects.empty());
  EXPECT_EQ(f.bars.ts.front(), make_epoch_minute(2023, 6, 1, 5, 0));
  EXPECT_EQ(f.bars.ts.back(), make_epoch_minute(2023, 6, 23, 19, 58));  // 20230623 145800 EST
  const Bar b = f.bars.at(0);
  EXPECT_EQ(b.open, 1.0687);
  EXPECT_EQ(b.high, 1.06871);
  EXPECT_EQ(b.low, 1.06853);
  EXPECT_EQ(b.close, 1.06853);
  EXPECT_EQ(b.volume, 0.0);  // raw value kept
  EXPECT_TRUE(std::isnan(b.bid));
  EXPECT_TRUE(std::isnan(b.ask));
  for (size_t i = 1; i < f.bars.size(); ++i) ASSERT_LT(f.bars.ts[i - 1], f.bars.ts[i]);
  for (size_t i = 0; i < f.bars.size(); ++i) {
    ASSERT_LE(f.bars.low[i], f.bars.open[i]);
    ASSERT_LE(f.bars.open[i], f.bars.high[i]);
  }
}

TEST_F(BarReaderTest, RealFileTzOverride) {
  ReadOptions o;
  o.tz_offset_minutes = 0;
  const BarFile f = read_ok(kRealFile, o);
  ASSERT_EQ(f.bars.size(), 16752u);
  EXPECT_EQ(f.bars.ts.front(), make_epoch_minute(2023, 6, 1, 0, 0));
  o.tz_offset_minutes = 120;  // UTC+02:00: utc = local - 2h
  const BarFile g = read_ok(kRealFile, o);
  EXPECT_EQ(g.bars.ts.front(), make_epoch_minute(2023, 5, 31, 22, 0));
}

TEST_F(BarReaderTest, RealFileForcedFormatAndPair) {
  ReadOptions o;
  o.format = BarFormat::HistData;
  o.pair = *parse_pair("GBPUSD");
  const BarFile f = read_ok(kRealFile, o);
  EXPECT_EQ(f.bars.size(), 16752u);
  EXPECT_EQ(f.bars.pair, *parse_pair("GBPUSD"));
}

// Not a timed test: prints the throughput for information.
TEST_F(BarReaderTest, DISABLED_RealFileParse100Times) {
  const auto start = std::chrono::steady_clock::now();
  size_t total = 0;
  for (int i = 0; i < 100; ++i) total += read_ok(kRealFile).bars.size();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(total, 1675200u);
  std::printf("parsed the real file 100 times (%zu rows) in %.3f s = %.2f M rows/s\n", total, s, total / s / 1e6);
}

// ---------------------------------------------------------------------------------------
// HistData
// ---------------------------------------------------------------------------------------

TEST_F(BarReaderTest, HistDataSmall) {
  const BarFile f = read_ok(write("DAT_ASCII_USDJPY_M1_202306.csv", kHist));
  EXPECT_EQ(f.format, BarFormat::HistData);
  EXPECT_EQ(f.bars.pair, *parse_pair("USDJPY"));
  ASSERT_EQ(f.bars.size(), 3u);
  EXPECT_EQ(f.bars.ts[0], k0500);
  EXPECT_EQ(f.bars.ts[2], k0500 + 2);
  EXPECT_EQ(f.bars.close[1], 1.0685);
}

TEST_F(BarReaderTest, HistDataLastLineWithoutNewlineIsFine) {
  std::string s = kHist;
  s.pop_back();
  const BarFile f = read_ok(write("EURUSD.csv", s));
  EXPECT_EQ(f.bars.size(), 3u);
  EXPECT_EQ(f.bars.close[2], 1.06856);
}

TEST_F(BarReaderTest, HistDataVolumeKeptRaw) {
  const BarFile f = read_ok(write("EURUSD.csv", "20230601 000000;1.1;1.2;1.0;1.1;42\n20230601 000100;1.1;1.2;1.0;1.1;0\n"));
  ASSERT_EQ(f.bars.size(), 2u);
  EXPECT_EQ(f.bars.volume[0], 42.0);
  EXPECT_EQ(f.bars.volume[1], 0.0);
}

TEST_F(BarReaderTest, BomAndCrlf) {
  std::string s = "\xEF\xBB\xBF";
  s += "20230601 000000;1.068700;1.068710;1.068530;1.068530;0\r\n";
  s += "20230601 000100;1.068530;1.068590;1.068490;1.068500;0\r\n";
  s += "\r\n\r\n";
  const BarFile f = read_ok(write("EURUSD.csv", s));
  EXPECT_EQ(f.format, BarFormat::HistData);
  ASSERT_EQ(f.bars.size(), 2u);
  EXPECT_EQ(f.bars.ts[0], k0500);
  EXPECT_EQ(f.bars.close[1], 1.0685);

  std::string c = "\xEF\xBB\xBF";
  c += "Time,Open,High,Low,Close\r\n2023-06-01 05:00,1.1,1.2,1.0,1.15\r\n2023-06-01 05:01,1.1,1.2,1.0,1.15\r\n";
  const BarFile g = read_ok(write("GBPUSD.csv", c));
  EXPECT_EQ(g.format, BarFormat::Csv);
  ASSERT_EQ(g.bars.size(), 2u);
  EXPECT_EQ(g.bars.ts[1], k0500 + 1);
  EXPECT_EQ(g.bars.close[1], 1.15);
}

TEST_F(BarReaderTest, OutOfOrderRowsAreSorted) {
  const std::string s =
      "20230601 000200;1.068500;1.068560;1.068460;1.068560;0\n"
      "20230601 000000;1.068700;1.068710;1.068530;1.068530;0\n"
      "20230601 000100;1.068530;1.068590;1.068490;1.068500;0\n";
  const BarFile f = read_ok(write("EURUSD.csv", s));
  EXPECT_TRUE(f.report.reordered);
  ASSERT_EQ(f.bars.size(), 3u);
  EXPECT_EQ(f.bars.ts[0], k0500);
  EXPECT_EQ(f.bars.ts[1], k0500 + 1);
  EXPECT_EQ(f.bars.ts[2], k0500 + 2);
  EXPECT_EQ(f.bars.open[0], 1.0687);
  EXPECT_EQ(f.bars.open[2], 1.0685);
  EXPECT_FALSE(read_ok(write("EURUSD2.csv", kHist)).report.reordered);
}

TEST_F(BarReaderTest, IdenticalDuplicatesDropped) {
  const std::string s =
      "20230601 000000;1.068700;1.068710;1.068530;1.068530;0\n"
      "20230601 000100;1.068530;1.068590;1.068490;1.068500;0\n"
      "20230601 000000;1.068700;1.068710;1.068530;1.068530;0\n"
      "20230601 000100;1.06853;1.06859;1.06849;1.0685;0\n";  // same values, other spelling
  const BarFile f = read_ok(write("EURUSD.csv", s));
  EXPECT_EQ(f.bars.size(), 2u);
  EXPECT_EQ(f.report.rows_read, 4u);
  EXPECT_EQ(f.report.duplicates_dropped, 2u);
  EXPECT_TRUE(f.report.reordered);
  EXPECT_EQ(f.report.rows_rejected, 0u);
}

// ---------------------------------------------------------------------------------------
// Generic CSV
// ---------------------------------------------------------------------------------------

TEST_F(BarReaderTest, CsvTimeFormats) {
  struct Case {
    std::string text;
    EpochMinute expected;
  };
  const std::vector<Case> cases = {
      {"2023-06-01T05:00:00Z", k0500},
      {"2023-06-01T05:00:00z", k0500},
      {"2023-06-01 07:00:00+02:00", k0500},
      {"2023-06-01 00:00:00-0500", k0500},
      {"2023-06-01T07:00+02", k0500},
      {"2023-06-01T05:00", k0500},
      {"2023-06-01 05:00:00", k0500},
      {"2023-06-01T05:00:00.000", k0500},
      {"2023-06-01T05:00:00.000000Z", k0500},
      {"2023-06-01 05:00:00 UTC", k0500},
      {"2023.06.01 05:00", k0500},
      {"2023.06.01 05:00:00", k0500},
      {"2023/06/01 05:00", k0500},
      {"20230601 050000", k0500},
      {"1685595600", k0500},
      {"\"2023-06-01T05:00:00Z\"", k0500},
      {"2024-02-29 23:59", make_epoch_minute(2024, 2, 29, 23, 59)},
  };
  int i = 0;
  for (const Case& c : cases) {
    const std::string body = "time,open,high,low,close\n" + c.text + ",1.1,1.2,1.0,1.1\n";
    const BarFile f = read_ok(write("EURUSD_" + std::to_string(i++) + ".csv", body));
    ASSERT_EQ(f.bars.size(), 1u) << c.text;
    EXPECT_EQ(f.format, BarFormat::Csv);
    EXPECT_EQ(f.bars.ts[0], c.expected) << c.text;
  }
}

TEST_F(BarReaderTest, CsvDelimitersAndColumnNames) {
  const std::vector<std::string> headers = {
      "Timestamp,Open,High,Low,Close,Volume",
      " time ; OPEN ; high ; Low ; close ; tickvol ",
      "datetime\topen\thigh\tlow\tclose\ttick_volume",
      "DateTime|Open|High|Low|Close|Vol",
  };
  const std::vector<char> delims = {',', ';', '\t', '|'};
  for (size_t k = 0; k < headers.size(); ++k) {
    std::string row = "2023-06-01 05:00:00,1.1,1.2,1.0,1.15,17";
    for (char& ch : row) {
      if (ch == ',') ch = delims[k];
    }
    const BarFile f = read_ok(write("AUDUSD_" + std::to_string(k) + ".csv", headers[k] + "\n" + row + "\n"));
    ASSERT_EQ(f.bars.size(), 1u) << headers[k];
    EXPECT_EQ(f.bars.ts[0], k0500);
    EXPECT_EQ(f.bars.close[0], 1.15);
    EXPECT_EQ(f.bars.volume[0], 17.0);
    EXPECT_TRUE(std::isnan(f.bars.bid[0]));
  }
}

TEST_F(BarReaderTest, CsvOptionalColumnsAndReorderedHeader) {
  const std::string s =
      "close,ASK,low,bid,high,open,time,extra\n"
      "1.15,1.1502,1.0,1.1500,1.2,1.1,2023-06-01T05:00:00Z,x\n"
      "1.16,,1.0,,1.2,1.1,2023-06-01T05:01:00Z,y\n";
  const BarFile f = read_ok(write("EURUSD.csv", s));
  ASSERT_EQ(f.bars.size(), 2u);
  EXPECT_EQ(f.bars.open[0], 1.1);
  EXPECT_EQ(f.bars.high[0], 1.2);
  EXPECT_EQ(f.bars.low[0], 1.0);
  EXPECT_EQ(f.bars.close[0], 1.15);
  EXPECT_EQ(f.bars.bid[0], 1.15);
  EXPECT_EQ(f.bars.ask[0], 1.1502);
  EXPECT_TRUE(std::isnan(f.bars.volume[0]));
  EXPECT_TRUE(std::isnan(f.bars.bid[1]));
  EXPECT_TRUE(std::isnan(f.bars.ask[1]));
}

TEST_F(BarReaderTest, CsvDateAndTimeColumns) {
  // MetaTrader 5 export style: <DATE> <TIME> columns, tab separated.
  const std::string s =
      "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
      "2023.06.01\t05:00:00\t1.1\t1.2\t1.0\t1.15\t31\t0\t2\n"
      "2023.06.01\t05:01:00\t1.1\t1.2\t1.0\t1.15\t32\t0\t2\n";
  const BarFile f = read_ok(write("EURUSD.csv", s));
  ASSERT_EQ(f.bars.size(), 2u);
  EXPECT_EQ(f.bars.ts[0], k0500);
  EXPECT_EQ(f.bars.ts[1], k0500 + 1);
  EXPECT_EQ(f.bars.volume[1], 32.0);

  const BarFile g = read_ok(write("GBPUSD.csv", "date,time,open,high,low,close\n2023-06-01,05:00,1.1,1.2,1.0,1.15\n"));
  ASSERT_EQ(g.bars.size(), 1u);
  EXPECT_EQ(g.bars.ts[0], k0500);
}

TEST_F(BarReaderTest, CsvTzOverride) {
  const std::string s =
      "time,open,high,low,close\n2023-06-01 07:00,1.1,1.2,1.0,1.15\n2023-06-01T05:01:00Z,1.1,1.2,1.0,1.16\n";
  const fs::path p = write("EURUSD.csv", s);
  auto ts_of = [](const BarFile& f, double close) {
    for (size_t i = 0; i < f.bars.size(); ++i) {
      if (f.bars.close[i] == close) return f.bars.ts[i];
    }
    return EpochMinute{-1};
  };
  const BarFile d = read_ok(p);
  EXPECT_EQ(ts_of(d, 1.15), make_epoch_minute(2023, 6, 1, 7, 0));  // CSV default: UTC
  EXPECT_EQ(ts_of(d, 1.16), k0500 + 1);
  ReadOptions o;
  o.tz_offset_minutes = 120;
  const BarFile f = read_ok(p, o);
  ASSERT_EQ(f.bars.size(), 2u);
  EXPECT_EQ(ts_of(f, 1.15), k0500);      // local 07:00 at +02:00
  EXPECT_EQ(ts_of(f, 1.16), k0500 + 1);  // an explicit zone wins over the override
  o.tz_offset_minutes = -300;
  EXPECT_EQ(ts_of(read_ok(p, o), 1.15), make_epoch_minute(2023, 6, 1, 12, 0));
}

TEST_F(BarReaderTest, CsvPairColumn) {
  const std::string s =
      "symbol,time,open,high,low,close\n"
      "EUR/USD,2023-06-01 05:00,1.1,1.2,1.0,1.15\n"
      "EURUSD,2023-06-01 05:01,1.1,1.2,1.0,1.15\n";
  const BarFile f = read_ok(write("bars.csv", s));  // pair only from the column
  EXPECT_EQ(f.bars.pair, *parse_pair("EURUSD"));
  EXPECT_EQ(f.bars.size(), 2u);
  const BarFile g = read_ok(write("eurusd-2023.csv", s));
  EXPECT_EQ(g.bars.pair, *parse_pair("EURUSD"));
}

TEST_F(BarReaderTest, FormatDetection) {
  // A CSV whose header happens to be ';'-separated is still a CSV.
  const BarFile f = read_ok(write("EURUSD.txt", "time;open;high;low;close\n20230601 050000;1.1;1.2;1.0;1.15\n"));
  EXPECT_EQ(f.format, BarFormat::Csv);
  EXPECT_EQ(f.bars.ts[0], k0500);  // no zone: UTC for generic CSV
  // Leading blank lines do not defeat sniffing.
  const BarFile g = read_ok(write("EURUSD2.csv", "\n\n" + kHist));
  EXPECT_EQ(g.format, BarFormat::HistData);
  EXPECT_EQ(g.bars.size(), 3u);
  // Forcing CSV on a HistData file: the first line is not a header.
  ReadOptions o;
  o.format = BarFormat::Csv;
  const fs::path p = write("EURUSD3.csv", kHist);
  auto r = read_bar_file(p, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, p.string() +
                                   ":1: missing required column time (20230601 "
                                   "000000;1.068700;1.068710;1.068530;1.068530;0)");
}

// ---------------------------------------------------------------------------------------
// Pairs and inputs
// ---------------------------------------------------------------------------------------

TEST_F(BarReaderTest, PairFromFilename) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"DAT_ASCII_EURUSD_M1_202306.csv", "EURUSD"}, {"EURUSD_M1.csv", "EURUSD"},
      {"eurusd.parquet", "EURUSD"},                 {"EURUSD.csv", "EURUSD"},
      {"eurusd-2023.csv", "EURUSD"},                {"/some/dir/GBPJPY_2024-07.txt", "GBPJPY"},
      {"data_usdchf.CSV", "USDCHF"},                {"2023_audnzd_m1.csv", "AUDNZD"},
  };
  for (const auto& [name, pair] : cases) {
    auto p = pair_from_filename(name);
    ASSERT_TRUE(p.ok()) << name;
    EXPECT_EQ(pair_name(*p), pair) << name;
  }
  auto bad = pair_from_filename("dir/USDEUR_M1.csv");  // not a canonical pair
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "dir/USDEUR_M1.csv: cannot determine the pair from the file name; use --pair (USDEUR_M1.csv)");
  EXPECT_FALSE(pair_from_filename("EURUSDX.csv").ok());
  EXPECT_FALSE(pair_from_filename("bars.csv").ok());
}

TEST_F(BarReaderTest, ExpandInputs) {
  write("in/b/GBPUSD.csv", kHist);
  write("in/a/EURUSD.CSV", kHist);
  write("in/a/z/USDJPY.txt", kHist);
  write("in/c.parquet", "");
  write("in/notes.json", "{}");
  write("in/README", "x");
  const fs::path single = write("single.dat", kHist);
  auto r = expand_inputs({dir_ / "in", single});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::vector<fs::path> expected = {dir_ / "in/a/EURUSD.CSV", dir_ / "in/a/z/USDJPY.txt",
                                          dir_ / "in/b/GBPUSD.csv", dir_ / "in/c.parquet", single};
  EXPECT_EQ(*r, expected);

  const fs::path missing = dir_ / "nope";
  auto m = expand_inputs({dir_ / "in", missing});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message, missing.string() + ": no such file or directory");
}

// ---------------------------------------------------------------------------------------
// Validation errors: exact messages, and no BarFile
// ---------------------------------------------------------------------------------------

TEST_F(BarReaderTest, ErrorEmptyFile) {
  expect_error("EURUSD.csv", "", ": empty file");
  expect_error("EURUSD2.csv", "\n\r\n  \n", ": empty file");
  expect_error("EURUSD3.csv", "\xEF\xBB\xBF", ": empty file");
  ReadOptions o;
  o.format = BarFormat::Csv;
  expect_error("EURUSD4.csv", "", ": empty file", o);
}

TEST_F(BarReaderTest, ErrorHeaderOnly) {
  expect_error("EURUSD.csv", "time,open,high,low,close\n", ": no data rows");
  expect_error("EURUSD2.csv", "time,open,high,low,close\n\n\n", ": no data rows");
}

TEST_F(BarReaderTest, ErrorMissingColumn) {
  expect_error("EURUSD.csv", "time,open,high,close\n2023-06-01 05:00,1,1,1\n",
               ":1: missing required column low (time,open,high,close)");
  expect_error("EURUSD2.csv", "when,open,high,low,close\n2023-06-01 05:00,1,1,1,1\n",
               ":1: missing required column time (when,open,high,low,close)");
}

TEST_F(BarReaderTest, ErrorLongValuesAreCut) {
  const std::string junk(300, 'x');
  expect_error("EURUSD.csv", junk + "\n1,2\n", ":1: missing required column time (" + junk.substr(0, 200) + "...)");
}

TEST_F(BarReaderTest, ErrorWrongColumnCount) {
  expect_error("EURUSD.csv",
               "20230601 000000;1.068700;1.068710;1.068530;1.068530;0\n"
               "20230601 000100;1.068530;1.068590;1.068490;0\n"
               "20230601 000200;1.068500;1.068560;1.068460;1.068560;0\n",
               ":2: wrong column count: expected 6, got 5 (20230601 000100;1.068530;1.068590;1.068490;0)");
  expect_error("EURUSD2.csv", "time,open,high,low,close\n2023-06-01 05:00,1.1,1.2,1.0,1.1,7\n2023-06-01 05:01,1.1,1.2,1.0,1.1\n",
               ":2: wrong column count: expected 5, got 6 (2023-06-01 05:00,1.1,1.2,1.0,1.1,7)");
}

TEST_F(BarReaderTest, ErrorNonNumeric) {
  expect_error("EURUSD.csv",
               "20230601 000000;1.068700;1.068710;1.068530;1.068530;0\n"
               "20230601 000100;1.068530;abc;1.068490;1.068500;0\n"
               "20230601 000200;1.068500;1.068560;1.068460;1.068560;0\n",
               ":2: non-numeric value in column high (abc)");
  expect_error("EURUSD2.csv", "time,open,high,low,close\n2023-06-01 05:00,1.1,1.2,,1.1\n2023-06-01 05:01,1.1,1.2,1.0,1.1\n",
               ":2: non-numeric value in column low ()");
  expect_error("EURUSD3.csv", "20230601 000000;1.0687x;1.068710;1.068530;1.068530;0\n" + kHistTail,
               ":1: non-numeric value in column open (1.0687x)");
  expect_error("EURUSD4.csv", "20230601 000000;1.068700;1.068710;1.068530;1.068530;many\n" + kHistTail,
               ":1: non-numeric value in column volume (many)");
}

TEST_F(BarReaderTest, ErrorNonFinite) {
  expect_error("EURUSD.csv", "20230601 000000;nan;1.068710;1.068530;1.068530;0\n" + kHistTail,
               ":1: non-finite value in column open (nan)");
  expect_error("EURUSD2.csv", "20230601 000000;1.068700;inf;1.068530;1.068530;0\n" + kHistTail,
               ":1: non-finite value in column high (inf)");
  expect_error("EURUSD3.csv", "time,open,high,low,close,volume\n2023-06-01 05:00,1.1,1.2,1.0,1.1,-Infinity\n",
               ":2: non-finite value in column volume (-Infinity)");
  expect_error("EURUSD4.csv", "time,open,high,low,close\n2023-06-01 05:00,1.1,1e999,1.0,1.1\n",
               ":2: non-finite value in column high (1e999)");
}

TEST_F(BarReaderTest, ErrorNonPositivePrice) {
  expect_error("EURUSD.csv", kHist + "20230601 000300;0;1.068710;1.068530;1.068530;0\n",
               ":4: non-positive price in column open (0)");
  expect_error("EURUSD2.csv", "time,open,high,low,close\n2023-06-01 05:00,-1.1,-1.0,-1.2,-1.1\n",
               ":2: non-positive price in column open (-1.1)");
  expect_error("EURUSD3.csv", "time,open,high,low,close,bid,ask\n2023-06-01 05:00,1.1,1.2,1.0,1.1,0.0,1.1\n",
               ":2: non-positive price in column bid (0.0)");
}

TEST_F(BarReaderTest, ErrorHighBelowLow) {
  expect_error("EURUSD.csv", "20230601 000000;1.068700;1.068500;1.068710;1.068600;0\n",
               ":1: high < low (1.068500 < 1.068710)");
}

TEST_F(BarReaderTest, ErrorOpenOrCloseOutsideRange) {
  expect_error("EURUSD.csv", "20230601 000000;1.068800;1.068710;1.068530;1.068530;0\n",
               ":1: open outside [low, high] (1.068800 not in [1.068530, 1.068710])");
  expect_error("EURUSD2.csv", kHist + "20230601 000300;1.068600;1.068710;1.068530;1.068500;0\n",
               ":4: close outside [low, high] (1.068500 not in [1.068530, 1.068710])");
}

TEST_F(BarReaderTest, ErrorUnparseableTime) {
  expect_error("EURUSD.csv", kHist + "20231301 000300;1.068600;1.068710;1.068530;1.068600;0\n",
               ":4: unparseable time (20231301 000300)");
  expect_error("EURUSD2.csv", "20230631 000000;1.068600;1.068710;1.068530;1.068600;0\n",
               ":1: unparseable time (20230631 000000)");
  expect_error("EURUSD3.csv", "time,open,high,low,close\n2023-06-01 05:00,1.1,1.2,1.0,1.1\nyesterday,1.1,1.2,1.0,1.1\n",
               ":3: unparseable time (yesterday)");
  expect_error("EURUSD4.csv", "time,open,high,low,close\n2023-06-01 25:00,1.1,1.2,1.0,1.1\n",
               ":2: unparseable time (2023-06-01 25:00)");
  expect_error("EURUSD5.csv", "time,open,high,low,close\n2023-06-01 05:00+2:00,1.1,1.2,1.0,1.1\n",
               ":2: unparseable time (2023-06-01 05:00+2:00)");
  expect_error("EURUSD6.csv", "time,open,high,low,close\n12345678,1.1,1.2,1.0,1.1\n",
               ":2: unparseable time (12345678)");
}

TEST_F(BarReaderTest, ErrorTimeNotOnMinute) {
  expect_error("EURUSD.csv", "20230601 000030;1.068600;1.068710;1.068530;1.068600;0\n",
               ":1: time not on a minute boundary (20230601 000030)");
  expect_error("EURUSD2.csv", "time,open,high,low,close\n2023-06-01T05:00:00.500Z,1.1,1.2,1.0,1.1\n",
               ":2: time not on a minute boundary (2023-06-01T05:00:00.500Z)");
  expect_error("EURUSD3.csv", "time,open,high,low,close\n1685595601,1.1,1.2,1.0,1.1\n",
               ":2: time not on a minute boundary (1685595601)");
  expect_error("EURUSD4.csv", "time,open,high,low,close\n2023.06.01 05:00:59,1.1,1.2,1.0,1.1\n",
               ":2: time not on a minute boundary (2023.06.01 05:00:59)");
}

TEST_F(BarReaderTest, ErrorDuplicateWithDifferentValues) {
  expect_error("EURUSD.csv",
               kHist + "20230601 000100;1.068530;1.068590;1.068490;1.068510;0\n",
               ":4: duplicate timestamp with different values from line 2 (20230601 000100)");
  expect_error("EURUSD2.csv",
               "time,open,high,low,close\n2023-06-01 05:00,1.1,1.2,1.0,1.1\n2023-06-01T07:00+02:00,1.1,1.2,1.0,1.15\n",
               ":3: duplicate timestamp with different values from line 2 (2023-06-01T07:00+02:00)");
}

TEST_F(BarReaderTest, ErrorUnknownPair) {
  expect_error("bars.csv", kHist, ": cannot determine the pair from the file name; use --pair (bars.csv)");
  expect_error("EURUSD.csv", "pair,time,open,high,low,close\nEURUSD,2023-06-01 05:00,1.1,1.2,1.0,1.1\nXAUUSD,2023-06-01 05:01,1.1,1.2,1.0,1.1\n",
               ":3: unknown pair (XAUUSD)");
  expect_error("EURUSD2.csv", "pair,time,open,high,low,close\nGBPUSD,2023-06-01 05:00,1.1,1.2,1.0,1.1\n",
               ":2: pair does not match the file's pair EURUSD (GBPUSD)");
  expect_error("bars2.csv", "time,open,high,low,close\n2023-06-01 05:00,1.1,1.2,1.0,1.1\n",
               ": cannot determine the pair from the file name; use --pair (bars2.csv)");
  // --pair rescues a file name without a pair.
  ReadOptions o;
  o.pair = *parse_pair("NZDUSD");
  EXPECT_EQ(read_ok(write("bars3.csv", kHist), o).bars.pair, *parse_pair("NZDUSD"));
}

TEST_F(BarReaderTest, ErrorTruncatedLastLine) {
  expect_error("EURUSD.csv", kHist + "20230601 000300;1.068600;1.06",
               ":4: truncated last line (20230601 000300;1.068600;1.06)");
  expect_error("EURUSD2.csv", kHist + "20230601 000300;1.068600;1.068710;1.068530;1.",
               ":4: truncated last line (20230601 000300;1.068600;1.068710;1.068530;1.)");
  expect_error("EURUSD3.csv", kHist + "2023060",
               ":4: truncated last line (2023060)");
  expect_error("EURUSD4.csv", "time,open,high,low,close\n2023-06-01 05:00,1.1,1.2,1.0,1.1\n2023-06-01 05:01,1.1,1.",
               ":3: truncated last line (2023-06-01 05:01,1.1,1.)");
  expect_error("EURUSD5.csv", "time,open,high,low,close\n2023-06-01 05:00,1.1,1.2,1.0,1.1\n2023-06-01 05:01,1.1,1.2,1.0,1.1e",
               ":3: truncated last line (2023-06-01 05:01,1.1,1.2,1.0,1.1e)");
  // The same row with its newline is an ordinary column-count error.
  expect_error("EURUSD6.csv", kHist + "20230601 000300;1.068600;1.06\n",
               ":4: wrong column count: expected 6, got 3 (20230601 000300;1.068600;1.06)");
}

TEST_F(BarReaderTest, ErrorNegativeVolume) {
  expect_error("EURUSD.csv", "20230601 000000;1.068700;1.068710;1.068530;1.068530;-3\n",
               ":1: negative volume (-3)");
}

TEST_F(BarReaderTest, ErrorLineNumbersCountBlankLines) {
  expect_error("EURUSD.csv", "\n" + kLine1 + "\n\n20230601 000100;1.068530;x;1.068490;1.068500;0\n",
               ":4: non-numeric value in column high (x)");
}

TEST_F(BarReaderTest, ErrorMissingFile) {
  const fs::path p = dir_ / "EURUSD.csv";
  auto r = read_bar_file(p, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, p.string() + ": cannot open file (No such file or directory)");
}

// ---------------------------------------------------------------------------------------
// skip_bad_rows
// ---------------------------------------------------------------------------------------

TEST_F(BarReaderTest, SkipBadRowsQuarantines) {
  const std::string s =
      "20230601 000000;1.068700;1.068710;1.068530;1.068530;0\n"   // 1 ok
      "20230601 000100;1.068530;abc;1.068490;1.068500;0\n"        // 2 non-numeric
      "20230601 000200;1.068500;1.068560;1.068460;1.068560;0\n"   // 3 ok
      "20230601 000230;1.068500;1.068560;1.068460;1.068560;0\n"   // 4 not on minute
      "20230601 000000;1.068700;1.068710;1.068530;1.068599;0\n"   // 5 dup of 1, different
      "20230601 000300;1.068500;1.068400;1.068460;1.068560;0\n"   // 6 high < low
      "20230601 000400;1.068500;1.068560;1.068460;1.068560;-1\n"  // 7 negative volume
      "20230601 000500;1.068500;1.068560;1.068460;1.068560;0\n"   // 8 ok
      "20230601 000600;1.0685";                                   // 9 truncated
  const fs::path p = write("EURUSD.csv", s);
  const fs::path rej = dir_ / "EURUSD.rejects.csv";
  ReadOptions o;
  o.skip_bad_rows = true;
  o.reject_path = rej;
  const BarFile f = read_ok(p, o);
  ASSERT_EQ(f.bars.size(), 3u);
  EXPECT_EQ(f.bars.ts[0], k0500);
  EXPECT_EQ(f.bars.close[0], 1.06853);  // the first of the conflicting duplicates is kept
  EXPECT_EQ(f.bars.ts[1], k0500 + 2);
  EXPECT_EQ(f.bars.ts[2], k0500 + 5);
  EXPECT_EQ(f.report.rows_read, 9u);
  EXPECT_EQ(f.report.rows_rejected, 6u);
  EXPECT_TRUE(f.report.reordered);
  const std::string ps = p.string();
  const std::vector<std::string> expected = {
      ps + ":2: non-numeric value in column high (abc)",
      ps + ":4: time not on a minute boundary (20230601 000230)",
      ps + ":5: duplicate timestamp with different values from line 1 (20230601 000000)",
      ps + ":6: high < low (1.068400 < 1.068460)",
      ps + ":7: negative volume (-1)",
      ps + ":9: truncated last line (20230601 000600;1.0685)",
  };
  EXPECT_EQ(f.report.rejects, expected);
  const std::string file = slurp(rej);
  const std::string expected_file =
      "2\t" + expected[0] + "\t20230601 000100;1.068530;abc;1.068490;1.068500;0\n" +
      "4\t" + expected[1] + "\t20230601 000230;1.068500;1.068560;1.068460;1.068560;0\n" +
      "5\t" + expected[2] + "\t20230601 000000;1.068700;1.068710;1.068530;1.068599;0\n" +
      "6\t" + expected[3] + "\t20230601 000300;1.068500;1.068400;1.068460;1.068560;0\n" +
      "7\t" + expected[4] + "\t20230601 000400;1.068500;1.068560;1.068460;1.068560;-1\n" +
      "9\t" + expected[5] + "\t20230601 000600;1.0685\n";
  EXPECT_EQ(file, expected_file);
}

TEST_F(BarReaderTest, SkipBadRowsNoRejectsNoFile) {
  const fs::path rej = dir_ / "r.tsv";
  ReadOptions o;
  o.skip_bad_rows = true;
  o.reject_path = rej;
  const BarFile f = read_ok(write("EURUSD.csv", kHist), o);
  EXPECT_EQ(f.bars.size(), 3u);
  EXPECT_EQ(f.report.rows_rejected, 0u);
  EXPECT_FALSE(fs::exists(rej));
  // Without a reject path the rejects are only reported.
  ReadOptions q;
  q.skip_bad_rows = true;
  const BarFile g = read_ok(write("EURUSD2.csv", kHist + "20230601 000300;x;1;1;1;0\n"), q);
  EXPECT_EQ(g.bars.size(), 3u);
  EXPECT_EQ(g.report.rows_rejected, 1u);
  ASSERT_EQ(g.report.rejects.size(), 1u);
}

TEST_F(BarReaderTest, SkipBadRowsStructuralStillFatal) {
  ReadOptions o;
  o.skip_bad_rows = true;
  o.reject_path = dir_ / "rej.tsv";
  expect_error("EURUSD.csv", "", ": empty file", o);
  expect_error("EURUSD2.csv", "time,open,high,low,close\n", ": no data rows", o);
  expect_error("bars.csv", kHist, ": cannot determine the pair from the file name; use --pair (bars.csv)", o);
  expect_error("EURUSD3.csv", "pair,time,open,high,low,close\nEURUSD,2023-06-01 05:00,1.1,1.2,1.0,1.1\nXAUUSD,2023-06-01 05:01,1.1,1.2,1.0,1.1\n",
               ":3: unknown pair (XAUUSD)", o);
  expect_error("EURUSD4.csv", "open,high,low,close\n1,1,1,1\n", ":1: missing required column time (open,high,low,close)", o);
  // Every row rejected: no bars is an error, but the rejects are still written.
  expect_error("EURUSD5.csv", "20230601 000000;x;1;1;1;0\n", ": no valid data rows (1 rejected)", o);
  EXPECT_TRUE(fs::exists(dir_ / "rej.tsv"));
}

// ---------------------------------------------------------------------------------------
// Parquet
// ---------------------------------------------------------------------------------------

TEST_F(BarReaderTest, ParquetRoundTrip) {
  const fs::path csv = write("EURUSD.csv",
                             "time,open,high,low,close,volume,bid,ask\n"
                             "2023-06-01T05:00:00Z,1.1,1.2,1.0,1.15,3,1.15,1.1502\n"
                             "2023-06-01T05:02:00Z,1.15,1.25,1.05,1.2,4,1.2,1.2001\n"
                             "2023-06-01T05:01:00Z,1.12,1.22,1.02,1.17,5,1.17,1.1701\n");
  const BarFile from_csv = read_ok(csv);
  ASSERT_EQ(from_csv.bars.size(), 3u);

  // Write the same bars with each supported time representation.
  const std::string base =
      "SELECT * FROM (VALUES "
      "(TIMESTAMP '2023-06-01 05:00:00', 1.1, 1.2, 1.0, 1.15, 3, 1.15, 1.1502),"
      "(TIMESTAMP '2023-06-01 05:02:00', 1.15, 1.25, 1.05, 1.2, 4, 1.2, 1.2001),"
      "(TIMESTAMP '2023-06-01 05:01:00', 1.12, 1.22, 1.02, 1.17, 5, 1.17, 1.1701)) "
      "t(ts, o, h, l, c, v, b, a)";
  const std::vector<std::pair<std::string, std::string>> shapes = {
      {"timestamp", "ts AS \"Timestamp\""},
      {"timestamptz", "CAST(ts AS TIMESTAMPTZ) AS time"},
      {"varchar", "strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS datetime"},
      {"epoch", "CAST(epoch(ts) AS BIGINT) AS time"},
      {"timestamp_ms", "CAST(ts AS TIMESTAMP_MS) AS time"},
  };
  for (const auto& [label, time_expr] : shapes) {
    const fs::path pq = dir_ / ("eurusd_" + label + ".parquet");
    duck_exec("COPY (SELECT " + time_expr +
              ", CAST(o AS DOUBLE) AS Open, CAST(h AS DOUBLE) AS high, CAST(l AS FLOAT) AS low, "
              "CAST(c AS DECIMAL(10,5)) AS close, CAST(v AS INTEGER) AS tick_volume, CAST(b AS DOUBLE) AS bid, "
              "CAST(a AS DOUBLE) AS ask FROM (" +
              base + ")) TO '" + pq.string() + "' (FORMAT parquet)");
    const BarFile f = read_ok(pq);
    EXPECT_EQ(f.format, BarFormat::Parquet) << label;
    EXPECT_EQ(f.bars.pair, *parse_pair("EURUSD"));
    ASSERT_EQ(f.bars.size(), 3u) << label;
    EXPECT_TRUE(f.report.reordered) << label;
    EXPECT_EQ(f.bars.ts, from_csv.bars.ts) << label;
    EXPECT_EQ(f.bars.open, from_csv.bars.open) << label;
    EXPECT_EQ(f.bars.high, from_csv.bars.high) << label;
    EXPECT_EQ(f.bars.close, from_csv.bars.close) << label;
    EXPECT_EQ(f.bars.volume, from_csv.bars.volume) << label;
    EXPECT_EQ(f.bars.bid, from_csv.bars.bid) << label;
    EXPECT_EQ(f.bars.ask, from_csv.bars.ask) << label;
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(f.bars.low[i], static_cast<double>(static_cast<float>(from_csv.bars.low[i])));
  }

  // Naive timestamps honour the tz override; zoned ones do not.
  ReadOptions o;
  o.tz_offset_minutes = -300;
  EXPECT_EQ(read_ok(dir_ / "eurusd_timestamp.parquet", o).bars.ts[0], k0500 + 300);
  EXPECT_EQ(read_ok(dir_ / "eurusd_timestamptz.parquet", o).bars.ts[0], k0500);
}

TEST_F(BarReaderTest, ParquetErrors) {
  const fs::path pq = dir_ / "gbpusd.parquet";
  duck_exec("COPY (SELECT * FROM (VALUES "
            "(TIMESTAMP '2023-06-01 05:00:00', 1.1, 1.2, 1.0, 1.15),"
            "(TIMESTAMP '2023-06-01 05:01:00', 1.1, 1.0, 1.2, 1.15)) t(time, open, high, low, close)) TO '" +
            pq.string() + "' (FORMAT parquet)");
  auto r = read_bar_file(pq, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, pq.string() + ":2: high < low (1 < 1.2)");

  const fs::path secs = dir_ / "usdjpy_secs.parquet";
  duck_exec("COPY (SELECT TIMESTAMP '2023-06-01 05:00:30' AS time, 150.0 AS open, 151.0 AS high, 149.0 AS low, "
            "150.5 AS close) TO '" + secs.string() + "' (FORMAT parquet)");
  auto s = read_bar_file(secs, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, secs.string() + ":1: time not on a minute boundary (2023-06-01 05:00:30)");

  const fs::path nul = dir_ / "usdjpy_null.parquet";
  duck_exec("COPY (SELECT TIMESTAMP '2023-06-01 05:00:00' AS time, NULL::DOUBLE AS open, 151.0 AS high, 149.0 AS low, "
            "150.5 AS close) TO '" + nul.string() + "' (FORMAT parquet)");
  auto n = read_bar_file(nul, {});
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().message, nul.string() + ":1: missing value in column open (NULL)");

  const fs::path nan = dir_ / "usdjpy_nan.parquet";
  duck_exec("COPY (SELECT TIMESTAMP '2023-06-01 05:00:00' AS time, 150.0 AS open, 151.0 AS high, 149.0 AS low, "
            "'nan'::DOUBLE AS close) TO '" + nan.string() + "' (FORMAT parquet)");
  auto q = read_bar_file(nan, {});
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().message, nan.string() + ":1: non-finite value in column close (nan)");

  const fs::path empty = dir_ / "usdjpy_empty.parquet";
  duck_exec("COPY (SELECT TIMESTAMP '2023-06-01 05:00:00' AS time, 1.0 AS open, 1.0 AS high, 1.0 AS low, "
            "1.0 AS close LIMIT 0) TO '" + empty.string() + "' (FORMAT parquet)");
  auto e = read_bar_file(empty, {});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, empty.string() + ": no data rows");

  const fs::path zero = write("usdjpy_zero.parquet", "");
  auto z = read_bar_file(zero, {});
  ASSERT_FALSE(z.ok());
  EXPECT_EQ(z.error().message, zero.string() + ": empty file");

  const fs::path junk = write("usdjpy_junk.parquet", "not parquet\n");
  auto j = read_bar_file(junk, {});
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().message.rfind(junk.string() + ": cannot read Parquet (", 0), 0u) << j.error().message;

  const fs::path nopair = dir_ / "bars.parquet";
  duck_exec("COPY (SELECT TIMESTAMP '2023-06-01 05:00:00' AS time, 1.0 AS open, 1.0 AS high, 1.0 AS low, "
            "1.0 AS close) TO '" + nopair.string() + "' (FORMAT parquet)");
  auto np = read_bar_file(nopair, {});
  ASSERT_FALSE(np.ok());
  EXPECT_EQ(np.error().message,
            nopair.string() + ": cannot determine the pair from the file name; use --pair (bars.parquet)");
}

TEST_F(BarReaderTest, ParquetSkipBadRowsAndPairColumn) {
  const fs::path pq = dir_ / "bars.parquet";
  duck_exec("COPY (SELECT * FROM (VALUES "
            "('EURUSD', '2023-06-01 05:00', '1.1', 1.2, 1.0, 1.15),"
            "('EURUSD', '2023-06-01 05:01', 'x', 1.2, 1.0, 1.15),"
            "('EURUSD', '2023-06-01 05:02', '1.1', 1.2, 1.0, 1.15),"
            "('EURUSD', '2023-06-01 05:00', '1.1', 1.2, 1.0, 1.16)) t(symbol, time, open, high, low, close)) TO '" +
            pq.string() + "' (FORMAT parquet)");
  ReadOptions o;
  o.skip_bad_rows = true;
  o.reject_path = dir_ / "rej.tsv";
  const BarFile f = read_ok(pq, o);
  EXPECT_EQ(f.bars.pair, *parse_pair("EURUSD"));
  ASSERT_EQ(f.bars.size(), 2u);
  EXPECT_EQ(f.bars.close[0], 1.15);
  const std::vector<std::string> expected = {
      pq.string() + ":2: non-numeric value in column open (x)",
      pq.string() + ":4: duplicate timestamp with different values from line 1 (2023-06-01T05:00:00Z)",
  };
  EXPECT_EQ(f.report.rejects, expected);
  EXPECT_EQ(slurp(dir_ / "rej.tsv"), "2\t" + expected[0] + "\t2023-06-01 05:01,x,1.2,1,1.15,EURUSD\n4\t" + expected[1] +
                                         "\t2023-06-01T05:00:00Z,1.1,1.2,1,1.16\n");
}

}  // namespace
}  // namespace bqx
