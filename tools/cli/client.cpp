#include "tools/cli/client.hpp"

#include "messages/home_layout.hpp"
#include "messages/tls.hpp"

#include <caf/all.hpp>
#include <caf/openssl/all.hpp>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <cstring>

namespace banger::cli {

namespace {

// A plain TCP connect with a deadline before CAF's: CAF's connect is
// blocking with the kernel's SYN retry budget (minutes against a silent
// host) and reports every failure the same way. "" when it connected.
std::string probe(const std::string& host, std::uint16_t port, std::chrono::milliseconds limit) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc);
  std::string reason = "no address";
  for (auto* ai = found; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      ai->ai_protocol);
    if (fd < 0) {
      reason = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(limit.count()));
      if (rc == 0) {
        reason = "no answer within " + std::to_string(limit.count()) + " ms";
        rc = -1;
      } else if (rc > 0) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        if (err != 0)
          reason = std::strerror(err);
      } else {
        reason = std::strerror(errno);
      }
    } else if (rc != 0) {
      reason = std::strerror(errno);
    }
    ::close(fd);
    if (rc == 0) {
      ::freeaddrinfo(found);
      return {};
    }
  }
  ::freeaddrinfo(found);
  return reason;
}


std::string tls_hint(const Error& error, const GlobalOptions& options) {
  if (!options.cert.empty())
    return "check --cert, --key and --ca";
  if (error.code == Errc::unauthenticated)
    return "ask to be added to the group that may read " + options.home
           + "/tls/client.key, or run banger as the daemon's user";
  return "run `banger init --home " + options.home
         + "` first, or point --home / BANGER_HOME at the installation";
}

} // namespace

Envelope client_envelope() {
  Envelope env;
  env.version = protocol_version;
  return env;
}

std::unique_ptr<Session> Session::open(const GlobalOptions& options, SessionError& error) {
  std::unique_ptr<Session> session{new Session};
  session->config_ = std::make_unique<Config>();
  auto& cfg = *session->config_;
  if (auto st = cfg.read(options.home, {}); !st) {
    error = {exit_credentials, st.error().message};
    return nullptr;
  }
  // A CLI sends a handful of requests: two scheduler threads start faster
  // than max(cores, 4) and are plenty.
  cfg.set("scheduler.max-threads", std::size_t{2});

  std::string host;
  std::uint16_t port = 0;
  if (!options.daemon.empty()) {
    auto hp = parse_host_port(options.daemon);
    host = hp->host; // validated by the parser
    port = hp->port;
  } else {
    host = connect_host(cfg.settings.daemon_listen);
    port = cfg.settings.daemon_port;
  }
  session->address_ = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":"
                      + std::to_string(port);

  auto tls = options.cert.empty()
               ? enable_tls(cfg, HomeLayout{options.home}, TlsRole::client)
               : enable_tls_files(cfg, options.cert, options.key, options.ca);
  if (!tls) {
    // Messages about missing files already suggest `banger init`.
    auto hint = tls.error().code == Errc::unauthenticated || !options.cert.empty()
                  ? " (" + tls_hint(tls.error(), options) + ")"
                  : std::string{};
    error = {exit_credentials,
             "cannot use the client TLS credentials: " + tls.error().message + hint};
    return nullptr;
  }

  if (auto reason = probe(host, port, std::chrono::seconds(3)); !reason.empty()) {
    error = {exit_unreachable, "cannot reach bangerd at " + session->address_ + ": " + reason
                                 + " (is it running? banger daemon status)"};
    return nullptr;
  }
  session->system_ = std::make_unique<caf::actor_system>(cfg);
  // A peer that accepts TCP but never completes the TLS/BASP handshake
  // blocks remote_actor forever (no CAF timeout covers the handshake), so a
  // watchdog bounds it and ends the process with exit 3.
  std::mutex mutex;
  std::condition_variable cv;
  bool connected = false;
  auto limit = options.timeout.value_or(std::chrono::seconds(10));
  std::thread watchdog{[&, address = session->address_, format = options.output] {
    std::unique_lock<std::mutex> guard{mutex};
    if (cv.wait_for(guard, limit, [&] { return connected; }))
      return;
    SessionError hung{exit_unreachable, "cannot reach bangerd at " + address
                                          + ": no TLS handshake within "
                                          + std::to_string(limit.count())
                                          + " ms (is it bangerd? banger daemon status)"};
    std::_Exit(emit(hung.failure(), format));
  }};
  auto control = caf::openssl::remote_actor<control_actor>(*session->system_, host, port);
  {
    std::lock_guard<std::mutex> guard{mutex};
    connected = true;
  }
  cv.notify_all();
  watchdog.join();
  if (!control) {
    error = {exit_unreachable, "cannot reach bangerd at " + session->address_ + ": "
                                 + session->system_->render(control.error())
                                 + " (is it running? banger daemon status)"};
    // After a failed handshake ~actor_system can wait forever for the
    // multiplexer thread; the process is about to exit anyway.
    (void)session->system_.release();
    return nullptr;
  }
  session->control_ = std::move(*control);
  return session;
}

Session::~Session() = default;

} // namespace banger::cli
