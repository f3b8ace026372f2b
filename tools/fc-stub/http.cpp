#include "tools/fc-stub/http.hpp"

#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

namespace banger::fc_stub::http {
namespace {

// micro_http keeps the request line and each header line in a 1 KiB buffer.
constexpr std::size_t line_limit = 1024;

// A line and its CRLF must fit in that buffer, whether it arrived whole or in
// pieces (a piece without the CRLF that fills the buffer is refused).
bool too_long(std::size_t line_length) {
  return line_length + 2 > line_limit;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

bool equals_ignoring_case(std::string_view left, std::string_view right) {
  if (left.size() != right.size())
    return false;
  for (std::size_t index = 0; index < left.size(); ++index)
    if (std::tolower(static_cast<unsigned char>(left[index])) !=
        std::tolower(static_cast<unsigned char>(right[index])))
      return false;
  return true;
}

std::string absolute_path(std::string_view uri) {
  constexpr std::string_view scheme = "http://";
  if (uri.substr(0, scheme.size()) == scheme) {
    std::string_view rest = uri.substr(scheme.size());
    std::size_t slash = rest.find('/');
    return slash == std::string_view::npos ? std::string()
                                           : std::string(rest.substr(slash));
  }
  return uri.substr(0, 1) == "/" ? std::string(uri) : std::string();
}

ParseResult invalid(std::string error) {
  ParseResult result;
  result.status = ParseStatus::Invalid;
  result.error = std::move(error);
  return result;
}

std::string_view status_code(int status) {
  switch (status) {
  case 100:
    return "100";
  case 200:
    return "200";
  case 204:
    return "204";
  case 400:
    return "400";
  case 404:
    return "404";
  case 405:
    return "405";
  case 413:
    return "413";
  case 500:
    return "500";
  case 503:
    return "503";
  default:
    return "500";
  }
}

} // namespace

ParseResult parse_request(std::string_view buffer, std::size_t payload_limit) {
  std::size_t line_end = buffer.find("\r\n");
  if (line_end == std::string_view::npos) {
    if (buffer.size() >= line_limit)
      return invalid("Invalid request.");
    return {};
  }
  if (too_long(line_end))
    return invalid("Invalid request.");
  std::string_view line = buffer.substr(0, line_end);
  std::size_t method_end = line.find(' ');
  std::size_t uri_end = method_end == std::string_view::npos
                            ? std::string_view::npos
                            : line.find(' ', method_end + 1);
  if (uri_end == std::string_view::npos)
    return invalid("Invalid request.");
  std::string_view method = line.substr(0, method_end);
  std::string_view uri = line.substr(method_end + 1, uri_end - method_end - 1);
  std::string_view version = line.substr(uri_end + 1);
  if (method != "GET" && method != "PUT" && method != "PATCH" &&
      method != "DELETE")
    return invalid("Invalid HTTP Method: Unsupported HTTP method.");
  if (uri.empty())
    return invalid("Invalid URI: Empty URI not allowed.");
  if (version != "HTTP/1.1" && version != "HTTP/1.0")
    return invalid("Invalid HTTP Version: Unsupported HTTP version.");

  std::size_t content_length = 0;
  bool expect_continue = false;
  std::size_t cursor = line_end + 2;
  for (;;) {
    std::size_t header_end = buffer.find("\r\n", cursor);
    if (header_end == std::string_view::npos || too_long(header_end - cursor)) {
      if (header_end != std::string_view::npos || buffer.size() - cursor >= line_limit)
        return invalid("Invalid header. Reason: Invalid content length. "
                       "Header: (line too long)");
      return {};
    }
    std::string_view header = buffer.substr(cursor, header_end - cursor);
    cursor = header_end + 2;
    if (header.empty())
      break;
    std::size_t colon = header.find(':');
    if (colon == std::string_view::npos)
      return invalid("Invalid header. Reason: Header is incorrectly "
                     "formatted. Key: " +
                     std::string(header));
    std::string_view name = trim(header.substr(0, colon));
    std::string_view value = trim(header.substr(colon + 1));
    if (equals_ignoring_case(name, "Content-Length")) {
      auto [end, error] = std::from_chars(
          value.data(), value.data() + value.size(), content_length);
      if (error != std::errc{} || end != value.data() + value.size())
        return invalid("Invalid header. Reason: Invalid value. Key:" +
                       std::string(name) + "; Value:" + std::string(value));
    } else if (equals_ignoring_case(name, "Transfer-Encoding")) {
      if (equals_ignoring_case(value, "chunked"))
        return invalid("Invalid header. Reason: Unsupported feature. Key: "
                       "Transfer-Encoding; Value: chunked");
    } else if (equals_ignoring_case(name, "Expect")) {
      expect_continue = equals_ignoring_case(value, "100-continue");
    }
  }
  if (content_length > payload_limit)
    return invalid("Request payload with size " +
                   std::to_string(content_length) +
                   " is larger than the limit of " +
                   std::to_string(payload_limit) + " allowed by server.");

  ParseResult result;
  if (buffer.size() - cursor < content_length) {
    result.wants_continue = expect_continue;
    return result;
  }
  result.status = ParseStatus::Complete;
  result.request.method = std::string(method);
  result.request.uri = std::string(uri);
  result.request.path = absolute_path(uri);
  if (content_length > 0)
    result.request.body = std::string(buffer.substr(cursor, content_length));
  result.consumed = cursor + content_length;
  return result;
}

std::string serialize(const Response& response) {
  std::string out = "HTTP/1.1 ";
  out += status_code(response.status);
  out += " \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n";
  if (response.deprecation)
    out += "Deprecation: true\r\n";
  // micro_http sends no Content-Length for 204 (RFC 9110 forbids it).
  if (response.status != 204 && response.status != 100) {
    out += "Content-Type: application/json\r\nContent-Length: ";
    out += std::to_string(response.body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += response.body;
  return out;
}

std::string continue_response() {
  return serialize(Response{.status = 100, .body = {}, .deprecation = false});
}

Response parse_error_response(std::string_view error) {
  Response response;
  response.status = 400;
  // Verbatim micro_http: not valid JSON (raw newline), kept for fidelity.
  response.body = "{ \"error\": \"Parsing error: " + std::string(error) +
                  "\nAll previous unanswered requests will be dropped.\" }";
  return response;
}

std::string fault_body(std::string_view message) {
  return nlohmann::json{{"fault_message", message}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace banger::fc_stub::http
