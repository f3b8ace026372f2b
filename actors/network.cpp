#include "actors/network.hpp"

#include <arpa/inet.h>

#include <cstdio>

namespace banger {

std::uint32_t Subnet::guest_capacity() const {
  if (prefix > 29)
    return 0;
  std::uint64_t size = std::uint64_t{1} << (32 - prefix);
  return static_cast<std::uint32_t>(size - 3);
}

Result<std::uint32_t> parse_ipv4(const std::string& text) {
  in_addr addr{};
  if (inet_pton(AF_INET, text.c_str(), &addr) != 1)
    return Error{Errc::invalid_argument, "not an IPv4 address: " + text};
  return ntohl(addr.s_addr);
}

std::string format_ipv4(std::uint32_t ip) {
  char buffer[INET_ADDRSTRLEN];
  in_addr addr{htonl(ip)};
  inet_ntop(AF_INET, &addr, buffer, sizeof(buffer));
  return buffer;
}

std::string format_netmask(int prefix) {
  Subnet s{0, prefix};
  return format_ipv4(s.mask());
}

Result<Subnet> parse_subnet(const std::string& cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos)
    return Error{Errc::invalid_argument, "network.subnet must be CIDR like 172.30.0.0/24: " + cidr};
  auto ip = parse_ipv4(cidr.substr(0, slash));
  if (!ip)
    return std::move(ip).error();
  int prefix = -1;
  try {
    std::size_t used = 0;
    prefix = std::stoi(cidr.substr(slash + 1), &used);
    if (used != cidr.size() - slash - 1)
      prefix = -1;
  } catch (...) {
    prefix = -1;
  }
  if (prefix < 8 || prefix > 29)
    return Error{Errc::invalid_argument, "network.subnet prefix must be /8 to /29: " + cidr};
  Subnet subnet{*ip, prefix};
  if ((subnet.network & subnet.mask()) != subnet.network)
    return Error{Errc::invalid_argument, "network.subnet has host bits set: " + cidr};
  return subnet;
}

std::string mac_for(std::uint32_t ip) {
  char buffer[18];
  std::snprintf(buffer, sizeof(buffer), "06:00:%02x:%02x:%02x:%02x", (ip >> 24) & 0xff,
                (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
  return buffer;
}

std::uint32_t cid_for(const Subnet& subnet, std::uint32_t ip) {
  return (ip & ~subnet.mask()) + 2;
}

} // namespace banger
