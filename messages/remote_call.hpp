// Blocking requests to a remote actor that fail as soon as its node goes
// away. CAF 0.17 kills the proxy of an actor whose connection is lost but
// answers none of the requests in flight, so a plain blocking request waits
// for its full timeout (minutes for a `vm start --wait`). Here an
// event-based caller monitors the target while it waits and fails every
// pending request with sec::request_receiver_down ("lost the connection")
// on the down message (messages/in_flight.hpp, as the daemon's helper link
// does). Used by the CLI and the test fixture's client.
#pragma once

#include "messages/in_flight.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/sec.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace banger {

/// Sends every request at once and returns the replies (or errors) in
/// request order.
template <class Reply, class Handle, class Request>
std::vector<caf::expected<Reply>> remote_call_all(caf::actor_system& sys, const Handle& target,
                                                  const std::vector<Request>& requests,
                                                  std::chrono::milliseconds timeout) {
  struct Shared {
    std::mutex mutex;
    std::condition_variable done;
    std::vector<std::optional<caf::expected<Reply>>> results;
    std::size_t pending = 0;
    void finish(std::size_t i, caf::expected<Reply> result) {
      std::lock_guard lock(mutex);
      if (results[i])
        return;
      results[i] = std::move(result);
      if (--pending == 0)
        done.notify_all();
    }
  };
  if (requests.empty())
    return {};
  auto shared = std::make_shared<Shared>();
  shared->results.resize(requests.size());
  shared->pending = requests.size();
  // The unused argument: CAF 0.17 binds a reference to a null argument tuple
  // for function actors spawned without arguments (UBSan aborts).
  sys.spawn([shared, requests, timeout, target](caf::event_based_actor* self, int) {
    auto in_flight = std::make_shared<InFlight>();
    self->monitor(target);
    self->set_down_handler([in_flight, self](caf::down_msg&) {
      in_flight->fail_all(caf::make_error(caf::sec::request_receiver_down,
                                          "the connection to the peer was lost"));
      self->quit();
    });
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto id = in_flight->add(
        [shared, i](const caf::error& err) { shared->finish(i, caf::error{err}); });
      auto settle = [shared, self, in_flight, id, i](caf::expected<Reply> result) {
        if (in_flight->settle(id))
          shared->finish(i, std::move(result));
        if (in_flight->size() == 0)
          self->quit();
      };
      self->request(target, timeout, requests[i])
        .then([settle](Reply& reply) { settle(std::move(reply)); },
              [settle](caf::error& err) { settle(std::move(err)); });
    }
  }, 0);
  std::unique_lock lock(shared->mutex);
  shared->done.wait(lock, [&] { return shared->pending == 0; });
  std::vector<caf::expected<Reply>> results;
  for (auto& result : shared->results)
    results.push_back(std::move(*result));
  return results;
}

/// One request.
template <class Reply, class Handle, class Request>
caf::expected<Reply> remote_call(caf::actor_system& sys, const Handle& target,
                                 const Request& request, std::chrono::milliseconds timeout) {
  return std::move(remote_call_all<Reply>(sys, target, std::vector<Request>{request}, timeout).front());
}

} // namespace banger
