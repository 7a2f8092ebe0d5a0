// The bqx command line: each command registers its options and runs library code.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "io/bar_reader.h"

namespace bqx::cli {

// Each register_* adds a subcommand whose callback stores its exit status in *exit_code.
void register_generate(CLI::App& app, int* exit_code);
void register_ingest(CLI::App& app, int* exit_code);
void register_status(CLI::App& app, int* exit_code);
void register_features(CLI::App& app, int* exit_code);
void register_catalog(CLI::App& app, int* exit_code);
void register_run(CLI::App& app, int* exit_code);
void register_export(CLI::App& app, int* exit_code);
void register_validate(CLI::App& app, int* exit_code);

// The reader options shared by `ingest` and `features` (--format, --tz-offset, --pair).
Result<ReadOptions> make_read_options(const std::string& format, const std::string& tz_offset,
                                      const std::string& pair);

// Prints "bqx: <message>" to stderr and returns the failure exit status.
int fail(const std::string& message);

}  // namespace bqx::cli
