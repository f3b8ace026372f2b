#include "privileged/host/bridge.hpp"

#include "privileged/host/errors.hpp"
#include "privileged/host/tap.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <net/if.h>
#include <netlink/route/link/bridge.h>

namespace banger::host {

Result<netlink::Link> get_bridge(nl_sock* sock, const std::string& bridge) {
  auto link = netlink::get_link(sock, bridge);
  if (!link)
    return std::move(link).error();
  if (!*link)
    return not_found("bridge " + bridge + " does not exist");
  if (netlink::link_kind(link->get()) != "bridge")
    return refused("device " + bridge + " exists and is not a bridge");
  return std::move(*link);
}

namespace {

Status has_gateway(nl_sock* sock, int ifindex, const Ipv4Subnet& subnet,
                   const std::string& bridge, bool& present) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(sock, &raw); err < 0)
    return netlink::error("rtnl_addr_alloc_cache", bridge, err);
  netlink::Cache cache(raw);
  present = false;
  for (auto* obj = nl_cache_get_first(raw); obj; obj = nl_cache_get_next(obj)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(obj);
    if (rtnl_addr_get_ifindex(addr) != ifindex ||
        rtnl_addr_get_family(addr) != AF_INET)
      continue;
    nl_addr* local = rtnl_addr_get_local(addr);
    if (!local || nl_addr_get_len(local) != 4)
      continue;
    std::uint32_t be = 0;
    std::memcpy(&be, nl_addr_get_binary_addr(local), 4);
    if (ntohl(be) == subnet.gateway() &&
        rtnl_addr_get_prefixlen(addr) == subnet.prefix_length)
      present = true;
  }
  return {};
}

Status add_gateway(nl_sock* sock, int ifindex, const Ipv4Subnet& subnet,
                   const std::string& bridge) {
  std::uint32_t be = htonl(subnet.gateway());
  netlink::NlAddr local(nl_addr_build(AF_INET, &be, sizeof be));
  netlink::Addr addr(rtnl_addr_alloc());
  if (!local || !addr)
    return Error{Errc::system, "rtnl_addr_alloc: out of memory"};
  nl_addr_set_prefixlen(local.get(), subnet.prefix_length);
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_family(addr.get(), AF_INET);
  if (int err = rtnl_addr_set_local(addr.get(), local.get()); err < 0)
    return netlink::error("rtnl_addr_set_local", bridge, err);
  rtnl_addr_set_prefixlen(addr.get(), subnet.prefix_length);
  int err = rtnl_addr_add(sock, addr.get(), 0);
  if (err < 0 && err != -NLE_EXIST)
    return netlink::error("rtnl_addr_add",
                          subnet.gateway_string() + "/" +
                              std::to_string(subnet.prefix_length) + " on " +
                              bridge,
                          err);
  return {};
}

} // namespace

Status ensure_bridge(std::string_view bridge_name, const Ipv4Subnet& subnet) {
  if (auto st = validate_bridge_name(bridge_name); !st)
    return st;
  std::string bridge(bridge_name);
  auto sock = netlink::connect();
  if (!sock)
    return std::move(sock).error();
  auto link = netlink::get_link(sock->get(), bridge);
  if (!link)
    return std::move(link).error();
  if (!*link) {
    netlink::Link fresh(rtnl_link_bridge_alloc());
    if (!fresh)
      return Error{Errc::system, "rtnl_link_bridge_alloc: out of memory"};
    rtnl_link_set_name(fresh.get(), bridge.c_str());
    int err =
        rtnl_link_add(sock->get(), fresh.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err < 0 && err != -NLE_EXIST)
      return netlink::error("rtnl_link_add", "bridge " + bridge, err);
  }
  auto bridge_link = get_bridge(sock->get(), bridge);
  if (!bridge_link)
    return std::move(bridge_link).error();
  int ifindex = rtnl_link_get_ifindex(bridge_link->get());
  bool present = false;
  if (auto st = has_gateway(sock->get(), ifindex, subnet, bridge, present); !st)
    return st;
  if (!present)
    if (auto st = add_gateway(sock->get(), ifindex, subnet, bridge); !st)
      return st;
  if (!(rtnl_link_get_flags(bridge_link->get()) & IFF_UP))
    return netlink::enslave_and_up(sock->get(), bridge_link->get(), 0,
                                   "bridge " + bridge);
  return {};
}

Status delete_bridge(std::string_view bridge_name) {
  if (auto st = validate_bridge_name(bridge_name); !st)
    return st;
  std::string bridge(bridge_name);
  auto sock = netlink::connect();
  if (!sock)
    return std::move(sock).error();
  auto link = get_bridge(sock->get(), bridge);
  if (!link)
    return std::move(link).error();
  if (int err = rtnl_link_delete(sock->get(), link->get()); err < 0)
    return netlink::error("rtnl_link_delete", "bridge " + bridge, err);
  return {};
}

} // namespace banger::host
