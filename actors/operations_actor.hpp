// Operations: what every operation did, stage by stage, and how it ended.
// Running operations live in memory (status polls of an async create read
// them); finished ones are persisted for `banger op show`.
#pragma once

#include "actors/internal_protocol.hpp"

#include <caf/fwd.hpp>

namespace banger {

/// `watcher` (may be empty) gets every OpProgress too: the events actor.
operations_actor spawn_operations_actor(caf::actor_system& sys, store_actor store,
                                        progress_watcher watcher = {});

} // namespace banger
