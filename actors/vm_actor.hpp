// One actor per VM. It owns the VM's record and live handles and runs the
// VM's lifecycle requests strictly one at a time, in arrival order, from a
// bounded queue (past the bound: busy). `show` is answered at once from the
// actor's state, also in the middle of a 30-second stop, and names the stage.
#pragma once

#include "actors/network.hpp"
#include "messages/home_layout.hpp"
#include "actors/internal_protocol.hpp"
#include "messages/settings.hpp"

#include <caf/fwd.hpp>

namespace banger {

/// The actors and settings every VM actor works with.
struct VmDeps {
  store_actor store;
  helper_actor helper;
  vmm_io_actor io;
  operations_actor operations;
  vm_events_actor events; ///< told of every change of the record
  Settings settings;
  std::string home;
  Subnet subnet;
};

/// A sequence shared by every VM actor of the process, strictly increasing:
/// what an inventory is asked at, and what each VM's operations end at, are
/// ordered by it (a VmReconcile older than the VM's last operation is stale).
std::uint64_t operation_tick();

vm_actor spawn_vm_actor(caf::actor_system& sys, VmRecord record, Image image,
                        std::shared_ptr<const VmDeps> deps);

} // namespace banger
