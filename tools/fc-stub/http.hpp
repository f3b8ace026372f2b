// HTTP/1.1 as Firecracker's micro_http speaks it: Content-Length bodies only,
// keep-alive always, status lines without a reason phrase, and parse errors
// answered with micro_http's own (non-JSON) error body.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace banger::fc_stub::http {

struct Request {
  std::string method; // GET, PUT, PATCH or DELETE
  std::string uri;    // as sent
  // micro_http's absolute path: "http://host" stripped, query kept.
  std::string path;
  std::optional<std::string> body; // present iff Content-Length > 0
};

enum class ParseStatus {
  Incomplete, // wait for more bytes
  Complete,   // `request` is filled, `consumed` bytes belong to it
  Invalid,    // `error` says why; the connection cannot be trusted further
};

struct ParseResult {
  ParseStatus status = ParseStatus::Incomplete;
  Request request;
  std::size_t consumed = 0;
  std::string error;
  // Headers are complete, the body is not, and the client asked for
  // "Expect: 100-continue".
  bool wants_continue = false;
};

/// Parses the first request in `buffer`. Bodies larger than `payload_limit`
/// are refused like micro_http does.
ParseResult parse_request(std::string_view buffer, std::size_t payload_limit);

struct Response {
  int status = 204;
  std::string body; // JSON, empty for 204
  bool deprecation = false;
};

/// Serializes a response byte-for-byte like micro_http.
std::string serialize(const Response& response);

/// The interim "100 Continue" response.
std::string continue_response();

/// micro_http's reply to a request it cannot parse.
Response parse_error_response(std::string_view error);

/// Firecracker's refusal body, {"fault_message": message}. The message may
/// quote the request path, which need not be UTF-8: invalid bytes become
/// U+FFFD instead of making the dump throw.
std::string fault_body(std::string_view message);

} // namespace banger::fc_stub::http
