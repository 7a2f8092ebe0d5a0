// `bqx features`: the store-free path. Bar files in, one feature row per input bar out.
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "cli/commands.h"
#include "engine/pair_engine.h"
#include "features/labels.h"
#include "features/registry.h"
#include "io/bar_merge.h"
#include "io/bar_reader.h"
#include "store/feature_writer.h"

namespace bqx::cli {
namespace {

struct FeaturesOpts {
  std::vector<std::string> in;
  std::string out;
  std::string mode = "batch";
  std::string families;
  std::string tz_offset;
  std::string format = "auto";
  std::string pair;
  bool labels = false;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

int run_features(const FeaturesOpts& o) {
  if (o.mode != "batch" && o.mode != "stream") return fail("--mode must be batch or stream (" + o.mode + ")");
  ReadOptions ro;
  auto format = parse_bar_format(o.format);
  if (!format) return fail(format.error().message);
  ro.format = *format;
  if (!o.tz_offset.empty()) {
    auto tz = parse_tz_offset(o.tz_offset);
    if (!tz) return fail(tz.error().message);
    ro.tz_offset_minutes = *tz;
  }
  if (!o.pair.empty()) {
    auto p = parse_pair(o.pair);
    if (!p) return fail(p.error().message);
    ro.pair = *p;
  }
  auto paths = expand_inputs(std::vector<std::filesystem::path>(o.in.begin(), o.in.end()));
  if (!paths) return fail(paths.error().message);
  if (paths->empty()) return fail("no input files (.csv, .txt, .parquet) found");

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::future<Result<BarFile>>> futures;
  for (const auto& p : *paths) futures.push_back(std::async(std::launch::async, [p, ro] { return read_bar_file(p, ro); }));
  std::vector<BarFile> files;
  for (auto& f : futures) {
    auto file = f.get();
    if (!file) return fail(file.error().message);
    files.push_back(std::move(*file));
  }
  auto frames = merge_by_pair(files);
  if (!frames) return fail(frames.error().message);

  const std::vector<std::string> families = split_list(o.families);
  // Columns come from a probe engine (same families for every pair).
  auto probe = PairEngine::create((*frames)[0].pair, 1.0, families);
  if (!probe) return fail(probe.error().message);
  std::vector<std::string> columns;
  for (const auto& c : probe->columns()) columns.push_back(c.name);
  const size_t width = columns.size();
  size_t label_width = 0;
  if (o.labels) {
    for (const auto& c : features::label_columns()) columns.push_back(c.name);
    label_width = features::label_columns().size();
  }
  auto sink = store::open_feature_sink(o.out, columns, {{"bqx_catalogue_version", features::kCatalogueVersion}});
  if (!sink) return fail(sink.error().message);

  size_t rows = 0;
  std::vector<double> row(width + label_width);
  for (const BarFrame& frame : *frames) {
    // B_p: the close of the pair's first input bar (FEATURES.md section 0).
    const double baseline = frame.close[0];
    auto engine = PairEngine::create(frame.pair, baseline, families);
    if (!engine) return fail(engine.error().message);
    std::vector<double> labels;
    if (o.labels) labels = features::compute_labels(frame, baseline);
    if (o.mode == "batch") {
      std::vector<double> matrix;
      engine->run(frame, 0, frame.size(), matrix);
      for (size_t i = 0; i < frame.size(); ++i) {
        std::copy_n(matrix.data() + i * width, width, row.data());
        if (label_width) std::copy_n(labels.data() + i * label_width, label_width, row.data() + width);
        if (auto st = (*sink)->write(frame.pair, frame.ts[i], row.data()); !st) return fail(st.error().message);
      }
    } else {
      // Streaming: one bar in, one row out, written immediately.
      for (size_t i = 0; i < frame.size(); ++i) {
        engine->step(frame.at(i), row.data());
        if (label_width) std::copy_n(labels.data() + i * label_width, label_width, row.data() + width);
        if (auto st = (*sink)->write(frame.pair, frame.ts[i], row.data()); !st) return fail(st.error().message);
      }
    }
    rows += frame.size();
  }
  if (auto st = (*sink)->finish(); !st) return fail(st.error().message);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "bqx: wrote %zu rows x %zu feature columns%s for %zu pair(s) to %s (%s mode, %.2f s)\n", rows,
               width, o.labels ? (" + " + std::to_string(label_width) + " labels").c_str() : "", frames->size(),
               o.out.c_str(), o.mode.c_str(), secs);
  return 0;
}

}  // namespace

void register_features(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<FeaturesOpts>();
  auto* cmd = app.add_subcommand("features", "Compute features from bar files without a store (CSV or Parquet out)");
  cmd->add_option("--in", o->in, "Bar files or directories (same rules as `bqx ingest`)")->required();
  cmd->add_option("--out", o->out, "Output FILE.csv or FILE.parquet")->required();
  cmd->add_option("--mode", o->mode, "batch (whole series) or stream (bar by bar); identical output")
      ->capture_default_str();
  cmd->add_option("--families", o->families, "Comma-separated families (default: all)");
  cmd->add_flag("--labels", o->labels, "Append the label columns (look-ahead targets) after the features");
  cmd->add_option("--tz-offset", o->tz_offset, "UTC offset of zone-less times (default: -05:00 HistData, UTC CSV)");
  cmd->add_option("--format", o->format, "auto|histdata|csv|parquet")->capture_default_str();
  cmd->add_option("--pair", o->pair, "Pair of every input (default: from each file name)");
  cmd->callback([o, exit_code] { *exit_code = run_features(*o); });
}

}  // namespace bqx::cli
