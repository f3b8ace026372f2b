#include "messages/cluster_hosts.hpp"

#include "messages/excerpt.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace banger {

bool is_valid_host_id(std::string_view id) {
  if (id.empty() || id.size() > 32)
    return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && c == '-');
    if (!ok)
      return false;
  }
  return true;
}

namespace {

Result<ClusterHost> parse_member(std::string_view item) {
  auto eq = item.find('=');
  if (eq == std::string_view::npos)
    return Error{Errc::invalid_argument, "member " + excerpt(std::string(item)) + " is not ID=ADDRESS:PORT"};
  ClusterHost host;
  host.id = std::string(item.substr(0, eq));
  if (!is_valid_host_id(host.id))
    return Error{Errc::invalid_argument, "host id " + excerpt(host.id)
                                           + " is not 1-32 of [a-z0-9-] starting with a letter or digit"};
  auto where = item.substr(eq + 1);
  auto colon = where.rfind(':');
  if (colon == std::string_view::npos)
    return Error{Errc::invalid_argument, "host " + host.id + " has no port (want ADDRESS:PORT)"};
  host.address = std::string(where.substr(0, colon));
  in_addr addr{};
  if (::inet_pton(AF_INET, host.address.c_str(), &addr) != 1)
    return Error{Errc::invalid_argument, "host " + host.id + ": " + excerpt(host.address)
                                           + " is not an IPv4 address"};
  if (host.address == "0.0.0.0")
    return Error{Errc::invalid_argument, "host " + host.id + ": 0.0.0.0 is not an address peers can dial"};
  auto port_text = where.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
    return Error{Errc::invalid_argument, "host " + host.id + ": port " + excerpt(std::string(port_text))
                                           + " is not 1-65535"};
  host.port = static_cast<std::uint16_t>(port);
  return host;
}

} // namespace

Result<std::vector<ClusterHost>> parse_cluster_hosts(std::string_view text) {
  std::vector<ClusterHost> hosts;
  if (text.empty())
    return hosts;
  std::set<std::string> ids;
  std::set<std::string> endpoints;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty())
      return Error{Errc::invalid_argument, "empty member in the host list"};
    auto host = parse_member(item);
    if (!host)
      return host.error();
    if (!ids.insert(host->id).second)
      return Error{Errc::invalid_argument, "host id " + host->id + " is listed twice"};
    auto endpoint = host->address + ":" + std::to_string(host->port);
    if (!endpoints.insert(endpoint).second)
      return Error{Errc::invalid_argument, "address " + endpoint + " is listed twice"};
    hosts.push_back(std::move(*host));
    if (comma == std::string_view::npos)
      break;
    start = comma + 1;
  }
  if (hosts.size() > 64)
    return Error{Errc::invalid_argument, "more than 64 hosts"};
  if (hosts.size() == 1)
    return Error{Errc::invalid_argument,
                 "a cluster needs at least two hosts (leave cluster.hosts empty for a single host)"};
  std::sort(hosts.begin(), hosts.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return hosts;
}

std::string render_cluster_hosts(const std::vector<ClusterHost>& hosts) {
  std::string out;
  for (const auto& h : hosts) {
    if (!out.empty())
      out += ',';
    out += h.id + "=" + h.address + ":" + std::to_string(h.port);
  }
  return out;
}

std::uint64_t rendezvous_weight(std::string_view host_id, std::string_view name) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  for (char c : host_id)
    mix(static_cast<unsigned char>(c));
  mix(0);
  for (char c : name)
    mix(static_cast<unsigned char>(c));
  // splitmix64's finalizer: FNV alone leaves the high bits of similar
  // strings close together.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

const ClusterHost& name_owner(const std::vector<ClusterHost>& hosts, std::string_view name) {
  const ClusterHost* best = &hosts.front();
  std::uint64_t best_weight = rendezvous_weight(best->id, name);
  for (const auto& host : hosts) {
    auto w = rendezvous_weight(host.id, name);
    // Ties (astronomically rare) go to the lower id, the same everywhere.
    if (w > best_weight || (w == best_weight && host.id < best->id)) {
      best = &host;
      best_weight = w;
    }
  }
  return *best;
}

} // namespace banger
