// Template part of host_fixture.hpp.
#pragma once

#include "messages/error.hpp"

#include <caf/scoped_actor.hpp>

namespace banger::test {

/// An error reply as an Error whose message ends with the op_id in
/// parentheses, as the CLI shows it (tests check error replies carry it).
Error describe_error(const caf::error& err);

template <class Reply, class Request>
Result<Reply> Host::ask(Request request, std::chrono::milliseconds timeout) {
  if (request.env.version == 0)
    request.env.version = protocol_version;
  auto& handle = control();
  caf::scoped_actor self{system()};
  Result<Reply> result{Error{Errc::internal, "no reply"}};
  self->request(handle, timeout, std::move(request))
    .receive([&](Reply& reply) { result = std::move(reply); },
             [&](caf::error& err) { result = describe_error(err); });
  return result;
}

} // namespace banger::test
