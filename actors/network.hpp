// Guest addressing: the subnet from network.subnet, the gateway (its first
// host, on the bridge), guest IPs from the second host on, and the MAC and
// vsock CID derived from the guest IP so they are unique whenever it is.
#pragma once

#include "messages/host_network.hpp"
#include "messages/result.hpp"

#include <cstdint>
#include <string>

namespace banger {

/// The guest subnet: parsed once, by the rule set banger.conf's
/// network.subnet is validated with (messages/host_network.hpp).
using Subnet = Ipv4Subnet;

Result<std::uint32_t> parse_ipv4(const std::string& text);
std::string format_ipv4(std::uint32_t ip);
/// Dotted netmask, e.g. 255.255.255.0.
std::string format_netmask(int prefix_length);

/// 06:00:AA:BB:CC:DD from the IPv4 bytes: locally administered, unicast.
std::string mac_for(std::uint32_t ip);

/// vsock CID: the host part of the IP + 2, so always >= 4 (0-2 are reserved,
/// 3 is avoided to stay clear of hosts that use it).
std::uint32_t cid_for(const Subnet& subnet, std::uint32_t ip);

} // namespace banger
