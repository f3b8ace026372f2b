// The bridge lookup shared by bridge.cpp (ensure_bridge, delete_bridge, declared
// in tap.hpp) and tap creation. Internal to banger_host.
#pragma once

#include "messages/result.hpp"
#include "privileged/host/netlink.hpp"

#include <string>

namespace banger::host {

/// The link called `bridge`: not_found if absent, refused if not a bridge.
Result<netlink::Link> get_bridge(nl_sock* sock, const std::string& bridge);

} // namespace banger::host
