#include "actors/operations_actor.hpp"
#include "messages/sheltered.hpp"

#include "messages/error.hpp"
#include "messages/excerpt.hpp"
#include "messages/log.hpp"
#include "messages/op_id.hpp"

#include <caf/all.hpp>

#include <deque>
#include <unordered_map>

namespace banger {

namespace {
const log::Logger log_{"operations"};
} // namespace

namespace {

/// Finished operations kept in memory for fast polls; older ones come from
/// the store.
constexpr std::size_t recent_limit = 4096;

struct OperationsState {
  OperationsState() = default; // not an aggregate: CAF must not build it from `self`
  store_actor store;
  progress_watcher watcher;
  std::unordered_map<std::string, OperationStatus> known;
  std::deque<std::string> finished_order;
  static inline const char* name = "operations";
};

operations_actor::behavior_type
operations_behavior(sheltered_pointer<operations_actor, OperationsState> self, store_actor store,
                    progress_watcher watcher) {
  self->state.store = std::move(store);
  self->state.watcher = std::move(watcher);
  return {
    [self](OpProgress& progress) {
      auto& st = self->state;
      if (st.watcher)
        self->send(st.watcher, progress);
      auto op_id = progress.status.op_id;
      bool done = progress.status.outcome != OperationOutcome::running;
      bool recorded = progress.recorded;
      auto& slot = st.known[op_id];
      // A create runs in two actors (node, then VM): keep the kind.
      if (progress.status.kind.empty())
        progress.status.kind = slot.kind;
      slot = std::move(progress.status);
      if (!done)
        return;
      st.finished_order.push_back(op_id);
      while (st.finished_order.size() > recent_limit) {
        st.known.erase(st.finished_order.front());
        st.finished_order.pop_front();
      }
      if (recorded)
        return; // durable with the VM's last write (SaveOutcome)
      // No timeout: the store answers every write, and a CAF request timeout
      // costs two clock-thread wake-ups (see vm::local_request).
      self->request(st.store, caf::infinite, SaveOperation{slot})
        .then([](Ack) {},
              [op_id](caf::error& err) {
                log_.warn("could not record operation",
                          {{"op_id", op_id}, {"error", view(err).message}});
              });
    },
    [self](OpStatusRequest& req) -> caf::result<OperationStatus> {
      if (!is_valid_op_id(req.op_id))
        return make_error(Errc::invalid_argument,
                          excerpt(req.op_id) + " is not an op id (op- and 12 hex digits)",
                          req.env.op_id);
      auto it = self->state.known.find(req.op_id);
      if (it != self->state.known.end())
        return it->second;
      auto promise = self->make_response_promise<OperationStatus>();
      auto op = req.env.op_id;
      self->request(self->state.store, std::chrono::seconds(30), LoadOperation{req.op_id})
        .then([promise](OperationStatus& status) mutable { promise.deliver(std::move(status)); },
              [promise, op](caf::error& err) mutable { promise.deliver(with_op_id(err, op)); });
      return promise;
    },
  };
}

} // namespace

operations_actor spawn_operations_actor(caf::actor_system& sys, store_actor store,
                                        progress_watcher watcher) {
  return sys.spawn(operations_behavior, std::move(store), std::move(watcher));
}

} // namespace banger
