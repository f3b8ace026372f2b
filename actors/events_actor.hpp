// Events: every VM state change and operation stage of this host, as it
// happens (docs/api.md, "Events"). The actor watches the directory (VM
// records) and the operations actor (stages, outcomes), turns what changed
// into numbered Events and keeps the last daemon.event-buffer of them.
// Readers poll (EventsRequest: the events after the last one they saw, a
// reply held until there is one or the wait ends), so a slow reader costs
// the daemon nothing: it is told how many events it missed when it comes
// back after they left the buffer. `banger events` and GET /v1/events are
// both such readers.
#pragma once

#include "actors/internal_protocol.hpp"

#include <caf/fwd.hpp>

#include <cstddef>

namespace banger {

events_actor spawn_events_actor(caf::actor_system& sys, std::size_t buffer);

} // namespace banger
