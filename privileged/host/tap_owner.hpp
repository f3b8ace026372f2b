// Which devices are taps, and which taps are this installation's (see
// TapScope in tap.hpp). Internal to banger_host: tap.cpp and tap_delete.cpp
// check every tap with it before changing it.
#pragma once

#include "privileged/host/netlink.hpp"
#include "privileged/host/tap.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace banger::host {

/// The VM named by a tap's alias if it is this installation's alias for
/// `tap`; empty otherwise.
std::string alias_vm(std::string_view alias, const TapScope& scope, std::string_view tap);

/// Refuses a tap this installation did not make: no alias or another's, an
/// alias naming another VM than `vm_id` (when given), or a master other
/// than scope.bridge. Checked before any change to the tap, so a tap-fc-*
/// device of another installation or of nobody is never completed, moved
/// or deleted.
Status check_ours(nl_sock* sock, rtnl_link* link, const std::string& tap, const TapScope& scope,
                  std::string_view vm_id);

/// A line of /sys/class/net/<name>/<attribute>, if readable.
std::optional<std::string> sysfs_attribute(const std::string& name, const char* attribute);

/// Refuses a link that is not a tun device in tap mode: a tap-fc-* name alone
/// does not make a device banger's.
Status check_is_tap(rtnl_link* link, const std::string& name);

/// The banger tap called `tap`: a valid name, existing, a tap device, and
/// this installation's (of `vm_id` when given).
Result<netlink::Link> find_tap(nl_sock* sock, const std::string& tap, const TapScope& scope,
                               std::string_view vm_id = {});

} // namespace banger::host
