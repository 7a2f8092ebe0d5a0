// Placeholder registration: replaced by the real command (work in progress on this branch).
#include "cli/commands.h"

namespace bqx::cli {

void register_validate(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("validate", "(not available yet)");
  cmd->allow_extras();
  cmd->callback([exit_code] { *exit_code = fail("bqx validate is not available in this build yet"); });
}

}  // namespace bqx::cli
