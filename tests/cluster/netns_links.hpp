// The few link operations a test network needs, over rtnetlink (libnl-route,
// as banger-helper uses), each done inside the namespace it names. Errors
// throw std::runtime_error naming the call and the link.
#pragma once

#include <string>

namespace banger::test::links {

/// A bridge called `name` in `netns_fd`, down.
void add_bridge(int netns_fd, const std::string& name);

/// A veth pair: `name` in `netns_fd`, its peer `peer_name` made directly in
/// `peer_netns_fd` (it never exists anywhere else, not for a moment).
void add_veth(int netns_fd, const std::string& name, int peer_netns_fd,
              const std::string& peer_name);

/// Makes `name` a port of the bridge `bridge` (same namespace).
void set_master(int netns_fd, const std::string& name, const std::string& bridge);

/// Sets or clears IFF_UP on `name`.
void set_up(int netns_fd, const std::string& name, bool up);

/// Adds an IPv4 address in CIDR form ("10.77.0.1/24") to `name`.
void add_address(int netns_fd, const std::string& name, const std::string& cidr);

/// Adds the IPv4 default route via `gateway` ("172.31.3.1").
void add_default_route(int netns_fd, const std::string& gateway);

} // namespace banger::test::links
