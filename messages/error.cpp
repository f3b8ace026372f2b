#include "messages/error.hpp"

#include "messages/excerpt.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>


namespace banger {

caf::error make_error(Errc code, std::string message, std::string op_id) {
  // The backstop behind excerpt(): whatever an error is made of, the reply
  // stays small.
  return caf::error{static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(bounded_message(std::move(message)), std::move(op_id))};
}

caf::error to_caf_error(const Error& error, std::string op_id) {
  return make_error(error.code, error.message, std::move(op_id));
}

namespace {

Errc map_system_error(caf::sec code) {
  switch (code) {
    case caf::sec::request_timeout:
      return Errc::timeout;
    case caf::sec::unexpected_message:
      return Errc::unknown_method;
    case caf::sec::request_receiver_down:
    case caf::sec::cannot_connect_to_node:
    case caf::sec::remote_linking_failed:
      return Errc::helper_unavailable;
    default:
      return Errc::internal;
  }
}

} // namespace

ErrorView view(const caf::error& error) {
  ErrorView out;
  if (!error) {
    out.code = Errc::none;
    return out;
  }
  if (error.category() == error_category) {
    out.code = static_cast<Errc>(error.code());
    const auto& ctx = error.context();
    if (ctx.match_elements<std::string, std::string>()) {
      out.message = ctx.get_as<std::string>(0);
      out.op_id = ctx.get_as<std::string>(1);
    } else {
      out.message = std::string(describe(out.code));
    }
    return out;
  }
  if (error.category() == caf::atom("system")) {
    auto code = static_cast<caf::sec>(error.code());
    out.code = map_system_error(code);
    out.message = caf::to_string(code);
    out.from_caf = true;
    out.peer_lost = code == caf::sec::request_receiver_down
                    || code == caf::sec::cannot_connect_to_node
                    || code == caf::sec::remote_linking_failed;
    return out;
  }
  out.code = Errc::internal;
  out.message = "unexpected error in category " + caf::to_string(error.category())
                + " code " + std::to_string(error.code());
  return out;
}

caf::error with_op_id(const caf::error& error, const std::string& op_id) {
  if (!error)
    return error;
  auto v = view(error);
  return make_error(v.code, std::move(v.message), op_id);
}

std::string render_error(std::uint8_t code, caf::atom_value,
                         const caf::message& context) {
  std::string out(to_string(static_cast<Errc>(code)));
  if (context.match_elements<std::string, std::string>()) {
    out += ": " + context.get_as<std::string>(0);
    if (!context.get_as<std::string>(1).empty())
      out += " (" + context.get_as<std::string>(1) + ")";
  }
  return out;
}

} // namespace banger
