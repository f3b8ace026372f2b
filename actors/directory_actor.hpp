// The directory: which VMs exist and under which names. It resolves a ref
// (exact id, exact name, unique id prefix) to the VM's actor, lists VMs, and
// owns name uniqueness through an explicit reserve -> commit | release
// protocol (actors/internal_protocol.hpp). It never talks to a VM actor
// itself: callers resolve, then send (docs/architecture.md says why).
#pragma once

#include "actors/internal_protocol.hpp"

#include <caf/fwd.hpp>

namespace banger {

/// Starts empty: VMs recovered from the store enter through the same
/// reserve -> commit as new ones (the node sends both at its start).
directory_actor spawn_directory(caf::actor_system& sys);

/// Validation shared with the CLI: [a-z0-9][a-z0-9-]{0,62}.
bool is_valid_name(const std::string& name);

} // namespace banger
