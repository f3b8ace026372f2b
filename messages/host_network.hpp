// The host network of a home, as banger.conf names it: the bridge the taps
// attach to and the IPv4 subnet the guests live in. One rule set for
// `banger init`, bangerd and banger-helper, so a value one of them accepts the
// others accept too (the settings table validates network.bridge and
// network.subnet with these functions; the helper checks them again at its
// edge with the same ones).
#pragma once

#include "messages/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace banger {

/// At most IFNAMSIZ-1 characters of `[a-z0-9][a-z0-9-]*`, starting with a
/// letter or digit: safe inside an nftables script and an argv.
Status validate_bridge_name(std::string_view bridge);

/// An IPv4 subnet in host byte order, network address aligned to the prefix.
/// The gateway (the bridge's address) is its first host; guests get the
/// hosts after it.
struct Ipv4Subnet {
  std::uint32_t network = 0;
  std::uint8_t prefix_length = 24;

  std::uint32_t netmask() const;
  /// First host of the subnet: the bridge's address.
  std::uint32_t gateway() const { return network + 1; }
  bool contains(std::uint32_t address) const;
  /// Usable guest addresses: all but network, gateway and broadcast.
  std::uint32_t guest_capacity() const;
  /// Guest address number `index` (0-based): network + 2 + index.
  std::uint32_t guest(std::uint32_t index) const { return network + 2 + index; }
  /// "172.30.0.0/24"
  std::string to_string() const;
  /// "172.30.0.1"
  std::string gateway_string() const;
  bool operator==(const Ipv4Subnet&) const = default;
};

/// Parses `a.b.c.d/n` with n in [8, 30] (a /30 still holds one guest),
/// decimal octets without leading zeros, host bits clear: invalid_argument
/// otherwise. Refuses 0/8, loopback, multicast and reserved ranges with
/// helper_refused.
Result<Ipv4Subnet> parse_ipv4_subnet(std::string_view cidr);

/// Dotted quad of a host-order IPv4 address.
std::string ipv4_to_string(std::uint32_t address);

} // namespace banger
