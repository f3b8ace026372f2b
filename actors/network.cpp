#include "actors/network.hpp"

#include <arpa/inet.h>

#include <cstdio>

namespace banger {

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

std::string format_netmask(int prefix_length) {
  Subnet s{0, static_cast<std::uint8_t>(prefix_length)};
  return format_ipv4(s.netmask());
}

std::string mac_for(std::uint32_t ip) {
  char buffer[18];
  std::snprintf(buffer, sizeof(buffer), "06:00:%02x:%02x:%02x:%02x", (ip >> 24) & 0xff,
                (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
  return buffer;
}

std::uint32_t cid_for(const Subnet& subnet, std::uint32_t ip) {
  return (ip & ~subnet.netmask()) + 2;
}

} // namespace banger
