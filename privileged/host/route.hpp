// Routes to the guest subnets of cluster peers (docs/cluster.md, "Guest
// networks across hosts"): one route per peer in the main table, via the
// peer's cluster address, made over rtnetlink (libnl-route, as taps and the
// bridge are; no `ip` process), and IPv4 forwarding, so that peers reach
// this host's guests through it.
#pragma once

#include "messages/result.hpp"
#include "privileged/host/validate.hpp"

namespace banger::host {

/// Routes route.subnet via route.gateway (validate_peer_route checked
/// both), replacing any route to exactly that subnet: asking again changes
/// nothing. The gateway must be on a network one of this host's IPv4
/// addresses is on, and not one of them (helper_refused otherwise); the
/// route goes out of that address's interface. Then turns IPv4 forwarding
/// on (host wide, left on).
Status install_peer_route(const PeerRoute& route);

/// /proc/sys/net/ipv4/ip_forward = 1.
Status enable_ipv4_forwarding();

} // namespace banger::host
