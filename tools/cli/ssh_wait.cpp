#include "tools/cli/ssh_wait.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace banger::cli {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

// Waits for `events` on fd until `deadline`; the poll revents, 0 on timeout.
short wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n < 0 && errno == EINTR)
      continue;
    return n > 0 ? p.revents : 0;
  }
}

} // namespace

std::string probe_ssh_banner(const std::string& ip, std::uint16_t port,
                             std::chrono::milliseconds timeout) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1)
    return "'" + ip + "' is not an IPv4 address";
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return std::string("socket: ") + std::strerror(errno);
  auto deadline = Clock::now() + timeout;
  std::string why;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      && errno != EINPROGRESS) {
    why = std::strerror(errno);
  } else if (!(wait_fd(fd, POLLOUT, deadline) & (POLLOUT | POLLERR | POLLHUP))) {
    why = "no answer to connect";
  } else {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0)
      why = std::strerror(err);
  }
  // Connected: the banner is the server's first line ("SSH-2.0-...").
  std::string got;
  while (why.empty() && got.size() < 4) {
    if (!(wait_fd(fd, POLLIN, deadline) & (POLLIN | POLLHUP | POLLERR))) {
      why = "connected but no SSH banner";
      break;
    }
    char buf[64];
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n <= 0) {
      why = "connection closed before the SSH banner";
      break;
    }
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (why.empty() && got.compare(0, 4, "SSH-") != 0)
    why = "the peer on port " + std::to_string(port) + " does not speak SSH";
  return why;
}

std::string wait_for_ssh_banner(const std::string& ip, std::uint16_t port,
                                std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto attempt_start = Clock::now();
    // A silent peer (SYNs dropped while the guest's network comes up) is
    // retried every 2 s rather than waited on for the whole timeout.
    auto attempt = std::min<std::chrono::milliseconds>(
      2s, std::chrono::milliseconds(std::max(1, remaining_ms(deadline))));
    auto why = probe_ssh_banner(ip, port, attempt);
    if (why.empty() || Clock::now() >= deadline)
      return why;
    // Refused or unreachable come back at once: pace the next attempt.
    auto next = attempt_start + 200ms;
    if (next > Clock::now())
      std::this_thread::sleep_until(std::min(next, deadline));
  }
}

} // namespace banger::cli
