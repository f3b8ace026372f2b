// The static member list of a cluster (cluster.hosts) and the two rules
// every host applies to it the same way, with no message exchanged:
// which host owns a VM name (rendezvous hashing) and which side of a pair
// dials (the lower id). docs/cluster.md explains the choices.
#pragma once

#include "messages/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace banger {

/// One member: its id and the address its host link listens on.
struct ClusterHost {
  std::string id;      ///< [a-z0-9][a-z0-9-]{0,31}
  std::string address; ///< IPv4 dotted quad
  std::uint16_t port = 0;

  bool operator==(const ClusterHost&) const = default;
};

/// Host ids: 1-32 of [a-z0-9-], starting with a letter or digit.
bool is_valid_host_id(std::string_view id);

/// Parses "h1=10.77.0.1:7430,h2=10.77.0.2:7430"; empty text is no cluster.
/// Refuses a bad id or address, a duplicate id, a duplicate address:port
/// and a list of one host (a cluster of one is no cluster; leave it empty).
/// The hosts come back sorted by id.
Result<std::vector<ClusterHost>> parse_cluster_hosts(std::string_view text);

/// The inverse of parse_cluster_hosts for a sorted list.
std::string render_cluster_hosts(const std::vector<ClusterHost>& hosts);

/// The host that owns `name`: the one with the highest hash of (host id,
/// name). Every host computes the same owner from the same list; removing
/// a host moves only the names it owned. `hosts` must not be empty.
const ClusterHost& name_owner(const std::vector<ClusterHost>& hosts, std::string_view name);

/// The rendezvous weight of (host id, name): FNV-1a 64 over id, a 0 byte
/// and the name, then the splitmix64 finalizer. Fixed forever: changing it
/// moves names between owners in a running cluster.
std::uint64_t rendezvous_weight(std::string_view host_id, std::string_view name);

/// Whether `self` dials `peer` (one link per pair: the lower id dials).
inline bool dials(std::string_view self, std::string_view peer) { return self < peer; }

} // namespace banger
