// RAII and error helpers over libnl-route-3 shared by tap.cpp and bridge
// code. Internal to banger_host: nothing outside includes libnl.
#pragma once

#include "messages/result.hpp"

#include <memory>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <string>
#include <string_view>

namespace banger::host::netlink {

struct SocketDeleter {
  void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
struct LinkDeleter {
  void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
struct CacheDeleter {
  void operator()(nl_cache* cache) const { nl_cache_free(cache); }
};
struct AddrDeleter {
  void operator()(rtnl_addr* addr) const { rtnl_addr_put(addr); }
};
struct NlAddrDeleter {
  void operator()(nl_addr* addr) const { nl_addr_put(addr); }
};

using Socket = std::unique_ptr<nl_sock, SocketDeleter>;
using Link = std::unique_ptr<rtnl_link, LinkDeleter>;
using Cache = std::unique_ptr<nl_cache, CacheDeleter>;
using Addr = std::unique_ptr<rtnl_addr, AddrDeleter>;
using NlAddr = std::unique_ptr<nl_addr, NlAddrDeleter>;

/// Errc::system naming the libnl call, the object and libnl's error text.
Error error(std::string_view call, std::string_view object, int nl_error);

/// A connected NETLINK_ROUTE socket, lent by the calling thread: each thread
/// (a helper worker, the tap reaper) keeps one socket for all its requests
/// instead of opening one per request (socket, bind, getsockname and two
/// setsockopt each; BENCHMARKS.md). A lease taken while the thread's socket
/// is lent out gets a socket of its own. The socket goes back to the thread
/// when the lease ends, with whatever the last exchange left unread dropped,
/// so the next request starts clean.
class SocketLease {
public:
  explicit SocketLease(Socket sock) : sock_(std::move(sock)) {}
  SocketLease(SocketLease&&) noexcept = default;
  SocketLease& operator=(SocketLease&&) noexcept = default;
  ~SocketLease();
  nl_sock* get() const { return sock_.get(); }

private:
  Socket sock_;
};

Result<SocketLease> connect();

/// The link called `name`, or a null Link if there is none.
Result<Link> get_link(nl_sock* sock, const std::string& name);

/// Kernel link kind ("bridge", "tun", ...) or "" for none.
std::string link_kind(rtnl_link* link);

/// Sets master (when master_ifindex > 0), the alias (when not empty) and
/// IFF_UP on `link`, in one change.
Status enslave_and_up(nl_sock* sock, rtnl_link* link, int master_ifindex,
                      std::string_view shown, const std::string& alias = {});

} // namespace banger::host::netlink
