// The VM network on the host: one bridge with the gateway address and one
// persistent tap per VM, enslaved to it. Netlink (libnl-route-3) and tun
// ioctls only; nothing here runs `ip`.
//
// The bridge name and subnet are meant to come from the helper's own
// configuration (network.bridge, network.subnet), not from a request: a
// request could otherwise put addresses on any bridge of the host.
#pragma once

#include "messages/result.hpp"
#include "privileged/host/paths.hpp"
#include "privileged/host/validate.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace banger::host {

/// Whose taps the helper may touch. Tap names are host-wide and follow one
/// pattern for every installation (and anyone can make a tap-fc-* device),
/// so a name proves nothing: a tap is this installation's only if it carries
/// the interface alias (IFLA_IFALIAS) create_tap gave it, and it is on no
/// bridge or on this installation's bridge. Every change (completing,
/// deleting) and the inventory check that first.
struct TapScope {
  std::string bridge;
  std::string installation; ///< installation_id(home)
  bool operator==(const TapScope&) const = default;
};

/// 16 hex digits derived from the home's canonical path: the same for every
/// start of one installation, different for two homes on one host.
std::string installation_id(const std::filesystem::path& home);

/// The alias create_tap gives the tap of `vm_id`: banger:<installation>:<vm_id>.
std::string tap_alias(std::string_view installation, std::string_view vm_id);

/// Creates bridge `bridge` if absent, gives it the subnet's gateway address
/// (e.g. 172.30.0.1/24) if it lacks it, and brings it up. A non-bridge link
/// of that name is refused. Idempotent.
Status ensure_bridge(std::string_view bridge, const Ipv4Subnet& subnet);

/// Deletes bridge `bridge` (not_found if absent; a non-bridge is refused).
/// For tests and uninstall only: not part of the daemon's request list.
Status delete_bridge(std::string_view bridge);

/// Creates the persistent tap of `vm_id` (`tap` must equal tap_name(vm_id)),
/// owned by `owner` so the VMM can attach without CAP_NET_ADMIN, with alias
/// tap_alias(scope.installation, vm_id), enslaved to `scope.bridge` and up.
/// An existing tap of this installation and VM with the same owner is
/// completed (enslaved, brought up) and reported as success; one with
/// another owner is a conflict; any other device of that name (no or another
/// alias, another bridge, not a tap) is refused and left as it is.
Status create_tap(std::string_view vm_id, std::string_view tap,
                  const TapScope& scope, Ownership owner);

/// Deletes a tap of this installation (see TapScope). not_found if it does
/// not exist (the caller may treat that as done); a non-banger name, a
/// non-tap device or another's tap is refused. Takes one round of RCU grace
/// periods in the kernel (~20 ms on an idle host); TapReaper
/// (tap_reaper.hpp) takes that off a caller's path.
Status delete_tap(std::string_view tap, const TapScope& scope);

/// Deletes a tap that create_tap() left half-made (no alias, on no bridge):
/// only for a name the caller's own intent record proves it was creating
/// (helper_actor.cpp, make_tap). Anything marked or attached is refused.
Status delete_unmarked_tap(std::string_view tap);

/// Checks `tap` as delete_tap() does without deleting it; with `vm_id` the
/// alias must also name that VM.
Status check_tap(std::string_view tap, const TapScope& scope, std::string_view vm_id = {});

/// Deletes `taps` with one kernel unregister for all of them: each is
/// checked as delete_tap() does, moved into a fresh link group, and the
/// group is deleted with one RTM_DELLINK (unregister_netdevice_many), so the
/// batch waits for the grace periods once. One status per name, in order.
std::vector<Status> delete_taps(const std::vector<std::string>& taps, const TapScope& scope);

/// A tun/tap device with a banger tap name found on the host.
struct TapInfo {
  std::string name;
  int ifindex = 0;
  /// Bridge it is enslaved to; empty if none.
  std::string master;
  bool up = false;
  std::string alias; ///< IFLA_IFALIAS; empty if none
  /// This installation's (see TapScope): the only ones the inventory reports.
  bool ours = false;
};

/// Every tun/tap device whose name matches tap-fc-<8 hex>, for rediscovery
/// and `banger doctor`; `ours` says which belong to `scope`.
Result<std::vector<TapInfo>> list_taps(const TapScope& scope);

} // namespace banger::host
