#include "tests/cluster/netns_links.hpp"
#include "tests/cluster/netns.hpp"

#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include <net/if.h>

#include <memory>
#include <stdexcept>

namespace banger::test::links {

namespace {

struct SocketDeleter {
  void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
struct LinkDeleter {
  void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
struct AddrDeleter {
  void operator()(rtnl_addr* addr) const { rtnl_addr_put(addr); }
};
struct NlAddrDeleter {
  void operator()(nl_addr* addr) const { nl_addr_put(addr); }
};
using Socket = std::unique_ptr<nl_sock, SocketDeleter>;
using Link = std::unique_ptr<rtnl_link, LinkDeleter>;

void check(int rc, const char* call, const std::string& name) {
  if (rc < 0)
    throw std::runtime_error(std::string(call) + " " + name + ": " + nl_geterror(rc));
}

/// Runs `work` with a route socket of `netns_fd` (made, and used, inside it).
template <class Work>
void with_socket(int netns_fd, Work work) {
  inside(netns_fd, [&] {
    Socket sock{nl_socket_alloc()};
    if (!sock)
      throw std::runtime_error("nl_socket_alloc failed");
    check(nl_connect(sock.get(), NETLINK_ROUTE), "nl_connect", "NETLINK_ROUTE");
    work(sock.get());
  });
}

Link get_link(nl_sock* sock, const std::string& name) {
  rtnl_link* link = nullptr;
  check(rtnl_link_get_kernel(sock, 0, name.c_str(), &link), "rtnl_link_get_kernel", name);
  return Link{link};
}

/// Applies the attributes `set` puts on an empty change to the link `name`.
template <class Set>
void change_link(int netns_fd, const std::string& name, Set set) {
  with_socket(netns_fd, [&](nl_sock* sock) {
    auto link = get_link(sock, name);
    Link change{rtnl_link_alloc()};
    set(sock, change.get());
    check(rtnl_link_change(sock, link.get(), change.get(), 0), "rtnl_link_change", name);
  });
}

} // namespace

void add_bridge(int netns_fd, const std::string& name) {
  with_socket(netns_fd, [&](nl_sock* sock) {
    Link link{rtnl_link_alloc()};
    rtnl_link_set_name(link.get(), name.c_str());
    check(rtnl_link_set_type(link.get(), "bridge"), "rtnl_link_set_type", name);
    check(rtnl_link_add(sock, link.get(), NLM_F_CREATE | NLM_F_EXCL), "rtnl_link_add", name);
  });
}

void add_veth(int netns_fd, const std::string& name, int peer_netns_fd,
              const std::string& peer_name) {
  with_socket(netns_fd, [&](nl_sock* sock) {
    Link link{rtnl_link_veth_alloc()};
    if (!link)
      throw std::runtime_error("rtnl_link_veth_alloc failed");
    rtnl_link_set_name(link.get(), name.c_str());
    Link peer{rtnl_link_veth_get_peer(link.get())};
    rtnl_link_set_name(peer.get(), peer_name.c_str());
    rtnl_link_set_ns_fd(peer.get(), peer_netns_fd);
    check(rtnl_link_add(sock, link.get(), NLM_F_CREATE | NLM_F_EXCL), "rtnl_link_add", name);
  });
}

void set_master(int netns_fd, const std::string& name, const std::string& bridge) {
  change_link(netns_fd, name, [&](nl_sock* sock, rtnl_link* change) {
    rtnl_link_set_master(change, rtnl_link_get_ifindex(get_link(sock, bridge).get()));
  });
}

void set_up(int netns_fd, const std::string& name, bool up) {
  change_link(netns_fd, name, [&](nl_sock*, rtnl_link* change) {
    if (up)
      rtnl_link_set_flags(change, IFF_UP);
    else
      rtnl_link_unset_flags(change, IFF_UP);
  });
}

void add_address(int netns_fd, const std::string& name, const std::string& cidr) {
  with_socket(netns_fd, [&](nl_sock* sock) {
    auto link = get_link(sock, name);
    nl_addr* parsed = nullptr;
    check(nl_addr_parse(cidr.c_str(), AF_INET, &parsed), "nl_addr_parse", cidr);
    std::unique_ptr<nl_addr, NlAddrDeleter> local{parsed};
    std::unique_ptr<rtnl_addr, AddrDeleter> addr{rtnl_addr_alloc()};
    rtnl_addr_set_ifindex(addr.get(), rtnl_link_get_ifindex(link.get()));
    check(rtnl_addr_set_local(addr.get(), local.get()), "rtnl_addr_set_local", cidr);
    check(rtnl_addr_add(sock, addr.get(), 0), "rtnl_addr_add", name + " " + cidr);
  });
}

void add_default_route(int netns_fd, const std::string& gateway) {
  with_socket(netns_fd, [&](nl_sock* sock) {
    nl_addr* parsed = nullptr;
    check(nl_addr_parse("0.0.0.0/0", AF_INET, &parsed), "nl_addr_parse", "0.0.0.0/0");
    std::unique_ptr<nl_addr, NlAddrDeleter> dst{parsed};
    check(nl_addr_parse(gateway.c_str(), AF_INET, &parsed), "nl_addr_parse", gateway);
    std::unique_ptr<nl_addr, NlAddrDeleter> via{parsed};
    std::unique_ptr<rtnl_route, decltype(&rtnl_route_put)> route{rtnl_route_alloc(), rtnl_route_put};
    rtnl_route_set_family(route.get(), AF_INET);
    check(rtnl_route_set_dst(route.get(), dst.get()), "rtnl_route_set_dst", "default");
    rtnl_nexthop* hop = rtnl_route_nh_alloc();
    rtnl_route_nh_set_gateway(hop, via.get());
    rtnl_route_add_nexthop(route.get(), hop);
    check(rtnl_route_add(sock, route.get(), NLM_F_CREATE | NLM_F_EXCL), "rtnl_route_add",
          "default via " + gateway);
  });
}

} // namespace banger::test::links
