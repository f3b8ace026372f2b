// The front door: the one actor published to clients. It checks the protocol
// version, mints the op_id when the client sent none (and rejects a malformed
// one), then routes: creates and daemon status to the node, listing and
// every request about one VM through the directory (resolve, then send to the
// VM's actor: actors/route.hpp), images to the image catalog, operation
// status to the operations actor, log reads to the VM's log
// (actors/log_read.hpp). On a cluster member (ControlDeps::cluster set),
// everything that may concern another host (VM requests, listing, creates,
// operation status, cluster status, log reads) goes to the cluster layer
// instead, marked with the local token. Unknown requests get
// unknown_method, never silence.
#pragma once

#include "actors/internal_protocol.hpp"
#include "messages/settings.hpp"

#include <caf/fwd.hpp>

namespace banger {

struct ControlDeps {
  directory_actor directory;
  node_actor node;
  images_actor images;
  operations_actor operations;
  helper_actor helper;
  Settings settings;
  std::string home;
  std::string version;
  std::int64_t started_at_us = 0;
  /// The cluster layer; empty on a host that is not in a cluster.
  cluster_actor cluster;
  /// What control puts in Envelope::credential for the cluster layer.
  std::string cluster_token;
  /// This host's events (EventsRequest); even on a cluster member, the
  /// events of this host only (docs/api.md).
  events_actor events;
};

control_actor spawn_control_actor(caf::actor_system& sys, ControlDeps deps);

} // namespace banger
