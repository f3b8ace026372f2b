// The store actor: the only owner of the SQLite connection. It runs detached
// (its own thread), because SQLite commits wait for fsync, and batches every
// write that is queued when it gets to work into one transaction.
#pragma once

#include "actors/internal_protocol.hpp"

#include <caf/fwd.hpp>

#include <filesystem>

namespace banger {

class Store;

/// Spawns the store actor owning `store`.
store_actor spawn_store_actor(caf::actor_system& sys, std::unique_ptr<Store> store);

} // namespace banger
