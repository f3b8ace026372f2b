// The typed interface tls_peer publishes: one real banger request (the
// helper's HelperInfoRequest) and a counter of the messages it has handled,
// so a test can prove a refused client got nothing processed.
#pragma once

#include "messages/helper_protocol.hpp"

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>

namespace banger::test {

/// `get_atom` answers how many other messages (requests of any type,
/// including ones it refuses) the probe has handled so far.
using probe_actor = caf::typed_actor<caf::replies_to<HelperInfoRequest>::with<HelperInfo>,
                                     caf::replies_to<caf::get_atom>::with<std::uint64_t>>;

} // namespace banger::test
