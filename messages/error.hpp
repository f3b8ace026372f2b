// banger errors on the wire: a caf::error in the "banger" category whose
// context carries the message and the op_id, so every error reply can be
// traced to the log lines of the operation that produced it.
#pragma once

#include "messages/errc.hpp"
#include "messages/result.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>

#include <string>

namespace banger {

/// Category atom of banger errors.
inline constexpr caf::atom_value error_category = caf::atom("banger");

/// Builds a wire error: code, human message (cut to max_error_message, see
/// messages/excerpt.hpp) and the op_id it belongs to.
caf::error make_error(Errc code, std::string message, std::string op_id);

/// Converts a CAF-free Error (storage, host operations) into a wire error.
caf::error to_caf_error(const Error& error, std::string op_id);

/// `error` with its op_id set to `op_id` (errors from other actors and CAF
/// itself carry none); banger errors keep code and message.
caf::error with_op_id(const caf::error& error, const std::string& op_id);

/// A wire error taken apart. Errors from CAF itself (request timeouts,
/// unexpected messages, unreachable peers) are mapped onto banger codes
/// here and nowhere else; callers that word them for their own reader (the
/// CLI, the load driver, the helper link) branch on the two flags.
struct ErrorView {
  Errc code = Errc::internal;
  std::string message;
  std::string op_id;
  /// Made by CAF (category "system"), not by a banger process: a request
  /// timeout, an unexpected message, a lost peer.
  bool from_caf = false;
  /// The receiver's connection is gone or was never made (CAF's
  /// request_receiver_down, cannot_connect_to_node, remote_linking_failed):
  /// nothing answered, so the request may or may not have been carried out.
  bool peer_lost = false;
};

ErrorView view(const caf::error& error);

/// Renderer registered with the actor system for the banger category.
std::string render_error(std::uint8_t code, caf::atom_value category,
                         const caf::message& context);

} // namespace banger
