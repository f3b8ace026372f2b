// agent_link: one running VM's guest agent (docs/agent.md). The VM actor
// spawns it with the VMM and ends it with the VMM; it keeps one stream to
// the agent (virtio-serial under QEMU, vsock under Firecracker) through the
// vmm_io actor's reactor, reconnecting while the VMM lives, and multiplexes
// the CLI's sessions (vm exec, vm cp) onto it as channels.
//
// Everything the guest sends is hostile: frames are bounded by the decoder,
// a channel that sends more output than the host granted ends the stream,
// a frame the host never expects from a guest ends the stream, and nothing
// the guest says names a host path. Output waits in the daemon only up to
// the window the CLI has taken (agent::initial_window per session).
#pragma once

#include "actors/internal_protocol.hpp"
#include "messages/errc.hpp"

#include <caf/fwd.hpp>

#include <string>

namespace banger {

/// Where a VMM exposes its guest's agent.
struct AgentEndpoint {
  std::string socket;
  std::string handshake;    ///< written first ("CONNECT 1024\n" for vsock)
  std::string reply_prefix; ///< the handshake's answer ("OK "), "" for none
};

struct AgentLinkConfig {
  std::string vm_id;
  AgentEndpoint endpoint;
  vmm_io_actor io;
  caf::typed_actor<caf::reacts_to<AgentUp>> owner; ///< told AgentUp
};

/// Sessions a VM has at most at once.
inline constexpr std::size_t max_agent_sessions = 64;

agent_link_actor spawn_agent_link(caf::actor_system& sys, AgentLinkConfig config);

/// How an agent's error (an errno and its message) reads as banger's.
Errc agent_errc(std::uint32_t guest_errno);

} // namespace banger
