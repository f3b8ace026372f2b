// The one list of what can go wrong in banger, shared by every process.
// Codes are stable on the wire and in `-o json`: append, never renumber.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace banger {

enum class Errc : std::uint8_t {
  /// Placeholder for "no error"; never sent.
  none = 0,
  /// The peer speaks another protocol version than this process.
  bad_version = 1,
  /// The receiver has no handler for this request type.
  unknown_method = 2,
  /// Missing or wrong credential (helper token or TLS identity).
  unauthenticated = 3,
  /// A field failed validation: bad name, path, size, signal, op_id...
  invalid_argument = 4,
  /// No VM, image or operation matches the reference.
  not_found = 5,
  /// A reference (id prefix) matches more than one object.
  ambiguous = 6,
  /// A name, guest IP or vsock CID is already taken.
  already_exists = 7,
  /// The per-VM queue of pending lifecycle requests is full.
  busy = 8,
  /// The object is in the wrong state for this request.
  conflict = 9,
  /// banger-helper cannot be reached; retry once it is back.
  helper_unavailable = 10,
  /// banger-helper refused a request that is outside its allow-list.
  helper_refused = 11,
  /// The VMM failed: it exited, its API answered with a fault, or it hung.
  vmm_failed = 12,
  /// A deadline passed before the work finished.
  timeout = 13,
  /// The SQLite store failed (I/O, corruption, constraint outside the above).
  storage = 14,
  /// A bug or an unexpected host failure; the message says where.
  internal = 15,
  /// A host system call failed; the message names the call, errno and object.
  system = 16,
  /// A cluster host needed for the request cannot be reached (down, hung,
  /// cut off); the message names the host. Retry once it is back.
  host_unavailable = 17,
  /// The guest has no agent, or its agent does not answer (docs/agent.md):
  /// the image predates it, or the guest is still booting or hung.
  agent_unavailable = 18,
};

/// Stable snake_case name of a code, as printed by the CLI and in JSON.
std::string_view to_string(Errc code);

/// Inverse of to_string; nullopt for an unknown name.
std::optional<Errc> errc_from_string(std::string_view name);

/// One-line description of what the code means, for `--help` and docs.
std::string_view describe(Errc code);

} // namespace banger
