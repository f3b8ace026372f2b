#include "privileged/host/netlink.hpp"

#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <netlink/errno.h>

namespace banger::host::netlink {

Error error(std::string_view call, std::string_view object, int nl_error) {
  std::string message(call);
  message += ' ';
  message += object;
  message += ": ";
  message += nl_geterror(nl_error);
  return Error{Errc::system, std::move(message)};
}

namespace {
/// The calling thread's socket while no lease holds it.
thread_local Socket kept;
} // namespace

SocketLease::~SocketLease() {
  if (!sock_ || kept)
    return;
  // What a finished exchange left unread (the kernel's ACK after a reply
  // that libnl's nl_pickup took without it) would be read as the answer to
  // the next request: drop it. A socket that fails even that is not kept.
  char sink[256];
  int fd = nl_socket_get_fd(sock_.get());
  for (;;) {
    auto n = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT | MSG_TRUNC);
    if (n >= 0)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      kept = std::move(sock_);
    return;
  }
}

Result<SocketLease> connect() {
  if (kept)
    return SocketLease(std::move(kept));
  Socket sock(nl_socket_alloc());
  if (!sock)
    return Error{Errc::system, "nl_socket_alloc: out of memory"};
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
    return error("nl_connect", "NETLINK_ROUTE", err);
  return SocketLease(std::move(sock));
}

Result<Link> get_link(nl_sock* sock, const std::string& name) {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock, 0, name.c_str(), &raw);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV)
    return Link{};
  if (err < 0)
    return error("rtnl_link_get_kernel", name, err);
  return Link(raw);
}

std::string link_kind(rtnl_link* link) {
  const char* kind = rtnl_link_get_type(link);
  return kind ? kind : "";
}

Status enslave_and_up(nl_sock* sock, rtnl_link* link, int master_ifindex,
                      std::string_view shown, const std::string& alias) {
  Link change(rtnl_link_alloc());
  if (!change)
    return Error{Errc::system, "rtnl_link_alloc: out of memory"};
  if (master_ifindex > 0)
    rtnl_link_set_master(change.get(), master_ifindex);
  if (!alias.empty())
    rtnl_link_set_ifalias(change.get(), alias.c_str());
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (int err = rtnl_link_change(sock, link, change.get(), 0); err < 0)
    return error("rtnl_link_change", shown, err);
  return {};
}

} // namespace banger::host::netlink
