// Runs the real `banger` binary (and friends) for the CLI tests: captured
// stdout/stderr, exit code, wall time, and a hard deadline so a hanging CLI
// fails the test instead of blocking it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace banger::test {

struct RunResult {
  int exit_code = -1; ///< -1: killed at the deadline
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
  std::chrono::milliseconds cpu{0}; ///< user + system time of the process, all threads
};

RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
              std::chrono::milliseconds deadline = std::chrono::seconds(30));

/// `BANGER_BIN` plus `args`.
RunResult run_banger(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                 std::chrono::milliseconds deadline = std::chrono::seconds(30));

/// The error code of a failed command run with -o json ("" if none).
std::string error_code(const RunResult& r);

/// The whole file ("" if it cannot be read).
std::string read_file(const std::string& path);

} // namespace banger::test
