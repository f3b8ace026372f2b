// The VM actor's messages: show is answered at once from the state; every
// lifecycle request goes through the queue (actors/vm_queue.hpp), which runs
// them one at a time as the operations of vm_operations.cpp. The VMM's exit
// and the deadlines of exit waits arrive here too.
#include "actors/vm_actor.hpp"

#include "actors/op_stages.hpp"
#include "actors/vm_context.hpp"
#include "actors/vmm_driver.hpp"
#include "actors/vmm_log.hpp"

#include <atomic>

namespace banger {

namespace {

using namespace vm;

/// Queues `request`; the caller gets the operation's outcome, or the refusal.
caf::result<VmRecord> enqueue(Self self, Request request) {
  auto promise = self->make_response_promise<VmRecord>();
  Reply reply = [promise](caf::expected<VmRecord> outcome) mutable {
    if (outcome)
      promise.deliver(std::move(*outcome));
    else
      promise.deliver(std::move(outcome.error()));
  };
  self->state.queue->submit(Pending{std::move(request), std::move(reply)});
  return promise;
}

Queue::Hooks queue_hooks(Self self) {
  Queue::Hooks hooks;
  hooks.start = [self](Pending pending, const std::string& op_id, OpDone done) {
    auto& st = self->state;
    if (auto* exited = std::get_if<VmmExitedWork>(&pending.request);
        exited && (exited->pid != st.rec.runtime.pid || vmm_alive(self))) {
      // An operation before it already took this VMM's runtime back.
      done(std::nullopt);
      return;
    }
    if (auto* reconcile = std::get_if<VmReconcile>(&pending.request);
        reconcile && is_stale(self, *reconcile) && strays_of(self, reconcile->inventory).empty()) {
      // The inventory was asked for before an operation of this VM ended
      // (it may show that operation's runtime mid-way): the operation's
      // outcome, a failed start's `error` and its reason included, stands,
      // and with no VMM to take down there is nothing to do.
      log_.info("reconcile skipped: an operation ended after its inventory was taken",
                {{"op_id", op_id}, {"vm_id", st.rec.id},
                 {"state", std::string(to_string(st.rec.runtime.state))}});
      if (pending.reply)
        pending.reply(st.rec);
      done(std::nullopt);
      return;
    }
    auto op = begin_op(self, op_name(pending.request), op_id);
    // A create began in the node: its stages are this operation's first.
    if (auto* create = std::get_if<VmCreateWork>(&pending.request))
      continue_from(op->status, create->so_far);
    if (auto* clone = std::get_if<VmCloneWork>(&pending.request))
      continue_from(op->status, clone->so_far);
    op->reply = std::move(pending.reply);
    st.current = op;
    // The record and the operation's status are committed together before
    // the queue ends the operation (and replies).
    run_request(self, op, std::move(pending.request),
                [self, op, done](std::optional<Error> error) {
                  record_outcome(self, op, std::move(error), done);
                });
  };
  hooks.end = [self](std::optional<Error> error) {
    if (auto op = std::exchange(self->state.current, nullptr)) {
      self->state.last_op_end = operation_tick();
      finish(self, op, std::move(error));
    }
  };
  hooks.defer = [self](std::function<void()> end) {
    self->state.dropped.push_back(std::move(end));
    self->send(self, dropped_atom::value);
  };
  hooks.owner = self->state.alive;
  return hooks;
}

/// How long a new session waits for the agent's hello: a guest restored a
/// moment ago (a start after suspend, a clone) says hello again within a
/// second, later under load; a guest without an agent is refused after it.
constexpr std::int64_t session_hello_wait_ms = 5000;

/// Sends `r` to the agent link once its agent has said hello (at once when
/// it has), so a session asked for right after a restore is not refused
/// while the link reconnects.
template <class Reply, class Request>
caf::result<Reply> after_hello(Self self, Request r) {
  auto promise = self->make_response_promise<Reply>();
  auto agent = self->state.agent;
  auto op_id = r.env.op_id;
  // No timeouts here: the link answers the wait by its deadline, and a
  // session request as soon as the session starts or is refused.
  self->request(agent, caf::infinite, AgentWait{op_id, session_hello_wait_ms})
    .then(
      [self, agent, promise, r = std::move(r)](AgentHello&) mutable {
        self->request(agent, caf::infinite, std::move(r))
          .then([promise](Reply& reply) mutable { promise.deliver(std::move(reply)); },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
      },
      [self, promise, op_id](caf::error& err) mutable {
        if (view(err).code != Errc::agent_unavailable) {
          promise.deliver(with_op_id(err, op_id));
          return;
        }
        promise.deliver(make_error(Errc::agent_unavailable,
                                   "the guest agent of VM " + self->state.rec.name
                                     + " did not say hello within "
                                     + std::to_string(session_hello_wait_ms / 1000)
                                     + " s (the guest is booting, has no agent, or is hung)",
                                   op_id));
      });
  return promise;
}

vm_impl::behavior_type vm_behavior(Self self, VmRecord record, Image image,
                                   std::shared_ptr<const VmDeps> deps) {
  auto& st = self->state;
  st.rec = std::move(record);
  st.image = std::move(image);
  st.deps = std::move(deps);
  st.vmm = &vmm_driver(st.deps->settings.vmm_kind);
  st.queue.emplace("VM " + st.rec.name, st.deps->settings.daemon_vm_queue, queue_hooks(self));
  // A VMM that survived a daemon restart is watched from the first moment,
  // before reconciliation with the helper's inventory.
  if (vmm_alive(self)) {
    watch_exit(self, [](Status) {});
    // What it wrote before is from before this daemon: a shutdown line
    // there is not the end of this VMM.
    st.log_offset = log_size(home_of(self).vm_log(st.rec.id).string());
  }
  // Sessions with the guest agent run beside the lifecycle queue: a long
  // `vm exec` never holds up a stop, and a stop ends its sessions (the
  // link goes with the VMM).
  auto to_agent = [self](auto& request, const char* what) -> std::optional<caf::error> {
    auto& st = self->state;
    auto state = st.rec.runtime.state;
    if (!st.agent || (state != VmState::running && state != VmState::starting))
      return make_error(Errc::conflict,
                        "VM " + st.rec.name + " is " + std::string(to_string(state)) + ": " + what
                          + " needs it running",
                        request.env.op_id);
    return std::nullopt;
  };
  return {
    [self, to_agent](VmExecRequest& r) -> caf::result<VmSessionStarted> {
      if (auto refused = to_agent(r, "vm exec"))
        return *refused;
      return after_hello<VmSessionStarted>(self, std::move(r));
    },
    [self](VmSessionIoRequest& r) -> caf::result<VmSessionIo> {
      if (!self->state.agent)
        return make_error(Errc::not_found,
                          "no session " + std::to_string(r.session) + ": VM "
                            + self->state.rec.name + " has no VMM running",
                          r.env.op_id);
      return self->delegate(self->state.agent, std::move(r));
    },
    [self, to_agent](VmFileReadRequest& r) -> caf::result<VmSessionStarted> {
      if (auto refused = to_agent(r, "vm cp"))
        return *refused;
      return after_hello<VmSessionStarted>(self, std::move(r));
    },
    [self, to_agent](VmFileWriteRequest& r) -> caf::result<VmFileWritten> {
      if (auto refused = to_agent(r, "vm cp"))
        return *refused;
      if (r.session != 0) // a file already open: its agent is there
        return self->delegate(self->state.agent, std::move(r));
      return after_hello<VmFileWritten>(self, std::move(r));
    },
    [self](AgentUp& up) {
      auto& st = self->state;
      if (!st.agent || self->current_sender() != caf::actor_cast<caf::strong_actor_ptr>(st.agent))
        return;
      if (st.rec.runtime.agent != up.version) {
        st.rec.runtime.agent = up.version.empty() ? "unknown" : up.version;
        publish(self);
      }
    },
    [self](VmShowRequest&) -> caf::result<VmRecord> { return self->state.rec; },
    [self](VmActionRequest& request) { return enqueue(self, std::move(request)); },
    [self](VmCreateWork& work) { return enqueue(self, std::move(work)); },
    [self](VmCloneWork& work) { return enqueue(self, std::move(work)); },
    [self](VmCloneOut& request) -> caf::result<SavedState> {
      // Queued like any operation of this VM: its guest and disk hold still
      // while they are copied, and no stop or rm runs meanwhile.
      auto promise = self->make_response_promise<SavedState>();
      CloneOutWork work{std::move(request)};
      auto out = work.out;
      Reply reply = [promise, out](caf::expected<VmRecord> outcome) mutable {
        if (outcome)
          promise.deliver(*out);
        else
          promise.deliver(std::move(outcome.error()));
      };
      self->state.queue->submit(Pending{std::move(work), std::move(reply)});
      return promise;
    },
    [self](VmReconcile& work) -> caf::result<VmRecord> {
      auto& rt = self->state.rec.runtime;
      // Without a rootfs path a create or rm was cut off: never idle.
      bool idle = !rt.rootfs_path.empty()
                  && (rt.state == VmState::created || rt.state == VmState::stopped
                      || rt.state == VmState::error || rt.state == VmState::suspended);
      // A tap still on the record is a teardown that failed: finish it.
      // An unfinished clone is never idle.
      if (idle && !clone_unfinished(self) && rt.pid == 0 && rt.tap.empty() && work.inventory.vmms.empty()
          && work.inventory.taps.empty() && work.inventory.run_dirs.empty()
          && work.inventory.port_vms.empty())
        return self->state.rec; // nothing on the host to reconcile
      return enqueue(self, std::move(work));
    },
    [self](VmmExited& exited) {
      auto& st = self->state;
      if (exited.pid != st.rec.runtime.pid)
        return;
      st.exit_token = 0;
      stop_agent_link(self, "the VMM exited");
      if (st.exit_waiter) {
        auto waiter = std::move(st.exit_waiter);
        st.exit_waiter = nullptr;
        waiter(Status{});
        return;
      }
      if (st.abort_on_exit) {
        auto abort = std::move(st.abort_on_exit);
        st.abort_on_exit = nullptr;
        abort();
        return;
      }
      // Nobody waits for this exit. Its clean-up queues behind whatever runs
      // (never refused: it is not a caller's request) and is skipped if an
      // operation before it takes the runtime back anyway.
      st.queue->submit_always(Pending{VmmExitedWork{exited.pid}, {}});
    },
    [self](dropped_atom) {
      auto& st = self->state;
      if (st.dropped.empty())
        return;
      auto end = std::move(st.dropped.front());
      st.dropped.pop_front();
      end();
    },
    [self](deadline_atom, std::uint64_t seq) {
      auto& st = self->state;
      if (seq != st.deadline_seq || !st.exit_waiter)
        return;
      auto waiter = std::move(st.exit_waiter);
      st.exit_waiter = nullptr;
      waiter(Error{Errc::timeout, "the VMM did not exit in time"});
    },
  };
}

} // namespace

std::uint64_t operation_tick() {
  static std::atomic<std::uint64_t> tick{0};
  return ++tick;
}

vm_actor spawn_vm_actor(caf::actor_system& sys, VmRecord record, Image image,
                        std::shared_ptr<const VmDeps> deps) {
  auto impl = sys.spawn(vm_behavior, std::move(record), std::move(image), std::move(deps));
  return caf::actor_cast<vm_actor>(impl);
}

} // namespace banger
