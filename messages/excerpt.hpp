// Client-supplied text inside messages people read (error replies, log
// lines): a request may carry megabytes and any byte, and an error that
// echoed it whole would hand the sender's payload back to it (and to
// whatever shows the error). Every daemon message that quotes a client
// string goes through excerpt().
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace banger {

/// At most this many characters of the input are shown.
inline constexpr std::size_t max_excerpt = 64;

/// `untrusted` in single quotes: its first max_excerpt bytes, then "..." if
/// there is more; quote and backslash escaped with a backslash, control
/// characters and non-ASCII bytes as \xNN. The result never exceeds
/// 4 * max_excerpt + 5 characters.
std::string excerpt(std::string_view untrusted);

/// The same with any bound and quote character (banger-helper's
/// host::printable uses double quotes and a longer bound).
std::string quoted_excerpt(std::string_view untrusted, std::size_t max, char quote);

/// Longest message an error reply carries; make_error cuts longer ones.
inline constexpr std::size_t max_error_message = 2048;

/// `message` cut to max_error_message bytes (ending in "..."), never in the
/// middle of a UTF-8 sequence.
std::string bounded_message(std::string message);

} // namespace banger
