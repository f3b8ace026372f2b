#include "tests/cluster/port_probe.hpp"
#include "tests/cluster/netns.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <thread>

namespace banger::test {

namespace {

using Clock = std::chrono::steady_clock;

/// One address word of /proc/net/tcp{,6}: the raw 32-bit word as the
/// kernel holds it, printed as a host-order integer.
std::uint32_t word(const std::string& hex) {
  return static_cast<std::uint32_t>(std::stoul(hex, nullptr, 16));
}

void read_table(const std::string& path, int family, std::vector<ListeningPort>& out) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line); // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (state != "0A") // TCP_LISTEN
      continue;
    auto colon = local.find(':');
    if (colon == std::string::npos)
      continue;
    auto hex = local.substr(0, colon);
    ListeningPort p;
    p.family = family;
    p.port = static_cast<std::uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16));
    char text[INET6_ADDRSTRLEN] = {};
    if (family == AF_INET) {
      in_addr addr{};
      addr.s_addr = word(hex);
      ::inet_ntop(AF_INET, &addr, text, sizeof text);
    } else {
      in6_addr addr{};
      for (int w = 0; w < 4; ++w) {
        auto value = word(hex.substr(static_cast<std::size_t>(w) * 8, 8));
        std::memcpy(addr.s6_addr + w * 4, &value, 4);
      }
      ::inet_ntop(AF_INET6, &addr, text, sizeof text);
    }
    p.address = text;
    out.push_back(p);
  }
}

/// A TCP connection from inside `netns_fd` to `port` (its wildcard through
/// loopback), blocking, with `bound` as its receive and send timeout; -1
/// and `why` when it does not connect within `bound`.
int connect_to(int netns_fd, const ListeningPort& port, std::chrono::milliseconds bound,
               std::string& why) {
  int fd = socket_in(netns_fd, port.family, SOCK_STREAM | SOCK_NONBLOCK);
  sockaddr_storage storage{};
  socklen_t len = 0;
  if (port.family == AF_INET) {
    auto* addr = reinterpret_cast<sockaddr_in*>(&storage);
    addr->sin_family = AF_INET;
    addr->sin_port = htons(port.port);
    ::inet_pton(AF_INET, port.address == "0.0.0.0" ? "127.0.0.1" : port.address.c_str(),
                &addr->sin_addr);
    len = sizeof *addr;
  } else {
    auto* addr = reinterpret_cast<sockaddr_in6*>(&storage);
    addr->sin6_family = AF_INET6;
    addr->sin6_port = htons(port.port);
    ::inet_pton(AF_INET6, port.address == "::" ? "::1" : port.address.c_str(), &addr->sin6_addr);
    len = sizeof *addr;
  }
  int error = ::connect(fd, reinterpret_cast<sockaddr*>(&storage), len) == 0 ? 0 : errno;
  if (error == EINPROGRESS) {
    pollfd pfd{fd, POLLOUT, 0};
    error = ETIMEDOUT;
    if (::poll(&pfd, 1, static_cast<int>(bound.count())) == 1) {
      socklen_t size = sizeof error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
    }
  }
  if (error != 0) {
    why = "connect to " + port.text() + ": " + std::strerror(error);
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval tv{static_cast<time_t>(bound.count() / 1000),
             static_cast<suseconds_t>(bound.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

/// A TLS record starts with its content type (20-24) and major version 3.
bool looks_like_tls(const std::string& bytes) {
  return bytes.size() >= 2 && bytes[0] >= 20 && bytes[0] <= 24 && bytes[1] == 3;
}

/// Runs a probe on a thread of its own with SIGPIPE blocked there: writing
/// to a connection the server already closed must fail, not kill the test
/// (ignoring SIGPIPE process-wide would be inherited by every daemon the
/// test starts).
ProbeOutcome on_probe_thread(const std::function<ProbeOutcome()>& probe) {
  ProbeOutcome out;
  std::exception_ptr error;
  std::thread worker([&] {
    sigset_t pipe;
    ::sigemptyset(&pipe);
    ::sigaddset(&pipe, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    try {
      out = probe();
    } catch (...) {
      error = std::current_exception();
    }
  });
  worker.join();
  if (error)
    std::rethrow_exception(error);
  return out;
}

} // namespace

std::string ListeningPort::text() const {
  return family == AF_INET6 ? "[" + address + "]:" + std::to_string(port)
                            : address + ":" + std::to_string(port);
}

std::vector<ListeningPort> listening_ports(pid_t pid) {
  std::vector<ListeningPort> out;
  auto base = "/proc/" + std::to_string(pid) + "/net/";
  read_table(base + "tcp", AF_INET, out);
  read_table(base + "tcp6", AF_INET6, out);
  return out;
}

std::string to_string(ProbeVerdict verdict) {
  switch (verdict) {
  case ProbeVerdict::refused:
    return "refused";
  case ProbeVerdict::served:
    return "served";
  case ProbeVerdict::inconclusive:
    return "inconclusive";
  }
  return "?";
}

ProbeOutcome probe_plain_basp(int netns_fd, const ListeningPort& port,
                              std::chrono::milliseconds bound) {
  return on_probe_thread([&] {
    std::string why;
    int fd = connect_to(netns_fd, port, bound, why);
    if (fd < 0)
      return ProbeOutcome{ProbeVerdict::inconclusive, why};
    std::string received;
    char buf[4096];
    // A plain BASP server greets first; a TLS server waits for a hello.
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 250) == 1) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0)
        received.assign(buf, static_cast<std::size_t>(n));
      if (n > 0 && !looks_like_tls(received)) {
        ::close(fd);
        return ProbeOutcome{ProbeVerdict::served, port.text() + " sent " + std::to_string(n)
                                                    + " bytes in the clear before any request"};
      }
    }
    // A client handshake header of CAF 0.17's BASP: operation 0x01, flags,
    // payload length 0, operation data (the BASP version), no actors.
    unsigned char header[32] = {0x01};
    header[15] = 3;
    ::send(fd, header, sizeof header, MSG_NOSIGNAL);
    auto until = Clock::now() + bound;
    for (;;) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        received.append(buf, static_cast<std::size_t>(n));
        if (!looks_like_tls(received)) {
          ::close(fd);
          return ProbeOutcome{ProbeVerdict::served,
                              port.text() + " answered a plain BASP header in the clear"};
        }
        if (Clock::now() < until)
          continue;
      }
      int error = n < 0 ? errno : 0;
      ::close(fd);
      if (n == 0 || error == ECONNRESET)
        return ProbeOutcome{ProbeVerdict::refused,
                            port.text() + " closed on a plain BASP client"
                              + (received.empty() ? "" : " after a TLS alert")};
      return ProbeOutcome{ProbeVerdict::inconclusive,
                          port.text() + " kept a plain BASP client connected for "
                            + std::to_string(bound.count()) + " ms ("
                            + std::strerror(error) + ")"};
    }
  });
}

namespace {

/// One TLS handshake without a client certificate. `anonymous`: TLS 1.2
/// with anonymous ECDH only, the suite caf_openssl falls back to when it
/// has no certificate (such a server takes anyone; TLS 1.3 has no anonymous
/// suite, so a server like that fails any 1.3 hello).
ProbeOutcome tls_attempt(int netns_fd, const ListeningPort& port, std::chrono::milliseconds bound,
                         bool anonymous) {
  std::string why;
  int fd = connect_to(netns_fd, port, bound, why);
  if (fd < 0)
    return ProbeOutcome{ProbeVerdict::inconclusive, why};
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx{SSL_CTX_new(TLS_client_method()),
                                                    SSL_CTX_free};
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  if (anonymous) {
    SSL_CTX_set_max_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx.get(), "AECDH-AES256-SHA:@SECLEVEL=0");
  }
  std::unique_ptr<SSL, void (*)(SSL*)> ssl{SSL_new(ctx.get()), SSL_free};
  SSL_set_fd(ssl.get(), fd);
  std::string label = port.text() + (anonymous ? " (anonymous ECDH)" : " (TLS)");
  auto failure = [&](const char* step) {
    auto code = ERR_get_error();
    char text[256] = "no TLS error";
    if (code != 0)
      ERR_error_string_n(code, text, sizeof text);
    ERR_clear_error();
    return label + " " + step + ": " + text;
  };
  ProbeOutcome out;
  if (SSL_connect(ssl.get()) != 1) {
    out = {ProbeVerdict::refused, failure("refused the handshake")};
  } else {
    // TLS 1.3: the client is done before the server has checked that
    // there is no certificate; its verdict comes as the first record.
    // Anonymous: a CAF server greets with its BASP handshake.
    char buf[4096];
    int n = SSL_read(ssl.get(), buf, sizeof buf);
    int kind = SSL_get_error(ssl.get(), n);
    if (n > 0)
      out = {ProbeVerdict::served, label + " sent application data to a client without a certificate"};
    else if (kind == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))
      out = {ProbeVerdict::inconclusive,
             label + " neither answered nor closed within " + std::to_string(bound.count()) + " ms"};
    else
      out = {ProbeVerdict::refused, failure("closed after the handshake")};
  }
  ERR_clear_error();
  ssl.reset();
  ::close(fd);
  return out;
}

} // namespace

ProbeOutcome probe_tls_without_certificate(int netns_fd, const ListeningPort& port,
                                           std::chrono::milliseconds bound) {
  return on_probe_thread([&] {
    auto tls = tls_attempt(netns_fd, port, bound, false);
    auto anonymous = tls_attempt(netns_fd, port, bound, true);
    auto detail = tls.detail + "; " + anonymous.detail;
    for (auto verdict : {ProbeVerdict::served, ProbeVerdict::inconclusive})
      if (tls.verdict == verdict || anonymous.verdict == verdict)
        return ProbeOutcome{verdict, detail};
    return ProbeOutcome{ProbeVerdict::refused, detail};
  });
}

} // namespace banger::test
