#include "actors/vm_context.hpp"
#include "actors/vmm_driver.hpp"

#include "actors/op_stages.hpp"
#include "actors/proc.hpp"

namespace banger::vm {

Error to_error(const caf::error& err) {
  auto v = view(err);
  return Error{v.code, v.message};
}

/// Makes a StepDone that runs at most once: a step may be completed by its
/// reply or cut short by the VMM exiting, whichever comes first.
StepDone once(StepDone done) {
  auto fired = std::make_shared<bool>(false);
  return [fired, done = std::move(done)](Status status) {
    if (*fired)
      return;
    *fired = true;
    done(std::move(status));
  };
}

HomeLayout home_of(Self self) {
  return HomeLayout{self->state.deps->home};
}

// -- talking to other actors ---------------------------------------------------

void publish(Self self) {
  auto& st = self->state;
  self->send(st.deps->events, VmChanged{st.rec, st.current ? st.current->log.op_id() : std::string{}});
}

void persist(Self self, StepDone then) {
  auto& rec = self->state.rec;
  rec.updated_at_us = now_us();
  publish(self);
  self->state.dirty = false;
  self->request(self->state.deps->store, local_request, SaveVm{rec})
    .then([then](Ack) { then(Status{}); },
          [self, then](caf::error& err) {
            self->state.dirty = true; // not on disk: the operation's end tries again
            then(to_error(err));
          });
}

void settle(Self self) {
  self->state.rec.updated_at_us = now_us();
  self->state.dirty = true;
  publish(self);
}

Envelope envelope_of(const OpPtr& op) {
  Envelope env;
  env.op_id = op->log.op_id();
  return env;
}

// -- operation bookkeeping ---------------------------------------------------------

void report(Self self, const OpPtr& op) {
  self->send(self->state.deps->operations, OpProgress{op->status, op->recorded});
}

OpPtr begin_op(Self self, const std::string& kind, const std::string& op_id) {
  auto& rec = self->state.rec;
  auto op = std::make_shared<Op>(
    OpLog::begin(log_, kind, op_id, {{"vm_id", rec.id}, {"vm_name", rec.name}}));
  op->status.op_id = op_id;
  op->status.kind = kind;
  op->status.vm_id = rec.id;
  op->status.started_at_us = now_us();
  report(self, op);
  return op;
}

void stage(Self self, const OpPtr& op, const std::string& name) {
  enter_stage(op->status, name, now_us());
  op->log.stage(name);
  self->state.rec.runtime.stage_deadline_us = 0;
  self->state.rec.runtime.stage = name;
  report(self, op);
}

namespace {

/// The operation's final status for `error` (none: success). Called again
/// when the commit of that status fails: the end time stays the first one.
void conclude(const OpPtr& op, const std::optional<Error>& error) {
  auto& status = op->status;
  end_status(status, error, status.finished_at_us != 0 ? status.finished_at_us : now_us());
  if (!error) {
    status.error_code = 0;
    status.error_message.clear();
  }
}

} // namespace

void record_outcome(Self self, const OpPtr& op, std::optional<Error> error,
                    std::function<void(std::optional<Error>)> done) {
  auto& st = self->state;
  st.rec.runtime.stage.clear();
  st.rec.runtime.stage_deadline_us = 0;
  conclude(op, error);
  SaveOutcome outcome;
  outcome.erase_vm = st.erase_pending;
  outcome.save_vm = !st.erase_pending && st.dirty;
  if (outcome.save_vm || outcome.erase_vm)
    outcome.vm = st.rec;
  outcome.operation = op->status;
  st.dirty = false;
  self->request(st.deps->store, local_request, std::move(outcome))
    .then(
      [self, op, error, done](Ack) {
        auto& st = self->state;
        if (st.erase_pending) {
          st.erase_pending = false;
          st.retired = true;
        }
        op->recorded = true;
        done(error);
      },
      [self, op, error, done](caf::error& err) {
        auto& st = self->state;
        // Nothing of it is on disk: the record stays (and is written by the
        // next save), the operations actor tries to record the status.
        if (!st.erase_pending)
          st.dirty = true;
        st.erase_pending = false;
        auto failed = to_error(err);
        log_.warn("could not record the end of an operation",
                  {{"op_id", op->log.op_id()}, {"error", failed.message}});
        done(error ? error : std::optional<Error>(failed));
      });
}

void finish(Self self, const OpPtr& op, std::optional<Error> error) {
  auto& st = self->state;
  st.rec.runtime.stage.clear();
  st.rec.runtime.stage_deadline_us = 0;
  conclude(op, error);
  // Retired before the reply: a caller that re-creates the name at once must
  // find it free.
  if (st.retired)
    self->send(st.deps->events, VmRetired{st.rec.id, st.rec.name});
  if (error) {
    op->log.fail(*error);
    if (op->reply)
      op->reply(make_error(error->code, error->message, op->log.op_id()));
  } else {
    op->log.done({{"state", std::string(to_string(st.rec.runtime.state))}});
    if (op->reply)
      op->reply(st.rec);
  }
  report(self, op);
  if (!st.retired) {
    // An operation ended without record_outcome (a dropped continuation):
    // its record still becomes durable.
    if (st.dirty)
      persist(self, [](Status) {});
    publish(self);
    return;
  }
  // Whatever still waits learns the VM is gone; the queue takes nothing more.
  st.queue->close(Errc::not_found, "VM " + st.rec.name + " was deleted");
  self->quit();
}

// -- the VMM process -------------------------------------------------------------

bool vmm_alive(Self self) {
  auto& rt = self->state.rec.runtime;
  return rt.pid > 0 && same_process_alive(rt.pid, rt.pid_start_time);
}

void watch_exit(Self self, StepDone done) {
  if (self->state.exit_token != 0) {
    done(Status{}); // already watched
    return;
  }
  auto& rt = self->state.rec.runtime;
  ask_io<std::uint64_t>(self, ExitWatch{rt.pid, caf::actor_cast<caf::actor>(self)},
                        [self, done](Result<std::uint64_t> token) {
                          if (!token) {
                            done(std::move(token).error());
                            return;
                          }
                          self->state.exit_token = *token;
                          start_agent_link(self);
                          done(Status{});
                        });
}

/// Waits until the VMM exits or `timeout` passes (then: Errc::timeout).
void wait_exit(Self self, std::chrono::milliseconds timeout, StepDone done) {
  auto& st = self->state;
  if (!vmm_alive(self)) {
    done(Status{});
    return;
  }
  auto seq = ++st.deadline_seq;
  st.exit_waiter = once(std::move(done));
  // Shown by `vm show` (and `vm stop` on a terminal) as the time left.
  st.rec.runtime.stage_deadline_us =
    now_us() + std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
  self->delayed_send(self, timeout, deadline_atom::value, seq);
  if (st.exit_token == 0)
    watch_exit(self, [](Status) {}); // a VMM adopted before its watch was set
}

/// Signals the VMM through the helper and waits for it to exit.
void signal_and_wait(Self self, const OpPtr& op, const std::string& signal,
                     std::chrono::milliseconds timeout, StepDone done) {
  auto& rt = self->state.rec.runtime;
  if (!vmm_alive(self)) {
    done(Status{});
    return;
  }
  VmmSignalRequest request{envelope_of(op), self->state.rec.id, rt.pid, rt.pid_start_time, signal};
  ask_helper<Ack>(self, std::move(request), [self, timeout, done](Result<Ack> result) {
    if (!result && vmm_alive(self)) {
      done(std::move(result).error());
      return;
    }
    wait_exit(self, timeout, done);
  });
}

void start_agent_link(Self self) {
  auto& st = self->state;
  if (st.agent)
    return;
  AgentLinkConfig config{st.rec.id, st.vmm->agent_endpoint(st.rec, home_of(self)), st.deps->io,
                         caf::actor_cast<caf::typed_actor<caf::reacts_to<AgentUp>>>(self)};
  st.agent = spawn_agent_link(self->system(), std::move(config));
}

void stop_agent_link(Self self, const std::string& why) {
  auto& st = self->state;
  if (!st.agent)
    return;
  self->send(st.agent, AgentClose{why});
  st.agent = nullptr;
  if (!st.rec.runtime.agent.empty()) {
    st.rec.runtime.agent.clear();
    publish(self);
  }
}

void forget_vmm(Self self) {
  auto& st = self->state;
  stop_agent_link(self, "the VM's VMM is gone");
  if (st.exit_token != 0) {
    self->send(st.deps->io, ExitUnwatch{st.exit_token});
    st.exit_token = 0;
  }
  auto& rt = st.rec.runtime;
  st.instance_started.reset();
  rt.pid = 0;
  rt.pid_start_time = 0;
  rt.api_socket.clear();
  rt.vsock_path.clear();
}

} // namespace banger::vm
