#include "tests/e2e/http_probe.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <stdexcept>

namespace banger::test {

namespace {

/// The listening socket, made in the calling thread's network namespace.
int listen_on(const std::string& address, std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (fd < 0 || ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1
      || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::listen(fd, 16) != 0) {
    if (fd >= 0)
      ::close(fd);
    return -1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

} // namespace

HttpProbe::HttpProbe(const std::string& address, std::string body, const std::string& netns)
    : address_(address), body_(std::move(body)) {
  std::promise<std::uint16_t> ready;
  auto port = ready.get_future();
  // The namespace is entered by the server thread only (setns affects the
  // calling thread): the test's own sockets stay in the host's.
  thread_ = std::thread([this, netns, address, ready = std::move(ready)]() mutable {
    if (!netns.empty()) {
      int ns = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
      bool entered = ns >= 0 && ::setns(ns, CLONE_NEWNET) == 0;
      if (ns >= 0)
        ::close(ns);
      if (!entered) {
        ready.set_value(0);
        return;
      }
    }
    std::uint16_t bound = 0;
    int listener = listen_on(address, bound);
    ready.set_value(listener < 0 ? 0 : bound);
    if (listener >= 0)
      serve(listener);
  });
  port_ = port.get();
  if (port_ == 0) {
    thread_.join();
    FAIL("cannot listen on " << address << (netns.empty() ? "" : " in netns " + netns));
  }
}

HttpProbe::~HttpProbe() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
}

std::string HttpProbe::url() const {
  return "http://" + address_ + ":" + std::to_string(port_) + "/";
}

std::vector<std::string> HttpProbe::peers() {
  std::lock_guard lock(mutex_);
  return peers_;
}

void HttpProbe::serve(int listener) {
  while (!stop_) {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0)
      continue; // the stop flag is checked every 50 ms
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    int conn = ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (conn < 0)
      continue;
    // The request up to its blank line, bounded in size and time.
    std::string request;
    char buf[1024];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16384) {
      pollfd c{conn, POLLIN, 0};
      if (::poll(&c, 1, 5000) <= 0)
        break;
      auto n = ::read(conn, buf, sizeof buf);
      if (n <= 0)
        break;
      request.append(buf, static_cast<std::size_t>(n));
    }
    std::string response = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                           + std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n"
                           + body_;
    [[maybe_unused]] auto written = ::write(conn, response.data(), response.size());
    ::close(conn);
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
    std::lock_guard lock(mutex_);
    peers_.push_back(text);
  }
  ::close(listener);
}

} // namespace banger::test
