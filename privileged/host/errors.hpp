// Shorthands for the errors host operations return. Messages name the object
// involved; untrusted text goes through printable() first so a hostile name
// cannot forge log lines or smuggle control characters into them.
#pragma once

#include "messages/result.hpp"

#include <string>
#include <string_view>

namespace banger::host {

/// Malformed input: wrong pattern, length, range or characters.
Error invalid_argument(std::string message);

/// Well-formed input outside the helper's allow-list.
Error refused(std::string message);

/// The object the request names does not exist (callers may treat as done).
Error not_found(std::string message);

/// The object exists but is not in a state the request can work with.
Error conflict(std::string message);

/// Quoted, escaped and bounded rendering of untrusted text for messages.
std::string printable(std::string_view untrusted);

} // namespace banger::host
