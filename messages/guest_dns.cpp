#include "messages/guest_dns.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace banger {

namespace {

/// A dotted quad as inet_pton reads it, in host byte order.
bool parse_ipv4(const std::string& text, std::uint32_t& out) {
  in_addr addr{};
  if (inet_pton(AF_INET, text.c_str(), &addr) != 1)
    return false;
  out = ntohl(addr.s_addr);
  return true;
}

bool loopback(std::uint32_t a) {
  return (a >> 24) == 127;
}

/// Reachable from a guest behind NAT: not loopback, not 0.0.0.0/8, not
/// link-local 169.254/16 (the host's own link), not multicast or reserved.
bool usable(std::uint32_t a) {
  return !loopback(a) && (a >> 24) != 0 && (a >> 16) != 0xa9fe && (a >> 28) < 0xe;
}

/// The first word after each `nameserver` keyword.
std::vector<std::string> nameservers(std::string_view conf) {
  std::vector<std::string> out;
  std::istringstream lines{std::string(conf)};
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string keyword, address;
    if (words >> keyword >> address && keyword == "nameserver")
      out.push_back(address);
  }
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Error bad(std::string_view value, std::string_view why) {
  return Error{Errc::invalid_argument, "'" + std::string(value) + "' " + std::string(why)};
}

} // namespace

std::vector<std::string> guest_resolvers(std::string_view resolv_conf) {
  std::vector<std::string> out;
  for (const auto& address : nameservers(resolv_conf)) {
    std::uint32_t a = 0;
    if (!parse_ipv4(address, a) || !usable(a))
      continue;
    if (std::find(out.begin(), out.end(), address) == out.end())
      out.push_back(address);
    if (out.size() == max_guest_dns)
      break;
  }
  return out;
}

bool names_loopback_resolver(std::string_view resolv_conf) {
  for (const auto& address : nameservers(resolv_conf)) {
    std::uint32_t a = 0;
    if (address == "::1" || (parse_ipv4(address, a) && loopback(a)))
      return true;
  }
  return false;
}

Status validate_dns_setting(std::string_view value) {
  if (value == "auto" || value == "none")
    return {};
  std::string text(value);
  std::vector<std::string> servers;
  std::istringstream parts(text);
  for (std::string part; std::getline(parts, part, ',');) {
    std::uint32_t a = 0;
    if (!parse_ipv4(part, a))
      return bad(value, "is not auto, none or a comma-separated list of IPv4 addresses");
    if (!usable(a))
      return bad(value, "names " + part + ", which a guest cannot reach (loopback, "
                                          "link-local or reserved)");
    servers.push_back(part);
  }
  if (servers.empty() || servers.size() > max_guest_dns || text.back() == ',')
    return bad(value, "is not auto, none or one or two IPv4 addresses");
  return {};
}

std::vector<std::string> guest_dns(std::string_view setting, const std::string& resolv_conf,
                                   const std::string& upstream_conf) {
  if (setting == "none")
    return {};
  if (setting != "auto") {
    // An explicit list (validated): the same filter as a resolv.conf's.
    std::string conf;
    std::istringstream parts{std::string(setting)};
    for (std::string part; std::getline(parts, part, ',');)
      conf += "nameserver " + part + "\n";
    return guest_resolvers(conf);
  }
  auto host = slurp(resolv_conf);
  auto servers = guest_resolvers(host);
  if (servers.empty() && names_loopback_resolver(host))
    servers = guest_resolvers(slurp(upstream_conf));
  return servers;
}

} // namespace banger
