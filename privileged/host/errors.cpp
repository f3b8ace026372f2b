#include "privileged/host/errors.hpp"

#include "messages/excerpt.hpp"

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
  return quoted_excerpt(untrusted, max_printed, '"');
}

} // namespace banger::host
