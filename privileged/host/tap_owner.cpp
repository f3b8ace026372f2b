#include "privileged/host/tap_owner.hpp"

#include "messages/home_layout.hpp"
#include "privileged/host/errors.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <linux/if_tun.h>
#include <map>
#include <mutex>

namespace banger::host {

namespace {

std::string compute_installation_id(const std::filesystem::path& home) {
  std::error_code ec;
  auto path = std::filesystem::weakly_canonical(std::filesystem::absolute(home, ec), ec);
  std::string text = (ec ? home.lexically_normal() : path).string();
  // FNV-1a, 64 bits: stable across builds and restarts (std::hash is not
  // guaranteed to be), and only ever compared for equality.
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

} // namespace

std::string installation_id(const std::filesystem::path& home) {
  // Once per home: every tap request asks, and resolving the home's
  // canonical path is a readlink per component (BENCHMARKS.md). The home is
  // the helper's own configuration; it does not move while the helper runs.
  static std::mutex mutex;
  static std::map<std::string, std::string> known;
  std::lock_guard guard{mutex};
  auto [it, fresh] = known.try_emplace(home.string());
  if (fresh)
    it->second = compute_installation_id(home);
  return it->second;
}

std::string tap_alias(std::string_view installation, std::string_view vm_id) {
  return "banger:" + std::string(installation) + ":" + std::string(vm_id);
}

std::string alias_vm(std::string_view alias, const TapScope& scope, std::string_view tap) {
  std::string prefix = "banger:" + scope.installation + ":";
  if (scope.installation.empty() || alias.substr(0, prefix.size()) != prefix)
    return {};
  auto vm_id = alias.substr(prefix.size());
  if (!validate_vm_id(vm_id) || tap_name(vm_id) != tap)
    return {};
  return std::string(vm_id);
}

Status check_ours(nl_sock* sock, rtnl_link* link, const std::string& tap, const TapScope& scope,
                  std::string_view vm_id) {
  const char* raw = rtnl_link_get_ifalias(link);
  std::string alias = raw ? raw : "";
  auto owner = alias_vm(alias, scope, tap);
  if (owner.empty())
    return refused("tap " + tap + " was not made by this banger installation (alias "
                   + (alias.empty() ? std::string("none") : printable(alias)) + ")");
  if (!vm_id.empty() && owner != vm_id)
    return refused("tap " + tap + " belongs to vm " + owner + ", not " + std::string(vm_id));
  if (int master = rtnl_link_get_master(link); master > 0) {
    auto bridge = netlink::get_link(sock, scope.bridge);
    if (!bridge)
      return std::move(bridge).error();
    if (!*bridge || rtnl_link_get_ifindex(bridge->get()) != master)
      return refused("tap " + tap + " is on another bridge than " + scope.bridge);
  }
  return {};
}

std::optional<std::string> sysfs_attribute(const std::string& name,
                                           const char* attribute) {
  std::ifstream in("/sys/class/net/" + name + "/" + attribute);
  std::string value;
  if (!std::getline(in, value))
    return std::nullopt;
  return value;
}

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

Result<netlink::Link> find_tap(nl_sock* sock, const std::string& tap, const TapScope& scope,
                               std::string_view vm_id) {
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

} // namespace banger::host
