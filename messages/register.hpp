// One registration of every wire type and of the error category, used by
// every executable. CAF silently drops messages of unregistered types, so a
// type missing here breaks remoting without any error at the call site; the
// cross-process test in tests/messages catches that.
#pragma once

namespace caf {
class actor_system_config;
} // namespace caf

namespace banger {

void register_messages(caf::actor_system_config& cfg);

} // namespace banger
