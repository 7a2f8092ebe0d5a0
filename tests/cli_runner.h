// Runs the bqx binary for end-to-end tests, capturing exit status, stdout and stderr.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace bqx::testing_cli {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The directories fresh_dir made; removed when the test program exits (stores and
// Parquet outputs reach hundreds of MB), kept when BQX_KEEP_TEST_DIRS is set for debugging.
struct ScratchDirs {
  std::vector<std::filesystem::path> dirs;
  ~ScratchDirs() {
    if (std::getenv("BQX_KEEP_TEST_DIRS")) return;
    for (const auto& d : dirs) {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  }
};
inline ScratchDirs& scratch_dirs() {
  static ScratchDirs dirs;
  return dirs;
}

// A fresh, empty directory under the system temp dir, unique per test.
inline std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("bqx_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  scratch_dirs().dirs.push_back(dir);
  return dir;
}

inline CommandResult run_bqx(const std::string& args, const std::filesystem::path& workdir) {
  const auto out = workdir / "_stdout.txt";
  const auto err = workdir / "_stderr.txt";
  const std::string cmd = "cd '" + workdir.string() + "' && '" + std::string(BQX_BINARY) + "' " + args + " >'" +
                          out.string() + "' 2>'" + err.string() + "'";
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

inline void write_file(const std::filesystem::path& p, const std::string& content) {
  std::ofstream f(p, std::ios::binary);
  f << content;
}

}  // namespace bqx::testing_cli
