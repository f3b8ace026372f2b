#include "actors/store_actor.hpp"
#include "actors/daemon_metrics.hpp"
#include "messages/sheltered.hpp"

#include "messages/error.hpp"
#include "messages/log.hpp"
#include "storage/store.hpp"

#include <caf/all.hpp>

namespace banger {

namespace {

using flush_atom = caf::atom_constant<caf::atom("flush")>;

/// One request's writes: committed together or not at all.
struct PendingWrite {
  std::vector<Write> writes;
  caf::typed_response_promise<Ack> promise;
};

struct StoreState {
  StoreState() = default; // not an aggregate: CAF must not build it from `self`
  std::unique_ptr<Store> store;
  std::vector<PendingWrite> pending;
  bool flush_scheduled = false;
  static inline const char* name = "store";
};

using store_impl = store_actor::extend<caf::reacts_to<flush_atom>>;

store_impl::behavior_type store_behavior(sheltered_pointer<store_impl, StoreState> self,
                                         std::unique_ptr<Store> store) {
  self->state.store = std::move(store);
  // Queues a write; the flush message goes behind everything already in the
  // mailbox, so writes that arrive together commit together.
  auto enqueue = [self](std::vector<Write> writes) {
    auto promise = self->make_response_promise<Ack>();
    self->state.pending.push_back(PendingWrite{std::move(writes), promise});
    if (!self->state.flush_scheduled) {
      self->state.flush_scheduled = true;
      self->send(self, flush_atom::value);
    }
    return promise;
  };
  return {
    [enqueue](SaveVm& msg) { return enqueue({UpsertVm{std::move(msg.vm)}}); },
    [enqueue](EraseVm& msg) { return enqueue({DeleteVm{std::move(msg.id)}}); },
    [enqueue](SaveImage& msg) { return enqueue({UpsertImage{std::move(msg.image)}}); },
    [enqueue](EraseImage& msg) { return enqueue({DeleteImage{std::move(msg.id)}}); },
    [enqueue](SaveOperation& msg) {
      return enqueue({UpsertOperation{std::move(msg.operation)}});
    },
    [enqueue](SaveOutcome& msg) {
      std::vector<Write> writes;
      if (msg.erase_vm)
        writes.push_back(DeleteVm{msg.vm.id});
      else if (msg.save_vm)
        writes.push_back(UpsertVm{std::move(msg.vm)});
      writes.push_back(UpsertOperation{std::move(msg.operation)});
      return enqueue(std::move(writes));
    },
    [enqueue](SaveNames& msg) {
      std::vector<Write> writes;
      writes.reserve(msg.upsert.size() + msg.erase.size());
      for (auto& name : msg.upsert)
        writes.push_back(UpsertName{std::move(name)});
      for (auto& name : msg.erase)
        writes.push_back(EraseName{std::move(name)});
      return enqueue(std::move(writes));
    },
    [self](LoadOperation& msg) -> caf::result<OperationStatus> {
      auto op = self->state.store->get_operation(msg.op_id);
      if (!op)
        return to_caf_error(op.error(), "");
      return std::move(*op);
    },
    [self](flush_atom) {
      auto& st = self->state;
      st.flush_scheduled = false;
      auto batch = std::move(st.pending);
      st.pending.clear();
      std::vector<std::vector<Write>> groups;
      groups.reserve(batch.size());
      for (auto& p : batch)
        groups.push_back(std::move(p.writes));
      auto began = std::chrono::steady_clock::now();
      auto results = st.store->apply_groups(groups);
      auto& m = daemon_metrics();
      m.store_commit_seconds.observe(
        {}, std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
      m.store_batch.observe({}, static_cast<double>(groups.size()));
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (results[i])
          batch[i].promise.deliver(Ack{});
        else
          batch[i].promise.deliver(to_caf_error(results[i].error(), ""));
      }
    },
  };
}

} // namespace

store_actor spawn_store_actor(caf::actor_system& sys, std::unique_ptr<Store> store) {
  auto impl = sys.spawn<caf::detached>(store_behavior, std::move(store));
  return caf::actor_cast<store_actor>(impl);
}

} // namespace banger
