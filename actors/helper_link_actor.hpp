// The daemon's link to banger-helper: speaks helper_actor itself, so callers
// never see the connection. Connects over mutual TLS without blocking,
// monitors the remote actor, reconnects with backoff, adds the credential to
// every request, and fails fast with helper_unavailable while the helper is
// down. Every forwarded request has a finite timeout.
#pragma once

#include "actors/internal_protocol.hpp"

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <string>

namespace banger {

struct HelperLinkConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string credential;
  std::chrono::milliseconds request_timeout{10000};
  /// Rootfs copies can take a while on hosts without reflinks.
  std::chrono::milliseconds rootfs_timeout{120000};
};

helper_actor spawn_helper_link(caf::actor_system& sys, HelperLinkConfig config);

/// Sent to every listener each time the link comes back after it was lost:
/// whatever was in flight then failed with an unknown outcome (and a helper
/// that restarted swept its stale runtime), so the listener reconciles.
using helper_up_atom = caf::atom_constant<caf::atom("helperup")>;

/// Adds `listener` to the link's listeners (helper_up_atom).
void watch_helper_link(const helper_actor& link, const caf::actor& listener);

} // namespace banger
