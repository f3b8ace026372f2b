#include "actors/events_actor.hpp"
#include "messages/sheltered.hpp"

#include "actors/daemon_metrics.hpp"
#include "messages/error.hpp"
#include "messages/log.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <unordered_set>

namespace banger {

namespace {

const log::Logger log_{"events"};

using wake_atom = caf::atom_constant<caf::atom("evwake")>;

/// Operations that ended lately: a second final OpProgress of one
/// operation (the node's and the VM actor's) makes no second op.done.
constexpr std::size_t recent_done_limit = 1024;

struct Waiter {
  std::uint64_t id = 0;
  EventsRequest request;
  caf::typed_response_promise<EventBatch> promise;
};

struct EventsState {
  EventsState() = default; // not an aggregate: CAF must not build it from `self`
  std::size_t capacity = 4096;
  std::deque<Event> buffer;
  std::uint64_t last_seq = 0;
  std::unordered_map<std::string, std::string> vm_state; ///< id -> last state sent
  std::unordered_map<std::string, std::string> vm_name;  ///< id -> name
  std::unordered_map<std::string, std::string> op_stage; ///< running op -> last stage sent
  std::unordered_set<std::string> done;
  std::deque<std::string> done_order;
  std::vector<Waiter> waiters;
  std::uint64_t next_waiter = 1;
  static inline const char* name = "events";
};

using events_impl = events_actor::extend<caf::reacts_to<wake_atom, std::uint64_t>>;
using Self = sheltered_pointer<events_impl, EventsState>;

/// What `request` gets now: the events after its `after`, filtered, and
/// how many it missed. Empty (no events, none missed): it waits.
EventBatch batch_for(const EventsState& st, const EventsRequest& request) {
  EventBatch batch;
  std::uint64_t after = request.after;
  std::uint64_t oldest = st.buffer.empty() ? st.last_seq + 1 : st.buffer.front().seq;
  if (after + 1 < oldest)
    batch.missed = oldest - (after + 1);
  auto max = std::clamp<std::uint32_t>(request.max, 1, events_max_batch);
  // The buffer's seqs are consecutive: the first one after `after` is at
  // a known place.
  std::size_t start = after + 1 <= oldest ? 0 : static_cast<std::size_t>(after + 1 - oldest);
  batch.last = std::max(after, oldest - 1);
  for (std::size_t i = start; i < st.buffer.size(); ++i) {
    auto& event = st.buffer[i];
    batch.last = event.seq;
    if (!request.vm_id.empty() && event.vm_id != request.vm_id)
      continue;
    batch.events.push_back(event);
    if (batch.events.size() >= max)
      break;
  }
  return batch;
}

void deliver(Waiter& waiter, EventBatch batch) {
  if (batch.missed > 0)
    daemon_metrics().events_missed.add({}, static_cast<double>(batch.missed));
  waiter.promise.deliver(std::move(batch));
}

/// Answers every waiter that has something now.
void wake_waiters(Self self) {
  auto& st = self->state;
  for (auto it = st.waiters.begin(); it != st.waiters.end();) {
    auto batch = batch_for(st, it->request);
    if (batch.events.empty() && batch.missed == 0) {
      it->request.after = batch.last; // filtered out: not looked at again
      ++it;
      continue;
    }
    deliver(*it, std::move(batch));
    it = st.waiters.erase(it);
  }
}

void emit(Self self, Event event) {
  auto& st = self->state;
  event.seq = ++st.last_seq;
  event.at_us = now_us();
  if (event.vm_name.empty() && !event.vm_id.empty())
    if (auto it = st.vm_name.find(event.vm_id); it != st.vm_name.end())
      event.vm_name = it->second;
  st.buffer.push_back(std::move(event));
  while (st.buffer.size() > st.capacity)
    st.buffer.pop_front();
  daemon_metrics().events.add();
  wake_waiters(self);
}

void on_vm_changed(Self self, VmChanged& changed) {
  auto& st = self->state;
  auto& vm = changed.vm;
  st.vm_name[vm.id] = vm.name;
  std::string state{to_string(vm.runtime.state)};
  auto& last = st.vm_state[vm.id];
  if (last == state)
    return; // a stage or another field changed, not the state
  last = state;
  Event event;
  event.type = "vm.state";
  event.op_id = changed.op_id;
  event.vm_id = vm.id;
  event.vm_name = vm.name;
  event.state = std::move(state);
  emit(self, std::move(event));
}

void on_vm_retired(Self self, VmRetired& retired) {
  auto& st = self->state;
  Event event;
  event.type = "vm.removed";
  event.vm_id = retired.id;
  event.vm_name = retired.name;
  emit(self, std::move(event));
  st.vm_state.erase(retired.id);
  st.vm_name.erase(retired.id);
}

/// The operation's end, counted once in the operation metrics.
void count_operation(const OperationStatus& status) {
  auto& m = daemon_metrics();
  std::string outcome{to_string(status.outcome)};
  m.operations.add({{"kind", status.kind}, {"outcome", outcome}});
  if (status.finished_at_us >= status.started_at_us && status.started_at_us > 0)
    m.operation_seconds.observe({{"kind", status.kind}},
                                static_cast<double>(status.finished_at_us - status.started_at_us)
                                  / 1e6);
}

/// An op.* event of `status`.
Event op_event(const OperationStatus& status, const char* type) {
  Event event;
  event.type = type;
  event.op_id = status.op_id;
  event.kind = status.kind;
  event.vm_id = status.vm_id;
  event.stage = status.stage;
  return event;
}

void on_progress(Self self, OpProgress& progress) {
  auto& st = self->state;
  auto& status = progress.status;
  if (status.op_id.empty() || st.done.count(status.op_id))
    return;
  bool running = status.outcome == OperationOutcome::running;
  if (!status.stage.empty()) {
    auto& last = st.op_stage[status.op_id];
    if (last != status.stage) {
      last = status.stage;
      auto event = op_event(status, "op.stage");
      event.outcome = "running";
      emit(self, std::move(event));
    }
  }
  if (running)
    return;
  st.op_stage.erase(status.op_id);
  st.done.insert(status.op_id);
  st.done_order.push_back(status.op_id);
  while (st.done_order.size() > recent_done_limit) {
    st.done.erase(st.done_order.front());
    st.done_order.pop_front();
  }
  count_operation(status);
  auto event = op_event(status, "op.done");
  event.outcome = std::string(to_string(status.outcome));
  event.error_code = status.error_code;
  event.error_message = status.error_message;
  if (status.finished_at_us >= status.started_at_us)
    event.duration_us = status.finished_at_us - status.started_at_us;
  emit(self, std::move(event));
}

events_impl::behavior_type events_behavior(Self self, std::size_t capacity) {
  self->state.capacity = std::max<std::size_t>(capacity, 16);
  return {
    [self](VmChanged& changed) { on_vm_changed(self, changed); },
    [self](VmRetired& retired) { on_vm_retired(self, retired); },
    [self](OpProgress& progress) { on_progress(self, progress); },
    [self](EventsRequest& request) -> caf::result<EventBatch> {
      auto& st = self->state;
      if (request.from_now) {
        request.after = st.last_seq;
        request.from_now = false;
      }
      if (request.after > st.last_seq)
        return make_error(Errc::invalid_argument,
                          "no event " + std::to_string(request.after) + " yet (the last is "
                            + std::to_string(st.last_seq)
                            + "; the count starts again when bangerd restarts)",
                          request.env.op_id);
      auto batch = batch_for(st, request);
      auto wait = std::min(request.wait_ms, events_max_wait_ms);
      if (!batch.events.empty() || batch.missed > 0 || wait == 0) {
        if (batch.missed > 0)
          daemon_metrics().events_missed.add({}, static_cast<double>(batch.missed));
        return batch;
      }
      Waiter waiter;
      waiter.id = st.next_waiter++;
      request.after = batch.last;
      waiter.request = std::move(request);
      waiter.promise = self->make_response_promise<EventBatch>();
      auto promise = waiter.promise;
      self->delayed_send(self, std::chrono::milliseconds(wait), wake_atom::value, waiter.id);
      st.waiters.push_back(std::move(waiter));
      return promise;
    },
    [self](wake_atom, std::uint64_t id) {
      auto& st = self->state;
      auto it = std::find_if(st.waiters.begin(), st.waiters.end(),
                             [id](const Waiter& w) { return w.id == id; });
      if (it == st.waiters.end())
        return; // answered already
      EventBatch empty;
      empty.last = it->request.after;
      it->promise.deliver(std::move(empty));
      st.waiters.erase(it);
    },
  };
}

} // namespace

events_actor spawn_events_actor(caf::actor_system& sys, std::size_t buffer) {
  log_.debug("events buffer", {{"events", static_cast<std::int64_t>(buffer)}});
  return caf::actor_cast<events_actor>(sys.spawn(events_behavior, buffer));
}

} // namespace banger
