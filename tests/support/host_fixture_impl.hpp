// Template part of host_fixture.hpp.
#pragma once

#include "messages/error.hpp"

#include "messages/remote_call.hpp"

namespace banger::test {

/// An error reply as an Error whose message ends with the op_id in
/// parentheses, as the CLI shows it (tests check error replies carry it).
Error describe_error(const caf::error& err);

template <class Reply, class Request>
Result<Reply> Host::ask(Request request, std::chrono::milliseconds timeout) {
  if (request.env.version == 0)
    request.env.version = protocol_version;
  auto& handle = control();
  // Fails at once if the daemon dies meanwhile (tests kill it on purpose).
  auto reply = remote_call<Reply>(system(), handle, request, timeout);
  if (!reply)
    return describe_error(reply.error());
  return std::move(*reply);
}

} // namespace banger::test
