#include "privileged/host/tap.hpp"

#include "privileged/host/bridge.hpp"
#include "privileged/host/errors.hpp"
#include "privileged/host/netlink.hpp"
#include "privileged/host/tap_owner.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

namespace banger::host {

namespace {

/// Owner of an existing tap as "uid:gid" with -1 for unset.
std::string tap_owner(const std::string& name) {
  return sysfs_attribute(name, "owner").value_or("?") + ":" +
         sysfs_attribute(name, "group").value_or("?");
}

std::string owner_string(Ownership owner) {
  return std::to_string(owner.uid) + ":" + std::to_string(owner.gid);
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

} // namespace

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
