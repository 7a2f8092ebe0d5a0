// bqx: the command line only parses arguments and calls the library (DESIGN.md).
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"bqx - point-in-time-correct FX feature engine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "bqx 0.1.0");
  int exit_code = 0;
  bqx::cli::register_generate(app, &exit_code);
  bqx::cli::register_ingest(app, &exit_code);
  bqx::cli::register_status(app, &exit_code);
  bqx::cli::register_run(app, &exit_code);
  bqx::cli::register_features(app, &exit_code);
  bqx::cli::register_export(app, &exit_code);
  bqx::cli::register_validate(app, &exit_code);
  bqx::cli::register_catalog(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}

namespace bqx::cli {

Result<ReadOptions> make_read_options(const std::string& format, const std::string& tz_offset,
                                      const std::string& pair) {
  ReadOptions ro;
  auto f = parse_bar_format(format);
  if (!f) return f.error();
  ro.format = *f;
  if (!tz_offset.empty()) {
    auto tz = parse_tz_offset(tz_offset);
    if (!tz) return tz.error();
    ro.tz_offset_minutes = *tz;
  }
  if (!pair.empty()) {
    auto p = parse_pair(pair);
    if (!p) return p.error();
    ro.pair = *p;
  }
  return ro;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "bqx: %s\n", message.c_str());
  return 1;
}
}  // namespace bqx::cli
