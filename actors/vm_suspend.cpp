// Pause, resume and suspend of a VM, and the start of a suspended one: the
// guest's state goes to files in its VM directory and comes back in a fresh
// VMM (the kind's part is in its driver: actors/vmm_driver.hpp; the files'
// rules in actors/state_files.hpp).
//
// What a crash (daemon, helper or VMM SIGKILL) leaves, at each point:
//
//   suspend  paused, made durable   a restart adopts the VMM as paused
//            state saved, sealed    the record names no file yet: adopted
//                                   as paused; the next suspend or a cold
//                                   start removes the files
//            suspended, durable     then the VMM is ended; a restart finds
//                                   a suspended VM with a VMM and ends it
//   start    starting, durable,     a restart ends the VMM and the VM is
//            saved state kept       suspended again, its files intact
//            loaded, paused         the record (paused, saved state
//                                   consumed) is durable before the guest
//                                   runs; a restart adopts it as paused
//
// A guest that ran after its state was loaded is never rolled back to that
// state: its disk has moved on.
#include "actors/state_files.hpp"
#include "actors/vm_context.hpp"
#include "actors/vmm_driver.hpp"

namespace banger::vm {

namespace {
using run_atom = caf::atom_constant<caf::atom("run")>;
} // namespace

void off_thread(Self self, std::function<Result<SavedState>()> job,
                std::function<void(Result<SavedState>)> then) {
  auto worker = self->home_system().spawn<caf::detached>(
      [job = std::move(job)](caf::event_based_actor* me) -> caf::behavior {
        return {[me, job](run_atom) -> caf::result<SavedState> {
          me->quit();
          auto r = job();
          if (!r)
            return make_error(r.error().code, r.error().message, "");
          return std::move(*r);
        }};
      });
  self->request(worker, local_request, run_atom::value)
      .then([then](SavedState& saved) { then(std::move(saved)); },
            [then](caf::error& err) { then(to_error(err)); });
}

std::string vmm_kind(Self self) {
  return std::string(self->state.vmm->name());
}

namespace {

Error not_in(Self self, const std::string& what, const std::string& needs) {
  auto& rec = self->state.rec;
  return Error{Errc::conflict,
               "cannot " + what + " VM " + rec.name + ": it is " +
                   std::string(to_string(rec.runtime.state)) + ", " + needs};
}

/// The VMM, alive, in `state`.
bool live_in(Self self, VmState state) {
  return self->state.rec.runtime.state == state && vmm_alive(self);
}

/// The driver's step, as a Status continuation that names what failed.
StepDone explained(std::string what, StepDone done) {
  return [what = std::move(what), done = std::move(done)](Status s) {
    if (s)
      done(s);
    else
      done(Error{s.error().code, what + ": " + s.error().message});
  };
}

} // namespace

void pause_then(Self self, const OpPtr& op, StepDone done) {
  stage(self, op, "pause_vcpus");
  self->state.vmm->pause(self, op, explained("pause failed", std::move(done)));
}

void pause_durably(Self self, const OpPtr& op, StepDone done) {
  auto& rt = self->state.rec.runtime;
  rt.state = VmState::paused;
  // Paused on record before the VMM is told: a crash between the two
  // leaves a record that says paused of a guest that may still run (a
  // resume fixes that at no cost), never one that says running of a guest
  // that no longer does.
  persist(self, [self, op, done](Status recorded) {
    if (!recorded) {
      self->state.rec.runtime.state = VmState::running;
      done(recorded);
      return;
    }
    pause_then(self, op, [self, done](Status paused) {
      if (!paused) {
        self->state.rec.runtime.state = VmState::running;
        settle(self);
      }
      done(std::move(paused));
    });
  });
}

void while_paused(Self self, const OpPtr& op, std::function<void()> work,
                  std::function<void(Error)> refused) {
  if (self->state.rec.runtime.state != VmState::running) {
    work();
    return;
  }
  pause_durably(self, op, [work, refused](Status paused) {
    if (!paused)
      refused(paused.error());
    else
      work();
  });
}

void do_pause(Self self, const OpPtr& op, Then then) {
  if (live_in(self, VmState::paused)) {
    log_.info("vm already paused",
              {{"op_id", op->log.op_id()}, {"vm_id", self->state.rec.id}});
    then(std::nullopt);
    return;
  }
  if (!live_in(self, VmState::running)) {
    then(not_in(self, "pause", "not running"));
    return;
  }
  pause_durably(self, op, [then](Status paused) {
    then(paused ? std::nullopt : std::optional<Error>(paused.error()));
  });
}

void do_resume(Self self, const OpPtr& op, Then then) {
  if (live_in(self, VmState::running)) {
    log_.info("vm already running",
              {{"op_id", op->log.op_id()}, {"vm_id", self->state.rec.id}});
    then(std::nullopt);
    return;
  }
  if (self->state.rec.runtime.state == VmState::suspended) {
    then(not_in(self, "resume",
                "so its start restores it (banger vm start " +
                    self->state.rec.name + ")"));
    return;
  }
  if (!live_in(self, VmState::paused)) {
    then(not_in(self, "resume", "not paused"));
    return;
  }
  stage(self, op, "resume_vcpus");
  self->state.vmm->resume(
      self, op, explained("resume failed", [self, then](Status resumed) {
        if (!resumed) {
          then(resumed.error());
          return;
        }
        self->state.rec.runtime.state = VmState::running;
        settle(self);
        then(std::nullopt);
      }));
}

void do_suspend(Self self, const OpPtr& op, Then then) {
  auto& st = self->state;
  if (st.rec.runtime.state == VmState::suspended) {
    log_.info("vm already suspended",
              {{"op_id", op->log.op_id()}, {"vm_id", st.rec.id}});
    then(std::nullopt);
    return;
  }
  if (!live_in(self, VmState::running) && !live_in(self, VmState::paused)) {
    then(not_in(self, "suspend", "not running or paused"));
    return;
  }
  auto final = suspend_files(home_of(self).vm_dir(st.rec.id),
                             self->state.vmm->keeps_memory_apart());
  final.vmm = vmm_kind(self);
  auto partial = partial_of(final);
  // The record names no saved state while running: whatever is there is
  // left from a suspend a crash cut short.
  remove_state(final);
  bool was_running = st.rec.runtime.state == VmState::running;
  // A failed save leaves the guest as it was: running again if it ran.
  auto failed = [self, op, final, was_running, then](Error error) {
    remove_state(final);
    if (!was_running) {
      then(std::move(error));
      return;
    }
    stage(self, op, "resume_vcpus");
    self->state.vmm->resume(self, op, [self, error, then](Status resumed) {
      if (resumed) {
        self->state.rec.runtime.state = VmState::running;
        settle(self);
      }
      then(error);
    });
  };
  auto save = [self, op, final, partial, failed, then] {
    stage(self, op, "save_state");
    auto saved_at = now_us();
    self->state.vmm->save_state(
        self, op, partial,
        explained(
            "saving the guest's state failed",
            [self, op, final, partial, saved_at, failed, then](Status saved) {
              if (!saved) {
                failed(saved.error());
                return;
              }
              stage(self, op, "seal_state");
              off_thread(
                  self, [partial, final] { return seal_state(partial, final); },
                  [self, op, final, saved_at, failed,
                   then](Result<SavedState> sealed) {
                    if (!sealed) {
                      failed(sealed.error());
                      return;
                    }
                    auto& rt = self->state.rec.runtime;
                    rt.saved = *sealed;
                    rt.saved.saved_at_us = saved_at;
                    rt.state = VmState::suspended;
                    // Durable before the VMM goes: from here on the files are
                    // the VM.
                    persist(self, [self, op, failed, then](Status recorded) {
                      if (!recorded) {
                        auto& rt = self->state.rec.runtime;
                        rt.saved = SavedState{};
                        rt.state = VmState::paused;
                        failed(recorded.error());
                        return;
                      }
                      stage(self, op, "stop_vmm");
                      cleanup_runtime(
                          self, op, [self, then](std::optional<Error> left) {
                            if (left) {
                              // cleanup_runtime recorded `error` naming what is
                              // left; the saved state stays with the record.
                              then(left);
                              return;
                            }
                            self->state.rec.runtime.state = VmState::suspended;
                            settle(self);
                            then(std::nullopt);
                          });
                    });
                  });
            }));
  };
  // Durable while the state is written: a restart meanwhile adopts a
  // paused VMM, not a running one.
  while_paused(self, op, save, [then](Error refused) { then(std::move(refused)); });
}

void forget_saved_state(Self self) {
  auto& rt = self->state.rec.runtime;
  remove_state(rt.saved);
  rt.saved = SavedState{};
}

namespace {

/// A restore's steps failed (and were rolled back): the VM goes back to
/// plan.on_failure with the reason, its saved state untouched.
void restore_failed(Self self, const Restore& plan, const StepFailure& failure, Then then) {
  auto& rt = self->state.rec.runtime;
  auto left = failure.undo_failures.empty() ? std::nullopt
                                            : teardown_failed(self, failure.undo_failures);
  rt.last_error = "restore failed at " + failure.step + ": " + failure.error.message
                  + " (VMM log: " + home_of(self).vm_log(self->state.rec.id).string() + ")";
  if (left) {
    rt.state = VmState::error;
    rt.last_error += "; " + *left;
  } else {
    forget_vmm(self);
    rt.tap.clear();
    rt.state = plan.on_failure;
  }
  settle(self);
  then(Error{failure.error.code, rt.last_error + (left ? "" : "; " + plan.way_out)});
}

/// Loaded and paused: the record says so durably (a consumed saved state
/// is dropped from it) before the guest runs a single instruction.
void resume_restored(Self self, const OpPtr& op, const Restore& plan, Then then) {
  auto& rt = self->state.rec.runtime;
  rt.state = VmState::paused;
  auto consumed = rt.saved;
  if (plan.consume)
    rt.saved = SavedState{};
  persist(self, [self, op, plan, consumed, then](Status recorded) {
    if (!recorded) {
      then(recorded.error());
      return;
    }
    if (plan.consume)
      remove_state(consumed);
    if (plan.stay_paused) {
      settle(self);
      then(std::nullopt);
      return;
    }
    stage(self, op, "resume_vcpus");
    self->state.vmm->resume(self, op, [self, op, plan, then](Status resumed) {
      auto& rt = self->state.rec.runtime;
      if (!resumed) {
        rt.last_error = "the restored guest could not be resumed: " + resumed.error().message;
        settle(self);
        then(Error{resumed.error().code, rt.last_error});
        return;
      }
      rt.state = VmState::running;
      rt.boot.instance_started_us = now_us() - op->status.started_at_us;
      self->state.instance_started = std::chrono::steady_clock::now();
      auto ready = [self, op, plan, then] {
        if (!plan.wait) {
          settle(self);
          then(std::nullopt);
          return;
        }
        wait_guest_ready(self, op, [self, then](Status ready) {
          settle(self);
          then(ready ? std::nullopt : std::optional<Error>(ready.error()));
        });
      };
      if (!plan.identity) {
        ready();
        return;
      }
      take_identity(self, op, *plan.identity, [self, ready, then](Status taken) {
        if (!taken) {
          settle(self);
          then(taken.error());
          return;
        }
        ready();
      });
    });
  });
}

} // namespace

void restore_guest(Self self, const OpPtr& op, const Restore& plan, Then then) {
  auto saved = plan.saved;
  auto& name = self->state.rec.name;
  if (saved.vmm != vmm_kind(self)) {
    then(Error{Errc::conflict, "the saved state of VM " + name + " was written by " + saved.vmm
                                 + ", and this host runs " + vmm_kind(self) + "; " + plan.way_out});
    return;
  }
  stage(self, op, "verify_state");
  off_thread(
    self,
    [saved]() -> Result<SavedState> {
      if (auto ok = verify_state(saved); !ok)
        return ok.error();
      return saved;
    },
    [self, op, plan, then](Result<SavedState> verified) {
      auto& st = self->state;
      if (!verified) {
        auto& rt = st.rec.runtime;
        rt.state = plan.on_failure;
        rt.last_error = "cannot restore: " + verified.error().message;
        settle(self);
        then(Error{verified.error().code, "cannot restore VM " + st.rec.name + ": "
                                            + verified.error().message + "; " + plan.way_out});
        return;
      }
      auto& rt = st.rec.runtime;
      rt.state = VmState::starting;
      rt.last_error.clear();
      rt.boot = BootTimings{};
      // Durable before the first host change: a crash from here on finds a
      // starting VM, which recovery takes back to plan.on_failure.
      persist(self, [self, op, plan, then](Status recorded) {
        if (!recorded) {
          self->state.rec.runtime.state = plan.on_failure;
          then(recorded.error());
          return;
        }
        run_steps(start_steps(self, op, plan.saved),
                  StepHooks{[self, op](const std::string& name) { stage(self, op, name); },
                            [op](const std::string& step, const Error& error) {
                              log_.warn("undo failed", {{"op_id", op->log.op_id()},
                                                        {"step", step},
                                                        {"error", error.message}});
                            }},
                  [self, op, plan, then](std::optional<StepFailure> failure) {
                    if (failure) {
                      restore_failed(self, plan, *failure, then);
                      return;
                    }
                    resume_restored(self, op, plan, then);
                  });
      });
    });
}

void do_restore_start(Self self, const OpPtr& op, bool wait, Then then) {
  auto& name = self->state.rec.name;
  Restore plan;
  plan.saved = self->state.rec.runtime.saved;
  plan.consume = true;
  plan.wait = wait;
  plan.on_failure = VmState::suspended;
  plan.way_out = "it stays suspended with its files (`banger vm start --cold " + name
                 + "` boots it afresh, dropping the saved state)";
  restore_guest(self, op, plan, then);
}

} // namespace banger::vm
