// The registry: which VMs exist, under which names, with which addresses.
// It spawns one VM actor per VM, resolves refs (name, id, unique id prefix)
// and hands show and lifecycle requests to the VM's actor, which answers the
// caller directly. It also keeps the image catalog.
#pragma once

#include "actors/vm_actor.hpp"
#include "actors/internal_protocol.hpp"

#include <caf/fwd.hpp>

namespace banger {

struct RegistryInit {
  VmDeps deps; ///< deps.events is filled in by the registry itself
  std::vector<Image> images;
  std::vector<VmRecord> vms;
};

registry_actor spawn_registry(caf::actor_system& sys, RegistryInit init);

/// Validation shared with the CLI: [a-z0-9][a-z0-9-]{0,62}.
bool is_valid_name(const std::string& name);

} // namespace banger
