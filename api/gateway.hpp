// How an HTTP handler thread asks the daemon: one request to the control
// actor (the CLI's front door, with its admission), waited for on the
// calling thread. The API is an adapter, so this is all it does.
#pragma once

#include "messages/cli_protocol.hpp"
#include "messages/error.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <variant>

namespace banger::api {

/// A reply, or the daemon's error taken apart (ErrorView: code, message,
/// op_id).
template <class Reply>
using Answer = std::variant<Reply, ErrorView>;

class Gateway {
public:
  Gateway(caf::actor_system& sys, control_actor control) : sys_(&sys), control_(std::move(control)) {}

  template <class Reply, class Request>
  Answer<Reply> call(Request request, std::chrono::milliseconds timeout) {
    caf::scoped_actor self{*sys_};
    Answer<Reply> out = ErrorView{};
    auto op_id = request.env.op_id;
    self->request(control_, timeout, std::move(request))
      .receive([&](Reply& reply) { out = std::move(reply); },
               [&](caf::error& err) {
                 auto v = view(err);
                 if (v.op_id.empty())
                   v.op_id = op_id;
                 out = std::move(v);
               });
    return out;
  }

  caf::actor_system& system() { return *sys_; }

private:
  caf::actor_system* sys_;
  control_actor control_;
};

} // namespace banger::api
