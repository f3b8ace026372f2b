// The few system calls the guest agent needs, as small wrappers: an owned
// file descriptor, errors that keep errno and what failed, running a helper
// program to its end. Standard library and libc only (the agent is static).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace banger::guest {

/// A file descriptor closed on destruction.
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1);
  int release() { return std::exchange(fd_, -1); }

private:
  int fd_ = -1;
};

/// What failed: an errno value (0 when it is not a system error) and a
/// sentence naming the call and the path or program involved.
struct Failure {
  std::uint32_t code = 0;
  std::string message;
};

/// `what: strerror(errno)`, with errno.
Failure system_failure(const std::string& what, int error);

bool set_nonblocking(int fd);

/// Writes all of `data` to a blocking descriptor (retrying EINTR).
bool write_all(int fd, std::string_view data);

/// Replaces `path` by a file holding `content` (temp file, fsync, rename).
std::optional<Failure> replace_file(const std::string& path, std::string_view content,
                                    mode_t mode = 0644);

/// `bytes` random bytes as lowercase hex.
std::string random_hex(std::size_t bytes);

/// The first line of a small text file, without its newline; "" when it
/// cannot be read.
std::string read_first_line(const std::string& path);

/// Whether `path` is an executable file.
bool is_executable(const std::string& path);

/// Runs argv (argv[0] an absolute path) to its end with stdin from
/// /dev/null and stdout and stderr on the agent's stderr; a failure when it
/// cannot start or does not exit 0.
std::optional<Failure> run_program(const std::vector<std::string>& argv);

/// What a child needs before exec: the signal mask and the dispositions
/// the agent changed for itself restored to their defaults.
void reset_signals_in_child();

} // namespace banger::guest
