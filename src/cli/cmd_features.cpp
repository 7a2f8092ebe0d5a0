// `bqx features`: the store-free path. Bar files in, one feature row per input bar out.
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <thread>

#include "cli/commands.h"
#include "engine/market_engine.h"
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
  auto read_options = make_read_options(o.format, o.tz_offset, o.pair);
  if (!read_options) return fail(read_options.error().message);
  ReadOptions ro = *read_options;
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

  // Output columns: every catalogue column, or those of the requested families.
  const std::vector<std::string> families = split_list(o.families);
  const auto all_columns = features::all_feature_columns();
  std::vector<size_t> selected;
  for (const auto& fam : families) {
    if (std::none_of(all_columns.begin(), all_columns.end(), [&](const auto& c) { return c.family == fam; })) {
      std::string known;
      for (const auto& c : all_columns) {
        if (known.find("," + c.family + ",") == std::string::npos && known.rfind(c.family + ",", 0) != 0) known += c.family + ",";
      }
      return fail("unknown feature family (" + fam + "); known: " + known.substr(0, known.size() - 1));
    }
  }
  std::vector<std::string> columns;
  for (size_t i = 0; i < all_columns.size(); ++i) {
    if (families.empty() || std::find(families.begin(), families.end(), all_columns[i].family) != families.end()) {
      selected.push_back(i);
      columns.push_back(all_columns[i].name);
    }
  }
  const size_t width = columns.size();
  size_t label_width = 0;
  if (o.labels) {
    for (const auto& c : features::label_columns()) columns.push_back(c.name);
    label_width = features::label_columns().size();
  }
  auto sink = store::open_feature_sink(o.out, columns, {{"bqx_catalogue_version", features::kCatalogueVersion}});
  if (!sink) return fail(sink.error().message);

  // B_p: the close of each pair's first input bar (FEATURES.md section 0).
  std::vector<PairSetup> universe;
  std::map<int, std::pair<const BarFrame*, std::vector<double>>> labels;  // per pair slot
  for (const BarFrame& frame : *frames) {
    universe.push_back(PairSetup{frame.pair, frame.close[0]});
    if (o.labels) labels[pair_index(frame.pair)] = {&frame, features::compute_labels(frame, frame.close[0])};
  }
  std::map<int, size_t> next_row;  // per pair slot: index of its next bar (for labels)
  size_t rows = 0;
  std::vector<double> out(width + label_width);
  auto emit = [&](Pair pair, EpochMinute ts, const double* row) -> Status {
    for (size_t k = 0; k < width; ++k) out[k] = row[selected[k]];
    if (label_width) {
      const int slot = pair_index(pair);
      const size_t i = next_row[slot]++;
      std::copy_n(labels[slot].second.data() + i * label_width, label_width, out.data() + width);
    }
    ++rows;
    return (*sink)->write(pair, ts, out.data());
  };
  auto engine = MarketEngine::create(universe);
  if (!engine) return fail(engine.error().message);
  if (o.mode == "batch") {
    if (auto st = run_market(*engine, *frames, emit); !st) return fail(st.error().message);
  } else {
    // Streaming: the bars of each minute are fed as they would arrive live, and every row
    // is written as soon as it is produced.
    std::vector<size_t> pos(frames->size(), 0);
    std::vector<PairBar> minute;
    RowBuffer produced;  // the engine writes every column: no zero-fill
    std::vector<Pair> produced_pairs;
    for (;;) {
      EpochMinute g = INT64_MAX;
      for (size_t f = 0; f < frames->size(); ++f) {
        if (pos[f] < (*frames)[f].size()) g = std::min(g, (*frames)[f].ts[pos[f]]);
      }
      if (g == INT64_MAX) break;
      minute.clear();
      for (size_t f = 0; f < frames->size(); ++f) {
        if (pos[f] < (*frames)[f].size() && (*frames)[f].ts[pos[f]] == g) minute.push_back(PairBar{(*frames)[f].pair, (*frames)[f].at(pos[f]++)});
      }
      produced.clear();
      produced_pairs.clear();
      if (auto st = engine->step(g, minute, produced, produced_pairs); !st) return fail(st.error().message);
      for (size_t r = 0; r < produced_pairs.size(); ++r) {
        if (auto st = emit(produced_pairs[r], g, produced.data() + r * engine->width()); !st) return fail(st.error().message);
      }
    }
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
