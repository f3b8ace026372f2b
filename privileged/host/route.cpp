#include "privileged/host/route.hpp"

#include "privileged/host/errors.hpp"
#include "privileged/host/netlink.hpp"
#include "privileged/host/unique_fd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace banger::host {

namespace {

struct RouteDeleter {
  void operator()(rtnl_route* route) const { rtnl_route_put(route); }
};
using Route = std::unique_ptr<rtnl_route, RouteDeleter>;

std::uint32_t mask_of(int prefix) {
  return prefix <= 0 ? 0 : prefix >= 32 ? ~std::uint32_t{0} : ~std::uint32_t{0} << (32 - prefix);
}

/// The interface of the connected network `gateway` is on: the first IPv4
/// address whose prefix holds it, as a neighbour (not the address itself,
/// nor that network's own or broadcast address).
Result<int> connected_interface(nl_sock* sock, std::uint32_t gateway) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(sock, &raw); err < 0)
    return netlink::error("rtnl_addr_alloc_cache", "IPv4 addresses", err);
  netlink::Cache cache(raw);
  auto shown = ipv4_to_string(gateway);
  int found = 0;
  for (auto* obj = nl_cache_get_first(raw); obj; obj = nl_cache_get_next(obj)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(obj);
    if (rtnl_addr_get_family(addr) != AF_INET)
      continue;
    nl_addr* local = rtnl_addr_get_local(addr);
    if (!local || nl_addr_get_len(local) != 4)
      continue;
    std::uint32_t be = 0;
    std::memcpy(&be, nl_addr_get_binary_addr(local), 4);
    auto mine = ntohl(be);
    if (mine == gateway)
      return refused("gateway " + shown + " is an address of this host");
    int prefix = rtnl_addr_get_prefixlen(addr);
    auto mask = mask_of(prefix);
    if (prefix >= 32 || (mine & mask) != (gateway & mask))
      continue;
    if (prefix < 31 && ((gateway & ~mask) == 0 || (gateway & ~mask) == ~mask))
      return refused("gateway " + shown + " is the network or broadcast address of " +
                     ipv4_to_string(mine & mask) + "/" + std::to_string(prefix));
    if (found == 0)
      found = rtnl_addr_get_ifindex(addr);
  }
  if (found == 0)
    return refused("gateway " + shown + " is not on a network this host is directly connected to");
  return found;
}

} // namespace

Status install_peer_route(const PeerRoute& peer) {
  auto sock = netlink::connect();
  if (!sock)
    return std::move(sock).error();
  auto ifindex = connected_interface(sock->get(), peer.gateway);
  if (!ifindex)
    return std::move(ifindex).error();
  auto shown = peer.subnet.to_string() + " via " + ipv4_to_string(peer.gateway);
  std::uint32_t dst_be = htonl(peer.subnet.network);
  std::uint32_t gw_be = htonl(peer.gateway);
  netlink::NlAddr dst(nl_addr_build(AF_INET, &dst_be, sizeof dst_be));
  netlink::NlAddr gw(nl_addr_build(AF_INET, &gw_be, sizeof gw_be));
  Route route(rtnl_route_alloc());
  rtnl_nexthop* hop = rtnl_route_nh_alloc();
  if (!dst || !gw || !route || !hop) {
    if (hop)
      rtnl_route_nh_free(hop);
    return Error{Errc::system, "rtnl_route_alloc: out of memory"};
  }
  nl_addr_set_prefixlen(dst.get(), peer.subnet.prefix_length);
  rtnl_route_set_family(route.get(), AF_INET);
  if (int err = rtnl_route_set_dst(route.get(), dst.get()); err < 0) {
    rtnl_route_nh_free(hop);
    return netlink::error("rtnl_route_set_dst", shown, err);
  }
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  rtnl_route_nh_set_ifindex(hop, *ifindex);
  rtnl_route_nh_set_gateway(hop, gw.get());
  rtnl_route_add_nexthop(route.get(), hop); // the route owns it from here
  if (int err = rtnl_route_add(sock->get(), route.get(), NLM_F_CREATE | NLM_F_REPLACE); err < 0)
    return netlink::error("rtnl_route_add", shown, err);
  return enable_ipv4_forwarding();
}

Status enable_ipv4_forwarding() {
  const char* knob = "/proc/sys/net/ipv4/ip_forward";
  UniqueFd fd(::open(knob, O_WRONLY | O_CLOEXEC));
  if (!fd)
    return system_error("open", knob, errno);
  if (::write(fd.get(), "1\n", 2) != 2)
    return system_error("write", knob, errno);
  return {};
}

} // namespace banger::host
