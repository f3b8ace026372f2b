// Private to the server's translation units (server.cpp: process, socket,
// signals, timers and the poll loop; server_requests.cpp: connections and
// answering requests).
#pragma once

#include "tools/fc-stub/http.hpp"
#include "tools/fc-stub/server.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace banger::fc_stub {

struct Server::Connection {
  int descriptor = -1;
  std::string input;
  std::string output;
  bool continue_sent = false;
  bool close_after_flush = false;
  bool peer_closed = false;
  // A request held back by the response-delay fault.
  std::optional<http::Request> delayed;
  std::int64_t delayed_start_ns = 0;
  std::int64_t delayed_until_ms = 0;
};

// Paths and bodies are the client's bytes, not necessarily UTF-8: invalid
// sequences are written as U+FFFD (like Rust's from_utf8_lossy) instead of
// making dump() throw, which would end the stub.
std::string quoted(const std::string& text);

} // namespace banger::fc_stub
