#include "api/exchange.hpp"

#include "messages/excerpt.hpp"
#include "messages/numbers.hpp"

#include <algorithm>

namespace banger::api {

namespace {

/// Longer than any VM or image ref, snapshot name or op_id.
constexpr std::size_t max_param = 255;

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

} // namespace

int http_status(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
    case Errc::ambiguous:
    case Errc::bad_version:
      return 400;
    case Errc::unauthenticated:
      return 401;
    case Errc::helper_refused:
      return 403;
    case Errc::not_found:
    case Errc::unknown_method:
      return 404;
    case Errc::already_exists:
    case Errc::conflict:
      return 409;
    case Errc::busy:
      return 429;
    case Errc::vmm_failed:
      return 502;
    case Errc::helper_unavailable:
    case Errc::host_unavailable:
    case Errc::agent_unavailable:
      return 503;
    case Errc::timeout:
      return 504;
    case Errc::none:
    case Errc::storage:
    case Errc::internal:
    case Errc::system:
      return 500;
  }
  return 500;
}

std::string Exchange::param(std::size_t i) const {
  if (i >= req.matches.size())
    throw BadRequest("missing path parameter");
  std::string value = req.matches[i];
  if (value.size() > max_param || has_control(value))
    throw BadRequest("path parameter " + excerpt(value) + " is too long or has control characters");
  return value;
}

nlohmann::json Exchange::body(std::span<const std::string_view> allowed) const {
  return parse_body(req.body, req.get_header_value("Content-Type"), allowed);
}

std::string Exchange::query(const std::string& key, const std::string& fallback) const {
  if (!req.has_param(key))
    return fallback;
  auto value = req.get_param_value(key);
  if (value.size() > 4096 || has_control(value))
    throw BadRequest("query parameter " + key + " is too long or has control characters");
  return value;
}

std::uint64_t Exchange::query_number(const std::string& key, std::uint64_t fallback,
                                     std::uint64_t max) const {
  if (!req.has_param(key))
    return fallback;
  auto text = req.get_param_value(key);
  auto n = parse_uint(text, max);
  if (!n)
    throw BadRequest("query parameter " + key + "=" + excerpt(text) + " is not a number 0-"
                     + std::to_string(max));
  return *n;
}

void Exchange::reply(int status, const nlohmann::json& object) {
  res.status = status;
  // A guest's bytes (a console log, a command's output) need not be UTF-8:
  // what is not becomes U+FFFD rather than an exception.
  res.set_content(object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                  "application/json");
}

void Exchange::fail(const ErrorView& error) {
  // The daemon may name another operation (a create's own): its op_id wins.
  auto named = error.op_id.empty() ? op_id : error.op_id;
  reply(http_status(error.code),
        {{"error", {{"code", to_string(error.code)}, {"message", error.message}, {"op_id", named}}}});
}

void Exchange::fail(int status, std::string_view code, const std::string& message) {
  reply(status, {{"error", {{"code", code}, {"message", message}, {"op_id", op_id}}}});
}

std::chrono::milliseconds read_timeout() {
  return std::chrono::seconds(30);
}

std::chrono::milliseconds lifecycle_timeout(const Settings& s) {
  return s.vmm_boot_timeout + s.vmm_stop_grace + s.vmm_kill_grace + std::chrono::seconds(60);
}

} // namespace banger::api
