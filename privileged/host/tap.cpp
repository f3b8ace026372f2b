#include "privileged/host/tap.hpp"

#include "privileged/host/errors.hpp"
#include "privileged/host/netlink.hpp"
#include "privileged/host/tap_owner.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netlink/route/link/bridge.h>
#include <algorithm>
#include <optional>
#include <sys/random.h>
#include <sys/ioctl.h>

namespace banger::host {

namespace {

/// A line of /sys/class/net/<name>/<attribute>, if readable.
std::optional<std::string> sysfs_attribute(const std::string& name,
                                           const char* attribute) {
  std::ifstream in("/sys/class/net/" + name + "/" + attribute);
  std::string value;
  if (!std::getline(in, value))
    return std::nullopt;
  return value;
}

/// Refuses a link that is not a tun device in tap mode: a tap-fc-* name alone
/// does not make a device banger's.
Status check_is_tap(rtnl_link* link, const std::string& name) {
  if (netlink::link_kind(link) != "tun")
    return refused("device " + name + " exists and is not a tun/tap device");
  auto flags = sysfs_attribute(name, "tun_flags");
  if (!flags)
    return refused("device " + name + " has no readable tun_flags");
  unsigned long value = std::strtoul(flags->c_str(), nullptr, 0);
  if (!(value & IFF_TAP))
    return refused("device " + name + " is a tun (layer 3) device, not a tap");
  return {};
}

/// Owner of an existing tap as "uid:gid" with -1 for unset.
std::string tap_owner(const std::string& name) {
  return sysfs_attribute(name, "owner").value_or("?") + ":" +
         sysfs_attribute(name, "group").value_or("?");
}

std::string owner_string(Ownership owner) {
  return std::to_string(owner.uid) + ":" + std::to_string(owner.gid);
}

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

/// Makes the persistent tap device with tun ioctls. The descriptor is closed
/// before returning: the device stays because it is persistent.
Status make_persistent_tap(const std::string& name, Ownership owner) {
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd)
    return system_error("open", "/dev/net/tun", errno);
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  // IFF_VNET_HDR: firecracker and qemu both attach with it; the flag is
  // updated by whoever attaches, but starting from the same set is tidier.
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0)
    return system_error("ioctl(TUNSETIFF)", name, errno);
  if (::ioctl(fd.get(), TUNSETOWNER, static_cast<unsigned long>(owner.uid)) !=
      0)
    return system_error("ioctl(TUNSETOWNER)", name, errno);
  if (::ioctl(fd.get(), TUNSETGROUP, static_cast<unsigned long>(owner.gid)) !=
      0)
    return system_error("ioctl(TUNSETGROUP)", name, errno);
  if (::ioctl(fd.get(), TUNSETPERSIST, 1UL) != 0)
    return system_error("ioctl(TUNSETPERSIST)", name, errno);
  return {};
}

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

Status create_tap(std::string_view vm_id, std::string_view tap_view,
                  const TapScope& scope, Ownership owner) {
  if (auto st = validate_tap_name_for(tap_view, vm_id); !st)
    return st;
  if (auto st = validate_bridge_name(scope.bridge); !st)
    return st;
  if (scope.installation.empty())
    return invalid_argument("no installation id to mark tap " + std::string(tap_view) + " with");
  std::string tap(tap_view);
  const std::string& bridge = scope.bridge;
  std::string alias = tap_alias(scope.installation, vm_id);
  auto sock = netlink::connect();
  if (!sock)
    return std::move(sock).error();
  auto bridge_link = get_bridge(sock->get(), bridge);
  if (!bridge_link)
    return std::move(bridge_link).error();
  int bridge_index = rtnl_link_get_ifindex(bridge_link->get());

  auto existing = netlink::get_link(sock->get(), tap);
  if (!existing)
    return std::move(existing).error();
  if (*existing) {
    if (auto st = check_is_tap(existing->get(), tap); !st)
      return st;
    if (auto st = check_ours(sock->get(), existing->get(), tap, scope, vm_id); !st)
      return st;
    std::string found = tap_owner(tap);
    if (found != owner_string(owner))
      return conflict("tap " + tap + " exists with owner " + found + ", not " +
                      owner_string(owner));
    bool complete = rtnl_link_get_master(existing->get()) == bridge_index &&
                    (rtnl_link_get_flags(existing->get()) & IFF_UP);
    if (complete)
      return {};
    return netlink::enslave_and_up(sock->get(), existing->get(), bridge_index,
                                   "tap " + tap, alias);
  }

  if (auto st = make_persistent_tap(tap, owner); !st)
    return st;
  auto created = netlink::get_link(sock->get(), tap);
  Status status;
  if (!created)
    status = std::move(created).error();
  else if (!*created)
    status = Error{Errc::system, "tap " + tap + " vanished after creation"};
  else
    // The alias marks it as this installation's before it is of any use.
    status = netlink::enslave_and_up(sock->get(), created->get(), bridge_index,
                                     "tap " + tap, alias);
  if (!status && created && *created)
    rtnl_link_delete(sock->get(), created->get()); // roll back; best effort
  return status;
}

namespace {

/// A link group no host configuration uses: /etc/iproute2/group names small
/// numbers; this is 0x6e000000 plus 24 random bits, fresh for every batch.
Result<std::uint32_t> fresh_link_group() {
  std::uint32_t bits = 0;
  if (::getrandom(&bits, sizeof bits, 0) != static_cast<ssize_t>(sizeof bits))
    return system_error("getrandom", "link group", errno);
  return 0x6e000000u | (bits & 0x00ffffffu);
}

Status delete_link_group(nl_sock* sock, std::uint32_t group) {
  nl_msg* msg = nlmsg_alloc_simple(RTM_DELLINK, 0);
  if (!msg)
    return Error{Errc::system, "nlmsg_alloc_simple: out of memory"};
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
      nla_put_u32(msg, IFLA_GROUP, group) < 0) {
    nlmsg_free(msg);
    return Error{Errc::system, "RTM_DELLINK: message too long"};
  }
  // Sends, frees the message and waits for the kernel's acknowledgement.
  if (int err = nl_send_sync(sock, msg); err < 0)
    return netlink::error("RTM_DELLINK", "group " + std::to_string(group), err);
  return {};
}

Status delete_one(nl_sock* sock, rtnl_link* link, const std::string& tap) {
  int err = rtnl_link_delete(sock, link);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV)
    return not_found("tap " + tap + " does not exist");
  if (err < 0)
    return netlink::error("rtnl_link_delete", "tap " + tap, err);
  return {};
}

} // namespace

namespace {

/// The banger tap called `tap`: a valid name, existing, a tap device, and
/// this installation's (of `vm_id` when given).
Result<netlink::Link> find_tap(nl_sock* sock, const std::string& tap, const TapScope& scope,
                               std::string_view vm_id = {}) {
  if (auto st = validate_tap_name(tap); !st)
    return std::move(st).error();
  auto link = netlink::get_link(sock, tap);
  if (!link)
    return std::move(link).error();
  if (!*link)
    return not_found("tap " + tap + " does not exist");
  if (auto st = check_is_tap(link->get(), tap); !st)
    return std::move(st).error();
  if (auto st = check_ours(sock, link->get(), tap, scope, vm_id); !st)
    return std::move(st).error();
  return std::move(*link);
}

} // namespace

Status check_tap(std::string_view tap, const TapScope& scope, std::string_view vm_id) {
  if (auto st = validate_tap_name(tap); !st)
    return st;
  auto sock = netlink::connect();
  if (!sock)
    return std::move(sock).error();
  auto link = find_tap(sock->get(), std::string(tap), scope, vm_id);
  if (!link)
    return std::move(link).error();
  return {};
}

Status delete_unmarked_tap(std::string_view tap_view) {
  std::string tap(tap_view);
  if (auto st = validate_tap_name(tap); !st)
    return st;
  auto sock = netlink::connect();
  if (!sock)
    return std::move(sock).error();
  auto link = netlink::get_link(sock->get(), tap);
  if (!link)
    return std::move(link).error();
  if (!*link)
    return not_found("tap " + tap + " does not exist");
  if (auto st = check_is_tap(link->get(), tap); !st)
    return st;
  const char* alias = rtnl_link_get_ifalias(link->get());
  if ((alias && *alias) || rtnl_link_get_master(link->get()) > 0)
    return Error{Errc::helper_refused, "tap " + tap + " is marked or attached: not a half-made tap"};
  return delete_one(sock->get(), link->get(), tap);
}

Status delete_tap(std::string_view tap, const TapScope& scope) {
  return std::move(delete_taps({std::string(tap)}, scope).front());
}

std::vector<Status> delete_taps(const std::vector<std::string>& taps, const TapScope& scope) {
  std::vector<Status> results(taps.size());
  auto sock = netlink::connect();
  if (!sock) {
    std::fill(results.begin(), results.end(), Status(sock.error()));
    return results;
  }
  // Each name checked as one delete would; the taps found are kept.
  std::vector<std::pair<std::size_t, netlink::Link>> found;
  for (std::size_t i = 0; i < taps.size(); ++i) {
    auto link = find_tap(sock->get(), taps[i], scope);
    if (!link)
      results[i] = std::move(link).error();
    else
      found.emplace_back(i, std::move(*link));
  }
  if (found.size() == 1) {
    auto& [i, link] = found.front();
    results[i] = delete_one(sock->get(), link.get(), taps[i]);
    return results;
  }
  if (found.empty())
    return results;

  // Several: into one fresh group, then one RTM_DELLINK for the group, so
  // the kernel unregisters them together (unregister_netdevice_many: one
  // round of grace periods for the batch).
  auto group = fresh_link_group();
  std::vector<std::size_t> grouped;
  if (group) {
    for (auto& [i, link] : found) {
      netlink::Link change(rtnl_link_alloc());
      if (!change)
        break;
      rtnl_link_set_group(change.get(), *group);
      int err = rtnl_link_change(sock->get(), link.get(), change.get(), 0);
      if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV)
        results[i] = not_found("tap " + taps[i] + " does not exist");
      else if (err == 0)
        grouped.push_back(i);
      else
        break; // the rest go one by one below
    }
  }
  if (!grouped.empty()) {
    if (auto st = delete_link_group(sock->get(), *group); !st) {
      grouped.clear(); // nothing was deleted: the kernel's group delete is all or nothing
    } else {
      for (auto i : grouped)
        results[i] = Status{};
    }
  }
  // Whatever the group did not cover (a failed regroup, a failed group
  // delete) is deleted the ordinary way.
  for (auto& [i, link] : found) {
    if (std::find(grouped.begin(), grouped.end(), i) != grouped.end() ||
        (!results[i] && results[i].error().code == Errc::not_found))
      continue;
    results[i] = delete_one(sock->get(), link.get(), taps[i]);
  }
  return results;
}

Result<std::vector<TapInfo>> list_taps(const TapScope& scope) {
  auto sock = netlink::connect();
  if (!sock)
    return std::move(sock).error();
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(sock->get(), AF_UNSPEC, &raw); err < 0)
    return netlink::error("rtnl_link_alloc_cache", "links", err);
  netlink::Cache cache(raw);
  std::vector<TapInfo> taps;
  for (auto* obj = nl_cache_get_first(raw); obj; obj = nl_cache_get_next(obj)) {
    auto* link = reinterpret_cast<rtnl_link*>(obj);
    const char* name = rtnl_link_get_name(link);
    if (!name || !validate_tap_name(name) || netlink::link_kind(link) != "tun")
      continue;
    TapInfo info;
    info.name = name;
    info.ifindex = rtnl_link_get_ifindex(link);
    info.up = rtnl_link_get_flags(link) & IFF_UP;
    if (int master = rtnl_link_get_master(link); master > 0) {
      char master_name[IF_NAMESIZE] = {};
      if (rtnl_link_i2name(raw, master, master_name, sizeof master_name))
        info.master = master_name;
    }
    if (const char* alias = rtnl_link_get_ifalias(link))
      info.alias = alias;
    info.ours = !alias_vm(info.alias, scope, info.name).empty()
                && (info.master.empty() || info.master == scope.bridge);
    taps.push_back(std::move(info));
  }
  return taps;
}

} // namespace banger::host
