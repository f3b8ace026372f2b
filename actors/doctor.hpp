// `banger doctor`: compares what the records say with what exists on the host
// (taps, VMM processes, runtime dirs, VM dirs) and, with --fix, removes what
// no record owns and re-settles records the host contradicts.
#pragma once

#include "actors/internal_protocol.hpp"

#include <caf/fwd.hpp>

namespace banger {

/// A one-shot actor: answers one DoctorRequest, then exits.
doctor_actor spawn_doctor(caf::actor_system& sys, directory_actor directory, helper_actor helper,
                          std::string home);

} // namespace banger
