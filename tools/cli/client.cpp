#include "tools/cli/client.hpp"

#include "messages/home_layout.hpp"
#include "messages/tls.hpp"
#include "messages/tls_credentials.hpp"
#include "messages/tls_resume.hpp"

#include <caf/all.hpp>
#include <caf/openssl/all.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <cstdio>
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


// 127.0.0.0/8, ::1 and "localhost": where nothing can leave a SYN unanswered.
bool is_loopback(const std::string& host) {
  if (host == "localhost")
    return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// SHA-256 of the certificate the check just parsed (from the cache), in hex.
std::string certificate_fingerprint(const std::filesystem::path& certificate) {
  auto chain = tls_credentials::chain(certificate);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!chain || X509_digest(chain->leaf.get(), EVP_sha256(), digest, &len) != 1)
    return certificate.string();
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
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
  auto credentials_error = [&](const Error& e) {
    // Messages about missing files already suggest `banger init`.
    auto hint = e.code == Errc::unauthenticated || !options.cert.empty()
                  ? " (" + tls_hint(e, options) + ")"
                  : std::string{};
    return SessionError{exit_credentials,
                        "cannot use the client TLS credentials: " + e.message + hint};
  };
  auto files = options.cert.empty() ? tls_files(HomeLayout{options.home}, TlsRole::client)
                                    : TlsFiles{options.cert, options.key, options.ca};
  auto absolute = absolute_tls_files(files);
  if (!absolute) {
    error = credentials_error(absolute.error());
    return nullptr;
  }
  // Checking the files is most of OpenSSL's start-up and their parse (about
  // 3 ms, BENCHMARKS.md "CLI start-up"): it runs on a thread of its own
  // while this one reads the configuration and starts the actor system, and
  // the connection waits for it. Its errors come first, as before.
  auto hint = options.cert.empty() ? tls_files_hint(HomeLayout{options.home})
                                   : std::string{tls_explicit_files_hint};
  auto checked = std::async(std::launch::async,
                            [&] { return check_tls_files(*absolute, hint); });

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
  if (auto st = point_tls_at(cfg, *absolute); !st) {
    error = credentials_error(st.error());
    return nullptr;
  }

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
  auto unreachable = [&](const std::string& reason) {
    return SessionError{exit_unreachable, "cannot reach bangerd at " + session->address_ + ": "
                                            + reason + " (is it running? banger daemon status)"};
  };

  // A host that may stay silent is probed first, so that CAF's blocking
  // connect never waits out the kernel's SYN retries. Loopback answers at
  // once (accepted or refused), so there the probe only explains a failure.
  bool loopback = is_loopback(host);
  if (!loopback) {
    if (auto reason = probe(host, port, std::chrono::seconds(3)); !reason.empty()) {
      if (auto st = checked.get(); !st)
        error = credentials_error(st.error());
      else
        error = unreachable(reason);
      return nullptr;
    }
  }
  session->system_ = std::make_unique<caf::actor_system>(cfg);
  if (auto st = checked.get(); !st) {
    error = credentials_error(st.error());
    // Nothing was connected; the process is about to exit.
    (void)session->system_.release();
    return nullptr;
  }
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
  // The ticket of the last call to this daemon with this certificate, if
  // any (messages/tls_resume.hpp).
  tls_resume::enable_client(tls_resume::client_ticket_path(
    certificate_fingerprint(absolute->certificate) + "|" + session->address_));
  auto control = caf::openssl::remote_actor<control_actor>(*session->system_, host, port);
  {
    std::lock_guard<std::mutex> guard{mutex};
    connected = true;
  }
  cv.notify_all();
  watchdog.join();
  if (!control) {
    auto reason = loopback ? probe(host, port, std::chrono::seconds(3)) : std::string{};
    error = unreachable(reason.empty() ? session->system_->render(control.error()) : reason);
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
