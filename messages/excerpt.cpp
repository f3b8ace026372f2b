#include "messages/excerpt.hpp"

#include <cstdio>

namespace banger {

std::string quoted_excerpt(std::string_view untrusted, std::size_t max, char quote) {
  std::string out(1, quote);
  std::size_t shown = 0;
  for (unsigned char c : untrusted) {
    if (shown == max) {
      out += "...";
      break;
    }
    ++shown;
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

std::string excerpt(std::string_view untrusted) {
  return quoted_excerpt(untrusted, max_excerpt, '\'');
}

std::string bounded_message(std::string message) {
  if (message.size() <= max_error_message)
    return message;
  constexpr std::string_view ellipsis = "...";
  auto cut = max_error_message - ellipsis.size();
  // Back off over UTF-8 continuation bytes (10xxxxxx) to a sequence start.
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80)
    --cut;
  message.resize(cut);
  message += ellipsis;
  return message;
}

} // namespace banger
