// The guest's identity, set by the host after a clone or a restore: the
// hostname, the interface's MAC, address and default route, DNS servers,
// and on request a new machine-id and new SSH host keys. Runs to its end
// before the agent does anything else (a few ip(8) calls).
#pragma once

#include "messages/agent_wire.hpp"
#include "tools/guest-agent/sys.hpp"

namespace banger::guest {

/// Where the identity is written: "" is the guest's own /. Under another
/// prefix (tests; an agent that runs on a host, under fc-stub) only files
/// under it change: not the running hostname, not the network (what it
/// would set goes to <prefix>/etc/banger-network), no SSH server.
struct IdentityRoot {
  std::string prefix;
};

/// Applies `identity` in the order agent_wire.hpp documents; the first
/// step that fails stops it. Every field is checked before any is applied.
std::optional<Failure> apply_identity(const agent::Identity& identity,
                                      const IdentityRoot& root = {});

/// Why a field cannot be used, before anything is changed.
std::optional<Failure> check_identity(const agent::Identity& identity);

} // namespace banger::guest
