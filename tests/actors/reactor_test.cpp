// The reactor against real sockets: the guest-readiness probe retries until a
// server greets with the banner, and a stream exchange reads until the
// completion predicate is satisfied.
#include "actors/reactor.hpp"
#include "tests/support/process.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <cstring>
#include <filesystem>
#include <future>
#include <thread>

using namespace banger;
using namespace std::chrono_literals;

namespace {

/// A loopback TCP listener on a free port.
struct Listener {
  int fd = -1;
  std::uint16_t port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    REQUIRE(::listen(fd, 8) == 0);
  }
  ~Listener() { ::close(fd); }
};

Status wait_banner(Reactor& reactor, std::uint16_t port, std::chrono::milliseconds timeout) {
  std::promise<Status> done;
  reactor.wait_for_banner("127.0.0.1", port, "SSH-", timeout,
                          [&](Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

} // namespace

TEST_CASE("the readiness probe retries until the server greets with the banner") {
  Reactor reactor;
  Listener server;
  std::thread guest([&] {
    // First a connection closed without a word (sshd not up yet), then one
    // that says something else, then the real greeting.
    int a = ::accept4(server.fd, nullptr, nullptr, SOCK_CLOEXEC);
    ::close(a);
    int b = ::accept4(server.fd, nullptr, nullptr, SOCK_CLOEXEC);
    ::send(b, "220 smtp\r\n", 10, MSG_NOSIGNAL);
    ::close(b);
    int c = ::accept4(server.fd, nullptr, nullptr, SOCK_CLOEXEC);
    ::send(c, "SSH-2.0-dropbear\r\n", 18, MSG_NOSIGNAL);
    char sink[16];
    ::recv(c, sink, sizeof sink, 0); // until the probe hangs up
    ::close(c);
  });
  auto status = wait_banner(reactor, server.port, 10s);
  guest.join();
  CHECK_MESSAGE(status.ok(), (status.ok() ? "" : status.error().message));
}

TEST_CASE("a port where nothing answers times out with the last reason") {
  Reactor reactor;
  std::uint16_t port;
  {
    Listener gone; // bound then closed: connections are refused
    port = gone.port;
  }
  auto status = wait_banner(reactor, port, 300ms);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == Errc::timeout);
  CHECK(status.error().message.find("refused") != std::string::npos);
}

TEST_CASE("a stream exchange reads until the answer is complete") {
  Reactor reactor;
  test::TempDir dir;
  auto path = dir.path() + "/qmp.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  std::thread server([&] {
    int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    char buf[64];
    auto n = ::recv(c, buf, sizeof buf, 0);
    std::string got(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    // Answer in pieces; the connection stays open: only the predicate ends it.
    std::string answer = "echo:" + got;
    ::send(c, answer.data(), 3, MSG_NOSIGNAL);
    ::send(c, answer.data() + 3, answer.size() - 3, MSG_NOSIGNAL);
    ::send(c, "END\n", 4, MSG_NOSIGNAL);
    ::recv(c, buf, sizeof buf, 0);
    ::close(c);
  });
  std::promise<Result<std::string>> done;
  reactor.exchange(
    path, "ping\n",
    [](const std::string& data, bool, std::string&) { return data.find("END\n") != std::string::npos; },
    5s, [&](Result<std::string> r) { done.set_value(std::move(r)); });
  auto result = done.get_future().get();
  server.join();
  ::close(fd);
  REQUIRE(result.ok());
  CHECK(*result == "echo:ping\nEND\n");
}

TEST_CASE("a descriptor passed with an exchange arrives with its first bytes and is not kept") {
  Reactor reactor;
  test::TempDir dir;
  auto path = dir.path() + "/qmp.sock";
  auto file = dir.path() + "/state";
  int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  int received = -1;
  std::string first;
  std::thread server([&] {
    int c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    char buf[64];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    auto n = ::recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
    first.assign(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    if (auto* cmsg = CMSG_FIRSTHDR(&msg); cmsg && cmsg->cmsg_type == SCM_RIGHTS)
      std::memcpy(&received, CMSG_DATA(cmsg), sizeof(int));
    ::send(c, "END\n", 4, MSG_NOSIGNAL);
    ::recv(c, buf, sizeof buf, 0);
    ::close(c);
  });
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  std::promise<Result<std::string>> done;
  reactor.exchange(
    path, "getfd\n",
    [](const std::string& data, bool, std::string&) { return data.find("END\n") != std::string::npos; },
    5s, [&](Result<std::string> r) { done.set_value(std::move(r)); }, fd);
  auto result = done.get_future().get();
  server.join();
  ::close(listener);
  REQUIRE(result.ok());
  CHECK(first == "getfd\n");
  // The peer's copy writes the same file.
  REQUIRE(received >= 0);
  CHECK(::write(received, "x", 1) == 1);
  ::close(received);
  CHECK(std::filesystem::file_size(file) == 1);
  // The exchange closed its own copy once sent: nothing here holds the file.
  int open_on_file = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(entry.path(), ec) == file)
      ++open_on_file;
  }
  CHECK(open_on_file == 0);
}

namespace {

int unix_listener(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  return fd;
}

std::string read_exactly(int fd, std::size_t n) {
  std::string got;
  char buf[4096];
  while (got.size() < n) {
    auto r = ::recv(fd, buf, std::min(sizeof buf, n - got.size()), 0);
    if (r <= 0)
      break;
    got.append(buf, static_cast<std::size_t>(r));
  }
  return got;
}

/// What a duplex stream's handlers saw, for the test thread to wait on.
struct DuplexSeen {
  std::mutex m;
  std::condition_variable cv;
  bool opened = false;
  std::string data;
  std::optional<Error> closed;
  Reactor::DuplexHandlers handlers() {
    return {[this] {
              std::lock_guard l(m);
              opened = true;
              cv.notify_all();
            },
            [this](std::string bytes) {
              std::lock_guard l(m);
              data += bytes;
              cv.notify_all();
            },
            [this](Error e) {
              std::lock_guard l(m);
              closed = std::move(e);
              cv.notify_all();
            }};
  }
  template <class Pred>
  bool wait(Pred p) {
    std::unique_lock l(m);
    return cv.wait_for(l, 10s, p);
  }
};

} // namespace

TEST_CASE("a duplex stream does the vsock handshake, carries bytes both ways and reports its end") {
  Reactor reactor;
  test::TempDir dir;
  auto path = dir.path() + "/v.sock";
  int fd = unix_listener(path);
  std::thread guest([&] {
    int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    CHECK(read_exactly(c, 13) == "CONNECT 1024\n");
    // The answer and the first guest bytes in one segment: nothing may be lost.
    std::string hello = "OK 1073741824\nhello from the guest";
    ::send(c, hello.data(), hello.size(), MSG_NOSIGNAL);
    CHECK(read_exactly(c, 5) == "howdy");
    std::string big(300 * 1024, 'g');
    ::send(c, big.data(), big.size(), MSG_NOSIGNAL);
    ::close(c);
  });
  DuplexSeen seen;
  auto token = reactor.open_duplex(path, "CONNECT 1024\n", "OK ", 5s, seen.handlers());
  REQUIRE(seen.wait([&] { return seen.opened && seen.data == "hello from the guest"; }));
  std::promise<Status> sent;
  reactor.send_duplex(token, "howdy", [&](Status s) { sent.set_value(std::move(s)); });
  CHECK(sent.get_future().get().ok());
  // 300 KiB arrive whole, then the guest's close ends the stream.
  REQUIRE(seen.wait([&] { return seen.closed.has_value(); }));
  CHECK(seen.data.size() == std::string("hello from the guest").size() + 300 * 1024);
  guest.join();
  ::close(fd);
}

TEST_CASE("a duplex stream whose handshake is refused closes without opening") {
  Reactor reactor;
  test::TempDir dir;
  auto path = dir.path() + "/v.sock";
  int fd = unix_listener(path);
  std::thread guest([&] {
    // Firecracker closes a CONNECT to a port no guest listens on.
    int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    read_exactly(c, 13);
    ::close(c);
  });
  DuplexSeen seen;
  reactor.open_duplex(path, "CONNECT 1024\n", "OK ", 5s, seen.handlers());
  REQUIRE(seen.wait([&] { return seen.closed.has_value(); }));
  CHECK_FALSE(seen.opened);
  guest.join();
  // Nothing listens at all: closed at once.
  ::close(fd);
  DuplexSeen none;
  reactor.open_duplex(dir.path() + "/missing.sock", "", "", 5s, none.handlers());
  REQUIRE(none.wait([&] { return none.closed.has_value(); }));
  CHECK_FALSE(none.opened);
}

TEST_CASE("a closed duplex stream calls none of its handlers again") {
  Reactor reactor;
  test::TempDir dir;
  auto path = dir.path() + "/q.sock";
  int fd = unix_listener(path);
  int guest_end = -1;
  std::thread guest([&] { guest_end = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC); });
  DuplexSeen seen;
  auto token = reactor.open_duplex(path, "", "", 5s, seen.handlers());
  REQUIRE(seen.wait([&] { return seen.opened; }));
  guest.join();
  reactor.close_duplex(token);
  // The host side is gone: the guest reads its end of file.
  char c;
  CHECK(::recv(guest_end, &c, 1, 0) == 0);
  ::send(guest_end, "late", 4, MSG_NOSIGNAL);
  ::close(guest_end);
  // A later stream still works, and the old one said nothing more.
  DuplexSeen other;
  std::thread again([&] { ::close(::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC)); });
  reactor.open_duplex(path, "", "", 5s, other.handlers());
  REQUIRE(other.wait([&] { return other.closed.has_value(); }));
  again.join();
  std::lock_guard l(seen.m);
  CHECK(seen.data.empty());
  CHECK_FALSE(seen.closed.has_value());
  ::close(fd);
}
