// The envelope every request carries across an actor or process boundary.
#pragma once

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>

namespace banger {

/// Wire protocol version. Bump on any incompatible change of a wire type;
/// the daemon answers a mismatch with Errc::bad_version.
inline constexpr std::uint32_t protocol_version = 6;

struct Envelope {
  /// Protocol version of the sender (protocol_version).
  std::uint32_t version = protocol_version;
  /// `op-` + 12 lowercase hex digits; empty when the client lets the daemon
  /// mint one. Carried unchanged through every actor, log line and error.
  std::string op_id;
  /// Caller credential: the helper token for daemon->helper requests, the
  /// link's session token between cluster hosts, empty for clients
  /// (authenticated by mutual TLS).
  std::string credential;

  bool operator==(const Envelope&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Envelope& x) {
  return f(caf::meta::type_name("banger.Envelope"), x.version, x.op_id,
           x.credential);
}

} // namespace banger
