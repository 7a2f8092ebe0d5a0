#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "io/generator.h"

namespace bqx::cli {

void register_generate(CLI::App& app, int* exit_code) {
  struct Opts {
    std::string out, pairs = "all", start = "2024-07";
    int months = 1;
    uint64_t seed = 42;
    bool defects = false;
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("generate", "Write a synthetic 28-pair market as HistData M1 files (+ truth.json)");
  cmd->add_option("--out", opts->out, "Output directory")->required();
  cmd->add_option("--pairs", opts->pairs, "all or a comma-separated list, e.g. EURUSD,GBPUSD")->capture_default_str();
  cmd->add_option("--start", opts->start, "First month, YYYY-MM")->capture_default_str();
  cmd->add_option("--months", opts->months, "Number of months")->capture_default_str()->check(CLI::Range(1, 600));
  cmd->add_option("--seed", opts->seed, "Random seed (same seed, same bytes)")->capture_default_str();
  cmd->add_flag("--defects", opts->defects, "Also inject data defects (spikes, stale runs, holes, ...)");
  cmd->callback([opts, exit_code] {
    GeneratorOptions g;
    auto pairs = parse_pair_list(opts->pairs);
    if (!pairs) {
      *exit_code = fail(pairs.error().message);
      return;
    }
    auto start = parse_month(opts->start);
    if (!start) {
      *exit_code = fail(start.error().message);
      return;
    }
    g.pairs = *pairs;
    g.start = *start;
    g.months = opts->months;
    g.seed = opts->seed;
    g.defects = opts->defects;
    const auto t0 = std::chrono::steady_clock::now();
    // One month at a time: memory stays at one month's bars whatever --months is.
    auto written = generate_to_dir(g, opts->out);
    if (!written) {
      *exit_code = fail(written.error().message);
      return;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("generated %zu pairs x %d month(s) from %s (seed %llu): %zu files, %zu bars, %zu mispricings%s in %.1f s -> %s\n",
                g.pairs.size(), g.months, format_month(g.start).c_str(), static_cast<unsigned long long>(g.seed),
                written->files, written->bars, written->mispricings,
                g.defects ? (", " + std::to_string(written->defects) + " defects").c_str() : "", secs,
                opts->out.c_str());
    *exit_code = 0;
  });
}

}  // namespace bqx::cli
