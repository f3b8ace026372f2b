#include "messages/result.hpp"

#include <cstring>

namespace banger {

Error system_error(std::string_view call, std::string_view object, int errnum) {
  std::string message(call);
  if (!object.empty()) {
    message += " ";
    message += object;
  }
  message += ": ";
  message += std::strerror(errnum);
  return Error{Errc::system, std::move(message)};
}

} // namespace banger
