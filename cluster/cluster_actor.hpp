// The cluster layer of one host (docs/cluster.md): its host links to every
// other member, failure detection, cluster-wide routing of VM requests,
// listing, placement and name ownership. One actor; control sends it what
// spans hosts, peers reach it through the published host actor.
#pragma once

#include "actors/internal_protocol.hpp"
#include "cluster/host_credential.hpp"
#include "messages/cluster_hosts.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace banger {

struct ClusterInit {
  std::string self_id;
  std::vector<ClusterHost> hosts; ///< every member, self included, sorted by id
  cluster::HostCredential credential;
  /// Put in Envelope::credential by control: "cluster-wide, from this host".
  std::string local_token;
  std::string version;
  std::string subnet; ///< network.subnet
  std::chrono::milliseconds link_timeout{3000};
  /// How long a forwarded lifecycle request may take (a stop's grace, a
  /// boot's wait) before it fails with timeout.
  std::chrono::milliseconds lifecycle_timeout{std::chrono::minutes(10)};
  /// The names this host owns, as stored (Store::list_names).
  std::vector<NameBinding> names;
  directory_actor directory;
  node_actor node;
  /// banger-helper (through the helper link): routes to peers' guest subnets.
  helper_actor helper;
  operations_actor operations;
  store_actor store;
};

cluster_actor spawn_cluster(caf::actor_system& sys, ClusterInit init);

} // namespace banger
