// What the `banger init` tests share: reading files back, modes, and running
// init_home where it must succeed.
#pragma once

#include "messages/result.hpp"
#include "tools/cli/init.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace banger::test {

namespace fs = std::filesystem;

inline std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

inline mode_t mode_of(const fs::path& path) {
  struct stat st{};
  REQUIRE_MESSAGE(::lstat(path.c_str(), &st) == 0, path.string() << " missing");
  return st.st_mode & 07777;
}

// The error text of a failed Result, "" otherwise: doctest may render a
// message even when its check passed.
template <class T>
inline std::string why(const Result<T>& result) {
  return result.ok() ? std::string{} : result.error().message;
}

inline InitReport init_ok(const InitOptions& options) {
  auto report = init_home(options);
  REQUIRE_MESSAGE(report.ok(), why(report));
  return *report;
}

// Files whose bytes must survive a re-run.
inline const char* const secret_files[] = {
  "tls/ca.pem",     "tls/ca.key",     "tls/helper.pem",     "tls/helper.key",
  "tls/daemon.pem", "tls/daemon.key", "tls/client.pem",     "tls/client.key",
  "state/helper.token", "state/ssh/id_ed25519", "state/ssh/id_ed25519.pub",
};

inline std::map<std::string, std::string> snapshot(const fs::path& home) {
  std::map<std::string, std::string> out;
  for (auto* file : secret_files)
    out[file] = slurp(home / file);
  return out;
}

} // namespace banger::test
