#include "tools/guest-agent/sys.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace banger::guest {

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other)
    reset(other.release());
  return *this;
}

void Fd::reset(int fd) {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = fd;
}

Failure system_failure(const std::string& what, int error) {
  return Failure{static_cast<std::uint32_t>(error), what + ": " + std::strerror(error)};
}

bool set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<Failure> replace_file(const std::string& path, std::string_view content,
                                    mode_t mode) {
  auto temp = path + ".banger-new";
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd)
    return system_failure("creating " + temp, errno);
  if (!write_all(fd.get(), content) || ::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0) {
    auto failure = system_failure("writing " + temp, errno);
    ::unlink(temp.c_str());
    return failure;
  }
  fd.reset();
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    auto failure = system_failure("renaming " + temp + " to " + path, errno);
    ::unlink(temp.c_str());
    return failure;
  }
  return std::nullopt;
}

std::string random_hex(std::size_t bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string raw(bytes, '\0');
  std::size_t filled = 0;
  while (filled < bytes) {
    auto got = ::getrandom(raw.data() + filled, bytes - filled, 0);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      // Without getrandom (kernels before 3.17) the agent has no safe
      // source of ids at all; the kernels banger boots all have it.
      std::abort();
    }
    filled += static_cast<std::size_t>(got);
  }
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string read_first_line(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return {};
  char buffer[256];
  auto n = ::read(fd.get(), buffer, sizeof buffer);
  if (n <= 0)
    return {};
  std::string line(buffer, static_cast<std::size_t>(n));
  return line.substr(0, line.find('\n'));
}

bool is_executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

void reset_signals_in_child() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  ::signal(SIGCHLD, SIG_DFL);
}

std::optional<Failure> run_program(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0)
    return system_failure("fork for " + argv[0], errno);
  if (pid == 0) {
    reset_signals_in_child();
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0)
      ::dup2(null, 0);
    ::dup2(2, 1);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return system_failure("waiting for " + argv[0], errno);
  }
  std::string line;
  for (const auto& a : argv)
    line += (line.empty() ? "" : " ") + a;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return std::nullopt;
  if (WIFEXITED(status))
    return Failure{0, line + ": exited with " + std::to_string(WEXITSTATUS(status))};
  return Failure{0, line + ": killed by signal " + std::to_string(WTERMSIG(status))};
}

} // namespace banger::guest
