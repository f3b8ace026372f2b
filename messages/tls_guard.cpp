// The bounds of tls_guard.hpp. Everything here runs on CAF's multiplexer
// thread (accept, listen and the SSL_* hooks) except the watchdog, which
// only ever shutdown(2)s a socket while it holds the table lock: CAF frees a
// connection's SSL object (our ex_data free callback, which takes the same
// lock and removes the entry) before it closes the descriptor, so a
// descriptor in the table is still that connection's.
#include "messages/tls_guard.hpp"
#include "messages/interpose.hpp"

#include "messages/basp_meter.hpp"
#include "messages/log.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

namespace banger::tls_guard {

namespace {
const log::Logger log_{"tls"};
} // namespace

namespace {

using Clock = std::chrono::steady_clock;

/// What the guard keeps per SSL object (in its ex_data, freed with it).
struct Conn {
  int fd = -1;
  bool server = false;
  Clock::time_point started{};
  BaspMeter meter;
};

/// A server connection whose handshake has not finished.
struct Pending {
  SSL* ssl = nullptr; ///< null between accept() and CAF's first SSL_accept
  Clock::time_point accepted{};
  std::string address;   ///< the peer's IP
  bool complete = false; ///< its ClientHello was all there at accept
};

struct Counters {
  std::uint64_t idle = 0, busy = 0, evicted = 0, timed_out = 0;
  bool any() const { return idle + busy + evicted + timed_out > 0; }
};

struct State {
  std::mutex mu;
  std::unordered_map<int, Pending> pending; ///< by descriptor
  std::unordered_set<int> deferred;         ///< listeners with TCP_DEFER_ACCEPT
  std::size_t server_connections = 0;       ///< live server SSL objects
  Counters dropped;
  std::once_flag watchdog;
  /// Payload announced by BASP headers and not yet received, over all
  /// connections: what CAF has allocated on the peers' word.
  std::atomic<std::int64_t> announced{0};
};

// Never destroyed: the watchdog thread may outlive static destruction.
State& state() {
  static auto* s = new State;
  return *s;
}

std::string peer_of(int fd, std::string* address = nullptr) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return "unknown";
  char ip[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
    port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* in = reinterpret_cast<sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &in->sin6_addr, ip, sizeof(ip));
    port = ntohs(in->sin6_port);
  }
  if (address)
    *address = ip;
  return std::string(ip) + ":" + std::to_string(port);
}

void forget(SSL* ssl, Conn& conn) {
  auto& s = state();
  s.announced -= static_cast<std::int64_t>(conn.meter.outstanding());
  std::lock_guard lock{s.mu};
  if (conn.server && s.server_connections > 0)
    --s.server_connections;
  if (auto it = s.pending.find(conn.fd);
      it != s.pending.end() && it->second.ssl == ssl)
    s.pending.erase(it);
  // Server or client: a descriptor number is reused once CAF closes it.
  handshake_gone(conn.fd);
}

// SSL_free calls this (parent is the SSL object), before CAF closes the
// descriptor.
void free_conn(void* parent, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  auto* conn = static_cast<Conn*>(ptr);
  if (conn == nullptr)
    return;
  forget(static_cast<SSL*>(parent), *conn);
  delete conn;
}

int conn_index() {
  static const int index =
      SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_conn);
  return index;
}

Conn* conn_of(SSL* ssl) {
  int index = conn_index();
  if (index < 0)
    return nullptr;
  auto* conn = static_cast<Conn*>(SSL_get_ex_data(ssl, index));
  if (conn == nullptr) {
    conn = new Conn;
    conn->fd = SSL_get_fd(ssl);
    conn->started = Clock::now();
    SSL_set_ex_data(ssl, index, conn);
  }
  return conn;
}

void log_drops(const Counters& c) {
  log_.warn("dropped TLS connections over the connection limits",
            {{"idle", c.idle},
             {"over_limit", c.busy},
             {"evicted", c.evicted},
             {"handshake_timeout", c.timed_out},
             {"handshake_deadline_ms",
              static_cast<std::int64_t>(handshake_deadline.count())}});
}

// Cuts off handshakes past their deadline and reports drops, at most once a
// second.
void watchdog() {
  auto& s = state();
  auto last_report = Clock::now();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // a timer tick
    Counters report;
    {
      std::lock_guard lock{s.mu};
      auto now = Clock::now();
      for (auto it = s.pending.begin(); it != s.pending.end();) {
        if (it->second.ssl != nullptr &&
            now - it->second.accepted > handshake_deadline) {
          ::shutdown(it->first, SHUT_RDWR); // CAF sees EOF and closes it
          ++s.dropped.timed_out;
          it = s.pending.erase(it);
        } else {
          ++it;
        }
      }
      if (s.dropped.any() && now - last_report >= std::chrono::seconds(1)) {
        report = s.dropped;
        s.dropped = {};
        last_report = now;
      }
    }
    if (report.any())
      log_drops(report);
  }
}

/// How much of its first TLS record (the ClientHello) a connection has sent.
/// closed: the peer sent nothing and has already closed (a reachability
/// check such as the CLI's before it dials with TLS); none: it is silent.
enum class Hello { none, closed, partial, complete };

Hello hello_of(int fd) {
  int queued = 0;
  if (::ioctl(fd, FIONREAD, &queued) != 0 || queued <= 0) {
    char byte = 0;
    return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0 ? Hello::closed : Hello::none;
  }
  unsigned char head[5];
  if (queued < 5 ||
      ::recv(fd, head, sizeof head, MSG_PEEK | MSG_DONTWAIT) != 5 ||
      head[0] != 0x16)
    return Hello::partial;
  int record = 5 + ((head[3] << 8) | head[4]);
  return queued >= record ? Hello::complete : Hello::partial;
}

/// Removes the oldest pending handshake that matches `pick` and has had
/// min_handshake_age; false if there is none.
template <class Pick>
bool evict_oldest(State& s, Clock::time_point now, Pick pick) {
  auto oldest = s.pending.end();
  for (auto it = s.pending.begin(); it != s.pending.end(); ++it)
    if (it->second.ssl != nullptr && pick(it->second) &&
        now - it->second.accepted >= min_handshake_age &&
        (oldest == s.pending.end() ||
         it->second.accepted < oldest->second.accepted))
      oldest = it;
  if (oldest == s.pending.end())
    return false;
  ::shutdown(oldest->first, SHUT_RDWR); // CAF sees EOF and closes it
  ++s.dropped.evicted;
  s.pending.erase(oldest);
  return true;
}

/// Whether CAF may have the connection `fd` accepted on `listener`.
bool admit(int listener, int fd) {
  auto& s = state();
  std::call_once(s.watchdog, [] { std::thread(watchdog).detach(); });
  std::string address;
  peer_of(fd, &address);
  auto hello = hello_of(fd);
  auto now = Clock::now();
  std::lock_guard lock{s.mu};
  // Entries CAF never created a session for (it does so right after
  // accept) are stale: their descriptor may already be someone else's.
  for (auto it = s.pending.begin(); it != s.pending.end();)
    it = it->second.ssl == nullptr ? s.pending.erase(it) : std::next(it);
  if (hello == Hello::closed)
    return false; // gone already: nothing to drop, nothing to report
  if (hello == Hello::none && s.deferred.count(listener)) {
    ++s.dropped.idle; // silent for the whole TCP_DEFER_ACCEPT period
    return false;
  }
  if (s.server_connections >= max_server_connections) {
    ++s.dropped.busy;
    return false;
  }
  bool complete = hello == Hello::complete;
  std::size_t slow_total = 0, slow_peer = 0;
  for (auto& [pending_fd, p] : s.pending)
    if (!p.complete) {
      ++slow_total;
      slow_peer += p.address == address;
    }
  if (!complete && (slow_peer >= max_slow_handshakes_per_peer ||
                    slow_total >= max_slow_handshakes)) {
    ++s.dropped.busy;
    return false;
  }
  // A client whose whole ClientHello is there (every real one on loopback)
  // takes the place of a slow handshake, then of an old one.
  if (s.pending.size() >= max_handshakes &&
      !evict_oldest(s, now, [](const Pending& p) { return !p.complete; }) &&
      !evict_oldest(s, now, [](const Pending&) { return true; })) {
    ++s.dropped.busy;
    return false;
  }
  s.pending[fd] = Pending{nullptr, now, address, complete};
  return true;
}

bool is_tcp(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  int type = 0;
  socklen_t type_len = sizeof(type);
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 &&
         (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) &&
         ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 &&
         type == SOCK_STREAM;
}

} // namespace

namespace {
thread_local bool foreign = false;
thread_local bool (*foreign_admit)(int fd) = nullptr;
} // namespace

void foreign_thread(bool (*admit)(int fd)) {
  foreign = true;
  foreign_admit = admit;
}

bool on_foreign_thread() {
  return foreign;
}

bool before_accept(SSL* ssl) {
  auto* conn = conn_of(ssl);
  if (conn == nullptr)
    return true;
  if (!conn->server) { // CAF's first SSL_accept, right after accept()
    conn->server = true;
    auto& s = state();
    std::lock_guard lock{s.mu};
    ++s.server_connections;
    auto it = s.pending.find(conn->fd);
    if (it != s.pending.end() && it->second.ssl == nullptr) {
      it->second.ssl = ssl;
      conn->started = it->second.accepted;
    } else {
      s.pending[conn->fd] = Pending{ssl, conn->started, {}, true};
    }
  }
  return Clock::now() - conn->started <= handshake_deadline;
}

void after_accept(SSL* ssl, int ret) {
  auto* conn = conn_of(ssl);
  if (conn == nullptr)
    return;
  handshake_waits(conn->fd,
                  ret != 1 && SSL_get_error(ssl, ret) == SSL_ERROR_WANT_READ);
  if (ret != 1)
    return;
  auto& s = state();
  std::lock_guard lock{s.mu};
  if (auto it = s.pending.find(conn->fd);
      it != s.pending.end() && it->second.ssl == ssl)
    s.pending.erase(it);
}

void after_connect(SSL* ssl, int ret) {
  auto* conn = conn_of(ssl);
  if (conn == nullptr)
    return;
  handshake_waits(conn->fd,
                  ret != 1 && SSL_get_error(ssl, ret) == SSL_ERROR_WANT_READ);
}

bool after_read(SSL* ssl, const void* buf, int ret) {
  if (ret <= 0)
    return true;
  auto* conn = conn_of(ssl);
  if (conn == nullptr)
    return true;
  auto& s = state();
  bool was_over = conn->meter.over_cap();
  auto before = static_cast<std::int64_t>(conn->meter.outstanding());
  bool ok = conn->meter.consume(static_cast<const unsigned char*>(buf),
                                static_cast<std::size_t>(ret));
  auto after = static_cast<std::int64_t>(conn->meter.outstanding());
  auto total = s.announced += after - before;
  if (ok && (after <= before ||
             total <= static_cast<std::int64_t>(basp_announced_budget)))
    return true;
  if (!was_over) // the first refused header; CAF drops the connection now
    log_.warn(
        ok ? "dropped a TLS peer: BASP payload announced by all peers is over "
             "the budget"
           : "dropped a TLS peer: its BASP header announces more payload than "
             "the cap",
        {{"peer", peer_of(conn->fd)},
         {"payload_len", static_cast<std::uint64_t>(conn->meter.announced())},
         {"cap", static_cast<std::uint64_t>(conn->meter.cap())},
         {"announced_total", static_cast<std::int64_t>(total)},
         {"budget", static_cast<std::uint64_t>(basp_announced_budget)}});
  conn->meter.poison();
  return false;
}

} // namespace banger::tls_guard

extern "C" {

int listen(int fd, int backlog) {
  static auto next =
      banger::next_definition<int (*)(int, int)>("listen");
  using namespace banger::tls_guard;
  if (!on_foreign_thread() && is_tcp(fd)) {
    int secs = static_cast<int>(defer_accept.count());
    bool deferred = ::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs,
                                 sizeof(secs)) == 0;
    auto& s = state();
    std::lock_guard lock{s.mu};
    if (deferred)
      s.deferred.insert(fd);
    else
      s.deferred.erase(fd);
  }
  return next(fd, backlog);
}

// CAF 0.17.6's TLS acceptor calls accept() (openssl/middleman_actor.cpp,
// ssl_policy::try_accept). A refused connection is closed before CAF sees it,
// and the next one is taken, so a burst drains in one call.
int accept(int fd, sockaddr* addr, socklen_t* addr_len) {
  static auto next =
      banger::next_definition<int (*)(int, sockaddr*, socklen_t*)>(
          "accept");
  socklen_t capacity = addr_len ? *addr_len : 0;
  for (;;) {
    if (addr_len)
      *addr_len = capacity;
    int conn = next(fd, addr, addr_len);
    if (conn >= 0 && banger::tls_guard::on_foreign_thread()) {
      if (banger::tls_guard::foreign_admit == nullptr || banger::tls_guard::foreign_admit(conn))
        return conn;
      ::close(conn);
      continue;
    }
    if (conn < 0 || !banger::tls_guard::is_tcp(conn) ||
        banger::tls_guard::admit(fd, conn))
      return conn;
    ::close(conn);
  }
}

} // extern "C"
