// Ingest throughput: parsing HistData files and appending bars to DuckDB.
// The end-to-end figure (28 pairs x 12 months through `bqx ingest`) comes from
// bench/ingest_e2e.sh; these isolate the two halves.
#include <benchmark/benchmark.h>

#include <cstdio>

#include "io/bar_reader.h"
#include "store/bar_store.h"

namespace {

const std::string kReal = std::string(BQX_SOURCE_DIR) + "/tests/data/real/DAT_ASCII_EURUSD_M1_202306.csv";

double checksum(const bqx::BarFrame& f) {
  double s = 0;
  for (size_t i = 0; i < f.size(); ++i) s += f.close[i] + static_cast<double>(f.ts[i] % 1000);
  return s;
}

void BM_ParseHistData(benchmark::State& state) {
  double sum = 0;
  size_t rows = 0;
  for (auto _ : state) {
    auto file = bqx::read_bar_file(kReal, {});
    if (!file) state.SkipWithError(file.error().message.c_str());
    rows += file->bars.size();
    sum = checksum(file->bars);
  }
  state.SetItemsProcessed(static_cast<int64_t>(rows));
  state.counters["checksum"] = sum;
}
BENCHMARK(BM_ParseHistData)->Unit(benchmark::kMillisecond);

void BM_StoreBars(benchmark::State& state) {
  auto file = bqx::read_bar_file(kReal, {});
  size_t rows = 0;
  int64_t stored = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto con = bqx::store::Connection::open("");
    (void)bqx::store::ensure_schema(*con);
    state.ResumeTiming();
    auto r = bqx::store::ingest_bars(*con, *file);
    if (!r) state.SkipWithError(r.error().message.c_str());
    rows += file->bars.size();
    stored = *con->query_int("SELECT count(*) FROM bars");
  }
  state.SetItemsProcessed(static_cast<int64_t>(rows));
  state.counters["stored_rows"] = static_cast<double>(stored);
}
BENCHMARK(BM_StoreBars)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
