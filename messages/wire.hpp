// The building blocks every protocol uses: the one way a wire type names
// itself to CAF, and the generic reply. Each protocol has its own header:
// messages/cli_protocol.hpp (CLI and load driver <-> bangerd) and
// messages/helper_protocol.hpp (bangerd <-> banger-helper). Every request
// starts with an Envelope; lists travel wrapped in a struct so each wire type
// has exactly one registered name (messages/register.cpp).
#pragma once

#include "messages/envelope.hpp"

#include <caf/meta/type_name.hpp>

#include <string>

/// inspect() for a wire type: its registered name is "banger.<Type>".
#define BANGER_INSPECT(Type, ...)                                              \
  template <class Inspector>                                                   \
  typename Inspector::result_type inspect(Inspector& f, Type& x) {             \
    return f(caf::meta::type_name("banger." #Type), __VA_ARGS__);              \
  }

namespace banger {

// -- generic replies ---------------------------------------------------------

/// Success without a payload; echoes the op_id the work ran under.
struct Ack {
  std::string op_id;

  bool operator==(const Ack&) const = default;
};
BANGER_INSPECT(Ack, x.op_id)

} // namespace banger
