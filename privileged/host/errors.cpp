#include "privileged/host/errors.hpp"

#include <cstdio>

namespace banger::host {

namespace {

constexpr std::size_t max_printed = 96;

} // namespace

Error invalid_argument(std::string message) {
  return Error{Errc::invalid_argument, std::move(message)};
}

Error refused(std::string message) {
  return Error{Errc::helper_refused, std::move(message)};
}

Error not_found(std::string message) {
  return Error{Errc::not_found, std::move(message)};
}

Error conflict(std::string message) {
  return Error{Errc::conflict, std::move(message)};
}

std::string printable(std::string_view untrusted) {
  std::string out = "\"";
  std::size_t shown = 0;
  for (unsigned char c : untrusted) {
    if (shown == max_printed) {
      out += "...";
      break;
    }
    ++shown;
    if (c == '"' || c == '\\') {
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
  out += '"';
  return out;
}

} // namespace banger::host
