#include "messages/host_network.hpp"

#include "messages/excerpt.hpp"

#include <algorithm>
#include <net/if.h>
#include <optional>

namespace banger {

namespace {

// Untrusted text in these messages: quoted, escaped and bounded as the
// helper prints any caller-supplied string.
std::string printable(std::string_view untrusted) {
  return quoted_excerpt(untrusted, 96, '"');
}

Error invalid(std::string message) {
  return Error{Errc::invalid_argument, std::move(message)};
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/// Strict unsigned decimal: digits only, no sign, no leading zero unless "0".
std::optional<unsigned> parse_decimal(std::string_view text, unsigned max) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0'))
    return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > max)
    return std::nullopt;
  return value;
}

} // namespace

Status validate_bridge_name(std::string_view bridge) {
  if (bridge.empty() || bridge.size() > IFNAMSIZ - 1 || !is_name_start(bridge[0]) ||
      !std::all_of(bridge.begin(), bridge.end(), is_name_char))
    return invalid("bridge name " + printable(bridge) +
                   " is not 1-15 characters of [a-z0-9-] starting with a letter or digit");
  return {};
}

std::uint32_t Ipv4Subnet::netmask() const {
  return prefix_length == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_length);
}

bool Ipv4Subnet::contains(std::uint32_t address) const {
  return (address & netmask()) == network;
}

std::uint32_t Ipv4Subnet::guest_capacity() const {
  if (prefix_length > 30)
    return 0;
  return static_cast<std::uint32_t>((std::uint64_t{1} << (32 - prefix_length)) - 3);
}

std::string Ipv4Subnet::to_string() const {
  return ipv4_to_string(network) + "/" + std::to_string(prefix_length);
}

std::string Ipv4Subnet::gateway_string() const {
  return ipv4_to_string(gateway());
}

std::string ipv4_to_string(std::uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

Result<Ipv4Subnet> parse_ipv4_subnet(std::string_view cidr) {
  auto malformed = [&] {
    return invalid("subnet " + printable(cidr) + " is not a.b.c.d/n with n in [8, 30]");
  };
  if (cidr.size() > 18)
    return malformed();
  auto slash = cidr.find('/');
  if (slash == std::string_view::npos)
    return malformed();
  auto prefix = parse_decimal(cidr.substr(slash + 1), 32);
  if (!prefix || *prefix < 8 || *prefix > 30)
    return malformed();
  std::uint32_t address = 0;
  std::string_view rest = cidr.substr(0, slash);
  for (int i = 0; i < 4; ++i) {
    auto dot = rest.find('.');
    if ((i < 3) == (dot == std::string_view::npos))
      return malformed();
    auto octet = parse_decimal(rest.substr(0, dot), 255);
    if (!octet)
      return malformed();
    address = (address << 8) | *octet;
    rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
  }
  Ipv4Subnet subnet{address, static_cast<std::uint8_t>(*prefix)};
  if ((address & subnet.netmask()) != address)
    return invalid("subnet " + printable(cidr) + " has host bits set (network is " +
                   ipv4_to_string(address & subnet.netmask()) + ")");
  auto first_octet = address >> 24;
  if (first_octet == 0 || first_octet == 127 || first_octet >= 224)
    return Error{Errc::helper_refused, "subnet " + subnet.to_string() +
                                         " is in a reserved, loopback or multicast range"};
  return subnet;
}

} // namespace banger
