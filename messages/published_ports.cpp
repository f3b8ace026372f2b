#include "messages/published_ports.hpp"

#include "messages/excerpt.hpp"

#include <set>
#include <utility>

namespace banger {

namespace {

/// Strict decimal 1-65535: digits only, no sign, no leading zero.
bool parse_port(std::string_view text, std::uint16_t& out) {
  if (text.empty() || text.size() > 5 || text[0] == '0')
    return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535)
    return false;
  out = static_cast<std::uint16_t>(value);
  return true;
}

bool known_protocol(std::string_view protocol) {
  return protocol == "tcp" || protocol == "udp";
}

} // namespace

std::string to_string(const PortMapping& mapping) {
  return std::to_string(mapping.host_port) + ":" + std::to_string(mapping.guest_port) + "/"
         + mapping.protocol;
}

Result<PortMapping> parse_port_mapping(std::string_view text) {
  auto refuse = [&](const std::string& why) -> Result<PortMapping> {
    return Error{Errc::invalid_argument, "port mapping " + excerpt(text) + " " + why
                                           + " (use HOSTPORT:GUESTPORT[/tcp|udp])"};
  };
  PortMapping out;
  auto ports = text;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto protocol = text.substr(slash + 1);
    if (!known_protocol(protocol))
      return refuse("has a protocol other than tcp or udp");
    out.protocol = std::string(protocol);
    ports = text.substr(0, slash);
  }
  auto colon = ports.find(':');
  if (colon == std::string_view::npos)
    return refuse("has no ':' between the ports");
  if (!parse_port(ports.substr(0, colon), out.host_port))
    return refuse("has a host port that is not 1-65535");
  if (!parse_port(ports.substr(colon + 1), out.guest_port))
    return refuse("has a guest port that is not 1-65535");
  return out;
}

Status check_port_mappings(const std::vector<PortMapping>& mappings) {
  if (mappings.size() > max_published_ports)
    return Error{Errc::invalid_argument, "at most " + std::to_string(max_published_ports)
                                           + " ports may be published, not "
                                           + std::to_string(mappings.size())};
  std::set<std::pair<std::string, std::uint16_t>> seen;
  for (const auto& m : mappings) {
    if (m.host_port == 0 || m.guest_port == 0)
      return Error{Errc::invalid_argument, "published ports must be 1-65535, not 0"};
    if (!known_protocol(m.protocol))
      return Error{Errc::invalid_argument,
                   "a published port's protocol must be tcp or udp, not " + excerpt(m.protocol)};
    if (!seen.emplace(m.protocol, m.host_port).second)
      return Error{Errc::invalid_argument, "host port " + std::to_string(m.host_port) + "/"
                                             + m.protocol + " is published twice"};
  }
  return {};
}

std::string format_port_mappings(const std::vector<PortMapping>& mappings) {
  std::string out;
  for (const auto& m : mappings)
    out += (out.empty() ? "" : ",") + to_string(m);
  return out;
}

Result<std::vector<PortMapping>> parse_port_mappings(std::string_view list) {
  std::vector<PortMapping> out;
  while (!list.empty()) {
    // Bounded before parsing: a list longer than the most mappings allowed
    // is refused by check_port_mappings without building all of it.
    if (out.size() > max_published_ports)
      break;
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    auto parsed = parse_port_mapping(item);
    if (!parsed)
      return std::move(parsed).error();
    out.push_back(std::move(*parsed));
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
    if (list.empty())
      return Error{Errc::invalid_argument, "a port mapping list ends with ','"};
  }
  if (auto ok = check_port_mappings(out); !ok)
    return std::move(ok).error();
  return out;
}

} // namespace banger
