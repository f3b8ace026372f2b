// Guest addressing: the subnet from network.subnet, the gateway (its first
// host, on the bridge), guest IPs from the second host on, and the MAC and
// vsock CID derived from the guest IP so they are unique whenever it is.
#pragma once

#include "messages/result.hpp"

#include <cstdint>
#include <string>

namespace banger {

struct Subnet {
  std::uint32_t network = 0; ///< host byte order
  int prefix = 24;

  std::uint32_t mask() const { return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix); }
  /// Number of usable guest addresses (excludes network, gateway, broadcast).
  std::uint32_t guest_capacity() const;
  std::uint32_t gateway() const { return network + 1; }
  /// Guest address number `index` (0-based): network + 2 + index.
  std::uint32_t guest(std::uint32_t index) const { return network + 2 + index; }
  bool contains(std::uint32_t ip) const { return (ip & mask()) == network; }
};

Result<Subnet> parse_subnet(const std::string& cidr);
Result<std::uint32_t> parse_ipv4(const std::string& text);
std::string format_ipv4(std::uint32_t ip);
/// Dotted netmask, e.g. 255.255.255.0.
std::string format_netmask(int prefix);

/// 06:00:AA:BB:CC:DD from the IPv4 bytes: locally administered, unicast.
std::string mac_for(std::uint32_t ip);

/// vsock CID: the host part of the IP + 2, so always >= 4 (0-2 are reserved,
/// 3 is avoided to stay clear of hosts that use it).
std::uint32_t cid_for(const Subnet& subnet, std::uint32_t ip);

} // namespace banger
