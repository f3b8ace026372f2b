#include "tools/fc-stub/system.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

namespace banger::fc_stub {

std::int64_t realtime_ns() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

std::int64_t monotonic_ms() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000;
}

std::string io_error_text(int error_number) {
  char buffer[256];
  // GNU strerror_r may return a static string instead of filling the buffer.
  const char* text = strerror_r(error_number, buffer, sizeof buffer);
  return std::string(text) + " (os error " + std::to_string(error_number) + ")";
}

void panic(std::string_view message) {
  std::string line = "thread 'main' panicked: ";
  line.append(message);
  line.push_back('\n');
  write_all(STDERR_FILENO, line);
  // The caller may have SIGABRT blocked (signalfd setup): make sure it lands.
  sigset_t abort_only;
  sigemptyset(&abort_only);
  sigaddset(&abort_only, SIGABRT);
  sigprocmask(SIG_UNBLOCK, &abort_only, nullptr);
  signal(SIGABRT, SIG_DFL);
  raise(SIGABRT);
  _exit(134);
}

bool write_all(int descriptor, std::string_view data) {
  while (!data.empty()) {
    ssize_t written = ::write(descriptor, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

int read_whole_file(const std::string& path, std::string& contents) {
  int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0)
    return errno;
  contents.clear();
  char chunk[65536];
  ssize_t got;
  while ((got = ::read(descriptor, chunk, sizeof chunk)) > 0)
    contents.append(chunk, static_cast<std::size_t>(got));
  ::close(descriptor);
  return 0;
}

} // namespace banger::fc_stub
