// How bangerd's actors reach a VM: resolve, then send. The caller asks the
// directory which actor a ref names and sends its request to that actor
// itself, holding the request (and its reply) the whole time. Delegation
// (the directory forwarding the request so the VM actor answers the original
// caller) is not used: once a directory entry may be a VM actor on another
// host, a forwarded request to it would have no owner who can fail it when
// the link drops (CAF fails no request on link loss), while the resolving
// caller can watch that one handle and fail its own request. See
// docs/architecture.md ("Routing").
#pragma once

#include "actors/internal_protocol.hpp"

#include <caf/typed_response_promise.hpp>

namespace banger {

/// Sends `request` to `target`; its reply, value or error, goes to `promise`.
/// Every target today is an actor of this process that always answers, so
/// the request has no timeout of its own (a VM's stop may take as long as
/// its grace period); a remote target needs a failure on its down message.
template <class Reply, class Self, class Handle, class Request>
void relay(Self self, const Handle& target, Request request, caf::typed_response_promise<Reply> promise,
           caf::duration timeout = caf::infinite) {
  self->request(target, timeout, std::move(request))
    .then([promise](Reply& reply) mutable { promise.deliver(std::move(reply)); },
          [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
}

/// Resolve-then-send for a request with a `ref` to a VM: `on_reply` gets the
/// VM actor's reply, `on_error` a resolve error (not_found, ambiguous, busy)
/// or the VM actor's error.
template <class Reply, class Self, class Request, class OnReply, class OnError>
void ask_vm(Self self, const directory_actor& directory, Request request, OnReply on_reply,
            OnError on_error, caf::duration timeout = caf::infinite) {
  auto lookup = VmLookup{request.env, request.ref};
  self->request(directory, caf::infinite, std::move(lookup))
    .then(
      [self, request, on_reply, on_error, timeout](VmHandle& vm) mutable {
        self->request(vm.actor, timeout, std::move(request))
          .then([on_reply](Reply& reply) mutable { on_reply(reply); },
                [on_error](caf::error& err) mutable { on_error(err); });
      },
      [on_error](caf::error& err) mutable { on_error(err); });
}

/// ask_vm with the reply going to `promise`.
template <class Reply, class Self, class Request>
void relay_to_vm(Self self, const directory_actor& directory, Request request,
                 caf::typed_response_promise<Reply> promise) {
  ask_vm<Reply>(
    self, directory, std::move(request),
    [promise](Reply& reply) mutable { promise.deliver(std::move(reply)); },
    [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
}

} // namespace banger
