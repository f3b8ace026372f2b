// The node: this host's part of bangerd's VMs. It allocates guest addresses
// (IP, MAC, vsock CID), checks a VM spec's limits, spawns the VM actors and
// supervises them (their VmChanged/VmRetired reach it through the directory,
// which applies them first), and runs recovery: after a start and whenever the helper
// comes back, the helper's inventory is sliced across the VMs, each of which
// reconciles itself with the host.
#pragma once

#include "actors/host_capacity.hpp"
#include "actors/internal_protocol.hpp"
#include "actors/vm_actor.hpp"

#include <caf/fwd.hpp>

#include <optional>
#include <vector>

namespace banger {

struct NodeInit {
  VmDeps deps; ///< deps.events is filled in by the node (the directory)
  directory_actor directory;
  images_actor images;
  std::vector<Image> images_known; ///< the catalog at start, for recovered VMs
  std::vector<VmRecord> vms;       ///< recovered from the store
  /// What the host has in all; unset: read once at spawn (host_capacity()).
  std::optional<HostTotals> totals;
};

/// Spawns the node; its recovered VMs are in `init.directory` before any
/// message sent after this returns reaches the directory.
node_actor spawn_node(caf::actor_system& sys, NodeInit init);

} // namespace banger
