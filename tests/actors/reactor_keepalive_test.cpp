// The reactor's HTTP calls to a VMM's API socket keep one connection, as
// Firecracker's micro_http does: calls after the first reuse it, the
// connection that found the socket up is the first call's, and a kept
// connection the VMM closed is replaced without the caller noticing.
#include "actors/reactor.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <future>
#include <thread>

using namespace banger;
using namespace std::chrono_literals;

namespace {

constexpr const char* no_content = "HTTP/1.1 204 \r\nServer: Firecracker API\r\n"
                                   "Connection: keep-alive\r\n\r\n";

/// An API socket that answers `requests` GETs with 204 (keep-alive), on as
/// many connections as the client makes. With `drop_second`, the first
/// connection's second request is not answered: the server closes the
/// connection instead (a VMM that closed a kept connection).
class ApiSocket {
public:
  ApiSocket(std::string path, int requests, bool drop_second = false)
    : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path_.c_str());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    thread_ = std::thread([this, requests, drop_second] { serve(requests, drop_second); });
  }
  ~ApiSocket() {
    thread_.join();
    ::close(fd_);
  }
  int accepted() const { return accepted_; }

private:
  void serve(int requests, bool drop_second) {
    int answered = 0;
    while (answered < requests) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0)
        return;
      int on_this = 0;
      bool first = ++accepted_ == 1;
      std::string in;
      char buf[512];
      while (answered < requests) {
        auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0)
          break;
        in.append(buf, static_cast<std::size_t>(n));
        bool dropped = false;
        for (auto end = in.find("\r\n\r\n"); end != std::string::npos; end = in.find("\r\n\r\n")) {
          in.erase(0, end + 4);
          if (first && drop_second && ++on_this == 2) {
            dropped = true;
            break;
          }
          ::send(c, no_content, std::strlen(no_content), MSG_NOSIGNAL);
          ++answered;
        }
        if (dropped)
          break;
      }
      ::close(c);
    }
  }

  std::string path_;
  int fd_ = -1;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

Result<HttpResponse> get(Reactor& reactor, const std::string& path) {
  std::promise<Result<HttpResponse>> done;
  reactor.http(path, "GET", "/machine-config", "", 5s,
               [&](Result<HttpResponse> r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

} // namespace

TEST_CASE("HTTP calls to one API socket share one connection") {
  test::TempDir dir;
  auto path = dir.path() + "/api.sock";
  Reactor reactor;
  {
    ApiSocket vmm(path, 3);
    for (int i = 0; i < 3; ++i) {
      auto r = get(reactor, path);
      REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
      CHECK(r->status == 204);
    }
    CHECK(vmm.accepted() == 1);
  }
}

TEST_CASE("the connection that found the API socket up carries the first call") {
  test::TempDir dir;
  auto path = dir.path() + "/api.sock";
  Reactor reactor;
  ApiSocket vmm(path, 1);
  std::promise<Status> up;
  reactor.wait_for_socket(path, 5s, [&](Status s) { up.set_value(std::move(s)); }, true);
  REQUIRE(up.get_future().get().ok());
  auto r = get(reactor, path);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  CHECK(vmm.accepted() == 1);
}

TEST_CASE("a kept connection the VMM closed is replaced by a new one for the next call") {
  test::TempDir dir;
  auto path = dir.path() + "/api.sock";
  Reactor reactor;
  ApiSocket vmm(path, 2, /*drop_second=*/true);
  auto first = get(reactor, path);
  REQUIRE(first.ok());
  // The VMM closes the kept connection when the second request arrives,
  // without an answer: the call goes out again on a new connection.
  auto second = get(reactor, path);
  REQUIRE_MESSAGE(second.ok(), (second.ok() ? "" : second.error().message));
  CHECK(second->status == 204);
  CHECK(vmm.accepted() == 2);
}
