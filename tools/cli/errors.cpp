#include "tools/cli/errors.hpp"

#include "messages/error.hpp"
#include "tools/cli/output.hpp"

#include <caf/error.hpp>
#include <iostream>

namespace banger::cli {

Failure failure(Errc code, std::string message, std::string op_id) {
  return {std::string(to_string(code)), std::move(message), std::move(op_id),
          exit_failed};
}

Failure failure_of(const caf::error& error, const std::string& op_id) {
  auto v = view(error);
  auto out = failure(v.code, std::move(v.message),
                     v.op_id.empty() ? op_id : std::move(v.op_id));
  if (v.peer_lost) {
    out.code = code_daemon_unreachable;
    out.message = "lost the connection to bangerd (" + out.message + ")";
    out.exit_code = exit_unreachable;
  } else if (v.from_caf && v.code == Errc::timeout) {
    out.message = "no reply from bangerd in time (see --timeout)";
  }
  return out;
}

nlohmann::json error_json(const Failure& failure) {
  return {{"error",
           {{"code", failure.code},
            {"message", failure.message},
            {"op_id", failure.op_id}}}};
}

std::string render_text(const Failure& failure) {
  auto out = "error: " + failure.message;
  if (!failure.op_id.empty())
    out += " (" + failure.op_id + ")";
  return out;
}

int emit(const Failure& failure, OutputFormat format) {
  if (format == OutputFormat::json)
    std::cout << dump(error_json(failure)) << std::flush;
  else
    std::cerr << render_text(failure) << "\n" << std::flush;
  return failure.exit_code;
}

} // namespace banger::cli
