#include "actors/http_response.hpp"

#include <cctype>
#include <cstdlib>

namespace banger {

bool parse_http_response(const std::string& data, bool eof, HttpResponse& out,
                         std::string& error) {
  auto header_end = data.find("\r\n\r\n");
  if (header_end == std::string::npos) {
    if (eof)
      error = "connection closed before the response headers";
    return false;
  }
  if (data.compare(0, 9, "HTTP/1.1 ") != 0 && data.compare(0, 9, "HTTP/1.0 ") != 0) {
    error = "not an HTTP response";
    return false;
  }
  out.status = std::atoi(data.c_str() + 9);
  std::size_t length = std::string::npos;
  std::size_t pos = data.find("\r\n") + 2;
  while (pos < header_end) {
    auto eol = data.find("\r\n", pos);
    auto line = data.substr(pos, eol - pos);
    pos = eol + 2;
    auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "content-length")
      length = static_cast<std::size_t>(std::strtoull(line.c_str() + colon + 1, nullptr, 10));
  }
  auto body_start = header_end + 4;
  // A 204 has no body (RFC 9110, and micro_http sends no Content-Length with
  // it): it is complete at the blank line, and what follows is not its body.
  if (out.status == 204) {
    out.body.clear();
    return true;
  }
  if (length == std::string::npos) {
    if (!eof)
      return false;
    out.body = data.substr(body_start);
    return true;
  }
  if (data.size() - body_start < length) {
    if (eof)
      error = "connection closed in the middle of the body";
    return false;
  }
  out.body = data.substr(body_start, length);
  return true;
}

bool http_keeps_connection(const std::string& data) {
  auto header_end = data.find("\r\n\r\n");
  if (header_end == std::string::npos || data.compare(0, 9, "HTTP/1.1 ") != 0)
    return false;
  int status = std::atoi(data.c_str() + 9);
  std::size_t length = status == 204 ? 0 : std::string::npos;
  std::size_t pos = data.find("\r\n") + 2;
  while (pos < header_end) {
    auto eol = data.find("\r\n", pos);
    auto line = data.substr(pos, eol - pos);
    pos = eol + 2;
    for (auto& c : line)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (line.rfind("connection:", 0) == 0 && line.find("close") != std::string::npos)
      return false;
    if (line.rfind("content-length:", 0) == 0 && status != 204)
      length = static_cast<std::size_t>(std::strtoull(line.c_str() + 15, nullptr, 10));
  }
  // Without a length the body ends when the peer closes: not reusable.
  return length != std::string::npos && data.size() == header_end + 4 + length;
}

} // namespace banger
