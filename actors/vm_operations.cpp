// The lifecycle operations of a VM, each a chain of asynchronous steps that
// ends by calling its continuation once: start, stop, kill, restart, rm,
// create, and the clean-up after the VMM exited on its own. The queue
// (actors/vm_queue.hpp) runs them one at a time; recovery after a restart is
// in vm_recovery.cpp, the VMM kind's part in the drivers (actors/vmm_driver.hpp).
#include "actors/vm_context.hpp"
#include "actors/vmm_log.hpp"

namespace banger::vm {

namespace {

StepHooks hooks_for(Self self, const OpPtr& op) {
  StepHooks hooks;
  hooks.on_stage = [self, op](const std::string& name) { stage(self, op, name); };
  hooks.on_undo_error = [op](const std::string& step, const Error& error) {
    log_.warn("undo failed", {{"op_id", op->log.op_id()}, {"step", step},
                              {"error", error.message}});
  };
  return hooks;
}

/// Whether a start waits for the guest's SSH: as asked, else as the image
/// says (an image without an SSH server would only time out).
bool waits_for_ssh(Self self, bool wait, bool no_wait) {
  return wait || (!no_wait && self->state.image.ssh);
}

} // namespace

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
      settle(self); // the boot timings
      then(waited ? std::nullopt : std::optional<Error>(waited.error()));
    });
  };
  if (rt.state == VmState::running && vmm_alive(self)) {
    log_.info("vm already running", {{"op_id", op->log.op_id()}, {"vm_id", st.rec.id}});
    ready();
    return;
  }
  if (rt.state == VmState::suspended) {
    do_restore_start(self, op, wait, then);
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
  persist(self, [self, op, wait, then, ready](Status saved) {
    if (!saved) {
      then(saved.error());
      return;
    }
    run_steps(start_steps(self, op), hooks_for(self, op),
              [self, op, wait, then, ready](std::optional<StepFailure> failure) {
                auto& rt = self->state.rec.runtime;
                if (!failure) {
                  rt.state = VmState::running;
                  if (!wait) {
                    settle(self); // durable with the start's own record
                    ready();
                    return;
                  }
                  // Durable before the wait for the guest, which can be long:
                  // a restart meanwhile adopts the VMM instead of killing it.
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
                settle(self);
                then(Error{failure->error.code, rt.last_error});
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
    settle(self);
    then(std::nullopt);
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

namespace {

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


void do_create(Self self, const OpPtr& op, const VmCreateWork& work, Then then) {
  stage(self, op, "prepare_rootfs");
  auto id = self->state.rec.id;
  ask_helper<RootfsPrepared>(
    self, RootfsPrepareRequest{envelope_of(op), id, work.image_rootfs, work.disk_bytes},
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
      // Durable with the create's end, or with the start's first save (which
      // comes before any host change): until then a crash leaves a record
      // without a rootfs path, which recovery removes with its rootfs.
      settle(self);
      if (work.start)
        do_start(self, op, waits_for_ssh(self, work.wait, work.no_wait), then);
      else
        then(std::nullopt);
    });
}

/// The VMM went away without anyone asking: clean up and say so.
void do_exited(Self self, const OpPtr& op, Then then) {
  auto& rt = self->state.rec.runtime;
  log_.warn("VMM exited on its own", {{"op_id", op->log.op_id()},
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
      settle(self);
      then(std::nullopt);
    });
    return;
  }
  // The guest kernel says on its console when it powers off or reboots
  // (the VMM then exits): a stop from inside, not a failure.
  auto log = home_of(self).vm_log(self->state.rec.id).string();
  auto output = read_log_since(log, self->state.log_offset);
  if (auto how = guest_shutdown(output)) {
    log_.info("the guest shut down by itself", {{"op_id", op->log.op_id()},
                                                {"vm_id", self->state.rec.id}, {"how", *how}});
    stopped(self, op, StopRung::guest, then);
    return;
  }
  auto lines = last_error_lines(output);
  rt.last_error = "the VMM exited on its own" + (lines.empty() ? "" : ": " + lines)
                  + " (VMM log: " + log + ")";
  stopped(self, op, StopRung::none, then);
}


void run_action(Self self, const OpPtr& op, const VmActionRequest& request, Then then) {
  auto& rt = self->state.rec.runtime;
  bool suspended = rt.state == VmState::suspended;
  switch (request.action) {
    case VmAction::start:
      if (suspended && request.cold) {
        // Asked for: the saved state goes, the guest boots afresh.
        log_.info("dropping the saved state for a cold start",
                  {{"op_id", op->log.op_id()}, {"vm_id", self->state.rec.id}});
        forget_saved_state(self);
        rt.state = VmState::stopped;
      }
      do_start(self, op, waits_for_ssh(self, request.wait, request.no_wait), then);
      return;
    case VmAction::stop:
    case VmAction::kill:
      if (suspended) {
        // Nothing runs; the saved state stays (a cold start drops it).
        then(std::nullopt);
        return;
      }
      if (request.action == VmAction::stop)
        do_stop(self, op, then);
      else
        do_kill(self, op, request.signal, then);
      return;
    case VmAction::restart:
      do_stop(self, op, [self, op, then, wait = waits_for_ssh(self, request.wait, request.no_wait)](
                          std::optional<Error> error) {
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
    case VmAction::pause:
      do_pause(self, op, then);
      return;
    case VmAction::resume:
      do_resume(self, op, then);
      return;
    case VmAction::suspend:
      do_suspend(self, op, then);
      return;
    case VmAction::snapshot:
      do_snapshot(self, op, request.snapshot, then);
      return;
    case VmAction::restore:
      do_restore(self, op, request.snapshot,
                 waits_for_ssh(self, request.wait, request.no_wait), then);
      return;
    case VmAction::snapshot_remove:
      do_snapshot_remove(self, op, request.snapshot, then);
      return;
  }
  // Not one of the actions (the control actor refuses these at the edge;
  // this keeps any other sender from wedging the queue).
  then(Error{Errc::invalid_argument,
             "unknown VM action " + std::to_string(static_cast<unsigned>(request.action))});
}

} // namespace

void run_request(Self self, const OpPtr& op, Request request, Then then) {
  struct Run {
    Self self;
    const OpPtr& op;
    Then& then;
    void operator()(const VmActionRequest& r) const { run_action(self, op, r, then); }
    void operator()(const VmCreateWork& r) const { do_create(self, op, r, then); }
    void operator()(const VmCloneWork& r) const { do_clone(self, op, r, then); }
    void operator()(const CloneOutWork& r) const { do_clone_out(self, op, r, then); }
    void operator()(const VmReconcile& r) const { do_reconcile(self, op, r, then); }
    void operator()(const VmmExitedWork&) const { do_exited(self, op, then); }
  };
  std::visit(Run{self, op, then}, request);
}

} // namespace banger::vm
