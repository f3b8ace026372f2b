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

#include <string>
#include <string_view>
#include <vector>

namespace banger::host {

/// Creates bridge `bridge` if absent, gives it the subnet's gateway address
/// (e.g. 172.30.0.1/24) if it lacks it, and brings it up. A non-bridge link
/// of that name is refused. Idempotent.
Status ensure_bridge(std::string_view bridge, const Ipv4Subnet& subnet);

/// Deletes bridge `bridge` (not_found if absent; a non-bridge is refused).
/// For tests and uninstall only: not part of the daemon's request list.
Status delete_bridge(std::string_view bridge);

/// Creates the persistent tap of `vm_id` (`tap` must equal tap_name(vm_id)),
/// owned by `owner` so the VMM can attach without CAP_NET_ADMIN, enslaved to
/// `bridge` and up. An existing banger tap with the same owner is completed
/// (enslaved, brought up) and reported as success; one with another owner is
/// a conflict; a non-tap device of that name is refused.
Status create_tap(std::string_view vm_id, std::string_view tap,
                  std::string_view bridge, Ownership owner);

/// Deletes a banger tap. not_found if it does not exist (the caller may treat
/// that as done); a non-banger name or a non-tap device is refused. Takes
/// one round of RCU grace periods in the kernel (~20 ms on an idle host);
/// TapReaper (tap_reaper.hpp) takes that off a caller's path.
Status delete_tap(std::string_view tap);

/// Checks `tap` as delete_tap() does without deleting it.
Status check_tap(std::string_view tap);

/// Deletes `taps` with one kernel unregister for all of them: each is
/// checked as delete_tap() does, moved into a fresh link group, and the
/// group is deleted with one RTM_DELLINK (unregister_netdevice_many), so the
/// batch waits for the grace periods once. One status per name, in order.
std::vector<Status> delete_taps(const std::vector<std::string>& taps);

/// A banger tap found on the host.
struct TapInfo {
  std::string name;
  int ifindex = 0;
  /// Bridge it is enslaved to; empty if none.
  std::string master;
  bool up = false;
};

/// Every tun/tap device whose name matches tap-fc-<8 hex>, for rediscovery
/// and `banger doctor`.
Result<std::vector<TapInfo>> list_taps();

} // namespace banger::host
