// Stops CAF's multiplexer from spinning on a TLS server handshake that waits
// for the peer.
//
// Why: the BASP broker queues its greeting as soon as a connection is
// accepted, before TLS is up, so the connection is registered for
// writability; a fresh socket is always writable, CAF calls SSL_accept, which
// wants to read, reports "success, 0 bytes" and stays registered: one
// connection that sent part of a ClientHello cost most of a core until it was
// dropped. How: this file interposes epoll_ctl (CAF's Linux multiplexer is
// epoll-based and calls it for every change of a socket's interest) and
// keeps EPOLLOUT off while the socket's handshake waits to read; readability
// still drives SSL_accept. Once SSL_accept returns anything else, the
// interest CAF asked for is restored. The state is per descriptor; it is
// created by SSL_accept and removed when CAF frees the SSL object (before it
// closes the descriptor) or deregisters the socket.
#include "messages/tls_guard.hpp"
#include "messages/interpose.hpp"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sys/epoll.h>
#include <unordered_map>

namespace banger::tls_guard {

namespace {

struct Interest {
  int epfd = -1;        ///< -1 until CAF registers the socket
  epoll_event event{};  ///< what CAF asked for
  bool waiting = false; ///< its handshake waits for the peer
};

using EpollCtl = int (*)(int, int, int, epoll_event*);

EpollCtl real_epoll_ctl() {
  static auto next = next_definition<EpollCtl>("epoll_ctl");
  return next;
}

std::mutex& mu() {
  static auto* m = new std::mutex;
  return *m;
}

// Descriptors of TLS server handshakes only: everything else passes through.
std::unordered_map<int, Interest>& interests() {
  static auto* map = new std::unordered_map<int, Interest>;
  return *map;
}

epoll_event effective(const Interest& in) {
  auto ev = in.event;
  if (in.waiting)
    ev.events &= ~static_cast<std::uint32_t>(EPOLLOUT);
  return ev;
}

} // namespace

void handshake_waits(int fd, bool waiting) {
  std::lock_guard lock{mu()};
  auto& map = interests();
  auto it = map.find(fd);
  if (it == map.end()) {
    if (!waiting)
      return;
    it = map.emplace(fd, Interest{}).first;
  }
  if (it->second.waiting == waiting)
    return;
  it->second.waiting = waiting;
  if (it->second.epfd >= 0 && (it->second.event.events & EPOLLOUT)) {
    auto ev = effective(it->second);
    real_epoll_ctl()(it->second.epfd, EPOLL_CTL_MOD, fd, &ev);
  }
  if (!waiting)
    map.erase(it); // the handshake is over: CAF's interest applies as is
}

void handshake_gone(int fd) {
  std::lock_guard lock{mu()};
  interests().erase(fd);
}

} // namespace banger::tls_guard

extern "C" int epoll_ctl(int epfd, int op, int fd,
                         epoll_event* event) noexcept {
  using namespace banger::tls_guard;
  {
    std::lock_guard lock{mu()};
    auto& map = interests();
    if (auto it = map.find(fd); it != map.end()) {
      if (op == EPOLL_CTL_DEL) {
        it->second.epfd = -1;
      } else if (event != nullptr) {
        it->second.epfd = epfd;
        it->second.event = *event;
        auto ev = effective(it->second);
        return real_epoll_ctl()(epfd, op, fd, &ev);
      }
    }
  }
  return real_epoll_ctl()(epfd, op, fd, event);
}
