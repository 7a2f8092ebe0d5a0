#include <cstdio>

#include "cli/commands.h"
#include "features/catalog.h"

namespace bqx::cli {

void register_catalog(CLI::App& app, int* exit_code) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("catalog", "Print the feature catalogue (Markdown, or JSON with --json)");
  cmd->add_flag("--json", *json, "JSON: every column with family, formula, parameters, lookback, unit, source");
  cmd->callback([json, exit_code] {
    const std::string text = *json ? features::catalog_json() : features::catalog_markdown();
    std::fwrite(text.data(), 1, text.size(), stdout);
    *exit_code = 0;
  });
}

}  // namespace bqx::cli
