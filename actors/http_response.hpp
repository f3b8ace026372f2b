// Reading the HTTP/1.1 answer of a VMM's API socket (Firecracker's
// micro_http). A plain function so the reactor's completion check and the
// fuzz target in tests/fuzz/ run the same code.
#pragma once

#include <string>

namespace banger {

struct HttpResponse {
  int status = 0;
  std::string body;
};

/// Parses the response at the start of `data` (everything read so far; `eof`
/// once the peer closed). Returns true once it is complete and fills `out`;
/// false while more is needed, or with `error` set when it never will be.
bool parse_http_response(const std::string& data, bool eof, HttpResponse& out,
                         std::string& error);

/// True when `data`, one complete response, leaves its connection open for
/// the next request (HTTP/1.1 keep-alive, as micro_http does): HTTP/1.1, no
/// `Connection: close`, framed by Content-Length or a 204, nothing after it.
bool http_keeps_connection(const std::string& data);

} // namespace banger
