// The VM actor: one per VM, running its lifecycle requests strictly one at a
// time from a bounded queue (this replaces per-VM locks). The operations live
// here; the VMM-kind specific steps in vm_vmm.cpp, shared helpers in
// vm_context.cpp.
#include "actors/vm_actor.hpp"

#include "actors/firecracker_driver.hpp"
#include "actors/vm_context.hpp"
#include "messages/log.hpp"
#include "messages/op_id.hpp"

namespace banger {

namespace {

using namespace vm;

StepHooks hooks_for(Self self, const OpPtr& op) {
  StepHooks hooks;
  hooks.on_stage = [self, op](const std::string& name) { stage(self, op, name); };
  hooks.on_undo_error = [op](const std::string& step, const Error& error) {
    log::warn("undo failed", {{"op_id", op->log.op_id()}, {"step", step},
                              {"error", error.message}});
  };
  return hooks;
}

// -- lifecycle operations ---------------------------------------------------------

using Then = std::function<void(std::optional<Error>)>;

/// Starts the VM; with `wait`, also waits until the guest's SSH port answers.
/// A guest that never gets ready fails the request but keeps running: the
/// VMM is healthy and `vm ssh` may still work later.
void do_start(Self self, const OpPtr& op, bool wait, Then then) {
  auto& st = self->state;
  auto& rt = st.rec.runtime;
  // Running (and persisted as such): wait for the guest if asked.
  auto ready = [self, op, wait, then] {
    if (!wait) {
      then(std::nullopt);
      return;
    }
    wait_guest_ready(self, op, [self, then](Status waited) {
      persist(self, [then, waited](Status) {
        then(waited ? std::nullopt : std::optional<Error>(waited.error()));
      });
    });
  };
  if (rt.state == VmState::running && vmm_alive(self)) {
    log::info("vm already running", {{"op_id", op->log.op_id()}, {"vm_id", st.rec.id}});
    ready();
    return;
  }
  if (rt.rootfs_path.empty()) {
    // An rm that could not release the rootfs (release_and_erase).
    then(Error{Errc::conflict, "VM " + st.rec.name + " has no rootfs any more: " + rt.last_error});
    return;
  }
  rt.state = VmState::starting;
  rt.last_error.clear();
  rt.boot = BootTimings{};
  // Durable before the first host change: a crash from here on is
  // reconciled as an interrupted start.
  persist(self, [self, op, then, ready](Status saved) {
    if (!saved) {
      then(saved.error());
      return;
    }
    run_steps(start_steps(self, op), hooks_for(self, op),
              [self, op, then, ready](std::optional<StepFailure> failure) {
                auto& rt = self->state.rec.runtime;
                if (!failure) {
                  rt.state = VmState::running;
                  persist(self, [then, ready](Status s) {
                    if (!s)
                      then(s.error());
                    else
                      ready();
                  });
                  return;
                }
                rt.state = VmState::error;
                rt.last_error = "start failed at " + failure->step + ": "
                                + failure->error.message + " (VMM log: "
                                + home_of(self).vm_log(self->state.rec.id).string() + ")";
                auto left = failure->undo_failures.empty()
                              ? std::nullopt
                              : teardown_failed(self, failure->undo_failures);
                if (left) {
                  rt.last_error += "; " + *left;
                } else {
                  forget_vmm(self);
                  rt.tap.clear();
                }
                Error error{failure->error.code, rt.last_error};
                persist(self, [then, error](Status) { then(error); });
              });
  });
}

/// The VMM is gone: take its runtime back, then record the stop. A failed
/// teardown fails the request instead (cleanup_runtime).
void stopped(Self self, const OpPtr& op, StopRung rung, Then then) {
  cleanup_runtime(self, op, [self, rung, then](std::optional<Error> failed) {
    if (failed) {
      then(failed);
      return;
    }
    auto& rt = self->state.rec.runtime;
    rt.state = VmState::stopped;
    if (rung != StopRung::none)
      rt.last_stop = rung;
    persist(self, [then](Status s) { then(s ? std::nullopt : std::optional<Error>(s.error())); });
  });
}

void do_stop(Self self, const OpPtr& op, Then then) {
  auto& st = self->state;
  if (!vmm_alive(self)) {
    stopped(self, op, StopRung::none, then);
    return;
  }
  st.rec.runtime.state = VmState::stopping;
  publish(self);
  auto grace = st.deps->settings.vmm_stop_grace;
  auto kill_grace = st.deps->settings.vmm_kill_grace;
  request_shutdown(self, op, [self, op, grace, kill_grace, then](Status sent) {
    auto escalate = [self, op, kill_grace, then] {
      stage(self, op, "kill_vmm");
      signal_and_wait(self, op, "KILL", kill_grace, [self, op, then](Status killed) {
        if (!killed) {
          vmm_survived(self, "stop failed", killed.error(), then);
          return;
        }
        stopped(self, op, StopRung::timeout, then);
      });
    };
    if (!sent) {
      log::warn("graceful shutdown request failed", {{"op_id", op->log.op_id()},
                                                     {"error", sent.error().message}});
      escalate();
      return;
    }
    stage(self, op, "wait_for_exit");
    wait_exit(self, grace, [self, op, then, escalate](Status exited) {
      if (exited)
        stopped(self, op, StopRung::graceful, then);
      else
        escalate();
    });
  });
}

void do_kill(Self self, const OpPtr& op, const std::string& signal, Then then) {
  auto& st = self->state;
  if (!vmm_alive(self)) {
    stopped(self, op, StopRung::none, then);
    return;
  }
  auto name = signal.empty() ? std::string("TERM") : signal;
  auto kill_grace = st.deps->settings.vmm_kill_grace;
  stage(self, op, "signal_vmm");
  auto& rt = st.rec.runtime;
  VmmSignalRequest request{envelope_of(op), st.rec.id, rt.pid, rt.pid_start_time, name};
  ask_helper<Ack>(self, std::move(request), [self, op, kill_grace, then](Result<Ack> sent) {
    if (!sent) {
      // Refused (bad signal...) before anything changed: state stays as is.
      then(std::move(sent).error());
      return;
    }
    self->state.rec.runtime.state = VmState::stopping;
    publish(self);
    stage(self, op, "wait_for_exit");
    wait_exit(self, kill_grace, [self, op, kill_grace, then](Status exited) {
      if (exited) {
        stopped(self, op, StopRung::signal, then);
        return;
      }
      stage(self, op, "kill_vmm");
      signal_and_wait(self, op, "KILL", kill_grace, [self, op, then](Status killed) {
        if (!killed)
          vmm_survived(self, "kill failed", killed.error(), then);
        else
          stopped(self, op, StopRung::signal, then);
      });
    });
  });
}

/// rm: the VMM, its runtime, the rootfs, then the record. Anything that
/// cannot be taken back fails the rm and keeps the VM (in `error`, naming
/// what is left); the next rm tries again from where this one stopped.
void do_delete(Self self, const OpPtr& op, Then then) {
  auto& st = self->state;
  auto kill_grace = st.deps->settings.vmm_kill_grace;
  auto after_kill = [self, op, then](Status killed) {
    if (!killed) {
      vmm_survived(self, "rm failed", killed.error(), then);
      return;
    }
    auto release = [self, op, then] { release_and_erase(self, op, "rm failed", then); };
    // A clean stop (or a rolled-back start) already removed the tap and the
    // runtime dir; asking the helper again would cost two round trips that
    // answer not_found. A failed teardown kept the tap on record.
    auto& rt = self->state.rec.runtime;
    if (rt.pid == 0 && rt.tap.empty()) {
      release();
      return;
    }
    cleanup_runtime(self, op, [release, then](std::optional<Error> failed) {
      if (failed)
        then(failed);
      else
        release();
    });
  };
  if (vmm_alive(self)) {
    stage(self, op, "kill_vmm");
    signal_and_wait(self, op, "KILL", kill_grace, after_kill);
  } else {
    after_kill(Status{});
  }
}

void do_create(Self self, const OpPtr& op, const VmCreateWork& work, Then then) {
  stage(self, op, "prepare_rootfs");
  auto id = self->state.rec.id;
  ask_helper<RootfsPrepared>(
    self, RootfsPrepareRequest{envelope_of(op), id, work.image_rootfs},
    [self, op, work, then](Result<RootfsPrepared> prepared) {
      auto& rec = self->state.rec;
      if (!prepared) {
        // Nothing half-made stays behind: no rootfs, no record; if the
        // rootfs cannot be released, the VM stays (in `error`) until rm.
        auto error = std::move(prepared).error();
        release_and_erase(self, op, "create failed (" + error.message + ")",
                          [then, error](std::optional<Error>) { then(error); });
        return;
      }
      rec.runtime.rootfs_path = prepared->path;
      rec.runtime.vm_dir = home_of(self).vm_dir(rec.id).string();
      rec.runtime.log_path = home_of(self).vm_log(rec.id).string();
      op->log.stage("rootfs_ready", {{"strategy", prepared->strategy}});
      persist(self, [self, op, work, then](Status saved) {
        if (!saved) {
          then(saved.error());
          return;
        }
        if (work.start)
          do_start(self, op, work.wait, then);
        else
          then(std::nullopt);
      });
    });
}

/// Kills `strays` from index `i` on, one at a time, then runs `done`. Each
/// reply handler carries what the next step needs; no closure owns itself.
void kill_strays(Self self, const OpPtr& op, std::shared_ptr<const std::vector<VmmProcess>> strays,
                 std::size_t i, std::function<void()> done) {
  if (i == strays->size()) {
    done();
    return;
  }
  const auto& vmm = (*strays)[i];
  log::warn("killing a VMM no record owns", {{"op_id", op->log.op_id()},
                                            {"vm_id", self->state.rec.id}, {"pid", vmm.pid}});
  VmmSignalRequest kill{envelope_of(op), self->state.rec.id, vmm.pid, vmm.start_time, "KILL"};
  ask_helper<Ack>(self, std::move(kill), [self, op, strays, i, done](Result<Ack>) {
    kill_strays(self, op, strays, i + 1, done);
  });
}

/// After a daemon restart: adopt a live VMM, or clean up what is left.
void do_reconcile(Self self, const OpPtr& op, const VmReconcile& work, Then then) {
  auto& st = self->state;
  auto& rt = st.rec.runtime;
  // VMMs of this VM that the record does not know (a start interrupted
  // between launch and persist) are killed first.
  auto strays = std::make_shared<std::vector<VmmProcess>>();
  for (const auto& vmm : work.inventory.vmms)
    if (vmm.pid != rt.pid || vmm.start_time != rt.pid_start_time)
      strays->push_back(vmm);
  // Runtime on the host that the record does not mention (a launch whose
  // answer was lost with the helper link) is taken down like any other.
  bool leftovers = !work.inventory.taps.empty() || !work.inventory.run_dirs.empty();
  kill_strays(self, op, strays, 0, [self, op, then, leftovers] {
    auto& rt = self->state.rec.runtime;
    bool alive = vmm_alive(self);
    if (alive && rt.state == VmState::running) {
      stage(self, op, "adopt_vmm");
      watch_exit(self, [self, op, then](Status watched) {
        if (watched) {
          log::info("adopted running VMM", {{"op_id", op->log.op_id()},
                                           {"vm_id", self->state.rec.id},
                                           {"pid", self->state.rec.runtime.pid}});
          then(std::nullopt);
        } else {
          stopped(self, op, StopRung::none, then);
        }
      });
      return;
    }
    auto was = rt.state;
    auto after = [self, op, was, then](std::optional<Error> error) {
      auto& rt = self->state.rec.runtime;
      if (!error && rt.rootfs_path.empty()) {
        // A create that had not recorded its rootfs yet, or an rm that had
        // begun to release it: either way the operation failed, and a
        // failed create leaves nothing, so both end as a finished rm.
        log::warn("removing a VM whose create or rm a daemon restart interrupted",
                  {{"op_id", op->log.op_id()}, {"vm_id", self->state.rec.id}});
        auto what = std::string(was == VmState::created ? "create" : "rm")
                    + " interrupted by a daemon restart";
        release_and_erase(self, op, what, then);
        return;
      }
      if (was == VmState::starting) {
        // After a failed teardown last_error already names what is left.
        rt.state = VmState::error;
        rt.last_error = "start interrupted by a daemon restart"
                        + (error ? "; " + rt.last_error : std::string());
        persist(self, [then, error](Status) { then(error); });
        return;
      }
      then(error);
    };
    if (alive) {
      // A VMM caught mid-start or mid-stop: its operation is gone, end it.
      stage(self, op, "kill_vmm");
      signal_and_wait(self, op, "KILL", self->state.deps->settings.vmm_kill_grace,
                      [self, op, after](Status) { stopped(self, op, StopRung::none, after); });
      return;
    }
    if (was == VmState::running || was == VmState::starting || was == VmState::stopping
        || !rt.tap.empty() || rt.pid != 0 || leftovers) {
      if (was == VmState::running)
        rt.last_error = "the VMM exited while the daemon was down";
      stopped(self, op, StopRung::none, after);
      return;
    }
    after(std::nullopt);
  });
}

/// The VMM went away without anyone asking: clean up and say so.
void do_exited(Self self, const OpPtr& op, Then then) {
  auto& rt = self->state.rec.runtime;
  log::warn("VMM exited on its own", {{"op_id", op->log.op_id()},
                                      {"vm_id", self->state.rec.id}, {"pid", rt.pid}});
  if (rt.state == VmState::error) {
    // The VMM a failed start or teardown could not end has now ended by
    // itself: take its runtime back, but the VM stays `error` with the
    // reason that failure gave (the exit is not news to whoever reads it).
    auto why = rt.last_error;
    stopped(self, op, StopRung::none, [self, why, then](std::optional<Error> failed) {
      if (failed) {
        then(failed);
        return;
      }
      auto& rt = self->state.rec.runtime;
      rt.state = VmState::error;
      rt.last_error = why;
      persist(self, [then](Status s) { then(s ? std::nullopt : std::optional<Error>(s.error())); });
    });
    return;
  }
  rt.last_error = "the VMM exited on its own (VMM log: "
                  + home_of(self).vm_log(self->state.rec.id).string() + ")";
  stopped(self, op, StopRung::none, then);
}

// -- the queue ----------------------------------------------------------------------

std::string op_name(const Pending& p) {
  switch (p.kind) {
    case Pending::Kind::create:
      return "vm.create";
    case Pending::Kind::reconcile:
      return "vm.reconcile";
    case Pending::Kind::exited:
      return "vm.vmm_exited";
    case Pending::Kind::action:
      break;
  }
  switch (p.action.action) {
    case VmAction::start:
      return "vm.start";
    case VmAction::stop:
      return "vm.stop";
    case VmAction::kill:
      return "vm.kill";
    case VmAction::restart:
      return "vm.restart";
    case VmAction::remove:
      return "vm.delete";
  }
  return "vm.unknown";
}

std::string op_id_of(const Pending& p) {
  switch (p.kind) {
    case Pending::Kind::create:
      return p.create.env.op_id;
    case Pending::Kind::reconcile:
      return p.reconcile.env.op_id;
    case Pending::Kind::exited:
      return mint_op_id();
    case Pending::Kind::action:
      return p.action.env.op_id;
  }
  return mint_op_id();
}

} // namespace

void vm::process_next(Self self) {
  auto& st = self->state;
  if (st.retired) {
    Error gone{Errc::not_found, "VM " + st.rec.name + " was deleted"};
    for (auto& p : st.queue)
      if (p.has_promise)
        p.promise.deliver(make_error(gone.code, gone.message, op_id_of(p)));
    st.queue.clear();
    self->quit();
    return;
  }
  if (st.busy || st.queue.empty())
    return;
  auto pending = std::move(st.queue.front());
  st.queue.pop_front();
  st.busy = true;
  auto op = begin_op(self, op_name(pending), op_id_of(pending));
  op->promise = pending.promise;
  op->has_promise = pending.has_promise;
  // A guard, not a plain callback: a path that drops it still ends the
  // operation (actors/op_done.hpp), so the queue cannot stay busy.
  Then then = OpDone(
    op->log.op_id(), [self, op](std::optional<Error> error) { finish(self, op, std::move(error)); },
    [self](std::function<void()> end) {
      self->state.dropped.push_back(std::move(end));
      self->send(self, dropped_atom::value);
    },
    self->state.alive);
  switch (pending.kind) {
    case Pending::Kind::create:
      do_create(self, op, pending.create, then);
      return;
    case Pending::Kind::reconcile:
      do_reconcile(self, op, pending.reconcile, then);
      return;
    case Pending::Kind::exited:
      do_exited(self, op, then);
      return;
    case Pending::Kind::action:
      break;
  }
  switch (pending.action.action) {
    case VmAction::start:
      do_start(self, op, pending.action.wait, then);
      return;
    case VmAction::stop:
      do_stop(self, op, then);
      return;
    case VmAction::kill:
      do_kill(self, op, pending.action.signal, then);
      return;
    case VmAction::restart:
      do_stop(self, op, [self, op, then, wait = pending.action.wait](std::optional<Error> error) {
        if (error) {
          then(error);
          return;
        }
        do_start(self, op, wait, then);
      });
      return;
    case VmAction::remove:
      do_delete(self, op, then);
      return;
  }
  // Not one of the actions (the control actor refuses these at the edge;
  // this keeps any other sender from wedging the queue).
  then(Error{Errc::invalid_argument,
             "unknown VM action " + std::to_string(static_cast<unsigned>(pending.action.action))});
}

namespace {

caf::result<VmRecord> enqueue(Self self, Pending pending) {
  auto& st = self->state;
  auto op_id = op_id_of(pending);
  if (st.retired)
    return make_error(Errc::not_found, "VM " + st.rec.name + " was deleted", op_id);
  if (st.queue.size() >= st.deps->settings.daemon_vm_queue)
    return make_error(Errc::busy,
                      "VM " + st.rec.name + " has " + std::to_string(st.queue.size())
                        + " requests waiting; try again later",
                      op_id);
  pending.promise = self->make_response_promise<VmRecord>();
  pending.has_promise = true;
  auto promise = pending.promise;
  st.queue.push_back(std::move(pending));
  process_next(self);
  return promise;
}

vm_impl::behavior_type vm_behavior(Self self, VmRecord record, Image image,
                                   std::shared_ptr<const VmDeps> deps) {
  self->state.rec = std::move(record);
  self->state.image = std::move(image);
  self->state.deps = std::move(deps);
  // A VMM that survived a daemon restart is watched from the first moment,
  // before reconciliation with the helper's inventory.
  if (vmm_alive(self))
    watch_exit(self, [](Status) {});
  return {
    [self](VmShowRequest&) -> caf::result<VmRecord> { return self->state.rec; },
    [self](VmActionRequest& request) {
      Pending p;
      p.kind = Pending::Kind::action;
      p.action = std::move(request);
      return enqueue(self, std::move(p));
    },
    [self](VmCreateWork& work) {
      Pending p;
      p.kind = Pending::Kind::create;
      p.create = std::move(work);
      return enqueue(self, std::move(p));
    },
    [self](VmReconcile& work) -> caf::result<VmRecord> {
      auto& rt = self->state.rec.runtime;
      // Without a rootfs path a create or rm was cut off: never idle.
      bool idle = !rt.rootfs_path.empty()
                  && (rt.state == VmState::created || rt.state == VmState::stopped
                      || rt.state == VmState::error);
      // A tap still on the record is a teardown that failed: finish it.
      if (idle && rt.pid == 0 && rt.tap.empty() && work.inventory.vmms.empty()
          && work.inventory.taps.empty()
          && work.inventory.run_dirs.empty())
        return self->state.rec; // nothing on the host to reconcile
      Pending p;
      p.kind = Pending::Kind::reconcile;
      p.reconcile = std::move(work);
      return enqueue(self, std::move(p));
    },
    [self](VmmExited& exited) {
      auto& st = self->state;
      if (exited.pid != st.rec.runtime.pid)
        return;
      st.exit_token = 0;
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
      if (st.busy)
        return; // the running operation notices through vmm_alive()
      Pending p;
      p.kind = Pending::Kind::exited;
      st.queue.push_back(std::move(p));
      process_next(self);
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

vm_actor spawn_vm_actor(caf::actor_system& sys, VmRecord record, Image image,
                        std::shared_ptr<const VmDeps> deps) {
  auto impl = sys.spawn(vm_behavior, std::move(record), std::move(image), std::move(deps));
  return caf::actor_cast<vm_actor>(impl);
}

} // namespace banger
