// vmm_io: the CAF face of the Reactor. Requests become reactor work; the
// reactor's callbacks come back as messages, and the promise is delivered in
// this actor's own context.
#pragma once

#include "actors/internal_protocol.hpp"

#include <caf/fwd.hpp>

namespace banger {

vmm_io_actor spawn_vmm_io_actor(caf::actor_system& sys);

} // namespace banger
