// Real child processes for integration tests: spawn with pipes, read lines
// with deadlines, signal, reap. No sleeps: every wait polls a condition with a
// deadline.
#pragma once

#include "tests/support/skip.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace banger::test {

class Child {
public:
  /// Starts argv[0] with the given extra environment ("KEY=VALUE"), stdin and
  /// stdout as pipes; stderr is inherited unless `stderr_path` is set.
  static Child spawn(const std::vector<std::string>& argv,
                     const std::vector<std::string>& extra_env = {},
                     const std::string& stderr_path = "");

  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  /// Kills (SIGKILL) and reaps a child that is still running.
  ~Child();

  pid_t pid() const { return pid_; }

  /// Next line of stdout, or nullopt on EOF or when the deadline passes.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);

  /// Closes the child's stdin (many test peers exit on EOF).
  void close_stdin();

  void signal(int sig);

  /// Waits for exit; returns the raw wait status, nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  bool running();

private:
  Child() = default;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  bool reaped_ = false;
};

/// Polls `condition` until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10),
                std::chrono::milliseconds step = std::chrono::milliseconds(5));

/// A fresh temporary directory removed (recursively) on destruction.
class TempDir {
public:
  explicit TempDir(const std::string& prefix = "banger-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

/// A plain TCP connection to 127.0.0.1:`port` (REQUIREs that it connects).
int tcp_connect(std::uint16_t port);

/// VmRSS of `pid` in KiB, from /proc; -1 if unreadable.
long rss_kib(pid_t pid);

} // namespace banger::test
